/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Running a loaded program on a fixture with BPF_PROG_TEST_RUN. */
#ifndef RELAY_TEST_RUN_H
#define RELAY_TEST_RUN_H

#include <linux/bpf.h>
#include "packet.h"

/* No opinion: the next filter on the hook classifies (RELAY_TC_PASS). */
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

/* Runs prog_fd on in; out gets the resulting frame (same l3_off). ctx, if
 * not NULL, is passed in and read back (skb->mark and friends).
 * Returns the program's return value; fails the test on a syscall error. */
int run_tc(int prog_fd, const struct fixture *in, struct fixture *out, struct __sk_buff *ctx);

/* The same on a CHECKSUM_COMPLETE skb (BPF_F_TEST_SKB_CHECKSUM_COMPLETE,
 * 6.11+): the kernel sums the input packet into skb->csum and fails the run
 * when the program left skb->csum unequal to the output's sum. Skips the
 * test on a kernel without it. */
int run_tc_complete(int prog_fd, const struct fixture *in, struct fixture *out);

/* A run of prog_fd without a ctx runs on the device ifindex (skb->ifindex,
 * the packet's arrival device) instead of the test run's default, lo. */
void run_on_dev(int prog_fd, int ifindex);

/* Sum over CPUs of counter idx of relay_stats (struct relay_stats_value). */
unsigned long long counter(int map_fd, unsigned idx);
/* Every counter of relay_stats back to 0, on every CPU. */
void counters_reset(int map_fd);

#endif

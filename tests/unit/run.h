/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Running a loaded program on a fixture with BPF_PROG_TEST_RUN. */
#ifndef RELAY_TEST_RUN_H
#define RELAY_TEST_RUN_H

#include <linux/bpf.h>
#include "packet.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

/* Runs prog_fd on in; out gets the resulting frame (same l3_off). ctx, if
 * not NULL, is passed in and read back (skb->mark and friends).
 * Returns the program's return value; fails the test on a syscall error. */
int run_tc(int prog_fd, const struct fixture *in, struct fixture *out, struct __sk_buff *ctx);

/* Sum over CPUs of counter idx of a per-CPU array map. */
unsigned long long counter(int map_fd, unsigned idx);

#endif

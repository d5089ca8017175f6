/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Constants shared by the benchmark's BPF programs and bench/rbbench.c. */
#ifndef RELAY_BENCH_H
#define RELAY_BENCH_H

/* Ethernet frame without FCS: 14 + 20 + 8 + 22 bytes of zeros. */
#define BENCH_FRAME_LEN 64
#define ETH_P_IP_BENCH 0x0800

#endif

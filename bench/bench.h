/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Constants shared by the benchmark's BPF programs and bench/rbbench.c. */
#ifndef RELAY_BENCH_H
#define RELAY_BENCH_H

/* Ethernet frame without FCS: 14 + 20 + 8 + 22 bytes of zeros. */
#define BENCH_FRAME_LEN 64
#define ETH_P_IP_BENCH 0x0800
/* rbbench count drops (uncounted) this long after its window. */
#define BENCH_COUNT_HOLD_S 2.0

/* The receiver's per-CPU counters (relay_bench_rx): frames from the
 * client's network to the expected address, frames with other addresses,
 * and of every 64th good frame, those checked and those whose IPv4 or L4
 * checksum was wrong. */
enum bench_rx {
	BENCH_RX_OK,
	BENCH_RX_WRONG_ADDR,
	BENCH_RX_CHECKED,
	BENCH_RX_BAD_CSUM,
	BENCH_RX_MAX
};

#endif

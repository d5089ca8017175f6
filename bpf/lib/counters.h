/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Per-CPU outcome counters, all of a CPU in one value (struct
 * relay_stats_value). Every role has its own instance of the map (pinned in
 * the role's directory); `relaybpf stats` sums it over CPUs. */
#ifndef RELAY_LIB_COUNTERS_H
#define RELAY_LIB_COUNTERS_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct relay_stats_value);
} relay_stats SEC(".maps");

static __always_inline struct relay_stats_value *relay_stats_value(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&relay_stats, &key);
}

/* The mask bounds a counter computed at run time for the verifier (a
 * constant one folds it away). */
static __always_inline void relay_count(enum relay_counter c, __u64 n)
{
	struct relay_stats_value *v = relay_stats_value();

	if (v)
		v->c[(__u32)c & (RELAY_STATS_SLOTS - 1)] += n;
}

/* A relayed packet's counters in one lookup (each relay_count is one):
 * packets, bytes, of which IPv6 (v6, for an IPv6 packet) and one more
 * (extra; RELAY_C_MAX: none). Constants all. */
static __always_inline void relay_count_relayed(enum relay_counter packets,
						enum relay_counter bytes, enum relay_counter v6,
						enum relay_counter extra, __u8 family, __u64 len)
{
	struct relay_stats_value *v = relay_stats_value();

	if (!v)
		return;
	v->c[packets]++;
	v->c[bytes] += len;
	if (family == AF_INET6)
		v->c[v6]++;
	if (extra != RELAY_C_MAX)
		v->c[extra]++;
}

#endif

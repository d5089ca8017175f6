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

/* The mask bounds a counter computed at run time for the verifier (a
 * constant one folds it away). */
static __always_inline void relay_count(enum relay_counter c, __u64 n)
{
	__u32 key = 0;
	struct relay_stats_value *v = bpf_map_lookup_elem(&relay_stats, &key);

	if (v)
		v->c[(__u32)c & (RELAY_STATS_SLOTS - 1)] += n;
}

#endif

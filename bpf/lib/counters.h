/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Per-CPU outcome counters. Every role has its own instance of the map
 * (pinned in the role's directory); `relaybpf stats` sums it over CPUs. */
#ifndef RELAY_LIB_COUNTERS_H
#define RELAY_LIB_COUNTERS_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RELAY_STATS_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} relay_stats SEC(".maps");

static __always_inline void relay_count(enum relay_counter c, __u64 n)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&relay_stats, &key);

	if (v)
		*v += n;
}

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maps of the back role, shared by its programs (the loader reuses one
 * instance of each and pins them under the namespace's state directory).
 */
#ifndef RELAY_LIB_BACK_MAPS_H
#define RELAY_LIB_BACK_MAPS_H

#include "common.h"
#include "counters.h"
#include "ct_key.h"

/* One entry per tunnel device, keyed by its ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RELAY_MAX_TUNNELS);
	__type(key, __u32);
	__type(value, struct relay_back_config);
} relay_back_cfg SEC(".maps");

/* UDP flows that came in through a tunnel (the replies that inherit no mark). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RELAY_BACK_FLOWS_MAX);
	__type(key, struct relay_ct_key);
	__type(value, struct relay_back_flow);
} relay_back_flows SEC(".maps");


#endif

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
#include "frag_key.h"

/* One entry per tunnel device, keyed by its ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RELAY_MAX_TUNNELS);
	__type(key, __u32);
	__type(value, struct relay_back_config);
} relay_back_cfg SEC(".maps");

/* TCP and UDP flows that came in through a tunnel (for the replies that
 * inherit no mark). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RELAY_BACK_FLOWS_MAX);
	__type(key, struct relay_ct_key);
	__type(value, struct relay_back_flow);
} relay_back_flows SEC(".maps");

/* The later fragments of a fixed reply (the stack fragments the replies of
 * a socket that learnt the tunnel's path MTU): they carry no ports and
 * follow the first one's flow, by IP id. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct relay_frag_key);
	__type(value, struct relay_back_flow);
} relay_back_frags SEC(".maps");

#define RELAY_NS_PER_S 1000000000ULL

/* A flow's seen_ns is rewritten at most once a second: most packets of a
 * flow only read its entry (a write dirties a cache line shared by every
 * CPU the flow's packets land on). */
#define RELAY_BACK_TOUCH_NS RELAY_NS_PER_S

/* Idle for longer than ns (signed: a clock read on another CPU may be
 * a tick behind the entry's). */
static __always_inline bool relay_back_idle(const struct relay_back_flow *flow, __u64 now,
					    __u64 ns)
{
	return (__s64)(now - flow->seen_ns) > (__s64)ns;
}

/* Idle past its protocol's timeout: dead (the LRU reclaims it in time). */
static __always_inline bool relay_back_expired(const struct relay_back_flow *flow, __u8 proto,
					       __u64 now)
{
	return relay_back_idle(flow, now,
			       (proto == IPPROTO_TCP ? RELAY_BACK_TCP_IDLE_S : RELAY_BACK_UDP_IDLE_S) *
				       RELAY_NS_PER_S);
}


#endif

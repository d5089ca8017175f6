/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maps of the back role, shared by its programs (the loader reuses one
 * instance of each and pins them under the namespace's state directory).
 */
#ifndef RELAY_LIB_BACK_MAPS_H
#define RELAY_LIB_BACK_MAPS_H

#include "common.h"
#include "counters.h"

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

/* Key of a UDP flow as relay_ct_key (client, client port, service port),
 * built at run time: a constant initializer would land in .rodata. */
static __always_inline void relay_back_key(struct relay_ct_key *key, __be32 client,
					   __be16 client_port, __be16 service_port)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->family = AF_INET;
	key->proto = IPPROTO_UDP;
	key->client.v4 = client;
	key->client_port = client_port;
	key->service_port = service_port;
}

#endif

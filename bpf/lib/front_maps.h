/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maps of the front role. Each front program includes this header; the
 * loader makes the programs share one instance of each map (reuse_fd) and
 * pins them under the namespace's state directory.
 */
#ifndef RELAY_LIB_FRONT_MAPS_H
#define RELAY_LIB_FRONT_MAPS_H

#include "common.h"
#include "counters.h"
#include "frag_key.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct relay_front_config);
} relay_front_cfg SEC(".maps");

/* The front's public addresses: only packets to one of them are relayed. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RELAY_MAX_PUBLIC_ADDRS);
	__type(key, struct relay_ip_key);
	__type(value, __u32);
} relay_front_pub SEC(".maps");

/* Flows that have seen a reply. max_entries is set by the loader from
 * --ct-max. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RELAY_DEFAULT_CT_MAX);
	__type(key, struct relay_ct_key);
	__type(value, struct relay_ct_value);
} relay_ct SEC(".maps");

/* Flows waiting for their first reply (bpf/lib/ct.h): relay_ct_new_max()
 * of --ct-max, set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RELAY_DEFAULT_CT_MAX / 4);
	__type(key, struct relay_ct_key);
	__type(value, struct relay_ct_value);
} relay_ct_new SEC(".maps");

/* Fragments, by datagram: only the first carries the ports, the others
 * follow its verdict (struct relay_frag_value: the address to write is the
 * backend's on the way in, the public one on the way out). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct relay_frag_key);
	__type(value, struct relay_frag_value);
} relay_frags SEC(".maps");

/*
 * Services and backends (docs/services.md; written by attach, read here).
 * The generational ones (port map, services, Maglev rows) are indexed
 * with relay_front_config.svc_gen: an attach writes the generation not in
 * use, then flips it with the config.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * RELAY_SVC_PROTOS);
	__type(key, __u32);
	__type(value, struct relay_port_services);
} relay_port_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * RELAY_SERVICE_SLOTS);
	__type(key, __u32);
	__type(value, struct relay_service);
} relay_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RELAY_MAGLEV_ROWS);
	__type(key, __u32);
	__type(value, struct relay_maglev_row);
} relay_maglev SEC(".maps");

/* By backend id (0: none, never a backend). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RELAY_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct relay_backend);
} relay_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RELAY_MAX_REV_PORTS);
	/* Usually a handful of entries: no 65536 preallocated. */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct relay_rev_port_key);
	__type(value, __u16);
} relay_rev_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RELAY_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct relay_backend_stats);
} relay_backend_stats SEC(".maps");

static __always_inline struct relay_front_config *relay_front_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&relay_front_cfg, &zero);
}

/* The configuration's per family fields for a packet's family: a family is
 * only ever relayed to (and from) a backend of its own. */
static __always_inline const union relay_ip *
relay_cfg_sole_public(const struct relay_front_config *cfg, __u8 family)
{
	return &cfg->sole_public[RELAY_FAMILY_IDX(family)];
}

/* A tunnel device: where a backend's flows go, and whether it carries
 * Ethernet. */
struct relay_tunnel {
	__u32 ifindex;
	__u8 l2;
	__u8 pad[3];
};

/* Backend b's tunnel device: its own, or (an entry that names none) the
 * configuration's first. */
static __always_inline struct relay_tunnel relay_backend_tunnel(const struct relay_front_config *cfg,
								 const struct relay_backend *b)
{
	struct relay_tunnel t = { .ifindex = cfg->tunnel_ifindex, .l2 = cfg->tunnel_l2 };

	if (b->tunnel_ifindex) {
		t.ifindex = b->tunnel_ifindex;
		t.l2 = b->tunnel_l2;
	}
	return t;
}

static __always_inline __u16 relay_cfg_mss(const struct relay_front_config *cfg, __u8 family)
{
	return cfg->mss[RELAY_FAMILY_IDX(family)];
}

#endif

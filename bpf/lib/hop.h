/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The tunnel's next hop as the XDP fast path needs it: the tunnel's MTU and,
 * on an L2 tunnel, the Ethernet addresses to write. Asking the kernel for
 * every packet (bpf_fib_lookup, bpf_check_mtu) took about a fifth of the
 * fast path's time, so the answer is kept per CPU and family and asked
 * again every RELAY_HOP_REFRESH_NS, or at once when the configuration names
 * another tunnel or backend. A neighbour or MTU change reaches the fast path
 * within that time; until then a frame the new MTU refuses is dropped by the
 * tunnel, as it would be on a link whose MTU just shrank.
 */
#ifndef RELAY_LIB_HOP_H
#define RELAY_LIB_HOP_H

#include "common.h"

struct relay_hop {
	__u64 checked_ns;     /* relay_now() of the last lookup; 0: none valid */
	union relay_ip backend;
	__u32 ifindex;
	__u32 mtu;            /* the tunnel device's, for the IP packet */
	__u8 l2;
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
	__u8 pad[3];
};

/* Key 0: IPv4, 1: IPv6. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct relay_hop);
} relay_xdp_hop SEC(".maps");

/* Asks the kernel. 0, or -1 when XDP cannot reach the backend (no route
 * through the tunnel, neighbour not resolved): TC's job then. */
static __always_inline int relay_hop_lookup(struct xdp_md *ctx, struct relay_hop *hop,
					    __u32 ifindex, __u8 l2, __u8 family,
					    const union relay_ip *backend)
{
	struct bpf_fib_lookup fib = {};
	__u32 mtu = 0;

	/* mtu 0: the helper returns the device's MTU whatever the frame. */
	if (bpf_check_mtu(ctx, ifindex, &mtu, 0, 0) < 0)
		return -1;
	if (l2) {
		fib.family = family;
		if (family == AF_INET6)
			__builtin_memcpy(fib.ipv6_dst, backend->v6w, 16);
		else
			fib.ipv4_dst = backend->v4;
		fib.ifindex = ifindex;
		if (bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_DIRECT |
				   BPF_FIB_LOOKUP_OUTPUT) != BPF_FIB_LKUP_RET_SUCCESS ||
		    fib.ifindex != ifindex)
			return -1;
		__builtin_memcpy(hop->dmac, fib.dmac, ETH_ALEN);
		__builtin_memcpy(hop->smac, fib.smac, ETH_ALEN);
	}
	hop->mtu = mtu;
	hop->backend = *backend;
	hop->ifindex = ifindex;
	hop->l2 = l2;
	return 0;
}

/* The hop to backend through the configured tunnel, or NULL (as above). */
static __always_inline const struct relay_hop *
relay_hop_get(struct xdp_md *ctx, const struct relay_front_config *cfg, __u8 family,
	      const union relay_ip *backend, __u64 now)
{
	__u32 key = family == AF_INET6;
	struct relay_hop *hop = bpf_map_lookup_elem(&relay_xdp_hop, &key);

	if (!hop)
		return NULL;
	if (hop->checked_ns && now - hop->checked_ns < RELAY_HOP_REFRESH_NS &&
	    hop->ifindex == cfg->tunnel_ifindex && hop->l2 == cfg->tunnel_l2 &&
	    relay_ip_eq(family, &hop->backend, backend))
		return hop;
	if (relay_hop_lookup(ctx, hop, cfg->tunnel_ifindex, cfg->tunnel_l2, family, backend)) {
		hop->checked_ns = 0;
		return NULL;
	}
	hop->checked_ns = now;
	return hop;
}

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The tunnel's next hop: its MTU and, on an L2 tunnel, the Ethernet
 * addresses to write. Asking the kernel for every packet (bpf_fib_lookup,
 * bpf_check_mtu, or bpf_redirect_neigh's route and neighbour lookups) took
 * about a fifth of the XDP fast path's time, so the answer is kept per CPU
 * and backend id and asked again every RELAY_HOP_REFRESH_NS, or at once when
 * the backend's tunnel device (struct relay_tunnel) or the id's address
 * changed. A neighbour or MTU change
 * reaches the programs within that time; until then a frame the new MTU
 * refuses is dropped by the tunnel, as on any link whose MTU just shrank.
 */
#ifndef RELAY_LIB_HOP_H
#define RELAY_LIB_HOP_H

#include "common.h"
#include "front_maps.h"

struct relay_hop {
	__u64 checked_ns;     /* relay_now() of the last lookup; 0: never */
	union relay_ip backend;
	__u32 ifindex;
	__u32 mtu;            /* the tunnel device's, for the IP packet */
	__u8 l2;
	/* 0: the last lookup failed; asked again when due, not per packet
	 * (a front whose lookups keep failing, e.g. forwarding off on an L2
	 * tunnel, would pay them on every packet). */
	__u8 reachable;
	/* An Ethernet header's first 12 bytes: destination, then source. */
	__u8 eth_addrs[2 * ETH_ALEN];
	__u8 pad[2];
};

/* Key: the backend id. Shared by the TC and XDP programs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RELAY_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct relay_hop);
} relay_hop SEC(".maps");

static __always_inline struct relay_hop *relay_hop_slot(__u32 id)
{
	return bpf_map_lookup_elem(&relay_hop, &id);
}

/* 0 with the hop's MTU (and MACs) written, or -1. */
static __always_inline int relay_hop_lookup(void *ctx, struct relay_hop *hop,
					    const struct relay_tunnel *tun, __u8 family,
					    const union relay_ip *backend)
{
	struct bpf_fib_lookup fib = {};
	__u32 mtu = 0;

	/* mtu 0: the helper returns the device's MTU whatever the packet. */
	if (bpf_check_mtu(ctx, tun->ifindex, &mtu, 0, 0) < 0)
		return -1;
	if (tun->l2) {
		fib.family = family;
		if (family == AF_INET6)
			__builtin_memcpy(fib.ipv6_dst, backend->v6w, 16);
		else
			fib.ipv4_dst = backend->v4;
		fib.ifindex = tun->ifindex;
		if (bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_DIRECT |
				   BPF_FIB_LOOKUP_OUTPUT) != BPF_FIB_LKUP_RET_SUCCESS ||
		    fib.ifindex != tun->ifindex)
			return -1;
		__builtin_memcpy(hop->eth_addrs, fib.dmac, ETH_ALEN);
		__builtin_memcpy(hop->eth_addrs + ETH_ALEN, fib.smac, ETH_ALEN);
	}
	hop->mtu = mtu;
	return 0;
}

/* The answer is recent and about this backend's address and tunnel. */
static __always_inline int relay_hop_fresh(const struct relay_hop *hop,
					   const struct relay_tunnel *tun, __u8 family,
					   const union relay_ip *backend, __u64 now)
{
	return hop->checked_ns && now - hop->checked_ns < RELAY_HOP_REFRESH_NS &&
	       hop->ifindex == tun->ifindex && hop->l2 == tun->l2 &&
	       relay_ip_eq(family, &hop->backend, backend);
}

/* Asks the kernel (ctx: the program's, XDP or TC) and records the answer:
 * reachable, or not this way (no route through the tunnel, neighbour not
 * resolved, forwarding off). */
static __always_inline void relay_hop_refresh(void *ctx, struct relay_hop *hop,
					      const struct relay_tunnel *tun, __u8 family,
					      const union relay_ip *backend, __u64 now)
{
	hop->backend = *backend;
	hop->ifindex = tun->ifindex;
	hop->l2 = tun->l2;
	hop->checked_ns = now;
	hop->reachable = !relay_hop_lookup(ctx, hop, tun, family, backend);
}

/* XDP: the hop to backend id (address backend), asked again when due, or
 * NULL when the last answer was "not reachable this way" (TC's job then). */
static __always_inline const struct relay_hop *
relay_hop_get(struct xdp_md *ctx, const struct relay_tunnel *tun, __u8 family, __u32 id,
	      const union relay_ip *backend, __u64 now)
{
	struct relay_hop *hop = relay_hop_slot(id);

	if (!hop)
		return NULL;
	if (!relay_hop_fresh(hop, tun, family, backend, now))
		relay_hop_refresh(ctx, hop, tun, family, backend, now);
	return hop->reachable ? hop : NULL;
}

/*
 * TC, from an L2 tunnel: whether the frame's source MAC is the backend
 * neighbour's (the cache's destination MAC), asked again when due. Only for
 * replies without a flow: on VXLAN anyone who reaches the VXLAN port can
 * put a frame with the backend's IP address on the tunnel.
 */
static __always_inline int relay_hop_from_neighbour(struct __sk_buff *skb,
						    const struct relay_tunnel *tun,
						    __u8 family, __u32 id,
						    const union relay_ip *backend, __u64 now)
{
	struct relay_hop *hop = relay_hop_slot(id);
	__u16 src[ETH_ALEN / 2], want[ETH_ALEN / 2];

	if (!hop)
		return 0;
	if (!relay_hop_fresh(hop, tun, family, backend, now))
		relay_hop_refresh(skb, hop, tun, family, backend, now);
	if (!hop->reachable || bpf_skb_load_bytes(skb, ETH_ALEN, src, ETH_ALEN))
		return 0;
	__builtin_memcpy(want, hop->eth_addrs, ETH_ALEN);
	return src[0] == want[0] && src[1] == want[1] && src[2] == want[2];
}

/*
 * TC: into an L2 tunnel with the cached addresses. The packet due to
 * refresh them, and every packet while the neighbour is unresolved, takes
 * bpf_redirect_neigh instead: the kernel's neighbour output resolves the
 * entry, and keeps verifying it (STALE, then a probe) as for its own
 * traffic, which a cache alone would never do.
 */
static __always_inline int relay_hop_redirect_l2(struct __sk_buff *skb,
						 const struct relay_tunnel *tun, __u8 family,
						 __u32 id, const union relay_ip *backend, __u64 now)
{
	struct relay_hop *hop = relay_hop_slot(id);

	if (!hop)
		return bpf_redirect_neigh(tun->ifindex, NULL, 0, 0);
	if (!relay_hop_fresh(hop, tun, family, backend, now)) {
		relay_hop_refresh(skb, hop, tun, family, backend, now);
		return bpf_redirect_neigh(tun->ifindex, NULL, 0, 0);
	}
	if (!hop->reachable ||
	    bpf_skb_store_bytes(skb, 0, hop->eth_addrs, sizeof(hop->eth_addrs), 0))
		return bpf_redirect_neigh(tun->ifindex, NULL, 0, 0);
	return bpf_redirect(tun->ifindex, 0);
}

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Back: sending a relayed flow's reply into the tunnel its client now comes
 * through (relay_back_flows), from the address the client talked to and
 * with that tunnel's mark; or, too big for it, the error that teaches the
 * local socket the tunnel's path MTU. Both egress programs use it: the
 * Ethernet devices' (replies that inherited no mark, or whose tunnel is
 * gone) and the tunnels' own (replies of a flow that moved to another one).
 */
#ifndef RELAY_LIB_BACK_SEND_H
#define RELAY_LIB_BACK_SEND_H

#include "common.h"
#include "parse.h"
#include "nat.h"
#include "icmp_send.h"
#include "back_maps.h"

static __always_inline int relay_back_pass(void)
{
	relay_count(RELAY_C_BACK_PASSED, 1);
	return RELAY_TC_PASS;
}

/* The next hop into an L2 tunnel: the front's address of the packet's
 * family; -1 when none is configured (the reply is then left alone). */
static __always_inline int relay_back_nh(const struct relay_back_config *cfg, __u8 family,
					 struct bpf_redir_neigh *nh)
{
	nh->nh_family = family;
	if (family == AF_INET6) {
		__builtin_memcpy(nh->ipv6_nh, cfg->front6.v6w, sizeof(nh->ipv6_nh));
		return relay_ip_is_zero(AF_INET6, &cfg->front6) ? -1 : 0;
	}
	nh->ipv4_nh = cfg->front;
	return cfg->front ? 0 : -1;
}

/* The tunnel of a flow: its configuration and, on an L2 tunnel, the next
 * hop; NULL when the tunnel is gone or has no next hop of the family (the
 * packet is then left to the host's routes). */
static __always_inline struct relay_back_config *relay_back_tunnel(const struct relay_back_flow *flow,
								  __u8 family,
								  struct bpf_redir_neigh *nh)
{
	__u32 ifindex = flow->tunnel_ifindex;
	struct relay_back_config *cfg = bpf_map_lookup_elem(&relay_back_cfg, &ifindex);

	if (!cfg || (cfg->tunnel_l2 && relay_back_nh(cfg, family, nh)))
		return NULL;
	return cfg;
}

/* From the address the client talked to, with the tunnel's mark, into the
 * tunnel; counted as done. */
static __always_inline int relay_back_send(struct __sk_buff *skb, const struct relay_pkt *pkt,
					   const struct relay_back_flow *flow,
					   const struct relay_back_config *cfg,
					   struct bpf_redir_neigh *nh, enum relay_counter done)
{
	long ret;

	if (!relay_ip_eq(pkt->family, &pkt->saddr, &flow->local) &&
	    relay_nat(skb, pkt, 1, &pkt->saddr, &flow->local)) {
		relay_count(RELAY_C_ERR_REWRITE, 1);
		return TC_ACT_SHOT;
	}
	skb->mark = (skb->mark & ~cfg->mask) | (cfg->mark & cfg->mask);
	/* The kernel strips the Ethernet header for an L3 device. */
	ret = cfg->tunnel_l2 ? bpf_redirect_neigh(flow->tunnel_ifindex, nh, sizeof(*nh), 0) :
			       bpf_redirect(flow->tunnel_ifindex, 0);
	if (ret != TC_ACT_REDIRECT) {
		relay_count(RELAY_C_ERR_REDIRECT, 1);
		return TC_ACT_SHOT;
	}
	relay_count(done, 1);
	return TC_ACT_REDIRECT;
}

/* Too big for the tunnel: the error to the local stack (see the top); a
 * packet it could not be built from is dropped (back_dropped_too_big). */
static __always_inline int relay_back_too_big(struct __sk_buff *skb, const struct relay_pkt *pkt,
					      __u32 mtu)
{
	int verdict = relay_icmp_send(skb, pkt, RELAY_ICMP_ERR_FRAG_NEEDED, mtu,
				      RELAY_C_BACK_TOO_BIG_ICMP | RELAY_ICMP_TO_STACK);

	if (verdict != RELAY_TC_PASS)
		return verdict;
	relay_count(RELAY_C_BACK_TOO_BIG, 1);
	return TC_ACT_SHOT;
}

#endif

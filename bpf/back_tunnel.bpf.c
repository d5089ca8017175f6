// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Back, TC on a tunnel device.
 * Ingress (relay_back_in): mark what arrived through the
 * tunnel, before routing, so that fwmark policy routing (and the sysctls
 * that make replies inherit the mark) send the replies back into it.
 * Only the bits of the tunnel's mask are touched; IPv4 and IPv6 alike (the
 * mark is per device, the rules per family). TCP and UDP flows are
 * remembered too: a UDP reply sent with sendto() inherits no mark, nor does
 * the reply of a container the backend forwarded the packet to (a DNAT of
 * a published port); the egress program (back_egress.bpf.c) sends them
 * back into this tunnel. Every TCP packet (not only SYNs) refreshes its
 * flow: a flow picked up mid-way, after an LRU eviction, is relearnt.
 * Egress (relay_back_follow): the replies of a flow whose client now comes
 * through another tunnel go into that one (see below).
 */
#include "lib/common.h"
#include "lib/parse.h"
#include "lib/mtu.h"
#include "lib/back_send.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The packet's headers on this tunnel: L2 or L3 as its configuration says.
 * RELAY_PARSE_OK or why not. */
static __always_inline int relay_back_parse(struct __sk_buff *skb, const struct relay_back_config *cfg,
					    struct relay_pkt *pkt)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u32 l3_off = 0;

	if (cfg->tunnel_l2) {
		int ret = relay_parse_eth(data, end, &l3_off);

		if (ret != RELAY_PARSE_OK)
			return ret;
	} else if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6)) {
		return RELAY_PARSE_NOT_IP;
	}
	return relay_parse_ip(data, end, l3_off, skb->len, pkt);
}

static __always_inline void relay_back_remember(struct __sk_buff *skb,
						const struct relay_back_config *cfg)
{
	struct relay_back_flow flow = { .tunnel_ifindex = skb->ifindex }, *old;
	__u64 now = relay_now();
	struct relay_ct_key key;
	struct relay_pkt pkt;

	if (relay_back_parse(skb, cfg, &pkt) != RELAY_PARSE_OK ||
	    (pkt.proto != IPPROTO_UDP && pkt.proto != IPPROTO_TCP) || !pkt.has_ports)
		return;
	relay_ct_key_ip(&key, pkt.family, pkt.proto, &pkt.saddr, pkt.sport, pkt.dport);
	flow.local = pkt.daddr;
	flow.seen_ns = now;
	/* Written only when new, changed or a second old (see RELAY_BACK_TOUCH_NS). */
	old = bpf_map_lookup_elem(&relay_back_flows, &key);
	if (!old || old->tunnel_ifindex != flow.tunnel_ifindex ||
	    !relay_ip_eq(pkt.family, &old->local, &flow.local) ||
	    relay_back_idle(old, now, RELAY_BACK_TOUCH_NS))
		bpf_map_update_elem(&relay_back_flows, &key, &flow, BPF_ANY);
}

SEC("tc")
int relay_back_in(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	struct relay_back_config *cfg = bpf_map_lookup_elem(&relay_back_cfg, &ifindex);

	if (!cfg || !cfg->mask)
		return RELAY_TC_PASS;
	skb->mark = (skb->mark & ~cfg->mask) | (cfg->mark & cfg->mask);
	relay_count(RELAY_C_BACK_MARKED, 1);
	relay_back_remember(skb, cfg);
	/* The packet is as it came, the mark only steers its routing: the
	 * filters behind (the operator's on the tunnel) see all of its
	 * traffic, the mark included. */
	return RELAY_TC_PASS;
}

/*
 * Egress of a tunnel: a reply to a relayed TCP or UDP flow whose client's
 * packets now come in through another tunnel (relay_back_flows keeps each
 * flow's latest) goes into that one. That happens when the network moves a
 * client to another front (anycast or ECMP behind BGP, a front lost): the
 * backend's socket keeps the mark of the tunnel its connection came in by,
 * so its replies would follow that tunnel's table to a front that no longer
 * sees the flow (or no longer exists). The reply leaves from the same
 * address (both fronts relay to it) with the other tunnel's mark. A flow
 * that stays (the usual case) costs one lookup. Later fragments carry no
 * ports: they stay in this tunnel (a socket that learnt the tunnel's path
 * MTU sends few).
 */
SEC("tc")
int relay_back_follow(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, mtu;
	struct relay_back_config *cfg = bpf_map_lookup_elem(&relay_back_cfg, &ifindex), *to;
	struct bpf_redir_neigh nh = {};
	struct relay_back_flow *flow;
	struct relay_ct_key key;
	struct relay_pkt pkt;

	if (!cfg || relay_back_parse(skb, cfg, &pkt) != RELAY_PARSE_OK ||
	    (pkt.proto != IPPROTO_UDP && pkt.proto != IPPROTO_TCP) || !pkt.has_ports)
		return RELAY_TC_PASS;
	relay_ct_key_ip(&key, pkt.family, pkt.proto, &pkt.daddr, pkt.dport, pkt.sport);
	flow = bpf_map_lookup_elem(&relay_back_flows, &key);
	if (!flow || flow->tunnel_ifindex == ifindex ||
	    !relay_ip_eq(pkt.family, &pkt.saddr, &flow->local) ||
	    relay_back_expired(flow, pkt.proto, relay_now()))
		return RELAY_TC_PASS;
	to = relay_back_tunnel(flow, pkt.family, &nh);
	if (!to)
		return RELAY_TC_PASS;
	mtu = relay_mtu_exceeded(skb, flow->tunnel_ifindex, &pkt);
	/* The error to the local stack is built on an Ethernet frame. */
	if (mtu)
		return pkt.l3_off == ETH_HLEN ? relay_back_too_big(skb, &pkt, mtu) : RELAY_TC_PASS;
	return relay_back_send(skb, &pkt, flow, to, &nh, RELAY_C_BACK_MOVED);
}

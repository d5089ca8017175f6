// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Back, TC ingress on a tunnel device: mark what arrived through the
 * tunnel, before routing, so that fwmark policy routing (and the sysctls
 * that make replies inherit the mark) send the replies back into it.
 * Only the bits of the tunnel's mask are touched; IPv4 and IPv6 alike (the
 * mark is per device, the rules per family). TCP and UDP flows are
 * remembered too: a UDP reply sent with sendto() inherits no mark, nor does
 * the reply of a container the backend forwarded the packet to (a DNAT of
 * a published port); the egress program (back_egress.bpf.c) sends them
 * back into this tunnel. Every TCP packet (not only SYNs) refreshes its
 * flow: a flow picked up mid-way, after an LRU eviction, is relearnt.
 */
#include "lib/common.h"
#include "lib/parse.h"
#include "lib/back_maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void relay_back_remember(struct __sk_buff *skb,
						const struct relay_back_config *cfg)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct relay_back_flow flow = { .tunnel_ifindex = skb->ifindex }, *old;
	__u64 now = relay_now();
	struct relay_ct_key key;
	struct relay_pkt pkt;
	__u32 l3_off = 0;

	if (cfg->tunnel_l2) {
		if (relay_parse_eth(data, end, &l3_off) != RELAY_PARSE_OK)
			return;
	} else if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6)) {
		return;
	}
	if (relay_parse_ip(data, end, l3_off, skb->len, &pkt) != RELAY_PARSE_OK ||
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

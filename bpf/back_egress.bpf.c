// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Back, TC egress on the backend's other (Ethernet) devices: the replies of
 * flows that came in through a tunnel but inherited no mark, so the main
 * table routed them here. Two kinds (IPv4 or IPv6):
 *  - a UDP reply sent with sendto() from an unconnected socket bound to
 *    0.0.0.0 or ::, with this device's source address;
 *  - a TCP or UDP reply the backend forwarded (a container behind a DNAT
 *    of a published port): conntrack already gave it back the address the
 *    client talked to, but nothing marked it.
 * It gets the address the client talked to as its source and is redirected
 * into the tunnel it came from. Anything else passes untouched: the
 * backend's own traffic (a connected socket's: a resolver's query never
 * goes into a tunnel, whatever a spoofed packet taught the flow table),
 * forwarded traffic that is not a relayed flow's reply (a container's own
 * connection, masqueraded to this device's address), flows idle past their
 * timeout.
 * A reply too big for the tunnel (its socket sized it for this device's
 * MTU) is turned into fragmentation needed / packet too big, from the
 * client's address and quoting the reply, and handed to this device's
 * ingress: the local stack takes it as a router's error, its socket learns
 * the tunnel's path MTU and fragments the next replies (or, with DF
 * sockets, sizes them), whose later fragments follow the first one here.
 */
#include "lib/common.h"
#include "lib/parse.h"
#include "lib/mtu.h"
#include "lib/back_send.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A later fragment: its first one's flow, if that was fixed. */
static __always_inline int relay_back_fragment(struct __sk_buff *skb, const struct relay_pkt *pkt)
{
	struct bpf_redir_neigh nh = {};
	struct relay_back_config *cfg;
	struct relay_back_flow *flow;
	struct relay_frag_key k;

	relay_frag_key(&k, pkt);
	flow = bpf_map_lookup_elem(&relay_back_frags, &k);
	if (!flow)
		return relay_back_pass();
	cfg = relay_back_tunnel(flow, pkt->family, &nh);
	if (!cfg)
		return relay_back_pass();
	return relay_back_send(skb, pkt, flow, cfg, &nh, RELAY_C_BACK_FRAG_FIXED);
}

SEC("tc")
int relay_back_out(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct relay_ct_key key;
	struct relay_back_config *cfg;
	struct relay_back_flow *flow;
	struct bpf_redir_neigh nh = {};
	struct bpf_sock *sk = skb->sk;
	struct relay_frag_key fk;
	struct relay_pkt pkt;
	__u32 l3_off, mtu;
	bool connected;
	__u64 now;

	if (relay_parse_eth(data, end, &l3_off) != RELAY_PARSE_OK ||
	    relay_parse_ip(data, end, l3_off, skb->len, &pkt) != RELAY_PARSE_OK ||
	    (pkt.proto != IPPROTO_UDP && pkt.proto != IPPROTO_TCP))
		return relay_back_pass();
	if (pkt.fragment)
		return relay_back_fragment(skb, &pkt);
	if (!pkt.has_ports)
		return relay_back_pass();
	/* A local TCP socket's replies inherit the mark (tcp_fwmark_accept):
	 * one here without a mark is the backend's own connection; a UDP
	 * socket with a peer (connect()) is a client's, as the resolver's.
	 * With a mark, it is a relayed connection's reply that the tunnel's
	 * table no longer routes (the tunnel device went away): it goes into
	 * the tunnel its client now comes through, or nowhere, never out of
	 * this device with the tunnel address as its source. */
	connected = sk && (pkt.proto == IPPROTO_TCP || sk->dst_port);
	if (connected && !skb->mark) {
		relay_count(RELAY_C_BACK_PASS_CONNECTED, 1);
		return RELAY_TC_PASS;
	}
	relay_ct_key_ip(&key, pkt.family, pkt.proto, &pkt.daddr, pkt.dport, pkt.sport);
	flow = bpf_map_lookup_elem(&relay_back_flows, &key);
	if (!flow)
		return relay_back_pass();
	now = relay_now();
	if (relay_back_expired(flow, pkt.proto, now)) {
		relay_count(RELAY_C_BACK_PASS_EXPIRED, 1);
		return RELAY_TC_PASS;
	}
	/* Forwarded (no socket): a relayed flow's reply has its source
	 * translated back by conntrack to the address the client talked to;
	 * a connected socket's is that address already. */
	if ((!sk || connected) && !relay_ip_eq(pkt.family, &pkt.saddr, &flow->local)) {
		relay_count(connected ? RELAY_C_BACK_PASS_CONNECTED : RELAY_C_BACK_PASS_NOT_RELAYED, 1);
		return RELAY_TC_PASS;
	}
	cfg = relay_back_tunnel(flow, pkt.family, &nh);
	if (!cfg) {
		if (!connected)
			return relay_back_pass();
		relay_count(RELAY_C_BACK_DROP_NO_TUNNEL, 1);
		return TC_ACT_SHOT;
	}
	mtu = relay_mtu_exceeded(skb, flow->tunnel_ifindex, &pkt);
	if (mtu)
		return relay_back_too_big(skb, &pkt, mtu);
	/* A flow that only the backend speaks in stays alive (see
	 * RELAY_BACK_TOUCH_NS for the once a second). */
	if (relay_back_idle(flow, now, RELAY_BACK_TOUCH_NS))
		flow->seen_ns = now;
	if (pkt.first_frag) {
		relay_frag_key(&fk, &pkt);
		bpf_map_update_elem(&relay_back_frags, &fk, flow, BPF_ANY);
	}
	return relay_back_send(skb, &pkt, flow, cfg, &nh,
			       connected ? RELAY_C_BACK_MOVED : RELAY_C_BACK_FIXED);
}

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
#include "lib/nat.h"
#include "lib/icmp_send.h"
#include "lib/back_maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define BPF_MTU_CHK_RET_SUCCESS 0

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

/* Too big for the tunnel: the error to the local stack (see the top); a
 * packet it could not be built from is dropped (back_dropped_too_big). */
static __always_inline int relay_back_too_big(struct __sk_buff *skb, const struct relay_pkt *pkt,
					      __u32 mtu)
{
	int verdict = relay_icmp_send(skb, pkt, RELAY_ICMP_DEST_UNREACH, mtu,
				      RELAY_C_BACK_TOO_BIG_ICMP | RELAY_ICMP_TO_STACK);

	if (verdict != RELAY_TC_PASS)
		return verdict;
	relay_count(RELAY_C_BACK_TOO_BIG, 1);
	return TC_ACT_SHOT;
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
	__u32 l3_off, mtu_len;
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
	 * one here is the backend's own connection; a UDP socket with a peer
	 * (connect()) is a client's, as the resolver's. */
	if (sk && (pkt.proto == IPPROTO_TCP || sk->dst_port)) {
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
	 * translated back by conntrack to the address the client talked to. */
	if (!sk && !relay_ip_eq(pkt.family, &pkt.saddr, &flow->local)) {
		relay_count(RELAY_C_BACK_PASS_NOT_RELAYED, 1);
		return RELAY_TC_PASS;
	}
	cfg = relay_back_tunnel(flow, pkt.family, &nh);
	if (!cfg)
		return relay_back_pass();
	/* A redirect skips the tunnel's MTU check: do it on the IP length. On
	 * failure mtu_len is the tunnel's MTU. */
	mtu_len = skb->len - l3_off;
	if (bpf_check_mtu(skb, flow->tunnel_ifindex, &mtu_len, 0, 0) != BPF_MTU_CHK_RET_SUCCESS)
		return relay_back_too_big(skb, &pkt, mtu_len);
	/* A flow that only the backend speaks in stays alive (see
	 * RELAY_BACK_TOUCH_NS for the once a second). */
	if (relay_back_idle(flow, now, RELAY_BACK_TOUCH_NS))
		flow->seen_ns = now;
	if (pkt.first_frag) {
		relay_frag_key(&fk, &pkt);
		bpf_map_update_elem(&relay_back_frags, &fk, flow, BPF_ANY);
	}
	return relay_back_send(skb, &pkt, flow, cfg, &nh, RELAY_C_BACK_FIXED);
}

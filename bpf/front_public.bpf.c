// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Front, TC ingress on the public device: client -> backend.
 * Rewrites the destination of client traffic addressed to one of the
 * front's public addresses to the tunnel address (and port) of a backend of
 * the port's service (bpf/lib/service.h; the source, the client's real
 * address, is left alone), records the flow and redirects the packet into
 * the tunnel. Everything else goes on untouched, to the filters
 * behind relaybpf's on the hook and to the stack (RELAY_TC_PASS).
 */
#include "lib/common.h"
#include "lib/parse.h"
#include "lib/nat.h"
#include "lib/ct.h"
#include "lib/mss.h"
#include "lib/policy.h"
#include "lib/host.h"
#include "lib/icmp.h"
#include "lib/icmp_send.h"
#include "lib/frag.h"
#include "lib/mtu.h"
#include "lib/ratelimit.h"
#include "lib/hop.h"
#include "lib/service.h"
#include "lib/refuse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* now: relay_now(), read once per packet (the main path has it from the
 * flow); id, backend and tun: the backend the packet is now addressed to
 * and its tunnel device. */
static __always_inline int relay_to_tunnel(struct __sk_buff *skb, const struct relay_pkt *pkt,
					   __u32 id, const union relay_ip *backend,
					   const struct relay_tunnel *tun, __u64 now)
{
	/* Of which IPv6: `stats` shows both families. */
	relay_count_relayed(RELAY_C_FWD_PACKETS, RELAY_C_FWD_BYTES, RELAY_C_FWD6_PACKETS, RELAY_C_MAX,
			    pkt->family, skb->len);
	/* An L3 tunnel (TUN, WireGuard) takes the packet as it is: the kernel
	 * drops the Ethernet header on the way. An L2 tunnel needs the
	 * backend's MAC, which only the neighbour table knows. */
	if (tun->l2)
		return relay_hop_redirect_l2(skb, tun, pkt->family, id, backend, now);
	return bpf_redirect(tun->ifindex, 0);
}

/*
 * Translated (to backend, destination port port) and handed to the stack,
 * which routes the packet to the backend and fragments it (it then needs
 * net.ipv4.ip_forward=1, as the recipe does, and decrements TTL). A
 * fragment too: the kernel fragments a fragment further (offsets and MF
 * kept), and with netfilter's defrag loaded it reassembles the datagram
 * first, which is why the later fragments of a datagram whose first went
 * this way follow it here (RELAY_FRAG_STACK).
 */
static __always_inline int relay_nat_to_stack(struct __sk_buff *skb, const struct relay_pkt *pkt,
					      const union relay_ip *backend, __be16 port,
					      enum relay_counter counter)
{
	if (relay_nat(skb, pkt, 0, &pkt->daddr, backend) ||
	    relay_nat_port(skb, pkt, 0, pkt->dport, port)) {
		relay_count(RELAY_C_ERR_REWRITE, 1);
		return TC_ACT_SHOT;
	}
	relay_count(counter, 1);
	/* Now addressed to the backend: relaybpf's, not the filters' behind
	 * (RELAY_TC_PASS). */
	return TC_ACT_OK;
}

/*
 * Too big for the tunnel. With DF (always over IPv6) the client learns the
 * tunnel's MTU from us (PMTU discovery, no black hole). Without DF the stack
 * fragments the translated packet.
 */
static __always_inline int relay_too_big(struct __sk_buff *skb, const struct relay_pkt *pkt,
					 __u32 mtu, const union relay_ip *backend, __be16 port)
{
	if (pkt->df) {
		return relay_icmp_send(skb, pkt, RELAY_ICMP_ERR_FRAG_NEEDED, mtu,
				       RELAY_C_TOO_BIG_ICMP);
	}
	return relay_nat_to_stack(skb, pkt, backend, port, RELAY_C_TOO_BIG_STACK);
}

/* A later fragment: it follows its first fragment's verdict and backend
 * (into that backend's tunnel), charged to its source's --rate-limit
 * bucket and checked against the tunnel's MTU like any packet relayed. It
 * carries no port. */
static __always_inline int relay_fragment_in(struct __sk_buff *skb,
					     const struct relay_front_config *cfg,
					     const struct relay_pkt *pkt)
{
	const struct relay_frag_value *v = relay_frag_lookup(pkt);
	const struct relay_backend *b;
	struct relay_tunnel tun;
	__u32 mtu, id;

	if (!v || v->verdict == RELAY_FRAG_HOST || pkt->ttl <= 1) {
		relay_count(RELAY_C_PASS_FRAGMENT, 1);
		return RELAY_TC_PASS;
	}
	if (relay_rate_limited(cfg, pkt))
		return TC_ACT_SHOT;
	if (v->verdict == RELAY_FRAG_STACK)
		return relay_nat_to_stack(skb, pkt, &v->addr, pkt->dport, RELAY_C_FRAG_STACK);
	id = v->backend_id;
	/* An array's entry: never NULL but for the verifier. A removed
	 * backend's (freed, no device) goes into the first tunnel. */
	b = bpf_map_lookup_elem(&relay_backends, &id);
	if (!b)
		return TC_ACT_SHOT;
	tun = relay_backend_tunnel(cfg, b);
	mtu = relay_mtu_exceeded(skb, tun.ifindex, pkt);
	if (mtu)
		return relay_too_big(skb, pkt, mtu, &v->addr, pkt->dport);
	if (relay_nat_fwd(skb, pkt, 0, &pkt->daddr, &v->addr)) {
		relay_count(RELAY_C_ERR_REWRITE, 1);
		return TC_ACT_SHOT;
	}
	relay_count(RELAY_C_FRAG_FWD, 1);
	relay_backend_count(v->backend_id, RELAY_DIR_ORIG, skb->len, 0);
	return relay_to_tunnel(skb, pkt, v->backend_id, &v->addr, &tun, relay_now());
}

/* An ICMP error about a packet of a relayed flow, from the client or from a
 * router on its path (relay_icmp_orig_flow), goes to the flow's backend,
 * quoting the packet as the backend sent it (its address and port); any
 * other error is the host's. */
static __always_inline int relay_error_in(struct __sk_buff *skb,
					  const struct relay_front_config *cfg,
					  const struct relay_pkt *pkt, void *data, void *end)
{
	const struct relay_backend *b = NULL;
	struct relay_icmp_inner inner;
	struct relay_ct_value *ct = NULL;
	struct relay_tunnel tun;
	__be16 port;
	__u32 id = 0;

	if (!relay_parse_icmp_inner(data, end, pkt, &inner))
		ct = relay_icmp_orig_flow(pkt, &inner);
	if (ct) {
		id = ct->backend_id;
		b = bpf_map_lookup_elem(&relay_backends, &id);
	}
	if (!b || b->family != pkt->family) {
		relay_count(RELAY_C_PASS_NO_FLOW, 1);
		return RELAY_TC_PASS;
	}
	if (pkt->ttl <= 1) {
		relay_count(RELAY_C_PASS_TTL, 1);
		return RELAY_TC_PASS;
	}
	port = ct->backend_port;
	if (relay_icmp_inner_nat(skb, pkt, &inner, 1, &pkt->daddr, &b->addr) ||
	    relay_icmp_inner_port_nat(skb, pkt, &inner, 1, port) ||
	    relay_nat_fwd(skb, pkt, 0, &pkt->daddr, &b->addr)) {
		relay_count(RELAY_C_ERR_REWRITE, 1);
		return TC_ACT_SHOT;
	}
	relay_count(RELAY_C_ICMP_ERR_FWD, 1);
	relay_backend_count(id, RELAY_DIR_ORIG, skb->len, 0);
	tun = relay_backend_tunnel(cfg, b);
	return relay_to_tunnel(skb, pkt, id, &b->addr, &tun, relay_now());
}

SEC("tc")
int relay_front_in(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct relay_front_config *cfg = relay_front_config();
	struct relay_ct_value *ct;
	struct relay_svc_sel sel;
	struct relay_pkt pkt;
	__u32 l3_off, mtu;
	int ret, svc = 0, new_flow = 0, kept;
	__u16 epoch;
	__u64 now;

	if (!cfg)
		return RELAY_TC_PASS;
	if (relay_other_vlan(skb)) {
		relay_count(RELAY_C_PASS_VLAN, 1);
		return RELAY_TC_PASS;
	}
	if (relay_parse_eth(data, end, &l3_off) != RELAY_PARSE_OK) {
		relay_count(RELAY_C_PASS_NOT_IP, 1);
		return RELAY_TC_PASS;
	}
	ret = relay_parse_skb(skb, l3_off, &pkt);
	if (ret != RELAY_PARSE_OK) {
		relay_count(relay_parse_pass_reason(ret), 1);
		return RELAY_TC_PASS;
	}
	/* A pull moved the packet. */
	relay_skb_bounds(skb, &data, &end);
	/* Neighbor Discovery is addressed to multicast or link-local
	 * addresses, or is ICMPv6 the flow checks below pass: never relayed. */
	if (!relay_is_public(cfg, &pkt)) {
		relay_count(RELAY_C_PASS_NOT_PUBLIC, 1);
		return RELAY_TC_PASS;
	}
	if (relay_from_underlay(cfg, &pkt)) {
		relay_count(RELAY_C_PASS_UNDERLAY, 1);
		return RELAY_TC_PASS;
	}
	if (pkt.fragment)
		return relay_fragment_in(skb, cfg, &pkt);
	/* A first fragment's datagram is the host's unless it is relayed
	 * below: one more map update per first fragment, so that every exit
	 * to the stack leaves its verdict. */
	relay_frag_remember(&pkt, RELAY_FRAG_HOST, NULL, 0);
	if (relay_icmp_is_error(&pkt))
		return relay_error_in(skb, cfg, &pkt, data, end);
	ret = relay_ct_trackable(&pkt, RELAY_ICMP_ECHO);
	if (ret != RELAY_C_MAX) {
		relay_count(ret, 1);
		return RELAY_TC_PASS;
	}
	now = relay_now();
	ct = relay_ct_orig(&pkt, now);
	epoch = cfg->svc_epoch;
	/* A flow whose backend nothing changed for keeps it unasked. */
	kept = !relay_flow_backend(cfg, epoch, ct, pkt.family, &sel);
	if (!kept) {
		svc = relay_service_match(cfg, pkt.family, pkt.proto, pkt.dport);
		if (svc < 0) {
			relay_count(-svc, 1);
			return RELAY_TC_PASS;
		}
	}
	if (!ct && relay_host_socket(skb, &pkt)) {
		relay_count(RELAY_C_PASS_HOST_SOCKET, 1);
		return RELAY_TC_PASS;
	}
	if (relay_rate_limited(cfg, &pkt))
		return TC_ACT_SHOT;
	/* The relay is this packet's router: its TTL expires here. */
	if (pkt.ttl <= 1) {
		return relay_icmp_send(skb, &pkt, RELAY_ICMP_ERR_TIME_EXCEEDED, 0, RELAY_C_TTL_ICMP);
	}
	/* The flow's backend while it may keep it, else Maglev's; chosen
	 * before a new flow is recorded: a refused one is not. */
	ret = 0;
	if (!kept) {
		relay_svc_sel_init(&sel, pkt.family, pkt.proto, &pkt.saddr, pkt.sport, pkt.dport,
				   svc);
		sel.cur_id = ct ? ct->backend_id : 0;
		ret = relay_backend_select(cfg, &sel);
	}
	/* A flow of this front's whose backend is down while none is up is
	 * dropped, not reset: the front cannot tell a dead backend from one
	 * only its own tunnel lost, and behind anycast (docs/scale-out.md)
	 * the withdrawal that follows moves the flow to a front that still
	 * reaches it, where its retransmits go on. What has no flow here is
	 * refused at once. */
	if (ret == -RELAY_C_REFUSED && ct) {
		relay_count(RELAY_C_DROP_NO_LIVE_BACKEND, 1);
		return TC_ACT_SHOT;
	}
	if (ret == -RELAY_C_REFUSED)
		return relay_refuse(skb, &pkt);
	if (ret) {
		relay_count(RELAY_C_PASS_NO_BACKEND, 1);
		return RELAY_TC_PASS;
	}
	if (!ct && relay_ct_may_create(&pkt)) {
		ct = relay_ct_create(&pkt, now);
		if (!ct) {
			relay_count(RELAY_C_ERR_REWRITE, 1);
			return RELAY_TC_PASS;
		}
	}
	/* An RST without a flow is relayed (the backend may still hold the
	 * connection whose entry was evicted) and recorded nowhere. */
	if (ct) {
		new_flow = relay_ct_set_backend(ct, &sel, epoch);
		relay_ct_account(ct, &pkt, RELAY_DIR_ORIG, skb->len, now);
	}
	relay_backend_count(sel.id, RELAY_DIR_ORIG, skb->len, new_flow);

	mtu = relay_tunnel_mtu_exceeded(skb, &pkt, &sel.tunnel, sel.id, &sel.addr, now);
	/* Decided before the MTU: a first fragment the stack fragments takes
	 * its datagram's later fragments with it. One that gets frag-needed
	 * (packet too big) leaves them relayed, as a router would. */
	relay_frag_remember(&pkt, mtu && !pkt.df ? RELAY_FRAG_STACK : RELAY_FRAG_RELAYED, &sel.addr,
			    sel.id);
	if (mtu)
		return relay_too_big(skb, &pkt, mtu, &sel.addr, sel.backend_port);

	if (relay_nat_fwd(skb, &pkt, 0, &pkt.daddr, &sel.addr) ||
	    relay_nat_port(skb, &pkt, 0, pkt.dport, sel.backend_port) ||
	    relay_clamp_mss(skb, &pkt, relay_cfg_mss(cfg, pkt.family))) {
		relay_count(RELAY_C_ERR_REWRITE, 1);
		return TC_ACT_SHOT;
	}

	return relay_to_tunnel(skb, &pkt, sel.id, &sel.addr, &sel.tunnel, now);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Front, TC ingress on every tunnel device in use: backend -> client.
 * A reply from a backend behind the device it came in by (each backend's
 * is relay_backend.tunnel_ifindex) is matched to its flow, its source is rewritten
 * back to the public address and port the client used, and it is sent out
 * of the public device directly: handed to the stack, a packet whose
 * source is a local address would be dropped as a martian.
 */
#include "lib/common.h"
#include "lib/parse.h"
#include "lib/nat.h"
#include "lib/ct.h"
#include "lib/mss.h"
#include "lib/icmp.h"
#include "lib/frag.h"
#include "lib/mtu.h"
#include "lib/service.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * The public device's MTU, kept per CPU as the forward direction keeps the
 * tunnel's (hop.h): asked of the kernel every RELAY_HOP_REFRESH_NS, or at
 * once when the public device changed, not with a bpf_check_mtu call per
 * reply (docs/bench.md "The reply path"). An MTU change reaches the
 * program within that time; until then a reply the new MTU refuses is
 * dropped by the device, as on any link whose MTU just shrank. One slot:
 * the device is the configuration's, the same for every reply.
 */
struct relay_pub_mtu {
	__u64 checked_ns; /* relay_now() of the last lookup; 0: never */
	__u32 ifindex;
	__u32 mtu;        /* for the IP packet */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct relay_pub_mtu);
} relay_pub_mtu SEC(".maps");

/* relay_mtu_exceeded for the public device ifindex, from the cache when
 * fresh. A GSO packet (sized by its segments) or an IPv6 jumbogram (no
 * length in the header) asks the kernel, as does a failed lookup. */
static __always_inline __u32 relay_reply_mtu_exceeded(struct __sk_buff *skb, __u32 ifindex,
						      const struct relay_pkt *pkt, __u64 now)
{
	__u32 key = 0, mtu = 0;
	struct relay_pub_mtu *c = bpf_map_lookup_elem(&relay_pub_mtu, &key);

	if (c && !skb->gso_size && pkt->tot_len) {
		if (c->checked_ns && now - c->checked_ns < RELAY_HOP_REFRESH_NS &&
		    c->ifindex == ifindex)
			return pkt->tot_len > c->mtu ? c->mtu : 0;
		/* mtu 0: the helper returns the device's MTU whatever the packet. */
		if (bpf_check_mtu(skb, ifindex, &mtu, 0, 0) >= 0) {
			c->mtu = mtu;
			c->ifindex = ifindex;
			c->checked_ns = now;
			return pkt->tot_len > mtu ? mtu : 0;
		}
	}
	return relay_mtu_exceeded(skb, ifindex, pkt);
}

/*
 * Too big for the public device (a tunnel wider than the public link). The
 * stack can do the router's work here, unlike in the forward direction: the
 * packet is addressed to the client, not to a local address.
 * With DF (always over IPv6): untranslated to the stack, which routes it
 * toward the client, finds it too big and sends the backend
 * fragmentation-needed (ICMPv6 packet too big) itself: from
 * the front's own address on the backend's side, quoting the packet as the
 * backend sent it (its socket learns the path MTU), rate limited like any
 * error the kernel sends (icmp_ratelimit).
 * Without DF: translated (public, service port) and handed to the stack to
 * fragment; its source is then a local address, which the stack takes from
 * the tunnel device only with accept_local (and forwards with ip_forward),
 * as docs/front.md says.
 * Both need forwarding on (net.ipv4.ip_forward=1, IPv6:
 * net.ipv6.conf.all.forwarding=1), as the forward direction's too_big_to_stack.
 */
static __always_inline int relay_reply_too_big(struct __sk_buff *skb, const struct relay_pkt *pkt,
					       const union relay_ip *public, __be16 port)
{
	/* Untouched: the filters behind may see it (RELAY_TC_PASS). */
	if (pkt->df) {
		relay_count(RELAY_C_REPLY_TOO_BIG_DF, 1);
		return RELAY_TC_PASS;
	}
	if (relay_nat(skb, pkt, 1, &pkt->saddr, public) ||
	    relay_nat_port(skb, pkt, 1, pkt->sport, port)) {
		relay_count(RELAY_C_ERR_REWRITE, 1);
		return TC_ACT_SHOT;
	}
	relay_count(RELAY_C_REPLY_TOO_BIG_STACK, 1);
	/* From the public address now: relaybpf's (RELAY_TC_PASS). */
	return TC_ACT_OK;
}

SEC("tc")
int relay_front_rev(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct relay_front_config *cfg = relay_front_config();
	struct relay_icmp_inner inner;
	struct relay_ct_value *ct;
	struct relay_svc_sel sel;
	struct relay_pkt pkt;
	struct relay_rev_tunnel tun;
	const union relay_ip *public, *tun_ip;
	__be16 port;
	__u32 l3_off = 0, id = 0;
	__u64 now;
	int ret;

	if (!cfg)
		return RELAY_TC_PASS;
	if (relay_cfg_tunnel(cfg, skb->ifindex, &tun)) {
		relay_count(RELAY_C_PASS_NOT_TUNNEL, 1);
		return RELAY_TC_PASS;
	}
	/* An L3 tunnel's packets start at the IP header; the loader knows
	 * which kind of device this is and says so in the config. */
	if (tun.l2) {
		if (relay_parse_eth(data, end, &l3_off) != RELAY_PARSE_OK) {
			relay_count(RELAY_C_PASS_NOT_IP, 1);
			return RELAY_TC_PASS;
		}
	} else if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6)) {
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
	/* Only from a backend of the packet's own family (no NAT64 here):
	 * checked on the flow, the quoted flow or the fragment's datagram
	 * (whose key a client's datagram to the front may share: the
	 * verdict's backend must be the source). */
	port = pkt.sport;
	now = relay_now();
	if (pkt.fragment) {
		const struct relay_frag_value *v = relay_frag_lookup(&pkt);

		if (!v || v->verdict != RELAY_FRAG_RELAYED || pkt.ttl <= 1 ||
		    !relay_backend_is(cfg, v->backend_id, pkt.family, &pkt.saddr, skb->ifindex)) {
			relay_count(RELAY_C_PASS_FRAGMENT, 1);
			return RELAY_TC_PASS;
		}
		public = &v->addr;
		id = v->backend_id;
		relay_count(RELAY_C_FRAG_RET, 1);
	} else if (relay_icmp_is_error(&pkt)) {
		/* An error about a client's packet: it leaves with the public
		 * address (and service port) outside and inside, never the
		 * backend's. */
		if (!(tun_ip = relay_cfg_tunnel_ip(cfg, &tun)) ||
		    relay_parse_icmp_inner(data, end, &pkt, &inner) ||
		    !(public = relay_icmp_reply_public(cfg, &pkt, &inner, tun_ip, skb->ifindex,
						       &port, &id))) {
			relay_count(RELAY_C_PASS_NO_FLOW, 1);
			return RELAY_TC_PASS;
		}
		if (pkt.ttl <= 1) {
			relay_count(RELAY_C_PASS_TTL, 1);
			return RELAY_TC_PASS;
		}
		if (relay_icmp_inner_nat(skb, &pkt, &inner, 0, &pkt.saddr, public) ||
		    relay_icmp_inner_port_nat(skb, &pkt, &inner, 0, port)) {
			relay_count(RELAY_C_ERR_REWRITE, 1);
			return TC_ACT_SHOT;
		}
		/* The error's own header has no port. */
		port = pkt.sport;
		relay_count(RELAY_C_ICMP_ERR_RET, 1);
	} else {
		ret = relay_ct_trackable(&pkt, RELAY_ICMP_ECHOREPLY);
		if (ret != RELAY_C_MAX) {
			relay_count(ret, 1);
			return RELAY_TC_PASS;
		}
		port = relay_rev_service_port(cfg, pkt.family, pkt.proto, &pkt.saddr, pkt.sport);
		ct = relay_ct_reply(cfg, &pkt, &port, skb->ifindex, now);
		if (!ct) {
			tun_ip = relay_cfg_tunnel_ip(cfg, &tun);
			ret = tun_ip ? relay_ct_reply_like(cfg, &pkt, port, tun_ip, skb->ifindex, &sel) :
				       RELAY_C_PASS_NO_FLOW;
			if (ret != RELAY_C_MAX) {
				relay_count(ret, 1);
				return RELAY_TC_PASS;
			}
			ct = relay_ct_restore(skb, cfg, &pkt, &sel, now);
		}
		/* A reply that cannot be translated must not leave as it is:
		 * the stack would forward it to the client from the backend's
		 * tunnel address (with two public addresses, any reply whose
		 * flow is gone). */
		if (!ct) {
			relay_count(RELAY_C_DROP_REPLY_NO_FLOW, 1);
			return TC_ACT_SHOT;
		}
		if (pkt.ttl <= 1) {
			relay_count(RELAY_C_PASS_TTL, 1);
			return RELAY_TC_PASS;
		}
		relay_ct_account(ct, &pkt, RELAY_DIR_REPLY, skb->len, now);
		public = &ct->public_ip;
		id = ct->backend_id;
		relay_frag_remember(&pkt, RELAY_FRAG_RELAYED, public, id);
	}

	relay_backend_count(id, RELAY_DIR_REPLY, skb->len, 0);
	/* An ICMP error is small (at most 576 bytes from a conforming host). */
	if (!relay_icmp_is_error(&pkt) &&
	    relay_reply_mtu_exceeded(skb, cfg->public_ifindex, &pkt, now))
		return relay_reply_too_big(skb, &pkt, public, port);
	if (relay_nat_fwd(skb, &pkt, 1, &pkt.saddr, public) ||
	    relay_nat_port(skb, &pkt, 1, pkt.sport, port) ||
	    relay_clamp_mss(skb, &pkt, relay_cfg_mss(cfg, pkt.family))) {
		relay_count(RELAY_C_ERR_REWRITE, 1);
		return TC_ACT_SHOT;
	}
	/* redirect_neigh builds the Ethernet header, but needs room for it. */
	if (!tun.l2 && bpf_skb_change_head(skb, ETH_HLEN, 0)) {
		relay_count(RELAY_C_ERR_REDIRECT, 1);
		return TC_ACT_SHOT;
	}
	relay_count_relayed(RELAY_C_RET_PACKETS, RELAY_C_RET_BYTES, RELAY_C_RET6_PACKETS, RELAY_C_MAX,
			    pkt.family, skb->len);
	return bpf_redirect_neigh(cfg->public_ifindex, NULL, 0, 0);
}

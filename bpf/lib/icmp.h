/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ICMP and ICMPv6 errors about relayed flows, translated like netfilter
 * does: the outer address, the embedded packet's address, the embedded IP
 * (IPv4) and TCP/UDP (and ICMPv6 echo) checksums and the ICMP checksum over
 * all of it (ICMPv6's also covers a pseudo-header). Without it the
 * client would get errors quoting the backend's tunnel address (and drop
 * them: PMTU discovery breaks), and the backend errors quoting the public
 * address.
 */
#ifndef RELAY_LIB_ICMP_H
#define RELAY_LIB_ICMP_H

#include "common.h"
#include "parse.h"
#include "nat.h"
#include "ct.h"

#define RELAY_ICMP_HLEN 8

/* The packet an ICMP error quotes. */
struct relay_icmp_inner {
	__u32 ip_off;    /* of the embedded IP header */
	__u32 l4_off;
	union relay_ip saddr;
	union relay_ip daddr;
	__be16 sport;    /* echo: the identifier */
	__be16 dport;
	__u8 proto;
	__u8 l4_csum_len; /* bytes of the embedded L4 header present: 0, 8 or more */
};

static __always_inline int relay_icmp_is_error(const struct relay_pkt *pkt)
{
	return relay_pkt_is_icmp(pkt) && !pkt->fragment &&
	       (pkt->icmp_type == RELAY_ICMP_DEST_UNREACH ||
		pkt->icmp_type == RELAY_ICMP_TIME_EXCEEDED ||
		pkt->icmp_type == RELAY_ICMP_PARAMETERPROB);
}

/* The quoted transport header: ports, or the echo identifier (ICMPv6's
 * echo types are given raw: the quote is not normalised). */
static __always_inline int relay_icmp_inner_l4(__u8 *l4, struct relay_icmp_inner *in,
					       __u8 family)
{
	if (in->proto == IPPROTO_TCP || in->proto == IPPROTO_UDP) {
		in->sport = *(__be16 *)l4;
		in->dport = *(__be16 *)(l4 + 2);
	} else if ((family == AF_INET && in->proto == IPPROTO_ICMP &&
		    (l4[0] == RELAY_ICMP_ECHO || l4[0] == RELAY_ICMP_ECHOREPLY)) ||
		   (family == AF_INET6 && in->proto == IPPROTO_ICMPV6 &&
		    (l4[0] == RELAY_ICMP6_ECHO || l4[0] == RELAY_ICMP6_ECHOREPLY))) {
		in->sport = *(__be16 *)(l4 + 4);
		in->dport = in->sport;
	} else {
		return -1;
	}
	return 0;
}

/* An ICMPv6 error's quote: the IPv6 header and at least 8 bytes of the
 * transport header right after it (a quote with extension headers is
 * about no flow of ours: relaybpf's own packets carry none). */
static __always_inline int relay_parse_icmp6_inner(void *data, void *end,
						   const struct relay_pkt *pkt,
						   struct relay_icmp_inner *in)
{
	__u32 pkt_end = pkt->l3_off + pkt->tot_len;
	struct ipv6hdr *ip6;
	__u8 *l4;

	/* The outer header: IPv6 and up to RELAY_IPV6_MAX_EXT small ones. */
	if (pkt->l4_off > 14 + 40 + 64)
		return -1;
	ip6 = data + pkt->l4_off + RELAY_ICMP_HLEN;
	if ((void *)(ip6 + 1) > end || ip6->version != 6)
		return -1;
	in->ip_off = pkt->l4_off + RELAY_ICMP_HLEN;
	in->l4_off = in->ip_off + IPV6_HLEN;
	__builtin_memcpy(in->saddr.v6, &ip6->saddr, 16);
	__builtin_memcpy(in->daddr.v6, &ip6->daddr, 16);
	in->proto = ip6->nexthdr;
	l4 = (void *)(ip6 + 1);
	if ((void *)(l4 + 8) > end || in->l4_off + 8 > pkt_end ||
	    relay_icmp_inner_l4(l4, in, AF_INET6))
		return -1;
	in->l4_csum_len = in->l4_off + 18 <= pkt_end ? 18 : 8;
	return 0;
}

/* 0 when the error quotes an IP packet with its ports (RFC 792: the IP
 * header and at least 8 bytes of its payload; RFC 4443: as much as fits).
 * The quote ends with the error's IP total length: bytes past it are
 * link-layer padding, which must be neither read as the quote nor
 * rewritten (the ICMP checksum does not cover them). A subprogram: the
 * quoted addresses then live on the stack, where the verifier follows
 * them, not in registers merged across the two families' paths. */
static __noinline int relay_parse_icmp_inner(void *data, void *end, const struct relay_pkt *pkt,
					     struct relay_icmp_inner *in)
{
	/* The packet's end as an offset: the verifier only bounds reads
	 * against data_end itself. */
	__u32 pkt_end = pkt->l3_off + pkt->tot_len;
	struct iphdr *ip;
	__u8 *l4;

	if (pkt->family == AF_INET6)
		return relay_parse_icmp6_inner(data, end, pkt, in);
	if (pkt->l4_off > 14 + 60)
		return -1;
	ip = data + pkt->l4_off + RELAY_ICMP_HLEN;
	if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5)
		return -1;
	in->ip_off = pkt->l4_off + RELAY_ICMP_HLEN;
	in->l4_off = in->ip_off + ip->ihl * 4;
	/* Whole: the compiler may otherwise keep undefined IPv6 words in
	 * registers the verifier then refuses to compare. */
	in->saddr = (union relay_ip){ .v4 = ip->saddr };
	in->daddr = (union relay_ip){ .v4 = ip->daddr };
	in->proto = ip->protocol;
	l4 = (void *)ip + ip->ihl * 4;
	if ((void *)(l4 + 8) > end || in->l4_off + 8 > pkt_end ||
	    (ip->frag_off & bpf_htons(IP_OFFSET)) || relay_icmp_inner_l4(l4, in, AF_INET))
		return -1;
	/* A quoted TCP header may be cut short before its checksum. */
	in->l4_csum_len = in->l4_off + 18 <= pkt_end ? 18 : 8;
	return 0;
}

/* Offset of the quoted checksum that covers the quoted addresses (TCP,
 * UDP; over IPv6 ICMPv6 echo too, the only ICMPv6 a quote of ours holds),
 * 0 if none or not quoted. */
static __always_inline __u32 relay_icmp_inner_csum(const struct relay_icmp_inner *in)
{
	if (in->proto == IPPROTO_UDP)
		return in->l4_off + offsetof(struct udphdr, check);
	if (in->proto == IPPROTO_TCP && in->l4_csum_len >= 18)
		return in->l4_off + offsetof(struct tcphdr, check);
	if (in->proto == IPPROTO_ICMPV6)
		return in->l4_off + offsetof(struct icmp6hdr, icmp6_cksum);
	return 0;
}

/*
 * The quoted packet's L4 checksum (ordinary data of the ICMP message)
 * changes with its address or ports, from old to new (size bytes, a
 * multiple of 4); the ICMP checksum follows it. Computed here, not by bpf_l4_csum_replace: without
 * the pseudo-header flag that leaves the field alone on a CHECKSUM_PARTIAL
 * skb (an error injected with a virtio-net header: the device sums the
 * ICMP message on the way out), right for the ICMP checksum, but the
 * quoted one stayed stale; and with the flag it would add the change
 * rather than subtract it. The byte changes of the quote and of both
 * checksums cancel: a CHECKSUM_COMPLETE skb->csum needs nothing.
 */
static __always_inline int relay_icmp_inner_l4_nat(struct __sk_buff *skb,
						   const struct relay_icmp_inner *in,
						   __u32 icmp_csum, const __be32 *old, const __be32 *new,
						   __u32 size)
{
	__u32 l4_csum = relay_icmp_inner_csum(in);
	__be16 c_old, c_new;
	__s64 sum;

	if (!l4_csum)
		return 0;
	if (bpf_skb_load_bytes(skb, l4_csum, &c_old, 2))
		return -1;
	/* UDP 0 is "no checksum" (IPv4) and stays 0. */
	if (!c_old && in->proto == IPPROTO_UDP)
		return 0;
	sum = bpf_csum_diff((__be32 *)old, size, (__be32 *)new, size, (__u16)~c_old);
	if (sum < 0)
		return -1;
	c_new = relay_csum_fold(sum);
	/* A sum of 0 is written 0xffff (UDP: 0 would mean none). */
	if (!c_new && in->proto == IPPROTO_UDP)
		c_new = 0xffff;
	if (bpf_skb_store_bytes(skb, l4_csum, &c_new, 2, 0) ||
	    bpf_l4_csum_replace(skb, icmp_csum, c_old, c_new, 2))
		return -1;
	return 0;
}

/*
 * Rewrites the quoted packet's address at addr_off (offsetof saddr or
 * daddr of its IP header) from old to new, with the quoted IP checksum
 * (IPv4), the quoted TCP/UDP/ICMPv6 checksum when present and the ICMP
 * checksum. The outer header is the caller's (relay_nat): over IPv6 that
 * also updates the ICMPv6 checksum's pseudo-header.
 */
static __always_inline int relay_icmp_inner_nat(struct __sk_buff *skb, const struct relay_pkt *pkt,
						const struct relay_icmp_inner *in, int src,
						const union relay_ip *old_ip,
						const union relay_ip *new_ip)
{
	__u32 icmp_csum = pkt->l4_off + offsetof(struct icmphdr, checksum);
	__be32 old = old_ip->v4, new = new_ip->v4;
	__be16 c_old, c_new;

	if (pkt->family == AF_INET6) {
		/* No IP checksum: the address is ICMPv6 payload data, and the
		 * quoted L4 checksum's pseudo-header. */
		__s64 diff = bpf_csum_diff((__be32 *)old_ip->v6w, 16, (__be32 *)new_ip->v6w, 16, 0);

		if (diff < 0 ||
		    relay_icmp_inner_l4_nat(skb, in, icmp_csum, old_ip->v6w, new_ip->v6w, 16) ||
		    bpf_l4_csum_replace(skb, icmp_csum, 0, diff, 0))
			return -1;
		return bpf_skb_store_bytes(skb, in->ip_off + (src ? RELAY_IP6_SADDR_OFF :
								   RELAY_IP6_DADDR_OFF),
					   new_ip->v6, 16, 0);
	}
	if (bpf_skb_load_bytes(skb, in->ip_off + RELAY_IP_CSUM_OFF, &c_old, 2) ||
	    bpf_l3_csum_replace(skb, in->ip_off + RELAY_IP_CSUM_OFF, old, new, sizeof(new)) ||
	    bpf_skb_load_bytes(skb, in->ip_off + RELAY_IP_CSUM_OFF, &c_new, 2) ||
	    bpf_l4_csum_replace(skb, icmp_csum, c_old, c_new, 2))
		return -1;
	if (relay_icmp_inner_l4_nat(skb, in, icmp_csum, &old, &new, sizeof(new)))
		return -1;
	if (bpf_l4_csum_replace(skb, icmp_csum, old, new, sizeof(new)))
		return -1;
	return bpf_skb_store_bytes(skb, in->ip_off + (src ? RELAY_IP_SADDR_OFF : RELAY_IP_DADDR_OFF),
				   &new, sizeof(new), 0);
}

/*
 * The quoted packet's TCP or UDP port (the source, src = 1, or the
 * destination) to new_port: a service port translated like the packet's
 * own. The ports are the first word of the quoted transport header: that
 * word changes, the quoted checksum and the ICMP checksum with it.
 */
static __always_inline int relay_icmp_inner_port_nat(struct __sk_buff *skb,
						     const struct relay_pkt *pkt,
						     const struct relay_icmp_inner *in, int src,
						     __be16 new_port)
{
	__u32 icmp_csum = pkt->l4_off + offsetof(struct icmphdr, checksum);
	__be32 old_w, new_w;
	__be16 *ports = (__be16 *)&new_w;

	if ((in->proto != IPPROTO_TCP && in->proto != IPPROTO_UDP) ||
	    (src ? in->sport : in->dport) == new_port)
		return 0;
	if (bpf_skb_load_bytes(skb, in->l4_off, &old_w, sizeof(old_w)))
		return -1;
	new_w = old_w;
	if (src)
		ports[0] = new_port;
	else
		ports[1] = new_port;
	if (relay_icmp_inner_l4_nat(skb, in, icmp_csum, &old_w, &new_w, sizeof(new_w)) ||
	    bpf_l4_csum_replace(skb, icmp_csum, old_w, new_w, sizeof(new_w)))
		return -1;
	return bpf_skb_store_bytes(skb, in->l4_off, &new_w, sizeof(new_w), 0);
}

/*
 * The public address an error from a backend must carry: the flow of the
 * packet it quotes (a client's packet the backend got, to the port
 * *service_port translated to), else, with one public address, the sole
 * one when the quoted flow's backend would be the error's source; NULL
 * when it is about no relayed flow. *service_port: the port the client
 * used, *id: the flow's backend, which must be behind the tunnel device
 * the error came in by (ifindex; tun_ip: the front's addresses on it). An
 * error about the front's own packet to the backend is the front's.
 */
static __always_inline const union relay_ip *
relay_icmp_reply_public(const struct relay_front_config *cfg, const struct relay_pkt *pkt,
			const struct relay_icmp_inner *in, const union relay_ip *tun_ip,
			__u32 ifindex, __be16 *service_port, __u32 *id)
{
	const union relay_ip *sole = relay_cfg_sole_public(cfg, pkt->family);
	struct relay_svc_sel sel;
	struct relay_ct_key key;
	struct relay_ct_value *ct;
	int svc;

	if (!relay_ip_eq(pkt->family, &in->daddr, &pkt->saddr) ||
	    relay_ip_eq(pkt->family, &in->saddr, &tun_ip[RELAY_FAMILY_IDX(pkt->family)]))
		return NULL;
	*service_port = relay_rev_service_port(cfg, pkt->family, in->proto, &in->daddr, in->dport);
	relay_ct_key_ip(&key, pkt->family, in->proto, &in->saddr, in->sport, *service_port);
	/* Also an unreplied flow's: a port unreachable answers one. */
	ct = relay_ct_find(&key, NULL, relay_now());
	if (!ct && *service_port != in->dport) {
		*service_port = in->dport;
		key.service_port = in->dport;
		ct = relay_ct_find(&key, NULL, relay_now());
	}
	if (ct && relay_backend_is(cfg, ct->backend_id, pkt->family, &pkt->saddr, ifindex)) {
		*id = ct->backend_id;
		return &ct->public_ip;
	}
	if (relay_ip_is_zero(pkt->family, sole))
		return NULL;
	svc = relay_service_match(cfg, pkt->family, in->proto, *service_port);
	if (svc < 0)
		return NULL;
	relay_svc_sel_init(&sel, pkt->family, in->proto, &in->saddr, in->sport, *service_port, svc);
	if (relay_backend_select(cfg, &sel) || !relay_ip_eq(pkt->family, &sel.addr, &pkt->saddr) ||
	    sel.tunnel.ifindex != ifindex)
		return NULL;
	*id = sel.id;
	return sole;
}

/*
 * The flow of the packet the front relayed from a backend that an error
 * arriving on the public device quotes, or NULL: matched on the quoted flow
 * only, as netfilter does, never on who sent the error. A router on the
 * client's path (PPPoE, a tunnel broker) sends frag-needed / packet too big
 * / time exceeded / unreachable from its own address: requiring the
 * client's would black-hole PMTU discovery. What keeps a spoofer from
 * injecting errors: the error is addressed to the quoted packet's source,
 * which is the public address of a live flow whose client is the quoted
 * destination (with the quoted ports).
 */
static __always_inline struct relay_ct_value *relay_icmp_orig_flow(const struct relay_pkt *pkt,
								    const struct relay_icmp_inner *in)
{
	struct relay_ct_key key;

	if (!relay_ip_eq(pkt->family, &in->saddr, &pkt->daddr))
		return NULL;
	relay_ct_key_ip(&key, pkt->family, in->proto, &in->daddr, in->dport, in->sport);
	/* in->saddr is pkt->daddr, checked above. */
	return relay_ct_find(&key, &pkt->daddr, relay_now());
}

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Header parsing for TC programs. The parser only reads; it records offsets
 * so that rewrites can go through the checksum-aware skb helpers.
 */
#ifndef RELAY_LIB_PARSE_H
#define RELAY_LIB_PARSE_H

#include "common.h"

enum relay_parse_result {
	RELAY_PARSE_OK = 0,
	RELAY_PARSE_NOT_IP,    /* neither IPv4 nor IPv6: never ours */
	RELAY_PARSE_MALFORMED, /* claims to be IP but cannot be */
	RELAY_PARSE_TOO_DEEP,  /* IPv6 extension headers past RELAY_IPV6_MAX_EXT */
	RELAY_PARSE_ROUTED,    /* IPv6 routing header with segments left: not its final
				* destination, the stack routes it on */
	RELAY_PARSE_SHORT,     /* a header the packet holds lies past the linear
				* area (pkt->need: the bytes to pull) */
};

/* One packet of either family: addresses are union relay_ip (IPv4 uses
 * .v4, the other bytes are 0) and family says which. */
struct relay_pkt {
	__u32 l3_off;
	__u32 l4_off;
	union relay_ip saddr;
	union relay_ip daddr;
	__be16 sport;     /* ICMP echo: identifier */
	__be16 dport;     /* ICMP echo: identifier */
	__u8 family;      /* AF_INET or AF_INET6 */
	__u8 proto;       /* IPv6: the transport header's, past extension headers */
	__u8 ttl;         /* IPv6: hop limit */
	__u8 tcp_flags;
	__u8 has_ports;   /* TCP, UDP or ICMP echo with its header present */
	__u8 icmp_type;   /* ICMPv6 in ICMPv4 terms: see relay_icmp6_type() */
	__u8 fragment;    /* non-first fragment: no transport header */
	__u8 df;          /* don't fragment (IPv6: always, routers never fragment) */
	__u8 first_frag;  /* offset 0, more fragments follow */
	__u8 pad[3];
	__be32 ip_id;     /* IPv4 id, or the IPv6 fragment header's */
	__u16 tot_len;    /* IP total length, header(s) included, host order */
	__u32 need;       /* RELAY_PARSE_SHORT: linear bytes from the frame's start */
};

#define RELAY_TCP_FIN 0x01
#define RELAY_TCP_SYN 0x02
#define RELAY_TCP_RST 0x04
#define RELAY_TCP_ACK 0x10

#define RELAY_ICMP_ECHOREPLY 0
#define RELAY_ICMP_DEST_UNREACH 3
#define RELAY_ICMP_ECHO 8
#define RELAY_ICMP_TIME_EXCEEDED 11
#define RELAY_ICMP_PARAMETERPROB 12
#define RELAY_ICMP_OTHER 255

#define RELAY_ICMP6_DEST_UNREACH 1
#define RELAY_ICMP6_PKT_TOOBIG 2
#define RELAY_ICMP6_TIME_EXCEED 3
#define RELAY_ICMP6_PARAMPROB 4
#define RELAY_ICMP6_ECHO 128
#define RELAY_ICMP6_ECHOREPLY 129

/* Extension headers walked before giving up (pass_ipv6_ext_too_deep):
 * RFC 8200's recommended order has at most six before the transport. */
#define RELAY_IPV6_MAX_EXT 6

/*
 * Bytes an ICMP error's quote takes past its ICMP header for icmp.h to read
 * it: the largest IPv4 header (an IPv6 one is 40) and 8 bytes of the
 * quoted transport header.
 */
#define RELAY_ICMP_QUOTE_READ (60 + 8)

/* A header that ends at byte need of the frame is past data_end: short if
 * the packet (avail bytes from the frame's start) holds it, else malformed. */
static __always_inline int relay_parse_short(struct relay_pkt *pkt, __u32 need, __u32 avail)
{
	if (need > avail)
		return RELAY_PARSE_MALFORMED;
	pkt->need = need;
	return RELAY_PARSE_SHORT;
}

/* Offset of the IP header in a frame that starts with Ethernet. */
static __always_inline int relay_parse_eth(void *data, void *end, __u32 *l3_off)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return RELAY_PARSE_NOT_IP;
	if (eth->h_proto != bpf_htons(ETH_P_IP) && eth->h_proto != bpf_htons(ETH_P_IPV6))
		return RELAY_PARSE_NOT_IP;
	*l3_off = ETH_HLEN;
	return RELAY_PARSE_OK;
}

/* The family's ICMP: protocol 58 over IPv4 (or 1 over IPv6) is no ICMP
 * of ours, just another protocol relayed by address. */
static __always_inline __u8 relay_icmp_proto(__u8 family)
{
	return family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
}

static __always_inline int relay_pkt_is_icmp(const struct relay_pkt *pkt)
{
	return pkt->proto == relay_icmp_proto(pkt->family);
}

/*
 * The ICMPv6 types relaybpf acts on, as their ICMPv4 counterparts, so that
 * the conntrack and error paths test one set of types for both families.
 * Everything else (Neighbor Discovery, MLD, router advertisements...) is
 * RELAY_ICMP_OTHER: never a flow, never relayed.
 */
static __always_inline __u8 relay_icmp6_type(__u8 type)
{
	switch (type) {
	case RELAY_ICMP6_ECHO:
		return RELAY_ICMP_ECHO;
	case RELAY_ICMP6_ECHOREPLY:
		return RELAY_ICMP_ECHOREPLY;
	case RELAY_ICMP6_DEST_UNREACH:
	case RELAY_ICMP6_PKT_TOOBIG:
		return RELAY_ICMP_DEST_UNREACH;
	case RELAY_ICMP6_TIME_EXCEED:
		return RELAY_ICMP_TIME_EXCEEDED;
	case RELAY_ICMP6_PARAMPROB:
		return RELAY_ICMP_PARAMETERPROB;
	default:
		return RELAY_ICMP_OTHER;
	}
}

/* The transport header, shared by both families; l4_len: the bytes the IP
 * length leaves for it. */
static __always_inline int relay_parse_l4(void *l4, void *end, __u32 l4_len,
					  struct relay_pkt *pkt)
{
	__u32 avail = pkt->l4_off + l4_len;

	if (pkt->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > end)
			return relay_parse_short(pkt, pkt->l4_off + sizeof(*tcp), avail);
		if (tcp->doff < 5 || tcp->doff * 4 > l4_len)
			return RELAY_PARSE_MALFORMED;
		pkt->sport = tcp->source;
		pkt->dport = tcp->dest;
		pkt->tcp_flags = ((__u8 *)tcp)[13];
		pkt->has_ports = 1;
	} else if (pkt->proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if (sizeof(*udp) > l4_len)
			return RELAY_PARSE_MALFORMED;
		if ((void *)(udp + 1) > end)
			return relay_parse_short(pkt, pkt->l4_off + sizeof(*udp), avail);
		/* Over IPv6 a UDP checksum is mandatory: the stack drops 0. */
		if (pkt->family == AF_INET6 && !udp->check)
			return RELAY_PARSE_MALFORMED;
		pkt->sport = udp->source;
		pkt->dport = udp->dest;
		pkt->has_ports = 1;
	} else if (relay_pkt_is_icmp(pkt)) {
		/* ICMP and ICMPv6 share the layout of the first 8 bytes. */
		struct icmphdr *icmp = l4;
		__u32 quote;

		if (sizeof(*icmp) > l4_len)
			return RELAY_PARSE_MALFORMED;
		if ((void *)(icmp + 1) > end)
			return relay_parse_short(pkt, pkt->l4_off + sizeof(*icmp), avail);
		pkt->icmp_type = pkt->family == AF_INET6 ? relay_icmp6_type(icmp->type) : icmp->type;
		if (pkt->icmp_type == RELAY_ICMP_ECHO || pkt->icmp_type == RELAY_ICMP_ECHOREPLY) {
			/* The identifier stands for both ports, so a request
			 * and its reply build the same conntrack key. */
			pkt->sport = icmp->un.echo.id;
			pkt->dport = icmp->un.echo.id;
			pkt->has_ports = 1;
			return RELAY_PARSE_OK;
		}
		/* Any other message may be an error whose quote icmp.h reads
		 * directly: a driver that splits headers from payload leaves
		 * it in the pages (the flow dissector stops at the ICMP
		 * header). */
		quote = l4_len - sizeof(*icmp);
		if (quote > RELAY_ICMP_QUOTE_READ)
			quote = RELAY_ICMP_QUOTE_READ;
		if ((void *)(icmp + 1) + quote > end)
			return relay_parse_short(pkt, pkt->l4_off + sizeof(*icmp) + quote, avail);
	}
	return RELAY_PARSE_OK;
}

static __always_inline void relay_pkt_reset_l4(struct relay_pkt *pkt)
{
	pkt->sport = 0;
	pkt->dport = 0;
	pkt->tcp_flags = 0;
	pkt->has_ports = 0;
	pkt->icmp_type = 0;
}

/*
 * l3_off must be a constant or bounded: it is 0 (L3 device) or ETH_HLEN.
 * skb_len is skb->len: lengths are checked against it, not data_end, since
 * the payload may sit in pages past the linear part.
 */
static __always_inline int relay_parse_ipv4(void *data, void *end, __u32 l3_off, __u32 skb_len,
					    struct relay_pkt *pkt)
{
	struct iphdr *ip = data + l3_off;
	__u32 ihl_len, ip_len;

	if ((void *)(ip + 1) > end)
		return relay_parse_short(pkt, l3_off + sizeof(*ip), skb_len);
	if (ip->version != 4 || ip->ihl < 5)
		return RELAY_PARSE_MALFORMED;
	ihl_len = ip->ihl * 4;
	if ((void *)ip + ihl_len > end)
		return relay_parse_short(pkt, l3_off + ihl_len, skb_len);
	/* The stack drops what its total length does not fit (it only trims
	 * padding past it): relaying it would move the drop to the backend.
	 * 0 with more than 64k: an IPv4 BIG TCP aggregate. */
	ip_len = bpf_ntohs(ip->tot_len);
	if (!ip_len && skb_len - l3_off > 0xffff)
		ip_len = skb_len - l3_off;
	if (ip_len < ihl_len || l3_off + ip_len > skb_len)
		return RELAY_PARSE_MALFORMED;

	pkt->l3_off = l3_off;
	pkt->l4_off = l3_off + ihl_len;
	pkt->family = AF_INET;
	/* Whole, zeroed explicitly (a union literal leaves the bytes past .v4
	 * unspecified): the unused IPv6 words then compare and hash equal,
	 * and no undefined word lets the compiler merge paths into registers
	 * the verifier refuses to compare. */
	__builtin_memset(&pkt->saddr, 0, sizeof(pkt->saddr));
	__builtin_memset(&pkt->daddr, 0, sizeof(pkt->daddr));
	pkt->saddr.v4 = ip->saddr;
	pkt->daddr.v4 = ip->daddr;
	pkt->proto = ip->protocol;
	pkt->ttl = ip->ttl;
	relay_pkt_reset_l4(pkt);
	pkt->fragment = !!(ip->frag_off & bpf_htons(IP_OFFSET));
	pkt->df = !!(ip->frag_off & bpf_htons(IP_DF));
	pkt->first_frag = (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) == bpf_htons(IP_MF);
	pkt->ip_id = ip->id;
	pkt->tot_len = bpf_ntohs(ip->tot_len);

	if (pkt->fragment)
		return RELAY_PARSE_OK;
	return relay_parse_l4((void *)ip + ihl_len, end, ip_len - ihl_len, pkt);
}

static __always_inline int relay_ipv6_is_ext(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_FRAGMENT || nexthdr == IPPROTO_DSTOPTS ||
	       nexthdr == IPPROTO_AH;
}

/* The generic extension header, and the fragment and routing headers'
 * tails. */
struct relay_ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen;
	union {
		__be16 frag_off; /* fragment header: offset << 3 | M */
		struct {
			__u8 type;
			__u8 segments_left;
		} rt;            /* routing header */
	};
	__be32 id;
};

#define RELAY_IP6_OFFSET 0xFFF8
#define RELAY_IP6_MF 0x0001

/* Same contract as relay_parse_ipv4. Extension headers are walked up to
 * RELAY_IPV6_MAX_EXT (a bounded loop the verifier checks once per step). */
static __always_inline int relay_parse_ipv6(void *data, void *end, __u32 l3_off, __u32 skb_len,
					    struct relay_pkt *pkt)
{
	struct ipv6hdr *ip6 = data + l3_off;
	__u32 ip_len, off;
	__u8 nexthdr;

	if ((void *)(ip6 + 1) > end)
		return relay_parse_short(pkt, l3_off + sizeof(*ip6), skb_len);
	if (ip6->version != 6)
		return RELAY_PARSE_MALFORMED;
	ip_len = IPV6_HLEN + bpf_ntohs(ip6->payload_len);
	/* 0 with more than 64k: an IPv6 BIG TCP aggregate (no jumbo option). */
	if (ip_len == IPV6_HLEN && skb_len - l3_off > 0xffff + IPV6_HLEN)
		ip_len = skb_len - l3_off;
	if (l3_off + ip_len > skb_len)
		return RELAY_PARSE_MALFORMED;

	pkt->l3_off = l3_off;
	pkt->family = AF_INET6;
	__builtin_memcpy(pkt->saddr.v6, &ip6->saddr, 16);
	__builtin_memcpy(pkt->daddr.v6, &ip6->daddr, 16);
	pkt->ttl = ip6->hop_limit;
	relay_pkt_reset_l4(pkt);
	pkt->fragment = 0;
	pkt->first_frag = 0;
	pkt->df = 1;
	pkt->ip_id = 0;
	pkt->tot_len = ip_len > 0xffff ? 0 : ip_len;

	nexthdr = ip6->nexthdr;
	off = l3_off + IPV6_HLEN;
	for (int i = 0; i < RELAY_IPV6_MAX_EXT; i++) {
		struct relay_ipv6_ext *ext = data + off;

		if (!relay_ipv6_is_ext(nexthdr))
			break;
		/* The rest of the chain's length is unknown until read:
		 * the IP packet then, once, rather than a pull per header
		 * (past a driver's header buffer, 256 bytes on ixgbe/igb:
		 * rare, and such packets are small). */
		if (off + sizeof(*ext) > l3_off + ip_len)
			return RELAY_PARSE_MALFORMED;
		if ((void *)(ext + 1) > end)
			return relay_parse_short(pkt, l3_off + ip_len, skb_len);
		if (nexthdr == IPPROTO_FRAGMENT) {
			pkt->ip_id = ext->id;
			pkt->fragment = !!(ext->frag_off & bpf_htons(RELAY_IP6_OFFSET));
			pkt->first_frag = (ext->frag_off & bpf_htons(RELAY_IP6_OFFSET | RELAY_IP6_MF)) ==
					  bpf_htons(RELAY_IP6_MF);
			off += 8;
		} else if (nexthdr == IPPROTO_ROUTING && ext->rt.segments_left) {
			/* The destination is the next segment's, not the
			 * final one (RFC 8200 4.4): whatever the address, the
			 * packet is not for us yet, and its L4 checksum covers
			 * the final destination, which a rewrite would miss. */
			return RELAY_PARSE_ROUTED;
		} else if (nexthdr == IPPROTO_AH) {
			off += (ext->hdrlen + 2) * 4;
		} else {
			off += (ext->hdrlen + 1) * 8;
		}
		nexthdr = ext->nexthdr;
		/* A later fragment's next header is the datagram's, its
		 * transport header is in the first fragment only. */
		if (pkt->fragment)
			break;
	}
	pkt->proto = nexthdr;
	pkt->l4_off = off;
	if (pkt->fragment)
		return RELAY_PARSE_OK;
	if (relay_ipv6_is_ext(nexthdr))
		return RELAY_PARSE_TOO_DEEP;
	if (off > l3_off + ip_len)
		return RELAY_PARSE_MALFORMED;
	return relay_parse_l4(data + off, end, l3_off + ip_len - off, pkt);
}

/* The family switch: by the IP header's version, which on an L3 device is
 * all there is to go by. */
static __always_inline int relay_parse_ip(void *data, void *end, __u32 l3_off, __u32 skb_len,
					  struct relay_pkt *pkt)
{
	__u8 *vers = data + l3_off;

	if ((void *)(vers + 1) > end)
		return relay_parse_short(pkt, l3_off + 1, skb_len);
	if ((*vers >> 4) == 6)
		return relay_parse_ipv6(data, end, l3_off, skb_len, pkt);
	return relay_parse_ipv4(data, end, l3_off, skb_len, pkt);
}

/*
 * relay_parse_ip for TC. Drivers that put only the headers in the linear
 * area (ixgbe/i40e legacy-rx, igb, gve header-split) leave an ICMP error's
 * quote or a long IPv6 extension chain in the pages, past data_end: when the
 * linear area ends before RELAY_PULL_MIN bytes past the L3 header (and the
 * packet is longer), those bytes are made linear first, then the packet is
 * parsed once. Parsing first and again after a pull made the verifier walk
 * the parser and all that follows twice: relay_front_rev went over 6.1's
 * limit of 1M instructions processed. The cost moves to run time: one
 * compare per packet, and a pull of at most RELAY_PULL_MIN bytes for a
 * packet whose linear area is shorter, once per GRO super-packet. Not for a
 * TCP or UDP packet without IPv6 extension headers whose headers are linear
 * already (relay_l4_linear): every GSO packet from a local socket (a
 * backend's download over a veth or a tunnel) has its headers linear and
 * all of its payload in pages, and the pull copied some 450 bytes of that
 * payload into a new head per packet, which the receiver then took as
 * a head it cannot coalesce. The pull invalidates every packet pointer:
 * the caller reloads data and data_end. Still short after it (a pull that
 * failed, or a chain past RELAY_PULL_MIN) the parser says
 * RELAY_PARSE_SHORT, which the caller counts as not linear.
 */
#define RELAY_PULL_MIN 512

/* Whether the headers the parser reads of a TCP or UDP packet with no IPv6
 * extension header (the transport header's fixed part: ports, flags) lie
 * in the linear area: anything else (ICMP, extension headers, a short
 * area) takes the pull. */
static __always_inline int relay_l4_linear(void *data, void *end, __u32 l3_off)
{
	struct iphdr *ip = data + l3_off;
	struct ipv6hdr *ip6 = data + l3_off;
	__u32 len;
	__u8 proto;

	if ((void *)(ip + 1) > end)
		return 0;
	if (ip->version == 4) {
		len = ip->ihl * 4;
		proto = ip->protocol;
	} else {
		if ((void *)(ip6 + 1) > end)
			return 0;
		len = sizeof(*ip6);
		proto = ip6->nexthdr;
	}
	if (proto == IPPROTO_TCP)
		len += sizeof(struct tcphdr);
	else if (proto == IPPROTO_UDP)
		len += sizeof(struct udphdr);
	else
		return 0;
	return (void *)ip + len <= end;
}

/* data and data_end, read again after a pull. The empty asm hides skb's
 * value from clang, which would otherwise keep &skb->data_end from the
 * first read in a register: the verifier refuses a ctx pointer with an
 * offset. */
static __always_inline void relay_skb_bounds(struct __sk_buff *skb, void **data, void **end)
{
	asm volatile("" : "+r"(skb));
	*data = (void *)(long)skb->data;
	*end = (void *)(long)skb->data_end;
}

/* The counter of a packet the parser gives up on (the stack drops and
 * counts what is malformed, routes what is routed: these only say why it
 * was not relayed). */
static __always_inline __u32 relay_parse_pass_reason(int ret)
{
	if (ret == RELAY_PARSE_TOO_DEEP)
		return RELAY_C_PASS_EXT_DEPTH;
	if (ret == RELAY_PARSE_SHORT)
		return RELAY_C_PASS_NOT_LINEAR;
	if (ret == RELAY_PARSE_ROUTED)
		return RELAY_C_PASS_ROUTING;
	return RELAY_C_PASS_MALFORMED;
}

static __always_inline int relay_parse_skb(struct __sk_buff *skb, __u32 l3_off,
					   struct relay_pkt *pkt)
{
	__u32 want = l3_off + RELAY_PULL_MIN;
	void *data, *end;

	if (want > skb->len)
		want = skb->len;
	relay_skb_bounds(skb, &data, &end);
	if (want <= l3_off + RELAY_PULL_MIN && data + want > end &&
	    !relay_l4_linear(data, end, l3_off)) {
		bpf_skb_pull_data(skb, want);
		relay_skb_bounds(skb, &data, &end);
	}
	return relay_parse_ip(data, end, l3_off, skb->len, pkt);
}

#endif

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
	RELAY_PARSE_NOT_IP,    /* not IPv4: never ours */
	RELAY_PARSE_MALFORMED, /* claims to be IPv4 but cannot be */
};

struct relay_pkt {
	__u32 l3_off;
	__u32 l4_off;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;     /* ICMP echo: identifier */
	__be16 dport;     /* ICMP echo: identifier */
	__u8 proto;
	__u8 ttl;
	__u8 tcp_flags;
	__u8 has_ports;   /* TCP, UDP or ICMP echo with its header present */
	__u8 icmp_type;
	__u8 fragment;    /* non-first fragment: no transport header */
	__u8 df;          /* don't fragment */
	__u8 first_frag;  /* offset 0, more fragments follow */
	__be16 ip_id;
	__u16 tot_len;    /* IP total length, host order */
};

#define RELAY_TCP_FIN 0x01
#define RELAY_TCP_SYN 0x02
#define RELAY_TCP_RST 0x04
#define RELAY_TCP_ACK 0x10

#define RELAY_ICMP_ECHOREPLY 0
#define RELAY_ICMP_ECHO 8

/* Offset of the IPv4 header in a frame that starts with Ethernet. */
static __always_inline int relay_parse_eth(void *data, void *end, __u32 *l3_off)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return RELAY_PARSE_NOT_IP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return RELAY_PARSE_NOT_IP;
	*l3_off = ETH_HLEN;
	return RELAY_PARSE_OK;
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
		return RELAY_PARSE_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return RELAY_PARSE_MALFORMED;
	ihl_len = ip->ihl * 4;
	if ((void *)ip + ihl_len > end)
		return RELAY_PARSE_MALFORMED;
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
	pkt->saddr = ip->saddr;
	pkt->daddr = ip->daddr;
	pkt->proto = ip->protocol;
	pkt->ttl = ip->ttl;
	pkt->sport = 0;
	pkt->dport = 0;
	pkt->tcp_flags = 0;
	pkt->has_ports = 0;
	pkt->icmp_type = 0;
	pkt->fragment = !!(ip->frag_off & bpf_htons(IP_OFFSET));
	pkt->df = !!(ip->frag_off & bpf_htons(IP_DF));
	pkt->first_frag = (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) == bpf_htons(IP_MF);
	pkt->ip_id = ip->id;
	pkt->tot_len = bpf_ntohs(ip->tot_len);

	if (pkt->fragment)
		return RELAY_PARSE_OK;

	void *l4 = (void *)ip + ihl_len;

	if (pkt->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > end)
			return RELAY_PARSE_MALFORMED;
		if (tcp->doff < 5 || ihl_len + tcp->doff * 4 > ip_len)
			return RELAY_PARSE_MALFORMED;
		pkt->sport = tcp->source;
		pkt->dport = tcp->dest;
		pkt->tcp_flags = ((__u8 *)tcp)[13];
		pkt->has_ports = 1;
	} else if (pkt->proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > end || ihl_len + sizeof(*udp) > ip_len)
			return RELAY_PARSE_MALFORMED;
		pkt->sport = udp->source;
		pkt->dport = udp->dest;
		pkt->has_ports = 1;
	} else if (pkt->proto == IPPROTO_ICMP) {
		struct icmphdr *icmp = l4;

		if ((void *)(icmp + 1) > end || ihl_len + sizeof(*icmp) > ip_len)
			return RELAY_PARSE_MALFORMED;
		pkt->icmp_type = icmp->type;
		if (icmp->type == RELAY_ICMP_ECHO || icmp->type == RELAY_ICMP_ECHOREPLY) {
			/* The identifier stands for both ports, so a request
			 * and its reply build the same conntrack key. */
			pkt->sport = icmp->un.echo.id;
			pkt->dport = icmp->un.echo.id;
			pkt->has_ports = 1;
		}
	}
	return RELAY_PARSE_OK;
}

#endif

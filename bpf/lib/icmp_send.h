/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ICMP errors the front itself owes a client: fragmentation needed (the
 * tunnel is narrower than the client's path) and time exceeded (over IPv6:
 * ICMPv6 packet too big and time exceeded). The
 * kernel cannot send them for us: the packet is addressed to the front's
 * own public address, so the stack would deliver it locally rather than
 * forward it. The client's packet is turned into the error in place and
 * sent back out of the device it came in by, from the address it used
 * and quoting the packet exactly as the client sent it.
 */
#ifndef RELAY_LIB_ICMP_SEND_H
#define RELAY_LIB_ICMP_SEND_H

#include "common.h"
#include "parse.h"
#include "icmp.h"

#define RELAY_ICMP_FRAG_NEEDED 4
#define RELAY_ICMP_ERR_TTL 64
#define RELAY_ICMP_QUOTE_MAX (60 + 8)
/* RFC 4443 asks for as much of the packet as fits in 1280 bytes; the IPv6
 * header, extension headers up to 48 bytes and the ports are what a
 * client's stack needs to find the socket. */
#define RELAY_ICMP6_QUOTE_MAX (40 + 48 + 8)

struct relay_icmp_err_hdr {
	struct iphdr ip;
	struct icmphdr icmp;
};

struct relay_icmp6_err_hdr {
	struct ipv6hdr ip6;
	struct icmp6hdr icmp6;
};

static __always_inline __u16 relay_csum_fold(__s64 sum)
{
	__u32 s = (__u32)sum;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* Turns the frame into headers + quote, addressed back to where it came
 * from: cut after the quote (which also ends GSO: a GRO'd packet quotes its
 * first segment's headers), room for the new headers before it, MACs
 * swapped. macs: the frame's first 12 bytes. */
static __always_inline int relay_icmp_reflect(struct __sk_buff *skb, const __u8 *macs,
					      const void *hdr, __u32 hdr_len, __u32 quote_len)
{
	__u8 swapped[12];

	if (bpf_skb_change_tail(skb, ETH_HLEN + quote_len, 0) ||
	    bpf_skb_adjust_room(skb, hdr_len, BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	__builtin_memcpy(swapped, macs + 6, 6);
	__builtin_memcpy(swapped + 6, macs, 6);
	if (bpf_skb_store_bytes(skb, 0, swapped, sizeof(swapped), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, hdr, hdr_len, 0))
		return TC_ACT_SHOT;
	return bpf_redirect(skb->ifindex, 0);
}

/* ICMPv6 counterpart of relay_icmp_send, same contract; the type is given
 * in ICMPv4 terms (destination unreachable: packet too big). A subprogram:
 * its stack is not paid by the IPv4 path. */
static __noinline int relay_icmp6_send(struct __sk_buff *skb, const struct relay_pkt *pkt,
				       __u8 type, __u32 mtu)
{
	__u32 quote_len = pkt->l4_off - pkt->l3_off + 8;
	struct relay_icmp6_err_hdr h = {};
	__u8 quote[RELAY_ICMP6_QUOTE_MAX];
	__be32 pseudo[2];
	__u8 macs[12];
	__s64 sum;

	if (quote_len > RELAY_ICMP6_QUOTE_MAX)
		quote_len = RELAY_ICMP6_QUOTE_MAX;
	/* The bounds, in a form the verifier tracks: 48 to 96, 4-byte words. */
	quote_len &= 0x7c;
	if (quote_len < IPV6_HLEN + 8 || quote_len > RELAY_ICMP6_QUOTE_MAX)
		return TC_ACT_OK;
	if (pkt->l3_off != ETH_HLEN || pkt->tot_len < quote_len)
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, quote, quote_len) ||
	    bpf_skb_load_bytes(skb, 0, macs, sizeof(macs)))
		return TC_ACT_OK;

	h.ip6.version = 6;
	h.ip6.payload_len = bpf_htons(sizeof(h.icmp6) + quote_len);
	h.ip6.nexthdr = IPPROTO_ICMPV6;
	h.ip6.hop_limit = RELAY_ICMP_ERR_TTL;
	__builtin_memcpy(&h.ip6.saddr, pkt->daddr.v6, 16);
	__builtin_memcpy(&h.ip6.daddr, pkt->saddr.v6, 16);
	if (type == RELAY_ICMP_DEST_UNREACH) {
		h.icmp6.icmp6_type = RELAY_ICMP6_PKT_TOOBIG;
		h.icmp6.icmp6_dataun.un_data32[0] = bpf_htonl(mtu);
	} else {
		h.icmp6.icmp6_type = RELAY_ICMP6_TIME_EXCEED;
	}
	/* The checksum covers a pseudo-header: addresses, length, next header. */
	pseudo[0] = bpf_htonl(sizeof(h.icmp6) + quote_len);
	pseudo[1] = bpf_htonl(IPPROTO_ICMPV6);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.ip6.saddr, 32, 0);
	sum = bpf_csum_diff(NULL, 0, pseudo, sizeof(pseudo), sum);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.icmp6, sizeof(h.icmp6), sum);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)quote, quote_len, sum);
	h.icmp6.icmp6_cksum = relay_csum_fold(sum);
	return relay_icmp_reflect(skb, macs, &h, sizeof(h), quote_len);
}

/* Only for a client packet on an Ethernet device (the public one).
 * Returns the verdict: a redirect, or TC_ACT_OK if it could not be
 * built (the packet is then untouched or, past the first change, dropped). */
static __always_inline int relay_icmp_send(struct __sk_buff *skb, const struct relay_pkt *pkt,
					   __u8 type, __u8 code, __u16 mtu)
{
	__u32 quote_len = pkt->l4_off - pkt->l3_off + 8;
	struct relay_icmp_err_hdr h = {};
	__u8 quote[RELAY_ICMP_QUOTE_MAX];
	__u8 macs[12];
	__s64 sum;

	if (pkt->family == AF_INET6)
		return relay_icmp6_send(skb, pkt, type, mtu);
	/* The bounds, in a form the verifier tracks: 28 to 68, 4-byte words. */
	quote_len &= 0x7c;
	if (quote_len < 28 || quote_len > RELAY_ICMP_QUOTE_MAX)
		return TC_ACT_OK;
	if (pkt->l3_off != ETH_HLEN || pkt->tot_len < quote_len)
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, quote, quote_len) ||
	    bpf_skb_load_bytes(skb, 0, macs, sizeof(macs)))
		return TC_ACT_OK;

	h.ip.version = 4;
	h.ip.ihl = 5;
	h.ip.tot_len = bpf_htons(sizeof(h) + quote_len);
	h.ip.ttl = RELAY_ICMP_ERR_TTL;
	h.ip.protocol = IPPROTO_ICMP;
	h.ip.saddr = pkt->daddr.v4;
	h.ip.daddr = pkt->saddr.v4;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.ip, sizeof(h.ip), 0);
	h.ip.check = relay_csum_fold(sum);
	h.icmp.type = type;
	h.icmp.code = code;
	h.icmp.un.frag.mtu = bpf_htons(mtu);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.icmp, sizeof(h.icmp), 0);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)quote, quote_len, sum);
	h.icmp.checksum = relay_csum_fold(sum);
	return relay_icmp_reflect(skb, macs, &h, sizeof(h), quote_len);
}

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ICMP errors the front itself owes a client: fragmentation needed (the
 * tunnel is narrower than the client's path) and time exceeded. The
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

struct relay_icmp_err_hdr {
	struct iphdr ip;
	struct icmphdr icmp;
};

static __always_inline __u16 relay_csum_fold(__s64 sum)
{
	__u32 s = (__u32)sum;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
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
	__u8 macs[12], swapped[12];
	__s64 sum;

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
	h.ip.saddr = pkt->daddr;
	h.ip.daddr = pkt->saddr;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.ip, sizeof(h.ip), 0);
	h.ip.check = relay_csum_fold(sum);
	h.icmp.type = type;
	h.icmp.code = code;
	h.icmp.un.frag.mtu = bpf_htons(mtu);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.icmp, sizeof(h.icmp), 0);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)quote, quote_len, sum);
	h.icmp.checksum = relay_csum_fold(sum);

	/* Cut after the quote (which also ends GSO: a GRO'd packet quotes its
	 * first segment's headers), then room for the new headers before it. */
	if (bpf_skb_change_tail(skb, ETH_HLEN + quote_len, 0) ||
	    bpf_skb_adjust_room(skb, sizeof(h), BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	__builtin_memcpy(swapped, macs + 6, 6);
	__builtin_memcpy(swapped + 6, macs, 6);
	if (bpf_skb_store_bytes(skb, 0, swapped, sizeof(swapped), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, &h, sizeof(h), 0))
		return TC_ACT_SHOT;
	return bpf_redirect(skb->ifindex, 0);
}

#endif

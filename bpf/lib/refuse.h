/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A service with backends of the client's family, none of them up (all
 * down or drained: relay_backend_select says -RELAY_C_REFUSED), refuses
 * what would start a flow, or continue one it has no entry of (evicted,
 * or another front's), instead of black-holing it (a flow it has is
 * dropped: relay_front_in says why): the answer a closed port gives, from the public
 * address and port the client used, back out of the device it came in by.
 * - TCP: a reset (RFC 9293 3.10.7.1, as Linux's tcp_v4_send_reset): to a
 *   segment with ACK, RST with its acknowledgment as sequence number; to
 *   one without (a SYN), RST+ACK acknowledging it. Every stack fails
 *   connect() at once on it (several retry on an ICMP error: Windows
 *   resends the SYN), and it ends a connection it cannot serve, which an
 *   ICMP error does not (a soft error for TCP). A segment
 *   with IPv4 options or IPv6 extension headers gets the ICMP error
 *   instead: the reset is built in place at the client's TCP header, whose
 *   offset it must keep (a pending checksum is computed there). An RST is
 *   never answered (it goes to the host, which has no socket for it).
 * - Anything else (UDP, ICMP echo, whole protocols of --ports): ICMP
 *   (ICMPv6) destination unreachable, port unreachable.
 * Both share the ICMP errors' rate limits (bpf/lib/icmp_send.h: per
 * source, then global), charged before the answer is built; what they
 * suppress is dropped and counted refused_rate_limited, what is sent
 * refused_no_live_backend.
 */
#ifndef RELAY_LIB_REFUSE_H
#define RELAY_LIB_REFUSE_H

#include "common.h"
#include "parse.h"
#include "counters.h"
#include "icmp_send.h"
#include "nat.h"

struct relay_rst4 {
	struct iphdr ip;
	struct tcphdr tcp;
};

struct relay_rst6 {
	struct ipv6hdr ip6;
	struct tcphdr tcp;
};

/* The reset's TCP header answering in (RFC 9293 3.10.7.1), but the
 * checksum; seg_len: in's data, SYN and FIN included. */
static __always_inline void relay_rst_tcp(struct tcphdr *rst, const struct tcphdr *in,
					  __u32 seg_len)
{
	rst->source = in->dest;
	rst->dest = in->source;
	rst->doff = sizeof(*rst) / 4;
	rst->rst = 1;
	if (in->ack) {
		rst->seq = in->ack_seq;
	} else {
		rst->ack = 1;
		rst->ack_seq = bpf_htonl(bpf_ntohl(in->seq) + seg_len);
	}
}

/*
 * The segment turned into the reset in place: cut after a 20-byte TCP
 * header at the same offset, the IP header written anew (addresses
 * swapped), MACs swapped, redirected out of the device. A segment whose
 * transport checksum is still to be filled in by the device that
 * transmits it (CHECKSUM_PARTIAL: from a local stack over veth, a virtio
 * guest; see relay_quote_cut) keeps that state, which a BPF program can
 * neither read on 6.1 nor clear: its field then gets the pseudo-header's
 * sum, which the device completes over the header. bpf_skb_change_tail
 * tells it apart: it refuses to cut such a packet before the field's end.
 * Returns the verdict, or RELAY_TC_PASS when the segment cannot be turned
 * into a reset (IPv4 options, extension headers: the caller sends the ICMP
 * error then), untouched.
 */
static __noinline int relay_rst_send(struct __sk_buff *skb, const struct relay_pkt *pkt)
{
	struct relay_rst6 h6 = {};
	struct relay_rst4 h4 = {};
	struct tcphdr in, *rst;
	__u32 l3_len = pkt->l4_off - pkt->l3_off, in_len, hdr_len;
	__be32 pseudo[2];
	__u8 macs[12], swapped[12];
	__s64 sum;
	int partial;

	if (pkt->l3_off != ETH_HLEN ||
	    l3_len != (pkt->family == AF_INET6 ? sizeof(h6.ip6) : sizeof(h4.ip)) ||
	    bpf_skb_load_bytes(skb, pkt->l4_off, &in, sizeof(in)) ||
	    bpf_skb_load_bytes(skb, 0, macs, sizeof(macs)))
		return RELAY_TC_PASS;
	in_len = in.doff * 4;
	if (in_len < sizeof(in) || l3_len + in_len > pkt->tot_len)
		return RELAY_TC_PASS;
	rst = pkt->family == AF_INET6 ? &h6.tcp : &h4.tcp;
	relay_rst_tcp(rst, &in, pkt->tot_len - l3_len - in_len + in.syn + in.fin);

	/* Cut before the checksum field: refused only when it is pending. */
	partial = bpf_skb_change_tail(skb, ETH_HLEN + l3_len + 16, 0) != 0;
	if (bpf_skb_change_tail(skb, ETH_HLEN + l3_len + sizeof(*rst), 0)) {
		relay_count(RELAY_C_ERR_REWRITE, 1);
		return TC_ACT_SHOT;
	}
	/* The pseudo-header's length and protocol words: the same sum for
	 * both families. */
	pseudo[0] = bpf_htonl(sizeof(*rst));
	pseudo[1] = bpf_htonl(IPPROTO_TCP);
	if (pkt->family == AF_INET6) {
		h6.ip6.version = 6;
		h6.ip6.payload_len = bpf_htons(sizeof(h6.tcp));
		h6.ip6.nexthdr = IPPROTO_TCP;
		h6.ip6.hop_limit = RELAY_ICMP_ERR_TTL;
		__builtin_memcpy(&h6.ip6.saddr, pkt->daddr.v6, 16);
		__builtin_memcpy(&h6.ip6.daddr, pkt->saddr.v6, 16);
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&h6.ip6.saddr, 32, 0);
	} else {
		h4.ip.version = 4;
		h4.ip.ihl = 5;
		h4.ip.tot_len = bpf_htons(sizeof(h4));
		/* DF: an atomic datagram, whose id 0 is fine (RFC 6864). */
		h4.ip.frag_off = bpf_htons(0x4000);
		h4.ip.ttl = RELAY_ICMP_ERR_TTL;
		h4.ip.protocol = IPPROTO_TCP;
		h4.ip.saddr = pkt->daddr.v4;
		h4.ip.daddr = pkt->saddr.v4;
		h4.ip.check = relay_csum_fold(bpf_csum_diff(NULL, 0, (__be32 *)&h4.ip,
							    sizeof(h4.ip), 0));
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&h4.ip.saddr, 8, 0);
	}
	sum = bpf_csum_diff(NULL, 0, pseudo, sizeof(pseudo), sum);
	/* Pending: the device adds the header's sum to the field and
	 * complements it. */
	if (!partial)
		sum = bpf_csum_diff(NULL, 0, (__be32 *)rst, sizeof(*rst), sum);
	rst->check = partial ? (__u16)~relay_csum_fold(sum) : relay_csum_fold(sum);

	__builtin_memcpy(swapped, macs + 6, 6);
	__builtin_memcpy(swapped + 6, macs, 6);
	hdr_len = pkt->family == AF_INET6 ? sizeof(h6) : sizeof(h4);
	if (bpf_skb_store_bytes(skb, 0, swapped, sizeof(swapped), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, pkt->family == AF_INET6 ? (void *)&h6 : (void *)&h4,
				hdr_len, 0)) {
		relay_count(RELAY_C_ERR_REWRITE, 1);
		return TC_ACT_SHOT;
	}
	relay_count(RELAY_C_REFUSED, 1);
	return bpf_redirect(skb->ifindex, 0);
}

/* The refusal of a client packet (see the top): the verdict. */
static __always_inline int relay_refuse(struct __sk_buff *skb, const struct relay_pkt *pkt)
{
	int verdict;

	if (pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & RELAY_TCP_RST)) {
		relay_count(RELAY_C_PASS_NO_BACKEND, 1);
		return RELAY_TC_PASS;
	}
	if (!relay_icmp_allowed(pkt)) {
		relay_count(RELAY_C_REFUSED_RATE_LIMITED, 1);
		return TC_ACT_SHOT;
	}
	if (pkt->proto == IPPROTO_TCP) {
		verdict = relay_rst_send(skb, pkt);
		if (verdict != RELAY_TC_PASS)
			return verdict;
	}
	return relay_icmp_send(skb, pkt, RELAY_ICMP_ERR_PORT_UNREACH, 0,
			       RELAY_C_REFUSED | RELAY_ICMP_CHARGED);
}

#endif

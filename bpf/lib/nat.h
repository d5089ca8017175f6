/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Address rewriting for TC programs. All writes of a packet's own
 * checksums go through bpf_l3/l4_csum_replace: they are correct for packets
 * whose L4 checksum is still partial (sent by a local stack over veth),
 * which a hand-computed checksum is not. (A checksum quoted in an ICMP
 * error is plain data: icmp.h computes it.)
 */
#ifndef RELAY_LIB_NAT_H
#define RELAY_LIB_NAT_H

#include "common.h"
#include "parse.h"
#include "compat.h"
#include "csum.h"

#define RELAY_IP_CSUM_OFF offsetof(struct iphdr, check)
#define RELAY_IP_SADDR_OFF offsetof(struct iphdr, saddr)
#define RELAY_IP_DADDR_OFF offsetof(struct iphdr, daddr)
#define RELAY_IP6_SADDR_OFF offsetof(struct ipv6hdr, saddr)
#define RELAY_IP6_DADDR_OFF offsetof(struct ipv6hdr, daddr)
#define RELAY_IP6_HOPS_OFF offsetof(struct ipv6hdr, hop_limit)

/* Offset of the checksum that covers the pseudo-header, or -1 if none. */
static __always_inline int relay_l4_csum_off(const struct relay_pkt *pkt)
{
	/* Unlike ICMP's, the ICMPv6 checksum covers a pseudo-header: errors
	 * (no "ports") included. The parser saw its header. */
	if (pkt->proto == IPPROTO_ICMPV6 && pkt->family == AF_INET6 && !pkt->fragment)
		return offsetof(struct icmp6hdr, icmp6_cksum);
	if (!pkt->has_ports)
		return -1;
	if (pkt->proto == IPPROTO_TCP)
		return offsetof(struct tcphdr, check);
	if (pkt->proto == IPPROTO_UDP)
		return offsetof(struct udphdr, check);
	return -1;
}

/* The packet's IP header with len bytes of it in bounds, or NULL: read
 * again after a helper call, which may have moved the packet. l3_off is 0
 * (L3 device) or ETH_HLEN: said so for the verifier. */
static __always_inline void *relay_l3_hdr(struct __sk_buff *skb, const struct relay_pkt *pkt,
					  __u32 len)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	void *ip = data + (pkt->l3_off ? ETH_HLEN : 0);

	return ip + len > end ? NULL : ip;
}

/*
 * Replace the address at addr_off (RELAY_IP_SADDR_OFF or _DADDR_OFF) and,
 * with dec_ttl, decrement the TTL: one helper call for the L4 checksum
 * (its pseudo-header: bpf_l4_csum_replace is right for partial checksums)
 * and the IP header written in place, its checksum computed here. The IP
 * header checksum is never partial, and the header's bytes and its
 * checksum change by opposite sums: a CHECKSUM_COMPLETE skb->csum needs
 * nothing. Before, bpf_l3_csum_replace and bpf_skb_store_bytes twice each
 * (address, TTL): prog_ns front_in and front_rev (docs/bench.md "Fewer
 * helper calls per packet").
 */
static __always_inline int relay_nat4(struct __sk_buff *skb, const struct relay_pkt *pkt,
				      __u32 addr_off, __be32 old_addr, __be32 new_addr, int dec_ttl)
{
	int l4_off = relay_l4_csum_off(pkt);
	struct iphdr *ip;
	__u16 check;

	if (l4_off >= 0) {
		__u64 flags = BPF_F_PSEUDO_HDR | sizeof(new_addr);

		/* A UDP checksum of 0 means "none" and must stay 0. */
		if (pkt->proto == IPPROTO_UDP)
			flags |= BPF_F_MARK_MANGLED_0;
		if (bpf_l4_csum_replace(skb, pkt->l4_off + l4_off, old_addr, new_addr, flags))
			return -1;
	}
	ip = relay_l3_hdr(skb, pkt, sizeof(*ip));
	if (!ip)
		return -1;
	check = relay_csum_update(ip->check, old_addr, new_addr);
	if (addr_off == RELAY_IP_SADDR_OFF)
		ip->saddr = new_addr;
	else
		ip->daddr = new_addr;
	if (dec_ttl) {
		/* TTL and protocol share a checksum word. */
		check = relay_csum_update(check, bpf_htons((__u16)ip->ttl << 8),
					  bpf_htons((__u16)(ip->ttl - 1) << 8));
		ip->ttl--;
	}
	ip->check = check;
	return 0;
}

/*
 * IPv6 has no header checksum: only the L4 checksum's pseudo-header
 * changes, by the difference of the two 16-byte addresses.
 * A CHECKSUM_COMPLETE skb->csum (from the IP header on) must stay the sum
 * of the bytes, or the receiving stack finds the checksum wrong ("hw csum
 * failure") and sums the packet again. The new address adds diff, the L4
 * checksum field (if any) subtracts it: nothing to do. But without
 * RELAY_F_L4_IPV6 the kernel treats a pseudo-header update as IPv4's,
 * whose header checksum absorbs the address change, and subtracts diff
 * from skb->csum; the address store then adds diff back
 * (BPF_F_RECOMPUTE_CSUM, which acts on CHECKSUM_COMPLETE skbs only). So
 * does a packet with no such checksum (a later fragment, another
 * protocol), whose address change nothing else compensates. A
 * CHECKSUM_PARTIAL packet's pseudo-header sum is updated alike with or
 * without the flag.
 * relay_nat6_l4_csum: the pseudo-header's update, for a packet with an L4
 * checksum at l4_off; the addresses' difference (a 32-bit sum) or -1.
 */
static __always_inline __s64 relay_nat6_l4_csum(struct __sk_buff *skb, const struct relay_pkt *pkt,
						 int l4_off, const union relay_ip *old_addr,
						 const union relay_ip *new_addr)
{
	__s64 diff = bpf_csum_diff((__be32 *)old_addr->v6w, 16, (__be32 *)new_addr->v6w, 16, 0);
	__u64 flags = BPF_F_PSEUDO_HDR;

	if (relay_has_l4_ipv6)
		flags |= RELAY_F_L4_IPV6;
	/* Never 0 over IPv6 (the parser let none in): a sum of 0 is written
	 * 0xffff. */
	if (pkt->proto == IPPROTO_UDP)
		flags |= BPF_F_MARK_MANGLED_0;
	if (diff < 0 || bpf_l4_csum_replace(skb, pkt->l4_off + l4_off, 0, diff, flags))
		return -1;
	return diff;
}

/* The L4 checksum's pseudo-header (relay_nat6_l4_csum, for a packet with
 * one at l4_off) and the address's store. */
static __always_inline int relay_nat6(struct __sk_buff *skb, const struct relay_pkt *pkt,
				      __u32 addr_off, const union relay_ip *old_addr,
				      const union relay_ip *new_addr)
{
	int l4_off = relay_l4_csum_off(pkt);
	__u64 store_flags = BPF_F_RECOMPUTE_CSUM;

	if (l4_off >= 0) {
		if (relay_nat6_l4_csum(skb, pkt, l4_off, old_addr, new_addr) < 0)
			return -1;
		if (relay_has_l4_ipv6)
			store_flags = 0;
	}
	return bpf_skb_store_bytes(skb, pkt->l3_off + addr_off, new_addr->v6, 16, store_flags);
}

/* The family switch for address rewriting: the source (src = 1) or the
 * destination. old_addr is the packet's own, new_addr the one to write. */
static __always_inline int relay_nat(struct __sk_buff *skb, const struct relay_pkt *pkt, int src,
				     const union relay_ip *old_addr, const union relay_ip *new_addr)
{
	if (pkt->family == AF_INET6)
		return relay_nat6(skb, pkt, src ? RELAY_IP6_SADDR_OFF : RELAY_IP6_DADDR_OFF,
				  old_addr, new_addr);
	return relay_nat4(skb, pkt, src ? RELAY_IP_SADDR_OFF : RELAY_IP_DADDR_OFF, old_addr->v4,
			  new_addr->v4, 0);
}

/*
 * relay_nat6 and the hop limit's decrement for a packet with an L4
 * checksum, in two helper calls where relay_nat6 and a store of the hop
 * limit take four: the checksum's pseudo-header as relay_nat6 updates it,
 * then the address and the hop limit written in place and a
 * CHECKSUM_COMPLETE skb->csum moved once by what the writes changed and
 * nothing cancelled (bpf_csum_update, which leaves other skbs alone): the
 * hop limit's word (next header and hop limit: an even offset), and
 * without RELAY_F_L4_IPV6 the address's difference as well, which the
 * kernel then took out of skb->csum (relay_nat6's comment). l4_off:
 * relay_l4_csum_off(pkt) as the caller found it (>= 0); the address
 * replaced is the packet's own source (src = 1) or destination.
 * Inlined since the front's TC objects are built for BPF v3 (Makefile):
 * relay_front_in's frame stays 312 bytes, 320 as 6.1 rounds frames to 32,
 * plus its deepest call chain's 192: 512, 6.1's limit. Built for v1 and
 * inlined, the frame was 328 and 6.1 refused it ("combined stack size of 2
 * calls is 544"); check the frame after any change here (docs/bench.md,
 * "relay_front_in's and relay_front_rev's spills": the call cost 2-8 ns
 * IPv6 hot).
 */
static __always_inline int relay_nat6_fwd(struct __sk_buff *skb, const struct relay_pkt *pkt,
				     int l4_off, int src, const union relay_ip *new_addr)
{
	const union relay_ip *old_addr = src ? &pkt->saddr : &pkt->daddr;
	/* The hop limit's word (next header, hop limit) one less, as the
	 * bytes sum in memory order: ~1 in network order. */
	__u32 moved = bpf_htons(0xfffe);
	__s64 diff = relay_nat6_l4_csum(skb, pkt, l4_off, old_addr, new_addr);
	struct ipv6hdr *ip6;

	if (diff < 0)
		return -1;
	/* A 32-bit one's complement sum as skb->csum is (the carry added
	 * back). */
	if (!relay_has_l4_ipv6) {
		moved += (__u32)diff;
		if (moved < (__u32)diff)
			moved++;
	}
	ip6 = relay_l3_hdr(skb, pkt, sizeof(*ip6));
	if (!ip6)
		return -1;
	ip6->hop_limit--;
	if (src)
		__builtin_memcpy(&ip6->saddr, new_addr->v6, 16);
	else
		__builtin_memcpy(&ip6->daddr, new_addr->v6, 16);
	bpf_csum_update(skb, moved);
	return 0;
}

/*
 * relay_nat for a packet the program routes: a redirect bypasses the
 * kernel's forwarding, so the program also does its TTL (IPv6: hop limit,
 * no checksum) work. IPv4 in one pass over the header (relay_nat4).
 * old_addr is the packet's own (&pkt->saddr with src, else &pkt->daddr).
 */
static __always_inline int relay_nat_fwd(struct __sk_buff *skb, const struct relay_pkt *pkt,
					 int src, const union relay_ip *old_addr,
					 const union relay_ip *new_addr)
{
	__u32 addr_off = src ? RELAY_IP6_SADDR_OFF : RELAY_IP6_DADDR_OFF;
	__u8 hops = pkt->ttl - 1;
	int l4_off;

	if (pkt->family != AF_INET6)
		return relay_nat4(skb, pkt, src ? RELAY_IP_SADDR_OFF : RELAY_IP_DADDR_OFF,
				  old_addr->v4, new_addr->v4, 1);
	l4_off = relay_l4_csum_off(pkt);
	if (l4_off >= 0)
		return relay_nat6_fwd(skb, pkt, l4_off, src, new_addr);
	if (relay_nat6(skb, pkt, addr_off, old_addr, new_addr))
		return -1;
	/* No header checksum absorbs the change: skb->csum follows it
	 * (CHECKSUM_COMPLETE only, see relay_nat6). */
	return bpf_skb_store_bytes(skb, pkt->l3_off + RELAY_IP6_HOPS_OFF, &hops, sizeof(hops),
				   BPF_F_RECOMPUTE_CSUM);
}

/*
 * A TCP or UDP port (the source, src = 1, or the destination) from old to
 * new (network byte order), with the L4 checksum: a service's port
 * translation. Anything else has no port to write. The port's bytes and the
 * checksum's change cancel: a CHECKSUM_COMPLETE skb->csum needs nothing.
 */
static __always_inline int relay_nat_port(struct __sk_buff *skb, const struct relay_pkt *pkt,
					  int src, __be16 old_port, __be16 new_port)
{
	__u64 flags = sizeof(new_port);

	if (old_port == new_port || !pkt->has_ports ||
	    (pkt->proto != IPPROTO_TCP && pkt->proto != IPPROTO_UDP))
		return 0;
	/* A UDP checksum of 0 means "none" (IPv4) and must stay 0. */
	if (pkt->proto == IPPROTO_UDP)
		flags |= BPF_F_MARK_MANGLED_0;
	if (bpf_l4_csum_replace(skb, pkt->l4_off + relay_l4_csum_off(pkt), old_port, new_port,
				flags))
		return -1;
	return bpf_skb_store_bytes(skb, pkt->l4_off + (src ? offsetof(struct udphdr, source) :
							     offsetof(struct udphdr, dest)),
				   &new_port, sizeof(new_port), 0);
}

#endif

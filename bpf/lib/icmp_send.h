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
#include "counters.h"

#define RELAY_ICMP_FRAG_NEEDED 4
#define RELAY_ICMP_ERR_TTL 64
#define RELAY_ICMP_QUOTE_MAX (60 + 8)
/* RFC 4443 asks for as much of the packet as fits in 1280 bytes; the IPv6
 * header, extension headers up to 48 bytes and the ports are what a
 * client's stack needs to find the socket. */
#define RELAY_ICMP6_QUOTE_MAX (40 + 48 + 8)

/*
 * One token bucket for every error the front builds, like the kernel's
 * global ICMP limit (net.ipv4.icmp_msgs_per_sec 1000, icmp_msgs_burst 50),
 * which does not see these errors: a flood of too-big or TTL-1 packets
 * cannot make the front a reflector. Global (one bucket behind a spin
 * lock), not per CPU: the limit holds whatever the number of CPUs; only
 * packets that already need an error take the lock.
 */
#define RELAY_ICMP_RATE 1000 /* tokens per second */
#define RELAY_ICMP_BURST 50
#define RELAY_NS_PER_ICMP_TOKEN (1000000000ULL / RELAY_ICMP_RATE)

struct relay_icmp_bucket {
	struct bpf_spin_lock lock;
	__u32 tokens;
	__u64 refilled_ns; /* time up to which tokens were added */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct relay_icmp_bucket);
} relay_icmp_bucket SEC(".maps");

/* Takes a token; false when the bucket is empty. */
static __always_inline bool relay_icmp_allowed(void)
{
	__u64 now = bpf_ktime_get_ns(), add;
	struct relay_icmp_bucket *b;
	__u32 zero = 0;
	bool ok;

	b = bpf_map_lookup_elem(&relay_icmp_bucket, &zero);
	if (!b)
		return false;
	bpf_spin_lock(&b->lock);
	add = (now - b->refilled_ns) / RELAY_NS_PER_ICMP_TOKEN;
	if (add + b->tokens >= RELAY_ICMP_BURST) {
		b->tokens = RELAY_ICMP_BURST;
		b->refilled_ns = now;
	} else {
		/* Keep the remainder: a token every 1 ms, however often we look. */
		b->tokens += add;
		b->refilled_ns += add * RELAY_NS_PER_ICMP_TOKEN;
	}
	ok = b->tokens > 0;
	if (ok)
		b->tokens--;
	bpf_spin_unlock(&b->lock);
	return ok;
}

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
 * swapped. macs: the frame's first 12 bytes. Counted as sent, or dropped
 * over the rate limit (see relay_icmp_send). flags: of the redirect (see
 * relay_icmp_send). */
static __always_inline int relay_icmp_reflect(struct __sk_buff *skb, const __u8 *macs,
					      const void *hdr, __u32 hdr_len, __u32 quote_len,
					      enum relay_counter sent, __u64 flags)
{
	__u8 swapped[12];

	if (!relay_icmp_allowed()) {
		relay_count(RELAY_C_ICMP_RATE_LIMITED, 1);
		return TC_ACT_SHOT;
	}
	if (bpf_skb_change_tail(skb, ETH_HLEN + quote_len, 0) ||
	    bpf_skb_adjust_room(skb, hdr_len, BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	__builtin_memcpy(swapped, macs + 6, 6);
	__builtin_memcpy(swapped + 6, macs, 6);
	if (bpf_skb_store_bytes(skb, 0, swapped, sizeof(swapped), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, hdr, hdr_len, 0))
		return TC_ACT_SHOT;
	relay_count(sent, 1);
	return bpf_redirect(skb->ifindex, flags);
}

/* ICMPv6 counterpart of relay_icmp_send, same contract; the type is given
 * in ICMPv4 terms (destination unreachable: packet too big). A subprogram:
 * its stack is not paid by the IPv4 path. */
static __noinline int relay_icmp6_send(struct __sk_buff *skb, const struct relay_pkt *pkt,
				       __u8 type, __u32 mtu, enum relay_counter sent, __u64 flags)
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
	return relay_icmp_reflect(skb, macs, &h, sizeof(h), quote_len, sent, flags);
}

/* Only for a packet on an Ethernet device: a client's on the front's
 * public device, sent back out of it (flags 0); a reply leaving the
 * backend, turned back to its own stack (flags BPF_F_INGRESS: the error
 * arrives from the reply's destination, as from a router on its path).
 * Returns the verdict: a redirect (counted as sent), or TC_ACT_OK if it could not be
 * built (the packet is then untouched or, past the first change, dropped).
 * Over the rate limit the packet is dropped (icmp_rate_limited), as a
 * router drops what it cannot forward: handed to the stack, a packet for
 * the public address would be answered by it (a TCP reset, port
 * unreachable). */
static __always_inline int relay_icmp_send(struct __sk_buff *skb, const struct relay_pkt *pkt,
					   __u8 type, __u8 code, __u16 mtu,
					   enum relay_counter sent, __u64 flags)
{
	__u32 quote_len = pkt->l4_off - pkt->l3_off + 8;
	struct relay_icmp_err_hdr h = {};
	__u8 quote[RELAY_ICMP_QUOTE_MAX];
	__u8 macs[12];
	__s64 sum;

	if (pkt->family == AF_INET6)
		return relay_icmp6_send(skb, pkt, type, mtu, sent, flags);
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
	return relay_icmp_reflect(skb, macs, &h, sizeof(h), quote_len, sent, flags);
}

#endif

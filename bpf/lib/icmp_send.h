/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ICMP errors the front itself owes a client: fragmentation needed (the
 * tunnel is narrower than the client's path), time exceeded and port
 * unreachable (a service with no live backend: bpf/lib/refuse.h; over
 * IPv6: ICMPv6 packet too big, time exceeded, port unreachable). The
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
#include "ratelimit.h"
#include "nat.h"

#define RELAY_ICMP_FRAG_NEEDED 4
#define RELAY_ICMP_PORT_UNREACH 3
#define RELAY_ICMP6_PORT_UNREACH 4
/* The errors relay_icmp_send builds, in ICMPv4 terms: type | code << 8. */
#define RELAY_ICMP_ERR_FRAG_NEEDED (RELAY_ICMP_DEST_UNREACH | RELAY_ICMP_FRAG_NEEDED << 8)
#define RELAY_ICMP_ERR_PORT_UNREACH (RELAY_ICMP_DEST_UNREACH | RELAY_ICMP_PORT_UNREACH << 8)
#define RELAY_ICMP_ERR_TIME_EXCEEDED RELAY_ICMP_TIME_EXCEEDED
/* Or'ed into relay_icmp_send's counter: the error goes to the ingress of
 * the packet's device (a reply leaving the backend, turned back to its own
 * stack: the error arrives from the reply's destination, as from a router
 * on its path), not out of it (a client's packet on the front). In the
 * counter because a BPF subprogram takes at most 5 arguments. */
#define RELAY_ICMP_TO_STACK (1U << 31)
/* Or'ed into the counter too: the caller took the rate limit's token
 * already (relay_icmp_allowed), so that it counts what the limit
 * suppressed under a name of its own. */
#define RELAY_ICMP_CHARGED (1U << 30)
#define RELAY_ICMP_ERR_TTL 64
/* The IP header and 8 bytes, or 20 when a pending TCP checksum must be
 * quoted (relay_quote_cut). */
#define RELAY_ICMP_QUOTE_MAX (60 + 20)
/* RFC 4443 asks for as much of the packet as fits in 1280 bytes; the IPv6
 * header, extension headers up to 48 bytes and the ports are what a
 * client's stack needs to find the socket. */
#define RELAY_ICMP6_QUOTE_MAX (40 + 48 + 20)

/*
 * Two limits on the errors the front builds, which the kernel's own ICMP
 * limits do not see: a bucket per client source in front of one global
 * bucket. The global one is the kernel's global limit
 * (net.ipv4.icmp_msgs_per_sec 1000, icmp_msgs_burst 50): a flood of
 * too-big or TTL-1 packets cannot make the front a reflector. Global (one
 * bucket behind a spin lock), not per CPU: the limit holds whatever the
 * number of CPUs; only packets that already need an error take the lock.
 * Alone it let one source sending TTL=1 packets take every token, and
 * frag-needed for everybody else with them (a PMTU black hole): each
 * source first gets a tenth of the global rate, so a single source leaves
 * 90% of it to the others. A source refused by its own bucket spends no
 * global token.
 */
#define RELAY_ICMP_RATE 1000 /* tokens per second */
#define RELAY_ICMP_BURST 50
#define RELAY_NS_PER_ICMP_TOKEN (1000000000ULL / RELAY_ICMP_RATE)
#define RELAY_ICMP_SRC_RATE 100 /* per client source */
#define RELAY_ICMP_SRC_BURST 10
/* Sources remembered. An LRU entry (20-byte key, 8-byte value) costs about
 * 100 bytes with the hash table's own: 8192 of them under 1 MB. A flood
 * from more sources than this evicts the oldest buckets, which only gives
 * an evicted source a full burst again: the global bucket still holds. */
#define RELAY_ICMP_SOURCES 8192

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

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RELAY_ICMP_SOURCES);
	__type(key, struct relay_ip_key);
	__type(value, struct relay_rl_bucket);
} relay_icmp_sources SEC(".maps");

/* The quote an error is built around, copied out of the packet to be
 * summed: in a per-CPU scratch buffer, not on the stack, which the main
 * programs and the builders share (512 bytes for the deepest call chain;
 * relay_front_in with the quote on the builder's stack needed 544). */
#define RELAY_ICMP_SCRATCH 128
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[RELAY_ICMP_SCRATCH]);
} relay_icmp_scratch SEC(".maps");

static __always_inline __u8 *relay_icmp_quote_buf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&relay_icmp_scratch, &zero);
}

/* Takes a token from the global bucket at now; false when it is empty. */
static __always_inline bool relay_icmp_global_allowed(__u64 now)
{
	struct relay_icmp_bucket *b;
	__u32 zero = 0;
	__s64 elapsed;
	__u64 add;
	bool ok;

	b = bpf_map_lookup_elem(&relay_icmp_bucket, &zero);
	if (!b)
		return false;
	bpf_spin_lock(&b->lock);
	/* now was read before the lock (no helper may be called holding it):
	 * another CPU may have refilled up to a later time meanwhile. Signed,
	 * that is no time elapsed; unsigned, it was 584 years and a full
	 * bucket. */
	elapsed = (__s64)(now - b->refilled_ns);
	add = elapsed > 0 ? (__u64)elapsed / RELAY_NS_PER_ICMP_TOKEN : 0;
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

/* Whether the front may send pkt's source an error now: its own bucket,
 * then the global one (counted when not). */
static __always_inline bool relay_icmp_allowed(const struct relay_pkt *pkt)
{
	struct relay_ip_key key = { .family = pkt->family, .addr = pkt->saddr };
	__u64 now = bpf_ktime_get_ns();

	if (!relay_rl_charge(&relay_icmp_sources, &key, now, RELAY_ICMP_SRC_RATE,
			     RELAY_ICMP_SRC_BURST)) {
		relay_count(RELAY_C_ICMP_SRC_RATE_LIMITED, 1);
		return false;
	}
	if (!relay_icmp_global_allowed(now)) {
		relay_count(RELAY_C_ICMP_RATE_LIMITED, 1);
		return false;
	}
	return true;
}

struct relay_icmp_err_hdr {
	struct iphdr ip;
	struct icmphdr icmp;
};

struct relay_icmp6_err_hdr {
	struct ipv6hdr ip6;
	struct icmp6hdr icmp6;
};

/*
 * A CHECKSUM_PARTIAL packet (TCP or UDP from a local stack over veth, from
 * a virtio guest) still has its transport checksum to be filled in by
 * whoever transmits it: the field holds the pseudo-header's sum, and the
 * device (or skb_checksum_help) writes the sum from csum_start to the end
 * there. A BPF program can neither clear that state nor move csum_start,
 * and the error is built around the client's packet in place: the field
 * is still filled in on the way out, inside the quote. So the quote keeps
 * the field and the ICMP checksum covers the value the field will get.
 *
 * Kernel 6.1 (Debian 12, issue 13) gives a tc program no way to read
 * ip_summed (casting the context to the kernel's sk_buff is a 6.2 kfunc),
 * but bpf_skb_change_tail tells: it refuses (-EINVAL, __bpf_skb_min_len)
 * to cut a partial packet before csum_start + csum_offset + 2. So the cut
 * is tried just before the field first: it fails only on a partial packet
 * (or when the cut cannot be made at all, then neither can the second),
 * which is then cut after the field instead. Where the field is follows from the transport header:
 * every stack that leaves a TCP/UDP checksum partial (tcp_v4/v6_send_check,
 * udp4_hwcsum, udp6_hwcsum_outgoing, a virtio guest's own) sets csum_start
 * to it and csum_offset to its check field. Should a packet differ, the
 * client drops one error with a bad checksum: nothing relayed is harmed.
 */

/* Cuts the frame after the quote (which also ends GSO: a GRO'd packet
 * quotes its first segment's headers): the IP header(s) and 8 bytes of the
 * transport header (at most max: over IPv6 the extension headers are
 * already past RFC 4443's "as much as fits" minimum), or, for a partial
 * packet, up to its pending checksum rounded up to 4-byte words (TCP 20
 * bytes, UDP 8). Returns the quote's length, 0 when the frame could not be
 * cut (then maybe already changed). *cs_end: past the pending checksum in
 * the quote, 0 when none. */
static __always_inline __u32 relay_quote_cut(struct __sk_buff *skb, const struct relay_pkt *pkt,
					     __u32 max, __u32 *cs_end)
{
	__u32 l4 = pkt->l4_off - pkt->l3_off, len = l4 + 8 > max ? max : l4 + 8, probe = len;
	/* TCP's or UDP's (ICMPv6 is always summed in software), -1 if none. */
	int field = pkt->proto == IPPROTO_ICMPV6 ? -1 : relay_l4_csum_off(pkt);
	__u16 udp_check;

	*cs_end = 0;
	/* UDP's 8 bytes hold its checksum: the probe stops before it (6
	 * bytes, the field put back after), 2 helper calls more per error
	 * about a UDP packet that is not partial. */
	if (pkt->proto == IPPROTO_UDP && field >= 0 && len == l4 + 8) {
		probe = l4 + 6;
		if (bpf_skb_load_bytes(skb, pkt->l4_off + 6, &udp_check, sizeof(udp_check)))
			return 0;
	}
	if (!bpf_skb_change_tail(skb, ETH_HLEN + probe, 0)) {
		if (probe != len && (bpf_skb_change_tail(skb, ETH_HLEN + len, 0) ||
				     bpf_skb_store_bytes(skb, pkt->l4_off + 6, &udp_check,
							 sizeof(udp_check), 0)))
			return 0;
		return len;
	}
	if (field < 0)
		return 0;
	*cs_end = l4 + field + 2;
	len = (*cs_end + 3) & ~3U;
	if (len > max || bpf_skb_change_tail(skb, ETH_HLEN + len, 0))
		return 0;
	return len;
}

/* The value the transmitting device will write into the quote's pending
 * checksum (the sum from its start to the quote's end, where the frame
 * then ends), written into the copy the ICMP checksum is computed over. */
static __always_inline void relay_quote_fill_partial(__u8 *quote, __u32 quote_len,
						     __u32 cs_start, __u32 cs_end)
{
	__s64 sum;

	/* The bounds, in a form the verifier tracks (the caller checked
	 * them against the transport header: 4-byte aligned, 8 to 20 bytes
	 * of it). */
	cs_start &= 0x7c;
	cs_end &= 0x7e;
	if (!cs_end || cs_start > quote_len || cs_end > quote_len || cs_end < 2)
		return;
	sum = bpf_csum_diff((__be32 *)quote, cs_start, (__be32 *)quote, quote_len, 0);
	/* The field's offset masked again: in the scratch map the verifier
	 * wants it provably inside the value. */
	*(__u16 *)(quote + ((cs_end - 2) & 0x7e)) = relay_csum_fold(sum) ?: 0xffff;
}

/* Turns the frame, cut after the quote, into headers + quote, addressed
 * back to where it came from: room for the new headers before the quote,
 * MACs swapped. macs: the frame's first 12 bytes. Counted as sent, or
 * dropped over the rate limit (see relay_icmp_send). */
static __always_inline int relay_icmp_reflect(struct __sk_buff *skb, const struct relay_pkt *pkt,
					      const __u8 *macs,
					      const void *hdr, __u32 hdr_len, __u32 sent)
{
	__u8 swapped[12];

	if (!(sent & RELAY_ICMP_CHARGED) && !relay_icmp_allowed(pkt))
		return TC_ACT_SHOT;
	if (bpf_skb_adjust_room(skb, hdr_len, BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	__builtin_memcpy(swapped, macs + 6, 6);
	__builtin_memcpy(swapped + 6, macs, 6);
	if (bpf_skb_store_bytes(skb, 0, swapped, sizeof(swapped), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, hdr, hdr_len, 0))
		return TC_ACT_SHOT;
	relay_count(sent & ~(RELAY_ICMP_TO_STACK | RELAY_ICMP_CHARGED), 1);
	return bpf_redirect(skb->ifindex, sent & RELAY_ICMP_TO_STACK ? BPF_F_INGRESS : 0);
}

/* ICMPv6 counterpart of relay_icmp_send, same contract; the error is given
 * in ICMPv4 terms (fragmentation needed: packet too big). A subprogram:
 * its stack is not paid by the IPv4 path. */
static __noinline int relay_icmp6_send(struct __sk_buff *skb, const struct relay_pkt *pkt,
				       __u32 err, __u32 mtu, __u32 sent)
{
	struct relay_icmp6_err_hdr h = {};
	__u8 *quote = relay_icmp_quote_buf();
	__u32 quote_len, cs_end;
	__be32 pseudo[2];
	__u8 macs[12];
	__s64 sum;

	if (!quote || pkt->l3_off != ETH_HLEN || pkt->tot_len < pkt->l4_off - pkt->l3_off + 8)
		return RELAY_TC_PASS;
	/* Cut first: a packet that cannot become the error spends no token
	 * (over the limit it is dropped anyway, cut or not). */
	quote_len = relay_quote_cut(skb, pkt, RELAY_ICMP6_QUOTE_MAX, &cs_end);
	/* The bounds, in a form the verifier tracks. */
	quote_len &= 0x7c;
	if (quote_len < IPV6_HLEN + 8 || quote_len > RELAY_ICMP6_QUOTE_MAX ||
	    bpf_skb_load_bytes(skb, ETH_HLEN, quote, quote_len) ||
	    bpf_skb_load_bytes(skb, 0, macs, sizeof(macs))) {
		relay_count(RELAY_C_ERR_REWRITE, 1);
		return TC_ACT_SHOT;
	}
	relay_quote_fill_partial(quote, quote_len, pkt->l4_off - pkt->l3_off, cs_end);

	h.ip6.version = 6;
	h.ip6.payload_len = bpf_htons(sizeof(h.icmp6) + quote_len);
	h.ip6.nexthdr = IPPROTO_ICMPV6;
	h.ip6.hop_limit = RELAY_ICMP_ERR_TTL;
	__builtin_memcpy(&h.ip6.saddr, pkt->daddr.v6, 16);
	__builtin_memcpy(&h.ip6.daddr, pkt->saddr.v6, 16);
	if (err == RELAY_ICMP_ERR_FRAG_NEEDED) {
		h.icmp6.icmp6_type = RELAY_ICMP6_PKT_TOOBIG;
		h.icmp6.icmp6_dataun.un_data32[0] = bpf_htonl(mtu);
	} else if (err == RELAY_ICMP_ERR_PORT_UNREACH) {
		h.icmp6.icmp6_type = RELAY_ICMP6_DEST_UNREACH;
		h.icmp6.icmp6_code = RELAY_ICMP6_PORT_UNREACH;
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
	return relay_icmp_reflect(skb, pkt, macs, &h, sizeof(h), sent);
}

/* The IPv4 error, same contract as relay_icmp_send. A subprogram, as
 * relay_icmp6_send: neither family's buffers are then on the main
 * program's stack, whose deepest call chain must stay under 512 bytes. */
static __noinline int relay_icmp4_send(struct __sk_buff *skb, const struct relay_pkt *pkt,
				       __u32 err, __u32 mtu, __u32 sent)
{
	struct relay_icmp_err_hdr h = {};
	__u8 *quote = relay_icmp_quote_buf();
	__u32 quote_len, cs_end;
	__u8 macs[12];
	__s64 sum;

	if (!quote || pkt->l3_off != ETH_HLEN || pkt->tot_len < pkt->l4_off - pkt->l3_off + 8)
		return RELAY_TC_PASS;
	/* Cut first: a packet that cannot become the error spends no token
	 * (over the limit it is dropped anyway, cut or not). */
	quote_len = relay_quote_cut(skb, pkt, RELAY_ICMP_QUOTE_MAX, &cs_end);
	/* The bounds, in a form the verifier tracks. */
	quote_len &= 0x7c;
	if (quote_len < 28 || quote_len > RELAY_ICMP_QUOTE_MAX ||
	    bpf_skb_load_bytes(skb, ETH_HLEN, quote, quote_len) ||
	    bpf_skb_load_bytes(skb, 0, macs, sizeof(macs))) {
		relay_count(RELAY_C_ERR_REWRITE, 1);
		return TC_ACT_SHOT;
	}
	relay_quote_fill_partial(quote, quote_len, pkt->l4_off - pkt->l3_off, cs_end);
	h.ip.version = 4;
	h.ip.ihl = 5;
	h.ip.tot_len = bpf_htons(sizeof(h) + quote_len);
	h.ip.ttl = RELAY_ICMP_ERR_TTL;
	h.ip.protocol = IPPROTO_ICMP;
	h.ip.saddr = pkt->daddr.v4;
	h.ip.daddr = pkt->saddr.v4;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.ip, sizeof(h.ip), 0);
	h.ip.check = relay_csum_fold(sum);
	h.icmp.type = err & 0xff;
	h.icmp.code = err >> 8;
	h.icmp.un.frag.mtu = bpf_htons(mtu);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.icmp, sizeof(h.icmp), 0);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)quote, quote_len, sum);
	h.icmp.checksum = relay_csum_fold(sum);
	return relay_icmp_reflect(skb, pkt, macs, &h, sizeof(h), sent);
}

/* Only for a packet on an Ethernet device: a client's on the front's public
 * device, sent back out of it; a reply leaving the backend, turned back to
 * its own stack (sent | RELAY_ICMP_TO_STACK). sent: the counter of errors
 * sent. err: RELAY_ICMP_ERR_FRAG_NEEDED (with mtu), _PORT_UNREACH or
 * _TIME_EXCEEDED; over IPv6 their ICMPv6 counterparts. Returns the
 * verdict: a redirect (counted as sent), or RELAY_TC_PASS if it could not
 * be built (the packet is then untouched, and goes on as it came, to the
 * filters behind and the stack; past the first change it is dropped).
 * Over the rate limit the packet is dropped (icmp_rate_limited), as a
 * router drops what it cannot forward: handed to the stack, a packet for
 * the public address would be answered by it (a TCP reset, port
 * unreachable). */
static __always_inline int relay_icmp_send(struct __sk_buff *skb, const struct relay_pkt *pkt,
					   __u32 err, __u16 mtu, __u32 sent)
{
	if (pkt->family == AF_INET6)
		return relay_icmp6_send(skb, pkt, err, mtu, sent);
	return relay_icmp4_send(skb, pkt, err, mtu, sent);
}

#endif

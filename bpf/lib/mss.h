/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * TCP MSS clamping on SYN and SYN-ACK: the tunnel's MTU is smaller than the
 * client's path, and a redirected packet skips the kernel's own clamping
 * (netfilter's TCPMSS in the recipe). The value is only ever lowered.
 */
#ifndef RELAY_LIB_MSS_H
#define RELAY_LIB_MSS_H

#include "common.h"
#include "parse.h"
#include "counters.h"

#define RELAY_TCPOPT_EOL 0
#define RELAY_TCPOPT_NOP 1
#define RELAY_TCPOPT_MSS 2
#define RELAY_TCP_MAX_OPTS 40

struct relay_mss_walk {
	struct __sk_buff *skb;
	__u32 l4_off;
	__u32 off;     /* of the option under the cursor, from the TCP header */
	__u32 opt_end; /* the TCP header's length */
	__u32 found;   /* offset of the MSS option, 0 if none */
};

/* One option per call. bpf_loop has the verifier check this body once,
 * where an unrolled walk over 40 bytes of any mix of options explodes. */
static long relay_mss_step(__u32 i, void *data)
{
	struct relay_mss_walk *w = data;
	__u8 opt[2];

	if (w->off >= w->opt_end ||
	    bpf_skb_load_bytes(w->skb, w->l4_off + w->off, opt, 1) ||
	    opt[0] == RELAY_TCPOPT_EOL)
		return 1;
	if (opt[0] == RELAY_TCPOPT_NOP) {
		w->off++;
		return 0;
	}
	if (w->off + 2 > w->opt_end ||
	    bpf_skb_load_bytes(w->skb, w->l4_off + w->off, opt, 2) || opt[1] < 2)
		return 1;
	if (opt[0] == RELAY_TCPOPT_MSS && opt[1] == 4) {
		if (w->off + 4 <= w->opt_end)
			w->found = w->off;
		return 1;
	}
	w->off += opt[1];
	return 0;
}

/* The walk and the rewrite, for a SYN: a subprogram of its own, so that
 * its stack setup is not paid by every other packet (it was, inlined:
 * ~30 ns per packet). Its frame fits in 32 bytes: the walk, one 16-bit
 * word for every read and write, relay_count's key, no spill (after the
 * walk the offsets are read from w, not kept in registers). Kernel 6.1
 * adds up the frames of a call chain, each rounded up to 32 bytes,
 * against 512, and relay_front_rev -> this -> relay_mss_step is
 * relay_front_rev's longest chain (docs/bench.md). Returns 0, or -1 when
 * a rewrite failed. */
static __noinline int relay_clamp_mss_syn(struct __sk_buff *skb, __u32 l4_off, __u16 mss)
{
	__be16 word, old, new = bpf_htons(mss);
	struct relay_mss_walk w = { .skb = skb, .l4_off = l4_off, .off = 20 };
	__u32 csum_off;

	/* The data offset is the high nibble of the word at byte 12. */
	if (bpf_skb_load_bytes(skb, l4_off + 12, &word, 2))
		return 0;
	w.opt_end = (bpf_ntohs(word) >> 12) * 4;
	/* Every option is at least one byte: 40 steps cover all 40 bytes. */
	bpf_loop(RELAY_TCP_MAX_OPTS, relay_mss_step, &w, 0);
	if (!w.found || bpf_skb_load_bytes(skb, w.l4_off + w.found + 2, &word, 2) ||
	    bpf_ntohs(word) <= mss)
		return 0;
	old = word;
	csum_off = w.l4_off + offsetof(struct tcphdr, check);
	/* The checksum sums 16-bit words from the header's start: a value at
	 * an odd offset straddles two words, its bytes land in swapped halves. */
	if (w.found & 1) {
		if (bpf_l4_csum_replace(skb, csum_off, __builtin_bswap16(old),
					__builtin_bswap16(new), 2))
			return -1;
	} else if (bpf_l4_csum_replace(skb, csum_off, old, new, 2)) {
		return -1;
	}
	word = new;
	if (bpf_skb_store_bytes(skb, w.l4_off + w.found + 2, &word, 2, 0))
		return -1;
	relay_count(RELAY_C_MSS_CLAMPED, 1);
	return 0;
}

/* Only SYNs are read further, through skb_load_bytes. */
static __always_inline int relay_clamp_mss(struct __sk_buff *skb, const struct relay_pkt *pkt,
					   __u16 mss)
{
	if (!mss || pkt->proto != IPPROTO_TCP || !(pkt->tcp_flags & RELAY_TCP_SYN))
		return 0;
	return relay_clamp_mss_syn(skb, pkt->l4_off, mss);
}

#endif

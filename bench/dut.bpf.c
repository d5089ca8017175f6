// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XDP programs the benchmark puts on the lab's devices (never relaybpf's):
 *  - relay_bench_pass on the front's public device in every configuration,
 *    because a veth only receives XDP-redirected frames (the generator's)
 *    when it has an XDP program itself;
 *  - relay_bench_fwd, the "ceiling": redirect every frame unchanged into
 *    the tunnel, the most a core of this machine can forward;
 *  - relay_bench_tc_fwd, the "tc-ceiling": the same redirect on TC ingress,
 *    after the kernel built the skb, the most a TC program can forward
 *    (relaybpf-tc's bound);
 *  - relay_bench_count on the receiving device (the backend's tunnel
 *    device; the client's for the reply direction): count and drop the
 *    IPv4 TCP and UDP frames that arrive, per CPU, telling apart those a relay should
 *    deliver (from the client's network to the expected backends; from
 *    the front's public address to the client's network) from any
 *    other, and checking the checksums of a sample; pass the rest (ARP
 *    keeps the front's neighbour entry for the backend alive during a run);
 *  - relay_bench_tc_ok, an empty TC program: the fixed cost of one
 *    BPF_PROG_TEST_RUN measurement, subtracted from relaybpf's programs.
 */
/* UAPI headers, as relaybpf's own programs (bpf/lib/common.h). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bench.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 fwd_ifindex;
/* The counter's device is L3 (TUN, WireGuard): frames start at the IP header. */
const volatile __u8 count_l3;
/* What a frame that did its job carries, per side: an address in net/mask
 * or equal to alt (0: none). Client to backend: the client's network as
 * source (no SNAT on the way), the backend (or either of two) as
 * destination; the reply direction the other way round. */
const volatile __be32 expect_snet;
const volatile __be32 expect_smask;
const volatile __be32 expect_salt;
const volatile __be32 expect_dnet;
const volatile __be32 expect_dmask;
const volatile __be32 expect_dalt;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BENCH_RX_MAX);
	__type(key, __u32);
	__type(value, __u64);
} relay_bench_rx SEC(".maps");

SEC("xdp")
int relay_bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int relay_bench_fwd(struct xdp_md *ctx)
{
	return bpf_redirect(fwd_ifindex, 0);
}

static __always_inline void rx_count(__u32 idx)
{
	__u64 *n = bpf_map_lookup_elem(&relay_bench_rx, &idx);

	if (n)
		*n += 1;
}

/* One's-complement sum of WORDS 16-bit words from P, within the frame. */
static __always_inline __u32 sum_words(void *p, __u32 words, void *data_end)
{
	__u16 *w = p;
	__u32 s = 0;

	for (__u32 i = 0; i < (BENCH_FRAME_LEN - 34) / 2 && i < words; i++) {
		if ((void *)(w + i + 1) > data_end)
			return 0;
		s += w[i];
	}
	return s;
}

static __always_inline int csum_ok(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

/* The IPv4 and TCP/UDP checksums of a generator frame, from scratch (a
 * relay that rewrites addresses must fix both). Frames of another shape
 * are not checked. */
static __always_inline void check_frame(struct iphdr *ip, void *data_end)
{
	void *l4 = ip + 1;
	__u32 l4len = bpf_ntohs(ip->tot_len), ph;

	if ((ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP) || ip->ihl != 5 ||
	    l4len <= sizeof(*ip) || l4len > BENCH_FRAME_LEN - 14 || l4len & 1 ||
	    l4 + sizeof(struct udphdr) > data_end)
		return;
	l4len -= sizeof(*ip);
	ph = (ip->saddr & 0xffff) + (ip->saddr >> 16) + (ip->daddr & 0xffff) + (ip->daddr >> 16) +
	     bpf_htons(ip->protocol) + bpf_htons(l4len);
	rx_count(BENCH_RX_CHECKED);
	if (!csum_ok(sum_words(ip, sizeof(*ip) / 2, data_end)) ||
	    (!(ip->protocol == IPPROTO_UDP && !((struct udphdr *)l4)->check) &&
	     !csum_ok(ph + sum_words(l4, l4len / 2, data_end))))
		rx_count(BENCH_RX_BAD_CSUM);
}

static __always_inline int addr_ok(__be32 a, __be32 net, __be32 mask, __be32 alt)
{
	return (a & mask) == net || (alt && a == alt);
}

SEC("xdp")
int relay_bench_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = count_l3 ? data : (void *)(eth + 1);
	__u32 zero = BENCH_RX_OK;
	__u64 *ok;

	if (!count_l3 && ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP_BENCH)))
		return XDP_PASS;
	/* Not ICMP: the front's own errors (a neighbour that does not
	 * answer for a generated client address) are no relay's fault. */
	if ((void *)(ip + 1) > data_end || ip->version != 4 ||
	    (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP))
		return XDP_PASS;
	if (!addr_ok(ip->saddr, expect_snet, expect_smask, expect_salt) ||
	    !addr_ok(ip->daddr, expect_dnet, expect_dmask, expect_dalt)) {
		rx_count(BENCH_RX_WRONG_ADDR);
		return XDP_DROP;
	}
	ok = bpf_map_lookup_elem(&relay_bench_rx, &zero);
	if (ok && !((*ok)++ & 63))
		check_frame(ip, data_end);
	return XDP_DROP;
}

SEC("tc")
int relay_bench_tc_fwd(struct __sk_buff *skb)
{
	return bpf_redirect(fwd_ifindex, 0);
}

SEC("tc")
int relay_bench_tc_ok(struct __sk_buff *skb)
{
	return 0;
}

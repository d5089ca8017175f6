// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark traffic generator, run by BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES on the client's device: every frame is a
 * 64-byte IPv4 packet redirected out of that device, UDP (22 bytes of
 * zeros) or a TCP ACK of an established flow (seq and ack fixed, so that a
 * conntrack in the path sees in-window duplicates; 10 bytes of padding).
 *
 * The kernel recycles the frames, and a forwarder that rewrote one in place
 * (MACs, TTL, addresses, checksums) hands those bytes back: every header
 * field is written again on every frame. Flows rotate over n_addrs client
 * addresses x n_ports client ports, so a forwarder's conntrack sees them all;
 * the other end is one peer address and port. The clients are the sources
 * (client to backend), or with `reverse` the destinations (a backend's
 * replies to the clients, peer_addr:peer_port being the backend).
 *
 * With gap_q16 (ns between frames, x 65536) each frame waits in the
 * program for its send time, so that the forwarder is offered the rate,
 * not a flood that overruns the front's ring. Waiting, not dropping the
 * frames over the rate: a dropped frame's page goes back to the page pool
 * under the lock the forwarder's CPU takes to return the delivered ones
 * (perf: 18% of the generator in _raw_spin_lock when it dropped them).
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

const volatile __u8 src_mac[6];
const volatile __u8 dst_mac[6];
const volatile __u32 flow_addr_first; /* host order */
const volatile __u32 n_addrs = 1;
const volatile __u16 flow_port_first = 10000;
const volatile __u32 n_ports = 1;
const volatile __be32 peer_addr;
const volatile __u16 peer_port = 9;
const volatile __u8 reverse;
const volatile __u32 out_ifindex;
const volatile __u8 proto = IPPROTO_UDP;
const volatile __u64 gap_q16; /* 0: every frame at once */

/* Only one CPU runs the generator: plain globals are enough. Frames sent
 * (the flow rotation), and the pacing: the first frame's time and the
 * next send time after it (ns x 65536). */
__u64 relay_bench_seq;
__u64 relay_bench_t0;
__u64 relay_bench_next_q16;

static long send_time_reached(__u64 i, void *ctx)
{
	(void)i;
	(void)ctx;
	return (bpf_ktime_get_ns() - relay_bench_t0) << 16 >= relay_bench_next_q16;
}

/* Waits (a bounded busy loop: bpf_loop, ~50 ms at most) until the frame's
 * send time. A stall (the CPU taken by another process) is caught up by
 * at most 256 frames back to back, a veth's ring (VETH_RING_SIZE): a
 * longer burst would be lost there for reasons other than the forwarder's
 * rate. A longer stall lowers the rate offered: rbbench prints the rate
 * achieved, not the one asked. */
static __always_inline void pace(void)
{
	__u64 now = bpf_ktime_get_ns(), rel;

	if (!relay_bench_t0)
		relay_bench_t0 = now;
	rel = (now - relay_bench_t0) << 16;
	if (rel < relay_bench_next_q16)
		bpf_loop(1 << 20, send_time_reached, NULL, 0);
	else if (rel - relay_bench_next_q16 > 256 * gap_q16)
		relay_bench_next_q16 = rel - 256 * gap_q16;
	relay_bench_next_q16 += gap_q16;
}

static __always_inline __u32 sum16(const __u16 *p, int words)
{
	__u32 s = 0;

	for (int i = 0; i < words; i++)
		s += p[i];
	return s;
}

static __always_inline __u16 fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

SEC("xdp")
int relay_bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = (void *)(ip + 1);
	struct tcphdr *tcp = (void *)(ip + 1);
	__u8 *payload = (void *)(udp + 1);
	__u64 seq = relay_bench_seq++;
	__u32 flow = seq % (n_addrs * n_ports);
	__u16 l4len = proto == IPPROTO_TCP ? sizeof(*tcp) : BENCH_FRAME_LEN - sizeof(*eth) - sizeof(*ip);
	__be32 flow_addr = bpf_htonl(flow_addr_first + flow % n_addrs);
	__be16 flow_port = bpf_htons(flow_port_first + flow / n_addrs);
	__be16 sport = reverse ? bpf_htons(peer_port) : flow_port;
	__be16 dport = reverse ? flow_port : bpf_htons(peer_port);
	__u32 s;

	if (data + BENCH_FRAME_LEN > data_end)
		return XDP_ABORTED;
	if (gap_q16)
		pace();

	for (int i = 0; i < 6; i++) {
		eth->h_dest[i] = dst_mac[i];
		eth->h_source[i] = src_mac[i];
	}
	eth->h_proto = bpf_htons(ETH_P_IP_BENCH);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(sizeof(*ip) + l4len);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = proto;
	ip->check = 0;
	ip->saddr = reverse ? peer_addr : flow_addr;
	ip->daddr = reverse ? flow_addr : peer_addr;
	ip->check = fold(sum16((__u16 *)ip, sizeof(*ip) / 2));

	/* Payload or Ethernet padding: zeros. */
	for (int i = 0; i < BENCH_FRAME_LEN - (int)(sizeof(*eth) + sizeof(*ip) + sizeof(*udp)); i++)
		payload[i] = 0;
	/* Pseudo-header (addresses, protocol, length) + L4 header; the
	 * payload is zeros. */
	s = sum16((__u16 *)&ip->saddr, 4) + bpf_htons(proto) + bpf_htons(l4len);
	if (proto == IPPROTO_TCP) {
		__u16 *w = (__u16 *)tcp;

		tcp->source = sport;
		tcp->dest = dport;
		tcp->seq = bpf_htonl(1);
		tcp->ack_seq = bpf_htonl(1);
		w[6] = bpf_htons(0x5010); /* data offset 5, ACK */
		tcp->window = bpf_htons(65535);
		tcp->check = 0;
		tcp->urg_ptr = 0;
		tcp->check = fold(s + sum16(w, sizeof(*tcp) / 2));
	} else {
		udp->source = sport;
		udp->dest = dport;
		udp->len = bpf_htons(l4len);
		udp->check = 0;
		/* A result of 0 is sent as 0xffff (RFC 768). */
		udp->check = fold(s + sum16((__u16 *)udp, sizeof(*udp) / 2)) ?: 0xffff;
	}

	return bpf_redirect(out_ifindex, 0);
}

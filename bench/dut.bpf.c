// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XDP programs the benchmark puts on the lab's devices (never relaybpf's):
 *  - relay_bench_pass on the front's public device in every configuration,
 *    because a veth only receives XDP-redirected frames (the generator's)
 *    when it has an XDP program itself;
 *  - relay_bench_fwd, the "ceiling": redirect every frame unchanged into
 *    the tunnel, the most a core of this machine can forward;
 *  - relay_bench_count on the backend's tunnel device: count and drop the
 *    IPv4 frames that arrive, per CPU; pass the rest (ARP keeps the
 *    front's neighbour entry for the backend alive during a run);
 *  - relay_bench_tc_ok, an empty TC program: the fixed cost of one
 *    BPF_PROG_TEST_RUN measurement, subtracted from relaybpf's programs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bench.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 fwd_ifindex;
/* The counter's device is L3 (TUN, WireGuard): frames start at the IP header. */
const volatile __u8 count_l3;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
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

SEC("xdp")
int relay_bench_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 zero = 0;
	__u64 *n;

	if (count_l3) {
		if (data + 1 > data_end || (*(__u8 *)data >> 4) != 4)
			return XDP_PASS;
	} else if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP_BENCH)) {
		return XDP_PASS;
	}
	n = bpf_map_lookup_elem(&relay_bench_rx, &zero);
	if (n)
		*n += 1;
	return XDP_DROP;
}

SEC("tc")
int relay_bench_tc_ok(struct __sk_buff *skb)
{
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Front, XDP on the public device (opt-in, --xdp-mode): the fast path of
 * relay_front_in for packets of established flows only. Anything else
 * (new flows, SYNs to clamp, fragments, ICMP errors, TTL or MTU trouble,
 * no neighbour yet) is XDP_PASS: relay_front_in, on TC ingress of the same
 * device, handles it. XDP sees no partial checksums: only for NICs that
 * deliver complete ones (in the lab: the client's veth with tx offload off).
 * IPv4 only: every IPv6 packet is XDP_PASS, relayed by relay_front_in.
 */
#include "lib/common.h"
#include "lib/parse.h"
#include "lib/ct.h"
#include "lib/policy.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET_FIB 2

/* RFC 1624 incremental update of a 16-bit one's complement checksum. */
static __always_inline __u16 relay_csum_update(__u16 csum, __be32 from, __be32 to)
{
	__u32 sum = (__u16)~csum;

	sum += (__u16)~(from & 0xffff) + (__u16)~(from >> 16);
	sum += (to & 0xffff) + (to >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int relay_front_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct relay_front_config *cfg = relay_front_config();
	struct bpf_fib_lookup fib = {};
	struct relay_ct_value *ct;
	struct relay_pkt pkt;
	struct iphdr *ip;
	__u32 l3_off, mtu_len;
	__u16 *l4_csum = NULL;
	__be32 backend;
	__u64 now;

	if (!cfg || relay_parse_eth(data, end, &l3_off) != RELAY_PARSE_OK ||
	    relay_parse_ipv4(data, end, l3_off, (__u32)(end - data), &pkt) != RELAY_PARSE_OK)
		return XDP_PASS;
	if (!relay_is_public(&pkt) || pkt.fragment || !pkt.has_ports || pkt.ttl <= 1 ||
	    (pkt.proto == IPPROTO_TCP && (pkt.tcp_flags & RELAY_TCP_SYN)) ||
	    (pkt.proto == IPPROTO_ICMP && pkt.icmp_type != RELAY_ICMP_ECHO))
		return XDP_PASS;
	now = bpf_ktime_get_ns();
	ct = relay_ct_orig(&pkt, now);
	if (!ct || relay_port_policy(cfg, &pkt) != RELAY_C_MAX)
		return XDP_PASS;
	mtu_len = pkt.tot_len;
	if (bpf_check_mtu(ctx, cfg->tunnel_ifindex, &mtu_len, 0, 0) != BPF_MTU_CHK_RET_SUCCESS)
		return XDP_PASS;
	backend = cfg->backend.v4;
	/* An L2 tunnel needs the backend's MAC: only a resolved neighbour. */
	if (cfg->tunnel_l2) {
		fib.family = AF_INET_FIB;
		fib.ipv4_dst = backend;
		fib.ifindex = cfg->tunnel_ifindex;
		if (bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_DIRECT |
				   BPF_FIB_LOOKUP_OUTPUT) != BPF_FIB_LKUP_RET_SUCCESS ||
		    fib.ifindex != cfg->tunnel_ifindex)
			return XDP_PASS;
	}

	relay_ct_account(ct, &pkt, RELAY_DIR_ORIG, (__u32)(end - data), now);
	ip = data + ETH_HLEN;
	if ((void *)(ip + 1) > end)
		return XDP_PASS;
	if (pkt.proto == IPPROTO_TCP) {
		struct tcphdr *tcp = data + pkt.l4_off;

		if ((void *)(tcp + 1) > end)
			return XDP_PASS;
		l4_csum = &tcp->check;
	} else if (pkt.proto == IPPROTO_UDP) {
		struct udphdr *udp = data + pkt.l4_off;

		if ((void *)(udp + 1) > end)
			return XDP_PASS;
		/* UDP checksum 0 means none and stays 0. */
		if (udp->check)
			l4_csum = &udp->check;
	}
	if (l4_csum) {
		*l4_csum = relay_csum_update(*l4_csum, ip->daddr, backend);
		if (pkt.proto == IPPROTO_UDP && !*l4_csum)
			*l4_csum = 0xffff;
	}
	ip->check = relay_csum_update(ip->check, ip->daddr, backend);
	ip->daddr = backend;
	/* TTL and protocol share a checksum word. */
	ip->check = relay_csum_update(ip->check, bpf_htons((__u16)ip->ttl << 8),
				      bpf_htons((__u16)(ip->ttl - 1) << 8));
	ip->ttl--;

	relay_count(RELAY_C_FWD_PACKETS, 1);
	relay_count(RELAY_C_FWD_BYTES, end - data);
	relay_count(RELAY_C_XDP_FWD, 1);
	if (cfg->tunnel_l2) {
		struct ethhdr *eth = data;

		__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	} else if (bpf_xdp_adjust_head(ctx, ETH_HLEN)) {
		/* An L3 tunnel takes the IP packet alone. */
		return XDP_ABORTED;
	}
	return bpf_redirect(cfg->tunnel_ifindex, 0);
}

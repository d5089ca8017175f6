// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Front, XDP on the public device (opt-in, --xdp-mode): the fast path of
 * relay_front_in for packets of established flows only, to the flow's
 * backend and port there (services: docs/services.md). Anything else
 * (new flows, flows to move to another backend, a flow's first packet after
 * a commit of the services, SYNs to clamp, fragments, ICMP errors, TTL or
 * MTU trouble, no neighbour yet) is XDP_PASS:
 * relay_front_in, on TC ingress of the same device, handles it. First fragments too: their verdict (relayed, to the
 * stack when too big, the host's) is what the later ones follow, and it is
 * made in one place, TC's. XDP sees no partial checksums: only for NICs that
 * deliver complete ones (in the lab: the client's veth with tx offload off).
 * Both families; IPv6 has no header checksum: only the L4 one changes.
 */
#include "lib/common.h"
#include "lib/parse.h"
#include "lib/csum.h"
#include "lib/ct.h"
#include "lib/policy.h"
#include "lib/ratelimit.h"
#include "lib/hop.h"
#include "lib/service.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The transport header's furthest offset XDP rewrites (below the
 * verifier's 64 KiB packet offsets with the header's bytes added). */
#define RELAY_XDP_L4_OFF_MAX 0x3fff


/* The same for an address of the family: one word, or four folded once. */
static __always_inline __u16 relay_csum_update_ip(__u16 csum, __u8 family,
						  const union relay_ip *from,
						  const union relay_ip *to)
{
	__u32 sum = (__u16)~csum;

	if (family != AF_INET6)
		return relay_csum_update(csum, from->v4, to->v4);
	for (int i = 0; i < 4; i++)
		sum = relay_csum_add_change(sum, from->v6w[i], to->v6w[i]);
	return relay_csum_fold(sum);
}

/* The L4 checksum to update, NULL when there is none to update (UDP over
 * IPv4 without one: 0 stays 0; ICMP over IPv4 covers no address), or
 * (void *)-1 when the packet is TC's (an IPv6 UDP checksum 0 is malformed,
 * TC counts it). */
static __always_inline __u16 *relay_xdp_l4_csum(void *l4, void *end,
						const struct relay_pkt *pkt)
{
	if (l4 + 8 > end)
		return (void *)-1;
	if (pkt->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > end)
			return (void *)-1;
		return &tcp->check;
	}
	if (pkt->proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if (!udp->check)
			return pkt->family == AF_INET6 ? (void *)-1 : NULL;
		return &udp->check;
	}
	/* ICMPv6's checksum covers a pseudo-header, ICMP's does not. */
	return pkt->family == AF_INET6 ? l4 + 2 : NULL;
}

SEC("xdp")
int relay_front_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct relay_front_config *cfg = relay_front_config();
	const struct relay_hop *hop;
	struct relay_ct_value *ct;
	struct relay_svc_sel sel;
	struct relay_pkt pkt;
	__u16 *l4_csum;
	__u32 l3_off;
	void *l4;
	__u64 now;

	/* The parsed packet stays one struct on the stack, read by pointer
	 * where a field is needed: the empty asm takes its address, so clang
	 * cannot split it into its ~25 fields as scalars, which it spilled
	 * and reloaded as 64-bit stack slots around every call (docs/bench.md,
	 * session 14: -3 to -5 ns hot over IPv4, -1 to -2 over IPv6; xlated
	 * 1758 -> 1598 instructions; the verifier's walk 757k -> 135k). */
	asm volatile("" : : "r"(&pkt));
	if (!cfg || relay_parse_eth(data, end, &l3_off) != RELAY_PARSE_OK ||
	    relay_parse_ip(data, end, l3_off, (__u32)(end - data), &pkt) != RELAY_PARSE_OK)
		return XDP_PASS;
	/* pkt is in memory: its address, without relay_is_public's copy. */
	if (!relay_is_public_addr(cfg, pkt.family, &pkt.daddr) || relay_from_underlay(cfg, &pkt) || pkt.fragment ||
	    pkt.first_frag || !pkt.has_ports || pkt.ttl <= 1 ||
	    (pkt.proto == IPPROTO_TCP && (pkt.tcp_flags & RELAY_TCP_SYN)) ||
	    (relay_pkt_is_icmp(&pkt) && pkt.icmp_type != RELAY_ICMP_ECHO))
		return XDP_PASS;
	/* Read from the stack, l4_off has no bounds the verifier knows of
	 * (a 64-bit spill kept them): bounded here once, l4 keeps its range.
	 * Past that (a chain of IPv6 extension headers of 16 KiB in generic
	 * XDP), TC's. */
	if (pkt.l4_off > RELAY_XDP_L4_OFF_MAX)
		return XDP_PASS;
	l4 = data + pkt.l4_off;
	l4_csum = relay_xdp_l4_csum(l4, end, &pkt);
	if (l4_csum == (void *)-1)
		return XDP_PASS;
	now = relay_now();
	ct = relay_ct_orig(&pkt, now);
	if (!ct)
		return XDP_PASS;
	/* The flow's backend and port as it recorded them while no commit
	 * since may have changed them: any other flow (one to move, one whose
	 * port there changed, one whose backend a commit since asks again) is
	 * TC's, which records it for the next packets. */
	if (relay_flow_backend(cfg, cfg->svc_epoch, ct, pkt.family, &sel))
		return XDP_PASS;
	hop = relay_hop_get(ctx, &sel.tunnel, pkt.family, sel.id, &sel.addr, now);
	if (!hop || pkt.tot_len > hop->mtu)
		return XDP_PASS;
	/* Charged here, once it is sure XDP relays it: a packet passed to TC
	 * is charged there. */
	if (relay_rate_limited(cfg, &pkt))
		return XDP_DROP;

	relay_ct_account(ct, &pkt, RELAY_DIR_ORIG, (__u32)(end - data), now);
	relay_backend_count(sel.id, RELAY_DIR_ORIG, (__u32)(end - data), 0);
	if (sel.backend_port != pkt.dport) {
		/* TCP and UDP: the destination port is the header's third and
		 * fourth bytes (relay_xdp_l4_csum saw 8 of them: the bounds
		 * checks here are the verifier's); its checksum change is a
		 * word of its own, the other half zero. */
		__be16 *dport = l4 + 2;

		if ((void *)(dport + 1) > end)
			return XDP_PASS;
		*dport = sel.backend_port;
		if (l4_csum) {
			if ((void *)(l4_csum + 1) > end)
				return XDP_PASS;
			*l4_csum = relay_csum_update(*l4_csum, pkt.dport, sel.backend_port);
		}
	}
	if (l4_csum) {
		if ((void *)(l4_csum + 1) > end)
			return XDP_PASS;
		*l4_csum = relay_csum_update_ip(*l4_csum, pkt.family, &pkt.daddr, &sel.addr);
		if (pkt.proto == IPPROTO_UDP && !*l4_csum)
			*l4_csum = 0xffff;
	}
	if (pkt.family == AF_INET6) {
		struct ipv6hdr *ip6 = data + ETH_HLEN;

		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		__builtin_memcpy(&ip6->daddr, sel.addr.v6, 16);
		ip6->hop_limit--;
	} else {
		struct iphdr *ip = data + ETH_HLEN;

		if ((void *)(ip + 1) > end)
			return XDP_PASS;
		ip->check = relay_csum_update(ip->check, ip->daddr, sel.addr.v4);
		ip->daddr = sel.addr.v4;
		/* TTL and protocol share a checksum word. */
		ip->check = relay_csum_update(ip->check, bpf_htons((__u16)ip->ttl << 8),
					      bpf_htons((__u16)(ip->ttl - 1) << 8));
		ip->ttl--;
	}

	relay_count_relayed(RELAY_C_FWD_PACKETS, RELAY_C_FWD_BYTES, RELAY_C_FWD6_PACKETS,
			    RELAY_C_XDP_FWD, pkt.family, end - data);
	if (sel.tunnel.l2) {
		struct ethhdr *eth = data;

		__builtin_memcpy(eth, hop->eth_addrs, sizeof(hop->eth_addrs));
	} else if (bpf_xdp_adjust_head(ctx, ETH_HLEN)) {
		/* An L3 tunnel takes the IP packet alone. */
		return XDP_ABORTED;
	}
	return bpf_redirect(sel.tunnel.ifindex, 0);
}

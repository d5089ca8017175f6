// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Back, TC egress on the backend's other (Ethernet) devices: a UDP reply
 * to a flow that came in through a tunnel, sent with sendto() from a socket
 * bound to 0.0.0.0, inherits no mark; the main table routed it here, with
 * this device's source address. It gets the address the client talked to
 * as its source and is redirected into the tunnel it came from. Anything
 * that is not the reply of a remembered flow (the backend's own traffic)
 * passes untouched.
 */
#include "lib/common.h"
#include "lib/parse.h"
#include "lib/nat.h"
#include "lib/back_maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define BPF_MTU_CHK_RET_SUCCESS 0

static __always_inline int relay_back_pass(void)
{
	relay_count(RELAY_C_BACK_PASSED, 1);
	return TC_ACT_OK;
}

SEC("tc")
int relay_back_out(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct relay_ct_key key;
	struct relay_back_config *cfg;
	struct relay_back_flow *flow;
	struct relay_pkt pkt;
	__u32 l3_off, ifindex, mtu_len;
	long ret;

	if (relay_parse_eth(data, end, &l3_off) != RELAY_PARSE_OK ||
	    relay_parse_ipv4(data, end, l3_off, skb->len, &pkt) != RELAY_PARSE_OK ||
	    pkt.proto != IPPROTO_UDP || !pkt.has_ports)
		return relay_back_pass();
	relay_ct_key_v4(&key, IPPROTO_UDP, pkt.daddr, pkt.dport, pkt.sport);
	flow = bpf_map_lookup_elem(&relay_back_flows, &key);
	if (!flow)
		return relay_back_pass();
	ifindex = flow->tunnel_ifindex;
	cfg = bpf_map_lookup_elem(&relay_back_cfg, &ifindex);
	if (!cfg)
		return relay_back_pass();
	/* A redirect skips the tunnel's MTU check: do it on the IP length. */
	mtu_len = skb->len - l3_off;
	if (bpf_check_mtu(skb, ifindex, &mtu_len, 0, 0) != BPF_MTU_CHK_RET_SUCCESS) {
		relay_count(RELAY_C_BACK_TOO_BIG, 1);
		return TC_ACT_SHOT;
	}
	if (pkt.saddr != flow->local.v4 &&
	    relay_nat4(skb, &pkt, RELAY_IP_SADDR_OFF, pkt.saddr, flow->local.v4)) {
		relay_count(RELAY_C_ERR_REWRITE, 1);
		return TC_ACT_SHOT;
	}
	skb->mark = (skb->mark & ~cfg->mask) | (cfg->mark & cfg->mask);
	if (cfg->tunnel_l2) {
		struct bpf_redir_neigh nh = { .nh_family = AF_INET, .ipv4_nh = cfg->front };

		ret = bpf_redirect_neigh(ifindex, &nh, sizeof(nh), 0);
	} else {
		/* The kernel strips the Ethernet header for an L3 device. */
		ret = bpf_redirect(ifindex, 0);
	}
	if (ret != TC_ACT_REDIRECT) {
		relay_count(RELAY_C_ERR_REDIRECT, 1);
		return TC_ACT_SHOT;
	}
	relay_count(RELAY_C_BACK_FIXED, 1);
	return TC_ACT_REDIRECT;
}

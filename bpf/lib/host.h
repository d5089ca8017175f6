/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Traffic that belongs to the front host itself: a packet for which the
 * host has a socket (the tunnel's own underlay, e.g. WireGuard's or
 * VXLAN's UDP port; replies to connections the host opened; a service the
 * host listens on) goes to the host's stack, never to the backend.
 * A lookup costs ~50-60 ns, so it is done only for packets with no flow.
 * Decision: a local socket on a forwarded port wins over the relay for new
 * flows, counted as pass_host_socket and warned about by `attach`.
 */
#ifndef RELAY_LIB_HOST_H
#define RELAY_LIB_HOST_H

#include "common.h"
#include "parse.h"

#define RELAY_NETNS_CURRENT ((__u64)-1)

static __always_inline int relay_host_socket(struct __sk_buff *skb, const struct relay_pkt *pkt)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;

	__u32 len;

	if (pkt->proto != IPPROTO_TCP && pkt->proto != IPPROTO_UDP)
		return 0;
	/* The tuple's size tells the kernel the family. */
	if (pkt->family == AF_INET6) {
		__builtin_memcpy(t.ipv6.saddr, pkt->saddr.v6w, 16);
		__builtin_memcpy(t.ipv6.daddr, pkt->daddr.v6w, 16);
		t.ipv6.sport = pkt->sport;
		t.ipv6.dport = pkt->dport;
		len = sizeof(t.ipv6);
	} else {
		t.ipv4.saddr = pkt->saddr.v4;
		t.ipv4.daddr = pkt->daddr.v4;
		t.ipv4.sport = pkt->sport;
		t.ipv4.dport = pkt->dport;
		len = sizeof(t.ipv4);
	}
	/* skc_ also finds request and time-wait sockets: a connection the
	 * host is still opening or closing is the host's too. */
	if (pkt->proto == IPPROTO_TCP)
		sk = bpf_skc_lookup_tcp(skb, &t, len, RELAY_NETNS_CURRENT, 0);
	else
		sk = bpf_sk_lookup_udp(skb, &t, len, RELAY_NETNS_CURRENT, 0);
	if (!sk)
		return 0;
	bpf_sk_release(sk);
	return 1;
}

#endif

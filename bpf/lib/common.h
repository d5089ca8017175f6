/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Includes and constants every relaybpf program needs (vmlinux.h has the
 * kernel's types but none of its #defines). */
#ifndef RELAY_LIB_COMMON_H
#define RELAY_LIB_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "relaybpf.h"

#define ETH_HLEN 14
#define ETH_ALEN 6
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

#define AF_INET 2
#define AF_INET6 10

#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF

/* IPv6 next-header values (linux/in6.h, not in vmlinux.h). */
#define IPPROTO_HOPOPTS 0
#define IPPROTO_ROUTING 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_ICMPV6 58
#define IPPROTO_NONE 59
#define IPPROTO_DSTOPTS 60
#define IPV6_HLEN 40

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

#define BPF_F_PSEUDO_HDR_FLAG (1ULL << 4)

/* Addresses of either family (union relay_ip, .v4 only for IPv4). */
static __always_inline int relay_ip_eq(__u8 family, const union relay_ip *a,
				       const union relay_ip *b)
{
	if (family != AF_INET6)
		return a->v4 == b->v4;
	return a->v6w[0] == b->v6w[0] && a->v6w[1] == b->v6w[1] && a->v6w[2] == b->v6w[2] &&
	       a->v6w[3] == b->v6w[3];
}

/*
 * The clock of the flow table (created_ns, last_seen_ns): the coarse
 * monotonic clock (CLOCK_MONOTONIC_COARSE, one tick of resolution), plenty
 * for idle timeouts counted in seconds. It reads no hardware counter: the
 * precise clock cost the XDP fast path ~5% of its time here. Every program
 * and `relaybpf conntrack` read this one clock.
 */
static __always_inline __u64 relay_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

static __always_inline int relay_ip_is_zero(__u8 family, const union relay_ip *a)
{
	if (family != AF_INET6)
		return !a->v4;
	return !(a->v6w[0] | a->v6w[1] | a->v6w[2] | a->v6w[3]);
}

#endif

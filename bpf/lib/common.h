/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Includes and constants every relaybpf program needs.
 *
 * The programs read no kernel-internal structure: only packet bytes and the
 * UAPI contexts (__sk_buff, xdp_md) and helper arguments (bpf_fib_lookup,
 * bpf_sock_tuple, bpf_redir_neigh), whose layouts are a stable ABI. So they
 * are built against the UAPI headers of linux-libc-dev (Debian 12: 6.1),
 * not a vmlinux.h dumped from the build host's kernel: the objects need no
 * CO-RE relocation and the same build loads on every kernel from 6.1 on.
 * What is newer than 6.1 is defined here under our own name and probed at
 * load time (compat.h).
 */
#ifndef RELAY_LIB_COMMON_H
#define RELAY_LIB_COMMON_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "relaybpf.h"

/*
 * The verdict of a TC program for a packet it hands on as it found it:
 * "no opinion" (TC_ACT_UNSPEC). The filters behind relaybpf's on the same
 * hook (an operator's counters, policers, other tools') then classify it as
 * if relaybpf were not there; with none behind, the kernel hands it on
 * exactly as TC_ACT_OK would. TC_ACT_OK itself ends classification: the
 * programs return it only for a packet they rewrote and give the stack to
 * route (translated to the backend, or from the public address), which no
 * filter written for the packet as it arrived should see, and which one
 * behind could drop or redirect halfway through a flow relaybpf recorded.
 * Redirects and drops are verdicts of their own.
 */
#define RELAY_TC_PASS TC_ACT_UNSPEC

/* linux/icmp.h includes glibc's sys/socket.h, which does not build for the
 * BPF target: the ICMP header (RFC 792) as the programs use it. */
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		__be32 gateway;
		struct {
			__be16 unused;
			__be16 mtu;
		} frag;
	} un;
};

#define AF_INET 2
#define AF_INET6 10

/* net/ip.h, kernel-internal. */
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF

#define IPV6_HLEN 40

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
 * The clock of the flow table (created, last_seen, in relay_ct_tick()
 * units of it: include/relaybpf.h RELAY_CT_TICK_SHIFT): the coarse
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

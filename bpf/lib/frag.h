/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * IPv4 fragments of relayed flows. The first fragment is relayed like any
 * packet (its L4 checksum covers the whole datagram, pseudo-header
 * included) and leaves its verdict under the datagram's IP id; the later
 * ones, which carry no ports, follow it with only their IP header
 * rewritten. A later fragment that arrives before the first has no verdict
 * and goes to the stack (counted pass_fragment).
 */
#ifndef RELAY_LIB_FRAG_H
#define RELAY_LIB_FRAG_H

#include "common.h"
#include "parse.h"
#include "front_maps.h"

static __always_inline void relay_frag_key(struct relay_frag_key *k, const struct relay_pkt *pkt)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = pkt->saddr;
	k->daddr = pkt->daddr;
	k->id = pkt->ip_id;
	k->proto = pkt->proto;
}

/* After relaying a first fragment: the rest get new_addr too. */
static __always_inline void relay_frag_remember(const struct relay_pkt *pkt, __be32 new_addr)
{
	struct relay_frag_key k;

	if (!pkt->first_frag)
		return;
	relay_frag_key(&k, pkt);
	bpf_map_update_elem(&relay_frags, &k, &new_addr, BPF_ANY);
}

/* The address a later fragment gets, or 0 if its datagram is not relayed. */
static __always_inline __be32 relay_frag_lookup(const struct relay_pkt *pkt)
{
	struct relay_frag_key k;
	__be32 *v;

	relay_frag_key(&k, pkt);
	v = bpf_map_lookup_elem(&relay_frags, &k);
	return v ? *v : 0;
}

#endif

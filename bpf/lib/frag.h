/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fragments of relayed flows, both families. The first fragment is relayed
 * like any packet (its L4 checksum covers the whole datagram, pseudo-header
 * included) and leaves its verdict under the datagram's IP id (IPv6: the
 * fragment header's identification); the later
 * ones, which carry no ports, follow it with only their IP header
 * rewritten. A later fragment that arrives before the first has no verdict
 * and goes to the stack (counted pass_fragment).
 */
#ifndef RELAY_LIB_FRAG_H
#define RELAY_LIB_FRAG_H

#include "common.h"
#include "parse.h"
#include "frag_key.h"
#include "front_maps.h"

/* After relaying a first fragment: the rest get new_addr too. */
static __always_inline void relay_frag_remember(const struct relay_pkt *pkt,
						const union relay_ip *new_addr)
{
	struct relay_frag_key k;

	if (!pkt->first_frag)
		return;
	relay_frag_key(&k, pkt);
	bpf_map_update_elem(&relay_frags, &k, new_addr, BPF_ANY);
}

/* The address a later fragment gets, or NULL if its datagram is not relayed. */
static __always_inline const union relay_ip *relay_frag_lookup(const struct relay_pkt *pkt)
{
	struct relay_frag_key k;

	relay_frag_key(&k, pkt);
	return bpf_map_lookup_elem(&relay_frags, &k);
}

#endif

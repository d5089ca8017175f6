/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fragments, both families. The first fragment is decided like any packet
 * (its L4 checksum covers the whole datagram, pseudo-header included) and
 * leaves its verdict under the datagram's IP id (IPv6: the fragment
 * header's identification); the later ones, which carry no ports, follow
 * it with only their IP header rewritten. A verdict is left for every first
 * fragment, the host's too, and is void after RELAY_FRAG_TIMEOUT_S: a
 * first fragment planted by anyone can only speak for its own datagram
 * (the next first fragment with that id replaces it) and not for long. A
 * later fragment without a verdict (it overtook its first, or the verdict
 * expired) goes to the stack (counted pass_fragment).
 */
#ifndef RELAY_LIB_FRAG_H
#define RELAY_LIB_FRAG_H

#include "common.h"
#include "parse.h"
#include "frag_key.h"
#include "front_maps.h"

/* A first fragment's verdict (nothing for an unfragmented packet); addr:
 * the address its later fragments get, NULL for RELAY_FRAG_HOST; id: the
 * flow's backend, whose next hop and counters they use. */
static __always_inline void relay_frag_remember(const struct relay_pkt *pkt, __u8 verdict,
						const union relay_ip *addr, __u16 id)
{
	struct relay_frag_value v = { .verdict = verdict, .backend_id = id };
	struct relay_frag_key k;

	if (!pkt->first_frag)
		return;
	if (addr)
		v.addr = *addr;
	v.expires_ns = relay_now() + RELAY_FRAG_TIMEOUT_S * 1000000000ULL;
	relay_frag_key(&k, pkt);
	bpf_map_update_elem(&relay_frags, &k, &v, BPF_ANY);
}

/* A later fragment's verdict, or NULL if none is in force. */
static __always_inline const struct relay_frag_value *relay_frag_lookup(const struct relay_pkt *pkt)
{
	const struct relay_frag_value *v;
	struct relay_frag_key k;

	relay_frag_key(&k, pkt);
	v = bpf_map_lookup_elem(&relay_frags, &k);
	if (!v || v->expires_ns < relay_now())
		return NULL;
	return v;
}

#endif

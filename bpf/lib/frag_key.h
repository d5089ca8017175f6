/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The key of a datagram's fragments (both families): only the first
 * fragment carries the ports, the others are known by the datagram's IP id
 * (IPv6: the fragment header's identification). The front's relay_frags
 * and the back's relay_back_frags use it.
 */
#ifndef RELAY_LIB_FRAG_KEY_H
#define RELAY_LIB_FRAG_KEY_H

#include "common.h"
#include "parse.h"

struct relay_frag_key {
	union relay_ip saddr;
	union relay_ip daddr;
	__be32 id;       /* IPv4: the 16-bit id; IPv6: the fragment header's */
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

static __always_inline void relay_frag_key(struct relay_frag_key *k, const struct relay_pkt *pkt)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = pkt->family;
	if (pkt->family == AF_INET6) {
		k->saddr = pkt->saddr;
		k->daddr = pkt->daddr;
	} else {
		k->saddr.v4 = pkt->saddr.v4;
		k->daddr.v4 = pkt->daddr.v4;
	}
	k->id = pkt->ip_id;
	k->proto = pkt->proto;
}

#endif

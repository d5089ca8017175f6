/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Which packets the front relays: its public addresses, the port lists
 * (service.h applies them), the underlay peer and VLANs. */
#ifndef RELAY_LIB_POLICY_H
#define RELAY_LIB_POLICY_H

#include "common.h"
#include "front_maps.h"
#include "parse.h"

/* The loader lists only the public addresses of a family it has a backend
 * for: the other family is never relayed. A front with one public address
 * of the family (the usual case) has it in the config too: one comparison
 * instead of a hash lookup per packet. A global function, as
 * relay_service_match (service.h), on a copy of the address. */
__noinline int relay_is_public_addr(const struct relay_front_config *cfg, __u8 family,
				    const union relay_ip *daddr)
{
	const union relay_ip *sole;
	struct relay_ip_key key = {};

	if (!cfg || !daddr)
		return 0;
	sole = relay_cfg_sole_public(cfg, family);
	if (!relay_ip_is_zero(family, sole))
		return relay_ip_eq(family, daddr, sole);
	key.family = family;
	if (family == AF_INET6)
		key.addr = *daddr;
	else
		key.addr.v4 = daddr->v4;
	return bpf_map_lookup_elem(&relay_front_pub, &key) != NULL;
}

static __always_inline int relay_is_public(const struct relay_front_config *cfg,
					   const struct relay_pkt *pkt)
{
	union relay_ip daddr = pkt->daddr;

	return relay_is_public_addr(cfg, pkt->family, &daddr);
}

static __always_inline int relay_port_in(const struct relay_port_range *ranges, __u8 n,
					 __u8 proto, __u16 port)
{
	for (int i = 0; i < RELAY_MAX_PORT_RANGES; i++) {
		if (i >= n)
			break;
		if (ranges[i].proto == proto && port >= ranges[i].first &&
		    port <= ranges[i].last)
			return 1;
	}
	return 0;
}

/* The protocol as the port lists name it: the family's ICMP is icmp for
 * both families, and the other family's ICMP number (an IPv6 next header
 * 1) is no protocol a list can name. */
static __always_inline __u8 relay_policy_proto(__u8 family, __u8 proto)
{
	if (proto == (family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP))
		return IPPROTO_ICMP;
	if (proto == IPPROTO_ICMP)
		return RELAY_PROTO_NONE;
	return proto;
}

/* Everything the tunnel's own underlay peer sends is the host's: its GRE
 * or IPIP packets have no socket the host-socket check would find, and its
 * ICMP errors about them are the host's to act on. */
static __always_inline int relay_from_underlay(const struct relay_front_config *cfg,
					       const struct relay_pkt *pkt)
{
	return cfg->underlay.family == pkt->family &&
	       relay_ip_eq(pkt->family, &cfg->underlay.addr, &pkt->saddr);
}

/* A frame of another VLAN than the public device's: the tag is in
 * skb->vlan_tci at TC ingress of the parent (the stack untags it before;
 * on the VLAN device itself it is gone). VLAN 0 is a priority tag of the
 * untagged network. Its replies would leave untagged: never relayed. */
static __always_inline int relay_other_vlan(const struct __sk_buff *skb)
{
	return skb->vlan_present && (skb->vlan_tci & 0x0fff);
}

#endif

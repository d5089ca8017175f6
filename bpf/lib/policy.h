/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Which packets the front relays: its public addresses and the port policy. */
#ifndef RELAY_LIB_POLICY_H
#define RELAY_LIB_POLICY_H

#include "common.h"
#include "front_maps.h"

/* The loader lists only the public addresses of a family it has a backend
 * for: the other family is never relayed. A front with one public address
 * of the family (the usual case) has it in the config too: one comparison
 * instead of a hash lookup per packet. A global function, as
 * relay_port_policy below, on a copy of the address. */
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

/*
 * RELAY_C_MAX when a client packet is relayed, else the counter saying why
 * not. Excluded ports always win over --ports. With --ports, only the
 * listed TCP/UDP ports are relayed: ICMP echo and other protocols then stay
 * with the front, as the operator named what to forward.
 * A global function: the verifier checks its two loops once, not once per
 * path of the caller that reaches them (the XDP program's paths multiplied
 * them past its limit). It takes scalars, not the caller's relay_pkt: the
 * verifier forgets what it knew of memory a global function may write.
 */
__noinline int relay_port_policy(const struct relay_front_config *cfg, __u8 proto, __be16 dport)
{
	__u16 port = bpf_ntohs(dport);

	if (!cfg)
		return RELAY_C_PASS_NOT_IN_PORTS;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return cfg->n_ports ? RELAY_C_PASS_NOT_IN_PORTS : RELAY_C_MAX;
	if (relay_port_in(cfg->exclude, cfg->n_exclude, proto, port))
		return RELAY_C_PASS_EXCLUDED;
	if (cfg->n_ports && !relay_port_in(cfg->ports, cfg->n_ports, proto, port))
		return RELAY_C_PASS_NOT_IN_PORTS;
	return RELAY_C_MAX;
}

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Connection tracking for the front: what the reverse translation needs. */
#ifndef RELAY_LIB_CT_H
#define RELAY_LIB_CT_H

#include "common.h"
#include "parse.h"
#include "front_maps.h"
#include "ct_key.h"

/*
 * RELAY_C_MAX when the packet can belong to a flow, else the counter saying
 * why not. echo_type is the ICMP echo type of the direction: a request from
 * the client, a reply from the backend; any other ICMP message is not a
 * flow of its own. Protocols without ports are tracked by address (ports 0).
 */
static __always_inline int relay_ct_trackable(const struct relay_pkt *pkt, __u8 echo_type)
{
	if (pkt->fragment)
		return RELAY_C_PASS_FRAGMENT;
	if (relay_pkt_is_icmp(pkt) && pkt->icmp_type != echo_type)
		return RELAY_C_PASS_ICMP;
	return RELAY_C_MAX;
}


/* The value's address is compared whole by userspace: IPv4 zero-fills. */
static __always_inline void relay_ct_set_public(struct relay_ct_value *ct, __u8 family,
						const union relay_ip *addr)
{
	if (family == AF_INET6)
		ct->public_ip = *addr;
	else
		ct->public_ip.v4 = addr->v4;
}

/* TCP state from the flags seen; enough to tell open from closing flows. */
static __always_inline void relay_ct_tcp_state(struct relay_ct_value *ct, __u8 flags,
					       enum relay_dir dir)
{
	if (flags & (RELAY_TCP_RST | RELAY_TCP_FIN))
		ct->tcp_state = RELAY_TCP_CLOSING;
	else if (dir == RELAY_DIR_ORIG && (flags & RELAY_TCP_SYN) && !(flags & RELAY_TCP_ACK))
		ct->tcp_state = RELAY_TCP_SYN_SENT;
	else if (dir == RELAY_DIR_REPLY && (flags & RELAY_TCP_SYN) && (flags & RELAY_TCP_ACK))
		ct->tcp_state = RELAY_TCP_ESTABLISHED;
}

/* now: relay_now(), read once per packet. */
static __always_inline void relay_ct_account(struct relay_ct_value *ct, const struct relay_pkt *pkt,
					     enum relay_dir dir, __u32 len, __u64 now)
{
	ct->last_seen_ns = now;
	/* Array index by a constant keeps the verifier happy. */
	if (dir == RELAY_DIR_ORIG) {
		__sync_fetch_and_add(&ct->packets[RELAY_DIR_ORIG], 1);
		__sync_fetch_and_add(&ct->bytes[RELAY_DIR_ORIG], len);
	} else {
		__sync_fetch_and_add(&ct->packets[RELAY_DIR_REPLY], 1);
		__sync_fetch_and_add(&ct->bytes[RELAY_DIR_REPLY], len);
	}
	if (pkt->proto == IPPROTO_TCP)
		relay_ct_tcp_state(ct, pkt->tcp_flags, dir);
}

/* An entry idle past its timeout is a dead flow (LRU only evicts when full).
 * Signed: a CPU may read the clock a tick behind the one that last wrote the
 * entry, and such an entry is seen "in the future", alive. */
static __always_inline int relay_ct_alive(const struct relay_ct_key *key,
					  const struct relay_ct_value *ct, __u64 now)
{
	if ((__s64)(now - ct->last_seen_ns) <=
	    (__s64)relay_ct_timeout_s(key, ct) * 1000000000LL)
		return 1;
	relay_count(RELAY_C_CT_EXPIRED, 1);
	return 0;
}

/* The flow of a client packet, or NULL if it has none (alive). */
static __always_inline struct relay_ct_value *relay_ct_orig(const struct relay_pkt *pkt, __u64 now)
{
	struct relay_ct_key key;
	struct relay_ct_value *ct;

	relay_ct_key_ip(&key, pkt->family, pkt->proto, &pkt->saddr, pkt->sport, pkt->dport);
	ct = bpf_map_lookup_elem(&relay_ct, &key);
	/* The same client flow to another public address is another flow. */
	if (ct && relay_ip_eq(pkt->family, &ct->public_ip, &pkt->daddr) &&
	    relay_ct_alive(&key, ct, now))
		return ct;
	return NULL;
}

/* Records a new client flow. NULL if the map refused the entry (it should
 * not: LRU evicts). */
static __always_inline struct relay_ct_value *relay_ct_create(const struct relay_pkt *pkt,
							       __u64 now)
{
	struct relay_ct_value fresh = {};
	struct relay_ct_key key;

	relay_ct_key_ip(&key, pkt->family, pkt->proto, &pkt->saddr, pkt->sport, pkt->dport);
	relay_ct_set_public(&fresh, pkt->family, &pkt->daddr);
	fresh.created_ns = now;
	if (bpf_map_update_elem(&relay_ct, &key, &fresh, BPF_ANY))
		return NULL;
	relay_count(RELAY_C_CT_NEW, 1);
	return bpf_map_lookup_elem(&relay_ct, &key);
}

/* The flow a backend reply belongs to, or NULL. */
static __always_inline struct relay_ct_value *relay_ct_reply(const struct relay_pkt *pkt,
							      __u64 now)
{
	struct relay_ct_key key;
	struct relay_ct_value *ct;

	relay_ct_key_ip(&key, pkt->family, pkt->proto, &pkt->daddr, pkt->dport, pkt->sport);
	ct = bpf_map_lookup_elem(&relay_ct, &key);
	if (ct && relay_ct_alive(&key, ct, now))
		return ct;
	return NULL;
}

/*
 * A reply with no flow, when the mapping is unambiguous (one public
 * address, one backend): the flow is recorded again from the reply, so an
 * evicted or expired entry never breaks an established flow. Not for the
 * backend's own traffic to the front, nor for a TCP SYN (the backend
 * opening a connection is no reply).
 */
static __always_inline struct relay_ct_value *
relay_ct_restore(const struct relay_front_config *cfg, const struct relay_pkt *pkt, __u64 now)
{
	const union relay_ip *sole = relay_cfg_sole_public(cfg, pkt->family);
	struct relay_ct_value fresh = {};
	struct relay_ct_key key;

	if (relay_ip_is_zero(pkt->family, sole) ||
	    relay_ip_eq(pkt->family, &pkt->daddr, relay_cfg_tunnel_ip(cfg, pkt->family)) ||
	    (pkt->tcp_flags & (RELAY_TCP_SYN | RELAY_TCP_ACK)) == RELAY_TCP_SYN)
		return NULL;
	relay_ct_key_ip(&key, pkt->family, pkt->proto, &pkt->daddr, pkt->dport, pkt->sport);
	relay_ct_set_public(&fresh, pkt->family, sole);
	fresh.created_ns = now;
	/* Replies flow: the peer answered, so the connection is up. */
	if (pkt->proto == IPPROTO_TCP)
		fresh.tcp_state = RELAY_TCP_ESTABLISHED;
	if (bpf_map_update_elem(&relay_ct, &key, &fresh, BPF_ANY))
		return NULL;
	relay_count(RELAY_C_RET_STATELESS, 1);
	return bpf_map_lookup_elem(&relay_ct, &key);
}

#endif

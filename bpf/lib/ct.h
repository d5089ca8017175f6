/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Connection tracking for the front: what the reverse translation needs. */
#ifndef RELAY_LIB_CT_H
#define RELAY_LIB_CT_H

#include "common.h"
#include "parse.h"
#include "front_maps.h"
#include "ct_key.h"
#include "policy.h"
#include "hop.h"
#include "service.h"

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

/*
 * TCP state from the flags seen, without sequence numbers (a window check
 * per packet is more than this relay needs). Nothing a client alone can
 * forge ends an established flow at once:
 * - NONE (picked up mid-stream: after an eviction, an expiry, a restart)
 *   and SYN_SENT become ESTABLISHED once both directions were seen, on a
 *   packet that is neither SYN nor RST: the flow is alive, and no longer
 *   dies after 300 s idle (netfilter also promotes a picked-up flow once
 *   the other side answers).
 * - RST: marked for its direction (tcp_seen), which shortens the timeout
 *   to CLOSING's; any later packet from the other side clears the mark.
 *   A real reset silences the other side (its stack drops the socket; one
 *   more in-flight segment draws another RST); the target of a forged one
 *   answers it with a challenge ACK (RFC 5961) and the flow lives on.
 * - FIN: CLOSING once both sides sent one; a half-closed flow is open.
 * - A client SYN starts a new connection (SYN_SENT) except on an
 *   ESTABLISHED flow nobody reset: there the backend answers it with a
 *   challenge ACK, and a client that really restarted resets the old
 *   connection first. The backend's SYN-ACK establishes.
 */
static __always_inline void relay_ct_tcp_state(struct relay_ct_value *ct, __u8 flags,
					       enum relay_dir dir)
{
	__u8 other_rst = dir == RELAY_DIR_ORIG ? RELAY_TCP_SEEN_RST(RELAY_DIR_REPLY) :
						 RELAY_TCP_SEEN_RST(RELAY_DIR_ORIG);
	const __u8 fins = RELAY_TCP_SEEN_FIN(RELAY_DIR_ORIG) | RELAY_TCP_SEEN_FIN(RELAY_DIR_REPLY);

	if (flags & RELAY_TCP_RST) {
		ct->tcp_seen |= dir == RELAY_DIR_ORIG ? RELAY_TCP_SEEN_RST(RELAY_DIR_ORIG) :
							RELAY_TCP_SEEN_RST(RELAY_DIR_REPLY);
		return;
	}
	/* Written only when set: the entry's line is shared by the CPUs. */
	if (ct->tcp_seen & other_rst)
		ct->tcp_seen &= ~other_rst;
	if (flags & RELAY_TCP_SYN) {
		if (dir == RELAY_DIR_REPLY) {
			if (flags & RELAY_TCP_ACK)
				ct->tcp_state = RELAY_TCP_ESTABLISHED;
		} else if (!(flags & RELAY_TCP_ACK) &&
			   (ct->tcp_state != RELAY_TCP_ESTABLISHED ||
			    (ct->tcp_seen & RELAY_TCP_SEEN_RST_ANY))) {
			ct->tcp_state = RELAY_TCP_SYN_SENT;
			ct->tcp_seen = 0;
		}
		return;
	}
	if (flags & RELAY_TCP_FIN)
		ct->tcp_seen |= dir == RELAY_DIR_ORIG ? RELAY_TCP_SEEN_FIN(RELAY_DIR_ORIG) :
							RELAY_TCP_SEEN_FIN(RELAY_DIR_REPLY);
	if ((ct->tcp_seen & fins) == fins)
		ct->tcp_state = RELAY_TCP_CLOSING;
	else if ((ct->tcp_state == RELAY_TCP_NONE || ct->tcp_state == RELAY_TCP_SYN_SENT) &&
		 ct->bytes[RELAY_DIR_ORIG] && ct->bytes[RELAY_DIR_REPLY])
		ct->tcp_state = RELAY_TCP_ESTABLISHED;
}

/*
 * now: relay_now(), read once per packet.
 * The counts are plain adds, not atomic ones: a direction of a flow is one
 * CPU's at a time (RSS hashes the flow), and the two atomic adds (locked
 * instructions) cost 6-9 ns hot per packet in each front program
 * (docs/bench.md, session 13; plain adds, nothing measurable). Two CPUs
 * adding at once may lose a count, never turn a count back to zero: each
 * stores a value it read plus at least one. What reads them needs no more: the
 * timeout (UDP replied: bytes[REPLY] != 0), the TCP pickup (both
 * directions' bytes != 0: packets are __u32 and may wrap to 0, bytes never
 * in practice) and `relaybpf conntrack`'s figures.
 */
static __always_inline void relay_ct_account(struct relay_ct_value *ct, const struct relay_pkt *pkt,
					     enum relay_dir dir, __u32 len, __u64 now)
{
	ct->last_seen = relay_ct_tick(now);
	/* Array index by a constant keeps the verifier happy. */
	if (dir == RELAY_DIR_ORIG) {
		ct->packets[RELAY_DIR_ORIG]++;
		ct->bytes[RELAY_DIR_ORIG] += len;
	} else {
		ct->packets[RELAY_DIR_REPLY]++;
		ct->bytes[RELAY_DIR_REPLY] += len;
	}
	if (pkt->proto == IPPROTO_TCP)
		relay_ct_tcp_state(ct, pkt->tcp_flags, dir);
}

/* An entry idle past its timeout is a dead flow (LRU only evicts when full).
 * In ticks (RELAY_CT_TICK_SHIFT), the timeout rounded up. Signed: a CPU may
 * read the clock a tick behind the one that last wrote the entry, and such
 * an entry is seen "in the future", alive. */
static __always_inline int relay_ct_alive(const struct relay_ct_key *key,
					  const struct relay_ct_value *ct, __u64 now)
{
	if ((__s32)(relay_ct_tick(now) - ct->last_seen) <=
	    (__s32)relay_ct_ticks_of_s(relay_ct_timeout_s(key, ct)))
		return 1;
	relay_count(RELAY_C_CT_EXPIRED, 1);
	return 0;
}

/* The live entry of key in map, for the flow to public (NULL: any). */
static __always_inline struct relay_ct_value *relay_ct_live(void *map,
							     const struct relay_ct_key *key,
							     const union relay_ip *public, __u64 now)
{
	struct relay_ct_value *ct = bpf_map_lookup_elem(map, key);

	if (ct && (!public || relay_ip_eq(key->family, &ct->public_ip, public)) &&
	    relay_ct_alive(key, ct, now))
		return ct;
	return NULL;
}

/*
 * Two tables, as netfilter's early drop protects assured flows: relay_ct
 * holds the flows that have seen a reply (--ct-max), relay_ct_new those
 * waiting for their first one (a quarter of it). A client packet creates
 * its flow in relay_ct_new only, so a flood of new flows (spoofed SYNs,
 * bare ACKs from anywhere) evicts only unreplied flows; the first reply
 * moves a flow to relay_ct. An established flow costs one lookup per
 * packet, as with one table; a packet of an unreplied flow, two.
 */
static __always_inline struct relay_ct_value *relay_ct_find(const struct relay_ct_key *key,
							     const union relay_ip *public, __u64 now)
{
	struct relay_ct_value *ct = relay_ct_live(&relay_ct, key, public, now);

	return ct ? ct : relay_ct_live(&relay_ct_new, key, public, now);
}

/* The flow of a client packet, or NULL if it has none (alive). The same
 * client flow to another public address is another flow. The TC program
 * and the XDP fast path (a one-way UDP stream is relayed there too). */
static __always_inline struct relay_ct_value *relay_ct_orig(const struct relay_pkt *pkt, __u64 now)
{
	struct relay_ct_key key;

	relay_ct_key_ip(&key, pkt->family, pkt->proto, &pkt->saddr, pkt->sport, pkt->dport);
	return relay_ct_find(&key, &pkt->daddr, now);
}

/* Whether a client packet may create its flow: not a TCP RST (it ends a
 * connection, never starts one: relayed, it records nothing). */
static __always_inline int relay_ct_may_create(const struct relay_pkt *pkt)
{
	return pkt->proto != IPPROTO_TCP || !(pkt->tcp_flags & RELAY_TCP_RST);
}

/* Records a new client flow, among the unreplied ones. NULL if the map
 * refused the entry (it should not: LRU evicts). */
static __always_inline struct relay_ct_value *relay_ct_create(const struct relay_pkt *pkt,
							       __u64 now)
{
	struct relay_ct_value fresh = {};
	struct relay_ct_key key;

	relay_ct_key_ip(&key, pkt->family, pkt->proto, &pkt->saddr, pkt->sport, pkt->dport);
	relay_ct_set_public(&fresh, pkt->family, &pkt->daddr);
	fresh.created = relay_ct_tick(now);
	if (bpf_map_update_elem(&relay_ct_new, &key, &fresh, BPF_ANY))
		return NULL;
	relay_count(RELAY_C_CT_NEW, 1);
	return bpf_map_lookup_elem(&relay_ct_new, &key);
}

/* The first reply of an unreplied flow: into the main table (a stale entry
 * of the key there, expired, is replaced). Once per flow. */
static __always_inline struct relay_ct_value *relay_ct_promote(const struct relay_ct_key *key,
								const struct relay_ct_value *ct)
{
	struct relay_ct_value moved = *ct;

	if (bpf_map_update_elem(&relay_ct, key, &moved, BPF_ANY))
		return NULL;
	bpf_map_delete_elem(&relay_ct_new, key);
	relay_count(RELAY_C_CT_REPLIED, 1);
	return bpf_map_lookup_elem(&relay_ct, key);
}

/* The flow of a backend reply whose client used service_port, or NULL;
 * ifindex: the tunnel device it came in by. */
static __always_inline struct relay_ct_value *
relay_ct_reply_port(const struct relay_front_config *cfg, const struct relay_pkt *pkt,
		    __be16 service_port, __u32 ifindex, __u64 now)
{
	struct relay_ct_key key;
	struct relay_ct_value *ct;

	relay_ct_key_ip(&key, pkt->family, pkt->proto, &pkt->daddr, pkt->dport, service_port);
	ct = relay_ct_live(&relay_ct, &key, NULL, now);
	if (ct)
		return relay_backend_is(cfg, ct->backend_id, pkt->family, &pkt->saddr, ifindex) ?
		       ct : NULL;
	ct = relay_ct_live(&relay_ct_new, &key, NULL, now);
	if (!ct || !relay_backend_is(cfg, ct->backend_id, pkt->family, &pkt->saddr, ifindex))
		return NULL;
	return relay_ct_promote(&key, ct);
}

/* The flow a backend reply belongs to, or NULL: by the service port
 * relay_rev_service_port found (*service_port), else (a default-service
 * flow to a port some translation also uses) by its source port itself,
 * which *service_port then says when found. */
static __always_inline struct relay_ct_value *relay_ct_reply(const struct relay_front_config *cfg,
							      const struct relay_pkt *pkt,
							      __be16 *service_port, __u32 ifindex,
							      __u64 now)
{
	struct relay_ct_value *ct = relay_ct_reply_port(cfg, pkt, *service_port, ifindex, now);

	if (ct || *service_port == pkt->sport)
		return ct;
	ct = relay_ct_reply_port(cfg, pkt, pkt->sport, ifindex, now);
	if (ct)
		*service_port = pkt->sport;
	return ct;
}

/* A unicast destination a client of a relayed flow can have: not
 * unspecified, loopback, multicast, reserved or broadcast (IPv4: 0/8,
 * 127/8, 224/3), nor IPv6 unspecified, multicast or link-local. A
 * subnet's broadcast address is not known here: the stack's to refuse. */
static __always_inline int relay_ip_unicast(__u8 family, const union relay_ip *a)
{
	__u8 first = a->v6[0];

	if (family != AF_INET6)
		return first && first != 127 && first < 224;
	return !relay_ip_is_zero(family, a) && first != 0xff &&
	       !(first == 0xfe && (a->v6[1] & 0xc0) == 0x80);
}

/*
 * RELAY_C_MAX when a packet from the tunnel with no flow is one a relayed
 * flow could have produced, else the counter saying why it is not: the
 * backend's own traffic (or another host's on the tunnel), which the front's
 * stack routes (or refuses) like any other host's. A reply comes from a
 * port a service relays (service_port: relay_rev_service_port's), to a
 * unicast address that is not the front's own address on the tunnel it came
 * in by (tun_ip, per family; ifindex: that device), and is TCP
 * other than a bare SYN (a SYN-ACK is the reply to a SYN whose unreplied
 * entry a flood evicted), UDP or an echo reply (the only ICMP that reaches
 * here: relay_ct_trackable); and its source is the backend the flow would
 * have, from the flow's port there, behind that device (sel: the flow's
 * selection, written):
 * one whose flow moved, or a drained backend's, cannot be told from another
 * host's. Other protocols are tracked by address only, a reply of theirs is
 * told by its flow alone.
 */
static __always_inline int relay_ct_reply_like(const struct relay_front_config *cfg,
					       const struct relay_pkt *pkt, __be16 service_port,
					       const union relay_ip *tun_ip, __u32 ifindex,
					       struct relay_svc_sel *sel)
{
	int svc;

	if (!relay_ip_unicast(pkt->family, &pkt->daddr) ||
	    relay_ip_eq(pkt->family, &pkt->daddr, &tun_ip[RELAY_FAMILY_IDX(pkt->family)]) ||
	    (pkt->proto == IPPROTO_TCP &&
	     (pkt->tcp_flags & (RELAY_TCP_SYN | RELAY_TCP_ACK)) == RELAY_TCP_SYN) ||
	    (pkt->proto != IPPROTO_TCP && pkt->proto != IPPROTO_UDP && !relay_pkt_is_icmp(pkt)))
		return RELAY_C_PASS_NO_FLOW;
	svc = relay_service_match(cfg, pkt->family, pkt->proto, service_port);
	if (svc < 0)
		return -svc;
	relay_svc_sel_init(sel, pkt->family, pkt->proto, &pkt->daddr, pkt->dport, service_port,
			   svc);
	if (relay_backend_select(cfg, sel) || !relay_ip_eq(pkt->family, &sel->addr, &pkt->saddr) ||
	    sel->backend_port != pkt->sport || sel->tunnel.ifindex != ifindex)
		return RELAY_C_PASS_NO_FLOW;
	return RELAY_C_MAX;
}

/*
 * A reply with no flow (relay_ct_reply_like), when the mapping is
 * unambiguous (one public address, the backend the flow would have): the
 * flow is recorded again from the reply, so an evicted or expired entry
 * never breaks an established flow. On an L2 tunnel only a frame from the
 * backend's own MAC (the next-hop cache's neighbour): on VXLAN anyone who
 * reaches the VXLAN port can put a frame on the tunnel. NULL when not
 * restored.
 */
static __always_inline struct relay_ct_value *
relay_ct_restore(struct __sk_buff *skb, const struct relay_front_config *cfg,
		 const struct relay_pkt *pkt, const struct relay_svc_sel *sel, __u64 now)
{
	const union relay_ip *sole = relay_cfg_sole_public(cfg, pkt->family);
	struct relay_ct_value fresh = {};
	struct relay_ct_key key;

	if (relay_ip_is_zero(pkt->family, sole) ||
	    (sel->tunnel.l2 &&
	     !relay_hop_from_neighbour(skb, &sel->tunnel, pkt->family, sel->id, &sel->addr, now)))
		return NULL;
	relay_ct_key_ip(&key, pkt->family, pkt->proto, &pkt->daddr, pkt->dport,
			sel->service_port);
	relay_ct_set_public(&fresh, pkt->family, sole);
	fresh.created = relay_ct_tick(now);
	fresh.backend_id = sel->id;
	fresh.backend_port = sel->backend_port;
	/* Replies flow: the peer answered, so the connection is up. */
	if (pkt->proto == IPPROTO_TCP)
		fresh.tcp_state = RELAY_TCP_ESTABLISHED;
	if (bpf_map_update_elem(&relay_ct, &key, &fresh, BPF_ANY))
		return NULL;
	relay_count(RELAY_C_RET_STATELESS, 1);
	return bpf_map_lookup_elem(&relay_ct, &key);
}

#endif

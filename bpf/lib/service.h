/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Services and backends (docs/services.md): which service a client packet's
 * port belongs to, and which of the service's backends its flow goes to.
 * Both are global functions: the verifier checks each once, not once per
 * path of the callers that reach them (the XDP program's paths multiplied
 * the port lists' loops past its limit). They take scalars or a copy on
 * the caller's stack (struct relay_svc_sel), never the caller's relay_pkt:
 * the verifier forgets what it knew of memory a global function may write.
 *
 * Per packet of an established flow: one lookup, of the flow's backend,
 * while the services are as they were when it was chosen
 * (relay_flow_backend); else one in the port map (TCP, UDP), one of the
 * service, one of the flow's backend; the Maglev row and the flow hash
 * only for a flow without a valid backend (new, moved).
 */
#ifndef RELAY_LIB_SERVICE_H
#define RELAY_LIB_SERVICE_H

#include "common.h"
#include "counters.h"
#include "front_maps.h"
#include "policy.h"

/* The selection's question (client side) and answer (backend side). */
struct relay_svc_sel {
	union relay_ip client;
	__be16 client_port;
	__be16 service_port;
	__u8 family;
	__u8 proto;
	__u8 service;        /* the index relay_service_match gave */
	/* 1: the flow's backend or none (XDP: moving a flow is TC's work). */
	__u8 keep_only;
	__u16 cur_id;        /* the flow's backend, 0: none */
	/* Out: the backend, its address, the flow's port there and its
	 * tunnel device. */
	__u16 id;
	union relay_ip addr;
	__be16 backend_port;
	__u8 pad[2];
	struct relay_tunnel tunnel;
};

static __always_inline __u32 relay_svc_gen(const struct relay_front_config *cfg)
{
	return cfg->svc_gen & 1;
}

/*
 * The service of a client packet to port (its destination port; ICMP echo:
 * the identifier): its index, or a negative counter saying why it is not
 * relayed. --exclude wins over everything; a named service's port
 * (relay_port_services, TCP and UDP only) is relayed whatever --ports
 * says; any other port is the default service's (index 0) when the policy
 * relays it: with --ports only what it lists (whole protocols as ranges
 * 0-65535, which the ICMP echo identifier and the ports 0 of a protocol
 * without ports fall in), without it TCP, UDP and ICMP echo (a GRE, IPIP,
 * ESP or L2TPv3 tunnel ending on a public address has no socket the
 * host-socket check could find, and would be hijacked by its first
 * packet). A service without a backend of the client's family (or the
 * default service with no backend at all) leaves the packet to the host;
 * one with backends of the family, none of them up, is still matched:
 * relay_backend_select keeps the flows of drained backends and tells the
 * others to be refused.
 */
__noinline int relay_service_match(const struct relay_front_config *cfg, __u8 family, __u8 proto,
				   __be16 port_be)
{
	const struct relay_port_services *ports;
	const struct relay_service *s;
	__u16 port = bpf_ntohs(port_be);
	__u8 pproto;
	__u32 key, idx = 0, index;

	if (!cfg)
		return -RELAY_C_PASS_NOT_IN_PORTS;
	pproto = relay_policy_proto(family, proto);
	if (relay_port_in(cfg->exclude, cfg->n_exclude, pproto, port))
		return -RELAY_C_PASS_EXCLUDED;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		key = RELAY_PORTS_KEY(relay_svc_gen(cfg),
				      proto == IPPROTO_UDP ? RELAY_SVC_UDP : RELAY_SVC_TCP);
		ports = bpf_map_lookup_elem(&relay_port_services, &key);
		/* 6.1's verifier leaves a byte swap's result unbounded: the
		 * index's bound again, out of clang's sight (it knows a u16). */
		index = port;
		asm volatile("" : "+r"(index));
		if (ports && index < sizeof(ports->service))
			idx = ports->service[index];
	}
	if (!idx) {
		if (cfg->n_ports && !relay_port_in(cfg->ports, cfg->n_ports, pproto, port))
			return -RELAY_C_PASS_NOT_IN_PORTS;
		if (!cfg->n_ports && pproto != IPPROTO_TCP && pproto != IPPROTO_UDP &&
		    pproto != IPPROTO_ICMP)
			return -RELAY_C_PASS_PROTO;
	}
	if (idx >= RELAY_SERVICE_SLOTS)
		return -RELAY_C_PASS_NO_BACKEND;
	key = RELAY_SERVICE_KEY(relay_svc_gen(cfg), idx);
	s = bpf_map_lookup_elem(&relay_services, &key);
	/* n_backends is 0 in an entry written by a build before it: n_up
	 * alone then says the family is configured. */
	if (!s || !s->defined ||
	    (!s->n_up[RELAY_FAMILY_IDX(family)] && !s->n_backends[RELAY_FAMILY_IDX(family)]))
		return -RELAY_C_PASS_NO_BACKEND;
	return idx;
}

/* The answer's backend: its id, address and tunnel device. */
static __always_inline void relay_sel_backend(const struct relay_front_config *cfg,
					      struct relay_svc_sel *sel, __u32 id,
					      const struct relay_backend *b)
{
	sel->id = id;
	sel->addr = b->addr;
	sel->tunnel = relay_backend_tunnel(cfg, b);
}

/*
 * The backend of a flow of service sel->service: the flow's own (cur_id)
 * while it has the flow's family, belongs to the service and is not DOWN
 * (a DRAINED one keeps its flows), else the service's Maglev row's for the
 * flow's hash (relay_flow_hash, the same in userspace). 0 with sel's out
 * fields written, else a negative counter: -RELAY_C_REFUSED when the
 * service has no backend of the family up (its row is empty) and the flow
 * none to keep, -RELAY_C_PASS_NO_BACKEND when there is none otherwise
 * (keep_only: or not the flow's).
 * The port there: translated for TCP and UDP (relay_backend_port), the
 * service port for anything else.
 */
__noinline int relay_backend_select(const struct relay_front_config *cfg,
				    struct relay_svc_sel *sel)
{
	const struct relay_maglev_row *row;
	const struct relay_service *s;
	const struct relay_backend *b;
	__u32 key, id, slot;

	if (!cfg || !sel)
		return -RELAY_C_PASS_NO_BACKEND;
	key = RELAY_SERVICE_KEY(relay_svc_gen(cfg), sel->service);
	s = bpf_map_lookup_elem(&relay_services, &key);
	if (!s)
		return -RELAY_C_PASS_NO_BACKEND;
	id = sel->cur_id;
	b = bpf_map_lookup_elem(&relay_backends, &id);
	if (!b || b->family != sel->family || b->service != sel->service ||
	    b->state == RELAY_BACKEND_DOWN) {
		if (sel->keep_only)
			return -RELAY_C_PASS_NO_BACKEND;
		if (!s->n_up[RELAY_FAMILY_IDX(sel->family)])
			return -RELAY_C_REFUSED;
		key = RELAY_MAGLEV_KEY(relay_svc_gen(cfg), sel->service,
				       RELAY_FAMILY_IDX(sel->family));
		row = bpf_map_lookup_elem(&relay_maglev, &key);
		if (!row)
			return -RELAY_C_PASS_NO_BACKEND;
		slot = relay_flow_hash(s->hash, &sel->client, sel->proto, sel->client_port,
				       sel->service_port) % RELAY_MAGLEV_SIZE;
		/* The verifier does not follow a modulo (a division, a
		 * product, a difference): the bound again, out of clang's
		 * sight. */
		asm volatile("" : "+r"(slot));
		if (slot >= RELAY_MAGLEV_SIZE)
			return -RELAY_C_PASS_NO_BACKEND;
		id = row->backend[slot];
		b = bpf_map_lookup_elem(&relay_backends, &id);
		if (!b || b->family != sel->family)
			return -RELAY_C_PASS_NO_BACKEND;
	}
	relay_sel_backend(cfg, sel, id, b);
	sel->backend_port = sel->service_port;
	if (sel->proto == IPPROTO_TCP || sel->proto == IPPROTO_UDP)
		sel->backend_port =
			bpf_htons(relay_backend_port(b, s, bpf_ntohs(sel->service_port)));
	return 0;
}

/*
 * The flow's backend and port as it recorded them, without a selection:
 * while the configuration's svc_epoch (epoch, read once per packet) is the
 * one the flow recorded with them, what chose them (the services, ports,
 * --exclude and --ports, each backend's port and service) is unchanged,
 * and the backend stays the flow's unless it went DOWN or was removed:
 * both are written after the commit (svc_release), so its entry is
 * checked per packet. sel's out fields written and 0, else -1: select.
 */
static __always_inline int relay_flow_backend(const struct relay_front_config *cfg, __u16 epoch,
					      const struct relay_ct_value *ct, __u8 family,
					      struct relay_svc_sel *sel)
{
	const struct relay_backend *b;
	__u32 id;

	if (!ct || !epoch || ct->svc_epoch != epoch)
		return -1;
	id = ct->backend_id;
	b = bpf_map_lookup_elem(&relay_backends, &id);
	if (!b || b->family != family || b->state == RELAY_BACKEND_DOWN)
		return -1;
	relay_sel_backend(cfg, sel, id, b);
	sel->backend_port = ct->backend_port;
	return 0;
}

/* The selection's question for a flow: client, ports, family, protocol. */
static __always_inline void relay_svc_sel_init(struct relay_svc_sel *sel, __u8 family, __u8 proto,
					       const union relay_ip *client, __be16 client_port,
					       __be16 service_port, __u32 service)
{
	__builtin_memset(sel, 0, sizeof(*sel));
	sel->client = *client;
	sel->client_port = client_port;
	sel->service_port = service_port;
	sel->family = family;
	sel->proto = proto;
	sel->service = service;
}

/*
 * The service port of a packet from a backend (src, sport): the port its
 * client used. A translated backend port has it in relay_rev_ports (looked
 * up only when the configuration says some backend translates); any other
 * is its own.
 */
static __always_inline __be16 relay_rev_service_port(const struct relay_front_config *cfg,
						     __u8 family, __u8 proto,
						     const union relay_ip *src, __be16 sport)
{
	struct relay_rev_port_key key = {};
	const __u16 *port;

	if (!cfg->rev_ports || (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
		return sport;
	key.family = family;
	key.proto = proto;
	key.port = sport;
	if (family == AF_INET6)
		key.addr = *src;
	else
		key.addr.v4 = src->v4;
	port = bpf_map_lookup_elem(&relay_rev_ports, &key);
	return port ? bpf_htons(*port) : sport;
}

/* The tunnel device a packet from the backends came in by, as the
 * configuration has it (relay_cfg_tunnel): where the configuration keeps
 * the front's own addresses on it, not a copy of them on the caller's
 * stack (kernel 6.1 limits a call chain's stacks to 512 bytes together,
 * docs/bench.md). */
struct relay_rev_tunnel {
	__u16 ip_off;  /* relay_cfg_tunnel_ip */
	__u8 l2;       /* it carries Ethernet */
	__u8 pad;
};

/*
 * The tunnel device ifindex (the one a packet came in by) into *t: 0, or
 * -1 when the front uses no such tunnel (a device a re-attach is adding or
 * removing, someone else's filter). A global function, so that its answer
 * is one unknown to the verifier, not one path per tunnel slot (the reply
 * program's paths multiplied past its limit).
 */
__noinline int relay_cfg_tunnel(const struct relay_front_config *cfg, __u32 ifindex,
				struct relay_rev_tunnel *t)
{
	if (!cfg || !t)
		return -1;
	if (ifindex == cfg->tunnel_ifindex) {
		t->l2 = cfg->tunnel_l2;
		t->ip_off = offsetof(struct relay_front_config, tunnel_ip);
		return 0;
	}
	for (int i = 0; i < RELAY_MAX_FRONT_TUNNELS - 1; i++) {
		const struct relay_front_tunnel *f = &cfg->tunnels[i];

		if (!f->ifindex)
			break;
		if (f->ifindex == ifindex) {
			t->l2 = f->l2;
			t->ip_off = offsetof(struct relay_front_config, tunnels) + i * sizeof(*f) +
				    offsetof(struct relay_front_tunnel, ip);
			return 0;
		}
	}
	return -1;
}

/* The front's own addresses (RELAY_FAMILY_IDX) on tunnel t; NULL only for
 * an offset relay_cfg_tunnel never gives, which the verifier cannot know. */
static __always_inline const union relay_ip *relay_cfg_tunnel_ip(const struct relay_front_config *cfg,
								 const struct relay_rev_tunnel *t)
{
	__u32 off = t->ip_off;

	if (off > sizeof(*cfg) - sizeof(cfg->tunnel_ip))
		return NULL;
	return (const void *)cfg + off;
}

/* Whether backend id is src behind the tunnel device ifindex (the one the
 * packet came in by): a packet from anyone else on the tunnel, or from the
 * backend's address on another tunnel, is not a reply of its flows (nor of
 * its datagrams' later fragments). */
static __always_inline int relay_backend_is(const struct relay_front_config *cfg, __u32 id,
					    __u8 family, const union relay_ip *src, __u32 ifindex)
{
	const struct relay_backend *b = bpf_map_lookup_elem(&relay_backends, &id);

	return b && b->family == family && relay_ip_eq(family, &b->addr, src) &&
	       relay_backend_tunnel(cfg, b).ifindex == ifindex;
}

/* Per backend, per CPU: what `stats` shows per backend and service. */
static __always_inline void relay_backend_count(__u32 id, enum relay_dir dir, __u32 len,
						int new_flow)
{
	struct relay_backend_stats *st = bpf_map_lookup_elem(&relay_backend_stats, &id);

	if (!st)
		return;
	/* Array index by a constant keeps the verifier happy. */
	if (dir == RELAY_DIR_ORIG) {
		st->packets[RELAY_DIR_ORIG]++;
		st->bytes[RELAY_DIR_ORIG] += len;
	} else {
		st->packets[RELAY_DIR_REPLY]++;
		st->bytes[RELAY_DIR_REPLY] += len;
	}
	if (new_flow)
		st->new_flows++;
}

/* The flow takes the selected backend, chosen at the configuration's
 * epoch (written only when something changes: the entry's line is shared
 * by the CPUs). 1 when the backend is new to the flow, counted
 * backend_reselected when the flow had another one. */
static __always_inline int relay_ct_set_backend(struct relay_ct_value *ct,
						const struct relay_svc_sel *sel, __u16 epoch)
{
	int moved = ct->backend_id != sel->id;

	if (!moved && ct->backend_port == sel->backend_port && ct->svc_epoch == epoch)
		return 0;
	if (moved && ct->backend_id)
		relay_count(RELAY_C_BACKEND_RESELECTED, 1);
	ct->backend_id = sel->id;
	ct->backend_port = sel->backend_port;
	ct->svc_epoch = epoch;
	return moved;
}

#endif

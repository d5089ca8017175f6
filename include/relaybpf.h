/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Types and constants shared by the BPF programs and the relaybpf loader.
 * Everything that crosses the kernel/user boundary is defined here, once.
 */
#ifndef RELAYBPF_H
#define RELAYBPF_H

#include <linux/types.h>

/* TC filters relaybpf installs carry this handle and priority, so that it
 * can find and remove exactly its own filters and never anybody else's. */
#define RELAY_TC_HANDLE 0x52b
#define RELAY_TC_PRIORITY 0x52b

#define RELAY_MAX_PORT_RANGES 16
#define RELAY_MAX_PUBLIC_ADDRS 64
#define RELAY_DEFAULT_CT_MAX 65536
/* --ct-max's least, per possible CPU: user/options.c says why. */
#define RELAY_CT_MIN_PER_CPU 256U
#define RELAY_RL_SOURCES 65536     /* --rate-limit buckets (LRU) */
#define RELAY_RL_MAX 10000000      /* --rate-limit rate and burst bound */
/* How long the XDP fast path trusts its cached tunnel MTU and neighbour. */
#define RELAY_HOP_REFRESH_NS (100ULL * 1000 * 1000)

/* Address of either family: IPv4 uses v4 (network order), the rest is 0. */
union relay_ip {
	__be32 v4;
	__u8 v6[16];
	__u32 v6w[4];
};

struct relay_ip_key {
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 pad[3];
	union relay_ip addr;
};

/* Protocol and port range in host byte order, inclusive. A whole
 * protocol (one without ports too: gre, esp...) is 0-65535. proto is
 * IPPROTO_ICMP for the packet family's ICMP (ICMPv6 too), and
 * RELAY_PROTO_NONE never matches a packet. */
#define RELAY_PROTO_NONE 255
struct relay_port_range {
	__u8 proto;
	__u8 pad;
	__u16 first;
	__u16 last;
};

/*
 * The values of pinned maps only ever grow at their end: an attach by a
 * newer build moves a pinned map's entries into its own map, zero-extended
 * (user/pin.c), so a field added at the end reads 0 in a moved entry and
 * must mean "unknown" or "off" there. The configurations go further: they
 * keep reserved bytes, from which a new field is carved, so their maps'
 * layout never changes at all (the asserts below hold the size); version
 * says which build's fields an entry was written with.
 */
#ifndef RELAY_CFG_VERSION /* a test's upgrade build sets a newer one (RELAY_DEFS) */
#define RELAY_CFG_VERSION 2
#endif

/* Tunnel devices a front's backends sit behind (each backend's is the
 * device of the route to it, or --tunnel-dev for all): each has
 * relay_front_rev, which must know whether it carries Ethernet. */
#define RELAY_MAX_FRONT_TUNNELS 4

/* A tunnel device after the first (relay_front_config.tunnels). */
struct relay_front_tunnel {
	__u32 ifindex;         /* 0: no such tunnel */
	__u8 l2;               /* 1: it carries Ethernet (veth, VXLAN) */
	__u8 pad[3];
	union relay_ip ip[2];  /* the front's own addresses on it, as tunnel_ip */
};

/* Front configuration: one entry of an array map, rewritten in place by
 * `attach`, so a changed option never needs the programs reloaded. Per
 * family fields are arrays indexed by RELAY_FAMILY_IDX; the backends are
 * in relay_backends (services above). */
struct relay_front_config {
	__u32 version;         /* RELAY_CFG_VERSION of the attach that wrote it */
	__u32 public_ifindex;
	/* The first tunnel device (the only one of a build before several;
	 * the others are in tunnels below). A backend says which is its own
	 * (relay_backend.tunnel_ifindex); one that does not (0: an entry of a
	 * build before several, or a test's) is behind this one. */
	__u32 tunnel_ifindex;
	__u8 tunnel_l2;        /* 1: the first tunnel carries Ethernet (veth, VXLAN) */
	__u8 svc_gen;          /* the generation of the service tables in use */
	/* 1: some backend translates ports (relay_rev_ports has entries):
	 * replies look their service port up there. */
	__u8 rev_ports;
	__u8 n_exclude;
	__u8 n_ports;          /* 0: every port is the default service's */
	__u8 pad0;
	/* Clamp SYN/SYN-ACK MSS to this, 0 = off. IPv6 headers are 20 bytes
	 * longer: MTU - 60. */
	__u16 mss[2];
	/* Counts the commits of the services (an attach, a change of backend
	 * state), never 0 once one wrote it (0: a configuration of a build
	 * before it). A flow records it with its backend (relay_ct_value
	 * .svc_epoch): while they are equal, what chose the backend is
	 * unchanged but for the backend's own state, which its packets still
	 * check. */
	__u16 svc_epoch;
	/* --rate-limit: packets per second and burst per client source,
	 * 0 = off. */
	__u32 rate_pps;
	__u32 rate_burst;
	/* Set when the front has exactly one public address of the family: a
	 * reply whose flow was evicted is still translated (to it),
	 * statelessly. All-zero: none or several. */
	union relay_ip sole_public[2];
	/* The front's own addresses on the first tunnel: the backend's
	 * traffic to them is never a reply to translate. */
	union relay_ip tunnel_ip[2];
	/* A tunnel's own underlay peer (GRE, IPIP, VXLAN... remote; family
	 * 0: none known): everything it sends is the host's, never relayed.
	 * One per front: attach refuses two tunnels with one each. */
	struct relay_ip_key underlay;
	struct relay_port_range exclude[RELAY_MAX_PORT_RANGES];
	struct relay_port_range ports[RELAY_MAX_PORT_RANGES];
	/* The tunnel devices after the first, in slot order (ifindex 0 ends
	 * them). */
	struct relay_front_tunnel tunnels[RELAY_MAX_FRONT_TUNNELS - 1];
	__u8 reserved[84];     /* for new fields: see RELAY_CFG_VERSION */
};
_Static_assert(sizeof(struct relay_front_config) == 512,
	       "a new front config field takes its bytes from reserved");

/*
 * Services and backends (docs/services.md). A service is a set of
 * (protocol, port range) of the public addresses; index 0 is the default
 * service (every port not excluded and not claimed by a named one, as
 * --ports allows), named services take 1..RELAY_MAX_SERVICES (an index
 * stays with its name across attaches). Every backend has a stable id
 * (1..RELAY_MAX_BACKENDS-1; 0: none), which the flow table and the Maglev
 * tables hold.
 *
 * The tables an attach rewrites come in two generations (relay_front_config
 * .svc_gen says which one the programs read): attach writes the other one
 * whole, then flips svc_gen with the config, so a packet sees either the old
 * set of services or the new one, never a mix. Backends are not
 * generational: an id keeps its meaning while any generation uses it, and a
 * removed backend's id is freed (family 0) only after the flip.
 */
#define RELAY_MAX_SERVICES 64          /* named ones; plus the default service, index 0 */
#define RELAY_MAX_SERVICE_BACKENDS 32  /* per service, both families together */
#define RELAY_MAX_BACKENDS 2048        /* ids 1..2047 */
/* Maglev lookup table size: a prime over 100 x RELAY_MAX_SERVICE_BACKENDS,
 * so that each backend's share is within about 1% of its weight's. */
#define RELAY_MAGLEV_SIZE 4093
#define RELAY_SERVICE_SLOTS (RELAY_MAX_SERVICES + 1)

/* Index of a family in per-family arrays: 0 IPv4, 1 IPv6. */
#define RELAY_FAMILY_IDX(family) ((family) == 10 /* AF_INET6 */)

/* relay_port_services' key: the protocol index, per generation. */
enum relay_svc_proto { RELAY_SVC_TCP = 0, RELAY_SVC_UDP = 1, RELAY_SVC_PROTOS = 2 };
#define RELAY_PORTS_KEY(gen, proto_idx) ((gen) * RELAY_SVC_PROTOS + (proto_idx))

/* Per protocol: the named service of each destination port (0: none, the
 * default service's if any). 64 KiB, one lookup per packet. */
struct relay_port_services {
	__u8 service[65536];
};

enum relay_hash {
	RELAY_HASH_5TUPLE = 0,  /* client address and port, protocol, service port */
	RELAY_HASH_SRC = 1,     /* the client address alone (hash=src) */
};

/* relay_services' key: RELAY_SERVICE_KEY(gen, index). */
#define RELAY_SERVICE_KEY(gen, idx) ((gen) * RELAY_SERVICE_SLOTS + (idx))
struct relay_service {
	__u8 defined;            /* 0: no such service in this generation */
	__u8 hash;               /* enum relay_hash */
	/* Backends with a Maglev row entry, per family (RELAY_FAMILY_IDX): 0:
	 * the family's clients of this service are not relayed. */
	__u8 n_up[2];
	/* Port translation: a backend with a port maps first_port to it and
	 * keeps the offset (host byte order). A service whose backends
	 * translate has one port range (userspace refuses more). */
	__u16 first_port;
	__u16 pad;
	/* --service NAME (NUL-padded; "" for the default service): attach
	 * keeps an index with its name, status and stats show it. */
	char name[16];
	/* Backends the service has, per family, whatever their state (up,
	 * drained, down; backups too): a family with some and n_up 0 has
	 * every one down or drained, and its new flows are refused (an ICMP
	 * unreachable or a TCP RST from the public address, rate-limited)
	 * rather than passed to the host; one with none is not relayed. */
	__u8 n_backends[2];
	__u8 pad2[6];
};

/* relay_maglev's key: one row per generation, service and family. */
#define RELAY_MAGLEV_KEY(gen, idx, fam_idx) \
	(((gen) * RELAY_SERVICE_SLOTS + (idx)) * 2 + (fam_idx))
#define RELAY_MAGLEV_ROWS (2 * RELAY_SERVICE_SLOTS * 2)
/* Slot i holds the backend id of the flows whose hash % RELAY_MAGLEV_SIZE
 * is i (user/maglev.c builds it; never 0 in a row whose n_up is not 0). */
struct relay_maglev_row {
	__u16 backend[RELAY_MAGLEV_SIZE];
};

enum relay_backend_state {
	RELAY_BACKEND_UP = 0,       /* in its service's Maglev rows (or a backup) */
	RELAY_BACKEND_DRAINED = 1,  /* weight 0 / drain: no new flows, keeps its flows */
	RELAY_BACKEND_DOWN = 2,     /* failed its health check: its flows move */
};

/* relay_backends' value, key: the backend id. */
struct relay_backend {
	union relay_ip addr;
	__u8 family;        /* 0: no backend has this id (a flow on it moves) */
	__u8 state;         /* enum relay_backend_state */
	__u16 service;      /* its service's index */
	__u16 port;         /* host byte order; 0: the client's port is kept */
	__u16 weight;       /* --backend's weight=, for status (the rows hold its share) */
	__u8 backup;        /* --backend's backup, for status */
	/* Its tunnel device (the route's to it, or --tunnel-dev) and whether
	 * it carries Ethernet: its flows are redirected into it, its replies
	 * accepted from it alone. 0: relay_front_config.tunnel_ifindex (and
	 * .tunnel_l2), as in an entry of a build before several tunnels. */
	__u8 tunnel_l2;
	/* Why userspace holds it out of the rows (RELAY_HOLD_*; the programs
	 * read state alone): kept here, pinned, so an attach again and a
	 * daemon restart keep an operator's drain and a failed health check. */
	__u8 hold;
	__u8 pad[1];
	__u32 tunnel_ifindex;
};
_Static_assert(sizeof(struct relay_backend) == 32,
	       "a new backend field takes its bytes from pad");

/* relay_backend.hold: state is DOWN with HOLD_DOWN, else DRAINED with
 * HOLD_DRAIN or weight 0, else UP (user/services.c, svc_backend_state). */
#define RELAY_HOLD_DRAIN 1  /* relaybpf backend drain: until undrain */
#define RELAY_HOLD_DOWN 2   /* failed its health checks, or its tunnel is down (daemon) */

/* The flow's destination port at the backend: the service port, or
 * translated (host byte order in, host byte order out). */
static inline __u16 relay_backend_port(const struct relay_backend *b,
				       const struct relay_service *s, __u16 service_port)
{
	return b->port ? (__u16)(b->port + (service_port - s->first_port)) : service_port;
}

/* relay_rev_ports: replies of translated backends, key (family, proto,
 * backend address (IPv4: .v4, the rest zero), backend port), value: the
 * service port the client used (__u16, host byte order). Only translated
 * ports have an entry (userspace refuses two services translating onto one
 * backend port). */
#define RELAY_MAX_REV_PORTS 65536
struct relay_rev_port_key {
	union relay_ip addr;
	__u8 family;
	__u8 proto;
	__be16 port;
};

/* Per backend id, per-CPU: what `stats` shows per backend (per service:
 * the sum of its backends'). Current flows are counted from the flow table. */
struct relay_backend_stats {
	__u64 packets[2];   /* enum relay_dir */
	__u64 bytes[2];
	__u64 new_flows;
};

/*
 * A stable hash of a client flow, for Maglev: the same function in the
 * programs and in userspace (tests, `relaybpf conntrack`), so every front
 * with the same configuration picks the same backend for a flow. Inputs in
 * network byte order as the packet carries them; words of the IPv4 address
 * beyond v4 are zero.
 */
static inline __u32 relay_hash_rot(__u32 x, int k)
{
	return (x << k) | (x >> (32 - k));
}

static inline __u32 relay_hash_mix(__u32 h, __u32 w)
{
	w *= 0xcc9e2d51U;
	w = relay_hash_rot(w, 15);
	w *= 0x1b873593U;
	h ^= w;
	h = relay_hash_rot(h, 13);
	return h * 5 + 0xe6546b64U;
}

static inline __u32 relay_flow_hash(__u8 hash, const union relay_ip *client, __u8 proto,
				    __be16 client_port, __be16 service_port)
{
	__u32 h = 0x52b;

	h = relay_hash_mix(h, client->v6w[0]);
	h = relay_hash_mix(h, client->v6w[1]);
	h = relay_hash_mix(h, client->v6w[2]);
	h = relay_hash_mix(h, client->v6w[3]);
	if (hash != RELAY_HASH_SRC) {
		h = relay_hash_mix(h, proto);
		h = relay_hash_mix(h, (__u32)client_port | ((__u32)service_port << 16));
	}
	/* fmix32's finalisation: every input bit reaches every output bit. */
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

#define RELAY_MAX_TUNNELS 16
#define RELAY_BACK_FLOWS_MAX 65536

/* Back configuration of one tunnel device (key: its ifindex), read by the
 * tunnel ingress program and by the egress fix-up. */
struct relay_back_config {
	__u32 mark;
	__u32 mask;
	/* The front's tunnel addresses, next hops on an L2 tunnel (0: none). */
	__be32 front;
	union relay_ip front6;
	__u8 tunnel_l2;  /* 1: the tunnel carries Ethernet (veth, VXLAN) */
	__u8 pad[3];
	__u32 version;   /* RELAY_CFG_VERSION of the attach that wrote it */
	__u8 reserved[28]; /* for new fields: see RELAY_CFG_VERSION */
};
_Static_assert(sizeof(struct relay_back_config) == 64,
	       "a new back config field takes its bytes from reserved");

/* A TCP or UDP flow that came in through a tunnel (key: struct
 * relay_ct_key, as the backend sees it), so a reply that did not inherit
 * the mark (UDP sent with sendto(), or forwarded on to a container) can be
 * sent back into that tunnel from the source the client talked to. */
struct relay_back_flow {
	__u32 tunnel_ifindex;
	union relay_ip local; /* the relayed packet's destination (key's family) */
	__u64 seen_ns;        /* relay_now() of its last packet, to within a second */
};

/* A flow idle for longer is forgotten: a spoofed packet "from" a server the
 * backend talks to is not remembered for ever. UDP as conntrack's replied
 * stream; TCP as an established connection (the back does not follow its
 * state, and a long idle SSH session must keep returning). */
#define RELAY_BACK_UDP_IDLE_S RELAY_CT_UDP_STREAM_S
#define RELAY_BACK_TCP_IDLE_S RELAY_CT_TCP_ESTABLISHED_S

/*
 * Conntrack key: the flow as the backend sees it. The client's address and
 * port are kept as they are and the service port is not translated, so the
 * same key is built from a client->front packet (source, destination port)
 * and from a backend->client reply (destination, source port).
 * ICMP echo uses the identifier as both ports.
 */
struct relay_ct_key {
	union relay_ip client;
	__be16 client_port;
	__be16 service_port;
	__u8 family;
	__u8 proto;
	__u8 pad[2];
};

enum relay_tcp_state {
	RELAY_TCP_NONE = 0,
	RELAY_TCP_SYN_SENT,
	RELAY_TCP_ESTABLISHED,
	RELAY_TCP_CLOSING,
};

/*
 * Conntrack timeouts, seconds: netfilter's defaults (nf_conntrack_*_timeout*)
 * for the states relaybpf tells apart. An entry idle for longer is dead:
 * the datapath ignores it, `conntrack` listings should too.
 */
#define RELAY_CT_TCP_SYN_SENT_S 120          /* tcp_timeout_syn_sent */
#define RELAY_CT_TCP_ESTABLISHED_S 432000    /* tcp_timeout_established, 5 days */
#define RELAY_CT_TCP_CLOSING_S 120           /* tcp_timeout_time_wait */
#define RELAY_CT_TCP_NONE_S 300              /* tcp_timeout_unacknowledged: picked up mid-flow,
						* until both directions are seen */
#define RELAY_CT_UDP_S 30                    /* udp_timeout: no reply seen yet */
#define RELAY_CT_UDP_STREAM_S 120            /* udp_timeout_stream: replied */
#define RELAY_CT_ICMP_S 30                   /* icmp_timeout */
#define RELAY_CT_GENERIC_S 600               /* generic_timeout */

enum relay_dir {
	RELAY_DIR_ORIG = 0,  /* client -> backend */
	RELAY_DIR_REPLY = 1, /* backend -> client */
};

/* relay_ct_value.tcp_seen: what a TCP flow showed beyond its state, per
 * direction (enum relay_dir). A FIN or RST is not checked against the
 * sequence space, so neither demotes a flow alone: a flow closes once both
 * sides sent a FIN, and an RST only shortens the timeout until the other
 * side answers (a reset endpoint stays silent; the survivor of a forged RST
 * answers with a challenge ACK, RFC 5961). */
#define RELAY_TCP_SEEN_FIN(dir) (1U << (dir))
#define RELAY_TCP_SEEN_RST(dir) (4U << (dir))
#define RELAY_TCP_SEEN_RST_ANY (RELAY_TCP_SEEN_RST(RELAY_DIR_ORIG) | \
				RELAY_TCP_SEEN_RST(RELAY_DIR_REPLY))

/*
 * The flow table's clock unit: relay_now() (CLOCK_MONOTONIC_COARSE, ns)
 * shifted right by RELAY_CT_TICK_SHIFT, 2^30 ns (~1.07 s) a tick, a shift
 * and no division per packet. Stamps are __u32 ticks, compared as __u32
 * differences (wrap-safe: 2^31 ticks are 73 years). A timeout in seconds
 * becomes ticks rounding up, and a flow is alive while it is idle no more
 * than that many ticks: as the stamps are floored to a tick, a flow never
 * expires before its timeout in seconds, and less than 3 ticks (3.2 s) after it.
 * bpf/ and user/ (conntrack's age and idle, the upgrade's recency) use
 * these alone.
 */
#define RELAY_CT_TICK_SHIFT 30

static inline __u32 relay_ct_tick(__u64 ns)
{
	return (__u32)(ns >> RELAY_CT_TICK_SHIFT);
}

static inline __u32 relay_ct_ticks_of_s(__u32 s)
{
	return (__u32)(((__u64)s * 1000000000ULL + (1ULL << RELAY_CT_TICK_SHIFT) - 1) >>
		       RELAY_CT_TICK_SHIFT);
}

/* Whole seconds in a number of ticks (user/: age and idle). */
static inline __u64 relay_ct_ticks_s(__u32 ticks)
{
	return ((__u64)ticks << RELAY_CT_TICK_SHIFT) / 1000000000ULL;
}

/*
 * A flow (relay_ct, relay_ct_new: LRU hashes). 56 bytes, so that a
 * preallocated element (the kernel's struct htab_elem header, 48 bytes on
 * 6.1 and 6.18 alike, the 24-byte key, the value: kernel/bpf/hashtab.c
 * elem_size, each rounded up to 8) is 128 bytes, two cache lines, each
 * element 128-byte aligned in the element array: a lookup touches two
 * lines, not three as with the 72-byte value of the builds before it
 * (144-byte elements; docs/bench.md "The flow entry in two lines").
 * Hence:
 * - packets are __u32 per direction: one direction of one flow wraps
 *   after 2^32 packets (what `relaybpf conntrack` shows, nothing else).
 *   Whether a direction was seen at all reads bytes[], which cannot wrap
 *   to 0 (every packet adds its length, at least a header's).
 * - created and last_seen are ticks (RELAY_CT_TICK_SHIFT), not ns.
 * The builds before this one pinned 72 bytes (user/pin.c converts their
 * entries at an upgrade). A change of size here must keep the element a
 * multiple of 64 bytes or say why.
 */
struct relay_ct_value {
	union relay_ip public_ip; /* the address the client talked to */
	__u64 bytes[2];           /* indexed by enum relay_dir */
	__u32 packets[2];         /* indexed by enum relay_dir; wraps (above) */
	__u32 created;            /* ticks: relay_ct_tick(relay_now()) */
	__u32 last_seen;          /* ticks */
	__u8 tcp_state;
	__u8 tcp_seen;            /* RELAY_TCP_SEEN_* */
	/* The flow's backend (0: not chosen yet, as in an entry moved from a
	 * build before services: chosen at its next packet) and its port
	 * there, network byte order. */
	__u16 backend_id;
	__be16 backend_port;
	/* relay_front_config.svc_epoch when the backend was chosen (0: never
	 * by a build that records it): the flow's packets skip the selection
	 * while it is the configuration's. */
	__u16 svc_epoch;
};
_Static_assert(sizeof(struct relay_ct_value) == 56,
	       "48-byte htab_elem + 24-byte key + 56 = 128: two cache lines per flow");

/*
 * Flows no reply was seen for yet live in a table of their own
 * (relay_ct_new), a quarter of --ct-max (at least 64): a flood of new
 * flows (spoofed SYNs) churns that table and never evicts a flow of the
 * main one, which only a first reply admits to.
 */
static inline __u32 relay_ct_new_max(__u32 ct_max)
{
	return ct_max / 4 > 64 ? ct_max / 4 : 64;
}

/*
 * Fragments: what became of a datagram's first fragment (the only one with
 * ports), which its later fragments follow. Every first fragment to a public
 * address leaves one, for RELAY_FRAG_TIMEOUT_S (the kernel's ipfrag_time:
 * a datagram not reassembled by then is dropped anyway).
 */
#define RELAY_FRAG_TIMEOUT_S 30

enum relay_frag_verdict {
	RELAY_FRAG_HOST = 0,  /* the front's own (or dropped): the stack reassembles it */
	RELAY_FRAG_RELAYED,   /* translated and redirected */
	RELAY_FRAG_STACK,     /* too big for the tunnel, no DF: translated, the stack
			       * forwards and fragments it, the later ones with it */
};

/* relay_frags' value; the key (BPF-only) is the datagram's (src, dst, IP id,
 * proto, family). */
struct relay_frag_value {
	union relay_ip addr;  /* the address to write (RELAYED, STACK) */
	__u64 expires_ns;     /* bpf_ktime_get_coarse_ns() after which it is void */
	__u8 verdict;         /* enum relay_frag_verdict */
	__u8 pad;
	__u16 backend_id;     /* the first fragment's backend (RELAYED, STACK) */
	__u8 pad2[4];
};

/* How long a flow in this state may stay idle, in seconds. */
static inline __u32 relay_ct_timeout_s(const struct relay_ct_key *key,
				       const struct relay_ct_value *ct)
{
	switch (key->proto) {
	case 6: /* TCP */
		/* An RST nobody contradicted yet: closing, whatever the state. */
		if (ct->tcp_seen & RELAY_TCP_SEEN_RST_ANY)
			return RELAY_CT_TCP_CLOSING_S;
		if (ct->tcp_state == RELAY_TCP_SYN_SENT)
			return RELAY_CT_TCP_SYN_SENT_S;
		if (ct->tcp_state == RELAY_TCP_ESTABLISHED)
			return RELAY_CT_TCP_ESTABLISHED_S;
		if (ct->tcp_state == RELAY_TCP_CLOSING)
			return RELAY_CT_TCP_CLOSING_S;
		return RELAY_CT_TCP_NONE_S;
	case 17: /* UDP */
		return ct->bytes[RELAY_DIR_REPLY] ? RELAY_CT_UDP_STREAM_S : RELAY_CT_UDP_S;
	case 1:  /* ICMP */
	case 58: /* ICMPv6 */
		return RELAY_CT_ICMP_S;
	default:
		return RELAY_CT_GENERIC_S;
	}
}

/*
 * Per-CPU counters, one array index each. The X-macro keeps the enum and
 * the names `relaybpf stats` prints in one list.
 */
#define RELAY_COUNTERS(X)                                                     \
	X(FWD_PACKETS, "forwarded_packets")                                   \
	X(FWD_BYTES, "forwarded_bytes")                                       \
	X(RET_PACKETS, "returned_packets")                                    \
	X(RET_BYTES, "returned_bytes")                                        \
	X(RET_STATELESS, "returned_without_flow")                             \
	X(ICMP_ERR_FWD, "icmp_errors_forwarded")                              \
	X(FRAG_FWD, "fragments_forwarded")                                    \
	X(XDP_FWD, "xdp_forwarded")                                           \
	X(FRAG_RET, "fragments_returned")                                     \
	X(ICMP_ERR_RET, "icmp_errors_returned")                               \
	X(CT_NEW, "conntrack_new")                                            \
	X(CT_EXPIRED, "conntrack_expired")                                    \
	X(PASS_NOT_IP, "pass_not_ip")                                         \
	X(PASS_NOT_PUBLIC, "pass_not_public")                                 \
	X(PASS_ICMP, "pass_icmp_not_echo")                                    \
	X(PASS_FRAGMENT, "pass_fragment")                                     \
	X(PASS_EXCLUDED, "pass_excluded")                                     \
	X(PASS_NOT_IN_PORTS, "pass_not_in_ports")                             \
	X(PASS_HOST_SOCKET, "pass_host_socket")                               \
	X(PASS_TTL, "pass_ttl_expiring")                                      \
	X(TOO_BIG_ICMP, "too_big_icmp_sent")                                  \
	X(TOO_BIG_STACK, "too_big_to_stack")                                  \
	X(TTL_ICMP, "ttl_exceeded_icmp_sent")                                 \
	X(ICMP_RATE_LIMITED, "icmp_rate_limited")                             \
	X(REPLY_TOO_BIG_DF, "reply_too_big_df_to_stack")                      \
	X(REPLY_TOO_BIG_STACK, "reply_too_big_to_stack")                      \
	X(PASS_NO_FLOW, "pass_no_flow")                                       \
	X(PASS_MALFORMED, "pass_malformed")                                   \
	X(MSS_CLAMPED, "mss_clamped")                                         \
	X(ERR_REWRITE, "error_rewrite")                                       \
	X(ERR_REDIRECT, "error_redirect")                                     \
	X(DROP_RATE_LIMIT, "dropped_rate_limit")                              \
	X(BACK_MARKED, "back_marked")                                         \
	X(BACK_FIXED, "back_fixed_egress")                                    \
	X(BACK_PASSED, "back_passed_egress")                                  \
	X(BACK_TOO_BIG, "back_dropped_too_big")                               \
	X(PASS_EXT_DEPTH, "pass_ipv6_ext_too_deep")                           \
	X(FWD6_PACKETS, "forwarded_ipv6_packets")                             \
	X(RET6_PACKETS, "returned_ipv6_packets")                              \
	X(PASS_PROTO, "pass_other_protocol")                                  \
	X(PASS_UNDERLAY, "pass_underlay_peer")                                \
	X(PASS_VLAN, "pass_vlan_tagged")                                      \
	X(PASS_ROUTING, "pass_ipv6_routing")                                  \
	X(CT_REPLIED, "conntrack_replied")                                    \
	X(DROP_REPLY_NO_FLOW, "dropped_reply_without_flow")                      \
	X(FRAG_STACK, "fragments_to_stack")                                  \
	X(PASS_NOT_LINEAR, "pass_headers_not_linear")                                  \
	X(BACK_PASS_CONNECTED, "back_passed_connected_socket")                \
	X(BACK_PASS_EXPIRED, "back_passed_flow_expired")                      \
	X(BACK_PASS_NOT_RELAYED, "back_passed_forwarded_not_relayed")         \
	X(BACK_TOO_BIG_ICMP, "back_too_big_icmp_to_stack")                    \
	X(BACK_FRAG_FIXED, "back_fixed_fragments")                                  \
	X(ICMP_SRC_RATE_LIMITED, "icmp_source_rate_limited")                  \
	X(PASS_NO_BACKEND, "pass_no_backend")                                 \
	X(BACKEND_RESELECTED, "backend_reselected")                           \
	X(BACK_MOVED, "back_moved_to_flow_tunnel")                            \
	X(BACK_DROP_NO_TUNNEL, "back_dropped_tunnel_gone")                    \
	X(REFUSED, "refused_no_live_backend")                                 \
	X(REFUSED_RATE_LIMITED, "refused_rate_limited")                       \
	X(DROP_NO_LIVE_BACKEND, "dropped_flow_no_live_backend")               \
	X(PASS_NOT_TUNNEL, "pass_not_tunnel_in_use")

/* A build's own counters after the list (tests build an upgrade with one
 * more: -D'RELAY_COUNTERS_EXTRA(X)=X(...)', Makefile's RELAY_DEFS). */
#ifndef RELAY_COUNTERS_EXTRA
#define RELAY_COUNTERS_EXTRA(X)
#endif

#define RELAY_COUNTER_ENUM(id, name) RELAY_C_##id,
enum relay_counter {
	RELAY_COUNTERS(RELAY_COUNTER_ENUM) RELAY_COUNTERS_EXTRA(RELAY_COUNTER_ENUM) RELAY_C_MAX
};
#undef RELAY_COUNTER_ENUM

/* The counters' slots: room for builds with more counters, so an upgrade
 * that adds one reuses the pinned map as it is (its counts go on). A power
 * of 2: relay_count masks a counter computed at run time into the value. */
#define RELAY_STATS_SLOTS 256
_Static_assert(RELAY_C_MAX <= RELAY_STATS_SLOTS, "RELAY_STATS_SLOTS: room for the counters");
_Static_assert((RELAY_STATS_SLOTS & (RELAY_STATS_SLOTS - 1)) == 0, "RELAY_STATS_SLOTS: a power of 2");

/*
 * relay_stats' one value (a per-CPU array of one entry): all the counters
 * of a CPU side by side, indexed by enum relay_counter. One entry per
 * counter, as before, was one per-CPU allocation per counter: each counter
 * a packet bumps cost a line of the map's pointer array and a line of its
 * own, and cold (caches flushed) relay_front_xdp's 3-4 counters cost 17 ns
 * (IPv4) / 34 ns (IPv6) per packet (docs/bench.md, "The XDP fast path's
 * cost"). Here one pointer and adjacent counters share lines. A pinned map
 * of the old layout (RELAY_STATS_SLOTS entries of one __u64) is converted
 * at an attach, its counts kept (user/pin.c, stats_fold).
 */
struct relay_stats_value {
	__u64 c[RELAY_STATS_SLOTS];
};

#endif /* RELAYBPF_H */

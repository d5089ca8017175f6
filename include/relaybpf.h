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
#define RELAY_CFG_VERSION 1
#endif

/* Front configuration: one entry of an array map, rewritten in place by
 * `attach`, so a changed option never needs the programs reloaded. */
struct relay_front_config {
	union relay_ip backend;  /* IPv4 (.v4); 0: IPv4 is not relayed */
	__u8 pad0;
	__u8 tunnel_l2;        /* 1: the tunnel carries Ethernet (veth, VXLAN) */
	__u16 mss;             /* clamp SYN/SYN-ACK MSS to this; 0 = off */
	__u32 public_ifindex;
	__u32 tunnel_ifindex;
	__u8 n_exclude;
	__u8 n_ports;          /* 0: every port is forwarded */
	__u8 pad[2];
	struct relay_port_range exclude[RELAY_MAX_PORT_RANGES];
	struct relay_port_range ports[RELAY_MAX_PORT_RANGES];
	/* Set when the front has exactly one public address: a reply whose
	 * flow was evicted is still translated (to it), statelessly. */
	union relay_ip sole_public;
	/* The front's own address on the tunnel: the backend's traffic to
	 * it is never a reply to translate. */
	union relay_ip tunnel_ip;
	/* --rate-limit: packets per second and burst per client source,
	 * 0 = off. */
	__u32 rate_pps;
	__u32 rate_burst;
	/* IPv6, the same roles; an all-zero backend6: IPv6 is not relayed.
	 * A family is only ever relayed to a backend of its own family. */
	union relay_ip backend6;
	union relay_ip sole_public6;
	union relay_ip tunnel_ip6;
	__u16 mss6;            /* IPv6 headers are 20 bytes longer: MTU - 60 */
	__u8 pad6[2];
	/* The tunnel's own underlay peer (GRE, IPIP, VXLAN... remote; family
	 * 0: none known): everything it sends is the host's, never relayed. */
	struct relay_ip_key underlay;
	__u32 version;         /* RELAY_CFG_VERSION of the attach that wrote it */
	__u8 reserved[44];     /* for new fields: see RELAY_CFG_VERSION */
};
_Static_assert(sizeof(struct relay_front_config) == 384,
	       "a new front config field takes its bytes from reserved");

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

struct relay_ct_value {
	union relay_ip public_ip; /* the address the client talked to */
	__u64 created_ns;
	__u64 last_seen_ns;
	__u64 packets[2];         /* indexed by enum relay_dir */
	__u64 bytes[2];
	__u8 tcp_state;
	__u8 tcp_seen;            /* RELAY_TCP_SEEN_* */
	__u8 pad[6];
};

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
	__u8 pad[7];
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
		return ct->packets[RELAY_DIR_REPLY] ? RELAY_CT_UDP_STREAM_S : RELAY_CT_UDP_S;
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
	X(BACK_MOVED, "back_moved_to_flow_tunnel")                            \
	X(BACK_DROP_NO_TUNNEL, "back_dropped_tunnel_gone")

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

/* The counters map's entries: room for builds with more counters, so an
 * upgrade that adds one reuses the pinned map as it is (its counts go on).
 * The map is per-CPU: 8 bytes an entry and CPU. */
#define RELAY_STATS_SLOTS 256
_Static_assert(RELAY_C_MAX <= RELAY_STATS_SLOTS, "RELAY_STATS_SLOTS: room for the counters");

#endif /* RELAYBPF_H */

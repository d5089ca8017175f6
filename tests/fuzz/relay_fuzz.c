// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness: arbitrary frames through relay_front_in, relay_front_rev,
 * relay_front_xdp and relay_back_in with BPF_PROG_TEST_RUN, and the
 * datapath's invariants
 * checked after every run (abort() on a violation, so libFuzzer saves the
 * input). The BPF programs are invisible to libFuzzer's coverage, so the
 * counters they bumped and their verdict are fed back as extra features.
 *
 * Input: byte 0 selects (see SEL_*), for relay_back_in 12 more bytes give
 * the skb mark, the configured mark and mask; the rest is the frame, which
 * starts with Ethernet (BPF_PROG_TEST_RUN of a TC program always does; with
 * an L3 tunnel relay_front_rev reads the IP header at offset 0).
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "front.h"
#include "back_tunnel.skel.h"
#include "packet.h"

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#define XDP_DROP 1
#define XDP_PASS 2
#define XDP_REDIRECT 4

/* Each family's addresses (struct family below): two public ones, the
 * backend (L2 or L3 tunnel) and the front's tunnel address. */
#define PUBLIC "203.0.113.1"
#define PUBLIC2 "203.0.113.2"
#define TUNNEL_IP "10.22.22.2"
#define BACKEND_L2 "10.22.22.1"
/* With an L3 tunnel the test run still derives skb->protocol from bytes 12-13
 * of the frame, which are the IP source: a backend 8.0.x.x makes them 0x0800,
 * and one 2001:db8:86dd:: (bytes 4-5 of the IPv6 source) 0x86dd. */
#define BACKEND_L3 "8.0.22.1"
#define PUBLIC6 "2001:db8::1"
#define PUBLIC6_2 "2001:db8::2"
#define TUNNEL_IP6 "2001:db8:22::2"
#define BACKEND6_L2 "2001:db8:22::1"
#define BACKEND6_L3 "2001:db8:86dd::1"
#define EXCLUDED_PORT 22
/* The tunnel's MTU: test runs check it against lo, in the harness's own
 * network namespace, so frames up to MAX_FRAME can be too big. */
#define TUNNEL_MTU 1000
#define MSS 1200
#define MSS6 1180 /* another value than IPv4's: a clamp must use its family's */

#define SEL_PROG 0x03   /* 0: relay_front_in; 1: relay_front_rev; 2: relay_back_in; 3: relay_front_xdp */
#define SEL_CSUM 0x04   /* recompute the checksums first, if the headers allow */
#define SEL_L3 0x08     /* front: the tunnel is an L3 device */
#define SEL_FLOW 0x10   /* create the flow the packet (an error: its quote) belongs to */
#define SEL_SOLE 0x20   /* config.sole_public(6) set: stateless reverse translation */
#define SEL_NOMSS 0x40  /* MSS clamping off */
#define SEL_RATE 0x80   /* --rate-limit 1/2: sources repeat, so most are over it */
#define BACK_HDR 12

#define MAX_FRAME 1600

static struct front_objs front;
static struct back_tunnel *back;
static int in_fd, rev_fd, xdp_fd, back_fd, cfg_fd, backends_fd, ct_fd, ct_new_fd, frags_fd, stats_fd, back_cfg_fd, ncpu;
static unsigned long long seen[RELAY_C_MAX];
static bool moved[RELAY_C_MAX]; /* the counters the last run bumped */
/* Test runs the kernel ran, per program (SEL_PROG) and family: printed at
 * exit, what "executions per program" counts. */
static unsigned long long runs[4][2];
/* RELAY_FUZZ_PROG=0..3: every input goes to that program, whatever its
 * SEL_PROG bits (-1: they select). The programs' shares of a run follow the
 * corpus (relay_back_in, with the fewest features, gets the least), so a
 * count of executions per program is reached by a run per program. */
static int forced_prog = -1;
static const char *const prog_names[4] = { "relay_front_in", "relay_front_rev", "relay_back_in",
					   "relay_front_xdp" };

/* The configuration of one family, indexed by struct model's v6. */
static struct family {
	uint8_t af;
	size_t alen;                 /* address bytes */
	union relay_ip public[2];    /* [1]: the one replies' flows get */
	union relay_ip backend[2];   /* [l3] */
	union relay_ip tunnel;
	uint16_t mss;
} fams[2];

/* Extra coverage for libFuzzer: [program][family][counter bumped, or verdict]. */
#define FEAT_PER_PROG (RELAY_C_MAX + 8)
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t features[4 * 2 * FEAT_PER_PROG];

#define check(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "invariant broken: %s: ", #cond);     \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			abort();                                              \
		}                                                             \
	} while (0)

static void die(const char *what)
{
	fprintf(stderr, "relay_fuzz: %s\n", what);
	exit(1);
}

static void set_lo_mtu(int mtu)
{
	struct ifreq ifr = { .ifr_mtu = mtu };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	strcpy(ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCSIFMTU, &ifr))
		die("cannot set lo's MTU");
	close(fd);
}

static void print_runs(void)
{
	for (int p = 0; p < 4; p++)
		fprintf(stderr, "relay_fuzz: %s: %llu test runs (IPv4 %llu, IPv6 %llu)\n",
			prog_names[p], runs[p][0] + runs[p][1], runs[p][0], runs[p][1]);
}

static void set_family(struct family *f, int af, const char *const addrs[6], uint16_t mss)
{
	union relay_ip *a[6] = { &f->public[0], &f->public[1], &f->backend[0], &f->backend[1],
				 &f->tunnel, NULL };
	struct relay_ip_key pub = { .family = (uint8_t)af };
	__u32 one = 1;

	f->af = (uint8_t)af;
	f->alen = af == AF_INET6 ? 16 : 4;
	f->mss = mss;
	for (int i = 0; a[i]; i++) {
		memset(a[i], 0, sizeof(*a[i]));
		if (inet_pton(af, addrs[i], a[i]) != 1)
			die("bad address");
	}
	for (int i = 0; i < 2; i++) {
		pub.addr = f->public[i];
		if (bpf_map_update_elem(bpf_map__fd(front.pub->maps.relay_front_pub), &pub, &one,
					BPF_ANY))
			die("cannot set a public address");
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const v4[6] = { PUBLIC, PUBLIC2, BACKEND_L2, BACKEND_L3, TUNNEL_IP };
	static const char *const v6[6] = { PUBLIC6, PUBLIC6_2, BACKEND6_L2, BACKEND6_L3, TUNNEL_IP6 };

	(void)argc;
	(void)argv;
	libbpf_set_print(NULL);
	/* No socket of the machine's answers the programs' socket lookups,
	 * and lo (the test runs' device) gets the tunnel's MTU. */
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET) (root?)");
	set_lo_mtu(TUNNEL_MTU);
	/* A small conntrack map: the fuzzer also exercises LRU eviction. */
	if (front_load(&front, NULL, 256, FRONT_ALL))
		die("cannot load the front programs (root? BTF?)");
	back = back_tunnel__open_and_load();
	if (!back)
		die("cannot load the back program");
	in_fd = bpf_program__fd(front.pub->progs.relay_front_in);
	rev_fd = bpf_program__fd(front.tun->progs.relay_front_rev);
	xdp_fd = bpf_program__fd(front.xdp->progs.relay_front_xdp);
	back_fd = bpf_program__fd(back->progs.relay_back_in);
	cfg_fd = bpf_map__fd(front.pub->maps.relay_front_cfg);
	backends_fd = bpf_map__fd(front.pub->maps.relay_backends);
	/* The default service, backend ids 1 (IPv4) and 2 (IPv6): each input
	 * rewrites their addresses (front_config). */
	if (front_default_service(&(struct front_svc_fds){
					  bpf_map__fd(front.pub->maps.relay_port_services),
					  bpf_map__fd(front.pub->maps.relay_services),
					  bpf_map__fd(front.pub->maps.relay_maglev), backends_fd },
				  &fams[0].backend[0], &fams[1].backend[0]))
		die("cannot write the default service");
	ct_fd = bpf_map__fd(front.pub->maps.relay_ct);
	ct_new_fd = bpf_map__fd(front.pub->maps.relay_ct_new);
	frags_fd = bpf_map__fd(front.pub->maps.relay_frags);
	if (bpf_map__key_size(front.pub->maps.relay_frags) != 40)
		die("relay_frags' key changed: update frag_verdict()");
	stats_fd = bpf_map__fd(front.pub->maps.relay_stats);
	back_cfg_fd = bpf_map__fd(back->maps.relay_back_cfg);
	ncpu = libbpf_num_possible_cpus();
	set_family(&fams[0], AF_INET, v4, MSS);
	set_family(&fams[1], AF_INET6, v6, MSS6);
	if (getenv("RELAY_FUZZ_PROG")) {
		forced_prog = atoi(getenv("RELAY_FUZZ_PROG"));
		if (forced_prog < 0 || forced_prog > 3)
			die("RELAY_FUZZ_PROG: 0 to 3");
	}
	atexit(print_runs);
	return 0;
}

static void front_config(uint8_t sel)
{
	bool l3 = sel & SEL_L3;
	struct relay_front_config cfg = { 0 };
	__u32 zero = 0;

	cfg.tunnel_l2 = !l3;
	cfg.public_ifindex = 1;
	cfg.tunnel_ifindex = 1;
	cfg.exclude[0] = (struct relay_port_range){ IPPROTO_TCP, 0, EXCLUDED_PORT, EXCLUDED_PORT };
	cfg.exclude[1] = (struct relay_port_range){ IPPROTO_UDP, 0, EXCLUDED_PORT, EXCLUDED_PORT };
	cfg.n_exclude = 2;
	cfg.mss[0] = sel & SEL_NOMSS ? 0 : MSS;
	cfg.mss[1] = sel & SEL_NOMSS ? 0 : MSS6;
	for (int f = 0; f < 2; f++) {
		struct relay_backend b = { .family = f ? AF_INET6 : AF_INET,
					   .addr = fams[f].backend[l3] };
		__u32 id = f + 1;

		if (sel & SEL_SOLE)
			cfg.sole_public[f] = fams[f].public[0];
		cfg.tunnel_ip[f] = fams[f].tunnel;
		if (bpf_map_update_elem(backends_fd, &id, &b, BPF_ANY))
			die("cannot set the backends");
	}
	cfg.rate_pps = sel & SEL_RATE ? 1 : 0;
	cfg.rate_burst = sel & SEL_RATE ? 2 : 0;
	if (bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY))
		die("cannot set the front config");
}

/*
 * The input as the datapath must read it (the reference model), either
 * family: lengths are checked against the IP total length (IPv6: 40 + the
 * payload length), never the frame, since bytes past it are link-layer
 * padding that no program may read as data or change. Offsets are from the
 * frame's start.
 */
struct model {
	bool ip;        /* a packet the front may relay (else the stack's to judge) */
	bool v6;        /* the family, by the IP version as the datapath tells it */
	bool later;     /* a fragment with an offset: no transport header */
	bool first;     /* a first fragment: offset 0, more fragments */
	bool ports;     /* TCP or UDP header present */
	bool echo;      /* ICMP(v6) echo request or reply */
	bool echo_req;
	bool error;     /* ICMP(v6) destination unreachable, (IPv6) packet too big, time
			 * exceeded, parameter problem */
	bool quote;     /* error: quotes an IP header and 8 bytes of its payload */
	bool syn;
	bool df;        /* IPv6: always (routers never fragment) */
	size_t l3, l4, end;      /* end: l3 + total length */
	size_t tot_len;
	size_t alen;             /* address bytes, 4 or 16 */
	size_t saddr, daddr, ttl_off;
	size_t id_off, id_len;   /* the datagram's id (IPv6: the fragment header's) */
	size_t l4_csum;          /* the checksum covering the addresses (TCP, UDP,
				  * ICMPv6), 0: none */
	uint8_t proto, ttl;
	size_t q_ip, q_l4;       /* the quoted packet's IP and L4 headers */
	size_t q_saddr, q_daddr;
	uint8_t q_proto;
	size_t q_l4_csum;        /* the quoted TCP/UDP/ICMPv6 checksum, 0: none in the quote */
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static const struct family *fam(const struct model *m)
{
	return &fams[m->v6];
}

/* The address of m's family at off, zero-filled as union relay_ip. */
static union relay_ip addr_at(const struct fixture *f, const struct model *m, size_t off)
{
	union relay_ip a;

	memset(&a, 0, sizeof(a));
	memcpy(&a, f->buf + off, m->alen);
	return a;
}

static bool ip_eq(union relay_ip a, union relay_ip b)
{
	return !memcmp(&a, &b, sizeof(a));
}

static bool ip_zero(union relay_ip a)
{
	static const union relay_ip zero;

	return ip_eq(a, zero);
}

/* For messages: up to 4 addresses per message. */
static const char *ntop(const struct model *m, union relay_ip a)
{
	static char buf[4][INET6_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(fam(m)->af, &a, buf[i], sizeof(buf[i]));
}

static uint8_t icmp_proto(const struct model *m)
{
	return m->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
}

/* IPv4 header (relay_parse_ipv4): false when the datapath must not relay it. */
static bool model_ip4(const uint8_t *b, size_t len, struct model *m)
{
	size_t ihl;

	if (len < m->l3 + 20 || b[m->l3] >> 4 != 4 || (b[m->l3] & 0xf) < 5)
		return false;
	ihl = (b[m->l3] & 0xf) * 4;
	m->tot_len = be16(b + m->l3 + 2);
	m->end = m->l3 + m->tot_len;
	if (m->l3 + ihl > len || m->tot_len < ihl || m->end > len)
		return false;
	m->alen = 4;
	m->saddr = m->l3 + 12;
	m->daddr = m->l3 + 16;
	m->ttl_off = m->l3 + 8;
	m->id_off = m->l3 + 4;
	m->id_len = 2;
	m->l4 = m->l3 + ihl;
	m->proto = b[m->l3 + 9];
	m->df = b[m->l3 + 6] & 0x40;
	m->later = (b[m->l3 + 6] & 0x1f) || b[m->l3 + 7];
	m->first = !m->later && (b[m->l3 + 6] & 0x20);
	return true;
}

static bool ext6(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51;
}

/* IPv6 header and extension headers (relay_parse_ipv6): up to 6 of them
 * (hop-by-hop, routing, fragment, destination options, AH), none past the
 * payload length; a routing header with segments left is not for us yet; a
 * fragment header with an offset ends the walk; an extension header still
 * after 6 is too deep. */
static bool model_ip6(const uint8_t *b, size_t len, struct model *m)
{
	size_t off = m->l3 + 40;
	uint8_t nh;

	if (len < m->l3 + 40 || b[m->l3] >> 4 != 6)
		return false;
	m->tot_len = 40 + be16(b + m->l3 + 4);
	m->end = m->l3 + m->tot_len;
	if (m->end > len)
		return false;
	m->v6 = m->df = true;
	m->alen = 16;
	m->saddr = m->l3 + 8;
	m->daddr = m->l3 + 24;
	m->ttl_off = m->l3 + 7;
	nh = b[m->l3 + 6];
	for (int i = 0; i < 6 && ext6(nh); i++) {
		uint8_t type = nh;

		if (off + 8 > m->end)
			return false;
		nh = b[off];
		if (type == 44) {
			m->id_off = off + 4;
			m->id_len = 4;
			m->later = be16(b + off + 2) & 0xfff8;
			m->first = (be16(b + off + 2) & 0xfff9) == 1;
			off += 8;
		} else if (type == 43 && b[off + 3]) {
			return false;
		} else if (type == 51) {
			off += (b[off + 1] + 2) * 4;
		} else {
			off += (b[off + 1] + 1) * 8;
		}
		if (m->later)
			break;
	}
	m->proto = nh;
	m->l4 = off;
	return m->later || (!ext6(nh) && off <= m->end);
}

/* An ICMP(v6) error's quote (relay_parse_icmp_inner): an IP header of the
 * error's family (IPv4: not a later fragment; IPv6: no extension header,
 * its outer headers at most 64 bytes of them), then 8 bytes of TCP, UDP or
 * an echo, all within the error's total length. */
static void model_quote(const uint8_t *b, struct model *m)
{
	size_t q_hlen;

	m->q_ip = m->l4 + 8;
	if (m->v6) {
		if (m->l4 > FIX_ETH_LEN + 40 + 64 || m->q_ip + 40 > m->end || b[m->q_ip] >> 4 != 6)
			return;
		q_hlen = 40;
		m->q_proto = b[m->q_ip + 6];
		m->q_saddr = m->q_ip + 8;
	} else {
		if (m->q_ip + 20 > m->end || b[m->q_ip] >> 4 != 4 || (b[m->q_ip] & 0xf) < 5 ||
		    (b[m->q_ip + 6] & 0x1f) || b[m->q_ip + 7])
			return;
		q_hlen = (b[m->q_ip] & 0xf) * 4;
		m->q_proto = b[m->q_ip + 9];
		m->q_saddr = m->q_ip + 12;
	}
	m->q_daddr = m->q_saddr + m->alen;
	m->q_l4 = m->q_ip + q_hlen;
	if (m->q_l4 + 8 > m->end)
		return;
	if (m->q_proto == IPPROTO_UDP)
		m->q_l4_csum = m->q_l4 + 6;
	else if (m->q_proto == IPPROTO_TCP && m->q_l4 + 18 <= m->end)
		m->q_l4_csum = m->q_l4 + 16;
	else if (m->q_proto == IPPROTO_ICMPV6 && m->v6 &&
		 (b[m->q_l4] == 128 || b[m->q_l4] == 129))
		m->q_l4_csum = m->q_l4 + 2;
	else if (m->q_proto != IPPROTO_TCP &&
		 !(m->q_proto == IPPROTO_ICMP && !m->v6 && (b[m->q_l4] == 0 || b[m->q_l4] == 8)))
		return;
	m->quote = true;
}

static struct model model(const struct fixture *f)
{
	const uint8_t *b = f->buf;
	struct model m = { .l3 = f->l3_off };
	size_t doff;

	if (f->len <= m.l3 || !(b[m.l3] >> 4 == 6 ? model_ip6(b, f->len, &m) :
						     model_ip4(b, f->len, &m)))
		return m;
	m.ttl = b[m.ttl_off];
	if (m.later) {
		m.ip = true;
		return m;
	}
	if (m.proto == IPPROTO_TCP) {
		if (m.l4 + 20 > m.end)
			return m;
		doff = (b[m.l4 + 12] >> 4) * 4;
		if (doff < 20 || m.l4 + doff > m.end)
			return m;
		m.ports = true;
		m.syn = b[m.l4 + 13] & 0x02;
		m.l4_csum = m.l4 + 16;
	} else if (m.proto == IPPROTO_UDP) {
		/* Over IPv6 a UDP checksum is mandatory: 0 is malformed. */
		if (m.l4 + 8 > m.end || (m.v6 && !be16(b + m.l4 + 6)))
			return m;
		m.ports = true;
		m.l4_csum = m.l4 + 6;
	} else if (m.proto == icmp_proto(&m)) {
		uint8_t t = b[m.l4];

		if (m.l4 + 8 > m.end)
			return m;
		m.echo_req = t == (m.v6 ? 128 : 8);
		m.echo = m.echo_req || t == (m.v6 ? 129 : 0);
		m.error = m.v6 ? t >= 1 && t <= 4 : t == 3 || t == 11 || t == 12;
		/* ICMPv6's checksum covers a pseudo-header, ICMP's does not. */
		m.l4_csum = m.v6 ? m.l4 + 2 : 0;
	}
	m.ip = true;
	if (m.error)
		model_quote(b, &m);
	return m;
}

/* One's complement sum of [from, to), 16-bit words from `from`. */
static uint32_t sum16(const uint8_t *b, size_t from, size_t to, uint32_t sum)
{
	for (size_t i = from; i + 1 < to; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if ((to - from) & 1)
		sum += (uint32_t)b[to - 1] << 8;
	return sum;
}

/* What a checksum over these bytes is off by (0: valid): an incremental
 * update keeps it, whatever the bytes it cannot see (a quote's cut
 * payload, the rest of a fragmented datagram). */
static uint32_t residue(uint32_t sum)
{
	return sum % 0xffff;
}

/* The residue of a checksum over [l4, end) with a pseudo-header whose
 * addresses (alen bytes each) start at addrs; its protocol and length are
 * the same before and after a translation, so they are left out. */
static uint32_t l4_residue(const struct fixture *f, const struct model *m, size_t addrs, size_t l4,
			   size_t end)
{
	return residue(sum16(f->buf, l4, end, sum16(f->buf, addrs, addrs + 2 * m->alen, 0)));
}

/* A checksum over [from, to) of in kept its residue in got. */
static bool same_residue(const struct fixture *in, const struct fixture *got, size_t from,
			 size_t to)
{
	return residue(sum16(in->buf, from, to, 0)) == residue(sum16(got->buf, from, to, 0));
}

/* A TCP/UDP/ICMPv6 checksum at csum, over [l4, m->end) and a pseudo-header
 * whose addresses are at addrs, kept its residue in got; a UDP checksum 0
 * (none, IPv4) stayed 0. */
static void check_l4_csum(const struct fixture *in, const struct fixture *got,
			  const struct model *m, size_t addrs, size_t l4, size_t csum, uint8_t proto,
			  const char *what)
{
	if (proto == IPPROTO_UDP && !be16(in->buf + csum))
		check(!be16(got->buf + csum), "%s: UDP checksum 0 (none) was set", what);
	else
		check(l4_residue(in, m, addrs, l4, m->end) == l4_residue(got, m, addrs, l4, m->end),
		      "%s checksum not updated consistently", what);
}

/* Offset from the TCP header of the MSS option the clamp must rewrite: the
 * first well-formed one (kind 2, length 4, within the header), reached by
 * walking NOPs and options of length >= 2; 0 if none. */
static size_t mss_option(const struct fixture *f, const struct model *m)
{
	const uint8_t *t = f->buf + m->l4;
	size_t off = 20, end = (t[12] >> 4) * 4;

	while (off < end && t[off] != 0) {
		if (t[off] == 1) {
			off++;
			continue;
		}
		if (off + 2 > end || t[off + 1] < 2)
			return 0;
		if (t[off] == 2 && t[off + 1] == 4)
			return off + 4 <= end ? off : 0;
		off += t[off + 1];
	}
	return 0;
}

/*
 * A translated packet. want: in with the address at addr_off (m->saddr or
 * m->daddr) replaced by addr, the TTL (hop limit) decremented (ttl_dec), a
 * SYN's MSS lowered to mss when above it, an ICMP error's quoted address
 * (m->q_saddr or m->q_daddr, 0: none) replaced too. out[i + shift] must
 * equal want[i] for every byte but the checksums, which must keep their
 * residue: valid stays valid, the quoted TCP/UDP checksum (whose datagram
 * is cut) is updated consistently. Nothing past the IP total length
 * changes.
 */
static void check_translated(const struct fixture *in, const struct model *m,
			     const struct fixture *out, long shift, size_t addr_off,
			     union relay_ip addr, bool ttl_dec, uint16_t mss, size_t q_addr_off)
{
	struct fixture want = *in, got;
	size_t skip[5], n = 0, from = shift < 0 ? (size_t)-shift : 0;
	size_t mss_off;

	check(m->ip, "translated a packet the model rejects (bad lengths)");
	check((long)out->len == (long)in->len + shift, "length %zu -> %zu, shift %ld", in->len,
	      out->len, shift);
	memcpy(want.buf + addr_off, &addr, m->alen);
	if (ttl_dec) {
		check(m->ttl > 1, "relayed a packet with TTL %u", m->ttl);
		want.buf[m->ttl_off]--;
	}
	if (!m->v6)
		skip[n++] = m->l3 + 10;
	if (m->l4_csum)
		skip[n++] = m->l4_csum;
	if (m->ports && m->proto == IPPROTO_TCP) {
		mss_off = m->syn && mss ? mss_option(in, m) : 0;
		if (mss_off && be16(in->buf + m->l4 + mss_off + 2) > mss) {
			want.buf[m->l4 + mss_off + 2] = mss >> 8;
			want.buf[m->l4 + mss_off + 3] = mss & 0xff;
		}
	}
	if (m->error && q_addr_off) {
		check(m->quote, "translated an ICMP error whose quote is not in the packet");
		memcpy(want.buf + q_addr_off, &addr, m->alen);
		if (!m->v6) {
			skip[n++] = m->l4 + 2;
			skip[n++] = m->q_ip + 10;
		}
		if (m->q_l4_csum)
			skip[n++] = m->q_l4_csum;
	}
	for (size_t i = from; i < in->len; i++) {
		bool csum = false;

		for (size_t k = 0; k < n; k++)
			csum |= i == skip[k] || i == skip[k] + 1;
		if (!csum && out->buf[i + shift] != want.buf[i])
			check(false, "byte %zu (IP +%ld): %#x, want %#x (input %#x)", i,
			      (long)i - (long)m->l3, out->buf[i + shift], want.buf[i], in->buf[i]);
	}
	/* The checksums, with the output in the input's coordinates. */
	got = *in;
	for (size_t i = from; i < in->len; i++)
		got.buf[i] = out->buf[i + shift];
	if (!m->v6)
		check(same_residue(in, &got, m->l3, m->l4), "IP checksum not updated consistently");
	if (m->l4_csum)
		check_l4_csum(in, &got, m, m->saddr, m->l4, m->l4_csum, m->proto, "L4");
	if (!m->error || !q_addr_off)
		return;
	if (!m->v6) {
		check(same_residue(in, &got, m->l4, m->end), "ICMP checksum not updated consistently");
		check(same_residue(in, &got, m->q_ip, m->q_l4),
		      "quoted IP checksum not updated consistently");
	}
	if (m->q_l4_csum)
		check_l4_csum(in, &got, m, m->q_saddr, m->q_l4, m->q_l4_csum, m->q_proto, "quoted L4");
}

/*
 * An ICMP(v6) error the front generated in place for a client's packet
 * (time exceeded, or fragmentation needed / packet too big with the MTU):
 * Ethernet addresses swapped, a fresh IP header from the public address
 * the packet was sent to, to its source, with valid checksums (ICMPv6's
 * over its pseudo-header), quoting the packet as received (TTL included):
 * its IP header(s) and 8 bytes, over IPv6 at most 108 bytes.
 */
static void check_generated(const struct fixture *in, const struct model *m,
			    const struct fixture *out, bool ttl, uint16_t mtu)
{
	size_t hdr = m->l4 - m->l3 + 8, q = m->v6 && hdr > 108 ? 108 : hdr;
	size_t ip = FIX_ETH_LEN, icmp = ip + (m->v6 ? 40 : 20), alen = m->alen;
	size_t src = ip + (m->v6 ? 8 : 12), dst = src + alen;
	const uint8_t *o = out->buf;
	uint8_t type = m->v6 ? (ttl ? 3 : 2) : (ttl ? 11 : 3), code = !m->v6 && !ttl ? 4 : 0;
	uint32_t sum;

	check(m->l3 == FIX_ETH_LEN && m->tot_len >= hdr, "generated an error without a quote");
	check(out->len == icmp + 8 + q, "error length %zu, quote %zu", out->len, q);
	check(!memcmp(o, in->buf + 6, 6) && !memcmp(o + 6, in->buf, 6) &&
		      !memcmp(o + 12, in->buf + 12, 2), "error's Ethernet header");
	if (m->v6)
		check(o[ip] == 0x60 && !o[ip + 1] && !be16(o + ip + 2) && be16(o + ip + 4) == 8 + q &&
			      o[ip + 6] == IPPROTO_ICMPV6 && o[ip + 7] > 1,
		      "error's IPv6 header");
	else
		check(o[ip] == 0x45 && o[ip + 1] == 0 && be16(o + ip + 2) == 28 + q &&
			      !be16(o + ip + 6) && o[ip + 9] == IPPROTO_ICMP && o[ip + 8] > 1 &&
			      residue(sum16(o, ip, icmp, 0)) == 0,
		      "error's IP header");
	check(!memcmp(o + src, in->buf + m->daddr, alen), "error not from the public address");
	check(!memcmp(o + dst, in->buf + m->saddr, alen), "error not to the packet's source");
	check(o[icmp] == type && o[icmp + 1] == code &&
		      !be16(o + icmp + 4) && be16(o + icmp + 6) == mtu,
	      "error type %u code %u mtu %u", o[icmp], o[icmp + 1], be16(o + icmp + 6));
	sum = sum16(o, icmp, out->len, 0);
	if (m->v6)
		sum = sum16(o, src, dst + alen, sum) + (uint32_t)(out->len - icmp) + IPPROTO_ICMPV6;
	check(residue(sum) == 0, "error's ICMP checksum");
	check(!memcmp(o + icmp + 8, in->buf + m->l3, q), "error's quote");
}

static void check_untouched(const struct fixture *in, const struct fixture *out, const char *why)
{
	check(out->len == in->len && !memcmp(in->buf, out->buf, in->len), "%s", why);
}

/* The verdict, or RUN_REFUSED when the kernel refuses the frame:
 * BPF_PROG_TEST_RUN wants a full IPv4 (IPv6) header after an IPv4 (IPv6)
 * ethertype. Not -1: that is TC_ACT_UNSPEC, a verdict. */
#define RUN_REFUSED INT_MIN
static int run(int fd, const struct fixture *in, struct fixture *out, struct __sk_buff *ctx)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->buf, .data_size_in = in->len,
		    .data_out = out->buf, .data_size_out = sizeof(out->buf), .repeat = 1);

	if (ctx) {
		opts.ctx_in = ctx;
		opts.ctx_size_in = sizeof(*ctx);
		opts.ctx_out = ctx;
		opts.ctx_size_out = sizeof(*ctx);
	}
	memset(out->buf, 0, in->len + FIX_ETH_LEN);
	if (bpf_prog_test_run_opts(fd, &opts)) {
		if (errno == EINVAL)
			return RUN_REFUSED;
		die(strerror(errno));
	}
	out->len = opts.data_size_out;
	out->l3_off = in->l3_off;
	return (int)opts.retval;
}

/* A verdict's feature slot: its low bits, TC_ACT_UNSPEC in the slot no
 * program's verdict uses (TC_ACT_PIPE, XDP_TX). */
static int verdict_feature(int ret)
{
	return ret == TC_ACT_UNSPEC ? 3 : ret & 7;
}

/* Turns the counters the run bumped and its verdict into features (per
 * program and family), and records which counters moved (moved[]). */
static void record(int prog, bool v6, int ret)
{
	static struct relay_stats_value vals[64];
	uint8_t *feat = features + (prog * 2 + v6) * FEAT_PER_PROG;
	__u32 zero = 0;

	feat[RELAY_C_MAX + verdict_feature(ret)] = 1;
	runs[prog][v6]++;
	memset(moved, 0, sizeof(moved));
	if (ncpu > 64)
		die("more than 64 CPUs");
	if (bpf_map_lookup_elem(stats_fd, &zero, vals))
		die("cannot read the counters");
	for (__u32 k = 0; k < RELAY_C_MAX; k++) {
		unsigned long long sum = 0;

		for (int c = 0; c < ncpu; c++)
			sum += vals[c].c[k];
		if (sum != seen[k])
			feat[k] = moved[k] = 1;
		seen[k] = sum;
	}
}

/* The counters of what left for the tunnel (fwd: relay_front_in, XDP) or
 * for the client (relay_front_rev) move together and with the verdict, and
 * the IPv6 one only for IPv6: a packet relayed is counted once on its side,
 * of its family. */
static void check_counters(const struct model *m, bool redirected, enum relay_counter packets,
			   enum relay_counter bytes, enum relay_counter packets6)
{
	check(moved[packets] == moved[bytes], "%s and its bytes counter disagree",
	      packets == RELAY_C_RET_PACKETS ? "returned" : "forwarded");
	check(!moved[packets] || redirected, "counted as relayed, not redirected");
	check(moved[packets6] == (moved[packets] && m->v6), "IPv6 counter %d, family IPv%d, relayed %d",
	      moved[packets6], m->v6 ? 6 : 4, moved[packets]);
	/* A test run's skb is linear, never partial nor GSO: no helper may
	 * fail on it half-way through a rewrite. */
	check(!moved[RELAY_C_ERR_REWRITE] && !moved[RELAY_C_ERR_REDIRECT], "a rewrite failed");
}

static bool is_public(const struct model *m, union relay_ip a)
{
	return ip_eq(a, fam(m)->public[0]) || ip_eq(a, fam(m)->public[1]);
}

/* The datapath's public set exactly (relay_is_public_addr): the sole
 * public address alone when one is configured. */
static bool is_public_now(const struct model *m, union relay_ip a, uint8_t sel)
{
	return sel & SEL_SOLE ? ip_eq(a, fam(m)->public[0]) : is_public(m, a);
}

static struct relay_ct_key ct_key(const struct model *m, uint8_t proto, union relay_ip client,
				  const uint8_t *cport, const uint8_t *sport)
{
	struct relay_ct_key key = { .family = fam(m)->af, .proto = proto, .client = client };

	memcpy(&key.client_port, cport, 2);
	memcpy(&key.service_port, sport, 2);
	return key;
}

/* Ports of the transport header at off (an echo's identifier for both). */
static const uint8_t *port(const struct fixture *f, const struct model *m, uint8_t proto,
			   size_t off, int which)
{
	return f->buf + off + (proto == icmp_proto(m) ? 4 : which * 2);
}

/* The public address of a flow (zero: none), created first if asked to. */
static union relay_ip flow(struct relay_ct_key key, union relay_ip public, bool add)
{
	struct relay_ct_value ct = { 0 };
	union relay_ip found = { 0 };
	struct timespec now;

	if (add) {
		/* bpf_ktime_get_ns() is CLOCK_MONOTONIC: a live flow. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		ct.public_ip = public;
		/* On the default service's backend of its family (ids 1 and 2,
		 * front_config), at the service port. */
		ct.backend_id = key.family == AF_INET6 ? 2 : 1;
		ct.backend_port = key.service_port;
		ct.last_seen = relay_ct_tick((uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec);
		bpf_map_update_elem(ct_fd, &key, &ct, BPF_ANY);
	}
	/* As relay_ct_find: the replied table's flow to this public address,
	 * else the unreplied table's (XDP looks in both). */
	if (!bpf_map_lookup_elem(ct_fd, &key, &ct))
		found = ct.public_ip;
	if (!ip_eq(found, public) && !bpf_map_lookup_elem(ct_new_fd, &key, &ct))
		found = ct.public_ip;
	return found;
}

/* The verdict in force for the later fragments of in's datagram (its
 * address in *addr), or -1 when there is none or it expired. The key is
 * bpf/lib/frag_key.h's struct relay_frag_key (BPF-only): source and
 * destination (union relay_ip, 16 bytes each, IPv4 zero past the first 4),
 * the id in a 32-bit field (IPv4's 16 bits as the parser reads them),
 * protocol (a later IPv6 fragment's: its fragment header's next header),
 * family, padding. */
static int frag_verdict(const struct fixture *in, const struct model *m, union relay_ip *addr)
{
	uint8_t k[40] = { 0 };
	struct relay_frag_value v;
	struct timespec now;

	memcpy(k, in->buf + m->saddr, m->alen);
	memcpy(k + 16, in->buf + m->daddr, m->alen);
	memcpy(k + 32, in->buf + m->id_off, m->id_len);
	k[36] = m->proto;
	k[37] = fam(m)->af;
	memset(addr, 0, sizeof(*addr));
	if (bpf_map_lookup_elem(frags_fd, k, &v))
		return -1;
	/* bpf_ktime_get_coarse_ns() is CLOCK_MONOTONIC_COARSE. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (v.expires_ns < (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec)
		return -1;
	*addr = v.addr;
	return v.verdict;
}

static bool excluded(const struct fixture *in, const struct model *m)
{
	return m->ports && be16(in->buf + m->l4 + 2) == EXCLUDED_PORT;
}

/* A packet dropped by --rate-limit must be one the front would relay:
 * the limiter on, for a public address, past the port policy, a later
 * fragment only of a datagram not the host's, no ICMP error nor another
 * ICMP than an echo request. */
static void check_rate_limited(const struct fixture *in, const struct model *m, uint8_t sel,
			       bool public, int frag)
{
	check(sel & SEL_RATE, "rate-limit drop with the limiter off");
	check(public && m->ip && !m->error && (!m->later || frag > RELAY_FRAG_HOST),
	      "rate-limited a packet not relayed");
	check(!excluded(in, m), "rate-limited an excluded port");
	/* A later fragment has no ICMP header: its first one was checked. */
	check(m->later || m->proto != icmp_proto(m) || m->echo_req,
	      "rate-limited an ICMP packet that is not an echo request");
}

/* An Ethernet frame of either IP ethertype: the front's parser goes by the
 * IP version after either (relay_parse_eth, relay_parse_ip). */
static bool eth_ip(const struct fixture *in)
{
	uint16_t type = be16(in->buf + 12);

	return type == 0x0800 || type == 0x86dd;
}

static void fuzz_front_in(const struct fixture *in, uint8_t sel)
{
	struct model m = model(in);
	const struct family *f = fam(&m);
	struct fixture out;
	bool l3 = sel & SEL_L3;
	bool public = eth_ip(in) && m.ip && is_public(&m, addr_at(in, &m, m.daddr));
	bool own = m.ip && !m.later && !m.error; /* neither a fragment's tail nor an error */
	union relay_ip backend = f->backend[l3], fa;
	/* A later fragment follows its first: to the backend its verdict
	 * recorded, the config of then (the harness switches backends between
	 * runs), into the tunnel or to the stack (its first went there, or it
	 * is too big without DF) alike. */
	int frag = m.ip && m.later ? frag_verdict(in, &m, &fa) : -1;
	/* Too big for the tunnel: the stack fragments it, or ICMP with DF. */
	bool too_big = (own || frag == RELAY_FRAG_RELAYED) && m.tot_len > TUNNEL_MTU;
	int ret;

	if (frag == RELAY_FRAG_RELAYED || frag == RELAY_FRAG_STACK)
		backend = fa;
	/* A client's (or a router's) error about a reply the front relayed:
	 * that flow. */
	if (public && m.quote && (sel & SEL_FLOW) && is_public(&m, addr_at(in, &m, m.q_saddr)))
		flow(ct_key(&m, m.q_proto, addr_at(in, &m, m.q_daddr),
			    port(in, &m, m.q_proto, m.q_l4, 1), port(in, &m, m.q_proto, m.q_l4, 0)),
		     addr_at(in, &m, m.q_saddr), true);
	ret = run(in_fd, in, &out, NULL);
	if (ret == RUN_REFUSED)
		return;
	record(0, m.v6, ret);
	check(ret == TC_ACT_UNSPEC || ret == TC_ACT_OK || ret == TC_ACT_REDIRECT ||
	      ret == TC_ACT_SHOT, "verdict %d", ret);
	check_counters(&m, ret == TC_ACT_REDIRECT, RELAY_C_FWD_PACKETS, RELAY_C_FWD_BYTES,
		       RELAY_C_FWD6_PACKETS);
	if (moved[RELAY_C_DROP_RATE_LIMIT]) {
		check(ret == TC_ACT_SHOT, "rate-limited, verdict %d", ret);
		check_rate_limited(in, &m, sel, public, frag);
	}
	if (!public)
		check_untouched(in, &out, "a packet not IP to a public address (or that the model "
				       "rejects) was modified");
	if (public && excluded(in, &m))
		check_untouched(in, &out, "an excluded port was rewritten");
	/* No opinion: the packet goes on as it came. */
	if (ret == TC_ACT_UNSPEC)
		check_untouched(in, &out, "a packet passed on (TC_ACT_UNSPEC) was modified");
	if (ret == TC_ACT_OK) {
		/* Too big without DF: translated, the stack fragments and routes
		 * it; the later fragments of such a datagram go with it. */
		check(public && ((too_big && !m.df) || frag == RELAY_FRAG_STACK),
		      "TC_ACT_OK for a packet not translated for the stack");
		check_translated(in, &m, &out, 0, m.daddr, backend, false, 0, 0);
	}
	/* An error about a reply of a live flow goes to the backend, whoever
	 * sent it (a router on the client's path too). */
	if (public && m.quote && (sel & SEL_FLOW) && m.ttl > 1 &&
	    is_public_now(&m, addr_at(in, &m, m.daddr), sel) &&
	    ip_eq(addr_at(in, &m, m.q_saddr), addr_at(in, &m, m.daddr)))
		check(ret == TC_ACT_REDIRECT, "error about a live flow not relayed, verdict %d", ret);
	if (ret != TC_ACT_REDIRECT)
		return;
	check(public, "redirected a packet not for a public address");
	/* Out of the public device (an error the front owes the client), or
	 * into the tunnel (counted forwarded): never both, never neither. */
	if (own && m.ttl <= 1) {
		check(moved[RELAY_C_TTL_ICMP] && !moved[RELAY_C_FWD_PACKETS],
		      "time exceeded not counted as such");
		check_generated(in, &m, &out, true, 0);
	} else if (too_big && m.df) {
		check(moved[RELAY_C_TOO_BIG_ICMP] && !moved[RELAY_C_FWD_PACKETS],
		      "too big not counted as such");
		check_generated(in, &m, &out, false, TUNNEL_MTU);
	} else {
		check(moved[RELAY_C_FWD_PACKETS], "relayed, not counted forwarded");
		check(!moved[RELAY_C_FRAG_FWD] || m.later, "counted a fragment");
		check(!moved[RELAY_C_ICMP_ERR_FWD] || m.error, "counted an error");
		check_translated(in, &m, &out, 0, m.daddr, backend, true,
				 sel & SEL_NOMSS ? 0 : f->mss, m.error ? m.q_saddr : 0);
	}
}

static void fuzz_front_rev(const struct fixture *in, uint8_t sel)
{
	struct model m = model(in);
	const struct family *f = fam(&m);
	struct fixture out;
	bool l3 = sel & SEL_L3, add = sel & SEL_FLOW;
	bool from_backend = m.ip && ip_eq(addr_at(in, &m, m.saddr), f->backend[l3]);
	union relay_ip public = { 0 }, got, sole = f->public[0];
	static const uint8_t zero[2];
	size_t shift = l3 ? FIX_ETH_LEN : 0;
	int ret;

	/* The flow a reply (an error: its quote) belongs to. */
	if (from_backend && m.later) {
		if (frag_verdict(in, &m, &public) != RELAY_FRAG_RELAYED)
			memset(&public, 0, sizeof(public));
	} else if (from_backend && m.quote)
		public = flow(ct_key(&m, m.q_proto, addr_at(in, &m, m.q_saddr),
				     port(in, &m, m.q_proto, m.q_l4, 0),
				     port(in, &m, m.q_proto, m.q_l4, 1)),
			      f->public[1], add);
	else if (from_backend && (m.ports || m.echo))
		public = flow(ct_key(&m, m.proto, addr_at(in, &m, m.daddr),
				     port(in, &m, m.proto, m.l4, 1), port(in, &m, m.proto, m.l4, 0)),
			      f->public[1], add);
	else if (from_backend && m.ip && m.proto != icmp_proto(&m)) /* tracked by address */
		public = flow(ct_key(&m, m.proto, addr_at(in, &m, m.daddr), zero, zero),
			      f->public[1], add);
	ret = run(rev_fd, in, &out, NULL);
	if (ret == RUN_REFUSED)
		return;
	record(1, m.v6, ret);
	check(ret == TC_ACT_UNSPEC || ret == TC_ACT_OK || ret == TC_ACT_REDIRECT ||
	      ret == TC_ACT_SHOT, "verdict %d", ret);
	check_counters(&m, ret == TC_ACT_REDIRECT, RELAY_C_RET_PACKETS, RELAY_C_RET_BYTES,
		       RELAY_C_RET6_PACKETS);
	check(!moved[RELAY_C_FRAG_RET] || (from_backend && m.later), "counted a fragment");
	check(!moved[RELAY_C_ICMP_ERR_RET] || (from_backend && m.error), "counted an error");
	if (!from_backend)
		check_untouched(in, &out, "translated a packet not from the backend");
	if (ret == TC_ACT_UNSPEC)
		check_untouched(in, &out, "a packet passed on (TC_ACT_UNSPEC) was modified");
	/* A reply of the live flow just created is relayed, unless it is too
	 * big for the public device or its TTL expires. */
	if (from_backend && add && (l3 || eth_ip(in)) && !m.later && !m.error &&
	    (m.ports || (m.echo && !m.echo_req)) && m.ttl > 1 && m.tot_len <= TUNNEL_MTU)
		check(ret == TC_ACT_REDIRECT, "reply of a live flow not relayed, verdict %d", ret);
	if (ret == TC_ACT_OK) {
		/* Too big for the public device without DF: translated, the
		 * stack fragments it. */
		got = addr_at(&out, &m, m.saddr);
		check(from_backend && !m.error && !m.df && m.tot_len > TUNNEL_MTU,
		      "TC_ACT_OK for a reply not translated for the stack");
		check(ip_eq(got, public) || (ip_eq(got, sole) && (sel & SEL_SOLE)),
		      "reply to the stack translated to %s, flow %s", ntop(&m, got),
		      ntop(&m, public));
		check_translated(in, &m, &out, 0, m.saddr, got, false, 0, 0);
	}
	if (ret != TC_ACT_REDIRECT)
		return;
	check(moved[RELAY_C_RET_PACKETS], "redirected, not counted returned");
	/* The flow's address, or (its entry gone or expired) the sole one:
	 * never the backend's, never an address of the other family. */
	check(out.len >= m.saddr + shift + m.alen, "reply cut to %zu bytes", out.len);
	got = addr_at(&out, &m, m.saddr + shift);
	check(!ip_zero(got) && (ip_eq(got, public) ||
				(!m.later && ip_eq(got, sole) && (sel & SEL_SOLE))),
	      "reply translated to %s, flow %s", ntop(&m, got), ntop(&m, public));
	check(!m.error || (m.quote && ip_eq(addr_at(in, &m, m.q_daddr), f->backend[l3])),
	      "translated an error not about a packet sent to the backend");
	check_translated(in, &m, &out, (long)shift, m.saddr, got, true,
			 sel & SEL_NOMSS ? 0 : f->mss, m.error ? m.q_daddr : 0);
}

static void fuzz_front_xdp(const struct fixture *in, uint8_t sel)
{
	struct model m = model(in);
	const struct family *f = fam(&m);
	struct fixture out;
	bool l3 = sel & SEL_L3;
	union relay_ip daddr = addr_at(in, &m, m.daddr), fl = { 0 };
	bool public = eth_ip(in) && m.ip && is_public(&m, daddr);
	int ret;

	if (public && (m.ports || m.echo))
		fl = flow(ct_key(&m, m.proto, addr_at(in, &m, m.saddr), port(in, &m, m.proto, m.l4, 0),
				 port(in, &m, m.proto, m.l4, 1)), daddr, sel & SEL_FLOW);
	ret = run(xdp_fd, in, &out, NULL);
	if (ret == RUN_REFUSED)
		return;
	record(3, m.v6, ret);
	check(ret == XDP_PASS || ret == XDP_REDIRECT ||
		      (ret == XDP_DROP && moved[RELAY_C_DROP_RATE_LIMIT]), "verdict %d", ret);
	check(!moved[RELAY_C_DROP_RATE_LIMIT] || ret == XDP_DROP, "rate-limited, verdict %d", ret);
	check_counters(&m, ret == XDP_REDIRECT, RELAY_C_FWD_PACKETS, RELAY_C_FWD_BYTES,
		       RELAY_C_FWD6_PACKETS);
	check(moved[RELAY_C_XDP_FWD] == (ret == XDP_REDIRECT), "xdp_forwarded %d, verdict %d",
	      moved[RELAY_C_XDP_FWD], ret);
	if (ret == XDP_PASS || ret == XDP_DROP) {
		check_untouched(in, &out, "a packet passed to TC or dropped was modified");
		if (ret == XDP_PASS)
			return;
		check_rate_limited(in, &m, sel, public, -1);
	}
	/* Only the plain packets of established flows: the rest is TC's. */
	check(public && !m.later && (m.ports || m.echo_req),
	      "fast path for a packet that is not a plain one for a public address");
	check(!m.first, "fast path for a first fragment (its verdict is TC's)");
	check(!excluded(in, &m), "an excluded port was rewritten");
	check(ip_eq(fl, daddr), "fast path without a flow");
	check(!m.syn, "fast path for a SYN (its MSS is TC's)");
	check(m.tot_len <= TUNNEL_MTU, "fast path for a packet too big for the tunnel");
	if (ret == XDP_DROP)
		return;
	/* An L3 tunnel takes the IP packet alone; an L2 one gets the
	 * neighbour's addresses (not compared). */
	if (l3)
		check_translated(in, &m, &out, -FIX_ETH_LEN, m.daddr, f->backend[l3], true, 0, 0);
	else {
		memcpy(out.buf, in->buf, 12);
		check_translated(in, &m, &out, 0, m.daddr, f->backend[l3], true, 0, 0);
	}
}

static void fuzz_back_in(const struct fixture *in, const uint8_t *hdr)
{
	struct relay_back_config cfg = { 0 };
	struct __sk_buff ctx = { 0 };
	struct fixture out;
	__u32 tunnel = 1, want; /* the config is per tunnel; test_run's skb is on lo */
	int ret;

	memcpy(&ctx.mark, hdr, 4);
	memcpy(&cfg.mark, hdr + 4, 4);
	memcpy(&cfg.mask, hdr + 8, 4);
	if (bpf_map_update_elem(back_cfg_fd, &tunnel, &cfg, BPF_ANY))
		die("cannot set the back config");
	want = cfg.mask ? (ctx.mark & ~cfg.mask) | (cfg.mark & cfg.mask) : ctx.mark;
	ret = run(back_fd, in, &out, &ctx);
	if (ret == RUN_REFUSED)
		return;
	/* The back does not parse: the family by the IP version. */
	runs[2][in->len > FIX_ETH_LEN && in->buf[FIX_ETH_LEN] >> 4 == 6]++;
	features[2 * 2 * FEAT_PER_PROG + verdict_feature(ret)] = 1;
	check(ret == TC_ACT_UNSPEC, "verdict %d", ret);
	check_untouched(in, &out, "the back modified a packet");
	check(ctx.mark == want, "mark %#x, want %#x", ctx.mark, want);
}

/* A checksum field at off set to what makes [from, to) sum to 0, with a
 * pseudo-header sum already in sum. */
static void set_csum(uint8_t *b, size_t off, size_t from, size_t to, uint32_t sum)
{
	uint16_t c;

	b[off] = b[off + 1] = 0;
	c = ~residue(sum16(b, from, to, sum)) & 0xffff;
	b[off] = c >> 8;
	b[off + 1] = c & 0xff;
}

/* Valid checksums, computed here from scratch, so that mutated packets with
 * valid ones are common: the IPv4 header, TCP/UDP/ICMPv6 with their
 * pseudo-header, ICMP, and in an error the quoted IPv4 header. */
static void set_csums(struct fixture *f)
{
	struct model m = model(f);
	uint8_t *b = f->buf;
	uint32_t pseudo;

	if (!m.ip)
		return;
	if (m.error && m.quote && !m.v6)
		set_csum(b, m.q_ip + 10, m.q_ip, m.q_l4, 0);
	if (m.l4_csum && !(m.proto == IPPROTO_UDP && !be16(b + m.l4_csum))) {
		pseudo = sum16(b, m.saddr, m.saddr + 2 * m.alen, 0) + m.proto +
			 (uint32_t)(m.end - m.l4);
		set_csum(b, m.l4_csum, m.l4, m.end, pseudo);
	} else if (m.proto == IPPROTO_ICMP && !m.v6 && !m.later && m.l4 + 8 <= m.end) {
		set_csum(b, m.l4 + 2, m.l4, m.end, 0);
	}
	if (!m.v6)
		set_csum(b, m.l3 + 10, m.l3, m.l3 + (b[m.l3] & 0xf) * 4, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fixture in;
	uint8_t sel;
	int prog;

	if (size < 1)
		return 0;
	sel = data[0];
	prog = forced_prog >= 0 ? forced_prog : sel & SEL_PROG;
	data++;
	size--;
	if (prog == 2) {
		if (size < BACK_HDR)
			return 0;
		data += BACK_HDR;
		size -= BACK_HDR;
	}
	/* The kernel refuses test runs shorter than an Ethernet header. */
	if (size < FIX_ETH_LEN || size > MAX_FRAME)
		return 0;
	memcpy(in.buf, data, size);
	in.len = size;
	in.l3_off = prog == 1 && (sel & SEL_L3) ? 0 : FIX_ETH_LEN;
	if (sel & SEL_CSUM)
		set_csums(&in);
	if (prog == 2) {
		fuzz_back_in(&in, data - BACK_HDR);
		return 0;
	}
	front_config(sel);
	if (prog == 0)
		fuzz_front_in(&in, sel);
	else if (prog == 1)
		fuzz_front_rev(&in, sel);
	else
		fuzz_front_xdp(&in, sel);
	return 0;
}

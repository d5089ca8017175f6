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

#define PUBLIC "203.0.113.1"
#define PUBLIC2 "203.0.113.2"
#define TUNNEL_IP "10.22.22.2"
#define BACKEND_L2 "10.22.22.1"
/* With an L3 tunnel the test run still derives skb->protocol from bytes 12-13
 * of the frame, which are the IP source: a backend 8.0.x.x makes them 0x0800. */
#define BACKEND_L3 "8.0.22.1"
#define EXCLUDED_PORT 22
/* The tunnel's MTU: test runs check it against lo, in the harness's own
 * network namespace, so frames up to MAX_FRAME can be too big. */
#define TUNNEL_MTU 1000
#define MSS 1200

#define SEL_PROG 0x03   /* 0: relay_front_in; 1: relay_front_rev; 2: relay_back_in; 3: relay_front_xdp */
#define SEL_CSUM 0x04   /* recompute the checksums first, if the headers allow */
#define SEL_L3 0x08     /* front: the tunnel is an L3 device */
#define SEL_FLOW 0x10   /* create the flow the packet (an error: its quote) belongs to */
#define SEL_SOLE 0x20   /* config.sole_public set: stateless reverse translation */
#define SEL_NOMSS 0x40  /* MSS clamping off */
#define SEL_RATE 0x80   /* --rate-limit 1/2: sources repeat, so most are over it */
#define BACK_HDR 12

#define MAX_FRAME 1600

static struct front_objs front;
static struct back_tunnel *back;
static int in_fd, rev_fd, xdp_fd, back_fd, cfg_fd, ct_fd, ct_new_fd, frags_fd, stats_fd, back_cfg_fd, ncpu;
static unsigned long long seen[RELAY_C_MAX];

/* Extra coverage for libFuzzer: [program][counter bumped, or verdict]. */
#define FEAT_PER_PROG (RELAY_C_MAX + 8)
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t features[4 * FEAT_PER_PROG];

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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct relay_ip_key pub = { .family = AF_INET };
	__u32 one = 1;

	(void)argc;
	(void)argv;
	libbpf_set_print(NULL);
	/* No socket of the machine's answers the programs' socket lookups,
	 * and lo (the test runs' device) gets the tunnel's MTU. */
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET) (root?)");
	set_lo_mtu(TUNNEL_MTU);
	/* A small conntrack map: the fuzzer also exercises LRU eviction. */
	if (front_load(&front, NULL, 256))
		die("cannot load the front programs (root? BTF?)");
	back = back_tunnel__open_and_load();
	if (!back)
		die("cannot load the back program");
	in_fd = bpf_program__fd(front.pub->progs.relay_front_in);
	rev_fd = bpf_program__fd(front.tun->progs.relay_front_rev);
	xdp_fd = bpf_program__fd(front.xdp->progs.relay_front_xdp);
	back_fd = bpf_program__fd(back->progs.relay_back_in);
	cfg_fd = bpf_map__fd(front.pub->maps.relay_front_cfg);
	ct_fd = bpf_map__fd(front.pub->maps.relay_ct);
	ct_new_fd = bpf_map__fd(front.pub->maps.relay_ct_new);
	frags_fd = bpf_map__fd(front.pub->maps.relay_frags);
	if (bpf_map__key_size(front.pub->maps.relay_frags) != 40)
		die("relay_frags' key changed: update frag_addr()");
	stats_fd = bpf_map__fd(front.pub->maps.relay_stats);
	back_cfg_fd = bpf_map__fd(back->maps.relay_back_cfg);
	ncpu = libbpf_num_possible_cpus();
	pub.addr.v4 = fix_addr(PUBLIC);
	if (bpf_map_update_elem(bpf_map__fd(front.pub->maps.relay_front_pub), &pub, &one, BPF_ANY))
		die("cannot set the public address");
	pub.addr.v4 = fix_addr(PUBLIC2);
	if (bpf_map_update_elem(bpf_map__fd(front.pub->maps.relay_front_pub), &pub, &one, BPF_ANY))
		die("cannot set the second public address");
	return 0;
}

static uint32_t backend_addr(bool l3)
{
	return fix_addr(l3 ? BACKEND_L3 : BACKEND_L2);
}

static void front_config(uint8_t sel)
{
	bool l3 = sel & SEL_L3;
	struct relay_front_config cfg = { 0 };
	__u32 zero = 0;

	cfg.backend.v4 = backend_addr(l3);
	cfg.tunnel_l2 = !l3;
	cfg.public_ifindex = 1;
	cfg.tunnel_ifindex = 1;
	cfg.exclude[0] = (struct relay_port_range){ IPPROTO_TCP, 0, EXCLUDED_PORT, EXCLUDED_PORT };
	cfg.exclude[1] = (struct relay_port_range){ IPPROTO_UDP, 0, EXCLUDED_PORT, EXCLUDED_PORT };
	cfg.n_exclude = 2;
	cfg.mss = sel & SEL_NOMSS ? 0 : MSS;
	cfg.sole_public.v4 = sel & SEL_SOLE ? fix_addr(PUBLIC) : 0;
	cfg.tunnel_ip.v4 = fix_addr(TUNNEL_IP);
	cfg.rate_pps = sel & SEL_RATE ? 1 : 0;
	cfg.rate_burst = sel & SEL_RATE ? 2 : 0;
	if (bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY))
		die("cannot set the front config");
}

/*
 * The input as the datapath must read it (the reference model): lengths
 * are checked against the IP total length, never the frame, since bytes
 * past it are link-layer padding that no program may read as data or
 * change.
 */
struct model {
	bool ip;        /* a packet the front may relay (else the stack's to judge) */
	bool later;     /* a fragment with an offset: no transport header */
	bool ports;     /* TCP or UDP header present */
	bool echo;      /* ICMP echo request or reply */
	bool error;     /* ICMP destination unreachable, time exceeded, parameter problem */
	bool quote;     /* error: quotes an IPv4 header and 8 bytes of its payload */
	bool syn;
	bool df;
	size_t l3, ihl, l4, end; /* end: l3 + total length */
	size_t tot_len;
	uint8_t proto, ttl;
	size_t q_ip, q_l4;       /* the quoted packet's IP and L4 headers */
	uint8_t q_proto;
	bool q_l4_csum;          /* the quoted TCP/UDP checksum lies in the quote */
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t addr_at(const struct fixture *f, size_t off)
{
	uint32_t a;

	memcpy(&a, f->buf + off, 4);
	return a;
}

static struct model model(const struct fixture *f)
{
	const uint8_t *b = f->buf;
	struct model m = { .l3 = f->l3_off };
	size_t doff;

	if (f->len < m.l3 + 20 || b[m.l3] >> 4 != 4 || (b[m.l3] & 0xf) < 5)
		return m;
	m.ihl = (b[m.l3] & 0xf) * 4;
	m.tot_len = be16(b + m.l3 + 2);
	m.end = m.l3 + m.tot_len;
	if (m.l3 + m.ihl > f->len || m.tot_len < m.ihl || m.end > f->len)
		return m;
	m.l4 = m.l3 + m.ihl;
	m.proto = b[m.l3 + 9];
	m.ttl = b[m.l3 + 8];
	m.df = b[m.l3 + 6] & 0x40;
	m.later = (b[m.l3 + 6] & 0x1f) || b[m.l3 + 7];
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
	} else if (m.proto == IPPROTO_UDP || m.proto == IPPROTO_ICMP) {
		if (m.l4 + 8 > m.end)
			return m;
		m.ports = m.proto == IPPROTO_UDP;
		m.echo = m.proto == IPPROTO_ICMP && (b[m.l4] == 0 || b[m.l4] == 8);
		m.error = m.proto == IPPROTO_ICMP &&
			  (b[m.l4] == 3 || b[m.l4] == 11 || b[m.l4] == 12);
	}
	m.ip = true;
	m.q_ip = m.l4 + 8;
	if (!m.error || m.q_ip + 20 > m.end || b[m.q_ip] >> 4 != 4 || (b[m.q_ip] & 0xf) < 5)
		return m;
	m.q_l4 = m.q_ip + (b[m.q_ip] & 0xf) * 4;
	m.q_proto = b[m.q_ip + 9];
	if (m.q_l4 + 8 > m.end || (b[m.q_ip + 6] & 0x1f) || b[m.q_ip + 7])
		return m;
	if (m.q_proto != IPPROTO_TCP && m.q_proto != IPPROTO_UDP &&
	    !(m.q_proto == IPPROTO_ICMP && (b[m.q_l4] == 0 || b[m.q_l4] == 8)))
		return m;
	m.quote = true;
	m.q_l4_csum = m.q_proto == IPPROTO_UDP || (m.q_proto == IPPROTO_TCP && m.q_l4 + 18 <= m.end);
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

/* The residue of a TCP/UDP checksum at l4, with the pseudo-header's
 * addresses at ip (its protocol and length are the same on both sides). */
static uint32_t l4_residue(const struct fixture *f, size_t ip, size_t l4, size_t end)
{
	return residue(sum16(f->buf, l4, end, sum16(f->buf, ip + 12, ip + 20, 0)));
}

static uint16_t l4_csum_off(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 16 : 6;
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
 * A translated packet. want: in with the address at addr_off replaced by
 * addr, the TTL decremented (ttl_dec), a SYN's MSS lowered to mss when
 * above it, an ICMP error's quoted address at q_addr_off replaced too.
 * out[i + shift] must equal want[i] for every byte but the checksums,
 * which must keep their residue: valid stays valid, the quoted TCP/UDP
 * checksum (whose datagram is cut) is updated consistently. Nothing past
 * the IP total length changes.
 */
static void check_translated(const struct fixture *in, const struct model *m,
			     const struct fixture *out, long shift, size_t addr_off, uint32_t addr,
			     bool ttl_dec, uint16_t mss, size_t q_addr_off)
{
	struct fixture want = *in, got;
	size_t skip[5] = { m->l3 + 10, 0, 0, 0, 0 }, n = 1, from = shift < 0 ? (size_t)-shift : 0;
	size_t mss_off;

	check(m->ip, "translated a packet the model rejects (bad lengths)");
	check((long)out->len == (long)in->len + shift, "length %zu -> %zu, shift %ld", in->len,
	      out->len, shift);
	memcpy(want.buf + m->l3 + addr_off, &addr, 4);
	if (ttl_dec) {
		check(m->ttl > 1, "relayed a packet with TTL %u", m->ttl);
		want.buf[m->l3 + 8]--;
	}
	if (m->ports) {
		skip[n++] = m->l4 + l4_csum_off(m->proto);
		mss_off = m->syn && mss ? mss_option(in, m) : 0;
		if (mss_off && be16(in->buf + m->l4 + mss_off + 2) > mss) {
			want.buf[m->l4 + mss_off + 2] = mss >> 8;
			want.buf[m->l4 + mss_off + 3] = mss & 0xff;
		}
	}
	if (m->error && q_addr_off) {
		check(m->quote, "translated an ICMP error whose quote is not in the packet");
		memcpy(want.buf + m->q_ip + q_addr_off, &addr, 4);
		skip[n++] = m->l4 + 2;
		skip[n++] = m->q_ip + 10;
		if (m->q_l4_csum)
			skip[n++] = m->q_l4 + l4_csum_off(m->q_proto);
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
	check(residue(sum16(in->buf, m->l3, m->l4, 0)) == residue(sum16(got.buf, m->l3, m->l4, 0)),
	      "IP checksum not updated consistently");
	if (m->ports) {
		size_t c = m->l4 + l4_csum_off(m->proto);

		if (m->proto == IPPROTO_UDP && !be16(in->buf + c))
			check(!be16(got.buf + c), "UDP checksum 0 (none) was set");
		else
			check(l4_residue(in, m->l3, m->l4, m->end) ==
				      l4_residue(&got, m->l3, m->l4, m->end),
			      "L4 checksum not updated consistently");
	}
	if (m->error && q_addr_off) {
		size_t c = m->q_l4 + l4_csum_off(m->q_proto);

		check(residue(sum16(in->buf, m->l4, m->end, 0)) ==
			      residue(sum16(got.buf, m->l4, m->end, 0)),
		      "ICMP checksum not updated consistently");
		check(residue(sum16(in->buf, m->q_ip, m->q_l4, 0)) ==
			      residue(sum16(got.buf, m->q_ip, m->q_l4, 0)),
		      "quoted IP checksum not updated consistently");
		if (m->q_l4_csum && m->q_proto == IPPROTO_UDP && !be16(in->buf + c))
			check(!be16(got.buf + c), "quoted UDP checksum 0 (none) was set");
		else if (m->q_l4_csum && m->q_proto != IPPROTO_ICMP)
			check(l4_residue(in, m->q_ip, m->q_l4, m->end) ==
				      l4_residue(&got, m->q_ip, m->q_l4, m->end),
			      "quoted L4 checksum not updated consistently");
	}
}

/*
 * An ICMP error the front generated in place for a client's packet:
 * Ethernet addresses swapped, a fresh IPv4 header from the public address
 * the packet was sent to, to its source, with valid checksums, quoting the
 * packet's IP header and 8 bytes as received (TTL included).
 */
static void check_generated(const struct fixture *in, const struct model *m,
			    const struct fixture *out, uint8_t type, uint8_t code, uint16_t mtu)
{
	size_t q = m->ihl + 8, ip = FIX_ETH_LEN, icmp = ip + 20;
	const uint8_t *o = out->buf;

	check(m->l3 == FIX_ETH_LEN && m->tot_len >= q, "generated an error without a quote");
	check(out->len == FIX_ETH_LEN + 28 + q, "error length %zu, quote %zu", out->len, q);
	check(!memcmp(o, in->buf + 6, 6) && !memcmp(o + 6, in->buf, 6) &&
		      !memcmp(o + 12, in->buf + 12, 2), "error's Ethernet header");
	check(o[ip] == 0x45 && o[ip + 1] == 0 && be16(o + ip + 2) == 28 + q &&
		      !be16(o + ip + 6) && o[ip + 9] == IPPROTO_ICMP && o[ip + 8] > 1,
	      "error's IP header");
	check(addr_at(out, ip + 12) == addr_at(in, m->l3 + 16), "error not from the public address");
	check(addr_at(out, ip + 16) == addr_at(in, m->l3 + 12), "error not to the packet's source");
	check(residue(sum16(o, ip, icmp, 0)) == 0, "error's IP checksum");
	check(o[icmp] == type && o[icmp + 1] == code && !be16(o + icmp + 4) &&
		      be16(o + icmp + 6) == mtu, "error type %u code %u mtu %u", o[icmp],
	      o[icmp + 1], be16(o + icmp + 6));
	check(residue(sum16(o, icmp, out->len, 0)) == 0, "error's ICMP checksum");
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

/* Turns the counters the run bumped and its verdict into features.
 * Returns whether the run counted a rate-limit drop. */
static bool record(int prog, int ret)
{
	unsigned long long vals[RELAY_C_MAX * 64];
	__u32 keys[RELAY_C_MAX], count = RELAY_C_MAX;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint8_t *feat = features + prog * FEAT_PER_PROG;
	__u32 batch;
	int err;

	bool limited = false;

	feat[RELAY_C_MAX + verdict_feature(ret)] = 1;
	if (ncpu > 64)
		die("more than 64 CPUs");
	/* ENOENT: the whole array was read in this one batch. */
	err = bpf_map_lookup_batch(stats_fd, NULL, &batch, keys, vals, &count, &opts);
	if (err && errno != ENOENT)
		die("cannot read the counters");
	for (__u32 k = 0; k < count && keys[k] < RELAY_C_MAX; k++) {
		unsigned long long sum = 0;

		for (int c = 0; c < ncpu; c++)
			sum += vals[k * ncpu + c];
		if (sum != seen[keys[k]]) {
			feat[keys[k]] = 1;
			limited |= keys[k] == RELAY_C_DROP_RATE_LIMIT;
		}
		seen[keys[k]] = sum;
	}
	return limited;
}

static bool is_public(uint32_t a)
{
	return a == fix_addr(PUBLIC) || a == fix_addr(PUBLIC2);
}

static struct relay_ct_key ct_key(uint8_t proto, uint32_t client, const uint8_t *cport,
				  const uint8_t *sport)
{
	struct relay_ct_key key = { .family = AF_INET, .proto = proto };

	key.client.v4 = client;
	memcpy(&key.client_port, cport, 2);
	memcpy(&key.service_port, sport, 2);
	return key;
}

/* Ports of the transport header at off (an echo's identifier for both). */
static const uint8_t *port(const struct fixture *f, uint8_t proto, size_t off, int which)
{
	return f->buf + off + (proto == IPPROTO_ICMP ? 4 : which * 2);
}

/* The public address of a flow (0: none), created first if asked to. */
static uint32_t flow(struct relay_ct_key key, uint32_t public, bool add)
{
	struct relay_ct_value ct = { 0 };
	struct timespec now;

	if (add) {
		/* bpf_ktime_get_ns() is CLOCK_MONOTONIC: a live flow. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		ct.public_ip.v4 = public;
		ct.last_seen_ns = (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec;
		bpf_map_update_elem(ct_fd, &key, &ct, BPF_ANY);
	}
	/* As relay_ct_find: the replied table's flow to this public address,
	 * else the unreplied table's (XDP looks in both). */
	uint32_t found = bpf_map_lookup_elem(ct_fd, &key, &ct) ? 0 : ct.public_ip.v4;

	if (found != public && !bpf_map_lookup_elem(ct_new_fd, &key, &ct))
		found = ct.public_ip.v4;
	return found;
}

/* The verdict in force for the later fragments of in's datagram (its
 * address in *addr), or -1 when there is none or it expired. The key is
 * bpf/lib/front_maps.h's struct relay_frag_key (BPF-only), IPv4: source
 * and destination (union relay_ip, 16 bytes each, zero past the first 4),
 * the IP id in a 32-bit field, protocol, family, padding. */
static int frag_verdict(const struct fixture *in, const struct model *m, uint32_t *addr)
{
	uint8_t k[40] = { 0 };
	struct relay_frag_value v;
	struct timespec now;

	memcpy(k, in->buf + m->l3 + 12, 4);
	memcpy(k + 16, in->buf + m->l3 + 16, 4);
	memcpy(k + 32, in->buf + m->l3 + 4, 2);
	k[36] = m->proto;
	k[37] = AF_INET;
	*addr = 0;
	if (bpf_map_lookup_elem(frags_fd, k, &v))
		return -1;
	/* bpf_ktime_get_coarse_ns() is CLOCK_MONOTONIC_COARSE. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (v.expires_ns < (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec)
		return -1;
	*addr = v.addr.v4;
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
	check(m->later || m->proto != IPPROTO_ICMP || (m->echo && in->buf[m->l4] == 8),
	      "rate-limited an ICMP packet that is not an echo request");
}

static void fuzz_front_in(const struct fixture *in, uint8_t sel)
{
	struct model m = model(in);
	struct fixture out;
	bool l3 = sel & SEL_L3, eth_ip = in->buf[12] == 0x08 && in->buf[13] == 0x00;
	bool public = eth_ip && m.ip && is_public(addr_at(in, m.l3 + 16));
	bool own = m.ip && !m.later && !m.error; /* neither a fragment's tail nor an error */
	/* A later fragment follows its first (relayed under the config of
	 * then: the harness switches backends between runs). */
	uint32_t backend = backend_addr(l3);
	int frag = m.ip && m.later ? frag_verdict(in, &m, &backend) : -1;
	/* Too big for the tunnel: the stack fragments it, or ICMP with DF. */
	bool too_big = (own || frag == RELAY_FRAG_RELAYED) && m.tot_len > TUNNEL_MTU;
	bool limited;
	int ret;

	/* A client's error about a reply the front relayed: that flow. */
	if (public && m.quote && (sel & SEL_FLOW) && is_public(addr_at(in, m.q_ip + 12)))
		flow(ct_key(m.q_proto, addr_at(in, m.q_ip + 16), port(in, m.q_proto, m.q_l4, 1),
			    port(in, m.q_proto, m.q_l4, 0)), addr_at(in, m.q_ip + 12), true);
	ret = run(in_fd, in, &out, NULL);
	if (ret == RUN_REFUSED)
		return;
	limited = record(0, ret);
	check(ret == TC_ACT_UNSPEC || ret == TC_ACT_OK || ret == TC_ACT_REDIRECT ||
	      ret == TC_ACT_SHOT, "verdict %d", ret);
	if (limited) {
		check(ret == TC_ACT_SHOT, "rate-limited, verdict %d", ret);
		check_rate_limited(in, &m, sel, public, frag);
	}
	if (!public)
		check_untouched(in, &out, "a packet not for a public address was modified");
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
		check_translated(in, &m, &out, 0, 16, backend, false, 0, 0);
	}
	if (ret != TC_ACT_REDIRECT)
		return;
	check(public, "redirected a packet not for a public address");
	if (own && m.ttl <= 1)
		check_generated(in, &m, &out, 11, 0, 0);
	else if (too_big && m.df)
		check_generated(in, &m, &out, 3, 4, TUNNEL_MTU);
	else
		check_translated(in, &m, &out, 0, 16, backend, true,
				 sel & SEL_NOMSS ? 0 : MSS, m.error ? 12 : 0);
}

static void fuzz_front_rev(const struct fixture *in, uint8_t sel)
{
	struct model m = model(in);
	struct fixture out;
	bool l3 = sel & SEL_L3, add = sel & SEL_FLOW;
	bool from_backend = m.ip && addr_at(in, m.l3 + 12) == backend_addr(l3);
	static const uint8_t zero[2];
	uint32_t public = 0, got;
	int ret;

	/* The flow a reply (an error: its quote) belongs to. */
	if (from_backend && m.later) {
		if (frag_verdict(in, &m, &public) != RELAY_FRAG_RELAYED)
			public = 0;
	} else if (from_backend && m.quote)
		public = flow(ct_key(m.q_proto, addr_at(in, m.q_ip + 12),
				     port(in, m.q_proto, m.q_l4, 0), port(in, m.q_proto, m.q_l4, 1)),
			      fix_addr(PUBLIC2), add);
	else if (from_backend && (m.ports || m.echo))
		public = flow(ct_key(m.proto, addr_at(in, m.l3 + 16), port(in, m.proto, m.l4, 1),
				     port(in, m.proto, m.l4, 0)), fix_addr(PUBLIC2), add);
	else if (from_backend && m.ip && m.proto != IPPROTO_ICMP) /* tracked by address */
		public = flow(ct_key(m.proto, addr_at(in, m.l3 + 16), zero, zero),
			      fix_addr(PUBLIC2), add);
	ret = run(rev_fd, in, &out, NULL);
	if (ret == RUN_REFUSED)
		return;
	record(1, ret);
	check(ret == TC_ACT_UNSPEC || ret == TC_ACT_OK || ret == TC_ACT_REDIRECT ||
	      ret == TC_ACT_SHOT, "verdict %d", ret);
	if (!from_backend)
		check_untouched(in, &out, "translated a packet not from the backend");
	if (ret == TC_ACT_UNSPEC)
		check_untouched(in, &out, "a packet passed on (TC_ACT_UNSPEC) was modified");
	if (ret == TC_ACT_OK) {
		/* Too big for the public device without DF: translated, the
		 * stack fragments it. */
		got = addr_at(&out, m.l3 + 12);
		check(from_backend && !m.error && !m.df && m.tot_len > TUNNEL_MTU,
		      "TC_ACT_OK for a reply not translated for the stack");
		check(got == public || (got == fix_addr(PUBLIC) && (sel & SEL_SOLE)),
		      "reply to the stack translated to %#x, flow %#x", got, public);
		check_translated(in, &m, &out, 0, 12, got, false, 0, 0);
	}
	if (ret != TC_ACT_REDIRECT)
		return;
	/* The flow's address, or (its entry gone or expired) the sole one. */
	got = out.len >= m.l3 + (l3 ? FIX_ETH_LEN : 0) + 16 ?
		      addr_at(&out, m.l3 + (l3 ? FIX_ETH_LEN : 0) + 12) : 0;
	check(got && (got == public || (!m.later && got == fix_addr(PUBLIC) && (sel & SEL_SOLE))),
	      "reply translated to %#x, flow %#x", got, public);
	check(!m.error || (m.quote && addr_at(in, m.q_ip + 16) == backend_addr(l3)),
	      "translated an error not about a packet sent to the backend");
	check_translated(in, &m, &out, l3 ? FIX_ETH_LEN : 0, 12, got, true,
			 sel & SEL_NOMSS ? 0 : MSS, m.error ? 16 : 0);
}

static void fuzz_front_xdp(const struct fixture *in, uint8_t sel)
{
	struct model m = model(in);
	struct fixture out;
	bool l3 = sel & SEL_L3, eth_ip = in->buf[12] == 0x08 && in->buf[13] == 0x00;
	bool public = eth_ip && m.ip && is_public(addr_at(in, m.l3 + 16));
	uint32_t fl = 0;
	bool limited;
	int ret;

	if (public && (m.ports || m.echo))
		fl = flow(ct_key(m.proto, addr_at(in, m.l3 + 12), port(in, m.proto, m.l4, 0),
				 port(in, m.proto, m.l4, 1)), addr_at(in, m.l3 + 16), sel & SEL_FLOW);
	ret = run(xdp_fd, in, &out, NULL);
	if (ret == RUN_REFUSED)
		return;
	limited = record(3, ret);
	check(ret == XDP_PASS || ret == XDP_REDIRECT || (ret == XDP_DROP && limited),
	      "verdict %d", ret);
	check(!limited || ret == XDP_DROP, "rate-limited, verdict %d", ret);
	if (ret == XDP_PASS || ret == XDP_DROP) {
		check_untouched(in, &out, "a packet passed to TC or dropped was modified");
		if (ret == XDP_PASS)
			return;
		check_rate_limited(in, &m, sel, public, -1);
	}
	/* Only the plain packets of established flows: the rest is TC's. */
	check(public && !m.later && (m.ports || (m.echo && in->buf[m.l4] == 8)),
	      "fast path for a packet that is not a plain one for a public address");
	check(!(in->buf[m.l3 + 6] & 0x20), "fast path for a first fragment (its verdict is TC's)");
	check(!excluded(in, &m), "an excluded port was rewritten");
	check(fl == addr_at(in, m.l3 + 16), "fast path without a flow");
	check(!m.syn, "fast path for a SYN (its MSS is TC's)");
	check(m.tot_len <= TUNNEL_MTU, "fast path for a packet too big for the tunnel");
	if (ret == XDP_DROP)
		return;
	/* An L3 tunnel takes the IP packet alone; an L2 one gets the
	 * neighbour's addresses (not compared). */
	if (l3)
		check_translated(in, &m, &out, -FIX_ETH_LEN, 16, backend_addr(l3), true, 0, 0);
	else {
		memcpy(out.buf, in->buf, 12);
		check_translated(in, &m, &out, 0, 16, backend_addr(l3), true, 0, 0);
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
	features[2 * FEAT_PER_PROG + verdict_feature(ret)] = 1;
	check(ret == TC_ACT_UNSPEC, "verdict %d", ret);
	check_untouched(in, &out, "the back modified a packet");
	check(ctx.mark == want, "mark %#x, want %#x", ctx.mark, want);
}

/* Valid checksums, so that mutated packets with valid ones are common:
 * IPv4, TCP/UDP, ICMP and, in an error, the quoted IP header. */
static void set_csums(struct fixture *f)
{
	struct model m = model(f);
	uint8_t *b = f->buf;
	uint16_t c;

	if (!m.ip)
		return;
	if (m.error && m.quote) {
		b[m.q_ip + 10] = b[m.q_ip + 11] = 0;
		c = ~residue(sum16(b, m.q_ip, m.q_l4, 0)) & 0xffff;
		b[m.q_ip + 10] = c >> 8;
		b[m.q_ip + 11] = c & 0xff;
	}
	if (m.proto == IPPROTO_ICMP && !m.later && m.l4 + 8 <= m.end) {
		b[m.l4 + 2] = b[m.l4 + 3] = 0;
		c = ~residue(sum16(b, m.l4, m.end, 0)) & 0xffff;
		b[m.l4 + 2] = c >> 8;
		b[m.l4 + 3] = c & 0xff;
	}
	fix_set_csums(f, m.ports);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fixture in;
	uint8_t sel;
	int prog;

	if (size < 1)
		return 0;
	sel = data[0];
	prog = sel & SEL_PROG;
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

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness: arbitrary frames through relay_front_in, relay_front_rev
 * and relay_back_in with BPF_PROG_TEST_RUN, and the datapath's invariants
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "front.h"
#include "back_tunnel.skel.h"
#include "packet.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

#define PUBLIC "203.0.113.1"
#define BACKEND_L2 "10.22.22.1"
/* With an L3 tunnel the test run still derives skb->protocol from bytes 12-13
 * of the frame, which are the IP source: a backend 8.0.x.x makes them 0x0800. */
#define BACKEND_L3 "8.0.22.1"
#define EXCLUDED_PORT 22

#define SEL_PROG 0x03   /* 0, 3: relay_front_in; 1: relay_front_rev; 2: relay_back_in */
#define SEL_CSUM 0x04   /* recompute the checksums first, if the headers allow */
#define SEL_L3 0x08     /* front: the tunnel is an L3 device */
#define SEL_FLOW 0x10   /* relay_front_rev: create the flow the reply belongs to */
#define BACK_HDR 12

#define MAX_FRAME 1600

static struct front_objs front;
static struct back_tunnel *back;
static int in_fd, rev_fd, back_fd, cfg_fd, ct_fd, stats_fd, back_cfg_fd, ncpu;
static unsigned long long seen[RELAY_C_MAX];

/* Extra coverage for libFuzzer: [program][counter bumped, or verdict]. */
#define FEAT_PER_PROG (RELAY_C_MAX + 8)
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t features[3 * FEAT_PER_PROG];

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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct relay_ip_key pub = { .family = AF_INET };
	__u32 one = 1;

	(void)argc;
	(void)argv;
	libbpf_set_print(NULL);
	/* A small conntrack map: the fuzzer also exercises LRU eviction. */
	if (front_load(&front, NULL, 256))
		die("cannot load the front programs (root? BTF?)");
	back = back_tunnel__open_and_load();
	if (!back)
		die("cannot load the back program");
	in_fd = bpf_program__fd(front.pub->progs.relay_front_in);
	rev_fd = bpf_program__fd(front.tun->progs.relay_front_rev);
	back_fd = bpf_program__fd(back->progs.relay_back_in);
	cfg_fd = bpf_map__fd(front.pub->maps.relay_front_cfg);
	ct_fd = bpf_map__fd(front.pub->maps.relay_ct);
	stats_fd = bpf_map__fd(front.pub->maps.relay_stats);
	back_cfg_fd = bpf_map__fd(back->maps.relay_back_cfg);
	ncpu = libbpf_num_possible_cpus();
	pub.addr.v4 = fix_addr(PUBLIC);
	if (bpf_map_update_elem(bpf_map__fd(front.pub->maps.relay_front_pub), &pub, &one, BPF_ANY))
		die("cannot set the public address");
	return 0;
}

static uint32_t backend_addr(bool l3)
{
	return fix_addr(l3 ? BACKEND_L3 : BACKEND_L2);
}

static void front_config(bool l3)
{
	struct relay_front_config cfg = { 0 };
	__u32 zero = 0;

	cfg.backend.v4 = backend_addr(l3);
	cfg.backend_family = AF_INET;
	cfg.tunnel_l2 = !l3;
	cfg.public_ifindex = 1;
	cfg.tunnel_ifindex = 1;
	cfg.exclude[0] = (struct relay_port_range){ IPPROTO_TCP, 0, EXCLUDED_PORT, EXCLUDED_PORT };
	cfg.exclude[1] = (struct relay_port_range){ IPPROTO_UDP, 0, EXCLUDED_PORT, EXCLUDED_PORT };
	cfg.n_exclude = 2;
	if (bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY))
		die("cannot set the front config");
}

/* What the harness can tell about a frame's IPv4 packet at l3_off. */
struct view {
	bool ip;        /* version 4, IHL >= 5, header within the frame */
	bool sane_len;  /* total length covers the IP and L4 headers, within the frame */
	bool ports;     /* first fragment, TCP/UDP header present */
	bool echo;      /* first fragment, ICMP echo header present */
	bool frag;      /* MF or a fragment offset */
	size_t ihl, l4;
	uint8_t proto;
};

static struct view view(const struct fixture *f)
{
	const uint8_t *ip = f->buf + f->l3_off;
	size_t avail = f->len - f->l3_off, tot, hdr;
	struct view v = { 0 };

	if (f->len < f->l3_off + 20 || ip[0] >> 4 != 4 || (ip[0] & 0xf) < 5)
		return v;
	v.ihl = (ip[0] & 0xf) * 4;
	if (v.ihl > avail)
		return v;
	v.ip = true;
	v.l4 = f->l3_off + v.ihl;
	v.proto = ip[9];
	tot = (size_t)ip[2] << 8 | ip[3];
	v.frag = (ip[6] & 0x3f) || ip[7];
	hdr = v.proto == IPPROTO_TCP ? 20 : v.proto == IPPROTO_UDP ? 8 : 0;
	v.sane_len = tot >= v.ihl + (v.frag ? 0 : hdr) && tot <= avail;
	v.ports = hdr && !((ip[6] & 0x1f) || ip[7]) && v.l4 + hdr <= f->len;
	v.echo = v.proto == IPPROTO_ICMP && !((ip[6] & 0x1f) || ip[7]) && v.l4 + 8 <= f->len &&
		 (f->buf[v.l4] == 0 || f->buf[v.l4] == 8);
	return v;
}

/* The checksums of a packet whose checksummed bytes all lie in the frame. */
static bool csums_ok(const struct fixture *f, const struct view *v)
{
	if (!v->ip || !v->sane_len || !fix_ip_csum_ok(f))
		return false;
	if (v->frag || !(v->proto == IPPROTO_TCP || v->proto == IPPROTO_UDP))
		return true; /* the L4 checksum needs the whole datagram */
	if (!v->ports)
		return false;
	return fix_l4_csum_ok(f);
}

static size_t ip_len(const struct fixture *f)
{
	return (size_t)f->buf[f->l3_off + 2] << 8 | f->buf[f->l3_off + 3];
}

static uint16_t port_at(const struct fixture *f, const struct view *v, size_t off)
{
	return (uint16_t)(f->buf[v->l4 + off] << 8 | f->buf[v->l4 + off + 1]);
}

static uint32_t addr_at(const struct fixture *f, size_t off)
{
	uint32_t a;

	memcpy(&a, f->buf + f->l3_off + off, 4);
	return a;
}

/* The verdict, or -1 when the kernel refuses the frame: BPF_PROG_TEST_RUN
 * wants a full IPv4 (IPv6) header after an IPv4 (IPv6) ethertype. */
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
			return -1;
		die(strerror(errno));
	}
	out->len = opts.data_size_out;
	out->l3_off = in->l3_off;
	return (int)opts.retval;
}

/* Turns the counters the run bumped and its verdict into features. */
static void record(int prog, int ret)
{
	unsigned long long vals[RELAY_C_MAX * 64];
	__u32 keys[RELAY_C_MAX], count = RELAY_C_MAX;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint8_t *feat = features + prog * FEAT_PER_PROG;
	__u32 batch;
	int err;

	feat[RELAY_C_MAX + (ret & 7)] = 1;
	if (ncpu > 64)
		return;
	/* ENOENT: the whole array was read in this one batch. */
	err = bpf_map_lookup_batch(stats_fd, NULL, &batch, keys, vals, &count, &opts);
	if (err && errno != ENOENT)
		return;
	for (__u32 k = 0; k < count && keys[k] < RELAY_C_MAX; k++) {
		unsigned long long sum = 0;

		for (int c = 0; c < ncpu; c++)
			sum += vals[k * ncpu + c];
		if (sum != seen[keys[k]])
			feat[keys[k]] = 1;
		seen[keys[k]] = sum;
	}
}

/* Bytes [from, to) of out equal those of in shifted by delta. */
static bool same(const struct fixture *in, const struct fixture *out, size_t delta, size_t from,
		 size_t to)
{
	return to <= from || !memcmp(in->buf + from, out->buf + from + delta, to - from);
}

/*
 * A relayed packet: only the rewritten address, the TTL and the checksums
 * that cover them may differ (out is shifted by delta when the program
 * pushed a link-layer header), and valid checksums stay valid.
 */
static void check_rewrite(const struct fixture *in, const struct fixture *out_raw,
			  size_t delta, size_t addr_off, uint32_t want_addr)
{
	struct fixture out = *out_raw;
	struct view v = view(in);
	size_t ip = in->l3_off, csum = 0;

	check(v.ip, "relayed a packet that is not IPv4");
	/* What the stack would drop as malformed is left to it. */
	check(v.sane_len, "relayed a packet whose total length does not fit");
	if (v.ports && v.proto == IPPROTO_TCP) {
		size_t doff = (in->buf[v.l4 + 12] >> 4) * 4;

		check(doff >= 20 && v.ihl + doff <= ip_len(in), "relayed a bad TCP data offset");
	}
	check(out_raw->len == in->len + delta, "length %zu -> %zu", in->len, out_raw->len);
	memmove(out.buf, out.buf + delta, in->len);
	out.len = in->len;
	check(addr_at(&out, addr_off) == want_addr, "rewritten address");
	check(out.buf[ip + 8] == (uint8_t)(in->buf[ip + 8] - 1), "TTL decremented once");
	if (v.ports)
		csum = v.l4 + (v.proto == IPPROTO_TCP ? 16 : 6);
	/* Everything but TTL, IP checksum, the address and the L4 checksum. */
	check(same(in, &out, 0, 0, ip + 8), "bytes before the TTL changed");
	check(same(in, &out, 0, ip + 9, ip + 10), "protocol changed");
	check(same(in, &out, 0, ip + 12, ip + addr_off), "bytes before the address changed");
	if (csum) {
		check(same(in, &out, 0, ip + addr_off + 4, csum), "header bytes changed");
		check(same(in, &out, 0, csum + 2, in->len), "bytes past the L4 checksum changed");
	} else {
		check(same(in, &out, 0, ip + addr_off + 4, in->len), "bytes past the address changed");
	}
	if (csums_ok(in, &v))
		check(csums_ok(&out, &v), "valid checksums became invalid");
}

static void check_untouched(const struct fixture *in, const struct fixture *out, const char *why)
{
	check(out->len == in->len && !memcmp(in->buf, out->buf, in->len), "%s", why);
}

static void fuzz_front_in(const struct fixture *in, bool l3)
{
	struct view v = view(in);
	struct fixture out;
	bool eth_ip = in->buf[12] == 0x08 && in->buf[13] == 0x00;
	bool public = eth_ip && v.ip && addr_at(in, 16) == fix_addr(PUBLIC);
	int ret = run(in_fd, in, &out, NULL);

	if (ret < 0)
		return;
	record(0, ret);
	check(ret == TC_ACT_OK || ret == TC_ACT_REDIRECT || ret == TC_ACT_SHOT, "verdict %d", ret);
	if (!public)
		check_untouched(in, &out, "a packet not for a public address was modified");
	if (public && v.ports && (v.proto == IPPROTO_TCP || v.proto == IPPROTO_UDP) &&
	    port_at(in, &v, 2) == EXCLUDED_PORT)
		check_untouched(in, &out, "an excluded port was rewritten");
	if (ret == TC_ACT_OK)
		check_untouched(in, &out, "a packet passed to the stack was modified");
	if (ret == TC_ACT_REDIRECT) {
		check(public, "redirected a packet not for a public address");
		check_rewrite(in, &out, 0, 16, backend_addr(l3));
		check(addr_at(&out, 12) == addr_at(in, 12), "the client's address changed");
	}
}

/* The flow a reply belongs to: (client = destination, ports swapped; an
 * ICMP echo's identifier stands for both ports). */
static struct relay_ct_key reply_key(const struct fixture *f, const struct view *v)
{
	struct relay_ct_key key = { .family = AF_INET, .proto = v->proto };

	key.client.v4 = addr_at(f, 16);
	memcpy(&key.client_port, f->buf + v->l4 + (v->echo ? 4 : 2), 2);
	memcpy(&key.service_port, f->buf + v->l4 + (v->echo ? 4 : 0), 2);
	return key;
}

static void fuzz_front_rev(const struct fixture *in, bool l3, bool add_flow)
{
	struct view v = view(in);
	struct relay_ct_value ct = { 0 };
	struct relay_ct_key key;
	struct fixture out;
	bool flow = false, from_backend = v.ip && addr_at(in, 12) == backend_addr(l3);
	int ret;

	if (v.ip && (v.ports || v.echo)) {
		key = reply_key(in, &v);
		if (add_flow) {
			ct.public_ip.v4 = fix_addr(PUBLIC);
			bpf_map_update_elem(ct_fd, &key, &ct, BPF_ANY);
		}
		flow = !bpf_map_lookup_elem(ct_fd, &key, &ct);
	}
	ret = run(rev_fd, in, &out, NULL);
	if (ret < 0)
		return;
	record(1, ret);
	check(ret == TC_ACT_OK || ret == TC_ACT_REDIRECT || ret == TC_ACT_SHOT, "verdict %d", ret);
	if (!from_backend)
		check_untouched(in, &out, "translated a packet not from the backend");
	if (ret == TC_ACT_OK)
		check_untouched(in, &out, "a packet passed to the stack was modified");
	/* Without a flow only the one public address may be restored (the
	 * design translates replies of evicted flows when that is unambiguous). */
	if (ret == TC_ACT_REDIRECT)
		check_rewrite(in, &out, l3 ? FIX_ETH_LEN : 0, 12,
			      flow ? ct.public_ip.v4 : fix_addr(PUBLIC));
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
	if (ret < 0)
		return;
	features[2 * FEAT_PER_PROG + (ret & 7)] = 1;
	check(ret == TC_ACT_OK, "verdict %d", ret);
	check_untouched(in, &out, "the back modified a packet");
	check(ctx.mark == want, "mark %#x, want %#x", ctx.mark, want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fixture in;
	uint8_t sel;
	int prog;

	if (size < 1)
		return 0;
	sel = data[0];
	prog = (sel & SEL_PROG) == 3 ? 0 : sel & SEL_PROG;
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
	if (sel & SEL_CSUM) {
		struct view v = view(&in);

		if (v.ip && v.sane_len)
			fix_set_csums(&in, !v.frag && (v.ports || v.echo));
	}
	if (prog == 2) {
		fuzz_back_in(&in, data - BACK_HDR);
		return 0;
	}
	front_config(sel & SEL_L3);
	if (prog == 0)
		fuzz_front_in(&in, sel & SEL_L3);
	else
		fuzz_front_rev(&in, sel & SEL_L3, sel & SEL_FLOW);
	return 0;
}

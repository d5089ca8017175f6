// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Fragments: the first decides, the later ones (no ports) follow it by IP
 * id, both ways; the verdict is the host's too, and expires. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

TestSuite(front_frag, .init = setup_l2, .fini = teardown);

#define MF 0x2000
#define LATER 185 /* a later fragment's offset (1480 bytes), last */
#define TUNNEL_MTU 1420

/* A fragment of a UDP datagram (fix_build gives every packet one IP id),
 * the IP packet tot bytes long (0: a small one): the first with its UDP
 * header, a later one as bare payload. */
static void frag_sized(struct fixture *f, const char *src, const char *dst, uint16_t sport,
		       uint16_t dport, uint16_t frag_off, size_t tot)
{
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = IPPROTO_UDP, .frag_off = frag_off };
	/* IPv6: a 40-byte header and an 8-byte fragment header. */
	size_t hdrs = strchr(src, ':') ? 40 + 8 + 8 : 20 + 8;
	struct fix_l4 l4 = { .sport = sport, .dport = dport, .payload_len = tot ? tot - hdrs : 64 };

	fix_build(f, true, &ip, &l4);
}

static void frag(struct fixture *f, const char *src, const char *dst, uint16_t sport,
		 uint16_t dport, uint16_t frag_off)
{
	frag_sized(f, src, dst, sport, dport, frag_off, 0);
}

/* Both families: every test runs once with each. */
struct family {
	const char *client, *public, *backend;
};

static const struct family families[] = {
	{ CLIENT, PUBLIC, BACKEND },
	{ CLIENT6, PUBLIC6, BACKEND6 },
};

/* Only the address, TTL and IP checksum changed. */
static void assert_ip_only(const struct fixture *in, const struct fixture *out)
{
	cr_assert_eq(in->len, out->len);
	cr_assert(fix_ip_csum_ok(out));
	cr_assert_arr_eq(fix_l4(in), fix_l4(out), in->len - 34, "payload untouched");
}

Test(front_frag, later_fragments_follow_the_relayed_first_one)
{
	struct fixture in, out;

	frag(&in, CLIENT, PUBLIC, 40800, 5000, MF);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	frag(&in, CLIENT, PUBLIC, 0, 0, 185);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert_eq(fix_ttl(&out), 63);
	assert_ip_only(&in, &out);
	cr_assert_eq(counter(stats_fd, RELAY_C_FRAG_FWD), 1);
}

Test(front_frag, a_fragment_with_no_first_goes_to_the_stack)
{
	struct fixture in, out;

	frag(&in, CLIENT, PUBLIC, 0, 0, 185);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_FRAGMENT), 1);
}

Test(front_frag, fragments_of_an_excluded_port_stay_with_the_host)
{
	struct fixture in, out;
	struct relay_front_config cfg = cfg_get();

	cfg.exclude[1] = (struct relay_port_range){ .proto = IPPROTO_UDP, .first = 500, .last = 500 };
	cfg.n_exclude = 2;
	cfg_put(&cfg);
	frag(&in, CLIENT, PUBLIC, 40801, 500, MF);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	frag(&in, CLIENT, PUBLIC, 0, 0, 185);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
}

Test(front_frag, fragments_of_a_reply_follow_the_first_one_back, .init = with_tunnel)
{
	struct fixture in, out;

	udp_frame(&in, true, CLIENT, PUBLIC, 40802, 5000, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	frag(&in, BACKEND, CLIENT, 5000, 40802, MF);
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_saddr(&out), fix_addr(PUBLIC));
	frag(&in, BACKEND, CLIENT, 0, 0, 185);
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_saddr(&out), fix_addr(PUBLIC));
	assert_ip_only(&in, &out);
	cr_assert_eq(counter(stats_fd, RELAY_C_FRAG_RET), 1);
}

/* A first fragment to the host replaces the verdict a planted one left
 * under the same (src, dst, id): the host's later fragments stay its own. */
Test(front_frag, a_first_fragment_for_the_host_replaces_a_planted_verdict)
{
	struct relay_front_config cfg = cfg_get();
	struct fixture in, out;

	cfg.exclude[1] = (struct relay_port_range){ .proto = IPPROTO_UDP, .first = 500, .last = 500 };
	cfg.n_exclude = 2;
	cfg_put(&cfg);
	for (int i = 0; i < 2; i++) {
		const struct family *fam = &families[i];

		frag(&in, fam->client, fam->public, 40810, 5000, MF);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT, "planted");
		frag(&in, fam->client, fam->public, 40811, 500, MF);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
		frag(&in, fam->client, fam->public, 0, 0, LATER);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC, "family %d", i);
		cr_assert_arr_eq(in.buf, out.buf, in.len, "the host's, untouched");
		cr_assert_eq(counter(stats_fd, RELAY_C_PASS_FRAGMENT), (uint64_t)i + 1);
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_FRAG_FWD), 0);
}

/* CLOCK_MONOTONIC_COARSE is bpf_ktime_get_coarse_ns(). */
static uint64_t coarse_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + t.tv_nsec;
}

/* Moves every verdict's expiry by delta_ns; returns how many there are and
 * checks each expires RELAY_FRAG_TIMEOUT_S after now (before the move). */
static int age_verdicts(int64_t delta_ns)
{
	int fd = bpf_map__fd(objs.pub->maps.relay_frags), n = 0;
	uint64_t now = coarse_ns(), timeout = RELAY_FRAG_TIMEOUT_S * 1000000000ULL;
	struct relay_frag_value v;
	char key[64], *prev = NULL;

	cr_assert_leq(bpf_map__key_size(objs.pub->maps.relay_frags), sizeof(key));
	while (!bpf_map_get_next_key(fd, prev, key)) {
		cr_assert_eq(bpf_map_lookup_elem(fd, key, &v), 0);
		cr_assert(v.expires_ns > now + timeout - 1000000000ULL &&
			  v.expires_ns <= now + timeout + 1000000000ULL, "expires in 30 s");
		v.expires_ns += delta_ns;
		cr_assert_eq(bpf_map_update_elem(fd, key, &v, BPF_EXIST), 0);
		prev = key;
		n++;
	}
	return n;
}

Test(front_frag, a_verdict_is_void_after_30_s)
{
	struct fixture in, out;

	for (int i = 0; i < 2; i++) {
		frag(&in, families[i].client, families[i].public, 40812, 5000, MF);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	}
	cr_assert_eq(age_verdicts(-(int64_t)(RELAY_FRAG_TIMEOUT_S + 1) * 1000000000LL), 2);
	for (int i = 0; i < 2; i++) {
		frag(&in, families[i].client, families[i].public, 0, 0, LATER);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC, "family %d", i);
		cr_assert_arr_eq(in.buf, out.buf, in.len);
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_FRAGMENT), 2);
	cr_assert_eq(counter(stats_fd, RELAY_C_FRAG_FWD), 0);
}

/* --rate-limit 5/2: the first fragment and one later one use the burst,
 * the next later one is over it. */
Test(front_frag, later_fragments_are_charged_to_the_sources_rate_limit)
{
	struct relay_front_config cfg = cfg_get();
	struct fixture in, out;

	cfg.rate_pps = 5;
	cfg.rate_burst = 2;
	cfg_put(&cfg);
	for (int i = 0; i < 2; i++) {
		const struct family *fam = &families[i];

		frag(&in, fam->client, fam->public, 40813, 5000, MF);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		frag(&in, fam->client, fam->public, 0, 0, LATER);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_SHOT, "family %d", i);
		cr_assert_eq(counter(stats_fd, RELAY_C_DROP_RATE_LIMIT), (uint64_t)i + 1);
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_FRAG_FWD), 2);
}

/* The tunnel in these tests is the test netns's lo (ifindex 1). */
static void narrow_tunnel(void)
{
	cr_assert_eq(system("ip link set lo mtu 1420"), 0);
}

/* A client on a 1500-byte link sends a datagram over a 1420 tunnel without
 * DF: the first fragment is too big, the stack fragments it further, and
 * the later ones (which would fit) go the same way, translated, so that
 * the datagram arrives whole even where netfilter reassembles it first. */
Test(front_frag, a_too_big_first_fragment_takes_its_datagram_to_the_stack)
{
	struct fixture in, out;

	narrow_tunnel();
	frag_sized(&in, CLIENT, PUBLIC, 40814, 5000, MF, 1500);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_OK);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND), "translated");
	cr_assert_eq(fix_ttl(&out), 64, "the stack decrements it");
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_STACK), 1);
	frag(&in, CLIENT, PUBLIC, 0, 0, LATER);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_OK);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND), "translated");
	cr_assert_eq(fix_ttl(&out), 64);
	assert_ip_only(&in, &out);
	cr_assert_eq(counter(stats_fd, RELAY_C_FRAG_STACK), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_FRAGMENT), 0);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 0);
}

/* A later fragment is checked against the tunnel's MTU too: without DF it
 * goes to the stack translated, over IPv6 it gets packet too big. */
Test(front_frag, a_too_big_later_fragment_is_fragmented_or_gets_packet_too_big)
{
	struct fixture in, out;
	const uint8_t *icmp;

	narrow_tunnel();
	frag(&in, CLIENT, PUBLIC, 40815, 5000, MF);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	frag_sized(&in, CLIENT, PUBLIC, 0, 0, MF | LATER, 1500);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_OK);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND), "translated");
	assert_ip_only(&in, &out);
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_STACK), 1);

	frag(&in, CLIENT6, PUBLIC6, 40815, 5000, MF);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	frag_sized(&in, CLIENT6, PUBLIC6, 0, 0, MF | LATER, 1500);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_daddr_is(&out, CLIENT6), "back to the client");
	icmp = fix_l4(&out);
	cr_assert_eq(icmp[0], 2, "packet too big");
	cr_assert_eq((uint32_t)(icmp[4] << 24 | icmp[5] << 16 | icmp[6] << 8 | icmp[7]), TUNNEL_MTU);
	cr_assert(fix_l4_csum_ok(&out));
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_ICMP), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_FRAG_FWD), 0);
}

/* IPv6 fragments are never fragmented again: a first one too big gets
 * packet too big (the client's next datagrams fit), its later ones that
 * fit are relayed as a router would. */
Test(front_frag, a_too_big_ipv6_first_fragment_gets_packet_too_big)
{
	struct fixture in, out;

	narrow_tunnel();
	frag_sized(&in, CLIENT6, PUBLIC6, 40816, 5000, MF, 1500);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_daddr_is(&out, CLIENT6));
	cr_assert_eq(fix_l4(&out)[0], 2, "packet too big");
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_ICMP), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_STACK), 0);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* IPv4 fragments: the first decides, the later ones (no ports) follow it
 * by IP id, both ways. */
#include <string.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

TestSuite(front_frag, .init = setup_l2, .fini = teardown);

#define MF 0x2000

/* A fragment of a UDP datagram (fix_build gives every packet IP id 0x1234):
 * the first with its UDP header, a later one as bare payload. */
static void frag(struct fixture *f, const char *src, const char *dst, uint16_t sport,
		 uint16_t dport, uint16_t frag_off)
{
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = IPPROTO_UDP, .frag_off = frag_off };
	struct fix_l4 l4 = { .sport = sport, .dport = dport, .payload_len = 64 };

	fix_build(f, true, &ip, &l4);
}

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
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_OK);
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
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_OK);
	frag(&in, CLIENT, PUBLIC, 0, 0, 185);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_OK);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
}

Test(front_frag, fragments_of_a_reply_follow_the_first_one_back)
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

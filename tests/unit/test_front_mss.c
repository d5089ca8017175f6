// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* MSS clamping on SYN (client -> backend) and SYN-ACK (backend -> client). */
#include <string.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

#define CLAMP 1380

static void setup_mss(void)
{
	struct relay_front_config cfg;

	front_setup(true, 0);
	cfg = cfg_get();
	cfg.mss[0] = CLAMP;
	cfg_put(&cfg);
}

TestSuite(front_mss, .init = setup_mss, .fini = teardown);

/* A TCP frame with the given options; the MSS value sits at mss_at
 * (offset in the options) + 2. */
static void syn(struct fixture *f, bool from_client, uint8_t flags, const uint8_t *opts,
		size_t len)
{
	struct fix_ip4 ip = { .src = from_client ? CLIENT : BACKEND,
			      .dst = from_client ? PUBLIC : CLIENT, .proto = IPPROTO_TCP };
	struct fix_l4 l4 = { .sport = from_client ? 40300 : 8080,
			     .dport = from_client ? 8080 : 40300, .tcp_flags = flags,
			     .options = opts, .options_len = len };

	fix_build(f, true, &ip, &l4);
}

static uint16_t mss_at(const struct fixture *f, size_t opt_off)
{
	const uint8_t *p = fix_l4(f) + 20 + opt_off + 2;

	return (uint16_t)(p[0] << 8 | p[1]);
}

/* out is in after the front (to BACKEND, or a reply from PUBLIC; TTL 63)
 * with the MSS value at opt_off clamped, byte for byte. */
static void assert_only_mss_changed(const struct fixture *in, const struct fixture *out,
				    size_t opt_off)
{
	struct fixture expected = *in;
	uint8_t *mss = (uint8_t *)fix_l4(&expected) + 20 + opt_off + 2;
	bool from_client = fix_saddr(in) == fix_addr(CLIENT);

	mss[0] = CLAMP >> 8;
	mss[1] = CLAMP & 0xff;
	fix_nat(&expected, from_client ? NULL : PUBLIC, from_client ? BACKEND : NULL, 63);
	assert_frame_eq(out, &expected, "only the MSS clamped");
}

Test(front_mss, syn_mss_is_lowered_to_the_tunnel_mss)
{
	const uint8_t opts[] = { 2, 4, 0x05, 0xb4, 4, 2, 1, 1 }; /* MSS 1460, SACK ok, NOPs */
	struct fixture in, out;

	syn(&in, true, FIX_SYN, opts, sizeof(opts));
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(mss_at(&out, 0), CLAMP);
	cr_assert(fix_l4_csum_ok(&out), "TCP checksum after the clamp");
	cr_assert(fix_ip_csum_ok(&out));
	assert_only_mss_changed(&in, &out, 0);
	cr_assert_eq(counter(stats_fd, RELAY_C_MSS_CLAMPED), 1);
}

Test(front_mss, syn_ack_mss_is_lowered_on_the_way_back, .init = with_tunnel)
{
	const uint8_t opts[] = { 1, 1, 4, 2, 2, 4, 0x23, 0x28 }; /* NOP NOP SACK, MSS 9000 */
	struct fixture in, out, reply, back;

	syn(&in, true, FIX_SYN, NULL, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	syn(&reply, false, FIX_SYN | FIX_ACK, opts, sizeof(opts));
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(mss_at(&back, 4), CLAMP);
	cr_assert(fix_l4_csum_ok(&back));
	assert_only_mss_changed(&reply, &back, 4);
}

Test(front_mss, a_smaller_mss_is_never_raised)
{
	const uint8_t opts[] = { 2, 4, 0x04, 0xb0 }; /* 1200 */
	struct fixture in, out;

	syn(&in, true, FIX_SYN, opts, sizeof(opts));
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(mss_at(&out, 0), 1200);
	cr_assert(fix_l4_csum_ok(&out));
	cr_assert_eq(counter(stats_fd, RELAY_C_MSS_CLAMPED), 0);
}

/* NOP first: the value sits at an odd offset from the TCP header's start. */
Test(front_mss, mss_at_an_odd_offset_keeps_the_checksum_valid)
{
	const uint8_t opts[] = { 1, 2, 4, 0x05, 0xb4, 1, 1, 0 };
	struct fixture in, out;

	syn(&in, true, FIX_SYN, opts, sizeof(opts));
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(mss_at(&out, 1), CLAMP);
	cr_assert(fix_l4_csum_ok(&out), "odd offset needs the byte-swapped words");
	assert_only_mss_changed(&in, &out, 1);
}

/* 36 bytes of other options before it: the walk reaches the last bytes. */
Test(front_mss, mss_in_the_last_option_bytes_is_found)
{
	uint8_t opts[40];
	struct fixture in, out;

	memset(opts, 1, sizeof(opts));
	opts[0] = 8; opts[1] = 10; /* timestamps, 10 bytes */
	opts[10] = 4; opts[11] = 2; /* SACK permitted */
	opts[36] = 2; opts[37] = 4; opts[38] = 0x05; opts[39] = 0xb4;
	syn(&in, true, FIX_SYN, opts, sizeof(opts));
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(mss_at(&out, 36), CLAMP);
	cr_assert(fix_l4_csum_ok(&out));
	assert_only_mss_changed(&in, &out, 36);
}

Test(front_mss, forty_nops_then_nothing_is_left_alone)
{
	uint8_t opts[40];
	struct fixture in, out;

	memset(opts, 1, sizeof(opts));
	syn(&in, true, FIX_SYN, opts, sizeof(opts));
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_l4_csum_ok(&out));
	assert_nat_frame(&in, &out, NULL, BACKEND, 63);
	cr_assert_eq(counter(stats_fd, RELAY_C_MSS_CLAMPED), 0);
}

/* An option whose length runs past the header ends the walk. */
Test(front_mss, truncated_mss_option_is_not_written)
{
	const uint8_t opts[] = { 1, 1, 1, 2, 4, 0x05, 0xb4, 0 };
	uint8_t bad[4] = { 1, 1, 2, 4 }; /* MSS kind+len, value past the header */
	struct fixture in, out;

	syn(&in, true, FIX_SYN, bad, sizeof(bad));
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	assert_nat_frame(&in, &out, NULL, BACKEND, 63);
	syn(&in, true, FIX_SYN, opts, sizeof(opts));
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(mss_at(&out, 3), CLAMP);
	cr_assert(fix_l4_csum_ok(&out));
}

Test(front_mss, data_segments_are_not_touched)
{
	const uint8_t opts[] = { 2, 4, 0x05, 0xb4 };
	struct fixture in, out;

	syn(&in, true, FIX_ACK, opts, sizeof(opts)); /* ACK, not a SYN */
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(mss_at(&out, 0), 1460);
}

Test(front_mss, mss_off_leaves_the_option)
{
	const uint8_t opts[] = { 2, 4, 0x05, 0xb4 };
	struct relay_front_config cfg = cfg_get();
	struct fixture in, out;

	cfg.mss[0] = 0;
	cfg_put(&cfg);
	syn(&in, true, FIX_SYN, opts, sizeof(opts));
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(mss_at(&out, 0), 1460);
}

/* A client reusing its address and port for a new connection while the
 * old one's entry is still CLOSING (its FINs seen; the backend's socket
 * in TIME_WAIT): the SYN is relayed, clamped, and the entry starts over. */
Test(front_mss, syn_on_a_closing_flow_starts_a_new_connection, .init = with_tunnel)
{
	const uint8_t opts[] = { 2, 4, 0x05, 0xb4 }; /* MSS 1460 */
	struct fixture in, out;
	struct relay_ct_value ct;

	syn(&in, true, FIX_SYN, opts, sizeof(opts));
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	syn(&in, false, FIX_SYN | FIX_ACK, opts, sizeof(opts));
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	syn(&in, false, FIX_FIN | FIX_ACK, NULL, 0); /* the server closes first */
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	syn(&in, true, FIX_FIN | FIX_ACK, NULL, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(ct_lookup(IPPROTO_TCP, 40300, 8080, &ct));
	cr_assert_eq(ct.tcp_state, RELAY_TCP_CLOSING);

	syn(&in, true, FIX_SYN, opts, sizeof(opts));
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT, "the new SYN is relayed");
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert_eq(mss_at(&out, 0), CLAMP);
	assert_only_mss_changed(&in, &out, 0);
	cr_assert(ct_lookup(IPPROTO_TCP, 40300, 8080, &ct));
	cr_assert_eq(ct.tcp_state, RELAY_TCP_SYN_SENT, "the entry starts over");
	cr_assert_eq(counter(stats_fd, RELAY_C_MSS_CLAMPED), 3);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 1, "the same entry");

	syn(&in, false, FIX_SYN | FIX_ACK, opts, sizeof(opts));
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(ct_lookup(IPPROTO_TCP, 40300, 8080, &ct));
	cr_assert_eq(ct.tcp_state, RELAY_TCP_ESTABLISHED);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --rate-limit: a token bucket per client source, in TC and XDP. */
#include <unistd.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

#define XDP_DROP_ 1
#define XDP_REDIRECT_ 4
#define CLIENT2 "203.0.113.11"

TestSuite(front_ratelimit, .init = setup_l3, .fini = teardown);

static void set_limit(__u32 pps, __u32 burst)
{
	struct relay_front_config cfg = cfg_get();

	cfg.rate_pps = pps;
	cfg.rate_burst = burst;
	cfg_put(&cfg);
}

/* A TCP segment from src to the public address through relay_front_in. */
static int send_tcp(const char *src, uint16_t sport, uint16_t dport)
{
	struct fixture in, out;

	tcp_frame(&in, src, PUBLIC, sport, dport, FIX_ACK, 100);
	return run_tc(in_fd, &in, &out, NULL);
}

Test(front_ratelimit, off_by_default)
{
	cr_assert_eq(cfg_get().rate_pps, 0);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(send_tcp(CLIENT, 41000, 8080), TC_ACT_REDIRECT);
	cr_assert_eq(counter(stats_fd, RELAY_C_DROP_RATE_LIMIT), 0);
}

/* rate 5/s (one token per 200 ms), burst 3: three pass at once, the
 * fourth is dropped. */
static void use_the_burst(uint16_t sport)
{
	set_limit(5, 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(send_tcp(CLIENT, sport, 8080), TC_ACT_REDIRECT, "packet %d", i + 1);
	cr_assert_eq(send_tcp(CLIENT, sport, 8080), TC_ACT_SHOT);
}

/* Over the limit: dropped and counted; another source has its own bucket. */
Test(front_ratelimit, burst_passes_then_the_source_is_dropped)
{
	use_the_burst(41001);
	cr_assert_eq(send_tcp(CLIENT, 41002, 443), TC_ACT_SHOT, "per source, not per flow");
	cr_assert_eq(counter(stats_fd, RELAY_C_DROP_RATE_LIMIT), 2);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 3);
	cr_assert_eq(send_tcp(CLIENT2, 41001, 8080), TC_ACT_REDIRECT, "other source flows");
}

/* 250 ms after the burst: one token back (one per 200 ms), not more. */
Test(front_ratelimit, tokens_come_back_at_the_rate)
{
	use_the_burst(41003);
	usleep(250000);
	cr_assert_eq(send_tcp(CLIENT, 41003, 8080), TC_ACT_REDIRECT, "refilled");
	cr_assert_eq(send_tcp(CLIENT, 41003, 8080), TC_ACT_SHOT, "only one token");
}

/* Only packets that would be relayed pay: the host's own ports never. */
Test(front_ratelimit, excluded_ports_neither_dropped_nor_charged)
{
	set_limit(1, 1);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(send_tcp(CLIENT, 41004, 22), TC_ACT_UNSPEC);
	cr_assert_eq(send_tcp(CLIENT, 41004, 8080), TC_ACT_REDIRECT);
	cr_assert_eq(send_tcp(CLIENT, 41004, 8080), TC_ACT_SHOT);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_EXCLUDED), 10);
}

/* The XDP fast path drops over the limit too, from the same bucket: the
 * flow's first packet (through TC) took one of the three tokens. */
Test(front_ratelimit, xdp_shares_the_bucket_and_drops, .init = with_xdp)
{
	struct fixture in, out;

	set_limit(5, 3);
	cr_assert_eq(send_tcp(CLIENT, 41005, 8080), TC_ACT_REDIRECT);
	tcp_frame(&in, CLIENT, PUBLIC, 41005, 8080, FIX_ACK, 100);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_DROP_);
	cr_assert_eq(counter(stats_fd, RELAY_C_DROP_RATE_LIMIT), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_XDP_FWD), 2);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ICMP errors about relayed flows, translated both ways: outer address,
 * quoted address, quoted IP and TCP/UDP checksums, ICMP checksum. */
#include <string.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

TestSuite(front_icmp, .init = setup_l2, .fini = teardown);

static void relay_udp(uint16_t cport, uint16_t sport)
{
	struct fixture in, out;

	udp_frame(&in, true, CLIENT, PUBLIC, cport, sport, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
}

static void assert_no_backend_address(const struct fixture *f)
{
	uint32_t b = fix_addr(BACKEND);

	cr_assert_null(memmem(f->buf, f->len, &b, 4), "the backend's address leaked");
}

Test(front_icmp, port_unreachable_from_the_backend_quotes_the_public_address)
{
	struct fixture quoted, err, out, q;

	relay_udp(40600, 53);
	/* What the backend received: CLIENT:40600 -> BACKEND:53, whole. */
	udp_frame(&quoted, false, CLIENT, BACKEND, 40600, 53, false);
	icmp_error_frame(&err, true, BACKEND, CLIENT, 3, 3, 0, &quoted, quoted.len);
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_saddr(&out), fix_addr(PUBLIC));
	cr_assert_eq(fix_daddr(&out), fix_addr(CLIENT));
	cr_assert(fix_ip_csum_ok(&out));
	cr_assert(fix_l4_csum_ok(&out), "ICMP checksum over the rewritten quote");
	icmp_quoted(&out, &q);
	cr_assert_eq(fix_saddr(&q), fix_addr(CLIENT));
	cr_assert_eq(fix_daddr(&q), fix_addr(PUBLIC));
	cr_assert(fix_ip_csum_ok(&q), "quoted IP checksum");
	cr_assert(fix_l4_csum_ok(&q), "quoted UDP checksum");
	assert_no_backend_address(&out);
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_ERR_RET), 1);
}

Test(front_icmp, frag_needed_about_tcp_keeps_the_mtu_and_fixes_the_quoted_tcp_checksum)
{
	struct fixture in, out, quoted, err, q;

	tcp_frame(&in, CLIENT, PUBLIC, 40601, 8080, 0x10, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	tcp_frame(&quoted, CLIENT, BACKEND, 40601, 8080, 0x10, 0);
	/* tcp_frame builds L2: quote from its IP header, all 40 bytes. */
	icmp_error_frame(&err, true, BACKEND, CLIENT, 3, 4, 1380, &quoted, 40);
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_l4_csum_ok(&out));
	cr_assert_eq(fix_l4(&out)[6] << 8 | fix_l4(&out)[7], 1380, "next-hop MTU kept");
	icmp_quoted(&out, &q);
	cr_assert_eq(fix_daddr(&q), fix_addr(PUBLIC));
	cr_assert(fix_ip_csum_ok(&q));
	cr_assert(fix_l4_csum_ok(&q), "quoted TCP checksum");
	assert_no_backend_address(&out);
}

/* The minimal quote (IP header + 8 bytes) has no TCP checksum to fix. */
Test(front_icmp, minimal_quote_of_tcp_is_translated)
{
	struct fixture in, out, quoted, err, q;

	tcp_frame(&in, CLIENT, PUBLIC, 40602, 8080, 0x10, 0);
	run_tc(in_fd, &in, &out, NULL);
	tcp_frame(&quoted, CLIENT, BACKEND, 40602, 8080, 0x10, 0);
	icmp_error_frame(&err, true, BACKEND, CLIENT, 11, 0, 0, &quoted, 28);
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_l4_csum_ok(&out));
	icmp_quoted(&out, &q);
	cr_assert_eq(fix_daddr(&q), fix_addr(PUBLIC));
	cr_assert(fix_ip_csum_ok(&q));
	cr_assert_arr_eq(fix_l4(&q), fix_l4(&quoted), 8, "quoted ports untouched");
}

Test(front_icmp, time_exceeded_about_an_echo_request)
{
	struct fixture in, out, quoted, err, q;

	icmp_echo_frame(&in, true, CLIENT, PUBLIC, 8, 0x77);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	icmp_echo_frame(&quoted, false, CLIENT, BACKEND, 8, 0x77);
	icmp_error_frame(&err, true, BACKEND, CLIENT, 11, 0, 0, &quoted, 28);
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_l4_csum_ok(&out));
	icmp_quoted(&out, &q);
	cr_assert_eq(fix_daddr(&q), fix_addr(PUBLIC));
	cr_assert(fix_ip_csum_ok(&q));
	assert_no_backend_address(&out);
}

Test(front_icmp, error_about_no_relayed_flow_is_not_translated)
{
	struct fixture quoted, err, out;

	udp_frame(&quoted, false, CLIENT, BACKEND, 40603, 53, false);
	icmp_error_frame(&err, true, BACKEND, CLIENT, 3, 3, 0, &quoted, quoted.len);
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_OK);
	cr_assert_arr_eq(err.buf, out.buf, err.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NO_FLOW), 1);
}

Test(front_icmp, client_error_about_a_relayed_flow_goes_to_the_backend)
{
	struct fixture quoted, err, out, q;

	relay_udp(40604, 53);
	/* What the client received: PUBLIC:53 -> CLIENT:40604. */
	udp_frame(&quoted, false, PUBLIC, CLIENT, 53, 40604, false);
	icmp_error_frame(&err, true, CLIENT, PUBLIC, 3, 3, 0, &quoted, quoted.len);
	cr_assert_eq(run_tc(in_fd, &err, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert_eq(fix_saddr(&out), fix_addr(CLIENT));
	cr_assert(fix_ip_csum_ok(&out));
	cr_assert(fix_l4_csum_ok(&out));
	icmp_quoted(&out, &q);
	cr_assert_eq(fix_saddr(&q), fix_addr(BACKEND));
	cr_assert(fix_ip_csum_ok(&q));
	cr_assert(fix_l4_csum_ok(&q));
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_ERR_FWD), 1);
}

Test(front_icmp, client_error_about_the_hosts_own_traffic_stays_with_the_host)
{
	struct fixture quoted, err, out;

	udp_frame(&quoted, false, PUBLIC, CLIENT, 33333, 53, false);
	icmp_error_frame(&err, true, CLIENT, PUBLIC, 3, 3, 0, &quoted, quoted.len);
	cr_assert_eq(run_tc(in_fd, &err, &out, NULL), TC_ACT_OK);
	cr_assert_arr_eq(err.buf, out.buf, err.len);
}

static void set_sole_public(void)
{
	struct relay_front_config cfg = cfg_get();

	cfg.sole_public.v4 = fix_addr(PUBLIC);
	cfg.tunnel_ip.v4 = fix_addr("10.22.22.2");
	cfg_put(&cfg);
}

Test(front_icmp, with_one_public_address_an_error_about_an_evicted_flow_is_translated)
{
	struct fixture quoted, err, out, q;

	set_sole_public();
	udp_frame(&quoted, false, CLIENT, BACKEND, 40605, 53, false);
	icmp_error_frame(&err, true, BACKEND, CLIENT, 3, 3, 0, &quoted, quoted.len);
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_REDIRECT);
	icmp_quoted(&out, &q);
	cr_assert_eq(fix_daddr(&q), fix_addr(PUBLIC));
	cr_assert(fix_l4_csum_ok(&out));
	assert_no_backend_address(&out);
}

/* The backend's error about the front's own packet (from its tunnel
 * address) is the front's, even when replies are translated statelessly. */
Test(front_icmp, error_about_the_fronts_own_packet_is_not_translated)
{
	struct fixture quoted, err, out;

	set_sole_public();
	udp_frame(&quoted, false, "10.22.22.2", BACKEND, 40606, 53, false);
	icmp_error_frame(&err, true, BACKEND, "10.22.22.2", 3, 3, 0, &quoted, quoted.len);
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_OK);
	cr_assert_arr_eq(err.buf, out.buf, err.len);
}

/* Link-layer padding after an error's total length is no quote: a TCP
 * checksum in it must not be "fixed" (found by the fuzzer: the ICMP
 * checksum, which does not cover the padding, came out wrong). */
Test(front_icmp, padding_after_a_minimal_quote_is_neither_read_nor_changed)
{
	struct fixture in, out, quoted, err;

	tcp_frame(&in, CLIENT, PUBLIC, 40610, 8080, 0x10, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	tcp_frame(&quoted, CLIENT, BACKEND, 40610, 8080, 0x10, 0);
	icmp_error_frame(&err, true, BACKEND, CLIENT, 11, 0, 0, &quoted, 28);
	/* The rest of the quoted TCP header follows as padding. */
	memcpy(err.buf + err.len, fix_ip(&quoted) + 28, 12);
	err.len += 12;
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_l4_csum_ok(&out), "ICMP checksum");
	cr_assert_arr_eq(out.buf + err.len - 12, fix_ip(&quoted) + 28, 12, "padding changed");
}

Test(front_icmp, quote_cut_by_the_total_length_is_not_translated)
{
	struct fixture in, out, quoted, err;
	uint8_t *ip;

	udp_frame(&in, true, CLIENT, PUBLIC, 40611, 53, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	udp_frame(&quoted, false, CLIENT, BACKEND, 40611, 53, false);
	icmp_error_frame(&err, true, BACKEND, CLIENT, 3, 3, 0, &quoted, 28);
	/* The total length ends inside the quoted ports: the frame's last 4
	 * bytes become padding. */
	ip = err.buf + err.l3_off;
	ip[3] -= 4;
	fix_set_csums(&err, true);
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_OK);
	cr_assert_arr_eq(err.buf, out.buf, err.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NO_FLOW), 1);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* UDP and ICMP echo through the front, both ways (other protocols: front_policy). */
#include <string.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

TestSuite(front_proto, .init = setup_l2_tunnel, .fini = teardown);

Test(front_proto, udp_is_relayed_both_ways_with_valid_checksums)
{
	struct fixture in, out, reply, back;
	struct relay_ct_value ct;

	udp_frame(&in, true, CLIENT, PUBLIC, 40100, 53, false);
	cr_assert_neq(fix_l4_csum_field(&in), 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert_eq(fix_saddr(&out), fix_addr(CLIENT));
	cr_assert(fix_ip_csum_ok(&out));
	cr_assert_neq(fix_l4_csum_field(&out), 0);
	cr_assert(fix_l4_csum_ok(&out), "UDP checksum");
	assert_nat_frame(&in, &out, NULL, BACKEND, 63);
	cr_assert(ct_lookup(IPPROTO_UDP, 40100, 53, &ct), "UDP flow tracked");
	cr_assert_eq(ct.public_ip.v4, fix_addr(PUBLIC));

	udp_frame(&reply, true, BACKEND, CLIENT, 53, 40100, false);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_saddr(&back), fix_addr(PUBLIC));
	cr_assert(fix_ip_csum_ok(&back));
	cr_assert_neq(fix_l4_csum_field(&back), 0);
	cr_assert(fix_l4_csum_ok(&back));
	assert_nat_frame(&reply, &back, PUBLIC, NULL, 63);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_PACKETS), 1);
}

Test(front_proto, udp_checksum_zero_stays_zero_both_ways)
{
	struct fixture in, out, reply, back;

	udp_frame(&in, true, CLIENT, PUBLIC, 40101, 5000, true);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert_eq(fix_l4_csum_field(&out), 0, "no checksum stays no checksum");
	cr_assert(fix_ip_csum_ok(&out));

	udp_frame(&reply, true, BACKEND, CLIENT, 5000, 40101, true);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_saddr(&back), fix_addr(PUBLIC));
	cr_assert_eq(fix_l4_csum_field(&back), 0);
	cr_assert(fix_ip_csum_ok(&back));
}

Test(front_proto, icmp_echo_is_relayed_by_identifier_both_ways)
{
	struct fixture in, out, reply, back;
	struct relay_ct_value ct;

	icmp_echo_frame(&in, true, CLIENT, PUBLIC, 8, 0x4242);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert(fix_ip_csum_ok(&out));
	cr_assert(fix_l4_csum_ok(&out), "ICMP checksum has no pseudo-header: unchanged, valid");
	cr_assert_arr_eq(fix_l4(&in), fix_l4(&out), in.len - 34, "ICMP message untouched");
	cr_assert(ct_lookup(IPPROTO_ICMP, 0x4242, 0x4242, &ct), "echo tracked by identifier");

	icmp_echo_frame(&reply, true, BACKEND, CLIENT, 0, 0x4242);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_saddr(&back), fix_addr(PUBLIC));
	cr_assert(fix_ip_csum_ok(&back));
	cr_assert(fix_l4_csum_ok(&back));
	cr_assert(ct_lookup(IPPROTO_ICMP, 0x4242, 0x4242, &ct));
	cr_assert_eq(ct.packets[RELAY_DIR_REPLY], 1);
}

Test(front_proto, echo_reply_of_another_identifier_is_not_translated)
{
	struct fixture in, out, reply, back;

	icmp_echo_frame(&in, true, CLIENT, PUBLIC, 8, 0x4243);
	run_tc(in_fd, &in, &out, NULL);
	icmp_echo_frame(&reply, true, BACKEND, CLIENT, 0, 0x4244);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_SHOT, "dropped, untranslated");
	cr_assert_eq(counter(stats_fd, RELAY_C_DROP_REPLY_NO_FLOW), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_PACKETS), 0);
}

/* An echo reply arriving on the public device answers the front's own ping. */
Test(front_proto, echo_reply_to_the_front_stays_with_the_front)
{
	struct fixture in, out;

	icmp_echo_frame(&in, true, CLIENT, PUBLIC, 0, 0x4245);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_ICMP), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 0);
}

/* A backend's echo request is not a reply: never translated. */
Test(front_proto, echo_request_from_the_backend_is_not_translated)
{
	struct fixture in, out, reply, back;

	icmp_echo_frame(&in, true, CLIENT, PUBLIC, 8, 0x4246);
	run_tc(in_fd, &in, &out, NULL);
	icmp_echo_frame(&reply, true, BACKEND, CLIENT, 8, 0x4246);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(reply.buf, back.buf, reply.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_ICMP), 1);
}

/* Non-first fragments carry no ports: not relayed here (yet), counted. */
Test(front_proto, non_first_fragment_passes_counted)
{
	struct fixture in, out;
	struct fix_ip4 ip = { .src = CLIENT, .dst = PUBLIC, .proto = IPPROTO_UDP,
			      .frag_off = 185 };
	struct fix_l4 l4 = { .payload_len = 20 };

	fix_build(&in, true, &ip, &l4);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_FRAGMENT), 1);
}

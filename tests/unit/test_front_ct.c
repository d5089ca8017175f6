// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Conntrack: per-protocol/state timeouts and stateless reverse translation
 * of replies whose flow is gone, when the mapping is unambiguous. */
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "inspect.h"
#include "run.h"
#include "test_front_env.h"

#define FRONT_TUN "10.22.22.2"

TestSuite(front_ct, .init = setup_l2, .fini = teardown);

static struct relay_ct_key key_of(uint8_t proto, uint16_t cport, uint16_t sport)
{
	struct relay_ct_key key = { .family = AF_INET, .proto = proto };

	key.client.v4 = fix_addr(CLIENT);
	key.client_port = htons(cport);
	key.service_port = htons(sport);
	return key;
}

/* Makes the flow look idle for `idle_s` seconds, in the given TCP state. */
static void age(uint8_t proto, uint16_t cport, uint16_t sport, __u64 idle_s, int tcp_state)
{
	struct relay_ct_key key = key_of(proto, cport, sport);
	struct relay_ct_value ct;

	cr_assert_eq(bpf_map_lookup_elem(ct_fd, &key, &ct), 0);
	ct.last_seen_ns = inspect_now_ns() - idle_s * 1000000000ULL;
	if (tcp_state >= 0)
		ct.tcp_state = tcp_state;
	cr_assert_eq(bpf_map_update_elem(ct_fd, &key, &ct, BPF_EXIST), 0);
}

static int udp_reply(uint16_t cport, uint16_t sport, const char *to)
{
	struct fixture reply, back;

	udp_frame(&reply, true, BACKEND, to, sport, cport, false);
	return run_tc(rev_fd, &reply, &back, NULL);
}

static int tcp_reply(uint16_t cport, uint16_t sport, uint8_t flags, struct fixture *back)
{
	struct fixture reply;

	tcp_frame(&reply, BACKEND, CLIENT, sport, cport, flags, 10);
	return run_tc(rev_fd, &reply, back, NULL);
}

static void client_udp(uint16_t cport, uint16_t sport)
{
	struct fixture in, out;

	udp_frame(&in, true, CLIENT, PUBLIC, cport, sport, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
}

Test(front_ct, unreplied_udp_flow_expires_after_30s)
{
	client_udp(40500, 53);
	age(IPPROTO_UDP, 40500, 53, 29, -1);
	cr_assert_eq(udp_reply(40500, 53, CLIENT), TC_ACT_REDIRECT, "alive at 29 s");
	client_udp(40501, 53);
	age(IPPROTO_UDP, 40501, 53, 31, -1);
	cr_assert_eq(udp_reply(40501, 53, CLIENT), TC_ACT_OK, "dead at 31 s");
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_EXPIRED), 1);
}

/* The programs read a coarse clock that CPUs may see a tick apart: an entry
 * written on one CPU can look last seen "in the future" on another. It is
 * alive, not idle for 2^64 ns. */
Test(front_ct, entry_seen_ahead_of_the_clock_is_alive)
{
	struct relay_ct_key key = key_of(IPPROTO_UDP, 40510, 53);
	struct relay_ct_value ct;

	client_udp(40510, 53);
	cr_assert_eq(bpf_map_lookup_elem(ct_fd, &key, &ct), 0);
	ct.last_seen_ns = inspect_now_ns() + 20 * 1000000ULL;
	cr_assert_eq(bpf_map_update_elem(ct_fd, &key, &ct, BPF_EXIST), 0);
	cr_assert_eq(udp_reply(40510, 53, CLIENT), TC_ACT_REDIRECT);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_EXPIRED), 0);
}

Test(front_ct, replied_udp_flow_lives_120s)
{
	client_udp(40502, 53);
	cr_assert_eq(udp_reply(40502, 53, CLIENT), TC_ACT_REDIRECT);
	age(IPPROTO_UDP, 40502, 53, 100, -1);
	cr_assert_eq(udp_reply(40502, 53, CLIENT), TC_ACT_REDIRECT, "stream: alive at 100 s");
	age(IPPROTO_UDP, 40502, 53, 121, -1);
	cr_assert_eq(udp_reply(40502, 53, CLIENT), TC_ACT_OK, "dead at 121 s");
}

Test(front_ct, tcp_timeouts_follow_the_state)
{
	struct fixture in, out, back;

	tcp_frame(&in, CLIENT, PUBLIC, 40503, 8080, 0x02, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	age(IPPROTO_TCP, 40503, 8080, 3600, RELAY_TCP_ESTABLISHED);
	cr_assert_eq(tcp_reply(40503, 8080, 0x10, &back), TC_ACT_REDIRECT,
		     "established: alive after an idle hour");
	age(IPPROTO_TCP, 40503, 8080, 121, RELAY_TCP_SYN_SENT);
	cr_assert_eq(tcp_reply(40503, 8080, 0x12, &back), TC_ACT_OK, "syn_sent: dead at 121 s");

	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	age(IPPROTO_TCP, 40503, 8080, 119, RELAY_TCP_CLOSING);
	cr_assert_eq(tcp_reply(40503, 8080, 0x10, &back), TC_ACT_REDIRECT);
	age(IPPROTO_TCP, 40503, 8080, 121, RELAY_TCP_CLOSING);
	cr_assert_eq(tcp_reply(40503, 8080, 0x10, &back), TC_ACT_OK, "closing: dead at 121 s");
}

Test(front_ct, an_expired_flow_is_recorded_again_by_the_client)
{
	struct relay_ct_value ct;

	client_udp(40504, 53);
	age(IPPROTO_UDP, 40504, 53, 31, -1);
	client_udp(40504, 53);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 2);
	cr_assert(ct_lookup(IPPROTO_UDP, 40504, 53, &ct));
	cr_assert_eq(ct.packets[RELAY_DIR_ORIG], 1, "a fresh entry");
}

static void set_sole_public(void)
{
	struct relay_front_config cfg = cfg_get();

	cfg.sole_public.v4 = fix_addr(PUBLIC);
	cfg.tunnel_ip.v4 = fix_addr(FRONT_TUN);
	cfg_put(&cfg);
}

Test(front_ct, evicted_flow_reply_is_translated_with_one_public_address)
{
	struct relay_ct_key key = key_of(IPPROTO_TCP, 40505, 8080);
	struct relay_ct_value ct;
	struct fixture in, out, back;

	set_sole_public();
	tcp_frame(&in, CLIENT, PUBLIC, 40505, 8080, 0x10, 10);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(bpf_map_delete_elem(ct_fd, &key), 0, "evicted");
	cr_assert_eq(tcp_reply(40505, 8080, 0x10, &back), TC_ACT_REDIRECT);
	cr_assert_eq(fix_saddr(&back), fix_addr(PUBLIC));
	cr_assert(fix_ip_csum_ok(&back));
	cr_assert(fix_l4_csum_ok(&back));
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), 1);
	cr_assert(ct_lookup(IPPROTO_TCP, 40505, 8080, &ct), "flow recorded again");
	cr_assert_eq(ct.public_ip.v4, fix_addr(PUBLIC));
	cr_assert_eq(ct.tcp_state, RELAY_TCP_ESTABLISHED);
}

Test(front_ct, without_a_sole_public_address_no_flow_means_no_translation)
{
	cr_assert_eq(udp_reply(40506, 53, CLIENT), TC_ACT_OK);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NO_FLOW), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), 0);
}

Test(front_ct, backend_traffic_to_the_front_itself_is_never_translated)
{
	struct fixture back;

	set_sole_public();
	cr_assert_eq(udp_reply(40507, 53, FRONT_TUN), TC_ACT_OK);
	cr_assert_eq(tcp_reply(40508, 8080, 0x02, &back), TC_ACT_OK, "a SYN is no reply");
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), 0);
	cr_assert_eq(udp_reply(40509, 53, CLIENT), TC_ACT_REDIRECT);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), 1);
}

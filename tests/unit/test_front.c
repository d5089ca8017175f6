// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The front programs on crafted frames: bytes, checksums, verdicts, maps. */
#include <string.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

TestSuite(front_in, .init = setup_l2, .fini = teardown);

Test(front_in, tcp_to_public_address_is_rewritten_to_backend_and_redirected)
{
	struct fixture in, out;

	tcp_frame(&in, CLIENT, PUBLIC, 40000, 8080, FIX_SYN, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert_eq(fix_saddr(&out), fix_addr(CLIENT), "the client's address is kept");
	cr_assert_eq(fix_ttl(&out), 63, "TTL decremented");
	cr_assert(fix_ip_csum_ok(&out), "IPv4 checksum");
	cr_assert(fix_l4_csum_ok(&out), "TCP checksum");
	assert_nat_frame(&in, &out, NULL, BACKEND, 63);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 1);
}

Test(front_in, data_segment_checksum_stays_valid)
{
	struct fixture in, out;

	tcp_frame(&in, CLIENT, PUBLIC, 40001, 443, FIX_PSH | FIX_ACK, 1000);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_ip_csum_ok(&out));
	cr_assert(fix_l4_csum_ok(&out));
	assert_nat_frame(&in, &out, NULL, BACKEND, 63);
}

Test(front_in, flow_is_recorded_with_public_address)
{
	struct fixture in, out;
	struct relay_ct_key key = { .family = AF_INET, .proto = IPPROTO_TCP };
	struct relay_ct_value ct;

	tcp_frame(&in, CLIENT, PUBLIC, 40002, 8080, FIX_SYN, 0);
	run_tc(in_fd, &in, &out, NULL);
	key.client.v4 = fix_addr(CLIENT);
	key.client_port = htons(40002);
	key.service_port = htons(8080);
	cr_assert_eq(bpf_map_lookup_elem(ct_new_fd, &key, &ct), 0, "an unreplied flow's entry");
	cr_assert_neq(bpf_map_lookup_elem(ct_fd, &key, &ct), 0, "not among the replied ones");
	cr_assert_eq(bpf_map_lookup_elem(ct_new_fd, &key, &ct), 0);
	cr_assert_eq(ct.public_ip.v4, fix_addr(PUBLIC));
	cr_assert_eq(ct.packets[RELAY_DIR_ORIG], 1);
	cr_assert_eq(ct.bytes[RELAY_DIR_ORIG], in.len);
	cr_assert_eq(ct.tcp_state, RELAY_TCP_SYN_SENT);
}

/* Into an L2 tunnel: a packet finding no fresh cached hop leaves through
 * bpf_redirect_neigh (the kernel writes the MACs at transmit: the frame's
 * own are untouched here) and refreshes the per-CPU cache; the next ones
 * carry the neighbour's MACs from it and take a plain bpf_redirect. */
Test(front_in, l2_tunnel_frames_get_the_cached_neighbour_macs)
{
	struct fixture in, out;

	stay_on_this_cpu();
	l2_tunnel_up();
	tcp_frame(&in, CLIENT, PUBLIC, 40010, 8080, FIX_SYN, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_arr_eq(out.buf, in.buf, 2 * 6, "first packet: MACs left to the kernel");
	tcp_frame(&in, CLIENT, PUBLIC, 40010, 8080, FIX_ACK, 100);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	assert_macs(&out, 0x01, 0xfe);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert(fix_ip_csum_ok(&out) && fix_l4_csum_ok(&out));
	cr_assert_arr_eq(out.buf + 12, in.buf + 12, 2, "EtherType");
}

Test(front_in, excluded_ssh_port_passes_untouched)
{
	struct fixture in, out;

	tcp_frame(&in, CLIENT, PUBLIC, 40003, 22, FIX_SYN, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_EXCLUDED), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 0);
}

Test(front_in, traffic_not_to_a_public_address_passes_untouched)
{
	struct fixture in, out;

	tcp_frame(&in, CLIENT, OTHER, 40004, 8080, FIX_SYN, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NOT_PUBLIC), 1);
}

Test(front_in, truncated_tcp_header_is_counted_malformed)
{
	struct fixture in, out;

	tcp_frame(&in, CLIENT, PUBLIC, 40006, 8080, FIX_SYN, 0);
	in.len = FIX_ETH_LEN + 20 + 10;
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_MALFORMED), 1);
}

Test(front_in, non_ip_frame_passes)
{
	struct fixture in, out;

	tcp_frame(&in, CLIENT, PUBLIC, 40007, 8080, FIX_SYN, 0);
	in.buf[12] = 0x08;
	in.buf[13] = 0x06; /* ARP */
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NOT_IP), 1);
}

TestSuite(front_rev, .init = setup_l2_tunnel, .fini = teardown);

Test(front_rev, reply_source_is_restored_to_the_public_address)
{
	struct fixture in, out, reply, back;

	tcp_frame(&in, CLIENT, PUBLIC, 40010, 8080, FIX_SYN, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);

	tcp_frame(&reply, BACKEND, CLIENT, 8080, 40010, FIX_SYN | FIX_ACK, 0);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_saddr(&back), fix_addr(PUBLIC));
	cr_assert_eq(fix_daddr(&back), fix_addr(CLIENT));
	cr_assert_eq(fix_ttl(&back), 63);
	cr_assert(fix_ip_csum_ok(&back));
	cr_assert(fix_l4_csum_ok(&back));
	assert_nat_frame(&reply, &back, PUBLIC, NULL, 63);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_PACKETS), 1);
}

Test(front_rev, syn_ack_marks_the_flow_established)
{
	struct fixture in, out, reply, back;
	struct relay_ct_key key = { .family = AF_INET, .proto = IPPROTO_TCP };
	struct relay_ct_value ct;

	tcp_frame(&in, CLIENT, PUBLIC, 40011, 8080, FIX_SYN, 0);
	run_tc(in_fd, &in, &out, NULL);
	tcp_frame(&reply, BACKEND, CLIENT, 8080, 40011, FIX_SYN | FIX_ACK, 0);
	run_tc(rev_fd, &reply, &back, NULL);
	key.client.v4 = fix_addr(CLIENT);
	key.client_port = htons(40011);
	key.service_port = htons(8080);
	cr_assert_eq(bpf_map_lookup_elem(ct_fd, &key, &ct), 0, "replied: in the main table");
	cr_assert_neq(bpf_map_lookup_elem(ct_new_fd, &key, &ct), 0, "and no longer unreplied");
	cr_assert_eq(bpf_map_lookup_elem(ct_fd, &key, &ct), 0);
	cr_assert_eq(ct.tcp_state, RELAY_TCP_ESTABLISHED);
	cr_assert_eq(ct.packets[RELAY_DIR_REPLY], 1);
}

/* Translated it cannot be (two public addresses: no stateless replies), and
 * the stack would forward it from the backend's tunnel address. */
Test(front_rev, reply_without_a_flow_is_dropped)
{
	struct fixture reply, back;

	tcp_frame(&reply, BACKEND, CLIENT, 8080, 40012, FIX_SYN | FIX_ACK, 0);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_SHOT);
	cr_assert_eq(counter(stats_fd, RELAY_C_DROP_REPLY_NO_FLOW), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_PACKETS), 0);
}

Test(front_rev, packet_not_from_the_backend_is_never_translated)
{
	struct fixture in, out, reply, back;

	tcp_frame(&in, CLIENT, PUBLIC, 40013, 8080, FIX_SYN, 0);
	run_tc(in_fd, &in, &out, NULL);
	/* Same ports as the flow, but from another source: a spoofing attempt. */
	tcp_frame(&reply, OTHER, CLIENT, 8080, 40013, FIX_SYN | FIX_ACK, 0);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(reply.buf, back.buf, reply.len);
}

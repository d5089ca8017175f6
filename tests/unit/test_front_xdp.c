// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The XDP fast path: established flows only, everything else to TC. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

#define XDP_PASS_ 2
#define XDP_REDIRECT_ 4

TestSuite(front_xdp, .init = setup_xdp, .fini = teardown);

/* A flow opened through the TC program, as a SYN would. */
static void open_flow(uint8_t proto, uint16_t cport, uint16_t sport)
{
	struct fixture in, out;

	if (proto == IPPROTO_TCP)
		tcp_frame(&in, CLIENT, PUBLIC, cport, sport, FIX_SYN, 0);
	else
		udp_frame(&in, true, CLIENT, PUBLIC, cport, sport, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
}

/* out holds the IP packet (the Ethernet header is gone for an L3 tunnel). */
static void assert_relayed_l3(const struct fixture *in, struct fixture *out)
{
	out->l3_off = 0;
	cr_assert_eq(out->len, in->len - FIX_ETH_LEN);
	cr_assert_eq(fix_daddr(out), fix_addr(BACKEND));
	cr_assert_eq(fix_saddr(out), fix_addr(CLIENT));
	cr_assert_eq(fix_ttl(out), 63);
	cr_assert(fix_ip_csum_ok(out));
	cr_assert(fix_l4_csum_ok(out));
}

Test(front_xdp, established_tcp_is_relayed_with_valid_checksums)
{
	struct fixture in, out;

	open_flow(IPPROTO_TCP, 40900, 8080);
	tcp_frame(&in, CLIENT, PUBLIC, 40900, 8080, FIX_PSH | FIX_ACK, 1000);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	assert_relayed_l3(&in, &out);
	cr_assert_arr_eq(fix_l4(&out) + 20, fix_l4(&in) + 20, 1000, "payload untouched");
	cr_assert_eq(counter(stats_fd, RELAY_C_XDP_FWD), 1);
}

Test(front_xdp, udp_checksums_and_checksum_zero)
{
	struct fixture in, out;

	open_flow(IPPROTO_UDP, 40901, 53);
	udp_frame(&in, true, CLIENT, PUBLIC, 40901, 53, false);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	assert_relayed_l3(&in, &out);
	udp_frame(&in, true, CLIENT, PUBLIC, 40901, 53, true);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	out.l3_off = 0;
	cr_assert_eq(fix_l4_csum_field(&out), 0, "no checksum stays no checksum");
}

Test(front_xdp, new_flows_and_syns_go_to_tc_untouched)
{
	struct fixture in, out;

	tcp_frame(&in, CLIENT, PUBLIC, 40902, 8080, FIX_ACK, 10);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_, "no flow yet");
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	open_flow(IPPROTO_TCP, 40902, 8080);
	tcp_frame(&in, CLIENT, PUBLIC, 40902, 8080, FIX_SYN, 0);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_, "SYN: MSS is TC's");
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_XDP_FWD), 0);
}

Test(front_xdp, too_big_goes_to_tc)
{
	struct fixture in, out;

	cr_assert_eq(system("ip link set lo mtu 1420"), 0);
	open_flow(IPPROTO_TCP, 40903, 8080);
	tcp_frame(&in, CLIENT, PUBLIC, 40903, 8080, FIX_ACK, 1400);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
}

/* An L2 tunnel needs a resolved neighbour (none in the test's netns). The
 * suite's L3 front is switched to L2 in place: a second .init would load a
 * second front over the first one and leak it. */
Test(front_xdp, l2_tunnel_without_neighbour_goes_to_tc_untouched)
{
	struct relay_front_config cfg = cfg_get();
	struct fixture in, out;

	cfg.tunnel_l2 = true;
	cfg_put(&cfg);
	open_flow(IPPROTO_TCP, 40904, 8080);
	tcp_frame(&in, CLIENT, PUBLIC, 40904, 8080, FIX_ACK, 10);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
}

/* The tunnel's MTU and neighbour are asked of the kernel once per
 * RELAY_HOP_REFRESH_NS per CPU, not per packet. */
static uint64_t ns_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000000000ULL + t1.tv_nsec - t0->tv_nsec;
}

static void wait_hop_refresh(void)
{
	usleep(RELAY_HOP_REFRESH_NS / 1000 + 20000);
}

Test(front_xdp, l2_tunnel_takes_the_neighbours_mac_within_one_refresh)
{
	struct fixture in, out;
	struct timespec t0;

	stay_on_this_cpu();
	l2_tunnel_up();
	open_flow(IPPROTO_TCP, 40905, 8080);
	tcp_frame(&in, CLIENT, PUBLIC, 40905, 8080, FIX_ACK, 10);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	assert_macs(&out, 0x01, 0xfe);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert(fix_ip_csum_ok(&out) && fix_l4_csum_ok(&out));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(system("ip neigh replace 10.22.22.1 lladdr 02:00:00:00:00:02 dev t0 nud permanent"), 0);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	/* Cached: the same MACs, unless this machine took half a refresh
	 * period to get here. */
	if (ns_since(&t0) < RELAY_HOP_REFRESH_NS / 2)
		assert_macs(&out, 0x01, 0xfe);
	wait_hop_refresh();
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	assert_macs(&out, 0x02, 0xfe);
}

/* A failed lookup is remembered for a refresh period too: a front whose
 * lookups keep failing (forwarding off, neighbour gone) does not pay them on
 * every packet. Once the neighbour appears, XDP takes over within a period. */
Test(front_xdp, unresolved_neighbour_is_asked_again_only_when_due)
{
	struct fixture in, out;
	struct timespec t0;
	int second;

	stay_on_this_cpu();
	l2_tunnel_up();
	cr_assert_eq(system("ip neigh del 10.22.22.1 dev t0"), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	open_flow(IPPROTO_TCP, 40908, 8080);
	tcp_frame(&in, CLIENT, PUBLIC, 40908, 8080, FIX_ACK, 10);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_, "no neighbour: TC's");
	cr_assert_eq(system("ip neigh replace 10.22.22.1 lladdr 02:00:00:00:00:01 dev t0 nud permanent"), 0);
	second = run_tc(xdp_fd, &in, &out, NULL);
	if (ns_since(&t0) < RELAY_HOP_REFRESH_NS / 2)
		cr_assert_eq(second, XDP_PASS_, "the failed lookup stands until due");
	wait_hop_refresh();
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	assert_macs(&out, 0x01, 0xfe);
}

/* Another tunnel in the configuration is another hop, at once: the L3
 * tunnel's cached hop has no MACs to give the L2 one. */
Test(front_xdp, tunnel_change_in_the_config_is_seen_by_the_next_packet)
{
	struct fixture in, out;

	stay_on_this_cpu();
	open_flow(IPPROTO_UDP, 40906, 53);
	udp_frame(&in, true, CLIENT, PUBLIC, 40906, 53, false);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	assert_relayed_l3(&in, &out);
	l2_tunnel_up();
	/* A commit: the flow's next packet is TC's, which records the flow
	 * at the new svc_epoch. */
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	cr_assert_eq(out.len, in.len, "L2: the Ethernet header stays");
	assert_macs(&out, 0x01, 0xfe);
}

/* A tunnel MTU lowered under established flows: within a refresh, packets
 * over it go to TC (which sends the client frag-needed). */
Test(front_xdp, lowered_tunnel_mtu_applies_within_one_refresh)
{
	struct fixture in, out;

	stay_on_this_cpu();
	open_flow(IPPROTO_TCP, 40907, 8080);
	tcp_frame(&in, CLIENT, PUBLIC, 40907, 8080, FIX_ACK, 1400);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	cr_assert_eq(system("ip link set lo mtu 1420"), 0);
	wait_hop_refresh();
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
}

/* IPv6: the same fast path; only the destination, the hop limit and the L4
 * checksum (over the new pseudo-header) change. */
static void assert_relayed6_l3(const struct fixture *in, struct fixture *out)
{
	out->l3_off = 0;
	cr_assert_eq(out->len, in->len - FIX_ETH_LEN);
	cr_assert(fix_daddr_is(out, BACKEND6));
	cr_assert(fix_saddr_is(out, CLIENT6));
	cr_assert_eq(fix_ttl(out), 63);
	cr_assert(fix_l4_csum_ok(out));
}

Test(front_xdp, established_ipv6_tcp_is_relayed_with_valid_checksum)
{
	struct fixture in, out;

	tcp_frame(&in, CLIENT6, PUBLIC6, 40910, 8080, FIX_SYN, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	tcp_frame(&in, CLIENT6, PUBLIC6, 40910, 8080, FIX_PSH | FIX_ACK, 1000);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	assert_relayed6_l3(&in, &out);
	cr_assert_arr_eq(fix_l4(&out) + 20, fix_l4(&in) + 20, 1000, "payload untouched");
	cr_assert_eq(counter(stats_fd, RELAY_C_XDP_FWD), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD6_PACKETS), 2, "TC's SYN and XDP's segment");
}

Test(front_xdp, ipv6_echo_checksum_covers_the_new_address)
{
	struct fixture in, out;

	icmp_echo_frame(&in, true, CLIENT6, PUBLIC6, 128, 0x4343);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	assert_relayed6_l3(&in, &out);
}

/* The IPv6 UDP checksum is mandatory: a 0 is TC's to count, untouched here. */
Test(front_xdp, ipv6_udp_without_checksum_goes_to_tc_untouched)
{
	struct fixture in, out;

	udp_frame(&in, true, CLIENT6, PUBLIC6, 40911, 53, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
	assert_relayed6_l3(&in, &out);
	udp_frame(&in, true, CLIENT6, PUBLIC6, 40911, 53, true);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_XDP_FWD), 1);
}

/* The first fragment of an established flow's datagram is TC's: the
 * verdict its later fragments (always TC's) follow is left there. */
Test(front_xdp, first_fragment_of_an_established_flow_goes_to_tc)
{
	static const char *const fam[2][3] = { { CLIENT, PUBLIC, BACKEND },
					       { CLIENT6, PUBLIC6, BACKEND6 } };
	struct fix_ip4 ip = { .proto = IPPROTO_UDP };
	struct fix_l4 l4 = { .sport = 40920, .dport = 53, .payload_len = 64 };
	struct fixture in, out;

	for (int i = 0; i < 2; i++) {
		udp_frame(&in, true, fam[i][0], fam[i][1], 40920, 53, false);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT, "the flow");
		ip.src = fam[i][0];
		ip.dst = fam[i][1];
		ip.frag_off = 0x2000; /* MF */
		fix_build(&in, true, &ip, &l4);
		cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_, "family %d", i);
		cr_assert_arr_eq(in.buf, out.buf, in.len);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		ip.frag_off = 9; /* offset 72 bytes, the last */
		fix_build(&in, true, &ip, &l4);
		cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		cr_assert(fix_daddr_is(&out, fam[i][2]), "the later fragment follows it");
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_FRAG_FWD), 2);
	cr_assert_eq(counter(stats_fd, RELAY_C_XDP_FWD), 0);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Traffic that belongs to the front host itself stays with it: packets
 * that match a local socket and have no flow are passed to the stack. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

TestSuite(front_host, .init = setup_l2, .fini = teardown);

/* A socket of the given type bound to addr:port in the test's own netns. */
static int bound(int type, const char *addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, type, 0), one = 1;

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = fix_addr(addr);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s:%u", addr, port);
	if (type == SOCK_STREAM)
		cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

Test(front_host, tunnel_underlay_udp_stays_with_the_host)
{
	struct fixture in, out;
	struct relay_ct_value ct;

	bound(SOCK_DGRAM, "0.0.0.0", 51820); /* wireguard's listening socket */
	udp_frame(&in, true, CLIENT, PUBLIC, 51820, 51820, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_HOST_SOCKET), 1);
	cr_assert_not(ct_lookup(IPPROTO_UDP, 51820, 51820, &ct), "no flow recorded");
	/* Any source port: the backend's underlay port may change. */
	udp_frame(&in, true, CLIENT, PUBLIC, 40999, 51820, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_HOST_SOCKET), 2);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 0);
}

/* The decision: a local listener on a forwarded port serves new flows. */
Test(front_host, local_tcp_listener_wins_for_new_flows)
{
	struct fixture in, out;

	bound(SOCK_STREAM, "0.0.0.0", 8081);
	tcp_frame(&in, CLIENT, PUBLIC, 40400, 8081, FIX_SYN, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_HOST_SOCKET), 1);
	tcp_frame(&in, CLIENT, PUBLIC, 40400, 8082, FIX_SYN, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT, "other ports relayed");
}

/* A flow already relayed stays relayed: the lookup is only for packets
 * with no flow (and costs nothing on established relayed flows). */
Test(front_host, a_relayed_flow_is_not_captured_by_a_later_listener)
{
	struct fixture in, out;

	tcp_frame(&in, CLIENT, PUBLIC, 40401, 8083, FIX_SYN, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	bound(SOCK_STREAM, "0.0.0.0", 8083);
	tcp_frame(&in, CLIENT, PUBLIC, 40401, 8083, FIX_ACK, 10);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_HOST_SOCKET), 0);
}

/* The host's own TCP connection (a download from CLIENT:9000): its
 * replies reach the host, not the backend. */
Test(front_host, replies_to_the_hosts_own_tcp_connection_stay_with_it)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9000) };
	struct sockaddr_in local;
	socklen_t len = sizeof(local);
	struct fixture in, out;
	int srv, cli;

	cr_assert_eq(system("ip link set lo up && ip addr add " PUBLIC "/32 dev lo && "
			    "ip addr add " CLIENT "/32 dev lo"), 0);
	/* The listener is on CLIENT: only the host's connected socket
	 * matches a packet to PUBLIC. */
	srv = bound(SOCK_STREAM, CLIENT, 9000);
	cli = socket(AF_INET, SOCK_STREAM, 0);
	local = (struct sockaddr_in){ .sin_family = AF_INET };
	local.sin_addr.s_addr = fix_addr(PUBLIC);
	cr_assert_eq(bind(cli, (struct sockaddr *)&local, sizeof(local)), 0);
	sa.sin_addr.s_addr = fix_addr(CLIENT);
	cr_assert_eq(connect(cli, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(cli, (struct sockaddr *)&local, &len), 0);
	(void)srv; /* kept open: closing it would reset the connection */

	tcp_frame(&in, CLIENT, PUBLIC, 9000, ntohs(local.sin_port), FIX_PSH | FIX_ACK, 100);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_HOST_SOCKET), 1);
	tcp_frame(&in, CLIENT, PUBLIC, 9000, ntohs(local.sin_port) + 1, FIX_PSH | FIX_ACK, 100);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT, "not the host's port");
}

/* A reply to the host's own DNS query, from a connected UDP socket. */
Test(front_host, replies_to_the_hosts_own_udp_query_stay_with_it)
{
	struct fixture in, out;

	bound(SOCK_DGRAM, "0.0.0.0", 33000);
	udp_frame(&in, true, CLIENT, PUBLIC, 53, 33000, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_HOST_SOCKET), 1);
}

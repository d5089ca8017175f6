// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --exclude and --ports for TCP and UDP, and what --ports means for the
 * protocols without ports. */
#include <string.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

TestSuite(front_policy, .init = setup_l2, .fini = teardown);

static void set_ranges(bool exclude, const struct relay_port_range *r, int n)
{
	struct relay_front_config cfg = cfg_get();

	memcpy(exclude ? cfg.exclude : cfg.ports, r, n * sizeof(*r));
	*(exclude ? &cfg.n_exclude : &cfg.n_ports) = n;
	cfg_put(&cfg);
}

Test(front_policy, udp_exclude_range_keeps_those_ports_with_the_front)
{
	const struct relay_port_range r[] = {
		{ .proto = IPPROTO_TCP, .first = 22, .last = 22 },
		{ .proto = IPPROTO_UDP, .first = 51820, .last = 51830 },
	};
	struct fixture in, out;

	set_ranges(true, r, 2);
	udp_frame(&in, true, CLIENT, PUBLIC, 40200, 51825, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_OK);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_EXCLUDED), 1);
	udp_frame(&in, true, CLIENT, PUBLIC, 40200, 51831, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT, "just past the range");
	/* tcp:51825 is not udp:51825 */
	tcp_frame(&in, CLIENT, PUBLIC, 40200, 51825, 0x02, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
}

Test(front_policy, ports_list_forwards_only_its_udp_and_tcp_ports)
{
	const struct relay_port_range r[] = {
		{ .proto = IPPROTO_UDP, .first = 5000, .last = 5001 },
		{ .proto = IPPROTO_TCP, .first = 8080, .last = 8080 },
	};
	struct fixture in, out;

	set_ranges(false, r, 2);
	udp_frame(&in, true, CLIENT, PUBLIC, 40201, 5001, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	udp_frame(&in, true, CLIENT, PUBLIC, 40201, 8080, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_OK, "udp:8080 is not listed");
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	tcp_frame(&in, CLIENT, PUBLIC, 40201, 8080, 0x02, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NOT_IN_PORTS), 1);
}

Test(front_policy, exclude_wins_over_ports)
{
	const struct relay_port_range p[] = { { .proto = IPPROTO_UDP, .first = 1, .last = 65535 } };
	const struct relay_port_range e[] = { { .proto = IPPROTO_UDP, .first = 53, .last = 53 } };
	struct fixture in, out;

	set_ranges(false, p, 1);
	set_ranges(true, e, 1);
	udp_frame(&in, true, CLIENT, PUBLIC, 40202, 53, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_OK);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_EXCLUDED), 1);
}

/* --ports names what to forward: ping and other protocols then stay with
 * the front. Without --ports they are relayed. */
Test(front_policy, ports_list_keeps_icmp_echo_with_the_front)
{
	const struct relay_port_range r[] = { { .proto = IPPROTO_TCP, .first = 80, .last = 80 } };
	struct fixture in, out;

	icmp_echo_frame(&in, true, CLIENT, PUBLIC, 8, 7);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	set_ranges(false, r, 1);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_OK);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NOT_IN_PORTS), 1);
}

/* One public address of a family (the loader then sets sole_public): the
 * program compares with it and needs no lookup in relay_front_pub. Emptied
 * here, so only the comparison can relay. Both families, XDP too. */
Test(front_policy, sole_public_address_is_matched_without_the_address_map)
{
	struct relay_front_config cfg = cfg_get();
	int pub_fd = bpf_map__fd(objs.pub->maps.relay_front_pub);
	struct relay_ip_key key;
	struct fixture in, out;

	while (!bpf_map_get_next_key(pub_fd, NULL, &key))
		cr_assert_eq(bpf_map_delete_elem(pub_fd, &key), 0);
	cfg.sole_public.v4 = fix_addr(PUBLIC);
	fix_addr6(PUBLIC6, cfg.sole_public6.v6);
	cfg.tunnel_l2 = false; /* XDP into lo needs no neighbour */
	cfg_put(&cfg);

	udp_frame(&in, true, CLIENT, PUBLIC, 40210, 53, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), 4 /* XDP_REDIRECT */, "established: XDP relays");
	udp_frame(&in, true, CLIENT6, PUBLIC6, 40210, 53, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_daddr_is(&out, BACKEND6));

	udp_frame(&in, true, CLIENT, OTHER, 40211, 53, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_OK);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	udp_frame(&in, true, CLIENT6, OTHER6, 40211, 53, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_OK);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NOT_PUBLIC), 2);
}

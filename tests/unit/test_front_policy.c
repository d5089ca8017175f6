// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --exclude and --ports for TCP and UDP, the protocols relayed by default
 * and the others --ports names, the tunnel's underlay peer. */
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
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_EXCLUDED), 1);
	udp_frame(&in, true, CLIENT, PUBLIC, 40200, 51831, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT, "just past the range");
	/* tcp:51825 is not udp:51825 */
	tcp_frame(&in, CLIENT, PUBLIC, 40200, 51825, FIX_SYN, 0);
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
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC, "udp:8080 is not listed");
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	tcp_frame(&in, CLIENT, PUBLIC, 40201, 8080, FIX_SYN, 0);
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
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
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
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NOT_IN_PORTS), 1);
}

/* One public address of a family (the loader then sets sole_public): the
 * program compares with it and needs no lookup in relay_front_pub. Emptied
 * here, so only the comparison can relay. Both families, XDP too. */
Test(front_policy, sole_public_address_is_matched_without_the_address_map, .init = with_xdp)
{
	struct relay_front_config cfg = cfg_get();
	int pub_fd = bpf_map__fd(objs.pub->maps.relay_front_pub);
	struct relay_ip_key key;
	struct fixture in, out;

	while (!bpf_map_get_next_key(pub_fd, NULL, &key))
		cr_assert_eq(bpf_map_delete_elem(pub_fd, &key), 0);
	cfg.sole_public[0].v4 = fix_addr(PUBLIC);
	fix_addr6(PUBLIC6, cfg.sole_public[1].v6);
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
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	udp_frame(&in, true, CLIENT6, OTHER6, 40211, 53, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NOT_PUBLIC), 2);
}

/* A frame of protocol proto (no transport header the front knows), 40
 * bytes of payload, from src to dst of either family. */
static void proto_frame(struct fixture *f, uint8_t proto, const char *src, const char *dst)
{
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = proto };
	struct fix_l4 l4 = { .payload_len = 40 };

	fix_build(f, true, &ip, &l4);
}

static const struct relay_port_range whole_gre = { .proto = IPPROTO_GRE, .first = 0,
						   .last = 65535 };

/* A GRE, IPIP, ESP or L2TPv3 tunnel ending on a public address has no
 * socket the host-socket check could find: without --ports only TCP, UDP
 * and ICMP echo are relayed, the rest is the front's. Both families. */
Test(front_policy, other_protocols_stay_with_the_front_by_default)
{
	static const uint8_t protos[] = { IPPROTO_GRE, IPPROTO_ESP, IPPROTO_IPIP, 115 /* L2TPv3 */ };
	struct fixture in, out;

	for (size_t i = 0; i < sizeof(protos); i++) {
		proto_frame(&in, protos[i], CLIENT, PUBLIC);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC, "IPv4 protocol %u",
			     protos[i]);
		cr_assert_arr_eq(in.buf, out.buf, in.len);
		proto_frame(&in, protos[i], CLIENT6, PUBLIC6);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC, "IPv6 next header %u",
			     protos[i]);
		cr_assert_arr_eq(in.buf, out.buf, in.len);
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_PROTO), 2 * sizeof(protos));
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 0, "no flow for any of them");
	/* TCP, UDP and ping still are. */
	udp_frame(&in, true, CLIENT6, PUBLIC6, 40220, 53, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	icmp_echo_frame(&in, true, CLIENT6, PUBLIC6, 128, 0x51);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	icmp_echo_frame(&in, true, CLIENT, PUBLIC, 8, 0x51);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
}

/* --ports gre: relayed by address (ports 0), the payload untouched, and the
 * backend's GRE translated back. */
Test(front_policy, listed_protocol_is_relayed_by_address_both_ways, .init = with_tunnel)
{
	struct fixture in, out, reply, back;
	struct relay_ct_value ct;

	set_ranges(false, &whole_gre, 1);
	proto_frame(&in, IPPROTO_GRE, CLIENT, PUBLIC);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert_eq(fix_saddr(&out), fix_addr(CLIENT));
	cr_assert(fix_ip_csum_ok(&out));
	cr_assert_arr_eq(fix_l4(&in), fix_l4(&out), in.len - 34, "payload untouched");
	cr_assert(ct_lookup(IPPROTO_GRE, 0, 0, &ct), "tracked by address");

	proto_frame(&reply, IPPROTO_GRE, BACKEND, CLIENT);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_saddr(&back), fix_addr(PUBLIC));
	cr_assert(fix_ip_csum_ok(&back));
	cr_assert_arr_eq(fix_l4(&reply), fix_l4(&back), reply.len - 34);

	proto_frame(&in, IPPROTO_GRE, CLIENT6, PUBLIC6);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_daddr_is(&out, BACKEND6));
	cr_assert_arr_eq(fix_l4(&in), fix_l4(&out), 40, "payload untouched");
	cr_assert(ct_lookup_client(CLIENT6, IPPROTO_GRE, 0, 0, &ct));
	/* Listing GRE lists nothing else. */
	proto_frame(&in, IPPROTO_ESP, CLIENT6, PUBLIC6);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NOT_IN_PORTS), 1);
}

/* --ports icmp relays ping of both families (icmp names ICMPv6 too);
 * --exclude icmp keeps it with the front even without --ports. */
Test(front_policy, icmp_is_a_protocol_the_lists_name_for_both_families)
{
	const struct relay_port_range icmp = { .proto = IPPROTO_ICMP, .first = 0, .last = 65535 };
	const struct relay_port_range tcp80 = { .proto = IPPROTO_TCP, .first = 80, .last = 80 };
	const struct relay_port_range both[] = { tcp80, icmp };
	struct fixture in4, in6, out;

	icmp_echo_frame(&in4, true, CLIENT, PUBLIC, 8, 0x61);
	icmp_echo_frame(&in6, true, CLIENT6, PUBLIC6, 128, 0x61);
	set_ranges(false, both, 2);
	cr_assert_eq(run_tc(in_fd, &in4, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(run_tc(in_fd, &in6, &out, NULL), TC_ACT_REDIRECT);
	set_ranges(false, both, 0);
	set_ranges(true, &icmp, 1);
	cr_assert_eq(run_tc(in_fd, &in4, &out, NULL), TC_ACT_UNSPEC, "a known flow, still excluded");
	cr_assert_eq(run_tc(in_fd, &in6, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in6.buf, out.buf, in6.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_EXCLUDED), 2);
}

/* The tunnel's own underlay peer (here OTHER, a GRE tunnel's remote): what
 * it sends is the host's even when its protocol or port is relayed, and
 * even in a flow the same address had as a client, which XDP must not
 * relay either. Both families. */
Test(front_policy, underlay_peer_traffic_is_always_the_hosts, .init = with_xdp)
{
	const char *peers[] = { OTHER, OTHER6 }, *pubs[] = { PUBLIC, PUBLIC6 };
	struct relay_front_config cfg;
	struct fixture udp, gre, out;

	set_ranges(false, (const struct relay_port_range[]){
				  whole_gre, { .proto = IPPROTO_UDP, .first = 53, .last = 53 } }, 2);
	cfg = cfg_get();
	cfg.tunnel_l2 = false; /* XDP into lo needs no neighbour */
	cfg_put(&cfg);
	for (int i = 0; i < 2; i++) {
		udp_frame(&udp, true, peers[i], pubs[i], 40230, 53, false);
		proto_frame(&gre, IPPROTO_GRE, peers[i], pubs[i]);
		cr_assert_eq(run_tc(in_fd, &udp, &out, NULL), TC_ACT_REDIRECT, "not a peer yet");
		cr_assert_eq(run_tc(xdp_fd, &udp, &out, NULL), 4 /* XDP_REDIRECT */);
		cfg = cfg_get();
		memset(&cfg.underlay, 0, sizeof(cfg.underlay));
		cfg.underlay.family = i ? AF_INET6 : AF_INET;
		if (i)
			fix_addr6(OTHER6, cfg.underlay.addr.v6);
		else
			cfg.underlay.addr.v4 = fix_addr(OTHER);
		cfg_put(&cfg);
		cr_assert_eq(run_tc(xdp_fd, &udp, &out, NULL), 2 /* XDP_PASS */, "family %d", i);
		cr_assert_eq(run_tc(in_fd, &udp, &out, NULL), TC_ACT_UNSPEC, "the peer's UDP");
		cr_assert_arr_eq(udp.buf, out.buf, udp.len);
		cr_assert_eq(run_tc(in_fd, &gre, &out, NULL), TC_ACT_UNSPEC, "the peer's GRE");
		cr_assert_arr_eq(gre.buf, out.buf, gre.len);
		proto_frame(&gre, IPPROTO_GRE, i ? CLIENT6 : CLIENT, pubs[i]);
		cr_assert_eq(run_tc(in_fd, &gre, &out, NULL), TC_ACT_REDIRECT, "a client's GRE");
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_UNDERLAY), 4);
}

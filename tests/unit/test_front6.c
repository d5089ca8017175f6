// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* IPv6 twins of the front tests: the same programs, maps and counters, on
 * IPv6 frames whose checksums packet.c computes from scratch. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

#define TUNNEL_MTU 1420

TestSuite(front6, .init = setup_l2, .fini = teardown);

static void tcp6(struct fixture *f, bool l2, const char *src, const char *dst, uint16_t sport,
		 uint16_t dport, uint8_t flags, uint8_t hops, uint8_t ext_hdrs)
{
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = IPPROTO_TCP, .ttl = hops,
			      .ext_hdrs = ext_hdrs };
	struct fix_l4 l4 = { .sport = sport, .dport = dport, .tcp_flags = flags,
			     .payload_len = 100 };

	fix_build(f, l2, &ip, &l4);
}

/* Relayed to BACKEND6 with only the destination, the hop limit and the L4
 * checksum changed, the checksum verified from scratch. */
static void assert_relayed(const struct fixture *in, const struct fixture *out)
{
	cr_assert(fix_l4_csum_ok(in), "the fixture itself verifies");
	cr_assert(fix_daddr_is(out, BACKEND6), "to the backend's IPv6 address");
	cr_assert(fix_saddr_is(out, CLIENT6), "the client's address is kept");
	cr_assert_eq(fix_ttl(out), fix_ttl(in) - 1, "hop limit decremented");
	cr_assert(fix_l4_csum_ok(out), "L4 checksum over the new pseudo-header");
	assert_nat_frame(in, out, NULL, BACKEND6, fix_ttl(in) - 1);
}

Test(front6, tcp_to_public_address_is_rewritten_to_backend_and_redirected)
{
	struct fixture in, out;
	struct relay_ct_value ct;

	tcp6(&in, true, CLIENT6, PUBLIC6, 40000, 8080, FIX_SYN, 0, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	assert_relayed(&in, &out);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 1, "the counters IPv4 uses");
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD6_PACKETS), 1, "of which IPv6");
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 1);
	cr_assert(ct_lookup_client(CLIENT6, IPPROTO_TCP, 40000, 8080, &ct), "conntrack entry");
	cr_assert_eq(memcmp(ct.public_ip.v6, fix_ip(&in) + 24, 16), 0, "with the public address");
	cr_assert_eq(ct.tcp_state, RELAY_TCP_SYN_SENT);
	cr_assert_eq(ct.bytes[RELAY_DIR_ORIG], in.len);
}

Test(front6, udp_checksum_is_updated_and_never_zero)
{
	struct fixture in, out;

	udp_frame(&in, true, CLIENT6, PUBLIC6, 40001, 5000, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	assert_relayed(&in, &out);
	cr_assert_neq(fix_l4_csum_field(&out), 0);
}

/* The IPv6 UDP checksum is mandatory: the stack drops a 0, so do not relay it. */
Test(front6, udp_without_checksum_passes_as_malformed)
{
	struct fixture in, out;

	udp_frame(&in, true, CLIENT6, PUBLIC6, 40002, 5000, true);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_MALFORMED), 1);
}

Test(front6, icmpv6_echo_is_relayed_by_identifier)
{
	struct fixture in, out;
	struct relay_ct_value ct;

	icmp_echo_frame(&in, true, CLIENT6, PUBLIC6, 128, 0x4242);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	assert_relayed(&in, &out);
	cr_assert(ct_lookup_client(CLIENT6, IPPROTO_ICMPV6, 0x4242, 0x4242, &ct));
}

/* Neighbor solicitation (135) to the public address (NUD is unicast):
 * the host's, never a flow. */
Test(front6, neighbor_discovery_goes_to_the_stack)
{
	struct fixture in, out;

	icmp_echo_frame(&in, true, CLIENT6, PUBLIC6, 135, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_ICMP), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 0);
}

Test(front6, traffic_not_to_a_public_address_passes_untouched)
{
	struct fixture in, out;

	tcp6(&in, true, CLIENT6, OTHER6, 40003, 8080, FIX_SYN, 0, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NOT_PUBLIC), 1);
}

Test(front6, excluded_port_passes_untouched)
{
	struct fixture in, out;

	tcp6(&in, true, CLIENT6, PUBLIC6, 40004, 22, FIX_SYN, 0, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_EXCLUDED), 1);
}

/* No IPv6 backend: IPv6 is not relayed (the loader then lists no IPv6
 * public address either; the datapath does not rely on it). */
Test(front6, no_ipv6_backend_is_never_relayed_to_the_ipv4_one, .init = with_tunnel)
{
	struct fixture in, out;

	backends_put(true, false);
	tcp6(&in, true, BACKEND6, CLIENT6, 8080, 40005, FIX_SYN | FIX_ACK, 0, 0);
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_PACKETS), 0);
}

Test(front6, extension_headers_are_walked)
{
	struct fixture in, out;

	tcp6(&in, true, CLIENT6, PUBLIC6, 40006, 8080, FIX_SYN, 0, 3);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	assert_relayed(&in, &out);
}

Test(front6, too_many_extension_headers_pass_with_a_counter)
{
	struct fixture in, out;

	tcp6(&in, true, CLIENT6, PUBLIC6, 40007, 8080, FIX_SYN, 0, 7 /* RELAY_IPV6_MAX_EXT + 1 */);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_EXT_DEPTH), 1);
}

Test(front6, reply_from_backend_leaves_from_the_public_address, .init = with_tunnel)
{
	struct fixture in, out, reply, back;

	tcp6(&in, true, CLIENT6, PUBLIC6, 40008, 8080, FIX_SYN, 0, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	tcp6(&reply, true, BACKEND6, CLIENT6, 8080, 40008, FIX_SYN | FIX_ACK, 0, 0);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_saddr_is(&back, PUBLIC6));
	cr_assert(fix_daddr_is(&back, CLIENT6));
	cr_assert_eq(fix_ttl(&back), 63);
	cr_assert(fix_l4_csum_ok(&back));
	assert_nat_frame(&reply, &back, PUBLIC6, NULL, 63);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_PACKETS), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET6_PACKETS), 1);
}

Test(front6, icmpv6_echo_reply_leaves_from_the_public_address, .init = with_tunnel)
{
	struct fixture in, out, reply, back;

	icmp_echo_frame(&in, true, CLIENT6, PUBLIC6, 128, 7);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	icmp_echo_frame(&reply, true, BACKEND6, CLIENT6, 129, 7);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_saddr_is(&back, PUBLIC6));
	cr_assert(fix_l4_csum_ok(&back), "ICMPv6 checksum covers the pseudo-header");
	assert_nat_frame(&reply, &back, PUBLIC6, NULL, 63);
}

Test(front6, reply_with_no_flow_is_dropped_unless_the_mapping_is_unambiguous, .init = with_tunnel)
{
	struct relay_front_config cfg;
	struct fixture reply, back;

	l2_tunnel_up();
	cfg = cfg_get();
	udp_frame(&reply, true, BACKEND6, CLIENT6, 5000, 40009, false);
	from_backend_mac(&reply);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_SHOT);
	cr_assert_eq(counter(stats_fd, RELAY_C_DROP_REPLY_NO_FLOW), 1);
	fix_addr6(PUBLIC6, cfg.sole_public[1].v6);
	fix_addr6(TUNNEL6, cfg.tunnel_ip[1].v6);
	cfg_put(&cfg);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_saddr_is(&back, PUBLIC6));
	cr_assert(fix_l4_csum_ok(&back));
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), 1);
	/* The backend's own traffic to the front is no reply. */
	udp_frame(&reply, true, BACKEND6, TUNNEL6, 5000, 40010, false);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_UNSPEC);
}

/* A flow to the IPv4 public address and one to the IPv6 one never meet:
 * the family is part of the key. */
Test(front6, families_share_the_conntrack_map_apart)
{
	struct fixture in, out;
	struct relay_ct_value ct;

	tcp_frame(&in, CLIENT, PUBLIC, 40011, 8080, FIX_SYN, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	tcp6(&in, true, CLIENT6, PUBLIC6, 40011, 8080, FIX_SYN, 0, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 2);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 2);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD6_PACKETS), 1, "only the IPv6 one");
	cr_assert(ct_lookup_client(CLIENT, IPPROTO_TCP, 40011, 8080, &ct));
	cr_assert_eq(ct.public_ip.v4, fix_addr(PUBLIC));
	cr_assert(ct_lookup_client(CLIENT6, IPPROTO_TCP, 40011, 8080, &ct));
}

/* The first fragment leaves its verdict under the fragment header's id. */
Test(front6, later_fragments_follow_the_first)
{
	struct fix_ip4 ip = { .src = CLIENT6, .dst = PUBLIC6, .proto = IPPROTO_UDP,
			      .frag_off = 0x2000 };
	struct fix_l4 l4 = { .sport = 40012, .dport = 5000, .payload_len = 64 };
	struct fixture in, out;

	fix_build(&in, true, &ip, &l4);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_daddr_is(&out, BACKEND6));
	ip.frag_off = 9; /* offset 72 bytes, last fragment */
	fix_build(&in, true, &ip, &l4);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_daddr_is(&out, BACKEND6));
	cr_assert_eq(fix_ttl(&out), 63);
	cr_assert_eq(counter(stats_fd, RELAY_C_FRAG_FWD), 1);
	/* Another datagram's later fragment has no verdict. */
	fix_build(&in, true, &ip, &l4);
	in.buf[FIX_ETH_LEN + 40 + 7] ^= 1;
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_FRAGMENT), 1);
}

Test(front6, mss_is_clamped_to_the_ipv6_value)
{
	static const uint8_t opts[4] = { 2, 4, 0x05, 0xb4 }; /* MSS 1460 */
	struct relay_front_config cfg = cfg_get();
	struct fix_ip4 ip = { .src = CLIENT6, .dst = PUBLIC6, .proto = IPPROTO_TCP };
	struct fix_l4 l4 = { .sport = 40013, .dport = 8080, .tcp_flags = FIX_SYN, .options = opts,
			     .options_len = 4 };
	struct fixture in, out;
	const uint8_t *tcp;

	cfg.mss[0] = 1380;
	cfg.mss[1] = 1360;
	cfg_put(&cfg);
	fix_build(&in, true, &ip, &l4);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	tcp = fix_l4(&out);
	cr_assert_eq(tcp[22] << 8 | tcp[23], 1360, "MTU 1420 - 60");
	cr_assert(fix_l4_csum_ok(&out));
	cr_assert_eq(counter(stats_fd, RELAY_C_MSS_CLAMPED), 1);
}

/* The front is the client's router: hop limit 1 expires here. */
Test(front6, expiring_hop_limit_gets_icmpv6_time_exceeded)
{
	struct fixture in, out;
	const uint8_t *ip6, *icmp;

	tcp6(&in, true, CLIENT6, PUBLIC6, 40014, 8080, FIX_SYN, 1, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	ip6 = fix_ip(&out);
	icmp = fix_l4(&out);
	cr_assert_arr_eq(out.buf, in.buf + 6, 6, "to the client's MAC");
	cr_assert_eq(ip6[0] >> 4, 6);
	cr_assert_eq(ip6[6], IPPROTO_ICMPV6);
	cr_assert(fix_saddr_is(&out, PUBLIC6), "from the address the client used");
	cr_assert(fix_daddr_is(&out, CLIENT6));
	cr_assert_eq(icmp[0], 3, "time exceeded");
	cr_assert_eq(icmp[1], 0);
	cr_assert_eq(out.len, FIX_ETH_LEN + 40 + 8 + 48);
	cr_assert(fix_l4_csum_ok(&out), "ICMPv6 checksum with its pseudo-header");
	cr_assert_arr_eq(icmp + 8, fix_ip(&in), 48, "quotes the packet as sent");
	cr_assert_eq(counter(stats_fd, RELAY_C_TTL_ICMP), 1);
}

/* On top of the suite's front (a second front_setup would leak the first):
 * bpf_check_mtu reads the tunnel's MTU per packet. */
static void setup_mtu(void)
{
	cr_assert_eq(system("ip link set lo mtu 1420"), 0);
}

/* IPv6 routers never fragment: too big is always packet too big. */
Test(front6, too_big_gets_packet_too_big_with_the_tunnel_mtu, .init = setup_mtu)
{
	struct fix_ip4 ip = { .src = CLIENT6, .dst = PUBLIC6, .proto = IPPROTO_UDP };
	struct fix_l4 l4 = { .sport = 40015, .dport = 5000, .payload_len = TUNNEL_MTU - 48 + 1 };
	struct fixture in, out;
	const uint8_t *icmp;

	fix_build(&in, true, &ip, &l4);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	icmp = fix_l4(&out);
	cr_assert_eq(icmp[0], 2, "packet too big");
	cr_assert_eq((uint32_t)(icmp[4] << 24 | icmp[5] << 16 | icmp[6] << 8 | icmp[7]), TUNNEL_MTU);
	cr_assert(fix_saddr_is(&out, PUBLIC6));
	cr_assert(fix_daddr_is(&out, CLIENT6));
	cr_assert(fix_l4_csum_ok(&out));
	cr_assert_arr_eq(icmp + 8, fix_ip(&in), 48);
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_ICMP), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 0);
}

/* The host's own IPv6 traffic is looked up with the IPv6 tuple. */
Test(front6, packet_for_a_host_socket_is_delivered)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(5353) };
	struct fixture in, out;
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	udp_frame(&in, true, CLIENT6, PUBLIC6, 40016, 5353, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_HOST_SOCKET), 1);
}

static void relay_udp6(uint16_t cport, uint16_t sport)
{
	struct fixture in, out;

	udp_frame(&in, true, CLIENT6, PUBLIC6, cport, sport, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
}

/* Packet too big from the backend's side of the tunnel, about a relayed
 * datagram: the client gets it from the public address, quoting the
 * packet as it sent it, every checksum verified from scratch. */
Test(front6, packet_too_big_from_the_backend_quotes_the_public_address, .init = with_tunnel)
{
	struct fixture quoted, err, out, q;
	uint8_t backend[16];

	relay_udp6(40600, 53);
	udp_frame(&quoted, false, CLIENT6, BACKEND6, 40600, 53, false);
	icmp_error_frame(&err, true, BACKEND6, CLIENT6, 2, 0, 1280, &quoted, quoted.len);
	cr_assert(fix_l4_csum_ok(&err), "the fixture itself verifies");
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_saddr_is(&out, PUBLIC6));
	cr_assert(fix_daddr_is(&out, CLIENT6));
	cr_assert(fix_l4_csum_ok(&out), "ICMPv6 checksum over the pseudo-header and the quote");
	icmp_quoted(&out, &q);
	cr_assert(fix_saddr_is(&q, CLIENT6));
	cr_assert(fix_daddr_is(&q, PUBLIC6), "the quote names the public address");
	cr_assert(fix_l4_csum_ok(&q), "the quoted UDP checksum follows its address");
	fix_addr6(BACKEND6, backend);
	cr_assert_null(memmem(out.buf, out.len, backend, 16), "the backend's address leaked");
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_ERR_RET), 1);
}

/* A client's destination unreachable about a reply the front relayed goes
 * to the backend, quoting the reply as the backend sent it. */
Test(front6, unreachable_from_the_client_goes_to_the_backend)
{
	struct fixture quoted, err, out, q;

	relay_udp6(40601, 53);
	udp_frame(&quoted, false, PUBLIC6, CLIENT6, 53, 40601, false);
	icmp_error_frame(&err, true, CLIENT6, PUBLIC6, 1, 4, 0, &quoted, quoted.len);
	cr_assert_eq(run_tc(in_fd, &err, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_daddr_is(&out, BACKEND6));
	cr_assert(fix_saddr_is(&out, CLIENT6));
	cr_assert(fix_l4_csum_ok(&out));
	icmp_quoted(&out, &q);
	cr_assert(fix_saddr_is(&q, BACKEND6));
	cr_assert(fix_l4_csum_ok(&q));
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_ERR_FWD), 1);
}

/* An error quoting an ICMPv6 echo: its checksum covers the quoted
 * addresses too (ICMPv4's does not). */
Test(front6, time_exceeded_quoting_an_echo_fixes_the_quoted_checksum, .init = with_tunnel)
{
	struct fixture in, out, quoted, err, q;

	icmp_echo_frame(&in, true, CLIENT6, PUBLIC6, 128, 0x77);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	icmp_echo_frame(&quoted, false, CLIENT6, BACKEND6, 128, 0x77);
	icmp_error_frame(&err, true, BACKEND6, CLIENT6, 3, 0, 0, &quoted, quoted.len);
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_l4_csum_ok(&out));
	icmp_quoted(&out, &q);
	cr_assert(fix_daddr_is(&q, PUBLIC6));
	cr_assert(fix_l4_csum_ok(&q), "the quoted echo's checksum");
}

/* Protocol 58 over IPv4 is not ICMP: another protocol, the front's by
 * default; listed (proto:58) it is relayed by address, its payload
 * untouched (found by the fuzzer). */
Test(front6, ipv6_icmp_protocol_over_ipv4_is_just_another_protocol)
{
	struct fix_ip4 ip = { .src = CLIENT, .dst = PUBLIC, .proto = IPPROTO_ICMPV6 };
	struct fix_l4 l4 = { .icmp_type = 1, .payload_len = 36 };
	struct relay_front_config cfg = cfg_get();
	struct fixture in, out;

	fix_build(&in, true, &ip, &l4);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_PROTO), 1);
	cfg.ports[0] = (struct relay_port_range){ .proto = IPPROTO_ICMPV6, .first = 0,
						  .last = 65535 };
	cfg.n_ports = 1;
	cfg_put(&cfg);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert(fix_ip_csum_ok(&out));
	cr_assert_arr_eq(fix_l4(&out), fix_l4(&in), 44, "the payload is not ICMP's to rewrite");
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_ERR_FWD), 0);
}

/* A routing header with segments left: the destination is the next
 * segment's, not the final one (and the TCP checksum covers the final
 * one): the stack routes it on, counted. With none left it is the final
 * destination: relayed. The fixture's destination options header becomes a
 * routing header (type 4, the layout the parser reads). */
Test(front6, routing_header_with_segments_left_is_passed_to_the_stack, .init = with_xdp)
{
	struct fixture in, out;
	uint8_t *ip6, *rh;

	tcp6(&in, true, CLIENT6, PUBLIC6, 40300, 8080, FIX_SYN, 0, 1);
	ip6 = in.buf + FIX_ETH_LEN;
	rh = ip6 + 40;
	ip6[6] = 43; /* routing */
	rh[2] = 4;
	rh[3] = 1;   /* segments left */
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_ROUTING), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 0);
	cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), 2 /* XDP_PASS */);

	rh[3] = 0;
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT, "final destination");
	assert_relayed(&in, &out);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_ROUTING), 1);
}

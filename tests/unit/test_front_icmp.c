// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ICMP errors about relayed flows, translated both ways: outer address,
 * quoted address, quoted IP and TCP/UDP checksums, ICMP checksum. */
#include <string.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

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

Test(front_icmp, port_unreachable_from_the_backend_quotes_the_public_address, .init = with_tunnel)
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

Test(front_icmp, frag_needed_about_tcp_keeps_the_mtu_and_fixes_the_quoted_tcp_checksum,
     .init = with_tunnel)
{
	struct fixture in, out, quoted, err, q;

	tcp_frame(&in, CLIENT, PUBLIC, 40601, 8080, FIX_ACK, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	tcp_frame(&quoted, CLIENT, BACKEND, 40601, 8080, FIX_ACK, 0);
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
Test(front_icmp, minimal_quote_of_tcp_is_translated, .init = with_tunnel)
{
	struct fixture in, out, quoted, err, q;

	tcp_frame(&in, CLIENT, PUBLIC, 40602, 8080, FIX_ACK, 0);
	run_tc(in_fd, &in, &out, NULL);
	tcp_frame(&quoted, CLIENT, BACKEND, 40602, 8080, FIX_ACK, 0);
	icmp_error_frame(&err, true, BACKEND, CLIENT, 11, 0, 0, &quoted, 28);
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_l4_csum_ok(&out));
	icmp_quoted(&out, &q);
	cr_assert_eq(fix_daddr(&q), fix_addr(PUBLIC));
	cr_assert(fix_ip_csum_ok(&q));
	cr_assert_arr_eq(fix_l4(&q), fix_l4(&quoted), 8, "quoted ports untouched");
}

Test(front_icmp, time_exceeded_about_an_echo_request, .init = with_tunnel)
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

Test(front_icmp, error_about_no_relayed_flow_is_not_translated, .init = with_tunnel)
{
	struct fixture quoted, err, out;

	udp_frame(&quoted, false, CLIENT, BACKEND, 40603, 53, false);
	icmp_error_frame(&err, true, BACKEND, CLIENT, 3, 3, 0, &quoted, quoted.len);
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_UNSPEC);
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
	cr_assert_eq(run_tc(in_fd, &err, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(err.buf, out.buf, err.len);
}

static void set_sole_public(void)
{
	struct relay_front_config cfg = cfg_get();

	cfg.sole_public[0].v4 = fix_addr(PUBLIC);
	cfg.tunnel_ip[0].v4 = fix_addr("10.22.22.2");
	cfg_put(&cfg);
}

Test(front_icmp, with_one_public_address_an_error_about_an_evicted_flow_is_translated,
     .init = with_tunnel)
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
Test(front_icmp, error_about_the_fronts_own_packet_is_not_translated, .init = with_tunnel)
{
	struct fixture quoted, err, out;

	set_sole_public();
	udp_frame(&quoted, false, "10.22.22.2", BACKEND, 40606, 53, false);
	icmp_error_frame(&err, true, BACKEND, "10.22.22.2", 3, 3, 0, &quoted, quoted.len);
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(err.buf, out.buf, err.len);
}

/* Link-layer padding after an error's total length is no quote: a TCP
 * checksum in it must not be "fixed" (found by the fuzzer: the ICMP
 * checksum, which does not cover the padding, came out wrong). */
Test(front_icmp, padding_after_a_minimal_quote_is_neither_read_nor_changed, .init = with_tunnel)
{
	struct fixture in, out, quoted, err;

	tcp_frame(&in, CLIENT, PUBLIC, 40610, 8080, FIX_ACK, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	tcp_frame(&quoted, CLIENT, BACKEND, 40610, 8080, FIX_ACK, 0);
	icmp_error_frame(&err, true, BACKEND, CLIENT, 11, 0, 0, &quoted, 28);
	/* The rest of the quoted TCP header follows as padding. */
	memcpy(err.buf + err.len, fix_ip(&quoted) + 28, 12);
	err.len += 12;
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_l4_csum_ok(&out), "ICMP checksum");
	cr_assert_arr_eq(out.buf + err.len - 12, fix_ip(&quoted) + 28, 12, "padding changed");
}

Test(front_icmp, quote_cut_by_the_total_length_is_not_translated, .init = with_tunnel)
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
	cr_assert_eq(run_tc(rev_fd, &err, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(err.buf, out.buf, err.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NO_FLOW), 1);
}

/* A family's addresses and error types, for the tests that run for both. */
struct family {
	const char *client, *public, *backend, *router, *other;
	uint8_t too_big[2], ttl[2], unreach[2];
};

/* ROUTER: a router on the client's path, neither the client nor the front. */
static const struct family v4 = { CLIENT, PUBLIC, BACKEND, "198.51.100.254", OTHER,
				  { 3, 4 }, { 11, 0 }, { 3, 1 } };
static const struct family v6 = { CLIENT6, PUBLIC6, BACKEND6, "2001:db8:5::fe", OTHER6,
				  { 2, 0 }, { 3, 0 }, { 1, 3 } };

/* A router's error (type/code tc, rest: the next-hop MTU) about the reply
 * PUBLIC:8080 -> CLIENT:cport of a relayed TCP flow: it goes to the
 * backend from the router's own address, quoting the reply as the backend
 * sent it, every checksum whole. */
static void router_error_reaches_the_backend(const struct family *f, const uint8_t tc[2],
					     uint32_t rest)
{
	struct fixture in, out, quoted, err, q;
	const uint8_t *icmp;

	tcp_frame(&in, f->client, f->public, 40620, 8080, FIX_ACK, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	tcp_frame(&quoted, f->public, f->client, 8080, 40620, FIX_ACK, 0);
	icmp_error_frame(&err, true, f->router, f->public, tc[0], tc[1], rest, &quoted,
			 quoted.len - quoted.l3_off);
	cr_assert_eq(run_tc(in_fd, &err, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_saddr_is(&out, f->router), "the router stays the error's source");
	cr_assert(fix_daddr_is(&out, f->backend));
	cr_assert(fix_ip_csum_ok(&out));
	cr_assert(fix_l4_csum_ok(&out), "ICMP checksum");
	icmp = fix_l4(&out);
	cr_assert_eq(icmp[0], tc[0]);
	cr_assert_eq(icmp[1], tc[1]);
	cr_assert_eq((uint32_t)(icmp[4] << 24 | icmp[5] << 16 | icmp[6] << 8 | icmp[7]), rest,
		     "the next-hop MTU is kept");
	icmp_quoted(&out, &q);
	cr_assert(fix_saddr_is(&q, f->backend), "quotes the reply as the backend sent it");
	cr_assert(fix_daddr_is(&q, f->client));
	cr_assert(fix_ip_csum_ok(&q));
	cr_assert(fix_l4_csum_ok(&q), "quoted TCP checksum");
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_ERR_FWD), 1);
}

Test(front_icmp, router_frag_needed_about_a_reply_reaches_the_backend)
{
	router_error_reaches_the_backend(&v4, v4.too_big, 1400);
}

Test(front_icmp, router_packet_too_big_about_a_reply_reaches_the_backend)
{
	router_error_reaches_the_backend(&v6, v6.too_big, 1280);
}

Test(front_icmp, router_time_exceeded_about_a_reply_reaches_the_backend)
{
	router_error_reaches_the_backend(&v4, v4.ttl, 0);
}

Test(front_icmp, router_time_exceeded_about_a_reply_reaches_the_backend_v6)
{
	router_error_reaches_the_backend(&v6, v6.ttl, 0);
}

Test(front_icmp, router_unreachable_about_a_reply_reaches_the_backend)
{
	router_error_reaches_the_backend(&v4, v4.unreach, 0);
}

Test(front_icmp, router_unreachable_about_a_reply_reaches_the_backend_v6)
{
	router_error_reaches_the_backend(&v6, v6.unreach, 0);
}

/* What keeps a spoofer out once the sender no longer matters: the quoted
 * flow must be a live one, and the quoted packet one the front sent (from
 * the public address the error is addressed to, to the flow's client). */
static void spoofed_error_stays_with_the_host(const struct family *f, const char *q_src,
					      const char *q_dst, uint16_t q_cport)
{
	struct fixture in, out, quoted, err;

	tcp_frame(&in, f->client, f->public, 40621, 8080, FIX_ACK, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	tcp_frame(&quoted, q_src, q_dst, 8080, q_cport, FIX_ACK, 0);
	icmp_error_frame(&err, true, f->router, f->public, f->too_big[0], f->too_big[1], 576,
			 &quoted, quoted.len - quoted.l3_off);
	cr_assert_eq(run_tc(in_fd, &err, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(err.buf, out.buf, err.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NO_FLOW), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_ERR_FWD), 0);
}

static void spoofed_errors_stay_with_the_host(const struct family *f)
{
	/* No such flow: another client port. */
	spoofed_error_stays_with_the_host(f, f->public, f->client, 40622);
}

Test(front_icmp, router_error_about_no_relayed_flow_stays_with_the_host)
{
	spoofed_errors_stay_with_the_host(&v4);
}

Test(front_icmp, router_error_about_no_relayed_flow_stays_with_the_host_v6)
{
	spoofed_errors_stay_with_the_host(&v6);
}

/* The flow's ports and client, but a quoted source that is not the public
 * address the error is addressed to: no packet the front sent. */
Test(front_icmp, router_error_quoting_another_source_stays_with_the_host)
{
	spoofed_error_stays_with_the_host(&v4, OTHER, CLIENT, 40621);
}

Test(front_icmp, router_error_quoting_another_source_stays_with_the_host_v6)
{
	spoofed_error_stays_with_the_host(&v6, OTHER6, CLIENT6, 40621);
}

/* The flow's ports, from the public address, but to another client. */
Test(front_icmp, router_error_quoting_another_client_stays_with_the_host)
{
	spoofed_error_stays_with_the_host(&v4, PUBLIC, OTHER, 40621);
}

Test(front_icmp, router_error_quoting_another_client_stays_with_the_host_v6)
{
	spoofed_error_stays_with_the_host(&v6, PUBLIC6, OTHER6, 40621);
}

/*
 * Whole frames, both ways, both families, on a CHECKSUM_NONE skb and, where
 * the kernel can (6.11+), a CHECKSUM_COMPLETE one (whose skb->csum the
 * kernel checks against the output): the expected error is built from
 * scratch around the translated quote, so its quoted L4 checksum is the
 * one of the quoted packet with the new address (the whole packet is
 * quoted) and its ICMP checksum the one over all of it.
 */
struct csum_case {
	bool v6;       /* by value: criterion's workers are other processes */
	bool complete;
};

static struct csum_case csum_cases[] = {
	{ false, false }, { false, true }, { true, false }, { true, true },
};

/* What the quote holds: a TCP segment, a UDP datagram (IPv4: also one
 * without a checksum) or an echo request / reply. */
enum quote_kind { Q_TCP, Q_UDP, Q_UDP_NO_CSUM, Q_ECHO, Q_KINDS };
static const char *const quote_kinds[] = { "TCP", "UDP", "UDP without checksum", "echo" };

/* A packet of the flow with client port cport (echo: identifier),
 * from src to dst; reply: the service's direction. */
static void flow_packet(struct fixture *p, bool l2, enum quote_kind k, const char *src,
			const char *dst, uint16_t cport, bool reply)
{
	bool v6 = strchr(src, ':') != NULL;
	struct fix_ip4 ip = { .src = src, .dst = dst };
	struct fix_l4 l4 = { .sport = reply ? 5000 : cport, .dport = reply ? cport : 5000 };

	if (k == Q_ECHO) {
		icmp_echo_frame(p, l2, src, dst,
				v6 ? (reply ? 129 : 128) : (reply ? 0 : 8), cport);
		return;
	}
	if (k == Q_TCP) {
		ip.proto = IPPROTO_TCP;
		l4.tcp_flags = FIX_ACK;
		l4.payload_len = 13;
	} else {
		ip.proto = IPPROTO_UDP;
		l4.udp_no_csum = k == Q_UDP_NO_CSUM;
		l4.payload_len = 33;
	}
	fix_build(p, l2, &ip, &l4);
}

static int run_case(const struct csum_case *c, int prog_fd, const struct fixture *in,
		    struct fixture *out)
{
	return c->complete ? run_tc_complete(prog_fd, in, out) : run_tc(prog_fd, in, out, NULL);
}

static void assert_error_frame(const struct fixture *out, const struct fixture *expected,
			       const char *kind)
{
	struct fixture q;

	cr_assert_eq(out->len, expected->len, "%s: length", kind);
	cr_assert_arr_eq(out->buf, expected->buf, expected->len,
			 "%s: the error built from scratch around the translated quote", kind);
	cr_assert(fix_l4_csum_ok(out), "%s: ICMP checksum", kind);
	icmp_quoted(out, &q);
	cr_assert(fix_ip_csum_ok(&q), "%s: quoted IP checksum", kind);
	cr_assert(fix_l4_csum_ok(&q), "%s: quoted L4 checksum", kind);
}

/* For each quote kind, a flow, then an error about it: from a router on
 * the public device quoting the front's reply (it goes to the backend,
 * quoting the reply as the backend sent it), or from_backend, the
 * backend's quoting the client's request as the backend received it (it
 * goes to the client, quoting the request as the client sent it). */
static void assert_errors_translated(const struct csum_case *c, bool from_backend)
{
	const struct family *f = c->v6 ? &v6 : &v4;
	/* The error's source and destination, and the quoted packet's, as
	 * they come and as they must leave. */
	const char *e_src = from_backend ? f->backend : f->router;
	const char *e_dst = from_backend ? f->client : f->public;
	const char *x_src = from_backend ? f->public : f->router;
	const char *x_dst = from_backend ? f->client : f->backend;
	const char *q_src = from_backend ? f->client : f->public;
	const char *q_dst = from_backend ? f->backend : f->client;
	const char *xq_src = from_backend ? f->client : f->backend;
	const char *xq_dst = from_backend ? f->public : f->client;
	const uint8_t *tc = from_backend ? f->unreach : f->too_big;
	uint32_t rest = from_backend ? 0 : 1280;
	struct fixture in, out, quoted, err, expected;

	for (int k = 0; k < Q_KINDS; k++) {
		uint16_t cport = 40630 + k;

		if (k == Q_UDP_NO_CSUM && c->v6)
			continue; /* mandatory over IPv6 */
		flow_packet(&in, true, k, f->client, f->public, cport, false);
		cr_assert_eq(run_case(c, in_fd, &in, &out), TC_ACT_REDIRECT, "%s flow",
			     quote_kinds[k]);
		flow_packet(&quoted, false, k, q_src, q_dst, cport, !from_backend);
		icmp_error_frame(&err, true, e_src, e_dst, tc[0], tc[1], rest, &quoted, quoted.len);
		flow_packet(&quoted, false, k, xq_src, xq_dst, cport, !from_backend);
		icmp_error_frame(&expected, true, x_src, x_dst, tc[0], tc[1], rest, &quoted,
				 quoted.len);
		fix_nat(&expected, NULL, NULL, 63);
		cr_assert_eq(run_case(c, from_backend ? rev_fd : in_fd, &err, &out),
			     TC_ACT_REDIRECT, "%s error", quote_kinds[k]);
		assert_error_frame(&out, &expected, quote_kinds[k]);
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_ERR_REWRITE), 0);
}

ParameterizedTestParameters(icmp_csum, router_error_about_a_reply_whole_frame)
{
	return cr_make_param_array(struct csum_case, csum_cases,
				   sizeof(csum_cases) / sizeof(csum_cases[0]));
}

ParameterizedTest(struct csum_case *c, icmp_csum, router_error_about_a_reply_whole_frame,
		  .init = setup_l2, .fini = teardown)
{
	assert_errors_translated(c, false);
}

ParameterizedTestParameters(icmp_csum, backend_error_about_a_request_whole_frame)
{
	return cr_make_param_array(struct csum_case, csum_cases,
				   sizeof(csum_cases) / sizeof(csum_cases[0]));
}

ParameterizedTest(struct csum_case *c, icmp_csum, backend_error_about_a_request_whole_frame,
		  .init = setup_l2_tunnel, .fini = teardown)
{
	assert_errors_translated(c, true);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Malformed and unusual input through the front programs (issue 7): each
 * frame with its expected verdict and counter. Expectations state the safety
 * property: what the stack must judge is passed to it untouched, counted by a
 * pass_* counter and never redirected; what is legitimate but unusual (IPv4
 * options, odd TCP options, padding) is relayed as the frame built the same
 * way to the backend with TTL 63 (checksums computed from scratch), byte
 * for byte.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <net/ethernet.h>
#include <netinet/ip.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

#define RELAY_COUNTER_NAME(id, name) name,
static const char *const names[RELAY_C_MAX] = { RELAY_COUNTERS(RELAY_COUNTER_NAME)
								 RELAY_COUNTERS_EXTRA(RELAY_COUNTER_NAME) };

/* The shared front, in a network namespace of each test's own: a socket
 * on the machine (any listener on 0.0.0.0:8080) would otherwise answer
 * the host-socket lookup and turn relayed verdicts into pass_host_socket. */
TestSuite(malformed, .init = setup_l2, .fini = teardown);

/* Sum of the counters whose name starts with prefix: new pass_* reasons
 * added later still count as "passed". */
static unsigned long long counted(const char *prefix)
{
	unsigned long long sum = 0;

	for (unsigned i = 0; i < RELAY_C_MAX; i++)
		if (!strncmp(names[i], prefix, strlen(prefix)))
			sum += counter(stats_fd, i);
	return sum;
}

/* Like run_tc, but -1 when BPF_PROG_TEST_RUN refuses the frame (shorter
 * than Ethernet, or an IPv4/IPv6 ethertype without a full IP header). */
static int try_run(int fd, const struct fixture *in, struct fixture *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->buf, .data_size_in = in->len,
		    .data_out = out->buf, .data_size_out = sizeof(out->buf), .repeat = 1);

	memset(out, 0, sizeof(*out));
	if (bpf_prog_test_run_opts(fd, &opts)) {
		cr_assert_eq(errno, EINVAL, "BPF_PROG_TEST_RUN: %s", strerror(errno));
		return -1;
	}
	out->len = opts.data_size_out;
	out->l3_off = in->l3_off;
	return (int)opts.retval;
}

/* Passed to the stack untouched, counted once as a pass (by `reason` when
 * it is not RELAY_C_MAX), nothing forwarded or returned. */
static void expect_passed(int fd, const struct fixture *in, enum relay_counter reason)
{
	struct fixture out;

	cr_assert_eq(try_run(fd, in, &out), TC_ACT_UNSPEC, "verdict");
	cr_assert_eq(out.len, in->len);
	cr_assert_arr_eq(out.buf, in->buf, in->len, "the frame was modified");
	cr_assert_eq(counted("pass_"), 1, "counted once as passed");
	cr_assert_eq(counted("forwarded_packets") + counted("returned_packets"), 0);
	cr_assert_eq(counted("error_"), 0);
	if (reason != RELAY_C_MAX)
		cr_assert_eq(counter(stats_fd, reason), 1, "counted as %s", names[reason]);
}

/* Relayed to the backend as expected, byte for byte. */
static void expect_relayed(const struct fixture *in, const struct fixture *expected)
{
	struct fixture out;

	cr_assert_eq(try_run(in_fd, in, &out), TC_ACT_REDIRECT, "verdict");
	cr_assert_eq(out.len, expected->len);
	cr_assert_arr_eq(out.buf, expected->buf, expected->len,
			 "the frame built to the backend with TTL 63, byte for byte");
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 1);
}

/* The client's packet (to PUBLIC, TTL 64), or as the front relays it (to
 * BACKEND, TTL 63): the expected frame of expect_relayed. */
struct hop {
	const char *dst;
	uint8_t ttl;
};

static const struct hop sent = { PUBLIC, 64 }, relayed = { BACKEND, 63 };

static void build_hop(struct fixture *f, const struct hop *h, uint8_t proto, uint8_t flags,
		      size_t payload)
{
	struct fix_ip4 ip = { .src = CLIENT, .dst = h->dst, .proto = proto, .ttl = h->ttl };
	struct fix_l4 l4 = { .sport = 40000, .dport = 8080, .tcp_flags = flags,
			     .icmp_type = 8, .payload_len = payload };

	fix_build(f, true, &ip, &l4);
}

static void build(struct fixture *f, uint8_t proto, uint8_t flags, size_t payload)
{
	build_hop(f, &sent, proto, flags, payload);
}

static void build_tcp_options(struct fixture *f, const struct hop *h, const uint8_t *opt,
			      size_t len)
{
	struct fix_ip4 ip = { .src = CLIENT, .dst = h->dst, .proto = IPPROTO_TCP, .ttl = h->ttl };
	struct fix_l4 l4 = { .sport = 40000, .dport = 8080, .tcp_flags = FIX_SYN, .options = opt,
			     .options_len = len };

	fix_build(f, true, &ip, &l4);
}

static uint8_t *ip_of(struct fixture *f)
{
	return f->buf + f->l3_off;
}

static void set_tot_len(struct fixture *f, size_t tot)
{
	ip_of(f)[2] = tot >> 8;
	ip_of(f)[3] = tot & 0xff;
}

static size_t tot_len(struct fixture *f)
{
	return (size_t)ip_of(f)[2] << 8 | ip_of(f)[3];
}

static void set_ethertype(struct fixture *f, uint16_t type)
{
	f->buf[12] = type >> 8;
	f->buf[13] = type & 0xff;
}

/* The IPv4 header length, in 32-bit words (valid: 5 to 15). */
static void set_ihl(struct fixture *f, uint8_t words)
{
	ip_of(f)[0] = (uint8_t)(0x40 | words);
}

/* The TCP data offset, in 32-bit words (valid: 5 to 15). */
static void set_tcp_doff(struct fixture *f, uint8_t words)
{
	((uint8_t *)fix_l4(f))[12] = (uint8_t)(words << 4);
}

/* Cuts the frame (and the IP total length) to l4_len bytes of the
 * transport header, the IPv4 checksum made valid again. */
static void cut_l4(struct fixture *f, size_t l4_len)
{
	f->len = FIX_ETH_LEN + 20 + l4_len;
	set_tot_len(f, 20 + l4_len);
	fix_set_csums(f, false);
}

/* ---- Link layer: never IPv4, so never ours. ---- */

Test(malformed, frame_shorter_than_ethernet_is_refused_by_the_test_run)
{
	struct fixture in, out;

	build(&in, IPPROTO_TCP, FIX_SYN, 0);
	in.len = 10;
	/* Such a frame never reaches TC; BPF_PROG_TEST_RUN refuses it too. */
	cr_assert_eq(try_run(in_fd, &in, &out), -1);
}

Test(malformed, ethernet_header_alone_passes)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, FIX_SYN, 0);
	set_ethertype(&in, 0x88b5); /* one nobody relays */
	in.len = FIX_ETH_LEN;
	expect_passed(in_fd, &in, RELAY_C_PASS_NOT_IP);
}

Test(malformed, truncated_ipv4_header_is_refused_by_the_test_run)
{
	struct fixture in, out;

	build(&in, IPPROTO_TCP, FIX_SYN, 0);
	in.len = FIX_ETH_LEN + 19;
	/* The kernel wants a full IPv4 header after the ethertype; the
	 * program's own bounds check (verifier-enforced) covers the rest. */
	cr_assert_eq(try_run(in_fd, &in, &out), -1);
}

Test(malformed, arp_passes)
{
	static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 203, 0, 113,
					 10, 0, 0, 0, 0, 0, 0, 203, 0, 113, 1 };
	struct fixture in;

	build(&in, IPPROTO_TCP, FIX_SYN, 0);
	set_ethertype(&in, ETHERTYPE_ARP);
	memcpy(in.buf + FIX_ETH_LEN, arp, sizeof(arp));
	in.len = FIX_ETH_LEN + sizeof(arp);
	expect_passed(in_fd, &in, RELAY_C_PASS_NOT_IP);
}

Test(malformed, vlan_tagged_frame_passes)
{
	struct fixture in, tagged;

	/* A tag left in the frame (no VLAN offload): the IPv4 packet inside is
	 * the VLAN device's business, not the public device's. */
	build(&in, IPPROTO_TCP, FIX_SYN, 0);
	tagged = in;
	set_ethertype(&tagged, ETHERTYPE_VLAN);
	tagged.buf[14] = 0x00; /* priority 0, VLAN 100 */
	tagged.buf[15] = 0x64;
	tagged.buf[16] = ETHERTYPE_IP >> 8;
	tagged.buf[17] = ETHERTYPE_IP & 0xff;
	memcpy(tagged.buf + 18, in.buf + FIX_ETH_LEN, in.len - FIX_ETH_LEN);
	tagged.len = in.len + 4;
	expect_passed(in_fd, &tagged, RELAY_C_PASS_NOT_IP);
}

/* An IPv6 packet to an address that is not public (PUBLIC6 is). */
Test(malformed, ipv6_not_public_passes)
{
	struct fix_ip4 ip = { .src = "2001:db8::10", .dst = "2001:db8::1", .proto = IPPROTO_TCP };
	struct fix_l4 l4 = { .sport = 40000, .dport = 8080, .tcp_flags = FIX_SYN };
	struct fixture in;

	fix_build(&in, true, &ip, &l4);
	expect_passed(in_fd, &in, RELAY_C_PASS_NOT_PUBLIC);
}

/* ---- IPv4 header. ---- */

Test(malformed, ihl_below_5_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, FIX_SYN, 0);
	set_ihl(&in, 4);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, ihl_beyond_the_packet_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, FIX_SYN, 0);
	set_ihl(&in, 15); /* 60 bytes of header in a 40-byte packet */
	fix_set_csums(&in, false);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, total_length_beyond_the_frame_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, FIX_PSH | FIX_ACK, 100);
	set_tot_len(&in, tot_len(&in) + 100);
	fix_set_csums(&in, false);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, total_length_shorter_than_the_headers_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, FIX_PSH | FIX_ACK, 100);
	set_tot_len(&in, 20 + 10); /* the TCP header is in the frame, not in the packet */
	fix_set_csums(&in, false);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, total_length_below_the_ip_header_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, FIX_PSH | FIX_ACK, 0);
	set_tot_len(&in, 12);
	fix_set_csums(&in, false);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

/* Padding up to the 60-byte minimum, which the total length leaves out. */
static void padded(struct fixture *f, const struct hop *h)
{
	build_hop(f, h, IPPROTO_TCP, FIX_SYN, 0);
	memset(f->buf + f->len, 0xa5, 6);
	f->len += 6;
}

Test(malformed, ethernet_padding_past_the_total_length_is_relayed_untouched)
{
	struct fixture in, expected;

	padded(&in, &sent);
	padded(&expected, &relayed);
	expect_relayed(&in, &expected);
}

/* Record route with room for one address, then end of options. */
static void with_ip_options(struct fixture *f, const struct hop *h)
{
	static const uint8_t opts[8] = { 7, 7, 4, 0, 0, 0, 0, 0 };
	struct fixture base;
	size_t ip = FIX_ETH_LEN;

	build_hop(&base, h, IPPROTO_TCP, FIX_PSH | FIX_ACK, 40);
	*f = base;
	memcpy(f->buf + ip + 20, opts, sizeof(opts));
	memcpy(f->buf + ip + 28, base.buf + ip + 20, base.len - ip - 20);
	f->len = base.len + sizeof(opts);
	set_ihl(f, 7);
	set_tot_len(f, tot_len(&base) + sizeof(opts));
	fix_set_csums(f, true);
}

Test(malformed, ipv4_options_are_relayed_unchanged)
{
	struct fixture in, expected;

	with_ip_options(&in, &sent);
	with_ip_options(&expected, &relayed);
	cr_assert(fix_ip_csum_ok(&in) && fix_l4_csum_ok(&in), "fixture");
	expect_relayed(&in, &expected);
}

/* ---- Transport headers. ---- */

Test(malformed, truncated_tcp_header_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, FIX_SYN, 0);
	cut_l4(&in, 10);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

/* UDP and ICMP are passed as protocols today; once relayed, a truncated
 * header must still never be. */
Test(malformed, truncated_udp_header_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_UDP, 0, 0);
	cut_l4(&in, 4);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, truncated_icmp_header_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_ICMP, 0, 0);
	cut_l4(&in, 4);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, tcp_data_offset_below_5_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, FIX_SYN, 0);
	set_tcp_doff(&in, 4);
	fix_set_csums(&in, true);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, tcp_data_offset_beyond_the_packet_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, FIX_PSH | FIX_ACK, 8);
	set_tcp_doff(&in, 15); /* 60 bytes of header in 28 */
	fix_set_csums(&in, true);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

/*
 * TCP options are the endpoints' business: odd ones are relayed as they
 * are. Once MSS clamping lands these stay valid: a clamp must leave an
 * option it cannot parse alone (the bytes are compared).
 */
Test(malformed, tcp_option_with_zero_length_is_relayed_unchanged)
{
	static const uint8_t opts[8] = { 8, 0, 2, 4, 0xff, 0xff, 0, 0 };
	struct fixture in, expected;

	build_tcp_options(&in, &sent, opts, sizeof(opts));
	build_tcp_options(&expected, &relayed, opts, sizeof(opts));
	expect_relayed(&in, &expected);
}

Test(malformed, tcp_option_running_past_the_header_is_relayed_unchanged)
{
	static const uint8_t opts[8] = { 1, 1, 1, 1, 1, 2, 12, 0xff };
	struct fixture in, expected;

	build_tcp_options(&in, &sent, opts, sizeof(opts));
	build_tcp_options(&expected, &relayed, opts, sizeof(opts));
	expect_relayed(&in, &expected);
}

Test(malformed, mss_option_with_a_wrong_length_is_relayed_unchanged)
{
	static const uint8_t opts[8] = { 2, 3, 0xff, 0xff, 2, 6, 0xff, 0xff };
	struct fixture in, expected;

	build_tcp_options(&in, &sent, opts, sizeof(opts));
	build_tcp_options(&expected, &relayed, opts, sizeof(opts));
	expect_relayed(&in, &expected);
}

/* ---- Fragments. ---- */

static void fragment_hop(struct fixture *f, const struct hop *h, uint16_t frag_off,
			 size_t payload)
{
	struct fix_ip4 ip = { .src = CLIENT, .dst = h->dst, .proto = IPPROTO_TCP, .ttl = h->ttl,
			      .frag_off = frag_off };
	struct fix_l4 l4 = { .sport = 40000, .dport = 8080, .tcp_flags = FIX_PSH | FIX_ACK,
			     .payload_len = payload };

	fix_build(f, true, &ip, &l4);
	if (frag_off & IP_OFFMASK) /* no TCP header in a later fragment */
		memset(f->buf + FIX_ETH_LEN + 20, 0x5a, payload + 20);
	fix_set_csums(f, false);
}

static void fragment(struct fixture *f, uint16_t frag_off, size_t payload)
{
	fragment_hop(f, &sent, frag_off, payload);
}

/* The first fragment carries the ports: relayed like the datagram's other
 * packets would be. Its TCP checksum (the fixture's, over the fragment
 * alone) is updated for the new address and nothing else. */
Test(malformed, first_fragment_is_relayed_with_only_nat_fields_changed)
{
	struct fixture in, expected;

	fragment(&in, IP_MF, 64);
	fragment_hop(&expected, &relayed, IP_MF, 64);
	expect_relayed(&in, &expected);
}

/*
 * Later fragments carry no ports. Today they pass to the stack, counted as
 * pass_protocol; with fragment tracking they may be relayed instead: both
 * are accepted, but their payload is never touched (no TCP header there).
 */
static void expect_later_fragment_safe(uint16_t frag_off, size_t payload)
{
	struct fixture in, out, expected;
	int ret;

	fragment(&in, frag_off, payload);
	ret = try_run(in_fd, &in, &out);
	cr_assert(ret == TC_ACT_UNSPEC || ret == TC_ACT_REDIRECT, "verdict %d", ret);
	if (ret == TC_ACT_UNSPEC) {
		expected = in;
		cr_assert_eq(counted("pass_"), 1);
	} else {
		fragment_hop(&expected, &relayed, frag_off, payload);
	}
	cr_assert_eq(out.len, expected.len);
	cr_assert_arr_eq(out.buf, expected.buf, expected.len,
			 "%s", ret == TC_ACT_OK ? "passed: the frame was modified" :
						  "relayed: not the fragment built to the backend");
}

Test(malformed, middle_fragment_is_never_rewritten_past_the_ip_header)
{
	expect_later_fragment_safe(IP_MF | 8, 64);
}

Test(malformed, last_fragment_is_never_rewritten_past_the_ip_header)
{
	expect_later_fragment_safe(16, 32);
}

Test(malformed, overlapping_fragments_are_never_rewritten_past_the_ip_header)
{
	struct fixture a;

	/* Offset 1 (8 bytes) overlaps the first fragment's TCP header: the
	 * classic attempt to rewrite ports after the filter looked at them. */
	fragment(&a, IP_MF, 64);
	cr_assert_eq(try_run(in_fd, &a, &(struct fixture){ 0 }), TC_ACT_REDIRECT);
	expect_later_fragment_safe(1, 32);
}

/* ---- ICMP errors. ---- */

/* Fragmentation needed whose embedded packet (a SYN) is cut after
 * `embedded` bytes (a full one is 20 of IPv4 + 8 of transport). */
static void icmp_error(struct fixture *f, const char *src, const char *dst, size_t embedded)
{
	struct fixture inner;

	build(&inner, IPPROTO_TCP, FIX_SYN, 0);
	icmp_error_frame(f, true, src, dst, 3, 4, 0, &inner, embedded);
}

Test(malformed, icmp_error_with_truncated_embedded_header_passes)
{
	struct fixture in;

	icmp_error(&in, "198.51.100.9", PUBLIC, 12);
	expect_passed(in_fd, &in, RELAY_C_MAX);
}

Test(malformed, icmp_error_with_truncated_embedded_ports_passes)
{
	struct fixture in;

	icmp_error(&in, "198.51.100.9", PUBLIC, 22);
	expect_passed(in_fd, &in, RELAY_C_MAX);
}

/* ---- From the tunnel: a flow exists, the reply is malformed. ---- */

static void open_flow(void)
{
	struct fixture in, out;

	build(&in, IPPROTO_TCP, FIX_SYN, 0);
	cr_assert_eq(try_run(in_fd, &in, &out), TC_ACT_REDIRECT);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 1);
	/* expect_passed counts from here. */
	counters_reset(stats_fd);
}

static void reply(struct fixture *f, uint8_t proto)
{
	struct fix_ip4 ip = { .src = BACKEND, .dst = CLIENT, .proto = proto };
	struct fix_l4 l4 = { .sport = 8080, .dport = 40000, .tcp_flags = FIX_SYN | FIX_ACK,
			     .icmp_type = 3 };

	fix_build(f, true, &ip, &l4);
}

Test(malformed, reply_with_total_length_beyond_the_frame_is_never_translated, .init = with_tunnel)
{
	struct fixture in;

	open_flow();
	reply(&in, IPPROTO_TCP);
	set_tot_len(&in, tot_len(&in) + 1);
	fix_set_csums(&in, false);
	expect_passed(rev_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, reply_with_ihl_below_5_is_never_translated, .init = with_tunnel)
{
	struct fixture in;

	open_flow();
	reply(&in, IPPROTO_TCP);
	set_ihl(&in, 3);
	expect_passed(rev_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, reply_with_tcp_data_offset_below_5_is_never_translated, .init = with_tunnel)
{
	struct fixture in;

	open_flow();
	reply(&in, IPPROTO_TCP);
	set_tcp_doff(&in, 2);
	fix_set_csums(&in, true);
	expect_passed(rev_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, reply_with_truncated_tcp_header_is_never_translated, .init = with_tunnel)
{
	struct fixture in;

	open_flow();
	reply(&in, IPPROTO_TCP);
	cut_l4(&in, 12);
	expect_passed(rev_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, icmp_error_from_the_backend_with_truncated_embedded_header_is_never_translated,
     .init = with_tunnel)
{
	struct fixture in;

	open_flow();
	icmp_error(&in, BACKEND, CLIENT, 16);
	expect_passed(rev_fd, &in, RELAY_C_MAX);
}

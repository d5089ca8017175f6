// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Malformed and unusual input through the front programs (issue 7): each
 * frame with its expected verdict and counter. Expectations state the safety
 * property: what the stack must judge is passed to it untouched, counted by a
 * pass_* counter and never redirected; what is legitimate but unusual (IPv4
 * options, odd TCP options, padding) is relayed with only the NAT fields
 * changed and valid checksums.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

#define RELAY_COUNTER_NAME(id, name) name,
static const char *const names[RELAY_C_MAX] = { RELAY_COUNTERS(RELAY_COUNTER_NAME) };

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

/* Relayed to the backend: only TTL, daddr and the checksums covering them
 * changed (l4_csum: offset of the L4 checksum in the frame, 0 if none). */
static void expect_relayed(const struct fixture *in, size_t l4_csum, bool l4_verifiable)
{
	struct fixture out, a, b;
	size_t ip = in->l3_off;

	cr_assert_eq(try_run(in_fd, in, &out), TC_ACT_REDIRECT, "verdict");
	cr_assert_eq(out.len, in->len);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert_eq(fix_ttl(&out), fix_ttl(in) - 1);
	cr_assert(fix_ip_csum_ok(&out), "IPv4 checksum");
	if (l4_verifiable)
		cr_assert(fix_l4_csum_ok(&out), "L4 checksum");
	a = *in;
	b = out;
	a.buf[ip + 8] = b.buf[ip + 8] = 0;
	memset(a.buf + ip + 10, 0, 2);
	memset(b.buf + ip + 10, 0, 2);
	memset(a.buf + ip + 16, 0, 4);
	memset(b.buf + ip + 16, 0, 4);
	if (l4_csum) {
		memset(a.buf + l4_csum, 0, 2);
		memset(b.buf + l4_csum, 0, 2);
	}
	cr_assert_arr_eq(a.buf, b.buf, in->len, "bytes outside the NAT fields changed");
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 1);
}

static void build(struct fixture *f, uint8_t proto, uint8_t flags, size_t payload)
{
	struct fix_ip4 ip = { .src = CLIENT, .dst = PUBLIC, .proto = proto };
	struct fix_l4 l4 = { .sport = 40000, .dport = 8080, .tcp_flags = flags,
			     .icmp_type = 8, .payload_len = payload };

	fix_build(f, true, &ip, &l4);
}

static void build_tcp_options(struct fixture *f, const uint8_t *opt, size_t len)
{
	struct fix_ip4 ip = { .src = CLIENT, .dst = PUBLIC, .proto = IPPROTO_TCP };
	struct fix_l4 l4 = { .sport = 40000, .dport = 8080, .tcp_flags = 0x02, .options = opt,
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

static size_t tcp_csum_off(const struct fixture *f)
{
	return (size_t)(fix_l4(f) - f->buf) + 16;
}

/* ---- Link layer: never IPv4, so never ours. ---- */

Test(malformed, frame_shorter_than_ethernet_is_refused_by_the_test_run)
{
	struct fixture in, out;

	build(&in, IPPROTO_TCP, 0x02, 0);
	in.len = 10;
	/* Such a frame never reaches TC; BPF_PROG_TEST_RUN refuses it too. */
	cr_assert_eq(try_run(in_fd, &in, &out), -1);
}

Test(malformed, ethernet_header_alone_passes)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, 0x02, 0);
	in.buf[12] = 0x88; /* an ethertype nobody relays */
	in.buf[13] = 0xb5;
	in.len = FIX_ETH_LEN;
	expect_passed(in_fd, &in, RELAY_C_PASS_NOT_IP);
}

Test(malformed, truncated_ipv4_header_is_refused_by_the_test_run)
{
	struct fixture in, out;

	build(&in, IPPROTO_TCP, 0x02, 0);
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

	build(&in, IPPROTO_TCP, 0x02, 0);
	in.buf[12] = 0x08;
	in.buf[13] = 0x06;
	memcpy(in.buf + FIX_ETH_LEN, arp, sizeof(arp));
	in.len = FIX_ETH_LEN + sizeof(arp);
	expect_passed(in_fd, &in, RELAY_C_PASS_NOT_IP);
}

Test(malformed, vlan_tagged_frame_passes)
{
	struct fixture in, tagged;

	/* A tag left in the frame (no VLAN offload): the IPv4 packet inside is
	 * the VLAN device's business, not the public device's. */
	build(&in, IPPROTO_TCP, 0x02, 0);
	tagged = in;
	tagged.buf[12] = 0x81;
	tagged.buf[13] = 0x00;
	tagged.buf[14] = 0x00;
	tagged.buf[15] = 0x64;
	tagged.buf[16] = 0x08;
	tagged.buf[17] = 0x00;
	memcpy(tagged.buf + 18, in.buf + FIX_ETH_LEN, in.len - FIX_ETH_LEN);
	tagged.len = in.len + 4;
	expect_passed(in_fd, &tagged, RELAY_C_PASS_NOT_IP);
}

/* An IPv6 packet to an address that is not public (none is configured). */
Test(malformed, ipv6_not_public_passes)
{
	struct fixture in;
	uint8_t *ip6;

	build(&in, IPPROTO_TCP, 0x02, 0);
	in.buf[12] = 0x86;
	in.buf[13] = 0xdd;
	ip6 = in.buf + FIX_ETH_LEN;
	memset(ip6, 0, 60);
	ip6[0] = 0x60;
	ip6[5] = 20;                /* payload length */
	ip6[6] = IPPROTO_TCP;
	ip6[7] = 64;
	ip6[8] = 0x20, ip6[9] = 0x01, ip6[10] = 0x0d, ip6[11] = 0xb8, ip6[23] = 0x10;
	ip6[24] = 0x20, ip6[25] = 0x01, ip6[26] = 0x0d, ip6[27] = 0xb8, ip6[39] = 0x01;
	ip6[40] = 0x9c, ip6[41] = 0x40, ip6[42] = 0x1f, ip6[43] = 0x90, ip6[52] = 0x50;
	ip6[53] = 0x02;
	in.len = FIX_ETH_LEN + 60;
	expect_passed(in_fd, &in, RELAY_C_PASS_NOT_PUBLIC);
}

/* ---- IPv4 header. ---- */

Test(malformed, ihl_below_5_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, 0x02, 0);
	ip_of(&in)[0] = 0x44;
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, ihl_beyond_the_packet_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, 0x02, 0);
	ip_of(&in)[0] = 0x4f; /* 60 bytes of header in a 40-byte packet */
	fix_set_csums(&in, false);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, total_length_beyond_the_frame_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, 0x18, 100);
	set_tot_len(&in, tot_len(&in) + 100);
	fix_set_csums(&in, false);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, total_length_shorter_than_the_headers_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, 0x18, 100);
	set_tot_len(&in, 20 + 10); /* the TCP header is in the frame, not in the packet */
	fix_set_csums(&in, false);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, total_length_below_the_ip_header_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, 0x18, 0);
	set_tot_len(&in, 12);
	fix_set_csums(&in, false);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, ethernet_padding_past_the_total_length_is_relayed_untouched)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, 0x02, 0);
	memset(in.buf + in.len, 0xa5, 6); /* padding up to the 60-byte minimum */
	in.len += 6;
	expect_relayed(&in, tcp_csum_off(&in), true);
}

Test(malformed, ipv4_options_are_relayed_unchanged)
{
	/* Record route with room for one address, then end of options. */
	static const uint8_t opts[8] = { 7, 7, 4, 0, 0, 0, 0, 0 };
	struct fixture base, in;
	size_t ip = FIX_ETH_LEN;

	build(&base, IPPROTO_TCP, 0x18, 40);
	in = base;
	memcpy(in.buf + ip + 20, opts, sizeof(opts));
	memcpy(in.buf + ip + 28, base.buf + ip + 20, base.len - ip - 20);
	in.len = base.len + sizeof(opts);
	in.buf[ip] = 0x47;
	set_tot_len(&in, tot_len(&base) + sizeof(opts));
	fix_set_csums(&in, true);
	cr_assert(fix_ip_csum_ok(&in) && fix_l4_csum_ok(&in), "fixture");
	expect_relayed(&in, tcp_csum_off(&in), true);
}

/* ---- Transport headers. ---- */

Test(malformed, truncated_tcp_header_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, 0x02, 0);
	in.len = FIX_ETH_LEN + 20 + 10;
	set_tot_len(&in, 30);
	fix_set_csums(&in, false);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

/* UDP and ICMP are passed as protocols today; once relayed, a truncated
 * header must still never be. */
Test(malformed, truncated_udp_header_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_UDP, 0, 0);
	in.len = FIX_ETH_LEN + 20 + 4;
	set_tot_len(&in, 24);
	fix_set_csums(&in, false);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, truncated_icmp_header_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_ICMP, 0, 0);
	in.len = FIX_ETH_LEN + 20 + 4;
	set_tot_len(&in, 24);
	fix_set_csums(&in, false);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, tcp_data_offset_below_5_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, 0x02, 0);
	in.buf[FIX_ETH_LEN + 20 + 12] = 4 << 4;
	fix_set_csums(&in, true);
	expect_passed(in_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, tcp_data_offset_beyond_the_packet_passes_malformed)
{
	struct fixture in;

	build(&in, IPPROTO_TCP, 0x18, 8);
	in.buf[FIX_ETH_LEN + 20 + 12] = 15 << 4; /* 60 bytes of header in 28 */
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
	struct fixture in;

	build_tcp_options(&in, opts, sizeof(opts));
	expect_relayed(&in, tcp_csum_off(&in), true);
}

Test(malformed, tcp_option_running_past_the_header_is_relayed_unchanged)
{
	static const uint8_t opts[8] = { 1, 1, 1, 1, 1, 2, 12, 0xff };
	struct fixture in;

	build_tcp_options(&in, opts, sizeof(opts));
	expect_relayed(&in, tcp_csum_off(&in), true);
}

Test(malformed, mss_option_with_a_wrong_length_is_relayed_unchanged)
{
	static const uint8_t opts[8] = { 2, 3, 0xff, 0xff, 2, 6, 0xff, 0xff };
	struct fixture in;

	build_tcp_options(&in, opts, sizeof(opts));
	expect_relayed(&in, tcp_csum_off(&in), true);
}

/* ---- Fragments. ---- */

static void fragment(struct fixture *f, uint16_t frag_off, size_t payload)
{
	struct fix_ip4 ip = { .src = CLIENT, .dst = PUBLIC, .proto = IPPROTO_TCP,
			      .frag_off = frag_off };
	struct fix_l4 l4 = { .sport = 40000, .dport = 8080, .tcp_flags = 0x18,
			     .payload_len = payload };

	fix_build(f, true, &ip, &l4);
	if (frag_off & 0x1fff) /* no TCP header in a later fragment */
		memset(f->buf + FIX_ETH_LEN + 20, 0x5a, payload + 20);
	fix_set_csums(f, false);
}

/* The first fragment carries the ports: relayed like the datagram's other
 * packets would be (its L4 checksum covers the whole datagram, so only the
 * IPv4 one can be verified here). */
Test(malformed, first_fragment_is_relayed_with_only_nat_fields_changed)
{
	struct fixture in;

	fragment(&in, 0x2000, 64);
	expect_relayed(&in, tcp_csum_off(&in), false);
}

/*
 * Later fragments carry no ports. Today they pass to the stack, counted as
 * pass_protocol; with fragment tracking they may be relayed instead: both
 * are accepted, but their payload is never touched (no TCP header there).
 */
static void expect_later_fragment_safe(const struct fixture *in)
{
	struct fixture out;
	size_t ip = FIX_ETH_LEN;
	int ret = try_run(in_fd, in, &out);

	cr_assert(ret == TC_ACT_UNSPEC || ret == TC_ACT_REDIRECT, "verdict %d", ret);
	cr_assert_eq(out.len, in->len);
	cr_assert_arr_eq(out.buf + ip + 20, in->buf + ip + 20, in->len - ip - 20,
			 "a fragment's payload was modified");
	if (ret == TC_ACT_UNSPEC) {
		cr_assert_arr_eq(out.buf, in->buf, in->len);
		cr_assert_eq(counted("pass_"), 1);
	} else {
		cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
		cr_assert(fix_ip_csum_ok(&out));
	}
}

Test(malformed, middle_fragment_is_never_rewritten_past_the_ip_header)
{
	struct fixture in;

	fragment(&in, 0x2000 | 8, 64);
	expect_later_fragment_safe(&in);
}

Test(malformed, last_fragment_is_never_rewritten_past_the_ip_header)
{
	struct fixture in;

	fragment(&in, 16, 32);
	expect_later_fragment_safe(&in);
}

Test(malformed, overlapping_fragments_are_never_rewritten_past_the_ip_header)
{
	struct fixture a, b;

	/* Offset 1 (8 bytes) overlaps the first fragment's TCP header: the
	 * classic attempt to rewrite ports after the filter looked at them. */
	fragment(&a, 0x2000, 64);
	fragment(&b, 1, 32);
	cr_assert_eq(try_run(in_fd, &a, &(struct fixture){ 0 }), TC_ACT_REDIRECT);
	expect_later_fragment_safe(&b);
}

/* ---- ICMP errors. ---- */

/* Destination unreachable whose embedded packet is cut after `embedded`
 * bytes (a full one is 20 of IPv4 + 8 of transport). */
static void icmp_error(struct fixture *f, const char *src, const char *dst, size_t embedded)
{
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = IPPROTO_ICMP };
	struct fix_l4 l4 = { .icmp_type = 3, .payload_len = embedded };
	struct fixture inner;
	uint8_t *icmp;

	build(&inner, IPPROTO_TCP, 0x02, 0);
	fix_build(f, true, &ip, &l4);
	icmp = f->buf + FIX_ETH_LEN + 20;
	icmp[1] = 4; /* fragmentation needed */
	icmp[4] = icmp[5] = 0;
	memcpy(icmp + 8, inner.buf + FIX_ETH_LEN, embedded);
	fix_set_csums(f, true);
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

	build(&in, IPPROTO_TCP, 0x02, 0);
	cr_assert_eq(try_run(in_fd, &in, &out), TC_ACT_REDIRECT);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 1);
	/* expect_passed counts from here. */
	cr_assert_eq(bpf_map_update_elem(stats_fd, &(__u32){ RELAY_C_FWD_PACKETS },
					 (unsigned long long[256]){ 0 }, BPF_ANY), 0);
}

static void reply(struct fixture *f, uint8_t proto)
{
	struct fix_ip4 ip = { .src = BACKEND, .dst = CLIENT, .proto = proto };
	struct fix_l4 l4 = { .sport = 8080, .dport = 40000, .tcp_flags = 0x12, .icmp_type = 3 };

	fix_build(f, true, &ip, &l4);
}

Test(malformed, reply_with_total_length_beyond_the_frame_is_never_translated)
{
	struct fixture in;

	open_flow();
	reply(&in, IPPROTO_TCP);
	set_tot_len(&in, tot_len(&in) + 1);
	fix_set_csums(&in, false);
	expect_passed(rev_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, reply_with_ihl_below_5_is_never_translated)
{
	struct fixture in;

	open_flow();
	reply(&in, IPPROTO_TCP);
	ip_of(&in)[0] = 0x43;
	expect_passed(rev_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, reply_with_tcp_data_offset_below_5_is_never_translated)
{
	struct fixture in;

	open_flow();
	reply(&in, IPPROTO_TCP);
	in.buf[FIX_ETH_LEN + 20 + 12] = 2 << 4;
	fix_set_csums(&in, true);
	expect_passed(rev_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, reply_with_truncated_tcp_header_is_never_translated)
{
	struct fixture in;

	open_flow();
	reply(&in, IPPROTO_TCP);
	in.len = FIX_ETH_LEN + 20 + 12;
	set_tot_len(&in, 32);
	fix_set_csums(&in, false);
	expect_passed(rev_fd, &in, RELAY_C_PASS_MALFORMED);
}

Test(malformed, icmp_error_from_the_backend_with_truncated_embedded_header_is_never_translated)
{
	struct fixture in;

	open_flow();
	icmp_error(&in, BACKEND, CLIENT, 16);
	expect_passed(rev_fd, &in, RELAY_C_MAX);
}

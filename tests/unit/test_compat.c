// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The IPv6 address rewrite on every path a kernel may take (bpf/lib/nat.h):
 * with BPF_F_IPV6 where the probe finds it, and the fallback a kernel
 * without it takes, forced here (RELAYBPF_FORCE_FALLBACK=1) so that it is
 * tested on every kernel. Each output is compared whole with a frame built
 * from scratch, and each runs on a CHECKSUM_NONE skb (BPF_PROG_TEST_RUN's
 * default) and, where the kernel can (6.11+), a CHECKSUM_COMPLETE one,
 * whose skb->csum the kernel checks against the output packet.
 */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "compat.h"
#include "run.h"
#include "test_front_env.h"

struct csum_mode {
	bool fallback; /* RELAYBPF_FORCE_FALLBACK=1 */
	bool complete; /* CHECKSUM_COMPLETE skb */
};

static struct csum_mode modes[] = {
	{ false, false },
	{ false, true },
	{ true, false },
	{ true, true },
};

/* The front as attach loads it, with the fallback forced or not. */
static void setup_mode(const struct csum_mode *m)
{
	if (m->fallback)
		cr_assert_eq(setenv("RELAYBPF_FORCE_FALLBACK", "1", 1), 0);
	front_setup(true, FRONT_TUNNEL);
	cr_assert_eq(objs.pub->rodata->relay_has_l4_ipv6,
		     m->fallback ? 0 : relay_features()->l4_csum_ipv6,
		     "the programs take the probed path, or the fallback when forced");
	cr_assert_eq(objs.tun->rodata->relay_has_l4_ipv6, objs.pub->rodata->relay_has_l4_ipv6);
}

static int run_mode(const struct csum_mode *m, int prog_fd, const struct fixture *in,
		    struct fixture *out)
{
	return m->complete ? run_tc_complete(prog_fd, in, out) : run_tc(prog_fd, in, out, NULL);
}

/* Frames of one flow in one direction: TCP, UDP and ICMPv6 echo. hops 0
 * is 64. */
static void flow_frame(struct fixture *f, int kind, const char *src, const char *dst,
		       bool reply, uint8_t hops)
{
	struct fix_ip4 ip = { .src = src, .dst = dst, .ttl = hops };
	struct fix_l4 l4 = { .sport = reply ? 8080 : 40000, .dport = reply ? 40000 : 8080,
			     .payload_len = 61 };

	if (kind == 0) {
		ip.proto = IPPROTO_TCP;
		l4.tcp_flags = reply ? FIX_SYN | FIX_ACK : FIX_SYN;
	} else if (kind == 1) {
		ip.proto = IPPROTO_UDP;
	} else {
		ip.proto = IPPROTO_ICMPV6;
		l4.sport = 7;
		l4.icmp_type = reply ? 129 : 128;
	}
	fix_build(f, true, &ip, &l4);
}

ParameterizedTestParameters(ipv6_csum, relayed_both_ways_with_valid_checksums)
{
	return cr_make_param_array(struct csum_mode, modes, sizeof(modes) / sizeof(modes[0]));
}

ParameterizedTest(struct csum_mode *m, ipv6_csum, relayed_both_ways_with_valid_checksums,
		  .fini = teardown)
{
	static const char *const kinds[] = { "TCP", "UDP", "ICMPv6 echo" };
	struct fixture in, out, expected;

	setup_mode(m);
	for (int k = 0; k < 3; k++) {
		flow_frame(&in, k, CLIENT6, PUBLIC6, false, 0);
		flow_frame(&expected, k, CLIENT6, BACKEND6, false, 63);
		cr_assert_eq(run_mode(m, in_fd, &in, &out), TC_ACT_REDIRECT, "%s in", kinds[k]);
		assert_frame_eq(&out, &expected, kinds[k]);

		flow_frame(&in, k, BACKEND6, CLIENT6, true, 0);
		flow_frame(&expected, k, PUBLIC6, CLIENT6, true, 63);
		cr_assert_eq(run_mode(m, rev_fd, &in, &out), TC_ACT_REDIRECT, "%s reply", kinds[k]);
		assert_frame_eq(&out, &expected, kinds[k]);
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_ERR_REWRITE), 0);
}

ParameterizedTestParameters(ipv6_csum, later_fragment_keeps_the_packet_sum)
{
	return cr_make_param_array(struct csum_mode, modes, sizeof(modes) / sizeof(modes[0]));
}

/* No L4 checksum to update: only the address and hop limit change. */
ParameterizedTest(struct csum_mode *m, ipv6_csum, later_fragment_keeps_the_packet_sum,
		  .fini = teardown)
{
	struct fix_ip4 ip = { .src = CLIENT6, .dst = PUBLIC6, .proto = IPPROTO_UDP,
			      .frag_off = 0x2000 };
	struct fix_l4 l4 = { .sport = 40012, .dport = 5000, .payload_len = 64 };
	struct fixture in, out, expected;

	setup_mode(m);
	fix_build(&in, true, &ip, &l4);
	cr_assert_eq(run_mode(m, in_fd, &in, &out), TC_ACT_REDIRECT, "the first fragment");
	ip.frag_off = 9; /* offset 72 bytes, last fragment */
	fix_build(&in, true, &ip, &l4);
	expected = in;
	expected.buf[FIX_ETH_LEN + 7] = 63;
	fix_addr6(BACKEND6, expected.buf + FIX_ETH_LEN + 24);
	cr_assert_eq(run_mode(m, in_fd, &in, &out), TC_ACT_REDIRECT, "the later fragment");
	cr_assert_eq(out.len, expected.len);
	cr_assert_arr_eq(out.buf, expected.buf, expected.len, "only address and hop limit changed");
}

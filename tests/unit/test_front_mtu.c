// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The front as the client's router: packets too big for the tunnel and
 * packets whose TTL expires get the ICMP error a router sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

#define TUNNEL_MTU 1420

/* The tunnel in these tests is the test netns's lo (ifindex 1). */
static void setup_mtu(void)
{
	front_setup(true, 0);
	cr_assert_eq(system("ip link set lo mtu 1420"), 0);
}

TestSuite(front_mtu, .init = setup_mtu, .fini = teardown);

/* A UDP datagram whose IP packet is tot bytes long. */
static void udp_sized(struct fixture *f, size_t tot, bool df, uint8_t ttl)
{
	struct fix_ip4 ip = { .src = CLIENT, .dst = PUBLIC, .proto = IPPROTO_UDP, .ttl = ttl,
			      .frag_off = df ? 0x4000 : 0 };
	struct fix_l4 l4 = { .sport = 40700, .dport = 5000, .payload_len = tot - 28 };

	fix_build(f, true, &ip, &l4);
}

/* The frame is an ICMP error from PUBLIC to CLIENT, back to the client's
 * MAC, quoting the first quote_len bytes of the client's packet. */
static void assert_icmp_error(const struct fixture *in, const struct fixture *out, uint8_t type,
			      uint8_t code, size_t quote_len)
{
	const uint8_t *ip = fix_ip(out), *icmp = fix_l4(out);

	cr_assert_arr_eq(out->buf, in->buf + 6, 6, "to the client's MAC");
	cr_assert_arr_eq(out->buf + 6, in->buf, 6, "from the front's MAC");
	cr_assert_eq(out->len, FIX_ETH_LEN + 28 + quote_len);
	cr_assert_eq(ip[0], 0x45);
	cr_assert_eq(ip[2] << 8 | ip[3], 28 + quote_len, "IP total length");
	cr_assert_eq(ip[9], IPPROTO_ICMP);
	cr_assert_eq(ip[8], 64);
	cr_assert_eq(fix_saddr(out), fix_addr(PUBLIC), "from the address the client used");
	cr_assert_eq(fix_daddr(out), fix_addr(CLIENT));
	cr_assert(fix_ip_csum_ok(out));
	cr_assert_eq(icmp[0], type);
	cr_assert_eq(icmp[1], code);
	cr_assert(fix_l4_csum_ok(out), "ICMP checksum");
	cr_assert_arr_eq(icmp + 8, fix_ip(in), quote_len, "quotes the packet as the client sent it");
}

Test(front_mtu, too_big_with_df_gets_frag_needed_with_the_tunnel_mtu)
{
	struct fixture in, out;

	udp_sized(&in, TUNNEL_MTU + 1, true, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	assert_icmp_error(&in, &out, 3, 4, 28);
	cr_assert_eq(fix_l4(&out)[6] << 8 | fix_l4(&out)[7], TUNNEL_MTU, "next-hop MTU");
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_ICMP), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 0);
}

Test(front_mtu, exactly_the_tunnel_mtu_is_relayed)
{
	struct fixture in, out;

	udp_sized(&in, TUNNEL_MTU, true, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(out.len, in.len);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 1);
}

/* struct relay_hop (bpf/lib/hop.h): its size and where its mtu is. */
#define HOP_SIZE 48
#define HOP_MTU_OFF 28

/* Sets the MTU of every CPU's cached hop of backend id 1 (the default
 * service's first), after checking it held was. */
static void hop_mtu_set(uint32_t was, uint32_t mtu)
{
	int fd = bpf_map__fd(objs.pub->maps.relay_hop), ncpu = libbpf_num_possible_cpus();
	uint8_t vals[HOP_SIZE * ncpu];
	uint32_t key = 1, cur;

	cr_assert_eq(bpf_map_lookup_elem(fd, &key, vals), 0);
	for (int i = 0; i < ncpu; i++) {
		memcpy(&cur, vals + i * HOP_SIZE + HOP_MTU_OFF, 4);
		cr_assert(cur == was || cur == 0, "the hop's layout as this test knows it");
		memcpy(vals + i * HOP_SIZE + HOP_MTU_OFF, &mtu, 4);
	}
	cr_assert_eq(bpf_map_update_elem(fd, &key, vals, BPF_ANY), 0);
}

/* A packet of a fresh cached hop is measured against the hop's MTU, not
 * with bpf_check_mtu (the cache here says 1400, the device 1500): one byte
 * over it gets frag-needed quoting the cache's MTU, exactly it is relayed. */
Test(front_mtu, a_fresh_cached_hop_mtu_decides_the_too_big_check)
{
	struct fixture in, out;

	stay_on_this_cpu();
	l2_tunnel_up();
	udp_sized(&in, 1000, true, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT, "fills the cache");
	hop_mtu_set(1500, 1400);
	udp_sized(&in, 1401, true, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_daddr(&out), fix_addr(CLIENT));
	cr_assert_eq(fix_l4(&out)[0], 3);
	cr_assert_eq(fix_l4(&out)[1], 4, "frag-needed");
	cr_assert_eq(fix_l4(&out)[6] << 8 | fix_l4(&out)[7], 1400, "the cached MTU");
	cr_assert(fix_ip_csum_ok(&out) && fix_l4_csum_ok(&out));
	udp_sized(&in, 1400, true, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(out.len, in.len);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_ICMP), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 2);
}

/* Without DF the stack may fragment it: translated, TTL left to the stack. */
Test(front_mtu, too_big_without_df_goes_translated_to_the_stack)
{
	struct fixture in, out;

	udp_sized(&in, TUNNEL_MTU + 100, false, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_OK);
	cr_assert_eq(fix_daddr(&out), fix_addr(BACKEND));
	cr_assert_eq(fix_ttl(&out), 64, "the stack decrements it");
	cr_assert(fix_ip_csum_ok(&out));
	cr_assert(fix_l4_csum_ok(&out));
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_STACK), 1);
}

Test(front_mtu, expiring_ttl_gets_time_exceeded)
{
	struct fixture in, out;
	struct fix_ip4 ip = { .src = CLIENT, .dst = PUBLIC, .proto = IPPROTO_TCP, .ttl = 1 };
	struct fix_l4 l4 = { .sport = 40701, .dport = 8080, .tcp_flags = FIX_SYN };

	fix_build(&in, true, &ip, &l4);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	assert_icmp_error(&in, &out, 11, 0, 28);
	cr_assert_eq(counter(stats_fd, RELAY_C_TTL_ICMP), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 0);
}

/* TTL 1 is fine for a packet whose destination is the host itself. */
Test(front_mtu, ttl_1_to_a_host_socket_is_delivered)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(5353) };
	struct fixture in, out;
	struct fix_ip4 ip = { .src = CLIENT, .dst = PUBLIC, .proto = IPPROTO_UDP, .ttl = 1 };
	struct fix_l4 l4 = { .sport = 40702, .dport = 5353, .payload_len = 4 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fix_build(&in, true, &ip, &l4);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_HOST_SOCKET), 1);
}

/* A reply from the backend (L2 tunnel) on the flow udp_sized opened, tot
 * bytes long. */
static void reply_sized(struct fixture *f, size_t tot, bool df)
{
	struct fix_ip4 ip = { .src = BACKEND, .dst = CLIENT, .proto = IPPROTO_UDP,
			      .frag_off = df ? 0x4000 : 0 };
	struct fix_l4 l4 = { .sport = 5000, .dport = 40700, .payload_len = tot - 28 };
	struct fixture in, out;

	udp_sized(&in, 100, true, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	fix_build(f, true, &ip, &l4);
}

Test(front_mtu, reply_of_exactly_the_public_mtu_is_relayed, .init = with_tunnel)
{
	struct fixture in, out;

	reply_sized(&in, TUNNEL_MTU, true);
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_saddr(&out), fix_addr(PUBLIC));
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_PACKETS), 1);
}

/* The stack routes it toward the client and sends the backend
 * fragmentation-needed, quoting the packet as the backend sent it. */
Test(front_mtu, reply_too_big_with_df_goes_untranslated_to_the_stack, .init = with_tunnel)
{
	struct fixture in, out;

	reply_sized(&in, TUNNEL_MTU + 1, true);
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_eq(out.len, in.len);
	cr_assert_arr_eq(out.buf, in.buf, in.len, "untouched");
	cr_assert_eq(counter(stats_fd, RELAY_C_REPLY_TOO_BIG_DF), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_PACKETS), 0);
}

/* The stack fragments it: translated, TTL left to the stack. */
Test(front_mtu, reply_too_big_without_df_goes_translated_to_the_stack, .init = with_tunnel)
{
	struct fixture in, out;

	reply_sized(&in, TUNNEL_MTU + 100, false);
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_OK);
	cr_assert_eq(fix_saddr(&out), fix_addr(PUBLIC));
	cr_assert_eq(fix_daddr(&out), fix_addr(CLIENT));
	cr_assert_eq(fix_ttl(&out), 64, "the stack decrements it");
	cr_assert(fix_ip_csum_ok(&out));
	cr_assert(fix_l4_csum_ok(&out));
	assert_nat_frame(&in, &out, PUBLIC, NULL, 64);
	cr_assert_eq(counter(stats_fd, RELAY_C_REPLY_TOO_BIG_STACK), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_PACKETS), 0);
}

/* struct relay_pub_mtu (bpf/front_tunnel.bpf.c): checked_ns, ifindex, mtu. */
struct pub_mtu {
	uint64_t checked_ns;
	uint32_t ifindex;
	uint32_t mtu;
};

/* Rewrites every CPU's cached public MTU with checked_ns and ifindex (0:
 * keep each CPU's own), after checking that the cache held was (or nothing). */
/* bpf_ktime_get_ns() plus offset_ms. */
static uint64_t ktime_ns_in(int64_t offset_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec + offset_ms * 1000000LL;
}

/* relay_now() as the program will read it: CLOCK_MONOTONIC_COARSE is the
 * clock bpf_ktime_get_coarse_ns() reads, so a stamp taken here is never
 * ahead of the program's next reading. A CLOCK_MONOTONIC stamp can be:
 * the coarse clock lags it by up to a tick, by more than the 10 ms such a
 * stamp was backdated when a loaded TCG guest's ticks come late (our
 * reading of this test's failures on 6.1 at load 8), and a stamp ahead
 * of the program's clock is stale (unsigned now - checked_ns). */
static uint64_t relay_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void pub_mtu_set(uint32_t was, uint32_t mtu, uint64_t checked_ns, uint32_t ifindex)
{
	int fd = bpf_map__fd(objs.tun->maps.relay_pub_mtu), ncpu = libbpf_num_possible_cpus();
	struct pub_mtu vals[ncpu];
	uint32_t key = 0;

	cr_assert_eq(bpf_map_lookup_elem(fd, &key, vals), 0);
	for (int i = 0; i < ncpu; i++) {
		cr_assert(vals[i].mtu == was || vals[i].mtu == 0, "the cache's layout as this test knows it");
		vals[i].mtu = mtu;
		if (checked_ns)
			vals[i].checked_ns = checked_ns;
		if (ifindex)
			vals[i].ifindex = ifindex;
	}
	cr_assert_eq(bpf_map_update_elem(fd, &key, vals, BPF_ANY), 0);
}

/* This CPU's cache filled by a reply (the device's TUNNEL_MTU), then set to
 * mtu (and checked_ns, ifindex) on every CPU. */
static void pub_mtu_cached(uint32_t mtu, uint64_t checked_ns, uint32_t ifindex)
{
	struct fixture in, out;

	stay_on_this_cpu();
	reply_sized(&in, 100, true);
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT, "fills the cache");
	pub_mtu_set(TUNNEL_MTU, mtu, checked_ns, ifindex);
}

/* A reply is measured against the public device's cached MTU, not with
 * bpf_check_mtu per packet (the cache here says 1400, the device 1420):
 * one byte over it goes untranslated to the stack, exactly it is relayed. */
Test(front_mtu, a_fresh_cached_public_mtu_decides_the_reply_check, .init = with_tunnel)
{
	struct fixture in, out;

	/* Checked now by the program's clock, stamped again before each
	 * reply: a slow machine (TCG under load took 0.8 s for this test)
	 * stays within RELAY_HOP_REFRESH_NS. */
	pub_mtu_cached(1400, 0, 0);
	reply_sized(&in, 1401, true);
	pub_mtu_set(1400, 1400, relay_now_ns(), 0);
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(out.buf, in.buf, in.len, "untouched");
	cr_assert_eq(counter(stats_fd, RELAY_C_REPLY_TOO_BIG_DF), 1);
	reply_sized(&in, 1400, true);
	pub_mtu_set(1400, 1400, relay_now_ns(), 0);
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_saddr(&out), fix_addr(PUBLIC));
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_PACKETS), 2);
}

/* The cached 1400 (with checked_ns, ifindex) is not to be trusted: the
 * device's MTU (1420) decides, and is cached. */
static void assert_pub_mtu_asked_again(uint64_t checked_ns, uint32_t ifindex)
{
	struct fixture in, out;

	pub_mtu_cached(1400, checked_ns, ifindex);
	reply_sized(&in, TUNNEL_MTU, true);
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(fix_saddr(&out), fix_addr(PUBLIC));
	cr_assert_eq(counter(stats_fd, RELAY_C_REPLY_TOO_BIG_DF), 0);
	reply_sized(&in, TUNNEL_MTU + 1, true);
	cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_UNSPEC, "the device's MTU, cached");
	cr_assert_eq(counter(stats_fd, RELAY_C_REPLY_TOO_BIG_DF), 1);
}

/* An answer older than RELAY_HOP_REFRESH_NS is asked again. */
Test(front_mtu, a_stale_cached_public_mtu_is_asked_again, .init = with_tunnel)
{
	assert_pub_mtu_asked_again(1, 0);
}

/* A fresh answer about another device (the configuration's public device
 * changed) is asked again at once. */
Test(front_mtu, a_cached_mtu_of_another_public_device_is_asked_again, .init = with_tunnel)
{
	assert_pub_mtu_asked_again(0, 999);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A DF UDP datagram from src one byte over the tunnel's MTU (IPv6: from an
 * IPv6 src, no DF needed). */
static void too_big_from(struct fixture *f, const char *src)
{
	bool v6 = strchr(src, ':') != NULL;
	struct fix_ip4 ip = { .src = src, .dst = v6 ? PUBLIC6 : PUBLIC, .proto = IPPROTO_UDP,
			      .frag_off = v6 ? 0 : 0x4000 };
	struct fix_l4 l4 = { .sport = 40700, .dport = 5000,
			     .payload_len = TUNNEL_MTU + 1 - (v6 ? 48 : 28) };

	fix_build(f, true, &ip, &l4);
}

/* A TCP SYN from src with TTL (hop limit) 1. */
static void ttl1_from(struct fixture *f, const char *src)
{
	bool v6 = strchr(src, ':') != NULL;
	struct fix_ip4 ip = { .src = src, .dst = v6 ? PUBLIC6 : PUBLIC, .proto = IPPROTO_TCP,
			      .ttl = 1 };
	struct fix_l4 l4 = { .sport = 40703, .dport = 8080, .tcp_flags = FIX_SYN };

	fix_build(f, true, &ip, &l4);
}

/* Each source has a bucket of its own: a burst of 10, then 1 per 10 ms.
 * 200 too-big packets back to back from one source: 10 errors (plus what
 * the elapsed time refilled), the rest dropped and counted. */
static void one_source_gets_a_tenth(const char *src)
{
	unsigned long long sent, limited;
	struct fixture in, out;
	unsigned shot = 0;
	double start = now_ms(), ms;

	too_big_from(&in, src);
	for (int i = 0; i < 200; i++)
		shot += run_tc(in_fd, &in, &out, NULL) == TC_ACT_SHOT;
	ms = now_ms() - start;
	sent = counter(stats_fd, RELAY_C_TOO_BIG_ICMP);
	limited = counter(stats_fd, RELAY_C_ICMP_SRC_RATE_LIMITED);
	cr_assert_geq(sent, 10, "the burst");
	cr_assert_leq(sent, 10 + (unsigned long long)(ms / 10) + 1, "1 per 10 ms (%.1f ms)", ms);
	cr_assert_eq(sent + limited, 200);
	cr_assert_eq(shot, limited, "the excess is dropped");
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_RATE_LIMITED), 0, "no global token spent");
}

Test(front_mtu, one_source_gets_its_own_share_of_errors)
{
	one_source_gets_a_tenth(CLIENT);
}

Test(front_mtu, one_source_gets_its_own_share_of_errors_v6)
{
	one_source_gets_a_tenth(CLIENT6);
}

/* A source sending TTL=1 packets as fast as it can does not take
 * frag-needed (packet too big) away from another client. */
static void ttl1_flood_leaves_others_their_errors(const char *flooder, const char *other)
{
	struct fixture ttl1, in, out;

	ttl1_from(&ttl1, flooder);
	for (int i = 0; i < 200; i++)
		run_tc(in_fd, &ttl1, &out, NULL);
	cr_assert_gt(counter(stats_fd, RELAY_C_ICMP_SRC_RATE_LIMITED), 0, "the flooder is held");
	too_big_from(&in, other);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_ICMP), 1);
}

Test(front_mtu, a_ttl_1_flood_does_not_starve_frag_needed_for_others)
{
	ttl1_flood_leaves_others_their_errors(CLIENT, OTHER);
}

Test(front_mtu, a_hop_limit_1_flood_does_not_starve_packet_too_big_for_others_v6)
{
	ttl1_flood_leaves_others_their_errors(CLIENT6, OTHER6);
}

/* The source address number i of many (each under its own bucket). */
static const char *source(int i)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "198.18.%d.%d", i / 250, 1 + i % 250);
	return buf;
}

/* The global bucket as the map holds it (bpf/lib/icmp_send.h). */
struct icmp_bucket {
	uint32_t lock;
	uint32_t tokens;
	uint64_t refilled_ns;
};

/* Sets the global bucket: tokens left, and the time up to which it was
 * refilled. A time ahead of the clock adds nothing until the clock gets
 * there (a_refill_ahead_of_this_cpus_clock_adds_no_tokens), so the tests
 * below hold however slowly the machine runs them (under QEMU's TCG or
 * ASan 200 test runs take more than the 1 ms a token needs). Below the
 * burst only: a full bucket restarts its refill clock at now. */
static void set_global_bucket(uint32_t tokens, uint64_t refilled_ns)
{
	struct icmp_bucket b = { .tokens = tokens, .refilled_ns = refilled_ns };
	uint32_t zero = 0;

	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(objs.pub->maps.relay_icmp_bucket), &zero, &b,
					 BPF_ANY), 0);
}

/* One global bucket behind the sources' own: a burst of 50, then 1 per ms,
 * however many sources ask. 200 sources, one too-big packet each, 49
 * tokens left and no time to refill: 49 errors, the rest dropped and
 * counted; time exceeded shares it. */
Test(front_mtu, errors_to_many_sources_share_the_global_bucket)
{
	struct fixture in, out, ttl1;
	unsigned shot = 0;

	set_global_bucket(49, ktime_ns_in(1000));
	for (int i = 0; i < 200; i++) {
		too_big_from(&in, source(i));
		shot += run_tc(in_fd, &in, &out, NULL) == TC_ACT_SHOT;
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_ICMP), 49, "the tokens left");
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_RATE_LIMITED), 151,
		     "many sources are held by the global bucket");
	cr_assert_eq(shot, 151, "the excess is dropped");
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_SRC_RATE_LIMITED), 0);

	ttl1_from(&ttl1, CLIENT);
	cr_assert_eq(run_tc(in_fd, &ttl1, &out, NULL), TC_ACT_SHOT);
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_RATE_LIMITED), 152);
	cr_assert_eq(counter(stats_fd, RELAY_C_TTL_ICMP), 0);

	set_global_bucket(0, ktime_ns_in(-3));
	cr_assert_eq(run_tc(in_fd, &ttl1, &out, NULL), TC_ACT_REDIRECT, "refilled after 1 ms");
	cr_assert_eq(counter(stats_fd, RELAY_C_TTL_ICMP), 1);
}

/* A CPU reads the clock, then waits for the lock while another refills the
 * bucket up to its own, later, reading: the first one's elapsed time is
 * negative. It must add nothing (unsigned, it wrapped to centuries and
 * refilled the whole burst). */
Test(front_mtu, a_refill_ahead_of_this_cpus_clock_adds_no_tokens)
{
	int fd = bpf_map__fd(objs.pub->maps.relay_icmp_bucket);
	struct icmp_bucket b;
	struct fixture in, out;
	uint32_t zero = 0;

	set_global_bucket(0, ktime_ns_in(1000));
	too_big_from(&in, CLIENT);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_SHOT);
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_RATE_LIMITED), 1);
	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &b), 0);
	cr_assert_eq(b.tokens, 0, "the burst was not refilled");
}


/* A TCP segment of an open flow from client to public, as GRO or a
 * virtio/TUN vnet header hands it over: one IP packet of tot bytes to be
 * cut into gso_size-byte segments, gso_segs left for the stack to count
 * (0, as virtio_net_hdr_to_skb leaves it). */
static int run_gso(const char *client, const char *public, size_t tot, uint32_t gso_size,
		   struct fixture *out)
{
	size_t hdrs = strchr(client, ':') ? 40 + 20 : 20 + 20;
	struct __sk_buff ctx = { .gso_size = gso_size, .gso_segs = 0 };
	struct fixture in;

	tcp_frame(&in, client, public, 40704, 8080, FIX_SYN, 0);
	cr_assert_eq(run_tc(in_fd, &in, out, NULL), TC_ACT_REDIRECT);
	tcp_frame(&in, client, public, 40704, 8080, FIX_ACK, tot - hdrs);
	return run_tc(in_fd, &in, out, &ctx);
}

/* 1800 bytes in segments of 1380 bytes of payload: each segment (1420
 * bytes with its IP and TCP headers) fits the tunnel, the aggregate does not. */
static void gso_segments_fit(const char *client, const char *public, const char *backend)
{
	size_t hdrs = strchr(client, ':') ? 40 + 20 : 20 + 20;
	struct fixture out;

	cr_assert_eq(run_gso(client, public, 1800, TUNNEL_MTU - hdrs, &out), TC_ACT_REDIRECT);
	cr_assert_eq(out.len, FIX_ETH_LEN + 1800);
	cr_assert(fix_daddr_is(&out, backend));
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 2);
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_ICMP) + counter(stats_fd, RELAY_C_TOO_BIG_STACK),
		     0);
}

Test(front_mtu, gso_packet_without_segment_count_whose_segments_fit_is_relayed)
{
	gso_segments_fit(CLIENT, PUBLIC, BACKEND);
}

Test(front_mtu, gso_packet_without_segment_count_whose_segments_fit_is_relayed_ipv6)
{
	gso_segments_fit(CLIENT6, PUBLIC6, BACKEND6);
}

/* One byte more per segment: too big, as any packet (it had been relayed,
 * the tunnel then dropping every segment). Without DF the stack segments
 * and fragments it; IPv6 gets Packet Too Big with the tunnel's MTU. */
Test(front_mtu, gso_packet_without_segment_count_whose_segments_are_too_big_goes_to_the_stack)
{
	struct fixture out;

	cr_assert_eq(run_gso(CLIENT, PUBLIC, 1800, TUNNEL_MTU - 40 + 1, &out), TC_ACT_OK);
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_STACK), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 1, "the SYN only");
}

Test(front_mtu, gso_packet_without_segment_count_whose_segments_are_too_big_gets_packet_too_big)
{
	struct fixture out;

	cr_assert_eq(run_gso(CLIENT6, PUBLIC6, 1800, TUNNEL_MTU - 60 + 1, &out), TC_ACT_REDIRECT);
	cr_assert_eq(fix_l4(&out)[0], 2, "ICMPv6 Packet Too Big");
	cr_assert_eq(fix_l4(&out)[4] << 24 | fix_l4(&out)[5] << 16 | fix_l4(&out)[6] << 8 |
			     fix_l4(&out)[7], TUNNEL_MTU, "the tunnel's MTU");
	cr_assert_eq(counter(stats_fd, RELAY_C_TOO_BIG_ICMP), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 1, "the SYN only");
}

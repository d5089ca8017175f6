// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The back programs: the mark within its mask on tunnel ingress, the TCP and
 * UDP flows it remembers and their idle timeouts, and the egress fix-up of
 * replies that inherit no mark, for IPv4 and IPv6. BPF_PROG_TEST_RUN gives
 * every packet a socket of its own, never connected (no peer): the egress
 * cases of a connected socket and of a forwarded packet (none) are the e2e
 * tests' (test_back_udp_flows.sh, test_back_container.sh). */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "back_egress.skel.h"
#include "back_tunnel.skel.h"
#include "compat.h"
#include "inspect.h"
#include "packet.h"
#include "pin.h"
#include "run.h"
#include "relaybpf.h"

#define CLIENT "203.0.113.10"
#define BACKEND_TUN "10.22.22.1"
#define BACKEND_OWN "192.0.2.2"
#define OTHER "198.51.100.7"
#define FRONT_TUN "10.22.22.2"
#define FRONT_TUN6 "2001:db8:22::2"

/* The addresses of one family. */
struct fam {
	const char *client, *tun, *own, *other;
};
static const struct fam V4 = { CLIENT, BACKEND_TUN, BACKEND_OWN, OTHER };
static const struct fam V6 = { "2001:db8:1::10", "2001:db8:22::1", "2001:db8:2::2",
			       "2001:db8:5::7" };
/* BPF_PROG_TEST_RUN runs on the loopback device: it stands for the tunnel. */
#define TUN_IFINDEX 1

static struct back_tunnel *tun;
static struct back_egress *egr;
static int cfg_fd, flows_fd, stats_fd;

/* The tunnel program alone (back_in's tests run no other): each load costs
 * seconds of verifier under QEMU's TCG (make vmtest). */
static void setup_in(void)
{
	tun = back_tunnel__open_and_load();
	cr_assert_not_null(tun);
	cfg_fd = bpf_map__fd(tun->maps.relay_back_cfg);
	flows_fd = bpf_map__fd(tun->maps.relay_back_flows);
	stats_fd = bpf_map__fd(tun->maps.relay_stats);
}

static void setup(void)
{
	setup_in();
	egr = back_egress__open();
	cr_assert_not_null(egr);
	/* As attach loads it (user/attach_back.c). */
	egr->rodata->relay_has_l4_ipv6 = relay_features()->l4_csum_ipv6;
	cr_assert_eq(share_maps(egr->obj, tun->obj), 0);
	cr_assert_eq(back_egress__load(egr), 0);
}

static void teardown(void)
{
	back_egress__destroy(egr);
	back_tunnel__destroy(tun);
}

/* front6: also the front's IPv6 tunnel address (the L2 next hop). */
static void configure_fronts(__u32 mark, __u32 mask, bool l2, bool front6)
{
	struct relay_back_config cfg = { .mark = mark, .mask = mask, .tunnel_l2 = l2,
					 .front = fix_addr(FRONT_TUN) };
	__u32 key = TUN_IFINDEX;

	if (front6)
		fix_addr6(FRONT_TUN6, cfg.front6.v6);
	cr_assert_eq(bpf_map_update_elem(cfg_fd, &key, &cfg, BPF_ANY), 0);
}

static void configure(__u32 mark, __u32 mask, bool l2)
{
	configure_fronts(mark, mask, l2, true);
}

/* IPv6 when the addresses are (see struct fix_ip4). */
static void frame(struct fixture *f, bool l2, uint8_t proto, const char *src, const char *dst,
		  uint16_t sport, uint16_t dport, bool no_csum)
{
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = proto };
	struct fix_l4 l4 = { .sport = sport, .dport = dport, .tcp_flags = FIX_SYN,
			     .udp_no_csum = no_csum, .payload_len = 100 };

	fix_build(f, l2, &ip, &l4);
}

static __u32 mark_after_fam(const struct fam *a, __u32 mark, __u32 mask, __u32 skb_mark)
{
	struct __sk_buff ctx = { .mark = skb_mark };
	struct fixture in, out;

	configure(mark, mask, false);
	frame(&in, false, IPPROTO_TCP, a->client, a->tun, 40000, 8080, false);
	cr_assert_eq(run_tc(bpf_program__fd(tun->progs.relay_back_in), &in, &out, &ctx),
		     TC_ACT_UNSPEC);
	cr_assert_arr_eq(in.buf, out.buf, in.len, "the packet itself is not changed");
	return ctx.mark;
}

static __u32 mark_after(__u32 mark, __u32 mask, __u32 skb_mark)
{
	return mark_after_fam(&V4, mark, mask, skb_mark);
}

static struct relay_ct_key key_of(uint8_t proto, const char *client, uint16_t cport,
				  uint16_t sport)
{
	struct relay_ct_key key;

	memset(&key, 0, sizeof(key));
	key.family = strchr(client, ':') ? AF_INET6 : AF_INET;
	key.proto = proto;
	if (key.family == AF_INET6)
		fix_addr6(client, key.client.v6);
	else
		key.client.v4 = fix_addr(client);
	key.client_port = htons(cport);
	key.service_port = htons(sport);
	return key;
}

static bool flow_of_proto(uint8_t proto, const char *client, uint16_t cport, uint16_t sport,
			  struct relay_back_flow *v)
{
	struct relay_ct_key key = key_of(proto, client, cport, sport);

	return bpf_map_lookup_elem(flows_fd, &key, v) == 0;
}

static bool flow_of(const char *client, uint16_t cport, uint16_t sport, struct relay_back_flow *v)
{
	return flow_of_proto(IPPROTO_UDP, client, cport, sport, v);
}

/* addr, of its family, is ip. */
static bool ip_is(const union relay_ip *ip, const char *addr)
{
	union relay_ip want = { 0 };

	if (strchr(addr, ':'))
		fix_addr6(addr, want.v6);
	else
		want.v4 = fix_addr(addr);
	return memcmp(ip, &want, sizeof(want)) == 0;
}

/* The flow was last seen ago_ms before now (negative: ahead of this CPU's
 * clock); returns the seen_ns written. */
static __u64 seen_ago(uint8_t proto, const char *client, uint16_t cport, uint16_t sport,
		      long long ago_ms)
{
	struct relay_ct_key key = key_of(proto, client, cport, sport);
	struct relay_back_flow v;

	cr_assert_eq(bpf_map_lookup_elem(flows_fd, &key, &v), 0);
	v.seen_ns = inspect_now_ns() - ago_ms * 1000000LL;
	cr_assert_eq(bpf_map_update_elem(flows_fd, &key, &v, BPF_EXIST), 0);
	return v.seen_ns;
}

TestSuite(back_in, .init = setup_in, .fini = teardown);

Test(back_in, sets_the_default_mark)
{
	cr_assert_eq(mark_after(0x1, 0xffffffff, 0), 0x1);
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_MARKED), 1);
}

Test(back_in, marks_ipv6_too)
{
	cr_assert_eq(mark_after_fam(&V6, 0x10, 0xf0, 0xabcd0f0f), 0xabcd0f1f);
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_MARKED), 1);
}

Test(back_in, touches_only_the_bits_of_the_mask)
{
	cr_assert_eq(mark_after(0x10, 0xf0, 0xabcd0f0f), 0xabcd0f1f);
}

Test(back_in, clears_mask_bits_not_in_the_mark)
{
	cr_assert_eq(mark_after(0x100, 0xf00, 0xe00), 0x100);
}

Test(back_in, unconfigured_device_leaves_the_mark_alone)
{
	struct __sk_buff ctx = { .mark = 0x77 };
	struct fixture in, out;

	frame(&in, false, IPPROTO_TCP, CLIENT, BACKEND_TUN, 1, 2, false);
	cr_assert_eq(run_tc(bpf_program__fd(tun->progs.relay_back_in), &in, &out, &ctx),
		     TC_ACT_UNSPEC);
	cr_assert_eq(ctx.mark, 0x77);
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_MARKED), 0);
}

Test(back_in, remembers_udp_flows_with_tunnel_and_local_address)
{
	struct relay_back_flow v;
	struct fixture in, out;

	configure(0x1, 0xffffffff, true);
	frame(&in, true, IPPROTO_UDP, CLIENT, BACKEND_TUN, 40000, 9000, false);
	cr_assert_eq(run_tc(bpf_program__fd(tun->progs.relay_back_in), &in, &out, NULL),
		     TC_ACT_UNSPEC);
	cr_assert(flow_of(CLIENT, 40000, 9000, &v), "the UDP flow is remembered");
	cr_assert_eq(v.tunnel_ifindex, TUN_IFINDEX);
	cr_assert_eq(v.local.v4, fix_addr(BACKEND_TUN));
}

Test(back_in, remembers_ipv6_udp_flows_with_tunnel_and_local_address)
{
	struct relay_back_flow v;
	struct fixture in, out;
	uint8_t local[16];

	configure(0x1, 0xffffffff, true);
	frame(&in, true, IPPROTO_UDP, V6.client, V6.tun, 40000, 9000, false);
	cr_assert_eq(run_tc(bpf_program__fd(tun->progs.relay_back_in), &in, &out, NULL),
		     TC_ACT_UNSPEC);
	cr_assert(flow_of(V6.client, 40000, 9000, &v), "the IPv6 UDP flow is remembered");
	cr_assert_eq(v.tunnel_ifindex, TUN_IFINDEX);
	fix_addr6(V6.tun, local);
	cr_assert_arr_eq(v.local.v6, local, 16);
	cr_assert_not(flow_of(CLIENT, 40000, 9000, &v), "not as an IPv4 flow");
}

/* A container's TCP reply, forwarded by the backend, inherits no mark either. */
static void assert_remembers_tcp(const struct fam *a)
{
	struct relay_back_flow v;
	struct fixture in, out;
	__u64 t0 = inspect_now_ns();

	configure(0x1, 0xffffffff, true);
	frame(&in, true, IPPROTO_TCP, a->client, a->tun, 40000, 8080, false);
	cr_assert_eq(run_tc(bpf_program__fd(tun->progs.relay_back_in), &in, &out, NULL),
		     TC_ACT_UNSPEC);
	cr_assert(flow_of_proto(IPPROTO_TCP, a->client, 40000, 8080, &v), "the TCP flow is remembered");
	cr_assert_eq(v.tunnel_ifindex, TUN_IFINDEX);
	cr_assert(ip_is(&v.local, a->tun));
	cr_assert_geq(v.seen_ns, t0, "seen now");
	cr_assert_not(flow_of(a->client, 40000, 8080, &v), "not as a UDP flow");
}

Test(back_in, remembers_tcp_flows)
{
	assert_remembers_tcp(&V4);
}

Test(back_in, remembers_ipv6_tcp_flows)
{
	assert_remembers_tcp(&V6);
}

/* seen_ns is rewritten once a second at most: a packet of a flow seen half
 * a second ago leaves it, one seen two seconds ago refreshes it. */
Test(back_in, refreshes_a_flow_once_a_second)
{
	struct relay_back_flow v;
	struct fixture in, out;
	__u64 seen;

	configure(0x1, 0xffffffff, true);
	frame(&in, true, IPPROTO_UDP, CLIENT, BACKEND_TUN, 40000, 9000, false);
	cr_assert_eq(run_tc(bpf_program__fd(tun->progs.relay_back_in), &in, &out, NULL),
		     TC_ACT_UNSPEC);
	seen = seen_ago(IPPROTO_UDP, CLIENT, 40000, 9000, 500);
	cr_assert_eq(run_tc(bpf_program__fd(tun->progs.relay_back_in), &in, &out, NULL),
		     TC_ACT_UNSPEC);
	cr_assert(flow_of(CLIENT, 40000, 9000, &v));
	cr_assert_eq(v.seen_ns, seen, "not rewritten within the second");
	seen = seen_ago(IPPROTO_UDP, CLIENT, 40000, 9000, 2000);
	cr_assert_eq(run_tc(bpf_program__fd(tun->progs.relay_back_in), &in, &out, NULL),
		     TC_ACT_UNSPEC);
	cr_assert(flow_of(CLIENT, 40000, 9000, &v));
	cr_assert_gt(v.seen_ns, seen + 1000000000ULL, "refreshed");
}

TestSuite(back_out, .init = setup, .fini = teardown);

/* Remembers CLIENT:40000 -> BACKEND_TUN:9000 through the tunnel, then
 * says the tunnel is L2 or L3 (BPF_PROG_TEST_RUN only takes Ethernet
 * frames, so the ingress side always runs as L2). */
static void remember_flow_fam(const struct fam *a, bool l2)
{
	struct fixture in, out;

	configure(0x10, 0xf0, true);
	frame(&in, true, IPPROTO_UDP, a->client, a->tun, 40000, 9000, false);
	cr_assert_eq(run_tc(bpf_program__fd(tun->progs.relay_back_in), &in, &out, NULL),
		     TC_ACT_UNSPEC);
	configure(0x10, 0xf0, l2);
}

static void remember_flow(bool l2)
{
	remember_flow_fam(&V4, l2);
}

static int run_out(struct fixture *in, struct fixture *out, struct __sk_buff *ctx)
{
	return run_tc(bpf_program__fd(egr->progs.relay_back_out), in, out, ctx);
}

static void assert_fixed_fam(const struct fam *a, bool l2, bool no_csum)
{
	struct __sk_buff ctx = { .mark = 0xa00 };
	struct fixture in, out;

	remember_flow_fam(a, l2);
	frame(&in, true, IPPROTO_UDP, a->own, a->client, 9000, 40000, no_csum);
	cr_assert_eq(run_out(&in, &out, &ctx), TC_ACT_REDIRECT, "redirected into the tunnel");
	cr_assert(fix_saddr_is(&out, a->tun), "source is the tunnel address");
	cr_assert(fix_daddr_is(&out, a->client));
	cr_assert(fix_is_v6(&out) || fix_ip_csum_ok(&out), "IPv4 checksum verifies");
	if (no_csum)
		cr_assert_eq(fix_l4_csum_field(&out), 0, "no UDP checksum stays none");
	else
		cr_assert(fix_l4_csum_ok(&out), "UDP checksum verifies");
	/* Ethernet header, ports, length and payload are untouched. */
	cr_assert_arr_eq(out.buf, in.buf, FIX_ETH_LEN);
	cr_assert_arr_eq(fix_l4(&out), fix_l4(&in), 4);
	cr_assert_arr_eq(fix_l4(&out) + 8, fix_l4(&in) + 8, in.len - (fix_l4(&in) + 8 - in.buf));
	cr_assert_eq(ctx.mark, 0xa10, "the tunnel's mark, within its mask");
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_FIXED), 1);
}

static void assert_fixed(bool l2, bool no_csum)
{
	assert_fixed_fam(&V4, l2, no_csum);
}

Test(back_out, udp_reply_to_l3_tunnel_gets_tunnel_source_and_is_redirected)
{
	assert_fixed(false, false);
}

Test(back_out, udp_reply_to_l2_tunnel_gets_tunnel_source_and_is_redirected)
{
	assert_fixed(true, false);
}

Test(back_out, udp_reply_without_checksum_keeps_none)
{
	assert_fixed(false, true);
}

/* IPv6 has no "no checksum": its UDP checksum is mandatory (RFC 8200). */
Test(back_out, ipv6_udp_reply_to_l3_tunnel_gets_tunnel_source_and_is_redirected)
{
	assert_fixed_fam(&V6, false, false);
}

Test(back_out, ipv6_udp_reply_to_l2_tunnel_gets_tunnel_source_and_is_redirected)
{
	assert_fixed_fam(&V6, true, false);
}

/* An L2 tunnel whose back was given no IPv6 front address has no IPv6 next
 * hop: its IPv6 replies are left to the host's routes (not dropped). */
Test(back_out, ipv6_reply_to_l2_tunnel_without_ipv6_front_passes)
{
	struct fixture in, out;

	remember_flow_fam(&V6, true);
	configure_fronts(0x10, 0xf0, true, false);
	frame(&in, true, IPPROTO_UDP, V6.own, V6.client, 9000, 40000, false);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(out.buf, in.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_FIXED), 0);
}

static void assert_own_traffic_passes(const struct fam *a)
{
	struct fixture in, out;

	remember_flow_fam(a, false);
	/* The backend's own DNS query, another client port, and TCP. */
	frame(&in, true, IPPROTO_UDP, a->own, a->other, 40000, 53, false);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(out.buf, in.buf, in.len);
	frame(&in, true, IPPROTO_UDP, a->own, a->client, 9000, 40001, false);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(out.buf, in.buf, in.len);
	frame(&in, true, IPPROTO_TCP, a->own, a->client, 9000, 40000, false);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(out.buf, in.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_PASSED), 2, "UDP: no such flow");
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_PASS_CONNECTED), 1, "TCP: a local socket's");
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_FIXED), 0);
}

Test(back_out, own_traffic_passes_untouched)
{
	assert_own_traffic_passes(&V4);
}

Test(back_out, ipv6_own_traffic_passes_untouched)
{
	assert_own_traffic_passes(&V6);
}

Test(back_out, flow_of_a_detached_tunnel_passes)
{
	struct fixture in, out;
	__u32 key = TUN_IFINDEX;

	remember_flow(false);
	cr_assert_eq(bpf_map_delete_elem(cfg_fd, &key), 0);
	frame(&in, true, IPPROTO_UDP, BACKEND_OWN, CLIENT, 9000, 40000, false);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(out.buf, in.buf, in.len);
}

/* The IPv6 source rewrite on the probed path and on the fallback of a
 * kernel without BPF_F_IPV6 (forced), on a CHECKSUM_COMPLETE skb when the
 * kernel can check it: the whole frame as built from scratch, and
 * skb->csum its sum (test_compat.c does the front's). */
static bool csum_fallback[] = { false, true };

ParameterizedTestParameters(back_csum, ipv6_rewrite_keeps_every_checksum)
{
	return cr_make_param_array(bool, csum_fallback, 2);
}

ParameterizedTest(bool *fallback, back_csum, ipv6_rewrite_keeps_every_checksum,
		  .fini = teardown)
{
	struct fixture in, out, expected;

	if (*fallback)
		cr_assert_eq(setenv("RELAYBPF_FORCE_FALLBACK", "1", 1), 0);
	setup();
	cr_assert_eq(egr->rodata->relay_has_l4_ipv6,
		     *fallback ? 0 : relay_features()->l4_csum_ipv6);
	remember_flow_fam(&V6, false);
	frame(&in, true, IPPROTO_UDP, V6.own, V6.client, 9000, 40000, false);
	frame(&expected, true, IPPROTO_UDP, V6.tun, V6.client, 9000, 40000, false);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_arr_eq(out.buf, expected.buf, expected.len, "CHECKSUM_NONE: the whole frame");
	cr_assert_eq(run_tc_complete(bpf_program__fd(egr->progs.relay_back_out), &in, &out),
		     TC_ACT_REDIRECT);
	cr_assert_arr_eq(out.buf, expected.buf, expected.len, "CHECKSUM_COMPLETE: the whole frame");
}

/* A spoofed packet "from" a server teaches the flow table for a while only:
 * UDP flows idle past 120 s (conntrack's replied stream) are dead. */
static void assert_udp_flow_expires(const struct fam *a)
{
	struct fixture in, out;

	remember_flow_fam(a, false);
	seen_ago(IPPROTO_UDP, a->client, 40000, 9000, 119 * 1000LL);
	frame(&in, true, IPPROTO_UDP, a->own, a->client, 9000, 40000, false);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_REDIRECT, "alive at 119 s");
	seen_ago(IPPROTO_UDP, a->client, 40000, 9000, 121 * 1000LL);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_UNSPEC, "dead at 121 s");
	cr_assert_arr_eq(out.buf, in.buf, in.len, "and untouched");
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_PASS_EXPIRED), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_FIXED), 1);
}

Test(back_out, udp_flow_idle_for_over_120s_passes)
{
	assert_udp_flow_expires(&V4);
}

Test(back_out, ipv6_udp_flow_idle_for_over_120s_passes)
{
	assert_udp_flow_expires(&V6);
}

/* A flow seen ahead of this CPU's coarse clock (written on another CPU a
 * tick later) is alive, not idle for 2^64 ns. */
Test(back_out, flow_seen_ahead_of_the_clock_is_alive)
{
	struct fixture in, out;

	remember_flow(false);
	seen_ago(IPPROTO_UDP, CLIENT, 40000, 9000, -20);
	frame(&in, true, IPPROTO_UDP, BACKEND_OWN, CLIENT, 9000, 40000, false);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_REDIRECT);
}

/* A reply keeps its flow alive (a flow only the backend speaks in, once a
 * second at most). */
Test(back_out, a_fixed_reply_refreshes_its_flow)
{
	struct relay_back_flow v;
	struct fixture in, out;
	__u64 seen;

	remember_flow(false);
	seen = seen_ago(IPPROTO_UDP, CLIENT, 40000, 9000, 100 * 1000LL);
	frame(&in, true, IPPROTO_UDP, BACKEND_OWN, CLIENT, 9000, 40000, false);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(flow_of(CLIENT, 40000, 9000, &v));
	cr_assert_gt(v.seen_ns, seen + 99 * 1000000000ULL, "refreshed");
}

/* A local TCP socket's replies inherit the mark (tcp_fwmark_accept): one on
 * this device is the backend's own connection, even with a remembered
 * relayed flow of the same addresses and ports. */
static void assert_local_tcp_passes(const struct fam *a)
{
	struct fixture in, out;

	configure(0x10, 0xf0, true);
	frame(&in, true, IPPROTO_TCP, a->client, a->tun, 40000, 8080, false);
	cr_assert_eq(run_tc(bpf_program__fd(tun->progs.relay_back_in), &in, &out, NULL),
		     TC_ACT_UNSPEC);
	frame(&in, true, IPPROTO_TCP, a->tun, a->client, 8080, 40000, false);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(out.buf, in.buf, in.len, "untouched");
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_PASS_CONNECTED), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_FIXED), 0);
}

Test(back_out, tcp_from_a_local_socket_passes)
{
	assert_local_tcp_passes(&V4);
}

Test(back_out, ipv6_tcp_from_a_local_socket_passes)
{
	assert_local_tcp_passes(&V6);
}

/* The tunnel (lo, in a network namespace of the test's own) is narrower
 * than the replies a socket sizes for the default route's device. */
#define BACK_TUNNEL_MTU 1300

static void setup_mtu(void)
{
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET)");
	cr_assert_eq(system("ip link set lo mtu 1300"), 0);
	setup();
}

TestSuite(back_mtu, .init = setup_mtu, .fini = teardown);

/* A UDP reply of the remembered flow whose IP packet is tot bytes long;
 * frag_off as struct fix_ip4's. */
static void reply_sized(struct fixture *f, const struct fam *a, size_t tot, uint16_t frag_off)
{
	size_t hdrs = strchr(a->own, ':') ? 40 + 8 : 20 + 8;
	struct fix_ip4 ip = { .src = a->own, .dst = a->client, .proto = IPPROTO_UDP,
			      .frag_off = frag_off };
	struct fix_l4 l4 = { .sport = 9000, .dport = 40000, .payload_len = tot - hdrs };

	fix_build(f, true, &ip, &l4);
}

/* Too big: fragmentation needed (ICMPv6 packet too big) with the tunnel's
 * MTU, from the client to the reply's source, quoting the reply, handed to
 * the stack through the device's ingress (the MACs swapped: addressed to
 * the device itself). */
static void assert_too_big_goes_to_the_stack(const struct fam *a)
{
	bool v6 = strchr(a->own, ':');
	size_t quote = v6 ? 40 + 8 : 20 + 8, err_hdrs = v6 ? 40 + 8 : 20 + 8;
	struct fixture in, out;
	const uint8_t *icmp;

	remember_flow_fam(a, false);
	reply_sized(&in, a, BACK_TUNNEL_MTU, 0);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_REDIRECT, "exactly the MTU is fixed");
	cr_assert(fix_saddr_is(&out, a->tun));
	reply_sized(&in, a, BACK_TUNNEL_MTU + 1, 0);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert_arr_eq(out.buf, in.buf + 6, 6, "to the device's own MAC");
	cr_assert_arr_eq(out.buf + 6, in.buf, 6);
	cr_assert_eq(out.len, FIX_ETH_LEN + err_hdrs + quote);
	cr_assert_eq(fix_l4_proto(&out), v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	cr_assert(fix_saddr_is(&out, a->client), "from the client, as from a router on its path");
	cr_assert(fix_daddr_is(&out, a->own), "to the reply's source");
	cr_assert(v6 || fix_ip_csum_ok(&out));
	cr_assert(fix_l4_csum_ok(&out), "ICMP checksum");
	icmp = fix_l4(&out);
	if (v6) {
		cr_assert_eq(icmp[0], 2, "packet too big");
		cr_assert_eq(icmp[4] << 24 | icmp[5] << 16 | icmp[6] << 8 | icmp[7], BACK_TUNNEL_MTU);
	} else {
		cr_assert_eq(icmp[0], 3, "destination unreachable");
		cr_assert_eq(icmp[1], 4, "fragmentation needed");
		cr_assert_eq(icmp[6] << 8 | icmp[7], BACK_TUNNEL_MTU, "the tunnel's MTU");
	}
	cr_assert_arr_eq(icmp + 8, fix_ip(&in), quote, "quotes the reply as the socket sent it");
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_TOO_BIG_ICMP), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_TOO_BIG), 0);
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_FIXED), 1);
}

Test(back_mtu, udp_reply_too_big_for_the_tunnel_gets_frag_needed_to_the_stack)
{
	assert_too_big_goes_to_the_stack(&V4);
}

Test(back_mtu, ipv6_udp_reply_too_big_for_the_tunnel_gets_packet_too_big_to_the_stack)
{
	assert_too_big_goes_to_the_stack(&V6);
}

#define MF 0x2000

/* The socket learnt the path MTU: the stack fragments its replies. The
 * first fragment is fixed as any reply; a later one (no ports) follows it
 * by IP id, only its source rewritten. */
static void assert_fragments_follow(const struct fam *a)
{
	struct fixture in, out;

	remember_flow_fam(a, false);
	reply_sized(&in, a, 200, MF);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_REDIRECT);
	cr_assert(fix_saddr_is(&out, a->tun));
	reply_sized(&in, a, 200, 185);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_REDIRECT, "the later fragment follows");
	cr_assert(fix_saddr_is(&out, a->tun), "from the address the client talked to");
	cr_assert(fix_daddr_is(&out, a->client));
	cr_assert(fix_is_v6(&out) || fix_ip_csum_ok(&out));
	cr_assert_eq(out.len, in.len);
	cr_assert_arr_eq(fix_l4(&out), fix_l4(&in), in.len - (fix_l4(&in) - in.buf),
			 "the payload untouched");
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_FIXED), 1);
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_FRAG_FIXED), 1);
}

Test(back_mtu, later_fragments_of_a_fixed_reply_follow_it)
{
	assert_fragments_follow(&V4);
}

Test(back_mtu, ipv6_later_fragments_of_a_fixed_reply_follow_it)
{
	assert_fragments_follow(&V6);
}

/* A later fragment whose first one was not fixed (the backend's own) passes. */
Test(back_mtu, a_fragment_of_no_fixed_reply_passes)
{
	struct fixture in, out;

	remember_flow(false);
	reply_sized(&in, &V4, 200, 185);
	cr_assert_eq(run_out(&in, &out, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(out.buf, in.buf, in.len);
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_FRAG_FIXED), 0);
}

/*
 * A flow that moved to another tunnel (its client now comes through
 * another front). BPF_PROG_TEST_RUN runs on lo (TUN_IFINDEX), the tunnel
 * the reply leaves by; MOVED_IFINDEX is the flow's latest tunnel, which
 * needs no device: the redirect is only asked for.
 */
TestSuite(back_follow, .init = setup, .fini = teardown);

#define MOVED_IFINDEX 4242

/* CLIENT:40000 -> tun:9000 of proto, last seen through MOVED_IFINDEX, an
 * L3 tunnel with mark 0x20/0xf0 (lo: L2, mark 0x10/0xf0). */
static void flow_moved(const struct fam *a, uint8_t proto)
{
	struct relay_back_config moved = { .mark = 0x20, .mask = 0xf0, .front = fix_addr(FRONT_TUN) };
	struct relay_ct_key key = key_of(proto, a->client, 40000, 9000);
	struct relay_back_flow flow = { .tunnel_ifindex = MOVED_IFINDEX,
					.seen_ns = inspect_now_ns() };
	__u32 ifindex = MOVED_IFINDEX;

	configure(0x10, 0xf0, true);
	cr_assert_eq(bpf_map_update_elem(cfg_fd, &ifindex, &moved, BPF_ANY), 0);
	if (strchr(a->tun, ':'))
		fix_addr6(a->tun, flow.local.v6);
	else
		flow.local.v4 = fix_addr(a->tun);
	cr_assert_eq(bpf_map_update_elem(flows_fd, &key, &flow, BPF_ANY), 0);
}

static int run_follow(struct fixture *in, struct fixture *out, struct __sk_buff *ctx)
{
	return run_tc(bpf_program__fd(tun->progs.relay_back_follow), in, out, ctx);
}

static void assert_reply_follows(const struct fam *a, uint8_t proto)
{
	struct __sk_buff ctx = { .mark = 0xa10 };
	struct fixture in, out;

	flow_moved(a, proto);
	frame(&in, true, proto, a->tun, a->client, 9000, 40000, false);
	cr_assert_eq(run_follow(&in, &out, &ctx), TC_ACT_REDIRECT, "into the flow's tunnel");
	cr_assert_arr_eq(out.buf, in.buf, in.len, "the packet is not changed");
	cr_assert_eq(ctx.mark, 0xa20, "the new tunnel's mark, within its mask");
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_MOVED), 1);
}

Test(back_follow, tcp_reply_goes_into_the_flows_latest_tunnel)
{
	assert_reply_follows(&V4, IPPROTO_TCP);
}

Test(back_follow, ipv6_tcp_reply_goes_into_the_flows_latest_tunnel)
{
	assert_reply_follows(&V6, IPPROTO_TCP);
}

Test(back_follow, udp_reply_goes_into_the_flows_latest_tunnel)
{
	assert_reply_follows(&V4, IPPROTO_UDP);
}

/* What the flow table does not send elsewhere leaves as it is: a flow on
 * this tunnel, a reply from another address than the one the client
 * talked to, a flow whose latest tunnel was detached, an expired flow. */
static void assert_stays(const struct fam *a)
{
	struct __sk_buff ctx = { .mark = 0xa10 };
	struct relay_ct_key key = key_of(IPPROTO_TCP, a->client, 40000, 9000);
	__u32 ifindex = MOVED_IFINDEX;
	struct relay_back_flow flow;
	struct fixture in, out;

	flow_moved(a, IPPROTO_TCP);
	frame(&in, true, IPPROTO_TCP, a->own, a->client, 9000, 40000, false);
	cr_assert_eq(run_follow(&in, &out, &ctx), TC_ACT_UNSPEC, "another source address");
	frame(&in, true, IPPROTO_TCP, a->tun, a->client, 9000, 40001, false);
	cr_assert_eq(run_follow(&in, &out, &ctx), TC_ACT_UNSPEC, "no such flow");
	cr_assert_eq(bpf_map_lookup_elem(flows_fd, &key, &flow), 0);
	flow.seen_ns = inspect_now_ns() - (RELAY_BACK_TCP_IDLE_S + 1) * 1000000000ULL;
	cr_assert_eq(bpf_map_update_elem(flows_fd, &key, &flow, BPF_EXIST), 0);
	frame(&in, true, IPPROTO_TCP, a->tun, a->client, 9000, 40000, false);
	cr_assert_eq(run_follow(&in, &out, &ctx), TC_ACT_UNSPEC, "expired");
	flow.seen_ns = inspect_now_ns();
	cr_assert_eq(bpf_map_update_elem(flows_fd, &key, &flow, BPF_EXIST), 0);
	cr_assert_eq(bpf_map_delete_elem(cfg_fd, &ifindex), 0);
	cr_assert_eq(run_follow(&in, &out, &ctx), TC_ACT_UNSPEC, "its tunnel was detached");
	flow.tunnel_ifindex = TUN_IFINDEX;
	cr_assert_eq(bpf_map_update_elem(flows_fd, &key, &flow, BPF_EXIST), 0);
	cr_assert_eq(run_follow(&in, &out, &ctx), TC_ACT_UNSPEC, "on this tunnel");
	cr_assert_arr_eq(out.buf, in.buf, in.len);
	cr_assert_eq(ctx.mark, 0xa10, "the mark is left alone");
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_MOVED), 0);
}

Test(back_follow, replies_the_flow_table_does_not_move_stay)
{
	assert_stays(&V4);
}

Test(back_follow, ipv6_replies_the_flow_table_does_not_move_stay)
{
	assert_stays(&V6);
}

/* A relayed connection's reply (its socket has a tunnel's mark) that the
 * main table routed to this device, because its tunnel's table lost its
 * route (the device went away): into the flow's tunnel, or dropped when
 * that one is gone too, never out of the uplink from the tunnel address. */
static void assert_marked_tcp_follows(const struct fam *a)
{
	struct __sk_buff ctx = { .mark = 0x10 };
	struct fixture in, out;
	__u32 ifindex = MOVED_IFINDEX;

	flow_moved(a, IPPROTO_TCP);
	frame(&in, true, IPPROTO_TCP, a->tun, a->client, 9000, 40000, false);
	cr_assert_eq(run_out(&in, &out, &ctx), TC_ACT_REDIRECT);
	cr_assert_eq(ctx.mark, 0x20);
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_MOVED), 1);
	cr_assert_eq(bpf_map_delete_elem(cfg_fd, &ifindex), 0);
	ctx.mark = 0x10;
	cr_assert_eq(run_out(&in, &out, &ctx), TC_ACT_SHOT);
	cr_assert_eq(counter(stats_fd, RELAY_C_BACK_DROP_NO_TUNNEL), 1);
}

Test(back_out, marked_tcp_reply_without_its_tunnels_route_follows_the_flow)
{
	assert_marked_tcp_follows(&V4);
}

Test(back_out, ipv6_marked_tcp_reply_without_its_tunnels_route_follows_the_flow)
{
	assert_marked_tcp_follows(&V6);
}

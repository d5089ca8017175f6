// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Conntrack: per-protocol/state timeouts, the TCP states, the two tables
 * (replied flows protected from floods of unreplied ones) and stateless
 * reverse translation of replies whose flow is gone, when the mapping is
 * unambiguous, restricted to what a relayed flow could have sent. */
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "inspect.h"
#include "run.h"
#include "test_front_env.h"

#define FRONT_TUN "10.22.22.2"

TestSuite(front_ct, .init = setup_l2_tunnel, .fini = teardown);

static struct relay_ct_key key_of(uint8_t proto, uint16_t cport, uint16_t sport)
{
	return ct_key_of(CLIENT, proto, cport, sport);
}

/* Idle times in the flow table's ticks (RELAY_CT_TICK_SHIFT): a timeout of
 * T seconds keeps a flow idle up to relay_ct_ticks_of_s(T) ticks. A tick
 * on either side of it, as the clock may turn a tick between the test's
 * write and the program's read (never towards alive for JUST_DEAD). */
#define IDLE(s) relay_ct_ticks_of_s(s)
#define JUST_ALIVE(s) (relay_ct_ticks_of_s(s) - 1)
#define JUST_DEAD(s) (relay_ct_ticks_of_s(s) + 1)

/* Makes the flow (of client, either family) look idle for `idle_s`
 * seconds, in the given TCP state, in whichever table holds it. */
static void age_client(const char *client, uint8_t proto, uint16_t cport, uint16_t sport,
		       __u32 idle_ticks, int tcp_state)
{
	struct relay_ct_key key = ct_key_of(client, proto, cport, sport);
	struct relay_ct_value ct;
	int fd = ct_table_of(&key);

	cr_assert_geq(fd, 0, "the flow has an entry");
	cr_assert_eq(bpf_map_lookup_elem(fd, &key, &ct), 0);
	ct.last_seen = relay_ct_tick(inspect_now_ns()) - idle_ticks;
	if (tcp_state >= 0)
		ct.tcp_state = tcp_state;
	cr_assert_eq(bpf_map_update_elem(fd, &key, &ct, BPF_EXIST), 0);
}

static void age(uint8_t proto, uint16_t cport, uint16_t sport, __u32 idle_ticks, int tcp_state)
{
	age_client(CLIENT, proto, cport, sport, idle_ticks, tcp_state);
}

static int udp_reply(uint16_t cport, uint16_t sport, const char *to)
{
	struct fixture reply, back;

	udp_frame(&reply, true, BACKEND, to, sport, cport, false);
	return run_tc(rev_fd, &reply, &back, NULL);
}

static int tcp_reply(uint16_t cport, uint16_t sport, uint8_t flags, struct fixture *back)
{
	struct fixture reply;

	tcp_frame(&reply, BACKEND, CLIENT, sport, cport, flags, 10);
	return run_tc(rev_fd, &reply, back, NULL);
}

static void client_udp(uint16_t cport, uint16_t sport)
{
	struct fixture in, out;

	udp_frame(&in, true, CLIENT, PUBLIC, cport, sport, false);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
}

Test(front_ct, unreplied_udp_flow_expires_after_30s)
{
	client_udp(40500, 53);
	age(IPPROTO_UDP, 40500, 53, JUST_ALIVE(RELAY_CT_UDP_S), -1);
	cr_assert_eq(udp_reply(40500, 53, CLIENT), TC_ACT_REDIRECT, "alive at 29 s");
	client_udp(40501, 53);
	age(IPPROTO_UDP, 40501, 53, JUST_DEAD(RELAY_CT_UDP_S), -1);
	cr_assert_eq(udp_reply(40501, 53, CLIENT), TC_ACT_SHOT, "dead at 31 s");
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_EXPIRED), 1);
}

/* The programs read a coarse clock that CPUs may see a tick apart: an entry
 * written on one CPU can look last seen "in the future" on another. It is
 * alive, not idle for 2^32 ticks. */
Test(front_ct, entry_seen_ahead_of_the_clock_is_alive)
{
	struct relay_ct_key key = key_of(IPPROTO_UDP, 40510, 53);
	struct relay_ct_value ct;

	client_udp(40510, 53);
	cr_assert_eq(bpf_map_lookup_elem(ct_new_fd, &key, &ct), 0);
	ct.last_seen = relay_ct_tick(inspect_now_ns()) + 1;
	cr_assert_eq(bpf_map_update_elem(ct_new_fd, &key, &ct, BPF_EXIST), 0);
	cr_assert_eq(udp_reply(40510, 53, CLIENT), TC_ACT_REDIRECT);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_EXPIRED), 0);
}

Test(front_ct, replied_udp_flow_lives_120s)
{
	client_udp(40502, 53);
	cr_assert_eq(udp_reply(40502, 53, CLIENT), TC_ACT_REDIRECT);
	age(IPPROTO_UDP, 40502, 53, IDLE(100), -1);
	cr_assert_eq(udp_reply(40502, 53, CLIENT), TC_ACT_REDIRECT, "stream: alive at 100 s");
	age(IPPROTO_UDP, 40502, 53, JUST_DEAD(RELAY_CT_UDP_STREAM_S), -1);
	cr_assert_eq(udp_reply(40502, 53, CLIENT), TC_ACT_SHOT, "dead at 121 s");
}

Test(front_ct, tcp_timeouts_follow_the_state)
{
	struct fixture in, out, back;

	tcp_frame(&in, CLIENT, PUBLIC, 40503, 8080, FIX_SYN, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	age(IPPROTO_TCP, 40503, 8080, IDLE(3600), RELAY_TCP_ESTABLISHED);
	cr_assert_eq(tcp_reply(40503, 8080, FIX_ACK, &back), TC_ACT_REDIRECT,
		     "established: alive after an idle hour");
	age(IPPROTO_TCP, 40503, 8080, JUST_DEAD(RELAY_CT_TCP_SYN_SENT_S), RELAY_TCP_SYN_SENT);
	cr_assert_eq(tcp_reply(40503, 8080, FIX_SYN | FIX_ACK, &back), TC_ACT_SHOT,
		     "syn_sent: dead at 121 s");

	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	age(IPPROTO_TCP, 40503, 8080, JUST_ALIVE(RELAY_CT_TCP_CLOSING_S), RELAY_TCP_CLOSING);
	cr_assert_eq(tcp_reply(40503, 8080, FIX_ACK, &back), TC_ACT_REDIRECT);
	age(IPPROTO_TCP, 40503, 8080, JUST_DEAD(RELAY_CT_TCP_CLOSING_S), RELAY_TCP_CLOSING);
	cr_assert_eq(tcp_reply(40503, 8080, FIX_ACK, &back), TC_ACT_SHOT, "closing: dead at 121 s");
}

Test(front_ct, an_expired_flow_is_recorded_again_by_the_client)
{
	struct relay_ct_value ct;

	client_udp(40504, 53);
	age(IPPROTO_UDP, 40504, 53, JUST_DEAD(RELAY_CT_UDP_S), -1);
	client_udp(40504, 53);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 2);
	cr_assert(ct_lookup(IPPROTO_UDP, 40504, 53, &ct));
	cr_assert_eq(ct.packets[RELAY_DIR_ORIG], 1, "a fresh entry");
}

/* One public address per family (stateless replies), the front's tunnel
 * addresses, and the L2 tunnel t0 whose backend neighbour the MAC check
 * asks for. */
static void set_sole_public(void)
{
	struct relay_front_config cfg;

	l2_tunnel_up();
	cfg = cfg_get();
	cfg.sole_public[0].v4 = fix_addr(PUBLIC);
	cfg.tunnel_ip[0].v4 = fix_addr(FRONT_TUN);
	fix_addr6(PUBLIC6, cfg.sole_public[1].v6);
	fix_addr6(TUNNEL6, cfg.tunnel_ip[1].v6);
	cfg_put(&cfg);
}

static const char *const clients[2] = { CLIENT, CLIENT6 };
static const char *const publics[2] = { PUBLIC, PUBLIC6 };
static const char *const backends[2] = { BACKEND, BACKEND6 };

/* A TCP segment from the client of family index v (0: IPv4, 1: IPv6). */
static int client_tcp(int v, uint16_t cport, uint8_t flags)
{
	struct fixture in, out;

	tcp_frame(&in, clients[v], publics[v], cport, 8080, flags, 10);
	return run_tc(in_fd, &in, &out, NULL);
}

/* A TCP segment from the backend to the client of family index v, from the
 * backend neighbour's MAC; back gets the result (NULL: not kept). */
static int backend_tcp(int v, uint16_t cport, uint16_t sport, uint8_t flags,
		       struct fixture *back)
{
	struct fixture reply, out;

	tcp_frame(&reply, backends[v], clients[v], sport, cport, flags, 10);
	from_backend_mac(&reply);
	return run_tc(rev_fd, &reply, back ? back : &out, NULL);
}

static bool ip_is(int v, const union relay_ip *a, const char *text)
{
	union relay_ip want = { 0 };

	if (v)
		fix_addr6(text, want.v6);
	else
		want.v4 = fix_addr(text);
	return !memcmp(a, &want, sizeof(want));
}

static struct relay_ct_value flow_of(int v, uint16_t cport)
{
	struct relay_ct_value ct;

	cr_assert(ct_lookup_client(clients[v], IPPROTO_TCP, cport, 8080, &ct), "flow recorded");
	return ct;
}

Test(front_ct, evicted_flow_reply_is_translated_with_one_public_address)
{
	struct fixture back;

	set_sole_public();
	for (int v = 0; v < 2; v++) {
		struct relay_ct_key key = ct_key_of(clients[v], IPPROTO_TCP, 40505, 8080);
		struct relay_ct_value ct;

		cr_assert_eq(client_tcp(v, 40505, FIX_ACK), TC_ACT_REDIRECT);
		cr_assert_eq(bpf_map_delete_elem(ct_new_fd, &key), 0, "evicted");
		cr_assert_eq(backend_tcp(v, 40505, 8080, FIX_ACK, &back), TC_ACT_REDIRECT);
		cr_assert(fix_saddr_is(&back, publics[v]));
		cr_assert(fix_l4_csum_ok(&back));
		cr_assert(v || fix_ip_csum_ok(&back));
		cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), v + 1);
		cr_assert_eq(bpf_map_lookup_elem(ct_fd, &key, &ct), 0, "recorded again, replied");
		cr_assert(ip_is(v, &ct.public_ip, publics[v]));
		cr_assert_eq(ct.tcp_state, RELAY_TCP_ESTABLISHED);
	}
}

/* With two public addresses (no sole one) a reply without a flow cannot be
 * translated, and the stack would forward it to the client from the
 * backend's tunnel address: dropped and counted. */
Test(front_ct, reply_without_a_flow_is_dropped_with_two_public_addresses)
{
	for (int v = 0; v < 2; v++)
		cr_assert_eq(backend_tcp(v, 40506, 8080, FIX_ACK, NULL), TC_ACT_SHOT);
	cr_assert_eq(udp_reply(40506, 53, CLIENT), TC_ACT_SHOT);
	cr_assert_eq(counter(stats_fd, RELAY_C_DROP_REPLY_NO_FLOW), 3);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), 0);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_PACKETS), 0);
}

Test(front_ct, backend_traffic_to_the_front_itself_is_never_translated)
{
	struct fixture reply, back;

	set_sole_public();
	udp_frame(&reply, true, BACKEND, FRONT_TUN, 53, 40507, false);
	from_backend_mac(&reply);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_UNSPEC);
	cr_assert_eq(backend_tcp(0, 40508, 8080, FIX_SYN, NULL), TC_ACT_UNSPEC, "a SYN is no reply");
	cr_assert_eq(backend_tcp(1, 40508, 8080, FIX_SYN, NULL), TC_ACT_UNSPEC, "a SYN is no reply");
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NO_FLOW), 3);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), 0);
	cr_assert_eq(backend_tcp(0, 40509, 8080, FIX_SYN | FIX_ACK, NULL), TC_ACT_REDIRECT,
		     "a SYN-ACK is");
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), 1);
}

/* Item 8: only what a relayed flow could have sent is translated without a
 * flow: not from a port the policy keeps (--exclude tcp:22, --ports), not
 * to a multicast or broadcast address, not another protocol than TCP, UDP
 * and echo replies. The backend's own traffic stays with the front's
 * stack, untouched. */
Test(front_ct, stateless_replies_only_from_relayed_ports_to_unicast)
{
	static const char *const groups[2] = { "224.0.0.251", "ff02::fb" };
	struct relay_front_config cfg;
	struct fixture reply, back;

	set_sole_public();
	for (int v = 0; v < 2; v++) {
		cr_assert_eq(backend_tcp(v, 40520, 22, FIX_ACK, &back), TC_ACT_UNSPEC, "excluded port");
		udp_frame(&reply, true, backends[v], groups[v], 5353, 5353, false);
		from_backend_mac(&reply);
		cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_UNSPEC, "multicast");
		cr_assert_arr_eq(reply.buf, back.buf, reply.len, "untouched");
	}
	udp_frame(&reply, true, BACKEND, "255.255.255.255", 67, 68, false);
	from_backend_mac(&reply);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_UNSPEC, "broadcast");
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_EXCLUDED), 2);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NO_FLOW), 3);

	cfg = cfg_get();
	cfg.ports[0] = (struct relay_port_range){ .proto = IPPROTO_TCP, .first = 8080, .last = 8080 };
	cfg.n_ports = 1;
	cfg_put(&cfg);
	for (int v = 0; v < 2; v++) {
		udp_frame(&reply, true, backends[v], clients[v], 53, 40521, false);
		from_backend_mac(&reply);
		cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_UNSPEC, "not in --ports");
		cr_assert_eq(backend_tcp(v, 40522, 8080, FIX_ACK, NULL), TC_ACT_REDIRECT,
			     "in --ports");
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NOT_IN_PORTS), 2);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), 2);
}

Test(front_ct, stateless_replies_of_other_protocols_are_not_translated)
{
	struct fix_ip4 ip = { .src = BACKEND, .dst = CLIENT, .proto = 47 /* GRE */ };
	struct fix_l4 l4 = { .payload_len = 24 };
	struct fixture reply, back;

	set_sole_public();
	fix_build(&reply, true, &ip, &l4);
	from_backend_mac(&reply);
	cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_UNSPEC);
	cr_assert_arr_eq(reply.buf, back.buf, reply.len, "untouched");
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), 0);
}

/* On an L2 tunnel (VXLAN: anyone who reaches its UDP port can put frames on
 * it) a reply without a flow is translated only from the backend's MAC. */
Test(front_ct, stateless_replies_on_an_l2_tunnel_only_from_the_backends_mac)
{
	static const uint8_t stranger[6] = { 2, 0, 0, 0, 0, 0x66 };
	struct fixture reply, back;

	stay_on_this_cpu();
	set_sole_public();
	for (int v = 0; v < 2; v++) {
		tcp_frame(&reply, backends[v], clients[v], 8080, 40530, FIX_ACK, 10);
		from_backend_mac(&reply);
		memcpy(reply.buf + 6, stranger, 6);
		cr_assert_eq(run_tc(rev_fd, &reply, &back, NULL), TC_ACT_SHOT, "another MAC");
		cr_assert_eq(backend_tcp(v, 40531, 8080, FIX_ACK, NULL), TC_ACT_REDIRECT,
			     "the backend's MAC");
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_DROP_REPLY_NO_FLOW), 2);
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), 2);
}

/*
 * Item 6: a flood of new flows (3000 spoofed SYNs into --ct-max 1024, the
 * unit tests' size, as in the reproduction) churns only the unreplied
 * table: flows that have seen a reply keep their entries, and with two
 * public addresses (no stateless replies) their replies are translated.
 */
Test(front_ct, flood_of_new_flows_never_evicts_a_replied_flow)
{
	char src[64];
	struct fixture back;

	for (int v = 0; v < 2; v++) {
		cr_assert_eq(client_tcp(v, 40540, FIX_SYN), TC_ACT_REDIRECT);
		cr_assert_eq(backend_tcp(v, 40540, 8080, FIX_SYN | FIX_ACK, NULL), TC_ACT_REDIRECT);
	}
	for (int i = 0; i < 3000; i++) {
		struct fixture in, out;
		int v = i & 1;

		snprintf(src, sizeof(src), v ? "2001:db8:7::%x" : "198.51.100.%d",
			 v ? i : i % 250 + 1);
		tcp_frame(&in, src, publics[v], (uint16_t)(1024 + i), 8080, FIX_SYN, 0);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 3002);
	for (int v = 0; v < 2; v++) {
		cr_assert_eq(flow_of(v, 40540).tcp_state, RELAY_TCP_ESTABLISHED);
		cr_assert_eq(backend_tcp(v, 40540, 8080, FIX_ACK, &back), TC_ACT_REDIRECT);
		cr_assert(fix_saddr_is(&back, publics[v]));
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_DROP_REPLY_NO_FLOW), 0);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_REPLIED), 2);
}

/* An RST ends a connection and never starts one: relayed (the backend may
 * still hold the connection whose entry went), recorded nowhere. */
Test(front_ct, client_rst_without_a_flow_is_relayed_and_recorded_nowhere)
{
	struct relay_ct_value ct;

	for (int v = 0; v < 2; v++) {
		cr_assert_eq(client_tcp(v, 40550, FIX_RST), TC_ACT_REDIRECT);
		cr_assert_eq(client_tcp(v, 40550, FIX_RST | FIX_ACK), TC_ACT_REDIRECT);
		cr_assert_not(ct_lookup_client(clients[v], IPPROTO_TCP, 40550, 8080, &ct));
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 0);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 4);
}

/* Item 7: a flow picked up mid-stream (its entry evicted, expired, or the
 * front restarted) is ESTABLISHED once both sides spoke: an idle SSH
 * session no longer dies after the 300 s of state NONE. */
Test(front_ct, flow_picked_up_mid_stream_is_established_once_both_sides_spoke)
{
	for (int v = 0; v < 2; v++) {
		cr_assert_eq(client_tcp(v, 40560, FIX_ACK), TC_ACT_REDIRECT);
		cr_assert_eq(flow_of(v, 40560).tcp_state, RELAY_TCP_NONE);
		cr_assert_eq(backend_tcp(v, 40560, 8080, FIX_ACK, NULL), TC_ACT_REDIRECT);
		cr_assert_eq(flow_of(v, 40560).tcp_state, RELAY_TCP_ESTABLISHED);
		age_client(clients[v], IPPROTO_TCP, 40560, 8080, IDLE(3600), -1);
		cr_assert_eq(client_tcp(v, 40560, FIX_ACK), TC_ACT_REDIRECT);
		cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), v + 1, "alive after an idle hour");
	}
}

static void establish(int v, uint16_t cport)
{
	cr_assert_eq(client_tcp(v, cport, FIX_SYN), TC_ACT_REDIRECT);
	cr_assert_eq(backend_tcp(v, cport, 8080, FIX_SYN | FIX_ACK, NULL), TC_ACT_REDIRECT);
	cr_assert_eq(client_tcp(v, cport, FIX_ACK), TC_ACT_REDIRECT);
}

/* An RST's sequence number is not checked here: a forged one must not end
 * an established flow. It shortens the timeout until the other side
 * answers (the challenge ACK of RFC 5961); a real reset, which silences the
 * other side, still ends the flow within CLOSING's 120 s. */
Test(front_ct, unchecked_rst_does_not_end_an_established_flow)
{
	for (int v = 0; v < 2; v++) {
		establish(v, 40570);
		cr_assert_eq(client_tcp(v, 40570, FIX_RST | FIX_ACK), TC_ACT_REDIRECT);
		cr_assert_eq(flow_of(v, 40570).tcp_state, RELAY_TCP_ESTABLISHED);
		cr_assert_eq(backend_tcp(v, 40570, 8080, FIX_ACK, NULL), TC_ACT_REDIRECT,
			     "the challenge ACK");
		cr_assert_eq(flow_of(v, 40570).tcp_seen, 0, "the RST was contradicted");
		age_client(clients[v], IPPROTO_TCP, 40570, 8080, IDLE(3600), -1);
		cr_assert_eq(backend_tcp(v, 40570, 8080, FIX_ACK, NULL), TC_ACT_REDIRECT,
			     "alive after an idle hour");

		establish(v, 40571);
		cr_assert_eq(backend_tcp(v, 40571, 8080, FIX_RST | FIX_ACK, NULL), TC_ACT_REDIRECT);
		age_client(clients[v], IPPROTO_TCP, 40571, 8080, JUST_ALIVE(RELAY_CT_TCP_CLOSING_S), -1);
		cr_assert_eq(client_tcp(v, 40571, FIX_RST), TC_ACT_REDIRECT,
			     "the client's own RST");
		age_client(clients[v], IPPROTO_TCP, 40571, 8080, JUST_DEAD(RELAY_CT_TCP_CLOSING_S), -1);
		cr_assert_eq(backend_tcp(v, 40571, 8080, FIX_ACK, NULL), TC_ACT_SHOT,
			     "reset and silent: dead at 121 s");
	}
}

/* A FIN from one side half-closes: the flow stays ESTABLISHED (a forged FIN
 * changes nothing) until the other side's FIN. */
Test(front_ct, fin_from_one_side_keeps_the_flow_established)
{
	for (int v = 0; v < 2; v++) {
		establish(v, 40580);
		cr_assert_eq(client_tcp(v, 40580, FIX_FIN | FIX_ACK), TC_ACT_REDIRECT);
		cr_assert_eq(flow_of(v, 40580).tcp_state, RELAY_TCP_ESTABLISHED);
		cr_assert_eq(backend_tcp(v, 40580, 8080, FIX_PSH | FIX_ACK, NULL), TC_ACT_REDIRECT);
		cr_assert_eq(flow_of(v, 40580).tcp_state, RELAY_TCP_ESTABLISHED, "half-closed");
		cr_assert_eq(backend_tcp(v, 40580, 8080, FIX_FIN | FIX_ACK, NULL), TC_ACT_REDIRECT);
		cr_assert_eq(flow_of(v, 40580).tcp_state, RELAY_TCP_CLOSING);
	}
}

/* A client SYN on an established flow is answered by the backend with a
 * challenge ACK; it demotes nothing. After a reset it opens anew. */
Test(front_ct, syn_on_an_established_flow_does_not_demote_it)
{
	for (int v = 0; v < 2; v++) {
		establish(v, 40590);
		cr_assert_eq(client_tcp(v, 40590, FIX_SYN), TC_ACT_REDIRECT);
		cr_assert_eq(flow_of(v, 40590).tcp_state, RELAY_TCP_ESTABLISHED);
		cr_assert_eq(client_tcp(v, 40590, FIX_RST), TC_ACT_REDIRECT);
		cr_assert_eq(client_tcp(v, 40590, FIX_SYN), TC_ACT_REDIRECT);
		cr_assert_eq(flow_of(v, 40590).tcp_state, RELAY_TCP_SYN_SENT, "after its RST");
	}
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Services and backends in the datapath (docs/services.md): the service of
 * a port and its precedence, Maglev selection by relay_flow_hash, a flow
 * kept on its backend, port translation both ways (TCP, UDP, ICMP errors),
 * families kept apart, the XDP fast path. The service maps are filled
 * here directly, as attach would; every expected frame is built from
 * scratch (addresses, ports, every checksum).
 */
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "test_front_env.h"

#define XDP_PASS_ 2
#define XDP_REDIRECT_ 4

/* Named services of generation 0: WEB tcp:80 (3 backends a family, Maglev),
 * RANGE tcp:10000-10010 translated to :20000, GAME udp:27000 to :37000. */
enum { WEB = 1, RANGE = 2, GAME = 3 };

struct fam {
	const char *client, *public, *backend[3], *other_client;
};

static const struct fam fams[2] = {
	{ CLIENT, PUBLIC, { "10.22.23.1", "10.22.23.2", "10.22.23.3" }, "198.51.100.20" },
	{ CLIENT6, PUBLIC6, { "2001:db8:23::1", "2001:db8:23::2", "2001:db8:23::3" },
	  "2001:db8:7::20" },
};

/* Backend i of family v in service s: a stable id of its own. */
static __u16 id_of(int s, int v, int i)
{
	return (__u16)(100 * s + 10 * v + i);
}

static union relay_ip ip_of(const char *a)
{
	union relay_ip ip = { 0 };

	if (strchr(a, ':'))
		fix_addr6(a, ip.v6);
	else
		ip.v4 = fix_addr(a);
	return ip;
}

static void backend_put(__u32 id, int v, const char *addr, __u16 service, __u16 port, __u8 state)
{
	struct relay_backend b = { .addr = ip_of(addr), .family = v ? AF_INET6 : AF_INET,
				   .state = state, .service = service, .port = port };

	cr_assert_eq(bpf_map_update_elem(svc_fds().backends, &id, &b, BPF_ANY), 0);
}

/* A service with Maglev rows of n_up backends per family, of n_backends in
 * all (up, drained, down; 0 as a build before n_backends left it). */
static void service_write(__u32 idx, __u8 hash, __u16 first_port, const __u8 n_up[2],
			  const __u8 n_backends[2])
{
	struct relay_service s = { .defined = 1, .hash = hash, .first_port = first_port };
	__u32 key = RELAY_SERVICE_KEY(0, idx);

	memcpy(s.n_up, n_up, sizeof(s.n_up));
	memcpy(s.n_backends, n_backends, sizeof(s.n_backends));
	cr_assert_eq(bpf_map_update_elem(svc_fds().services, &key, &s, BPF_ANY), 0);
}

static void service_put(__u32 idx, __u8 hash, __u16 first_port, __u8 n_up4, __u8 n_up6)
{
	service_write(idx, hash, first_port, (__u8[2]){ n_up4, n_up6 }, (__u8[2]){ 0, 0 });
}

/* Slot i of the row of (service, family v) holds ids[i % n]. */
static void row_put(__u32 idx, int v, const __u16 *ids, int n)
{
	static struct relay_maglev_row row;
	__u32 key = RELAY_MAGLEV_KEY(0, idx, v);

	for (int i = 0; i < RELAY_MAGLEV_SIZE; i++)
		row.backend[i] = ids[i % n];
	cr_assert_eq(bpf_map_update_elem(svc_fds().maglev, &key, &row, BPF_ANY), 0);
}

static void ports_put(__u8 proto, __u16 first, __u16 last, __u8 idx)
{
	static struct relay_port_services ports;
	__u32 key = RELAY_PORTS_KEY(0, proto == IPPROTO_UDP ? RELAY_SVC_UDP : RELAY_SVC_TCP);
	int fd = svc_fds().ports;

	cr_assert_eq(bpf_map_lookup_elem(fd, &key, &ports), 0);
	for (unsigned p = first; p <= last; p++)
		ports.service[p] = idx;
	cr_assert_eq(bpf_map_update_elem(fd, &key, &ports, BPF_ANY), 0);
}

static void rev_put(int v, __u8 proto, const char *backend, __u16 backend_port, __u16 port)
{
	struct relay_rev_port_key key = { .addr = ip_of(backend), .family = v ? AF_INET6 : AF_INET,
					  .proto = proto, .port = htons(backend_port) };
	struct relay_front_config cfg = cfg_get();

	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(objs.pub->maps.relay_rev_ports), &key, &port,
					 BPF_ANY), 0);
	cfg.rev_ports = 1;
	cfg_put(&cfg);
}

/* What attach and the daemon end every change with: the configuration
 * written again, a new svc_epoch (cfg_put). The tables written before
 * without one are the flows' recorded backends' to ignore. */
static void commit(void)
{
	struct relay_front_config cfg = cfg_get();

	cfg_put(&cfg);
}

/* WEB over both families, 3 backends each spread over the row in turns. */
static void web_up(__u8 hash)
{
	for (int v = 0; v < 2; v++) {
		__u16 ids[3];

		for (int i = 0; i < 3; i++) {
			ids[i] = id_of(WEB, v, i);
			backend_put(ids[i], v, fams[v].backend[i], WEB, 0, RELAY_BACKEND_UP);
		}
		row_put(WEB, v, ids, 3);
	}
	service_put(WEB, hash, 80, 3, 3);
	ports_put(IPPROTO_TCP, 80, 80, WEB);
	ports_put(IPPROTO_TCP, 443, 443, WEB);
}

/* RANGE (tcp:10000-10010 -> backend 0 :20000) and GAME (udp:27000 ->
 * backend 1 :37000), one backend a family each, replies mapped back. */
static void translated_up(void)
{
	for (int v = 0; v < 2; v++) {
		__u16 r = id_of(RANGE, v, 0), g = id_of(GAME, v, 1);

		backend_put(r, v, fams[v].backend[0], RANGE, 20000, RELAY_BACKEND_UP);
		backend_put(g, v, fams[v].backend[1], GAME, 37000, RELAY_BACKEND_UP);
		row_put(RANGE, v, &r, 1);
		row_put(GAME, v, &g, 1);
		for (__u16 p = 10000; p <= 10010; p++)
			rev_put(v, IPPROTO_TCP, fams[v].backend[0], 20000 + (p - 10000), p);
		rev_put(v, IPPROTO_UDP, fams[v].backend[1], 37000, 27000);
	}
	service_put(RANGE, RELAY_HASH_5TUPLE, 10000, 1, 1);
	service_put(GAME, RELAY_HASH_5TUPLE, 27000, 1, 1);
	ports_put(IPPROTO_TCP, 10000, 10010, RANGE);
	ports_put(IPPROTO_UDP, 27000, 27000, GAME);
}

static void frame(struct fixture *f, bool l2, __u8 proto, const char *src, const char *dst,
		  __u16 sport, __u16 dport, __u8 flags, __u8 ttl)
{
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = proto, .ttl = ttl };
	struct fix_l4 l4 = { .sport = sport, .dport = dport, .tcp_flags = flags,
			     .payload_len = 100 };

	fix_build(f, l2, &ip, &l4);
}

/* A client packet through relay_front_in: TC_ACT_REDIRECT expected, to dst
 * port dport (NULL backend: not relayed, the frame untouched). */
static void client_to(int v, __u8 proto, const char *client, __u16 cport, __u16 port,
		      const char *backend, __u16 bport)
{
	struct fixture in, out, expected;

	frame(&in, true, proto, client, fams[v].public, cport, port, FIX_ACK, 0);
	if (!backend) {
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC, "IPv%d :%u: host's",
			     v ? 6 : 4, port);
		cr_assert_arr_eq(out.buf, in.buf, in.len, "untouched");
		return;
	}
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT, "IPv%d :%u relayed",
		     v ? 6 : 4, port);
	frame(&expected, true, proto, client, backend, cport, bport, FIX_ACK, 63);
	assert_frame_eq(&out, &expected, "to the backend's address and port");
}

static struct relay_ct_value flow_of(const char *client, __u8 proto, __u16 cport, __u16 port)
{
	struct relay_ct_value ct;

	cr_assert(ct_lookup_client(client, proto, cport, port, &ct), "flow recorded");
	return ct;
}

static __u32 hash_of(int v, __u8 hash, const char *client, __u8 proto, __u16 cport, __u16 port)
{
	union relay_ip c = ip_of(client);

	(void)v;
	return relay_flow_hash(hash, &c, proto, htons(cport), htons(port));
}

TestSuite(front_service, .init = setup_l2, .fini = teardown);

/* --exclude > named services > the default service (and --ports); a port
 * of no service with no default backend is the host's. */
Test(front_service, a_port_goes_to_its_service_by_precedence)
{
	struct relay_front_config cfg;
	__u16 web0[2] = { id_of(WEB, 0, 0), id_of(WEB, 1, 0) };

	web_up(RELAY_HASH_5TUPLE);
	for (int v = 0; v < 2; v++) {
		/* One backend in the row: the named service's, not the default's. */
		row_put(WEB, v, &web0[v], 1);
		client_to(v, IPPROTO_TCP, fams[v].client, 41000, 80, fams[v].backend[0], 80);
		client_to(v, IPPROTO_TCP, fams[v].client, 41000, 8080, v ? BACKEND6 : BACKEND, 8080);
	}
	/* --exclude wins over a named service's port. */
	ports_put(IPPROTO_TCP, 22, 22, WEB);
	for (int v = 0; v < 2; v++)
		client_to(v, IPPROTO_TCP, fams[v].client, 41001, 22, NULL, 0);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_EXCLUDED), 2);
	/* A named service's port is relayed whatever --ports says. */
	cfg = cfg_get();
	cfg.ports[0] = (struct relay_port_range){ .proto = IPPROTO_TCP, .first = 8080,
						  .last = 8080 };
	cfg.n_ports = 1;
	cfg_put(&cfg);
	for (int v = 0; v < 2; v++) {
		client_to(v, IPPROTO_TCP, fams[v].client, 41002, 443, fams[v].backend[0], 443);
		client_to(v, IPPROTO_TCP, fams[v].client, 41002, 8081, NULL, 0);
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NOT_IN_PORTS), 2);
	/* No default backend: the other ports are the host's. */
	service_put(0, RELAY_HASH_5TUPLE, 0, 0, 0);
	for (int v = 0; v < 2; v++) {
		client_to(v, IPPROTO_TCP, fams[v].client, 41003, 8080, NULL, 0);
		client_to(v, IPPROTO_TCP, fams[v].client, 41003, 80, fams[v].backend[0], 80);
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NO_BACKEND), 2);
}

/* The backend is the row's slot relay_flow_hash % RELAY_MAGLEV_SIZE (the
 * function userspace shares), and the flow records it. */
Test(front_service, maglev_picks_the_slot_of_the_flow_hash)
{
	web_up(RELAY_HASH_5TUPLE);
	for (int v = 0; v < 2; v++) {
		int seen[3] = { 0 };

		for (__u16 cport = 42000; cport < 42012; cport++) {
			__u32 slot = hash_of(v, RELAY_HASH_5TUPLE, fams[v].client, IPPROTO_TCP,
					     cport, 80) % RELAY_MAGLEV_SIZE;
			int i = (int)(slot % 3);

			client_to(v, IPPROTO_TCP, fams[v].client, cport, 80, fams[v].backend[i], 80);
			cr_assert_eq(flow_of(fams[v].client, IPPROTO_TCP, cport, 80).backend_id,
				     id_of(WEB, v, i));
			seen[i]++;
		}
		cr_assert(seen[0] && seen[1] && seen[2], "12 flows reach all 3 backends");
	}
}

/* hash=src: every flow of a client reaches one backend, the one of its
 * address's hash. */
Test(front_service, hash_src_keeps_a_client_on_one_backend)
{
	web_up(RELAY_HASH_SRC);
	for (int v = 0; v < 2; v++) {
		const char *clients[2] = { fams[v].client, fams[v].other_client };

		for (int c = 0; c < 2; c++) {
			__u32 slot = hash_of(v, RELAY_HASH_SRC, clients[c], IPPROTO_TCP, 0, 0) %
				     RELAY_MAGLEV_SIZE;

			for (__u16 cport = 42100; cport < 42106; cport++)
				client_to(v, IPPROTO_TCP, clients[c], cport, cport & 1 ? 80 : 443,
					  fams[v].backend[slot % 3], cport & 1 ? 80 : 443);
		}
	}
}

/* A flow keeps its backend when the row changes (a backend added), and a
 * DRAINED one keeps its flows; a DOWN or removed backend's flow moves to
 * the row's (backend_reselected). */
Test(front_service, a_flow_sticks_to_its_backend_until_it_is_down_or_gone)
{
	web_up(RELAY_HASH_5TUPLE);
	for (int v = 0; v < 2; v++) {
		__u32 slot = hash_of(v, RELAY_HASH_5TUPLE, fams[v].client, IPPROTO_TCP, 42200, 80) %
			     RELAY_MAGLEV_SIZE;
		int i = (int)(slot % 3), j = (i + 1) % 3;
		__u16 mine = id_of(WEB, v, i), other = id_of(WEB, v, j);
		unsigned long long moved = counter(stats_fd, RELAY_C_BACKEND_RESELECTED);
		struct relay_backend gone = { 0 };

		client_to(v, IPPROTO_TCP, fams[v].client, 42200, 80, fams[v].backend[i], 80);
		row_put(WEB, v, &other, 1);
		client_to(v, IPPROTO_TCP, fams[v].client, 42200, 80, fams[v].backend[i], 80);
		client_to(v, IPPROTO_TCP, fams[v].client, 42201, 80, fams[v].backend[j], 80);
		backend_put(mine, v, fams[v].backend[i], WEB, 0, RELAY_BACKEND_DRAINED);
		client_to(v, IPPROTO_TCP, fams[v].client, 42200, 80, fams[v].backend[i], 80);
		cr_assert_eq(counter(stats_fd, RELAY_C_BACKEND_RESELECTED), moved);
		backend_put(mine, v, fams[v].backend[i], WEB, 0, RELAY_BACKEND_DOWN);
		client_to(v, IPPROTO_TCP, fams[v].client, 42200, 80, fams[v].backend[j], 80);
		cr_assert_eq(flow_of(fams[v].client, IPPROTO_TCP, 42200, 80).backend_id, other,
			     "the flow records its new backend");
		cr_assert_eq(counter(stats_fd, RELAY_C_BACKEND_RESELECTED), moved + 1);
		/* Removed (its id freed: family 0): the flow on it moves too. */
		backend_put(mine, v, fams[v].backend[i], WEB, 0, RELAY_BACKEND_UP);
		row_put(WEB, v, &mine, 1);
		cr_assert_eq(bpf_map_update_elem(svc_fds().backends, &(__u32){ other }, &gone,
						 BPF_ANY), 0);
		client_to(v, IPPROTO_TCP, fams[v].client, 42201, 80, fams[v].backend[i], 80);
		cr_assert_eq(counter(stats_fd, RELAY_C_BACKEND_RESELECTED), moved + 2);
	}
}

/* An established flow keeps its recorded backend and port without asking
 * the services again until a commit (a new svc_epoch) since it chose them:
 * then its next packet sees the change (a backend's port translation,
 * --exclude). */
Test(front_service, a_flows_backend_is_chosen_again_after_a_commit)
{
	web_up(RELAY_HASH_5TUPLE);
	commit();
	for (int v = 0; v < 2; v++) {
		__u32 slot = hash_of(v, RELAY_HASH_5TUPLE, fams[v].client, IPPROTO_TCP, 42300, 80) %
			     RELAY_MAGLEV_SIZE;
		int i = (int)(slot % 3);
		__u16 mine = id_of(WEB, v, i);
		struct relay_front_config cfg;

		client_to(v, IPPROTO_TCP, fams[v].client, 42300, 80, fams[v].backend[i], 80);
		client_to(v, IPPROTO_TCP, fams[v].client, 42300, 80, fams[v].backend[i], 80);
		cr_assert_eq(flow_of(fams[v].client, IPPROTO_TCP, 42300, 80).svc_epoch,
			     cfg_get().svc_epoch, "the flow records the epoch of its choice");
		/* Written without a commit: the flow does not look. */
		backend_put(mine, v, fams[v].backend[i], WEB, 8080, RELAY_BACKEND_UP);
		client_to(v, IPPROTO_TCP, fams[v].client, 42300, 80, fams[v].backend[i], 80);
		commit();
		client_to(v, IPPROTO_TCP, fams[v].client, 42300, 80, fams[v].backend[i], 8080);
		cr_assert_eq(flow_of(fams[v].client, IPPROTO_TCP, 42300, 80).backend_port,
			     htons(8080), "the flow records its new port");
		cfg = cfg_get();
		cfg.exclude[1] = (struct relay_port_range){ .proto = IPPROTO_TCP, .first = 80,
							    .last = 80 };
		cfg.n_exclude = 2;
		cfg_put(&cfg);
		client_to(v, IPPROTO_TCP, fams[v].client, 42300, 80, NULL, 0);
		cfg.n_exclude = 1;
		cfg_put(&cfg);
		backend_put(mine, v, fams[v].backend[i], WEB, 0, RELAY_BACKEND_UP);
		commit();
	}
}

/* A service whose backends are all of one family relays only that family's
 * clients: the other family's are the host's, never sent across. */
Test(front_service, families_are_kept_apart)
{
	__u16 v4_id = id_of(WEB, 0, 0);

	backend_put(v4_id, 0, fams[0].backend[0], WEB, 0, RELAY_BACKEND_UP);
	row_put(WEB, 0, &v4_id, 1);
	/* Even a row of the other family naming it (never written so). */
	row_put(WEB, 1, &v4_id, 1);
	service_put(WEB, RELAY_HASH_5TUPLE, 80, 1, 0);
	ports_put(IPPROTO_TCP, 80, 80, WEB);
	client_to(0, IPPROTO_TCP, CLIENT, 42300, 80, fams[0].backend[0], 80);
	client_to(1, IPPROTO_TCP, CLIENT6, 42300, 80, NULL, 0);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NO_BACKEND), 1);
	service_put(WEB, RELAY_HASH_5TUPLE, 80, 1, 1);
	client_to(1, IPPROTO_TCP, CLIENT6, 42301, 80, NULL, 0);
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NO_BACKEND), 2, "an IPv4 id in the IPv6 row");
}

/* Port translation: the destination port in, the source port of replies
 * out (relay_rev_ports), TCP over a range (offset kept) and UDP, with the
 * per-backend counters. */
Test(front_service, ports_are_translated_both_ways, .init = with_tunnel)
{
	translated_up();
	for (int v = 0; v < 2; v++) {
		const struct fam *f = &fams[v];
		struct relay_backend_stats st[256];
		__u32 id = id_of(RANGE, v, 0);
		struct fixture in, out, expected;
		__u64 packets[2] = { 0 }, new_flows = 0;

		client_to(v, IPPROTO_TCP, f->client, 42400, 10005, f->backend[0], 20005);
		cr_assert_eq(ntohs(flow_of(f->client, IPPROTO_TCP, 42400, 10005).backend_port),
			     20005);
		frame(&in, true, IPPROTO_TCP, f->backend[0], f->client, 20005, 42400, FIX_ACK, 0);
		from_backend_mac(&in);
		cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		frame(&expected, true, IPPROTO_TCP, f->public, f->client, 10005, 42400, FIX_ACK, 63);
		from_backend_mac(&expected);
		assert_frame_eq(&out, &expected, "the reply from the service port");

		client_to(v, IPPROTO_UDP, f->client, 42401, 27000, f->backend[1], 37000);
		frame(&in, true, IPPROTO_UDP, f->backend[1], f->client, 37000, 42401, 0, 0);
		from_backend_mac(&in);
		cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		frame(&expected, true, IPPROTO_UDP, f->public, f->client, 27000, 42401, 0, 63);
		from_backend_mac(&expected);
		assert_frame_eq(&out, &expected, "the UDP reply from the service port");

		/* From the backend's other port: no flow's, not translated. */
		frame(&in, true, IPPROTO_TCP, f->backend[0], f->client, 20006, 42400, FIX_ACK, 0);
		from_backend_mac(&in);
		cr_assert_neq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);

		cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(objs.pub->maps.relay_backend_stats),
						 &id, st), 0);
		for (int c = 0; c < libbpf_num_possible_cpus(); c++) {
			packets[0] += st[c].packets[RELAY_DIR_ORIG];
			packets[1] += st[c].packets[RELAY_DIR_REPLY];
			new_flows += st[c].new_flows;
		}
		cr_assert_eq(packets[0], 1);
		cr_assert_eq(packets[1], 1);
		cr_assert_eq(new_flows, 1);
	}
}

/* A translated flow evicted from the table is restored from its reply
 * (one public address): to the service port, on the backend it had. On an
 * L2 tunnel only from the backend neighbour's MAC: RANGE's backend is
 * BACKEND here, the neighbour l2_tunnel_up knows. */
Test(front_service, an_evicted_translated_flow_is_restored_from_its_reply, .init = with_tunnel)
{
	static const char *const backends[2] = { BACKEND, BACKEND6 };
	struct relay_front_config cfg;

	stay_on_this_cpu();
	l2_tunnel_up();
	translated_up();
	cfg = cfg_get();
	cfg.sole_public[0].v4 = fix_addr(PUBLIC);
	fix_addr6(PUBLIC6, cfg.sole_public[1].v6);
	cfg_put(&cfg);
	for (int v = 0; v < 2; v++) {
		const struct fam *f = &fams[v];
		struct relay_ct_key key = ct_key_of(f->client, IPPROTO_TCP, 42450, 10007);
		struct fixture in, out, expected;
		struct relay_ct_value ct;

		backend_put(id_of(RANGE, v, 0), v, backends[v], RANGE, 20000, RELAY_BACKEND_UP);
		rev_put(v, IPPROTO_TCP, backends[v], 20007, 10007);
		client_to(v, IPPROTO_TCP, f->client, 42450, 10007, backends[v], 20007);
		cr_assert_eq(bpf_map_delete_elem(ct_table_of(&key), &key), 0, "evicted");
		frame(&in, true, IPPROTO_TCP, backends[v], f->client, 20007, 42450, FIX_ACK, 0);
		from_backend_mac(&in);
		cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		frame(&expected, true, IPPROTO_TCP, f->public, f->client, 10007, 42450, FIX_ACK, 63);
		from_backend_mac(&expected);
		assert_frame_eq(&out, &expected, "restored: from the service port");
		cr_assert_eq(bpf_map_lookup_elem(ct_fd, &key, &ct), 0, "recorded again");
		cr_assert_eq(ct.backend_id, id_of(RANGE, v, 0));
		cr_assert_eq(ntohs(ct.backend_port), 20007);
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), 2);
}

/* ICMP errors quote the translated port: the backend's port unreachable
 * reaches the client quoting the service port, the client's (or a
 * router's) error about a reply reaches the backend quoting its port. */
Test(front_service, icmp_errors_quote_translated_ports_both_ways, .init = with_tunnel)
{
	static const uint8_t unreach[2][2] = { { 3, 3 }, { 1, 4 } };
	struct fixture in, out, quoted, expected;

	translated_up();
	for (int v = 0; v < 2; v++) {
		const struct fam *f = &fams[v];

		client_to(v, IPPROTO_UDP, f->client, 42500, 27000, f->backend[1], 37000);
		/* The backend's error about what it got. */
		frame(&quoted, false, IPPROTO_UDP, f->client, f->backend[1], 42500, 37000, 0, 63);
		icmp_error_frame(&in, true, f->backend[1], f->client, unreach[v][0], unreach[v][1],
				 0, &quoted, quoted.len);
		from_backend_mac(&in);
		cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		frame(&quoted, false, IPPROTO_UDP, f->client, f->public, 42500, 27000, 0, 63);
		icmp_error_frame(&expected, true, f->public, f->client, unreach[v][0],
				 unreach[v][1], 0, &quoted, quoted.len);
		from_backend_mac(&expected);
		fix_nat(&expected, NULL, NULL, 63);
		assert_frame_eq(&out, &expected, "the error quotes the service port");

		/* The client's error about the reply. */
		frame(&quoted, false, IPPROTO_UDP, f->public, f->client, 27000, 42500, 0, 63);
		icmp_error_frame(&in, true, f->client, f->public, unreach[v][0], unreach[v][1], 0,
				 &quoted, quoted.len);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		frame(&quoted, false, IPPROTO_UDP, f->backend[1], f->client, 37000, 42500, 0, 63);
		icmp_error_frame(&expected, true, f->client, f->backend[1], unreach[v][0],
				 unreach[v][1], 0, &quoted, quoted.len);
		fix_nat(&expected, NULL, NULL, 63);
		assert_frame_eq(&out, &expected, "the error quotes the backend's port");
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_ERR_RET), 2);
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_ERR_FWD), 2);
}

/* A reply is its flow's only from the flow's backend: another backend of
 * the service with the same ports is not translated. */
Test(front_service, a_reply_comes_from_the_flows_backend, .init = with_tunnel)
{
	__u16 web0[2] = { id_of(WEB, 0, 0), id_of(WEB, 1, 0) };
	struct fixture in, out;

	web_up(RELAY_HASH_5TUPLE);
	for (int v = 0; v < 2; v++) {
		row_put(WEB, v, &web0[v], 1);
		client_to(v, IPPROTO_TCP, fams[v].client, 42600, 80, fams[v].backend[0], 80);
		frame(&in, true, IPPROTO_TCP, fams[v].backend[1], fams[v].client, 80, 42600,
		      FIX_ACK, 0);
		from_backend_mac(&in);
		cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_UNSPEC, "another backend");
		cr_assert_arr_eq(out.buf, in.buf, in.len, "untouched");
		frame(&in, true, IPPROTO_TCP, fams[v].backend[0], fams[v].client, 80, 42600,
		      FIX_ACK, 0);
		from_backend_mac(&in);
		cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT, "the flow's");
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_PACKETS), 2);
}

/* Backend id of family v at addr, behind the tunnel device ifindex (L2). */
static void tunnel_backend_put(__u32 id, int v, const char *addr, __u32 ifindex)
{
	struct relay_backend b = { .addr = ip_of(addr), .family = v ? AF_INET6 : AF_INET,
				   .service = WEB, .tunnel_ifindex = ifindex, .tunnel_l2 = 1 };

	cr_assert_eq(bpf_map_update_elem(svc_fds().backends, &id, &b, BPF_ANY), 0);
}

/* Backends behind different tunnel devices: lo (the first) and t0 (L2,
 * whose neighbour is BACKEND). A flow goes into its own backend's device
 * (t0: with that neighbour's MACs, which only t0's FIB lookup gives), a
 * reply is taken only from the backends behind the device it came in by,
 * and a device no backend is behind is not looked at. */
Test(front_service, each_backend_has_its_own_tunnel_device, .init = with_tunnel)
{
	static const char *const by_t0[2] = { BACKEND, BACKEND6 };
	struct relay_front_config cfg;
	struct fixture in, out, reply;
	__u32 t0, t1;

	stay_on_this_cpu();
	l2_tunnel_up();
	t0 = if_nametoindex("t0");
	t1 = if_nametoindex("t1");
	cfg = cfg_get();
	cfg.tunnel_ifindex = 1;
	cfg.tunnel_l2 = 1;
	cfg.tunnels[0] = (struct relay_front_tunnel){ .ifindex = t0, .l2 = 1 };
	cfg_put(&cfg);
	service_put(WEB, RELAY_HASH_5TUPLE, 80, 1, 1);
	ports_put(IPPROTO_TCP, 80, 80, WEB);
	for (int v = 0; v < 2; v++) {
		const struct fam *f = &fams[v];
		__u16 a = id_of(WEB, v, 0), b = id_of(WEB, v, 1);
		unsigned long long no_flow;

		tunnel_backend_put(a, v, by_t0[v], t0);
		tunnel_backend_put(b, v, f->backend[1], 1);
		/* A's flow: into t0, to its neighbour (the first packet asks the
		 * kernel, the next ones write the cached MACs). */
		row_put(WEB, v, &a, 1);
		frame(&in, true, IPPROTO_TCP, f->client, f->public, 41000, 80, FIX_ACK, 0);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		cr_assert(fix_daddr_is(&out, by_t0[v]));
		assert_macs(&out, 0x01, 0xfe);
		frame(&reply, true, IPPROTO_TCP, by_t0[v], f->client, 80, 41000, FIX_ACK, 0);
		from_backend_mac(&reply);
		cr_assert_eq(run_tc(rev_fd, &reply, &out, NULL), TC_ACT_REDIRECT, "by t0: A's");
		cr_assert(fix_saddr_is(&out, f->public));
		no_flow = counter(stats_fd, RELAY_C_PASS_NO_FLOW);
		cr_assert_eq(run_tc(rev_fd, &reply, &out, &(struct __sk_buff){ .ifindex = 1 }),
			     TC_ACT_UNSPEC, "by lo: not A's");
		cr_assert_arr_eq(out.buf, reply.buf, reply.len, "untouched");
		cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NO_FLOW), no_flow + 1);
		cr_assert_eq(run_tc(rev_fd, &reply, &out, &(struct __sk_buff){ .ifindex = t1 }),
			     TC_ACT_UNSPEC, "t1: no backend behind it");
		cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NOT_TUNNEL), (unsigned)v + 1);
		/* B's flow: into lo, whose FIB has no neighbour: the MACs as they were. */
		row_put(WEB, v, &b, 1);
		frame(&in, true, IPPROTO_TCP, f->client, f->public, 41001, 80, FIX_ACK, 0);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		cr_assert(fix_daddr_is(&out, f->backend[1]));
		cr_assert_arr_eq(out.buf, in.buf, 12, "MACs not rewritten");
		frame(&reply, true, IPPROTO_TCP, f->backend[1], f->client, 80, 41001, FIX_ACK, 0);
		cr_assert_eq(run_tc(rev_fd, &reply, &out, NULL), TC_ACT_UNSPEC, "by t0: not B's");
		cr_assert_eq(run_tc(rev_fd, &reply, &out, &(struct __sk_buff){ .ifindex = 1 }),
			     TC_ACT_REDIRECT, "by lo: B's");
		cr_assert(fix_saddr_is(&out, f->public));
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_PACKETS), 4);
}

/* The front's own addresses on a tunnel after the first (t0, cfg.tunnels)
 * are that tunnel's, read where the configuration keeps them
 * (relay_cfg_tunnel_ip): a SYN-ACK from t0's backend to them is its own
 * traffic, never a flow to restore, while the same to a client is. */
Test(front_service, backend_traffic_to_the_fronts_address_on_a_second_tunnel_is_not_translated,
     .init = with_tunnel)
{
	static const char *const by_t0[2] = { BACKEND, BACKEND6 };
	static const char *const own[2] = { "10.22.22.2", TUNNEL6 };
	struct relay_front_config cfg;
	struct fixture reply, out;
	__u32 t0;

	stay_on_this_cpu();
	l2_tunnel_up();
	t0 = if_nametoindex("t0");
	cfg = cfg_get();
	cfg.tunnel_ifindex = 1;
	memset(cfg.tunnel_ip, 0, sizeof(cfg.tunnel_ip));
	cfg.tunnels[0] = (struct relay_front_tunnel){ .ifindex = t0, .l2 = 1 };
	cfg.tunnels[0].ip[0] = ip_of(own[0]);
	cfg.tunnels[0].ip[1] = ip_of(own[1]);
	cfg.sole_public[0] = ip_of(PUBLIC);
	cfg.sole_public[1] = ip_of(PUBLIC6);
	cfg_put(&cfg);
	service_put(WEB, RELAY_HASH_5TUPLE, 80, 1, 1);
	ports_put(IPPROTO_TCP, 80, 80, WEB);
	for (int v = 0; v < 2; v++) {
		const struct fam *f = &fams[v];
		__u16 a = id_of(WEB, v, 0);

		tunnel_backend_put(a, v, by_t0[v], t0);
		row_put(WEB, v, &a, 1);
		frame(&reply, true, IPPROTO_TCP, by_t0[v], own[v], 80, 41000, FIX_SYN | FIX_ACK, 0);
		from_backend_mac(&reply);
		cr_assert_eq(run_tc(rev_fd, &reply, &out, &(struct __sk_buff){ .ifindex = t0 }),
			     TC_ACT_UNSPEC, "to the front's own address on t0");
		cr_assert_arr_eq(out.buf, reply.buf, reply.len, "untouched");
		frame(&reply, true, IPPROTO_TCP, by_t0[v], f->client, 80, 41000, FIX_SYN | FIX_ACK,
		      0);
		from_backend_mac(&reply);
		cr_assert_eq(run_tc(rev_fd, &reply, &out, &(struct __sk_buff){ .ifindex = t0 }),
			     TC_ACT_REDIRECT, "to a client: restored");
		cr_assert(fix_saddr_is(&out, f->public));
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_RET_STATELESS), 2);
}

/* A datagram's later fragments (no port) follow its first fragment to the
 * first's backend, not the default service's; the first has its port
 * translated. */
Test(front_service, later_fragments_follow_the_first_ones_backend)
{
	translated_up();
	for (int v = 0; v < 2; v++) {
		const struct fam *f = &fams[v];
		struct fix_ip4 ip = { .src = f->client, .dst = f->public, .proto = IPPROTO_UDP,
				      .frag_off = 0x2000 /* MF */ };
		struct fix_l4 l4 = { .sport = 42800, .dport = 27000, .payload_len = 64 };
		struct fixture in, out, expected;

		fix_build(&in, true, &ip, &l4);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		ip.dst = f->backend[1];
		ip.ttl = 63;
		l4.dport = 37000;
		fix_build(&expected, true, &ip, &l4);
		assert_frame_eq(&out, &expected, "the first fragment, port translated");
		ip = (struct fix_ip4){ .src = f->client, .dst = f->public, .proto = IPPROTO_UDP,
				       .frag_off = 185 };
		l4 = (struct fix_l4){ .payload_len = 64 };
		fix_build(&in, true, &ip, &l4);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		cr_assert(fix_daddr_is(&out, f->backend[1]), "the first's backend");
		cr_assert(v || fix_ip_csum_ok(&out));
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_FRAG_FWD), 2);
}

/* On the tunnel a later fragment is translated only from its datagram's
 * backend: a client's datagram to the front has a verdict under the same
 * kind of key (source, destination, id), which a packet on the tunnel with
 * the client's address must not use. */
Test(front_service, a_later_fragment_on_the_tunnel_only_from_its_backend, .init = with_tunnel)
{
	translated_up();
	for (int v = 0; v < 2; v++) {
		const struct fam *f = &fams[v];
		struct fix_ip4 ip = { .src = f->client, .dst = f->public, .proto = IPPROTO_UDP,
				      .frag_off = 0x2000 /* MF */ };
		struct fix_l4 l4 = { .sport = 42900, .dport = 27000, .payload_len = 64 };
		struct fixture in, out;

		fix_build(&in, true, &ip, &l4);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		ip.frag_off = 185;
		l4 = (struct fix_l4){ .payload_len = 64 };
		fix_build(&in, true, &ip, &l4);
		from_backend_mac(&in);
		cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_UNSPEC, "the client's key");
		cr_assert_arr_eq(out.buf, in.buf, in.len, "untouched");
		/* The backend's reply datagram: its later fragment is. */
		ip = (struct fix_ip4){ .src = f->backend[1], .dst = f->client,
				       .proto = IPPROTO_UDP, .frag_off = 0x2000 };
		l4 = (struct fix_l4){ .sport = 37000, .dport = 42900, .payload_len = 64 };
		fix_build(&in, true, &ip, &l4);
		from_backend_mac(&in);
		cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		ip.frag_off = 185;
		l4 = (struct fix_l4){ .payload_len = 64 };
		fix_build(&in, true, &ip, &l4);
		from_backend_mac(&in);
		cr_assert_eq(run_tc(rev_fd, &in, &out, NULL), TC_ACT_REDIRECT);
		cr_assert(fix_saddr_is(&out, f->public));
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_FRAG_RET), 2);
}

/* Refusals: a service whose backends of the family are all down or drained
 * (n_backends set, n_up 0, its row empty: as attach writes it). */

/* WEB (tcp:80) and GAME (udp:27000) with their backends of both families
 * in state and none up; the rows zeroed. */
static void none_up(__u8 state)
{
	static const __u16 none;

	web_up(RELAY_HASH_5TUPLE);
	translated_up();
	for (int v = 0; v < 2; v++) {
		for (int i = 0; i < 3; i++)
			backend_put(id_of(WEB, v, i), v, fams[v].backend[i], WEB, 0, state);
		backend_put(id_of(GAME, v, 1), v, fams[v].backend[1], GAME, 37000, state);
		row_put(WEB, v, &none, 1);
		row_put(GAME, v, &none, 1);
	}
	service_write(WEB, RELAY_HASH_5TUPLE, 80, (__u8[2]){ 0, 0 }, (__u8[2]){ 3, 3 });
	service_write(GAME, RELAY_HASH_5TUPLE, 27000, (__u8[2]){ 0, 0 }, (__u8[2]){ 1, 1 });
}

/* A TCP segment from client:cport to the public address's port of family
 * v: flags, its acknowledgment number, payload bytes. */
static void segment(struct fixture *f, int v, const char *client, __u16 cport, __u16 port,
		    __u8 flags, __u32 ack, size_t payload)
{
	struct fix_ip4 ip = { .src = client, .dst = fams[v].public, .proto = IPPROTO_TCP };
	struct fix_l4 l4 = { .sport = cport, .dport = port, .tcp_flags = flags,
			     .payload_len = payload };
	uint8_t *tcp;

	fix_build(f, true, &ip, &l4);
	tcp = (uint8_t *)fix_l4(f);
	for (int i = 0; i < 4; i++)
		tcp[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	fix_set_csums(f, true);
}

/* The frame f built from the front to the client: MACs swapped (back to
 * where the packet came from), IPv4 id 0, checksums again. */
static void answer_of(struct fixture *f, int v)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };

	memcpy(f->buf, macs, sizeof(macs));
	if (!v)
		f->buf[FIX_ETH_LEN + 4] = f->buf[FIX_ETH_LEN + 5] = 0;
	fix_set_csums(f, true);
}

/* The reset the front answers with: from the public address and port the
 * client used, 20 bytes of TCP header, window 0, IPv4 DF. */
static void rst_frame(struct fixture *f, int v, const char *client, __u16 cport, __u16 port,
		      __u8 flags, __u32 seq, __u32 ack)
{
	struct fix_ip4 ip = { .src = fams[v].public, .dst = client, .proto = IPPROTO_TCP,
			      .frag_off = v ? 0 : 0x4000 };
	struct fix_l4 l4 = { .sport = port, .dport = cport, .tcp_flags = flags };
	uint8_t *tcp;

	fix_build(f, true, &ip, &l4);
	tcp = (uint8_t *)fix_l4(f);
	for (int i = 0; i < 4; i++) {
		tcp[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		tcp[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	tcp[14] = 0;
	answer_of(f, v);
}

/* Port unreachable from the public address quoting in (an L2 frame) as the
 * client sent it: the IP header(s) and 8 bytes. */
static void unreach_frame(struct fixture *f, int v, const char *client, const struct fixture *in)
{
	struct fixture quoted = { .len = in->len - FIX_ETH_LEN };
	size_t quote_len = (size_t)(fix_l4(in) - fix_ip(in)) + 8;

	memcpy(quoted.buf, fix_ip(in), quoted.len);
	icmp_error_frame(f, true, fams[v].public, client, v ? 1 : 3, v ? 4 : 3, 0, &quoted,
			 quote_len);
	answer_of(f, v);
}

static void assert_refused(const struct fixture *in, const struct fixture *expected,
			   const char *what)
{
	struct fixture out;

	cr_assert_eq(run_tc(in_fd, in, &out, NULL), TC_ACT_REDIRECT, "%s: sent back", what);
	assert_frame_eq(&out, expected, what);
	cr_assert(fix_ip_csum_ok(&out), "%s: IP checksum", what);
}

/* A SYN gets RST+ACK acknowledging it (SYN and data), a segment with ACK an
 * RST whose sequence number is its acknowledgment; no flow is recorded. */
Test(front_service, a_tcp_segment_to_a_service_with_no_live_backend_gets_a_reset)
{
	none_up(RELAY_BACKEND_DOWN);
	for (int v = 0; v < 2; v++) {
		const char *c = fams[v].client;
		struct fixture in, expected;
		struct relay_ct_value ct;

		segment(&in, v, c, 43000, 80, FIX_SYN, 0, 0);
		rst_frame(&expected, v, c, 43000, 80, FIX_RST | FIX_ACK, 0, 0x01000000 + 1);
		assert_refused(&in, &expected, "SYN: RST+ACK");
		segment(&in, v, c, 43001, 443, FIX_SYN, 0, 100);
		rst_frame(&expected, v, c, 43001, 443, FIX_RST | FIX_ACK, 0, 0x01000000 + 101);
		assert_refused(&in, &expected, "SYN with data: RST+ACK past the data");
		segment(&in, v, c, 43002, 80, FIX_ACK | FIX_PSH, 0xdeadbeef, 100);
		rst_frame(&expected, v, c, 43002, 80, FIX_RST, 0xdeadbeef, 0);
		assert_refused(&in, &expected, "ACK: RST at its acknowledgment");
		cr_assert_not(ct_lookup_client(c, IPPROTO_TCP, 43000, 80, &ct), "no flow recorded");
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_REFUSED), 6);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 0);
	cr_assert_eq(counter(stats_fd, RELAY_C_FWD_PACKETS), 0);
}

/* UDP (and a TCP segment the reset cannot be built in place for: IPv6
 * extension headers) gets port unreachable quoting it. */
Test(front_service, a_datagram_to_a_service_with_no_live_backend_gets_port_unreachable)
{
	none_up(RELAY_BACKEND_DOWN);
	for (int v = 0; v < 2; v++) {
		const char *c = fams[v].client;
		struct fix_ip4 ip = { .src = c, .dst = fams[v].public, .proto = IPPROTO_TCP,
				      .ext_hdrs = 1 };
		struct fix_l4 l4 = { .sport = 43101, .dport = 80, .tcp_flags = FIX_SYN };
		struct fixture in, expected;

		frame(&in, true, IPPROTO_UDP, c, fams[v].public, 43100, 27000, 0, 0);
		unreach_frame(&expected, v, c, &in);
		assert_refused(&in, &expected, "UDP: port unreachable");
		if (!v)
			continue;
		fix_build(&in, true, &ip, &l4);
		unreach_frame(&expected, v, c, &in);
		assert_refused(&in, &expected, "TCP with an extension header: port unreachable");
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_REFUSED), 3);
	cr_assert_eq(counter(stats_fd, RELAY_C_CT_NEW), 0);
}

/* The refusals share the ICMP errors' per-source bucket (a burst of 10,
 * then 1 per 10 ms): 200 back to back from one source, TCP and UDP, each
 * family; the rest dropped and counted. */
Test(front_service, refusals_are_rate_limited_per_source)
{
	none_up(RELAY_BACKEND_DOWN);
	for (int v = 0; v < 2; v++) {
		for (int udp = 0; udp < 2; udp++) {
			const char *src = udp ? fams[v].other_client : fams[v].client;
			unsigned long long sent = counter(stats_fd, RELAY_C_REFUSED),
					   limited = counter(stats_fd, RELAY_C_REFUSED_RATE_LIMITED);
			struct fixture in, out;
			struct timespec t0, t1;
			unsigned shot = 0;
			double ms;

			if (udp)
				frame(&in, true, IPPROTO_UDP, src, fams[v].public, 43200, 27000, 0, 0);
			else
				segment(&in, v, src, 43200, 80, FIX_SYN, 0, 0);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			for (int i = 0; i < 200; i++)
				shot += run_tc(in_fd, &in, &out, NULL) == TC_ACT_SHOT;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
			sent = counter(stats_fd, RELAY_C_REFUSED) - sent;
			limited = counter(stats_fd, RELAY_C_REFUSED_RATE_LIMITED) - limited;
			cr_assert_geq(sent, 10, "the burst");
			cr_assert_leq(sent, 10 + (unsigned long long)(ms / 10) + 1,
				      "1 per 10 ms (%.1f ms)", ms);
			cr_assert_eq(sent + limited, 200);
			cr_assert_eq(shot, limited, "the excess is dropped");
		}
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_ICMP_SRC_RATE_LIMITED),
		     counter(stats_fd, RELAY_C_REFUSED_RATE_LIMITED), "the source's bucket");
}

/* A family the service has no backend of (n_backends 0) is not the
 * service's: the host's, as before; and a client's RST is never answered. */
Test(front_service, a_family_without_backends_or_an_rst_goes_to_the_host)
{
	__u16 v4_id = id_of(WEB, 0, 0);
	struct fixture in, out;

	backend_put(v4_id, 0, fams[0].backend[0], WEB, 0, RELAY_BACKEND_DOWN);
	service_write(WEB, RELAY_HASH_5TUPLE, 80, (__u8[2]){ 0, 0 }, (__u8[2]){ 1, 0 });
	ports_put(IPPROTO_TCP, 80, 80, WEB);
	segment(&in, 1, CLIENT6, 43300, 80, FIX_SYN, 0, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC, "IPv6: the host's");
	cr_assert_arr_eq(out.buf, in.buf, in.len, "untouched");
	segment(&in, 0, CLIENT, 43300, 80, FIX_RST, 0, 0);
	cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_UNSPEC, "an RST: the host's");
	cr_assert_arr_eq(out.buf, in.buf, in.len, "untouched");
	cr_assert_eq(counter(stats_fd, RELAY_C_PASS_NO_BACKEND), 2);
	cr_assert_eq(counter(stats_fd, RELAY_C_REFUSED), 0);
}

/* Every backend drained: their flows go on (before, n_up 0 sent them to
 * the host), new flows are refused; a flow whose backend goes down then is
 * dropped, not reset (another front may still serve it), while a segment
 * of a flow the front has no entry of gets a reset. */
Test(front_service, a_drained_backends_flow_goes_on_while_new_ones_are_refused)
{
	web_up(RELAY_HASH_5TUPLE);
	for (int v = 0; v < 2; v++) {
		const char *c = fams[v].client;
		__u32 slot = hash_of(v, RELAY_HASH_5TUPLE, c, IPPROTO_TCP, 43400, 80) %
			     RELAY_MAGLEV_SIZE;

		client_to(v, IPPROTO_TCP, c, 43400, 80, fams[v].backend[slot % 3], 80);
	}
	none_up(RELAY_BACKEND_DRAINED);
	for (int v = 0; v < 2; v++) {
		const char *c = fams[v].client;
		__u32 slot = hash_of(v, RELAY_HASH_5TUPLE, c, IPPROTO_TCP, 43400, 80) %
			     RELAY_MAGLEV_SIZE;
		int i = (int)(slot % 3);
		struct fixture in, out, expected;

		client_to(v, IPPROTO_TCP, c, 43400, 80, fams[v].backend[i], 80);
		segment(&in, v, c, 43401, 80, FIX_SYN, 0, 0);
		rst_frame(&expected, v, c, 43401, 80, FIX_RST | FIX_ACK, 0, 0x01000000 + 1);
		assert_refused(&in, &expected, "a new flow");
		backend_put(id_of(WEB, v, i), v, fams[v].backend[i], WEB, 0, RELAY_BACKEND_DOWN);
		segment(&in, v, c, 43400, 80, FIX_ACK, 0x12345678, 10);
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_SHOT,
			     "the flow of a backend now down, none up: dropped, not reset");
		/* One it has no entry of (another front's, moved here) is reset. */
		segment(&in, v, c, 43402, 80, FIX_ACK, 0x12345678, 10);
		rst_frame(&expected, v, c, 43402, 80, FIX_RST, 0x12345678, 0);
		assert_refused(&in, &expected, "a segment of a flow it has no entry of");
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_REFUSED), 4);
	cr_assert_eq(counter(stats_fd, RELAY_C_DROP_NO_LIVE_BACKEND), 2);
}

TestSuite(front_service_xdp, .init = setup_l3, .fini = teardown);

/* The XDP fast path relays a service's established flow to the flow's
 * backend and port; a flow whose backend went DOWN is TC's to move. */
Test(front_service_xdp, an_established_flow_to_a_translated_port, .init = with_xdp)
{
	translated_up();
	for (int v = 0; v < 2; v++) {
		const struct fam *f = &fams[v];
		struct fixture in, out, expected;

		client_to(v, IPPROTO_TCP, f->client, 42700, 10003, f->backend[0], 20003);
		frame(&in, true, IPPROTO_TCP, f->client, f->public, 42700, 10003, FIX_ACK, 0);
		cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
		out.l3_off = 0;
		frame(&expected, false, IPPROTO_TCP, f->client, f->backend[0], 42700, 20003,
		      FIX_ACK, 63);
		assert_frame_eq(&out, &expected, "XDP: to the backend's address and port");
		backend_put(id_of(RANGE, v, 0), v, f->backend[0], RANGE, 20000,
			    RELAY_BACKEND_DOWN);
		cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_, "moving is TC's");
		cr_assert_arr_eq(out.buf, in.buf, in.len, "untouched");
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_XDP_FWD), 2);
}

/* XDP relays a flow to its recorded backend and port while no commit came
 * since they were chosen; after one, the flow's next packet is TC's, which
 * chooses again (a new port there) and records it, and XDP takes the next
 * ones there. */
Test(front_service_xdp, a_commit_sends_the_next_packet_to_tc, .init = with_xdp)
{
	translated_up();
	for (int v = 0; v < 2; v++) {
		const struct fam *f = &fams[v];
		struct fixture in, out, expected;

		client_to(v, IPPROTO_UDP, f->client, 42800, 27000, f->backend[1], 37000);
		frame(&in, true, IPPROTO_UDP, f->client, f->public, 42800, 27000, FIX_ACK, 0);
		cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_, "IPv%d", v ? 6 : 4);
		backend_put(id_of(GAME, v, 1), v, f->backend[1], GAME, 38000, RELAY_BACKEND_UP);
		commit();
		cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_, "after a commit: TC's");
		cr_assert_arr_eq(out.buf, in.buf, in.len, "untouched");
		client_to(v, IPPROTO_UDP, f->client, 42800, 27000, f->backend[1], 38000);
		cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_);
		out.l3_off = 0;
		frame(&expected, false, IPPROTO_UDP, f->client, f->backend[1], 42800, 38000,
		      FIX_ACK, 63);
		assert_frame_eq(&out, &expected, "XDP: to the flow's new port");
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_XDP_FWD), 4);
}

/* No backend up: XDP relays a drained backend's flow and leaves new flows
 * and flows to move to TC, which refuses the new ones and drops the others. */
Test(front_service_xdp, refusals_are_tcs, .init = with_xdp)
{
	web_up(RELAY_HASH_5TUPLE);
	for (int v = 0; v < 2; v++) {
		__u16 id = id_of(WEB, v, 0);

		row_put(WEB, v, &id, 1);
		client_to(v, IPPROTO_TCP, fams[v].client, 43500, 80, fams[v].backend[0], 80);
	}
	none_up(RELAY_BACKEND_DRAINED);
	for (int v = 0; v < 2; v++) {
		const char *c = fams[v].client;
		struct fixture in, out, expected;

		/* none_up committed: the flow's next packet is TC's. */
		client_to(v, IPPROTO_TCP, fams[v].client, 43500, 80, fams[v].backend[0], 80);
		segment(&in, v, c, 43500, 80, FIX_ACK, 0, 0);
		cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_REDIRECT_, "a drained one's flow");
		segment(&in, v, c, 43501, 80, FIX_SYN, 0, 0);
		cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_, "a SYN is TC's");
		rst_frame(&expected, v, c, 43501, 80, FIX_RST | FIX_ACK, 0, 0x01000000 + 1);
		assert_refused(&in, &expected, "TC refuses it");
		backend_put(id_of(WEB, v, 0), v, fams[v].backend[0], WEB, 0, RELAY_BACKEND_DOWN);
		segment(&in, v, c, 43500, 80, FIX_ACK, 7, 0);
		cr_assert_eq(run_tc(xdp_fd, &in, &out, NULL), XDP_PASS_, "a flow to move is TC's");
		cr_assert_eq(run_tc(in_fd, &in, &out, NULL), TC_ACT_SHOT,
			     "TC drops it: no backend up");
	}
	cr_assert_eq(counter(stats_fd, RELAY_C_REFUSED), 2);
	cr_assert_eq(counter(stats_fd, RELAY_C_DROP_NO_LIVE_BACKEND), 2);
}

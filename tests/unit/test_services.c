// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --service and --backend (user/services.c): what is read, what is refused
 * and why, and the plan of the tables: indices and ids kept across
 * attaches, ports, rows per family, translated reply ports. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "services.h"

static struct relay_opts o;
static char err[256];

/* o from --service and --backend values (NULL-terminated lists), without
 * the checks. */
static void opts(const char *const *services, const char *const *backends)
{
	opts_defaults(&o);
	for (; services && *services; services++) {
		cr_assert_eq(svc_parse_service(*services, &o.services[o.n_services], err,
					       sizeof(err)), 0, "%s: %s", *services, err);
		o.n_services++;
	}
	for (; backends && *backends; backends++) {
		cr_assert_eq(svc_parse_backend(*backends, &o.backends[o.n_backends], err,
					       sizeof(err)), 0, "%s: %s", *backends, err);
		o.n_backends++;
	}
}

/* svc_check must refuse o, with every piece of want in the reason. */
static void refused(const char *want1, const char *want2)
{
	err[0] = '\0';
	cr_assert_eq(svc_check(&o, err, sizeof(err)), -1, "accepted, wanted '%s'", want1);
	cr_assert(strstr(err, want1), "'%s' lacks '%s'", err, want1);
	cr_assert(!want2 || strstr(err, want2), "'%s' lacks '%s'", err, want2);
}

Test(service_opt, reads_ranges_and_hash)
{
	struct relay_svc_opt s;

	cr_assert_eq(svc_parse_service("web=tcp:80,tcp:443,hash=src", &s, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_str_eq(s.name, "web");
	cr_assert_eq(s.n_ranges, 2);
	cr_assert_eq(s.ranges[0].proto, IPPROTO_TCP);
	cr_assert_eq(s.ranges[1].first, 443);
	cr_assert_eq(s.hash, RELAY_HASH_SRC);
	cr_assert_eq(svc_parse_service("game_2=udp:27000-27100", &s, err, sizeof(err)), 0);
	cr_assert_eq(s.ranges[0].proto, IPPROTO_UDP);
	cr_assert_eq(s.ranges[0].first, 27000);
	cr_assert_eq(s.ranges[0].last, 27100);
	cr_assert_eq(s.hash, RELAY_HASH_5TUPLE);
}

Test(service_opt, refuses_bad_input)
{
	static const char *const bad[] = {
		"web", "=tcp:80", "Web=tcp:80", "default=tcp:80", "a234567890123456=tcp:80",
		"web=", "web=hash=src", "web=tcp", "web=gre", "web=icmp", "web=tcp:0",
		"web=tcp:80,hash=md5", "web=tcp:90-80", "we b=tcp:80", "web=sctp:80",
	};
	struct relay_svc_opt s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(svc_parse_service(bad[i], &s, err, sizeof(err)), -1, "%s", bad[i]);
	cr_assert_eq(svc_parse_service("a23456789012345=tcp:80", &s, err, sizeof(err)), 0,
		     "15 characters are a name");
}

Test(backend_opt, reads_every_form)
{
	struct relay_backend_opt b;
	char buf[96];

	cr_assert_eq(svc_parse_backend("10.22.22.1", &b, err, sizeof(err)), 0);
	cr_assert_str_eq(b.service, "");
	cr_assert_eq(b.addr.family, AF_INET);
	cr_assert_eq(b.addr.addr.v4, inet_addr("10.22.22.1"));
	cr_assert_eq(b.port, 0);
	cr_assert_eq(b.weight, 1);
	cr_assert_not(b.backup);

	cr_assert_eq(svc_parse_backend("web=10.22.22.1:8080,weight=2,backup", &b, err,
				       sizeof(err)), 0);
	cr_assert_str_eq(b.service, "web");
	cr_assert_eq(b.port, 8080);
	cr_assert_eq(b.weight, 2);
	cr_assert(b.backup);
	cr_assert_str_eq(svc_backend_str(&b, buf, sizeof(buf)), "web=10.22.22.1:8080");

	cr_assert_eq(svc_parse_backend("web=[2001:db8:22::2]:8080,weight=0", &b, err,
				       sizeof(err)), 0);
	cr_assert_eq(b.addr.family, AF_INET6);
	cr_assert_eq(b.port, 8080);
	cr_assert_eq(b.weight, 0);
	cr_assert_str_eq(svc_backend_str(&b, buf, sizeof(buf)), "web=[2001:db8:22::2]:8080");

	/* Without brackets every colon is the address's. */
	cr_assert_eq(svc_parse_backend("2001:db8:22::1", &b, err, sizeof(err)), 0);
	cr_assert_eq(b.addr.family, AF_INET6);
	cr_assert_eq(b.port, 0);
	cr_assert_eq(svc_parse_backend("[2001:db8:22::1]", &b, err, sizeof(err)), 0);
	cr_assert_str_eq(svc_backend_str(&b, buf, sizeof(buf)), "2001:db8:22::1");
}

Test(backend_opt, refuses_bad_input)
{
	static const char *const bad[] = {
		"", "web=", "::", "10.22.22.1:0", "10.22.22.1:65536", "10.22.22.1:http",
		"[10.22.22.1]:80", "[2001:db8::1", "[2001:db8::1]x8080", "10.22.22.1,weight=257",
		"10.22.22.1,weight=-1", "10.22.22.1,backup=1", "10.22.22.1,foo", "Web=10.22.22.1",
		"default=10.22.22.1", "10.22.22.300", "2001:db8::1:80:",
	};
	struct relay_backend_opt b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(svc_parse_backend(bad[i], &b, err, sizeof(err)), -1, "%s", bad[i]);
}

Test(service_check, accepts_the_documented_example)
{
	opts((const char *[]){ "web=tcp:80,tcp:443", "game=udp:27000-27100,hash=src", NULL },
	     (const char *[]){ "web=10.22.22.1", "web=10.22.22.2,weight=2",
			       "game=10.22.22.1:37000", "10.22.22.1", "2001:db8:22::1",
			       "[2001:db8:22::2]:8080,backup", NULL });
	/* The last one is the default service's, with a port: refused below;
	 * without it the example holds. */
	o.n_backends--;
	cr_assert_eq(svc_check(&o, err, sizeof(err)), 0, "%s", err);
}

Test(service_check, overlapping_services_name_both)
{
	opts((const char *[]){ "web=tcp:80,tcp:443", "api=udp:443,tcp:400-500", NULL }, NULL);
	refused("--service web and --service api both claim tcp:443", NULL);
	/* One port in both protocols is no overlap. */
	opts((const char *[]){ "web=tcp:443", "quic=udp:443", NULL }, NULL);
	cr_assert_eq(svc_check(&o, err, sizeof(err)), 0, "%s", err);
}

Test(service_check, backend_of_an_unknown_service)
{
	opts((const char *[]){ "web=tcp:80", NULL }, (const char *[]){ "wbe=10.22.22.1", NULL });
	refused("--backend wbe=10.22.22.1: no --service wbe", NULL);
}

Test(service_check, translation_needs_one_range)
{
	opts((const char *[]){ "web=tcp:80,tcp:443", NULL },
	     (const char *[]){ "web=10.22.22.1:8080", NULL });
	refused("--backend web=10.22.22.1:8080", "--service web has several ranges");
	opts(NULL, (const char *[]){ "10.22.22.1:8080", NULL });
	refused("--backend 10.22.22.1:8080: a backend of the default service", NULL);
	opts((const char *[]){ "web=tcp:1000-2000", NULL },
	     (const char *[]){ "web=10.22.22.1:64535", NULL });
	cr_assert_eq(svc_check(&o, err, sizeof(err)), 0, "ends at 65535 exactly: %s", err);
	opts((const char *[]){ "web=tcp:1000-2000", NULL },
	     (const char *[]){ "web=10.22.22.1:64536", NULL });
	refused("end past 65535", "--service web");
}

Test(service_check, two_translations_onto_one_backend_port)
{
	opts((const char *[]){ "web=tcp:80", "alt=tcp:8000-8010", NULL },
	     (const char *[]){ "web=10.22.22.1:8005", "alt=10.22.22.1:8000", NULL });
	refused("--backend alt=10.22.22.1:8000 and --backend web=10.22.22.1:8005", "tcp:8005");
	/* The same port of another address, or of another protocol, is fine. */
	opts((const char *[]){ "web=tcp:80", "alt=tcp:8000-8010", "dns=udp:53", NULL },
	     (const char *[]){ "web=10.22.22.1:8005", "alt=10.22.22.2:8000",
			       "dns=10.22.22.1:8005", "[2001:db8:22::1]:8005", NULL });
	o.n_backends--; /* (the default service's, refused for its port) */
	cr_assert_eq(svc_check(&o, err, sizeof(err)), 0, "%s", err);
	/* Two backends of one service on one address, overlapping ranges. */
	opts((const char *[]){ "alt=tcp:8000-8010", NULL },
	     (const char *[]){ "alt=10.22.22.1:9000", "alt=10.22.22.1:9010", NULL });
	refused("both translate onto its tcp:9010", NULL);
}

Test(service_check, duplicate_backend)
{
	opts((const char *[]){ "web=tcp:80", NULL },
	     (const char *[]){ "web=10.22.22.1", "10.22.22.1", "web=10.22.22.1,weight=3", NULL });
	refused("--backend web=10.22.22.1 given twice", NULL);
	opts(NULL, (const char *[]){ "2001:db8:22::1", "[2001:db8:22:0::1]", NULL });
	refused("--backend 2001:db8:22::1 given twice", NULL);
}

Test(service_check, limits)
{
	char s[64];

	opts(NULL, NULL);
	for (int i = 0; i < RELAY_MAX_SERVICE_BACKENDS + 1; i++) {
		snprintf(s, sizeof(s), "10.22.22.%d", i + 1);
		cr_assert_eq(svc_parse_backend(s, &o.backends[o.n_backends++], err, sizeof(err)), 0);
		if (i == RELAY_MAX_SERVICE_BACKENDS - 1)
			cr_assert_eq(svc_check(&o, err, sizeof(err)), 0, "32 backends: %s", err);
	}
	refused("--service default has more than 32 backends", NULL);
}

/* --exclude comes first: a service entirely excluded is a mistake. */
Test(service_check, exclude_comes_first)
{
	opts((const char *[]){ "ssh=tcp:22", NULL }, (const char *[]){ "ssh=10.22.22.1", NULL });
	refused("every port of --service ssh is in --exclude", NULL);
	opts((const char *[]){ "ssh=tcp:20-22", NULL }, (const char *[]){ "ssh=10.22.22.1", NULL });
	cr_assert_eq(svc_check(&o, err, sizeof(err)), 0, "%s", err);
	opts((const char *[]){ "ssh=tcp:22", NULL }, (const char *[]){ "ssh=10.22.22.1", NULL });
	o.n_exclude = 0;
	cr_assert_eq(svc_check(&o, err, sizeof(err)), 0, "%s", err);
}

/* The option table: repeatable on the command line and in the config file
 * (the command line's list replaces the file's), 64 services at most, the
 * checks run for attach. */
Test(service_check, through_the_options)
{
	char path[] = "/tmp/relaybpf-test-svc-XXXXXX";
	const char *text = "role = front\ndev = f0\nservice = web=tcp:80,tcp:443\n"
			   "service = game=udp:27000-27100,hash=src\nbackend = web=10.22.22.1\n"
			   "backend = game=10.22.22.2:37000\nbackend = 10.22.22.3\n";
	int fd = mkstemp(path);
	const char *args[] = { "attach", "-c", path, NULL };
	const char *over[] = { "attach", "-c", path, "--backend", "web=10.22.22.9", NULL };
	const char *unknown[] = { "attach", "-c", path, "--backend", "api=10.22.22.9", NULL };
	/* 5 words, 65 services of 2, a backend of 2 and the NULL getopt wants. */
	static const char *many[5 + 2 * (RELAY_MAX_SERVICES + 1) + 2 + 1];
	static char names[RELAY_MAX_SERVICES + 1][32];
	int n = 0;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	opts_defaults(&o);
	cr_assert_eq(opts_parse(CMD_ATTACH, 3, (char **)args, &o), 0);
	cr_assert_eq(o.n_services, 2);
	cr_assert_eq(o.services[1].hash, RELAY_HASH_SRC);
	cr_assert_eq(o.n_backends, 3);
	cr_assert_eq(o.backends[1].port, 37000);
	cr_assert_str_eq(o.backends[2].service, "");
	cr_assert_not(opts_has_family(&o, AF_INET6));
	opts_defaults(&o);
	cr_assert_eq(opts_parse(CMD_ATTACH, 5, (char **)over, &o), 0);
	cr_assert_eq(o.n_backends, 1, "the command line's backends replace the file's");
	cr_assert_eq(o.n_services, 2, "the file's services stay");
	opts_defaults(&o);
	cr_assert_eq(opts_parse(CMD_ATTACH, 5, (char **)unknown, &o), -1);
	unlink(path);

	many[n++] = "attach";
	many[n++] = "-r";
	many[n++] = "front";
	many[n++] = "-d";
	many[n++] = "f0";
	for (int i = 0; i <= RELAY_MAX_SERVICES; i++) {
		snprintf(names[i], sizeof(names[i]), "s%d=tcp:%d", i, 1000 + i);
		many[n++] = "--service";
		many[n++] = names[i];
	}
	many[n++] = "--backend";
	many[n++] = "10.22.22.1";
	opts_defaults(&o);
	cr_assert_eq(opts_parse(CMD_ATTACH, n, (char **)many, &o), -1, "65 services");
	opts_defaults(&o);
	cr_assert_eq(opts_parse(CMD_ATTACH, n - 4, (char **)many, &o), -1, "no backend");
	memmove(&many[n - 4], &many[n - 2], 2 * sizeof(*many));
	opts_defaults(&o);
	cr_assert_eq(opts_parse(CMD_ATTACH, n - 2, (char **)many, &o), 0, "64 services");
	cr_assert_eq(o.n_services, RELAY_MAX_SERVICES);
}

static struct svc_plan plan, plan2;
static struct svc_state st;

/* The state an attach of p leaves: what attach_front.c reads back. */
static void state_of(const struct svc_plan *p, struct svc_state *s)
{
	memset(s, 0, sizeof(*s));
	s->gen = p->gen;
	for (int i = 0; i < RELAY_SERVICE_SLOTS; i++)
		if (p->services[i].defined)
			memcpy(s->names[i], p->services[i].name, RELAY_SVC_NAME_LEN);
	memcpy(s->backends, p->backends, sizeof(s->backends));
}

/* The id of the backend at addr (port, service index) in p, 0 if none. */
static int id_of(const struct svc_plan *p, const char *addr, __u16 port, __u16 service)
{
	struct relay_ip_key k;

	cr_assert_eq(parse_ip_key(addr, &k), 0);
	for (int id = 1; id < RELAY_MAX_BACKENDS; id++) {
		const struct relay_backend *b = &p->backends[id];
		struct relay_ip_key bk = { .addr = b->addr, .family = b->family };

		if (b->family && ip_key_eq(&k, &bk) && b->port == port && b->service == service)
			return id;
	}
	return 0;
}

/* Slots of id in a row. */
static int slots(const struct relay_maglev_row *r, int id)
{
	int n = 0;

	for (int i = 0; i < RELAY_MAGLEV_SIZE; i++)
		n += r->backend[i] == id;
	return n;
}

Test(service_plan, every_table)
{
	int web1, web2, web6, game, def;

	opts((const char *[]){ "web=tcp:80,tcp:443", "game=udp:27000-27100,hash=src", NULL },
	     (const char *[]){ "web=10.22.22.1", "web=10.22.22.2,weight=3",
			       "web=2001:db8:22::1", "game=10.22.22.1:37000", "10.22.22.1",
			       NULL });
	memset(&st, 0, sizeof(st));
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(plan.gen, 1, "the generation not in use");

	/* Services: indices in order on a fresh front, 0 the default. */
	cr_assert_str_eq(plan.services[1].name, "web");
	cr_assert_str_eq(plan.services[2].name, "game");
	cr_assert(plan.services[0].defined && plan.services[1].defined && plan.services[2].defined);
	cr_assert_not(plan.services[3].defined);
	cr_assert_eq(plan.services[2].hash, RELAY_HASH_SRC);
	cr_assert_eq(plan.services[1].hash, RELAY_HASH_5TUPLE);
	cr_assert_eq(plan.services[2].first_port, 27000);
	cr_assert_eq(plan.services[1].first_port, 0, "several ranges translate nothing");

	/* Ports: each service's, per protocol; the rest is nobody's. */
	cr_assert_eq(plan.ports[RELAY_SVC_TCP].service[80], 1);
	cr_assert_eq(plan.ports[RELAY_SVC_TCP].service[443], 1);
	cr_assert_eq(plan.ports[RELAY_SVC_TCP].service[81], 0);
	cr_assert_eq(plan.ports[RELAY_SVC_UDP].service[443], 0);
	cr_assert_eq(plan.ports[RELAY_SVC_UDP].service[27000], 2);
	cr_assert_eq(plan.ports[RELAY_SVC_UDP].service[27100], 2);
	cr_assert_eq(plan.ports[RELAY_SVC_UDP].service[27101], 0);
	cr_assert_eq(plan.ports[RELAY_SVC_TCP].service[27050], 0);

	/* Backends: one id each, per (service, family, address, port). */
	web1 = id_of(&plan, "10.22.22.1", 0, 1);
	web2 = id_of(&plan, "10.22.22.2", 0, 1);
	web6 = id_of(&plan, "2001:db8:22::1", 0, 1);
	game = id_of(&plan, "10.22.22.1", 37000, 2);
	def = id_of(&plan, "10.22.22.1", 0, 0);
	cr_assert(web1 && web2 && web6 && game && def);
	cr_assert(web1 != def && web1 != game, "one address, three backends");
	cr_assert_eq(plan.backends[web2].weight, 3);
	cr_assert_eq(plan.backends[web6].family, AF_INET6);

	/* Rows: per family, only the service's backends, in weight shares. */
	cr_assert_eq(plan.services[1].n_up[0], 2);
	cr_assert_eq(plan.services[1].n_up[1], 1);
	cr_assert_eq(plan.services[2].n_up[1], 0, "game has no IPv6 backend: not relayed");
	cr_assert_eq(plan.services[0].n_up[0], 1);
	cr_assert_eq(slots(&plan.rows[1][0], web1) + slots(&plan.rows[1][0], web2),
		     RELAY_MAGLEV_SIZE);
	cr_assert_geq(slots(&plan.rows[1][0], web2), RELAY_MAGLEV_SIZE * 3 / 4 - 2);
	cr_assert_eq(slots(&plan.rows[1][1], web6), RELAY_MAGLEV_SIZE);
	cr_assert_eq(slots(&plan.rows[2][0], game), RELAY_MAGLEV_SIZE);
	cr_assert_eq(slots(&plan.rows[0][0], def), RELAY_MAGLEV_SIZE);
	cr_assert_eq(slots(&plan.rows[2][1], 0), RELAY_MAGLEV_SIZE);

	/* Reply ports: the translated ones only, back to the service's. */
	cr_assert_eq(plan.n_rev, 101);
	for (int i = 0; i < plan.n_rev; i++) {
		const struct svc_rev_port *e = &plan.rev[i];

		cr_assert_eq(e->key.family, AF_INET);
		cr_assert_eq(e->key.proto, IPPROTO_UDP);
		cr_assert_eq(e->key.addr.v4, inet_addr("10.22.22.1"));
		cr_assert_eq(ntohs(e->key.port) - 37000, e->service_port - 27000);
		cr_assert_eq(relay_backend_port(&plan.backends[game], &plan.services[2],
						e->service_port),
			     ntohs(e->key.port), "the datapath's translation agrees");
	}
}

/* A second attach: names keep their indices, backends that stay keep
 * their ids, new ones take ids nobody holds (removed ones are freed only
 * after the flip), the generation flips back. */
Test(service_plan, indices_and_ids_are_stable)
{
	int web1, web2, api, game, web3;

	opts((const char *[]){ "web=tcp:80", "api=tcp:8080", "game=udp:27000", NULL },
	     (const char *[]){ "web=10.22.22.1", "web=10.22.22.2", "api=10.22.22.5",
			       "game=10.22.22.1", NULL });
	memset(&st, 0, sizeof(st));
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), 0, "%s", err);
	web1 = id_of(&plan, "10.22.22.1", 0, 1);
	web2 = id_of(&plan, "10.22.22.2", 0, 1);
	api = id_of(&plan, "10.22.22.5", 0, 2);
	game = id_of(&plan, "10.22.22.1", 0, 3);

	/* api removed, a new service first, game then web in another order,
	 * web2 removed, web3 added, web1 drained. */
	opts((const char *[]){ "new=tcp:9000", "game=udp:27000", "web=tcp:80", NULL },
	     (const char *[]){ "web=10.22.22.3", "game=10.22.22.1", "web=10.22.22.1,weight=0",
			       "new=10.22.22.7", NULL });
	state_of(&plan, &st);
	cr_assert_eq(svc_plan(&o, &st, &plan2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(plan2.gen, 0);
	cr_assert_str_eq(plan2.services[1].name, "web");
	cr_assert_str_eq(plan2.services[3].name, "game");
	cr_assert_str_eq(plan2.services[4].name, "new", "api's index 2 is taken last");
	cr_assert_not(plan2.services[2].defined);
	cr_assert_eq(plan2.ports[RELAY_SVC_TCP].service[8080], 0);
	cr_assert_eq(plan2.ports[RELAY_SVC_TCP].service[9000], 4);
	cr_assert_eq(id_of(&plan2, "10.22.22.1", 0, 1), web1);
	cr_assert_eq(id_of(&plan2, "10.22.22.1", 0, 3), game);
	cr_assert_eq(plan2.backends[web1].state, RELAY_BACKEND_DRAINED);
	cr_assert_eq(plan2.backends[game].state, RELAY_BACKEND_UP);
	cr_assert_eq(plan2.backends[web2].family, 0, "removed: freed after the flip");
	cr_assert_eq(plan2.backends[api].family, 0);
	web3 = id_of(&plan2, "10.22.22.3", 0, 1);
	cr_assert(web3 && web3 != web2 && web3 != api, "a new id, not one still in use");
	/* The drained one keeps its flows but gets no new one. */
	cr_assert_eq(plan2.services[1].n_up[0], 1);
	cr_assert_eq(slots(&plan2.rows[1][0], web3), RELAY_MAGLEV_SIZE);

	/* Once more with the same options: nothing changes but the generation. */
	state_of(&plan2, &st);
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), 0, "%s", err);
	cr_assert_arr_eq(plan.backends, plan2.backends, sizeof(plan.backends));
	cr_assert_arr_eq(plan.services, plan2.services, sizeof(plan.services));
	cr_assert_arr_eq(plan.rows, plan2.rows, sizeof(plan.rows));
	cr_assert_eq(plan.gen, 1);
}

/* The default service relays only with a backend; backups only while no
 * primary has a weight. */
Test(service_plan, default_service_and_backups)
{
	int b1, b2;

	opts((const char *[]){ "web=tcp:80", NULL },
	     (const char *[]){ "web=10.22.22.1", "web=10.22.22.2,backup", NULL });
	memset(&st, 0, sizeof(st));
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(plan.services[0].defined, "no default backend: the host's");
	b1 = id_of(&plan, "10.22.22.1", 0, 1);
	b2 = id_of(&plan, "10.22.22.2", 0, 1);
	cr_assert_eq(slots(&plan.rows[1][0], b1), RELAY_MAGLEV_SIZE);
	cr_assert(plan.backends[b2].backup);

	opts((const char *[]){ "web=tcp:80", NULL },
	     (const char *[]){ "web=10.22.22.1,weight=0", "web=10.22.22.2,backup", NULL });
	state_of(&plan, &st);
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(slots(&plan.rows[1][0], b2), RELAY_MAGLEV_SIZE, "the backup steps in");
}

/* Limits of the maps: ids (removed ones held until the flip) and reply
 * ports. */
Test(service_plan, limits)
{
	char s[64];

	memset(&st, 0, sizeof(st));
	for (int id = 1; id < RELAY_MAX_BACKENDS - 1; id++)
		st.backends[id] = (struct relay_backend){ .family = AF_INET6, .service = 5 };
	opts(NULL, (const char *[]){ "10.22.22.1", NULL });
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(id_of(&plan, "10.22.22.1", 0, 0), RELAY_MAX_BACKENDS - 1);
	opts(NULL, (const char *[]){ "10.22.22.1", "10.22.22.2", NULL });
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), -1);
	cr_assert(strstr(err, "more than 2047 backends"), "%s", err);

	memset(&st, 0, sizeof(st));
	opts((const char *[]){ "big=udp:1-32768", NULL }, NULL);
	for (int i = 0; i < 3; i++) {
		snprintf(s, sizeof(s), "big=10.22.22.%d:20000", i + 1);
		cr_assert_eq(svc_parse_backend(s, &o.backends[o.n_backends++], err, sizeof(err)), 0);
		cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), i < 2 ? 0 : -1, "%d", i);
	}
	cr_assert(strstr(err, "more than 65536 translated"), "%s", err);
}

/* The maps as the programs define them (bpf/lib/front_maps.h). */
static void maps_create(int fds[SVC_MAPS])
{
	LIBBPF_OPTS(bpf_map_create_opts, noprealloc, .map_flags = BPF_F_NO_PREALLOC);

	fds[SVC_PORTS] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_ports", 4,
					sizeof(struct relay_port_services), 2 * RELAY_SVC_PROTOS, NULL);
	fds[SVC_SERVICES] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_services", 4,
					   sizeof(struct relay_service), 2 * RELAY_SERVICE_SLOTS,
					   NULL);
	fds[SVC_MAGLEV] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_maglev", 4,
					 sizeof(struct relay_maglev_row), RELAY_MAGLEV_ROWS, NULL);
	fds[SVC_BACKENDS] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_backends", 4,
					   sizeof(struct relay_backend), RELAY_MAX_BACKENDS, NULL);
	fds[SVC_REV] = bpf_map_create(BPF_MAP_TYPE_HASH, "t_rev", sizeof(struct relay_rev_port_key),
				      sizeof(__u16), RELAY_MAX_REV_PORTS, &noprealloc);
	fds[SVC_STATS] = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "t_bstats", 4,
					sizeof(struct relay_backend_stats), RELAY_MAX_BACKENDS, NULL);
	for (int i = 0; i < SVC_MAPS; i++)
		cr_assert_geq(fds[i], 0, "map %d: %s", i, strerror(errno));
}

static __u64 stat_new_flows(int fd, __u32 id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct relay_backend_stats v[ncpu];
	__u64 n = 0;

	cr_assert_eq(bpf_map_lookup_elem(fd, &id, v), 0);
	for (int c = 0; c < ncpu; c++)
		n += v[c].new_flows;
	return n;
}

static int rev_count(int fd)
{
	struct relay_rev_port_key k, *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(fd, prev, &k)) {
		n++;
		prev = &k;
	}
	return n;
}

/* Every commit's epoch is new to the flows: it moves on, and past 65535
 * skips 0 (a flow's "not recorded"). */
Test(service_maps, svc_epoch_never_comes_back_as_0)
{
	cr_assert_eq(svc_epoch_next(0), 1, "the first commit after a build without it");
	cr_assert_eq(svc_epoch_next(41), 42);
	cr_assert_eq(svc_epoch_next(65534), 65535);
	cr_assert_eq(svc_epoch_next(65535), 1);
}

/* Two attaches through the maps: the second reads back what the first
 * wrote, keeps its ids and their counters, zeroes a new id's, frees a
 * removed one's only in svc_release, and svc_rollback puts a failed one's
 * backends and reply ports back. */
Test(service_maps, apply_release_rollback)
{
	static struct svc_state st2;
	int fds[SVC_MAPS], ncpu = libbpf_num_possible_cpus(), a, b, c;
	struct relay_backend_stats stats[ncpu];
	struct relay_backend got;
	__u32 key;

	maps_create(fds);
	opts((const char *[]){ "web=tcp:80", "game=udp:27000-27009", NULL },
	     (const char *[]){ "web=10.22.22.1", "web=10.22.22.2", "game=10.22.22.1:37000", NULL });
	cr_assert_eq(svc_state_read(fds, 0, &st), 0);
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(svc_apply(fds, &st, &plan), 0);
	cr_assert_eq(svc_release(fds, &st, &plan), 0);
	a = id_of(&plan, "10.22.22.1", 0, 1);
	b = id_of(&plan, "10.22.22.2", 0, 1);
	cr_assert_eq(rev_count(fds[SVC_REV]), 10);

	/* Traffic counted on a and b. */
	memset(stats, 0, sizeof(stats));
	stats[0].new_flows = 7;
	cr_assert_eq(bpf_map_update_elem(fds[SVC_STATS], &(__u32){ a }, stats, BPF_ANY), 0);
	cr_assert_eq(bpf_map_update_elem(fds[SVC_STATS], &(__u32){ b }, stats, BPF_ANY), 0);

	/* The state read back is what was written, in generation 1. */
	cr_assert_eq(svc_state_read(fds, plan.gen, &st), 0);
	cr_assert_str_eq(st.names[1], "web");
	cr_assert_str_eq(st.names[2], "game");
	cr_assert_arr_eq(st.backends, plan.backends, sizeof(st.backends));
	cr_assert_eq(st.n_rev, 10);
	cr_assert_arr_eq(st.rev, plan.rev, 10 * sizeof(st.rev[0]));

	/* b removed, c added, a's weight changed, the translation moved to
	 * 38000. */
	opts((const char *[]){ "web=tcp:80", "game=udp:27000-27009", NULL },
	     (const char *[]){ "web=10.22.22.1,weight=2", "web=10.22.22.3", "game=10.22.22.1:38000", NULL });
	cr_assert_eq(svc_plan(&o, &st, &plan2, err, sizeof(err)), 0, "%s", err);
	c = id_of(&plan2, "10.22.22.3", 0, 1);
	cr_assert_eq(svc_apply(fds, &st, &plan2), 0);
	cr_assert_eq(stat_new_flows(fds[SVC_STATS], a), 7, "a kept id keeps its counters");
	cr_assert_eq(stat_new_flows(fds[SVC_STATS], c), 0);
	key = b;
	cr_assert_eq(bpf_map_lookup_elem(fds[SVC_BACKENDS], &key, &got), 0);
	cr_assert_eq(got.family, AF_INET, "b serves its flows until the flip");
	cr_assert_eq(rev_count(fds[SVC_REV]), 20, "old and new reply ports until the flip");

	/* The attach fails before its commit: everything as before. */
	svc_rollback(fds, &st, &plan2);
	cr_assert_eq(svc_state_read(fds, st.gen, &st2), 0);
	cr_assert_arr_eq(st2.backends, st.backends, sizeof(st.backends));
	cr_assert_eq(st2.n_rev, 10);
	cr_assert_arr_eq(st2.rev, st.rev, 10 * sizeof(st.rev[0]));

	/* Again, committed this time. */
	cr_assert_eq(svc_apply(fds, &st, &plan2), 0);
	cr_assert_eq(svc_release(fds, &st, &plan2), 0);
	cr_assert_eq(bpf_map_lookup_elem(fds[SVC_BACKENDS], &key, &got), 0);
	cr_assert_eq(got.family, 0, "b freed after the flip");
	cr_assert_eq(rev_count(fds[SVC_REV]), 10);
	cr_assert_eq(svc_state_read(fds, plan2.gen, &st2), 0);
	cr_assert_arr_eq(st2.backends, plan2.backends, sizeof(st2.backends));
	cr_assert_arr_eq(st2.rev, plan2.rev, 10 * sizeof(st2.rev[0]));
	/* A third attach: a new backend takes b's freed id, not its counters. */
	opts((const char *[]){ "web=tcp:80", "game=udp:27000-27009", NULL },
	     (const char *[]){ "web=10.22.22.1", "web=10.22.22.3", "game=10.22.22.1:38000",
			       "web=10.22.22.4", NULL });
	cr_assert_eq(svc_plan(&o, &st2, &plan, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(id_of(&plan, "10.22.22.4", 0, 1), b);
	cr_assert_eq(svc_apply(fds, &st2, &plan), 0);
	cr_assert_eq(stat_new_flows(fds[SVC_STATS], b), 0);
	cr_assert_eq(stat_new_flows(fds[SVC_STATS], a), 7);
	/* Generation 0 holds the new tables, 1 still the old ones. */
	key = RELAY_MAGLEV_KEY(0, 1, 0);
	cr_assert_eq(bpf_map_lookup_elem(fds[SVC_MAGLEV], &key, &plan.rows[0][0]), 0);
	cr_assert_arr_eq(&plan.rows[0][0], &plan2.rows[1][0], sizeof(plan.rows[0][0]));
	for (int i = 0; i < SVC_MAPS; i++)
		close(fds[i]);
}

/* p planned again from its own state, as services_live.c does, with the
 * hold of the backends spec names changed. */
static int hold(struct svc_plan *p, const char *spec, __u8 set, __u8 clear)
{
	struct relay_backend_opt bo;
	int n;

	state_of(p, &st);
	cr_assert_eq(svc_parse_backend(spec, &bo, err, sizeof(err)), 0, "%s", err);
	svc_replan(&st, p->services, p->ports, &plan2);
	n = svc_hold_set(&plan2, &bo, set, clear);
	svc_rows(&plan2);
	memcpy(p, &plan2, sizeof(*p));
	return n;
}

/* A backend down leaves its rows; the backups come in only once no primary
 * is up; n_backends stays every backend, n_up those in the rows. */
Test(service_hold, down_drained_and_backups)
{
	int a, b, c, gen;

	opts((const char *[]){ "web=tcp:80", NULL },
	     (const char *[]){ "web=10.22.22.1", "web=10.22.22.2", "web=10.22.22.3,backup",
			       "web=2001:db8:22::1", NULL });
	memset(&st, 0, sizeof(st));
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), 0, "%s", err);
	a = id_of(&plan, "10.22.22.1", 0, 1);
	b = id_of(&plan, "10.22.22.2", 0, 1);
	c = id_of(&plan, "10.22.22.3", 0, 1);
	cr_assert_eq(plan.services[1].n_up[0], 2);
	cr_assert_eq(slots(&plan.rows[1][0], c), 0);

	gen = plan.gen;
	cr_assert_eq(hold(&plan, "web=10.22.22.1", RELAY_HOLD_DOWN, 0), 1);
	cr_assert_eq(plan.gen, !gen, "the other generation");
	cr_assert_eq(plan.backends[a].state, RELAY_BACKEND_DOWN);
	cr_assert_eq(slots(&plan.rows[1][0], a), 0);
	cr_assert_eq(slots(&plan.rows[1][0], b), RELAY_MAGLEV_SIZE, "a's slots go to b");
	cr_assert_eq(plan.services[1].n_up[0], 1);
	cr_assert_eq(plan.services[1].n_backends[0], 3);
	cr_assert_eq(plan.services[1].n_up[1], 1, "the other family untouched");

	cr_assert_eq(hold(&plan, "web=10.22.22.2", 0, 0) + hold(&plan, "web=10.22.22.2",
		     RELAY_HOLD_DRAIN, 0), 2);
	cr_assert_eq(plan.backends[b].state, RELAY_BACKEND_DRAINED);
	cr_assert_eq(slots(&plan.rows[1][0], c), RELAY_MAGLEV_SIZE, "no primary up: the backup");
	cr_assert_eq(plan.services[1].n_up[0], 1);

	hold(&plan, "web=10.22.22.3", RELAY_HOLD_DOWN, 0);
	cr_assert_eq(plan.services[1].n_up[0], 0, "none up");
	cr_assert_eq(plan.services[1].n_backends[0], 3, "but three configured");
	cr_assert_eq(slots(&plan.rows[1][0], 0), RELAY_MAGLEV_SIZE);

	/* Down and drained: down wins (its flows move); up again: drained. */
	hold(&plan, "web=10.22.22.2", RELAY_HOLD_DOWN, 0);
	cr_assert_eq(plan.backends[b].state, RELAY_BACKEND_DOWN);
	hold(&plan, "web=10.22.22.2", 0, RELAY_HOLD_DOWN);
	cr_assert_eq(plan.backends[b].state, RELAY_BACKEND_DRAINED);
	hold(&plan, "web=10.22.22.1", 0, RELAY_HOLD_DOWN);
	cr_assert_eq(plan.backends[a].state, RELAY_BACKEND_UP);
	cr_assert_eq(slots(&plan.rows[1][0], a), RELAY_MAGLEV_SIZE, "a primary up: no backup");
	cr_assert_eq(slots(&plan.rows[1][0], c), 0);
}

/* Which backends a drain names: service, address, the port if given. */
Test(service_hold, matches_service_address_port)
{
	opts((const char *[]){ "web=tcp:80", "alt=tcp:81", NULL },
	     (const char *[]){ "web=10.22.22.1", "alt=10.22.22.1:8080", "alt=10.22.22.1:8081",
			       "10.22.22.1", NULL });
	memset(&st, 0, sizeof(st));
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(hold(&plan, "alt=10.22.22.1", RELAY_HOLD_DRAIN, 0), 2, "every port");
	cr_assert_eq(hold(&plan, "alt=10.22.22.1:8081", 0, RELAY_HOLD_DRAIN), 1);
	cr_assert_eq(plan.backends[id_of(&plan, "10.22.22.1", 8080, 2)].state,
		     RELAY_BACKEND_DRAINED);
	cr_assert_eq(plan.backends[id_of(&plan, "10.22.22.1", 8081, 2)].state, RELAY_BACKEND_UP);
	cr_assert_eq(hold(&plan, "10.22.22.1", RELAY_HOLD_DRAIN, 0), 1, "the default service's");
	cr_assert_eq(plan.backends[id_of(&plan, "10.22.22.1", 0, 0)].state, RELAY_BACKEND_DRAINED);
	cr_assert_eq(plan.backends[id_of(&plan, "10.22.22.1", 0, 1)].state, RELAY_BACKEND_UP);
	cr_assert_eq(hold(&plan, "web=10.22.22.9", RELAY_HOLD_DRAIN, 0), 0);
	cr_assert_eq(hold(&plan, "nope=10.22.22.1", RELAY_HOLD_DRAIN, 0), 0);
}

/* An attach again keeps a kept backend's holds; weight 0 and undrain still
 * leave it drained, a weight again with the drain ended brings it back. */
Test(service_hold, kept_by_attach_again)
{
	int a;

	opts((const char *[]){ "web=tcp:80", NULL },
	     (const char *[]){ "web=10.22.22.1", "web=10.22.22.2", NULL });
	memset(&st, 0, sizeof(st));
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), 0, "%s", err);
	a = id_of(&plan, "10.22.22.1", 0, 1);
	hold(&plan, "web=10.22.22.1", RELAY_HOLD_DRAIN | RELAY_HOLD_DOWN, 0);
	state_of(&plan, &st);
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(plan.backends[a].hold, RELAY_HOLD_DRAIN | RELAY_HOLD_DOWN);
	cr_assert_eq(plan.backends[a].state, RELAY_BACKEND_DOWN);
	cr_assert_eq(slots(&plan.rows[1][0], a), 0);
	hold(&plan, "web=10.22.22.1", 0, RELAY_HOLD_DOWN);
	opts((const char *[]){ "web=tcp:80", NULL },
	     (const char *[]){ "web=10.22.22.1,weight=0", "web=10.22.22.2", NULL });
	state_of(&plan, &st);
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), 0, "%s", err);
	hold(&plan, "web=10.22.22.1", 0, RELAY_HOLD_DRAIN);
	cr_assert_eq(plan.backends[a].state, RELAY_BACKEND_DRAINED, "weight 0 still");
	opts((const char *[]){ "web=tcp:80", NULL },
	     (const char *[]){ "web=10.22.22.1,weight=2", "web=10.22.22.2", NULL });
	state_of(&plan, &st);
	cr_assert_eq(svc_plan(&o, &st, &plan, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(plan.backends[a].state, RELAY_BACKEND_UP);
	cr_assert_gt(slots(&plan.rows[1][0], a), RELAY_MAGLEV_SIZE / 2);
}

/* Through the maps: a backend going down is written only after the flip
 * (svc_release), so no flow leaving it finds it again in the rows in use;
 * coming back up it is written before. */
Test(service_maps, down_written_after_the_flip)
{
	static struct svc_state st2;
	int fds[SVC_MAPS], a;
	struct relay_backend got;
	__u32 key;

	maps_create(fds);
	opts((const char *[]){ "web=tcp:80", NULL },
	     (const char *[]){ "web=10.22.22.1", "web=10.22.22.2", NULL });
	cr_assert_eq(svc_state_read(fds, 0, &st2), 0);
	cr_assert_eq(svc_plan(&o, &st2, &plan, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(svc_apply(fds, &st2, &plan), 0);
	cr_assert_eq(svc_release(fds, &st2, &plan), 0);
	a = id_of(&plan, "10.22.22.1", 0, 1);
	key = a;

	cr_assert_eq(svc_state_read(fds, plan.gen, &st2), 0);
	svc_replan(&st2, plan.services, plan.ports, &plan2);
	plan2.backends[a].hold |= RELAY_HOLD_DOWN;
	svc_rows(&plan2);
	cr_assert_eq(svc_apply(fds, &st2, &plan2), 0);
	cr_assert_eq(bpf_map_lookup_elem(fds[SVC_BACKENDS], &key, &got), 0);
	cr_assert_eq(got.state, RELAY_BACKEND_UP, "not before the flip");
	cr_assert_eq(svc_release(fds, &st2, &plan2), 0);
	cr_assert_eq(bpf_map_lookup_elem(fds[SVC_BACKENDS], &key, &got), 0);
	cr_assert_eq(got.state, RELAY_BACKEND_DOWN);
	cr_assert_eq(got.hold, RELAY_HOLD_DOWN, "the hold pinned with it");
	key = RELAY_SERVICE_KEY(plan2.gen, 1);
	cr_assert_eq(bpf_map_lookup_elem(fds[SVC_SERVICES], &key, &plan.services[0]), 0);
	cr_assert_eq(plan.services[0].n_up[0], 1);
	cr_assert_eq(plan.services[0].n_backends[0], 2);

	cr_assert_eq(svc_state_read(fds, plan2.gen, &st2), 0);
	svc_replan(&st2, plan2.services, plan2.ports, &plan);
	plan.backends[a].hold = 0;
	svc_rows(&plan);
	cr_assert_eq(svc_apply(fds, &st2, &plan), 0);
	key = a;
	cr_assert_eq(bpf_map_lookup_elem(fds[SVC_BACKENDS], &key, &got), 0);
	cr_assert_eq(got.state, RELAY_BACKEND_UP, "up before the flip");
	for (int i = 0; i < SVC_MAPS; i++)
		close(fds[i]);
}

/* health= of a service (its port: the service's first of the protocol)
 * and the default service's --health (its own port). */
Test(service_opt, reads_health)
{
	struct relay_svc_opt s;
	struct relay_health_opt h;

	cr_assert_eq(svc_parse_service("web=udp:53,tcp:80-90,tcp:443,health=tcp", &s, err,
				       sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.health.kind, HEALTH_TCP);
	cr_assert_eq(s.health.port, 80);
	cr_assert_eq(svc_parse_service("dns=tcp:53,udp:5353,health=udp:ping", &s, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(s.health.kind, HEALTH_UDP);
	cr_assert_eq(s.health.port, 5353);
	cr_assert_str_eq(s.health.payload, "ping");
	cr_assert_eq(svc_parse_service("p=udp:1,health=icmp", &s, err, sizeof(err)), 0);
	cr_assert_eq(s.health.kind, HEALTH_ICMP);
	cr_assert_eq(svc_parse_service("p=udp:1", &s, err, sizeof(err)), 0);
	cr_assert_eq(s.health.kind, HEALTH_NONE, "none by default");
	cr_assert_eq(svc_parse_service("p=udp:1,health=tcp", &s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "health=tcp needs a tcp port"), "%s", err);
	cr_assert_eq(svc_parse_service("p=tcp:1,health=udp", &s, err, sizeof(err)), -1);
	cr_assert_eq(svc_parse_service("p=tcp:1,health=tcp:80", &s, err, sizeof(err)), -1,
		     "a service's check takes the service's port");

	cr_assert_eq(svc_parse_health("tcp:8080", true, &h, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(h.kind, HEALTH_TCP);
	cr_assert_eq(h.port, 8080);
	cr_assert_eq(svc_parse_health("udp:53:a:b", true, &h, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(h.port, 53);
	cr_assert_str_eq(h.payload, "a:b");
	cr_assert_eq(svc_parse_health("none", true, &h, err, sizeof(err)), 0);
	cr_assert_eq(h.kind, HEALTH_NONE);
	cr_assert_eq(svc_parse_health("tcp", true, &h, err, sizeof(err)), -1, "--health needs a port");
	cr_assert_eq(svc_parse_health("tcp:0", true, &h, err, sizeof(err)), -1);
	cr_assert_eq(svc_parse_health("udp:53", true, &h, err, sizeof(err)), -1, "no payload");
	cr_assert_eq(svc_parse_health("http", true, &h, err, sizeof(err)), -1);
	cr_assert(strstr(err, "tcp:PORT, icmp, udp:PORT:PAYLOAD or none"), "%s", err);
}

/* A service's own health-interval=, health-fall=, health-rise= (0: the
 * daemon's), in any order around health=, checked like the options. */
Test(service_opt, reads_health_settings)
{
	struct relay_svc_opt s;
	char err[256];

	cr_assert_eq(svc_parse_service("web=tcp:80,health-interval=250ms,health=tcp,health-fall=5,"
				       "health-rise=1", &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.health.kind, HEALTH_TCP);
	cr_assert_eq(s.health.port, 80);
	cr_assert_eq(s.health.interval_ms, 250);
	cr_assert_eq(s.health.fall, 5);
	cr_assert_eq(s.health.rise, 1);
	cr_assert_eq(svc_parse_service("p=udp:1,health=icmp,health-interval=2s", &s, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(s.health.interval_ms, 2000);
	cr_assert_eq(s.health.fall, 0, "the daemon's --health-fall");
	cr_assert_eq(s.health.rise, 0, "the daemon's --health-rise");
	cr_assert_eq(svc_parse_service("p=udp:1,health=icmp", &s, err, sizeof(err)), 0);
	cr_assert_eq(s.health.interval_ms, 0, "the daemon's --health-interval");
	cr_assert_eq(svc_parse_service("p=udp:1,health-fall=3", &s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "need a check"), "%s", err);
	cr_assert_eq(svc_parse_service("p=udp:1,health=icmp,health-interval=50ms", &s, err,
				       sizeof(err)), -1);
	cr_assert(strstr(err, "100ms to 3600s"), "%s", err);
	cr_assert_eq(svc_parse_service("p=udp:1,health=icmp,health-rise=0", &s, err, sizeof(err)),
		     -1);
	cr_assert(strstr(err, "1-100 passed probes"), "%s", err);
	cr_assert_eq(svc_parse_service("p=udp:1,health=icmp,health-fall=101", &s, err, sizeof(err)),
		     -1);
	cr_assert(strstr(err, "1-100 failed probes"), "%s", err);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf status [--json]: what is attached in this network namespace. */
#include <arpa/inet.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "back.h"
#include "commands.h"
#include "front.h"
#include "health.h"
#include "inspect.h"
#include "json.h"
#include "netlink.h"
#include "pin.h"
#include "services.h"
#include "tc.h"
#include "version.h"

/* A device and relaybpf's TC filter on it, as bpftool and tc show them. */
static void print_hook(bool json, const char *key, __u32 ifindex)
{
	char name[IF_NAMESIZE] = "", prog[64];
	__u32 id = tc_ingress_prog_id(ifindex);

	if (!if_indextoname(ifindex, name))
		snprintf(name, sizeof(name), "(gone)");
	inspect_prog_name(id, prog, sizeof(prog));
	if (json)
		printf("\"%s\":{\"dev\":\"%s\",\"ifindex\":%u,\"prog_id\":%u,\"prog_name\":\"%s\"},",
		       key, name, ifindex, id, prog);
	else if (id)
		printf("  %-14s %s (ifindex %u), tc ingress prog id %u %s\n", key, name, ifindex,
		       id, prog);
	else
		printf("  %-14s %s (ifindex %u), tc ingress filter MISSING\n", key, name, ifindex);
}

/* Every tunnel device with relay_front_rev (the backends are behind them):
 * "tunnel" and "tunnel_type" are the first's, as before several. */
static void print_tunnels(bool json, const struct relay_front_config *cfg)
{
	__u32 t[RELAY_MAX_FRONT_TUNNELS];
	__u8 l2[RELAY_MAX_FRONT_TUNNELS];
	int n = front_cfg_tunnels(cfg, t, l2);

	if (json) {
		print_hook(json, "tunnel", cfg->tunnel_ifindex);
		printf("\"tunnel_type\":\"%s\",\"tunnels\":[", cfg->tunnel_l2 ? "L2" : "L3");
		for (int i = 0; i < n; i++) {
			char name[IF_NAMESIZE] = "", prog[64];
			__u32 id = tc_ingress_prog_id(t[i]);

			if (!if_indextoname(t[i], name))
				snprintf(name, sizeof(name), "(gone)");
			inspect_prog_name(id, prog, sizeof(prog));
			printf("%s{\"dev\":\"%s\",\"ifindex\":%u,\"type\":\"%s\",\"prog_id\":%u,"
			       "\"prog_name\":\"%s\"}", i ? "," : "", name, t[i], l2[i] ? "L2" : "L3",
			       id, prog);
		}
		printf("],");
		return;
	}
	for (int i = 0; i < n; i++) {
		print_hook(json, "tunnel dev", t[i]);
		printf("  %-14s %s\n", "tunnel type", l2[i] ? "L2 (Ethernet)" : "L3");
	}
}

static void print_ranges(bool json, const char *key, const struct relay_port_range *r, int n,
			 const char *none)
{
	if (json)
		printf("\"%s\":[", key);
	else
		printf("  %-14s %s", key, n ? "" : none);
	for (int i = 0; i < n; i++) {
		char buf[32];

		printf(json ? "%s\"%s\"" : "%s%s", i ? "," : "", port_range_str(&r[i], buf,
										     sizeof(buf)));
	}
	printf(json ? "]," : "\n");
}

static int front_public_addrs(const char *dir, char *out, size_t len, bool json)
{
	struct relay_ip_key key, *prev = NULL;
	int fd = pin_open(dir, "relay_front_pub"), n = 0;
	size_t used = 0;

	out[0] = '\0';
	if (fd < 0)
		return fd;
	while (bpf_map_get_next_key(fd, prev, &key) == 0 && used < len) {
		char a[IP_STR_LEN];

		used += snprintf(out + used, len - used, json ? "%s\"%s\"" : "%s%s", n++ ? "," : "",
				 ip_key_str(key.family, &key.addr, a));
		prev = &key;
	}
	close(fd);
	return n;
}

/* A backend's health as the daemon's checks last saw it: the check, its
 * state since when, the last probe's result and latency. */
static void status_health(bool json, const struct relay_backend_health *h)
{
	static const char *const kinds[] = { "none", "tcp", "icmp", "udp" };
	static const char *const last[] = { "none", "passed", "failed" };
	const char *kind = kinds[h->kind < 4 ? h->kind : 0], *res = last[h->last < 3 ? h->last : 0];
	char since[32] = "";
	time_t t = (time_t)h->since;
	struct tm tm;

	if (h->since && gmtime_r(&t, &tm))
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (json) {
		printf("\"health\":{\"check\":\"%s\",\"since\":%llu,\"last_probe\":\"%s\","
		       "\"last_probe_time\":%llu,\"latency_ms\":%.3f,\"transitions\":%llu,"
		       "\"result\":", kind, (unsigned long long)h->since, res,
		       (unsigned long long)h->probe_time, h->latency_us / 1000.0,
		       (unsigned long long)h->transitions);
		json_string(h->result);
		printf("}}");
		return;
	}
	if (!h->since) {
		printf("  %-14s no health record (no daemon has checked it)\n", "");
		return;
	}
	printf("  %-14s health %s since %s: last probe %s%s%s%s, %.1f ms\n", "", kind, since, res,
	       h->result[0] ? " (" : "", h->result, h->result[0] ? ")" : "", h->latency_us / 1000.0);
}

/* Each service in use: its ports, hash, and backends with their weight,
 * state and current flows (the datapath's own tables). */
static void status_services(bool json, const char *dir)
{
	struct svc_report *r = calloc(1, sizeof(*r));
	char ports[4096], addr[IP_STR_LEN + 8];
	int shown = 0;

	if (!r || svc_report_read(dir, r)) {
		free(r);
		if (json)
			printf("\"services\":[],");
		return;
	}
	if (json)
		printf("\"services\":[");
	for (int i = 0; i < RELAY_SERVICE_SLOTS; i++) {
		const struct relay_service *svc = &r->services[i];
		int n = 0;

		if (!svc->defined)
			continue;
		if (i)
			svc_report_ports(r, i, ports, sizeof(ports));
		else
			snprintf(ports, sizeof(ports), "every other port --ports relays");
		if (json) {
			printf("%s{\"name\":", shown ? "," : "");
			json_string(i ? svc->name : "default");
			printf(",\"index\":%d,\"ports\":", i);
			json_string(i ? ports : "");
			printf(",\"hash\":\"%s\",\"up\":{\"ipv4\":%u,\"ipv6\":%u},\"backends\":[",
			       svc->hash == RELAY_HASH_SRC ? "src" : "5tuple", svc->n_up[0],
			       svc->n_up[1]);
		} else {
			printf("  %-14s %s: %s%s (IPv4 %u up, IPv6 %u up)\n", "service",
			       i ? svc->name : "default", ports,
			       svc->hash == RELAY_HASH_SRC ? ", hash=src" : "", svc->n_up[0],
			       svc->n_up[1]);
		}
		for (int id = 1; id < RELAY_MAX_BACKENDS; id++) {
			const struct relay_backend *b = &r->backends[id];

			if (!b->family || b->service != i)
				continue;
			svc_addr_str(b->family, &b->addr, b->port, addr, sizeof(addr));
			if (json)
				printf("%s{\"id\":%d,\"address\":\"%s\",\"port\":%u,\"weight\":%u,"
				       "\"backup\":%s,\"state\":\"%s\",\"drained_by_operator\":%s,"
				       "\"flows\":%u,", n ? "," : "", id, addr, b->port, b->weight,
				       b->backup ? "true" : "false", svc_state_name(b->state),
				       b->hold & RELAY_HOLD_DRAIN ? "true" : "false", r->flows[id]);
			else
				printf("  %-14s %s weight %u%s, %s%s, %u flows\n", "  backend", addr,
				       b->weight, b->backup ? " backup" : "", svc_state_name(b->state),
				       b->hold & RELAY_HOLD_DRAIN ? " (backend drain)" : "", r->flows[id]);
			status_health(json, &r->health[id]);
			n++;
		}
		if (json)
			printf("]}");
		shown++;
	}
	if (json)
		printf("],");
	else if (!shown)
		printf("  %-14s none\n", "services");
	free(r);
}

static void status_front(bool json, const char *dir)
{
	struct relay_front_config cfg = { 0 };
	char pub[RELAY_MAX_PUBLIC_ADDRS * (IP_STR_LEN + 3)], b4[IP_STR_LEN], b6[IP_STR_LEN];
	union relay_ip backend[2];
	bool has[2], has4, has6;
	__u32 count, max;

	inspect_front_cfg(dir, &cfg);
	/* The default service's backend of each family; a family without one
	 * is not relayed. */
	inspect_default_backends(dir, backend, has);
	has4 = has[0];
	has6 = has[1];
	ip_key_str(AF_INET, &backend[0], b4);
	ip_key_str(AF_INET6, &backend[1], b6);
	inspect_ct_fill(dir, &count, &max, NULL);
	front_public_addrs(dir, pub, sizeof(pub), json);
	if (json) {
		printf("\"front\":{\"state\":\"%s\",", dir);
		print_hook(json, "public", cfg.public_ifindex);
		print_tunnels(json, &cfg);
		printf("\"backend\":\"%s\",\"backend6\":\"%s\",\"public_ips\":[%s],",
		       has4 ? b4 : "", has6 ? b6 : "", pub);
		status_services(json, dir);
		print_ranges(json, "exclude", cfg.exclude, cfg.n_exclude, "");
		print_ranges(json, "ports", cfg.ports, cfg.n_ports, "");
		printf("\"rate_limit\":{\"pps\":%u,\"burst\":%u},", cfg.rate_pps,
		       cfg.rate_burst);
		printf("\"drained\":%s,", health_drained(dir) ? "true" : "false");
		printf("\"mss\":%u,\"mss6\":%u,\"conntrack\":{\"entries\":%u,\"max\":%u}}",
		       cfg.mss[0], cfg.mss[1], count, max);
		return;
	}
	printf("front: state %s\n", dir);
	print_hook(json, "public dev", cfg.public_ifindex);
	print_tunnels(json, &cfg);
	printf("  %-14s %s\n", "public ips", pub);
	status_services(json, dir);
	print_ranges(json, "host keeps", cfg.exclude, cfg.n_exclude, "nothing");
	print_ranges(json, "relayed ports", cfg.ports, cfg.n_ports,
		     "tcp, udp, icmp echo, but the above");
	if (cfg.mss[0])
		printf("  %-14s %u (IPv6 %u)\n", "mss clamp", cfg.mss[0], cfg.mss[1]);
	else
		printf("  %-14s off\n", "mss clamp");
	if (cfg.rate_pps)
		printf("  %-14s %u packets/s per source, burst %u\n", "rate limit", cfg.rate_pps,
		       cfg.rate_burst);
	else
		printf("  %-14s off\n", "rate limit");
	printf("  %-14s %u of %u entries (%.1f%%)\n", "conntrack", count, max,
	       max ? 100.0 * count / max : 0.0);
	/* Not a problem: the operator's choice (the daemon withdraws --announce). */
	if (health_drained(dir))
		printf("  %-14s yes (relaybpf undrain ends it)\n", "drained");
}

static void status_back(bool json, const char *dir)
{
	struct relay_back_tunnel tuns[RELAY_MAX_TUNNELS];
	struct relay_back_state st = { .prev_tcp_fwmark_accept = -1, .prev_fwmark_reflect = -1,
				       .prev_fwmark_reflect6 = -1 };
	int n = back_tunnels_read(dir, tuns, RELAY_MAX_TUNNELS);

	back_state_read(dir, &st);
	if (json)
		printf("\"back\":{\"state\":\"%s\",\"rule_priority\":%u,"
		       "\"prev_tcp_fwmark_accept\":%d,\"prev_fwmark_reflect\":%d,"
		       "\"prev_ipv6_fwmark_reflect\":%d,\"tunnels\":[",
		       dir, RELAY_RULE_PRIORITY, st.prev_tcp_fwmark_accept, st.prev_fwmark_reflect,
		       st.prev_fwmark_reflect6);
	else
		printf("back: state %s\n"
		       "  %-14s net.ipv4.tcp_fwmark_accept=1 (was %d), net.ipv4.fwmark_reflect=1 "
		       "(was %d), net.ipv6.fwmark_reflect=1 (was %d; -1: untouched), "
		       "restored on detach\n",
		       dir, "sysctls", st.prev_tcp_fwmark_accept, st.prev_fwmark_reflect,
		       st.prev_fwmark_reflect6);
	for (int i = 0; i < n; i++) {
		const struct relay_back_tunnel *t = &tuns[i];

		if (json) {
			printf("%s{", i ? "," : "");
			print_hook(json, "tunnel", t->ifindex);
			printf("\"mark\":\"0x%x\",\"mask\":\"0x%x\",\"table\":%u", t->mark,
			       t->mask, t->table);
		} else {
			print_hook(json, "tunnel dev", t->ifindex);
		}
		for (int f = 0; f < 2; f++) {
			const struct relay_back_family *fam = &relay_back_families[f];
			int rule = nl_rule_exists(fam->af, t->mark, t->mask, t->table,
						  RELAY_RULE_PRIORITY);
			bool route = back_table_route_present(fam->af, t->table, t->ifindex);

			if (!(t->families & fam->bit))
				continue;
			if (json)
				printf(",\"%s\":%s,\"%s\":%s",
				       fam->af == AF_INET ? "rule_present" : "ipv6_rule_present",
				       rule == 1 ? "true" : "false",
				       fam->af == AF_INET ? "route_present" : "ipv6_route_present",
				       route ? "true" : "false");
			else
				printf("  %-14s %s fwmark 0x%x/0x%x lookup %u priority %u (%s)\n"
				       "  %-14s %s table %u: default route into the tunnel (%s)\n",
				       "rule", fam->name, t->mark, t->mask, t->table,
				       RELAY_RULE_PRIORITY, rule == 1 ? "present" : "MISSING",
				       "replies", fam->name, t->table, route ? "present" : "MISSING");
		}
		if (json)
			printf("}");
	}
	if (json)
		printf("]}");
}

/* A foreign filter (struct relay_foreign_filter) in words. */
static void foreign_str(const struct relay_foreign_filter *f, char *out, size_t len)
{
	if (f->before)
		snprintf(out, len, "%s %s: %s filter at pref %u runs before relaybpf's (pref %d) "
			 "and may take traffic relaybpf relays", f->dev, f->egress ? "egress" : "ingress",
			 f->kind, f->prio, RELAY_TC_PRIORITY);
	else
		snprintf(out, len, "%s %s: %s filter at pref %u, behind relaybpf's: it sees the "
			 "traffic relaybpf does not relay", f->dev, f->egress ? "egress" : "ingress",
			 f->kind, f->prio);
}

static void print_foreign_json(const char *const roles[2], const struct relay_problems p[2],
			       bool warnings)
{
	int shown = 0;

	for (int r = 0; r < 2; r++)
		for (int i = 0; i < p[r].n_foreign; i++) {
			const struct relay_foreign_filter *f = &p[r].foreign[i];

			if (warnings && !f->before)
				continue;
			printf(shown++ ? "," : "");
			if (warnings) {
				char line[RELAY_PROBLEM_LEN];

				foreign_str(f, line, sizeof(line));
				json_string(line);
				continue;
			}
			printf("{\"role\":\"%s\",\"dev\":\"%s\",\"hook\":\"%s\",\"pref\":%u,"
			       "\"kind\":", roles[r], f->dev, f->egress ? "egress" : "ingress", f->prio);
			json_string(f->kind);
			printf(",\"before_relaybpf\":%s}", f->before ? "true" : "false");
		}
}

/*
 * Exit status as systemctl status has it: 0 every piece in place, 1 the
 * role is degraded (each missing piece named), 3 nothing attached.
 */
int cmd_status(const struct relay_opts *o)
{
	static const char *const roles[] = { "front", "back" };
	static void (*const checks[])(const char *, struct relay_problems *) = { health_front,
										 health_back };
	static void (*const shows[])(bool, const char *) = { status_front, status_back };
	char dir[2][PATH_MAX];
	bool has[2];
	struct relay_problems p[2] = { 0 };
	int n_problems;

	if (inspect_reachable())
		return 1;
	for (int r = 0; r < 2; r++) {
		has[r] = inspect_dir(roles[r], dir[r], sizeof(dir[r]));
		if (has[r])
			checks[r](dir[r], &p[r]);
	}
	n_problems = p[0].n + p[1].n;
	if (o->json) {
		int shown = 0;

		printf("{");
		version_json();
		for (int r = 0; r < 2; r++)
			if (has[r]) {
				printf(",");
				shows[r](true, dir[r]);
			}
		printf(",\"healthy\":%s,\"problems\":[",
		       has[0] || has[1] ? (n_problems ? "false" : "true") : "false");
		for (int r = 0; r < 2; r++)
			for (int i = 0; i < p[r].n; i++) {
				char line[RELAY_PROBLEM_LEN + 8];

				snprintf(line, sizeof(line), "%s: %s", roles[r], p[r].msg[i]);
				printf(shown++ ? "," : "");
				json_string(line);
			}
		/* Other tools' filters on relaybpf's hooks: information, or a
		 * warning for those before it; neither makes it unhealthy. */
		printf("],\"foreign_filters\":[");
		print_foreign_json(roles, p, false);
		printf("],\"warnings\":[");
		print_foreign_json(roles, p, true);
		printf("]}\n");
	} else {
		for (int r = 0; r < 2; r++) {
			if (!has[r])
				continue;
			shows[r](false, dir[r]);
			for (int i = 0; i < p[r].n; i++)
				printf("  PROBLEM        %s\n", p[r].msg[i]);
			for (int i = 0; i < p[r].n_foreign; i++) {
				char line[RELAY_PROBLEM_LEN];

				foreign_str(&p[r].foreign[i], line, sizeof(line));
				printf("  %-14s %s\n", p[r].foreign[i].before ? "WARNING" : "other filter",
				       line);
			}
		}
		if (!has[0] && !has[1])
			printf("relaybpf: nothing attached in this network namespace\n");
		else if (n_problems)
			printf("relaybpf: degraded: %d problem%s; relaybpf daemon (the systemd unit "
			       "relaybpf@ROLE) repairs such drift by itself, attach again does "
			       "it once\n", n_problems, n_problems == 1 ? "" : "s");
	}
	if (!has[0] && !has[1])
		return 3;
	return n_problems ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf status [--json]: what is attached in this network namespace. */
#include <arpa/inet.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "back.h"
#include "commands.h"
#include "inspect.h"
#include "netlink.h"
#include "pin.h"
#include "tc.h"

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

static void status_front(bool json, const char *dir)
{
	struct relay_front_config cfg = { 0 };
	char pub[RELAY_MAX_PUBLIC_ADDRS * (IP_STR_LEN + 3)], b4[IP_STR_LEN], b6[IP_STR_LEN];
	bool has4, has6;
	__u32 count, max;

	inspect_front_cfg(dir, &cfg);
	/* One backend per family; a family without one is not relayed. */
	has4 = cfg.backend.v4 != 0;
	has6 = cfg.backend6.v6w[0] | cfg.backend6.v6w[1] | cfg.backend6.v6w[2] | cfg.backend6.v6w[3];
	ip_key_str(AF_INET, &cfg.backend, b4);
	ip_key_str(AF_INET6, &cfg.backend6, b6);
	inspect_ct_fill(dir, &count, &max);
	front_public_addrs(dir, pub, sizeof(pub), json);
	if (json) {
		printf("\"front\":{\"state\":\"%s\",", dir);
		print_hook(json, "public", cfg.public_ifindex);
		print_hook(json, "tunnel", cfg.tunnel_ifindex);
		printf("\"tunnel_type\":\"%s\",\"backend\":\"%s\",\"backend6\":\"%s\","
		       "\"public_ips\":[%s],", cfg.tunnel_l2 ? "L2" : "L3", has4 ? b4 : "",
		       has6 ? b6 : "", pub);
		print_ranges(json, "exclude", cfg.exclude, cfg.n_exclude, "");
		print_ranges(json, "ports", cfg.ports, cfg.n_ports, "");
		printf("\"rate_limit\":{\"pps\":%u,\"burst\":%u},", cfg.rate_pps,
		       cfg.rate_burst);
		printf("\"mss\":%u,\"mss6\":%u,\"conntrack\":{\"entries\":%u,\"max\":%u}}", cfg.mss,
		       cfg.mss6, count, max);
		return;
	}
	printf("front: state %s\n", dir);
	print_hook(json, "public dev", cfg.public_ifindex);
	print_hook(json, "tunnel dev", cfg.tunnel_ifindex);
	printf("  %-14s %s\n", "tunnel type", cfg.tunnel_l2 ? "L2 (Ethernet)" : "L3");
	printf("  %-14s %s%s%s\n", "backend", has4 ? b4 : "IPv4 not relayed",
	       ", ", has6 ? b6 : "IPv6 not relayed");
	printf("  %-14s %s\n", "public ips", pub);
	print_ranges(json, "host keeps", cfg.exclude, cfg.n_exclude, "nothing");
	print_ranges(json, "relayed ports", cfg.ports, cfg.n_ports,
		     "tcp, udp, icmp echo, but the above");
	if (cfg.mss)
		printf("  %-14s %u (IPv6 %u)\n", "mss clamp", cfg.mss, cfg.mss6);
	else
		printf("  %-14s off\n", "mss clamp");
	if (cfg.rate_pps)
		printf("  %-14s %u packets/s per source, burst %u\n", "rate limit", cfg.rate_pps,
		       cfg.rate_burst);
	else
		printf("  %-14s off\n", "rate limit");
	printf("  %-14s %u of %u entries (%.1f%%)\n", "conntrack", count, max,
	       max ? 100.0 * count / max : 0.0);
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

			if (!(t->families & fam->bit))
				continue;
			if (json)
				printf(",\"%s\":%s",
				       fam->af == AF_INET ? "rule_present" : "ipv6_rule_present",
				       rule == 1 ? "true" : "false");
			else
				printf("  %-14s %s fwmark 0x%x/0x%x lookup %u priority %u (%s)\n",
				       "rule", fam->name, t->mark, t->mask, t->table,
				       RELAY_RULE_PRIORITY, rule == 1 ? "present" : "MISSING");
		}
		if (json)
			printf("}");
		else
			printf("  %-14s table %u: default route into the tunnel\n", "replies",
			       t->table);
	}
	if (json)
		printf("]}");
}

int cmd_status(const struct relay_opts *o)
{
	char front[PATH_MAX], back[PATH_MAX];
	bool has_front, has_back;

	if (inspect_reachable())
		return 1;
	has_front = inspect_dir("front", front, sizeof(front));
	has_back = inspect_dir("back", back, sizeof(back));

	if (o->json) {
		printf("{");
		if (has_front)
			status_front(true, front);
		if (has_back) {
			printf(has_front ? "," : "");
			status_back(true, back);
		}
		printf("}\n");
		return 0;
	}
	if (has_front)
		status_front(false, front);
	if (has_back)
		status_back(false, back);
	if (!has_front && !has_back)
		printf("relaybpf: nothing attached in this network namespace\n");
	return 0;
}

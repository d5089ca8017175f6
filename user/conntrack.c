// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf conntrack [--json] [--proto P] [--addr IP]: the front's flows. */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "commands.h"
#include "inspect.h"
#include "pin.h"

static const char *proto_name(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	}
	return "other";
}

static const char *tcp_state_name(__u8 proto, __u8 state)
{
	static const char *const names[] = {
		[RELAY_TCP_NONE] = "NONE",
		[RELAY_TCP_SYN_SENT] = "SYN_SENT",
		[RELAY_TCP_ESTABLISHED] = "ESTABLISHED",
		[RELAY_TCP_CLOSING] = "CLOSING",
	};

	if (proto != IPPROTO_TCP)
		return "";
	return state < sizeof(names) / sizeof(names[0]) && names[state] ? names[state] : "?";
}

/* Both families share the map; the key's family says how to read it. */
static bool addr_is(__u8 family, const union relay_ip *a, const struct relay_ip_key *want)
{
	if (family != want->family)
		return false;
	return family == AF_INET6 ? !memcmp(a->v6, want->addr.v6, 16) : a->v4 == want->addr.v4;
}

static bool flow_matches(const struct relay_opts *o, const struct relay_ct_key *k,
			 const struct relay_ct_value *v, const union relay_ip *backend)
{
	/* --proto icmp: echo flows of both families. */
	if (o->ct_proto && k->proto != o->ct_proto &&
	    !(o->ct_proto == IPPROTO_ICMP && k->proto == IPPROTO_ICMPV6))
		return false;
	return !o->ct_addr.family || addr_is(k->family, &k->client, &o->ct_addr) ||
	       addr_is(k->family, &v->public_ip, &o->ct_addr) ||
	       addr_is(k->family, backend, &o->ct_addr);
}

static void print_flow(bool json, bool first, const struct relay_ct_key *k,
		       const struct relay_ct_value *v, const union relay_ip *backend, bool replied,
		       __u64 now)
{
	char client[IP_STR_LEN], pub[IP_STR_LEN], back[IP_STR_LEN];
	/* Ticks (RELAY_CT_TICK_SHIFT), wrap-safe; a stamp ahead of now (another
	 * CPU's clock read) is 0 s. */
	__u32 tick = relay_ct_tick(now);
	unsigned long long age = (__s32)(tick - v->created) > 0 ?
		relay_ct_ticks_s(tick - v->created) : 0;
	unsigned long long idle = (__s32)(tick - v->last_seen) > 0 ?
		relay_ct_ticks_s(tick - v->last_seen) : 0;

	ip_key_str(k->family, &k->client, client);
	ip_key_str(k->family, &v->public_ip, pub);
	ip_key_str(k->family, backend, back);
	if (json) {
		printf("%s{\"family\":\"%s\",\"proto\":\"%s\",\"state\":\"%s\",\"client\":\"%s\","
		       "\"client_port\":%u,\"public\":\"%s\",\"port\":%u,\"backend\":\"%s\","
		       "\"backend_id\":%u,\"backend_port\":%u,\"age_s\":%llu,\"idle_s\":%llu,\"packets\":[%llu,%llu],\"bytes\":[%llu,%llu],"
		       "\"replied\":%s}",
		       first ? "" : ",", k->family == AF_INET6 ? "ipv6" : "ipv4", proto_name(k->proto),
		       tcp_state_name(k->proto, v->tcp_state),
		       client, ntohs(k->client_port), pub, ntohs(k->service_port), back,
		       v->backend_id, ntohs(v->backend_port ? v->backend_port : k->service_port),
		       age, idle,
		       (unsigned long long)v->packets[RELAY_DIR_ORIG],
		       (unsigned long long)v->packets[RELAY_DIR_REPLY],
		       (unsigned long long)v->bytes[RELAY_DIR_ORIG],
		       (unsigned long long)v->bytes[RELAY_DIR_REPLY], replied ? "true" : "false");
		return;
	}
	/* Like conntrack -L: the original direction, [UNREPLIED], then the
	 * reply's (the addresses tell the family; JSON says it). */
	printf("%-4s %-11s src=%s dst=%s sport=%u dport=%u packets=%llu bytes=%llu %s"
	       "src=%s dst=%s sport=%u dport=%u packets=%llu bytes=%llu age=%llus idle=%llus\n",
	       proto_name(k->proto), tcp_state_name(k->proto, v->tcp_state), client, pub,
	       ntohs(k->client_port), ntohs(k->service_port),
	       (unsigned long long)v->packets[RELAY_DIR_ORIG],
	       (unsigned long long)v->bytes[RELAY_DIR_ORIG], replied ? "" : "[UNREPLIED] ", back,
	       client, ntohs(v->backend_port ? v->backend_port : k->service_port),
	       ntohs(k->client_port), (unsigned long long)v->packets[RELAY_DIR_REPLY],
	       (unsigned long long)v->bytes[RELAY_DIR_REPLY], age, idle);
}

/* The flows of one table (replied: relay_ct, else relay_ct_new), n the
 * number shown so far. */
static int list_table(const struct relay_opts *o, const char *dir, const char *name,
		      int backends_fd, bool replied, __u64 now, int *n)
{
	struct relay_ct_key key, *prev = NULL;
	struct relay_ct_value val;
	/* Room for the largest value a flow table had: a front attached by
	 * an earlier build is read converted. */
	struct relay_ct_value_v1 raw = { 0 };
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = pin_open(dir, name);

	if (fd < 0) {
		fprintf(stderr, "relaybpf: cannot open %s/%s\n", dir, name);
		return 1;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.key_size != sizeof(key) ||
	    info.value_size > sizeof(raw) || ct_value_of(&raw, info.value_size, &val)) {
		fprintf(stderr, "relaybpf: %s/%s has %u-byte values: attached by another version; "
				"attach again\n", dir, name, info.value_size);
		close(fd);
		return 1;
	}
	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		struct relay_backend b = { 0 };
		__u32 id;

		prev = &key;
		/* An LRU entry may go between the two calls: skip it. */
		if (bpf_map_lookup_elem(fd, &key, &raw))
			continue;
		ct_value_of(&raw, info.value_size, &val);
		/* The flow's backend (all-zero: none chosen yet). */
		id = val.backend_id;
		if (backends_fd < 0 || bpf_map_lookup_elem(backends_fd, &id, &b) ||
		    b.family != key.family)
			memset(&b.addr, 0, sizeof(b.addr));
		if (!flow_matches(o, &key, &val, &b.addr))
			continue;
		print_flow(o->json, *n == 0, &key, &val, &b.addr, replied, now);
		(*n)++;
	}
	close(fd);
	return 0;
}

int cmd_conntrack(const struct relay_opts *o)
{
	char dir[PATH_MAX];
	__u64 now = inspect_now_ns();
	int n = 0, backends_fd, err;

	if (inspect_reachable())
		return 1;
	if (!inspect_dir("front", dir, sizeof(dir))) {
		if (o->json)
			printf("[]\n");
		else
			fprintf(stderr, "relaybpf: no front attached in this network namespace\n");
		return 0;
	}
	backends_fd = pin_open(dir, "relay_backends");
	if (o->json)
		printf("[");
	/* Replied flows, then those waiting for a reply (bpf/lib/ct.h). */
	err = list_table(o, dir, "relay_ct", backends_fd, true, now, &n) ||
	      list_table(o, dir, "relay_ct_new", backends_fd, false, now, &n);
	if (backends_fd >= 0)
		close(backends_fd);
	if (o->json)
		printf("]\n");
	else if (!err)
		fprintf(stderr, "relaybpf: %d flow entries shown.\n", n);
	return err;
}

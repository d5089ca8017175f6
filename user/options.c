// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/libbpf.h>

#include "metrics.h"
#include "options.h"
#include "services.h"

void opts_defaults(struct relay_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->exclude[0] = (struct relay_port_range){ .proto = IPPROTO_TCP, .first = 22, .last = 22 };
	o->n_exclude = 1;
	o->mss = RELAY_MSS_AUTO;
	o->ct_max = RELAY_DEFAULT_CT_MAX;
	o->mark = 0x1;
	o->mask = 0xffffffff;
	o->table = 100;
	o->announce_table = RELAY_ANNOUNCE_TABLE;
	o->health_interval_ms = 1000;
	o->health_fall = 3;
	o->health_rise = 2;
}

/* Writes why into err (a parameter of every parser) and returns -1. */
#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)

int parse_u32(const char *s, unsigned long max, __u32 *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

/* The protocols a port list names; any other by number (proto:N). icmp is
 * the family's ICMP: ICMPv6 too. */
static const struct {
	const char *name;
	__u8 proto;
} proto_names[] = {
	{ "tcp", IPPROTO_TCP },   { "udp", IPPROTO_UDP }, { "icmp", IPPROTO_ICMP },
	{ "gre", IPPROTO_GRE },   { "esp", IPPROTO_ESP }, { "ah", IPPROTO_AH },
	{ "ipip", IPPROTO_IPIP }, { "ipv6", IPPROTO_IPV6 }, { "l2tp", 115 /* L2TPv3 over IP */ },
	{ "sctp", IPPROTO_SCTP },
};

static int proto_by_name(const char *s, size_t len, __u8 *proto)
{
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++) {
		if (strlen(proto_names[i].name) == len && !strncmp(s, proto_names[i].name, len)) {
			*proto = proto_names[i].proto;
			return 0;
		}
	}
	return -1;
}

static const char *port_proto_name(__u8 proto)
{
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
		if (proto_names[i].proto == proto)
			return proto_names[i].name;
	return NULL;
}

/* One item of a port list into r, or -1 with the reason in err. */
static int parse_port_item(char *item, struct relay_port_range *r, char *err, size_t errlen)
{
	char *colon = strchr(item, ':'), *dash;
	__u32 first, last, n;

	/* A whole protocol: every port, and ports 0 for one that has none. */
	*r = (struct relay_port_range){ .first = 0, .last = 65535 };
	if (!strncmp(item, "proto:", 6)) {
		/* 255 is IANA's reserved number: the datapath's "no protocol". */
		if (parse_u32(item + 6, RELAY_PROTO_NONE - 1, &n))
			return FAIL("'%s': expected proto:N, N 0-254", item);
		r->proto = n;
		return 0;
	}
	if (proto_by_name(item, colon ? (size_t)(colon - item) : strlen(item), &r->proto))
		return FAIL("'%s': expected tcp:PORT[-PORT], udp:PORT[-PORT], a protocol (tcp, "
			    "udp, icmp, gre, esp, ah, ipip, ipv6, l2tp, sctp) or proto:N", item);
	if (!colon)
		return 0;
	if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
		return FAIL("'%s': only tcp and udp have ports", item);
	dash = strchr(colon + 1, '-');
	if (dash)
		*dash = '\0';
	if (parse_u32(colon + 1, 65535, &first) || first == 0 ||
	    (dash && (parse_u32(dash + 1, 65535, &last) || last < first)))
		return FAIL("'%s': port out of range (1-65535, first <= last)", item);
	r->first = first;
	r->last = dash ? last : first;
	return 0;
}

int parse_port_list(const char *s, struct relay_port_range *out, int max, char *err,
		    size_t errlen)
{
	char buf[1024], *save = NULL, *item;
	int n = 0;

	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "list too long");
		return -1;
	}
	strcpy(buf, s);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (n == max) {
			snprintf(err, errlen, "more than %d ranges", max);
			return -1;
		}
		if (parse_port_item(item, &out[n], err, errlen))
			return -1;
		n++;
	}
	return n;
}

const char *port_range_str(const struct relay_port_range *r, char *buf, size_t len)
{
	const char *name = port_proto_name(r->proto);

	if (r->first == 0 && r->last == 65535) {
		if (name)
			snprintf(buf, len, "%s", name);
		else
			snprintf(buf, len, "proto:%u", r->proto);
	} else if (r->first == r->last) {
		snprintf(buf, len, "%s:%u", name ? name : "?", r->first);
	} else {
		snprintf(buf, len, "%s:%u-%u", name ? name : "?", r->first, r->last);
	}
	return buf;
}

int parse_mark(const char *s, __u32 *mark, __u32 *mask, char *err, size_t errlen)
{
	char buf[64], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	*mask = 0xffffffff;
	if (parse_u32(buf, 0xffffffff, mark) ||
	    (slash && parse_u32(slash + 1, 0xffffffff, mask))) {
		snprintf(err, errlen, "'%s': expected VALUE[/MASK]", s);
		return -1;
	}
	if (*mask == 0 || (*mark & *mask) == 0) {
		snprintf(err, errlen, "'%s': the mark must set at least one bit of the mask", s);
		return -1;
	}
	if (*mark & ~*mask) {
		snprintf(err, errlen, "'%s': the mark has bits outside the mask", s);
		return -1;
	}
	return 0;
}

static int parse_ipv4(const char *s, in_addr_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = a.s_addr;
	return 0;
}

int parse_ip_key(const char *s, struct relay_ip_key *out)
{
	memset(out, 0, sizeof(*out));
	if (!parse_ipv4(s, &out->addr.v4)) {
		out->family = AF_INET;
		return out->addr.v4 ? 0 : -1;
	}
	if (inet_pton(AF_INET6, s, out->addr.v6) != 1)
		return -1;
	out->family = AF_INET6;
	/* The unspecified address :: is no address. */
	return (out->addr.v6w[0] | out->addr.v6w[1] | out->addr.v6w[2] | out->addr.v6w[3]) ? 0 : -1;
}

bool opts_has_family(const struct relay_opts *o, int family)
{
	for (int i = 0; i < o->n_backends; i++)
		if (o->backends[i].addr.family == family)
			return true;
	return false;
}

const char *ip_key_str(__u8 family, const union relay_ip *addr, char *buf)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, IP_STR_LEN))
		snprintf(buf, IP_STR_LEN, "?");
	return buf;
}

bool ip_key_eq(const struct relay_ip_key *a, const struct relay_ip_key *b)
{
	if (a->family != b->family)
		return false;
	return a->family == AF_INET6 ? memcmp(a->addr.v6, b->addr.v6, 16) == 0 :
				       a->addr.v4 == b->addr.v4;
}

/* Setters: parse val into o, or write why not into err and return -1. */
typedef int (*opt_setter)(struct relay_opts *o, const char *val, char *err, size_t errlen);

static int set_role(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "front"))
		o->role = ROLE_FRONT;
	else if (!strcmp(v, "back"))
		o->role = ROLE_BACK;
	else
		return FAIL("'%s': expected front or back", v);
	return 0;
}

/* A device name, copied: a config file's line buffer does not last. */
static int set_string(const char **dst, char *buf, size_t len, const char *v, char *err,
		      size_t errlen)
{
	if (!*v || strlen(v) >= len)
		return FAIL("'%s': expected a device name (at most %zu characters)", v, len - 1);
	memcpy(buf, v, strlen(v) + 1);
	*dst = buf;
	return 0;
}

static int set_dev(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	return set_string(&o->dev, o->dev_buf, sizeof(o->dev_buf), v, err, errlen);
}

static int set_tunnel_dev(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	return set_string(&o->tunnel_dev, o->tunnel_dev_buf, sizeof(o->tunnel_dev_buf), v, err,
			  errlen);
}

/* Repeatable: checked as a whole once all are read (svc_check). */
static int set_backend(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	if (o->n_backends == RELAY_MAX_BACKENDS - 1)
		return FAIL("more than %d backends", RELAY_MAX_BACKENDS - 1);
	if (svc_parse_backend(v, &o->backends[o->n_backends], err, errlen))
		return -1;
	o->n_backends++;
	return 0;
}

static int set_service(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	struct relay_svc_opt *s = &o->services[o->n_services];

	if (o->n_services == RELAY_MAX_SERVICES)
		return FAIL("more than %d services", RELAY_MAX_SERVICES);
	if (svc_parse_service(v, s, err, errlen))
		return -1;
	for (int i = 0; i < o->n_services; i++)
		if (!strcmp(o->services[i].name, s->name))
			return FAIL("service %s given twice", s->name);
	o->n_services++;
	return 0;
}

/* One address of each family: repeatable, or a comma-separated list. */
static int set_front(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	char buf[256], *save = NULL, *item;
	struct relay_ip_key k;

	snprintf(buf, sizeof(buf), "%s", v);
	for (item = strtok_r(buf, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
		if (parse_ip_key(item, &k))
			return FAIL("'%s': not an IPv4 or IPv6 address", item);
		if (k.family == AF_INET ? o->front != 0 : !IN6_IS_ADDR_UNSPECIFIED(&o->front6))
			return FAIL("'%s': a second IPv%c address (one per family)", item,
				    k.family == AF_INET ? '4' : '6');
		if (k.family == AF_INET)
			o->front = k.addr.v4;
		else
			memcpy(&o->front6, k.addr.v6, sizeof(o->front6));
	}
	return 0;
}

/* Addresses of either family, appended to out (n of max used): for
 * options that are repeatable and also take a comma-separated list (handy
 * in a config file). */
static int add_ip_list(const char *v, struct relay_ip_key *out, int *n, int max, char *err,
		       size_t errlen)
{
	char buf[1024], *save = NULL, *item;

	snprintf(buf, sizeof(buf), "%s", v);
	for (item = strtok_r(buf, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
		if (*n == max)
			return FAIL("more than %d addresses", max);
		if (parse_ip_key(item, &out[*n]))
			return FAIL("'%s': not an IPv4 or IPv6 address", item);
		(*n)++;
	}
	return 0;
}

static int set_public_ip(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	return add_ip_list(v, o->public_ips, &o->n_public, RELAY_MAX_PUBLIC_ADDRS, err, errlen);
}

static int set_exclude(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	/* "none": relay every port, even tcp:22. */
	if (!strcmp(v, "none")) {
		o->n_exclude = 0;
		return 0;
	}
	o->n_exclude = parse_port_list(v, o->exclude, RELAY_MAX_PORT_RANGES, err, errlen);
	return o->n_exclude < 0 ? -1 : 0;
}

static int set_ports(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	o->n_ports = parse_port_list(v, o->ports, RELAY_MAX_PORT_RANGES, err, errlen);
	return o->n_ports < 0 ? -1 : 0;
}

static int set_mss(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	__u32 n;

	if (!strcmp(v, "auto"))
		o->mss = RELAY_MSS_AUTO;
	else if (!strcmp(v, "off"))
		o->mss = 0;
	else if (parse_u32(v, 65535, &n) || n < 536)
		return FAIL("'%s': expected auto, off or 536-65535", v);
	else
		o->mss = n;
	return 0;
}

/*
 * The conntrack map is the kernel's LRU hash, whose free entries a CPU takes
 * from the shared list in batches (up to 128, LOCAL_FREE_TARGET) and keeps
 * for itself; a CPU that finds the shared list empty evicts a live flow
 * although other CPUs hold free entries. Older kernels take 128 whatever
 * the table's size, so up to 128 x (CPUs - 1) entries can sit idle and a
 * table of 16 starts evicting at its first entries; newer ones (6.18 here)
 * take at most max_entries / CPUs / 2 (measured, 2 CPUs, each CPU holding a
 * batch: the first eviction at 75% of 16-512 entries, at 88-97% of
 * 1024-4096). 256 per possible CPU keeps at least half the table usable on
 * either kind.
 */
__u32 ct_max_min(void)
{
	int cpus = libbpf_num_possible_cpus();

	return RELAY_CT_MIN_PER_CPU * (__u32)(cpus > 0 ? cpus : 1);
}

static int set_ct_max(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	__u32 min = ct_max_min();

	if (parse_u32(v, 1 << 26, &o->ct_max) || o->ct_max < min)
		return FAIL("'%s': expected %u (%u per CPU) to 67108864", v, min,
			    RELAY_CT_MIN_PER_CPU);
	return 0;
}

/* N or N/BURST packets per second per source; the burst defaults to N. */
static int set_rate_limit(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	char buf[64], *slash;

	if (!strcmp(v, "off")) {
		o->rate_pps = o->rate_burst = 0;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", v);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (parse_u32(buf, RELAY_RL_MAX, &o->rate_pps) || o->rate_pps == 0 ||
	    (slash && (parse_u32(slash + 1, RELAY_RL_MAX, &o->rate_burst) || o->rate_burst == 0)))
		return FAIL("'%s': expected off, N or N/BURST, each 1-%d", v, RELAY_RL_MAX);
	if (!slash)
		o->rate_burst = o->rate_pps;
	return 0;
}

static int set_xdp_mode(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "auto"))
		o->xdp_mode = XDP_MODE_AUTO;
	else if (!strcmp(v, "native"))
		o->xdp_mode = XDP_MODE_NATIVE;
	else if (!strcmp(v, "generic"))
		o->xdp_mode = XDP_MODE_GENERIC;
	else
		return FAIL("'%s': expected auto, native or generic", v);
	return 0;
}

static int set_force(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	(void)v, (void)err, (void)errlen;
	o->force = true;
	return 0;
}

static int set_mark(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	o->mark_given = true;
	return parse_mark(v, &o->mark, &o->mask, err, errlen);
}

static int set_table(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	o->table_given = true;
	if (parse_u32(v, 0xffffffff, &o->table) || o->table == 0 || (o->table >= 253 &&
	    o->table <= 255))
		return FAIL("'%s': expected a table id other than 0 and 253-255", v);
	return 0;
}

static int set_announce(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	return add_ip_list(v, o->announce, &o->n_announce, RELAY_MAX_ANNOUNCE, err, errlen);
}

static int set_announce_table(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	/* main (254) is allowed: FRR 8.4 reads IPv6 routes of no other table
	 * (docs/scale-out.md). */
	if (parse_u32(v, 0xffffffff, &o->announce_table) || o->announce_table == 0 ||
	    o->announce_table == 253 || o->announce_table == 255)
		return FAIL("'%s': expected a table id other than 0, 253 and 255", v);
	return 0;
}

static int set_json(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	(void)v, (void)err, (void)errlen;
	o->json = true;
	return 0;
}

static int set_prometheus(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	(void)v, (void)err, (void)errlen;
	o->prometheus = true;
	return 0;
}

static int set_watch(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	__u32 n;

	if (parse_u32(v, 3600, &n) || n == 0)
		return FAIL("'%s': expected 1 to 3600 seconds", v);
	o->watch = n;
	return 0;
}

static int set_proto(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	if (proto_by_name(v, strlen(v), &o->ct_proto))
		return FAIL("'%s': expected tcp, udp, icmp, gre, esp, ah, ipip, ipv6, l2tp or sctp",
			    v);
	return 0;
}

static int set_addr(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	if (parse_ip_key(v, &o->ct_addr))
		return FAIL("'%s': not an IPv4 or IPv6 address", v);
	return 0;
}

static int set_metrics(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	if (metrics_parse_addr(v, &o->metrics_addr, &o->metrics_len))
		return FAIL("'%s': expected PORT, ADDR:PORT or [IPV6]:PORT", v);
	return 0;
}

static int set_health(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	return svc_parse_health(v, true, &o->health, err, errlen);
}

int parse_health_interval(const char *v, __u32 *ms_out, char *err, size_t errlen)
{
	char num[32];
	size_t len = strlen(v);
	bool ms = len > 2 && !strcmp(v + len - 2, "ms");
	__u32 n;

	snprintf(num, sizeof(num), "%.*s", (int)(len - (ms ? 2 : len && v[len - 1] == 's')), v);
	if (parse_u32(num, ms ? 3600000 : 3600, &n) || (ms ? n : n * 1000) < 100)
		return FAIL("'%s': expected a duration from 100ms to 3600s (N, Ns or Nms)", v);
	*ms_out = ms ? n : n * 1000;
	return 0;
}

int parse_health_probes(const char *v, const char *what, __u32 *out, char *err, size_t errlen)
{
	if (parse_u32(v, 100, out) || !*out)
		return FAIL("'%s': expected 1-100 %s probes", v, what);
	return 0;
}

static int set_health_interval(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	return parse_health_interval(v, &o->health_interval_ms, err, errlen);
}

static int set_health_fall(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	return parse_health_probes(v, "failed", &o->health_fall, err, errlen);
}

static int set_health_rise(struct relay_opts *o, const char *v, char *err, size_t errlen)
{
	return parse_health_probes(v, "passed", &o->health_rise, err, errlen);
}

#define ATTACH_FRONT (1 << ROLE_FRONT)
#define ATTACH_BACK (1 << ROLE_BACK)
#define ANY_ROLE (ATTACH_FRONT | ATTACH_BACK)

/*
 * Every option. To add one: a field in struct relay_opts, a setter, a row
 * here (arg NULL for a flag); help, config file keys, the check that it
 * fits the subcommand and role, and the man page table all follow.
 */
static const struct relay_option {
	const char *name;
	char short_name;
	const char *arg;   /* metavariable; NULL: a flag without value */
	unsigned cmds;     /* enum relay_cmd bits */
	unsigned roles;    /* for attach: the roles that take it */
	opt_setter set;
	const char *help;
} options[] = {
	{ "role", 'r', "front|back", CMD_ATTACHING | CMD_DETACH, ANY_ROLE, set_role,
	  "role of this host (detach: only this role)" },
	{ "dev", 'd', "IF", CMD_ATTACHING | CMD_DETACH, ANY_ROLE, set_dev,
	  "front: public device; back: tunnel device (detach: only what uses IF)" },
	{ "service", 0, "NAME=PROTO:PORT[-PORT][,...][,hash=5tuple|src][,health=CHECK][,health-"
		       "interval|fall|rise=V]",
	  CMD_ATTACHING, ATTACH_FRONT, set_service,
	  "these tcp/udp ports of the public addresses go to NAME's backends, chosen by Maglev "
	  "over the 5-tuple or the client address (hash=src); repeatable, up to 64, no port in "
	  "two services. The daemon checks its backends through the tunnel: health=tcp "
	  "(connect to the service's first tcp port), icmp (echo), udp:PAYLOAD (sent to its "
	  "first udp port, any answer passes) or none (the default: up while the tunnel is); "
	  "health-interval=, health-fall=, health-rise= for this service, else the daemon's "
	  "options" },
	{ "backend", 0, "[NAME=]ADDR[:PORT][,weight=N][,backup]", CMD_ATTACHING, ATTACH_FRONT,
	  set_backend,
	  "backend at the far end of the tunnel (repeatable, up to 32 per service): of service "
	  "NAME, else of the default service (every port not excluded nor in a service, as "
	  "--ports allows); PORT (IPv6: [ADDR]:PORT) takes the service's first port, the offset "
	  "kept; weight 0-256 (default 1, 0: drained, keeps its flows); backup: new flows only "
	  "while no primary of its family is up. A family with no backend is not relayed, never "
	  "NAT46/64" },
	{ "tunnel-dev", 0, "IF", CMD_ATTACHING, ATTACH_FRONT, set_tunnel_dev,
	  "the one tunnel device of every backend, which must be routed through it (default: "
	  "each backend's is the device of the route to it, up to 4 devices, L2 and L3 mixed)" },
	{ "public-ip", 0, "IP[,IP]", CMD_ATTACHING, ATTACH_FRONT, set_public_ip,
	  "relay traffic to these addresses (repeatable; default: --dev's IPv4 and global "
	  "IPv6 addresses, of each family that has a --backend)" },
	{ "exclude", 0, "PROTO[:PORT[-PORT]],...|none", CMD_ATTACHING, ATTACH_FRONT, set_exclude,
	  "ports or protocols that stay with the host (default tcp:22)" },
	{ "ports", 0, "PROTO[:PORT[-PORT]],...", CMD_ATTACHING, ATTACH_FRONT, set_ports,
	  "relay only these: tcp:PORT[-PORT], udp:PORT[-PORT] or a whole protocol: tcp, udp, "
	  "icmp (echo, ICMPv6 too), gre, esp, ah, ipip, ipv6, l2tp, sctp, proto:N (default: "
	  "all TCP, UDP and ICMP echo; other protocols only when listed)" },
	{ "mss", 0, "auto|off|N", CMD_ATTACHING, ATTACH_FRONT, set_mss,
	  "clamp the TCP MSS (auto: tunnel MTU - 40, IPv6 - 60; N: IPv4's, IPv6's is N - 20)" },
	{ "ct-max", 0, "N", CMD_ATTACHING, ATTACH_FRONT, set_ct_max,
	  "conntrack size, 256 per CPU-67108864 (default 65536; a change while attached moves the "
	  "flows into a table of the new size)" },
	{ "rate-limit", 0, "N[/BURST]|off", CMD_ATTACHING, ATTACH_FRONT, set_rate_limit,
	  "packets per second per client source, burst N by default (default off)" },
	{ "xdp-mode", 0, "auto|native|generic", CMD_ATTACHING, ATTACH_FRONT, set_xdp_mode,
	  "add the XDP fast path for established flows (default: TC only): auto = native "
	  "where the driver and the tunnel take it, else TC only; native needs Linux 6.3; "
	  "generic is for tests only "
	  "(after GRO, partial checksums, no qdisc)" },
	{ "force", 0, NULL, CMD_ATTACHING, ATTACH_FRONT, set_force,
	  "with --xdp-mode: replace an XDP program relaybpf did not install" },
	{ "metrics", 0, "[ADDR:]PORT", CMD_DAEMON, ANY_ROLE, set_metrics,
	  "serve GET /metrics, the counters in Prometheus text format, over HTTP on this "
	  "TCP address (ADDR default 127.0.0.1; IPv6: [ADDR]:PORT)" },
	{ "health", 0, "tcp:PORT|icmp|udp:PORT:PAYLOAD|none", CMD_DAEMON, ATTACH_FRONT,
	  set_health,
	  "health check of the default service's backends, as --service's health= (default "
	  "none: up while the tunnel is)" },
	{ "health-interval", 0, "DURATION", CMD_DAEMON, ATTACH_FRONT, set_health_interval,
	  "probe every backend this often (N, Ns or Nms; default 1s); a probe times out at 4/5 "
	  "of it, 900ms at most" },
	{ "health-fall", 0, "N", CMD_DAEMON, ATTACH_FRONT, set_health_fall,
	  "this many failed probes in a row take a backend down: out of the Maglev rows, its "
	  "flows move (default 3; within N x interval + 1s)" },
	{ "health-rise", 0, "N", CMD_DAEMON, ATTACH_FRONT, set_health_rise,
	  "this many passed probes in a row bring a down backend back (default 2)" },
	{ "announce", 0, "IP[,IP]", CMD_DAEMON, ATTACH_FRONT, set_announce,
	  "keep a host route to IP (repeatable, both families) in --announce-table exactly while "
	  "this front can serve (status healthy, not drained), for a routing daemon to announce; "
	  "withdrawn when the daemon stops" },
	{ "announce-table", 0, "ID", CMD_DAEMON, ATTACH_FRONT, set_announce_table,
	  "routing table of --announce's routes (default 94; their proto is 94; main, 254, for "
	  "FRR 8.4, see docs/scale-out.md)" },
	{ "front", 0, "IP[,IP6]", CMD_ATTACHING, ATTACH_BACK, set_front,
	  "front's addresses at the far end of the tunnel: an IPv4 and/or an IPv6 one" },
	{ "mark", 0, "VALUE[/MASK]", CMD_ATTACHING, ATTACH_BACK, set_mark,
	  "fwmark of tunnel traffic, only MASK's bits touched (default 0x1, or the next free one)" },
	{ "table", 0, "ID", CMD_ATTACHING, ATTACH_BACK, set_table,
	  "routing table of the replies (default 100, or the next free one)" },
	{ "json", 'j', NULL, CMD_STATUS | CMD_STATS | CMD_CONNTRACK, 0, set_json,
	  "print JSON" },
	{ "prometheus", 'p', NULL, CMD_STATS, 0, set_prometheus,
	  "print Prometheus text format (node_exporter textfile collector)" },
	{ "watch", 'w', "SECONDS", CMD_STATS, 0, set_watch,
	  "refresh every SECONDS with rates per second, until interrupted" },
	{ "proto", 0, "tcp|udp|icmp|gre|...", CMD_CONNTRACK, 0, set_proto,
	  "only flows of this protocol (icmp: ICMPv6 too)" },
	{ "addr", 0, "IP", CMD_CONNTRACK, 0, set_addr,
	  "only flows with this client, public or backend address" },
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static const struct {
	const char *name;
	enum relay_cmd cmd;
	const char *synopsis;
	const char *what;
} commands[] = {
	{ "attach", CMD_ATTACH,
	  "attach --role front --dev IF [--service NAME=PORTS]... --backend [NAME=]IP... "
	  "[OPTIONS]\n"
	  "       relaybpf attach --role back --dev TUNIF --front IP [OPTIONS]",
	  "Installs the role, or updates it in place when it is attached already\n"
	  "(flows and counters survive). Undoes its own changes if a step fails." },
	{ "daemon", CMD_DAEMON, "daemon OPTIONS OF attach [--metrics [ADDR:]PORT]\n"
	  "       [--announce IP]... [--announce-table ID]",
	  "Attaches, then follows rtnetlink and attaches again within moments whenever\n"
	  "the kernel drops part of the setup (a tunnel device down and up, deleted and\n"
	  "recreated with a new ifindex, the table's route gone). SIGHUP reads the\n"
	  "options and the -c file again and applies them as attach does (a bad one\n"
	  "is logged, the running one stays). SIGTERM or SIGINT\n"
	  "stop it; the datapath stays attached (detach removes it). The systemd unit runs this. --metrics serves GET /metrics (what\n"
	  "stats --prometheus prints) over HTTP. A front's --announce keeps a route\n"
	  "per address in --announce-table while it can serve, for BIRD or FRR to\n"
	  "announce (docs/scale-out.md)." },
	{ "drain", CMD_DRAIN, "drain",
	  "Marks the attached front drained: the daemon withdraws its --announce routes\n"
	  "within a second, so the network sends new clients to other fronts; the flows\n"
	  "it relays go on. status shows it; it lasts until undrain or detach." },
	{ "undrain", CMD_UNDRAIN, "undrain",
	  "Ends drain: the daemon announces again while the front can serve." },
	{ "backend", CMD_BACKEND, "backend drain|undrain [SERVICE] ADDR[:PORT]",
	  "drain: the backend (of the default service without SERVICE; every port of\n"
	  "ADDR without one) gets no new flows and keeps its flows, until undrain, across\n"
	  "attach again and daemon restarts (kept in the pinned relay_backends). SERVICE\n"
	  "ADDR may be written SERVICE=ADDR, as --backend has it." },
	{ "detach", CMD_DETACH, "detach [--role front|back] [--dev IF]",
	  "Removes exactly what relaybpf installed and restores the sysctls it changed.\n"
	  "Nothing attached is not an error." },
	{ "status", CMD_STATUS, "status [--json]",
	  "Shows each attached role: devices, program ids, configuration, conntrack fill,\n"
	  "mark, table and rule, and checks every piece (exit 0 healthy, 1 degraded,\n"
	  "3 nothing attached). Lists other tools' filters on relaybpf's TC hooks and\n"
	  "warns about those that run before relaybpf's (pref 1323)." },
	{ "stats", CMD_STATS, "stats [--json | --prometheus] [--watch SECONDS]",
	  "Counters summed over CPUs." },
	{ "conntrack", CMD_CONNTRACK, "conntrack [--json] [--proto P] [--addr IP]",
	  "Lists the front's flows, like conntrack -L." },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

enum relay_cmd opts_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(name, commands[i].name))
			return commands[i].cmd;
	return 0;
}

static const char *command_name(enum relay_cmd cmd)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i].cmd == cmd)
			return commands[i].name;
	return "?";
}

/* The options every command takes; without a command, --version too. */
static void usage_global(enum relay_cmd cmd, FILE *f)
{
	fprintf(f, "  %-42s %s\n", "-c, --config FILE", "read options from FILE (key = value)");
	fprintf(f, "  %-42s %s\n", "-h, --help", "show this help");
	if (!cmd)
		fprintf(f, "  %-42s %s\n", "-V, --version",
			"print the version and the kernel features relaybpf detects");
}

static void usage_options(enum relay_cmd cmd, FILE *f)
{
	char left[96];

	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct relay_option *opt = &options[i];

		if (!(opt->cmds & cmd))
			continue;
		snprintf(left, sizeof(left), "%c%c%s--%s%s%s", opt->short_name ? '-' : ' ',
			 opt->short_name ? opt->short_name : ' ', opt->short_name ? ", " : "  ",
			 opt->name, opt->arg ? " " : "", opt->arg ? opt->arg : "");
		/* A long one on a line of its own, the help under the others'. */
		if (strlen(left) > 42)
			fprintf(f, "  %s\n", left);
		fprintf(f, "  %-42s %s%s\n", strlen(left) > 42 ? "" : left,
			(cmd & CMD_ATTACHING) && opt->roles != ANY_ROLE ?
				(opt->roles == ATTACH_FRONT ? "[front] " : "[back] ") : "",
			opt->help);
	}
	usage_global(cmd, f);
}

void opts_usage(enum relay_cmd cmd, FILE *f)
{
	fprintf(f, "Usage: relaybpf [-c FILE] COMMAND [OPTIONS]\n");
	if (!cmd) {
		fprintf(f, "       relaybpf --version\n\nOptions:\n");
		usage_global(cmd, f);
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (cmd && commands[i].cmd != cmd)
			continue;
		fprintf(f, "\n       relaybpf %s\n%s\n", commands[i].synopsis, commands[i].what);
		if (cmd)
			usage_options(cmd, f);
	}
	fprintf(f, "\nA config file holds `key = value` lines whose keys are the long options\n"
		   "(# starts a comment); command-line options override it.\n"
		   "State: /sys/fs/bpf/relaybpf/netns-<cookie>/{front,back}/, per network namespace.\n"
		   "Exit status: 0 success, 1 failure, 2 usage error.%s\n",
		cmd ? "" : " `relaybpf COMMAND --help` lists the options.");
}

static const struct relay_option *find_option(const char *name)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (!strcmp(options[i].name, name))
			return &options[i];
	return NULL;
}

/* Applies one option; a command-line value replaces a config file's, even
 * for repeatable options. */
static int apply(const struct relay_option *opt, const char *val, bool from_file,
		 struct relay_opts *o, char *err, size_t errlen)
{
	unsigned long long bit = 1ULL << (opt - options);

	if (!from_file && (o->from_file & bit) && opt->set == set_public_ip)
		o->n_public = 0;
	if (!from_file && (o->from_file & bit) && opt->set == set_front) {
		o->front = 0;
		memset(&o->front6, 0, sizeof(o->front6));
	}
	if (!from_file && (o->from_file & bit) && opt->set == set_announce)
		o->n_announce = 0;
	if (!from_file && (o->from_file & bit) && opt->set == set_backend)
		o->n_backends = 0;
	if (!from_file && (o->from_file & bit) && opt->set == set_service)
		o->n_services = 0;
	if (opt->set(o, val ? val : "", err, errlen))
		return -1;
	o->given |= bit;
	if (from_file)
		o->from_file |= bit;
	else
		o->from_file &= ~bit;
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int opts_load_file(enum relay_cmd cmd, const char *path, struct relay_opts *o)
{
	char line[1024], err[256];
	FILE *f = fopen(path, "re");
	int lineno = 0, ret = 0;

	if (!f) {
		fprintf(stderr, "relaybpf: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (!ret && fgets(line, sizeof(line), f)) {
		char *key, *val, *eq, *hash;
		const struct relay_option *opt;

		lineno++;
		if ((hash = strchr(line, '#')))
			*hash = '\0';
		key = trim(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		val = eq ? trim(eq + 1) : NULL;
		if (eq)
			*eq = '\0';
		key = trim(key);
		opt = find_option(key);
		ret = -1;
		if (!opt)
			fprintf(stderr, "relaybpf: %s:%d: unknown key '%s'\n", path, lineno, key);
		else if (opt->arg && (!val || !*val))
			fprintf(stderr, "relaybpf: %s:%d: %s needs a value (%s = %s)\n", path,
				lineno, key, key, opt->arg);
		else if (!opt->arg && val && strcmp(val, "true") != 0 &&
			 strcmp(val, "yes") != 0 && strcmp(val, "1") != 0)
			fprintf(stderr, "relaybpf: %s:%d: %s is a flag: give it alone or = true\n",
				path, lineno, key);
		else if ((opt->cmds & cmd) && apply(opt, val, true, o, err, sizeof(err)))
			fprintf(stderr, "relaybpf: %s:%d: %s: %s\n", path, lineno, key, err);
		else
			ret = 0;
	}
	fclose(f);
	return ret;
}

/* The -c/--config value among argv, NULL if none. */
static const char *config_path(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--config=", 9))
			return argv[i] + 9;
		if (!strncmp(argv[i], "-c", 2) && argv[i][2])
			return argv[i] + 2;
	}
	return NULL;
}

static bool ranges_overlap(const struct relay_port_range *a, int na,
			   const struct relay_port_range *b, int nb)
{
	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			if (a[i].proto == b[j].proto && a[i].first <= b[j].last &&
			    b[j].first <= a[i].last)
				return true;
	return false;
}

static bool given(const struct relay_opts *o, const char *name)
{
	return o->given & (1ULL << (find_option(name) - options));
}

/* What the subcommand and the role need, and options of the other role. */
static int opts_check(enum relay_cmd cmd, struct relay_opts *o)
{
	static const char *const need[][2] = { [ROLE_FRONT] = { "dev", "backend" },
					       [ROLE_BACK] = { "dev", "front" } };
	static const char *const role_names[] = { "", "front", "back" };
	char err[256];

	if (!(cmd & CMD_ATTACHING))
		return 0;
	if (o->role == ROLE_NONE) {
		fprintf(stderr, "relaybpf: %s needs --role front or --role back\n",
			command_name(cmd));
		return -1;
	}
	for (int i = 0; i < 2; i++)
		if (!given(o, need[o->role][i])) {
			fprintf(stderr, "relaybpf: %s --role %s needs --%s\n", command_name(cmd),
				role_names[o->role], need[o->role][i]);
			return -1;
		}
	for (size_t i = 0; i < N_OPTIONS; i++)
		if ((o->given & (1ULL << i)) && (options[i].cmds & CMD_ATTACHING) &&
		    !(options[i].roles & (1 << o->role))) {
			fprintf(stderr, "relaybpf: --%s does not apply to --role %s\n",
				options[i].name, role_names[o->role]);
			return -1;
		}
	if (o->role == ROLE_FRONT && svc_check(o, err, sizeof(err))) {
		fprintf(stderr, "relaybpf: %s\n", err);
		return -1;
	}
	if (given(o, "exclude") && ranges_overlap(o->exclude, o->n_exclude, o->ports, o->n_ports)) {
		fprintf(stderr, "relaybpf: --exclude and --ports overlap: a port cannot be both "
				"relayed and kept by the host\n");
		return -1;
	}
	return 0;
}

int opts_parse(enum relay_cmd cmd, int argc, char **argv, struct relay_opts *o)
{
	struct option long_opts[N_OPTIONS + 3];
	char shorts[3 * N_OPTIONS + 8] = "+c:h", err[256];
	const char *path = config_path(argc, argv);
	int c, n = 0;

	for (size_t i = 0; i < N_OPTIONS; i++) {
		long_opts[n++] = (struct option){ options[i].name,
						  options[i].arg ? required_argument : no_argument,
						  NULL, 256 + (int)i };
		if (options[i].short_name) {
			size_t len = strlen(shorts);

			shorts[len++] = options[i].short_name;
			if (options[i].arg)
				shorts[len++] = ':';
			shorts[len] = '\0';
		}
	}
	long_opts[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	long_opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	long_opts[n] = (struct option){ 0 };

	o->argc = argc;
	o->argv = argv;
	if (path && opts_load_file(cmd, path, o))
		return -1;
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, shorts, long_opts, NULL)) != -1) {
		const struct relay_option *opt = NULL;

		if (c == 'c')
			continue; /* read above */
		if (c == 'h') {
			opts_usage(cmd, stdout);
			return 1;
		}
		if (c >= 256)
			opt = &options[c - 256];
		for (size_t i = 0; !opt && c > 0 && i < N_OPTIONS; i++)
			if (options[i].short_name == c)
				opt = &options[i];
		if (!opt)
			goto usage; /* getopt said why */
		if (!(opt->cmds & cmd)) {
			fprintf(stderr, "relaybpf: %s does not take --%s\n", command_name(cmd),
				opt->name);
			goto usage;
		}
		if (apply(opt, optarg, false, o, err, sizeof(err))) {
			fprintf(stderr, "relaybpf: --%s: %s\n", opt->name, err);
			return -1;
		}
	}
	while (cmd == CMD_BACKEND && optind < argc &&
	       o->n_args < (int)(sizeof(o->args) / sizeof(o->args[0])))
		o->args[o->n_args++] = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "relaybpf: unexpected argument '%s'\n", argv[optind]);
		goto usage;
	}
	return opts_check(cmd, o);
usage:
	fprintf(stderr, "Try 'relaybpf %s --help'.\n", command_name(cmd));
	return -1;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "options.h"

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
}

static int parse_u32(const char *s, unsigned long max, __u32 *out)
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

static int parse_proto(const char *s, size_t len, __u8 *proto)
{
	if (len == 3 && !strncmp(s, "tcp", 3))
		*proto = IPPROTO_TCP;
	else if (len == 3 && !strncmp(s, "udp", 3))
		*proto = IPPROTO_UDP;
	else
		return -1;
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
		char *colon = strchr(item, ':'), *dash;
		__u32 first, last;
		__u8 proto;

		if (!colon || parse_proto(item, colon - item, &proto)) {
			snprintf(err, errlen, "'%s': expected tcp:PORT[-PORT] or udp:PORT[-PORT]", item);
			return -1;
		}
		dash = strchr(colon + 1, '-');
		if (dash)
			*dash = '\0';
		if (parse_u32(colon + 1, 65535, &first) || first == 0 ||
		    (dash && (parse_u32(dash + 1, 65535, &last) || last < first))) {
			snprintf(err, errlen, "'%s': port out of range (1-65535, first <= last)",
				 item);
			return -1;
		}
		if (n == max) {
			snprintf(err, errlen, "more than %d ranges", max);
			return -1;
		}
		out[n++] = (struct relay_port_range){ .proto = proto, .first = first,
						       .last = dash ? last : first };
	}
	return n;
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

enum {
	OPT_ROLE = 'r',
	OPT_DEV = 'd',
	OPT_JSON = 'j',
	OPT_WATCH = 'w',
	OPT_BACKEND = 256,
	OPT_TUNNEL_DEV,
	OPT_PUBLIC_IP,
	OPT_EXCLUDE,
	OPT_PORTS,
	OPT_MSS,
	OPT_CT_MAX,
	OPT_XDP_MODE,
	OPT_FRONT,
	OPT_MARK,
	OPT_TABLE,
};

static const struct option long_opts[] = {
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "dev", required_argument, NULL, OPT_DEV },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "tunnel-dev", required_argument, NULL, OPT_TUNNEL_DEV },
	{ "public-ip", required_argument, NULL, OPT_PUBLIC_IP },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "ports", required_argument, NULL, OPT_PORTS },
	{ "mss", required_argument, NULL, OPT_MSS },
	{ "ct-max", required_argument, NULL, OPT_CT_MAX },
	{ "xdp-mode", required_argument, NULL, OPT_XDP_MODE },
	{ "front", required_argument, NULL, OPT_FRONT },
	{ "mark", required_argument, NULL, OPT_MARK },
	{ "table", required_argument, NULL, OPT_TABLE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "watch", required_argument, NULL, OPT_WATCH },
	{ 0 },
};

static int usage_error(const char *opt, const char *what)
{
	fprintf(stderr, "relaybpf: --%s: %s\n", opt, what);
	return -1;
}

int opts_parse(int argc, char **argv, struct relay_opts *o)
{
	char err[256];
	int c, idx;
	__u32 v;

	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "r:d:jw:", long_opts, &idx)) != -1) {
		const char *name = NULL;

		for (const struct option *lo = long_opts; lo->name; lo++)
			if (lo->val == c)
				name = lo->name;
		switch (c) {
		case OPT_ROLE:
			if (!strcmp(optarg, "front"))
				o->role = ROLE_FRONT;
			else if (!strcmp(optarg, "back"))
				o->role = ROLE_BACK;
			else
				return usage_error(name, "expected front or back");
			break;
		case OPT_DEV:
			o->dev = optarg;
			break;
		case OPT_TUNNEL_DEV:
			o->tunnel_dev = optarg;
			break;
		case OPT_BACKEND:
			if (parse_ipv4(optarg, &o->backend))
				return usage_error(name, "not an IPv4 address");
			break;
		case OPT_FRONT:
			if (parse_ipv4(optarg, &o->front))
				return usage_error(name, "not an IPv4 address");
			break;
		case OPT_PUBLIC_IP:
			if (o->n_public == RELAY_MAX_PUBLIC_ADDRS)
				return usage_error(name, "too many addresses");
			if (parse_ipv4(optarg, &o->public_ips[o->n_public++]))
				return usage_error(name, "not an IPv4 address");
			break;
		case OPT_EXCLUDE:
		case OPT_PORTS: {
			bool excl = c == OPT_EXCLUDE;
			int n = parse_port_list(optarg, excl ? o->exclude : o->ports,
						RELAY_MAX_PORT_RANGES, err, sizeof(err));

			if (n < 0)
				return usage_error(name, err);
			*(excl ? &o->n_exclude : &o->n_ports) = n;
			break;
		}
		case OPT_MSS:
			if (!strcmp(optarg, "auto"))
				o->mss = RELAY_MSS_AUTO;
			else if (!strcmp(optarg, "off"))
				o->mss = 0;
			else if (parse_u32(optarg, 65535, &v) || v < 536)
				return usage_error(name, "expected auto, off or 536-65535");
			else
				o->mss = v;
			break;
		case OPT_CT_MAX:
			if (parse_u32(optarg, 1 << 26, &v) || v < 16)
				return usage_error(name, "expected 16 to 67108864");
			o->ct_max = v;
			break;
		case OPT_XDP_MODE:
			if (!strcmp(optarg, "auto"))
				o->xdp_mode = XDP_MODE_AUTO;
			else if (!strcmp(optarg, "native"))
				o->xdp_mode = XDP_MODE_NATIVE;
			else if (!strcmp(optarg, "generic"))
				o->xdp_mode = XDP_MODE_GENERIC;
			else
				return usage_error(name, "expected auto, native or generic");
			break;
		case OPT_MARK:
			if (parse_mark(optarg, &o->mark, &o->mask, err, sizeof(err)))
				return usage_error(name, err);
			o->mark_given = true;
			break;
		case OPT_TABLE:
			if (parse_u32(optarg, 0xffffffff, &v) || v == 0 || v == 253 || v == 254 ||
			    v == 255)
				return usage_error(name, "expected a table id other than 0, 253-255");
			o->table = v;
			o->table_given = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_WATCH:
			if (parse_u32(optarg, 3600, &v) || v == 0)
				return usage_error(name, "expected 1 to 3600 seconds");
			o->watch = v;
			break;
		default:
			return -1; /* getopt printed it */
		}
	}
	if (optind < argc) {
		fprintf(stderr, "relaybpf: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

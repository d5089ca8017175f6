// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --service and --backend: parsing, the checks that need them all, and the
 * plan of every service table (docs/services.md). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "services.h"

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* [a-z0-9_-]{1,15}, not "default" (status names the default service so). */
static int check_name(const char *s, size_t len, char *err, size_t errlen)
{
	if (!len || len >= RELAY_SVC_NAME_LEN || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") < len)
		return FAIL("'%.*s': a service name is 1 to %d of a-z, 0-9, _ and -", (int)len, s,
			    RELAY_SVC_NAME_LEN - 1);
	if (len == 7 && !strncmp(s, "default", 7))
		return FAIL("'default' is the service of the backends without a name");
	return 0;
}

int svc_parse_health(const char *v, bool with_port, struct relay_health_opt *h, char *err,
		     size_t errlen)
{
	const char *rest = v;
	__u32 port = 0;
	char num[8];

	memset(h, 0, sizeof(*h));
	if (!strcmp(v, "none"))
		return 0;
	if (!strcmp(v, "icmp")) {
		h->kind = HEALTH_ICMP;
		return 0;
	}
	if (!strncmp(v, "tcp", 3) && (!v[3] || v[3] == ':'))
		h->kind = HEALTH_TCP;
	else if (!strncmp(v, "udp:", 4))
		h->kind = HEALTH_UDP;
	else
		goto bad;
	rest = v[3] ? v + 4 : v + 3;
	if (with_port) {
		size_t len = strcspn(rest, ":");

		snprintf(num, sizeof(num), "%.*s", (int)(len < sizeof(num) ? len : 0), rest);
		if (parse_u32(num, 65535, &port) || !port)
			goto bad;
		h->port = port;
		rest += len + (rest[len] == ':');
	} else if (h->kind == HEALTH_TCP && *rest) {
		goto bad;
	}
	if (h->kind == HEALTH_UDP && (!*rest || strlen(rest) >= sizeof(h->payload)))
		goto bad;
	if (h->kind == HEALTH_UDP)
		memcpy(h->payload, rest, strlen(rest) + 1);
	return 0;
bad:
	return FAIL("'%s': expected %s", v, with_port ? "tcp:PORT, icmp, udp:PORT:PAYLOAD or none" :
				       "tcp, icmp, udp:PAYLOAD (up to 63 bytes) or none");
}

/* The service's first port of the protocol, 0 if it has none. */
static __u16 first_port(const struct relay_svc_opt *s, __u8 proto)
{
	for (int i = 0; i < s->n_ranges; i++)
		if (s->ranges[i].proto == proto)
			return s->ranges[i].first;
	return 0;
}

/* A service's own health-interval=, health-fall=, health-rise=: the
 * daemon's --health-interval, --health-fall, --health-rise for its backends.
 * probes: which a count is of (its error says so), NULL for the interval. */
enum { HEALTH_SET_INTERVAL, HEALTH_SET_FALL, HEALTH_SET_RISE, HEALTH_SETTINGS };
static const struct {
	const char *key, *probes;
} health_keys[HEALTH_SETTINGS] = {
	[HEALTH_SET_INTERVAL] = { "health-interval=", NULL },
	[HEALTH_SET_FALL] = { "health-fall=", "failed" },
	[HEALTH_SET_RISE] = { "health-rise=", "passed" },
};

/* item, if it is one of health_keys, into its settings[] slot: 1; not one: 0;
 * a bad value: -1 with err. */
static int health_setting(const char *item, __u32 settings[HEALTH_SETTINGS], char *err,
			  size_t errlen)
{
	for (int i = 0; i < HEALTH_SETTINGS; i++) {
		size_t len = strlen(health_keys[i].key);
		const char *val;

		if (strncmp(item, health_keys[i].key, len) != 0)
			continue;
		val = item + len;
		if (health_keys[i].probes ?
			    parse_health_probes(val, health_keys[i].probes, &settings[i], err, errlen) :
			    parse_health_interval(val, &settings[i], err, errlen))
			return -1;
		return 1;
	}
	return 0;
}

int svc_parse_service(const char *v, struct relay_svc_opt *s, char *err, size_t errlen)
{
	char buf[1024], ports[1024] = "", *save = NULL, *item, range[32];
	const char *eq = strchr(v, '=');
	/* Kept apart until the end: health= clears s->health. */
	__u32 settings[HEALTH_SETTINGS] = { 0 };
	size_t used = 0;
	int k;

	memset(s, 0, sizeof(*s));
	if (!eq)
		return FAIL("'%s': expected NAME=PROTO:PORT[-PORT][,...][,hash=5tuple|src]"
			    "[,health=tcp|icmp|udp:PAYLOAD|none][,health-interval=DURATION]"
			    "[,health-fall=N][,health-rise=N]", v);
	if (check_name(v, eq - v, err, errlen))
		return -1;
	memcpy(s->name, v, eq - v);
	if (strlen(eq + 1) >= sizeof(buf))
		return FAIL("'%s': too long", v);
	strcpy(buf, eq + 1);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (!strncmp(item, "hash=", 5)) {
			if (!strcmp(item + 5, "5tuple"))
				s->hash = RELAY_HASH_5TUPLE;
			else if (!strcmp(item + 5, "src"))
				s->hash = RELAY_HASH_SRC;
			else
				return FAIL("'%s': expected hash=5tuple or hash=src", item);
			continue;
		}
		if (!strncmp(item, "health=", 7)) {
			if (svc_parse_health(item + 7, false, &s->health, err, errlen))
				return -1;
			continue;
		}
		k = health_setting(item, settings, err, errlen);
		if (k < 0)
			return -1;
		if (k)
			continue;
		used += snprintf(ports + used, sizeof(ports) - used, "%s%s", used ? "," : "", item);
	}
	s->n_ranges = parse_port_list(ports, s->ranges, RELAY_MAX_PORT_RANGES, err, errlen);
	if (s->n_ranges < 0)
		return -1;
	if (!s->n_ranges)
		return FAIL("'%s': a service needs tcp:PORT[-PORT] or udp:PORT[-PORT]", v);
	for (int i = 0; i < s->n_ranges; i++)
		if ((s->ranges[i].proto != IPPROTO_TCP && s->ranges[i].proto != IPPROTO_UDP) ||
		    !s->ranges[i].first)
			return FAIL("'%s': a service takes tcp:PORT[-PORT] or udp:PORT[-PORT], "
				    "not a whole protocol",
				    port_range_str(&s->ranges[i], range, sizeof(range)));
	if (s->health.kind == HEALTH_TCP || s->health.kind == HEALTH_UDP) {
		__u8 proto = s->health.kind == HEALTH_TCP ? IPPROTO_TCP : IPPROTO_UDP;

		s->health.port = first_port(s, proto);
		if (!s->health.port)
			return FAIL("'%s': health=%s needs a %s port in the service", v,
				    proto == IPPROTO_TCP ? "tcp" : "udp",
				    proto == IPPROTO_TCP ? "tcp" : "udp");
	}
	if ((settings[HEALTH_SET_INTERVAL] || settings[HEALTH_SET_FALL] || settings[HEALTH_SET_RISE]) &&
	    s->health.kind == HEALTH_NONE)
		return FAIL("'%s': health-interval=, health-fall= and health-rise= need a check "
			    "(health=tcp|icmp|udp:PAYLOAD)", v);
	s->health.interval_ms = settings[HEALTH_SET_INTERVAL];
	s->health.fall = settings[HEALTH_SET_FALL];
	s->health.rise = settings[HEALTH_SET_RISE];
	return 0;
}

int svc_parse_backend(const char *v, struct relay_backend_opt *b, char *err, size_t errlen)
{
	char buf[256], *save = NULL, *addr, *port = NULL, *item, *eq;
	bool bracket;
	__u32 n;

	memset(b, 0, sizeof(*b));
	b->weight = 1;
	if (strlen(v) >= sizeof(buf))
		return FAIL("'%s': too long", v);
	strcpy(buf, v);
	addr = strtok_r(buf, ",", &save);
	if (!addr)
		return FAIL("'%s': expected [NAME=]ADDR[:PORT][,weight=N][,backup]", v);
	eq = strchr(addr, '=');
	if (eq) {
		if (check_name(addr, eq - addr, err, errlen))
			return -1;
		memcpy(b->service, addr, eq - addr);
		addr = eq + 1;
	}
	/* IPv6 with a port is [ADDR]:PORT; a single colon is IPv4's port. */
	bracket = addr[0] == '[';
	if (bracket) {
		char *close = strchr(addr, ']');

		if (!close || (close[1] && close[1] != ':'))
			return FAIL("'%s': expected [IPV6]:PORT", addr);
		*close = '\0';
		port = close[1] ? close + 2 : NULL;
		addr++;
	} else if ((port = strchr(addr, ':')) && !strchr(port + 1, ':')) {
		*port++ = '\0';
	} else {
		port = NULL;
	}
	if (parse_ip_key(addr, &b->addr))
		return FAIL("'%s': not an IPv4 or IPv6 address", addr);
	if (bracket && b->addr.family != AF_INET6)
		return FAIL("'[%s]': brackets are for an IPv6 address", addr);
	if (port && (parse_u32(port, 65535, &n) || !n))
		return FAIL("'%s': expected a port 1-65535", port);
	if (port)
		b->port = n;
	while ((item = strtok_r(NULL, ",", &save))) {
		if (!strcmp(item, "backup"))
			b->backup = true;
		else if (!strncmp(item, "weight=", 7) && !parse_u32(item + 7, RELAY_MAX_WEIGHT, &n))
			b->weight = n;
		else
			return FAIL("'%s': expected weight=0-%d or backup", item, RELAY_MAX_WEIGHT);
	}
	return 0;
}

const char *svc_addr_str(__u8 family, const union relay_ip *addr, __u16 port, char *buf,
			 size_t len)
{
	char ip[IP_STR_LEN];
	bool v6 = family == AF_INET6;

	ip_key_str(family, addr, ip);
	if (port)
		snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", ip, v6 ? "]" : "", port);
	else
		snprintf(buf, len, "%s", ip);
	return buf;
}

const char *svc_backend_str(const struct relay_backend_opt *b, char *buf, size_t len)
{
	char a[IP_STR_LEN + 8];

	snprintf(buf, len, "%s%s%s", b->service, *b->service ? "=" : "",
		 svc_addr_str(b->addr.family, &b->addr.addr, b->port, a, sizeof(a)));
	return buf;
}

/* The option index of the backend's service, n_services for the default
 * one, -1 for an unknown name. */
static int service_of(const struct relay_opts *o, const struct relay_backend_opt *b)
{
	if (!*b->service)
		return o->n_services;
	for (int i = 0; i < o->n_services; i++)
		if (!strcmp(o->services[i].name, b->service))
			return i;
	return -1;
}

static bool port_excluded(const struct relay_opts *o, __u8 proto, __u32 port)
{
	for (int i = 0; i < o->n_exclude; i++)
		if (o->exclude[i].proto == proto && o->exclude[i].first <= port &&
		    port <= o->exclude[i].last)
			return true;
	return false;
}

/* Two services claiming one port, and services --exclude takes whole. */
static int check_ports(const struct relay_opts *o, char *err, size_t errlen)
{
	char range[32];

	for (int i = 0; i < o->n_services; i++) {
		const struct relay_svc_opt *s = &o->services[i];
		bool relayed = false;

		for (int r = 0; r < s->n_ranges && !relayed; r++)
			for (__u32 p = s->ranges[r].first; p <= s->ranges[r].last && !relayed; p++)
				relayed = !port_excluded(o, s->ranges[r].proto, p);
		if (!relayed)
			return FAIL("every port of --service %s is in --exclude, which comes first",
				    s->name);
		for (int j = i + 1; j < o->n_services; j++) {
			const struct relay_svc_opt *t = &o->services[j];

			for (int r = 0; r < s->n_ranges; r++)
				for (int q = 0; q < t->n_ranges; q++) {
					struct relay_port_range x = s->ranges[r];
					const struct relay_port_range *y = &t->ranges[q];

					if (x.proto != y->proto || x.first > y->last || y->first > x.last)
						continue;
					x.first = x.first > y->first ? x.first : y->first;
					x.last = x.last < y->last ? x.last : y->last;
					return FAIL("--service %s and --service %s both claim %s",
						    s->name, t->name,
						    port_range_str(&x, range, sizeof(range)));
				}
		}
	}
	return 0;
}

/* A backend with a port, in a service of one range (checked before). */
static void translated(const struct relay_opts *o, const struct relay_backend_opt *b,
		       struct relay_port_range *to)
{
	const struct relay_port_range *r = &o->services[service_of(o, b)].ranges[0];

	to->proto = r->proto;
	to->first = b->port;
	to->last = b->port + (r->last - r->first);
}

/* One backend alone: its service, its port, then against the earlier ones:
 * twice given, two translations onto one backend port. */
static int check_backend(const struct relay_opts *o, int i, char *err, size_t errlen)
{
	const struct relay_backend_opt *b = &o->backends[i];
	int s = service_of(o, b);
	char name[96], other[96], range[32];
	const struct relay_svc_opt *svc;
	struct relay_port_range to = { 0 }, to2;

	svc_backend_str(b, name, sizeof(name));
	if (s < 0)
		return FAIL("--backend %s: no --service %s", name, b->service);
	svc = &o->services[s]; /* read only for a backend with a port: a named service's */
	if (b->port && s == o->n_services)
		return FAIL("--backend %s: a backend of the default service keeps the client's "
			    "port (a port translates a named service's)", name);
	if (b->port && svc->n_ranges > 1)
		return FAIL("--backend %s translates ports, --service %s has several ranges: "
			    "give it one range", name, svc->name);
	if (b->port && b->port + (svc->ranges[0].last - svc->ranges[0].first) > 65535)
		return FAIL("--backend %s: --service %s's %u ports from %u end past 65535", name,
			    svc->name, svc->ranges[0].last - svc->ranges[0].first + 1, b->port);
	if (b->port)
		translated(o, b, &to);
	for (int j = 0; j < i; j++) {
		const struct relay_backend_opt *c = &o->backends[j];

		if (!ip_key_eq(&b->addr, &c->addr))
			continue;
		svc_backend_str(c, other, sizeof(other));
		if (!strcmp(b->service, c->service) && b->port == c->port)
			return FAIL("--backend %s given twice", name);
		if (!b->port || !c->port)
			continue;
		translated(o, c, &to2);
		if (to.proto != to2.proto || to.first > to2.last || to2.first > to.last)
			continue;
		to.first = to.first > to2.first ? to.first : to2.first;
		to.last = to.last < to2.last ? to.last : to2.last;
		return FAIL("--backend %s and --backend %s both translate onto its %s: its "
			    "replies would be ambiguous", name, other,
			    port_range_str(&to, range, sizeof(range)));
	}
	return 0;
}

int svc_check(const struct relay_opts *o, char *err, size_t errlen)
{
	int count[RELAY_MAX_SERVICES + 1] = { 0 };

	if (check_ports(o, err, errlen))
		return -1;
	for (int i = 0; i < o->n_backends; i++) {
		if (check_backend(o, i, err, errlen))
			return -1;
		if (++count[service_of(o, &o->backends[i])] > RELAY_MAX_SERVICE_BACKENDS)
			return FAIL("--service %s has more than %d backends",
				    *o->backends[i].service ? o->backends[i].service : "default",
				    RELAY_MAX_SERVICE_BACKENDS);
	}
	return 0;
}

/* The index of each named service: its index in st if it had one, else
 * the lowest one st does not use (an index a removed service left is
 * taken last: its backends are freed only after the flip). */
static int plan_indices(const struct relay_opts *o, const struct svc_state *st, int *idx,
			char *err, size_t errlen)
{
	bool taken[RELAY_SERVICE_SLOTS] = { true }; /* 0: the default service */

	for (int i = 0; i < o->n_services; i++) {
		idx[i] = 0;
		for (int k = 1; k < RELAY_SERVICE_SLOTS && !idx[i]; k++)
			if (!strcmp(st->names[k], o->services[i].name))
				idx[i] = k;
		taken[idx[i]] = true;
	}
	for (int i = 0; i < o->n_services; i++) {
		for (int pass = 0; pass < 2 && !idx[i]; pass++)
			for (int k = 1; k < RELAY_SERVICE_SLOTS && !idx[i]; k++)
				if (!taken[k] && (pass || !st->names[k][0]))
					idx[i] = k;
		if (!idx[i])
			return FAIL("more than %d services", RELAY_MAX_SERVICES);
		taken[idx[i]] = true;
	}
	return 0;
}

bool svc_backend_is(const struct relay_backend *a, const struct relay_backend *b)
{
	struct relay_ip_key ka = { .addr = a->addr, .family = a->family };
	struct relay_ip_key kb = { .addr = b->addr, .family = b->family };

	return a->service == b->service && a->port == b->port && ip_key_eq(&ka, &kb);
}

/* The id of backend b: the one st gave it, else the lowest id neither st
 * nor the plan uses (st's ids stay reserved until their flip). 0: none. */
static __u16 plan_id(const struct svc_state *st, const struct svc_plan *p,
		     const struct relay_backend *b)
{
	for (int id = 1; id < RELAY_MAX_BACKENDS; id++)
		if (st->backends[id].family && svc_backend_is(&st->backends[id], b))
			return id;
	for (int id = 1; id < RELAY_MAX_BACKENDS; id++)
		if (!st->backends[id].family && !p->backends[id].family)
			return id;
	return 0;
}

/* Every translated port of a backend back to its service's: one entry per
 * port (only a service of one range translates). */
static int plan_rev(const struct relay_opts *o, const int *idx, struct svc_plan *p, char *err,
		    size_t errlen)
{
	p->n_rev = 0;
	for (int i = 0; i < o->n_services; i++) {
		const struct relay_port_range *r = &o->services[i].ranges[0];

		for (int id = 1; id < RELAY_MAX_BACKENDS; id++) {
			const struct relay_backend *b = &p->backends[id];

			if (!b->family || !b->port || b->service != idx[i])
				continue;
			for (__u32 q = r->first; q <= r->last; q++) {
				struct svc_rev_port *e = &p->rev[p->n_rev];

				if (p->n_rev == RELAY_MAX_REV_PORTS)
					return FAIL("more than %d translated (backend, port) pairs",
						    RELAY_MAX_REV_PORTS);
				memset(e, 0, sizeof(*e));
				e->key.addr = b->addr;
				e->key.family = b->family;
				e->key.proto = r->proto;
				e->key.port = htons(b->port + (q - r->first));
				e->service_port = q;
				p->n_rev++;
			}
		}
	}
	return 0;
}

__u8 svc_backend_state(const struct relay_backend *b)
{
	if (b->hold & RELAY_HOLD_DOWN)
		return RELAY_BACKEND_DOWN;
	return b->weight && !(b->hold & RELAY_HOLD_DRAIN) ? RELAY_BACKEND_UP :
							    RELAY_BACKEND_DRAINED;
}

void svc_rows(struct svc_plan *p)
{
	static struct maglev_backend mb[RELAY_SERVICE_SLOTS][2][RELAY_MAX_SERVICE_BACKENDS];
	int n[RELAY_SERVICE_SLOTS][2] = { { 0 } };

	for (int id = 1; id < RELAY_MAX_BACKENDS; id++) {
		struct relay_backend *b = &p->backends[id];
		int f = RELAY_FAMILY_IDX(b->family);

		if (!b->family)
			continue;
		b->state = svc_backend_state(b);
		/* Weight 0 keeps a drained or down one out of the row, and a
		 * down primary lets the backups in (maglev_build). */
		mb[b->service][f][n[b->service][f]++] = (struct maglev_backend){
			.addr = b->addr, .port = b->port, .id = id,
			.weight = b->state == RELAY_BACKEND_UP ? b->weight : 0, .backup = b->backup };
	}
	for (int s = 0; s < RELAY_SERVICE_SLOTS; s++)
		for (int f = 0; f < 2; f++) {
			p->services[s].n_backends[f] = n[s][f];
			p->services[s].n_up[f] = maglev_build(mb[s][f], n[s][f], &p->rows[s][f]);
		}
}

void svc_replan(const struct svc_state *st, const struct relay_service *services,
		const struct relay_port_services *ports, struct svc_plan *p)
{
	memset(p, 0, offsetof(struct svc_plan, rev));
	p->gen = !st->gen;
	memcpy(p->ports, ports, sizeof(p->ports));
	memcpy(p->services, services, sizeof(p->services));
	memcpy(p->backends, st->backends, sizeof(p->backends));
	memcpy(p->rev, st->rev, st->n_rev * sizeof(*p->rev));
	p->n_rev = st->n_rev;
}

int svc_hold_set(struct svc_plan *p, const struct relay_backend_opt *bo, __u8 set, __u8 clear)
{
	int found = 0, idx = -1;

	for (int i = 0; i < RELAY_SERVICE_SLOTS && idx < 0; i++)
		if (p->services[i].defined &&
		    (i ? !strcmp(p->services[i].name, bo->service) : !*bo->service))
			idx = i;
	for (int id = 1; idx >= 0 && id < RELAY_MAX_BACKENDS; id++) {
		struct relay_backend *b = &p->backends[id];
		struct relay_ip_key k = { .family = b->family, .addr = b->addr };

		if (!b->family || b->service != idx || !ip_key_eq(&k, &bo->addr) ||
		    (bo->port && bo->port != b->port))
			continue;
		b->hold = (b->hold & ~clear) | set;
		found++;
	}
	return found;
}

int svc_plan(const struct relay_opts *o, const struct svc_state *st, struct svc_plan *p,
	     char *err, size_t errlen)
{
	int idx[RELAY_MAX_SERVICES];

	if (svc_check(o, err, errlen) || plan_indices(o, st, idx, err, errlen))
		return -1;
	memset(p, 0, offsetof(struct svc_plan, rev));
	p->gen = !st->gen;
	for (int i = 0; i < o->n_services; i++) {
		const struct relay_svc_opt *s = &o->services[i];
		struct relay_service *svc = &p->services[idx[i]];

		svc->defined = 1;
		svc->hash = s->hash;
		svc->first_port = s->n_ranges == 1 ? s->ranges[0].first : 0;
		memcpy(svc->name, s->name, sizeof(svc->name));
		for (int r = 0; r < s->n_ranges; r++)
			for (__u32 q = s->ranges[r].first; q <= s->ranges[r].last; q++)
				p->ports[s->ranges[r].proto == IPPROTO_UDP].service[q] = idx[i];
	}
	for (int i = 0; i < o->n_backends; i++) {
		const struct relay_backend_opt *bo = &o->backends[i];
		int s = service_of(o, bo);
		struct relay_backend b = {
			.addr = bo->addr.addr, .family = bo->addr.family,
			.service = s == o->n_services ? 0 : idx[s], .port = bo->port,
			.weight = bo->weight, .backup = bo->backup,
		};
		__u16 id = plan_id(st, p, &b);

		if (!id)
			return FAIL("more than %d backends, those of removed ones included",
				    RELAY_MAX_BACKENDS - 1);
		/* A kept backend keeps its drain and its failed health check. */
		if (st->backends[id].family)
			b.hold = st->backends[id].hold;
		p->backends[id] = b;
		/* The default service relays only with a backend. */
		p->services[b.service].defined = 1;
	}
	svc_rows(p);
	if (plan_rev(o, idx, p, err, errlen))
		return -1;
	svc_rev_sort(p->rev, p->n_rev);
	return 0;
}

static int rev_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct relay_rev_port_key));
}

void svc_rev_sort(struct svc_rev_port *rev, int n)
{
	qsort(rev, n, sizeof(*rev), rev_cmp);
}

const struct svc_rev_port *svc_rev_find(const struct svc_rev_port *rev, int n,
					const struct relay_rev_port_key *key)
{
	/* The key is the first member: a key compares as an entry. */
	return bsearch(key, rev, n, sizeof(*rev), rev_cmp);
}

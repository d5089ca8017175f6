// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The services in use as status and stats show them: read back from the
 * pinned maps, the datapath's own tables. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "inspect.h"
#include "pin.h"
#include "services.h"

/* Per-backend counters summed over the CPUs. */
static int report_stats(int fd, struct svc_report *r)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	struct relay_backend_stats *v;

	if (ncpu <= 0)
		return -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (__u32 id = 1; !err && id < RELAY_MAX_BACKENDS; id++) {
		struct relay_backend_stats *sum = &r->stats[id];

		if (!r->backends[id].family)
			continue;
		if (bpf_map_lookup_elem(fd, &id, v)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++) {
			for (int d = 0; d < 2; d++) {
				sum->packets[d] += v[c].packets[d];
				sum->bytes[d] += v[c].bytes[d];
			}
			sum->new_flows += v[c].new_flows;
		}
	}
	free(v);
	return err;
}

int svc_report_read(const char *dir, struct svc_report *r)
{
	static const char *const names[SVC_MAPS] = { SVC_MAP_NAMES };
	struct relay_front_config cfg = { 0 };
	int fds[SVC_MAPS], err = 0;
	__u32 count, max;

	memset(r, 0, sizeof(*r));
	inspect_front_cfg(dir, &cfg);
	err = pin_open_all(dir, names, fds, SVC_MAPS);
	if (err)
		return err;
	for (__u32 i = 0; !err && i < RELAY_SERVICE_SLOTS; i++) {
		__u32 key = RELAY_SERVICE_KEY(cfg.svc_gen, i);

		err = bpf_map_lookup_elem(fds[SVC_SERVICES], &key, &r->services[i]) ? -errno : 0;
	}
	for (__u32 i = 0; !err && i < RELAY_SVC_PROTOS; i++) {
		__u32 key = RELAY_PORTS_KEY(cfg.svc_gen, i);

		err = bpf_map_lookup_elem(fds[SVC_PORTS], &key, &r->ports[i]) ? -errno : 0;
	}
	if (!err)
		err = svc_map_read(fds[SVC_BACKENDS], RELAY_MAX_BACKENDS, r->backends);
	if (!err)
		err = report_stats(fds[SVC_STATS], r);
	if (!err)
		inspect_ct_fill(dir, &count, &max, r->flows);
	fds_close(fds, SVC_MAPS);
	if (!err)
		svc_health_read(dir, r);
	return err;
}

void svc_health_read(const char *dir, struct svc_report *r)
{
	int fd = pin_open(dir, RELAY_HEALTH_MAP);

	/* No daemon ever checked: no records. */
	if (fd < 0 || svc_map_read(fd, RELAY_MAX_BACKENDS, r->health))
		memset(r->health, 0, sizeof(r->health));
	if (fd >= 0)
		close(fd);
	/* A record of another backend that had the id is not this one's. */
	for (int id = 1; id < RELAY_MAX_BACKENDS; id++)
		if (!svc_health_of(&r->health[id], &r->backends[id]))
			memset(&r->health[id], 0, sizeof(r->health[id]));
}

bool svc_health_of(const struct relay_backend_health *h, const struct relay_backend *b)
{
	return h->family && h->family == b->family && h->service == b->service &&
	       h->port == b->port && !memcmp(h->addr.v6, b->addr.v6, sizeof(h->addr.v6));
}

const char *svc_report_ports(const struct svc_report *r, int idx, char *buf, size_t len)
{
	static const __u8 protos[RELAY_SVC_PROTOS] = { IPPROTO_TCP, IPPROTO_UDP };
	size_t used = 0;

	buf[0] = '\0';
	for (int p = 0; p < RELAY_SVC_PROTOS; p++)
		for (__u32 port = 1; port <= 65535 && used < len; port++) {
			struct relay_port_range range = { .proto = protos[p], .first = port };
			char one[32];

			if (r->ports[p].service[port] != idx)
				continue;
			while (port < 65535 && r->ports[p].service[port + 1] == idx)
				port++;
			range.last = port;
			used += snprintf(buf + used, len - used, "%s%s", used ? "," : "",
					 port_range_str(&range, one, sizeof(one)));
		}
	return buf;
}

const char *svc_state_name(__u8 state)
{
	return state == RELAY_BACKEND_DRAINED ? "drained" :
	       state == RELAY_BACKEND_DOWN    ? "down" :
						"up";
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The service maps of a front: the state an attach starts from, the plan
 * written around the commit, undone when the attach fails before it
 * (docs/services.md, "Attach"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "services.h"

static int update(int fd, __u32 key, const void *value)
{
	return bpf_map_update_elem(fd, &key, value, BPF_ANY) ? -errno : 0;
}

int svc_map_read(int fd, __u32 n, void *values)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys = calloc(n, sizeof(*keys)), batch, count = n;
	int err;

	if (!keys)
		return -ENOMEM;
	err = bpf_map_lookup_batch(fd, NULL, &batch, keys, values, &count, &opts) ? -errno : 0;
	free(keys);
	/* The end of the array says ENOENT, even with every entry read. */
	if (err == -ENOENT)
		err = 0;
	return err ? err : count == n ? 0 : -EIO;
}

/* Entries first..first + n of an array map, in one call. */
static int map_write(int fd, __u32 first, __u32 n, const void *values)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys = calloc(n, sizeof(*keys)), count = n;
	int err;

	if (!keys)
		return -ENOMEM;
	for (__u32 i = 0; i < n; i++)
		keys[i] = first + i;
	err = bpf_map_update_batch(fd, keys, values, &count, &opts) ? -errno : 0;
	free(keys);
	return err;
}

int svc_state_read(const int fds[SVC_MAPS], __u8 gen, struct svc_state *st)
{
	struct relay_service *svc = calloc((size_t)2 * RELAY_SERVICE_SLOTS, sizeof(*svc));
	struct relay_rev_port_key *prev = NULL;
	int err;

	memset(st, 0, offsetof(struct svc_state, rev));
	st->n_rev = 0;
	st->gen = gen;
	/* Both generations and every backend id: two calls, not 2000. */
	err = svc ? svc_map_read(fds[SVC_SERVICES], 2 * RELAY_SERVICE_SLOTS, svc) : -ENOMEM;
	for (__u32 i = 0; !err && i < RELAY_SERVICE_SLOTS; i++)
		if (svc[RELAY_SERVICE_KEY(gen, i)].defined)
			memcpy(st->names[i], svc[RELAY_SERVICE_KEY(gen, i)].name, sizeof(st->names[i]));
	free(svc);
	if (!err)
		err = svc_map_read(fds[SVC_BACKENDS], RELAY_MAX_BACKENDS, st->backends);
	if (err)
		return err;
	while (st->n_rev < RELAY_MAX_REV_PORTS &&
	       !bpf_map_get_next_key(fds[SVC_REV], prev, &st->rev[st->n_rev].key)) {
		struct svc_rev_port *e = &st->rev[st->n_rev];

		prev = &e->key;
		if (!bpf_map_lookup_elem(fds[SVC_REV], &e->key, &e->service_port))
			st->n_rev++;
	}
	svc_rev_sort(st->rev, st->n_rev);
	return 0;
}

/* Whether an id's entry changes (a kept backend's weight, state, tunnel). */
static bool backend_changed(const struct relay_backend *a, const struct relay_backend *b)
{
	return memcmp(a->addr.v6, b->addr.v6, sizeof(a->addr.v6)) != 0 || a->family != b->family ||
	       a->state != b->state || a->service != b->service || a->port != b->port ||
	       a->weight != b->weight || a->backup != b->backup || a->hold != b->hold ||
	       a->tunnel_ifindex != b->tunnel_ifindex || a->tunnel_l2 != b->tunnel_l2;
}

/* A new id's per-CPU counters start at zero (a freed id's were another
 * backend's). */
static int stats_zero(int fd, __u32 id)
{
	int ncpu = libbpf_num_possible_cpus(), err;
	struct relay_backend_stats *zero;

	if (ncpu <= 0)
		return -EINVAL;
	zero = calloc(ncpu, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	err = update(fd, id, zero);
	free(zero);
	return err;
}

/* A kept backend that goes DOWN is written after the flip (svc_release):
 * before it, a flow leaving it would find it again in the rows in use. */
static bool goes_down(const struct svc_state *st, const struct svc_plan *p, __u32 id)
{
	return st->backends[id].family && st->backends[id].state != RELAY_BACKEND_DOWN &&
	       p->backends[id].state == RELAY_BACKEND_DOWN;
}

int svc_apply(const int fds[SVC_MAPS], const struct svc_state *st, const struct svc_plan *p)
{
	int err = 0;

	/* Each table's half of the generation is contiguous: one call each. */
	err = map_write(fds[SVC_PORTS], RELAY_PORTS_KEY(p->gen, 0), RELAY_SVC_PROTOS, p->ports);
	if (!err)
		err = map_write(fds[SVC_SERVICES], RELAY_SERVICE_KEY(p->gen, 0), RELAY_SERVICE_SLOTS,
				p->services);
	if (!err)
		err = map_write(fds[SVC_MAGLEV], RELAY_MAGLEV_KEY(p->gen, 0, 0),
				2 * RELAY_SERVICE_SLOTS, p->rows);
	for (__u32 id = 1; !err && id < RELAY_MAX_BACKENDS; id++) {
		if (!p->backends[id].family || !backend_changed(&p->backends[id], &st->backends[id]) ||
		    goes_down(st, p, id))
			continue;
		if (!st->backends[id].family)
			err = stats_zero(fds[SVC_STATS], id);
		if (!err)
			err = update(fds[SVC_BACKENDS], id, &p->backends[id]);
	}
	for (int i = 0; !err && i < p->n_rev; i++) {
		const struct svc_rev_port *old = svc_rev_find(st->rev, st->n_rev, &p->rev[i].key);

		if ((!old || old->service_port != p->rev[i].service_port) &&
		    bpf_map_update_elem(fds[SVC_REV], &p->rev[i].key, &p->rev[i].service_port, BPF_ANY))
			err = -errno;
	}
	return err;
}

void svc_rollback(const int fds[SVC_MAPS], const struct svc_state *st, const struct svc_plan *p)
{
	for (__u32 id = 1; id < RELAY_MAX_BACKENDS; id++)
		if (p->backends[id].family && backend_changed(&p->backends[id], &st->backends[id]))
			update(fds[SVC_BACKENDS], id, &st->backends[id]);
	for (int i = 0; i < p->n_rev; i++) {
		const struct svc_rev_port *old = svc_rev_find(st->rev, st->n_rev, &p->rev[i].key);

		if (!old)
			bpf_map_delete_elem(fds[SVC_REV], &p->rev[i].key);
		else if (old->service_port != p->rev[i].service_port)
			bpf_map_update_elem(fds[SVC_REV], &old->key, &old->service_port, BPF_ANY);
	}
}

int svc_release(const int fds[SVC_MAPS], const struct svc_state *st, const struct svc_plan *p)
{
	static const struct relay_backend none;
	int err = 0;

	for (__u32 id = 1; !err && id < RELAY_MAX_BACKENDS; id++)
		if (st->backends[id].family && !p->backends[id].family)
			err = update(fds[SVC_BACKENDS], id, &none);
		else if (goes_down(st, p, id))
			err = update(fds[SVC_BACKENDS], id, &p->backends[id]);
	for (int i = 0; !err && i < st->n_rev; i++)
		if (!svc_rev_find(p->rev, p->n_rev, &st->rev[i].key) &&
		    bpf_map_delete_elem(fds[SVC_REV], &st->rev[i].key) && errno != ENOENT)
			err = -errno;
	return err;
}

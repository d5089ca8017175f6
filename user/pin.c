// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "pin.h"
#include "relaybpf.h"
#include "state.h"

/* Pins fd as dir/name in one step: pinned under a temporary name, then
 * renamed over the old pin (bpffs renames like any filesystem), so the name
 * never goes missing for `stats`, `status` or a daemon opening it meanwhile.
 * bpffs refuses names with a dot; no map name ends in "__swap". */
static int pin_replace(int fd, const char *dir, const char *name)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];

	relay_path(path, dir, name);
	snprintf(tmp, sizeof(tmp), "%s__swap", path);
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp))
		return -errno;
	if (rename(tmp, path)) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

int pin_maps(struct bpf_object *obj, const char *dir, struct pin_moves *moves)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		int fd = bpf_map__fd(map), old, err;
		struct pin_moved *m;

		/* .rodata is each program's own, set at its load. */
		if (bpf_map__is_internal(map))
			continue;
		old = pin_open(dir, name);
		if (old >= 0 && map_id(old) == map_id(fd)) {
			close(old); /* reused (pin_reuse_maps) */
			continue;
		}
		if (old < 0) {
			err = pin_replace(fd, dir, name);
			if (err)
				return err;
			continue;
		}
		/* Another layout (pin_reuse_maps let it be created anew): the
		 * old map's entries move into it, then its pin. The old
		 * programs keep running on the old map until the attach
		 * replaces them: pin_moves_end copies what they added. */
		if (moves->n == PIN_MAX_MOVES) {
			close(old);
			return -E2BIG;
		}
		m = &moves->m[moves->n++];
		m->old_fd = old;
		m->new_fd = fd;
		snprintf(m->name, sizeof(m->name), "%s", name);
		err = map_migrate(old, fd, name, false);
		if (err < 0)
			return err;
		printf("relaybpf: %s: %d entries moved into a map of %u (%u-byte values)\n", name,
		       err, bpf_map__max_entries(map), bpf_map__value_size(map));
		err = pin_replace(fd, dir, name);
		if (err)
			return err;
	}
	return 0;
}

int pin_open(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	relay_path(path, dir, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* Whether name's values are the 72-byte flows, to be converted into this
 * build's. */
static bool ct_v1(const char *name, __u32 type, __u32 from_size, __u32 to_size)
{
	return (!strcmp(name, "relay_ct") || !strcmp(name, "relay_ct_new")) &&
	       type == BPF_MAP_TYPE_LRU_HASH && from_size == sizeof(struct relay_ct_value_v1) &&
	       to_size == sizeof(struct relay_ct_value);
}

/* The ns stamps become ticks (the same clock), the packets keep their low
 * 32 bits (as the programs' own counts wrap), the rest is copied. */
static void ct_from_v1(const void *from, void *to)
{
	struct relay_ct_value_v1 o;
	struct relay_ct_value n = { 0 };

	memcpy(&o, from, sizeof(o));
	n.public_ip = o.public_ip;
	n.bytes[0] = o.bytes[0];
	n.bytes[1] = o.bytes[1];
	n.packets[0] = (__u32)o.packets[0];
	n.packets[1] = (__u32)o.packets[1];
	n.created = relay_ct_tick(o.created_ns);
	n.last_seen = relay_ct_tick(o.last_seen_ns);
	n.tcp_state = o.tcp_state;
	n.tcp_seen = o.tcp_seen;
	n.backend_id = o.backend_id;
	n.backend_port = o.backend_port;
	n.svc_epoch = o.svc_epoch;
	memcpy(to, &n, sizeof(n));
}

int ct_value_of(const void *raw, __u32 value_size, struct relay_ct_value *v)
{
	if (value_size == sizeof(struct relay_ct_value_v1))
		ct_from_v1(raw, v);
	else if (value_size == sizeof(*v))
		memcpy(v, raw, sizeof(*v));
	else
		return -EINVAL;
	return 0;
}

/*
 * A pinned map is reused only if it has the layout this build expects:
 * bpf_map__reuse_fd would silently take the old sizes (a changed --ct-max
 * kept unapplied, counters of a newer build missing) or fail later in the
 * verifier with a message nobody can act on. Another size, values grown
 * at their end (include/relaybpf.h: pinned values only grow) or the flows
 * of the 72-byte layout (ct_v1) are converted: 1, the load creates the map
 * anew and pin_maps moves the entries. Anything else (another type or key)
 * cannot be: -EEXIST, said.
 */
static int pin_check_layout(const struct bpf_map *map, int fd, const char *dir)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
	    (info.value_size > bpf_map__value_size(map) &&
	     !ct_v1(bpf_map__name(map), info.type, info.value_size, bpf_map__value_size(map)))) {
		const char *was = libbpf_bpf_map_type_str(info.type);

		fprintf(stderr, "relaybpf: the attached map %s/%s (%s, %u-byte keys, %u-byte values) "
				"cannot be converted to this relaybpf's (%s, %u-byte keys, %u-byte "
				"values): run `relaybpf detach` first (its flows and counters are "
				"lost)\n",
			dir, bpf_map__name(map), was ? was : "?", info.key_size, info.value_size,
			libbpf_bpf_map_type_str(bpf_map__type(map)), bpf_map__key_size(map),
			bpf_map__value_size(map));
		return -EEXIST;
	}
	return info.value_size != bpf_map__value_size(map) ||
	       info.max_entries != bpf_map__max_entries(map);
}

/* Maps whose entries say when they were last used, in a field of this
 * offset and size of this build's value (an old value is read once
 * converted): when they do not all fit in a smaller map, the most recent
 * move. The flows' stamps are ticks (~1.07 s): many flows share one, the
 * flows of a burst with the connection that has run for an hour. Among
 * the flows of one tick, the busiest (packets, two __u32 at busy) go first. */
struct recency {
	const char *name;
	size_t seen;
	size_t size; /* 4 or 8: an unsigned count of the map's clock */
	size_t busy; /* 0: none */
};

static const struct recency recency[] = {
	{ "relay_ct", offsetof(struct relay_ct_value, last_seen), sizeof(__u32),
	  offsetof(struct relay_ct_value, packets) },
	{ "relay_ct_new", offsetof(struct relay_ct_value, last_seen), sizeof(__u32),
	  offsetof(struct relay_ct_value, packets) },
	{ "relay_back_flows", offsetof(struct relay_back_flow, seen_ns), sizeof(__u64), 0 },
};

static const struct recency *map_recency(const char *name)
{
	for (size_t i = 0; i < sizeof(recency) / sizeof(recency[0]); i++)
		if (!strcmp(recency[i].name, name))
			return &recency[i];
	return NULL;
}

/* When a (converted) value was last seen, as the __u64 a kept record
 * starts with (cmp_stamp): a 32-bit stamp above, the packets of both
 * directions (saturated) below. */
static __u64 recency_stamp(const struct recency *r, const __u8 *val)
{
	__u32 s32, busy[2];
	__u64 s64, sum;

	if (r->size == sizeof(s32)) {
		memcpy(&s32, val + r->seen, sizeof(s32));
		if (!r->busy)
			return s32;
		memcpy(busy, val + r->busy, sizeof(busy));
		sum = (__u64)busy[0] + busy[1];
		return (__u64)s32 << 32 | (sum > UINT32_MAX ? UINT32_MAX : sum);
	}
	memcpy(&s64, val + r->seen, sizeof(s64));
	return s64;
}

static bool map_is_percpu(__u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool map_is_array(__u32 type)
{
	return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

/* By the __u64 a record starts with, oldest first. */
static int cmp_stamp(const void *a, const void *b)
{
	__u64 x, y;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x < y ? -1 : x > y;
}

/* One value of the old map as the new one holds it: each CPU's (a per-CPU
 * map's values are 8-byte aligned each) at the start of the new value. TO
 * starts zeroed and every value writes the same bytes of it: the bytes a
 * grown value adds stay 0. */
static void value_grow(const __u8 *from, __u32 from_size, __u8 *to, __u32 to_size, int ncpu,
		       bool percpu)
{
	__u32 from_stride = percpu ? (from_size + 7) & ~7U : from_size;
	__u32 to_stride = percpu ? (to_size + 7) & ~7U : to_size;

	for (int c = 0; c < ncpu; c++)
		memcpy(to + (size_t)c * to_stride, from + (size_t)c * from_stride, from_size);
}

/* One value of from (fi) as to (ti) holds it: converted (ct_v1) or grown. */
static void value_convert(const char *name, const struct bpf_map_info *fi,
			  const struct bpf_map_info *ti, const __u8 *from, __u8 *to, int ncpu)
{
	if (ct_v1(name, fi->type, fi->value_size, ti->value_size))
		ct_from_v1(from, to);
	else
		value_grow(from, fi->value_size, to, ti->value_size, ncpu,
			   map_is_percpu(fi->type));
}

static int map_put(int to, const void *key, const void *val, bool only_new, __u32 *copied)
{
	if (!bpf_map_update_elem(to, key, val, only_new ? BPF_NOEXIST : BPF_ANY))
		(*copied)++;
	else if (errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * relay_stats as the builds before struct relay_stats_value pinned it: one
 * entry per counter (a __u64 per CPU). This build's holds them all in its
 * one value: old entry i of CPU c becomes slot i of CPU c's value, so an
 * upgrade keeps the counts (value_grow would keep counter 0 alone).
 */
static bool stats_fold(const char *name, const struct bpf_map_info *fi,
		       const struct bpf_map_info *ti)
{
	return !strcmp(name, "relay_stats") && fi->type == BPF_MAP_TYPE_PERCPU_ARRAY &&
	       ti->type == fi->type && fi->value_size == sizeof(__u64) && fi->max_entries > 1 &&
	       ti->max_entries == 1 && ti->value_size == sizeof(struct relay_stats_value);
}

/* The counters copied, or -errno. */
static int stats_fold_copy(int from, int to, __u32 n, int ncpu)
{
	struct relay_stats_value *sv = calloc(ncpu, sizeof(*sv));
	__u64 *v = calloc(ncpu, sizeof(*v));
	__u32 zero = 0, i;
	int err = 0;

	if (!sv || !v)
		err = -ENOMEM;
	n = n < RELAY_STATS_SLOTS ? n : RELAY_STATS_SLOTS;
	for (i = 0; i < n && !err; i++) {
		if (bpf_map_lookup_elem(from, &i, v)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			sv[c].c[i] = v[c];
	}
	if (!err && bpf_map_update_elem(to, &zero, sv, BPF_ANY))
		err = -errno;
	free(v);
	free(sv);
	return err ? err : (int)n;
}

/*
 * Copies from's entries into to (opened, the same type and key; to's values
 * as large or larger, or this build's flows from the 72-byte ones: ct_v1).
 * Hash maps go through every key, arrays through the indexes both have.
 * With only_new, entries to already holds stay (the flows the old programs
 * created while the new ones were being attached); an array then has
 * nothing to add. When to has room for fewer entries
 * than from holds, a map that says when its entries were last seen
 * (map_recency) keeps the most recent, inserted oldest first so that an
 * LRU map that evicts early (its per-CPU free lists) drops the oldest; any
 * other map keeps what its LRU keeps. Both walks are bounded: the old
 * programs may add and evict meanwhile. The number copied, or -errno.
 */
int map_migrate(int from, int to, const char *name, bool only_new)
{
	struct bpf_map_info fi = { 0 }, ti = { 0 };
	__u32 len = sizeof(fi), n = 0, n_stamps = 0, cap = 0, walked = 0, copied = 0, n_kept = 0, ties = 0;
	const struct recency *seen = map_recency(name);
	__u8 *key = NULL, *next = NULL, *val = NULL, *grown = NULL, *kept = NULL;
	__u64 *stamps = NULL, threshold = 0, stamp = 0;
	size_t grown_size, rec_size;
	int ncpu = 1, err = 0;

	if (bpf_obj_get_info_by_fd(from, &fi, &len))
		return -errno;
	len = sizeof(ti);
	if (bpf_obj_get_info_by_fd(to, &ti, &len))
		return -errno;
	if (only_new && map_is_array(ti.type))
		return 0;
	if (map_is_percpu(fi.type) && (ncpu = libbpf_num_possible_cpus()) <= 0)
		return -EINVAL;
	if (stats_fold(name, &fi, &ti))
		return stats_fold_copy(from, to, fi.max_entries, ncpu);
	grown_size = (size_t)ncpu * ((ti.value_size + 7) & ~7U);
	/* A kept entry when they are sorted: last seen, key, value. */
	rec_size = (sizeof(stamp) + fi.key_size + grown_size + 7) & ~(size_t)7;
	key = calloc(1, fi.key_size);
	next = calloc(1, fi.key_size);
	val = calloc(ncpu, (fi.value_size + 7) & ~7U);
	grown = calloc(1, grown_size); /* zeroed: value_grow */
	if (!key || !next || !val || !grown) {
		err = -ENOMEM;
		goto out;
	}
	/* How many the old map holds and when each was last seen. */
	for (void *prev = NULL; n < fi.max_entries && !bpf_map_get_next_key(from, prev, next);
	     prev = key, n++) {
		memcpy(key, next, fi.key_size);
		if (!seen || bpf_map_lookup_elem(from, key, val))
			continue;
		value_convert(name, &fi, &ti, val, grown, ncpu);
		if (n_stamps == cap) {
			__u64 *more = realloc(stamps, (cap = cap ? cap * 2 : 4096) * sizeof(*more));

			if (!more) {
				err = -ENOMEM;
				goto out;
			}
			stamps = more;
		}
		stamps[n_stamps++] = recency_stamp(seen, grown);
	}
	/* A map of no entries takes none (and has no threshold). */
	if (n_stamps > ti.max_entries && ti.max_entries) {
		qsort(stamps, n_stamps, sizeof(*stamps), cmp_stamp);
		threshold = stamps[n_stamps - ti.max_entries];
		/* The kept stamps equal to the threshold: the others are above. */
		for (__u32 i = n_stamps - ti.max_entries; i < n_stamps && stamps[i] == threshold; i++)
			ties++;
		kept = calloc(ti.max_entries, rec_size);
		if (!kept) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (void *prev = NULL; walked++ < fi.max_entries && !bpf_map_get_next_key(from, prev, next);
	     prev = key) {
		memcpy(key, next, fi.key_size);
		if (bpf_map_lookup_elem(from, key, val))
			continue; /* gone meanwhile */
		if (map_is_array(ti.type) && *(__u32 *)key >= ti.max_entries)
			continue;
		value_convert(name, &fi, &ti, val, grown, ncpu);
		if (!kept) {
			if ((err = map_put(to, key, grown, only_new, &copied)))
				goto out;
			continue;
		}
		stamp = recency_stamp(seen, grown);
		/* Of the stamps equal to the threshold, as many as fit. */
		if (stamp < threshold || (stamp == threshold && !ties) ||
		    n_kept == ti.max_entries)
			continue;
		ties -= stamp == threshold;
		memcpy(kept + n_kept * rec_size, &stamp, sizeof(stamp));
		memcpy(kept + n_kept * rec_size + sizeof(stamp), key, fi.key_size);
		memcpy(kept + n_kept * rec_size + sizeof(stamp) + fi.key_size, grown, grown_size);
		n_kept++;
	}
	if (kept)
		qsort(kept, n_kept, rec_size, cmp_stamp);
	for (__u32 i = 0; i < n_kept && !err; i++) {
		__u8 *rec = kept + i * rec_size;

		err = map_put(to, rec + sizeof(stamp), rec + sizeof(stamp) + fi.key_size, only_new,
			      &copied);
	}
	if (!err && !only_new && n > ti.max_entries && !map_is_array(ti.type))
		printf("relaybpf: %s: %u entries do not fit in %u: %s\n", name, n, ti.max_entries,
		       seen ? "the most recently seen are kept, the others are dropped" :
			      "the least recently used are dropped");
out:
	free(kept);
	free(stamps);
	free(grown);
	free(val);
	free(next);
	free(key);
	return err ? err : (int)copied;
}

void pin_moves_end(struct pin_moves *moves, const char *dir, bool attached)
{
	for (int i = 0; i < moves->n; i++) {
		struct pin_moved *m = &moves->m[i];
		int err = attached ? map_migrate(m->old_fd, m->new_fd, m->name, true) :
				     pin_replace(m->old_fd, dir, m->name);

		/* Said, not fatal: the attach itself is done (or undone). */
		if (err < 0)
			fprintf(stderr, "relaybpf: %s: %s failed: %s\n", m->name,
				attached ? "copying the entries added during the swap" :
					   "pinning the previous map back",
				strerror(-err));
		close(m->old_fd);
	}
	moves->n = 0;
}

/* The front configuration of layout 1 (RELAY_CFG_VERSION 1: the builds
 * before services, one field per family), which a front attached by such a
 * build keeps pinned until an attach by this one rewrites it. */
struct relay_front_config_v1 {
	union relay_ip backend;
	__u8 pad0;
	__u8 tunnel_l2;
	__u16 mss;
	__u32 public_ifindex;
	__u32 tunnel_ifindex;
	__u8 n_exclude;
	__u8 n_ports;
	__u8 pad[2];
	struct relay_port_range exclude[RELAY_MAX_PORT_RANGES];
	struct relay_port_range ports[RELAY_MAX_PORT_RANGES];
	union relay_ip sole_public;
	union relay_ip tunnel_ip;
	__u32 rate_pps;
	__u32 rate_burst;
	union relay_ip backend6;
	union relay_ip sole_public6;
	union relay_ip tunnel_ip6;
	__u16 mss6;
	__u8 pad6[2];
	struct relay_ip_key underlay;
	__u32 version;
	__u8 reserved[44];
};
_Static_assert(sizeof(struct relay_front_config_v1) == 384, "layout 1 as it was pinned");

/* Layout 1's fields in this build's places (its backends are not
 * configuration any more: the service tables, which such a front has not). */
static void front_cfg_from_v1(const struct relay_front_config_v1 *v1,
			      struct relay_front_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->version = v1->version;
	cfg->public_ifindex = v1->public_ifindex;
	cfg->tunnel_ifindex = v1->tunnel_ifindex;
	cfg->tunnel_l2 = v1->tunnel_l2;
	cfg->n_exclude = v1->n_exclude;
	cfg->n_ports = v1->n_ports;
	cfg->mss[0] = v1->mss;
	cfg->mss[1] = v1->mss6;
	cfg->rate_pps = v1->rate_pps;
	cfg->rate_burst = v1->rate_burst;
	cfg->sole_public[0] = v1->sole_public;
	cfg->sole_public[1] = v1->sole_public6;
	cfg->tunnel_ip[0] = v1->tunnel_ip;
	cfg->tunnel_ip[1] = v1->tunnel_ip6;
	cfg->underlay = v1->underlay;
	memcpy(cfg->exclude, v1->exclude, sizeof(cfg->exclude));
	memcpy(cfg->ports, v1->ports, sizeof(cfg->ports));
}

int pin_front_cfg_read(const char *dir, struct relay_front_config *cfg)
{
	union {
		struct relay_front_config cur;
		struct relay_front_config_v1 v1;
	} buf = { 0 };
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), zero = 0;
	int fd = pin_open(dir, "relay_front_cfg"), err = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (fd < 0)
		return fd;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || bpf_map_lookup_elem(fd, &zero, &buf))
		err = -errno;
	else if (info.value_size > sizeof(buf))
		err = -EOVERFLOW;
	else if (info.value_size == sizeof(buf.v1))
		front_cfg_from_v1(&buf.v1, cfg);
	else
		*cfg = buf.cur;
	close(fd);
	return err;
}

void pin_cfg_version_note(const char *role, __u32 version)
{
	if (version > RELAY_CFG_VERSION)
		printf("relaybpf: note: the %s was configured by a newer relaybpf (configuration "
		       "version %u, this one writes %u): the options this one does not know are "
		       "reset\n", role, version, (unsigned int)RELAY_CFG_VERSION);
}

int pin_progs(struct bpf_object *obj, const char *dir)
{
	struct bpf_program *prog;
	char path[PATH_MAX];

	bpf_object__for_each_program(prog, obj) {
		relay_path(path, dir, bpf_program__name(prog));
		unlink(path);
		if (bpf_obj_pin(bpf_program__fd(prog), path))
			return -errno;
	}
	return 0;
}

/* fd of the map or program called name in obj, or -1. */
static int obj_fd(const struct bpf_object *obj, const char *name)
{
	const struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
	const struct bpf_program *prog =
		bpf_object__find_program_by_name((struct bpf_object *)obj, name);

	return map ? bpf_map__fd(map) : prog ? bpf_program__fd(prog) : -1;
}

int pin_role(const char *dir, struct bpf_object *const objs[], int n, const char *const names[],
	     int fds[], int n_fds, struct pin_moves *moves)
{
	int err = pin_maps(objs[0], dir, moves);

	for (int i = 0; i < n && !err; i++)
		err = pin_progs(objs[i], dir);
	for (int f = 0; f < n_fds && !err; f++) {
		fds[f] = -1;
		for (int i = 0; i < n && fds[f] < 0; i++)
			fds[f] = obj_fd(objs[i], names[f]);
		if (fds[f] < 0)
			err = -ENOENT;
	}
	return err;
}

int pin_open_all(const char *dir, const char *const names[], int fds[], int n)
{
	for (int i = 0; i < n; i++) {
		fds[i] = pin_open(dir, names[i]);
		if (fds[i] < 0) {
			int err = fds[i];

			fds_close(fds, i);
			return err;
		}
	}
	return 0;
}

void fds_close(int fds[], int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int pin_reuse_maps(struct bpf_object *obj, const char *dir)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		int fd = bpf_map__is_internal(map) ? -1 : pin_open(dir, bpf_map__name(map)), err;

		if (fd < 0)
			continue;
		err = pin_check_layout(map, fd, dir);
		if (!err)
			err = bpf_map__reuse_fd(map, fd);
		else if (err > 0)
			err = 0; /* created anew, pin_maps moves its entries */
		close(fd);
		if (err)
			return err;
	}
	return 0;
}

int share_maps(struct bpf_object *obj, const struct bpf_object *owner)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const struct bpf_map *own = bpf_object__find_map_by_name(owner, bpf_map__name(map));
		/* .rodata is each object's own (its probed features). */
		int err = own && !bpf_map__is_internal(map) ?
			  bpf_map__reuse_fd(map, bpf_map__fd(own)) : 0;

		if (err)
			return err;
	}
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Moving a pinned map's entries into a map of another size or value layout
 * (an attach with another --ct-max, an upgrade): map_migrate, pin_maps. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "front.h"
#include "inspect.h"
#include "pin.h"
#include "relaybpf.h"

static int map_new(enum bpf_map_type type, __u32 value_size, __u32 max_entries)
{
	int fd = bpf_map_create(type, NULL, sizeof(struct relay_ct_key), value_size, max_entries,
				NULL);

	cr_assert_geq(fd, 0, "bpf_map_create: %s", strerror(errno));
	return fd;
}

static struct relay_ct_key flow_key(__u32 i)
{
	struct relay_ct_key k = { .family = 2, .proto = 6, .client_port = (__be16)i };

	k.client.v4 = 0x0100000a + (i << 8);
	return k;
}

/* n flows, flow i last seen at time i + 1. */
static void fill(int fd, __u32 n)
{
	for (__u32 i = 0; i < n; i++) {
		struct relay_ct_key k = flow_key(i);
		struct relay_ct_value v = { .last_seen = i + 1, .packets = { i, 2 * i } };

		cr_assert_eq(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	}
}

static __u32 count(int fd)
{
	struct relay_ct_key k, *prev = NULL;
	__u32 n = 0;

	for (; !bpf_map_get_next_key(fd, prev, &k); prev = &k)
		n++;
	return n;
}

Test(map_migrate, moves_every_flow_into_a_larger_table)
{
	int from = map_new(BPF_MAP_TYPE_LRU_HASH, sizeof(struct relay_ct_value), 1024);
	int to = map_new(BPF_MAP_TYPE_LRU_HASH, sizeof(struct relay_ct_value), 4096);

	fill(from, 300);
	cr_assert_eq(map_migrate(from, to, "relay_ct", false), 300);
	cr_assert_eq(count(to), 300);
	for (__u32 i = 0; i < 300; i++) {
		struct relay_ct_key k = flow_key(i);
		struct relay_ct_value v;

		cr_assert_eq(bpf_map_lookup_elem(to, &k, &v), 0, "flow %u moved", i);
		cr_assert_eq(v.packets[1], 2 * i);
		cr_assert_eq(v.last_seen, i + 1);
	}
	close(from);
	close(to);
}

/* More flows than the new --ct-max: the most recently seen are kept. */
Test(map_migrate, keeps_the_most_recent_flows_when_they_do_not_fit)
{
	int from = map_new(BPF_MAP_TYPE_LRU_HASH, sizeof(struct relay_ct_value), 4096);
	int to = map_new(BPF_MAP_TYPE_HASH, sizeof(struct relay_ct_value), 256);

	fill(from, 1000);
	cr_assert_eq(map_migrate(from, to, "relay_ct", false), 256);
	for (__u32 i = 1000 - 256; i < 1000; i++) {
		struct relay_ct_key k = flow_key(i);
		struct relay_ct_value v;

		cr_assert_eq(bpf_map_lookup_elem(to, &k, &v), 0, "recent flow %u kept", i);
	}
	close(from);
	close(to);
}

/* An older build's values: each zero-extended, per CPU for per-CPU maps
 * (the counters); an array keeps the indexes both have. */
Test(map_migrate, zero_extends_grown_values)
{
	int from = map_new(BPF_MAP_TYPE_HASH, 8, 16), to = map_new(BPF_MAP_TYPE_HASH, 24, 16);
	struct relay_ct_key k = flow_key(7);
	__u64 old = 0x1122334455667788ULL, grown[3] = { 1, 1, 1 };

	cr_assert_eq(bpf_map_update_elem(from, &k, &old, BPF_ANY), 0);
	cr_assert_eq(map_migrate(from, to, "relay_test", false), 1);
	cr_assert_eq(bpf_map_lookup_elem(to, &k, grown), 0);
	cr_assert_eq(grown[0], old);
	cr_assert_eq(grown[1], 0);
	cr_assert_eq(grown[2], 0);
	close(from);
	close(to);
}

Test(map_migrate, keeps_every_cpus_counters)
{
	int ncpu = libbpf_num_possible_cpus();
	int from = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, NULL, 4, 8, 4, NULL);
	int to = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, NULL, 4, 8, RELAY_STATS_SLOTS, NULL);
	__u64 v[ncpu], got[ncpu];

	cr_assert(from >= 0 && to >= 0);
	for (__u32 i = 0; i < 4; i++) {
		for (int c = 0; c < ncpu; c++)
			v[c] = 100 * i + c;
		cr_assert_eq(bpf_map_update_elem(from, &i, v, BPF_ANY), 0);
	}
	cr_assert_eq(map_migrate(from, to, "relay_stats", false), 4);
	for (__u32 i = 0; i < 5; i++) {
		cr_assert_eq(bpf_map_lookup_elem(to, &i, got), 0);
		for (int c = 0; c < ncpu; c++)
			cr_assert_eq(got[c], i < 4 ? 100 * i + c : 0, "counter %u cpu %d", i, c);
	}
	/* The catch-up after the swap: an array has nothing to add. */
	cr_assert_eq(map_migrate(from, to, "relay_stats", true), 0);
	close(from);
	close(to);
}

/* relay_stats as builds before struct relay_stats_value pinned it: one
 * entry per counter, a __u64 per CPU. Entry i, CPU c: 1000 * i + c + 1. */
static int stats_old_layout(void)
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, NULL, 4, 8, RELAY_STATS_SLOTS, NULL);
	__u64 v[ncpu];

	cr_assert_geq(fd, 0, "bpf_map_create: %s", strerror(errno));
	for (__u32 i = 0; i < RELAY_STATS_SLOTS; i++) {
		for (int c = 0; c < ncpu; c++)
			v[c] = 1000ULL * i + c + 1;
		cr_assert_eq(bpf_map_update_elem(fd, &i, v, BPF_ANY), 0);
	}
	return fd;
}

/* Every counter of every CPU where the old layout had it. */
static void assert_stats_folded(int fd)
{
	int ncpu = libbpf_num_possible_cpus();
	struct relay_stats_value *got = calloc(ncpu, sizeof(*got));
	__u32 zero = 0;

	cr_assert_not_null(got);
	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, got), 0);
	for (int c = 0; c < ncpu; c++)
		for (__u32 i = 0; i < RELAY_STATS_SLOTS; i++)
			cr_assert_eq(got[c].c[i], 1000ULL * i + c + 1, "counter %u cpu %d: %llu", i, c,
				     (unsigned long long)got[c].c[i]);
	free(got);
}

Test(map_migrate, folds_the_counters_of_one_entry_each_into_one_value)
{
	int from = stats_old_layout();
	int to = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, NULL, 4, sizeof(struct relay_stats_value),
				1, NULL);

	cr_assert_geq(to, 0);
	cr_assert_eq(map_migrate(from, to, "relay_stats", false), RELAY_STATS_SLOTS);
	assert_stats_folded(to);
	close(from);
	close(to);
}

/* After the swap: only the flows the new map lacks (created by the old
 * programs meanwhile); the new map's own entries are newer and stay. */
Test(map_migrate, catch_up_adds_only_missing_flows)
{
	int from = map_new(BPF_MAP_TYPE_LRU_HASH, sizeof(struct relay_ct_value), 1024);
	int to = map_new(BPF_MAP_TYPE_LRU_HASH, sizeof(struct relay_ct_value), 1024);
	struct relay_ct_key k = flow_key(3);
	struct relay_ct_value v = { .last_seen = 999 };

	fill(from, 10);
	cr_assert_eq(bpf_map_update_elem(to, &k, &v, BPF_ANY), 0);
	cr_assert_eq(map_migrate(from, to, "relay_ct", true), 9);
	cr_assert_eq(bpf_map_lookup_elem(to, &k, &v), 0);
	cr_assert_eq(v.last_seen, 999);
	cr_assert_eq(count(to), 10);
	close(from);
	close(to);
}

/* The attach's side: a pinned table of another size is not reused but
 * moved by pin_maps, which gives the pin to the new map; an attach that
 * fails gives it back (pin_moves_end). One of another key is refused. */
static char pin_dir[64];

static void pin_dir_make(void)
{
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/relay-unit-%d", getpid());
	cr_assert_eq(mkdir(pin_dir, 0700), 0, "mkdir %s: %s", pin_dir, strerror(errno));
}

static void pin_dir_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", pin_dir);
	cr_assert_eq(system(cmd), 0);
}

static __u32 pinned_id(const char *name)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = pin_open(pin_dir, name);

	cr_assert_geq(fd, 0, "%s pinned", name);
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.id;
}

static void pin_old(int fd, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	cr_assert_eq(bpf_obj_pin(fd, path), 0, "pin %s: %s", path, strerror(errno));
}

/* old pinned as name, the front loaded over it (the public program alone:
 * it owns the maps) and pinned: name alone moved, its pin the new map's,
 * opened. The old map's id in old_id. */
static int pin_moved_alone(int old, const char *name, struct front_objs *o,
			   struct pin_moves *moves, __u32 *old_id)
{
	int fd;

	pin_old(old, name);
	*old_id = pinned_id(name);
	cr_assert_eq(front_load(o, pin_dir, 4096, 0), 0, "front programs load");
	cr_assert_eq(pin_maps(o->pub->obj, pin_dir, moves), 0);
	cr_assert_eq(moves->n, 1, "only %s moved", name);
	cr_assert_str_eq(moves->m[0].name, name);
	cr_assert_neq(pinned_id(name), *old_id, "the pin is the new map's");
	fd = pin_open(pin_dir, name);
	cr_assert_geq(fd, 0);
	return fd;
}

Test(pin_maps, moves_a_resized_table_and_gives_it_back_on_failure, .init = pin_dir_make,
     .fini = pin_dir_remove)
{
	int old = map_new(BPF_MAP_TYPE_LRU_HASH, sizeof(struct relay_ct_value), 2048), fd;
	struct pin_moves moves = { 0 };
	struct front_objs o = { 0 };
	__u32 old_id;

	fill(old, 3);
	fd = pin_moved_alone(old, "relay_ct", &o, &moves, &old_id);
	cr_assert_eq(count(fd), 3, "its flows moved");
	close(fd);
	pin_moves_end(&moves, pin_dir, false);
	cr_assert_eq(pinned_id("relay_ct"), old_id, "a failed attach gives the pin back");
	front_destroy(&o);
	close(old);
}

Test(pin_maps, refuses_a_table_of_another_key, .init = pin_dir_make, .fini = pin_dir_remove)
{
	int old = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, NULL, 8, sizeof(struct relay_ct_value),
				 2048, NULL);
	struct front_objs o = { 0 };

	cr_assert_geq(old, 0);
	pin_old(old, "relay_ct");
	cr_assert_eq(front_load(&o, pin_dir, 4096, 0), -EEXIST, "refused, not reused");
	close(old);
}

/* An upgrade from a build before struct relay_stats_value: its pinned
 * counters (an entry each) are converted, not refused, their counts
 * carried over; the pin is the new map's. */
Test(pin_maps, converts_the_counters_of_one_entry_each, .init = pin_dir_make,
     .fini = pin_dir_remove)
{
	int old = stats_old_layout(), fd;
	struct pin_moves moves = { 0 };
	struct front_objs o = { 0 };
	__u32 old_id;

	fd = pin_moved_alone(old, "relay_stats", &o, &moves, &old_id);
	assert_stats_folded(fd);
	close(fd);
	pin_moves_end(&moves, pin_dir, true);
	front_destroy(&o);
	close(old);
}

/* A front attached by a build before services keeps its configuration in
 * layout 1 (384 bytes, the devices at offsets 20 and 24, version at 336)
 * until an attach by this build: status and detach read it converted (they
 * read ifindex 0 and left the old TC filters behind). The offsets are
 * layout 1's as pinned (git show 70b3a36^1:include/relaybpf.h). */
Test(pin_front_cfg, reads_the_layout_before_services_converted, .init = pin_dir_make,
     .fini = pin_dir_remove)
{
	__u8 v1[384] = { 0 };
	struct relay_front_config cfg, cur = { .version = RELAY_CFG_VERSION, .public_ifindex = 3,
					       .tunnel_ifindex = 4 };
	__u32 zero = 0, put;
	__u16 mss = 1380, mss6 = 1360;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, sizeof(v1), 1, NULL);

	cr_assert_geq(fd, 0);
	v1[17] = 1; /* tunnel_l2 */
	memcpy(v1 + 18, &mss, 2);
	put = 7;
	memcpy(v1 + 20, &put, 4);
	put = 9;
	memcpy(v1 + 24, &put, 4);
	memcpy(v1 + 312, &mss6, 2);
	put = 1;
	memcpy(v1 + 336, &put, 4);
	cr_assert_eq(bpf_map_update_elem(fd, &zero, v1, BPF_ANY), 0);
	pin_old(fd, "relay_front_cfg");
	close(fd);
	cr_assert_eq(pin_front_cfg_read(pin_dir, &cfg), 0);
	cr_assert_eq(cfg.public_ifindex, 7);
	cr_assert_eq(cfg.tunnel_ifindex, 9);
	cr_assert_eq(cfg.tunnel_l2, 1);
	cr_assert_eq(cfg.mss[0], 1380);
	cr_assert_eq(cfg.mss[1], 1360);
	cr_assert_eq(cfg.version, 1);

	/* This build's layout: as it is. */
	pin_dir_remove();
	pin_dir_make();
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, sizeof(cur), 1, NULL);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bpf_map_update_elem(fd, &zero, &cur, BPF_ANY), 0);
	pin_old(fd, "relay_front_cfg");
	close(fd);
	cr_assert_eq(pin_front_cfg_read(pin_dir, &cfg), 0);
	cr_assert_eq(memcmp(&cfg, &cur, sizeof(cfg)), 0);
}

/* A flow as the builds before the 56-byte relay_ct_value pinned it: 72
 * bytes, at the offsets of 2f850d5's include/relaybpf.h (public_ip 0,
 * created_ns 16, last_seen_ns 24, packets 32 and 40, bytes 48 and 56,
 * tcp_state 64, tcp_seen 65, backend_id 66, backend_port 68, svc_epoch 70),
 * written byte by byte so that a wrong old layout in pin.c is seen. */
#define CT_V1_SIZE 72

static void ct_v1_put(int fd, __u32 i, __u64 created_ns, __u64 last_seen_ns)
{
	struct relay_ct_key k = flow_key(i);
	__u8 v[CT_V1_SIZE] = { 0 };
	__u32 pub = 0x0d0c0b0a + i;
	__u64 packets[2] = { (1ULL << 32) + 3 + i, 4 }, bytes[2] = { (1ULL << 40) + i, 2 };
	__u16 backend_id = 9, backend_port = htons(8443), svc_epoch = 11;

	memcpy(v, &pub, sizeof(pub));
	memcpy(v + 16, &created_ns, 8);
	memcpy(v + 24, &last_seen_ns, 8);
	memcpy(v + 32, packets, 16);
	memcpy(v + 48, bytes, 16);
	v[64] = RELAY_TCP_ESTABLISHED;
	v[65] = RELAY_TCP_SEEN_FIN(RELAY_DIR_REPLY);
	memcpy(v + 66, &backend_id, 2);
	memcpy(v + 68, &backend_port, 2);
	memcpy(v + 70, &svc_epoch, 2);
	cr_assert_eq(bpf_map_update_elem(fd, &k, v, BPF_ANY), 0);
}

/* Flow i of ct_v1_put, converted: the stamps in ticks, the packets' low 32
 * bits, everything else as it was. */
static void assert_ct_v1_converted(int fd, __u32 i, __u32 created, __u32 last_seen)
{
	struct relay_ct_key k = flow_key(i);
	struct relay_ct_value v;

	cr_assert_eq(bpf_map_lookup_elem(fd, &k, &v), 0, "flow %u kept", i);
	cr_assert_eq(v.public_ip.v4, 0x0d0c0b0a + i);
	cr_assert_eq(v.public_ip.v6w[1] | v.public_ip.v6w[2] | v.public_ip.v6w[3], 0);
	cr_assert_eq(v.created, created, "flow %u created at tick %u, not %u", i, created,
		     v.created);
	cr_assert_eq(v.last_seen, last_seen, "flow %u last seen at tick %u, not %u", i, last_seen,
		     v.last_seen);
	cr_assert_eq(v.packets[RELAY_DIR_ORIG], 3 + i);
	cr_assert_eq(v.packets[RELAY_DIR_REPLY], 4);
	cr_assert_eq(v.bytes[RELAY_DIR_ORIG], (1ULL << 40) + i);
	cr_assert_eq(v.bytes[RELAY_DIR_REPLY], 2);
	cr_assert_eq(v.tcp_state, RELAY_TCP_ESTABLISHED);
	cr_assert_eq(v.tcp_seen, RELAY_TCP_SEEN_FIN(RELAY_DIR_REPLY));
	cr_assert_eq(v.backend_id, 9);
	cr_assert_eq(v.backend_port, htons(8443));
	cr_assert_eq(v.svc_epoch, 11);
}

/* An upgrade from a front whose flows are 72 bytes: the table is converted,
 * not refused, every flow kept field by field; the pin is the new map's. */
Test(pin_maps, converts_the_flows_of_72_bytes, .init = pin_dir_make, .fini = pin_dir_remove)
{
	int old = map_new(BPF_MAP_TYPE_LRU_HASH, CT_V1_SIZE, 2048), fd;
	struct pin_moves moves = { 0 };
	struct front_objs o = { 0 };
	__u32 old_id;

	for (__u32 i = 0; i < 3; i++)
		ct_v1_put(old, i, (5ULL << RELAY_CT_TICK_SHIFT) + 123,
			  ((7ULL + i) << RELAY_CT_TICK_SHIFT) + 999);
	fd = pin_moved_alone(old, "relay_ct", &o, &moves, &old_id);
	cr_assert_eq(count(fd), 3, "its flows moved");
	for (__u32 i = 0; i < 3; i++)
		assert_ct_v1_converted(fd, i, 5, 7 + i);
	close(fd);
	pin_moves_end(&moves, pin_dir, true);
	front_destroy(&o);
	close(old);
}

/* Converted into a smaller table: the most recently seen flows still go,
 * by their converted stamps. */
Test(map_migrate, keeps_the_most_recent_flows_of_72_bytes)
{
	int from = map_new(BPF_MAP_TYPE_LRU_HASH, CT_V1_SIZE, 4096);
	int to = map_new(BPF_MAP_TYPE_HASH, sizeof(struct relay_ct_value), 256);

	/* Out of order: a later key last seen earlier. */
	for (__u32 i = 0; i < 1000; i++)
		ct_v1_put(from, i, 0, (__u64)(1000 - i) << RELAY_CT_TICK_SHIFT);
	cr_assert_eq(map_migrate(from, to, "relay_ct_new", false), 256);
	for (__u32 i = 0; i < 256; i++)
		assert_ct_v1_converted(to, i, 0, 1000 - i);
	close(from);
	close(to);
}

/* Before the attach that converts them, `status` and `conntrack` read an
 * earlier build's 72-byte flows converted (a 56-byte buffer took 72 bytes
 * a value: the backends counted from the wrong bytes, past the array). */
Test(pin_maps, status_reads_the_flows_of_72_bytes, .init = pin_dir_make, .fini = pin_dir_remove)
{
	int old = map_new(BPF_MAP_TYPE_LRU_HASH, CT_V1_SIZE, 2048);
	__u32 count, max, per_backend[RELAY_MAX_BACKENDS] = { 0 };

	for (__u32 i = 0; i < 70; i++)
		ct_v1_put(old, i, 0, 0);
	pin_old(old, "relay_ct");
	cr_assert_eq(inspect_ct_fill(pin_dir, &count, &max, per_backend), 0);
	cr_assert_eq(count, 70);
	cr_assert_eq(max, 2048);
	cr_assert_eq(per_backend[9], 70, "every flow's backend read (%u)", per_backend[9]);
	close(old);
}

/* Flows' stamps are ticks of ~1.07 s: a burst of flows shares its tick with
 * the connections running then. Among the flows of the threshold's tick the
 * busiest are kept (a stream's among 1000 one-packet flows), and none of a
 * later tick is crowded out by them. */
Test(map_migrate, keeps_the_busiest_flows_of_one_tick)
{
	int from = map_new(BPF_MAP_TYPE_LRU_HASH, sizeof(struct relay_ct_value), 4096);
	int to = map_new(BPF_MAP_TYPE_HASH, sizeof(struct relay_ct_value), 64);

	for (__u32 i = 0; i < 1000; i++) {
		struct relay_ct_key k = flow_key(i);
		/* Flows 0-9: a tick later; every 100th: busy. */
		struct relay_ct_value v = { .last_seen = i < 10 ? 6 : 5,
					    .packets = { 1, i % 100 ? 1 : 500 + i } };

		cr_assert_eq(bpf_map_update_elem(from, &k, &v, BPF_ANY), 0);
	}
	cr_assert_eq(map_migrate(from, to, "relay_ct", false), 64);
	for (__u32 i = 0; i < 1000; i++) {
		struct relay_ct_key k = flow_key(i);
		struct relay_ct_value v;

		if (i < 10 || !(i % 100))
			cr_assert_eq(bpf_map_lookup_elem(to, &k, &v), 0, "flow %u kept", i);
	}
	close(from);
	close(to);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf attach --role back */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "back.h"
#include "back_tunnel.skel.h"
#include "commands.h"
#include "device.h"
#include "netlink.h"
#include "pin.h"
#include "state.h"
#include "sysctl.h"
#include "tc.h"

#define SYSCTL_TCP_FWMARK_ACCEPT "net/ipv4/tcp_fwmark_accept"

int back_state_read(const char *dir, struct relay_back_state *st)
{
	__u32 zero = 0;
	int fd = pin_open(dir, RELAY_BACK_STATE_MAP), err;

	if (fd < 0)
		return fd;
	err = bpf_map_lookup_elem(fd, &zero, st) ? -errno : 0;
	close(fd);
	/* A run killed between pinning the map and filling it recorded
	 * nothing: a zero mark would make the rule's deletion match any rule
	 * of that priority, other tools' included. */
	return err ? err : st->mark ? 0 : -ENOENT;
}

/* Pins the state map (creating it on first attach) with st in it. */
static int back_state_write(const char *dir, const struct relay_back_state *st)
{
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd = pin_open(dir, RELAY_BACK_STATE_MAP), err = 0;

	if (fd < 0) {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, RELAY_BACK_STATE_MAP, sizeof(zero),
				    sizeof(*st), 1, NULL);
		if (fd < 0)
			return -errno;
		relay_path(path, dir, RELAY_BACK_STATE_MAP);
		if (bpf_obj_pin(fd, path))
			err = -errno;
	}
	if (!err && bpf_map_update_elem(fd, &zero, st, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

/* Undoes what a back state records; used by detach and by a failed attach. */
void back_undo(const struct relay_back_state *st)
{
	tc_detach_ingress(st->ifindex);
	nl_route_del_default(st->table, st->ifindex);
	nl_rule_del(AF_INET, st->mark, st->mask, st->table, RELAY_RULE_PRIORITY);
	if (st->prev_tcp_fwmark_accept >= 0)
		sysctl_write(SYSCTL_TCP_FWMARK_ACCEPT, st->prev_tcp_fwmark_accept);
}

/* The table's default route into the tunnel: a point-to-point L3 tunnel
 * needs no gateway, an L2 one does. */
static int back_route(__u32 table, __u32 ifindex, in_addr_t front)
{
	char name[IF_NAMESIZE];

	if (!if_indextoname(ifindex, name))
		return -ENODEV;
	return nl_route_replace_default(table, ifindex, device_is_l2(name) ? front : 0);
}

/*
 * A failed update: put back what the previous attach recorded (old) where
 * this run may have changed it to st. Each step is idempotent, so it does
 * not matter how far the run got.
 */
static void back_restore(const struct relay_back_state *old, const struct relay_back_state *st,
			 const char *dir, in_addr_t front)
{
	struct relay_back_config cfg = { .mark = old->mark, .mask = old->mask };
	__u32 zero = 0;
	int fd = pin_open(dir, "relay_back_cfg");

	if (fd >= 0) {
		bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY);
		close(fd);
	}
	back_state_write(dir, old);
	if (st->mark != old->mark || st->mask != old->mask || st->table != old->table)
		nl_rule_del(AF_INET, st->mark, st->mask, st->table, RELAY_RULE_PRIORITY);
	nl_rule_add(AF_INET, old->mark, old->mask, old->table, RELAY_RULE_PRIORITY);
	if (st->table != old->table)
		nl_route_del_default(st->table, st->ifindex);
	back_route(old->table, old->ifindex, front);
	if (st->ifindex != old->ifindex)
		tc_detach_ingress(st->ifindex);
}

int cmd_attach_back(const struct relay_opts *o)
{
	struct relay_back_state st = { .prev_tcp_fwmark_accept = -1 }, old = { 0 };
	struct relay_back_config cfg = { .mark = o->mark, .mask = o->mask };
	struct back_tunnel *skel = NULL;
	bool was_attached = relay_state_exists("back");
	struct bpf_map *map;
	char dir[PATH_MAX];
	const char *step;
	__u32 zero = 0;
	int err, prev, fd;

	if (!o->dev || !o->front) {
		fprintf(stderr, "relaybpf: attach --role back needs --dev and --front\n");
		return EXIT_USAGE;
	}
	st.ifindex = device_index(o->dev, "--dev");
	if (!st.ifindex)
		return 1;
	st.mark = o->mark;
	st.mask = o->mask;
	st.table = o->table;
	if (relay_state_dir("back", true, dir, sizeof(dir)))
		return 1;
	/* A rerun keeps the values recorded before the first attach. A run
	 * killed before it recorded anything left nothing to take away; a
	 * record that cannot be read stops the update before any change. */
	if (was_attached) {
		err = back_state_read(dir, &old);
		if (err == -ENOENT) {
			was_attached = false;
		} else if (err) {
			fprintf(stderr, "relaybpf: reading %s/%s failed: %s\n", dir,
				RELAY_BACK_STATE_MAP, strerror(-err));
			return 1;
		}
		st.prev_tcp_fwmark_accept = old.prev_tcp_fwmark_accept;
	}

	step = "loading the back program";
	skel = back_tunnel__open();
	if (!skel) {
		err = -errno;
		goto fail;
	}
	/* A rerun keeps the maps (and the counters) of the running program. */
	bpf_object__for_each_map(map, skel->obj) {
		fd = pin_open(dir, bpf_map__name(map));
		if (fd < 0)
			continue;
		err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err)
			goto fail;
	}
	err = back_tunnel__load(skel);
	if (err)
		goto fail;

	step = "writing the configuration";
	fd = bpf_map__fd(skel->maps.relay_back_cfg);
	err = bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY) ? -errno : 0;
	if (!err)
		err = pin_maps(skel->obj, dir);
	if (err)
		goto fail;

	step = "setting " SYSCTL_TCP_FWMARK_ACCEPT;
	if (st.prev_tcp_fwmark_accept < 0) {
		err = sysctl_read(SYSCTL_TCP_FWMARK_ACCEPT, &prev);
		if (err)
			goto fail;
		st.prev_tcp_fwmark_accept = prev;
	}
	/* Recorded before it changes anything, so a failure can be undone. */
	err = back_state_write(dir, &st);
	if (!err)
		err = sysctl_write(SYSCTL_TCP_FWMARK_ACCEPT, 1);
	if (err)
		goto fail;

	step = "adding the fwmark rule";
	err = nl_rule_add(AF_INET, o->mark, o->mask, o->table, RELAY_RULE_PRIORITY);
	if (err)
		goto fail;
	step = "adding the default route of the table";
	err = back_route(o->table, st.ifindex, o->front);
	if (err)
		goto fail;
	step = "attaching the TC filter";
	err = tc_attach_ingress(st.ifindex, bpf_program__fd(skel->progs.relay_back_in));
	if (err)
		goto fail;
	if (was_attached && (old.mark != st.mark || old.mask != st.mask || old.table != st.table ||
			     old.ifindex != st.ifindex)) {
		/* Changed options: take away the old rule and route, keep the new. */
		old.prev_tcp_fwmark_accept = -1;
		if (old.ifindex != st.ifindex)
			tc_detach_ingress(old.ifindex);
		if (old.table != st.table || old.ifindex != st.ifindex)
			nl_route_del_default(old.table, old.ifindex);
		if (old.mark != st.mark || old.mask != st.mask || old.table != st.table)
			nl_rule_del(AF_INET, old.mark, old.mask, old.table, RELAY_RULE_PRIORITY);
	}

	printf("relaybpf: back %s on %s, mark 0x%x/0x%x, table %u\n",
	       was_attached ? "updated" : "attached", o->dev, o->mark, o->mask, o->table);
	back_tunnel__destroy(skel);
	return 0;
fail:
	fprintf(stderr, "relaybpf: %s failed: %s\n", step, strerror(-err));
	if (was_attached) {
		back_restore(&old, &st, dir, o->front);
	} else {
		back_undo(&st);
		relay_state_remove("back");
	}
	back_tunnel__destroy(skel);
	return 1;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf attach --role back */
#include <errno.h>
#include <limits.h>
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

#include <net/if.h>

#define SYSCTL_TCP_FWMARK_ACCEPT "net/ipv4/tcp_fwmark_accept"
#define SYSCTL_FWMARK_REFLECT "net/ipv4/fwmark_reflect"

/* net/ipv4/conf/IF/src_valid_mark: strict rp_filter then checks the
 * tunnel's packets against the route their mark selects (the tunnel), so
 * it can stay strict. Only the tunnel device's setting changes. */
static int src_valid_mark_name(__u32 ifindex, char *out, size_t len)
{
	char name[IF_NAMESIZE];

	if (!if_indextoname(ifindex, name))
		return -errno;
	snprintf(out, len, "net/ipv4/conf/%s/src_valid_mark", name);
	return 0;
}

/* Reads the value a sysctl has before relaybpf changes it (once). */
static int sysctl_record(const char *name, __s32 *prev)
{
	int v, err;

	if (*prev >= 0)
		return 0;
	err = sysctl_read(name, &v);
	if (!err)
		*prev = v;
	return err;
}

int back_state_read(const char *dir, struct relay_back_state *st)
{
	__u32 zero = 0;
	int fd = pin_open(dir, RELAY_BACK_STATE_MAP), err;

	if (fd < 0)
		return fd;
	err = bpf_map_lookup_elem(fd, &zero, st) ? -errno : 0;
	close(fd);
	return err;
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
	char svm[PATH_MAX];

	tc_detach_ingress(st->ifindex);
	nl_route_del_default(st->table, st->ifindex);
	nl_rule_del(AF_INET, st->mark, st->mask, st->table, RELAY_RULE_PRIORITY);
	if (st->throw_dst)
		nl_route_del_throw(st->table, st->throw_dst);
	if (st->prev_tcp_fwmark_accept >= 0)
		sysctl_write(SYSCTL_TCP_FWMARK_ACCEPT, st->prev_tcp_fwmark_accept);
	if (st->prev_fwmark_reflect >= 0)
		sysctl_write(SYSCTL_FWMARK_REFLECT, st->prev_fwmark_reflect);
	if (st->prev_src_valid_mark >= 0 &&
	    !src_valid_mark_name(st->ifindex, svm, sizeof(svm)))
		sysctl_write(svm, st->prev_src_valid_mark);
}

int cmd_attach_back(const struct relay_opts *o)
{
	struct relay_back_state st = { .prev_tcp_fwmark_accept = -1, .prev_fwmark_reflect = -1,
				       .prev_src_valid_mark = -1 }, old;
	struct relay_back_config cfg = { .mark = o->mark, .mask = o->mask };
	struct back_tunnel *skel = NULL;
	bool was_attached = relay_state_exists("back");
	struct bpf_map *map;
	char dir[PATH_MAX], svm[PATH_MAX];
	const char *step;
	__u32 zero = 0;
	int err, fd;

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
	/* A rerun keeps the values recorded before the first attach. */
	if (was_attached && back_state_read(dir, &old) == 0) {
		st.prev_tcp_fwmark_accept = old.prev_tcp_fwmark_accept;
		st.prev_fwmark_reflect = old.prev_fwmark_reflect;
		if (old.ifindex == st.ifindex)
			st.prev_src_valid_mark = old.prev_src_valid_mark;
	}
	/*
	 * A VXLAN device routes its encapsulated packets with the inner
	 * packet's mark: a marked reply would find the table's default route,
	 * the VXLAN device itself, and loop. Its underlay remote is thrown out
	 * of the table so the encapsulated packet takes the host's routes.
	 */
	err = nl_vxlan_remote(st.ifindex, &st.throw_dst);
	if (err) {
		fprintf(stderr, "relaybpf: reading %s's link attributes failed: %s\n", o->dev,
			strerror(-err));
		return 1;
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

	step = "reading the sysctls";
	err = src_valid_mark_name(st.ifindex, svm, sizeof(svm));
	if (!err)
		err = sysctl_record(SYSCTL_TCP_FWMARK_ACCEPT, &st.prev_tcp_fwmark_accept);
	if (!err)
		err = sysctl_record(SYSCTL_FWMARK_REFLECT, &st.prev_fwmark_reflect);
	if (!err)
		err = sysctl_record(svm, &st.prev_src_valid_mark);
	/* Recorded before it changes anything, so a failure can be undone. */
	if (!err)
		err = back_state_write(dir, &st);
	if (err)
		goto fail;
	step = "setting the sysctls";
	/* Replies inherit the mark: TCP from the SYN (tcp_fwmark_accept),
	 * RSTs and ICMP replies/errors from the packet they answer. */
	err = sysctl_write(SYSCTL_TCP_FWMARK_ACCEPT, 1);
	if (!err)
		err = sysctl_write(SYSCTL_FWMARK_REFLECT, 1);
	if (!err)
		err = sysctl_write(svm, 1);
	if (err)
		goto fail;

	step = "adding the fwmark rule";
	err = nl_rule_add(AF_INET, o->mark, o->mask, o->table, RELAY_RULE_PRIORITY);
	if (err)
		goto fail;
	step = "adding the default route of the table";
	/* A point-to-point L3 tunnel needs no gateway; an L2 one does. */
	err = nl_route_replace_default(o->table, st.ifindex, device_is_l2(o->dev) ? o->front : 0);
	if (err)
		goto fail;
	if (st.throw_dst) {
		step = "adding the throw route for the tunnel's underlay remote";
		err = nl_route_add_throw(o->table, st.throw_dst);
		if (err)
			goto fail;
	}
	step = "attaching the TC filter";
	err = tc_attach_ingress(st.ifindex, bpf_program__fd(skel->progs.relay_back_in));
	if (err)
		goto fail;
	if (was_attached && (old.mark != st.mark || old.mask != st.mask || old.table != st.table ||
			     old.ifindex != st.ifindex)) {
		/* Changed options: take away the old rule and route, keep the new. */
		old.prev_tcp_fwmark_accept = -1;
		if (old.ifindex != st.ifindex) {
			tc_detach_ingress(old.ifindex);
			if (old.prev_src_valid_mark >= 0 &&
			    !src_valid_mark_name(old.ifindex, svm, sizeof(svm)))
				sysctl_write(svm, old.prev_src_valid_mark);
		}
		old.prev_fwmark_reflect = -1;
		if (old.ifindex == st.ifindex)
			old.prev_src_valid_mark = -1;
		if (old.table != st.table || old.ifindex != st.ifindex)
			nl_route_del_default(old.table, old.ifindex);
		if (old.throw_dst && (old.table != st.table || old.throw_dst != st.throw_dst))
			nl_route_del_throw(old.table, old.throw_dst);
		if (old.mark != st.mark || old.mask != st.mask || old.table != st.table)
			nl_rule_del(AF_INET, old.mark, old.mask, old.table, RELAY_RULE_PRIORITY);
	}

	printf("relaybpf: back %s on %s, mark 0x%x/0x%x, table %u\n",
	       was_attached ? "updated" : "attached", o->dev, o->mark, o->mask, o->table);
	back_tunnel__destroy(skel);
	return 0;
fail:
	fprintf(stderr, "relaybpf: %s failed: %s\n", step, strerror(-err));
	if (!was_attached) {
		back_undo(&st);
		relay_state_remove("back");
	}
	back_tunnel__destroy(skel);
	return 1;
}

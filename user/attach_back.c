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
#include "back_egress.skel.h"
#include "back_tunnel.skel.h"
#include "commands.h"
#include "device.h"
#include "netlink.h"
#include "pin.h"
#include "state.h"
#include "sysctl.h"
#include "tc.h"

#define SYSCTL_TCP_FWMARK_ACCEPT "net/ipv4/tcp_fwmark_accept"
#define SYSCTL_FWMARK_REFLECT "net/ipv4/fwmark_reflect"

struct back_objs {
	struct back_tunnel *tun;
	struct back_egress *egr;
};

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

static void sysctl_restore_svm(__u32 ifindex, __s32 prev)
{
	char svm[PATH_MAX];

	if (prev >= 0 && !src_valid_mark_name(ifindex, svm, sizeof(svm)))
		sysctl_write(svm, prev);
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

static void egress_detach_all(const struct relay_back_state *st)
{
	for (__u32 i = 0; i < st->n_egress && i < RELAY_MAX_EGRESS; i++)
		tc_detach_egress(st->egress[i]);
}

static bool egress_has(const struct relay_back_state *st, __u32 ifindex)
{
	for (__u32 i = 0; i < st->n_egress && i < RELAY_MAX_EGRESS; i++)
		if (st->egress[i] == ifindex)
			return true;
	return false;
}

/* Undoes what a back state records; used by detach and by a failed attach. */
void back_undo(const struct relay_back_state *st)
{
	tc_detach_ingress(st->ifindex);
	egress_detach_all(st);
	nl_route_del_default(st->table, st->ifindex);
	if (st->throw_dst)
		nl_route_del_throw(st->table, st->throw_dst);
	nl_rule_del(AF_INET, st->mark, st->mask, st->table, RELAY_RULE_PRIORITY);
	if (st->prev_tcp_fwmark_accept >= 0)
		sysctl_write(SYSCTL_TCP_FWMARK_ACCEPT, st->prev_tcp_fwmark_accept);
	if (st->prev_fwmark_reflect >= 0)
		sysctl_write(SYSCTL_FWMARK_REFLECT, st->prev_fwmark_reflect);
	sysctl_restore_svm(st->ifindex, st->prev_src_valid_mark);
}

static void back_destroy(struct back_objs *o)
{
	back_egress__destroy(o->egr);
	back_tunnel__destroy(o->tun);
}

/* Loads both programs on one set of maps: the pinned ones if attached. */
static int back_load(struct back_objs *o, const char *dir)
{
	struct bpf_map *map;
	int fd, err;

	o->tun = back_tunnel__open();
	o->egr = back_egress__open();
	if (!o->tun || !o->egr)
		return -errno;
	/* A rerun keeps the maps (flows, counters) of the running programs. */
	bpf_object__for_each_map(map, o->tun->obj) {
		fd = pin_open(dir, bpf_map__name(map));
		if (fd < 0)
			continue;
		err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err)
			return err;
	}
	err = back_tunnel__load(o->tun);
	if (err)
		return err;
	bpf_object__for_each_map(map, o->egr->obj) {
		struct bpf_map *own = bpf_object__find_map_by_name(o->tun->obj,
								   bpf_map__name(map));

		if (own && (err = bpf_map__reuse_fd(map, bpf_map__fd(own))))
			return err;
	}
	return back_egress__load(o->egr);
}

/* The devices of the default routes, but the tunnel and non-Ethernet ones:
 * where a reply that inherited no mark leaves. */
static void egress_devices(struct relay_back_state *st)
{
	int devs[RELAY_MAX_EGRESS], n = nl_default_route_devs(devs, RELAY_MAX_EGRESS);
	char name[IF_NAMESIZE];

	st->n_egress = 0;
	for (int i = 0; i < n; i++) {
		if ((__u32)devs[i] == st->ifindex || !if_indextoname(devs[i], name))
			continue;
		if (!device_is_l2(name)) {
			fprintf(stderr, "relaybpf: %s is not an Ethernet device: UDP replies "
					"leaving by it are not fixed\n", name);
			continue;
		}
		st->egress[st->n_egress++] = devs[i];
	}
}

int cmd_attach_back(const struct relay_opts *o)
{
	struct relay_back_state st = { .prev_tcp_fwmark_accept = -1, .prev_fwmark_reflect = -1,
				       .prev_src_valid_mark = -1 }, old;
	struct relay_back_config cfg = { .mark = o->mark, .mask = o->mask, .front = o->front };
	struct back_objs objs = { 0 };
	bool was_attached = relay_state_exists("back");
	char dir[PATH_MAX], svm[PATH_MAX];
	const char *step;
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
	cfg.tunnel_l2 = device_is_l2(o->dev);
	if (relay_state_dir("back", true, dir, sizeof(dir)))
		return 1;
	/* A rerun keeps the values recorded before the first attach. */
	if (was_attached && back_state_read(dir, &old) == 0) {
		st.prev_tcp_fwmark_accept = old.prev_tcp_fwmark_accept;
		st.prev_fwmark_reflect = old.prev_fwmark_reflect;
		if (old.ifindex == st.ifindex)
			st.prev_src_valid_mark = old.prev_src_valid_mark;
	} else {
		was_attached = false;
	}
	/*
	 * A VXLAN device routes its encapsulated packets with the inner
	 * packet's mark: a marked reply would find the table's default route,
	 * the VXLAN device itself, and loop. Its underlay remote is thrown out
	 * of the table so the encapsulated packet takes the host's routes.
	 */
	step = "reading the tunnel's link attributes";
	err = nl_vxlan_remote(st.ifindex, &st.throw_dst);
	if (err)
		goto fail;
	egress_devices(&st);

	step = "loading the back programs";
	err = back_load(&objs, dir);
	if (err)
		goto fail;
	step = "writing the configuration";
	fd = bpf_map__fd(objs.tun->maps.relay_back_cfg);
	err = bpf_map_update_elem(fd, &st.ifindex, &cfg, BPF_ANY) ? -errno : 0;
	if (!err && was_attached && old.ifindex != st.ifindex)
		bpf_map_delete_elem(fd, &old.ifindex);
	if (!err)
		err = pin_maps(objs.tun->obj, dir);
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
	err = nl_route_replace_default(o->table, st.ifindex, cfg.tunnel_l2 ? o->front : 0);
	if (err)
		goto fail;
	if (st.throw_dst) {
		step = "adding the throw route for the tunnel's underlay remote";
		err = nl_route_add_throw(o->table, st.throw_dst);
		if (err)
			goto fail;
	}
	step = "attaching the TC ingress filter";
	err = tc_attach_ingress(st.ifindex, bpf_program__fd(objs.tun->progs.relay_back_in));
	if (err)
		goto fail;
	step = "attaching the TC egress filters";
	for (__u32 i = 0; i < st.n_egress && !err; i++)
		err = tc_attach_egress(st.egress[i],
				       bpf_program__fd(objs.egr->progs.relay_back_out));
	if (err)
		goto fail;
	if (was_attached) {
		/* Changed options: take away what only the old ones installed. */
		if (old.ifindex != st.ifindex) {
			tc_detach_ingress(old.ifindex);
			sysctl_restore_svm(old.ifindex, old.prev_src_valid_mark);
		}
		for (__u32 i = 0; i < old.n_egress && i < RELAY_MAX_EGRESS; i++)
			if (!egress_has(&st, old.egress[i]))
				tc_detach_egress(old.egress[i]);
		if (old.table != st.table || old.ifindex != st.ifindex)
			nl_route_del_default(old.table, old.ifindex);
		if (old.throw_dst && (old.table != st.table || old.throw_dst != st.throw_dst))
			nl_route_del_throw(old.table, old.throw_dst);
		if (old.mark != st.mark || old.mask != st.mask || old.table != st.table)
			nl_rule_del(AF_INET, old.mark, old.mask, old.table, RELAY_RULE_PRIORITY);
	}

	printf("relaybpf: back %s on %s, mark 0x%x/0x%x, table %u, UDP fix-up on %u device%s\n",
	       was_attached ? "updated" : "attached", o->dev, o->mark, o->mask, o->table,
	       st.n_egress, st.n_egress == 1 ? "" : "s");
	back_destroy(&objs);
	return 0;
fail:
	fprintf(stderr, "relaybpf: %s failed: %s\n", step, strerror(-err));
	if (!was_attached) {
		back_undo(&st);
		relay_state_remove("back");
	}
	back_destroy(&objs);
	return 1;
}

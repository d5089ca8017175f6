// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The back role's state in bpffs, and undoing what it records. */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>

#include "back.h"
#include "device.h"
#include "netlink.h"
#include "pin.h"
#include "relaybpf.h"
#include "state.h"
#include "sysctl.h"
#include "tc.h"

/* Opens dir/name, creating and pinning the map if it is not there. */
static int state_map(const char *dir, const char *name, enum bpf_map_type type, __u32 key_size,
		     __u32 value_size, __u32 max)
{
	char path[PATH_MAX];
	int fd = pin_open(dir, name);

	if (fd >= 0)
		return fd;
	fd = bpf_map_create(type, name, key_size, value_size, max, NULL);
	if (fd < 0)
		return -errno;
	relay_path(path, dir, name);
	if (bpf_obj_pin(fd, path)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
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

int back_state_write(const char *dir, const struct relay_back_state *st)
{
	__u32 zero = 0;
	int fd = state_map(dir, RELAY_BACK_STATE_MAP, BPF_MAP_TYPE_ARRAY, sizeof(zero),
			   sizeof(*st), 1), err;

	if (fd < 0)
		return fd;
	err = bpf_map_update_elem(fd, &zero, st, BPF_ANY) ? -errno : 0;
	close(fd);
	return err;
}

int back_tunnels_read(const char *dir, struct relay_back_tunnel *out, int max)
{
	int fd = pin_open(dir, RELAY_BACK_TUNS_MAP), n = 0;
	__u32 key, *prev = NULL;

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	memset(out, 0, max * sizeof(*out));
	while (n < max && bpf_map_get_next_key(fd, prev, &key) == 0) {
		if (bpf_map_lookup_elem(fd, &key, &out[n])) {
			n = -errno;
			break;
		}
		prev = &key;
		n++;
	}
	/* The end of the map, or a read that failed (nothing to act on). */
	if (n >= 0 && n < max && errno != ENOENT)
		n = -errno;
	close(fd);
	return n;
}

int back_tunnel_write(const char *dir, const struct relay_back_tunnel *t)
{
	int fd = state_map(dir, RELAY_BACK_TUNS_MAP, BPF_MAP_TYPE_HASH, sizeof(t->ifindex),
			   sizeof(*t), RELAY_MAX_TUNNELS), err;

	if (fd < 0)
		return fd;
	err = bpf_map_update_elem(fd, &t->ifindex, t, BPF_ANY) ? -errno : 0;
	close(fd);
	return err;
}

static void map_delete(const char *dir, const char *name, __u32 key)
{
	int fd = pin_open(dir, name);

	if (fd >= 0) {
		bpf_map_delete_elem(fd, &key);
		close(fd);
	}
}

int src_valid_mark_name(__u32 ifindex, char *out, size_t len)
{
	char name[IF_NAMESIZE];

	if (!if_indextoname(ifindex, name))
		return -errno;
	snprintf(out, len, "net/ipv4/conf/%s/src_valid_mark", name);
	return 0;
}

/* A packet could carry both marks: the two rules would compete. */
static bool marks_overlap(__u32 m1, __u32 k1, __u32 m2, __u32 k2)
{
	return (m1 & k1 & k2) == (m2 & k1 & k2);
}

/* The tunnel (other than t's device) already using t's mark or table. */
static const struct relay_back_tunnel *conflict(const struct relay_back_tunnel *t,
						const struct relay_back_tunnel *tuns, int n,
						bool mark)
{
	for (int i = 0; i < n; i++) {
		if (tuns[i].ifindex == t->ifindex)
			continue;
		if (mark ? marks_overlap(t->mark, t->mask, tuns[i].mark, tuns[i].mask)
			 : t->table == tuns[i].table)
			return &tuns[i];
	}
	return NULL;
}

int back_allocate(struct relay_back_tunnel *t, bool mark_given, bool table_given,
		  const struct relay_back_tunnel *tuns, int n)
{
	const struct relay_back_tunnel *c;
	char name[IF_NAMESIZE] = "?";
	__u32 step = t->mask & -t->mask;

	for (int i = 0; (c = conflict(t, tuns, n, true)); i++) {
		if (mark_given || i == 64) {
			if_indextoname(c->ifindex, name);
			fprintf(stderr, "relaybpf: mark 0x%x/0x%x is %s by the tunnel on %s\n",
				t->mark, t->mask, mark_given ? "used" : "all taken", name);
			return -EEXIST;
		}
		do
			t->mark = (t->mark + step) & t->mask;
		while (!t->mark);
	}
	for (int i = 0; (c = conflict(t, tuns, n, false)); i++) {
		if (table_given || i == 64) {
			if_indextoname(c->ifindex, name);
			fprintf(stderr, "relaybpf: table %u is %s by the tunnel on %s\n", t->table,
				table_given ? "used" : "all taken", name);
			return -EEXIST;
		}
		do
			t->table++;
		while (t->table >= 253 && t->table <= 255);
	}
	return 0;
}

const struct relay_back_family relay_back_families[2] = {
	{ AF_INET, RELAY_BACK_V4, "IPv4" },
	{ AF_INET6, RELAY_BACK_V6, "IPv6" },
};

int back_routing_add(const struct relay_back_tunnel *t, const struct relay_back_config *cfg)
{
	int err = 0;

	for (int i = 0; i < 2 && !err; i++) {
		const struct relay_back_family *f = &relay_back_families[i];
		const void *gw = NULL;

		if (!(t->families & f->bit))
			continue;
		err = nl_rule_main_add(f->af, t->mark, t->mask, RELAY_RULE_MAIN_PRIORITY);
		if (!err)
			err = nl_rule_add(f->af, t->mark, t->mask, t->table, RELAY_RULE_PRIORITY);
		if (err || !cfg)
			continue;
		/* A point-to-point L3 tunnel needs no gateway; an L2 one does. */
		if (cfg->tunnel_l2)
			gw = f->af == AF_INET ? (const void *)&cfg->front : cfg->front6.v6;
		err = nl_route_replace_default(f->af, t->table, t->ifindex, gw);
	}
	return err;
}

void back_routing_del(const struct relay_back_tunnel *t, __u8 families, bool rules, bool routes)
{
	for (int i = 0; i < 2; i++) {
		const struct relay_back_family *f = &relay_back_families[i];

		if (!(families & f->bit))
			continue;
		if (routes)
			nl_route_del_default(f->af, t->table, t->ifindex);
		if (rules) {
			nl_rule_del(f->af, t->mark, t->mask, t->table, RELAY_RULE_PRIORITY);
			nl_rule_main_del(f->af, t->mark, t->mask, RELAY_RULE_MAIN_PRIORITY);
		}
	}
}

void back_tunnel_undo(const char *dir, const struct relay_back_tunnel *t)
{
	char svm[PATH_MAX];

	tc_detach_ingress(t->ifindex);
	tc_detach_egress(t->ifindex);
	back_routing_del(t, RELAY_BACK_V4 | RELAY_BACK_V6, true, true);
	if (t->throw_dst.family)
		nl_route_del_throw(t->table, &t->throw_dst);
	if (t->prev_src_valid_mark >= 0 && !src_valid_mark_name(t->ifindex, svm, sizeof(svm)))
		sysctl_write(svm, t->prev_src_valid_mark);
	map_delete(dir, "relay_back_cfg", t->ifindex);
	map_delete(dir, RELAY_BACK_TUNS_MAP, t->ifindex);
}

void back_state_undo(const struct relay_back_state *st)
{
	for (__u32 i = 0; i < st->n_egress && i < RELAY_MAX_EGRESS; i++)
		tc_detach_egress(st->egress[i]);
	if (st->prev_tcp_fwmark_accept >= 0)
		sysctl_write(SYSCTL_TCP_FWMARK_ACCEPT, st->prev_tcp_fwmark_accept);
	if (st->prev_fwmark_reflect >= 0)
		sysctl_write(SYSCTL_FWMARK_REFLECT, st->prev_fwmark_reflect);
	if (st->prev_fwmark_reflect6 >= 0)
		sysctl_write(SYSCTL_FWMARK_REFLECT6, st->prev_fwmark_reflect6);
}

int back_detach(const char *dir, __u32 ifindex)
{
	struct relay_back_tunnel tuns[RELAY_MAX_TUNNELS];
	struct relay_back_state st;
	int n = back_tunnels_read(dir, tuns, RELAY_MAX_TUNNELS), done = 0;

	for (int i = 0; i < n; i++) {
		if (ifindex && tuns[i].ifindex != ifindex)
			continue;
		back_tunnel_undo(dir, &tuns[i]);
		done++;
	}
	if (done < n && n > 0)
		return done;
	/* The last tunnel is gone (or the state is unreadable): everything. */
	if (back_state_read(dir, &st) == 0)
		back_state_undo(&st);
	relay_state_remove("back");
	return done ? done : n == 0;
}

/* The devices of the default routes, but the tunnels and non-Ethernet ones:
 * where a reply that inherited no mark leaves. */
void back_egress_devices(struct relay_back_state *st, const struct relay_back_tunnel *tuns,
			 int n_tuns)
{
	int devs[RELAY_MAX_EGRESS], n = nl_default_route_devs(AF_UNSPEC, RT_TABLE_MAIN, devs,
								 RELAY_MAX_EGRESS);
	char name[IF_NAMESIZE];

	st->n_egress = 0;
	for (int i = 0; i < n; i++) {
		bool tunnel = false;

		for (int t = 0; t < n_tuns; t++)
			tunnel |= tuns[t].ifindex == (__u32)devs[i];
		if (tunnel || !if_indextoname(devs[i], name))
			continue;
		if (!device_is_l2(name)) {
			fprintf(stderr, "relaybpf: %s is not an Ethernet device: UDP replies "
					"leaving by it are not fixed\n", name);
			continue;
		}
		st->egress[st->n_egress++] = devs[i];
	}
}

bool back_table_route_present(int af, __u32 table, __u32 ifindex)
{
	int devs[8], n = nl_default_route_devs(af, table, devs, 8);

	for (int i = 0; i < n; i++)
		if (devs[i] == (int)ifindex)
			return true;
	return false;
}

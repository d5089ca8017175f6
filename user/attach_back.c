// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf attach --role back: one tunnel device per run; a backend that
 * serves several fronts runs it once per tunnel. */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "back.h"
#include "back_egress.skel.h"
#include "back_tunnel.skel.h"
#include "commands.h"
#include "compat.h"
#include "device.h"
#include "netlink.h"
#include "pin.h"
#include "state.h"
#include "sysctl.h"
#include "tc.h"

struct back_objs {
	struct back_tunnel *tun;
	struct back_egress *egr;
};

static void back_destroy(struct back_objs *o)
{
	back_egress__destroy(o->egr);
	back_tunnel__destroy(o->tun);
}

/* Loads both programs on one set of maps: the pinned ones if attached. */
static int back_load(struct back_objs *o, const char *dir)
{
	int err;

	o->tun = back_tunnel__open();
	o->egr = back_egress__open();
	if (!o->tun || !o->egr)
		return -errno;
	o->egr->rodata->relay_has_l4_ipv6 = relay_features()->l4_csum_ipv6;
	err = pin_reuse_maps(o->tun->obj, dir);
	if (!err)
		err = back_tunnel__load(o->tun);
	if (!err)
		err = share_maps(o->egr->obj, o->tun->obj);
	if (err)
		return err;
	return back_egress__load(o->egr);
}

/* What the attach installs, by pin name: the configuration map and the
 * programs. */
enum { BACK_FD_CFG, BACK_FD_IN, BACK_FD_FOLLOW, BACK_FD_OUT, BACK_FDS };
static const char *const back_pins[BACK_FDS] = { "relay_back_cfg", "relay_back_in",
						 "relay_back_follow", "relay_back_out" };

/*
 * With reuse (a daemon's repair), the ones the previous attach pinned:
 * nothing is loaded, the fds are ours to close. Else (or if they are not
 * all pinned) loaded on the pinned maps and pinned; the fds are the
 * skeletons'.
 */
static int back_programs(struct back_objs *objs, int fds[BACK_FDS], const char *dir, bool reuse,
			 struct pin_moves *moves)
{
	int err;

	if (reuse && !pin_open_all(dir, back_pins, fds, BACK_FDS))
		return 0;
	err = back_load(objs, dir);
	return err ? err : pin_role(dir, (struct bpf_object *[]){ objs->tun->obj, objs->egr->obj },
				    2, back_pins, fds, BACK_FDS, moves);
}

static void back_release(struct back_objs *objs, int fds[BACK_FDS])
{
	if (!objs->tun)
		fds_close(fds, BACK_FDS);
	back_destroy(objs);
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

static bool egress_has(const struct relay_back_state *st, __u32 ifindex)
{
	for (__u32 i = 0; i < st->n_egress && i < RELAY_MAX_EGRESS; i++)
		if (st->egress[i] == ifindex)
			return true;
	return false;
}

/*
 * A failed update of an attached tunnel: what only the new options added
 * goes, the previous rule, route, configuration and record are put back.
 * (The previous rule and route are removed only after a successful update.)
 */
static void back_update_undo(const char *dir, const struct relay_back_tunnel *old,
			     const struct relay_back_tunnel *t, int cfg_fd,
			     const struct relay_back_config *old_cfg)
{
	bool rule_changed = old->mark != t->mark || old->mask != t->mask ||
			    old->table != t->table;
	__u8 added = t->families & ~old->families;

	back_routing_del(t, rule_changed ? t->families : added, true, false);
	back_routing_del(t, old->table != t->table ? t->families : added, false, true);
	if (old->table != t->table && t->throw_dst.family)
		nl_route_del_throw(t->table, &t->throw_dst);
	back_routing_add(old, old_cfg);
	if (old_cfg)
		bpf_map_update_elem(cfg_fd, &old->ifindex, old_cfg, BPF_ANY);
	if (old->throw_dst.family)
		nl_route_add_throw(old->table, &old->throw_dst);
	back_tunnel_write(dir, old);
}

int cmd_attach_back(const struct relay_opts *o)
{
	struct relay_back_state st = { .prev_tcp_fwmark_accept = -1, .prev_fwmark_reflect = -1,
				       .prev_fwmark_reflect6 = -1 };
	struct relay_back_state old_st;
	struct relay_back_tunnel tuns[RELAY_MAX_TUNNELS], t = { .prev_src_valid_mark = -1 };
	struct relay_back_tunnel old = { 0 };
	struct relay_back_config cfg = { .front = o->front, .version = RELAY_CFG_VERSION };
	bool v6 = !IN6_IS_ADDR_UNSPECIFIED(&o->front6);
	struct back_objs objs = { 0 };
	struct pin_moves moves = { 0 };
	int fds[BACK_FDS] = { -1, -1, -1, -1 };
	bool had_state, had_tunnel = false, changing = false, vxlan;
	char dir[PATH_MAX], svm[PATH_MAX];
	const char *step;
	struct relay_back_config old_cfg;
	bool have_old_cfg = false;
	int err, cfg_fd = -1, n;

	if (!o->dev || (!o->front && !v6)) {
		fprintf(stderr, "relaybpf: attach --role back needs --dev and --front\n");
		return EXIT_USAGE;
	}
	t.ifindex = device_index(o->dev, "--dev");
	if (!t.ifindex)
		return 1;
	if (relay_state_dir("back", true, dir, sizeof(dir)))
		return 1;
	/* A record that exists but cannot be read stops the run before it
	 * changes anything: acting on a guess could undo the wrong things or
	 * record relaybpf's own sysctl values as the host's. */
	err = back_state_read(dir, &old_st);
	n = back_tunnels_read(dir, tuns, RELAY_MAX_TUNNELS);
	if ((err && err != -ENOENT) || n < 0) {
		fprintf(stderr, "relaybpf: reading the back's recorded state in %s failed: %s\n", dir,
			strerror(n < 0 ? -n : -err));
		relay_state_prune(dir);
		return 1;
	}
	had_state = err == 0;
	if (had_state)
		st = old_st; /* keeps the values recorded before the first attach */
	for (int i = 0; i < n; i++) {
		if (tuns[i].ifindex == t.ifindex) {
			old = tuns[i];
			had_tunnel = true;
		}
	}
	if (!had_tunnel && n >= RELAY_MAX_TUNNELS) {
		fprintf(stderr, "relaybpf: %d tunnels are attached already\n", n);
		err = -ENOSPC;
		step = "adding a tunnel";
		goto fail;
	}
	/* Options not given mean their defaults, on a rerun too (the next
	 * free pair when another tunnel holds them; this tunnel's own pair is
	 * free to it, so a rerun with the same options changes nothing). */
	t.mark = o->mark;
	t.mask = o->mask;
	t.table = o->table;
	t.prev_src_valid_mark = had_tunnel ? old.prev_src_valid_mark : -1;
	t.families = (o->front ? RELAY_BACK_V4 : 0) | (v6 ? RELAY_BACK_V6 : 0);
	memcpy(cfg.front6.v6, &o->front6, sizeof(cfg.front6.v6));
	step = "choosing the mark and table";
	err = back_allocate(&t, o->mark_given, o->table_given, tuns, n);
	if (err)
		goto fail;
	cfg.mark = t.mark;
	cfg.mask = t.mask;
	cfg.tunnel_l2 = device_is_l2(o->dev);
	/*
	 * A VXLAN device routes its encapsulated packets with the inner
	 * packet's mark: a marked reply would find the table's default route,
	 * the VXLAN device itself, and loop. Its underlay remote is thrown out
	 * of the table so the encapsulated packet takes the host's routes.
	 */
	step = "reading the tunnel's link attributes";
	err = nl_tunnel_remote(t.ifindex, &t.throw_dst, &vxlan);
	if (err)
		goto fail;
	if (!vxlan)
		memset(&t.throw_dst, 0, sizeof(t.throw_dst));
	if (!had_tunnel)
		tuns[n++] = t;
	back_egress_devices(&st, tuns, n);

	/* From here on a failure has something to undo. */
	changing = true;
	step = "loading the back programs";
	err = back_programs(&objs, fds, dir, o->reuse_pinned, &moves);
	if (err)
		goto fail;
	step = "writing the configuration";
	cfg_fd = fds[BACK_FD_CFG];
	have_old_cfg = had_tunnel && bpf_map_lookup_elem(cfg_fd, &t.ifindex, &old_cfg) == 0;
	if (have_old_cfg)
		pin_cfg_version_note("back", old_cfg.version);
	err = bpf_map_update_elem(cfg_fd, &t.ifindex, &cfg, BPF_ANY) ? -errno : 0;
	if (err)
		goto fail;

	step = "reading the sysctls";
	err = src_valid_mark_name(t.ifindex, svm, sizeof(svm));
	if (!err)
		err = sysctl_record(SYSCTL_TCP_FWMARK_ACCEPT, &st.prev_tcp_fwmark_accept);
	if (!err)
		err = sysctl_record(SYSCTL_FWMARK_REFLECT, &st.prev_fwmark_reflect);
	if (!err && v6)
		err = sysctl_record(SYSCTL_FWMARK_REFLECT6, &st.prev_fwmark_reflect6);
	if (!err)
		err = sysctl_record(svm, &t.prev_src_valid_mark);
	/* Recorded before anything changes, so a failure can be undone. */
	if (!err)
		err = back_tunnel_write(dir, &t);
	if (!err)
		err = back_state_write(dir, &st);
	if (err)
		goto fail;
	step = "setting the sysctls";
	/* Replies inherit the mark: TCP from the SYN (tcp_fwmark_accept, both
	 * families), RSTs and ICMP replies/errors from the packet they answer
	 * (fwmark_reflect, one per family). */
	err = sysctl_write(SYSCTL_TCP_FWMARK_ACCEPT, 1);
	if (!err)
		err = sysctl_write(SYSCTL_FWMARK_REFLECT, 1);
	if (!err && v6)
		err = sysctl_write(SYSCTL_FWMARK_REFLECT6, 1);
	if (!err)
		err = sysctl_write(svm, 1);
	if (err)
		goto fail;

	step = "adding the fwmark rules and the default routes of the table";
	err = back_routing_add(&t, &cfg);
	if (err)
		goto fail;
	if (t.throw_dst.family) {
		step = "adding the throw route for the tunnel's underlay remote";
		err = nl_route_add_throw(t.table, &t.throw_dst);
		if (err)
			goto fail;
	}
	step = "attaching the TC egress filters";
	for (__u32 i = 0; i < st.n_egress && !err; i++)
		err = tc_attach_egress(st.egress[i], fds[BACK_FD_OUT]);
	if (err)
		goto fail;
	/* Every tunnel runs this attach's programs, the ones attached before
	 * too: they may run a build's without relay_back_follow, or the old
	 * maps (pin_maps moved them), and status compares each filter with
	 * the pinned program. A flow may move from any tunnel to this one.
	 * A tunnel whose device is gone is status's to report. */
	step = "attaching the tunnels' TC filters";
	for (int i = 0; i < n && !err; i++) {
		char name[IF_NAMESIZE];

		if (tuns[i].ifindex != t.ifindex && !if_indextoname(tuns[i].ifindex, name))
			continue;
		err = tc_attach_ingress(tuns[i].ifindex, fds[BACK_FD_IN]);
		if (!err)
			err = tc_attach_egress(tuns[i].ifindex, fds[BACK_FD_FOLLOW]);
	}
	if (err)
		goto fail;
	pin_moves_end(&moves, dir, true);
	/* What only the previous options installed goes. */
	for (__u32 i = 0; had_state && i < old_st.n_egress && i < RELAY_MAX_EGRESS; i++)
		if (!egress_has(&st, old_st.egress[i]))
			tc_detach_egress(old_st.egress[i]);
	if (had_tunnel) {
		bool rule_changed = old.mark != t.mark || old.mask != t.mask ||
				    old.table != t.table;
		__u8 dropped = old.families & ~t.families;

		back_routing_del(&old, old.table != t.table ? old.families : dropped, false, true);
		if (old.throw_dst.family &&
		    (old.table != t.table || !ip_key_eq(&old.throw_dst, &t.throw_dst)))
			nl_route_del_throw(old.table, &old.throw_dst);
		back_routing_del(&old, rule_changed ? old.families : dropped, true, false);
	}

	printf("relaybpf: back %s on %s, mark 0x%x/0x%x, table %u, UDP fix-up on %u device%s\n",
	       had_tunnel ? "updated" : "attached", o->dev, t.mark, t.mask, t.table, st.n_egress,
	       st.n_egress == 1 ? "" : "s");
	back_release(&objs, fds);
	return 0;
fail:
	fprintf(stderr, "relaybpf: %s failed: %s\n", step, strerror(-err));
	pin_moves_end(&moves, dir, false);
	/* A new tunnel is taken away whole; a rerun puts back what ran before. */
	if (changing && !had_tunnel)
		back_tunnel_undo(dir, &t);
	if (changing && had_tunnel)
		back_update_undo(dir, &old, &t, cfg_fd, have_old_cfg ? &old_cfg : NULL);
	if (!had_state) {
		back_state_undo(&st);
		relay_state_remove("back");
	}
	back_release(&objs, fds);
	return 1;
}

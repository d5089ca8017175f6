// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Every piece an attached role relies on, checked against the kernel. */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "back.h"
#include "device.h"
#include "front.h"
#include "health.h"
#include "inspect.h"
#include "netlink.h"
#include "options.h"
#include "pin.h"
#include "state.h"
#include "sysctl.h"
#include "tc.h"

static __attribute__((format(printf, 2, 3))) void problem(struct relay_problems *p,
							  const char *fmt, ...)
{
	va_list ap;

	if (p->n >= RELAY_MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	/* clang-tidy 14's analyzer does not see the va_start above. */
	vsnprintf(p->msg[p->n++], RELAY_PROBLEM_LEN, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
}

static __u32 pinned_prog_id(const char *dir, const char *name)
{
	int fd = pin_open(dir, name);
	__u32 id = fd >= 0 ? inspect_prog_id(fd) : 0;

	if (fd >= 0)
		close(fd);
	return id;
}

/* A map pinned by an attach of another build (another struct layout, or
 * fewer entries than this build counts in): this binary would misread it,
 * and the datapath runs the other build's code. */
static void check_layout(const char *dir, const char *map, __u32 value_size, __u32 min_entries,
			 struct relay_problems *p)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = pin_open(dir, map);

	if (fd < 0) {
		problem(p, "pinned map %s is missing from %s", map, dir);
		return;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.value_size = value_size; /* unreadable: nothing to compare */
	if (info.value_size != value_size)
		problem(p, "pinned map %s has %u-byte values, this relaybpf uses %u: attached by "
			   "another version; attach again", map, info.value_size, value_size);
	else if (info.max_entries && info.max_entries < min_entries)
		problem(p, "pinned map %s has %u entries, this relaybpf uses %u: attached by "
			   "another version; attach again", map, info.max_entries, min_entries);
	close(fd);
}

/* The other filters on the hook, noted as foreign (struct relay_foreign_filter). */
static void note_foreign(const char *dev, __u32 ifindex, bool egress, struct relay_problems *p)
{
	struct nl_tc_filter f[RELAY_MAX_FOREIGN];
	int n = nl_tc_filters(ifindex, egress, RELAY_TC_PRIORITY, RELAY_TC_HANDLE, f,
			      RELAY_MAX_FOREIGN);

	for (int i = 0; i < n && p->n_foreign < RELAY_MAX_FOREIGN; i++) {
		struct relay_foreign_filter *ff = &p->foreign[p->n_foreign++];

		snprintf(ff->dev, sizeof(ff->dev), "%s", dev);
		ff->egress = egress;
		ff->before = f[i].prio <= RELAY_TC_PRIORITY;
		ff->prio = f[i].prio;
		snprintf(ff->kind, sizeof(ff->kind), "%s", f[i].kind);
	}
}

/*
 * DEV's TC filter (relaybpf's handle and priority) on HOOK runs the program
 * pinned as PIN. WHAT names the device's role, UP whether it must be up.
 * The hook's other filters are noted (note_foreign).
 */
static void check_filter(const char *dir, __u32 ifindex, bool egress, const char *pin,
			 const char *what, bool up, struct relay_problems *p)
{
	const char *hook = egress ? "egress" : "ingress";
	__u32 want = pinned_prog_id(dir, pin), got;
	char name[IF_NAMESIZE];

	if (!if_indextoname(ifindex, name)) {
		problem(p, "%s (ifindex %u) is gone", what, ifindex);
		return;
	}
	if (up && !device_is_up(name))
		problem(p, "%s %s is down", what, name);
	got = egress ? tc_egress_prog_id(ifindex) : tc_ingress_prog_id(ifindex);
	if (!got)
		problem(p, "%s %s: relaybpf's tc %s filter is missing", what, name, hook);
	else if (got != want)
		problem(p, "%s %s: the tc %s filter runs program id %u, not the pinned %s (id %u)",
			what, name, hook, got, pin, want);
	note_foreign(name, ifindex, egress, p);
}

/* The XDP link attach pinned, if any, still holds the device's XDP hook. */
static void check_xdp(const char *dir, __u32 public_ifindex, struct relay_problems *p)
{
	struct bpf_link_info info = { 0 };
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	relay_path(path, dir, "relay_front_xdp_link");
	fd = bpf_obj_get(path);
	if (fd < 0)
		return; /* no --xdp-mode */
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.xdp.ifindex != public_ifindex ||
	    bpf_xdp_query(public_ifindex, 0, &q) || q.prog_id != info.prog_id)
		problem(p, "the XDP fast path is no longer attached to the public device");
	close(fd);
}

/* Every public address is still one of this host's: renumbered (DHCP, a
 * changed static address), the relay waits for traffic that no longer
 * comes and the new address is the host's alone. An address of no device
 * that the host takes by a local route (AnyIP, `ip route add local VIP
 * dev lo`) counts: behind FRR a VIP must not be an interface address,
 * whose connected route would shadow the announced one
 * (docs/scale-out.md). */
static void check_public_addrs(const char *dir, struct relay_problems *p)
{
	struct relay_ip_key key, *prev = NULL, have[RELAY_MAX_PUBLIC_ADDRS * 2];
	int fd = pin_open(dir, "relay_front_pub"), n4, n6;

	if (fd < 0)
		return; /* check_layout said so */
	n4 = nl_addrs(0, AF_INET, have, RELAY_MAX_PUBLIC_ADDRS);
	n4 = n4 > 0 ? n4 : 0;
	n6 = nl_addrs(0, AF_INET6, have + n4, RELAY_MAX_PUBLIC_ADDRS);
	n6 = n6 > 0 ? n6 : 0;
	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		bool found = false;

		for (int i = 0; i < n4 + n6 && !found; i++)
			found = ip_key_eq(&key, &have[i]);
		if (!found && nl_local_route_exists(&key) != 1) {
			char a[IP_STR_LEN];

			problem(p, "public address %s is no address of this host any more",
				ip_key_str(key.family, &key.addr, a));
		}
		prev = &key;
	}
	close(fd);
}

/* Every service with backends of a family has one up (n_up): else its
 * clients of that family are refused, and `status` says degraded. */
static void check_services(const char *dir, const struct relay_front_config *cfg,
			   struct relay_problems *p)
{
	static const char *const fam[2] = { "IPv4", "IPv6" };
	int fd = pin_open(dir, "relay_services");

	for (__u32 i = 0; fd >= 0 && i < RELAY_SERVICE_SLOTS; i++) {
		__u32 key = RELAY_SERVICE_KEY(cfg->svc_gen & 1, i);
		struct relay_service s;

		if (bpf_map_lookup_elem(fd, &key, &s) || !s.defined)
			continue;
		for (int f = 0; f < 2; f++)
			if (s.n_backends[f] && !s.n_up[f])
				problem(p, "service %s has no live %s backend (%u down or drained)",
					i ? s.name : "default", fam[f], s.n_backends[f]);
	}
	if (fd >= 0)
		close(fd);
}

void health_front(const char *dir, struct relay_problems *p)
{
	struct relay_front_config cfg = { 0 };
	__u32 tuns[RELAY_MAX_FRONT_TUNNELS];
	int n;

	check_layout(dir, "relay_front_cfg", sizeof(cfg), 1, p);
	check_layout(dir, "relay_ct", sizeof(struct relay_ct_value), 0, p);
	check_layout(dir, "relay_stats", sizeof(struct relay_stats_value), 1, p);
	if (inspect_front_cfg(dir, &cfg))
		return;
	check_filter(dir, cfg.public_ifindex, false, "relay_front_in", "public device", false, p);
	n = front_cfg_tunnels(&cfg, tuns, NULL);
	for (int i = 0; i < n; i++)
		check_filter(dir, tuns[i], false, "relay_front_rev", "tunnel device", true, p);
	check_xdp(dir, cfg.public_ifindex, p);
	check_public_addrs(dir, p);
	check_services(dir, &cfg, p);
}

bool health_drained(const char *dir)
{
	int fd = pin_open(dir, RELAY_DRAINED_PIN);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

bool health_can_serve(char *why, size_t len)
{
	struct relay_problems p = { 0 };
	char dir[PATH_MAX];

	if (!relay_state_exists("front") || relay_state_dir("front", false, dir, sizeof(dir))) {
		snprintf(why, len, "the front is not attached");
		return false;
	}
	if (health_drained(dir)) {
		snprintf(why, len, "drained (relaybpf undrain ends it)");
		return false;
	}
	health_front(dir, &p);
	if (p.n) {
		snprintf(why, len, "%s", p.msg[0]);
		return false;
	}
	return true;
}

static void check_sysctl(const char *name, struct relay_problems *p)
{
	int v = -1;

	if (sysctl_read(name, &v) || v != 1)
		problem(p, "sysctl %s is %d, relaybpf set it to 1", name, v);
}

/* One family of a tunnel: its fwmark rule and its table's default route
 * into the tunnel. */
static void check_back_family(const struct relay_back_tunnel *t, const struct relay_back_family *f,
			      const char *dev, struct relay_problems *p)
{
	if (nl_rule_exists(f->af, t->mark, t->mask, t->table, RELAY_RULE_PRIORITY) != 1)
		problem(p, "%s rule fwmark 0x%x/0x%x lookup %u priority %u is missing", f->name,
			t->mark, t->mask, t->table, RELAY_RULE_PRIORITY);
	/* Before it: relayed packets a container behind the backend serves
	 * take the main table's specific routes (back.c). */
	if (nl_rule_exists(f->af, t->mark, t->mask, RT_TABLE_MAIN, RELAY_RULE_MAIN_PRIORITY) != 1)
		problem(p, "%s rule fwmark 0x%x/0x%x lookup main suppress_prefixlength 0 priority %u "
			   "is missing", f->name, t->mark, t->mask, RELAY_RULE_MAIN_PRIORITY);
	if (!back_table_route_present(f->af, t->table, t->ifindex))
		problem(p, "%s table %u has no default route into the tunnel %s", f->name, t->table,
			dev);
}

void health_back(const char *dir, struct relay_problems *p)
{
	struct relay_back_tunnel tuns[RELAY_MAX_TUNNELS];
	struct relay_back_state st = { 0 }, want = { 0 };
	int n = back_tunnels_read(dir, tuns, RELAY_MAX_TUNNELS);
	bool v6 = false;

	check_layout(dir, "relay_back_cfg", sizeof(struct relay_back_config), 0, p);
	check_layout(dir, "relay_stats", sizeof(struct relay_stats_value), 1, p);
	if (back_state_read(dir, &st))
		problem(p, "pinned map %s is missing from %s", RELAY_BACK_STATE_MAP, dir);
	if (n <= 0)
		problem(p, "no tunnel is recorded in %s", dir);
	for (int i = 0; i < n; i++) {
		const struct relay_back_tunnel *t = &tuns[i];
		char dev[IF_NAMESIZE] = "?", svm[64 + IF_NAMESIZE];

		check_filter(dir, t->ifindex, false, "relay_back_in", "tunnel", true, p);
		check_filter(dir, t->ifindex, true, "relay_back_follow", "tunnel", false, p);
		if (!if_indextoname(t->ifindex, dev))
			continue;
		for (int f = 0; f < 2; f++)
			if (t->families & relay_back_families[f].bit)
				check_back_family(t, &relay_back_families[f], dev, p);
		if (t->throw_dst.family && nl_throw_route_exists(t->table, &t->throw_dst) != 1) {
			char a[IP_STR_LEN];

			problem(p, "table %u: throw %s (the VXLAN underlay) is missing", t->table,
				ip_key_str(t->throw_dst.family, &t->throw_dst.addr, a));
		}
		if ((t->families & RELAY_BACK_V4) &&
		    !src_valid_mark_name(t->ifindex, svm, sizeof(svm)))
			check_sysctl(svm, p);
		v6 |= t->families & RELAY_BACK_V6;
	}
	check_sysctl(SYSCTL_TCP_FWMARK_ACCEPT, p);
	check_sysctl(SYSCTL_FWMARK_REFLECT, p);
	if (v6)
		check_sysctl(SYSCTL_FWMARK_REFLECT6, p);
	/* Where unmarked UDP replies leave now, and where relay_back_out is. */
	back_egress_devices(&want, tuns, n > 0 ? n : 0);
	for (__u32 i = 0; i < want.n_egress; i++)
		check_filter(dir, want.egress[i], true, "relay_back_out", "default route device",
			     false, p);
}

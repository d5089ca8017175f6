/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the back role installed, kept in pinned maps so that `detach`
 * removes exactly that and restores what it changed. A backend may serve
 * several fronts, one tunnel device each: every tunnel has its own mark,
 * table, rule and route (relay_back_tuns, keyed by ifindex); the sysctls
 * and the UDP egress fix-up are shared (relay_back_state) and undone with
 * the last tunnel.
 */
#ifndef RELAY_BACK_H
#define RELAY_BACK_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "relaybpf.h"

/*
 * Priority of relaybpf's fwmark rules: after the local table (0), before
 * main (32766) and default (32767), so a marked reply takes its tunnel's
 * table before the host's own routes. Rules with a lower number (another
 * tool's, or an `ip rule add` without a priority, which the kernel puts just
 * before the first non-zero rule) are looked at first.
 */
#define RELAY_RULE_PRIORITY 9000U
/*
 * Just before it, for the same mark: `lookup main suppress_prefixlength 0`.
 * A marked packet the backend forwards on (a DNAT of a published port to a
 * container on a bridge, as Docker, libvirt or Kubernetes install it) takes
 * the main table's specific route to the bridge rather than the tunnel's
 * default route; the main table's default routes are suppressed, so a
 * marked reply to a client still takes the tunnel's table (wg-quick's
 * recipe). A client whose address a specific route of the main table
 * covers would be answered by that route.
 */
#define RELAY_RULE_MAIN_PRIORITY (RELAY_RULE_PRIORITY - 1)
#define RELAY_BACK_STATE_MAP "relay_back_state"
#define RELAY_BACK_TUNS_MAP "relay_back_tuns"
#define SYSCTL_TCP_FWMARK_ACCEPT "net/ipv4/tcp_fwmark_accept"
#define SYSCTL_FWMARK_REFLECT "net/ipv4/fwmark_reflect"
/* IPv6 has its own fwmark_reflect; tcp_fwmark_accept (net.ipv4) serves both
 * families, and IPv6 has no src_valid_mark nor rp_filter sysctl. */
#define SYSCTL_FWMARK_REFLECT6 "net/ipv6/fwmark_reflect"
/* Devices the UDP egress fix-up is attached to (those of the default routes). */
#define RELAY_MAX_EGRESS 8

/* Shared by every tunnel. */
struct relay_back_state {
	/* Values before the first attach, restored by detach; -1: not recorded. */
	__s32 prev_tcp_fwmark_accept;
	__s32 prev_fwmark_reflect;
	__s32 prev_fwmark_reflect6;
	__u32 n_egress;
	__u32 egress[RELAY_MAX_EGRESS]; /* ifindexes with relay_back_out on egress */
};

/* relay_back_tunnel.families: the families of --front, each with its rule
 * and its table's default route. */
#define RELAY_BACK_V4 0x1
#define RELAY_BACK_V6 0x2

/* One per tunnel device. */
struct relay_back_tunnel {
	__u32 ifindex;
	__u32 mark;
	__u32 mask;
	__u32 table;
	struct relay_ip_key throw_dst; /* underlay remote thrown out of the table; family 0: none */
	__s32 prev_src_valid_mark; /* of the device; -1: not recorded */
	__u8 families;             /* RELAY_BACK_V4 | RELAY_BACK_V6 */
	__u8 pad[3];
};

/* AF_INET/AF_INET6 and their RELAY_BACK_* bit, for loops over both. */
struct relay_back_family {
	int af;
	__u8 bit;
	const char *name;
};
extern const struct relay_back_family relay_back_families[2];

int back_state_read(const char *dir, struct relay_back_state *st);
int back_state_write(const char *dir, const struct relay_back_state *st);
/* The tunnels attached, up to max; returns how many, or -errno. */
int back_tunnels_read(const char *dir, struct relay_back_tunnel *out, int max);
int back_tunnel_write(const char *dir, const struct relay_back_tunnel *t);

/*
 * Every tunnel needs its own mark and table. A value given on the command
 * line is kept (a conflict is an error, printed); a default one moves on
 * to the next free value: the next multiple of the mask's lowest bit, the
 * next table id. tuns may hold t's own device (ignored). 0 or -EEXIST.
 */
int back_allocate(struct relay_back_tunnel *t, bool mark_given, bool table_given,
		  const struct relay_back_tunnel *tuns, int n);

/* "net/ipv4/conf/IF/src_valid_mark" of a device, for sysctl_read/write. */
int src_valid_mark_name(__u32 ifindex, char *out, size_t len);

/* For each family of t: the fwmark rules (main without its default routes,
 * then the tunnel's table), and with cfg the table's default
 * route into the tunnel (via the front's address of that family on an L2
 * tunnel). 0 or the first error. */
int back_routing_add(const struct relay_back_tunnel *t, const struct relay_back_config *cfg);
/* Deletes the rules (rules) and the default routes (routes) t's mark and
 * table would have for the families in the bits of families (missing: fine). */
void back_routing_del(const struct relay_back_tunnel *t, __u8 families, bool rules, bool routes);

/* Removes what t records (filter, rule, routes, configuration) and restores
 * its device's sysctl. */
void back_tunnel_undo(const char *dir, const struct relay_back_tunnel *t);
/* Removes the egress filters and restores the shared sysctls. */
void back_state_undo(const struct relay_back_state *st);
/* Detaches the tunnel on ifindex (0: all of them), and what they shared
 * once none is left. Returns how many tunnels were detached. */
int back_detach(const char *dir, __u32 ifindex);

/* Whether TABLE's default route of family AF leads into the tunnel IFINDEX
 * (status and its health check both ask). */
bool back_table_route_present(int af, __u32 table, __u32 ifindex);

/* The devices of the main table's default routes, but the tunnels and
 * non-Ethernet ones: where a reply that inherited no mark leaves, so where
 * relay_back_out goes (into st->egress, st->n_egress). */
void back_egress_devices(struct relay_back_state *st, const struct relay_back_tunnel *tuns,
			 int n_tuns);

#endif

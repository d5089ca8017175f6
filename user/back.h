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

/*
 * Priority of relaybpf's fwmark rules: after the local table (0), before
 * main (32766) and default (32767), so a marked reply takes its tunnel's
 * table before the host's own routes. Rules with a lower number (another
 * tool's, or an `ip rule add` without a priority, which the kernel puts just
 * before the first non-zero rule) are looked at first.
 */
#define RELAY_RULE_PRIORITY 9000U
#define RELAY_BACK_STATE_MAP "relay_back_state"
#define RELAY_BACK_TUNS_MAP "relay_back_tuns"
#define SYSCTL_TCP_FWMARK_ACCEPT "net/ipv4/tcp_fwmark_accept"
#define SYSCTL_FWMARK_REFLECT "net/ipv4/fwmark_reflect"
/* Devices the UDP egress fix-up is attached to (those of the default routes). */
#define RELAY_MAX_EGRESS 8

/* Shared by every tunnel. */
struct relay_back_state {
	/* Values before the first attach, restored by detach; -1: not recorded. */
	__s32 prev_tcp_fwmark_accept;
	__s32 prev_fwmark_reflect;
	__u32 n_egress;
	__u32 egress[RELAY_MAX_EGRESS]; /* ifindexes with relay_back_out on egress */
};

/* One per tunnel device. */
struct relay_back_tunnel {
	__u32 ifindex;
	__u32 mark;
	__u32 mask;
	__u32 table;
	__be32 throw_dst;          /* underlay remote thrown out of the table, or 0 */
	__s32 prev_src_valid_mark; /* of the device; -1: not recorded */
};

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

/* Removes what t records (filter, rule, routes, configuration) and restores
 * its device's sysctl. */
void back_tunnel_undo(const char *dir, const struct relay_back_tunnel *t);
/* Removes the egress filters and restores the shared sysctls. */
void back_state_undo(const struct relay_back_state *st);
/* Detaches the tunnel on ifindex (0: all of them), and what they shared
 * once none is left. Returns how many tunnels were detached. */
int back_detach(const char *dir, __u32 ifindex);

#endif

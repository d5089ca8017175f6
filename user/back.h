/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the back role installed, kept in a pinned map so that `detach`
 * removes exactly that and restores what it changed. */
#ifndef RELAY_BACK_H
#define RELAY_BACK_H

#include <linux/types.h>

/*
 * Priority of relaybpf's fwmark rules: after the local table (0), before
 * main (32766) and default (32767), so a marked reply takes its tunnel's
 * table before the host's own routes. Rules with a lower number (another
 * tool's, or an `ip rule add` without a priority, which the kernel puts just
 * before the first non-zero rule) are looked at first.
 */
#define RELAY_RULE_PRIORITY 9000
#define RELAY_BACK_STATE_MAP "relay_back_state"
/* Devices the UDP egress fix-up is attached to (those of the default routes). */
#define RELAY_MAX_EGRESS 8

struct relay_back_state {
	__u32 ifindex;
	__u32 mark;
	__u32 mask;
	__u32 table;
	__be32 throw_dst;              /* underlay remote thrown out of the table, or 0 */
	__u32 n_egress;
	__u32 egress[RELAY_MAX_EGRESS]; /* ifindexes with relay_back_out on egress */
	/* Values before the first attach, restored by detach; -1: not recorded. */
	__s32 prev_tcp_fwmark_accept;
	__s32 prev_fwmark_reflect;
	__s32 prev_src_valid_mark;     /* of the tunnel device */
};

int back_state_read(const char *dir, struct relay_back_state *st);
/* Removes what st records as installed and restores the sysctls. */
void back_undo(const struct relay_back_state *st);

#endif

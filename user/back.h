/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the back role installed, kept in a pinned map so that `detach`
 * removes exactly that and restores what it changed. */
#ifndef RELAY_BACK_H
#define RELAY_BACK_H

#include <linux/types.h>

/* Priority of relaybpf's fwmark rule: before the main table (32766). */
#define RELAY_RULE_PRIORITY 9000
#define RELAY_BACK_STATE_MAP "relay_back_state"

struct relay_back_state {
	__u32 ifindex;
	__u32 mark;
	__u32 mask;
	__u32 table;
	__s32 prev_tcp_fwmark_accept;
};

int back_state_read(const char *dir, struct relay_back_state *st);
/* Removes what st records as installed and restores the sysctls. */
void back_undo(const struct relay_back_state *st);

#endif

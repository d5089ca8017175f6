/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Is every piece an attached role relies on still in place? The kernel and
 * other tools take pieces away behind relaybpf's back: a tunnel going down
 * deletes the back table's route, `ip rule flush` its rule, a recreated
 * device its filters, DHCP renumbers the public device. `status` and
 * `stats --prometheus` report what these checks find.
 */
#ifndef RELAY_HEALTH_H
#define RELAY_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>
#include <linux/types.h>

#define RELAY_MAX_PROBLEMS 32
#define RELAY_PROBLEM_LEN 200
#define RELAY_MAX_FOREIGN 16

/* Another tool's filter on a hook relaybpf's filter is on. Behind
 * relaybpf's (a higher priority number) it sees what relaybpf passes on
 * (RELAY_TC_PASS): information. At relaybpf's priority or before, it may
 * take the traffic relaybpf relays before relaybpf sees it: a warning, not
 * a problem (the operator may mean it; nothing to repair). */
struct relay_foreign_filter {
	char dev[IF_NAMESIZE];
	bool egress, before;
	__u32 prio;
	char kind[16];
};

struct relay_problems {
	int n;
	char msg[RELAY_MAX_PROBLEMS][RELAY_PROBLEM_LEN];
	int n_foreign;
	struct relay_foreign_filter foreign[RELAY_MAX_FOREIGN];
};

/* Each appends one line per missing or changed piece of the role whose
 * state directory is DIR. */
void health_front(const char *dir, struct relay_problems *p);
void health_back(const char *dir, struct relay_problems *p);

/* `relaybpf drain` pins this (an empty map) in the front's directory; the
 * daemon withdraws its announcements while it is there. */
#define RELAY_DRAINED_PIN "relay_front_drained"
bool health_drained(const char *dir);

/*
 * Can this front take new clients? Attached, every piece in place (the
 * judgement of `status` exiting 0), and not drained. What the daemon's
 * --announce follows. False with the first reason in why.
 */
bool health_can_serve(char *why, size_t len);

#endif

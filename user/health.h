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

#define RELAY_MAX_PROBLEMS 32
#define RELAY_PROBLEM_LEN 200

struct relay_problems {
	int n;
	char msg[RELAY_MAX_PROBLEMS][RELAY_PROBLEM_LEN];
};

/* Each appends one line per missing or changed piece of the role whose
 * state directory is DIR. */
void health_front(const char *dir, struct relay_problems *p);
void health_back(const char *dir, struct relay_problems *p);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The daemon's health checks of a front's backends (prober.c), served from
 * the daemon's poll loop like the metrics endpoint. */
#ifndef RELAY_PROBER_H
#define RELAY_PROBER_H

#include <poll.h>
#include <linux/netlink.h>

#include "options.h"

/* Probes in flight at most: one per backend id. */
#define PROBER_POLLFDS RELAY_MAX_BACKENDS

struct prober;

/* NULL for a back (nothing to check), or on no memory (said). */
struct prober *prober_new(const struct relay_opts *o);
void prober_free(struct prober *pr);
/* The probes in flight, into p (PROBER_POLLFDS at most); their count. */
int prober_pollfds(struct prober *pr, struct pollfd *p);
/* Milliseconds until the next round or probe deadline. */
long long prober_wait_ms(const struct prober *pr, long long now_ms);
/* Reads what poll reported on the n descriptors prober_pollfds gave,
 * fails the probes past their deadline, starts the round that is due, and
 * commits the backends that went down or came up. */
void prober_serve(struct prober *pr, const struct pollfd *p, int n, long long now_ms);
/* The daemon attached again (a tunnel back, recreated): a round now, so
 * backends without a check are up again at once, not a round later. */
void prober_kick(struct prober *pr);
/* An rtnetlink link message: the tunnel going down or away takes its
 * backends down at once. */
void prober_on_link(struct prober *pr, const struct nlmsghdr *nh);

#endif

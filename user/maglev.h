/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Weighted Maglev lookup tables (docs/services.md, "Attach"): one row per
 * service and family, a pure function of the set of backends and their
 * weights, so every front with the same configuration relays a flow to the
 * same backend. */
#ifndef RELAY_MAGLEV_H
#define RELAY_MAGLEV_H

#include <stdbool.h>
#include "relaybpf.h"

struct maglev_backend {
	union relay_ip addr;  /* IPv4: .v4, the other words zero */
	__u16 port;           /* host byte order, 0: the service port kept */
	__u16 id;             /* what the row holds for it, never 0 */
	__u16 weight;         /* 0: drained, never in the row */
	bool backup;          /* in the row only while no primary has a weight */
};

/* Fills row with the ids of the backends (all of one family) in shares of
 * their weights: the primaries with a weight, or, when none has, the
 * backups with a weight. Sorts b by (address, port) first, so the row does
 * not depend on their order. Returns how many backends the row holds; 0:
 * none, the row is all zero. */
int maglev_build(struct maglev_backend *b, int n, struct relay_maglev_row *row);

#endif

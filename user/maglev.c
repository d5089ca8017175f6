// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Maglev (Eisenbud et al., NSDI 2016) with weights. Each backend walks its
 * own permutation of the table's slots (an offset and a skip derived from
 * its address and port; the size is prime, so any skip visits every slot)
 * and in its turns takes the next free slot of its walk. Weights give the
 * turns: in every round each backend earns its weight in credit and takes a
 * slot each time its credit reaches the largest weight, so the heaviest
 * backend takes one slot per round and the others in proportion, and no
 * backend gets ahead of its share by more than one slot. A backend that
 * leaves frees its slots, which the others' walks mostly reach first, while
 * theirs stay theirs: about 1/N of the flows move.
 */
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

static int backend_cmp(const void *pa, const void *pb)
{
	const struct maglev_backend *a = pa, *b = pb;
	int c = memcmp(a->addr.v6, b->addr.v6, sizeof(a->addr.v6));

	return c ? c : (int)a->port - (int)b->port;
}

/* The backend's walk from its address and port, with relay_flow_hash (the
 * address as the client, the port as its port, the protocol as a seed):
 * the offset and the skip must be independent of each other. */
static __u32 walk_hash(const struct maglev_backend *b, __u8 seed)
{
	return relay_flow_hash(RELAY_HASH_5TUPLE, &b->addr, seed, b->port, 0);
}

int maglev_build(struct maglev_backend *b, int n, struct relay_maglev_row *row)
{
	__u32 offset[RELAY_MAX_SERVICE_BACKENDS], skip[RELAY_MAX_SERVICE_BACKENDS];
	__u32 next[RELAY_MAX_SERVICE_BACKENDS] = { 0 }, credit[RELAY_MAX_SERVICE_BACKENDS] = { 0 };
	bool in[RELAY_MAX_SERVICE_BACKENDS] = { false };
	bool primary = false;
	__u32 wmax = 0, filled = 0;
	int n_in = 0;

	memset(row, 0, sizeof(*row));
	if (n > RELAY_MAX_SERVICE_BACKENDS)
		n = RELAY_MAX_SERVICE_BACKENDS; /* services.c refuses more */
	qsort(b, n, sizeof(*b), backend_cmp);
	for (int i = 0; i < n; i++)
		primary |= !b[i].backup && b[i].weight;
	for (int i = 0; i < n; i++) {
		in[i] = b[i].weight && b[i].backup != primary && b[i].id;
		if (!in[i])
			continue;
		n_in++;
		if (b[i].weight > wmax)
			wmax = b[i].weight;
		offset[i] = walk_hash(&b[i], 0) % RELAY_MAGLEV_SIZE;
		skip[i] = walk_hash(&b[i], 1) % (RELAY_MAGLEV_SIZE - 1) + 1;
	}
	while (n_in && filled < RELAY_MAGLEV_SIZE) {
		for (int i = 0; i < n && filled < RELAY_MAGLEV_SIZE; i++) {
			__u32 slot;

			if (!in[i])
				continue;
			credit[i] += b[i].weight;
			if (credit[i] < wmax)
				continue;
			credit[i] -= wmax;
			do {
				slot = (offset[i] + (__u64)next[i]++ * skip[i]) % RELAY_MAGLEV_SIZE;
			} while (row->backend[slot]);
			row->backend[slot] = b[i].id;
			filled++;
		}
	}
	return n_in;
}

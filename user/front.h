/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Loading the front's programs so that they share one set of maps. Used by
 * `attach` and by the unit tests, so both run the same objects the same way. */
#ifndef RELAY_FRONT_H
#define RELAY_FRONT_H

#include <stdbool.h>
#include <linux/types.h>
#include "relaybpf.h"
#include "front_public.skel.h"
#include "front_tunnel.skel.h"
#include "front_xdp.skel.h"

struct front_objs {
	struct front_public *pub; /* public device ingress, owns the maps */
	struct front_tunnel *tun; /* tunnel device ingress, reuses them */
	struct front_xdp *xdp;    /* public device XDP fast path (opt-in), reuses them */
};

/* Which programs front_load loads besides the public one (always: it owns
 * the maps). attach loads them all; a unit test fixture only those its tests
 * run, since each verifier pass costs seconds under QEMU's TCG (make vmtest).
 * The ones left out stay NULL in struct front_objs. */
#define FRONT_TUNNEL (1U << 0)
#define FRONT_XDP (1U << 1)
#define FRONT_ALL (FRONT_TUNNEL | FRONT_XDP)

/* pin_dir: reuse the maps pinned there when present (a running front keeps
 * its flows); NULL for fresh maps. ct_max sizes a fresh conntrack map. progs:
 * FRONT_ALL, or the FRONT_* to load with the public program. */
int front_load(struct front_objs *o, const char *pin_dir, __u32 ct_max, unsigned progs);
/* Loads the FRONT_* programs of progs not loaded yet, on the maps of o's
 * public program. On failure o is left for front_destroy. */
int front_load_more(struct front_objs *o, unsigned progs);
void front_destroy(struct front_objs *o);

/* The service tables' maps (bpf/lib/front_maps.h). */
struct front_svc_fds {
	int ports, services, maglev, backends;
};
/* One backend per family (NULL: the family is not relayed) as the default
 * service of generation 0. 0 or -errno. */
int front_default_service(const struct front_svc_fds *fds, const union relay_ip *backend4,
			  const union relay_ip *backend6);

/* The tunnel devices of cfg, the first first (relay_front_config.tunnel_ifindex,
 * then .tunnels): their count, their ifindexes in ifindex and, if l2 is not
 * NULL, whether each carries Ethernet. */
int front_cfg_tunnels(const struct relay_front_config *cfg,
		      __u32 ifindex[RELAY_MAX_FRONT_TUNNELS], __u8 *l2);
/* Whether ifindex is one of cfg's tunnel devices. */
bool front_cfg_has_tunnel(const struct relay_front_config *cfg, __u32 ifindex);

#endif

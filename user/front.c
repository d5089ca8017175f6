// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <sys/socket.h>
#include <limits.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "compat.h"
#include "front.h"
#include "pin.h"

int front_load(struct front_objs *o, const char *pin_dir, __u32 ct_max, unsigned progs)
{
	int err;

	o->tun = NULL;
	o->xdp = NULL;
	o->pub = front_public__open();
	if (!o->pub) {
		err = -errno;
		goto fail;
	}
	/* The programs that rewrite IPv6 addresses (bpf/lib/nat.h). */
	o->pub->rodata->relay_has_l4_ipv6 = relay_features()->l4_csum_ipv6;
	err = bpf_map__set_max_entries(o->pub->maps.relay_ct, ct_max);
	if (!err)
		err = bpf_map__set_max_entries(o->pub->maps.relay_ct_new, relay_ct_new_max(ct_max));
	if (err)
		goto fail;
	if (pin_dir && (err = pin_reuse_maps(o->pub->obj, pin_dir)))
		goto fail;
	err = front_public__load(o->pub);
	if (!err)
		err = front_load_more(o, progs);
	if (err)
		goto fail;
	return 0;
fail:
	front_destroy(o);
	return err ? err : -EINVAL;
}

/* The other programs work on the public program's maps. */
int front_load_more(struct front_objs *o, unsigned progs)
{
	int err = 0;

	if (progs & FRONT_TUNNEL && !o->tun) {
		o->tun = front_tunnel__open();
		if (!o->tun)
			return -errno;
		o->tun->rodata->relay_has_l4_ipv6 = relay_features()->l4_csum_ipv6;
		err = share_maps(o->tun->obj, o->pub->obj);
		if (!err)
			err = front_tunnel__load(o->tun);
	}
	if (!err && progs & FRONT_XDP && !o->xdp) {
		o->xdp = front_xdp__open();
		if (!o->xdp)
			return -errno;
		err = share_maps(o->xdp->obj, o->pub->obj);
		if (!err)
			err = front_xdp__load(o->xdp);
	}
	return err;
}

void front_destroy(struct front_objs *o)
{
	front_xdp__destroy(o->xdp);
	front_tunnel__destroy(o->tun);
	front_public__destroy(o->pub);
	o->xdp = NULL;
	o->tun = NULL;
	o->pub = NULL;
}

/*
 * Today's one backend per family as the default service (index 0) of
 * generation 0 (svc_gen 0): backend id 1 for IPv4 and 2 for IPv6, each
 * alone in its family's Maglev row; no named service, no translated port.
 * A family without a backend has id 0 in its row and n_up 0: not relayed.
 */
int front_default_service(const struct front_svc_fds *fds, const union relay_ip *backend4,
			  const union relay_ip *backend6)
{
	static const struct relay_port_services no_named;
	static struct relay_maglev_row row;
	const union relay_ip *backend[2] = { backend4, backend6 };
	struct relay_service svc = { .defined = 1, .hash = RELAY_HASH_5TUPLE };
	__u32 key;

	for (int f = 0; f < 2; f++) {
		struct relay_backend b = { 0 };
		__u32 id = f + 1;

		if (backend[f]) {
			b.family = f ? AF_INET6 : AF_INET;
			if (f)
				b.addr = *backend[f];
			else
				b.addr.v4 = backend[f]->v4;
			svc.n_up[f] = svc.n_backends[f] = 1;
		}
		for (int i = 0; i < RELAY_MAGLEV_SIZE; i++)
			row.backend[i] = backend[f] ? id : 0;
		key = RELAY_MAGLEV_KEY(0, 0, f);
		if (bpf_map_update_elem(fds->backends, &id, &b, BPF_ANY) ||
		    bpf_map_update_elem(fds->maglev, &key, &row, BPF_ANY))
			return -errno;
	}
	for (__u32 p = 0; p < RELAY_SVC_PROTOS; p++) {
		key = RELAY_PORTS_KEY(0, p);
		if (bpf_map_update_elem(fds->ports, &key, &no_named, BPF_ANY))
			return -errno;
	}
	key = RELAY_SERVICE_KEY(0, 0);
	return bpf_map_update_elem(fds->services, &key, &svc, BPF_ANY) ? -errno : 0;
}

int front_cfg_tunnels(const struct relay_front_config *cfg,
		      __u32 ifindex[RELAY_MAX_FRONT_TUNNELS], __u8 *l2)
{
	int n = 0;

	if (!cfg->tunnel_ifindex)
		return 0;
	if (l2)
		l2[n] = cfg->tunnel_l2;
	ifindex[n++] = cfg->tunnel_ifindex;
	for (int i = 0; i < RELAY_MAX_FRONT_TUNNELS - 1 && cfg->tunnels[i].ifindex; i++) {
		if (l2)
			l2[n] = cfg->tunnels[i].l2;
		ifindex[n++] = cfg->tunnels[i].ifindex;
	}
	return n;
}

bool front_cfg_has_tunnel(const struct relay_front_config *cfg, __u32 ifindex)
{
	__u32 t[RELAY_MAX_FRONT_TUNNELS];
	int n = front_cfg_tunnels(cfg, t, NULL);

	for (int i = 0; i < n; i++)
		if (t[i] == ifindex)
			return true;
	return false;
}

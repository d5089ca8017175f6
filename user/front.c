// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
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

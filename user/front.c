// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "front.h"
#include "state.h"

/* Makes map use the object pinned as dir/<its name>, if there is one. */
static int reuse_pinned(struct bpf_map *map, const char *dir)
{
	char path[PATH_MAX];
	int fd, err;

	if (!dir)
		return 0;
	relay_path(path, dir, bpf_map__name(map));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	err = bpf_map__reuse_fd(map, fd);
	close(fd);
	return err;
}

/* Makes every map of obj that owner also has use owner's instance. */
static int share_maps(struct bpf_object *owner, struct bpf_object *obj)
{
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj) {
		struct bpf_map *own = bpf_object__find_map_by_name(owner, bpf_map__name(map));

		if (!own)
			continue;
		err = bpf_map__reuse_fd(map, bpf_map__fd(own));
		if (err)
			return err;
	}
	return 0;
}

int front_load(struct front_objs *o, const char *pin_dir, __u32 ct_max)
{
	struct bpf_map *map;
	int err;

	o->pub = front_public__open();
	o->tun = front_tunnel__open();
	o->xdp = front_xdp__open();
	if (!o->pub || !o->tun || !o->xdp) {
		err = -errno;
		goto fail;
	}
	err = bpf_map__set_max_entries(o->pub->maps.relay_ct, ct_max);
	if (err)
		goto fail;
	bpf_object__for_each_map(map, o->pub->obj) {
		err = reuse_pinned(map, pin_dir);
		if (err)
			goto fail;
	}
	err = front_public__load(o->pub);
	if (err)
		goto fail;

	/* The other programs work on the public program's maps. */
	err = share_maps(o->pub->obj, o->tun->obj);
	if (!err)
		err = front_tunnel__load(o->tun);
	if (!err)
		err = share_maps(o->pub->obj, o->xdp->obj);
	if (!err)
		err = front_xdp__load(o->xdp);
	if (err)
		goto fail;
	return 0;
fail:
	front_destroy(o);
	return err ? err : -EINVAL;
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

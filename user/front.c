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

int front_load(struct front_objs *o, const char *pin_dir, __u32 ct_max)
{
	struct bpf_map *map;
	int err;

	o->pub = front_public__open();
	o->tun = front_tunnel__open();
	if (!o->pub || !o->tun) {
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

	/* The tunnel program works on the public program's maps. */
	bpf_object__for_each_map(map, o->tun->obj) {
		struct bpf_map *own = bpf_object__find_map_by_name(o->pub->obj,
								   bpf_map__name(map));

		if (!own)
			continue;
		err = bpf_map__reuse_fd(map, bpf_map__fd(own));
		if (err)
			goto fail;
	}
	err = front_tunnel__load(o->tun);
	if (err)
		goto fail;
	return 0;
fail:
	front_destroy(o);
	return err ? err : -EINVAL;
}

void front_destroy(struct front_objs *o)
{
	front_tunnel__destroy(o->tun);
	front_public__destroy(o->pub);
	o->tun = NULL;
	o->pub = NULL;
}

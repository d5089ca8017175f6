// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "pin.h"
#include "state.h"

int pin_maps(struct bpf_object *obj, const char *dir)
{
	struct bpf_map *map;
	char path[PATH_MAX];

	bpf_object__for_each_map(map, obj) {
		relay_path(path, dir, bpf_map__name(map));
		if (bpf_obj_pin(bpf_map__fd(map), path) && errno != EEXIST)
			return -errno;
	}
	return 0;
}

int pin_open(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	relay_path(path, dir, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/*
 * A pinned map is reused only if it has the layout this build expects:
 * bpf_map__reuse_fd would silently take the old sizes (a changed --ct-max
 * kept unapplied, counters of a newer build missing) or fail later in the
 * verifier with a message nobody can act on.
 */
static int pin_check_layout(const struct bpf_map *map, int fd, const char *dir)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type == bpf_map__type(map) && info.key_size == bpf_map__key_size(map) &&
	    info.value_size == bpf_map__value_size(map) &&
	    info.max_entries == bpf_map__max_entries(map))
		return 0;
	fprintf(stderr, "relaybpf: the attached map %s/%s holds %u entries of %u+%u bytes, this attach "
			"needs %u of %u+%u (a changed --ct-max or another relaybpf version): run "
			"`relaybpf detach` first (its flows and counters are lost)\n",
		dir, bpf_map__name(map), info.max_entries, info.key_size, info.value_size,
		bpf_map__max_entries(map), bpf_map__key_size(map), bpf_map__value_size(map));
	return -EEXIST;
}

int pin_reuse_maps(struct bpf_object *obj, const char *dir)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		int fd = pin_open(dir, bpf_map__name(map)), err;

		if (fd < 0)
			continue;
		err = pin_check_layout(map, fd, dir);
		if (!err)
			err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err)
			return err;
	}
	return 0;
}

int share_maps(struct bpf_object *obj, const struct bpf_object *owner)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const struct bpf_map *own = bpf_object__find_map_by_name(owner, bpf_map__name(map));
		int err = own ? bpf_map__reuse_fd(map, bpf_map__fd(own)) : 0;

		if (err)
			return err;
	}
	return 0;
}

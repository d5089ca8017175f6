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
		/* .rodata is each program's own, set at its load. */
		if (bpf_map__is_internal(map))
			continue;
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

int pin_progs(struct bpf_object *obj, const char *dir)
{
	struct bpf_program *prog;
	char path[PATH_MAX];

	bpf_object__for_each_program(prog, obj) {
		relay_path(path, dir, bpf_program__name(prog));
		unlink(path);
		if (bpf_obj_pin(bpf_program__fd(prog), path))
			return -errno;
	}
	return 0;
}

/* fd of the map or program called name in obj, or -1. */
static int obj_fd(const struct bpf_object *obj, const char *name)
{
	const struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
	const struct bpf_program *prog =
		bpf_object__find_program_by_name((struct bpf_object *)obj, name);

	return map ? bpf_map__fd(map) : prog ? bpf_program__fd(prog) : -1;
}

int pin_role(const char *dir, struct bpf_object *const objs[], int n, const char *const names[],
	     int fds[], int n_fds)
{
	int err = pin_maps(objs[0], dir);

	for (int i = 0; i < n && !err; i++)
		err = pin_progs(objs[i], dir);
	for (int f = 0; f < n_fds && !err; f++) {
		fds[f] = -1;
		for (int i = 0; i < n && fds[f] < 0; i++)
			fds[f] = obj_fd(objs[i], names[f]);
		if (fds[f] < 0)
			err = -ENOENT;
	}
	return err;
}

int pin_open_all(const char *dir, const char *const names[], int fds[], int n)
{
	for (int i = 0; i < n; i++) {
		fds[i] = pin_open(dir, names[i]);
		if (fds[i] < 0) {
			int err = fds[i];

			fds_close(fds, i);
			return err;
		}
	}
	return 0;
}

void fds_close(int fds[], int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int pin_reuse_maps(struct bpf_object *obj, const char *dir)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		int fd = bpf_map__is_internal(map) ? -1 : pin_open(dir, bpf_map__name(map)), err;

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
		/* .rodata is each object's own (its probed features). */
		int err = own && !bpf_map__is_internal(map) ?
			  bpf_map__reuse_fd(map, bpf_map__fd(own)) : 0;

		if (err)
			return err;
	}
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Pinning objects into a role's state directory. */
#ifndef RELAY_PIN_H
#define RELAY_PIN_H

#include <bpf/libbpf.h>

/* Pins every map of obj as dir/<map name>; maps already pinned there stay. */
int pin_maps(struct bpf_object *obj, const char *dir);
/* fd of dir/name, or negative errno. */
int pin_open(const char *dir, const char *name);
/* Pins every program of obj as dir/<program name>, replacing what a
 * previous load pinned there: a daemon's repair attaches them again without
 * loading (and verifying) anything. */
int pin_progs(struct bpf_object *obj, const char *dir);
/* A role's loaded objects: pins the maps of objs[0] (the others share them)
 * and every program, then gives in fds[i] the fd (the objects') of the map
 * or program named names[i], the names pin_open_all opens. */
int pin_role(const char *dir, struct bpf_object *const objs[], int n, const char *const names[],
	     int fds[], int n_fds);
/* Opens dir/names[i] into fds[i] for every i < n: all of them (0), or none
 * (negative errno of the first missing one). */
int pin_open_all(const char *dir, const char *const names[], int fds[], int n);
void fds_close(int fds[], int n);

/* Before load: every map of obj pinned in dir (a running role's) is reused,
 * so a rerun keeps its flows and counters; -EEXIST (said on stderr) when a
 * pinned map's type or sizes differ from obj's. */
int pin_reuse_maps(struct bpf_object *obj, const char *dir);
/* Before load: every map of obj with the name of a map of the loaded owner
 * uses the owner's, so programs of one role share one set of maps. */
int share_maps(struct bpf_object *obj, const struct bpf_object *owner);

#endif

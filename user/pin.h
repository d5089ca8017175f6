/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Pinning objects into a role's state directory. */
#ifndef RELAY_PIN_H
#define RELAY_PIN_H

#include <stdbool.h>
#include <bpf/libbpf.h>

#include "relaybpf.h"

/* Pinned maps an attach replaced by maps of another size or value layout
 * (pin_maps), kept open until the new programs run (pin_moves_end). */
#define PIN_MAX_MOVES 16
struct pin_moved {
	int old_fd, new_fd;
	char name[BPF_OBJ_NAME_LEN];
};
struct pin_moves {
	int n;
	struct pin_moved m[PIN_MAX_MOVES];
};

/* Pins every map of obj as dir/<map name>; maps already pinned there stay.
 * A map pinned there that obj did not reuse (pin_reuse_maps: another size
 * or layout) gives its entries to obj's (map_migrate), which takes its pin;
 * it is recorded in moves. */
int pin_maps(struct bpf_object *obj, const char *dir, struct pin_moves *moves);
/* Once the programs on the new maps are attached (attached): copies what
 * the old programs added to the old maps meanwhile. Else (the attach
 * failed, the old programs still run) the old maps take their pins back.
 * Closes the old maps either way; a failure is said on stderr. */
void pin_moves_end(struct pin_moves *moves, const char *dir, bool attached);
/* Says when the configuration an attach replaces was written by a newer
 * build (RELAY_CFG_VERSION, a downgrade): its fields unknown here go. */
void pin_cfg_version_note(const char *role, __u32 version);
/* The front's pinned configuration in dir, in this build's layout whatever
 * build wrote it: layout 1 (before services, 384 bytes) is converted, so
 * that status and detach find its devices before an attach rewrites it.
 * 0, or negative errno (cfg zeroed). */
struct relay_front_config;
int pin_front_cfg_read(const char *dir, struct relay_front_config *cfg);
/* Copies the entries of map from into map to (name: the maps' name), see
 * pin.c; the number copied or negative errno. */
int map_migrate(int from, int to, const char *name, bool only_new);
/*
 * relay_ct_value as the builds before the 56-byte one pinned it in relay_ct
 * and relay_ct_new (72 bytes: 144-byte kernel elements, three cache lines):
 * stamps in ns, packets in __u64. An upgrade converts each entry (pin.c
 * ct_from_v1), so the flows survive it; until then conntrack and status
 * read them converted (ct_value_of).
 */
struct relay_ct_value_v1 {
	union relay_ip public_ip;
	__u64 created_ns;
	__u64 last_seen_ns;
	__u64 packets[2];
	__u64 bytes[2];
	__u8 tcp_state;
	__u8 tcp_seen;
	__u16 backend_id;
	__be16 backend_port;
	__u16 svc_epoch;
};
_Static_assert(sizeof(struct relay_ct_value_v1) == 72, "the flow as it was pinned");
/* A flow table's value of value_size bytes (this build's, or the 72-byte
 * one's: converted) into v: 0, or -EINVAL for another size. */
int ct_value_of(const void *raw, __u32 value_size, struct relay_ct_value *v);
/* fd of dir/name, or negative errno. */
int pin_open(const char *dir, const char *name);
/* Pins every program of obj as dir/<program name>, replacing what a
 * previous load pinned there: a daemon's repair attaches them again without
 * loading (and verifying) anything. */
int pin_progs(struct bpf_object *obj, const char *dir);
/* A role's loaded objects: pins the maps of objs[0] (the others share them,
 * moves as pin_maps) and every program, then gives in fds[i] the fd (the
 * objects') of the map or program named names[i], the names pin_open_all
 * opens. */
int pin_role(const char *dir, struct bpf_object *const objs[], int n, const char *const names[],
	     int fds[], int n_fds, struct pin_moves *moves);
/* Opens dir/names[i] into fds[i] for every i < n: all of them (0), or none
 * (negative errno of the first missing one). */
int pin_open_all(const char *dir, const char *const names[], int fds[], int n);
void fds_close(int fds[], int n);

/* Before load: every map of obj pinned in dir (a running role's) is reused,
 * so a rerun keeps its flows and counters. One of another size (--ct-max)
 * or with smaller values (an older build) is left for the load to create
 * anew and pin_maps to fill; -EEXIST (said on stderr) when a pinned map's
 * type or key differ from obj's, or its values are larger. */
int pin_reuse_maps(struct bpf_object *obj, const char *dir);
/* Before load: every map of obj with the name of a map of the loaded owner
 * uses the owner's, so programs of one role share one set of maps. */
int share_maps(struct bpf_object *obj, const struct bpf_object *owner);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Reading what an attached role left in its state directory, for status,
 * stats and conntrack (read-only: none of them changes anything). */
#ifndef RELAY_INSPECT_H
#define RELAY_INSPECT_H

#include <stdbool.h>
#include <linux/types.h>
#include "relaybpf.h"

/* 0 if the state in bpffs can be read here; otherwise -ENOENT after
 * saying why on stderr: under `ip netns exec` the host's bpffs may be out
 * of reach, and "nothing attached" (or a detach that removes nothing)
 * would then be a lie. */
int inspect_reachable(void);
/* The role's state directory if the role is attached here. */
bool inspect_dir(const char *role, char *dir, size_t len);
int inspect_front_cfg(const char *dir, struct relay_front_config *cfg);
/* The default service's first backend of each family (has[f]: one found),
 * from the pinned relay_backends. */
void inspect_default_backends(const char *dir, union relay_ip addr[2], bool has[2]);
/* Entries in the conntrack map and its size; per_backend (NULL or
 * RELAY_MAX_BACKENDS counts, zeroed by the caller): the flows of each
 * backend id. */
int inspect_ct_fill(const char *dir, __u32 *count, __u32 *max, __u32 *per_backend);
/* Name of a program id ("" if gone). */
void inspect_prog_name(__u32 id, char *name, size_t len);
/* Id of the program behind FD, 0 if it cannot be read. */
__u32 inspect_prog_id(int fd);
/* The flow table's clock, as the programs read it (relay_now()). */
__u64 inspect_now_ns(void);

#endif

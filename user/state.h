/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where relaybpf keeps its state: bpffs, one directory per network
 * namespace (named by the namespace's cookie, which the kernel never reuses
 * while it runs) and one per role:
 *   /sys/fs/bpf/relaybpf/netns-<cookie>/{front,back}/
 * so a front and a back in two namespaces of one host never meet.
 */
#ifndef RELAY_STATE_H
#define RELAY_STATE_H

#include <stdbool.h>
#include <stddef.h>

/* Fills out with the role's directory. create: mount bpffs if needed and
 * make the directories. Returns 0, or -errno with a message printed. */
int relay_state_dir(const char *role, bool create, char *out, size_t len);
/* 1 if the role's directory exists (the role is attached here). */
bool relay_state_exists(const char *role);
/* Removes the role's directory and its empty parents. */
void relay_state_remove(const char *role);

/* Removes a role's directory and its parents if they are empty (a run that
 * stopped before it installed anything). */
void relay_state_prune(const char *dir);

/* Holds the role directory's lock (flock) until the fd returned is
 * closed: an attach and a change of backend state (user/services_live.c)
 * each read the generation in use and flip it, never both at once.
 * Negative errno on failure. */
int relay_state_lock(const char *dir);

/* Joins dir and name into out (PATH_MAX). */
void relay_path(char *out, const char *dir, const char *name);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Per-namespace sysctls under /proc/sys (which follows the caller's netns). */
#ifndef RELAY_SYSCTL_H
#define RELAY_SYSCTL_H

/* name is relative to /proc/sys, e.g. "net/ipv4/tcp_fwmark_accept". */
int sysctl_read(const char *name, int *value);
int sysctl_write(const char *name, int value);

#endif

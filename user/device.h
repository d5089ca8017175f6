/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Network device facts the loader needs, read in the caller's namespace
 * (ioctl, not /sys: under nsenter --net /sys shows another namespace). */
#ifndef RELAY_DEVICE_H
#define RELAY_DEVICE_H

#include <stdbool.h>

/* ifindex of name, or 0 after printing "what: no such device". */
int device_index(const char *name, const char *what);
/* true if the device carries Ethernet frames (veth, VXLAN), false for an
 * L3 device (TUN, WireGuard). */
bool device_is_l2(const char *name);
bool device_is_up(const char *name);
int device_mtu(const char *name);

#endif

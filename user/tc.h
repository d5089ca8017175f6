/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* relaybpf's own TC ingress/egress filter (handle/priority RELAY_TC_*): attach,
 * replace, find and remove it without touching other filters. */
#ifndef RELAY_TC_H
#define RELAY_TC_H

#include <linux/types.h>

/* Attaches prog_fd, atomically replacing relaybpf's previous filter. */
int tc_attach_ingress(int ifindex, int prog_fd);
/* Removes relaybpf's filter; a missing filter or device is not an error. */
int tc_detach_ingress(int ifindex);
/* The same on the egress hook. */
int tc_attach_egress(int ifindex, int prog_fd);
int tc_detach_egress(int ifindex);
/* Id of the program in relaybpf's filter, 0 if none. */
__u32 tc_ingress_prog_id(int ifindex);
__u32 tc_egress_prog_id(int ifindex);

#endif

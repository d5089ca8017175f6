/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The rtnetlink requests relaybpf needs, in C (no `ip` subprocess). */
#ifndef RELAY_NETLINK_H
#define RELAY_NETLINK_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include "relaybpf.h"
#include "relaybpf.h"

/* Policy rule `fwmark MARK/MASK lookup TABLE priority PRIO`.
 * Adding an existing rule succeeds; deleting a missing one too. */
int nl_rule_add(int family, uint32_t mark, uint32_t mask, uint32_t table, uint32_t prio);
int nl_rule_del(int family, uint32_t mark, uint32_t mask, uint32_t table, uint32_t prio);
/* `fwmark MARK/MASK lookup main suppress_prefixlength 0 priority PRIO`:
 * marked packets take the main table's routes, but not its default routes
 * (those with a prefix length of 0). */
int nl_rule_main_add(int family, uint32_t mark, uint32_t mask, uint32_t prio);
int nl_rule_main_del(int family, uint32_t mark, uint32_t mask, uint32_t prio);
/* 1 if the exact rule exists, 0 if not, negative errno on failure. */
int nl_rule_exists(int family, uint32_t mark, uint32_t mask, uint32_t table, uint32_t prio);

/* `default [via GW] dev IFINDEX table TABLE` of family (AF_INET or
 * AF_INET6); gw: NULL = none, else 4 or 16 bytes of the family. */
int nl_route_replace_default(int family, uint32_t table, int ifindex, const void *gw);
int nl_route_del_default(int family, uint32_t table, int ifindex);

/* `throw DST/32 table TABLE` (IPv6: /128): lookups in TABLE for dst fall
 * through to the following rules. Deleting a missing one succeeds. */
int nl_route_add_throw(uint32_t table, const struct relay_ip_key *dst);
int nl_route_del_throw(uint32_t table, const struct relay_ip_key *dst);

/* `DST/32 dev lo table TABLE proto PROTO` (IPv6: /128), added or replaced;
 * deleting a missing one succeeds. */
int nl_route_host_add(uint32_t table, uint8_t proto, const struct relay_ip_key *dst);
int nl_route_host_del(uint32_t table, uint8_t proto, const struct relay_ip_key *dst);

/* Unicast remote (IPv4 or IPv6) of a tunnel device (`remote` of ip link:
 * VXLAN, Geneve, GRE and gretap, IPIP, SIT, ip6tnl, VTI, their IPv6
 * kinds), or family 0 in *remote for another kind of device or one without
 * a unicast remote (WireGuard's peers are not links' attributes). *vxlan:
 * the device is a VXLAN one. */
int nl_tunnel_remote(int ifindex, struct relay_ip_key *remote, bool *vxlan);

/* Output device of the route to dst (4 or 16 bytes by family), or negative errno. */
int nl_route_get_dev(int family, const void *dst);

/* Devices of TABLE's default routes of FAMILY (AF_UNSPEC: both; single next
 * hop); returns how many were stored, or -errno. */
int nl_default_route_devs(int family, uint32_t table, int *out, int max);

/* 1 if TABLE holds `throw DST/32` (or /128), 0 if not, or -errno. */
int nl_throw_route_exists(uint32_t table, const struct relay_ip_key *dst);
/* 1 if the local table holds `local DST/32` (or /128): an address of a
 * device, or one the host takes without it (AnyIP: `ip route add local
 * DST dev lo`); 0 if not, or -errno. */
int nl_local_route_exists(const struct relay_ip_key *dst);

/* Addresses of a device (ifindex 0: of every device) of one family (IPv6:
 * global scope only); returns how many were stored, or -errno. */
int nl_addrs(int ifindex, int family, struct relay_ip_key *out, int max);

/* The device's XDP features (the kernel's netdev family, NETDEV_XDP_ACT_*
 * bits), or -errno: -ENOENT when the kernel has no such family (before 6.3). */
int nl_xdp_features(int ifindex, uint64_t *features);
/* NETDEV_XDP_ACT_NDO_XMIT: the device accepts frames redirected by native XDP. */
#define RELAY_XDP_ACT_NDO_XMIT (1ULL << 2)
/* A filter on a device's clsact hook, as `tc filter show` lists it. */
struct nl_tc_filter {
	uint32_t prio;
	char kind[16];
};
/* The filters on the device's ingress (egress) clsact hook but the one of
 * priority and handle skip_prio/skip_handle (relaybpf's), one per priority
 * and kind (a u32 filter lists its hash tables and keys), in the order the
 * kernel runs them; returns how many were stored (0 without clsact), or
 * -errno. */
int nl_tc_filters(int ifindex, bool egress, uint32_t skip_prio, uint32_t skip_handle,
		  struct nl_tc_filter *out, int max);
/* Deletes the device's neighbours that are being resolved or failed
 * (INCOMPLETE, FAILED), so the next packet solicits at once. */
int nl_neigh_flush_unresolved(int ifindex);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Command-line options of every subcommand, parsed and validated once. */
#ifndef RELAY_OPTIONS_H
#define RELAY_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include "relaybpf.h"

enum relay_role { ROLE_NONE = 0, ROLE_FRONT, ROLE_BACK };

#define RELAY_MSS_AUTO (-1)

/* --xdp-mode: none (TC only, the default), or the XDP fast path. */
enum relay_xdp_mode { XDP_MODE_NONE = 0, XDP_MODE_AUTO, XDP_MODE_NATIVE, XDP_MODE_GENERIC };

struct relay_opts {
	enum relay_role role;
	const char *dev;
	const char *tunnel_dev;
	in_addr_t backend;  /* 0: not given */
	in_addr_t front;
	in_addr_t public_ips[RELAY_MAX_PUBLIC_ADDRS];
	int n_public;
	struct relay_port_range exclude[RELAY_MAX_PORT_RANGES];
	int n_exclude;
	struct relay_port_range ports[RELAY_MAX_PORT_RANGES];
	int n_ports;
	int mss;            /* RELAY_MSS_AUTO, 0 = off, or a value */
	__u32 ct_max;
	enum relay_xdp_mode xdp_mode;
	__u32 mark, mask;
	__u32 table;
	bool mark_given, table_given; /* else the back allocates a free one */
	bool json;
	int watch;
};

/* Exit statuses of the command (DESIGN.md contract). */
#define EXIT_USAGE 2

void opts_defaults(struct relay_opts *o);
/* Parses the options after the subcommand. Returns 0, or -1 after printing
 * the problem to stderr (a usage error). */
int opts_parse(int argc, char **argv, struct relay_opts *o);

/* "tcp:22,udp:1000-2000" -> ranges. Returns the count, or -1 with a message
 * in err. */
int parse_port_list(const char *s, struct relay_port_range *out, int max, char *err,
		    size_t errlen);
/* "0x10" or "0x10/0xff" -> mark and mask (mask defaults to all bits). */
int parse_mark(const char *s, __u32 *mark, __u32 *mask, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Options of every subcommand, from the command line and from a config
 * file (`key = value`, keys are the long options), parsed and validated
 * once. One table in options.c describes every option: its name, the
 * subcommands and roles that take it, its help line and its parser. */
#ifndef RELAY_OPTIONS_H
#define RELAY_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include "relaybpf.h"

enum relay_role { ROLE_NONE = 0, ROLE_FRONT, ROLE_BACK };

/* Subcommands, as bits so that an option can belong to several. */
enum relay_cmd {
	CMD_ATTACH = 1 << 0,
	CMD_DETACH = 1 << 1,
	CMD_STATUS = 1 << 2,
	CMD_STATS = 1 << 3,
	CMD_CONNTRACK = 1 << 4,
	CMD_DAEMON = 1 << 5,
	CMD_DRAIN = 1 << 6,
	CMD_UNDRAIN = 1 << 7,
	CMD_BACKEND = 1 << 8,
};
/* Subcommands that attach and take attach's options. */
#define CMD_ATTACHING (CMD_ATTACH | CMD_DAEMON)

#define RELAY_MSS_AUTO (-1)

/* daemon --announce: at most this many addresses. */
#define RELAY_MAX_ANNOUNCE 16
/* --announce-table's default and the routes' protocol, both 94 (`ip route
 * show table 94 proto 94`): numbers iproute2's rt_tables and rt_protos
 * give nobody, and a table FRR's `ip import-table` (1-252) takes. */
#define RELAY_ANNOUNCE_TABLE 94
#define RELAY_ANNOUNCE_PROTO 94

/* --xdp-mode: none (TC only, the default), or the XDP fast path. */
enum relay_xdp_mode { XDP_MODE_NONE = 0, XDP_MODE_AUTO, XDP_MODE_NATIVE, XDP_MODE_GENERIC };

/* The daemon's health check of a service's backends (user/prober.c):
 * --service's health=, the default service's --health. */
enum relay_health { HEALTH_NONE = 0, HEALTH_TCP, HEALTH_ICMP, HEALTH_UDP };
#define RELAY_HEALTH_PAYLOAD 64
struct relay_health_opt {
	__u8 kind;          /* enum relay_health; NONE: always up while its tunnel is */
	__u16 port;         /* tcp/udp: the service's port (0: its first of the protocol) */
	char payload[RELAY_HEALTH_PAYLOAD]; /* udp: sent, any answer passes */
	/* --service's health-interval= (ms), health-fall=, health-rise=; 0:
	 * the daemon's --health-interval, --health-fall, --health-rise. */
	__u32 interval_ms, fall, rise;
};

/* --service NAME=PROTO:PORT[-PORT][,...][,hash=5tuple|src][,health=...] */
#define RELAY_SVC_NAME_LEN 16
struct relay_svc_opt {
	char name[RELAY_SVC_NAME_LEN];
	struct relay_port_range ranges[RELAY_MAX_PORT_RANGES]; /* tcp or udp ports */
	int n_ranges;
	__u8 hash;          /* enum relay_hash */
	struct relay_health_opt health;
};

/* --backend [NAME=]ADDR[:PORT][,weight=N][,backup] */
#define RELAY_MAX_WEIGHT 256
struct relay_backend_opt {
	char service[RELAY_SVC_NAME_LEN]; /* "": the default service */
	struct relay_ip_key addr;
	__u16 port;         /* host byte order; 0: the service port kept */
	__u16 weight;       /* 0..RELAY_MAX_WEIGHT, 0: drained */
	bool backup;
};

struct relay_opts {
	enum relay_role role;
	const char *dev;
	const char *tunnel_dev;
	/* Storage of dev and tunnel_dev when they come from a config file line. */
	char dev_buf[16], tunnel_dev_buf[16];
	/* --service and --backend as given (user/services.c checks them as a
	 * whole and plans the tables). A client is only ever relayed to a
	 * backend of its own family (no NAT46/64). */
	struct relay_svc_opt services[RELAY_MAX_SERVICES];
	int n_services;
	struct relay_backend_opt backends[RELAY_MAX_BACKENDS - 1];
	int n_backends;
	in_addr_t front;    /* the back's --front, one per family; 0: not given */
	struct in6_addr front6;
	struct relay_ip_key public_ips[RELAY_MAX_PUBLIC_ADDRS]; /* both families */
	int n_public;
	struct relay_port_range exclude[RELAY_MAX_PORT_RANGES];
	int n_exclude;
	struct relay_port_range ports[RELAY_MAX_PORT_RANGES];
	int n_ports;
	int mss;            /* RELAY_MSS_AUTO, 0 = off, or IPv4's value (IPv6: 20 less) */
	__u32 ct_max;
	__u32 rate_pps, rate_burst; /* --rate-limit, 0: off */
	enum relay_xdp_mode xdp_mode;
	__u32 mark, mask;
	__u32 table;
	bool mark_given, table_given; /* else the back allocates a free one */
	bool force; /* --xdp-mode may replace a foreign XDP program */
	bool json;
	bool prometheus;
	int watch;          /* seconds between refreshes, 0: print once */
	__u8 ct_proto;      /* conntrack filter, 0: every protocol */
	struct relay_ip_key ct_addr; /* conntrack filter on any address, family 0: none */
	/* Not an option: the daemon's repairs attach the programs its first
	 * attach pinned instead of loading and verifying them again. */
	bool reuse_pinned;
	/* daemon --metrics: the endpoint's address; metrics_len 0: none. */
	struct sockaddr_storage metrics_addr;
	socklen_t metrics_len;
	/* daemon: the default service's --health; --health-interval (ms),
	 * --health-fall, --health-rise. */
	struct relay_health_opt health;
	__u32 health_interval_ms, health_fall, health_rise;
	/* daemon --announce: routes kept in announce_table while the front can serve. */
	struct relay_ip_key announce[RELAY_MAX_ANNOUNCE];
	int n_announce;
	__u32 announce_table;

	/* backend: its words (drain|undrain, [SERVICE], ADDR), argv's. */
	char *args[4];
	int n_args;

	/* Parser state: which options were given (bit = table index), and
	 * which of those came from the config file. */
	unsigned long long given, from_file;
	/* The arguments parsed (the daemon's SIGHUP parses them again, their
	 * -c file read anew). */
	int argc;
	char **argv;
};

/* Exit statuses of the command (DESIGN.md contract). */
#define EXIT_USAGE 2

void opts_defaults(struct relay_opts *o);
/* "attach" -> CMD_ATTACH; 0 if unknown. */
enum relay_cmd opts_command(const char *name);
/* Parses the options after the subcommand (argv[0] is the subcommand),
 * reading -c/--config FILE first so that the command line overrides it,
 * then checks what the subcommand and role need. Returns 0; 1 after
 * printing the help (--help); -1 after printing the problem to stderr (a
 * usage error). */
int opts_parse(enum relay_cmd cmd, int argc, char **argv, struct relay_opts *o);
/* Reads a config file; keys of options that cmd does not take are
 * skipped, so one file serves attach and detach. Returns 0 or -1 with
 * "FILE:LINE: problem" on stderr. */
int opts_load_file(enum relay_cmd cmd, const char *path, struct relay_opts *o);
/* Help of one subcommand (or of all, cmd 0) to f. */
void opts_usage(enum relay_cmd cmd, FILE *f);

/* "tcp:22,udp:1000-2000,gre,proto:115" -> ranges: TCP and UDP ports, or a
 * whole protocol by name or number (ports 0-65535). Returns the count, or
 * -1 with a message in err. */
int parse_port_list(const char *s, struct relay_port_range *out, int max, char *err,
		    size_t errlen);
/* One range as parse_port_list reads it ("tcp:80-90", "gre", "proto:115"). */
const char *port_range_str(const struct relay_port_range *r, char *buf, size_t len);
/* A decimal (or 0x) number up to max; 0, or -1 if it is none. */
int parse_u32(const char *s, unsigned long max, __u32 *out);
/* --health-interval's duration (N or Ns seconds, Nms milliseconds; 100 ms
 * to 1 hour) into *ms, and --health-fall's and --health-rise's count of
 * probes in a row (1-100): 0, or -1 with the reason in err. */
int parse_health_interval(const char *v, __u32 *ms, char *err, size_t errlen);
int parse_health_probes(const char *v, const char *what, __u32 *out, char *err, size_t errlen);
/* "0x10" or "0x10/0xff" -> mark and mask (mask defaults to all bits). */
int parse_mark(const char *s, __u32 *mark, __u32 *mask, char *err, size_t errlen);
/* The smallest --ct-max this machine takes: RELAY_CT_MIN_PER_CPU per
 * possible CPU. */
__u32 ct_max_min(void);
/* An IPv4 or IPv6 address, family set; -1 if it is neither. */
int parse_ip_key(const char *s, struct relay_ip_key *out);
/* Whether some backend (of any service) is of the family. */
bool opts_has_family(const struct relay_opts *o, int family);
/* The address as text, into buf (INET6_ADDRSTRLEN bytes). */
const char *ip_key_str(__u8 family, const union relay_ip *addr, char *buf);
/* Same family and address (the bytes of the other family's view ignored). */
bool ip_key_eq(const struct relay_ip_key *a, const struct relay_ip_key *b);
#define IP_STR_LEN 46

#endif

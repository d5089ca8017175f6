/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Services and backends (docs/services.md): --service and --backend read,
 * checked as a whole, and planned into every table the datapath reads. All
 * pure functions: attach_front.c reads the pinned state and writes the
 * plan. */
#ifndef RELAY_SERVICES_H
#define RELAY_SERVICES_H

#include <stddef.h>
#include "options.h"

/* "tcp", "icmp", "udp:PAYLOAD" or "none" (with_port, the default
 * service's --health: "tcp:PORT", "udp:PORT:PAYLOAD") -> *h; 0, or -1 with
 * the reason in err. */
int svc_parse_health(const char *v, bool with_port, struct relay_health_opt *h, char *err,
		     size_t errlen);
/* "web=tcp:80,tcp:443,hash=src,health=tcp" -> *s (health's port: the
 * service's first of its protocol); 0, or -1 with the reason in err. */
int svc_parse_service(const char *v, struct relay_svc_opt *s, char *err, size_t errlen);
/* "web=[2001:db8::1]:8080,weight=2,backup" -> *b; 0, or -1 with the reason
 * in err. */
int svc_parse_backend(const char *v, struct relay_backend_opt *b, char *err, size_t errlen);
/* ADDR, or with a port ADDR:PORT ([ADDR]:PORT for IPv6), into buf. */
const char *svc_addr_str(__u8 family, const union relay_ip *addr, __u16 port, char *buf,
			 size_t len);
/* --backend as it would be given (without weight and backup), into buf. */
const char *svc_backend_str(const struct relay_backend_opt *b, char *buf, size_t len);
/* The services and backends as a whole: every backend's service exists,
 * no two services claim a port, no service has every port excluded, port
 * translation is unambiguous (one range, in bounds, no two translations
 * onto one backend port), the limits, no backend twice. 0, or -1 with the
 * reason in err. */
int svc_check(const struct relay_opts *o, char *err, size_t errlen);

struct svc_rev_port {
	struct relay_rev_port_key key;
	__u16 service_port;     /* host byte order, relay_rev_ports' value */
};

/* What the pinned maps hold before the attach (all zero: nothing yet). */
struct svc_state {
	__u8 gen;           /* relay_front_config.svc_gen in use */
	/* The names of the services of generation gen by index ("" unused;
	 * index 0 is the default service's whatever its name). */
	char names[RELAY_SERVICE_SLOTS][RELAY_SVC_NAME_LEN];
	struct relay_backend backends[RELAY_MAX_BACKENDS]; /* relay_backends, by id */
	struct svc_rev_port rev[RELAY_MAX_REV_PORTS];     /* relay_rev_ports, sorted */
	int n_rev;
};

/* Every table of the new generation (the one not in use). */
struct svc_plan {
	__u8 gen;
	struct relay_port_services ports[RELAY_SVC_PROTOS];
	struct relay_service services[RELAY_SERVICE_SLOTS];
	struct relay_maglev_row rows[RELAY_SERVICE_SLOTS][2];
	/* relay_backends after the attach: ids kept, new ids written before
	 * the flip; an id with a family in the state and none here is freed
	 * after it. */
	struct relay_backend backends[RELAY_MAX_BACKENDS];
	struct svc_rev_port rev[RELAY_MAX_REV_PORTS]; /* sorted by key (svc_rev_find) */
	int n_rev;
};

/* The plan of o (checked by svc_check) over the state st: indices and ids
 * kept for the names and backends that stay. 0, or -1 with the reason in
 * err (a limit of the maps). */
int svc_plan(const struct relay_opts *o, const struct svc_state *st, struct svc_plan *p,
	     char *err, size_t errlen);

/* The same backend: service, family, address and port. */
bool svc_backend_is(const struct relay_backend *a, const struct relay_backend *b);
/* A backend's state from its weight and hold (RELAY_HOLD_*). */
__u8 svc_backend_state(const struct relay_backend *b);
/* Each backend's state (svc_backend_state), each service's Maglev row per
 * family from its up backends (backups while no primary is up), n_up the
 * backends in the row, n_backends every one, whatever its state. */
void svc_rows(struct svc_plan *p);
/* The plan of the next generation as st and the generation in use
 * (services, ports) are: what a change of hold starts from; svc_rows
 * then. */
void svc_replan(const struct svc_state *st, const struct relay_service *services,
		const struct relay_port_services *ports, struct svc_plan *p);
/* Sets the hold bits set and clears clear of the backends bo names in p:
 * its service and address, and its port if bo has one. Their count. */
int svc_hold_set(struct svc_plan *p, const struct relay_backend_opt *bo, __u8 set, __u8 clear);

/* Sorts rev by key, for svc_rev_find. */
void svc_rev_sort(struct svc_rev_port *rev, int n);
/* The entry of key in rev (sorted), NULL if none. */
const struct svc_rev_port *svc_rev_find(const struct svc_rev_port *rev, int n,
					const struct relay_rev_port_key *key);

/*
 * The pinned maps (fds by enum svc_map, names in svc_map_names): the state
 * read back, the plan applied before the commit (the configuration's flip
 * of svc_gen), undone if the attach fails before it, and the rest done
 * after it. Each returns 0 or negative errno.
 */
enum svc_map { SVC_PORTS, SVC_SERVICES, SVC_MAGLEV, SVC_BACKENDS, SVC_REV, SVC_STATS, SVC_MAPS };
#define SVC_MAP_NAMES                                                                     \
	"relay_port_services", "relay_services", "relay_maglev", "relay_backends",        \
		"relay_rev_ports", "relay_backend_stats"
/* The n entries of an array map into values, in one call. */
int svc_map_read(int fd, __u32 n, void *values);
/* The svc_epoch a commit writes after epoch (relay_front_config): a new
 * one at every commit, 0 never (the flows' "not recorded"). */
static inline __u16 svc_epoch_next(__u16 epoch)
{
	__u16 next = epoch + 1;

	return next ? next : 1;
}
/* gen: the generation in use (relay_front_config.svc_gen). */
int svc_state_read(const int fds[SVC_MAPS], __u8 gen, struct svc_state *st);
/* Writes the generation the programs do not read, the backends that are
 * new or changed (a new id's counters zeroed; a kept id's untouched; one
 * going DOWN waits for svc_release), and the reply ports the plan adds or
 * changes. */
int svc_apply(const int fds[SVC_MAPS], const struct svc_state *st, const struct svc_plan *p);
/* The attach failed before the commit: backends and reply ports as in st. */
void svc_rollback(const int fds[SVC_MAPS], const struct svc_state *st, const struct svc_plan *p);
/* After the commit: the ids of removed backends freed (their flows move at
 * their next packet), the backends going DOWN written (theirs move too),
 * the reply ports of none removed. */
int svc_release(const int fds[SVC_MAPS], const struct svc_state *st, const struct svc_plan *p);

/* A change of backend state on the attached front (services_live.c): open
 * takes the state directory's lock and reads the generation in use into
 * p (svc_replan); the caller changes p's holds (svc_hold_set, or
 * p.backends[id].hold); commit plans the rows and flips the generation
 * (nothing when no hold changed); close lets the lock go. Negative errno. */
struct svc_live {
	int lock_fd, cfg_fd;
	int fds[SVC_MAPS];
	struct relay_front_config cfg;
	struct svc_state st;
	struct svc_plan p;
};
int svc_live_open(const char *dir, struct svc_live **out);
int svc_live_commit(struct svc_live *l);
void svc_live_close(struct svc_live *l);

/*
 * The daemon's health checks' view of each backend (user/prober.c), key:
 * the backend id, in a pinned array of userspace's own (no program reads
 * it), RELAY_HEALTH_MAP in the front's directory: status and stats read it.
 */
#define RELAY_HEALTH_MAP "relay_backend_health"
enum relay_probe_result { PROBE_NONE = 0, PROBE_PASSED = 1, PROBE_FAILED = 2 };
struct relay_backend_health {
	__u64 since;         /* CLOCK_REALTIME s: its last transition, or the first check */
	__u64 probe_time;    /* CLOCK_REALTIME s of the last probe's result */
	__u64 transitions;   /* up <-> down */
	__u32 latency_us;    /* the last probe's */
	__u8 kind;           /* enum relay_health of its service */
	__u8 last;           /* enum relay_probe_result */
	__u8 family;         /* whose record it is: an id given to another */
	__u8 pad;            /* backend starts a new one */
	__u16 service, port;
	__u32 pad2;
	union relay_ip addr;
	char result[40];     /* "ok", or why it failed */
};

/* What status and stats show of the services in use (the pinned maps of
 * dir, the generation the configuration names). */
struct svc_report {
	struct relay_service services[RELAY_SERVICE_SLOTS];
	struct relay_port_services ports[RELAY_SVC_PROTOS];
	struct relay_backend backends[RELAY_MAX_BACKENDS];
	struct relay_backend_stats stats[RELAY_MAX_BACKENDS]; /* summed over CPUs */
	__u32 flows[RELAY_MAX_BACKENDS];                      /* in the flow table */
	/* The daemon's checks (all zero without a daemon that checks). */
	struct relay_backend_health health[RELAY_MAX_BACKENDS];
};
/* 0, or negative errno (a map missing: a front of a build before services). */
int svc_report_read(const char *dir, struct svc_report *r);
/* r->health from dir's RELAY_HEALTH_MAP, for r->backends (read first). */
void svc_health_read(const char *dir, struct svc_report *r);
/* Whether h is the record of backend b (an id is reused). */
bool svc_health_of(const struct relay_backend_health *h, const struct relay_backend *b);
/* Service idx's ports as --service takes them ("tcp:80,tcp:443-445"). */
const char *svc_report_ports(const struct svc_report *r, int idx, char *buf, size_t len);
/* "up", "drained" or "down". */
const char *svc_state_name(__u8 state);

#endif

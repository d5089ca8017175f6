// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * relaybpf daemon <attach options>: attaches, then keeps the attachment
 * alive. The kernel drops part of it when a tunnel restarts: taking a
 * device down deletes the routes through it (the back's table route), and
 * deleting and recreating it (wg-quick, an OpenVPN reconnect) drops its TC
 * filter and gives it a new ifindex. The daemon follows rtnetlink link,
 * address, route and rule events and reruns the (idempotent) attach when a
 * device it uses appears, comes up or changes MTU, the back's route or rule
 * (of either family) is deleted, the front's public device is renumbered
 * (DHCP: the public address map and sole_public follow, unless
 * --public-ip fixes them) or the back's default route moves to another
 * device (relay_back_out follows it). A repair attaches the programs its first attach pinned, so it
 * takes milliseconds, whatever loading and verifying them costs (they are
 * loaded again only if their pins are gone).
 *
 * SIGHUP applies a changed configuration (reload()) as attach does.
 *
 * SIGTERM/SIGINT end the supervision, not the relay: the programs, maps and
 * flows stay attached and pinned, so a restart (systemctl restart, an
 * upgrade, a crash and Restart=) loses no flow. Until the next daemon
 * attaches, TC goes on relaying; only drift goes unrepaired. `relaybpf
 * detach` is what removes everything.
 *
 * A front's --announce is the exception: its routes say "send clients
 * here", which must not outlive the daemon that checks it is true. They
 * are kept in --announce-table exactly while health_can_serve() holds,
 * judged again on every rtnetlink event and every second, and withdrawn on
 * SIGTERM/SIGINT before the daemon exits.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>

#include "back.h"
#include "commands.h"
#include "device.h"
#include "front.h"
#include "health.h"
#include "metrics.h"
#include "netlink.h"
#include "pin.h"
#include "prober.h"
#include "state.h"

/* Events come in bursts (a device coming up adds its addresses and
 * routes): one attach after the burst. */
#define DEBOUNCE_MS 100
/* An attach that failed on a device that is up is tried again. */
#define RETRY_MS 1000
/* --announce: how often the front's health is judged without an event
 * (a drain pins a map, which makes none). */
#define ANNOUNCE_MS 1000

/* A device the attachment uses, followed by name: a recreated one has a
 * new ifindex. */
struct watched {
	char name[IF_NAMESIZE];
	int ifindex; /* 0: does not exist */
	bool up;
	int mtu;
};

struct daemon {
	struct relay_opts o;
	/* front: public, then each tunnel device; back: tunnel */
	struct watched dev[1 + RELAY_MAX_FRONT_TUNNELS];
	int n_dev;
	__u32 back_ifindex;    /* the back's tunnel as attached */
	__u32 table;           /* the back's table, for route/rule events */
	long long due;         /* when to repair (ms, monotonic), 0: nothing to do */
	long long since;       /* when the first event of the burst came */
	char why[96];
	struct prober *prober; /* a front's health checks (prober.c) */
	bool announced;        /* --announce's routes are in place */
	long long announce_due; /* next judgement (ms, monotonic) */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void watch_refresh(struct watched *w)
{
	w->ifindex = if_nametoindex(w->name);
	w->up = w->ifindex && device_is_up(w->name);
	w->mtu = w->ifindex ? device_mtu(w->name) : 0;
}

static void watch_set(struct watched *w, const char *name)
{
	snprintf(w->name, sizeof(w->name), "%s", name);
	watch_refresh(w);
}

static void schedule(struct daemon *d, long long delay, const char *why)
{
	long long at = now_ms() + delay;

	/* The first event of a burst says best what happened. */
	if (!d->due) {
		snprintf(d->why, sizeof(d->why), "%s", why);
		d->since = now_ms();
	}
	if (!d->due || at < d->due)
		d->due = at;
}

static int back_dir(char *dir, size_t len)
{
	return relay_state_exists("back") ? relay_state_dir("back", false, dir, len) : -ENOENT;
}

/* What the attach just did: the devices to follow, the back's table. */
static void record(struct daemon *d)
{
	struct relay_back_tunnel tuns[RELAY_MAX_TUNNELS];
	struct relay_front_config cfg = { 0 };
	char dir[PATH_MAX];
	__u32 zero = 0;
	int fd;

	if (d->o.role == ROLE_BACK) {
		int n;

		watch_set(&d->dev[0], d->o.dev);
		d->n_dev = 1;
		d->back_ifindex = d->dev[0].ifindex;
		n = back_dir(dir, sizeof(dir)) ? 0 : back_tunnels_read(dir, tuns, RELAY_MAX_TUNNELS);
		for (int i = 0; i < n; i++)
			if (tuns[i].ifindex == d->back_ifindex)
				d->table = tuns[i].table;
		return;
	}
	watch_set(&d->dev[0], d->o.dev);
	d->n_dev = 1;
	/* Without --tunnel-dev the tunnels are the ones the routes chose. */
	if (relay_state_exists("front") && !relay_state_dir("front", false, dir, sizeof(dir)) &&
	    (fd = pin_open(dir, "relay_front_cfg")) >= 0) {
		bpf_map_lookup_elem(fd, &zero, &cfg);
		close(fd);
	}
	if (d->o.tunnel_dev) {
		watch_set(&d->dev[d->n_dev++], d->o.tunnel_dev);
	} else {
		__u32 ifindex[RELAY_MAX_FRONT_TUNNELS];
		char name[IF_NAMESIZE];
		int n = front_cfg_tunnels(&cfg, ifindex, NULL);

		for (int i = 0; i < n; i++)
			if (if_indextoname(ifindex[i], name))
				watch_set(&d->dev[d->n_dev++], name);
	}
}

/* A front without --tunnel-dev one of whose tunnels is gone: it finds the
 * new ones by the routes to the backends, whatever their names (tun0 may
 * come back as tun1). */
static bool front_tunnel_lost(const struct daemon *d)
{
	if (d->o.role != ROLE_FRONT || d->o.tunnel_dev)
		return false;
	for (int i = 1; i < d->n_dev; i++)
		if (!d->dev[i].ifindex)
			return true;
	return false;
}

/* The devices of the routes to the backends. While a backend has none (its
 * tunnel is not back yet) the lost devices stay watched: the attach waits
 * for them. */
static void front_tunnel_find(struct daemon *d)
{
	struct watched found[RELAY_MAX_FRONT_TUNNELS] = { 0 };
	char name[IF_NAMESIZE];
	int n = 0;
	bool unrouted = false;

	for (int i = 0; i < d->o.n_backends; i++) {
		const struct relay_ip_key *k = &d->o.backends[i].addr;
		int idx = nl_route_get_dev(k->family, &k->addr), j;

		if (idx <= 0 || idx == d->dev[0].ifindex || !if_indextoname(idx, name)) {
			unrouted = true;
			continue;
		}
		for (j = 0; j < n && found[j].ifindex != idx; j++)
			;
		if (j == n && n < RELAY_MAX_FRONT_TUNNELS)
			watch_set(&found[n++], name);
	}
	for (int i = 1; unrouted && i < d->n_dev && n < RELAY_MAX_FRONT_TUNNELS; i++)
		if (!d->dev[i].ifindex)
			found[n++] = d->dev[i];
	memcpy(&d->dev[1], found, n * sizeof(found[0]));
	d->n_dev = 1 + n;
}

static int attach(const struct relay_opts *o)
{
	return o->role == ROLE_FRONT ? cmd_attach_front(o) : cmd_attach_back(o);
}

/*
 * The back keys its tunnels by ifindex: the record of a deleted device
 * would hold its mark and table against the recreated one. Its rule goes
 * with it and comes back with the next attach.
 */
static void back_forget_stale(struct daemon *d)
{
	struct relay_back_tunnel tuns[RELAY_MAX_TUNNELS];
	char dir[PATH_MAX];
	int n;

	if (!d->back_ifindex || (__u32)if_nametoindex(d->o.dev) == d->back_ifindex ||
	    back_dir(dir, sizeof(dir)))
		return;
	n = back_tunnels_read(dir, tuns, RELAY_MAX_TUNNELS);
	for (int i = 0; i < n; i++)
		if (tuns[i].ifindex == d->back_ifindex) {
			back_tunnel_undo(dir, &tuns[i]);
			fprintf(stderr, "relaybpf daemon: %s (ifindex %u) is gone: its record "
					"removed\n", d->o.dev, d->back_ifindex);
		}
}

static void repair(struct daemon *d)
{
	long long t0 = now_ms();

	d->due = 0;
	if (front_tunnel_lost(d))
		front_tunnel_find(d);
	for (int i = 0; i < d->n_dev; i++) {
		watch_refresh(&d->dev[i]);
		if (!d->dev[i].up) {
			fprintf(stderr, "relaybpf daemon: %s: waiting for %s to %s\n", d->why,
				d->dev[i].name, d->dev[i].ifindex ? "come up" : "appear");
			return;
		}
	}
	if (d->o.role == ROLE_BACK)
		back_forget_stale(d);
	if (attach(&d->o)) {
		fprintf(stderr, "relaybpf daemon: %s: attach failed, trying again in %d ms\n",
			d->why, RETRY_MS);
		schedule(d, RETRY_MS, "retry");
		return;
	}
	record(d);
	prober_kick(d->prober);
	/*
	 * A device that comes up gets a new, tentative IPv6 link-local
	 * address: a neighbour solicitation for a forwarded packet (the
	 * front's toward the backend) in those first milliseconds has no
	 * source and is not sent, and its neighbour waits a whole
	 * retransmit time (1 s) for the next. Now that the address is
	 * usable, the next packet solicits at once.
	 */
	for (int i = 0; i < d->n_dev; i++)
		nl_neigh_flush_unresolved(d->dev[i].ifindex);
	fprintf(stderr, "relaybpf daemon: %s: attached again %lld ms later (attach %lld ms)\n",
		d->why, now_ms() - d->since, now_ms() - t0);
}

static const struct rtattr *rta_find(const struct rtattr *rta, int len, int type)
{
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == type)
			return rta;
	return NULL;
}

static void on_link(struct daemon *d, const struct nlmsghdr *nh)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	const struct rtattr *name = rta_find(IFLA_RTA(ifi), len, IFLA_IFNAME);
	const struct rtattr *mtu = rta_find(IFLA_RTA(ifi), len, IFLA_MTU);
	char why[96];

	if (len < 0 || !name)
		return;
	for (int i = 0; i < d->n_dev; i++) {
		struct watched *w = &d->dev[i];
		bool up = ifi->ifi_flags & IFF_UP;
		int m = mtu ? *(const int *)RTA_DATA(mtu) : w->mtu;

		if (strncmp(RTA_DATA(name), w->name, IF_NAMESIZE) != 0)
			continue;
		if (nh->nlmsg_type == RTM_DELLINK) {
			fprintf(stderr, "relaybpf daemon: %s deleted\n", w->name);
			w->ifindex = 0;
			w->up = false;
			if (d->o.role == ROLE_BACK)
				back_forget_stale(d);
			continue;
		}
		if (ifi->ifi_index != w->ifindex)
			snprintf(why, sizeof(why), "%s appeared (ifindex %d)", w->name,
				 ifi->ifi_index);
		else if (up && !w->up)
			snprintf(why, sizeof(why), "%s came up", w->name);
		else if (m != w->mtu)
			snprintf(why, sizeof(why), "%s: MTU %d", w->name, m);
		else
			why[0] = 0;
		w->ifindex = ifi->ifi_index;
		w->up = up;
		w->mtu = m;
		if (why[0])
			schedule(d, DEBOUNCE_MS, why);
	}
}

static __u32 attr_u32(const struct rtattr *rta, __u32 dflt)
{
	return rta ? *(const __u32 *)RTA_DATA(rta) : dflt;
}

/* The back's table route or rule deleted (the tunnel went down, or someone
 * flushed it). */
static void on_route_or_rule(struct daemon *d, const struct nlmsghdr *nh)
{
	const struct rtmsg *rt = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*rt));
	__u32 table;

	/* struct fib_rule_hdr has the family and table where rtmsg has them. */
	if (d->o.role != ROLE_BACK || !d->table || len < 0 ||
	    (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6))
		return;
	table = attr_u32(rta_find(RTM_RTA(rt), len, nh->nlmsg_type == RTM_DELRULE ? FRA_TABLE :
					RTA_TABLE), rt->rtm_table);
	if (nh->nlmsg_type == RTM_DELRULE && table == RT_TABLE_MAIN &&
	    attr_u32(rta_find(RTM_RTA(rt), len, FRA_PRIORITY), 0) == RELAY_RULE_MAIN_PRIORITY) {
		schedule(d, DEBOUNCE_MS, "the fwmark rule into the main table was deleted");
		return;
	}
	if (table != d->table)
		return;
	schedule(d, DEBOUNCE_MS, nh->nlmsg_type == RTM_DELRULE ? "the fwmark rule was deleted" :
				  "a route of the table was deleted");
}

/* The front's public device renumbered: its addresses are the public
 * ones unless --public-ip says which. */
static void on_addr(struct daemon *d, const struct nlmsghdr *nh)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);

	if (d->o.role == ROLE_FRONT && !d->o.n_public && d->dev[0].ifindex &&
	    (int)ifa->ifa_index == d->dev[0].ifindex)
		schedule(d, DEBOUNCE_MS, nh->nlmsg_type == RTM_NEWADDR ?
				 "an address was added to the public device" :
				 "an address of the public device was deleted");
}

/* The back's main-table default route added, changed or deleted: unmarked
 * UDP replies leave by its device, which needs relay_back_out. */
static bool main_default_route(const struct nlmsghdr *nh)
{
	const struct rtmsg *rt = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*rt));

	return len >= 0 && !rt->rtm_dst_len && rt->rtm_type == RTN_UNICAST &&
	       attr_u32(rta_find(RTM_RTA(rt), len, RTA_TABLE), rt->rtm_table) == RT_TABLE_MAIN;
}

/* Adds (withdraws) every --announce route; says why, once per change. */
static void announce_set(struct daemon *d, bool on, const char *why)
{
	int err = 0;

	for (int i = 0; i < d->o.n_announce; i++) {
		const struct relay_ip_key *k = &d->o.announce[i];
		int e = on ? nl_route_host_add(d->o.announce_table, RELAY_ANNOUNCE_PROTO, k) :
			     nl_route_host_del(d->o.announce_table, RELAY_ANNOUNCE_PROTO, k);
		if (e) {
			char a[IP_STR_LEN];

			fprintf(stderr, "relaybpf daemon: %s %s: %s\n", on ? "announce" : "withdraw",
				ip_key_str(k->family, &k->addr, a), strerror(-e));
			err = e;
		}
	}
	if (on == d->announced && !err)
		return;
	/* A failed add is tried again at the next judgement. */
	d->announced = on && !err;
	if (on && !err)
		fprintf(stderr, "relaybpf daemon: announce: %d address%s in table %u\n",
			d->o.n_announce, d->o.n_announce == 1 ? "" : "es", d->o.announce_table);
	else if (!on)
		fprintf(stderr, "relaybpf daemon: withdraw: %s\n", why);
}

static void announce_judge(struct daemon *d)
{
	char why[RELAY_PROBLEM_LEN];
	bool ok;

	if (!d->o.n_announce)
		return;
	d->announce_due = now_ms() + ANNOUNCE_MS;
	ok = health_can_serve(why, sizeof(why));
	if (ok != d->announced)
		announce_set(d, ok, why);
}

/* Someone deleted an announced route (ip route flush table N): put it back
 * at the next judgement. */
static void on_announce_route(struct daemon *d, const struct nlmsghdr *nh)
{
	const struct rtmsg *rt = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*rt));

	if (d->o.n_announce && len >= 0 && rt->rtm_protocol == RELAY_ANNOUNCE_PROTO &&
	    attr_u32(rta_find(RTM_RTA(rt), len, RTA_TABLE), rt->rtm_table) == d->o.announce_table)
		d->announced = false;
}

static void on_events(struct daemon *d, int fd)
{
	char buf[32768];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) != 0) {
		if (n < 0) {
			/* Events were lost: look at everything again. */
			if (errno == ENOBUFS)
				schedule(d, DEBOUNCE_MS, "netlink events lost");
			return;
		}
		/* Anything may have changed whether this front can serve. */
		d->announce_due = now_ms();
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == RTM_DELROUTE)
				on_announce_route(d, nh);
			if (nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK) {
				prober_on_link(d->prober, nh);
				on_link(d, nh);
			}
			else if (nh->nlmsg_type == RTM_NEWADDR || nh->nlmsg_type == RTM_DELADDR)
				on_addr(d, nh);
			else if ((nh->nlmsg_type == RTM_NEWROUTE || nh->nlmsg_type == RTM_DELROUTE) &&
				 d->o.role == ROLE_BACK && main_default_route(nh))
				schedule(d, DEBOUNCE_MS, "the default route changed");
			else if (nh->nlmsg_type == RTM_DELROUTE || nh->nlmsg_type == RTM_DELRULE)
				on_route_or_rule(d, nh);
			else if (nh->nlmsg_type == RTM_NEWROUTE && front_tunnel_lost(d))
				schedule(d, DEBOUNCE_MS, "a route appeared while the tunnel is gone");
		}
	}
}

/*
 * SIGHUP: the configuration read again (the command line, its -c file
 * read anew) and applied as `attach` applies it: in place and atomically,
 * the flows of the backends that stay going on, counters kept. One that
 * does not parse, changes the role or whose attach fails is logged and the
 * running one stays (a failed attach puts it back). The daemon's own
 * settings (--metrics, --announce) and what sizes the maps (--ct-max) are
 * its start's: the programs and maps pinned then stay.
 */
static void reload(struct daemon *d)
{
	struct relay_opts *o = malloc(sizeof(*o));

	if (!o) {
		fprintf(stderr, "relaybpf daemon: SIGHUP: %s\n", strerror(ENOMEM));
		return;
	}
	opts_defaults(o);
	if (opts_parse(CMD_DAEMON, d->o.argc, d->o.argv, o) || o->role != d->o.role) {
		fprintf(stderr, "relaybpf daemon: SIGHUP: %s: the running configuration stays\n",
			o->role == d->o.role ? "the configuration does not parse (above)" :
					       "--role cannot change (restart the daemon)");
		free(o);
		return;
	}
	o->metrics_addr = d->o.metrics_addr;
	o->metrics_len = d->o.metrics_len;
	memcpy(o->announce, d->o.announce, sizeof(o->announce));
	o->n_announce = d->o.n_announce;
	o->announce_table = d->o.announce_table;
	o->ct_max = d->o.ct_max;
	o->reuse_pinned = true;
	if (attach(o)) {
		fprintf(stderr, "relaybpf daemon: SIGHUP: the attach failed (above): the running "
				"configuration stays\n");
		free(o);
		return;
	}
	d->o = *o;
	free(o);
	record(d);
	fprintf(stderr, "relaybpf daemon: SIGHUP: the configuration read again and applied\n");
}

static int events_open(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV4_RULE |
			     RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int rcvbuf = 1 << 20, rule6 = RTNLGRP_IPV6_RULE; /* no RTMGRP_ bit of its own */

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &rule6, sizeof(rule6))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* A signal: false when it ends the supervision (SIGTERM, SIGINT). */
static bool on_signal(struct daemon *d, int sig_fd)
{
	struct signalfd_siginfo si;

	if (read(sig_fd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGHUP) {
		reload(d);
		return true;
	}
	return false;
}

int cmd_daemon(const struct relay_opts *o)
{
	struct daemon d = { .o = *o };
	struct metrics metrics;
	sigset_t sigs;
	int nl_fd, sig_fd, err, status = 0;

	if (o->role != ROLE_FRONT && o->role != ROLE_BACK) {
		fprintf(stderr, "relaybpf: daemon needs --role front or --role back\n");
		return EXIT_USAGE;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A signal during an attach is handled after it: never half a state. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	/* Listening before the attach: nothing happens unseen in between. */
	nl_fd = events_open();
	if (sig_fd < 0 || nl_fd < 0) {
		fprintf(stderr, "relaybpf: daemon: %s\n", strerror(nl_fd < 0 ? -nl_fd : errno));
		return 1;
	}
	/* Before the attach too: a port in use fails the start, attaching nothing. */
	if (metrics_open(&metrics, &o->metrics_addr, o->metrics_len))
		return 1;
	err = attach(&d.o);
	if (err) {
		metrics_close(&metrics);
		return err;
	}
	d.o.reuse_pinned = true;
	record(&d);
	d.prober = prober_new(&d.o);
	fprintf(stderr, "relaybpf daemon: watching %s", d.dev[0].name);
	for (int i = 1; i < d.n_dev; i++)
		fprintf(stderr, "%s%s", i == d.n_dev - 1 ? " and " : ", ", d.dev[i].name);
	fprintf(stderr, "\n");

	for (;;) {
		static struct pollfd p[2 + METRICS_POLLFDS + PROBER_POLLFDS];
		long long now = now_ms(), wait = d.due ? d.due - now : -1;
		long long metrics_wait = metrics_wait_ms(&metrics, now);
		long long probe_wait = prober_wait_ms(d.prober, now);
		int n_metrics = metrics_pollfds(&metrics, p + 2);
		int n = 2 + n_metrics + prober_pollfds(d.prober, p + 2 + n_metrics);

		p[0] = (struct pollfd){ .fd = nl_fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };

		if (d.due && wait <= 0) {
			repair(&d);
			continue;
		}
		if (o->n_announce && d.announce_due <= now) {
			announce_judge(&d);
			continue;
		}
		if (o->n_announce && (wait < 0 || d.announce_due - now < wait))
			wait = d.announce_due - now;
		if (metrics_wait >= 0 && (wait < 0 || metrics_wait < wait))
			wait = metrics_wait;
		if (probe_wait >= 0 && (wait < 0 || probe_wait < wait))
			wait = probe_wait;
		if (poll(p, n, wait > INT_MAX ? INT_MAX : (int)wait) < 0 && errno != EINTR) {
			/* Unsupervised from here: take it all away, say so. */
			fprintf(stderr, "relaybpf daemon: poll: %s\n", strerror(errno));
			status = 1;
			break;
		}
		if ((p[1].revents & POLLIN) && !on_signal(&d, sig_fd))
			break;
		if (p[0].revents & POLLIN)
			on_events(&d, nl_fd);
		metrics_serve(&metrics, p + 2, n_metrics, now_ms());
		prober_serve(d.prober, p + 2 + n_metrics, n - 2 - n_metrics, now_ms());
	}
	if (d.announced)
		announce_set(&d, false, "the daemon is stopping");
	fprintf(stderr, "relaybpf daemon: stopping; the datapath stays attached "
			"(relaybpf detach removes it)\n");
	metrics_close(&metrics);
	prober_free(d.prober);
	close(nl_fd);
	close(sig_fd);
	return status;
}

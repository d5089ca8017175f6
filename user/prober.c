// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * relaybpf daemon's health checks (docs/services.md, "Health checks"). Every
 * --health-interval each backend of a service with a check gets one probe:
 * a TCP connect to its port of the service's first tcp port (health=tcp),
 * an ICMP echo (icmp), a UDP datagram that any answer passes (udp:PAYLOAD).
 * Probes leave through the backend's tunnel device (SO_BINDTODEVICE) from the front's
 * tunnel address, never from a public one: the backend's relay sees the
 * front itself, not a client, and its answer is the front's (relay_front_rev
 * never translates traffic to the tunnel address). Every socket is
 * non-blocking and served from the daemon's poll loop; a probe times out at
 * 4/5 of the interval, 900 ms at most, so the --health-fall-th failure is
 * known within fall x interval + 1 s of the backend failing.
 *
 * --health-fall failures in a row take a backend down (RELAY_HOLD_DOWN:
 * out of the rows, its flows move), --health-rise passes bring it back; the
 * tunnel device going down or away takes every backend behind it down at
 * once. The holds are in the pinned relay_backends, where the prober starts
 * from after a restart: nothing flaps. Its view of each backend (since
 * when, the last result and latency, transitions) goes to RELAY_HEALTH_MAP
 * for status and stats.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>

#include "device.h"
#include "front.h"
#include "inspect.h"
#include "pin.h"
#include "prober.h"
#include "services.h"
#include "state.h"

/* The ICMP echo's type and its reply's, by family index. */
static const __u8 echo_request[2] = { 8, 128 }, echo_reply[2] = { 0, 129 };

struct target {
	struct relay_backend b;     /* as relay_backends has it (family 0: none) */
	struct relay_health_opt h;  /* its service's check */
	int fd;                     /* the probe in flight, -1: none */
	long long started_us, deadline_ms;
	long long next_ms;          /* its next probe (or tunnel check) */
	__u16 echo_seq;
	__u32 fails, passes;        /* in a row */
	bool down;                  /* RELAY_HOLD_DOWN, as committed or to commit */
};

struct prober {
	const struct relay_opts *o;
	char dir[PATH_MAX];
	struct relay_front_config cfg;
	struct relay_service services[RELAY_SERVICE_SLOTS];
	long long next_round_ms;
	__u16 seq;
	bool commit;                /* a target's down changed */
	int poll_ids[PROBER_POLLFDS];
	struct target t[RELAY_MAX_BACKENDS];
	struct relay_backend_health rec[RELAY_MAX_BACKENDS];
};

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long long timeout_ms(const struct target *t)
{
	long long ms = (long long)t->h.interval_ms * 4 / 5;

	return ms < 900 ? ms : 900;
}

/* "web=10.22.22.1" / "10.22.22.1:8080" (the default service's), into buf. */
static const char *target_name(const struct prober *pr, const struct relay_backend *b, char *buf,
			       size_t len)
{
	char a[IP_STR_LEN + 8];

	svc_addr_str(b->family, &b->addr, b->port, a, sizeof(a));
	snprintf(buf, len, "%s%s%s", b->service ? pr->services[b->service].name : "",
		 b->service ? "=" : "", a);
	return buf;
}

static const char *const kind_names[] = { "none", "tcp", "icmp", "udp" };

static void close_probe(struct target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* The health map, created and pinned by the first daemon to check. */
static int health_map(const struct prober *pr)
{
	char path[PATH_MAX];
	int fd = pin_open(pr->dir, RELAY_HEALTH_MAP);

	if (fd >= 0)
		return fd;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "relay_bk_health", 4,
			    sizeof(struct relay_backend_health), RELAY_MAX_BACKENDS, NULL);
	relay_path(path, pr->dir, RELAY_HEALTH_MAP);
	if (fd >= 0 && bpf_obj_pin(fd, path)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void record_write(struct prober *pr, __u32 id)
{
	int fd = health_map(pr);

	if (fd < 0)
		return;
	bpf_map_update_elem(fd, &id, &pr->rec[id], BPF_ANY);
	close(fd);
}

/* Takes the backends' holds to relay_backends as the targets have them. */
static void commit(struct prober *pr)
{
	struct svc_live *l;
	int err = svc_live_open(pr->dir, &l);

	if (!err) {
		for (int id = 1; id < RELAY_MAX_BACKENDS; id++) {
			struct relay_backend *b = &l->p.backends[id];

			if (b->family && svc_backend_is(b, &pr->t[id].b))
				b->hold = pr->t[id].down ? b->hold | RELAY_HOLD_DOWN :
							   b->hold & ~RELAY_HOLD_DOWN;
		}
		err = svc_live_commit(l);
		svc_live_close(l);
	}
	if (err)
		fprintf(stderr, "relaybpf daemon: health: writing the backends' state failed: %s; "
				"trying again\n", strerror(-err));
	pr->commit = err != 0;
}

static void transition(struct prober *pr, __u32 id, bool down, const char *why)
{
	struct target *t = &pr->t[id];
	char name[96];

	t->down = down;
	pr->commit = true;
	pr->rec[id].since = time(NULL);
	pr->rec[id].transitions++;
	fprintf(stderr, "relaybpf daemon: backend %s %s: %s\n",
		target_name(pr, &t->b, name, sizeof(name)), down ? "down" : "up", why);
}

/* One probe's result. */
static void probe_done(struct prober *pr, __u32 id, bool ok, const char *result)
{
	struct target *t = &pr->t[id];
	struct relay_backend_health *r = &pr->rec[id];
	char why[96];

	r->latency_us = t->started_us ? mono_us() - t->started_us : 0;
	r->probe_time = time(NULL);
	r->last = ok ? PROBE_PASSED : PROBE_FAILED;
	snprintf(r->result, sizeof(r->result), "%s", result);
	close_probe(t);
	if (t->next_ms < pr->next_round_ms)
		pr->next_round_ms = t->next_ms;
	t->fails = ok ? 0 : t->fails + 1;
	t->passes = ok ? t->passes + 1 : 0;
	if (!t->down && t->fails >= t->h.fall) {
		snprintf(why, sizeof(why), "%u %s probes failed (%s)", t->fails, kind_names[t->h.kind],
			 result);
		transition(pr, id, true, why);
	} else if (t->down && t->passes >= t->h.rise) {
		snprintf(why, sizeof(why), "%u %s probes passed (%.1f ms)", t->passes,
			 kind_names[t->h.kind], r->latency_us / 1000.0);
		transition(pr, id, false, why);
	}
	record_write(pr, id);
}

static void fail_errno(struct prober *pr, __u32 id, int err)
{
	probe_done(pr, id, false, strerror(err));
}

/* The probe's socket: non-blocking, through the tunnel, from the front's
 * tunnel address, connected to the backend. */
/* A backend's tunnel device (its own, relay_backend.tunnel_ifindex; 0: the
 * configuration's first) and the front's addresses on it, *ip. */
static __u32 target_tunnel(const struct prober *pr, const struct target *t,
			   const union relay_ip **ip)
{
	*ip = pr->cfg.tunnel_ip;
	if (!t->b.tunnel_ifindex || t->b.tunnel_ifindex == pr->cfg.tunnel_ifindex)
		return pr->cfg.tunnel_ifindex;
	for (int i = 0; i < RELAY_MAX_FRONT_TUNNELS - 1; i++)
		if (pr->cfg.tunnels[i].ifindex == t->b.tunnel_ifindex)
			*ip = pr->cfg.tunnels[i].ip;
	return t->b.tunnel_ifindex;
}

static int probe_socket(const struct prober *pr, const struct target *t, int type, int proto,
			__u16 port)
{
	int f = RELAY_FAMILY_IDX(t->b.family), fd;
	struct sockaddr_storage src = { 0 }, dst = { 0 };
	const union relay_ip *tun_ip;
	char tunnel[IF_NAMESIZE];
	socklen_t len;

	if (!if_indextoname(target_tunnel(pr, t, &tun_ip), tunnel))
		return -errno;
	fd = socket(t->b.family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -errno;
	if (t->b.family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&src, *d = (struct sockaddr_in *)&dst;

		s->sin_family = d->sin_family = AF_INET;
		s->sin_addr.s_addr = tun_ip[0].v4;
		d->sin_addr.s_addr = t->b.addr.v4;
		d->sin_port = htons(port);
		len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&src, *d = (struct sockaddr_in6 *)&dst;

		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, tun_ip[1].v6, 16);
		memcpy(&d->sin6_addr, t->b.addr.v6, 16);
		d->sin6_port = htons(port);
		len = sizeof(*s);
	}
	/* A TCP probe ends with a FIN, not an RST: a server may take an
	 * aborted connection for an error (and log it, or worse). */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, tunnel, strlen(tunnel) + 1) ||
	    ((tun_ip[f].v6w[0] | tun_ip[f].v6w[1] | tun_ip[f].v6w[2] | tun_ip[f].v6w[3]) &&
	     bind(fd, (void *)&src, len)) ||
	    (connect(fd, (void *)&dst, len) && errno != EINPROGRESS)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static __u16 csum(const void *data, size_t len)
{
	const __u8 *p = data;
	__u32 sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

static void probe_start(struct prober *pr, __u32 id)
{
	struct target *t = &pr->t[id];
	const struct relay_service *s = &pr->services[t->b.service];
	int f = RELAY_FAMILY_IDX(t->b.family), fd;
	__u16 port = t->h.port ? relay_backend_port(&t->b, s, t->h.port) : 0;

	t->started_us = mono_us();
	t->deadline_ms = t->started_us / 1000 + timeout_ms(t);
	if (t->h.kind == HEALTH_TCP)
		fd = probe_socket(pr, t, SOCK_STREAM, 0, port);
	else if (t->h.kind == HEALTH_UDP)
		fd = probe_socket(pr, t, SOCK_DGRAM, 0, port);
	else
		fd = probe_socket(pr, t, SOCK_RAW, f ? IPPROTO_ICMPV6 : IPPROTO_ICMP, 0);
	if (fd < 0) {
		fail_errno(pr, id, -fd);
		return;
	}
	t->fd = fd;
	if (t->h.kind == HEALTH_ICMP) {
		/* type, code, checksum, identifier (the id), sequence, "relaybpf". */
		__u8 echo[16] = { echo_request[f], 0, 0, 0, id >> 8, id & 0xff };
		__u16 sum;

		t->echo_seq = ++pr->seq;
		echo[6] = t->echo_seq >> 8;
		echo[7] = t->echo_seq & 0xff;
		memcpy(echo + 8, "relaybpf", 8);
		/* ICMPv6's checksum covers the pseudo-header: the kernel's. */
		sum = f ? 0 : csum(echo, sizeof(echo));
		memcpy(echo + 2, &sum, 2);
		if (send(fd, echo, sizeof(echo), 0) < 0)
			fail_errno(pr, id, errno);
	} else if (t->h.kind == HEALTH_UDP &&
		   send(fd, t->h.payload, strlen(t->h.payload), 0) < 0) {
		fail_errno(pr, id, errno);
	}
}

/* An echo reply to this target's echo among what the raw socket has. */
static void icmp_read(struct prober *pr, __u32 id)
{
	struct target *t = &pr->t[id];
	int f = RELAY_FAMILY_IDX(t->b.family);
	__u8 buf[512];
	ssize_t n;

	while ((n = recv(t->fd, buf, sizeof(buf), 0)) > 0) {
		/* An IPv4 raw socket gives the IP header too. */
		size_t off = f ? 0 : (size_t)(buf[0] & 0xf) * 4;

		if ((size_t)n >= off + 8 && buf[off] == echo_reply[f] &&
		    ((buf[off + 4] << 8) | buf[off + 5]) == (int)id &&
		    ((buf[off + 6] << 8) | buf[off + 7]) == t->echo_seq) {
			probe_done(pr, id, true, "ok");
			return;
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		fail_errno(pr, id, errno);
}

static void probe_event(struct prober *pr, __u32 id, short revents)
{
	struct target *t = &pr->t[id];
	char buf[512];
	int err = 0;
	socklen_t len = sizeof(err);

	if (t->h.kind == HEALTH_TCP) {
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len))
			err = errno;
		if (err)
			fail_errno(pr, id, err);
		else if (revents & POLLOUT)
			probe_done(pr, id, true, "ok");
	} else if (t->h.kind == HEALTH_UDP) {
		if (recv(t->fd, buf, sizeof(buf), 0) >= 0)
			probe_done(pr, id, true, "ok");
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			fail_errno(pr, id, errno);
	} else {
		icmp_read(pr, id);
	}
}

/* The check of service idx: the default service's --health, a named one's
 * health=; its health-interval=, health-fall=, health-rise= resolved here,
 * once a refresh, to the daemon's where the service leaves them 0, so that
 * the probes read plain fields. */
static struct relay_health_opt check_of(const struct prober *pr, int idx)
{
	struct relay_health_opt h = { .kind = HEALTH_NONE };

	if (!idx)
		h = pr->o->health;
	else
		for (int i = 0; i < pr->o->n_services; i++)
			if (!strcmp(pr->o->services[i].name, pr->services[idx].name)) {
				h = pr->o->services[i].health;
				break;
			}
	if (!h.interval_ms)
		h.interval_ms = pr->o->health_interval_ms;
	if (!h.fall)
		h.fall = pr->o->health_fall;
	if (!h.rise)
		h.rise = pr->o->health_rise;
	return h;
}

/* The front as attached now: its tunnel, services, backends. A target
 * whose id now names another backend starts again from its hold. */
static bool refresh(struct prober *pr)
{
	struct relay_service *svc = calloc((size_t)2 * RELAY_SERVICE_SLOTS, sizeof(*svc));
	struct relay_backend *bk = calloc(RELAY_MAX_BACKENDS, sizeof(*bk));
	int fd_s = -1, fd_b = -1;
	bool ok = svc && bk && inspect_dir("front", pr->dir, sizeof(pr->dir)) &&
		  !inspect_front_cfg(pr->dir, &pr->cfg) &&
		  pr->cfg.tunnel_ifindex &&
		  (fd_s = pin_open(pr->dir, "relay_services")) >= 0 &&
		  (fd_b = pin_open(pr->dir, "relay_backends")) >= 0 &&
		  !svc_map_read(fd_s, 2 * RELAY_SERVICE_SLOTS, svc) &&
		  !svc_map_read(fd_b, RELAY_MAX_BACKENDS, bk);

	if (ok)
		memcpy(pr->services, &svc[RELAY_SERVICE_KEY(pr->cfg.svc_gen & 1, 0)],
		       sizeof(pr->services));
	for (int id = 1; ok && id < RELAY_MAX_BACKENDS; id++) {
		struct target *t = &pr->t[id];
		struct relay_backend_health *r = &pr->rec[id];

		if (!svc_backend_is(&t->b, &bk[id])) {
			close_probe(t);
			t->fails = t->passes = 0;
			t->next_ms = 0;
			t->down = bk[id].hold & RELAY_HOLD_DOWN;
		}
		t->b = bk[id];
		t->h = check_of(pr, t->b.service);
		if (t->b.family && !svc_health_of(r, &t->b)) {
			memset(r, 0, sizeof(*r));
			r->since = time(NULL);
			r->family = t->b.family;
			r->service = t->b.service;
			r->port = t->b.port;
			r->addr = t->b.addr;
		}
		r->kind = t->h.kind;
	}
	if (fd_s >= 0)
		close(fd_s);
	if (fd_b >= 0)
		close(fd_b);
	free(svc);
	free(bk);
	return ok;
}

/* Reads the records a previous daemon left, so since and transitions go on. */
static void records_read(struct prober *pr)
{
	int fd;

	if (!inspect_dir("front", pr->dir, sizeof(pr->dir)))
		return;
	fd = pin_open(pr->dir, RELAY_HEALTH_MAP);
	if (fd >= 0 && svc_map_read(fd, RELAY_MAX_BACKENDS, pr->rec))
		memset(pr->rec, 0, sizeof(pr->rec));
	if (fd >= 0)
		close(fd);
}

/* A target without a check: up exactly while its tunnel is. */
static void no_check(struct prober *pr, __u32 id, bool tunnel_up)
{
	struct target *t = &pr->t[id];

	t->started_us = 0;
	if (t->down == tunnel_up)
		transition(pr, id, !tunnel_up, tunnel_up ? "its tunnel is up (no check)" :
							   "its tunnel is down");
	if (pr->rec[id].last != (tunnel_up ? PROBE_PASSED : PROBE_FAILED)) {
		pr->rec[id].last = tunnel_up ? PROBE_PASSED : PROBE_FAILED;
		snprintf(pr->rec[id].result, sizeof(pr->rec[id].result), "%s",
			 tunnel_up ? "tunnel up" : "tunnel down");
		pr->rec[id].probe_time = time(NULL);
		record_write(pr, id);
	}
}

/* Every target due gets its probe (or, without a check, its tunnel's
 * state); the next round is when the first is due again. */
static void round_start(struct prober *pr, long long now)
{
	pr->next_round_ms = now + pr->o->health_interval_ms;
	if (!refresh(pr))
		return;
	for (__u32 id = 1; id < RELAY_MAX_BACKENDS; id++) {
		struct target *t = &pr->t[id];

		if (!t->b.family)
			continue;
		if (t->fd < 0 && t->next_ms <= now) {
			t->next_ms = now + t->h.interval_ms;
			if (t->h.kind != HEALTH_NONE) {
				probe_start(pr, id);
			} else {
				const union relay_ip *tun_ip;
				char tunnel[IF_NAMESIZE];
				bool tunnel_up = if_indextoname(target_tunnel(pr, t, &tun_ip), tunnel) &&
					    device_is_up(tunnel);
				no_check(pr, id, tunnel_up);
			}
		}
		/* One in flight since before it was due again: when it ends. */
		if ((t->fd < 0 || t->next_ms > now) && t->next_ms < pr->next_round_ms)
			pr->next_round_ms = t->next_ms;
	}
}

struct prober *prober_new(const struct relay_opts *o)
{
	struct prober *pr;

	if (o->role != ROLE_FRONT)
		return NULL;
	pr = calloc(1, sizeof(*pr));
	if (!pr) {
		fprintf(stderr, "relaybpf daemon: health: %s\n", strerror(ENOMEM));
		return NULL;
	}
	pr->o = o;
	for (int id = 0; id < RELAY_MAX_BACKENDS; id++)
		pr->t[id].fd = -1;
	records_read(pr);
	/* The holds as pinned: a backend down stays down until it passes. */
	refresh(pr);
	return pr;
}

void prober_free(struct prober *pr)
{
	if (!pr)
		return;
	for (int id = 0; id < RELAY_MAX_BACKENDS; id++)
		close_probe(&pr->t[id]);
	free(pr);
}

int prober_pollfds(struct prober *pr, struct pollfd *p)
{
	int n = 0;

	for (int id = 1; pr && id < RELAY_MAX_BACKENDS; id++) {
		if (pr->t[id].fd < 0)
			continue;
		pr->poll_ids[n] = id;
		p[n++] = (struct pollfd){ .fd = pr->t[id].fd,
					  .events = pr->t[id].h.kind == HEALTH_TCP ? POLLOUT :
										     POLLIN };
	}
	return n;
}

long long prober_wait_ms(const struct prober *pr, long long now_ms)
{
	long long due;

	if (!pr)
		return -1;
	due = pr->next_round_ms;
	for (int id = 1; id < RELAY_MAX_BACKENDS; id++)
		if (pr->t[id].fd >= 0 && pr->t[id].deadline_ms < due)
			due = pr->t[id].deadline_ms;
	return due > now_ms ? due - now_ms : 0;
}

void prober_serve(struct prober *pr, const struct pollfd *p, int n, long long now_ms)
{
	if (!pr)
		return;
	for (int k = 0; k < n; k++)
		if (p[k].revents && pr->t[pr->poll_ids[k]].fd == p[k].fd)
			probe_event(pr, pr->poll_ids[k], p[k].revents);
	for (__u32 id = 1; id < RELAY_MAX_BACKENDS; id++)
		if (pr->t[id].fd >= 0 && now_ms >= pr->t[id].deadline_ms)
			probe_done(pr, id, false, "timed out");
	if (now_ms >= pr->next_round_ms)
		round_start(pr, now_ms);
	if (pr->commit)
		commit(pr);
}

void prober_on_link(struct prober *pr, const struct nlmsghdr *nh)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	char why[IF_NAMESIZE + 48], name[IF_NAMESIZE];

	if (!pr || !pr->cfg.tunnel_ifindex || !front_cfg_has_tunnel(&pr->cfg, ifi->ifi_index) ||
	    (nh->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP) &&
	     (ifi->ifi_flags & IFF_RUNNING)))
		return;
	if (if_indextoname(ifi->ifi_index, name))
		snprintf(why, sizeof(why), "its tunnel %s is %s", name,
			 nh->nlmsg_type == RTM_DELLINK ? "gone" : "down");
	else
		snprintf(why, sizeof(why), "its tunnel (ifindex %d) is gone", ifi->ifi_index);
	for (__u32 id = 1; id < RELAY_MAX_BACKENDS; id++) {
		struct target *t = &pr->t[id];
		const union relay_ip *tun_ip;

		if (!t->b.family || t->down ||
		    target_tunnel(pr, t, &tun_ip) != (__u32)ifi->ifi_index)
			continue;
		close_probe(t);
		t->fails = t->h.fall;
		t->passes = 0;
		transition(pr, id, true, why);
		pr->rec[id].last = PROBE_FAILED;
		snprintf(pr->rec[id].result, sizeof(pr->rec[id].result), "tunnel down");
		record_write(pr, id);
	}
	if (pr->commit)
		commit(pr);
}

void prober_kick(struct prober *pr)
{
	if (!pr)
		return;
	pr->next_round_ms = 0;
	for (int id = 1; id < RELAY_MAX_BACKENDS; id++)
		pr->t[id].next_ms = 0;
}

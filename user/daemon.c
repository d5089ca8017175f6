// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * relaybpf daemon: attach, then keep it attached. The kernel drops part of
 * the setup when a tunnel goes away: down and up deletes the table's
 * route, deletion and recreation (wg-quick, an OpenVPN reconnect) takes the
 * TC filter with the device and gives the new device another ifindex.
 * rtnetlink tells us at once; since attach is idempotent, healing is
 * running attach again, by device name. The same covers a daemon started
 * before its tunnel exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "back.h"
#include "commands.h"
#include "inspect.h"
#include "netlink.h"
#include "tc.h"

/* Retry a failed heal this often; every rtnetlink event (the tunnel
 * coming back) also triggers a try at once. */
#define RETRY_MS 1000

static int attach(const struct relay_opts *o)
{
	return o->role == ROLE_FRONT ? cmd_attach_front(o) : cmd_attach_back(o);
}

/* attach again; after a failure, the retries stay quiet until one works,
 * so a tunnel that stays down for an hour does not flood the journal. */
static int reattach(const struct relay_opts *o, int failures)
{
	int saved_out = -1, saved_err = -1, null, err;

	if (failures == 0) {
		printf("relaybpf: setup changed, attaching again\n");
	} else if ((null = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
		fflush(stdout);
		saved_out = dup(STDOUT_FILENO);
		saved_err = dup(STDERR_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	err = attach(o);
	if (saved_out >= 0) {
		fflush(stdout);
		dup2(saved_out, STDOUT_FILENO);
		dup2(saved_err, STDERR_FILENO);
		close(saved_out);
		close(saved_err);
		if (!err)
			printf("relaybpf: attached again after %d retries\n", failures);
	} else if (err) {
		printf("relaybpf: retrying every %d ms and at each network change\n", RETRY_MS);
	}
	return err;
}

static bool hooked(__u32 ifindex)
{
	return ifindex && tc_ingress_prog_id(ifindex);
}

/* Whether everything attach installed is still there, by name. */
static bool healthy(const struct relay_opts *o)
{
	char dir[PATH_MAX];
	__u32 dev = if_nametoindex(o->dev);

	if (o->role == ROLE_FRONT) {
		struct relay_front_config cfg;

		return inspect_dir("front", dir, sizeof(dir)) && !inspect_front_cfg(dir, &cfg) &&
		       cfg.public_ifindex == dev && hooked(dev) && hooked(cfg.tunnel_ifindex) &&
		       (!o->tunnel_dev || cfg.tunnel_ifindex == if_nametoindex(o->tunnel_dev));
	} else {
		struct relay_back_state st;

		return inspect_dir("back", dir, sizeof(dir)) && !back_state_read(dir, &st) &&
		       st.ifindex == dev && hooked(dev) &&
		       nl_rule_exists(AF_INET, st.mark, st.mask, st.table, RELAY_RULE_PRIORITY) == 1;
	}
}

static __u32 route_table(const struct nlmsghdr *nh)
{
	const struct rtmsg *rtm = NLMSG_DATA(nh);
	int len = RTM_PAYLOAD(nh);

	for (const struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == RTA_TABLE)
			return *(__u32 *)RTA_DATA(a);
	return rtm->rtm_table;
}

/* Reads the pending rtnetlink messages; true if one of them may have
 * broken what healthy() cannot see: the back's table route, which the
 * kernel flushes without a notification when the device goes down, so
 * any change of the back's device counts. */
static bool drain(int fd, const struct relay_opts *o)
{
	int dev = if_nametoindex(o->dev);
	char buf[16384];
	bool broken = false;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0 || (n < 0 && errno == EINTR)) {
		for (struct nlmsghdr *nh = (void *)buf; n > 0 && NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (o->role != ROLE_BACK)
				continue;
			if (nh->nlmsg_type == RTM_DELROUTE && route_table(nh) == o->table)
				broken = true;
			if (nh->nlmsg_type == RTM_NEWLINK &&
			    ((struct ifinfomsg *)NLMSG_DATA(nh))->ifi_index == dev)
				broken = true;
		}
	}
	/* ENOBUFS: events were lost; check everything. */
	return broken || (n < 0 && errno == ENOBUFS);
}

static int netlink_events(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR |
					       RTMGRP_IPV4_ROUTE | RTMGRP_IPV4_RULE };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -errno;
	}
	return fd;
}

int cmd_daemon(const struct relay_opts *o)
{
	struct relay_opts detach_opts = { .role = o->role };
	struct pollfd fds[2];
	sigset_t sigs;
	int err, timeout = -1;
	bool pending = false; /* an attach is due: an event, or a failed try */
	int failures = 0;     /* failed tries of the heal in progress */

	/* Subscribe first: no event between attach and the loop is missed. */
	fds[0].fd = netlink_events();
	if (fds[0].fd < 0) {
		fprintf(stderr, "relaybpf: rtnetlink events: %s\n", strerror(-fds[0].fd));
		return 1;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	fds[1].fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	fds[0].events = fds[1].events = POLLIN;
	if (fds[1].fd < 0) {
		close(fds[0].fd);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* At boot the tunnel may come up after this starts: a failure other
	 * than bad usage is waited out like a tunnel restart. */
	err = attach(o);
	if (err == EXIT_USAGE) {
		close(fds[0].fd);
		close(fds[1].fd);
		return err;
	}
	if (err) {
		printf("relaybpf: not attached yet; retrying every %d ms and at each network "
		       "change\n", RETRY_MS);
		pending = true;
		failures = 1;
		timeout = RETRY_MS;
	}
	printf("relaybpf: daemon watching %s (pid %d)\n", o->dev, getpid());
	for (;;) {
		if (poll(fds, 2, timeout) < 0 && errno != EINTR)
			break;
		if (fds[1].revents & POLLIN)
			break;
		if ((fds[0].revents & POLLIN) && drain(fds[0].fd, o))
			pending = true;
		if (pending || !healthy(o)) {
			pending = reattach(o, failures) != 0;
			failures = pending ? failures + 1 : 0;
			timeout = pending ? RETRY_MS : -1;
		}
	}
	printf("relaybpf: daemon stopping, detaching\n");
	close(fds[0].fd);
	close(fds[1].fd);
	return cmd_detach(&detach_opts);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/if_tunnel.h>
#include <linux/neighbour.h>
#include <linux/pkt_sched.h>

#include "netlink.h"

struct nl_req {
	struct nlmsghdr nh;
	union {
		struct rtmsg rt;
		struct fib_rule_hdr frh;
		struct ifaddrmsg ifa;
		struct ifinfomsg ifi;
		struct genlmsghdr genl;
		struct ndmsg nd;
		struct tcmsg tc;
	};
	char attrs[256];
};

static void nl_put(struct nl_req *r, int type, const void *data, int len)
{
	char *pos = (char *)r + NLMSG_ALIGN(r->nh.nlmsg_len);
	struct rtattr rta = { .rta_len = RTA_LENGTH(len), .rta_type = type };

	memcpy(pos, &rta, sizeof(rta));
	memcpy(pos + RTA_LENGTH(0), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(rta.rta_len);
}

static void nl_put_u32(struct nl_req *r, int type, uint32_t v)
{
	nl_put(r, type, &v, sizeof(v));
}

/* A request of type whose fixed header (rtmsg, fib_rule_hdr, ...) is hdr_len. */
static void nl_msg_init(struct nl_req *r, int type, int flags, size_t hdr_len)
{
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(hdr_len);
	r->nh.nlmsg_type = type;
	r->nh.nlmsg_flags = flags;
}

typedef int (*nl_cb)(const struct nlmsghdr *nh, void *arg);

/* Sends one request on a socket of protocol proto and reads answers until
 * ACK/DONE; calls cb for data. */
static int nl_talk_proto(int proto, struct nlmsghdr *req, nl_cb cb, void *arg)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[16384];
	int fd, err = 0, done = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -errno;
	req->nlmsg_seq = 1;
	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			err = -errno;
			break;
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				if (e->error && !err)
					err = e->error;
				done = 1;
				break;
			}
			if (cb && !err)
				err = cb(nh, arg);
		}
	}
out:
	close(fd);
	return err;
}

static int nl_talk(struct nlmsghdr *req, nl_cb cb, void *arg)
{
	return nl_talk_proto(NETLINK_ROUTE, req, cb, arg);
}

/* suppress: FRA_SUPPRESS_PREFIXLEN, or -1 for none. */
static void nl_rule_msg(struct nl_req *r, int type, int flags, int family, uint32_t mark,
			uint32_t mask, uint32_t table, uint32_t prio, int suppress)
{
	nl_msg_init(r, type, flags, sizeof(r->frh));
	r->frh.family = family;
	r->frh.action = FR_ACT_TO_TBL;
	r->frh.table = table < 256 ? table : RT_TABLE_UNSPEC;
	nl_put_u32(r, FRA_TABLE, table);
	nl_put_u32(r, FRA_FWMARK, mark);
	nl_put_u32(r, FRA_FWMASK, mask);
	nl_put_u32(r, FRA_PRIORITY, prio);
	if (suppress >= 0)
		nl_put_u32(r, FRA_SUPPRESS_PREFIXLEN, suppress);
}

static int rule_add(int family, uint32_t mark, uint32_t mask, uint32_t table, uint32_t prio,
		    int suppress)
{
	struct nl_req r;
	int err;

	nl_rule_msg(&r, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, family, mark, mask, table, prio,
		    suppress);
	err = nl_talk(&r.nh, NULL, NULL);
	return err == -EEXIST ? 0 : err;
}

static int rule_del(int family, uint32_t mark, uint32_t mask, uint32_t table, uint32_t prio,
		    int suppress)
{
	struct nl_req r;
	int err;

	/* A zero mask would match (and delete) any rule of that priority. */
	if (!mask)
		return 0;
	nl_rule_msg(&r, RTM_DELRULE, 0, family, mark, mask, table, prio, suppress);
	err = nl_talk(&r.nh, NULL, NULL);
	return err == -ENOENT ? 0 : err;
}

int nl_rule_add(int family, uint32_t mark, uint32_t mask, uint32_t table, uint32_t prio)
{
	return rule_add(family, mark, mask, table, prio, -1);
}

int nl_rule_del(int family, uint32_t mark, uint32_t mask, uint32_t table, uint32_t prio)
{
	return rule_del(family, mark, mask, table, prio, -1);
}

int nl_rule_main_add(int family, uint32_t mark, uint32_t mask, uint32_t prio)
{
	return rule_add(family, mark, mask, RT_TABLE_MAIN, prio, 0);
}

int nl_rule_main_del(int family, uint32_t mark, uint32_t mask, uint32_t prio)
{
	return rule_del(family, mark, mask, RT_TABLE_MAIN, prio, 0);
}

struct rule_match {
	uint32_t mark, mask, table, prio;
	int found;
};

static int rule_cb(const struct nlmsghdr *nh, void *arg)
{
	struct rule_match *m = arg;
	const struct fib_rule_hdr *frh = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*frh));
	uint32_t mark = 0, mask = 0, table = frh->table, prio = 0;

	if (nh->nlmsg_type != RTM_NEWRULE)
		return 0;
	for (const struct rtattr *a = (const void *)((const char *)frh + NLMSG_ALIGN(sizeof(*frh)));
	     RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		uint32_t v = *(const uint32_t *)RTA_DATA(a);

		switch (a->rta_type) {
		case FRA_FWMARK: mark = v; break;
		case FRA_FWMASK: mask = v; break;
		case FRA_TABLE: table = v; break;
		case FRA_PRIORITY: prio = v; break;
		}
	}
	if (mark == m->mark && mask == m->mask && table == m->table && prio == m->prio)
		m->found = 1;
	return 0;
}

int nl_rule_exists(int family, uint32_t mark, uint32_t mask, uint32_t table, uint32_t prio)
{
	struct rule_match m = { mark, mask, table, prio, 0 };
	struct nl_req r;
	int err;

	nl_msg_init(&r, RTM_GETRULE, NLM_F_DUMP, sizeof(r.frh));
	r.frh.family = family;
	err = nl_talk(&r.nh, rule_cb, &m);
	return err ? err : m.found;
}

static void nl_route_msg(struct nl_req *r, int type, int flags, int family, uint32_t table)
{
	nl_msg_init(r, type, flags, sizeof(r->rt));
	r->rt.rtm_family = family;
	r->rt.rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	r->rt.rtm_protocol = RTPROT_STATIC;
	r->rt.rtm_scope = RT_SCOPE_UNIVERSE;
	r->rt.rtm_type = RTN_UNICAST;
	nl_put_u32(r, RTA_TABLE, table);
}

int nl_route_replace_default(int family, uint32_t table, int ifindex, const void *gw)
{
	struct nl_req r;

	nl_route_msg(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, family, table);
	nl_put_u32(&r, RTA_OIF, ifindex);
	if (gw)
		nl_put(&r, RTA_GATEWAY, gw, family == AF_INET6 ? 16 : 4);
	else
		r.rt.rtm_scope = RT_SCOPE_LINK;
	return nl_talk(&r.nh, NULL, NULL);
}

int nl_route_del_default(int family, uint32_t table, int ifindex)
{
	struct nl_req r;
	int err;

	nl_route_msg(&r, RTM_DELROUTE, 0, family, table);
	r.rt.rtm_scope = RT_SCOPE_NOWHERE;
	nl_put_u32(&r, RTA_OIF, ifindex);
	err = nl_talk(&r.nh, NULL, NULL);
	/* The kernel already removed it when the device went down. */
	return err == -ESRCH || err == -ENOENT || err == -ENODEV ? 0 : err;
}

static int route_get_cb(const struct nlmsghdr *nh, void *arg)
{
	const struct rtmsg *rt = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*rt));

	for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == RTA_OIF)
			*(int *)arg = *(const int *)RTA_DATA(a);
	return 0;
}

int nl_route_get_dev(int family, const void *dst)
{
	int len = family == AF_INET6 ? 16 : 4;
	struct nl_req r;
	int oif = 0, err;

	nl_msg_init(&r, RTM_GETROUTE, 0, sizeof(r.rt));
	r.rt.rtm_family = family;
	r.rt.rtm_dst_len = len * 8;
	nl_put(&r, RTA_DST, dst, len);
	err = nl_talk(&r.nh, route_get_cb, &oif);
	if (err)
		return err;
	return oif ? oif : -ENETUNREACH;
}

struct addr_list {
	int ifindex, family, n, max;
	struct relay_ip_key *out;
};

/* IPv4: IFA_LOCAL. IPv6 has only IFA_ADDRESS, and only global scope is an
 * address clients reach (not link-local fe80::/10). */
static int addr_cb(const struct nlmsghdr *nh, void *arg)
{
	struct addr_list *l = arg;
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa));
	int type = l->family == AF_INET6 ? IFA_ADDRESS : IFA_LOCAL;

	if (nh->nlmsg_type != RTM_NEWADDR || (l->ifindex && (int)ifa->ifa_index != l->ifindex) ||
	    ifa->ifa_family != l->family ||
	    (l->family == AF_INET6 && ifa->ifa_scope != RT_SCOPE_UNIVERSE))
		return 0;
	for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == type && l->n < l->max) {
			memset(&l->out[l->n], 0, sizeof(l->out[l->n]));
			l->out[l->n].family = l->family;
			memcpy(&l->out[l->n].addr, RTA_DATA(a), l->family == AF_INET6 ? 16 : 4);
			l->n++;
		}
	return 0;
}

int nl_addrs(int ifindex, int family, struct relay_ip_key *out, int max)
{
	struct addr_list l = { ifindex, family, 0, max, out };
	struct nl_req r;
	int err;

	nl_msg_init(&r, RTM_GETADDR, NLM_F_DUMP, sizeof(r.ifa));
	r.ifa.ifa_family = family;
	err = nl_talk(&r.nh, addr_cb, &l);
	return err ? err : l.n;
}

/* `throw DST/32 table TABLE` (/128): the lookup in TABLE gives up for dst
 * and the next rules (main) route it. */
static void nl_throw_msg(struct nl_req *r, int type, int flags, uint32_t table,
			 const struct relay_ip_key *dst)
{
	int len = dst->family == AF_INET6 ? 16 : 4;

	nl_route_msg(r, type, flags, dst->family, table);
	r->rt.rtm_type = RTN_THROW;
	r->rt.rtm_dst_len = len * 8;
	nl_put(r, RTA_DST, &dst->addr, len);
}

int nl_route_add_throw(uint32_t table, const struct relay_ip_key *dst)
{
	struct nl_req r;

	nl_throw_msg(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, table, dst);
	return nl_talk(&r.nh, NULL, NULL);
}

int nl_route_del_throw(uint32_t table, const struct relay_ip_key *dst)
{
	struct nl_req r;
	int err;

	nl_throw_msg(&r, RTM_DELROUTE, 0, table, dst);
	r.rt.rtm_scope = RT_SCOPE_NOWHERE;
	err = nl_talk(&r.nh, NULL, NULL);
	return err == -ESRCH || err == -ENOENT ? 0 : err;
}

/* The attribute of IFLA_INFO_DATA holding each tunnel kind's remote (IPv4
 * or IPv6 by its length), and the IPv6 one where it has its own. */
static const struct {
	const char *kind;
	unsigned short attr, attr6;
} tunnel_remotes[] = {
	{ "vxlan", IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6 },
	{ "geneve", IFLA_GENEVE_REMOTE, IFLA_GENEVE_REMOTE6 },
	{ "gre", IFLA_GRE_REMOTE, 0 },     { "gretap", IFLA_GRE_REMOTE, 0 },
	{ "erspan", IFLA_GRE_REMOTE, 0 },  { "ip6gre", IFLA_GRE_REMOTE, 0 },
	{ "ip6gretap", IFLA_GRE_REMOTE, 0 }, { "ip6erspan", IFLA_GRE_REMOTE, 0 },
	{ "ipip", IFLA_IPTUN_REMOTE, 0 },  { "sit", IFLA_IPTUN_REMOTE, 0 },
	{ "ip6tnl", IFLA_IPTUN_REMOTE, 0 }, { "vti", IFLA_VTI_REMOTE, 0 },
	{ "vti6", IFLA_VTI_REMOTE, 0 },
};

struct tunnel_remote {
	struct relay_ip_key *remote;
	bool *vxlan;
};

static bool ip_key_multicast(const struct relay_ip_key *k)
{
	return k->family == AF_INET ? (((const uint8_t *)&k->addr.v4)[0] & 0xf0) == 0xe0 :
				      k->addr.v6[0] == 0xff;
}

/* Finds the remote inside IFLA_LINKINFO's IFLA_INFO_DATA of a tunnel link. */
static int tunnel_remote_cb(const struct nlmsghdr *nh, void *arg)
{
	const struct tunnel_remote *tr = arg;
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)), kind = -1;
	const struct rtattr *info = NULL, *data = NULL;

	if (nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_LINKINFO)
			info = a;
	if (!info)
		return 0;
	len = RTA_PAYLOAD(info);
	for (const struct rtattr *a = RTA_DATA(info); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_INFO_KIND) {
			for (size_t i = 0; i < sizeof(tunnel_remotes) / sizeof(tunnel_remotes[0]); i++)
				if (!strcmp(RTA_DATA(a), tunnel_remotes[i].kind))
					kind = (int)i;
		} else if (a->rta_type == IFLA_INFO_DATA) {
			data = a;
		}
	}
	if (kind < 0 || !data)
		return 0;
	*tr->vxlan = !strcmp(tunnel_remotes[kind].kind, "vxlan");
	len = RTA_PAYLOAD(data);
	for (const struct rtattr *a = RTA_DATA(data); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type != tunnel_remotes[kind].attr &&
		    (!tunnel_remotes[kind].attr6 || a->rta_type != tunnel_remotes[kind].attr6))
			continue;
		if (RTA_PAYLOAD(a) == 4)
			tr->remote->family = AF_INET;
		else if (RTA_PAYLOAD(a) == 16)
			tr->remote->family = AF_INET6;
		else
			continue;
		memcpy(&tr->remote->addr, RTA_DATA(a), RTA_PAYLOAD(a));
	}
	/* Unset (any), or a VXLAN group: no one peer. */
	if (ip_key_multicast(tr->remote) ||
	    !(tr->remote->addr.v6w[0] | tr->remote->addr.v6w[1] | tr->remote->addr.v6w[2] |
	      tr->remote->addr.v6w[3]))
		memset(tr->remote, 0, sizeof(*tr->remote));
	return 0;
}

int nl_tunnel_remote(int ifindex, struct relay_ip_key *remote, bool *vxlan)
{
	struct tunnel_remote tr = { remote, vxlan };
	struct nl_req r;

	memset(remote, 0, sizeof(*remote));
	*vxlan = false;
	nl_msg_init(&r, RTM_GETLINK, 0, sizeof(r.ifi));
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	return nl_talk(&r.nh, tunnel_remote_cb, &tr);
}

/* `DST/32 dev lo table TABLE proto PROTO` (/128): a host route that marks
 * an address as announced; nothing looks TABLE up, a routing daemon reads
 * it (daemon.c's --announce). */
static void nl_host_msg(struct nl_req *r, int type, int flags, uint32_t table, uint8_t proto,
			const struct relay_ip_key *dst)
{
	int len = dst->family == AF_INET6 ? 16 : 4;

	nl_route_msg(r, type, flags, dst->family, table);
	r->rt.rtm_protocol = proto;
	r->rt.rtm_scope = RT_SCOPE_LINK;
	r->rt.rtm_dst_len = len * 8;
	nl_put(r, RTA_DST, &dst->addr, len);
	nl_put_u32(r, RTA_OIF, if_nametoindex("lo"));
}

int nl_route_host_add(uint32_t table, uint8_t proto, const struct relay_ip_key *dst)
{
	struct nl_req r;

	nl_host_msg(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, table, proto, dst);
	return nl_talk(&r.nh, NULL, NULL);
}

int nl_route_host_del(uint32_t table, uint8_t proto, const struct relay_ip_key *dst)
{
	struct nl_req r;
	int err;

	nl_host_msg(&r, RTM_DELROUTE, 0, table, proto, dst);
	r.rt.rtm_scope = RT_SCOPE_NOWHERE;
	err = nl_talk(&r.nh, NULL, NULL);
	return err == -ESRCH || err == -ENOENT ? 0 : err;
}

struct route_query {
	uint32_t table;
	int type;                       /* RTN_UNICAST, RTN_THROW */
	const struct relay_ip_key *dst; /* NULL: the default route */
	int *out, n, max;               /* the routes' devices, once each */
};

static int route_query_cb(const struct nlmsghdr *nh, void *arg)
{
	struct route_query *q = arg;
	const struct rtmsg *rt = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*rt));
	int dst_len = q->dst ? (q->dst->family == AF_INET6 ? 128 : 32) : 0;
	uint32_t table = rt->rtm_table;
	bool dst_ok = !q->dst;
	int oif = 0;

	if (nh->nlmsg_type != RTM_NEWROUTE || rt->rtm_dst_len != dst_len || rt->rtm_type != q->type)
		return 0;
	for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_TABLE)
			table = *(const uint32_t *)RTA_DATA(a);
		else if (a->rta_type == RTA_OIF)
			oif = *(const int *)RTA_DATA(a);
		else if (a->rta_type == RTA_DST && q->dst)
			dst_ok = !memcmp(RTA_DATA(a), &q->dst->addr, dst_len / 8);
	}
	/* A throw route has no device: found is what counts. */
	if (table != q->table || !dst_ok || (!oif && q->type == RTN_UNICAST))
		return 0;
	for (int i = 0; i < q->n; i++)
		if (q->out[i] == oif)
			return 0;
	if (q->n < q->max)
		q->out[q->n++] = oif;
	return 0;
}

static int route_query(int family, struct route_query *q)
{
	struct nl_req r;
	int err;

	nl_msg_init(&r, RTM_GETROUTE, NLM_F_DUMP, sizeof(r.rt));
	r.rt.rtm_family = family;
	err = nl_talk(&r.nh, route_query_cb, q);
	return err ? err : q->n;
}

int nl_default_route_devs(int family, uint32_t table, int *out, int max)
{
	struct route_query q = { .table = table, .type = RTN_UNICAST, .out = out, .max = max };

	return route_query(family, &q);
}

/* 1 if TABLE has a route of TYPE to DST (a host route), 0 if not. */
static int host_route_exists(uint32_t table, int type, const struct relay_ip_key *dst)
{
	struct route_query q = { .table = table, .type = type, .dst = dst, .max = 1 };
	int oif, n;

	q.out = &oif;
	n = route_query(dst->family, &q);
	return n < 0 ? n : n > 0;
}

int nl_throw_route_exists(uint32_t table, const struct relay_ip_key *dst)
{
	return host_route_exists(table, RTN_THROW, dst);
}

int nl_local_route_exists(const struct relay_ip_key *dst)
{
	return host_route_exists(RT_TABLE_LOCAL, RTN_LOCAL, dst);
}

/* The kernel's "netdev" generic netlink family (linux/netdev.h is newer
 * than this system's headers). */
#define RELAY_NETDEV_CMD_DEV_GET 1
#define RELAY_NETDEV_A_DEV_IFINDEX 1
#define RELAY_NETDEV_A_DEV_XDP_FEATURES 3

struct genl_attr_want {
	int type, len;
	void *out;
};

/* Copies the top-level attribute want->type of a generic netlink answer. */
static int genl_attr_cb(const struct nlmsghdr *nh, void *arg)
{
	struct genl_attr_want *w = arg;
	int len = nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	const struct rtattr *a = (const void *)((const char *)NLMSG_DATA(nh) + GENL_HDRLEN);

	for (; len > 0 && RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == w->type && (int)RTA_PAYLOAD(a) == w->len)
			memcpy(w->out, RTA_DATA(a), w->len);
	return 0;
}

int nl_xdp_features(int ifindex, uint64_t *features)
{
	uint16_t family = 0;
	struct genl_attr_want w = { CTRL_ATTR_FAMILY_ID, sizeof(family), &family };
	struct nl_req r;
	int err;

	nl_msg_init(&r, GENL_ID_CTRL, 0, sizeof(r.genl));
	r.genl.cmd = CTRL_CMD_GETFAMILY;
	r.genl.version = 1;
	nl_put(&r, CTRL_ATTR_FAMILY_NAME, "netdev", sizeof("netdev"));
	err = nl_talk_proto(NETLINK_GENERIC, &r.nh, genl_attr_cb, &w);
	if (err || !family)
		return err ? err : -ENOENT;
	*features = 0;
	w = (struct genl_attr_want){ RELAY_NETDEV_A_DEV_XDP_FEATURES, sizeof(*features), features };
	nl_msg_init(&r, family, 0, sizeof(r.genl));
	r.genl.cmd = RELAY_NETDEV_CMD_DEV_GET;
	r.genl.version = 1;
	nl_put_u32(&r, RELAY_NETDEV_A_DEV_IFINDEX, ifindex);
	return nl_talk_proto(NETLINK_GENERIC, &r.nh, genl_attr_cb, &w);
}

/* Deletes each unresolved neighbour of the device as the dump finds it
 * (another socket: the dump's goes on). */
static int neigh_unresolved_cb(const struct nlmsghdr *nh, void *arg)
{
	const struct ndmsg *nd = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)), *ifindex = arg;
	struct nl_req r;

	if (nh->nlmsg_type != RTM_NEWNEIGH || nd->ndm_ifindex != *ifindex ||
	    !(nd->ndm_state & (NUD_INCOMPLETE | NUD_FAILED)))
		return 0;
	for (const struct rtattr *a = (const void *)((const char *)nd + NLMSG_ALIGN(sizeof(*nd)));
	     RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == NDA_DST) {
			nl_msg_init(&r, RTM_DELNEIGH, 0, sizeof(r.nd));
			r.nd = *nd;
			nl_put(&r, NDA_DST, RTA_DATA(a), RTA_PAYLOAD(a));
			nl_talk(&r.nh, NULL, NULL);
		}
	return 0;
}

int nl_neigh_flush_unresolved(int ifindex)
{
	struct nl_req r;

	nl_msg_init(&r, RTM_GETNEIGH, NLM_F_DUMP, sizeof(r.nd));
	return nl_talk(&r.nh, neigh_unresolved_cb, &ifindex);
}

struct tc_filter_list {
	uint32_t skip_prio, skip_handle;
	int n, max;
	struct nl_tc_filter *out;
};

static int tc_filter_cb(const struct nlmsghdr *nh, void *arg)
{
	struct tc_filter_list *l = arg;
	const struct tcmsg *t = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*t));
	uint32_t prio = TC_H_MAJ(t->tcm_info) >> 16;
	const char *kind = "";

	/* Handle 0: the classifier of a priority, listed before its filters. */
	if (nh->nlmsg_type != RTM_NEWTFILTER || !t->tcm_handle ||
	    (prio == l->skip_prio && t->tcm_handle == l->skip_handle))
		return 0;
	for (const struct rtattr *a = TCA_RTA(t); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == TCA_KIND)
			kind = RTA_DATA(a);
	/* The dump goes priority by priority: a repeat is the last entry's. */
	if (l->n && l->out[l->n - 1].prio == prio && !strcmp(l->out[l->n - 1].kind, kind))
		return 0;
	if (l->n < l->max) {
		l->out[l->n].prio = prio;
		snprintf(l->out[l->n].kind, sizeof(l->out[l->n].kind), "%s", kind);
		l->n++;
	}
	return 0;
}

int nl_tc_filters(int ifindex, bool egress, uint32_t skip_prio, uint32_t skip_handle,
		  struct nl_tc_filter *out, int max)
{
	struct tc_filter_list l = { skip_prio, skip_handle, 0, max, out };
	struct nl_req r;
	int err;

	nl_msg_init(&r, RTM_GETTFILTER, NLM_F_DUMP, sizeof(r.tc));
	r.tc.tcm_family = AF_UNSPEC;
	r.tc.tcm_ifindex = ifindex;
	r.tc.tcm_parent = TC_H_MAKE(TC_H_CLSACT, egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
	err = nl_talk(&r.nh, tc_filter_cb, &l);
	/* No clsact qdisc: no filter. */
	return err == -EINVAL || err == -ENOENT ? 0 : err ? err : l.n;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf attach --role front */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>

#include "commands.h"
#include "device.h"
#include "front.h"
#include "inspect.h"
#include "netlink.h"
#include "pin.h"
#include "services.h"
#include "state.h"
#include "sysctl.h"
#include "tc.h"

static const char *family_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

/*
 * The public addresses: --public-ip, else --dev's of each family that has
 * a backend. A family is only relayed to a backend of its own: an address
 * of the other one cannot work and is refused, as is a backend whose
 * family has no public address.
 */
static int front_public(const struct relay_opts *o, struct relay_front_config *cfg,
			struct relay_ip_key *pub, int *n_pub)
{
	static const int families[] = { AF_INET, AF_INET6 };
	char a[IP_STR_LEN];

	*n_pub = 0;
	for (int i = 0; i < o->n_public; i++) {
		const struct relay_ip_key *k = &o->public_ips[i];

		if (!opts_has_family(o, k->family)) {
			fprintf(stderr, "relaybpf: --public-ip %s is %s but there is no %s --backend: "
				"clients are never relayed to a backend of the other family "
				"(no NAT46/64)\n", ip_key_str(k->family, &k->addr, a),
				family_name(k->family), family_name(k->family));
			return 1;
		}
		pub[(*n_pub)++] = *k;
	}
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		int family = families[f], n = 0;
		union relay_ip *sole = &cfg->sole_public[RELAY_FAMILY_IDX(family)];

		if (!opts_has_family(o, family))
			continue;
		if (!o->n_public) {
			int got = nl_addrs(cfg->public_ifindex, family, pub + *n_pub,
				       RELAY_MAX_PUBLIC_ADDRS - *n_pub);
			*n_pub += got > 0 ? got : 0;
		}
		for (int i = 0; i < *n_pub; i++)
			if (pub[i].family == family && n++ == 0)
				*sole = pub[i].addr;
		if (!n) {
			fprintf(stderr, "relaybpf: there is an %s --backend but %s has no %s%s address; "
				"give --public-ip\n", family_name(family), o->dev,
				family == AF_INET6 ? "global " : "", family_name(family));
			return 1;
		}
		if (n > 1)
			memset(sole, 0, sizeof(*sole));
	}
	return 0;
}

/* The tunnel devices the backends sit behind, the first backend's first. */
struct front_tunnels {
	int n;
	struct {
		__u32 ifindex;
		__u8 l2;
		char name[IF_NAMESIZE];
	} dev[RELAY_MAX_FRONT_TUNNELS];
	__u8 of[RELAY_MAX_BACKENDS - 1]; /* o->backends[i]'s device (its index in dev) */
};

/*
 * Each backend's tunnel device: the device of the route to it, which with
 * --tunnel-dev must be that one (else the backend's packets would leave by
 * a device whose replies the front does not watch). At most
 * RELAY_MAX_FRONT_TUNNELS devices, each up and none the public one.
 */
static int front_tunnels(const struct relay_opts *o, __u32 public_ifindex, struct front_tunnels *t)
{
	char b[96], dev[IF_NAMESIZE];

	t->n = 0;
	for (int i = 0; i < o->n_backends; i++) {
		const struct relay_ip_key *k = &o->backends[i].addr;
		int idx = nl_route_get_dev(k->family, &k->addr), s;

		svc_backend_str(&o->backends[i], b, sizeof(b));
		if (idx < 0 || !if_indextoname(idx, dev)) {
			fprintf(stderr, "relaybpf: --backend %s: no route to it%s\n", b,
				o->tunnel_dev ? "" : "; give --tunnel-dev");
			return 1;
		}
		if (o->tunnel_dev && strcmp(dev, o->tunnel_dev) != 0) {
			fprintf(stderr, "relaybpf: --backend %s is routed through %s, not the tunnel "
				"device %s: with --tunnel-dev every backend must be behind it\n", b,
				dev, o->tunnel_dev);
			return 1;
		}
		if ((__u32)idx == public_ifindex) {
			fprintf(stderr, "relaybpf: --backend %s is routed through %s, --dev: a backend "
				"must be behind a tunnel device\n", b, dev);
			return 1;
		}
		for (s = 0; s < t->n && t->dev[s].ifindex != (__u32)idx; s++)
			;
		if (s == t->n) {
			if (t->n == RELAY_MAX_FRONT_TUNNELS) {
				fprintf(stderr, "relaybpf: --backend %s is behind %s: the backends are "
					"behind more than %d tunnel devices\n", b, dev,
					RELAY_MAX_FRONT_TUNNELS);
				return 1;
			}
			if (!device_is_up(dev)) {
				fprintf(stderr, "relaybpf: tunnel device %s is down\n", dev);
				return 1;
			}
			t->dev[s].ifindex = idx;
			t->dev[s].l2 = device_is_l2(dev);
			snprintf(t->dev[s].name, sizeof(t->dev[s].name), "%s", dev);
			t->n++;
		}
		t->of[i] = s;
	}
	return 0;
}

/*
 * The tunnel devices into the configuration: the first in its own fields,
 * the others in tunnels; the front's addresses on each, and the one
 * underlay peer (two devices with one each: refused, the datapath keeps
 * one).
 */
static int front_config_tunnels(const struct front_tunnels *t, struct relay_front_config *cfg)
{
	const char *underlay_dev = NULL;

	for (int s = 0; s < t->n; s++) {
		union relay_ip *ip = s ? cfg->tunnels[s - 1].ip : cfg->tunnel_ip;
		struct relay_ip_key k;
		bool vxlan;

		if (s) {
			cfg->tunnels[s - 1].ifindex = t->dev[s].ifindex;
			cfg->tunnels[s - 1].l2 = t->dev[s].l2;
		}
		if (nl_addrs(t->dev[s].ifindex, AF_INET, &k, 1) == 1)
			ip[0] = k.addr;
		if (nl_addrs(t->dev[s].ifindex, AF_INET6, &k, 1) == 1)
			ip[1] = k.addr;
		/* The tunnel's own underlay peer: whatever it sends to a public
		 * address (GRE, IPIP, VXLAN: the tunnel itself) is the host's. */
		if (nl_tunnel_remote(t->dev[s].ifindex, &k, &vxlan) || !k.family)
			continue;
		if (underlay_dev) {
			fprintf(stderr, "relaybpf: tunnel devices %s and %s both have an underlay "
				"peer (remote): a front's backends may be behind one such device\n",
				underlay_dev, t->dev[s].name);
			return 1;
		}
		underlay_dev = t->dev[s].name;
		cfg->underlay = k;
	}
	cfg->tunnel_ifindex = t->dev[0].ifindex;
	cfg->tunnel_l2 = t->dev[0].l2;
	return 0;
}

/* The configuration's MSS clamp: the smallest tunnel MTU less the IP and
 * TCP headers (IPv6's are 20 bytes longer, so the same MTU gives it 20
 * less). */
static void front_config_mss(const struct relay_opts *o, const struct front_tunnels *t,
			     struct relay_front_config *cfg)
{
	int mtu = 0;

	for (int s = 0; s < t->n; s++) {
		int m = device_mtu(t->dev[s].name);

		if (!mtu || m < mtu)
			mtu = m;
	}
	cfg->mss[0] = o->mss == RELAY_MSS_AUTO ? mtu - 40 : o->mss;
	cfg->mss[1] = cfg->mss[0] ? cfg->mss[0] - 20 : 0;
}

/* The configuration from the options and the devices; t: the backends'
 * tunnel devices. */
static int front_config(const struct relay_opts *o, struct relay_front_config *cfg,
			struct front_tunnels *t, struct relay_ip_key *pub, int *n_pub)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->version = RELAY_CFG_VERSION;
	cfg->public_ifindex = device_index(o->dev, "--dev");
	if (!cfg->public_ifindex)
		return 1;
	if (o->tunnel_dev) {
		__u32 idx = device_index(o->tunnel_dev, "--tunnel-dev");

		if (!idx)
			return 1;
		if (idx == cfg->public_ifindex) {
			fprintf(stderr, "relaybpf: the tunnel device and --dev are the same device\n");
			return 1;
		}
		if (!device_is_up(o->tunnel_dev)) {
			fprintf(stderr, "relaybpf: tunnel device %s is down\n", o->tunnel_dev);
			return 1;
		}
	}
	if (front_tunnels(o, cfg->public_ifindex, t) || front_config_tunnels(t, cfg))
		return 1;
	front_config_mss(o, t, cfg);
	cfg->n_exclude = o->n_exclude;
	memcpy(cfg->exclude, o->exclude, sizeof(cfg->exclude));
	cfg->n_ports = o->n_ports;
	memcpy(cfg->ports, o->ports, sizeof(cfg->ports));
	cfg->rate_pps = o->rate_pps;
	cfg->rate_burst = o->rate_burst;
	return front_public(o, cfg, pub, n_pub);
}

/* Each planned backend's tunnel device: its option's (a backend is its
 * address: two options of one address share the route). */
static void front_plan_tunnels(const struct relay_opts *o, const struct front_tunnels *t,
			       struct svc_plan *plan)
{
	for (int id = 1; id < RELAY_MAX_BACKENDS; id++) {
		struct relay_backend *b = &plan->backends[id];
		struct relay_ip_key k = { .family = b->family, .addr = b->addr };

		for (int i = 0; b->family && i < o->n_backends; i++)
			if (ip_key_eq(&k, &o->backends[i].addr)) {
				b->tunnel_ifindex = t->dev[t->of[i]].ifindex;
				b->tunnel_l2 = t->dev[t->of[i]].l2;
				break;
			}
	}
}

static bool addr_listed(const struct relay_ip_key *key, const struct relay_ip_key *pub, int n)
{
	for (int i = 0; i < n; i++)
		if (ip_key_eq(key, &pub[i]))
			return true;
	return false;
}

/* The addresses in the public address map, to put back if an update fails. */
static int get_public_addrs(int map_fd, struct relay_ip_key *out, int max)
{
	struct relay_ip_key *prev = NULL;
	int n = 0;

	while (n < max && bpf_map_get_next_key(map_fd, prev, &out[n]) == 0)
		prev = &out[n++];
	return n;
}

/* Makes the public address map hold exactly pub[0..n): new addresses are
 * added before old ones go, so an update never stops relaying a kept one. */
static int set_public_addrs(int map_fd, const struct relay_ip_key *pub, int n)
{
	struct relay_ip_key keys[RELAY_MAX_PUBLIC_ADDRS], *prev = NULL;
	__u32 one = 1;
	int n_old = 0;

	for (int i = 0; i < n; i++) {
		if (bpf_map_update_elem(map_fd, &pub[i], &one, BPF_ANY))
			return -errno;
	}
	while (n_old < RELAY_MAX_PUBLIC_ADDRS &&
	       bpf_map_get_next_key(map_fd, prev, &keys[n_old]) == 0)
		prev = &keys[n_old++];
	for (int i = 0; i < n_old; i++)
		if (!addr_listed(&keys[i], pub, n) && bpf_map_delete_elem(map_fd, &keys[i]))
			return -errno;
	return 0;
}

static bool port_in(const struct relay_port_range *r, int n, __u8 proto, unsigned port)
{
	for (int i = 0; i < n; i++)
		if (r[i].proto == proto && port >= r[i].first && port <= r[i].last)
			return true;
	return false;
}

/* An address as /proc/net/{tcp,udp}{,6} prints it: each 32-bit word in
 * host order, 8 hex digits a word. */
static bool proc_net_addr(const char *hex, __u8 family, struct relay_ip_key *out)
{
	int words = family == AF_INET6 ? 4 : 1;

	memset(out, 0, sizeof(*out));
	out->family = family;
	if (strlen(hex) != (size_t)words * 8)
		return false;
	for (int i = 0; i < words; i++) {
		char word[9];

		memcpy(word, hex + (size_t)8 * i, 8);
		word[8] = '\0';
		out->addr.v6w[i] = (__u32)strtoul(word, NULL, 16);
	}
	return true;
}

/*
 * A host socket on a forwarded port keeps new flows to it on this host
 * (the datapath's socket lookup, counted as pass_host_socket): say so now
 * rather than let it surprise. Listening TCP and unconnected UDP sockets
 * bound to any or a public address, from /proc/net (this namespace's); an
 * IPv6 socket bound to any takes IPv4 flows too (unless IPV6_V6ONLY).
 */
static void warn_host_sockets(const struct relay_front_config *cfg,
			      const struct relay_ip_key *pub, int n_pub)
{
	static const struct {
		const char *file, *name;
		__u8 proto, family;
		unsigned state;
	} kinds[] = {
		{ "/proc/net/tcp", "tcp", IPPROTO_TCP, AF_INET, 0x0A }, /* LISTEN */
		{ "/proc/net/tcp6", "tcp", IPPROTO_TCP, AF_INET6, 0x0A },
		{ "/proc/net/udp", "udp", IPPROTO_UDP, AF_INET, 0x07 }, /* unconnected */
		{ "/proc/net/udp6", "udp", IPPROTO_UDP, AF_INET6, 0x07 },
	};
	static const struct relay_ip_key any4 = { .family = AF_INET },
					 any6 = { .family = AF_INET6 };

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		FILE *f = fopen(kinds[k].file, "r");
		char line[512], hex[33];

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			struct relay_ip_key addr;
			unsigned port, state;
			bool ours;

			if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%X %*[0-9A-Fa-f]:%*X %X", hex, &port,
				   &state) != 3 || state != kinds[k].state ||
			    !proc_net_addr(hex, kinds[k].family, &addr))
				continue;
			ours = ip_key_eq(&addr, &any4) || ip_key_eq(&addr, &any6);
			for (int i = 0; i < n_pub; i++)
				ours |= ip_key_eq(&addr, &pub[i]);
			if (!ours || port_in(cfg->exclude, cfg->n_exclude, kinds[k].proto, port) ||
			    (cfg->n_ports && !port_in(cfg->ports, cfg->n_ports, kinds[k].proto, port)))
				continue;
			fprintf(stderr, "relaybpf: note: this host has a %s:%u socket on a forwarded "
				"port: new flows to it stay with this host (pass_host_socket)\n",
				kinds[k].name, port);
		}
		fclose(f);
	}
}

/*
 * Another tool's XDP program on the device is never replaced silently:
 * refused, naming it, unless --force, which detaches it first.
 */
static int front_xdp_foreign(const struct relay_opts *o, __u32 ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[64];

	if (bpf_xdp_query(ifindex, 0, &q) || !q.prog_id)
		return 0;
	inspect_prog_name(q.prog_id, name, sizeof(name));
	if (!o->force) {
		fprintf(stderr, "relaybpf: %s carries XDP program id %u (%s) that relaybpf did not "
				"install; --force replaces it\n", o->dev, q.prog_id, name);
		return -EBUSY;
	}
	if (bpf_xdp_detach(ifindex, q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE :
				    XDP_FLAGS_DRV_MODE, NULL)) {
		fprintf(stderr, "relaybpf: cannot remove XDP program id %u (%s) from %s: %s\n",
			q.prog_id, name, o->dev, strerror(errno));
		return -errno;
	}
	printf("relaybpf: --force: removed XDP program id %u (%s) from %s\n", q.prog_id, name,
	       o->dev);
	return 0;
}

/*
 * Native XDP can redirect only into a device that takes XDP frames
 * (ndo_xdp_xmit, advertised as NETDEV_XDP_ACT_NDO_XMIT). TUN (wireguard-go),
 * WireGuard and VXLAN do not: the kernel drops every redirected frame
 * (xdp_redirect_err, -EOPNOTSUPP). A veth does only while its peer has an
 * XDP program or GRO on. Generic XDP redirects skbs: any device.
 * 1: it does, 0: it does not, -ENOENT: the kernel cannot tell (the netdev
 * netlink family that reports it is Linux 6.3's; Debian 12's 6.1 has none).
 */
static int front_tunnel_takes_xdp(const struct front_tunnels *t)
{
	for (int s = 0; s < t->n; s++) {
		uint64_t features = 0;
		int err = nl_xdp_features(t->dev[s].ifindex, &features);

		if (err == -ENOENT)
			return err;
		if (err)
			fprintf(stderr, "relaybpf: reading %s's XDP features failed: %s\n",
				t->dev[s].name, strerror(-err));
		if (err || !(features & RELAY_XDP_ACT_NDO_XMIT))
			return 0;
	}
	return 1;
}

/*
 * On an L2 tunnel the XDP path takes the backend's MAC from bpf_fib_lookup,
 * which answers only for a device that forwards (FWD_DISABLED otherwise):
 * until then TC relays every packet. Said, not changed behind the operator.
 */
static void front_xdp_note_forwarding(const struct relay_opts *o, const struct front_tunnels *t)
{
	static const struct { const char *dir, *sysctl; } fam[] = {
		{ "ipv4", "net.ipv4.ip_forward" },
		{ "ipv6", "net.ipv6.conf.all.forwarding" },
	};
	const bool has[2] = { opts_has_family(o, AF_INET), opts_has_family(o, AF_INET6) };
	char key[64 + IF_NAMESIZE];

	for (int s = 0; s < t->n; s++)
		for (int i = 0; i < 2; i++) {
			const char *name = t->dev[s].name;
			int fwd = 1;

			if (!t->dev[s].l2 || !has[i])
				continue;
			snprintf(key, sizeof(key), "net/%s/conf/%s/forwarding", fam[i].dir, name);
			if (!sysctl_read(key, &fwd) && !fwd)
				printf("relaybpf: note: forwarding is off on %s (%s): the XDP path "
				       "cannot resolve the backend's MAC, TC relays every such "
				       "packet\n", name, fam[i].sysctl);
		}
}

/* Why --xdp-mode auto stays with TC only: said, never an error. */
static void front_xdp_auto_tc_only(const char *why)
{
	printf("relaybpf: --xdp-mode auto: %s: TC only, no XDP fast path (generic XDP is "
	       "for tests only: --xdp-mode generic)\n", why);
}

/*
 * The link pinned at PATH, if it is still attached to IFINDEX in the mode
 * FLAGS asks for: its fd, else -1. Its program's id in *PROG_ID.
 */
static int front_xdp_link_reusable(const char *path, __u32 ifindex, __u32 flags, __u32 *prog_id)
{
	struct bpf_link_info info = { 0 };
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPF_LINK_TYPE_XDP ||
	    info.xdp.ifindex != ifindex || bpf_xdp_query(ifindex, 0, &q) ||
	    q.attach_mode != (flags == XDP_FLAGS_DRV_MODE ? XDP_ATTACHED_DRV : XDP_ATTACHED_SKB)) {
		close(fd);
		return -1;
	}
	*prog_id = info.prog_id;
	return fd;
}

/*
 * The XDP fast path as a bpf_link pinned in the state directory: removing
 * the pin (detach removes the directory) detaches it. A link already on
 * the device in the wanted mode is kept: nothing happens when its program
 * is the one given, else the program is swapped in place (bpf_link_update).
 * Detaching and attaching XDP makes real NICs' drivers (mlx5, i40e, ena,
 * virtio_net) rebuild their queues, which stops all traffic on the device
 * for a moment, the host's own SSH included: a repair or a re-attach must
 * not do that. Only a changed mode or device, or no --xdp-mode, replaces
 * the link. A link never replaces somebody else's XDP program: the kernel
 * refuses. auto is native or nothing: generic XDP runs on skbs after GRO,
 * whose checksum may be partial and whose skb->csum (CHECKSUM_COMPLETE) the
 * XDP rewrite leaves stale, and its redirect skips the qdisc: it is for
 * tests (--xdp-mode generic) only. *on: a link is attached.
 */
static int front_xdp_update(const struct relay_opts *o, int prog, const char *dir,
			    const struct relay_front_config *cfg, const struct front_tunnels *t,
			    bool *on)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	__u32 ifindex = cfg->public_ifindex, linked_prog;
	char path[PATH_MAX];
	bool had_link;
	int fd, err, takes;

	*on = false;
	relay_path(path, dir, "relay_front_xdp_link");
	/* Refused before anything changes: the previous XDP mode stays. */
	takes = o->xdp_mode == XDP_MODE_NATIVE || o->xdp_mode == XDP_MODE_AUTO ?
		front_tunnel_takes_xdp(t) : 1;
	if (takes != 1) {
		if (o->xdp_mode == XDP_MODE_AUTO) {
			front_xdp_auto_tc_only(takes == -ENOENT ?
				"this kernel cannot tell whether the tunnel devices take XDP "
				"frames (Linux 6.3 reports it)" :
				"native XDP cannot redirect into a tunnel device (it takes "
				"no XDP frames)");
			unlink(path);
			return 0;
		}
		if (takes == -ENOENT)
			fprintf(stderr, "relaybpf: --xdp-mode native needs Linux 6.3 or newer: this "
					"kernel cannot tell whether the tunnel devices take XDP frames, "
					"and one that does not drops every redirected frame; "
					"--xdp-mode auto, or no --xdp-mode, relays with TC only\n");
		else
			fprintf(stderr, "relaybpf: native XDP cannot redirect into a tunnel "
					"device: it takes no XDP frames (TUN, WireGuard and VXLAN "
					"never do; a veth only while its peer has an XDP program or "
					"GRO on); --xdp-mode generic is for tests only\n");
		return -EOPNOTSUPP;
	}
	lo.flags = o->xdp_mode == XDP_MODE_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	if (o->xdp_mode != XDP_MODE_NONE &&
	    (fd = front_xdp_link_reusable(path, ifindex, lo.flags, &linked_prog)) >= 0) {
		err = linked_prog == inspect_prog_id(prog) ? 0 :
		      bpf_link_update(fd, prog, NULL) ? -errno : 0;
		close(fd);
		if (err)
			fprintf(stderr, "relaybpf: updating the XDP program on %s failed: %s\n",
				o->dev, strerror(-err));
		*on = !err;
		return err;
	}
	/* Without a link of ours, whatever XDP program is there is foreign. */
	had_link = !access(path, F_OK);
	if (o->xdp_mode != XDP_MODE_NONE && !had_link && (err = front_xdp_foreign(o, ifindex)))
		return err;
	unlink(path);
	if (o->xdp_mode == XDP_MODE_NONE)
		return 0;
	/* The kernel detaches an unpinned link in deferred work
	 * (bpf_link_put): our previous link may hold the device for a
	 * moment (EBUSY, seen on every re-attach here). Up to 1 s. */
	for (int i = 0; (fd = bpf_link_create(prog, ifindex, BPF_XDP, &lo)) < 0 && errno == EBUSY &&
			had_link && i < 100; i++)
		usleep(10000);
	if (fd < 0) {
		err = -errno;
		/* A driver without native XDP: the kernel says EOPNOTSUPP. */
		if (o->xdp_mode == XDP_MODE_AUTO && err == -EOPNOTSUPP) {
			front_xdp_auto_tc_only("the public device's driver has no native "
					       "XDP");
			return 0;
		}
		fprintf(stderr, "relaybpf: attaching XDP on %s failed: %s%s\n", o->dev,
			strerror(-err), err == -EBUSY ? " (another XDP program is attached)" : "");
		return err;
	}
	err = bpf_obj_pin(fd, path) ? -errno : 0;
	close(fd);
	if (err) {
		fprintf(stderr, "relaybpf: pinning the XDP link failed: %s\n", strerror(-err));
		return err;
	}
	*on = true;
	front_xdp_note_forwarding(o, t);
	return 0;
}

/* What the attach installs, by pin name: the maps it writes (the service
 * maps last, in enum svc_map's order) and the programs. */
enum {
	FRONT_FD_CFG, FRONT_FD_PUB, FRONT_FD_IN, FRONT_FD_REV, FRONT_FD_XDP, FRONT_FD_SVC,
	FRONT_FDS = FRONT_FD_SVC + SVC_MAPS
};
static const char *const front_pins[FRONT_FDS] = {
	"relay_front_cfg", "relay_front_pub", "relay_front_in", "relay_front_rev",
	"relay_front_xdp", SVC_MAP_NAMES,
};

/*
 * With reuse (a daemon's repair of an attached front), the ones the
 * previous attach pinned: nothing is loaded, the fds are ours to close.
 * Else (or if they are not all pinned) loaded on the pinned maps if
 * attached, and pinned; the fds are the skeletons'.
 */
static int front_programs(struct front_objs *objs, int fds[FRONT_FDS], const char *dir,
			  bool attached, const struct relay_opts *o, struct pin_moves *moves)
{
	int err;

	if (attached && o->reuse_pinned && !pin_open_all(dir, front_pins, fds, FRONT_FDS))
		return 0;
	err = front_load(objs, attached ? dir : NULL, o->ct_max, FRONT_ALL);
	return err ? err : pin_role(dir, (struct bpf_object *[]){ objs->pub->obj, objs->tun->obj,
								  objs->xdp->obj },
				    3, front_pins, fds, FRONT_FDS, moves);
}

static void front_release(struct front_objs *objs, int fds[FRONT_FDS])
{
	if (!objs->pub)
		fds_close(fds, FRONT_FDS);
	front_destroy(objs);
}

/* relay_front_rev on every tunnel device (replacing relaybpf's filter). */
static int front_rev_attach(const struct front_tunnels *t, int prog)
{
	int err = 0;

	for (int s = 0; s < t->n && !err; s++)
		err = tc_attach_ingress(t->dev[s].ifindex, prog);
	return err;
}

/* relaybpf's filter off every tunnel device of from that to neither uses
 * (its public device nor a tunnel). */
static void front_rev_detach_unused(const struct relay_front_config *from,
				    const struct relay_front_config *to)
{
	__u32 t[RELAY_MAX_FRONT_TUNNELS];
	int n = front_cfg_tunnels(from, t, NULL);

	for (int i = 0; i < n; i++)
		if (t[i] != to->public_ifindex && !front_cfg_has_tunnel(to, t[i]))
			tc_detach_ingress(t[i]);
}

/* "wg0 (L3), veth1 (L2)" for the summary line. */
static const char *front_tunnels_str(const struct front_tunnels *t, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int s = 0; s < t->n && off < len; s++)
		off += snprintf(buf + off, len - off, "%s%s (%s)", s ? ", " : "", t->dev[s].name,
				t->dev[s].l2 ? "L2" : "L3");
	return buf;
}

/* How many services and backends the plan has, for the summary line. */
static void front_plan_counts(const struct svc_plan *p, int *services, int *backends)
{
	*services = *backends = 0;
	for (int i = 1; i < RELAY_SERVICE_SLOTS; i++)
		*services += p->services[i].defined;
	for (int id = 1; id < RELAY_MAX_BACKENDS; id++)
		*backends += p->backends[id].family != 0;
}

/*
 * Plan (services.c: every service table from the options and the pinned
 * state; each backend's tunnel device), apply (the generation not in use,
 * new backend ids), commit (the configuration, svc_gen flipped and the
 * tunnel devices, in one map update; relay_front_rev on each device), then
 * free what the previous generation alone used and take the filter off the
 * tunnel devices no backend is behind any more. A failure before the
 * commit's end puts the previous configuration, backends and reply ports
 * back and takes the filter off the devices it added: the programs never
 * see a mix.
 */
int cmd_attach_front(const struct relay_opts *o)
{
	struct relay_front_config cfg, old_cfg = { 0 };
	struct relay_ip_key pub[RELAY_MAX_PUBLIC_ADDRS], old_pub[RELAY_MAX_PUBLIC_ADDRS];
	struct front_objs objs = { 0 };
	struct pin_moves moves = { 0 };
	struct svc_state *st = calloc(1, sizeof(*st));
	struct svc_plan *plan = calloc(1, sizeof(*plan));
	struct front_tunnels tuns;
	int fds[FRONT_FDS];
	const int *svc_fds = &fds[FRONT_FD_SVC];
	char dir[PATH_MAX], why[256], tun_str[RELAY_MAX_FRONT_TUNNELS * (IF_NAMESIZE + 8)];
	bool was_attached = relay_state_exists("front"), xdp_on = false, applied = false;
	bool filtered = false; /* the filters of cfg's devices are (being) attached */
	__u32 zero = 0;
	int n_pub, n_old_pub = 0, cfg_fd = -1, pub_fd = -1, n_svc, n_backends, err, lock_fd;

	for (int i = 0; i < FRONT_FDS; i++)
		fds[i] = -1;
	if (!st || !plan) {
		fprintf(stderr, "relaybpf: %s\n", strerror(ENOMEM));
		free(st);
		free(plan);
		return 1;
	}
	if (!o->dev || !o->n_backends) {
		fprintf(stderr, "relaybpf: attach --role front needs --dev and --backend\n");
		free(st);
		free(plan);
		return EXIT_USAGE;
	}
	if (front_config(o, &cfg, &tuns, pub, &n_pub) ||
	    relay_state_dir("front", true, dir, sizeof(dir))) {
		free(st);
		free(plan);
		return 1;
	}
	/* No change of backend state (services_live.c) between the read of
	 * the services and the flip. */
	lock_fd = relay_state_lock(dir);

	err = front_programs(&objs, fds, dir, was_attached, o, &moves);
	if (err) {
		fprintf(stderr, "relaybpf: loading the front programs failed: %s\n", strerror(-err));
		goto fail;
	}
	cfg_fd = fds[FRONT_FD_CFG];
	pub_fd = fds[FRONT_FD_PUB];
	bpf_map_lookup_elem(cfg_fd, &zero, &old_cfg);
	pin_cfg_version_note("front", old_cfg.version);
	n_old_pub = get_public_addrs(pub_fd, old_pub, RELAY_MAX_PUBLIC_ADDRS);
	/* A configuration of a build before services has no generation. */
	if ((err = svc_state_read(svc_fds, old_cfg.version >= 2 ? old_cfg.svc_gen : 0, st))) {
		fprintf(stderr, "relaybpf: reading the services failed: %s\n", strerror(-err));
		goto fail;
	}
	if (svc_plan(o, st, plan, why, sizeof(why))) {
		fprintf(stderr, "relaybpf: %s\n", why);
		goto fail;
	}
	front_plan_tunnels(o, &tuns, plan);
	cfg.svc_gen = plan->gen;
	cfg.svc_epoch = svc_epoch_next(old_cfg.svc_epoch);
	cfg.rev_ports = plan->n_rev > 0;
	applied = true;
	if ((err = svc_apply(svc_fds, st, plan)) || (err = set_public_addrs(pub_fd, pub, n_pub)) ||
	    (err = bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY) ? -errno : 0)) {
		fprintf(stderr, "relaybpf: writing the configuration failed: %s\n", strerror(-err));
		goto fail;
	}
	filtered = true;
	err = tc_attach_ingress(cfg.public_ifindex, fds[FRONT_FD_IN]);
	if (!err)
		err = front_rev_attach(&tuns, fds[FRONT_FD_REV]);
	if (err) {
		fprintf(stderr, "relaybpf: attaching the TC filters failed: %s\n", strerror(-err));
		goto fail;
	}
	if (front_xdp_update(o, fds[FRONT_FD_XDP], dir, &cfg, &tuns, &xdp_on))
		goto fail;
	/* Every program now runs on the new maps: the flows the old ones
	 * created during the swap join the rest. */
	pin_moves_end(&moves, dir, true);
	/* Committed: the previous generation's own backends and reply ports go
	 * (their flows move at their next packet). */
	if ((err = svc_release(svc_fds, st, plan)))
		fprintf(stderr, "relaybpf: freeing removed backends failed: %s\n", strerror(-err));
	/* Moved to other devices: leave nothing on the old ones. */
	if (was_attached && old_cfg.public_ifindex != cfg.public_ifindex &&
	    !front_cfg_has_tunnel(&cfg, old_cfg.public_ifindex))
		tc_detach_ingress(old_cfg.public_ifindex);
	if (was_attached)
		front_rev_detach_unused(&old_cfg, &cfg);

	front_plan_counts(plan, &n_svc, &n_backends);
	printf("relaybpf: front %s on %s (tunnel%s %s), %d service%s%s, %d backend%s, "
	       "%d public address%s%s\n", was_attached ? "updated" : "attached", o->dev,
	       tuns.n == 1 ? "" : "s", front_tunnels_str(&tuns, tun_str, sizeof(tun_str)),
	       n_svc, n_svc == 1 ? "" : "s",
	       plan->services[0].defined ? " and the default one" : "", n_backends,
	       n_backends == 1 ? "" : "s", n_pub, n_pub == 1 ? "" : "es",
	       xdp_on ? ", XDP fast path" : "");
	warn_host_sockets(&cfg, pub, n_pub);
	front_release(&objs, fds);
	if (lock_fd >= 0)
		close(lock_fd);
	free(st);
	free(plan);
	return 0;
fail:
	pin_moves_end(&moves, dir, false);
	if (was_attached) {
		/* The previous configuration stays in force. */
		if (cfg_fd >= 0 && old_cfg.public_ifindex) {
			/* A new epoch: flows that took a backend of the failed
			 * configuration choose again. */
			old_cfg.svc_epoch = svc_epoch_next(cfg.svc_epoch);
			bpf_map_update_elem(cfg_fd, &zero, &old_cfg, BPF_ANY);
			set_public_addrs(pub_fd, old_pub, n_old_pub);
		}
		if (applied)
			svc_rollback(svc_fds, st, plan);
		/* The filters this attach added on devices the previous one did
		 * not use (none before the attach step: a failure earlier, say
		 * loading the programs, has not even read old_cfg). */
		if (filtered) {
			if (cfg.public_ifindex != old_cfg.public_ifindex &&
			    !front_cfg_has_tunnel(&old_cfg, cfg.public_ifindex))
				tc_detach_ingress(cfg.public_ifindex);
			front_rev_detach_unused(&cfg, &old_cfg);
		}
	} else {
		tc_detach_ingress(cfg.public_ifindex);
		front_rev_detach_unused(&cfg, &(struct relay_front_config){ 0 });
		relay_state_remove("front");
	}
	front_release(&objs, fds);
	if (lock_fd >= 0)
		close(lock_fd);
	free(st);
	free(plan);
	return 1;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf attach --role front */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
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
#include "state.h"
#include "tc.h"

/* The front's configuration from the options and the devices. */
static int front_config(const struct relay_opts *o, struct relay_front_config *cfg,
			in_addr_t *pub, int *n_pub)
{
	const char *tunnel = o->tunnel_dev;
	char tunnel_name[IF_NAMESIZE];

	memset(cfg, 0, sizeof(*cfg));
	cfg->public_ifindex = device_index(o->dev, "--dev");
	if (!cfg->public_ifindex)
		return 1;
	if (!tunnel) {
		int tidx = nl_route_get_dev(o->backend);

		if (tidx < 0 || !if_indextoname(tidx, tunnel_name)) {
			fprintf(stderr, "relaybpf: --backend %s: no route to it; give --tunnel-dev\n",
				inet_ntoa((struct in_addr){ o->backend }));
			return 1;
		}
		tunnel = tunnel_name;
	}
	cfg->tunnel_ifindex = device_index(tunnel, "--tunnel-dev");
	if (!cfg->tunnel_ifindex)
		return 1;
	if (cfg->tunnel_ifindex == cfg->public_ifindex) {
		fprintf(stderr, "relaybpf: the tunnel device and --dev are the same device\n");
		return 1;
	}
	if (!device_is_up(tunnel)) {
		fprintf(stderr, "relaybpf: tunnel device %s is down\n", tunnel);
		return 1;
	}
	cfg->tunnel_l2 = device_is_l2(tunnel);
	cfg->backend.v4 = o->backend;
	/* The tunnel's MTU less the IPv4 and TCP headers. */
	cfg->mss = o->mss == RELAY_MSS_AUTO ? device_mtu(tunnel) - 40 : o->mss;
	cfg->n_exclude = o->n_exclude;
	memcpy(cfg->exclude, o->exclude, sizeof(cfg->exclude));
	cfg->n_ports = o->n_ports;
	memcpy(cfg->ports, o->ports, sizeof(cfg->ports));

	if (nl_addrs_v4(cfg->tunnel_ifindex, &cfg->tunnel_ip.v4, 1) < 0)
		cfg->tunnel_ip.v4 = 0;
	if (o->n_public) {
		memcpy(pub, o->public_ips, o->n_public * sizeof(*pub));
		*n_pub = o->n_public;
	} else {
		*n_pub = nl_addrs_v4(cfg->public_ifindex, pub, RELAY_MAX_PUBLIC_ADDRS);
		if (*n_pub <= 0) {
			fprintf(stderr, "relaybpf: %s has no IPv4 address; give --public-ip\n", o->dev);
			return 1;
		}
	}
	if (*n_pub == 1)
		cfg->sole_public.v4 = pub[0];
	return 0;
}

static bool addr_listed(const struct relay_ip_key *key, const in_addr_t *pub, int n)
{
	for (int i = 0; i < n; i++)
		if (key->family == AF_INET && key->addr.v4 == pub[i])
			return true;
	return false;
}

/* The IPv4 addresses in the public address map, to put back if an update fails. */
static int get_public_addrs(int map_fd, in_addr_t *out, int max)
{
	struct relay_ip_key key, *prev = NULL;
	int n = 0;

	while (n < max && bpf_map_get_next_key(map_fd, prev, &key) == 0) {
		if (key.family == AF_INET)
			out[n++] = key.addr.v4;
		prev = &key;
	}
	return n;
}

/* Makes the public address map hold exactly pub[0..n): new addresses are
 * added before old ones go, so an update never stops relaying a kept one. */
static int set_public_addrs(int map_fd, const in_addr_t *pub, int n)
{
	struct relay_ip_key keys[RELAY_MAX_PUBLIC_ADDRS], key, *prev = NULL;
	__u32 one = 1;
	int n_old = 0;

	for (int i = 0; i < n; i++) {
		memset(&key, 0, sizeof(key));
		key.family = AF_INET;
		key.addr.v4 = pub[i];
		if (bpf_map_update_elem(map_fd, &key, &one, BPF_ANY))
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

/*
 * A host socket on a forwarded port keeps new flows to it on this host
 * (the datapath's socket lookup, counted as pass_host_socket): say so now
 * rather than let it surprise. Listening TCP and unconnected UDP sockets
 * bound to any or a public address, from /proc/net (this namespace's).
 */
static void warn_host_sockets(const struct relay_front_config *cfg, const in_addr_t *pub,
			      int n_pub)
{
	static const struct { const char *file, *name; __u8 proto; unsigned state; } kinds[] = {
		{ "/proc/net/tcp", "tcp", IPPROTO_TCP, 0x0A }, /* LISTEN */
		{ "/proc/net/udp", "udp", IPPROTO_UDP, 0x07 }, /* unconnected */
	};

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		FILE *f = fopen(kinds[k].file, "r");
		char line[512];

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned addr, port, raddr, rport, state;
			bool ours = false;

			if (sscanf(line, " %*u: %X:%X %X:%X %X", &addr, &port, &raddr, &rport,
				   &state) != 5 || state != kinds[k].state)
				continue;
			for (int i = 0; i < n_pub; i++)
				ours |= addr == 0 || addr == pub[i];
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
 * The XDP fast path as a bpf_link pinned in the state directory: removing
 * the pin (detach removes the directory) detaches it. Any previous link
 * goes first, so a changed mode or device, or no --xdp-mode, is applied.
 * A link never replaces somebody else's XDP program: the kernel refuses.
 */
static int front_xdp_update(const struct relay_opts *o, const struct front_objs *objs,
			    const char *dir, __u32 ifindex)
{
	static const __u32 modes[][2] = {
		[XDP_MODE_AUTO] = { XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE },
		[XDP_MODE_NATIVE] = { XDP_FLAGS_DRV_MODE, 0 },
		[XDP_MODE_GENERIC] = { XDP_FLAGS_SKB_MODE, 0 },
	};
	int prog = bpf_program__fd(objs->xdp->progs.relay_front_xdp), fd = -1, err;
	char path[PATH_MAX];

	relay_path(path, dir, "relay_front_xdp_link");
	/* Without a link of ours, whatever XDP program is there is foreign. */
	if (o->xdp_mode != XDP_MODE_NONE && access(path, F_OK) && (err = front_xdp_foreign(o, ifindex)))
		return err;
	unlink(path);
	if (o->xdp_mode == XDP_MODE_NONE)
		return 0;
	for (int i = 0; i < 2 && fd < 0 && modes[o->xdp_mode][i]; i++) {
		LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = modes[o->xdp_mode][i]);

		fd = bpf_link_create(prog, ifindex, BPF_XDP, &lo);
	}
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "relaybpf: attaching XDP on %s failed: %s%s\n", o->dev,
			strerror(-err), err == -EBUSY ? " (another XDP program is attached)" : "");
		return err;
	}
	err = bpf_obj_pin(fd, path) ? -errno : 0;
	close(fd);
	if (err)
		fprintf(stderr, "relaybpf: pinning the XDP link failed: %s\n", strerror(-err));
	return err;
}

int cmd_attach_front(const struct relay_opts *o)
{
	struct relay_front_config cfg, old_cfg = { 0 };
	in_addr_t pub[RELAY_MAX_PUBLIC_ADDRS], old_pub[RELAY_MAX_PUBLIC_ADDRS];
	struct front_objs objs = { 0 };
	char dir[PATH_MAX];
	bool was_attached = relay_state_exists("front");
	__u32 zero = 0;
	int n_pub, n_old_pub = 0, cfg_fd = -1, pub_fd = -1, err;

	if (!o->dev || !o->backend) {
		fprintf(stderr, "relaybpf: attach --role front needs --dev and --backend\n");
		return EXIT_USAGE;
	}
	if (front_config(o, &cfg, pub, &n_pub))
		return 1;
	if (relay_state_dir("front", true, dir, sizeof(dir)))
		return 1;

	err = front_load(&objs, was_attached ? dir : NULL, o->ct_max);
	if (err) {
		fprintf(stderr, "relaybpf: loading the front programs failed: %s\n", strerror(-err));
		goto fail;
	}
	cfg_fd = bpf_map__fd(objs.pub->maps.relay_front_cfg);
	pub_fd = bpf_map__fd(objs.pub->maps.relay_front_pub);
	bpf_map_lookup_elem(cfg_fd, &zero, &old_cfg);
	n_old_pub = get_public_addrs(pub_fd, old_pub, RELAY_MAX_PUBLIC_ADDRS);
	if ((err = set_public_addrs(pub_fd, pub, n_pub)) ||
	    (err = bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY) ? -errno : 0) ||
	    (err = pin_maps(objs.pub->obj, dir))) {
		fprintf(stderr, "relaybpf: writing the configuration failed: %s\n", strerror(-err));
		goto fail;
	}
	err = tc_attach_ingress(cfg.public_ifindex, bpf_program__fd(objs.pub->progs.relay_front_in));
	if (!err)
		err = tc_attach_ingress(cfg.tunnel_ifindex,
					bpf_program__fd(objs.tun->progs.relay_front_rev));
	if (err) {
		fprintf(stderr, "relaybpf: attaching the TC filters failed: %s\n", strerror(-err));
		goto fail;
	}
	if (front_xdp_update(o, &objs, dir, cfg.public_ifindex))
		goto fail;
	/* Moved to other devices: leave nothing on the old ones. */
	if (was_attached && old_cfg.public_ifindex != cfg.public_ifindex &&
	    old_cfg.public_ifindex != cfg.tunnel_ifindex)
		tc_detach_ingress(old_cfg.public_ifindex);
	if (was_attached && old_cfg.tunnel_ifindex != cfg.tunnel_ifindex &&
	    old_cfg.tunnel_ifindex != cfg.public_ifindex)
		tc_detach_ingress(old_cfg.tunnel_ifindex);

	printf("relaybpf: front %s on %s (tunnel ifindex %u, %s), backend %s, %d public address%s%s\n",
	       was_attached ? "updated" : "attached", o->dev, cfg.tunnel_ifindex,
	       cfg.tunnel_l2 ? "L2" : "L3", inet_ntoa((struct in_addr){ o->backend }), n_pub,
	       n_pub == 1 ? "" : "es", o->xdp_mode ? ", XDP fast path" : "");
	warn_host_sockets(&cfg, pub, n_pub);
	front_destroy(&objs);
	return 0;
fail:
	if (was_attached) {
		/* The previous configuration stays in force. */
		if (objs.pub && old_cfg.public_ifindex) {
			bpf_map_update_elem(cfg_fd, &zero, &old_cfg, BPF_ANY);
			set_public_addrs(pub_fd, old_pub, n_old_pub);
		}
	} else {
		tc_detach_ingress(cfg.public_ifindex);
		tc_detach_ingress(cfg.tunnel_ifindex);
		relay_state_remove("front");
	}
	front_destroy(&objs);
	return 1;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "run.h"
#include "services.h"
#include "test_front_env.h"

struct front_objs objs;
int in_fd, rev_fd, xdp_fd, stats_fd, ct_fd, ct_new_fd, cfg_fd;

/* -1 (refused by run_tc) for a program the fixture left out. */
static void prog_fds(void)
{
	in_fd = bpf_program__fd(objs.pub->progs.relay_front_in);
	rev_fd = objs.tun ? bpf_program__fd(objs.tun->progs.relay_front_rev) : -1;
	xdp_fd = objs.xdp ? bpf_program__fd(objs.xdp->progs.relay_front_xdp) : -1;
}

void front_setup(bool tunnel_l2, unsigned progs)
{
	struct relay_front_config cfg = { 0 };
	struct relay_ip_key pub = { .family = AF_INET };
	__u32 one = 1;

	/* The programs look up the host's sockets: each test (criterion forks
	 * one process per test) gets a network namespace of its own, so no
	 * socket of the machine's ever answers for a test packet. */
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET)");
	cr_assert_eq(front_load(&objs, NULL, 1024, progs), 0, "front programs load");
	prog_fds();
	stats_fd = bpf_map__fd(objs.pub->maps.relay_stats);
	ct_fd = bpf_map__fd(objs.pub->maps.relay_ct);
	ct_new_fd = bpf_map__fd(objs.pub->maps.relay_ct_new);
	cfg_fd = bpf_map__fd(objs.pub->maps.relay_front_cfg);
	cfg.public_ifindex = 1;
	cfg.tunnel_ifindex = 1;
	cfg.tunnel_l2 = tunnel_l2;
	cfg.exclude[0] = (struct relay_port_range){ .proto = IPPROTO_TCP, .first = 22, .last = 22 };
	cfg.n_exclude = 1;
	cfg_put(&cfg);
	backends_put(true, true);
	pub.addr.v4 = fix_addr(PUBLIC);
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(objs.pub->maps.relay_front_pub), &pub, &one,
					 BPF_ANY), 0);
	pub = (struct relay_ip_key){ .family = AF_INET6 };
	fix_addr6(PUBLIC6, pub.addr.v6);
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(objs.pub->maps.relay_front_pub), &pub, &one,
					 BPF_ANY), 0);
}

void l2_tunnel_up(void)
{
	struct relay_front_config cfg = cfg_get();

	cr_assert_eq(system("sysctl -qw net.ipv4.ip_forward=1 && "
			    "ip link add t0 type veth peer name t1 && ip link set t1 up && "
			    "ip link set t0 address 02:00:00:00:00:fe up && "
			    "ip addr add 10.22.22.2/30 dev t0 && "
			    "ip neigh add 10.22.22.1 lladdr 02:00:00:00:00:01 dev t0 nud permanent && "
			    "sysctl -qw net.ipv6.conf.all.forwarding=1 && "
			    "ip addr add " TUNNEL6 "/64 dev t0 nodad && "
			    "ip neigh add " BACKEND6 " lladdr 02:00:00:00:00:01 dev t0 nud permanent"),
		     0);
	cfg.tunnel_ifindex = if_nametoindex("t0");
	cfg.tunnel_l2 = true;
	cfg_put(&cfg);
	/* Replies come in by t0 now. */
	run_on_dev(rev_fd, cfg.tunnel_ifindex);
}

void from_backend_mac(struct fixture *f)
{
	const uint8_t backend[6] = { 2, 0, 0, 0, 0, 1 }, front[6] = { 2, 0, 0, 0, 0, 0xfe };

	memcpy(f->buf, front, 6);
	memcpy(f->buf + 6, backend, 6);
}

void assert_macs(const struct fixture *out, uint8_t dst_last, uint8_t src_last)
{
	const uint8_t dst[6] = { 2, 0, 0, 0, 0, dst_last }, src[6] = { 2, 0, 0, 0, 0, src_last };

	cr_assert_arr_eq(out->buf, dst, 6, "destination MAC: the backend's neighbour entry");
	cr_assert_arr_eq(out->buf + 6, src, 6, "source MAC: the tunnel device's");
}

void stay_on_this_cpu(void)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
}

void front_add(unsigned progs)
{
	cr_assert_eq(front_load_more(&objs, progs), 0, "front programs load");
	prog_fds();
}

void setup_l2(void) { front_setup(true, 0); }
void setup_l2_tunnel(void) { front_setup(true, FRONT_TUNNEL); }
void setup_l3(void) { front_setup(false, 0); }
void setup_xdp(void) { front_setup(false, FRONT_XDP); }
void with_tunnel(void) { front_add(FRONT_TUNNEL); }
void with_xdp(void) { front_add(FRONT_XDP); }
void teardown(void) { front_destroy(&objs); }

struct front_svc_fds svc_fds(void)
{
	return (struct front_svc_fds){ bpf_map__fd(objs.pub->maps.relay_port_services),
				       bpf_map__fd(objs.pub->maps.relay_services),
				       bpf_map__fd(objs.pub->maps.relay_maglev),
				       bpf_map__fd(objs.pub->maps.relay_backends) };
}

void backends_put(bool v4, bool v6)
{
	struct front_svc_fds fds = svc_fds();
	union relay_ip b4 = { .v4 = fix_addr(BACKEND) }, b6;

	fix_addr6(BACKEND6, b6.v6);
	cr_assert_eq(front_default_service(&fds, v4 ? &b4 : NULL, v6 ? &b6 : NULL), 0);
}

struct relay_front_config cfg_get(void)
{
	struct relay_front_config cfg;
	__u32 zero = 0;

	cr_assert_eq(bpf_map_lookup_elem(cfg_fd, &zero, &cfg), 0);
	return cfg;
}

void cfg_put(const struct relay_front_config *cfg)
{
	struct relay_front_config next = *cfg, old = { 0 };
	__u32 zero = 0;

	/* A commit, as attach's: a new epoch (the flows choose again). */
	bpf_map_lookup_elem(cfg_fd, &zero, &old);
	next.svc_epoch = svc_epoch_next(old.svc_epoch);
	cr_assert_eq(bpf_map_update_elem(cfg_fd, &zero, &next, BPF_ANY), 0);
}

void tcp_frame(struct fixture *f, const char *src, const char *dst, uint16_t sport,
	       uint16_t dport, uint8_t flags, size_t payload)
{
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = IPPROTO_TCP };
	struct fix_l4 l4 = { .sport = sport, .dport = dport, .tcp_flags = flags,
			     .payload_len = payload };

	fix_build(f, true, &ip, &l4);
}

void udp_frame(struct fixture *f, bool l2, const char *src, const char *dst, uint16_t sport,
	       uint16_t dport, bool no_csum)
{
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = IPPROTO_UDP };
	struct fix_l4 l4 = { .sport = sport, .dport = dport, .udp_no_csum = no_csum,
			     .payload_len = 33 };

	fix_build(f, l2, &ip, &l4);
}

void icmp_echo_frame(struct fixture *f, bool l2, const char *src, const char *dst,
		     uint8_t type, uint16_t id)
{
	bool v6 = strchr(src, ':') != NULL;
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP };
	struct fix_l4 l4 = { .sport = id, .icmp_type = type, .payload_len = 56 };

	fix_build(f, l2, &ip, &l4);
}

void assert_frame_eq(const struct fixture *out, const struct fixture *expected, const char *what)
{
	cr_assert_eq(out->len, expected->len, "%s: length", what);
	cr_assert_arr_eq(out->buf, expected->buf, expected->len,
			 "%s: the frame built from scratch, byte for byte", what);
	cr_assert(fix_l4_csum_ok(out), "%s: L4 checksum verifies", what);
}

void assert_nat_frame(const struct fixture *in, const struct fixture *out, const char *src,
		      const char *dst, uint8_t ttl)
{
	struct fixture expected = *in;

	fix_nat(&expected, src, dst, ttl);
	assert_frame_eq(out, &expected, "after the NAT hop");
}

bool ct_lookup(uint8_t proto, uint16_t client_port, uint16_t service_port,
	       struct relay_ct_value *ct)
{
	return ct_lookup_client(CLIENT, proto, client_port, service_port, ct);
}

struct relay_ct_key ct_key_of(const char *client, uint8_t proto, uint16_t client_port,
			     uint16_t service_port)
{
	struct relay_ct_key key = { .family = AF_INET, .proto = proto };

	if (strchr(client, ':')) {
		key.family = AF_INET6;
		fix_addr6(client, key.client.v6);
	} else {
		key.client.v4 = fix_addr(client);
	}
	key.client_port = htons(client_port);
	key.service_port = htons(service_port);
	return key;
}

int ct_table_of(const struct relay_ct_key *key)
{
	struct relay_ct_value ct;

	/* An unreplied entry is the newer one: the key's entry in the main
	 * table, if any, is an expired one the first reply will replace. */
	if (!bpf_map_lookup_elem(ct_new_fd, key, &ct))
		return ct_new_fd;
	return bpf_map_lookup_elem(ct_fd, key, &ct) ? -1 : ct_fd;
}

bool ct_lookup_client(const char *client, uint8_t proto, uint16_t client_port,
		      uint16_t service_port, struct relay_ct_value *ct)
{
	struct relay_ct_key key = ct_key_of(client, proto, client_port, service_port);
	int fd = ct_table_of(&key);

	return fd >= 0 && bpf_map_lookup_elem(fd, &key, ct) == 0;
}

static uint16_t csum16(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void icmp_error_frame(struct fixture *f, bool l2, const char *src, const char *dst,
		      uint8_t type, uint8_t code, uint32_t rest, const struct fixture *quoted,
		      size_t quote_len)
{
	bool v6 = strchr(src, ':') != NULL;
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP };
	struct fix_l4 l4 = { .icmp_type = type, .payload_len = quote_len };
	uint8_t *icmp;
	uint16_t c;

	fix_build(f, l2, &ip, &l4);
	icmp = (uint8_t *)fix_l4(f);
	icmp[1] = code;
	icmp[2] = icmp[3] = 0;
	icmp[4] = rest >> 24;
	icmp[5] = rest >> 16;
	icmp[6] = rest >> 8;
	icmp[7] = rest;
	memcpy(icmp + 8, fix_ip(quoted), quote_len);
	if (v6) {
		/* ICMPv6's checksum covers a pseudo-header: packet.c's. */
		fix_set_csums(f, true);
		return;
	}
	c = csum16(icmp, 8 + quote_len);
	icmp[2] = c >> 8;
	icmp[3] = c & 0xff;
}

void icmp_quoted(const struct fixture *err, struct fixture *quoted)
{
	const uint8_t *q = fix_l4(err) + 8;

	memset(quoted, 0, sizeof(*quoted));
	quoted->len = err->len - (size_t)(q - err->buf);
	memcpy(quoted->buf, q, quoted->len);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ns/packet of relay_front_in and relay_front_rev, IPv4 and IPv6, as BPF_PROG_TEST_RUN
 * reports it (average over `repeat` runs on one skb). The programs rewrite
 * the skb in place run after run, so the frame is chosen to make the
 * rewrite idempotent: backend == public address, TTL 255, repeat <= 250.
 * Not a test: a figure for the notes.  Usage: front_ns [ROUNDS]
 *
 * front_ns xdp [ROUNDS]: relay_front_xdp's fast path, IPv4 and IPv6, on a
 * flow relay_front_in opened, in a network namespace of its own (gone at
 * exit) whose veth t0 is an L2 tunnel with the backend (== the public
 * address) as a resolved neighbour: the frame keeps its Ethernet header
 * (an L3 tunnel's bpf_xdp_adjust_head would cut it again run after run)
 * and every run takes the whole fast path (verdict XDP_REDIRECT checked).
 * Then the same one run per test_run (repeat 1, caches as the syscall
 * leaves them). front_ns xdp ROUNDS OBJ...: variants of build/bpf/
 * front_xdp.bpf.o too, loaded on the same maps (but one of another value
 * layout) and timed run by run interleaved with the built one (an A/B the
 * machine's load hits alike).
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <bpf/bpf.h>

#include "front.h"
#include "packet.h"
#include "pin.h"

#define REPEAT 250
#define MAX_VARIANTS 4

static __u32 verdict = 7; /* TC_ACT_REDIRECT; XDP_REDIRECT is 4 */
/* Non-zero: the skb's device (a reply's: the tunnel). */
static __u32 run_ifindex;
/* REPEAT, or 1: a fresh copy of the frame per run, in caches as cold as
 * the syscall between runs leaves them (rbbench prog-ns, bench/run.sh). */
static int repeat = REPEAT;

static __u32 run(int fd, const struct fixture *f)
{
	struct __sk_buff skb = { .ifindex = run_ifindex };
	struct fixture out;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->buf, .data_size_in = f->len,
		    .data_out = out.buf, .data_size_out = sizeof(out.buf), .repeat = repeat);

	if (run_ifindex) {
		opts.ctx_in = &skb;
		opts.ctx_size_in = sizeof(skb);
	}
	if (bpf_prog_test_run_opts(fd, &opts)) {
		perror("test_run");
		exit(1);
	}
	if (opts.retval != verdict) {
		fprintf(stderr, "unexpected verdict %u\n", opts.retval);
		exit(1);
	}
	return opts.duration;
}

/* FRONT_NS_EVICT=BYTES: written before each cold run, to push the
 * previous runs' lines out of the CPU's caches (2 MiB: its L2), so that a
 * variant's figure counts the lines it touches whatever ran before. */
static void evict(void)
{
	static unsigned char *buf;
	static size_t len;

	if (!buf) {
		const char *e = getenv("FRONT_NS_EVICT");

		len = e ? strtoul(e, NULL, 0) : 0;
		buf = len ? calloc(1, len) : (unsigned char *)"";
	}
	for (size_t i = 0; i < len; i += 64)
		buf[i]++;
}

/* A variant on the built object's maps (share_maps), but one of another
 * value layout (a variant from before a layout change: relay_stats before
 * struct relay_stats_value), which keeps a map of its own: the fast path
 * only writes it, so the variant is timed as it ran. */
static int share_alike(struct bpf_object *obj, const struct bpf_object *owner)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const struct bpf_map *own = bpf_object__find_map_by_name(owner, bpf_map__name(map));

		if (own && !bpf_map__is_internal(map) &&
		    bpf_map__value_size(own) == bpf_map__value_size(map) &&
		    bpf_map__reuse_fd(map, bpf_map__fd(own)))
			return -1;
	}
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return (int)(*(const __u32 *)a) - (int)(*(const __u32 *)b);
}

/*
 * FRONT_NS_FLOWS=N (front_ns xdp): N one-way flows of 64-byte UDP frames
 * shaped as the bench's udp64_pps_N (bench/run.sh flow_shape: up to 100
 * client addresses, 198.51.100.1-100, times ports from 10000), each opened
 * by a packet through relay_front_in, so unreplied (in relay_ct_new), or
 * with FRONT_NS_REPLIED=1 answered through relay_front_rev too (moved to
 * relay_ct). Then runs of repeat 1 (FRONT_NS_EVICT applies), each on the
 * next flow round-robin as the bench's generator sends them, of
 * relay_front_xdp, its variants and relay_front_in (TC), interleaved (each
 * case at flows N/cases apart, so that none runs the flow another just
 * warmed): ns per packet at N flows, to set against N=1.
 */
static void flow_frame(struct fixture *f, int flow, int nflows, bool reply)
{
	int naddrs = nflows < 100 ? nflows : 100;
	char client[32];
	struct fix_ip4 ip = { .src = client, .dst = "203.0.113.1", .proto = IPPROTO_UDP,
			      .ttl = 255 };
	struct fix_l4 l4 = { .sport = 10000 + flow / naddrs, .dport = 8080,
			     .payload_len = 64 - 14 - 20 - 8 };

	snprintf(client, sizeof(client), "198.51.100.%d", 1 + flow % naddrs);
	if (reply) {
		ip.src = "203.0.113.1";
		ip.dst = client;
		l4.dport = l4.sport;
		l4.sport = 8080;
	}
	fix_build(f, true, &ip, &l4);
}

static int flows_ns(int nflows, int runs, int n, const int *fd, const char *const *name,
		    int fd_in, int fd_rev, __u32 tunnel_ifindex)
{
	bool replied = getenv("FRONT_NS_REPLIED") && atoi(getenv("FRONT_NS_REPLIED"));
	int hot = runs / 50 ? runs / 50 : 1;
	struct fixture f;
	__u32 *d;

	if (nflows < 1)
		return 1;
	/* Whole sweeps: every case runs every flow alike (flows created
	 * earlier or later, their entries placed elsewhere, differ by tens
	 * of ns). */
	runs -= runs % nflows;
	if (!runs)
		runs = nflows;
	d = calloc((size_t)runs * (n + 1), sizeof(*d));
	if (!d)
		return 1;
	for (int i = 0; i < nflows; i++) {
		verdict = 7;
		run_ifindex = 0;
		flow_frame(&f, i, nflows, false);
		run(fd_in, &f);
		if (replied) {
			run_ifindex = tunnel_ifindex;
			flow_frame(&f, i, nflows, true);
			run(fd_rev, &f);
		}
	}
	run_ifindex = 0;
	printf("%d %s flows, UDP 64-byte frames\n", nflows, replied ? "replied" : "unreplied");
	/* Hot: repeat 250 on one flow per round (a variant may go through
	 * flows itself, in the kernel's loop: no syscall between packets). */
	for (int i = 0; i < hot; i++)
		for (int j = 0; j <= n; j++) {
			int k = i & 1 ? n - j : j;

			flow_frame(&f, (i + k * (nflows / (n + 1))) % nflows, nflows, false);
			verdict = k < n ? 4 : 7;
			d[k * runs + i] = run(k < n ? fd[k] : fd_in, &f);
		}
	for (int k = 0; k <= n; k++) {
		qsort(d + k * runs, hot, sizeof(*d), cmp);
		printf("%s flows %d hot median %u ns/packet (min %u, p10 %u, %d rounds x %d)\n",
		       k < n ? name[k] : "relay_front_in", nflows, d[k * runs + hot / 2],
		       d[k * runs], d[k * runs + hot / 10], hot, REPEAT);
	}
	/* Cold: each run one packet of the next flow round-robin. */
	repeat = 1;
	for (int i = 0; i < runs; i++)
		for (int j = 0; j <= n; j++) {
			/* The last case: relay_front_in. */
			int k = i & 1 ? n - j : j;

			flow_frame(&f, (i + k * (nflows / (n + 1))) % nflows, nflows, false);
			verdict = k < n ? 4 : 7;
			evict();
			d[k * runs + i] = run(k < n ? fd[k] : fd_in, &f);
		}
	for (int k = 0; k <= n; k++) {
		__u32 *e = d + k * runs;
		unsigned long long sum = 0;

		qsort(e, runs, sizeof(*e), cmp);
		for (int i = 0; i < runs - runs / 10; i++)
			sum += e[i];
		printf("%s flows %d cold median %u ns/packet (p10 %u, mean of the lower 90%% %.1f, %d runs x 1)\n",
		       k < n ? name[k] : "relay_front_in", nflows, e[runs / 2], e[runs / 10],
		       (double)sum / (runs - runs / 10), runs);
	}
	return 0;
}

/* The lab's L2 tunnel: t0, the backend (203.0.113.1, 2001:db8:1::1 here)
 * a permanent neighbour on it, forwarding on (bpf_fib_lookup's condition). */
static int xdp_netns(void)
{
	if (unshare(CLONE_NEWNET)) {
		perror("unshare");
		return -1;
	}
	return system("ip link set lo up && sysctl -qw net.ipv4.ip_forward=1 && "
		      "sysctl -qw net.ipv6.conf.all.forwarding=1 && "
		      "ip link add t0 type veth peer name t1 && ip link set t1 up && "
		      "ip link set t0 address 02:00:00:00:00:fe up && "
		      "ip addr add 10.22.22.2/30 dev t0 && "
		      "ip route add 203.0.113.1/32 dev t0 && "
		      "ip neigh add 203.0.113.1 lladdr 02:00:00:00:00:01 dev t0 nud permanent && "
		      "ip addr add 2001:db8:22::2/64 dev t0 nodad && "
		      "ip -6 route add 2001:db8:1::1/128 dev t0 && "
		      "ip neigh add 2001:db8:1::1 lladdr 02:00:00:00:00:01 dev t0 nud permanent")
		       ? -1
		       : 0;
}

int main(int argc, char **argv)
{
	bool xdp = argc > 1 && !strcmp(argv[1], "xdp");
	int rounds = argc > 1 + xdp ? atoi(argv[1 + xdp]) : 200;
	struct relay_front_config cfg = { 0 };
	union relay_ip backend4 = { 0 }, backend6;
	struct relay_ip_key pub = { .family = AF_INET }, pub6 = { .family = AF_INET6 };
	struct fix_ip4 ip_in = { .src = "203.0.113.10", .dst = "203.0.113.1",
				 .proto = IPPROTO_TCP, .ttl = 255 };
	struct fix_ip4 ip_rev = { .src = "203.0.113.1", .dst = "203.0.113.10",
				  .proto = IPPROTO_TCP, .ttl = 255 };
	/* The IPv6 twins: backend == public address too. */
	struct fix_ip4 ip6_in = { .src = "2001:db8:1::10", .dst = "2001:db8:1::1",
				  .proto = IPPROTO_TCP, .ttl = 255 };
	struct fix_ip4 ip6_rev = { .src = "2001:db8:1::1", .dst = "2001:db8:1::10",
				   .proto = IPPROTO_TCP, .ttl = 255 };
	struct fix_l4 l4_in = { .sport = 40000, .dport = 8080, .tcp_flags = 0x10,
				.payload_len = 64 };
	struct fix_l4 l4_rev = { .sport = 8080, .dport = 40000, .tcp_flags = 0x10,
				 .payload_len = 64 };
	struct { const char *name; int fd; struct fixture f; __u32 *d; } c[4 + 2 * MAX_VARIANTS] = {
		{ .name = "relay_front_in " }, { .name = "relay_front_rev" },
		{ .name = "relay_front_in  IPv6" }, { .name = "relay_front_rev IPv6" },
	};
	struct front_objs o;
	__u32 zero = 0, one = 1;
	struct bpf_prog_info info = { 0 };
	int n = 4;

	if (rounds < 1)
		rounds = 1;
	if (xdp && xdp_netns())
		return 1;
	if (xdp) {
		/* The next-hop cache is per CPU: one CPU for every run. */
		cpu_set_t cpu;

		CPU_ZERO(&cpu);
		CPU_SET(sched_getcpu(), &cpu);
		sched_setaffinity(0, sizeof(cpu), &cpu);
	}
	if (front_load(&o, NULL, getenv("FRONT_NS_FLOWS") ? RELAY_DEFAULT_CT_MAX : 1024, FRONT_ALL)) {
		fprintf(stderr, "front_load failed\n");
		return 1;
	}
	backend4.v4 = fix_addr("203.0.113.1");
	fix_addr6("2001:db8:1::1", backend6.v6);
	if (front_default_service(&(struct front_svc_fds){
					  bpf_map__fd(o.pub->maps.relay_port_services),
					  bpf_map__fd(o.pub->maps.relay_services),
					  bpf_map__fd(o.pub->maps.relay_maglev),
					  bpf_map__fd(o.pub->maps.relay_backends) },
				  &backend4, &backend6)) {
		fprintf(stderr, "front_default_service failed\n");
		return 1;
	}
	cfg.public_ifindex = 1;
	cfg.tunnel_ifindex = xdp ? if_nametoindex("t0") : 1;
	cfg.tunnel_l2 = 1;
	/* The XDP fast path takes a flow's recorded backend while the
	 * services are those of its epoch (0: never). */
	cfg.svc_epoch = xdp;
	cfg.mss[0] = 1380;
	cfg.mss[1] = 1360;
	pub.addr.v4 = fix_addr("203.0.113.1");
	fix_addr6("2001:db8:1::1", pub6.addr.v6);
	bpf_map_update_elem(bpf_map__fd(o.pub->maps.relay_front_cfg), &zero, &cfg, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(o.pub->maps.relay_front_pub), &pub, &one, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(o.pub->maps.relay_front_pub), &pub6, &one, BPF_ANY);
	fix_build(&c[0].f, true, &ip_in, &l4_in);
	fix_build(&c[1].f, true, &ip_rev, &l4_rev);
	fix_build(&c[2].f, true, &ip6_in, &l4_in);
	fix_build(&c[3].f, true, &ip6_rev, &l4_rev);
	for (int k = 0; k < 4; k++) {
		c[k].fd = bpf_program__fd(k & 1 ? o.tun->progs.relay_front_rev :
						  o.pub->progs.relay_front_in);
		/* xdp: its cold runs, 50 per round */
		c[k].d = calloc(rounds * 50, sizeof(*c[k].d));
	}
	if (xdp) {
		/* Its flows established by TC (a packet, a reply from the
		 * tunnel: among the replied flows, one lookup per packet),
		 * then its two cases alone. */
		for (int k = 0; k < 4; k++) {
			run_ifindex = k & 1 ? cfg.tunnel_ifindex : 0;
			run(c[k].fd, &c[k].f);
		}
		run_ifindex = 0;
		c[1] = c[2];
		c[0].name = c[1].name = "relay_front_xdp";
		c[0].fd = c[1].fd = bpf_program__fd(o.xdp->progs.relay_front_xdp);
		verdict = 4;
		n = 2;
		for (int v = 2 + xdp; v < argc && n < 2 + 2 * MAX_VARIANTS; v++, n += 2) {
			struct bpf_object *obj = bpf_object__open_file(argv[v], NULL);
			struct bpf_program *prog;

			if (!obj || share_alike(obj, o.pub->obj) || bpf_object__load(obj) ||
			    !(prog = bpf_object__find_program_by_name(obj, "relay_front_xdp"))) {
				fprintf(stderr, "%s: does not load\n", argv[v]);
				return 1;
			}
			c[n] = c[0];
			c[n + 1] = c[1];
			c[n].name = c[n + 1].name = argv[v];
			c[n].fd = c[n + 1].fd = bpf_program__fd(prog);
			c[n].d = calloc(rounds * 50, sizeof(*c[n].d));
			c[n + 1].d = calloc(rounds * 50, sizeof(*c[n].d));
		}
		for (int k = 0; k < n; k += 2, info = (struct bpf_prog_info){ 0 })
			if (!bpf_obj_get_info_by_fd(c[k].fd, &info, &(__u32){ sizeof(info) }))
				printf("%s: %u insns xlated, %u bytes jited\n", c[k].name,
				       info.xlated_prog_len / 8, info.jited_prog_len);
		if (getenv("FRONT_NS_FLOWS")) {
			int fd[MAX_VARIANTS + 1];
			const char *name[MAX_VARIANTS + 1];

			for (int k = 0; k < n; k += 2) {
				fd[k / 2] = c[k].fd;
				name[k / 2] = c[k].name;
			}
			return flows_ns(atoi(getenv("FRONT_NS_FLOWS")), rounds * 50, n / 2, fd, name,
					bpf_program__fd(o.pub->progs.relay_front_in),
					bpf_program__fd(o.tun->progs.relay_front_rev), cfg.tunnel_ifindex);
		}
	}
	/* Interleaved, so that the machine's load hits every case alike. */
	for (int i = 0; i < rounds; i++)
		for (int j = 0; j < n; j++) {
			/* Each case after each other alike: the order reversed
			 * every other round (a run warms the next one's maps). */
			int k = i & 1 ? n - 1 - j : j;

			c[k].d[i] = run(c[k].fd, &c[k].f);
		}
	for (int k = 0; k < n; k++) {
		qsort(c[k].d, rounds, sizeof(*c[k].d), cmp);
		printf("%s%s median %u ns/packet (min %u, p10 %u, %d rounds x %d)\n", c[k].name,
		       xdp && k & 1 ? " IPv6" : "", c[k].d[rounds / 2], c[k].d[0], c[k].d[rounds / 10], rounds, REPEAT);
	}
	/* XDP's runs one by one: each duration is one run and the clock
	 * reads around it (an empty program's share, constant). */
	repeat = 1;
	for (int i = 0; xdp && i < rounds * 50; i++)
		for (int j = 0; j < n; j++) {
			int k = i & 1 ? n - 1 - j : j;

			evict();
			c[k].d[i] = run(c[k].fd, &c[k].f);
		}
	for (int k = 0; xdp && k < n; k++) {
		unsigned long long sum = 0;
		int m = rounds * 50;

		qsort(c[k].d, m, sizeof(*c[k].d), cmp);
		for (int i = 0; i < m - m / 10; i++)
			sum += c[k].d[i];
		printf("%s%s cold median %u ns/packet (p10 %u, mean of the lower 90%% %.1f, %d runs x 1)\n",
		       c[k].name, k & 1 ? " IPv6" : "", c[k].d[m / 2], c[k].d[m / 10], (double)sum / (m - m / 10), m);
	}
	front_destroy(&o);
	return 0;
}

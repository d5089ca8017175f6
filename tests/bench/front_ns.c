// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ns/packet of the front programs as BPF_PROG_TEST_RUN reports it. Not a
 * test: a figure for the notes and make bench's prog_ns (bench/run.sh).
 *
 *   front_ns [xdp] [ROUNDS] [OBJ...]
 *
 * relay_front_in (the public side) and relay_front_rev (the tunnel side),
 * IPv4 and IPv6, and with `xdp` relay_front_xdp's fast path too, on one
 * flow established both ways first (a packet through relay_front_in, its
 * reply through relay_front_rev: a replied flow, the state the hot path
 * sees), in a network namespace of its own (gone at exit) whose veth t0 is
 * an L2 tunnel with the backend (== the public address) as a resolved
 * neighbour. The backend is the public address and the TTL 255, so the
 * rewrite is idempotent run after run (repeat <= 250) and every run takes
 * the whole forwarding path (its verdict checked: TC_ACT_REDIRECT,
 * XDP_REDIRECT). Figures per case:
 *   hot:  ROUNDS (default 200) test_runs of repeat 250 on one skb; median,
 *         min, p10 of the per-packet averages;
 *   cold: ROUNDS x 50 test_runs of repeat 1 on a fresh copy of the frame
 *         (caches as the syscall between runs leaves them, as for rbbench
 *         prog-ns); FRONT_NS_EVICT=BYTES writes that much before each run
 *         (4000000: more than the core's L2; not the L3), so that a run
 *         pays for the lines it touches whatever ran before.
 * OBJ...: variants of build/bpf/front_public.bpf.o, front_tunnel.bpf.o,
 * front_xdp.bpf.o (another commit's, a scratch build's), each program of
 * theirs timed as a case of its own, run by run interleaved with the
 * built ones in an order shuffled every round (an A/B the machine's load
 * and the caches hit alike). A variant works on
 * the built maps, but a map whose value layout differs, and a per-CPU
 * map (a cache, the counters), takes the same map of a variant loaded
 * before it (give a commit's front_public first) or one of its own (each
 * printed); a configuration map of its own is written by field
 * name (BTF), so a variant from before a configuration change runs its
 * own forwarding path (verdict checked).
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "compat.h"
#include "front.h"
#include "packet.h"
#include "pin.h"

#define REPEAT 250
#define COLD_PER_ROUND 50
#define MAX_OBJS 8
#define MAX_CASES 48

struct ns_case {
	const char *obj;  /* "" for the built objects, else the variant's path */
	const char *prog;
	bool v6;
	__u32 ifindex;    /* the skb's device (a reply's: the tunnel); 0: none */
	__u32 verdict;    /* TC_ACT_REDIRECT 7, XDP_REDIRECT 4 */
	int fd;
	const struct fixture *f;
	__u32 *d;
};

static __u32 run(const struct ns_case *c, int repeat)
{
	struct __sk_buff skb = { .ifindex = c->ifindex };
	struct fixture out;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = c->f->buf, .data_size_in = c->f->len,
		    .data_out = out.buf, .data_size_out = sizeof(out.buf), .repeat = repeat);

	if (c->ifindex) {
		opts.ctx_in = &skb;
		opts.ctx_size_in = sizeof(skb);
	}
	if (bpf_prog_test_run_opts(c->fd, &opts)) {
		perror("test_run");
		exit(1);
	}
	if (opts.retval != c->verdict) {
		fprintf(stderr, "%s %s: unexpected verdict %u\n", c->obj, c->prog, opts.retval);
		exit(1);
	}
	return opts.duration;
}

/* FRONT_NS_EVICT=BYTES: written before each cold run, to push the
 * previous runs' lines out of the CPU's caches (its L2: 1 MiB a core here, `lscpu -C`), so that a
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

/* Where NAME is in the BTF type ID (a struct's member, a data section's
 * variable): its offset, and its size in *size; -1 if it has none. */
static long btf_place(const struct bpf_object *obj, __u32 id, const char *name, __u32 *size)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *t = btf ? btf__type_by_id(btf, btf__resolve_type(btf, id)) : NULL;

	if (t && btf_is_datasec(t)) {
		const struct btf_var_secinfo *v = btf_var_secinfos(t);

		for (int i = 0; i < btf_vlen(t); i++, v++)
			if (!strcmp(btf__name_by_offset(btf, btf__type_by_id(btf, v->type)->name_off), name)) {
				*size = v->size;
				return v->offset;
			}
	} else if (t && btf_is_composite(t)) {
		const struct btf_member *m = btf_members(t);

		for (int i = 0; i < btf_vlen(t); i++, m++)
			if (!strcmp(btf__name_by_offset(btf, m->name_off), name)) {
				*size = btf__resolve_size(btf, m->type);
				return m->offset / 8;
			}
	}
	return -1;
}

/* A map of OWNER's that MAP can be: the same name, key and value sizes,
 * and the value's members (names and offsets) the same. */
static bool same_layout(const struct bpf_map *map, const struct bpf_object *obj,
			const struct bpf_map *own, const struct bpf_object *owner)
{
	const struct btf *b = bpf_object__btf(obj), *ob = bpf_object__btf(owner);
	const struct btf_type *t, *ot;

	if (bpf_map__key_size(map) != bpf_map__key_size(own) ||
	    bpf_map__value_size(map) != bpf_map__value_size(own))
		return false;
	if (!b || !ob || !bpf_map__btf_value_type_id(map) || !bpf_map__btf_value_type_id(own))
		return true;
	t = btf__type_by_id(b, btf__resolve_type(b, bpf_map__btf_value_type_id(map)));
	ot = btf__type_by_id(ob, btf__resolve_type(ob, bpf_map__btf_value_type_id(own)));
	if (!btf_is_composite(t) || !btf_is_composite(ot))
		return btf_kind(t) == btf_kind(ot);
	if (btf_vlen(t) != btf_vlen(ot))
		return false;
	for (int i = 0; i < btf_vlen(t); i++)
		if (btf_members(t)[i].offset != btf_members(ot)[i].offset ||
		    strcmp(btf__name_by_offset(b, btf_members(t)[i].name_off),
			   btf__name_by_offset(ob, btf_members(ot)[i].name_off)))
			return false;
	return true;
}

/* A per-CPU map: a cache or the counters, which the programs fill. */
static bool percpu(const struct bpf_map *map)
{
	enum bpf_map_type t = bpf_map__type(map);

	return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* A variant on the maps of the objects loaded before it (OWNERS[0..N),
 * the latest first), each map on the first of the same layout; a map of
 * another layout stays its own (the fast path only writes the counters,
 * so a variant is timed as it ran). Its per-CPU maps are never the built
 * objects' (OWNERS[0..BUILT)): the same layout may be keyed otherwise
 * (relay_hop: by family before the services, by backend since), and two
 * builds refilling one cache slot would each miss it run after run. */
static int share_alike(struct bpf_object *obj, struct bpf_object *const *owners, int n, int built)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		int i = n - 1;

		for (; i >= (percpu(map) ? built : 0) && !bpf_map__is_internal(map); i--) {
			const struct bpf_map *own = bpf_object__find_map_by_name(owners[i], bpf_map__name(map));

			if (own && same_layout(map, obj, own, owners[i])) {
				if (bpf_map__reuse_fd(map, bpf_map__fd(own)))
					return -1;
				break;
			}
		}
		if (i < (percpu(map) ? built : 0) && !bpf_map__is_internal(map))
			printf("%s: %s of its own (%s)\n", bpf_object__name(obj), bpf_map__name(map),
			       percpu(map) ? "per CPU" : "another layout");
	}
	return 0;
}

/* A field by name and its value's bytes (at most the field's size are
 * written: mss[2] into an older build's single mss). */
struct field {
	const char *name;
	const void *val;
	__u32 len;
};

/* OBJ's relay_front_cfg (its own or shared: written alike) by field name,
 * the fields it does not have skipped. Before load: its .rodata too. */
static int configure(struct bpf_object *obj, const struct field *cfg, const struct field *ro)
{
	struct bpf_map *map;
	__u32 size, zero = 0;
	long off;
	int err;

	bpf_object__for_each_map(map, obj) {
		bool rodata = bpf_map__is_internal(map) && strstr(bpf_map__name(map), ".rodata");
		const struct field *f = rodata ? ro : cfg;
		size_t len = bpf_map__value_size(map);
		__u32 id = bpf_map__btf_value_type_id(map);
		unsigned char *v;

		/* .rodata before load (then frozen), the configuration after */
		if ((!rodata && strcmp(bpf_map__name(map), "relay_front_cfg")) ||
		    rodata != (bpf_map__fd(map) < 0))
			continue;
		if (!(v = calloc(1, len)))
			return -1;
		if (rodata)
			memcpy(v, bpf_map__initial_value(map, &len), len);
		for (; f->name; f++)
			if ((off = btf_place(obj, id, f->name, &size)) >= 0 && (size_t)off + size <= len)
				memcpy(v + off, f->val, size < f->len ? size : f->len);
		err = rodata ? bpf_map__set_initial_value(map, v, len) :
			       bpf_map_update_elem(bpf_map__fd(map), &zero, v, BPF_ANY);
		free(v);
		if (err)
			return -1;
	}
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return (int)(*(const __u32 *)a) - (int)(*(const __u32 *)b);
}

/* One case's figures, after LABEL: D's M durations (sorted here) of test
 * runs of REPEAT, as bench/run.sh reads them (median, min, p10, the mean
 * of the lower 90%). */
static void print_figures(const char *label, __u32 *d, int m, int repeat)
{
	unsigned long long sum = 0;

	qsort(d, m, sizeof(*d), cmp);
	for (int i = 0; i < m - m / 10; i++)
		sum += d[i];
	printf("%s median %u ns/packet (min %u, p10 %u, mean of the lower 90%% %.1f, %d runs x %d)\n",
	       label, d[m / 2], d[0], d[m / 10], (double)sum / (m - m / 10), m, repeat);
}

/*
 * FRONT_NS_FLOWS=N (front_ns xdp): N one-way flows of 64-byte UDP frames
 * shaped as the bench's udp64_pps_N (bench/run.sh flow_shape: up to 100
 * client addresses, 198.51.100.1-100, times ports from 10000), each opened
 * by a packet through relay_front_in, so unreplied (in relay_ct_new), or
 * with FRONT_NS_REPLIED=1 answered through relay_front_rev too (moved to
 * relay_ct); through the variants' too, so that a variant of another flow
 * layout (flow tables of its own) has every flow as well. Then the IPv4 cases of relay_front_xdp (the built one, the
 * variants) and relay_front_in, interleaved: hot, repeat 250 on one flow
 * per round; cold, repeat 1 (FRONT_NS_EVICT applies), each run on the next
 * flow round-robin as the bench's generator sends them, each case at flows
 * N/cases apart so that none runs the flow another just warmed: ns per
 * packet at N flows, to set against N=1.
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

static int flows_ns(int nflows, int rounds, const struct ns_case *cases, int ncases)
{
	bool replied = getenv("FRONT_NS_REPLIED") && atoi(getenv("FRONT_NS_REPLIED"));
	const struct ns_case *in = NULL, *rev = NULL, *cs[MAX_CASES], *opens[MAX_CASES];
	int n = 0, n_opens = 0, runs = rounds * COLD_PER_ROUND;
	struct fixture f;
	__u32 *d;

	for (int k = 0; k < ncases; k++) {
		bool built = !*cases[k].obj, in4 = !strcmp(cases[k].prog, "relay_front_in") && !cases[k].v6;

		bool rev4 = !strcmp(cases[k].prog, "relay_front_rev") && !cases[k].v6;

		/* Every front_in and front_rev opens the flows: a variant of
		 * another flow layout has tables of its own to fill. */
		if (in4 || rev4)
			opens[n_opens++] = &cases[k];
		if (built && in4)
			in = &cases[k];
		else if (built && rev4)
			rev = &cases[k];
		else if (!cases[k].v6 && !strcmp(cases[k].prog, "relay_front_xdp"))
			cs[n++] = &cases[k];
	}
	if (nflows < 1 || !in || !rev)
		return 1;
	cs[n++] = in;
	/* Whole sweeps: every case runs every flow alike (flows created
	 * earlier or later, their entries placed elsewhere, differ by tens
	 * of ns). */
	runs -= runs % nflows;
	if (!runs)
		runs = nflows;
	d = calloc((size_t)runs * n, sizeof(*d));
	if (!d)
		return 1;
	for (int i = 0; i < nflows; i++)
		for (int k = 0; k < n_opens; k++) {
			struct ns_case open = *opens[k];
			bool answer = !strcmp(open.prog, "relay_front_rev");

			if (answer && !replied)
				continue;
			open.f = &f;
			flow_frame(&f, i, nflows, answer);
			run(&open, 1);
		}
	printf("%d %s flows, UDP 64-byte frames\n", nflows, replied ? "replied" : "unreplied");
	/* Hot (a variant may go through flows itself, in the kernel's loop:
	 * no syscall between packets), then cold. */
	for (int repeat = REPEAT, m = rounds; repeat; repeat = repeat > 1, m = runs) {
		for (int i = 0; i < m; i++)
			for (int j = 0; j < n; j++) {
				int k = i & 1 ? n - 1 - j : j;
				struct ns_case c = *cs[k];

				flow_frame(&f, (i + k * (nflows / n)) % nflows, nflows, false);
				c.f = &f;
				if (repeat == 1)
					evict();
				d[k * runs + i] = run(&c, repeat);
			}
		for (int k = 0; k < n; k++) {
			char label[256];

			snprintf(label, sizeof(label), "%s%s%s flows %d %s", cs[k]->prog,
				 *cs[k]->obj ? " " : "", cs[k]->obj, nflows, repeat > 1 ? "hot" : "cold");
			print_figures(label, d + k * runs, m, repeat);
		}
	}
	free(d);
	return 0;
}

/* The lab's L2 tunnel: t0, the backend (203.0.113.1, 2001:db8:1::1 here)
 * a permanent neighbour on it, forwarding on (bpf_fib_lookup's condition). */
static int ns_netns(void)
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
	static struct fixture fx[4];
	static struct ns_case c[MAX_CASES];
	struct bpf_object *objs[MAX_OBJS];
	struct front_objs o;
	__u32 one = 1, public_ifindex = 1, tunnel_ifindex, epoch = 1, l2 = 1;
	__u16 mss[2] = { 1380, 1360 };
	__u8 l4_ipv6;
	const struct field cfg[] = {
		{ "public_ifindex", &public_ifindex, 4 }, { "tunnel_ifindex", &tunnel_ifindex, 4 },
		{ "tunnel_l2", &l2, 1 }, { "mss", mss, 4 }, { "mss6", &mss[1], 2 },
		/* The XDP fast path takes a flow's recorded backend while the
		 * services are those of its epoch (0: never). */
		{ "svc_epoch", &epoch, 2 },
		/* A build before the services: one backend per family here. */
		{ "backend", &backend4, sizeof(backend4) }, { "backend6", &backend6, sizeof(backend6) },
		{ NULL },
	};
	const struct field ro[] = { { "relay_has_l4_ipv6", &l4_ipv6, 1 }, { NULL } };
	int n = 0, nb, nobj = 0, cold;
	unsigned int seed = 1;

	if (rounds < 1)
		rounds = 1;
	cold = rounds * COLD_PER_ROUND;
	if (ns_netns())
		return 1;
	{
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
	objs[nobj++] = o.pub->obj;
	objs[nobj++] = o.tun->obj;
	objs[nobj++] = o.xdp->obj;
	l4_ipv6 = relay_features()->l4_csum_ipv6;
	tunnel_ifindex = if_nametoindex("t0");
	backend4.v4 = fix_addr("203.0.113.1");
	fix_addr6("2001:db8:1::1", backend6.v6);
	if (front_default_service(&(struct front_svc_fds){
					  bpf_map__fd(o.pub->maps.relay_port_services),
					  bpf_map__fd(o.pub->maps.relay_services),
					  bpf_map__fd(o.pub->maps.relay_maglev),
					  bpf_map__fd(o.pub->maps.relay_backends) },
				  &backend4, &backend6) ||
	    configure(o.pub->obj, cfg, ro)) {
		fprintf(stderr, "front_default_service failed\n");
		return 1;
	}
	pub.addr.v4 = fix_addr("203.0.113.1");
	fix_addr6("2001:db8:1::1", pub6.addr.v6);
	bpf_map_update_elem(bpf_map__fd(o.pub->maps.relay_front_pub), &pub, &one, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(o.pub->maps.relay_front_pub), &pub6, &one, BPF_ANY);
	fix_build(&fx[0], true, &ip_in, &l4_in);
	fix_build(&fx[1], true, &ip_rev, &l4_rev);
	fix_build(&fx[2], true, &ip6_in, &l4_in);
	fix_build(&fx[3], true, &ip6_rev, &l4_rev);
	/* The built objects' cases; XDP's on the front_in frames. */
	for (int k = 0; k < (xdp ? 6 : 4); k++, n++) {
		bool rev = k < 4 && k & 1;

		c[n] = (struct ns_case){ .obj = "", .v6 = k < 4 ? k >= 2 : k == 5,
					 .prog = k >= 4 ? "relay_front_xdp" :
						 rev	? "relay_front_rev" :
							  "relay_front_in",
					 .ifindex = rev ? tunnel_ifindex : 0, .verdict = k >= 4 ? 4 : 7 };
		c[n].f = &fx[(c[n].v6 ? 2 : 0) + rev];
		c[n].fd = bpf_program__fd(bpf_object__find_program_by_name(
			objs[k >= 4 ? 2 : rev], c[n].prog));
	}
	nb = n;
	/* The variants: each program of theirs that a built case times. */
	for (int v = 2 + xdp; v < argc; v++) {
		struct bpf_object *obj = bpf_object__open_file(argv[v], NULL);
		int had = n;

		if (nobj == MAX_OBJS || n + nb > MAX_CASES) {
			fprintf(stderr, "%s: at most %d objects\n", argv[v], MAX_OBJS - 3);
			return 1;
		}
		if (!obj || configure(obj, cfg, ro) || share_alike(obj, objs, nobj, 3) ||
		    bpf_object__load(obj) || configure(obj, cfg, ro)) {
			fprintf(stderr, "%s: does not load\n", argv[v]);
			return 1;
		}
		objs[nobj++] = obj;
		for (int k = 0; k < nb; k++) {
			struct bpf_program *prog = bpf_object__find_program_by_name(obj, c[k].prog);

			if (prog) {
				c[n] = c[k];
				c[n].obj = argv[v];
				c[n++].fd = bpf_program__fd(prog);
			}
		}
		if (n == had) {
			fprintf(stderr, "%s: none of the timed programs\n", argv[v]);
			return 1;
		}
	}
	if (xdp && getenv("FRONT_NS_FLOWS"))
		return flows_ns(atoi(getenv("FRONT_NS_FLOWS")), rounds, c, n);
	/* Every flow established both ways (its own table's, for a variant
	 * of another flow layout): the front_in cases, then the replies. */
	for (int pass = 0; pass < 2; pass++)
		for (int k = 0; k < n; k++)
			if (!strcmp(c[k].prog, pass ? "relay_front_rev" : "relay_front_in"))
				run(&c[k], 1);
	for (int k = 0; k < n; k++) {
		struct bpf_prog_info info = { 0 };

		c[k].d = calloc(cold, sizeof(*c[k].d));
		if (!c[k].v6 && !bpf_obj_get_info_by_fd(c[k].fd, &info, &(__u32){ sizeof(info) }))
			printf("%s%s%s: %u insns xlated, %u bytes jited\n", c[k].prog, *c[k].obj ? " " : "", c[k].obj,
			       info.xlated_prog_len / 8, info.jited_prog_len);
	}
	/* hot, then cold: run by run interleaved, so that the machine's load
	 * hits every case alike, in an order shuffled every round: a run
	 * leaves lines in the cache the eviction does not reach (the L3), and
	 * a fixed order gives a case the same predecessor every time (with
	 * the order reversed every other round, the case last of a round ran
	 * twice in a row: 100-300 ns off its cold figure in an A/A). */
	for (int repeat = REPEAT, m = rounds; repeat; repeat = repeat > 1, m = cold) {
		for (int i = 0; i < m; i++) {
			int order[MAX_CASES];

			for (int j = 0; j < n; j++) {
				int r = rand_r(&seed) % (j + 1);

				order[j] = order[r];
				order[r] = j;
			}
			for (int j = 0; j < n; j++) {
				int k = order[j];

				if (repeat == 1)
					evict();
				c[k].d[i] = run(&c[k], repeat);
			}
		}
		for (int k = 0; k < n; k++) {
			char label[256];

			snprintf(label, sizeof(label), "%s %s %s%s%s", c[k].prog, c[k].v6 ? "IPv6" : "IPv4",
				 repeat > 1 ? "hot" : "cold", *c[k].obj ? " " : "", c[k].obj);
			print_figures(label, c[k].d, m, repeat);
		}
	}
	front_destroy(&o);
	return 0;
}

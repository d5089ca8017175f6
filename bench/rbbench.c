// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rbbench: the benchmark's own tools, one binary, one subcommand each.
 * bench/run.sh calls them inside the lab's namespaces.
 *
 *   gen      DEV udp|tcp[-rev] SRC_MAC DST_MAC CLIENT N_ADDRS CLIENT_PORT N_PORTS PEER PEER_PORT SECONDS PPS
 *            one long LIVE_FRAMES test_run of gen.bpf.c, ended by SIGALRM: the flows
 *            (N_ADDRS client addresses x N_PORTS ports) to PEER:PEER_PORT, or with -rev
 *            from PEER:PEER_PORT to them (a backend's replies); PPS frames a second
 *            (each frame waits for its time in the program), 0: as many as it can
 *   search   RX_NETNS RX_DEV SRC DST DEV udp|tcp[-rev] ... PEER_PORT LO_PPS HI_PPS TRIALS SECONDS MAX_LOSS_PCT
 *            FWD_PIDS   the loss-free rate: a binary search of paced trials between LO_PPS and
 *            HI_PPS (the generator as gen, the receiver as count on RX_DEV in RX_NETNS; the
 *            forwarder's threads' share of each trial from FWD_PIDS' schedstat)
 *   xdp      DEV pass|fwd:TARGET_DEV|off      attach (stays after exit)/detach
 *   tc       DEV fwd:TARGET_DEV|off           the same on TC ingress (off: flushes DEV's ingress)
 *   count    DEV WARMUP SECONDS SRC DST PROG_IDS|-   XDP count-and-drop of the frames
 *            from SRC to DST (each ADDR[/LEN][,ADDR]: a network or address, and
 *            optionally a second address), and of the others apart; prints pps and
 *            the mean run time in the window of the programs PROG_IDS (id,id)
 *   crr-server PORT SRC_NET/LEN / crr HOST PORT THREADS SECONDS   TCP connect/request/reply/close
 *   udp-echo ADDR PORT SRC_NET/LEN / udp-rr HOST PORT SECONDS    UDP round trips, p50/p99
 *            (the servers answer only peers in SRC_NET)
 *   prog-ns  PROG_ID FRAME_HEX RUNS IFINDEX  median ns of one run (test_run, repeat 1), the
 *            verdict, mark and addresses of the packet out (IFINDEX: the TC packet's device, 0: none)
 *   selftest                                  the generator's frames, checked from scratch
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include "bench.h"
#include "gen.skel.h"
#include "dut.skel.h"

/* stop: the current run ends (the timer, or asked to quit); quit: asked
 * to quit (rbbench search stops between its trials too). */
static volatile sig_atomic_t stop, quit;

static void on_signal(int sig)
{
	stop = 1;
	if (sig != SIGALRM)
		quit = 1;
}

/* Without SA_RESTART: the signal must interrupt test_run and blocking I/O. */
static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "rbbench: %s: %s\n", what, strerror(errno));
	return 1;
}

static int ifindex_of(const char *dev)
{
	int i = if_nametoindex(dev);

	if (!i)
		fprintf(stderr, "rbbench: no device %s\n", dev);
	return i;
}

static int parse_mac(const char *s, volatile __u8 *mac)
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = b[i];
	return 0;
}

/* The generator for the gen arguments from the protocol on (AV: PROTO
 * SRC_MAC DST_MAC CLIENT N_ADDRS CLIENT_PORT N_PORTS PEER PEER_PORT), out of
 * IFINDEX, RATE frames a second (0: a flood), loaded; NULL on an error
 * (said). */
static struct gen *gen_setup(char **av, int ifindex, double rate)
{
	struct in_addr src, dst;
	struct gen *skel = gen__open();

	if (!skel) {
		die("open gen.bpf.o");
		return NULL;
	}
	if (parse_mac(av[1], skel->rodata->src_mac) || parse_mac(av[2], skel->rodata->dst_mac) ||
	    !inet_aton(av[3], &src) || !inet_aton(av[7], &dst)) {
		fprintf(stderr, "rbbench gen: bad MAC or address\n");
		goto fail;
	}
	skel->rodata->proto = !strncmp(av[0], "tcp", 3) ? IPPROTO_TCP : IPPROTO_UDP;
	skel->rodata->reverse = !!strstr(av[0], "-rev");
	skel->rodata->flow_addr_first = ntohl(src.s_addr);
	skel->rodata->n_addrs = strtoul(av[4], NULL, 0);
	skel->rodata->flow_port_first = strtoul(av[5], NULL, 0);
	skel->rodata->n_ports = strtoul(av[6], NULL, 0);
	skel->rodata->peer_addr = dst.s_addr;
	skel->rodata->peer_port = strtoul(av[8], NULL, 0);
	skel->rodata->out_ifindex = ifindex;
	if (!skel->rodata->n_addrs || !skel->rodata->n_ports) {
		fprintf(stderr, "rbbench gen: N_ADDRS and N_PORTS must be > 0\n");
		goto fail;
	}
	skel->rodata->gap_q16 = rate > 0 ? (__u64)(65536e9 / rate) : 0;
	if (gen__load(skel)) {
		die("load gen.bpf.o");
		goto fail;
	}
	return skel;
fail:
	gen__destroy(skel);
	return NULL;
}

/* Runs the generator for SECS seconds (fractions too); sets the frames
 * sent and the seconds it took. 0, or 1 on an error (said). */
static int gen_run(struct gen *skel, double secs, __u64 *sent, double *took)
{
	struct itimerval it = { .it_value = { .tv_sec = (time_t)secs,
					      .tv_usec = (suseconds_t)((secs - (time_t)secs) * 1e6) } };
	unsigned char frame[BENCH_FRAME_LEN] = { 0 };
	double t0;
	int err = 0;

	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = 0xffffffffu, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	stop = 0;
	catch_signals();
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = now_s();
	/* One call for the whole run: each call's page_pool setup stalls the
	 * generator for milliseconds. The timer ends it with EINTR. */
	while (!stop) {
		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.relay_bench_gen), &opts);
		if (err && errno != EINTR) {
			die("test_run");
			break;
		}
	}
	*took = now_s() - t0;
	*sent = skel->bss->relay_bench_seq;
	return err && errno != EINTR;
}

static int cmd_gen(char **av)
{
	int ifindex = ifindex_of(av[0]), err;
	struct gen *skel;
	__u64 sent;
	double t;

	if (!ifindex)
		return 1;
	skel = gen_setup(av + 1, ifindex, strtod(av[11], NULL));
	if (!skel)
		return 2;
	err = gen_run(skel, strtod(av[10], NULL), &sent, &t);
	printf("sent=%llu seconds=%.2f gen_pps=%.0f\n", (unsigned long long)sent, t, sent / t);
	gen__destroy(skel);
	return err;
}

static int cmd_xdp(char **av)
{
	struct dut *skel;
	struct bpf_program *prog;
	int ifindex = ifindex_of(av[0]), fd;

	if (!ifindex)
		return 1;
	if (!strcmp(av[1], "off"))
		return bpf_xdp_detach(ifindex, 0, NULL) ? die("detach") : 0;
	skel = dut__open();
	if (!skel)
		return die("open dut.bpf.o");
	if (!strncmp(av[1], "fwd:", 4)) {
		skel->rodata->fwd_ifindex = ifindex_of(av[1] + 4);
		if (!skel->rodata->fwd_ifindex)
			return 1;
		prog = skel->progs.relay_bench_fwd;
	} else if (!strcmp(av[1], "pass")) {
		prog = skel->progs.relay_bench_pass;
	} else {
		fprintf(stderr, "rbbench xdp: expected pass, fwd:DEV or off\n");
		return 2;
	}
	if (dut__load(skel))
		return die("load dut.bpf.o");
	fd = bpf_program__fd(prog);
	/* Netlink attachment outlives this process; `xdp DEV off` removes it. */
	if (bpf_xdp_attach(ifindex, fd, 0, NULL))
		return die("attach");
	dut__destroy(skel);
	return 0;
}

static int cmd_tc(char **av)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);
	struct dut *skel;
	int err;

	hook.ifindex = ifindex_of(av[0]);
	if (!hook.ifindex)
		return 1;
	if (!strcmp(av[1], "off"))
		return bpf_tc_hook_destroy(&hook) ? die("tc detach") : 0;
	if (strncmp(av[1], "fwd:", 4)) {
		fprintf(stderr, "rbbench tc: expected fwd:DEV or off\n");
		return 2;
	}
	skel = dut__open();
	if (!skel)
		return die("open dut.bpf.o");
	skel->rodata->fwd_ifindex = ifindex_of(av[1] + 4);
	if (!skel->rodata->fwd_ifindex)
		return 1;
	if (dut__load(skel))
		return die("load dut.bpf.o");
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return die("tc hook");
	opts.prog_fd = bpf_program__fd(skel->progs.relay_bench_tc_fwd);
	/* The filter holds the program after this process exits. */
	if (bpf_tc_attach(&hook, &opts))
		return die("tc attach");
	dut__destroy(skel);
	return 0;
}

/* Busy and total jiffies of one CPU from /proc/stat. */
static void cpu_times(int cpu, unsigned long long *busy, unsigned long long *total)
{
	char line[512], name[16];
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	*busy = *total = 0;
	snprintf(name, sizeof(name), "cpu%d ", cpu);
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, strlen(name)))
			continue;
		sscanf(line + strlen(name), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		       &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
		for (int i = 0; i < 8; i++)
			*total += v[i];
		*busy = *total - v[3] - v[4];
	}
	if (f)
		fclose(f);
}

static __u64 count_sum(int map_fd, int ncpu, __u32 idx)
{
	__u64 vals[ncpu], sum = 0;

	if (bpf_map_lookup_elem(map_fd, &idx, vals))
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* A device without a link-layer header (TUN, WireGuard). */
static int is_l3(const char *dev)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0), l3;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	l3 = s >= 0 && !ioctl(s, SIOCGIFHWADDR, &ifr) && ifr.ifr_hwaddr.sa_family == ARPHRD_NONE;
	if (s >= 0)
		close(s);
	return l3;
}

/* ADDR/LEN into a network and mask (network byte order). */
static int parse_prefix(const char *s, __be32 *net, __be32 *mask)
{
	char addr[INET_ADDRSTRLEN];
	struct in_addr a;
	int len;

	if (sscanf(s, "%15[0-9.]/%d", addr, &len) != 2 || len < 0 || len > 32 || !inet_aton(addr, &a))
		return -1;
	*mask = len ? htonl(~0u << (32 - len)) : 0;
	*net = a.s_addr & *mask;
	return 0;
}

/* One side of what the receiver expects: ADDR[/LEN][,ADDR] into a network,
 * its mask and a second address (0: none), network byte order. */
static int parse_side(const char *s, volatile __be32 *net, volatile __be32 *mask, volatile __be32 *alt)
{
	char first[INET_ADDRSTRLEN + 4];
	const char *comma = strchr(s, ',');
	struct in_addr a = { 0 };
	__be32 n, m;

	snprintf(first, sizeof(first), "%.*s%s", comma ? (int)(comma - s) : (int)strlen(s), s,
		 strchr(s, '/') && (!comma || strchr(s, '/') < comma) ? "" : "/32");
	if (parse_prefix(first, &n, &m) || (comma && !inet_aton(comma + 1, &a)))
		return -1;
	*net = n;
	*mask = m;
	*alt = a.s_addr;
	return 0;
}

static void count_read(int map_fd, int ncpu, __u64 *v)
{
	for (__u32 i = 0; i < BENCH_RX_MAX; i++)
		v[i] = count_sum(map_fd, ncpu, i);
}

/* Run time and runs of the programs PROG_IDS (comma-separated, "-": none),
 * from the kernel's BPF statistics. */
static int prog_stats(const char *ids, __u32 *id, __u64 *ns, __u64 *runs, int max)
{
	int n = 0;

	for (const char *p = ids; *p && n < max; p = strchr(p, ',') ? strchr(p, ',') + 1 : "") {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd;

		id[n] = strtoul(p, NULL, 0);
		fd = id[n] ? bpf_prog_get_fd_by_id(id[n]) : -1;
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			ns[n] = info.run_time_ns;
			runs[n++] = info.run_cnt;
		}
		close(fd);
	}
	return n;
}

/* The receiver, relay_bench_count, on DEV (its IFINDEX), expecting frames
 * from SRC to DST (as for count), counting from 0; the device's own XDP
 * program (the bench's pass program in some configurations) is held in
 * OLD_FD (-1: none) for counter_detach. NULL on an error (said). */
static struct dut *counter_attach(int ifindex, const char *dev, const char *src, const char *dst, int *old_fd)
{
	struct dut *skel = dut__open();
	__u32 old_id = 0;

	*old_fd = -1;
	if (!skel) {
		die("open dut.bpf.o");
		return NULL;
	}
	if (parse_side(src, &skel->rodata->expect_snet, &skel->rodata->expect_smask, &skel->rodata->expect_salt) ||
	    parse_side(dst, &skel->rodata->expect_dnet, &skel->rodata->expect_dmask, &skel->rodata->expect_dalt)) {
		fprintf(stderr, "rbbench: bad SRC or DST (ADDR[/LEN][,ADDR])\n");
		goto fail;
	}
	skel->rodata->count_l3 = is_l3(dev);
	if (dut__load(skel)) {
		die("load dut.bpf.o");
		goto fail;
	}
	if (!bpf_xdp_query_id(ifindex, 0, &old_id) && old_id)
		*old_fd = bpf_prog_get_fd_by_id(old_id);
	/* TUN has no native XDP for what its owner writes: generic then. */
	if (bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.relay_bench_count), 0, NULL) &&
	    bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.relay_bench_count), XDP_FLAGS_SKB_MODE, NULL)) {
		die("attach counter");
		goto fail;
	}
	return skel;
fail:
	dut__destroy(skel);
	return NULL;
}

/* Puts the device's own XDP program back (or none). */
static void counter_detach(int ifindex, int old_fd)
{
	if (old_fd >= 0 ? bpf_xdp_attach(ifindex, old_fd, 0, NULL) : bpf_xdp_detach(ifindex, 0, NULL))
		die("restore the device's XDP program");
}

static int cmd_count(char **av)
{
	int ifindex = ifindex_of(av[0]), ncpu = libbpf_num_possible_cpus(), map_fd, old_fd = -1;
	double warmup = atof(av[1]), secs = atof(av[2]), t0, t1;
	unsigned long long b0[2], tot0[2], b1[2], tot1[2];
	__u64 v0[BENCH_RX_MAX], v1[BENCH_RX_MAX], ns0[4], ns1[4], runs0[4], runs1[4];
	int stats_fd = -1, nprogs = 0;
	__u32 ids[4], ids1[4];
	struct dut *skel;

	if (!ifindex || ncpu <= 0)
		return 1;
	skel = counter_attach(ifindex, av[0], av[3], av[4], &old_fd);
	if (!skel)
		return 2;
	map_fd = bpf_map__fd(skel->maps.relay_bench_rx);
	catch_signals();
	/* Statistics cost two clock reads per program run: only when asked. */
	if (strcmp(av[5], "-")) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0)
			die("enable BPF statistics");
	}
	usleep(warmup * 1e6);
	count_read(map_fd, ncpu, v0);
	nprogs = stats_fd >= 0 ? prog_stats(av[5], ids, ns0, runs0, 4) : 0;
	t0 = now_s();
	for (int c = 0; c < 2; c++)
		cpu_times(c, &b0[c], &tot0[c]);
	usleep(secs * 1e6);
	count_read(map_fd, ncpu, v1);
	if (nprogs)
		nprogs = prog_stats(av[5], ids1, ns1, runs1, nprogs);
	t1 = now_s();
	for (int c = 0; c < 2; c++)
		cpu_times(c, &b1[c], &tot1[c]);
	if (stats_fd >= 0)
		close(stats_fd);
	/* The generator runs on for about a second (bench/run.sh): keep
	 * dropping its frames, or the backend's stack would answer them
	 * (ICMP port unreachable) on the forwarding CPU, in a profile. */
	usleep(BENCH_COUNT_HOLD_S * 1e6);
	counter_detach(ifindex, old_fd);
	printf("pps=%.0f received=%llu wrong_addr=%llu csum_checked=%llu bad_csum=%llu",
	       (v1[BENCH_RX_OK] - v0[BENCH_RX_OK]) / (t1 - t0), (unsigned long long)(v1[BENCH_RX_OK] - v0[BENCH_RX_OK]),
	       (unsigned long long)v1[BENCH_RX_WRONG_ADDR], (unsigned long long)v1[BENCH_RX_CHECKED],
	       (unsigned long long)v1[BENCH_RX_BAD_CSUM]);
	for (int c = 0; c < 2; c++)
		printf(" busy_cpu%d=%.0f", c,
		       tot1[c] > tot0[c] ? 100.0 * (b1[c] - b0[c]) / (tot1[c] - tot0[c]) : 0.0);
	for (int i = 0; i < nprogs; i++)
		if (runs1[i] > runs0[i])
			printf(" prog%u_ns=%.0f prog%u_runs=%llu", ids[i], (double)(ns1[i] - ns0[i]) / (runs1[i] - runs0[i]),
			       ids[i], (unsigned long long)(runs1[i] - runs0[i]));
	printf("\n");
	dut__destroy(skel);
	return 0;
}

/* The frames the receiver counted as good so far, once they stopped
 * arriving (the rings between generator and receiver drained: no change
 * over 20 ms, or 1 s). */
static __u64 counter_settled(int map_fd, int ncpu)
{
	__u64 prev = count_sum(map_fd, ncpu, BENCH_RX_OK), now;

	for (int i = 0, same = 0; i < 100 && same < 2; i++) {
		usleep(10000);
		now = count_sum(map_fd, ncpu, BENCH_RX_OK);
		same = now == prev ? same + 1 : 0;
		prev = now;
	}
	return prev;
}

/* CPU time (ns) of the threads PIDS (comma-separated, "-": none) so far
 * (/proc/PID/schedstat): the forwarder's, as bench/run.sh's fwd_ns. */
static __u64 threads_ns(const char *pids)
{
	__u64 sum = 0;

	for (const char *p = pids; *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : "") {
		char path[64];
		unsigned long long ns;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%ld/schedstat", strtol(p, NULL, 10));
		f = fopen(path, "r");
		if (f && fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		if (f)
			fclose(f);
	}
	return sum;
}

/* search RX_NETNS RX_DEV SRC DST DEV PROTO SMAC DMAC CLIENT N_ADDRS CLIENT_PORT
 * N_PORTS PEER PEER_PORT LO_PPS HI_PPS TRIALS SECONDS MAX_LOSS_PCT FWD_PIDS: the highest
 * rate the path forwards with less than MAX_LOSS_PCT lost (RFC 2544's
 * throughput, with a tolerance), by a binary search of TRIALS paced trials
 * of SECONDS between LO_PPS and HI_PPS (asked rates). Runs in the
 * generator's namespace (DEV ... PEER_PORT as for gen); the receiver goes
 * on RX_DEV in the namespace RX_NETNS (a path) for the whole search. Each
 * trial counts exactly: frames sent against good frames received once the
 * rings drained, so the loss does not depend on how accurately the
 * generator held its rate; the rate it achieved is printed with each, and
 * the share of the trial's time the forwarder's threads FWD_PIDS ran
 * (comma-separated, "-": none). */
static int cmd_search(char **av)
{
	int self = open("/proc/self/ns/net", O_RDONLY), rxns = open(av[0], O_RDONLY);
	int ncpu = libbpf_num_possible_cpus(), rx_ifindex, tx_ifindex, old_fd, map_fd, err = 0;
	double lo = strtod(av[14], NULL), hi = strtod(av[15], NULL), secs = strtod(av[17], NULL);
	double max_loss = strtod(av[18], NULL), best = 0, best_gen = 0, best_loss = 0, best_asked = 0, best_fwd = 0;
	int trials = atoi(av[16]), n = 0;
	__u64 v[BENCH_RX_MAX];
	struct dut *counter;

	if (self < 0 || rxns < 0 || ncpu <= 0)
		return die("open the namespaces");
	if (setns(rxns, CLONE_NEWNET))
		return die("enter the receiver's namespace");
	rx_ifindex = ifindex_of(av[1]);
	counter = rx_ifindex ? counter_attach(rx_ifindex, av[1], av[2], av[3], &old_fd) : NULL;
	if (setns(self, CLONE_NEWNET))
		return die("back to the generator's namespace");
	if (!counter)
		return 1;
	map_fd = bpf_map__fd(counter->maps.relay_bench_rx);
	tx_ifindex = ifindex_of(av[4]);
	for (; tx_ifindex && n < trials && !quit && !err; n++) {
		double rate = (lo + hi) / 2, took, loss, fwd;
		__u64 sent, got0 = count_sum(map_fd, ncpu, BENCH_RX_OK), got, fwd0;
		struct gen *gen = gen_setup(av + 5, tx_ifindex, rate);

		if (!gen) {
			err = 1;
			break;
		}
		fwd0 = threads_ns(av[19]);
		err = gen_run(gen, secs, &sent, &took);
		fwd = (threads_ns(av[19]) - fwd0) / 1e7 / took;
		gen__destroy(gen);
		got = counter_settled(map_fd, ncpu) - got0;
		loss = sent ? 100.0 * ((double)sent - (double)got) / sent : 100;
		printf("trial=%d asked_pps=%.0f gen_pps=%.0f sent=%llu received=%llu loss_pct=%.3f fwd_thread_pct=%.0f\n",
		       n + 1, rate, sent / took, (unsigned long long)sent, (unsigned long long)got, loss, fwd);
		if (sent && loss < max_loss) {
			lo = rate;
			if (got / took > best)
				best = got / took, best_gen = sent / took, best_loss = loss, best_asked = rate, best_fwd = fwd;
		} else {
			hi = rate;
		}
	}
	count_read(map_fd, ncpu, v);
	if (setns(rxns, CLONE_NEWNET))
		return die("enter the receiver's namespace");
	counter_detach(rx_ifindex, old_fd);
	dut__destroy(counter);
	if (best > 0)
		printf("lossfree_pps=%.0f offered_pps=%.0f loss_pct=%.3f asked_pps=%.0f gen_short=%d fwd_thread_pct=%.0f ",
		       best, best_gen, best_loss, best_asked, best_gen < 0.95 * best_asked, best_fwd);
	else
		printf("below_pps=%.0f ", hi);
	printf("trials=%d wrong_addr=%llu csum_checked=%llu bad_csum=%llu\n", n,
	       (unsigned long long)v[BENCH_RX_WRONG_ADDR], (unsigned long long)v[BENCH_RX_CHECKED],
	       (unsigned long long)v[BENCH_RX_BAD_CSUM]);
	return err || quit || !tx_ifindex;
}

static int tcp_listener(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (void *)&a, sizeof(a)) || listen(s, 4096))
		return -1;
	return s;
}

/* The servers answer only peers in this network (SRC_NET/LEN): the client's
 * real address must reach the backend. */
static __be32 peer_net, peer_mask;

static int peer_ok(const struct sockaddr_in *a)
{
	return (a->sin_addr.s_addr & peer_mask) == peer_net;
}

static void *crr_serve(void *arg)
{
	int ls = *(int *)arg;
	char c;

	for (;;) {
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		int s = accept(ls, (void *)&peer, &pl);

		if (s < 0)
			continue;
		if (!peer_ok(&peer)) {
			close(s);
			continue;
		}
		/* The client closes first, as an HTTP/1.0 client would: the
		 * backend's tuples never linger in TIME_WAIT, the client's
		 * are reused (tcp_tw_reuse). */
		if (read(s, &c, 1) == 1 && write(s, &c, 1) == 1)
			while (read(s, &c, 1) > 0)
				;
		close(s);
	}
	return NULL;
}

static int cmd_crr_server(char **av)
{
	static int ls;
	pthread_t t[7];

	if (parse_prefix(av[1], &peer_net, &peer_mask)) {
		fprintf(stderr, "rbbench crr-server: bad SRC_NET/LEN\n");
		return 2;
	}
	ls = tcp_listener(atoi(av[0]));
	if (ls < 0)
		return die("listen");
	for (int i = 0; i < 7; i++)
		pthread_create(&t[i], NULL, crr_serve, &ls);
	crr_serve(&ls);
	return 0;
}

struct crr_arg {
	struct sockaddr_in dst;
	unsigned long done, failed;
};

static void *crr_client(void *p)
{
	struct crr_arg *a = p;
	struct timeval tv = { .tv_sec = 1 };
	char c = 'q';

	while (!stop) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		/* A lost SYN or reply costs 1 s, not the kernel's minutes. */
		setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (s >= 0 && !connect(s, (void *)&a->dst, sizeof(a->dst)) && write(s, &c, 1) == 1 &&
		    read(s, &c, 1) == 1)
			a->done++;
		else
			a->failed++;
		if (s >= 0)
			close(s);
	}
	return NULL;
}

static int cmd_crr(char **av)
{
	int n = atoi(av[2]);
	struct crr_arg args[n];
	pthread_t t[n];
	unsigned long done = 0, failed = 0;
	double t0 = now_s(), secs;

	for (int i = 0; i < n; i++) {
		args[i] = (struct crr_arg){ .dst = { .sin_family = AF_INET, .sin_port = htons(atoi(av[1])) } };
		inet_aton(av[0], &args[i].dst.sin_addr);
		pthread_create(&t[i], NULL, crr_client, &args[i]);
	}
	usleep(atof(av[3]) * 1e6);
	stop = 1;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		done += args[i].done;
		failed += args[i].failed;
	}
	secs = now_s() - t0;
	printf("cps=%.0f done=%lu failed=%lu\n", done / secs, done, failed);
	return 0;
}

static int cmd_udp_echo(char **av)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(av[1])) };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[64];

	if (!inet_aton(av[0], &a.sin_addr) || parse_prefix(av[2], &peer_net, &peer_mask)) {
		fprintf(stderr, "rbbench udp-echo: bad ADDR or SRC_NET/LEN\n");
		return 2;
	}
	/* Bound to the tunnel address: the recipe cannot return the replies of
	 * an unbound socket (they take the main table's source address). */
	if (bind(s, (void *)&a, sizeof(a)))
		return die("bind");
	for (;;) {
		socklen_t al = sizeof(a);
		ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (void *)&a, &al);

		if (n > 0 && peer_ok(&a))
			sendto(s, buf, n, 0, (void *)&a, al);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int cmd_udp_rr(char **av)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(av[1])) };
	struct timeval tv = { .tv_sec = 1 };
	size_t cap = 2000000, n = 0, lost = 0;
	double *rtt = malloc(cap * sizeof(*rtt));
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[64] = "rr";

	inet_aton(av[0], &a.sin_addr);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!rtt || connect(s, (void *)&a, sizeof(a)))
		return die("udp-rr");
	catch_signals();
	alarm(atoi(av[2]));
	while (!stop && n < cap) {
		double t0 = now_s();

		if (send(s, buf, 16, 0) != 16 || recv(s, buf, sizeof(buf), 0) != 16) {
			lost += !stop;
			continue;
		}
		rtt[n++] = (now_s() - t0) * 1e6;
	}
	if (!n) {
		fprintf(stderr, "rbbench udp-rr: no reply\n");
		return 1;
	}
	qsort(rtt, n, sizeof(*rtt), cmp_double);
	printf("p50_us=%.1f p99_us=%.1f n=%zu lost=%zu\n", rtt[n / 2], rtt[n * 99 / 100], n, lost);
	return 0;
}

/* "SRC_MAC>DST_MAC,SRC>DST" of an Ethernet frame, "SRC>DST" of a bare IP
 * packet (an L3 device's), or "-". */
static void frame_addrs(const unsigned char *f, size_t len, char *buf, size_t size)
{
	size_t l3 = len > 14 && f[12] == 0x08 && f[13] == 0x00 ? 14 :
		    len > 14 && f[12] == 0x86 && f[13] == 0xdd ? 14 : 0;
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int v6 = len > l3 && f[l3] >> 4 == 6, n = 0;

	if (l3)
		n = snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x>%02x:%02x:%02x:%02x:%02x:%02x,", f[6],
			     f[7], f[8], f[9], f[10], f[11], f[0], f[1], f[2], f[3], f[4], f[5]);
	if (len < l3 + (v6 ? 40 : 20) || (f[l3] >> 4 != 4 && !v6)) {
		snprintf(buf, size, "-");
		return;
	}
	inet_ntop(v6 ? AF_INET6 : AF_INET, f + l3 + (v6 ? 8 : 12), s, sizeof(s));
	inet_ntop(v6 ? AF_INET6 : AF_INET, f + l3 + (v6 ? 24 : 16), d, sizeof(d));
	snprintf(buf + n, size - n, "%s>%s", s, d);
}

/* PROG_ID 0: the bench's empty TC program, the fixed cost of a measurement.
 * IFINDEX (TC programs, 0: none): the device the packet comes in by, as the
 * kernel would set it (a program that checks its device sees the loopback's
 * otherwise). Prints the median, the verdict, the mark and the addresses
 * (frame_addrs) of the packet the program left, in the last run. */
static int cmd_prog_ns(char **av)
{
	struct dut *skel = NULL;
	int fd, runs = atoi(av[2]), ifindex = atoi(av[3]);
	size_t len = strlen(av[1]) / 2;
	unsigned char in[len], out[len + 256];
	struct __sk_buff ctx = { .ifindex = ifindex }, ctx_out = {};
	double *ns = malloc(runs * sizeof(*ns));
	__u32 ret = 0, out_len = 0;
	char addrs[2 * INET6_ADDRSTRLEN + 40];

	if (atoi(av[0])) {
		fd = bpf_prog_get_fd_by_id(atoi(av[0]));
	} else {
		skel = dut__open_and_load();
		fd = skel ? bpf_program__fd(skel->progs.relay_bench_tc_ok) : -1;
	}
	if (fd < 0 || !ns || runs <= 0)
		return die("prog id");
	for (size_t i = 0; i < len; i++)
		sscanf(av[1] + 2 * i, "%2hhx", &in[i]);
	/* repeat 1 on a fresh copy of the frame each time: relaybpf's rewrites
	 * (TTL, addresses) are not idempotent, a repeated run would measure
	 * another path. The figure includes the kernel's timer reads. */
	for (int i = 0; i < runs; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .data_out = out,
			    .data_size_out = sizeof(out), .repeat = 1);
		if (ifindex) {
			o.ctx_in = &ctx;
			o.ctx_size_in = sizeof(ctx);
			o.ctx_out = &ctx_out;
			o.ctx_size_out = sizeof(ctx_out);
		}
		if (bpf_prog_test_run_opts(fd, &o))
			return die("test_run");
		ns[i] = o.duration;
		ret = o.retval;
		out_len = o.data_size_out;
	}
	qsort(ns, runs, sizeof(*ns), cmp_double);
	frame_addrs(out, out_len, addrs, sizeof(addrs));
	printf("ns=%.0f retval=%u mark=%#x out=%s\n", ns[runs / 2], ret, ctx_out.mark, addrs);
	dut__destroy(skel);
	return 0;
}

/* Internet checksum of a buffer plus a starting sum, from scratch. */
static __u16 inet_csum(const unsigned char *p, size_t len, __u32 sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static int check(int ok, const char *what, int *failed)
{
	if (!ok) {
		fprintf(stderr, "rbbench selftest: FAIL %s\n", what);
		(*failed)++;
	}
	return ok;
}

/* The receiver's counters after one run of relay_bench_count on FRAME (a
 * fresh program: its first good frame is the checked sample), expecting
 * SRC -> DST (as `rbbench count` takes them). */
static int count_once(unsigned char *frame, const char *src, const char *dst, __u64 *v)
{
	struct dut *skel = dut__open();
	int ncpu = libbpf_num_possible_cpus(), err;

	if (!skel)
		return -1;
	parse_side(src, &skel->rodata->expect_snet, &skel->rodata->expect_smask, &skel->rodata->expect_salt);
	parse_side(dst, &skel->rodata->expect_dnet, &skel->rodata->expect_dmask, &skel->rodata->expect_dalt);
	err = dut__load(skel);
	if (!err) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = BENCH_FRAME_LEN,
			    .repeat = 1);
		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.relay_bench_count), &o);
		count_read(bpf_map__fd(skel->maps.relay_bench_rx), ncpu, v);
	}
	dut__destroy(skel);
	return err;
}

/* The receiver tells a good frame from one with a wrong source, a wrong
 * destination or a wrong L4 checksum: the bench's FAIL verdicts rest on it.
 * GOOD goes 203.0.113.0/24 -> 203.0.113.1 (client to front), or with REV
 * the other way round (a reply). */
static void selftest_count(const unsigned char *good, int rev, int *failed)
{
	const char *clients = "203.0.113.0/24", *front = "203.0.113.1";
	const char *src = rev ? front : clients, *dst = rev ? clients : front;
	unsigned char f[BENCH_FRAME_LEN];
	__u64 v[BENCH_RX_MAX];

	memcpy(f, good, sizeof(f));
	if (check(!count_once(f, src, dst, v), "receiver runs", failed))
		check(v[BENCH_RX_OK] == 1 && v[BENCH_RX_CHECKED] == 1 && !v[BENCH_RX_BAD_CSUM] &&
			      !v[BENCH_RX_WRONG_ADDR], "receiver counts a good frame", failed);
	/* A second expected address (two backends) is as good as the first,
	 * a third one is not. */
	if (!count_once(f, rev ? "10.22.22.100,203.0.113.1" : src, rev ? dst : "10.22.22.100,203.0.113.1", v))
		check(v[BENCH_RX_OK] == 1 && !v[BENCH_RX_WRONG_ADDR], "receiver takes the second address", failed);
	if (!count_once(f, rev ? "10.22.22.1,10.22.22.100" : src, rev ? dst : "10.22.22.1,10.22.22.100", v))
		check(v[BENCH_RX_WRONG_ADDR] == 1 && !v[BENCH_RX_OK], "receiver finds an unexpected address",
		      failed);
	f[14 + 20 + 8] ^= 0x01; /* UDP payload, TCP ack: the L4 checksum breaks */
	if (!count_once(f, src, dst, v))
		check(v[BENCH_RX_CHECKED] == 1 && v[BENCH_RX_BAD_CSUM] == 1,
		      "receiver finds a wrong L4 checksum", failed);
	memcpy(f, good, sizeof(f));
	f[14 + 12] = 10; /* source 10.x: SNAT, or a reply not translated */
	if (!count_once(f, src, dst, v))
		check(v[BENCH_RX_WRONG_ADDR] == 1 && !v[BENCH_RX_OK], "receiver finds a wrong source", failed);
	memcpy(f, good, sizeof(f));
	f[14 + 16] = 10; /* destination 10.x: not the backend, not a client */
	if (!count_once(f, src, dst, v))
		check(v[BENCH_RX_WRONG_ADDR] == 1 && !v[BENCH_RX_OK], "receiver finds a wrong destination",
		      failed);
}

/* The offered-rate limit: at a frame every millisecond, 5 frames run back
 * to back take 4 ms or more (the first is sent at once), all sent; without
 * it, microseconds. Wall time: test_run's own timer leaves some out. */
static void selftest_pacing(int *failed)
{
	struct gen *skel = gen__open();
	unsigned char in[BENCH_FRAME_LEN] = { 0 };
	double t0 = 0, t = 0;

	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = sizeof(in), .repeat = 5);
	if (!skel || (skel->rodata->gap_q16 = (__u64)65536e6, gen__load(skel)) || (t0 = now_s(), 0) ||
	    bpf_prog_test_run_opts(bpf_program__fd(skel->progs.relay_bench_gen), &o) || (t = now_s() - t0, 0)) {
		check(0, "pacing: load and run gen.bpf.o", failed);
		gen__destroy(skel);
		return;
	}
	check(o.retval == XDP_REDIRECT && skel->bss->relay_bench_seq == 5, "pacing: every frame sent", failed);
	check(t >= 0.004, "pacing: a frame every millisecond", failed);
	gen__destroy(skel);
}

/* Runs the generator (no LIVE_FRAMES: the frame comes back) on a frame of
 * 0xff bytes, as a forwarder might hand one back, and checks every field
 * and both checksums, for UDP and TCP, both directions (client to front,
 * a reply to the clients) and for the flow rotation. */
static int cmd_selftest(char **av)
{
	int failed = 0;

	(void)av;
	for (int mode = 0; mode < 4; mode++) {
		int tcp = mode & 1, rev = mode >> 1;
		struct gen *skel = gen__open();
		unsigned char in[BENCH_FRAME_LEN], out[BENCH_FRAME_LEN];

		if (!skel)
			return die("open gen.bpf.o");
		for (int i = 0; i < 6; i++) {
			skel->rodata->src_mac[i] = 0x02;
			skel->rodata->dst_mac[i] = 0x04;
		}
		skel->rodata->flow_addr_first = 0xcb007164; /* 203.0.113.100 */
		skel->rodata->n_addrs = 3;
		skel->rodata->flow_port_first = 10000;
		skel->rodata->n_ports = 2;
		skel->rodata->peer_addr = htonl(0xcb007101);
		skel->rodata->peer_port = 9;
		skel->rodata->reverse = rev;
		skel->rodata->out_ifindex = 1;
		skel->rodata->proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		if (gen__load(skel))
			return die("load gen.bpf.o");
		for (int n = 0; n < 7; n++) {
			unsigned char *ip = out + 14, *l4 = ip + 20;
			/* The clients' side and the peer's (the front) */
			unsigned char *client = ip + (rev ? 16 : 12), *peer = ip + (rev ? 12 : 16);
			unsigned char *cport = l4 + (rev ? 2 : 0), *pport = l4 + (rev ? 0 : 2);
			int l4len = tcp ? 20 : BENCH_FRAME_LEN - 34, flow = n % 6;
			__u32 ph;

			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = sizeof(in),
				    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
			memset(in, 0xff, sizeof(in));
			if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.relay_bench_gen), &o))
				return die("test_run");
			check(o.retval == XDP_REDIRECT, "returns XDP_REDIRECT", &failed);
			check(out[0] == 4 && out[6] == 2 && out[12] == 8 && out[13] == 0, "Ethernet", &failed);
			check(ip[0] == 0x45 && ip[1] == 0 && (ip[2] << 8 | ip[3]) == 20 + l4len &&
				      !ip[4] && !ip[5] && !ip[6] && !ip[7] && ip[8] == 64 &&
				      ip[9] == (tcp ? 6 : 17), "IPv4 header fields", &failed);
			check(inet_csum(ip, 20, 0) == 0, "IPv4 checksum", &failed);
			check(client[0] == 203 && client[1] == 0 && client[2] == 113 && client[3] == 100 + flow % 3 &&
				      peer[0] == 203 && peer[1] == 0 && peer[2] == 113 && peer[3] == 1,
			      "addresses rotate", &failed);
			check((cport[0] << 8 | cport[1]) == 10000 + flow / 3 && (pport[0] << 8 | pport[1]) == 9,
			      "ports rotate", &failed);
			ph = (ip[12] << 8 | ip[13]) + (ip[14] << 8 | ip[15]) + (ip[16] << 8 | ip[17]) +
			     (ip[18] << 8 | ip[19]) + ip[9] + l4len;
			check(inet_csum(l4, l4len, ph) == 0, tcp ? "TCP checksum" : "UDP checksum", &failed);
			for (int i = 34 + (tcp ? 20 : 8); i < BENCH_FRAME_LEN; i++)
				if (!check(out[i] == 0, "payload/padding zeroed", &failed))
					break;
			if (tcp)
				check(l4[12] == 0x50 && l4[13] == 0x10 && l4[7] == 1 && l4[11] == 1 &&
					      !l4[18] && !l4[19], "TCP ACK, seq 1, ack 1", &failed);
			else
				check((l4[4] << 8 | l4[5]) == l4len, "UDP length", &failed);
		}
		selftest_count(out, rev, &failed);
		gen__destroy(skel);
	}
	selftest_pacing(&failed);
	printf("rbbench selftest: %s\n", failed ? "FAILED" : "ok");
	return !!failed;
}

static const struct {
	const char *name;
	int argc;
	int (*fn)(char **av);
} cmds[] = {
	{ "gen", 12, cmd_gen },		  { "xdp", 2, cmd_xdp },	  { "tc", 2, cmd_tc },	  { "count", 6, cmd_count },
	{ "crr-server", 2, cmd_crr_server }, { "crr", 4, cmd_crr },	  { "udp-echo", 3, cmd_udp_echo },
	{ "udp-rr", 3, cmd_udp_rr },	  { "prog-ns", 4, cmd_prog_ns },	  { "selftest", 0, cmd_selftest },
	{ "search", 20, cmd_search },
};

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name)) {
			if (argc - 2 != cmds[i].argc) {
				fprintf(stderr, "rbbench %s: expected %d arguments\n", cmds[i].name,
					cmds[i].argc);
				return 2;
			}
			return cmds[i].fn(argv + 2);
		}
	fprintf(stderr, "usage: rbbench gen|search|xdp|tc|count|crr-server|crr|udp-echo|udp-rr|prog-ns|selftest ARGS "
			"(see bench/rbbench.c)\n");
	return 2;
}

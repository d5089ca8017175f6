// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ns/packet of relay_front_in and relay_front_rev, as BPF_PROG_TEST_RUN
 * reports it (average over `repeat` runs on one skb). The programs rewrite
 * the skb in place run after run, so the frame is chosen to make the
 * rewrite idempotent: backend == public address, TTL 255, repeat <= 250.
 * Not a test: a figure for the notes.  Usage: front_ns [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "front.h"
#include "packet.h"

#define REPEAT 250

static __u32 run(int fd, const struct fixture *f)
{
	struct fixture out;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->buf, .data_size_in = f->len,
		    .data_out = out.buf, .data_size_out = sizeof(out.buf), .repeat = REPEAT);

	if (bpf_prog_test_run_opts(fd, &opts)) {
		perror("test_run");
		exit(1);
	}
	if (opts.retval != 7) {
		fprintf(stderr, "unexpected verdict %u\n", opts.retval);
		exit(1);
	}
	return opts.duration;
}

static int cmp(const void *a, const void *b)
{
	return (int)(*(const __u32 *)a) - (int)(*(const __u32 *)b);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 200;
	struct relay_front_config cfg = { 0 };
	struct relay_ip_key pub = { .family = AF_INET };
	struct fix_ip4 ip_in = { .src = "203.0.113.10", .dst = "203.0.113.1",
				 .proto = IPPROTO_TCP, .ttl = 255 };
	struct fix_ip4 ip_rev = { .src = "203.0.113.1", .dst = "203.0.113.10",
				  .proto = IPPROTO_TCP, .ttl = 255 };
	struct fix_l4 l4_in = { .sport = 40000, .dport = 8080, .tcp_flags = 0x10,
				.payload_len = 64 };
	struct fix_l4 l4_rev = { .sport = 8080, .dport = 40000, .tcp_flags = 0x10,
				 .payload_len = 64 };
	struct fixture fin, frev;
	struct front_objs o;
	__u32 zero = 0, one = 1, *d_in, *d_rev;

	if (rounds < 1)
		rounds = 1;
	if (front_load(&o, NULL, 1024)) {
		fprintf(stderr, "front_load failed\n");
		return 1;
	}
	cfg.backend.v4 = fix_addr("203.0.113.1");
	cfg.public_ifindex = 1;
	cfg.tunnel_ifindex = 1;
	cfg.tunnel_l2 = 1;
	cfg.mss = 1380;
	pub.addr.v4 = fix_addr("203.0.113.1");
	bpf_map_update_elem(bpf_map__fd(o.pub->maps.relay_front_cfg), &zero, &cfg, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(o.pub->maps.relay_front_pub), &pub, &one, BPF_ANY);
	fix_build(&fin, true, &ip_in, &l4_in);
	fix_build(&frev, true, &ip_rev, &l4_rev);

	d_in = calloc(rounds, sizeof(*d_in));
	d_rev = calloc(rounds, sizeof(*d_rev));
	for (int i = 0; i < rounds; i++) {
		d_in[i] = run(bpf_program__fd(o.pub->progs.relay_front_in), &fin);
		d_rev[i] = run(bpf_program__fd(o.tun->progs.relay_front_rev), &frev);
	}
	qsort(d_in, rounds, sizeof(*d_in), cmp);
	qsort(d_rev, rounds, sizeof(*d_rev), cmp);
	printf("relay_front_in  median %u ns/packet (min %u, %d rounds x %d)\n",
	       d_in[rounds / 2], d_in[0], rounds, REPEAT);
	printf("relay_front_rev median %u ns/packet (min %u, %d rounds x %d)\n",
	       d_rev[rounds / 2], d_rev[0], rounds, REPEAT);
	front_destroy(&o);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>

#include "relaybpf.h"
#include "run.h"

/* UAPI since 6.11; the build's headers may be older. */
#define RUN_F_CHECKSUM_COMPLETE (1U << 2)

/* run_on_dev's program and device. */
static int dev_prog_fd = -1, dev_ifindex;

void run_on_dev(int prog_fd, int ifindex)
{
	dev_prog_fd = prog_fd;
	dev_ifindex = ifindex;
}

static int run_flags(int prog_fd, const struct fixture *in, struct fixture *out,
		     struct __sk_buff *ctx, __u32 flags)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->buf, .data_size_in = in->len,
		    .data_out = out->buf, .data_size_out = sizeof(out->buf), .repeat = 1,
		    .flags = flags);
	struct __sk_buff dev_ctx = { .ifindex = dev_ifindex };
	int err;

	if (!ctx && prog_fd == dev_prog_fd)
		ctx = &dev_ctx;
	if (ctx) {
		opts.ctx_in = ctx;
		opts.ctx_size_in = sizeof(*ctx);
		opts.ctx_out = ctx;
		opts.ctx_size_out = sizeof(*ctx);
	}
	cr_assert_geq(prog_fd, 0, "the program is not loaded: its fixture leaves it out");
	memset(out, 0, sizeof(*out));
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (flags & RUN_F_CHECKSUM_COMPLETE) {
		if (err == -EINVAL)
			cr_skip_test("no BPF_F_TEST_SKB_CHECKSUM_COMPLETE (6.11+) in this kernel");
		cr_assert_neq(err, -EBADMSG, "skb->csum is not the sum of the output packet");
	}
	cr_assert_eq(err, 0, "BPF_PROG_TEST_RUN failed: %d", err);
	out->len = opts.data_size_out;
	out->l3_off = in->l3_off;
	return (int)opts.retval;
}

int run_tc(int prog_fd, const struct fixture *in, struct fixture *out, struct __sk_buff *ctx)
{
	return run_flags(prog_fd, in, out, ctx, 0);
}

int run_tc_complete(int prog_fd, const struct fixture *in, struct fixture *out)
{
	return run_flags(prog_fd, in, out, NULL, RUN_F_CHECKSUM_COMPLETE);
}

void counters_reset(int map_fd)
{
	struct relay_stats_value *v = calloc(libbpf_num_possible_cpus(), sizeof(*v));
	__u32 zero = 0;

	cr_assert_not_null(v);
	cr_assert_eq(bpf_map_update_elem(map_fd, &zero, v, BPF_ANY), 0);
	free(v);
}

unsigned long long counter(int map_fd, unsigned idx)
{
	int ncpu = libbpf_num_possible_cpus();
	struct relay_stats_value *v = calloc(ncpu, sizeof(*v));
	unsigned long long sum = 0;
	__u32 zero = 0;

	cr_assert_not_null(v);
	cr_assert_lt(idx, RELAY_STATS_SLOTS);
	cr_assert_eq(bpf_map_lookup_elem(map_fd, &zero, v), 0);
	for (int i = 0; i < ncpu; i++)
		sum += v[i].c[idx];
	free(v);
	return sum;
}

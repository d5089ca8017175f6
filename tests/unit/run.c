// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>

#include "run.h"

int run_tc(int prog_fd, const struct fixture *in, struct fixture *out, struct __sk_buff *ctx)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->buf, .data_size_in = in->len,
		    .data_out = out->buf, .data_size_out = sizeof(out->buf), .repeat = 1);
	int err;

	if (ctx) {
		opts.ctx_in = ctx;
		opts.ctx_size_in = sizeof(*ctx);
		opts.ctx_out = ctx;
		opts.ctx_size_out = sizeof(*ctx);
	}
	memset(out, 0, sizeof(*out));
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	cr_assert_eq(err, 0, "BPF_PROG_TEST_RUN failed: %d", err);
	out->len = opts.data_size_out;
	out->l3_off = in->l3_off;
	return (int)opts.retval;
}

unsigned long long counter(int map_fd, unsigned idx)
{
	int ncpu = libbpf_num_possible_cpus();
	unsigned long long *v = calloc(ncpu, sizeof(*v)), sum = 0;

	cr_assert_not_null(v);
	cr_assert_eq(bpf_map_lookup_elem(map_fd, &idx, v), 0);
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	free(v);
	return sum;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Load-time probes of the kernel features newer than 6.1 that the datapath
 * uses. A helper's flags cannot be probed by libbpf (libbpf_probe_bpf_helper
 * only says whether the helper exists): a two-instruction program calls it
 * with the flag on a zeroed frame under BPF_PROG_TEST_RUN, and the helper's
 * return value answers. A probe that cannot run reads as "missing": each
 * fallback is correct on every kernel, only a little slower.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "compat.h"

#define PROBE_F_IPV6 (1ULL << 7) /* BPF_F_IPV6, as bpf/lib/compat.h */

/* bpf_l4_csum_replace(skb, 20, 0, 0, BPF_F_PSEUDO_HDR | BPF_F_IPV6): 0 when
 * the kernel knows the flag, -EINVAL when not (it checks flags first).
 * 1: it has the flag, 0: it has not, -1: the probe could not load. */
static int probe_l4_csum_ipv6(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 20 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_4, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_5,
		  .imm = BPF_F_PSEUDO_HDR | PROBE_F_IPV6 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_l4_csum_replace },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	unsigned char frame[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = 1);
	int fd, err;

	fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "relay_probe", "Dual BSD/GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), NULL);
	if (fd < 0)
		return -1;
	err = bpf_prog_test_run_opts(fd, &run);
	close(fd);
	return !err && run.retval == 0;
}

const struct relay_features *relay_features(void)
{
	static struct relay_features f;
	static bool probed;
	const char *force = getenv("RELAYBPF_FORCE_FALLBACK");
	int probe;

	if (probed)
		return &f;
	probed = true;
	f.forced = force && *force && strcmp(force, "0") != 0;
	if (f.forced)
		return &f;
	probe = probe_l4_csum_ipv6();
	f.l4_csum_ipv6 = probe > 0;
	f.unprobed = probe < 0;
	return &f;
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Kernel features newer than 6.1, probed at load time (bpf/lib/compat.h). */
#ifndef RELAY_COMPAT_H
#define RELAY_COMPAT_H

#include <stdbool.h>

struct relay_features {
	bool l4_csum_ipv6; /* bpf_l4_csum_replace takes BPF_F_IPV6 */
	/* Why a feature reads missing without the kernel having said so
	 * (relaybpf --version tells): RELAYBPF_FORCE_FALLBACK, or a probe
	 * program that could not load (no CAP_BPF). */
	bool forced, unprobed;
};

/* The running kernel's, probed once per process. With the environment
 * variable RELAYBPF_FORCE_FALLBACK=1 (tests) every feature reads missing,
 * so the fallbacks run on kernels that would not need them. */
const struct relay_features *relay_features(void);

#endif

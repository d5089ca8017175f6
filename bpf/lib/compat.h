/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Kernel features newer than 6.1 (the oldest supported kernel) that the
 * datapath uses, each defined here under relaybpf's own name (the UAPI
 * headers of the build host may predate it) and switched on by the loader
 * only where its probe at load time (user/compat.c) found it. .rodata: set
 * before load, so the verifier prunes the branch a kernel does not take.
 */
#ifndef RELAY_LIB_COMPAT_H
#define RELAY_LIB_COMPAT_H

/* bpf_l4_csum_replace's BPF_F_IPV6 (include/uapi/linux/bpf.h, 6.16, and
 * backported to some stable series only: Debian's 6.1.192 and 6.12.118 have it): the
 * pseudo-header update of an IPv6 packet then leaves a CHECKSUM_COMPLETE
 * skb->csum alone. A kernel without it rejects the flag (-EINVAL). */
#define RELAY_F_L4_IPV6 (1ULL << 7)

/* 1: the kernel takes RELAY_F_L4_IPV6. 0 (the default, and what
 * RELAYBPF_FORCE_FALLBACK=1 keeps): the fallback of relay_nat6. */
const volatile __u8 relay_has_l4_ipv6 = 0;

#endif

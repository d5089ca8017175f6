/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Checksums computed by the programs themselves: XDP's, and TC's IP header
 * checksum (never partial, unlike an L4 one: nat.h). */
#ifndef RELAY_LIB_CSUM_H
#define RELAY_LIB_CSUM_H

#include "common.h"

/* RFC 1624 incremental update, unfolded: adds the change of a 32-bit word
 * from -> to to sum (a 16-bit field: the other half zero in both). Up to
 * 2^14 words before relay_csum_fold. */
static __always_inline __u32 relay_csum_add_change(__u32 sum, __be32 from, __be32 to)
{
	sum += (__u16)~(from & 0xffff) + (__u16)~(from >> 16);
	return sum + (to & 0xffff) + (to >> 16);
}

/* A checksum field from a 32-bit sum (bpf_csum_diff's, or ~csum and the
 * changes of relay_csum_add_change): folded, complemented. */
static __always_inline __u16 relay_csum_fold(__s64 sum)
{
	__u32 s = (__u32)sum;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* RFC 1624 incremental update of a 16-bit one's complement checksum for a
 * 32-bit word from -> to (a 16-bit field: the other half zero in both). */
static __always_inline __u16 relay_csum_update(__u16 csum, __be32 from, __be32 to)
{
	return relay_csum_fold(relay_csum_add_change((__u16)~csum, from, to));
}

#endif

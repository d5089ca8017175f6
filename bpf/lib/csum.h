/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Checksums computed by the programs themselves: XDP's, and TC's IP header
 * checksum (never partial, unlike an L4 one: nat.h). */
#ifndef RELAY_LIB_CSUM_H
#define RELAY_LIB_CSUM_H

#include "common.h"

/* RFC 1624 incremental update of a 16-bit one's complement checksum for a
 * 32-bit word from -> to (a 16-bit field: the other half zero in both). */
static __always_inline __u16 relay_csum_update(__u16 csum, __be32 from, __be32 to)
{
	__u32 sum = (__u16)~csum;

	sum += (__u16)~(from & 0xffff) + (__u16)~(from >> 16);
	sum += (to & 0xffff) + (to >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

#endif

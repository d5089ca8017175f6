/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A redirect skips the kernel's own MTU check: the programs do it. */
#ifndef RELAY_LIB_MTU_H
#define RELAY_LIB_MTU_H

#include "common.h"
#include "parse.h"

/* 0 if the packet fits the device ifindex, else that device's MTU. A GSO
 * packet is checked by its segments. */
static __always_inline __u32 relay_mtu_exceeded(struct __sk_buff *skb, __u32 ifindex,
						const struct relay_pkt *pkt)
{
	__u32 mtu_len = 0;
	int ret;

	if (skb->gso_segs > 1) {
		ret = bpf_check_mtu(skb, ifindex, &mtu_len, 0, BPF_MTU_CHK_SEGS);
	} else {
		/* The IP length: the devices' L2 headers differ. */
		mtu_len = pkt->tot_len;
		ret = bpf_check_mtu(skb, ifindex, &mtu_len, 0, 0);
	}
	return ret == BPF_MTU_CHK_RET_SUCCESS || ret < 0 ? 0 : mtu_len;
}

#endif

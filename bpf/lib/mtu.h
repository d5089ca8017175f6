/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A redirect skips the kernel's own MTU check: the programs do it. */
#ifndef RELAY_LIB_MTU_H
#define RELAY_LIB_MTU_H

#include "common.h"
#include "parse.h"
#include "hop.h"

/* The IP packet one segment of a GSO packet becomes: the IP header(s), the
 * transport header and gso_size bytes of payload. */
static __always_inline __u32 relay_gso_seg_len(struct __sk_buff *skb, const struct relay_pkt *pkt)
{
	__u32 len = pkt->l4_off - pkt->l3_off + skb->gso_size;
	__u8 doff;

	if (pkt->proto == IPPROTO_UDP)
		return len + sizeof(struct udphdr);
	if (pkt->proto == IPPROTO_TCP && !bpf_skb_load_bytes(skb, pkt->l4_off + 12, &doff, 1))
		return len + (doff >> 4) * 4;
	return len;
}

/*
 * 0 if the packet fits the device ifindex, else that device's MTU. A GSO
 * packet is checked by its segments. gso_size says it is one (what
 * skb_is_gso tests), gso_segs does not: a virtio or TUN vnet header leaves
 * it 0 for the stack to count. The segment is sized here, not by
 * bpf_check_mtu's BPF_MTU_CHK_SEGS, which sizes it from the transport
 * header offset: unset (-EINVAL, read as "fits") or the network header's
 * (TC ingress resets it so) on a packet the stack has not parsed yet.
 * bpf_check_mtu passes any GSO packet without that flag, but still says
 * the device's MTU.
 */
static __always_inline __u32 relay_mtu_exceeded(struct __sk_buff *skb, __u32 ifindex,
						const struct relay_pkt *pkt)
{
	__u32 mtu_len = 0;
	int ret;

	if (skb->gso_size) {
		ret = bpf_check_mtu(skb, ifindex, &mtu_len, 0, 0);
		return ret < 0 || relay_gso_seg_len(skb, pkt) <= mtu_len ? 0 : mtu_len;
	}
	/* The IP length: the devices' L2 headers differ. */
	mtu_len = pkt->tot_len;
	ret = bpf_check_mtu(skb, ifindex, &mtu_len, 0, 0);
	return ret == BPF_MTU_CHK_RET_SUCCESS || ret < 0 ? 0 : mtu_len;
}

/*
 * relay_mtu_exceeded for the tunnel of backend id (address backend), from
 * the next-hop cache (hop.h) when its answer is fresh: the same device
 * MTU, without a bpf_check_mtu call per packet (docs/bench.md "Fewer
 * helper calls per packet"). Like the XDP fast path's, it follows an MTU
 * change within RELAY_HOP_REFRESH_NS. A GSO packet (sized by its
 * segments), an IPv6 jumbogram (no length in the header) or no fresh
 * answer asks the kernel.
 */
static __always_inline __u32 relay_tunnel_mtu_exceeded(struct __sk_buff *skb,
						       const struct relay_pkt *pkt,
						       const struct relay_tunnel *tun, __u32 id,
						       const union relay_ip *backend, __u64 now)
{
	const struct relay_hop *hop = relay_hop_slot(id);

	if (hop && !skb->gso_size && pkt->tot_len && hop->reachable &&
	    relay_hop_fresh(hop, tun, pkt->family, backend, now))
		return pkt->tot_len > hop->mtu ? hop->mtu : 0;
	return relay_mtu_exceeded(skb, tun->ifindex, pkt);
}

#endif

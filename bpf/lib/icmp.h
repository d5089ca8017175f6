/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ICMP errors about relayed flows, translated like netfilter does: the
 * outer address, the embedded packet's address, the embedded IP and
 * TCP/UDP checksums and the ICMP checksum over all of it. Without it the
 * client would get errors quoting the backend's tunnel address (and drop
 * them: PMTU discovery breaks), and the backend errors quoting the public
 * address.
 */
#ifndef RELAY_LIB_ICMP_H
#define RELAY_LIB_ICMP_H

#include "common.h"
#include "parse.h"
#include "nat.h"
#include "ct.h"

#define RELAY_ICMP_HLEN 8

/* The packet an ICMP error quotes. */
struct relay_icmp_inner {
	__u32 ip_off;    /* of the embedded IP header */
	__u32 l4_off;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;    /* echo: the identifier */
	__be16 dport;
	__u8 proto;
	__u8 l4_csum_len; /* bytes of the embedded L4 header present: 0, 8 or more */
};

static __always_inline int relay_icmp_is_error(const struct relay_pkt *pkt)
{
	return pkt->proto == IPPROTO_ICMP && !pkt->fragment &&
	       (pkt->icmp_type == RELAY_ICMP_DEST_UNREACH ||
		pkt->icmp_type == RELAY_ICMP_TIME_EXCEEDED ||
		pkt->icmp_type == RELAY_ICMP_PARAMETERPROB);
}

/* 0 when the error quotes an IPv4 packet with its ports (RFC 792: the IP
 * header and at least 8 bytes of its payload). The quote ends with the
 * error's IP total length: bytes past it are link-layer padding, which must
 * be neither read as the quote nor rewritten (the ICMP checksum does not
 * cover them). */
static __always_inline int relay_parse_icmp_inner(void *data, void *end,
						  const struct relay_pkt *pkt,
						  struct relay_icmp_inner *in)
{
	/* The packet's end as an offset: the verifier only bounds reads
	 * against data_end itself. */
	__u32 pkt_end = pkt->l3_off + pkt->tot_len;
	struct iphdr *ip;
	__u8 *l4;

	if (pkt->l4_off > 14 + 60)
		return -1;
	ip = data + pkt->l4_off + RELAY_ICMP_HLEN;
	if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5)
		return -1;
	in->ip_off = pkt->l4_off + RELAY_ICMP_HLEN;
	in->l4_off = in->ip_off + ip->ihl * 4;
	in->saddr = ip->saddr;
	in->daddr = ip->daddr;
	in->proto = ip->protocol;
	l4 = (void *)ip + ip->ihl * 4;
	if ((void *)(l4 + 8) > end || in->l4_off + 8 > pkt_end ||
	    (ip->frag_off & bpf_htons(IP_OFFSET)))
		return -1;
	if (in->proto == IPPROTO_TCP || in->proto == IPPROTO_UDP) {
		in->sport = *(__be16 *)l4;
		in->dport = *(__be16 *)(l4 + 2);
	} else if (in->proto == IPPROTO_ICMP &&
		   (l4[0] == RELAY_ICMP_ECHO || l4[0] == RELAY_ICMP_ECHOREPLY)) {
		in->sport = *(__be16 *)(l4 + 4);
		in->dport = in->sport;
	} else {
		return -1;
	}
	/* A quoted TCP header may be cut short before its checksum. */
	in->l4_csum_len = in->l4_off + 18 <= pkt_end ? 18 : 8;
	return 0;
}

/*
 * Rewrites the quoted packet's address at addr_off (offsetof saddr or
 * daddr) from old to new, with the quoted IP checksum, the quoted TCP/UDP
 * checksum when present (UDP 0 stays 0), and the ICMP checksum.
 */
static __always_inline int relay_icmp_inner_nat(struct __sk_buff *skb, const struct relay_pkt *pkt,
						const struct relay_icmp_inner *in, __u32 addr_off,
						__be32 old, __be32 new)
{
	__u32 icmp_csum = pkt->l4_off + offsetof(struct icmphdr, checksum);
	__u32 l4_csum = 0;
	__be16 c_old, c_new;

	if (bpf_skb_load_bytes(skb, in->ip_off + RELAY_IP_CSUM_OFF, &c_old, 2) ||
	    bpf_l3_csum_replace(skb, in->ip_off + RELAY_IP_CSUM_OFF, old, new, sizeof(new)) ||
	    bpf_skb_load_bytes(skb, in->ip_off + RELAY_IP_CSUM_OFF, &c_new, 2) ||
	    bpf_l4_csum_replace(skb, icmp_csum, c_old, c_new, 2))
		return -1;

	if (in->proto == IPPROTO_UDP)
		l4_csum = in->l4_off + offsetof(struct udphdr, check);
	else if (in->proto == IPPROTO_TCP && in->l4_csum_len >= 18)
		l4_csum = in->l4_off + offsetof(struct tcphdr, check);
	if (l4_csum) {
		if (bpf_skb_load_bytes(skb, l4_csum, &c_old, 2))
			return -1;
		if (c_old || in->proto == IPPROTO_TCP) {
			/* The quoted packet's pseudo-header changes with its
			 * address. A plain (not pseudo-header) update: the
			 * quoted checksum is ordinary data of the ICMP message. */
			__u64 flags = sizeof(new) | (in->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0);

			if (bpf_l4_csum_replace(skb, l4_csum, old, new, flags) ||
			    bpf_skb_load_bytes(skb, l4_csum, &c_new, 2) ||
			    bpf_l4_csum_replace(skb, icmp_csum, c_old, c_new, 2))
				return -1;
		}
	}
	if (bpf_l4_csum_replace(skb, icmp_csum, old, new, sizeof(new)))
		return -1;
	return bpf_skb_store_bytes(skb, in->ip_off + addr_off, &new, sizeof(new), 0);
}

/* The public address an error from the backend must carry: the flow of the
 * packet it quotes (a client's packet sent to the backend), else the sole
 * public address; 0 when it is about no relayed flow. An error about the
 * front's own packet to the backend is the front's. */
static __always_inline __be32 relay_icmp_reply_public(const struct relay_front_config *cfg,
						      const struct relay_icmp_inner *in)
{
	struct relay_ct_key key;
	struct relay_ct_value *ct;

	if (in->daddr != cfg->backend.v4 || in->saddr == cfg->tunnel_ip.v4)
		return 0;
	relay_ct_key_v4(&key, in->proto, in->saddr, in->sport, in->dport);
	ct = bpf_map_lookup_elem(&relay_ct, &key);
	if (ct && relay_ct_alive(&key, ct, bpf_ktime_get_ns()))
		return ct->public_ip.v4;
	return cfg->sole_public.v4;
}

/* Whether an error from a client quotes a packet the front relayed to it
 * from the backend (source: the public address of that flow). */
static __always_inline int relay_icmp_orig_flow(const struct relay_pkt *pkt,
						const struct relay_icmp_inner *in)
{
	struct relay_ct_key key;
	struct relay_ct_value *ct;

	if (in->saddr != pkt->daddr.v4 || in->daddr != pkt->saddr.v4)
		return 0;
	relay_ct_key_v4(&key, in->proto, in->daddr, in->dport, in->sport);
	ct = bpf_map_lookup_elem(&relay_ct, &key);
	return ct && ct->public_ip.v4 == in->saddr &&
	       relay_ct_alive(&key, ct, bpf_ktime_get_ns());
}

#endif

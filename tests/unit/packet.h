/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Test fixtures: frames built field by field with checksums computed from
 * scratch, and checks that recompute them from scratch (never incrementally,
 * so a wrong incremental update in the datapath cannot cancel out).
 */
#ifndef RELAY_TEST_PACKET_H
#define RELAY_TEST_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define FIX_ETH_LEN 14
#define FIX_MAX 2048

struct fixture {
	uint8_t buf[FIX_MAX];
	size_t len;
	size_t l3_off; /* 0: starts at the IP header; 14: Ethernet */
};

/* IPv4, or IPv6 when the addresses are IPv6 ones (then proto
 * IPPROTO_ICMPV6 for ICMP, ttl is the hop limit, a non-zero frag_off adds
 * a fragment header with its offset and MF, and ext_hdrs destination
 * options headers come first). */
struct fix_ip4 {
	const char *src, *dst;
	uint8_t proto;
	uint8_t ttl;      /* 0 means 64 */
	uint16_t frag_off; /* host order, flags and offset */
	uint8_t ext_hdrs; /* IPv6 only */
};

/* TCP flags by name, for fix_l4.tcp_flags (or'ed: FIX_SYN | FIX_ACK). */
enum fix_tcp_flag {
	FIX_FIN = 0x01,
	FIX_SYN = 0x02,
	FIX_RST = 0x04,
	FIX_PSH = 0x08,
	FIX_ACK = 0x10,
	FIX_URG = 0x20,
};

struct fix_l4 {
	uint16_t sport, dport;  /* TCP/UDP ports, ICMP echo id in sport */
	uint8_t tcp_flags;      /* enum fix_tcp_flag */
	uint8_t icmp_type;
	bool udp_no_csum;       /* UDP checksum 0: "none" */
	const uint8_t *options; /* TCP options, a multiple of 4 bytes */
	size_t options_len;
	size_t payload_len;     /* filled with a byte pattern */
};

/* Builds Ethernet (if l2) + IPv4 or IPv6 + TCP/UDP/ICMP(v6) with valid
 * checksums. */
void fix_build(struct fixture *f, bool l2, const struct fix_ip4 *ip, const struct fix_l4 *l4);

/* Recomputes the IPv4 header checksum and, if l4, the TCP/UDP/ICMP(v6) one
 * from scratch (over IPv6: with the pseudo-header, ICMPv6 included). The
 * headers and the IP total length must lie within the buffer. */
void fix_set_csums(struct fixture *f, bool l4);

/* The frame as a NAT hop leaves it: source src and destination dst (NULL:
 * kept, either family), TTL (IPv6: hop limit) ttl, every checksum computed
 * again from scratch (a UDP checksum of 0, "none", stays 0). */
void fix_nat(struct fixture *f, const char *src, const char *dst, uint8_t ttl);

uint32_t fix_addr(const char *dotted);
void fix_addr6(const char *text, uint8_t out[16]);
/* Views into a frame (which starts at Ethernet when l3_off is 14). */
const uint8_t *fix_ip(const struct fixture *f);
bool fix_is_v6(const struct fixture *f);
/* The transport header (IPv6: past the extension headers) and its protocol. */
const uint8_t *fix_l4(const struct fixture *f);
uint8_t fix_l4_proto(const struct fixture *f);
/* The source / destination address, of either family, is this one. */
bool fix_saddr_is(const struct fixture *f, const char *addr);
bool fix_daddr_is(const struct fixture *f, const char *addr);
uint32_t fix_saddr(const struct fixture *f);
uint32_t fix_daddr(const struct fixture *f);
uint8_t fix_ttl(const struct fixture *f);
uint16_t fix_l4_csum_field(const struct fixture *f);

/* Checksums recomputed over the frame: true when they verify. IPv6 has no
 * header checksum; its UDP checksum 0 never verifies (it is mandatory). */
bool fix_ip_csum_ok(const struct fixture *f);
bool fix_l4_csum_ok(const struct fixture *f);

#endif

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <string.h>

#include "packet.h"

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t fix_addr(const char *dotted)
{
	struct in_addr a;

	inet_pton(AF_INET, dotted, &a);
	return a.s_addr;
}

void fix_addr6(const char *text, uint8_t out[16])
{
	inet_pton(AF_INET6, text, out);
}

const uint8_t *fix_ip(const struct fixture *f)
{
	return f->buf + f->l3_off;
}

bool fix_is_v6(const struct fixture *f)
{
	return (fix_ip(f)[0] >> 4) == 6;
}

static bool ext_hdr(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 60;
}

/* Offset of the transport header from the IP header, and its protocol. */
static size_t l4_off(const struct fixture *f, uint8_t *proto)
{
	const uint8_t *ip = fix_ip(f);
	size_t off = 40;
	uint8_t nh;

	if (!fix_is_v6(f)) {
		*proto = ip[9];
		return (ip[0] & 0xf) * 4;
	}
	for (nh = ip[6]; ext_hdr(nh); ) {
		uint8_t next = ip[off];

		off += nh == 44 ? 8 : (size_t)(ip[off + 1] + 1) * 8;
		nh = next;
	}
	*proto = nh;
	return off;
}

const uint8_t *fix_l4(const struct fixture *f)
{
	uint8_t proto;

	return fix_ip(f) + l4_off(f, &proto);
}

uint8_t fix_l4_proto(const struct fixture *f)
{
	uint8_t proto;

	l4_off(f, &proto);
	return proto;
}

static bool addr_is(const struct fixture *f, size_t off4, size_t off6, const char *addr)
{
	uint8_t want[16];

	if (fix_is_v6(f)) {
		fix_addr6(addr, want);
		return memcmp(fix_ip(f) + off6, want, 16) == 0;
	}
	return memcmp(fix_ip(f) + off4, &(uint32_t){ fix_addr(addr) }, 4) == 0;
}

bool fix_saddr_is(const struct fixture *f, const char *addr)
{
	return addr_is(f, 12, 8, addr);
}

bool fix_daddr_is(const struct fixture *f, const char *addr)
{
	return addr_is(f, 16, 24, addr);
}

uint32_t fix_saddr(const struct fixture *f)
{
	uint32_t a;

	memcpy(&a, fix_ip(f) + 12, 4);
	return a;
}

uint32_t fix_daddr(const struct fixture *f)
{
	uint32_t a;

	memcpy(&a, fix_ip(f) + 16, 4);
	return a;
}

uint8_t fix_ttl(const struct fixture *f)
{
	return fix_ip(f)[fix_is_v6(f) ? 7 : 8];
}

static size_t l4_csum_off(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
}

uint16_t fix_l4_csum_field(const struct fixture *f)
{
	const uint8_t *l4 = fix_l4(f);
	size_t off = l4_csum_off(fix_l4_proto(f));

	return (uint16_t)(l4[off] << 8 | l4[off + 1]);
}

static size_t ip_total_len(const struct fixture *f)
{
	const uint8_t *ip = fix_ip(f);

	if (fix_is_v6(f))
		return 40 + (size_t)(ip[4] << 8 | ip[5]);
	return (size_t)(ip[2] << 8 | ip[3]);
}

/* Sum of the L4 segment, with the pseudo-header for TCP and UDP, and over
 * IPv6 for ICMPv6 too: addresses, upper-layer length, next header. */
static uint16_t l4_csum(const struct fixture *f)
{
	const uint8_t *ip = fix_ip(f);
	uint8_t proto;
	size_t off = l4_off(f, &proto), l4len = ip_total_len(f) - off;
	uint32_t sum = 0;

	if (fix_is_v6(f))
		sum = sum16(ip + 8, 32, 0) + proto + (uint32_t)l4len;
	else if (proto != IPPROTO_ICMP)
		sum = sum16(ip + 12, 8, 0) + proto + (uint32_t)l4len;
	return fold(sum16(ip + off, l4len, sum));
}

bool fix_ip_csum_ok(const struct fixture *f)
{
	const uint8_t *ip = fix_ip(f);

	if (fix_is_v6(f))
		return true;
	return fold(sum16(ip, (ip[0] & 0xf) * 4, 0)) == 0;
}

bool fix_l4_csum_ok(const struct fixture *f)
{
	if (fix_l4_proto(f) == IPPROTO_UDP && fix_l4_csum_field(f) == 0)
		return !fix_is_v6(f); /* IPv4: no checksum; IPv6: invalid */
	return l4_csum(f) == 0;
}

/* IPv6 header, ext_hdrs destination options headers (8 bytes, PadN), a
 * fragment header if frag_off; returns where the transport header goes. */
static uint8_t *build_ip6(uint8_t *p, const struct fix_ip4 *ip, size_t l4_len)
{
	uint8_t *nh = p + 6, *e = p + 40;
	size_t plen;

	p[0] = 0x60;
	p[7] = ip->ttl ? ip->ttl : 64;
	fix_addr6(ip->src, p + 8);
	fix_addr6(ip->dst, p + 24);
	for (int i = 0; i < ip->ext_hdrs; i++, e += 8) {
		*nh = 60;
		nh = e;
		e[2] = 1; /* PadN, 4 bytes of padding */
		e[3] = 4;
	}
	if (ip->frag_off) {
		*nh = 44;
		nh = e;
		e[2] = (uint8_t)((ip->frag_off & 0x1fff) >> 5);
		e[3] = (uint8_t)(((ip->frag_off & 0x1f) << 3) | !!(ip->frag_off & 0x2000));
		e[4] = 0x12; /* identification */
		e[7] = 0x34;
		e += 8;
	}
	*nh = ip->proto;
	plen = (size_t)(e - p) - 40 + l4_len;
	p[4] = plen >> 8;
	p[5] = plen & 0xff;
	return e;
}

void fix_build(struct fixture *f, bool l2, const struct fix_ip4 *ip, const struct fix_l4 *l4)
{
	bool v6 = strchr(ip->src, ':') != NULL;
	uint8_t *p, *seg;
	size_t hdr, total;
	uint32_t a;

	memset(f, 0, sizeof(*f));
	f->l3_off = l2 ? FIX_ETH_LEN : 0;
	if (l2) {
		static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

		memcpy(f->buf, macs, 12);
		f->buf[12] = v6 ? 0x86 : 0x08; /* IPv6 or IPv4 */
		f->buf[13] = v6 ? 0xdd : 0x00;
	}
	hdr = ip->proto == IPPROTO_TCP ? 20 + l4->options_len : 8;
	p = f->buf + f->l3_off;
	if (v6) {
		seg = build_ip6(p, ip, hdr + l4->payload_len);
		total = (size_t)(seg - p) + hdr + l4->payload_len;
	} else {
		total = 20 + hdr + l4->payload_len;
		p[0] = 0x45;
		p[2] = total >> 8;
		p[3] = total & 0xff;
		p[4] = 0x12; /* id */
		p[5] = 0x34;
		p[6] = ip->frag_off >> 8;
		p[7] = ip->frag_off & 0xff;
		p[8] = ip->ttl ? ip->ttl : 64;
		p[9] = ip->proto;
		a = fix_addr(ip->src);
		memcpy(p + 12, &a, 4);
		a = fix_addr(ip->dst);
		memcpy(p + 16, &a, 4);
		seg = p + 20;
	}

	if (ip->proto == IPPROTO_ICMP || ip->proto == IPPROTO_ICMPV6) {
		seg[0] = l4->icmp_type;
		seg[4] = l4->sport >> 8;
		seg[5] = l4->sport & 0xff;
		seg[7] = 1; /* sequence */
	} else {
		seg[0] = l4->sport >> 8;
		seg[1] = l4->sport & 0xff;
		seg[2] = l4->dport >> 8;
		seg[3] = l4->dport & 0xff;
	}
	if (ip->proto == IPPROTO_TCP) {
		seg[4] = 0x01; /* seq */
		seg[12] = (uint8_t)((hdr / 4) << 4);
		seg[13] = l4->tcp_flags;
		seg[14] = 0xff; /* window */
		if (l4->options_len)
			memcpy(seg + 20, l4->options, l4->options_len);
	} else if (ip->proto == IPPROTO_UDP) {
		seg[4] = (hdr + l4->payload_len) >> 8;
		seg[5] = (hdr + l4->payload_len) & 0xff;
	}
	for (size_t i = 0; i < l4->payload_len; i++)
		seg[hdr + i] = (uint8_t)(i * 7 + 1);
	f->len = f->l3_off + total;
	fix_set_csums(f, !(ip->proto == IPPROTO_UDP && l4->udp_no_csum));
}

void fix_set_csums(struct fixture *f, bool l4)
{
	uint8_t *p = f->buf + f->l3_off, *seg = (uint8_t *)fix_l4(f);
	uint8_t proto = fix_l4_proto(f);
	uint16_t c;

	if (!fix_is_v6(f)) {
		p[10] = p[11] = 0;
		c = fold(sum16(p, (p[0] & 0xf) * 4, 0));
		p[10] = c >> 8;
		p[11] = c & 0xff;
	}
	if (l4) {
		size_t off = l4_csum_off(proto);

		seg[off] = seg[off + 1] = 0;
		c = l4_csum(f);
		if (proto == IPPROTO_UDP && c == 0)
			c = 0xffff;
		seg[off] = c >> 8;
		seg[off + 1] = c & 0xff;
	}
}

static void set_addr(struct fixture *f, size_t off4, size_t off6, const char *addr)
{
	uint8_t *ip = f->buf + f->l3_off;
	uint32_t a;

	if (!addr)
		return;
	if (fix_is_v6(f)) {
		fix_addr6(addr, ip + off6);
		return;
	}
	a = fix_addr(addr);
	memcpy(ip + off4, &a, 4);
}

void fix_nat(struct fixture *f, const char *src, const char *dst, uint8_t ttl)
{
	bool no_udp_csum = fix_l4_proto(f) == IPPROTO_UDP && fix_l4_csum_field(f) == 0;

	set_addr(f, 12, 8, src);
	set_addr(f, 16, 24, dst);
	f->buf[f->l3_off + (fix_is_v6(f) ? 7 : 8)] = ttl;
	fix_set_csums(f, !no_udp_csum);
}

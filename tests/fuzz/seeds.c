// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Writes the fuzzer's seed corpus into the directory given: the unit tests'
 * fixtures (tests/unit/packet.c) for each program, each prefixed with the
 * selector byte relay_fuzz.c reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"

/* Each family's addresses, as relay_fuzz.c configures them: a client, a
 * router on its path, the first public address, the backend (L2, L3
 * tunnel), an address that is not the front's. */
struct family {
	const char *client, *router, *public, *backend, *backend_l3, *other;
	uint8_t icmp, echo, echo_reply, unreach, port_unreach, too_big, too_big_code, time_exceeded;
	size_t ip_len;
};

static const struct family fams[2] = {
	{ "203.0.113.10", "198.51.100.1", "203.0.113.1", "10.22.22.1", "8.0.22.1", "198.51.100.7",
	  1, 8, 0, 3, 3, 3, 4, 11, 20 },
	{ "2001:db8:1::10", "2001:db8:2::1", "2001:db8::1", "2001:db8:22::1", "2001:db8:86dd::1",
	  "2001:db8:3::7", 58, 128, 129, 1, 4, 2, 0, 3, 40 },
};

/* Selector bits, as in relay_fuzz.c. */
enum { FRONT_IN = 0, FRONT_REV = 1, BACK_IN = 2, XDP = 3, CSUM = 4, L3 = 8, FLOW = 16, SOLE = 32,
       RATE = 128 };

static const char *dir;
static int n;

static void put(uint8_t sel, const struct fixture *f)
{
	static const uint8_t back_hdr[12] = { 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0xff };
	char path[4096];
	FILE *out;

	snprintf(path, sizeof(path), "%s/seed-%03d", dir, n++);
	out = fopen(path, "wb");
	if (!out) {
		perror(path);
		exit(1);
	}
	fputc(sel, out);
	if ((sel & 3) == BACK_IN)
		fwrite(back_hdr, 1, sizeof(back_hdr), out);
	fwrite(f->buf, 1, f->len, out);
	fclose(out);
}

static uint8_t ttl = 64;
static uint16_t mss_value = 1460;
static uint8_t ext_hdrs; /* IPv6: destination options headers first */

static void build(struct fixture *f, uint8_t sel, const char *src, const char *dst, uint8_t proto,
		  uint16_t sport, uint16_t dport, uint8_t flags, size_t payload, uint16_t frag)
{
	uint8_t mss[4] = { 2, 4, mss_value >> 8, mss_value & 0xff };
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = proto, .frag_off = frag, .ttl = ttl,
			      .ext_hdrs = ext_hdrs };
	struct fix_l4 l4 = { .sport = sport, .dport = dport, .tcp_flags = flags,
			     .icmp_type = flags, .payload_len = payload };

	if (proto == 6 && flags & 0x02) {
		l4.options = mss;
		l4.options_len = sizeof(mss);
	}
	/* An L3 tunnel's packet starts at the IP header. */
	fix_build(f, !(sel & L3) || (sel & 3) != FRONT_REV, &ip, &l4);
}

static void frame(uint8_t sel, const char *src, const char *dst, uint8_t proto, uint16_t sport,
		  uint16_t dport, uint8_t flags, size_t payload, uint16_t frag)
{
	struct fixture f;

	build(&f, sel, src, dst, proto, sport, dport, flags, payload, frag);
	put(sel, &f);
}

/* An IPv6 packet whose extension headers (ext_hdrs destination options,
 * 8 bytes each) become these types: hop-by-hop (0), routing (43: segments
 * left seg_left), AH (51: 8 bytes as well), destination options (60). */
static void frame6_ext(uint8_t sel, const struct family *fa, uint8_t proto, uint16_t dport,
		       uint8_t flags, const uint8_t *types, uint8_t n, uint8_t seg_left)
{
	struct fixture f;
	uint8_t *ip;

	ext_hdrs = n;
	build(&f, sel, fa->client, fa->public, proto, 40100, dport, flags, 32, 0);
	ext_hdrs = 0;
	ip = f.buf + f.l3_off;
	for (uint8_t i = 0; i < n; i++) {
		uint8_t *e = ip + 40 + 8 * i;

		(i ? ip + 40 + 8 * (i - 1) : ip + 6)[0] = types[i];
		if (types[i] == 43) {
			e[2] = 4; /* segment routing */
			e[3] = seg_left;
		} else if (types[i] == 51) {
			e[1] = 0; /* (0 + 2) * 4 bytes */
		}
	}
	put(sel, &f);
}

/* An ICMP(v6) error (type, code) from src to dst quoting a packet (q_src ->
 * q_dst, proto, ports) with its IP header and 8 bytes of payload; mtu for
 * fragmentation needed / packet too big. */
static void error(uint8_t sel, const struct family *fa, const char *src, const char *dst,
		  uint8_t type, uint8_t code, uint16_t mtu, const char *q_src, const char *q_dst,
		  uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct fix_ip4 qip = { .src = q_src, .dst = q_dst, .proto = proto };
	struct fix_l4 ql4 = { .sport = sport, .dport = dport, .tcp_flags = 0x10,
			      .icmp_type = fa->echo };
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = fa->icmp };
	struct fix_l4 l4 = { .icmp_type = type, .payload_len = fa->ip_len + 8 };
	struct fixture q, f;
	uint8_t *icmp;

	fix_build(&q, false, &qip, &ql4);
	fix_build(&f, !(sel & L3) || (sel & 3) != FRONT_REV, &ip, &l4);
	icmp = f.buf + f.l3_off + fa->ip_len;
	icmp[1] = code;
	icmp[4] = icmp[5] = 0;
	icmp[6] = mtu >> 8;
	icmp[7] = mtu & 0xff;
	memcpy(icmp + 8, q.buf, fa->ip_len + 8);
	fix_set_csums(&f, true);
	put(sel, &f);
}

/* The seeds of one family. */
static void family(const struct family *fa)
{
	const uint8_t protos[] = { 6, 17, fa->icmp };
	const char *client = fa->client, *public = fa->public, *backend = fa->backend;
	bool v6 = fa->icmp == 58;

	for (size_t i = 0; i < sizeof(protos); i++) {
		uint8_t p = protos[i], icmp = p == fa->icmp;
		uint8_t echo = icmp ? fa->echo : 0x02, reply = icmp ? fa->echo_reply : 0x12;
		uint8_t ack = icmp ? fa->echo : 0x10, data = icmp ? fa->echo : 0x18;

		frame(FRONT_IN | CSUM, client, public, p, 40000, 8080, echo, 0, 0);
		frame(FRONT_IN | CSUM, client, public, p, 40001, 443, data, 200, 0);
		frame(FRONT_IN | CSUM, client, public, p, 40002, 22, echo, 0, 0);
		frame(FRONT_IN | CSUM, client, fa->other, p, 40003, 8080, echo, 0, 0);
		/* A first fragment and a later one (IPv6: fragment headers). */
		frame(FRONT_IN | CSUM, client, public, p, 40004, 8080, echo, 64, 0x2000);
		frame(FRONT_IN | CSUM, client, public, p, 40005, 8080, echo, 64, 0x0008);
		frame(FRONT_REV | CSUM | FLOW, backend, client, p, 8080, 40000, reply, 0, 0);
		frame(FRONT_REV | CSUM | FLOW, backend, client, p, 443, 40001, reply, 300, 0);
		frame(FRONT_REV | CSUM, backend, client, p, 8080, 40009, reply, 0, 0);
		frame(FRONT_REV | CSUM | FLOW, fa->other, client, p, 8080, 40000, reply, 0, 0);
		frame(FRONT_REV | CSUM | FLOW | L3, fa->backend_l3, client, p, 8080, 40000, reply, 40,
		      0);
		frame(BACK_IN, client, backend, p, 40000, 8080, echo, 20, 0);
		/* Established flows on the XDP fast path (L3 tunnel), and not. */
		frame(XDP | CSUM | L3 | FLOW, client, public, p, 40000, 8080, ack, 64, 0);
		frame(XDP | CSUM | L3, client, public, p, 40001, 8080, ack, 64, 0);
		/* --rate-limit on: the same source again and again. */
		frame(FRONT_IN | CSUM | RATE, client, public, p, 40002, 8080, echo, 64, 0);
		frame(XDP | CSUM | L3 | FLOW | RATE, client, public, p, 40002, 8080, ack, 64, 0);
		/* Too big for the tunnel (relay_fuzz.c: MTU 1000), with and
		 * without DF (IPv6: always DF, the front sends packet too big). */
		frame(FRONT_IN | CSUM, client, public, p, 40006, 8080, echo, 1100, 0x4000);
		frame(FRONT_IN | CSUM, client, public, p, 40007, 8080, echo, 1100, 0);
		/* Stateless reverse translation (one public address). */
		frame(FRONT_REV | CSUM | SOLE, backend, client, p, 8080, 40010, reply, 0, 0);
		/* ICMP errors: from a client and from a router on its path about
		 * a reply (frag-needed / packet too big), from the backend about
		 * a request. */
		error(FRONT_IN | CSUM | FLOW, fa, client, public, fa->unreach, fa->port_unreach, 0,
		      public, client, p, 8080, 40000);
		error(FRONT_IN | CSUM | FLOW, fa, fa->router, public, fa->too_big, fa->too_big_code,
		      v6 ? 1280 : 576, public, client, p, 8080, 40000);
		error(FRONT_REV | CSUM | FLOW, fa, backend, client, fa->unreach, fa->port_unreach, 0,
		      client, backend, p, 40000, 8080);
		error(FRONT_REV | CSUM | SOLE, fa, backend, client, fa->time_exceeded, 0, 0, client,
		      backend, p, 40011, 8080);
	}
	/* TTL 1: time exceeded from the front; MSS under the clamp: untouched. */
	ttl = 1;
	frame(FRONT_IN | CSUM, client, public, 6, 40012, 8080, 0x02, 0, 0);
	frame(FRONT_IN | CSUM, client, public, 17, 40013, 8080, 0, 20, 0x4000);
	ttl = 64;
	mss_value = 536;
	frame(FRONT_IN | CSUM, client, public, 6, 40014, 8080, 0x02, 0, 0);
	frame(FRONT_REV | CSUM | FLOW, backend, client, 6, 8080, 40014, 0x12, 0, 0);
	mss_value = 1460;
	if (!v6)
		return;
	/* Extension headers: hop-by-hop and destination options (relayed),
	 * a routing header with no segment left (relayed) and with one (not
	 * the final destination: passed), AH, and a fragment header after
	 * them; a chain too deep (7). */
	static const uint8_t hbh_dst[] = { 0, 60 }, rt[] = { 0, 43 }, ah[] = { 51 };
	static const uint8_t deep[] = { 0, 60, 60, 60, 60, 60, 60 };

	frame6_ext(FRONT_IN | CSUM | FLOW, fa, 6, 8080, 0x10, hbh_dst, 2, 0);
	frame6_ext(FRONT_IN | CSUM, fa, 17, 8080, 0, rt, 2, 0);
	frame6_ext(FRONT_IN | CSUM, fa, 17, 8080, 0, rt, 2, 1);
	frame6_ext(FRONT_IN | CSUM, fa, 58, 0, 128, ah, 1, 0);
	frame6_ext(FRONT_IN | CSUM, fa, 6, 8080, 0x02, deep, 7, 0);
	frame6_ext(XDP | CSUM | L3 | FLOW, fa, 6, 8080, 0x10, hbh_dst, 2, 0);
	ext_hdrs = 2;
	frame(FRONT_IN | CSUM, client, public, 17, 40015, 8080, 0, 64, 0x2000);
	frame(FRONT_IN | CSUM, client, public, 17, 40015, 8080, 0, 64, 0x0010);
	ext_hdrs = 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	family(&fams[0]);
	family(&fams[1]);
	printf("%d seeds in %s\n", n, dir);
	return 0;
}

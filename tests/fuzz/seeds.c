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

#define CLIENT "203.0.113.10"
#define PUBLIC "203.0.113.1"
#define BACKEND "10.22.22.1"
#define BACKEND_L3 "8.0.22.1"

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

static void frame(uint8_t sel, const char *src, const char *dst, uint8_t proto, uint16_t sport,
		  uint16_t dport, uint8_t flags, size_t payload, uint16_t frag)
{
	uint8_t mss[4] = { 2, 4, mss_value >> 8, mss_value & 0xff };
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = proto, .frag_off = frag, .ttl = ttl };
	struct fix_l4 l4 = { .sport = sport, .dport = dport, .tcp_flags = flags,
			     .icmp_type = flags, .payload_len = payload };
	struct fixture f;

	if (proto == 6 && flags & 0x02) {
		l4.options = mss;
		l4.options_len = sizeof(mss);
	}
	/* An L3 tunnel's packet starts at the IP header. */
	fix_build(&f, !(sel & L3) || (sel & 3) != FRONT_REV, &ip, &l4);
	put(sel, &f);
}

/* An ICMP error (type, code) from src to dst quoting a packet (q_src ->
 * q_dst, proto, ports) with its IP header and 8 bytes of payload. */
static void error(uint8_t sel, const char *src, const char *dst, uint8_t type, uint8_t code,
		  const char *q_src, const char *q_dst, uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct fix_ip4 qip = { .src = q_src, .dst = q_dst, .proto = proto };
	struct fix_l4 ql4 = { .sport = sport, .dport = dport, .tcp_flags = 0x10, .icmp_type = 8 };
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = 1 };
	struct fix_l4 l4 = { .icmp_type = type, .payload_len = 28 };
	struct fixture q, f;

	fix_build(&q, false, &qip, &ql4);
	fix_build(&f, !(sel & L3) || (sel & 3) != FRONT_REV, &ip, &l4);
	f.buf[f.l3_off + 21] = code;
	memcpy(f.buf + f.l3_off + 28, q.buf, 28);
	fix_set_csums(&f, true);
	put(sel, &f);
}

int main(int argc, char **argv)
{
	static const uint8_t protos[] = { 6, 17, 1 };

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	for (size_t i = 0; i < sizeof(protos); i++) {
		uint8_t p = protos[i], echo = p == 1 ? 8 : 0x02, reply = p == 1 ? 0 : 0x12;

		frame(FRONT_IN | CSUM, CLIENT, PUBLIC, p, 40000, 8080, echo, 0, 0);
		frame(FRONT_IN | CSUM, CLIENT, PUBLIC, p, 40001, 443, p == 1 ? 8 : 0x18, 200, 0);
		frame(FRONT_IN | CSUM, CLIENT, PUBLIC, p, 40002, 22, echo, 0, 0);
		frame(FRONT_IN | CSUM, CLIENT, "198.51.100.7", p, 40003, 8080, echo, 0, 0);
		frame(FRONT_IN | CSUM, CLIENT, PUBLIC, p, 40004, 8080, echo, 64, 0x2000);
		frame(FRONT_IN | CSUM, CLIENT, PUBLIC, p, 40005, 8080, echo, 64, 0x0008);
		frame(FRONT_REV | CSUM | FLOW, BACKEND, CLIENT, p, 8080, 40000, reply, 0, 0);
		frame(FRONT_REV | CSUM | FLOW, BACKEND, CLIENT, p, 443, 40001, reply, 300, 0);
		frame(FRONT_REV | CSUM, BACKEND, CLIENT, p, 8080, 40009, reply, 0, 0);
		frame(FRONT_REV | CSUM | FLOW, "198.51.100.7", CLIENT, p, 8080, 40000, reply, 0, 0);
		frame(FRONT_REV | CSUM | FLOW | L3, BACKEND_L3, CLIENT, p, 8080, 40000, reply, 40, 0);
		frame(BACK_IN, CLIENT, BACKEND, p, 40000, 8080, echo, 20, 0);
		/* Established flows on the XDP fast path (L3 tunnel), and not. */
		frame(XDP | CSUM | L3 | FLOW, CLIENT, PUBLIC, p, 40000, 8080, p == 1 ? 8 : 0x10, 64, 0);
		frame(XDP | CSUM | L3, CLIENT, PUBLIC, p, 40001, 8080, p == 1 ? 8 : 0x10, 64, 0);
		/* --rate-limit on: the same source again and again. */
		frame(FRONT_IN | CSUM | RATE, CLIENT, PUBLIC, p, 40002, 8080, echo, 64, 0);
		frame(XDP | CSUM | L3 | FLOW | RATE, CLIENT, PUBLIC, p, 40002, 8080,
		      p == 1 ? 8 : 0x10, 64, 0);
		/* Too big for the tunnel (relay_fuzz.c: MTU 1000), with and without DF. */
		frame(FRONT_IN | CSUM, CLIENT, PUBLIC, p, 40006, 8080, echo, 1100, 0x4000);
		frame(FRONT_IN | CSUM, CLIENT, PUBLIC, p, 40007, 8080, echo, 1100, 0);
		/* Stateless reverse translation (one public address). */
		frame(FRONT_REV | CSUM | SOLE, BACKEND, CLIENT, p, 8080, 40010, reply, 0, 0);
		/* ICMP errors: from a client about a reply, from the backend about a request. */
		error(FRONT_IN | CSUM | FLOW, CLIENT, PUBLIC, 3, 3, PUBLIC, CLIENT, p, 8080, 40000);
		error(FRONT_REV | CSUM | FLOW, BACKEND, CLIENT, 3, 4, CLIENT, BACKEND, p, 40000, 8080);
		error(FRONT_REV | CSUM | SOLE, BACKEND, CLIENT, 11, 0, CLIENT, BACKEND, p, 40011, 8080);
	}
	/* TTL 1: time exceeded from the front; MSS under the clamp: untouched. */
	ttl = 1;
	frame(FRONT_IN | CSUM, CLIENT, PUBLIC, 6, 40012, 8080, 0x02, 0, 0);
	frame(FRONT_IN | CSUM, CLIENT, PUBLIC, 17, 40013, 8080, 0, 20, 0x4000);
	ttl = 64;
	mss_value = 536;
	frame(FRONT_IN | CSUM, CLIENT, PUBLIC, 6, 40014, 8080, 0x02, 0, 0);
	frame(FRONT_REV | CSUM | FLOW, BACKEND, CLIENT, 6, 8080, 40014, 0x12, 0, 0);
	printf("%d seeds in %s\n", n, dir);
	return 0;
}

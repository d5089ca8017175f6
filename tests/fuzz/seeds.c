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
enum { FRONT_IN = 0, FRONT_REV = 1, BACK_IN = 2, CSUM = 4, L3 = 8, FLOW = 16 };

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

static void frame(uint8_t sel, const char *src, const char *dst, uint8_t proto, uint16_t sport,
		  uint16_t dport, uint8_t flags, size_t payload, uint16_t frag)
{
	static const uint8_t mss[4] = { 2, 4, 0x05, 0xb4 };
	struct fix_ip4 ip = { .src = src, .dst = dst, .proto = proto, .frag_off = frag };
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
	}
	printf("%d seeds in %s\n", n, dir);
	return 0;
}

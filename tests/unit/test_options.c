// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Option parsing: what is accepted, what is refused and why. */
#include <stdio.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <bpf/libbpf.h>

#include "metrics.h"
#include "options.h"

Test(port_list, parses_single_ports_and_ranges)
{
	struct relay_port_range r[4];
	char err[128];

	cr_assert_eq(parse_port_list("tcp:22,udp:1000-2000", r, 4, err, sizeof(err)), 2);
	cr_assert_eq(r[0].proto, IPPROTO_TCP);
	cr_assert_eq(r[0].first, 22);
	cr_assert_eq(r[0].last, 22);
	cr_assert_eq(r[1].proto, IPPROTO_UDP);
	cr_assert_eq(r[1].first, 1000);
	cr_assert_eq(r[1].last, 2000);
}

Test(port_list, refuses_bad_input)
{
	static const char *const bad[] = { "22", "sctp:22", "tcp:0", "tcp:65536", "tcp:20-10",
					   "tcp:", "tcp:a", "tcp:-5", "tcp:1-", "gre:47", "icmp:8",
					   "proto:", "proto:255", "proto:-1", "proto:gre", "gopher",
					   "47", "GRE" };
	struct relay_port_range r[4];
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse_port_list(bad[i], r, 4, err, sizeof(err)), -1, "%s", bad[i]);
}

/* A protocol alone is all of it (ports 0-65535: ICMP echo identifiers and
 * the ports 0 of protocols without ports fall in); by name or proto:N; it
 * reads back as given (status). */
Test(port_list, whole_protocols_by_name_or_number)
{
	static const struct {
		const char *text;
		__u8 proto;
	} cases[] = { { "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP }, { "icmp", IPPROTO_ICMP },
		      { "gre", IPPROTO_GRE }, { "esp", IPPROTO_ESP }, { "ah", IPPROTO_AH },
		      { "ipip", IPPROTO_IPIP }, { "ipv6", IPPROTO_IPV6 }, { "l2tp", 115 },
		      { "sctp", IPPROTO_SCTP }, { "proto:0", 0 }, { "proto:254", 254 },
		      { "proto:99", 99 } };
	struct relay_port_range r[4];
	char err[128], back[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(parse_port_list(cases[i].text, r, 4, err, sizeof(err)), 1, "%s: %s",
			     cases[i].text, err);
		cr_assert_eq(r[0].proto, cases[i].proto, "%s", cases[i].text);
		cr_assert_eq(r[0].first, 0);
		cr_assert_eq(r[0].last, 65535);
		cr_assert_str_eq(port_range_str(&r[0], back, sizeof(back)), cases[i].text);
	}
	/* proto:47 is gre, and reads back by its name. */
	cr_assert_eq(parse_port_list("tcp:80-90,proto:47,udp:53", r, 4, err, sizeof(err)), 3);
	cr_assert_str_eq(port_range_str(&r[0], back, sizeof(back)), "tcp:80-90");
	cr_assert_str_eq(port_range_str(&r[1], back, sizeof(back)), "gre");
	cr_assert_str_eq(port_range_str(&r[2], back, sizeof(back)), "udp:53");
}

Test(port_list, refuses_more_ranges_than_fit)
{
	struct relay_port_range r[2];
	char err[128];

	cr_assert_eq(parse_port_list("tcp:1,tcp:2,tcp:3", r, 2, err, sizeof(err)), -1);
}

Test(mark, value_and_mask)
{
	__u32 mark, mask;
	char err[128];

	cr_assert_eq(parse_mark("0x1", &mark, &mask, err, sizeof(err)), 0);
	cr_assert_eq(mark, 1);
	cr_assert_eq(mask, 0xffffffff);
	cr_assert_eq(parse_mark("0x10/0xf0", &mark, &mask, err, sizeof(err)), 0);
	cr_assert_eq(mark, 0x10);
	cr_assert_eq(mask, 0xf0);
}

Test(mark, refuses_zero_and_bits_outside_the_mask)
{
	__u32 mark, mask;
	char err[128];

	cr_assert_eq(parse_mark("0", &mark, &mask, err, sizeof(err)), -1);
	cr_assert_eq(parse_mark("0x0/0xff", &mark, &mask, err, sizeof(err)), -1);
	cr_assert_eq(parse_mark("0x100/0xff", &mark, &mask, err, sizeof(err)), -1);
	cr_assert_eq(parse_mark("0x1/0", &mark, &mask, err, sizeof(err)), -1);
	cr_assert_eq(parse_mark("banana", &mark, &mask, err, sizeof(err)), -1);
}

static int parse_ct_max(const char *v, struct relay_opts *o)
{
	char *argv[] = { "attach", "--role", "front", "--dev", "eth0", "--backend", "10.22.22.1",
			 "--ct-max", (char *)v, NULL };

	opts_defaults(o);
	return opts_parse(CMD_ATTACH, 9, argv, o);
}

/* The kernel's LRU keeps free entries per CPU: a smaller table evicts live
 * flows long before it is full. */
Test(ct_max, refuses_less_than_256_per_possible_cpu)
{
	int cpus = libbpf_num_possible_cpus();
	__u32 min = 256 * (__u32)cpus;
	struct relay_opts o;
	char v[16];

	cr_assert_gt(cpus, 0);
	cr_assert_eq(ct_max_min(), min);
	snprintf(v, sizeof(v), "%u", min);
	cr_assert_eq(parse_ct_max(v, &o), 0);
	cr_assert_eq(o.ct_max, min);
	snprintf(v, sizeof(v), "%u", min - 1);
	cr_assert_eq(parse_ct_max(v, &o), -1);
	cr_assert_eq(parse_ct_max("16", &o), -1);
	cr_assert_eq(parse_ct_max("67108864", &o), 0);
	cr_assert_eq(parse_ct_max("67108865", &o), -1);
}

static int parse_attach(const char *rate, struct relay_opts *o)
{
	char *argv[] = { "attach", "--role", "front", "--dev", "eth0", "--backend", "10.22.22.1",
			 "--rate-limit", (char *)rate, NULL };

	opts_defaults(o);
	return opts_parse(CMD_ATTACH, 9, argv, o);
}

Test(rate_limit, off_by_default_burst_defaults_to_the_rate)
{
	struct relay_opts o;

	opts_defaults(&o);
	cr_assert_eq(o.rate_pps, 0);
	cr_assert_eq(parse_attach("1000", &o), 0);
	cr_assert_eq(o.rate_pps, 1000);
	cr_assert_eq(o.rate_burst, 1000);
	cr_assert_eq(parse_attach("100/5", &o), 0);
	cr_assert_eq(o.rate_pps, 100);
	cr_assert_eq(o.rate_burst, 5);
	cr_assert_eq(parse_attach("off", &o), 0);
	cr_assert_eq(o.rate_pps, 0);
}

Test(rate_limit, refuses_bad_values)
{
	static const char *const bad[] = { "0", "10/0", "-1", "x", "10/", "/5", "10000001",
					   "5/10000001", "" };
	struct relay_opts o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse_attach(bad[i], &o), -1, "%s", bad[i]);
}

Test(metrics_addr, bare_port_listens_on_loopback)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
	socklen_t len = 0;

	cr_assert_eq(metrics_parse_addr("9469", &ss, &len), 0);
	cr_assert_eq(len, sizeof(*in));
	cr_assert_eq(in->sin_family, AF_INET);
	cr_assert_eq(in->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	cr_assert_eq(ntohs(in->sin_port), 9469);
	cr_assert_eq(metrics_parse_addr("0.0.0.0:80", &ss, &len), 0);
	cr_assert_eq(in->sin_addr.s_addr, htonl(INADDR_ANY));
	cr_assert_eq(ntohs(in->sin_port), 80);
}

Test(metrics_addr, ipv6_in_brackets)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
	socklen_t len = 0;

	cr_assert_eq(metrics_parse_addr("[::1]:9469", &ss, &len), 0);
	cr_assert_eq(len, sizeof(*in6));
	cr_assert_eq(in6->sin6_family, AF_INET6);
	cr_assert(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
	cr_assert_eq(ntohs(in6->sin6_port), 9469);
}

Test(metrics_addr, refuses_bad_input)
{
	static const char *const bad[] = { "", "0", "65536", "-1", "127.0.0.1", "127.0.0.1:",
					   ":80", "localhost:80", "::1:80", "[::1]", "[::1]80",
					   "[127.0.0.1]:80", "1.2.3.4:80x", "[::1]:0" };
	struct sockaddr_storage ss;
	socklen_t len = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(metrics_parse_addr(bad[i], &ss, &len), -1, "accepted '%s'", bad[i]);
}

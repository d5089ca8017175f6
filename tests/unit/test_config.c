// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The command line and the config file: precedence, per-subcommand and
 * per-role checks, and errors that name the line. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

static char conf_path[64];

/* Writes text to a fresh temporary file, named in conf_path. */
static void write_conf(const char *text)
{
	int fd;

	strcpy(conf_path, "/tmp/relaybpf-test-XXXXXX");
	fd = mkstemp(conf_path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void cleanup(void)
{
	if (conf_path[0])
		unlink(conf_path);
}

/* Parses a NULL-terminated argument list (argv[0] is the subcommand). */
static int parse(enum relay_cmd cmd, struct relay_opts *o, const char **args)
{
	int n = 0;

	while (args[n])
		n++;
	opts_defaults(o);
	return opts_parse(cmd, n, (char **)args, o);
}

static in_addr_t ip(const char *s)
{
	return inet_addr(s);
}

TestSuite(config, .fini = cleanup);

Test(config, file_gives_every_option)
{
	struct relay_opts o;

	write_conf("# front of the lab\n"
		   "role = front\n"
		   "dev=f0\n"
		   "  backend   =  10.22.22.1   # the far end\n"
		   "\n"
		   "public-ip = 203.0.113.1, 203.0.113.2\n"
		   "exclude = tcp:22,udp:53\n"
		   "mss = 1400\n"
		   "ct-max = 131072\n"
		   "rate-limit = 500/50\n");
	const char *args[] = { "attach", "-c", conf_path, NULL };

	cr_assert_eq(parse(CMD_ATTACH, &o, args), 0);
	cr_assert_eq(o.role, ROLE_FRONT);
	cr_assert_str_eq(o.dev, "f0");
	cr_assert_eq(o.n_backends, 1);
	cr_assert_eq(o.backends[0].addr.addr.v4, ip("10.22.22.1"));
	cr_assert_eq(o.n_public, 2);
	cr_assert_eq(o.public_ips[0].addr.v4, ip("203.0.113.1"));
	cr_assert_eq(o.public_ips[1].addr.v4, ip("203.0.113.2"));
	cr_assert_eq(o.n_exclude, 2);
	cr_assert_eq(o.exclude[1].proto, IPPROTO_UDP);
	cr_assert_eq(o.exclude[1].first, 53);
	cr_assert_eq(o.mss, 1400);
	cr_assert_eq(o.ct_max, 131072);
	cr_assert_eq(o.rate_pps, 500);
	cr_assert_eq(o.rate_burst, 50);
}

Test(config, command_line_overrides_the_file_wherever_c_is)
{
	struct relay_opts o;

	write_conf("role = front\ndev = f0\nbackend = 10.22.22.1\npublic-ip = 203.0.113.1\n"
		   "mss = 1400\n");
	/* -c comes last, the command line still wins. */
	const char *args[] = { "attach", "--mss", "off", "--public-ip", "203.0.113.9",
			       "--public-ip", "203.0.113.8", "--dev", "f9", "-c", conf_path,
			       NULL };

	cr_assert_eq(parse(CMD_ATTACH, &o, args), 0);
	cr_assert_eq(o.mss, 0);
	cr_assert_str_eq(o.dev, "f9");
	/* The command line's list replaces the file's, it does not extend it. */
	cr_assert_eq(o.n_public, 2);
	cr_assert_eq(o.public_ips[0].addr.v4, ip("203.0.113.9"));
	cr_assert_eq(o.public_ips[1].addr.v4, ip("203.0.113.8"));
	cr_assert_eq(o.n_backends, 1);
	cr_assert_eq(o.backends[0].addr.addr.v4, ip("10.22.22.1"));
}

/* Loads text as a config file for attach, which must fail; returns the
 * first line it printed on stderr. */
static void load_fails(const char *text, char *got, size_t len)
{
	struct relay_opts o;
	FILE *f;

	write_conf(text);
	f = freopen("/tmp/relaybpf-test-stderr", "w+", stderr);
	cr_assert_not_null(f);
	opts_defaults(&o);
	cr_assert_eq(opts_load_file(CMD_ATTACH, conf_path, &o), -1, "%s", text);
	fflush(stderr);
	rewind(stderr);
	got[0] = '\0';
	cr_assert_not_null(fgets(got, len, stderr));
	unlink("/tmp/relaybpf-test-stderr");
}

Test(config, unknown_key_names_the_line)
{
	char got[1024], expect[512];

	load_fails("role = back\n\n# comment\nfrontt = 10.22.22.2\n", got, sizeof(got));
	snprintf(expect, sizeof(expect), "relaybpf: %s:4: unknown key 'frontt'\n", conf_path);
	cr_assert_str_eq(got, expect);
}

Test(config, bad_values_name_the_line)
{
	static const struct {
		const char *text;
		int line;
		const char *key;
	} cases[] = {
		{ "role = middle\n", 1, "role" },
		{ "role = front\nbackend = 10.22.22\n", 2, "backend" },
		{ "role = front\nexclude = tcp:70000\n", 2, "exclude" },
		{ "role = back\n#\nmark = 0\n", 3, "mark" },
		{ "role = back\ntable = 255\n", 2, "table" },
		{ "role = front\nct-max = many\n", 2, "ct-max" },
		{ "role = front\n\nct-max = 16\n", 3, "ct-max" },
		{ "role = front\nmss = 100\n", 2, "mss" },
		{ "role = front\ndev\n", 2, "dev" },
		{ "json = maybe\n", 1, "json" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char expect[512], got[1024];

		load_fails(cases[i].text, got, sizeof(got));
		snprintf(expect, sizeof(expect), "relaybpf: %s:%d: %s", conf_path, cases[i].line,
			 cases[i].key);
		cr_assert_eq(strncmp(got, expect, strlen(expect)), 0, "%s -> %s", cases[i].text, got);
		unlink(conf_path);
	}
}

Test(config, keys_of_other_subcommands_are_skipped)
{
	struct relay_opts o;

	/* The attach file serves detach too: only role and dev apply. */
	write_conf("role = back\ndev = wg0\nfront = 10.22.22.2\nmark = 0x10/0xf0\n");
	const char *args[] = { "detach", "-c", conf_path, NULL };

	cr_assert_eq(parse(CMD_DETACH, &o, args), 0);
	cr_assert_eq(o.role, ROLE_BACK);
	cr_assert_str_eq(o.dev, "wg0");
	cr_assert_eq(o.mark, 0x1, "detach ignores the mark");
}

Test(config, missing_file_is_an_error)
{
	struct relay_opts o;
	const char *args[] = { "attach", "-c", "/nonexistent/relaybpf.conf", NULL };

	cr_assert_eq(parse(CMD_ATTACH, &o, args), -1);
}

Test(options, attach_needs_role_and_its_options)
{
	struct relay_opts o;
	const char *no_role[] = { "attach", "--dev", "f0", NULL };
	const char *no_backend[] = { "attach", "--role", "front", "--dev", "f0", NULL };
	const char *no_front[] = { "attach", "-r", "back", "-d", "wg0", NULL };
	const char *ok[] = { "attach", "-r", "back", "-d", "wg0", "--front", "10.22.22.2", NULL };

	cr_assert_eq(parse(CMD_ATTACH, &o, no_role), -1);
	cr_assert_eq(parse(CMD_ATTACH, &o, no_backend), -1);
	cr_assert_eq(parse(CMD_ATTACH, &o, no_front), -1);
	cr_assert_eq(parse(CMD_ATTACH, &o, ok), 0);
	cr_assert_eq(o.front, ip("10.22.22.2"));
}

Test(options, refuses_options_of_the_other_role_or_subcommand)
{
	struct relay_opts o;
	const char *mark_on_front[] = { "attach", "-r", "front", "-d", "f0", "--backend",
					"10.22.22.1", "--mark", "0x2", NULL };
	const char *backend_on_back[] = { "attach", "-r", "back", "-d", "wg0", "--front",
					  "10.22.22.2", "--backend", "10.22.22.1", NULL };
	const char *json_on_detach[] = { "detach", "--json", NULL };
	const char *watch_on_status[] = { "status", "--watch", "1", NULL };
	const char *stray[] = { "stats", "extra", NULL };

	cr_assert_eq(parse(CMD_ATTACH, &o, mark_on_front), -1);
	cr_assert_eq(parse(CMD_ATTACH, &o, backend_on_back), -1);
	cr_assert_eq(parse(CMD_DETACH, &o, json_on_detach), -1);
	cr_assert_eq(parse(CMD_STATUS, &o, watch_on_status), -1);
	cr_assert_eq(parse(CMD_STATS, &o, stray), -1);
}

Test(options, exclude_and_ports_must_not_overlap)
{
	struct relay_opts o;
	const char *overlap[] = { "attach", "-r", "front", "-d", "f0", "--backend", "10.22.22.1",
				  "--exclude", "tcp:80-90", "--ports", "tcp:85", NULL };
	const char *apart[] = { "attach", "-r", "front", "-d", "f0", "--backend", "10.22.22.1",
				"--exclude", "tcp:80-90", "--ports", "udp:85,tcp:91", NULL };
	/* The default exclude (tcp:22) gives way to an explicit --ports. */
	const char *dflt[] = { "attach", "-r", "front", "-d", "f0", "--backend", "10.22.22.1",
			       "--ports", "tcp:1-1000", NULL };

	cr_assert_eq(parse(CMD_ATTACH, &o, overlap), -1);
	cr_assert_eq(parse(CMD_ATTACH, &o, apart), 0);
	cr_assert_eq(parse(CMD_ATTACH, &o, dflt), 0);
}

Test(options, stats_and_conntrack_flags)
{
	struct relay_opts o;
	const char *stats[] = { "stats", "--prometheus", "-w", "2", NULL };
	const char *ct[] = { "conntrack", "-j", "--proto", "icmp", "--addr", "203.0.113.10",
			     NULL };
	const char *bad_watch[] = { "stats", "--watch", "0", NULL };
	const char *bad_proto[] = { "conntrack", "--proto", "gopher", NULL };

	cr_assert_eq(parse(CMD_STATS, &o, stats), 0);
	cr_assert(o.prometheus);
	cr_assert_eq(o.watch, 2);
	cr_assert_eq(parse(CMD_CONNTRACK, &o, ct), 0);
	cr_assert(o.json);
	cr_assert_eq(o.ct_proto, IPPROTO_ICMP);
	cr_assert_eq(o.ct_addr.family, AF_INET);
	cr_assert_eq(o.ct_addr.addr.v4, ip("203.0.113.10"));
	cr_assert_eq(parse(CMD_STATS, &o, bad_watch), -1);
	cr_assert_eq(parse(CMD_CONNTRACK, &o, bad_proto), -1);
}

Test(options, help_is_per_subcommand)
{
	cr_assert_eq(opts_command("conntrack"), CMD_CONNTRACK);
	cr_assert_eq(opts_command("conntrak"), 0);
}

Test(config, every_spelling_of_the_config_option)
{
	struct relay_opts o;

	write_conf("role = back\ndev = wg0\nfront = 10.22.22.2\ntable = 7\n");
	char joined[96], eq[96];

	snprintf(joined, sizeof(joined), "-c%s", conf_path);
	snprintf(eq, sizeof(eq), "--config=%s", conf_path);
	const char *a[] = { "attach", "--config", conf_path, NULL };
	const char *b[] = { "attach", joined, NULL };
	const char *c[] = { "attach", eq, "--table", "8", NULL };

	cr_assert_eq(parse(CMD_ATTACH, &o, a), 0);
	cr_assert_eq(o.table, 7);
	cr_assert_eq(parse(CMD_ATTACH, &o, b), 0);
	cr_assert_eq(o.table, 7);
	cr_assert_eq(parse(CMD_ATTACH, &o, c), 0);
	cr_assert_eq(o.table, 8);
}

Test(config, help_wins_and_still_checks_the_file)
{
	struct relay_opts o;
	const char *help[] = { "attach", "--help", NULL };

	cr_assert_not_null(freopen("/dev/null", "w", stdout)); /* the help text */
	cr_assert_eq(parse(CMD_ATTACH, &o, help), 1, "--help needs no --role");
	write_conf("role = front\nmss = 1\n");
	const char *bad[] = { "attach", "-c", conf_path, "--help", NULL };

	cr_assert_eq(parse(CMD_ATTACH, &o, bad), -1, "a bad file is reported even with --help");
}

/* Backends and addresses of both families anywhere an address is taken;
 * several backends of a family share the default service. */
Test(options, backend_and_public_ip_take_both_families)
{
	struct relay_opts o;
	uint8_t b6[16];
	const char *both[] = { "attach", "-r", "front", "-d", "f0", "--backend", "10.22.22.1",
			       "--backend", "2001:db8:22::1", "--public-ip",
			       "203.0.113.1,2001:db8:1::1", NULL };
	const char *only6[] = { "attach", "-r", "front", "-d", "f0", "--backend",
				"2001:db8:22::1", NULL };
	const char *two4[] = { "attach", "-r", "front", "-d", "f0", "--backend", "10.22.22.1",
			       "--backend", "10.22.22.5", NULL };
	const char *bad[] = { "attach", "-r", "front", "-d", "f0", "--backend", "::", NULL };
	const char *ct6[] = { "conntrack", "--addr", "2001:db8:1::10", NULL };

	inet_pton(AF_INET6, "2001:db8:22::1", b6);
	cr_assert_eq(parse(CMD_ATTACH, &o, both), 0);
	cr_assert_eq(o.n_backends, 2);
	cr_assert_eq(o.backends[0].addr.addr.v4, ip("10.22.22.1"));
	cr_assert_arr_eq(o.backends[1].addr.addr.v6, b6, 16);
	cr_assert_str_eq(o.backends[1].service, "", "the default service's");
	cr_assert_eq(o.n_public, 2);
	cr_assert_eq(o.public_ips[0].family, AF_INET);
	cr_assert_eq(o.public_ips[1].family, AF_INET6);
	cr_assert_eq(parse(CMD_ATTACH, &o, only6), 0);
	cr_assert_not(opts_has_family(&o, AF_INET));
	cr_assert(opts_has_family(&o, AF_INET6));
	cr_assert_eq(parse(CMD_ATTACH, &o, two4), 0, "two backends of the default service");
	cr_assert_eq(o.n_backends, 2);
	cr_assert_eq(parse(CMD_ATTACH, &o, bad), -1, ":: is no address");
	cr_assert_eq(parse(CMD_CONNTRACK, &o, ct6), 0);
	cr_assert_eq(o.ct_addr.family, AF_INET6);
}

Test(config, announce_is_the_daemons_and_the_fronts)
{
	struct relay_opts o;
	const char *both[] = { "daemon", "-r", "front", "-d", "f0", "--backend", "10.22.22.1",
			       "--announce", "203.0.113.100", "--announce", "2001:db8:1:ff::100",
			       "--announce-table", "200", NULL };
	const char *dflt[] = { "daemon", "-r", "front", "-d", "f0", "--backend", "10.22.22.1",
			       NULL };
	const char *on_attach[] = { "attach", "-r", "front", "-d", "f0", "--backend",
				    "10.22.22.1", "--announce", "203.0.113.100", NULL };
	const char *on_back[] = { "daemon", "-r", "back", "-d", "wg0", "--front", "10.22.22.2",
				  "--announce", "203.0.113.100", NULL };
	const char *table_255[] = { "daemon", "-r", "front", "-d", "f0", "--backend",
				    "10.22.22.1", "--announce-table", "255", NULL };
	const char *table_main[] = { "daemon", "-r", "front", "-d", "f0", "--backend",
				     "10.22.22.1", "--announce-table", "254", NULL };
	const char *over_file[] = { "daemon", "-c", conf_path, "--announce", "203.0.113.7", NULL };
	const char *drain[] = { "drain", NULL };

	cr_assert_eq(parse(CMD_DAEMON, &o, both), 0);
	cr_assert_eq(o.n_announce, 2);
	cr_assert_eq(o.announce[0].family, AF_INET);
	cr_assert_eq(o.announce[1].family, AF_INET6);
	cr_assert_eq(o.announce_table, 200);
	cr_assert_eq(parse(CMD_DAEMON, &o, dflt), 0);
	cr_assert_eq(o.n_announce, 0);
	cr_assert_eq(o.announce_table, RELAY_ANNOUNCE_TABLE);
	cr_assert_eq(parse(CMD_ATTACH, &o, on_attach), -1, "attach does not announce");
	cr_assert_eq(parse(CMD_DAEMON, &o, on_back), -1, "the back does not announce");
	cr_assert_eq(parse(CMD_DAEMON, &o, table_255), -1, "255 is the local table");
	cr_assert_eq(parse(CMD_DAEMON, &o, table_main), 0, "main, for FRR 8.4");
	cr_assert_eq(o.announce_table, 254);
	cr_assert_eq(parse(CMD_DRAIN, &o, drain), 0);
	/* The command line's list replaces the file's. */
	write_conf("role = front\ndev = f0\nbackend = 10.22.22.1\n"
		   "announce = 203.0.113.100, 203.0.113.101\n");
	cr_assert_eq(parse(CMD_DAEMON, &o, over_file), 0);
	cr_assert_eq(o.n_announce, 1);
	cr_assert_eq(o.announce[0].addr.v4, ip("203.0.113.7"));
}

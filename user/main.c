// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf: relay traffic to a backend through a tunnel, keeping the
 * client's real IP, with an eBPF datapath. Subcommand dispatch. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "commands.h"

static const char usage[] =
	"Usage:\n"
	"  relaybpf attach --role front --dev IF --backend IP [--tunnel-dev IF]\n"
	"                  [--public-ip IP]... [--exclude PROTO:PORT[-PORT],...]\n"
	"                  [--ports PROTO:PORT[-PORT],...] [--mss auto|off|N] [--ct-max N]\n"
	"  relaybpf attach --role back --dev TUNIF --front IP [--mark VALUE[/MASK]] [--table ID]\n"
	"  relaybpf daemon ATTACH-OPTIONS   attach, then repair it after tunnel restarts\n"
	"                  until SIGTERM/SIGINT, which detach it\n"
	"  relaybpf detach [--role front|back] [--dev IF]\n"
	"  relaybpf stats [--json]\n"
	"\n"
	"Front: relays traffic addressed to the public addresses of --dev (or --public-ip)\n"
	"to --backend through the tunnel, keeping the client's address; tcp:22 and other\n"
	"--exclude ports stay with the host. Defaults: --tunnel-dev from the route to the\n"
	"backend, --exclude tcp:22, --mss auto (tunnel MTU - 40), --ct-max 65536.\n"
	"Back: marks packets from the tunnel (--mark 0x1), and routes marked replies back\n"
	"into it (ip rule fwmark MARK/MASK lookup TABLE priority 9000, --table 100).\n"
	"Daemon: attaches like attach, then follows rtnetlink: when a device it uses\n"
	"appears, comes up or changes MTU (a tunnel restarted or recreated), or the back's\n"
	"rule or table route is deleted, it attaches again (~100 ms later) and logs it on\n"
	"stderr. SIGTERM/SIGINT detach its role (the back: its own tunnel) and exit 0.\n"
	"\n"
	"State is pinned under /sys/fs/bpf/relaybpf/netns-<cookie>/ per network namespace.\n"
	"Exit status: 0 success, 1 failure, 2 usage error.\n";

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	/* libbpf's warnings (a verifier log, say) matter; its chatter does not. */
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

int main(int argc, char **argv)
{
	struct relay_opts o;
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage, cmd ? stdout : stderr);
		return cmd ? 0 : EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		}
	opts_defaults(&o);
	if (opts_parse(argc - 1, argv + 1, &o))
		return EXIT_USAGE;
	libbpf_set_print(libbpf_quiet);
	if (geteuid() != 0) {
		fprintf(stderr, "relaybpf: %s needs root (CAP_BPF and CAP_NET_ADMIN)\n", cmd);
		return 1;
	}

	if (!strcmp(cmd, "attach")) {
		if (o.role == ROLE_FRONT)
			return cmd_attach_front(&o);
		if (o.role == ROLE_BACK)
			return cmd_attach_back(&o);
		fprintf(stderr, "relaybpf: attach needs --role front or --role back\n");
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "daemon"))
		return cmd_daemon(&o);
	if (!strcmp(cmd, "detach"))
		return cmd_detach(&o);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(&o);
	fprintf(stderr, "relaybpf: unknown command '%s'\n%s", cmd, usage);
	return EXIT_USAGE;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf: relay traffic to a backend through a tunnel, keeping the
 * client's real IP, with an eBPF datapath. Subcommand dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "commands.h"
#include "version.h"

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char *msg = NULL;
	int n;

	/* libbpf's warnings (a verifier log, say) matter; its chatter does not,
	 * nor the kernel's note that the clsact qdisc exists already, which
	 * attach expects when it runs again or shares the qdisc. */
	if (level != LIBBPF_WARN)
		return 0;
	/* Formatted whole: a verifier log is long and must not be cut. */
	n = vasprintf(&msg, fmt, args);
	if (n < 0)
		return 0;
	if (!strstr(msg, "Exclusivity flag on"))
		fputs(msg, stderr);
	free(msg);
	return n;
}

/* Said once, after a successful attach by hand (the daemon's own attaches
 * do not say it): what attach installed does not maintain itself. */
static int attach_and_hint(const struct relay_opts *o)
{
	int err = o->role == ROLE_FRONT ? cmd_attach_front(o) : cmd_attach_back(o);

	if (!err)
		printf("relaybpf: note: a tunnel restart or another tool can take part of this away; "
		       "`relaybpf status` checks every piece, `relaybpf daemon` (the systemd unit "
		       "relaybpf@%s) repairs such drift by itself\n",
		       o->role == ROLE_FRONT ? "front" : "back");
	return err;
}

static int run(enum relay_cmd cmd, const struct relay_opts *o)
{
	switch (cmd) {
	case CMD_ATTACH:
		return attach_and_hint(o);
	case CMD_DETACH:
		return cmd_detach(o);
	case CMD_STATUS:
		return cmd_status(o);
	case CMD_STATS:
		return cmd_stats(o);
	case CMD_CONNTRACK:
		return cmd_conntrack(o);
	case CMD_DAEMON:
		return cmd_daemon(o);
	case CMD_DRAIN:
	case CMD_UNDRAIN:
		return cmd_drain(o, cmd == CMD_DRAIN);
	case CMD_BACKEND:
		return cmd_backend(o);
	}
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	char *args[argc + 2];
	const char *config = NULL;
	struct relay_opts o;
	enum relay_cmd cmd;
	int n = 0, first = 1, ret;

	/* `relaybpf -c FILE COMMAND ...` is `relaybpf COMMAND -c FILE ...`. */
	if (argc > 2 && (!strcmp(argv[1], "-c") || !strcmp(argv[1], "--config"))) {
		config = argv[2];
		first = 3;
	}
	if (first >= argc || !strcmp(argv[first], "-h") || !strcmp(argv[first], "--help") ||
	    !strcmp(argv[first], "help")) {
		opts_usage(0, first < argc ? stdout : stderr);
		return first < argc ? 0 : EXIT_USAGE;
	}
	if (!strcmp(argv[first], "-V") || !strcmp(argv[first], "--version")) {
		libbpf_set_print(libbpf_quiet);
		version_print(stdout);
		return 0;
	}
	cmd = opts_command(argv[first]);
	if (!cmd) {
		fprintf(stderr, "relaybpf: unknown command '%s'\n", argv[first]);
		opts_usage(0, stderr);
		return EXIT_USAGE;
	}
	for (int i = first; i < argc; i++)
		args[n++] = argv[i];
	if (config) {
		args[n++] = "--config";
		args[n++] = (char *)config;
	}
	args[n] = NULL;
	opts_defaults(&o);
	ret = opts_parse(cmd, n, args, &o);
	if (ret)
		return ret > 0 ? 0 : EXIT_USAGE;

	libbpf_set_print(libbpf_quiet);
	if (geteuid() != 0) {
		fprintf(stderr, "relaybpf: %s needs root (CAP_BPF and CAP_NET_ADMIN)\n",
			argv[first]);
		return 1;
	}
	return run(cmd, &o);
}

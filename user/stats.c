// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf stats [--json | --prometheus] [--watch SECONDS] */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "commands.h"
#include "health.h"
#include "inspect.h"
#include "pin.h"

#define RELAY_COUNTER_NAME(id, name) name,
static const char *const counter_names[RELAY_C_MAX] = { RELAY_COUNTERS(RELAY_COUNTER_NAME)
								 RELAY_COUNTERS_EXTRA(RELAY_COUNTER_NAME) };
#undef RELAY_COUNTER_NAME

static const char *const roles[] = { "front", "back" };
#define N_ROLES 2

/* One role's counters summed over CPUs, its conntrack fill and how many
 * pieces it relies on are missing (status's checks). */
struct role_stats {
	bool attached;
	__u64 c[RELAY_C_MAX];
	__u32 ct_entries, ct_max;
	int problems;
};

static int read_counters(const char *dir, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus(), fd, err = 0;
	__u64 *percpu;

	if (ncpu <= 0)
		return -EINVAL;
	fd = pin_open(dir, "relay_stats");
	if (fd < 0)
		return fd;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu) {
		close(fd);
		return -ENOMEM;
	}
	for (__u32 i = 0; i < RELAY_C_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, percpu)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			out[i] += percpu[c];
	}
	free(percpu);
	close(fd);
	return err;
}

static void read_all(struct role_stats *s, bool health)
{
	static void (*const checks[N_ROLES])(const char *, struct relay_problems *) = {
		health_front, health_back
	};
	char dir[PATH_MAX];

	for (int r = 0; r < N_ROLES; r++) {
		memset(&s[r], 0, sizeof(s[r]));
		s[r].attached = inspect_dir(roles[r], dir, sizeof(dir)) &&
				read_counters(dir, s[r].c) == 0;
		if (s[r].attached && r == 0)
			inspect_ct_fill(dir, &s[r].ct_entries, &s[r].ct_max);
		if (s[r].attached && health) {
			struct relay_problems p = { 0 };

			checks[r](dir, &p);
			s[r].problems = p.n;
		}
	}
}

static void print_json(const struct role_stats *s)
{
	int shown = 0;

	printf("{");
	for (int r = 0; r < N_ROLES; r++) {
		if (!s[r].attached)
			continue;
		printf("%s\"%s\":{", shown++ ? "," : "", roles[r]);
		for (int i = 0; i < RELAY_C_MAX; i++)
			printf("%s\"%s\":%llu", i ? "," : "", counter_names[i],
			       (unsigned long long)s[r].c[i]);
		if (r == 0)
			printf(",\"conntrack_entries\":%u,\"conntrack_max\":%u", s[r].ct_entries,
			       s[r].ct_max);
		printf("}");
	}
	printf("}\n");
}

/* Prometheus text exposition format: every metric with its HELP and TYPE,
 * counters named _total, labels role (and the metric families' own). */
static void print_prometheus(FILE *f, const struct role_stats *s)
{
	/* An alert on relaybpf_degraded == 1 is the seed recipe's "check the
	 * rules regularly for unexpected changes", done for the operator. */
	fprintf(f, "# HELP relaybpf_up 1 while the role is attached in this network namespace\n"
		   "# TYPE relaybpf_up gauge\n");
	for (int r = 0; r < N_ROLES; r++)
		fprintf(f, "relaybpf_up{role=\"%s\"} %d\n", roles[r], s[r].attached);
	fprintf(f, "# HELP relaybpf_degraded 1 while a piece the role relies on is missing "
		   "(relaybpf status names it)\n# TYPE relaybpf_degraded gauge\n");
	for (int r = 0; r < N_ROLES; r++)
		if (s[r].attached)
			fprintf(f, "relaybpf_degraded{role=\"%s\"} %d\n", roles[r],
				s[r].problems > 0);
	for (int i = 0; i < RELAY_C_MAX; i++) {
		fprintf(f, "# HELP relaybpf_%s_total relaybpf's %s counter, summed over CPUs "
			   "(relaybpf stats)\n# TYPE relaybpf_%s_total counter\n",
			counter_names[i], counter_names[i], counter_names[i]);
		for (int r = 0; r < N_ROLES; r++)
			if (s[r].attached)
				fprintf(f, "relaybpf_%s_total{role=\"%s\"} %llu\n", counter_names[i],
					roles[r], (unsigned long long)s[r].c[i]);
	}
	if (s[0].attached)
		fprintf(f, "# HELP relaybpf_conntrack_entries Flows in the front's flow table\n"
			   "# TYPE relaybpf_conntrack_entries gauge\n"
			   "relaybpf_conntrack_entries{role=\"front\"} %u\n"
			   "# HELP relaybpf_conntrack_max The front's flow table size (--ct-max)\n"
			   "# TYPE relaybpf_conntrack_max gauge\n"
			   "relaybpf_conntrack_max{role=\"front\"} %u\n",
			s[0].ct_entries, s[0].ct_max);
}

void stats_prometheus(FILE *f)
{
	struct role_stats now[N_ROLES];

	read_all(now, true);
	print_prometheus(f, now);
}

/* Text: non-zero counters; with prev, a rate column over secs. */
static void print_text(const struct role_stats *s, const struct role_stats *prev, int secs)
{
	int shown = 0;

	for (int r = 0; r < N_ROLES; r++) {
		if (!s[r].attached)
			continue;
		shown++;
		if (prev)
			printf("%-6s %-24s %20s %14s\n", roles[r], "", "total", "per second");
		else
			printf("%s:\n", roles[r]);
		for (int i = 0; i < RELAY_C_MAX; i++) {
			if (!s[r].c[i] && !prev)
				continue;
			printf("  %-28s %20llu", counter_names[i], (unsigned long long)s[r].c[i]);
			if (prev && prev[r].attached)
				printf(" %14.1f", (double)(s[r].c[i] - prev[r].c[i]) / secs);
			printf("\n");
		}
		if (r == 0)
			printf("  %-28s %20u (of %u)\n", "conntrack_entries", s[r].ct_entries,
			       s[r].ct_max);
	}
	if (!shown)
		printf("relaybpf: nothing attached in this network namespace\n");
}

int cmd_stats(const struct relay_opts *o)
{
	struct role_stats now[N_ROLES], prev[N_ROLES];

	if (o->json && o->prometheus) {
		fprintf(stderr, "relaybpf: stats takes --json or --prometheus, not both\n");
		return EXIT_USAGE;
	}
	if (inspect_reachable())
		return 1;
	read_all(now, o->prometheus);
	if (!o->watch) {
		if (o->json)
			print_json(now);
		else if (o->prometheus)
			print_prometheus(stdout, now);
		else
			print_text(now, NULL, 0);
		return 0;
	}
	/* Machine formats print one record per interval; the table is
	 * redrawn in place (cursor home, clear to the end). */
	for (;;) {
		memcpy(prev, now, sizeof(prev));
		sleep(o->watch);
		read_all(now, o->prometheus);
		if (o->json) {
			print_json(now);
		} else if (o->prometheus) {
			print_prometheus(stdout, now);
		} else {
			printf("\033[H\033[J");
			printf("relaybpf stats, every %ds (Ctrl-C to stop)\n\n", o->watch);
			print_text(now, prev, o->watch);
		}
		fflush(stdout);
	}
}

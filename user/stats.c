// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf stats [--json] */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "commands.h"
#include "pin.h"
#include "state.h"

#define RELAY_COUNTER_NAME(id, name) name,
static const char *const counter_names[RELAY_C_MAX] = { RELAY_COUNTERS(RELAY_COUNTER_NAME) };
#undef RELAY_COUNTER_NAME

/* Sums the role's per-CPU counters into out[RELAY_C_MAX]. */
static int read_counters(const char *role, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus(), fd, err = 0;
	char dir[PATH_MAX];
	__u64 *percpu;

	if (ncpu <= 0 || relay_state_dir(role, false, dir, sizeof(dir)))
		return -ENOENT;
	fd = pin_open(dir, "relay_stats");
	if (fd < 0)
		return fd;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu) {
		close(fd);
		return -ENOMEM;
	}
	memset(out, 0, RELAY_C_MAX * sizeof(*out));
	for (__u32 i = 0; i < RELAY_C_MAX && !err; i++) {
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

int cmd_stats(const struct relay_opts *o)
{
	static const char *const roles[] = { "front", "back" };
	__u64 counters[RELAY_C_MAX];
	int shown = 0;

	if (o->json)
		printf("{");
	for (unsigned r = 0; r < 2; r++) {
		if (!relay_state_exists(roles[r]) || read_counters(roles[r], counters))
			continue;
		if (o->json) {
			printf("%s\"%s\":{", shown ? "," : "", roles[r]);
			for (int i = 0; i < RELAY_C_MAX; i++)
				printf("%s\"%s\":%llu", i ? "," : "", counter_names[i],
				       (unsigned long long)counters[i]);
			printf("}");
		} else {
			printf("%s:\n", roles[r]);
			for (int i = 0; i < RELAY_C_MAX; i++)
				if (counters[i])
					printf("  %-22s %llu\n", counter_names[i],
					       (unsigned long long)counters[i]);
		}
		shown++;
	}
	if (o->json)
		printf("}\n");
	else if (!shown)
		printf("relaybpf: nothing attached in this network namespace\n");
	return 0;
}

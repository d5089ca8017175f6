// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * relaybpf backend drain|undrain [SERVICE] ADDR[:PORT]: the operator's
 * hold (RELAY_HOLD_DRAIN) on a backend of the attached front. Drained, it
 * leaves its service's Maglev rows (no new flows) and keeps its flows; the
 * hold lives in the pinned relay_backends, so an attach again with the
 * same --backend and a daemon restart keep it (docs/services.md, "Backend
 * state").
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "services.h"
#include "state.h"

int cmd_backend(const struct relay_opts *o)
{
	struct relay_backend_opt bo;
	struct svc_live *l;
	char spec[256], err[256], dir[PATH_MAX], name[96];
	bool drain = o->n_args >= 1 && !strcmp(o->args[0], "drain");
	int found, e;

	if (o->n_args < 2 || o->n_args > 3 || (!drain && strcmp(o->args[0], "undrain") != 0)) {
		fprintf(stderr, "relaybpf: expected backend drain|undrain [SERVICE] ADDR[:PORT]\n");
		return EXIT_USAGE;
	}
	snprintf(spec, sizeof(spec), "%s%s%s", o->n_args == 3 ? o->args[1] : "",
		 o->n_args == 3 ? "=" : "", o->args[o->n_args - 1]);
	if (o->n_args == 3 && !strcmp(o->args[1], "default"))
		snprintf(spec, sizeof(spec), "%s", o->args[2]);
	if (svc_parse_backend(spec, &bo, err, sizeof(err))) {
		fprintf(stderr, "relaybpf: %s\n", err);
		return EXIT_USAGE;
	}
	if (!relay_state_exists("front") || relay_state_dir("front", false, dir, sizeof(dir))) {
		fprintf(stderr, "relaybpf: no front is attached in this network namespace\n");
		return 1;
	}
	if ((e = svc_live_open(dir, &l))) {
		fprintf(stderr, "relaybpf: reading the services failed: %s\n", strerror(-e));
		return 1;
	}
	svc_backend_str(&bo, name, sizeof(name));
	found = svc_hold_set(&l->p, &bo, drain ? RELAY_HOLD_DRAIN : 0, drain ? 0 : RELAY_HOLD_DRAIN);
	e = found ? svc_live_commit(l) : 0;
	svc_live_close(l);
	if (!found) {
		fprintf(stderr, "relaybpf: no backend %s is attached\n", name);
		return 1;
	}
	if (e) {
		fprintf(stderr, "relaybpf: writing the services failed: %s\n", strerror(-e));
		return 1;
	}
	printf("relaybpf: backend %s %s\n", name, drain ? "drained: no new flows, its flows go on" :
							"undrained");
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * relaybpf drain / undrain: takes this front out of (puts it back into) the
 * set of fronts the network sends new clients to, without touching the
 * datapath: the flows it relays go on. The mark is a pin in the front's
 * state (RELAY_DRAINED_PIN), so it lasts across daemon restarts and
 * detach removes it with the rest; the daemon's --announce withdraws the
 * front's addresses within a second of seeing it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "commands.h"
#include "health.h"
#include "state.h"

int cmd_drain(const struct relay_opts *o, bool drain)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int fd, err = 0;

	(void)o;
	if (!relay_state_exists("front") || relay_state_dir("front", false, dir, sizeof(dir))) {
		fprintf(stderr, "relaybpf: no front is attached in this network namespace\n");
		return 1;
	}
	relay_path(path, dir, RELAY_DRAINED_PIN);
	if (!drain) {
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	} else if (!health_drained(dir)) {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "relay_drained", 4, 4, 1, NULL);
		if (fd < 0 || bpf_obj_pin(fd, path))
			err = -errno;
		if (fd >= 0)
			close(fd);
	}
	if (err) {
		fprintf(stderr, "relaybpf: %s: %s\n", path, strerror(-err));
		return 1;
	}
	printf("relaybpf: front %s\n", drain ? "drained: the daemon withdraws its --announce "
				       "addresses; relayed flows go on" : "undrained");
	return 0;
}

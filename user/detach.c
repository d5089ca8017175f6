// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf detach [--role front|back] [--dev IF] */
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "back.h"
#include "commands.h"
#include "front.h"
#include "inspect.h"
#include "pin.h"
#include "state.h"
#include "tc.h"

/* --dev narrows detach to the front attached to that device (its public
 * device or one of its tunnels). */
static bool dev_matches(const struct relay_opts *o, const struct relay_front_config *cfg)
{
	__u32 idx = o->dev ? if_nametoindex(o->dev) : 0;

	return !o->dev || (idx && (idx == cfg->public_ifindex || front_cfg_has_tunnel(cfg, idx)));
}

static int detach_front(const struct relay_opts *o, const char *dir)
{
	struct relay_front_config cfg;
	__u32 tuns[RELAY_MAX_FRONT_TUNNELS];
	int n;

	/* Zeroed when missing: no device to match or detach. */
	pin_front_cfg_read(dir, &cfg);
	if (!dev_matches(o, &cfg))
		return 0;
	tc_detach_ingress(cfg.public_ifindex);
	n = front_cfg_tunnels(&cfg, tuns, NULL);
	for (int i = 0; i < n; i++)
		tc_detach_ingress(tuns[i]);
	relay_state_remove("front");
	printf("relaybpf: front detached\n");
	return 1;
}

static int detach_back(const struct relay_opts *o, const char *dir)
{
	__u32 ifindex = o->dev ? if_nametoindex(o->dev) : 0;
	int n;

	if (o->dev && !ifindex)
		return 0;
	n = back_detach(dir, ifindex);
	if (n)
		printf("relaybpf: back detached (%d tunnel%s)\n", n, n == 1 ? "" : "s");
	return n > 0;
}

int cmd_detach(const struct relay_opts *o)
{
	char dir[PATH_MAX];
	int done = 0;

	if (inspect_reachable())
		return 1;

	if (o->role != ROLE_BACK && relay_state_exists("front") &&
	    relay_state_dir("front", false, dir, sizeof(dir)) == 0)
		done += detach_front(o, dir);
	if (o->role != ROLE_FRONT && relay_state_exists("back") &&
	    relay_state_dir("back", false, dir, sizeof(dir)) == 0)
		done += detach_back(o, dir);
	if (!done)
		printf("relaybpf: nothing to detach%s%s\n", o->dev ? " on " : "",
		       o->dev ? o->dev : "");
	return 0;
}

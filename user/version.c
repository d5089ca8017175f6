// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "compat.h"
#include "json.h"
#include "netlink.h"
#include "version.h"

/* The Makefile passes the VERSION file's line. */
#ifndef RELAY_VERSION
#error "RELAY_VERSION is not defined (the Makefile defines it from VERSION)"
#endif

/* Whether the kernel reports a device's XDP features (the netdev netlink
 * family, Linux 6.3), without which attach refuses --xdp-mode native.
 * Asked about lo (ifindex 1 in every namespace): the family's presence is
 * the answer, not lo's features. */
static bool xdp_features_reported(void)
{
	uint64_t features;

	return nl_xdp_features(1, &features) != -ENOENT;
}

static const char *kernel_release(struct utsname *u)
{
	return uname(u) ? "?" : u->release;
}

void version_print(FILE *f)
{
	const struct relay_features *feat = relay_features();
	struct utsname u;

	fprintf(f, "relaybpf %s\n", RELAY_VERSION);
	fprintf(f, "kernel %s: bpf_l4_csum_replace BPF_F_IPV6 %s, XDP features for --xdp-mode "
		   "native %s\n", kernel_release(&u),
		feat->forced ? "off (RELAYBPF_FORCE_FALLBACK)" :
		feat->unprobed ? "unknown (the probe needs root)" :
		feat->l4_csum_ipv6 ? "yes" : "no (IPv6 rewrites take the fallback)",
		xdp_features_reported() ? "yes" : "no (Linux 6.3 reports them)");
}

void version_json(void)
{
	const struct relay_features *feat = relay_features();
	struct utsname u;

	printf("\"version\":");
	json_string(RELAY_VERSION);
	printf(",\"kernel\":{\"release\":");
	json_string(kernel_release(&u));
	printf(",\"bpf_f_ipv6\":%s,\"xdp_features\":%s}",
	       feat->unprobed ? "null" : feat->l4_csum_ipv6 ? "true" : "false",
	       xdp_features_reported() ? "true" : "false");
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* relaybpf --version and status --json's "version": the build's version
 * (the VERSION file) and what the running kernel offers beyond 6.1. */
#ifndef RELAY_VERSION_H
#define RELAY_VERSION_H

#include <stdio.h>

/* "relaybpf VERSION", then a line with the kernel's release and the
 * features newer than 6.1 that relaybpf probed, each yes, no or why it
 * does not know. */
void version_print(FILE *f);
/* The same as members of a JSON object on stdout, without braces:
 * "version":"0.6.0","kernel":{"release":...,"bpf_f_ipv6":true|false|null,
 * "xdp_features":true|false}. */
void version_json(void);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The subcommands; each returns the process exit status (0, 1 or 2). */
#ifndef RELAY_COMMANDS_H
#define RELAY_COMMANDS_H

#include "options.h"

int cmd_attach_front(const struct relay_opts *o);
int cmd_attach_back(const struct relay_opts *o);
/* Attaches, reattaches after tunnel restarts, detaches on SIGTERM/SIGINT. */
int cmd_daemon(const struct relay_opts *o);
int cmd_detach(const struct relay_opts *o);
int cmd_status(const struct relay_opts *o);
int cmd_stats(const struct relay_opts *o);
int cmd_conntrack(const struct relay_opts *o);
/* drain (true) or undrain the attached front. */
int cmd_drain(const struct relay_opts *o, bool drain);
/* backend drain|undrain [SERVICE] ADDR: an operator's hold on a backend. */
int cmd_backend(const struct relay_opts *o);
/* What `stats --prometheus` prints, read now, to f (the daemon's --metrics). */
void stats_prometheus(FILE *f);
struct svc_report;
/* Its front's services part, from r (the unit tests pin its format). */
void stats_prometheus_services(FILE *f, const struct svc_report *r);

#endif

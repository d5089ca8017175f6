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
#include "json.h"
#include "pin.h"
#include "services.h"

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

/* relay_stats as the builds before struct relay_stats_value pinned it (one
 * entry per counter), until an attach by this one converts it: read as it
 * is meanwhile (an upgraded package's `stats` and metrics before it). */
static int read_counters_v1(int fd, int ncpu, __u64 *out)
{
	__u64 *percpu = calloc(ncpu, sizeof(*percpu));
	int err = 0;

	if (!percpu)
		return -ENOMEM;
	for (__u32 i = 0; i < RELAY_C_MAX; i++) {
		if (bpf_map_lookup_elem(fd, &i, percpu)) {
			err = errno == ENOENT ? 0 : -errno; /* past its entries: 0 */
			break;
		}
		for (int c = 0; c < ncpu; c++)
			out[i] += percpu[c];
	}
	free(percpu);
	return err;
}

/* relay_stats' one value, each CPU's (struct relay_stats_value), summed. */
static int read_counters(const char *dir, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus(), fd, err = 0;
	struct bpf_map_info info = { 0 };
	struct relay_stats_value *percpu;
	__u32 zero = 0, len = sizeof(info);

	if (ncpu <= 0)
		return -EINVAL;
	fd = pin_open(dir, "relay_stats");
	if (fd < 0)
		return fd;
	memset(out, 0, RELAY_C_MAX * sizeof(*out));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		err = -errno;
	else if (info.value_size == sizeof(__u64))
		err = read_counters_v1(fd, ncpu, out);
	else if (info.value_size != sizeof(*percpu))
		err = -EPROTO; /* another version's: status says so */
	if (err || info.value_size != sizeof(*percpu)) {
		close(fd);
		return err;
	}
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		err = -ENOMEM;
	else if (bpf_map_lookup_elem(fd, &zero, percpu))
		err = -errno;
	for (int c = 0; c < ncpu && !err; c++)
		for (__u32 i = 0; i < RELAY_C_MAX; i++)
			out[i] += percpu[c].c[i];
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
			inspect_ct_fill(dir, &s[r].ct_entries, &s[r].ct_max, NULL);
		if (s[r].attached && health) {
			struct relay_problems p = { 0 };

			checks[r](dir, &p);
			s[r].problems = p.n;
		}
	}
}

/* The backend's name in stats: ADDR or ADDR:PORT. */
static const char *backend_name(const struct svc_report *r, int id, char *buf, size_t len)
{
	const struct relay_backend *b = &r->backends[id];

	return svc_addr_str(b->family, &b->addr, b->port, buf, len);
}

static const char *service_name(const struct svc_report *r, int i)
{
	return i ? r->services[i].name : "default";
}

/* One service's counters: the sum of its backends'. */
static void service_sum(const struct svc_report *r, int i, struct relay_backend_stats *sum,
			__u32 *flows)
{
	memset(sum, 0, sizeof(*sum));
	*flows = 0;
	for (int id = 1; id < RELAY_MAX_BACKENDS; id++) {
		if (!r->backends[id].family || r->backends[id].service != i)
			continue;
		for (int d = 0; d < 2; d++) {
			sum->packets[d] += r->stats[id].packets[d];
			sum->bytes[d] += r->stats[id].bytes[d];
		}
		sum->new_flows += r->stats[id].new_flows;
		*flows += r->flows[id];
	}
}

static void json_counts(const struct relay_backend_stats *c, __u32 flows)
{
	printf("\"packets_to_backend\":%llu,\"bytes_to_backend\":%llu,\"packets_to_client\":%llu,"
	       "\"bytes_to_client\":%llu,\"new_flows\":%llu,\"flows\":%u",
	       (unsigned long long)c->packets[RELAY_DIR_ORIG],
	       (unsigned long long)c->bytes[RELAY_DIR_ORIG],
	       (unsigned long long)c->packets[RELAY_DIR_REPLY],
	       (unsigned long long)c->bytes[RELAY_DIR_REPLY], (unsigned long long)c->new_flows,
	       flows);
}

/* "services":{"web":{counters...,"backends":{"10.22.22.1":{counters...}}}} */
static void json_services(const struct svc_report *r)
{
	struct relay_backend_stats sum;
	char name[IP_STR_LEN + 8];
	__u32 flows;
	int shown = 0;

	printf(",\"services\":{");
	for (int i = 0; i < RELAY_SERVICE_SLOTS; i++) {
		int n = 0;

		if (!r->services[i].defined)
			continue;
		service_sum(r, i, &sum, &flows);
		printf("%s", shown++ ? "," : "");
		json_string(service_name(r, i));
		printf(":{");
		json_counts(&sum, flows);
		printf(",\"backends\":{");
		for (int id = 1; id < RELAY_MAX_BACKENDS; id++) {
			if (!r->backends[id].family || r->backends[id].service != i)
				continue;
			printf("%s\"%s\":{", n++ ? "," : "", backend_name(r, id, name, sizeof(name)));
			json_counts(&r->stats[id], r->flows[id]);
			printf("}");
		}
		printf("}}");
	}
	printf("}");
}

/* A backend's labels: role, service, backend, family. */
static void backend_labels(FILE *f, const struct svc_report *r, int id)
{
	char name[IP_STR_LEN + 8];

	fprintf(f, "role=\"front\",service=\"%s\",backend=\"%s\",family=\"%s\"",
		service_name(r, r->backends[id].service), backend_name(r, id, name, sizeof(name)),
		r->backends[id].family == AF_INET6 ? "ipv6" : "ipv4");
}

/* The per-backend metrics. */
enum backend_metric { BM_PACKETS, BM_BYTES, BM_NEW_FLOWS, BM_FLOWS, BM_UP, BM_LATENCY, BM_TRANSITIONS };

/* Backend id's sample of metric m (in direction d), into buf; false: it has
 * none (no probe yet). */
static bool backend_value(const struct svc_report *r, int id, enum backend_metric m, int d,
			  char *buf, size_t len)
{
	const struct relay_backend_stats *s = &r->stats[id];
	const struct relay_backend_health *h = &r->health[id];

	switch (m) {
	case BM_PACKETS:
		snprintf(buf, len, "%llu", (unsigned long long)s->packets[d]);
		break;
	case BM_BYTES:
		snprintf(buf, len, "%llu", (unsigned long long)s->bytes[d]);
		break;
	case BM_NEW_FLOWS:
		snprintf(buf, len, "%llu", (unsigned long long)s->new_flows);
		break;
	case BM_FLOWS:
		snprintf(buf, len, "%u", r->flows[id]);
		break;
	case BM_UP:
		snprintf(buf, len, "%d", r->backends[id].state == RELAY_BACKEND_UP);
		break;
	case BM_LATENCY:
		if (!h->last)
			return false;
		snprintf(buf, len, "%.6f", h->latency_us / 1e6);
		break;
	case BM_TRANSITIONS:
		snprintf(buf, len, "%llu", (unsigned long long)h->transitions);
		break;
	}
	return true;
}

/* Metric m's HELP and TYPE, then a sample per backend (packets and bytes:
 * one per direction, labelled so). */
static void prometheus_backends(FILE *f, const struct svc_report *r, enum backend_metric m,
				const char *metric, const char *type, const char *help)
{
	static const char *const dirs[2] = { "to_backend", "to_client" };
	int n_dirs = m == BM_PACKETS || m == BM_BYTES ? 2 : 1;
	char value[32];

	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, type);
	for (int id = 1; id < RELAY_MAX_BACKENDS; id++)
		for (int d = 0; r->backends[id].family && d < n_dirs; d++) {
			if (!backend_value(r, id, m, d, value, sizeof(value)))
				continue;
			fprintf(f, "%s{", metric);
			backend_labels(f, r, id);
			if (n_dirs > 1)
				fprintf(f, ",direction=\"%s\"", dirs[d]);
			fprintf(f, "} %s\n", value);
		}
}

/* Per backend, labelled with its service; per service, the sums; per
 * backend, its health as the daemon's checks see it (the state the datapath
 * reads; latency and transitions once a daemon has checked). */
void stats_prometheus_services(FILE *f, const struct svc_report *r)
{
	struct relay_backend_stats sum;
	__u32 flows;

	prometheus_backends(f, r, BM_PACKETS, "relaybpf_backend_packets_total", "counter",
			    "packets relayed per backend and direction");
	prometheus_backends(f, r, BM_BYTES, "relaybpf_backend_bytes_total", "counter",
			    "bytes relayed per backend and direction");
	prometheus_backends(f, r, BM_NEW_FLOWS, "relaybpf_backend_new_flows_total", "counter",
			    "flows the backend was chosen for (new, or moved from another backend)");
	prometheus_backends(f, r, BM_FLOWS, "relaybpf_backend_flows", "gauge",
			    "flows of the backend in the flow table");
	fprintf(f, "# HELP relaybpf_service_flows flows of the service in the flow table\n"
	       "# TYPE relaybpf_service_flows gauge\n");
	for (int i = 0; i < RELAY_SERVICE_SLOTS; i++) {
		if (!r->services[i].defined)
			continue;
		service_sum(r, i, &sum, &flows);
		fprintf(f, "relaybpf_service_flows{role=\"front\",service=\"%s\"} %u\n",
			service_name(r, i), flows);
	}
	prometheus_backends(f, r, BM_UP, "relaybpf_backend_up", "gauge",
			    "1 while the backend takes new flows (up), 0 while down or drained");
	prometheus_backends(f, r, BM_LATENCY, "relaybpf_backend_probe_latency_seconds", "gauge",
			    "the daemon's last health probe of the backend, how long it took");
	prometheus_backends(f, r, BM_TRANSITIONS, "relaybpf_backend_health_transitions_total",
			    "counter",
			    "the backend went down or came back up (health checks, its tunnel)");
}

/* Text: a line per service, then one per backend. */
static void text_services(const struct svc_report *r)
{
	struct relay_backend_stats sum;
	char name[IP_STR_LEN + 8];
	__u32 flows;

	printf("services:%42s %12s %12s %10s %8s\n", "packets in/out", "", "bytes in/out",
	       "new flows", "flows");
	for (int i = 0; i < RELAY_SERVICE_SLOTS; i++) {
		if (!r->services[i].defined)
			continue;
		service_sum(r, i, &sum, &flows);
		printf("  %-36s %12llu %12llu %12llu %12llu %10llu %8u\n", service_name(r, i),
		       (unsigned long long)sum.packets[0], (unsigned long long)sum.packets[1],
		       (unsigned long long)sum.bytes[0], (unsigned long long)sum.bytes[1],
		       (unsigned long long)sum.new_flows, flows);
		for (int id = 1; id < RELAY_MAX_BACKENDS; id++) {
			const struct relay_backend_stats *c = &r->stats[id];

			if (!r->backends[id].family || r->backends[id].service != i)
				continue;
			printf("    %-34s %12llu %12llu %12llu %12llu %10llu %8u\n",
			       backend_name(r, id, name, sizeof(name)),
			       (unsigned long long)c->packets[0], (unsigned long long)c->packets[1],
			       (unsigned long long)c->bytes[0], (unsigned long long)c->bytes[1],
			       (unsigned long long)c->new_flows, r->flows[id]);
		}
	}
}

static void print_json(const struct role_stats *s, const struct svc_report *svc)
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
		if (r == 0 && svc)
			json_services(svc);
		printf("}");
	}
	printf("}\n");
}

/* Prometheus text exposition format: every metric with its HELP and TYPE,
 * counters named _total, labels role (and the metric families' own). */
static void print_prometheus(FILE *f, const struct role_stats *s, const struct svc_report *svc)
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
	if (s[0].attached && svc)
		stats_prometheus_services(f, svc);
}

/* Text: non-zero counters; with prev, a rate column over secs. */
static void print_text(const struct role_stats *s, const struct role_stats *prev, int secs,
		       const struct svc_report *svc)
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
		if (r == 0 && svc)
			text_services(svc);
	}
	if (!shown)
		printf("relaybpf: nothing attached in this network namespace\n");
}

/* The front's services (NULL: no front, or one of a build before them). */
static const struct svc_report *read_services(struct svc_report *svc)
{
	char dir[PATH_MAX];

	return svc && inspect_dir("front", dir, sizeof(dir)) && !svc_report_read(dir, svc) ? svc :
													    NULL;
}

void stats_prometheus(FILE *f)
{
	struct role_stats now[N_ROLES];
	struct svc_report *svc = calloc(1, sizeof(*svc));

	read_all(now, true);
	print_prometheus(f, now, read_services(svc));
	free(svc);
}

int cmd_stats(const struct relay_opts *o)
{
	struct role_stats now[N_ROLES], prev[N_ROLES];
	struct svc_report *svc;

	if (o->json && o->prometheus) {
		fprintf(stderr, "relaybpf: stats takes --json or --prometheus, not both\n");
		return EXIT_USAGE;
	}
	if (inspect_reachable())
		return 1;
	svc = calloc(1, sizeof(*svc));
	read_all(now, o->prometheus);
	if (!o->watch) {
		if (o->json)
			print_json(now, read_services(svc));
		else if (o->prometheus)
			print_prometheus(stdout, now, read_services(svc));
		else
			print_text(now, NULL, 0, read_services(svc));
		free(svc);
		return 0;
	}
	/* Machine formats print one record per interval; the table is
	 * redrawn in place (cursor home, clear to the end). */
	for (;;) {
		memcpy(prev, now, sizeof(prev));
		sleep(o->watch);
		read_all(now, o->prometheus);
		if (o->json) {
			print_json(now, read_services(svc));
		} else if (o->prometheus) {
			print_prometheus(stdout, now, read_services(svc));
		} else {
			printf("\033[H\033[J");
			printf("relaybpf stats, every %ds (Ctrl-C to stop)\n\n", o->watch);
			print_text(now, prev, o->watch, read_services(svc));
		}
		fflush(stdout);
	}
}

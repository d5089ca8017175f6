// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* stats --prometheus, the front's services part: the exposition format of a
 * backend's metrics, pinned to the byte (scrapers and dashboards read it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <criterion/criterion.h>

#include "commands.h"
#include "services.h"

/* What stats_prometheus_services writes for r. */
static char *exposition(const struct svc_report *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert(f);
	stats_prometheus_services(f, r);
	fclose(f);
	return text;
}

/* Service web's one backend, [2001:db8::2]:8080, down, probed. */
static void one_backend(struct svc_report *r)
{
	memset(r, 0, sizeof(*r));
	r->services[1].defined = 1;
	strcpy(r->services[1].name, "web");
	r->backends[1].family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::2", &r->backends[1].addr);
	r->backends[1].port = 8080;
	r->backends[1].service = 1;
	r->backends[1].state = RELAY_BACKEND_DOWN;
	r->stats[1].packets[0] = 1;
	r->stats[1].packets[1] = 2;
	r->stats[1].bytes[0] = 3;
	r->stats[1].bytes[1] = 4;
	r->stats[1].new_flows = 5;
	r->flows[1] = 6;
	r->health[1].last = PROBE_PASSED;
	r->health[1].latency_us = 1500;
	r->health[1].transitions = 7;
}

Test(metrics_format, one_backend_byte_for_byte)
{
	static struct svc_report r;
	static const char want[] =
	"# HELP relaybpf_backend_packets_total packets relayed per backend and direction\n"
	"# TYPE relaybpf_backend_packets_total counter\n"
	"relaybpf_backend_packets_total{role=\"front\",service=\"web\",backend=\"[2001:db8::2]:8080\",family=\"ipv6\",direction=\"to_backend\"} 1\n"
	"relaybpf_backend_packets_total{role=\"front\",service=\"web\",backend=\"[2001:db8::2]:8080\",family=\"ipv6\",direction=\"to_client\"} 2\n"
	"# HELP relaybpf_backend_bytes_total bytes relayed per backend and direction\n"
	"# TYPE relaybpf_backend_bytes_total counter\n"
	"relaybpf_backend_bytes_total{role=\"front\",service=\"web\",backend=\"[2001:db8::2]:8080\",family=\"ipv6\",direction=\"to_backend\"} 3\n"
	"relaybpf_backend_bytes_total{role=\"front\",service=\"web\",backend=\"[2001:db8::2]:8080\",family=\"ipv6\",direction=\"to_client\"} 4\n"
	"# HELP relaybpf_backend_new_flows_total flows the backend was chosen for (new, or moved from another backend)\n"
	"# TYPE relaybpf_backend_new_flows_total counter\n"
	"relaybpf_backend_new_flows_total{role=\"front\",service=\"web\",backend=\"[2001:db8::2]:8080\",family=\"ipv6\"} 5\n"
	"# HELP relaybpf_backend_flows flows of the backend in the flow table\n"
	"# TYPE relaybpf_backend_flows gauge\n"
	"relaybpf_backend_flows{role=\"front\",service=\"web\",backend=\"[2001:db8::2]:8080\",family=\"ipv6\"} 6\n"
	"# HELP relaybpf_service_flows flows of the service in the flow table\n"
	"# TYPE relaybpf_service_flows gauge\n"
	"relaybpf_service_flows{role=\"front\",service=\"web\"} 6\n"
	"# HELP relaybpf_backend_up 1 while the backend takes new flows (up), 0 while down or drained\n"
	"# TYPE relaybpf_backend_up gauge\n"
	"relaybpf_backend_up{role=\"front\",service=\"web\",backend=\"[2001:db8::2]:8080\",family=\"ipv6\"} 0\n"
	"# HELP relaybpf_backend_probe_latency_seconds the daemon's last health probe of the backend, how long it took\n"
	"# TYPE relaybpf_backend_probe_latency_seconds gauge\n"
	"relaybpf_backend_probe_latency_seconds{role=\"front\",service=\"web\",backend=\"[2001:db8::2]:8080\",family=\"ipv6\"} 0.001500\n"
	"# HELP relaybpf_backend_health_transitions_total the backend went down or came back up (health checks, its tunnel)\n"
	"# TYPE relaybpf_backend_health_transitions_total counter\n"
	"relaybpf_backend_health_transitions_total{role=\"front\",service=\"web\",backend=\"[2001:db8::2]:8080\",family=\"ipv6\"} 7\n";
	char *text;

	one_backend(&r);
	text = exposition(&r);
	cr_assert_str_eq(text, want);
	free(text);
}

/* An IPv4 backend of the default service no daemon has probed yet: its
 * samples, but no latency. */
Test(metrics_format, ipv4_backend_without_a_probe_has_no_latency)
{
	static struct svc_report r;
	char *text;

	one_backend(&r);
	r.backends[1].family = AF_INET;
	inet_pton(AF_INET, "10.22.22.1", &r.backends[1].addr);
	r.backends[1].port = 0;
	r.backends[1].service = 0;
	r.backends[1].state = RELAY_BACKEND_UP;
	r.services[0].defined = 1;
	r.health[1].last = 0;
	text = exposition(&r);
	cr_assert(strstr(text, "relaybpf_backend_up{role=\"front\",service=\"default\","
			       "backend=\"10.22.22.1\",family=\"ipv4\"} 1\n"), "%s", text);
	cr_assert(strstr(text, "# TYPE relaybpf_backend_probe_latency_seconds gauge\n"
			       "# HELP relaybpf_backend_health_transitions_total"), "%s", text);
	free(text);
}

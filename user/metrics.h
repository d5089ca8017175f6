/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The daemon's metrics endpoint: GET /metrics over HTTP/1.1 (metrics.c). */
#ifndef RELAY_METRICS_H
#define RELAY_METRICS_H

#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>

#define METRICS_CLIENTS 8         /* connections served at once; more get 503 */
#define METRICS_REQUEST_MAX 4096  /* request line and headers; more get 431 */
#define METRICS_TIMEOUT_MS 5000   /* for a whole request; a slower client is dropped */
#define METRICS_POLLFDS (1 + METRICS_CLIENTS)

struct metrics_client {
	int fd;                   /* -1: a free slot */
	long long deadline_ms;
	size_t len;
	char buf[METRICS_REQUEST_MAX];
};

struct metrics {
	int listen_fd;            /* -1: no endpoint */
	struct metrics_client client[METRICS_CLIENTS];
};

/* Listens on addr (len 0: no endpoint). 0, or -errno with the reason on stderr. */
int metrics_open(struct metrics *m, const struct sockaddr_storage *addr, socklen_t len);
/* The descriptors to poll, into p (METRICS_POLLFDS at most); their count. */
int metrics_pollfds(const struct metrics *m, struct pollfd *p);
/* Serves what poll reported on the n descriptors metrics_pollfds gave, and
 * drops the clients past their deadline. */
void metrics_serve(struct metrics *m, const struct pollfd *p, int n, long long now_ms);
/* Milliseconds until the next client deadline, -1: none. */
long long metrics_wait_ms(const struct metrics *m, long long now_ms);
void metrics_close(struct metrics *m);

/* "PORT" (127.0.0.1), "ADDR:PORT" or "[IPV6]:PORT" into addr. 0 or -1. */
int metrics_parse_addr(const char *s, struct sockaddr_storage *addr, socklen_t *len);

#endif

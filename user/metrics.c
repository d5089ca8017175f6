// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * relaybpf daemon --metrics [ADDR:]PORT: `GET /metrics` answers what `relaybpf
 * stats --prometheus` prints, read when the request comes, so a scrape never
 * sees older counters than the command would. Plain HTTP/1.1, one response
 * per connection (Connection: close), served from the daemon's own poll loop:
 * no thread. A client that stalls holds one of METRICS_CLIENTS slots until
 * METRICS_TIMEOUT_MS, never the loop: requests are read without blocking,
 * and the response (about 12 KiB) fits a fresh socket's send buffer, written
 * with a send timeout of a second for the odd client that reads nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/time.h>

#include "commands.h"
#include "metrics.h"

int metrics_parse_addr(const char *s, struct sockaddr_storage *addr, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
	char host[64];
	const char *port_s = s;
	char *end;
	unsigned long port;

	memset(addr, 0, sizeof(*addr));
	snprintf(host, sizeof(host), "127.0.0.1");
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, close - s - 1);
		host[close - s - 1] = '\0';
		port_s = close + 2;
	} else if (strchr(s, ':')) {
		const char *colon = strrchr(s, ':');

		if ((size_t)(colon - s) >= sizeof(host))
			return -1;
		memcpy(host, s, colon - s);
		host[colon - s] = '\0';
		port_s = colon + 1;
	}
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (errno || end == port_s || *end || port == 0 || port > 65535 || port_s[0] == '-')
		return -1;
	if (s[0] != '[' && inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
		return 0;
	}
	if (s[0] == '[' && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

int metrics_open(struct metrics *m, const struct sockaddr_storage *addr, socklen_t len)
{
	int one = 1;

	m->listen_fd = -1;
	for (int i = 0; i < METRICS_CLIENTS; i++)
		m->client[i].fd = -1;
	if (!len)
		return 0;
	m->listen_fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->listen_fd < 0 ||
	    setsockopt(m->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->listen_fd, (const struct sockaddr *)addr, len) ||
	    listen(m->listen_fd, METRICS_CLIENTS)) {
		int err = -errno;

		fprintf(stderr, "relaybpf daemon: --metrics: %s\n", strerror(-err));
		if (m->listen_fd >= 0)
			close(m->listen_fd);
		m->listen_fd = -1;
		return err;
	}
	return 0;
}

int metrics_pollfds(const struct metrics *m, struct pollfd *p)
{
	int n = 0;

	if (m->listen_fd < 0)
		return 0;
	p[n++] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
	for (int i = 0; i < METRICS_CLIENTS; i++)
		if (m->client[i].fd >= 0)
			p[n++] = (struct pollfd){ .fd = m->client[i].fd, .events = POLLIN };
	return n;
}

long long metrics_wait_ms(const struct metrics *m, long long now_ms)
{
	long long wait = -1;

	for (int i = 0; i < METRICS_CLIENTS; i++) {
		long long left;

		if (m->client[i].fd < 0)
			continue;
		left = m->client[i].deadline_ms - now_ms;
		if (left < 0)
			left = 0;
		if (wait < 0 || left < wait)
			wait = left;
	}
	return wait;
}

static void client_drop(struct metrics_client *c)
{
	close(c->fd);
	c->fd = -1;
}

/* Writes the whole response; a client that does not read it within the
 * send timeout loses it. */
static void respond(int fd, const char *status, const char *extra, const char *body,
		    size_t body_len)
{
	struct timeval tv = { .tv_sec = 1 };
	char head[256];
	int n, flags = fcntl(fd, F_GETFL);

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %s\r\nContent-Type: text/plain; %scharset=utf-8\r\n"
		     "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
		     status, strncmp(status, "200", 3) != 0 ? "" : "version=0.0.4; ", body_len, extra);
	/* Blocking from here, bounded by the send timeout. */
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    send(fd, head, n, MSG_NOSIGNAL) != n)
		return;
	while (body_len) {
		ssize_t w = send(fd, body, body_len, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		body += w;
		body_len -= w;
	}
}

static void respond_text(int fd, const char *status, const char *extra, const char *text)
{
	respond(fd, status, extra, text, strlen(text));
}

/* A whole request is in buf: its request line decides. HEAD is GET without
 * the body (RFC 9110 requires both of a server). */
static void serve_request(int fd, char *buf)
{
	char *method = buf, *target, *version, *end = strpbrk(buf, "\r\n");
	char *body = NULL;
	size_t body_len = 0;
	FILE *f;

	*end = '\0';
	target = strchr(method, ' ');
	version = target ? strchr(target + 1, ' ') : NULL;
	if (!version || strncmp(version + 1, "HTTP/1.", 7) != 0) {
		respond_text(fd, "400 Bad Request", "", "expected: GET /metrics HTTP/1.1\n");
		return;
	}
	*target++ = '\0';
	*version = '\0';
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		respond_text(fd, "405 Method Not Allowed", "Allow: GET, HEAD\r\n",
			     "only GET /metrics\n");
		return;
	}
	/* A query string (?name[]=... of federation) selects nothing here. */
	target[strcspn(target, "?")] = '\0';
	if (strcmp(target, "/metrics") != 0) {
		respond_text(fd, "404 Not Found", "", "relaybpf serves /metrics only\n");
		return;
	}
	f = open_memstream(&body, &body_len);
	if (!f) {
		respond_text(fd, "500 Internal Server Error", "", "out of memory\n");
		return;
	}
	stats_prometheus(f);
	if (fclose(f)) {
		free(body);
		respond_text(fd, "500 Internal Server Error", "", "out of memory\n");
		return;
	}
	respond(fd, "200 OK", "", body, strcmp(method, "HEAD") != 0 ? body_len : 0);
	free(body);
}

/* The end of the request's headers: a blank line (bare LF tolerated). */
static bool request_complete(const char *buf)
{
	return strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n");
}

static void client_read(struct metrics_client *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_drop(c);
		return;
	}
	c->len += n;
	c->buf[c->len] = '\0';
	if (request_complete(c->buf)) {
		serve_request(c->fd, c->buf);
	} else if (c->len == sizeof(c->buf) - 1) {
		respond_text(c->fd, "431 Request Header Fields Too Large", "",
			     "request over 4 KiB\n");
	} else {
		return;
	}
	client_drop(c);
}

static void accept_all(struct metrics *m, long long now_ms)
{
	for (;;) {
		int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct metrics_client *slot = NULL;

		if (fd < 0)
			return;
		for (int i = 0; i < METRICS_CLIENTS && !slot; i++)
			if (m->client[i].fd < 0)
				slot = &m->client[i];
		if (!slot) {
			respond_text(fd, "503 Service Unavailable", "Retry-After: 1\r\n",
				     "too many connections\n");
			close(fd);
			continue;
		}
		slot->fd = fd;
		slot->len = 0;
		slot->deadline_ms = now_ms + METRICS_TIMEOUT_MS;
	}
}

void metrics_serve(struct metrics *m, const struct pollfd *p, int n, long long now_ms)
{
	for (int k = 1; k < n; k++) {
		for (int i = 0; i < METRICS_CLIENTS; i++) {
			struct metrics_client *c = &m->client[i];

			if (c->fd == p[k].fd && (p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				client_read(c);
		}
	}
	for (int i = 0; i < METRICS_CLIENTS; i++)
		if (m->client[i].fd >= 0 && now_ms >= m->client[i].deadline_ms)
			client_drop(&m->client[i]);
	if (n && (p[0].revents & POLLIN))
		accept_all(m, now_ms);
}

void metrics_close(struct metrics *m)
{
	for (int i = 0; i < METRICS_CLIENTS; i++)
		if (m->client[i].fd >= 0)
			client_drop(&m->client[i]);
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	m->listen_fd = -1;
}

/* http: the plain-HTTP side (--http). Answers ACME http-01 requests
 * (RFC 8555 §8.3: GET /.well-known/acme-challenge/TOKEN -> the key
 * authorization) from DIR/.state/challenges/http-01/TOKEN, and redirects
 * everything else to https://HOST/PATH?QUERY with 301. One request per
 * connection; runs on the main thread's loop, away from the TLS workers. */
#include "goproxyd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "httpreq.h"
#include "log.h"

#define HTTP_MAX_REQ 8192
#define HTTP_MAX_CONNS 512
#define HTTP_TIMEOUT 10.0

#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

struct hconn {
	ev_io io;
	ev_timer timer;
	struct hconn *prev, *next;
	size_t len;
	char req[HTTP_MAX_REQ + 1];
};

static ev_io http_lis;
static struct hconn *hconns;
static size_t nhconns;
static struct certstore *http_store;

bool http_token_valid(const char *s, size_t len)
{
	return httpreq_token_valid(s, len);
}

static void hconn_close(struct ev_loop *loop, struct hconn *h)
{
	ev_io_stop(loop, &h->io);
	ev_timer_stop(loop, &h->timer);
	close(h->io.fd);
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		hconns = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	nhconns--;
	free(h);
}

static void respond(int fd, int status, const char *reason, const char *extra_hdr,
		    const char *body, size_t blen, bool head)
{
	char hdr[2048];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nServer: goproxyd\r\nConnection: close\r\n"
			 "Content-Length: %zu\r\n%s\r\n",
			 status, reason, blen, extra_hdr ? extra_hdr : "");

	if (n < 0 || (size_t)n >= sizeof(hdr))
		return;
	/* small answers fit the socket buffer of a fresh connection */
	if (send(fd, hdr, (size_t)n, MSG_NOSIGNAL) != n)
		return;
	if (!head && blen > 0)
		(void)send(fd, body, blen, MSG_NOSIGNAL);
}

/* Answer one parsed request (httpreq decides; this does the I/O). */
static void handle(int fd, const struct httpreq *req)
{
	char out[HTTP_MAX_REQ + 64], rel[PATH_MAX], *loc;
	struct gpc_error err;
	struct buf body;
	size_t ll;

	switch (httpreq_route(req, out, sizeof(out))) {
	case HTTPREQ_TOKEN:
		if (snprintf(rel, sizeof(rel), "challenges/http-01/%s", out) >= (int)sizeof(rel))
			goto notfound;
		buf_init(&body, 64 * 1024);
		gpc_error_clear(&err);
		if (certstore_record_get(http_store, rel, 64 * 1024, &body, NULL, &err) != 0) {
			gpc_info("http-01: no token %s (%s)", out, err.message);
			buf_finish(&body);
			goto notfound;
		}
		gpc_info("http-01: answered token %s", out);
		respond(fd, 200, "OK", "Content-Type: application/octet-stream\r\n", body.data,
			body.len, req->head);
		buf_finish(&body);
		return;
	case HTTPREQ_REDIRECT:
		ll = strlen(out) + 16;
		if ((loc = malloc(ll)) == NULL)
			return;
		snprintf(loc, ll, "Location: %s\r\n", out);
		respond(fd, 301, "Moved Permanently", loc, "", 0, req->head);
		free(loc);
		return;
	case HTTPREQ_NOT_FOUND:
		gpc_debug("http: %s %.*s: not a valid challenge request", req->method,
			  (int)req->target_len, req->target);
		goto notfound;
	default:
		respond(fd, 400, "Bad Request", "Content-Type: text/plain\r\n", "bad request\n", 12,
			false);
		return;
	}
notfound:
	respond(fd, 404, "Not Found", "Content-Type: text/plain\r\n", "not found\n", 10,
		req->head);
}

static void on_hread(struct ev_loop *loop, ev_io *io, int revents)
{
	struct hconn *h = container_of(io, struct hconn, io);
	struct httpreq req;
	ssize_t n;
	int r;

	(void)revents;
	n = recv(io->fd, h->req + h->len, HTTP_MAX_REQ - h->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		hconn_close(loop, h);
		return;
	}
	h->len += (size_t)n;
	r = httpreq_parse(h->req, h->len, &req);
	if (r != 0) {
		if (r > 0)
			handle(io->fd, &req);
		else
			respond(io->fd, 400, "Bad Request", "Content-Type: text/plain\r\n",
				"bad request\n", 12, false);
		hconn_close(loop, h);
		return;
	}
	if (h->len >= HTTP_MAX_REQ) {
		respond(io->fd, 431, "Request Header Fields Too Large", NULL, "", 0, false);
		hconn_close(loop, h);
	}
}

static void on_htimer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	hconn_close(loop, container_of(t, struct hconn, timer));
}

static void on_haccept(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)revents;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct hconn *h;

		if (fd < 0)
			return;
		if (nhconns >= HTTP_MAX_CONNS || (h = calloc(1, sizeof(*h))) == NULL) {
			close(fd);
			continue;
		}
		ev_io_init(&h->io, on_hread, fd, EV_READ);
		ev_timer_init(&h->timer, on_htimer, HTTP_TIMEOUT, 0.);
		ev_io_start(loop, &h->io);
		ev_timer_start(loop, &h->timer);
		h->next = hconns;
		if (hconns != NULL)
			hconns->prev = h;
		hconns = h;
		nhconns++;
	}
}

int http_start(struct ev_loop *loop, int fd, struct certstore *cs)
{
	http_store = cs;
	ev_io_init(&http_lis, on_haccept, fd, EV_READ);
	ev_io_start(loop, &http_lis);
	return 0;
}

void http_stop(struct ev_loop *loop)
{
	if (ev_is_active(&http_lis)) {
		ev_io_stop(loop, &http_lis);
		close(http_lis.fd);
	}
	while (hconns != NULL)
		hconn_close(loop, hconns);
}

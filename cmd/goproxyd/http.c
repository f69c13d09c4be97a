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
#include "log.h"

#define HTTP_MAX_REQ 8192
#define HTTP_MAX_CONNS 512
#define HTTP_TIMEOUT 10.0
#define ACME_PREFIX "/.well-known/acme-challenge/"

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
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
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

/* Host header value usable in a Location: letters, digits, '.', '-', and an
 * IPv6 literal in brackets; the port is dropped (https has its own). */
static bool clean_host(const char *v, size_t len, char *out, size_t outsz)
{
	size_t i = 0, o = 0;

	if (len == 0 || len >= outsz)
		return false;
	if (v[0] == '[') {
		for (; i < len && v[i] != ']'; i++) {
			char ch = v[i];
			if (!(ch == '[' || ch == ':' || ch == '.' || (ch >= '0' && ch <= '9') ||
			      (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
				return false;
			out[o++] = ch;
		}
		if (i == len)
			return false;
		out[o++] = ']';
		i++;
	} else {
		for (; i < len && v[i] != ':'; i++) {
			char ch = v[i];
			if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_'))
				return false;
			out[o++] = ch;
		}
	}
	if (i < len) { /* ":port" */
		if (v[i] != ':')
			return false;
		for (i++; i < len; i++)
			if (v[i] < '0' || v[i] > '9')
				return false;
	}
	out[o] = '\0';
	return o > 0;
}

static void handle(struct hconn *h)
{
	char *req = h->req, *sp1, *sp2, *eol, *line, *host = NULL;
	char hostbuf[300], path[PATH_MAX], *loc = NULL;
	size_t hostlen = 0, tlen;
	const char *target;
	bool head;
	int fd = h->io.fd;

	eol = strpbrk(req, "\r\n");
	if (eol == NULL)
		goto bad;
	*eol = '\0';
	sp1 = strchr(req, ' ');
	if (sp1 == NULL)
		goto bad;
	sp2 = strchr(sp1 + 1, ' ');
	if (sp2 == NULL || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
		goto bad;
	*sp1 = '\0';
	*sp2 = '\0';
	head = strcmp(req, "HEAD") == 0;
	target = sp1 + 1;
	/* absolute-form: keep only the path (RFC 9112 §3.2.2) */
	if (strncasecmp(target, "http://", 7) == 0) {
		const char *slash = strchr(target + 7, '/');
		target = slash ? slash : "/";
	}
	if (target[0] != '/')
		goto bad;
	for (const char *p = target; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			goto bad;
	/* headers: find Host */
	for (line = eol + 1; *line;) {
		char *next;
		if (*line == '\n' || *line == '\r') {
			line++;
			continue;
		}
		next = strpbrk(line, "\r\n");
		if (next == NULL)
			next = line + strlen(line);
		if (strncasecmp(line, "host:", 5) == 0) {
			host = line + 5;
			while (host < next && (*host == ' ' || *host == '\t'))
				host++;
			hostlen = (size_t)(next - host);
			while (hostlen > 0 && (host[hostlen - 1] == ' ' || host[hostlen - 1] == '\t'))
				hostlen--;
		}
		line = next;
	}

	tlen = strlen(ACME_PREFIX);
	if (strncmp(target, ACME_PREFIX, tlen) == 0) {
		const char *tok = target + tlen;
		struct gpc_error err;
		struct buf body;
		char rel[PATH_MAX];

		if ((strcmp(req, "GET") != 0 && !head) || !http_token_valid(tok, strlen(tok)) ||
		    snprintf(rel, sizeof(rel), "challenges/http-01/%s", tok) >= (int)sizeof(rel) ||
		    certstore_state_path(http_store, rel, path, sizeof(path)) != 0) {
			gpc_debug("http: %s %s: not a valid challenge token", req, target);
			respond(fd, 404, "Not Found", "Content-Type: text/plain\r\n", "not found\n",
				10, head);
			return;
		}
		buf_init(&body, 64 * 1024);
		gpc_error_clear(&err);
		if (fs_read_file(path, 64 * 1024, &body, &err) != 0) {
			gpc_info("http-01: no token %s (%s)", tok, err.message);
			respond(fd, 404, "Not Found", "Content-Type: text/plain\r\n", "not found\n",
				10, head);
		} else {
			gpc_info("http-01: answered token %s", tok);
			respond(fd, 200, "OK", "Content-Type: application/octet-stream\r\n",
				body.data, body.len, head);
		}
		buf_finish(&body);
		return;
	}
	if (host == NULL || !clean_host(host, hostlen, hostbuf, sizeof(hostbuf)))
		goto bad;
	{
		size_t need = strlen(hostbuf) + strlen(target) + 32;
		if ((loc = malloc(need)) == NULL)
			return;
		snprintf(loc, need, "Location: https://%s%s\r\n", hostbuf, target);
		respond(fd, 301, "Moved Permanently", loc, "", 0, head);
		free(loc);
	}
	return;
bad:
	respond(fd, 400, "Bad Request", "Content-Type: text/plain\r\n", "bad request\n", 12,
		false);
}

static void on_hread(struct ev_loop *loop, ev_io *io, int revents)
{
	struct hconn *h = container_of(io, struct hconn, io);
	ssize_t n;

	(void)revents;
	n = recv(io->fd, h->req + h->len, HTTP_MAX_REQ - h->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		hconn_close(loop, h);
		return;
	}
	h->len += (size_t)n;
	h->req[h->len] = '\0';
	if (strstr(h->req, "\r\n\r\n") != NULL || strstr(h->req, "\n\n") != NULL) {
		handle(h);
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

/* http: the plain-HTTP side (--http). Answers ACME http-01 requests
 * (RFC 8555 §8.3: GET /.well-known/acme-challenge/TOKEN -> the key
 * authorization) from DIR/.state/challenges/http-01/TOKEN, and redirects
 * everything else with 301 to https://NAME/PATH?QUERY, NAME being the
 * request's Host only when goproxyd serves a certificate for it. One request
 * per connection; runs on the main thread's loop, away from the TLS workers.
 *
 * The port must stay answerable for the CA's validation while anyone floods
 * it (issue 25): a connection has HTTP_TIMEOUT to send its request head; a
 * client (an IPv4 address, an IPv6 /64) holds at most HTTP_MAX_PER_CLIENT
 * connections and the table HTTP_MAX_CONNS. A new connection beyond either
 * limit, or one that accept() has no descriptor for, closes the oldest one
 * (of that client, else of the table) instead of being refused, so a fresh
 * request always gets in. */
#include "goproxyd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "httpreq.h"
#include "log.h"
#include "records.h"

#define HTTP_MAX_HEAD 8192   /* request line + header fields: more is 414 or 431 */
#define HTTP_MAX_TARGET 8000 /* RFC 9112 §3: at least 8000 octets of request-line */
#define HTTP_MAX_CONNS 1024
#define HTTP_MAX_PER_CLIENT 32
#define HTTP_TIMEOUT 10.0 /* to receive the whole request head; again to send the answer */
#define HTTP_LINGER 2.0   /* reading what the client still sends after the answer */
#define HTTP_LINGER_BYTES (64 * 1024)
#define HTTP_WARN_EVERY 60.0
#define HCONN_MAGIC 0x68636f6eu

#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

enum hstate {
	H_READ,   /* reading the request head */
	H_WRITE,  /* sending the answer */
	H_LINGER, /* answer sent, write side shut: reading until EOF so no RST eats it */
};

struct hconn {
	unsigned magic;
	ev_io io;
	ev_timer timer;
	struct hconn *prev, *next; /* the table, oldest first */
	unsigned char client[16];  /* IPv4 address (v4-mapped) or IPv6 /64 */
	enum hstate state;
	char *req; /* the request head so far, grown up to HTTP_MAX_HEAD */
	size_t len, cap;
	char *out; /* H_WRITE: the answer */
	size_t outlen, outoff;
	size_t drained; /* H_LINGER: bytes read and dropped */
};

static ev_io http_lis;
static ev_timer http_pause; /* accept() out of descriptors and nothing of ours to close */
static struct hconn *hhead, *htail;
static size_t nhconns;
static struct certstore *http_store;
static ev_tstamp http_full_warned = -1e9, http_fd_warned = -1e9;

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
		hhead = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	else
		htail = h->prev;
	nhconns--;
	h->magic = 0;
	free(h->req);
	free(h->out);
	free(h);
}

/* The key a client's connections are counted under. */
static void client_key(const struct sockaddr_storage *ss, unsigned char key[16])
{
	memset(key, 0, 16);
	if (ss->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;

		/* one host may hold a whole /64: count it as one client */
		memcpy(key, a->s6_addr, IN6_IS_ADDR_V4MAPPED(a) ? 16 : 8);
	}
}

static void set_io(struct ev_loop *loop, struct hconn *h, int events, double timeout)
{
	ev_io_stop(loop, &h->io);
	ev_io_set(&h->io, h->io.fd, events);
	ev_io_start(loop, &h->io);
	ev_timer_stop(loop, &h->timer);
	ev_timer_set(&h->timer, timeout, 0.);
	ev_timer_start(loop, &h->timer);
}

/* Send what is left of the answer; once it is out, shut the write side and
 * linger: closing a socket with unread request bytes (a 414 or 431 before
 * the client finished sending) makes the kernel send a reset, which can
 * destroy the answer before the client reads it. May free h. */
static void hwrite(struct ev_loop *loop, struct hconn *h)
{
	while (h->outoff < h->outlen) {
		ssize_t n = send(h->io.fd, h->out + h->outoff, h->outlen - h->outoff, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			hconn_close(loop, h);
			return;
		}
		h->outoff += (size_t)n;
	}
	free(h->out);
	h->out = NULL;
	if (shutdown(h->io.fd, SHUT_WR) != 0) {
		hconn_close(loop, h);
		return;
	}
	h->state = H_LINGER;
	set_io(loop, h, EV_READ, HTTP_LINGER);
}

static void hlinger(struct ev_loop *loop, struct hconn *h)
{
	char junk[4096];
	ssize_t n = recv(h->io.fd, junk, sizeof(junk), 0);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0 || (h->drained += (size_t)n) >= HTTP_LINGER_BYTES)
		hconn_close(loop, h);
}

/* Answer with a whole response (sized from its parts) and close after it.
 * May free h. */
static void respond(struct ev_loop *loop, struct hconn *h, int status, const char *reason,
		    const char *extra_hdr, const char *body, size_t blen, bool head)
{
	size_t hl = strlen(reason) + (extra_hdr ? strlen(extra_hdr) : 0) + 128;
	char *o = malloc(hl + (head ? 0 : blen));
	int n;

	if (o == NULL) {
		hconn_close(loop, h);
		return;
	}
	n = snprintf(o, hl,
		     "HTTP/1.1 %d %s\r\nServer: goproxyd\r\nConnection: close\r\n"
		     "Content-Length: %zu\r\n%s\r\n",
		     status, reason, blen, extra_hdr ? extra_hdr : "");
	if (n < 0 || (size_t)n >= hl) {
		free(o);
		hconn_close(loop, h);
		return;
	}
	if (!head && blen > 0)
		memcpy(o + n, body, blen);
	h->out = o;
	h->outlen = (size_t)n + (head ? 0 : blen);
	h->outoff = 0;
	h->state = H_WRITE;
	set_io(loop, h, EV_WRITE, HTTP_TIMEOUT);
	hwrite(loop, h);
}

static void respond_text(struct ev_loop *loop, struct hconn *h, int status, const char *reason,
			 const char *text, bool head)
{
	respond(loop, h, status, reason, "Content-Type: text/plain\r\n", text, strlen(text), head);
}

/* A name fit for a URL's host: letters, digits, '.', '-', '_'. */
static bool plain_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' ||
		      *s == '_'))
			return false;
	return true;
}

/* The host of a redirect's Location: the request's Host when goproxyd serves
 * a certificate for it (a lineage's exact name or one-label wildcard), else
 * the first name (not a wildcard) of the default certificate: never a name
 * only the client chose. Returns 0 with the name in out, -1 when there is
 * none (no certificate yet, or only wildcard names). */
static int redirect_host(const struct httpreq *req, char *out, size_t outsz)
{
	struct gpd_creds *c;
	int rc = -1;

	if (httpreq_host(req, out, outsz) && out[0] != '[' &&
	    (c = sni_select(out, false, true)) != NULL) {
		creds_unref(c);
		return 0;
	}
	if ((c = sni_select(NULL, false, false)) == NULL)
		return -1;
	for (size_t i = 0; i < c->ndnsnames; i++) {
		if (plain_name(c->dnsnames[i]) && strlen(c->dnsnames[i]) < outsz) {
			strcpy(out, c->dnsnames[i]);
			rc = 0;
			break;
		}
	}
	creds_unref(c);
	return rc;
}

/* Answer one parsed request (httpreq decides; this does the I/O). May free h. */
static void handle(struct ev_loop *loop, struct hconn *h, const struct httpreq *req)
{
	char out[HTTP_MAX_HEAD + 320], rel[PATH_MAX], host[256], *loc;
	struct gpc_error err;
	struct buf body;
	size_t ll;

	if (req->target_len > HTTP_MAX_TARGET) {
		gpc_debug("http: %s request-target of %zu bytes: 414", req->method, req->target_len);
		respond_text(loop, h, 414, "URI Too Long", "request-target too long\n", req->head);
		return;
	}
	switch (httpreq_route(req, out, sizeof(out))) {
	case HTTPREQ_TOKEN:
		if (snprintf(rel, sizeof(rel), RECORD_HTTP01_FMT, out) >= (int)sizeof(rel))
			goto notfound;
		buf_init(&body, 64 * 1024);
		gpc_error_clear(&err);
		if (certstore_record_get(http_store, rel, 64 * 1024, &body, NULL, &err) != 0) {
			gpc_info("http-01: no token %s (%s)", out, err.message);
			buf_finish(&body);
			goto notfound;
		}
		gpc_info("http-01: answered token %s", out);
		respond(loop, h, 200, "OK", "Content-Type: application/octet-stream\r\n", body.data,
			body.len, req->head);
		buf_finish(&body);
		return;
	case HTTPREQ_REDIRECT:
		if (redirect_host(req, host, sizeof(host)) != 0) {
			respond_text(loop, h, 421, "Misdirected Request",
				     "no certificate name to redirect to yet\n", req->head);
			return;
		}
		ll = strlen(host) + req->target_len + 32;
		if ((loc = malloc(ll)) == NULL) {
			hconn_close(loop, h);
			return;
		}
		snprintf(loc, ll, "Location: https://%s%.*s\r\n", host, (int)req->target_len,
			 req->target);
		respond(loop, h, 301, "Moved Permanently", loc, "", 0, req->head);
		free(loc);
		return;
	case HTTPREQ_NOT_FOUND:
		gpc_debug("http: %s %.*s: not a valid challenge request", req->method,
			  (int)req->target_len, req->target);
		goto notfound;
	default:
		respond_text(loop, h, 400, "Bad Request", "bad request\n", false);
		return;
	}
notfound:
	respond_text(loop, h, 404, "Not Found", "not found\n", req->head);
}

static void hread(struct ev_loop *loop, struct hconn *h)
{
	struct httpreq req;
	ssize_t n;
	int r;

	if (h->len == h->cap) {
		size_t ncap = h->cap ? 2 * h->cap : 1024;
		char *p;

		if (ncap > HTTP_MAX_HEAD)
			ncap = HTTP_MAX_HEAD;
		if ((p = realloc(h->req, ncap)) == NULL) {
			hconn_close(loop, h);
			return;
		}
		h->req = p;
		h->cap = ncap;
	}
	n = recv(h->io.fd, h->req + h->len, h->cap - h->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		hconn_close(loop, h);
		return;
	}
	h->len += (size_t)n;
	r = httpreq_parse(h->req, h->len, &req);
	if (r > 0) {
		handle(loop, h, &req);
	} else if (r < 0) {
		respond_text(loop, h, 400, "Bad Request", "bad request\n", false);
	} else if (h->len >= HTTP_MAX_HEAD) {
		/* RFC 9112 §3: a request-line longer than we parse is 414; a
		 * request-line that fits with too many header fields, 431 (RFC 6585) */
		if (memchr(h->req, '\n', h->len) == NULL)
			respond_text(loop, h, 414, "URI Too Long", "request-target too long\n", false);
		else
			respond(loop, h, 431, "Request Header Fields Too Large", NULL, "", 0, false);
	}
}

static void on_hio(struct ev_loop *loop, ev_io *io, int revents)
{
	struct hconn *h = container_of(io, struct hconn, io);

	(void)revents;
	if (h->magic != HCONN_MAGIC)
		return;
	switch (h->state) {
	case H_READ:
		hread(loop, h);
		break;
	case H_WRITE:
		hwrite(loop, h);
		break;
	case H_LINGER:
		hlinger(loop, h);
		break;
	}
}

static void on_htimer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct hconn *h = container_of(t, struct hconn, timer);

	(void)revents;
	if (h->magic == HCONN_MAGIC)
		hconn_close(loop, h);
}

static void on_hpause(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_io_start(loop, &http_lis);
}

static void warn_every(struct ev_loop *loop, ev_tstamp *last, const char *msg)
{
	if (ev_now(loop) - *last >= HTTP_WARN_EVERY) {
		*last = ev_now(loop);
		gpc_warn("%s", msg);
	} else {
		gpc_debug("%s", msg);
	}
}

static void on_haccept(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)revents;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		unsigned char key[16];
		struct hconn *h, *oldest_same = NULL;
		size_t same = 0;
		int fd;

		memset(&ss, 0, sizeof(ss));
		fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EMFILE && errno != ENFILE && errno != ENOBUFS && errno != ENOMEM)
				return;
			if (hhead != NULL) {
				/* a descriptor for the newcomer: the oldest connection's */
				warn_every(loop, &http_fd_warned,
					   "http: out of file descriptors: closing the oldest HTTP "
					   "connections to accept new ones");
				hconn_close(loop, hhead);
				continue;
			}
			/* nothing of ours to close: pause rather than spin on accept() */
			warn_every(loop, &http_fd_warned,
				   "http: out of file descriptors: not accepting for 0.5 s");
			ev_io_stop(loop, io);
			ev_timer_set(&http_pause, 0.5, 0.);
			ev_timer_start(loop, &http_pause);
			return;
		}
		client_key(&ss, key);
		for (h = hhead; h != NULL; h = h->next) {
			if (memcmp(h->client, key, sizeof(key)) == 0) {
				if (oldest_same == NULL)
					oldest_same = h;
				same++;
			}
		}
		if (same >= HTTP_MAX_PER_CLIENT) {
			gpc_debug("http: a client holds %zu connections: closing its oldest", same);
			hconn_close(loop, oldest_same);
		} else if (nhconns >= HTTP_MAX_CONNS) {
			warn_every(loop, &http_full_warned,
				   "http: connection table full (1024 connections): closing the "
				   "oldest ones to accept new ones");
			hconn_close(loop, hhead);
		}
		if ((h = calloc(1, sizeof(*h))) == NULL) {
			close(fd);
			continue;
		}
		h->magic = HCONN_MAGIC;
		h->state = H_READ;
		memcpy(h->client, key, sizeof(key));
		ev_io_init(&h->io, on_hio, fd, EV_READ);
		ev_timer_init(&h->timer, on_htimer, HTTP_TIMEOUT, 0.);
		ev_io_start(loop, &h->io);
		ev_timer_start(loop, &h->timer);
		h->prev = htail;
		if (htail != NULL)
			htail->next = h;
		else
			hhead = h;
		htail = h;
		nhconns++;
	}
}

int http_start(struct ev_loop *loop, int fd, struct certstore *cs)
{
	http_store = cs;
	ev_io_init(&http_lis, on_haccept, fd, EV_READ);
	ev_timer_init(&http_pause, on_hpause, 0.5, 0.);
	ev_io_start(loop, &http_lis);
	return 0;
}

void http_stop(struct ev_loop *loop)
{
	ev_timer_stop(loop, &http_pause);
	if (http_lis.fd >= 0 && (ev_is_active(&http_lis) || http_store != NULL)) {
		ev_io_stop(loop, &http_lis);
		close(http_lis.fd);
		http_lis.fd = -1;
	}
	while (hhead != NULL)
		hconn_close(loop, hhead);
}

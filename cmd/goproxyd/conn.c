/* conn: one worker thread = one libev loop, its own SO_REUSEPORT listeners,
 * and the TLS connections it accepted.
 *
 * A connection embeds its watchers (client read/write, backend read/write,
 * one timer) and is recovered from them with container_of. Its magic number
 * is checked in every callback; conn_close() is the only teardown, and every
 * function that may call it returns -1 afterwards so the caller returns at
 * once (hitch does the same).
 *
 * Data moves through two bounded buffers of one TLS record each (c2b: client
 * to backend, b2c: backend to client), allocated only while they hold data
 * so an idle connection costs little memory. When a buffer is full the side
 * that fills it stops reading (backpressure). GnuTLS may hold a decrypted
 * record that produces no fd event: gnutls_record_check_pending decides
 * whether to read on. End of stream is passed on as a half-close both ways
 * (shutdown(SHUT_WR) to the backend, gnutls_bye(GNUTLS_SHUT_WR) to the
 * client); GNUTLS_E_PREMATURE_TERMINATION counts as end of stream. */
#include "goproxyd.h"

#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netutil.h"

#define CONN_MAGIC 0x67706478u
#define CONN_DEAD 0x64656164u
#define POOL_MAX 64
#define ACCEPT_BATCH 32

#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

enum {
	F_HS_DONE = 1 << 0,
	F_BE_CONNECTING = 1 << 1,
	F_BE_CONNECTED = 1 << 2,
	F_BE_FAILED = 1 << 3,
	F_C_EOF = 1 << 4,   /* client sent close_notify / FIN */
	F_B_SHUT = 1 << 5,  /* shutdown(bfd, SHUT_WR) done */
	F_B_EOF = 1 << 6,   /* backend sent FIN */
	F_C_BYE = 1 << 7,   /* close_notify sent to the client */
	F_BYE_PENDING = 1 << 8,
	F_SEND_PENDING = 1 << 9,
	F_ACME = 1 << 10,   /* tls-alpn-01: close after the handshake */
	F_ACME_WAIT = 1 << 11, /* handshake on hold until the challenge cert is loaded */
	F_PEEKED = 1 << 12,    /* the ClientHello was looked at */
};

#define ACME_WAIT_STEP 0.05
#define ACME_WAIT_MAX 60 /* steps: 3 s */

struct pipebuf {
	char *buf;
	unsigned start, end;
};

struct conn {
	uint32_t magic;
	uint32_t flags;
	unsigned acme_waits;
	struct gpd_worker *w;
	struct conn *prev, *next;
	ev_io cr, cw, br, bw;
	ev_timer timer;
	ev_tstamp last; /* last data moved, for the idle timeout */
	gnutls_session_t tls;
	struct gpd_creds *creds;
	const struct gpd_addr *backend;
	struct pipebuf c2b, b2c;
	struct pipebuf ra; /* read-ahead from the client socket (see tls_pull) */
};

struct gpd_worker {
	unsigned idx;
	struct ev_loop *loop;
	ev_io lis[GPD_MAX_LISTEN];
	size_t nlis;
	ev_async stop_w;
	ev_timer drain_w, resume_w;
	bool stopping;
	struct conn *conns;
	size_t nconns;
	size_t trim_mark; /* most connections since the last malloc_trim */
	char *pool[POOL_MAX];
	size_t npool;
};

static int conn_close(struct conn *c);
static int flush_c2b(struct conn *c);
static int flush_b2c(struct conn *c);
static int do_handshake(struct conn *c);

/* ---- buffers ------------------------------------------------------------ */

static char *buf_get(struct gpd_worker *w)
{
	if (w->npool > 0)
		return w->pool[--w->npool];
	return malloc(GPD_BUFSZ);
}

static void buf_put(struct gpd_worker *w, struct pipebuf *p)
{
	if (p->buf == NULL)
		return;
	if (w->npool < POOL_MAX)
		w->pool[w->npool++] = p->buf;
	else
		free(p->buf);
	p->buf = NULL;
	p->start = p->end = 0;
}

/* ---- teardown ----------------------------------------------------------- */

static int conn_close(struct conn *c)
{
	struct gpd_worker *w = c->w;
	struct ev_loop *loop = w->loop;
	int cfd = c->cr.fd, bfd = c->br.fd;

	ev_io_stop(loop, &c->cr);
	ev_io_stop(loop, &c->cw);
	ev_io_stop(loop, &c->br);
	ev_io_stop(loop, &c->bw);
	ev_timer_stop(loop, &c->timer);
	if (c->tls != NULL)
		gnutls_deinit(c->tls);
	/* only after gnutls_deinit: the session used these credentials */
	creds_unref(c->creds);
	if (cfd >= 0)
		close(cfd);
	if (bfd >= 0)
		close(bfd);
	buf_put(w, &c->c2b);
	buf_put(w, &c->b2c);
	buf_put(w, &c->ra);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	atomic_fetch_sub_explicit(&gpd_active_conns, 1, memory_order_relaxed);
	c->magic = CONN_DEAD;
	free(c);
	/* After a burst (e.g. a flood of silent connections closed by the
	 * handshake timeout), give the freed memory back to the system:
	 * glibc only returns the top of the heap by itself. Rare: only when
	 * the count fell to a quarter of a peak of at least 256. */
	if (w->trim_mark >= 256 && w->nconns <= w->trim_mark / 4) {
		malloc_trim(0);
		w->trim_mark = w->nconns;
	}
	if (w->stopping && w->nconns == 0)
		ev_break(loop, EVBREAK_ALL);
	return -1;
}

/* Send close_notify once without waiting, then tear down. */
static int conn_close_clean(struct conn *c)
{
	if ((c->flags & F_HS_DONE) && !(c->flags & F_C_BYE))
		(void)gnutls_bye(c->tls, GNUTLS_SHUT_WR);
	return conn_close(c);
}

/* Both directions finished: client->backend ended and was passed on, and
 * backend->client ended and close_notify went out. */
static int check_done(struct conn *c)
{
	const uint32_t done = F_C_EOF | F_B_SHUT | F_B_EOF | F_C_BYE;

	if ((c->flags & done) == done)
		return conn_close(c);
	return 0;
}

/* ---- timers ------------------------------------------------------------- */

static void arm_idle(struct conn *c)
{
	struct ev_loop *loop = c->w->loop;

	ev_timer_stop(loop, &c->timer);
	if (gpd_cfg.idle_timeout > 0) {
		ev_timer_set(&c->timer, gpd_cfg.idle_timeout, 0.);
		ev_timer_start(loop, &c->timer);
	}
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = container_of(t, struct conn, timer);
	ev_tstamp left;

	(void)revents;
	if (c->magic != CONN_MAGIC)
		return;
	if (c->flags & F_ACME_WAIT) {
		/* look again for the challenge certificate */
		c->flags &= ~(uint32_t)F_ACME_WAIT;
		ev_timer_set(t, gpd_cfg.handshake_timeout, 0.);
		ev_timer_start(loop, t);
		ev_io_start(loop, &c->cr);
		ev_feed_event(loop, &c->cr, EV_READ);
		return;
	}
	if (!(c->flags & F_HS_DONE) || (c->flags & F_BE_CONNECTING)) {
		gpc_debug("conn %d: %s timed out", c->cr.fd,
			  (c->flags & F_HS_DONE) ? "backend connect" : "handshake");
		conn_close(c);
		return;
	}
	/* idle: re-arm for the time left since the last activity (cheaper than
	 * restarting the timer on every read, libev's recommended pattern) */
	left = c->last + gpd_cfg.idle_timeout - ev_now(loop);
	if (left <= 0.) {
		gpc_debug("conn %d: idle timeout", c->cr.fd);
		conn_close_clean(c);
		return;
	}
	ev_timer_set(t, left, 0.);
	ev_timer_start(loop, t);
}

/* ---- backend ------------------------------------------------------------ */

static const struct gpd_addr *route_for(const char *sni)
{
	const char *dot;

	if (sni == NULL || *sni == '\0')
		return &gpd_cfg.backend;
	for (size_t i = 0; i < gpd_cfg.nroutes; i++)
		if (strcasecmp(gpd_cfg.routes[i].name, sni) == 0)
			return &gpd_cfg.routes[i].backend;
	dot = strchr(sni, '.');
	if (dot != NULL) {
		for (size_t i = 0; i < gpd_cfg.nroutes; i++) {
			const char *r = gpd_cfg.routes[i].name;
			if (r[0] == '*' && r[1] == '.' && strcasecmp(r + 1, dot) == 0)
				return &gpd_cfg.routes[i].backend;
		}
	}
	return &gpd_cfg.backend;
}

/* A connect to a local port where nothing listens can pick that port as its
 * source and connect to itself (TCP simultaneous open): the client would get
 * its own bytes back. It is refused, like any other closed port. */
#define SELF_CONNECT_MSG "the socket connected to itself: nothing listens there"

/* Start the non-blocking connect; never frees the connection (it runs inside
 * the handshake). Failure sets F_BE_FAILED, handled when the handshake ends. */
static void backend_connect(struct conn *c)
{
	const struct gpd_addr *a = c->backend;
	struct ev_loop *loop = c->w->loop;
	int one = 1, fd;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		gpc_warn("backend %s: socket: %s", a->text, strerror(errno));
		c->flags |= F_BE_FAILED;
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev_io_set(&c->br, fd, EV_READ);
	ev_io_set(&c->bw, fd, EV_WRITE);
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0) {
		if (net_self_connected(fd)) {
			gpc_warn("backend %s: connect: %s (%s)", a->text, strerror(ECONNREFUSED),
				 SELF_CONNECT_MSG);
			c->flags |= F_BE_FAILED;
			return;
		}
		c->flags |= F_BE_CONNECTED;
		ev_io_start(loop, &c->br);
	} else if (errno == EINPROGRESS) {
		c->flags |= F_BE_CONNECTING;
		ev_io_start(loop, &c->bw);
	} else {
		gpc_warn("backend %s: connect: %s", a->text, strerror(errno));
		c->flags |= F_BE_FAILED;
	}
}

/* ---- client transport ---------------------------------------------------- */

/* GnuTLS reads a record as header, then body: two recv calls. Reading ahead
 * into a pool buffer makes that one, and the buffer goes back to the pool
 * as soon as GnuTLS has taken everything, so idle connections hold none. */
static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct conn *c = ptr;
	struct pipebuf *ra = &c->ra;
	ssize_t n;

	if (ra->start == ra->end) {
		if (len >= GPD_BUFSZ / 2)
			goto direct;
		if (ra->buf == NULL && (ra->buf = buf_get(c->w)) == NULL)
			goto direct;
		ra->start = ra->end = 0;
		n = recv(c->cr.fd, ra->buf, GPD_BUFSZ, 0);
		if (n <= 0) {
			int e = errno;
			buf_put(c->w, ra);
			gnutls_transport_set_errno(c->tls, n < 0 ? e : 0);
			return n;
		}
		ra->end = (unsigned)n;
	}
	n = (ssize_t)(ra->end - ra->start);
	if ((size_t)n > len)
		n = (ssize_t)len;
	memcpy(data, ra->buf + ra->start, (size_t)n);
	ra->start += (unsigned)n;
	if (ra->start == ra->end)
		buf_put(c->w, ra);
	return n;
direct:
	n = recv(c->cr.fd, data, len, 0);
	if (n < 0)
		gnutls_transport_set_errno(c->tls, errno);
	return n;
}

static int tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned ms)
{
	struct conn *c = ptr;
	struct pollfd pfd = { .fd = c->cr.fd, .events = POLLIN };

	if (c->ra.start < c->ra.end)
		return 1;
	return poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

static ssize_t tls_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct conn *c = ptr;
	struct msghdr m;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.msg_iov = (struct iovec *)(void *)iov;
	m.msg_iovlen = (size_t)iovcnt;
	n = sendmsg(c->cr.fd, &m, MSG_NOSIGNAL);
	if (n < 0)
		gnutls_transport_set_errno(c->tls, errno);
	return n;
}

/* Decrypted or undecrypted client data we hold that no fd event announces. */
static bool client_pending(struct conn *c)
{
	return c->ra.start < c->ra.end || gnutls_record_check_pending(c->tls) > 0;
}

/* ---- client side -------------------------------------------------------- */

static int client_read(struct conn *c)
{
	struct pipebuf *p = &c->c2b;
	unsigned soft = 0; /* non-fatal errors in this call (alerts, renegotiation) */
	ssize_t n;

	for (;;) {
		if (c->flags & F_C_EOF)
			break;
		if (p->end == GPD_BUFSZ) {
			/* full: stop reading until the backend takes some */
			ev_io_stop(c->w->loop, &c->cr);
			break;
		}
		if (p->buf == NULL && (p->buf = buf_get(c->w)) == NULL)
			return conn_close(c);
		n = gnutls_record_recv(c->tls, p->buf + p->end, GPD_BUFSZ - p->end);
		if (n > 0) {
			p->end += (unsigned)n;
			c->last = ev_now(c->w->loop);
			if (!client_pending(c))
				break;
			continue;
		}
		if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION) {
			c->flags |= F_C_EOF;
			ev_io_stop(c->w->loop, &c->cr);
			break;
		}
		if (n == GNUTLS_E_AGAIN) {
			if (gnutls_record_get_direction(c->tls) == 1)
				ev_io_start(c->w->loop, &c->cw);
			break;
		}
		if ((n == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal((int)n)) && soft++ < 16) {
			if (n == GNUTLS_E_REHANDSHAKE)
				(void)gnutls_alert_send(c->tls, GNUTLS_AL_WARNING,
							GNUTLS_A_NO_RENEGOTIATION);
			continue;
		}
		gpc_debug("conn %d: receive: %s", c->cr.fd, gnutls_strerror((int)n));
		return conn_close(c);
	}
	if (p->buf != NULL && p->start == p->end) {
		buf_put(c->w, p);
	}
	return flush_c2b(c);
}

static int do_bye(struct conn *c)
{
	int r = gnutls_bye(c->tls, GNUTLS_SHUT_WR);

	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
		c->flags |= F_BYE_PENDING;
		ev_io_start(c->w->loop, &c->cw);
		return 0;
	}
	c->flags &= ~(uint32_t)F_BYE_PENDING;
	c->flags |= F_C_BYE;
	if (r < 0)
		return conn_close(c);
	return check_done(c);
}

/* Send b2c to the client as TLS records. */
static int flush_b2c(struct conn *c)
{
	struct pipebuf *p = &c->b2c;
	struct ev_loop *loop = c->w->loop;
	ssize_t n;

	while (p->start < p->end) {
		n = gnutls_record_send(c->tls, p->buf + p->start, p->end - p->start);
		if (n > 0) {
			p->start += (unsigned)n;
			c->flags &= ~(uint32_t)F_SEND_PENDING;
			continue;
		}
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			/* GnuTLS keeps the record; call again with the same data */
			c->flags |= F_SEND_PENDING;
			ev_io_start(loop, &c->cw);
			ev_io_stop(loop, &c->br);
			return 0;
		}
		gpc_debug("conn %d: send: %s", c->cr.fd, gnutls_strerror((int)n));
		return conn_close(c);
	}
	c->flags &= ~(uint32_t)F_SEND_PENDING;
	buf_put(c->w, p);
	if (!(c->flags & F_BYE_PENDING))
		ev_io_stop(loop, &c->cw);
	if (c->flags & F_B_EOF) {
		if (!(c->flags & (F_C_BYE | F_BYE_PENDING)))
			return do_bye(c);
		return 0;
	}
	if ((c->flags & F_BE_CONNECTED) && !ev_is_active(&c->br))
		ev_io_start(loop, &c->br);
	return 0;
}

static int handshake_done(struct conn *c)
{
	struct ev_loop *loop = c->w->loop;
	struct pipebuf *p = &c->c2b;

	c->flags |= F_HS_DONE;
	ev_io_stop(loop, &c->cw);
	if (gpc_log_enabled(GPC_LOG_DEBUG))
		gpc_debug("conn %d: handshake done (%s, %s, %s)", c->cr.fd,
			  gnutls_protocol_get_name(gnutls_protocol_get_version(c->tls)),
			  gnutls_cipher_get_name(gnutls_cipher_get(c->tls)),
			  gnutls_session_is_resumed(c->tls) ? "resumed" : "full");
	if (c->flags & F_ACME) {
		/* RFC 8737 §3: the validation needs only the handshake */
		gpc_info("tls-alpn-01: served the challenge certificate for %s", c->creds->name);
		return conn_close_clean(c);
	}
	if (c->flags & F_BE_FAILED)
		return conn_close_clean(c);
	if (gpd_cfg.proxy_proto != 0) {
		char sni[256] = "", alpn[256] = "";
		size_t l = sizeof(sni) - 1;
		unsigned type;
		gnutls_datum_t d;
		int hl;

		if (gnutls_server_name_get(c->tls, sni, &l, &type, 0) != 0 ||
		    type != GNUTLS_NAME_DNS)
			sni[0] = '\0';
		if (gnutls_alpn_get_selected_protocol(c->tls, &d) == 0 && d.size < sizeof(alpn)) {
			memcpy(alpn, d.data, d.size);
			alpn[d.size] = '\0';
		}
		if (p->buf == NULL && (p->buf = buf_get(c->w)) == NULL)
			return conn_close(c);
		hl = pp_build(gpd_cfg.proxy_proto, c->cr.fd, sni, alpn,
			      (unsigned char *)p->buf + p->end, GPD_BUFSZ - p->end);
		if (hl < 0) {
			gpc_debug("conn %d: cannot build the PROXY header", c->cr.fd);
			return conn_close(c);
		}
		p->end += (unsigned)hl;
	}
	c->last = ev_now(loop);
	if (!(c->flags & F_BE_CONNECTING))
		arm_idle(c);
	if ((c->flags & F_BE_CONNECTED) && !ev_is_active(&c->br))
		ev_io_start(loop, &c->br);
	/* application data may already sit decrypted inside GnuTLS */
	return client_read(c);
}

static int do_handshake(struct conn *c)
{
	int r = gnutls_handshake(c->tls);

	if (r == GNUTLS_E_SUCCESS)
		return handshake_done(c);
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
		if (gnutls_record_get_direction(c->tls) == 1)
			ev_io_start(c->w->loop, &c->cw);
		else
			ev_io_stop(c->w->loop, &c->cw);
		return 0;
	}
	if (!gnutls_error_is_fatal(r))
		return 0;
	gpc_debug("conn %d: handshake: %s", c->cr.fd, gnutls_strerror(r));
	/* tell the client why (unrecognized_name, handshake_failure ...) */
	(void)gnutls_alert_send_appropriate(c->tls, r);
	return conn_close(c);
}

/* A ClientHello offering only acme-tls/1 (RFC 8737 §3) for `sni` with no
 * challenge certificate loaded yet: `goproxy-cert issue` may have written it
 * a moment before the CA connected. Returns true when the handshake should
 * wait (not started yet: the ClientHello stays in the socket). */
static bool acme_should_wait(struct conn *c)
{
	unsigned char b[4096];
	char sni[256];
	struct gpd_creds *cr;
	ssize_t n;

	if (c->acme_waits >= ACME_WAIT_MAX)
		return false;
	n = recv(c->cr.fd, b, sizeof(b), MSG_PEEK);
	if (n <= 0 || sni_peek_acme(b, (size_t)n, sni, sizeof(sni)) != 1)
		return false;
	cr = sni_select(sni, true, false);
	if (cr != NULL) {
		creds_unref(cr);
		return false;
	}
	if (c->acme_waits++ == 0) {
		gpc_debug("conn %d: acme-tls/1 for %s: waiting for its certificate", c->cr.fd, sni);
		creds_request_challenges();
	}
	return true;
}

static void on_client_read(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = container_of(io, struct conn, cr);

	(void)revents;
	if (c->magic != CONN_MAGIC)
		return;
	if (!(c->flags & F_HS_DONE)) {
		if (!(c->flags & F_PEEKED)) {
			if (acme_should_wait(c)) {
				c->flags |= F_ACME_WAIT;
				ev_io_stop(loop, io);
				ev_timer_stop(loop, &c->timer);
				ev_timer_set(&c->timer, ACME_WAIT_STEP, 0.);
				ev_timer_start(loop, &c->timer);
				return;
			}
			c->flags |= F_PEEKED;
		}
		(void)do_handshake(c);
		return;
	}
	(void)client_read(c);
}

static void on_client_write(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = container_of(io, struct conn, cw);

	(void)revents;
	if (c->magic != CONN_MAGIC)
		return;
	if (!(c->flags & F_HS_DONE)) {
		(void)do_handshake(c);
		return;
	}
	if (c->flags & F_SEND_PENDING) {
		if (flush_b2c(c) < 0)
			return;
	} else if (c->flags & F_BYE_PENDING) {
		if (do_bye(c) < 0)
			return;
	} else {
		/* a record_recv that wanted to write (key update) */
		ev_io_stop(loop, io);
		if (ev_is_active(&c->cr))
			ev_feed_event(loop, &c->cr, EV_READ);
	}
}

/* ---- backend side ------------------------------------------------------- */

static int flush_c2b(struct conn *c)
{
	struct pipebuf *p = &c->c2b;
	struct ev_loop *loop = c->w->loop;
	ssize_t n;

	if (!(c->flags & F_BE_CONNECTED))
		return 0;
	while (p->start < p->end) {
		n = write(c->bw.fd, p->buf + p->start, p->end - p->start);
		if (n > 0) {
			p->start += (unsigned)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (errno == EINTR)
				continue;
			ev_io_start(loop, &c->bw);
			return 0;
		}
		gpc_debug("conn %d: backend write: %s", c->cr.fd, strerror(errno));
		return conn_close_clean(c);
	}
	buf_put(c->w, p);
	ev_io_stop(loop, &c->bw);
	if (c->flags & F_C_EOF) {
		if (!(c->flags & F_B_SHUT)) {
			(void)shutdown(c->bw.fd, SHUT_WR);
			c->flags |= F_B_SHUT;
		}
		return check_done(c);
	}
	if ((c->flags & F_HS_DONE) && !ev_is_active(&c->cr)) {
		/* room again: resume, and read what GnuTLS already holds */
		ev_io_start(loop, &c->cr);
		if (client_pending(c))
			ev_feed_event(loop, &c->cr, EV_READ);
	}
	return 0;
}

static void on_backend_write(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = container_of(io, struct conn, bw);

	(void)revents;
	if (c->magic != CONN_MAGIC)
		return;
	if (c->flags & F_BE_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
			err = errno;
		c->flags &= ~(uint32_t)F_BE_CONNECTING;
		if (err == 0 && net_self_connected(io->fd)) {
			gpc_warn("backend %s: connect: %s (%s)", c->backend->text,
				 strerror(ECONNREFUSED), SELF_CONNECT_MSG);
			err = ECONNREFUSED;
		} else if (err != 0) {
			gpc_warn("backend %s: connect: %s", c->backend->text, strerror(err));
		}
		if (err != 0) {
			c->flags |= F_BE_FAILED;
			ev_io_stop(loop, io);
			if (c->flags & F_HS_DONE)
				(void)conn_close_clean(c);
			return;
		}
		c->flags |= F_BE_CONNECTED;
		ev_io_start(loop, &c->br);
		if (c->flags & F_HS_DONE)
			arm_idle(c);
	}
	(void)flush_c2b(c);
}

static void on_backend_read(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = container_of(io, struct conn, br);
	struct pipebuf *p = &c->b2c;
	ssize_t n;

	(void)revents;
	if (c->magic != CONN_MAGIC)
		return;
	if (!(c->flags & F_HS_DONE) || p->end == GPD_BUFSZ) {
		/* nothing can go to the client yet: wait */
		ev_io_stop(loop, io);
		return;
	}
	/* A bulk response fills whole records: move a few per wakeup while the
	 * backend has more and the client takes them. */
	for (int round = 0; round < 4; round++) {
		size_t want;

		if (p->buf == NULL && (p->buf = buf_get(c->w)) == NULL) {
			conn_close(c);
			return;
		}
		want = GPD_BUFSZ - p->end;
		n = read(io->fd, p->buf + p->end, want);
		if (n > 0) {
			p->end += (unsigned)n;
			c->last = ev_now(loop);
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			if (n < 0)
				gpc_debug("conn %d: backend read: %s", c->cr.fd, strerror(errno));
			c->flags |= F_B_EOF;
			ev_io_stop(loop, io);
		} else {
			return;
		}
		if (flush_b2c(c) < 0)
			return;
		/* stop after a short read, EOF, or when the client is slow */
		if ((size_t)n < want || p->buf != NULL || !ev_is_active(io))
			return;
	}
}

/* ---- handshake hook ----------------------------------------------------- */

/* Handshakes refused for want of a certificate are said at most once per
 * REFUSED_EVERY seconds over all workers, with the number left unsaid since
 * the last line: scanners try any name, and a goproxyd that has no
 * certificate yet refuses every one. Each one is at debug level (-v). */
#define REFUSED_EVERY 10
static atomic_llong refused_next;  /* CLOCK_MONOTONIC second of the next line */
static atomic_ulong refused_unsaid; /* refusals since the last line */

static void log_refused(const struct conn *c, const char *sni, bool acme)
{
	const char *why = sni_count() == 0 ? " (none issued yet)" : gpd_cfg.sni_strict && !acme ? " (--sni-strict)" : "";
	struct timespec ts;
	long long now, next;
	unsigned long unsaid;

	gpc_debug("conn %d: %s%s%s: no certificate%s; handshake refused (unrecognized_name)", c->cr.fd,
		  acme ? "acme-tls/1 for " : "server name ", sni[0] ? "" : "(none)", sni, why);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec;
	next = atomic_load_explicit(&refused_next, memory_order_relaxed);
	if (now < next || !atomic_compare_exchange_strong(&refused_next, &next, now + REFUSED_EVERY)) {
		atomic_fetch_add_explicit(&refused_unsaid, 1, memory_order_relaxed);
		return;
	}
	unsaid = atomic_exchange_explicit(&refused_unsaid, 0, memory_order_relaxed);
	if (unsaid > 0)
		gpc_info("%s%s%s: no certificate%s; handshake refused with the alert unrecognized_name (and %lu "
			 "more since the last such line; one line per %d s, each one with -v)",
			 acme ? "acme-tls/1 for " : "server name ", sni[0] ? "" : "(none)", sni, why, unsaid,
			 REFUSED_EVERY);
	else
		gpc_info("%s%s%s: no certificate%s; handshake refused with the alert unrecognized_name "
			 "(one line per %d s, each one with -v)",
			 acme ? "acme-tls/1 for " : "server name ", sni[0] ? "" : "(none)", sni, why, REFUSED_EVERY);
}

/* Called by GnuTLS once the ClientHello is parsed (SNI and ALPN known):
 * choose the credentials and the backend, and start connecting to it.
 * Must not free the connection. */
static int on_client_hello(gnutls_session_t s)
{
	struct conn *c = gnutls_session_get_ptr(s);
	char sni[256];
	bool acme;
	int r;

	if (c == NULL || c->magic != CONN_MAGIC)
		return GNUTLS_E_INTERNAL_ERROR;
	if (c->creds == NULL)
		c->creds = sni_select_local(s, c->cr.fd); /* no SNI: an IP certificate for this address */
	r = sni_choose(s, gpd_cfg.sni_strict, &c->creds, sni, sizeof(sni), &acme);
	if (r == GNUTLS_E_UNRECOGNIZED_NAME) {
		log_refused(c, sni, acme);
		return r; /* do_handshake sends the unrecognized_name alert */
	}
	if (r != 0)
		return r;
	if (acme) {
		c->flags |= F_ACME;
		return 0;
	}
	if (c->backend == NULL) {
		c->backend = route_for(sni[0] ? sni : NULL);
		backend_connect(c);
	}
	return 0;
}

/* ---- accept ------------------------------------------------------------- */

static void conn_new(struct gpd_worker *w, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (c == NULL || gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK |
						   GNUTLS_NO_SIGNAL) < 0) {
		gpc_warn("out of memory: refusing a connection");
		free(c);
		close(fd);
		atomic_fetch_sub_explicit(&gpd_active_conns, 1, memory_order_relaxed);
		return;
	}
	c->magic = CONN_MAGIC;
	c->w = w;
	(void)gnutls_priority_set(c->tls, gpd_priority);
	(void)gnutls_session_ticket_enable_server(c->tls, &gpd_ticket_key);
	(void)gnutls_alpn_set_protocols(c->tls, gpd_cfg.alpn, gpd_cfg.nalpn,
					GNUTLS_ALPN_SERVER_PRECEDENCE);
	gnutls_handshake_set_post_client_hello_function(c->tls, on_client_hello);
	gnutls_session_set_ptr(c->tls, c);
	gnutls_transport_set_ptr(c->tls, c);
	gnutls_transport_set_pull_function(c->tls, tls_pull);
	gnutls_transport_set_pull_timeout_function(c->tls, tls_pull_timeout);
	gnutls_transport_set_vec_push_function(c->tls, tls_push);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev_io_init(&c->cr, on_client_read, fd, EV_READ);
	ev_io_init(&c->cw, on_client_write, fd, EV_WRITE);
	ev_io_init(&c->br, on_backend_read, -1, EV_READ);
	ev_io_init(&c->bw, on_backend_write, -1, EV_WRITE);
	ev_timer_init(&c->timer, on_timer, gpd_cfg.handshake_timeout, 0.);
	ev_io_start(w->loop, &c->cr);
	ev_timer_start(w->loop, &c->timer);
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	if (w->nconns > w->trim_mark)
		w->trim_mark = w->nconns;
}

static void on_resume(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct gpd_worker *w = container_of(t, struct gpd_worker, resume_w);

	(void)revents;
	if (w->stopping)
		return;
	for (size_t i = 0; i < w->nlis; i++)
		ev_io_start(loop, &w->lis[i]);
}

static void on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct gpd_worker *w = ev_userdata(loop);

	(void)revents;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		unsigned long n;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* out of descriptors: pause accepting briefly instead of spinning */
				gpc_warn("accept: %s; pausing for 1 s", strerror(errno));
				for (size_t j = 0; j < w->nlis; j++)
					ev_io_stop(loop, &w->lis[j]);
				ev_timer_stop(loop, &w->resume_w);
				ev_timer_set(&w->resume_w, 1., 0.);
				ev_timer_start(loop, &w->resume_w);
			}
			return;
		}
		n = atomic_fetch_add_explicit(&gpd_active_conns, 1, memory_order_relaxed);
		if (n >= gpd_cfg.max_conns) {
			/* over --max-conns: close at once (the client sees a FIN) */
			atomic_fetch_sub_explicit(&gpd_active_conns, 1, memory_order_relaxed);
			gpc_debug("max-conns %lu reached: refusing a connection", gpd_cfg.max_conns);
			close(fd);
			continue;
		}
		conn_new(w, fd);
	}
}

/* ---- stop and drain ----------------------------------------------------- */

static void on_drain_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct gpd_worker *w = container_of(t, struct gpd_worker, drain_w);

	(void)revents;
	gpc_info("worker %u: drain timeout, closing %zu connection(s)", w->idx, w->nconns);
	while (w->conns != NULL)
		(void)conn_close_clean(w->conns);
	ev_break(loop, EVBREAK_ALL);
}

static void on_stop(struct ev_loop *loop, ev_async *a, int revents)
{
	struct gpd_worker *w = container_of(a, struct gpd_worker, stop_w);

	(void)revents;
	if (w->stopping)
		return;
	w->stopping = true;
	ev_timer_stop(loop, &w->resume_w);
	for (size_t i = 0; i < w->nlis; i++) {
		ev_io_stop(loop, &w->lis[i]);
		close(w->lis[i].fd);
		w->lis[i].fd = -1;
	}
	if (w->nconns == 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	gpc_debug("worker %u: draining %zu connection(s)", w->idx, w->nconns);
	ev_timer_set(&w->drain_w, gpd_cfg.drain_timeout, 0.);
	ev_timer_start(loop, &w->drain_w);
}

struct gpd_worker *worker_new(unsigned idx, const int *fds, size_t nfds)
{
	struct gpd_worker *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->idx = idx;
	if ((w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK)) == NULL) {
		free(w);
		return NULL;
	}
	ev_set_userdata(w->loop, w);
	for (size_t i = 0; i < nfds && i < GPD_MAX_LISTEN; i++) {
		ev_io_init(&w->lis[i], on_accept, fds[i], EV_READ);
		ev_io_start(w->loop, &w->lis[i]);
		w->nlis++;
	}
	ev_async_init(&w->stop_w, on_stop);
	ev_async_start(w->loop, &w->stop_w);
	ev_init(&w->drain_w, on_drain_timeout);
	ev_init(&w->resume_w, on_resume);
	return w;
}

void *worker_run(void *arg)
{
	struct gpd_worker *w = arg;

	ev_run(w->loop, 0);
	return NULL;
}

void worker_stop(struct gpd_worker *w)
{
	ev_async_send(w->loop, &w->stop_w);
}

void worker_free(struct gpd_worker *w)
{
	if (w == NULL)
		return;
	while (w->conns != NULL)
		(void)conn_close(w->conns);
	for (size_t i = 0; i < w->nlis; i++)
		if (w->lis[i].fd >= 0)
			close(w->lis[i].fd);
	while (w->npool > 0)
		free(w->pool[--w->npool]);
	ev_loop_destroy(w->loop);
	free(w);
}

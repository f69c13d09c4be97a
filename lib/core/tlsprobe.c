/* tlsprobe: connect to a TLS server, take the chain it serves, verify it.
 *
 * One attempt per address of the name, in getaddrinfo's order, each with
 * its own deadline covering the TCP connect, the STARTTLS preamble and the
 * handshake: a non-blocking socket and poll(2), so that a server that
 * accepts and never answers costs exactly the timeout. */
#include "tlsprobe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "buf.h"
#include "log.h"
#include "netutil.h"

#define CHAIN_MAX (1024 * 1024)  /* the served chain as PEM */
#define REPLY_MAX 8192           /* one STARTTLS preamble reply */

static const struct {
	const char *name;
	const char *port;
} protos[] = {
	[TLSPROBE_TLS] = { "tls", "443" },
	[TLSPROBE_SMTP] = { "smtp", "25" },
	[TLSPROBE_IMAP] = { "imap", "143" },
	[TLSPROBE_POP3] = { "pop3", "110" },
	[TLSPROBE_FTP] = { "ftp", "21" },
	[TLSPROBE_POSTGRES] = { "postgres", "5432" },
	[TLSPROBE_LDAP] = { "ldap", "389" },
};
#define N_PROTOS (sizeof(protos) / sizeof(protos[0]))

int tlsprobe_starttls_parse(const char *name, enum tlsprobe_starttls *out)
{
	for (size_t i = 1; i < N_PROTOS; i++) {
		if (strcasecmp(name, protos[i].name) == 0) {
			*out = (enum tlsprobe_starttls)i;
			return 0;
		}
	}
	return -1;
}

const char *tlsprobe_default_port(enum tlsprobe_starttls p)
{
	return (size_t)p < N_PROTOS ? protos[p].port : "443";
}

const char *tlsprobe_starttls_names(void)
{
	return "smtp, imap, pop3, ftp, postgres, ldap";
}

bool tlsprobe_is_ip(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* ---- one attempt ---- */

struct attempt {
	int fd;
	long long deadline;          /* CLOCK_MONOTONIC ms */
	unsigned timeout_s;
	unsigned char first[48];     /* the first bytes the server sent during the handshake */
	size_t n_first;
	bool got_eof;
	struct tlsprobe_attempt *out;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns -1 so that failing steps can `return fail(...)`. */
static int fail(struct attempt *a, const char *code, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct attempt *a, const char *code, const char *hint, const char *fmt, ...)
{
	va_list ap;

	a->out->code = code;
	a->out->hint = hint;
	va_start(ap, fmt);
	vsnprintf(a->out->cause, sizeof(a->out->cause), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *const hint_refused =
	"nothing listens there: is the server running, and is this the port it listens on?";
static const char *const hint_connect_timeout =
	"no answer at all: a firewall that drops packets, a wrong address, or a server far too "
	"busy; raise --connect-timeout only if it is just slow";
static const char *const hint_tls_timeout =
	"the server accepted the connection but never answered the TLS handshake: is this a TLS port "
	"(for a protocol that upgrades, use --starttls PROTO), or is the server hung?";
static const char *const hint_unreachable =
	"the network path to this address is broken: check routes, the interface, and the address";
static const char *const hint_not_tls =
	"this port does not speak TLS: use the TLS port (443 for HTTPS), or --starttls PROTO for a "
	"protocol that upgrades a plain connection";
static const char *const hint_closed =
	"the server hung up: it may not serve TLS here, refuse the server name (SNI), or limit "
	"connections; look at its log";
static const char *const hint_alert =
	"the server refused the handshake: check that --servername names a site it serves (SNI) and "
	"that a certificate is configured for it";
static const char *const hint_unknown_name =
	"the server has no certificate for this server name (SNI): if it is goproxyd, none was issued "
	"for the name yet (goproxyd runs before its first certificate and refuses such names): get one "
	"through it (goproxy-cert issue -D NAME --http-dir); otherwise check --servername";
static const char *const hint_handshake =
	"the TLS handshake did not complete: the server may offer no protocol version or cipher "
	"this client accepts";
static const char *const hint_starttls =
	"the server did not offer or accept the upgrade to TLS: check --starttls PROTO and the port";

/* Fail with the cause of a failed connect(2) or I/O call. */
static int fail_errno(struct attempt *a, int e, const char *what)
{
	switch (e) {
	case ECONNREFUSED:
		return fail(a, TLSPROBE_E_REFUSED, hint_refused, "connection refused");
	case ETIMEDOUT:
		return fail(a, TLSPROBE_E_TIMEOUT, hint_connect_timeout, "%s timed out (the system gave up)",
			    what);
	case ECONNRESET:
	case EPIPE:
		return fail(a, TLSPROBE_E_CLOSED, hint_closed, "connection reset by the server during %s",
			    what);
	default:
		return fail(a, TLSPROBE_E_UNREACHABLE, hint_unreachable, "%s failed: %s", what, strerror(e));
	}
}

/* Wait until fd is ready for `events` or the attempt's deadline. Returns 1
 * ready, 0 timed out, -1 error (errno). */
static int wait_fd(struct attempt *a, short events)
{
	for (;;) {
		long long left = a->deadline - mono_ms();
		struct pollfd p = { .fd = a->fd, .events = events };
		int n;

		if (left <= 0)
			return 0;
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static int tcp_connect(struct attempt *a, const struct addrinfo *ai)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	int w;

	a->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0)
		return fail_errno(a, errno, "socket");
	if (connect(a->fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto connected;
	if (errno != EINPROGRESS && errno != EINTR)
		return fail_errno(a, errno, "connect");
	w = wait_fd(a, POLLOUT);
	if (w == 0)
		return fail(a, TLSPROBE_E_TIMEOUT, hint_connect_timeout,
			    "timed out after %u s (TCP connect: no answer)", a->timeout_s);
	if (w < 0)
		return fail_errno(a, errno, "connect");
	if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
		return fail_errno(a, errno, "connect");
	if (soerr != 0)
		return fail_errno(a, soerr, "connect");
connected:
	/* a local port where nothing listens can connect to itself */
	if (net_self_connected(a->fd))
		return fail_errno(a, ECONNREFUSED, "connect");
	return 0;
}

/* ---- STARTTLS preambles (plain text before the handshake) ---- */

/* After EAGAIN: wait for `ev`. Returns 0 to try again, or -1 (the attempt
 * failed) when the deadline passed or poll failed. */
static int again(struct attempt *a, short ev, const char *hint, const char *doing, const char *what)
{
	int w = wait_fd(a, ev);

	if (w == 0)
		return fail(a, TLSPROBE_E_TIMEOUT, hint, "timed out after %u s %s %s", a->timeout_s, doing, what);
	if (w < 0)
		return fail_errno(a, errno, what);
	return 0;
}

static int send_all(struct attempt *a, const void *data, size_t len, const char *what)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(a->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (again(a, POLLOUT, hint_starttls, "sending", what) != 0)
				return -1;
			continue;
		}
		return fail_errno(a, errno, what);
	}
	return 0;
}

/* When the reply in b is complete: > 0. */
typedef int (*reply_done_fn)(const struct buf *b);

/* The last complete line of b, or NULL when b does not end with one. */
static const char *last_line(const struct buf *b)
{
	const char *end, *p;

	if (b->len == 0 || b->data[b->len - 1] != '\n')
		return NULL;
	end = b->data + b->len - 1;
	for (p = end; p > b->data && p[-1] != '\n'; p--)
		;
	return p;
}

/* SMTP and FTP: "250-..." lines continue, "250 ..." ends the reply. */
static int done_coded(const struct buf *b)
{
	const char *l = last_line(b);

	return l != NULL && strlen(l) >= 4 && l[3] != '-';
}

static int done_line(const struct buf *b)
{
	return last_line(b) != NULL;
}

/* IMAP: untagged "* ..." lines until the tagged "a1 ..." one. */
static int done_tagged(const struct buf *b)
{
	const char *l = last_line(b);

	return l != NULL && strncmp(l, "a1 ", 3) == 0;
}

static int done_byte(const struct buf *b)
{
	return b->len >= 1;
}

/* BER length at p (n bytes available): its value in *len and the bytes it
 * took, 0 when incomplete, -1 when not DER we can use. */
static int ber_len(const unsigned char *p, size_t n, size_t *len)
{
	size_t k;

	if (n < 1)
		return 0;
	if (p[0] < 0x80) {
		*len = p[0];
		return 1;
	}
	k = p[0] & 0x7f;
	if (k == 0 || k > 4)
		return -1;
	if (n < 1 + k)
		return 0;
	*len = 0;
	for (size_t i = 0; i < k; i++)
		*len = (*len << 8) | p[1 + i];
	return (int)(1 + k);
}

/* LDAP: one whole LDAPMessage (a SEQUENCE). */
static int done_ber(const struct buf *b)
{
	const unsigned char *p = (const unsigned char *)b->data;
	size_t len;
	int k;

	if (b->len < 2)
		return 0;
	if (p[0] != 0x30)
		return 1; /* not LDAP: let the caller say so */
	k = ber_len(p + 1, b->len - 1, &len);
	if (k < 0)
		return 1;
	return k > 0 && b->len >= 1 + (size_t)k + len;
}

static int read_reply(struct attempt *a, struct buf *b, reply_done_fn done, const char *what)
{
	buf_reset(b);
	while (!done(b)) {
		char tmp[1024];
		ssize_t n = recv(a->fd, tmp, sizeof(tmp), 0);
		if (n > 0) {
			if (buf_add(b, tmp, (size_t)n) != 0)
				return fail(a, TLSPROBE_E_STARTTLS, hint_starttls,
					    "the %s is longer than %d bytes", what, REPLY_MAX);
			continue;
		}
		if (n == 0)
			return fail(a, TLSPROBE_E_CLOSED, hint_closed,
				    "the server closed the connection before its %s", what);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (again(a, POLLIN, hint_tls_timeout, "waiting for the", what) != 0)
				return -1;
			continue;
		}
		return fail_errno(a, errno, what);
	}
	return 0;
}

/* The server's words for a message: printable, one line, bounded. */
static const char *quote(const struct buf *b, char *out, size_t outsz)
{
	size_t j = 0;

	for (size_t i = 0; i < b->len && j + 1 < outsz && j < 100; i++) {
		unsigned char c = (unsigned char)b->data[i];
		if (c == '\r' || c == '\n')
			c = ' ';
		out[j++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	while (j > 0 && out[j - 1] == ' ')
		j--;
	out[j] = '\0';
	return out;
}

/* A line-based exchange: send `cmd` (NULL: only read the greeting), read the
 * reply, and require it (its last line) to start with `want`. */
static int exchange(struct attempt *a, struct buf *b, const char *cmd, reply_done_fn done,
		    const char *want, const char *what)
{
	const char *l;
	char q[128];

	if (cmd != NULL && send_all(a, cmd, strlen(cmd), what) != 0)
		return -1;
	if (read_reply(a, b, done, what) != 0)
		return -1;
	l = done == done_coded || done == done_tagged ? last_line(b) : b->data;
	if (strncmp(l, want, strlen(want)) != 0)
		return fail(a, TLSPROBE_E_STARTTLS, hint_starttls, "%s: the server answered \"%s\"", what,
			    quote(b, q, sizeof(q)));
	return 0;
}

/* RFC 4511 §4.14.1: ExtendedRequest { messageID 1, requestName
 * 1.3.6.1.4.1.1466.20037 }, and its ExtendedResponse's resultCode. */
static int ldap_starttls(struct attempt *a, struct buf *b)
{
	static const char oid[] = "1.3.6.1.4.1.1466.20037";
	unsigned char req[64];
	const unsigned char *p;
	size_t n = 0, len, off;
	int k;

	req[n++] = 0x30;
	req[n++] = (unsigned char)(3 + 2 + 2 + (sizeof(oid) - 1));
	req[n++] = 0x02, req[n++] = 0x01, req[n++] = 0x01;      /* messageID 1 */
	req[n++] = 0x77;                                        /* [APPLICATION 23] */
	req[n++] = (unsigned char)(2 + (sizeof(oid) - 1));
	req[n++] = 0x80;                                        /* [0] requestName */
	req[n++] = (unsigned char)(sizeof(oid) - 1);
	memcpy(req + n, oid, sizeof(oid) - 1);
	n += sizeof(oid) - 1;
	if (send_all(a, req, n, "LDAP StartTLS request") != 0 ||
	    read_reply(a, b, done_ber, "LDAP StartTLS response") != 0)
		return -1;
	/* SEQUENCE { INTEGER id, [APPLICATION 24] { ENUMERATED resultCode, ... } } */
	p = (const unsigned char *)b->data;
	if (b->len < 2 || p[0] != 0x30 || (k = ber_len(p + 1, b->len - 1, &len)) <= 0)
		goto bad;
	off = 1 + (size_t)k;
	if (off + 3 > b->len || p[off] != 0x02 || p[off + 1] > 4)
		goto bad;
	off += 2 + p[off + 1];
	if (off + 2 > b->len || p[off] != 0x78 || (k = ber_len(p + off + 1, b->len - off - 1, &len)) <= 0)
		goto bad;
	off += 1 + (size_t)k;
	if (off + 3 > b->len || p[off] != 0x0a || p[off + 1] != 1)
		goto bad;
	if (p[off + 2] != 0)
		return fail(a, TLSPROBE_E_STARTTLS, hint_starttls,
			    "the LDAP server refused StartTLS (resultCode %u)", p[off + 2]);
	return 0;
bad:
	return fail(a, TLSPROBE_E_STARTTLS, hint_starttls,
		    "the answer to the LDAP StartTLS request is not an LDAP ExtendedResponse");
}

/* The line-based preambles: what to send, how a reply ends, what it must
 * start with (RFC 3207 §4, RFC 9051 §6.2.1, RFC 2595 §4, RFC 4217 §4). */
struct step {
	const char *cmd;         /* NULL: read the greeting */
	reply_done_fn done;
	const char *want;
	const char *what;        /* for messages */
};
static const struct step smtp_steps[] = {
	{ NULL, done_coded, "220", "SMTP greeting" },
	{ "EHLO goproxy-cert.invalid\r\n", done_coded, "250", "answer to EHLO" },
	{ "STARTTLS\r\n", done_coded, "220", "answer to STARTTLS" },
	{ NULL, NULL, NULL, NULL },
};
static const struct step imap_steps[] = {
	{ NULL, done_line, "* OK", "IMAP greeting" },
	{ "a1 STARTTLS\r\n", done_tagged, "a1 OK", "answer to STARTTLS" },
	{ NULL, NULL, NULL, NULL },
};
static const struct step pop3_steps[] = {
	{ NULL, done_line, "+OK", "POP3 greeting" },
	{ "STLS\r\n", done_line, "+OK", "answer to STLS" },
	{ NULL, NULL, NULL, NULL },
};
static const struct step ftp_steps[] = {
	{ NULL, done_coded, "220", "FTP greeting" },
	{ "AUTH TLS\r\n", done_coded, "234", "answer to AUTH TLS" },
	{ NULL, NULL, NULL, NULL },
};
static const struct step *const line_steps[] = {
	[TLSPROBE_SMTP] = smtp_steps,
	[TLSPROBE_IMAP] = imap_steps,
	[TLSPROBE_POP3] = pop3_steps,
	[TLSPROBE_FTP] = ftp_steps,
};

/* PostgreSQL's SSLRequest: length 8, code 80877103 (1234 << 16 | 5679);
 * the server answers one byte, 'S' (go on with TLS) or 'N'. */
static int postgres_starttls(struct attempt *a, struct buf *b)
{
	static const unsigned char pg_ssl[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };

	if (send_all(a, pg_ssl, sizeof(pg_ssl), "SSLRequest") != 0 ||
	    read_reply(a, b, done_byte, "answer to SSLRequest") != 0)
		return -1;
	if (b->data[0] == 'S')
		return 0;
	if (b->data[0] == 'N')
		return fail(a, TLSPROBE_E_STARTTLS, "enable ssl in postgresql.conf, or connect elsewhere",
			    "the PostgreSQL server does not accept SSL (it answered 'N' to SSLRequest)");
	return fail(a, TLSPROBE_E_STARTTLS, hint_starttls,
		    "not a PostgreSQL server: it answered 0x%02x to SSLRequest", (unsigned char)b->data[0]);
}

static int starttls(struct attempt *a, enum tlsprobe_starttls proto)
{
	const struct step *st = (size_t)proto < sizeof(line_steps) / sizeof(line_steps[0])
				? line_steps[proto] : NULL;
	struct buf b;
	int rc = 0;

	if (proto == TLSPROBE_TLS)
		return 0;
	buf_init(&b, REPLY_MAX);
	if (proto == TLSPROBE_POSTGRES)
		rc = postgres_starttls(a, &b);
	else if (proto == TLSPROBE_LDAP)
		rc = ldap_starttls(a, &b);
	for (; rc == 0 && st != NULL && st->done != NULL; st++)
		rc = exchange(a, &b, st->cmd, st->done, st->want, st->what);
	buf_finish(&b);
	return rc;
}

/* ---- the handshake ---- */

/* GnuTLS transport on the attempt's socket; the first bytes received are
 * kept to tell "not TLS at all" (an HTTP or SSH banner) from a TLS failure. */
static ssize_t pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct attempt *a = ptr;
	ssize_t n = recv(a->fd, data, len, 0);

	if (n > 0 && a->n_first < sizeof(a->first)) {
		size_t k = sizeof(a->first) - a->n_first;
		if (k > (size_t)n)
			k = (size_t)n;
		memcpy(a->first + a->n_first, data, k);
		a->n_first += k;
	}
	if (n == 0)
		a->got_eof = true;
	return n;
}

static ssize_t push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
	struct attempt *a = ptr;

	return send(a->fd, data, len, MSG_NOSIGNAL);
}

static int pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct attempt *a = ptr;
	struct pollfd p = { .fd = a->fd, .events = POLLIN };

	return poll(&p, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

/* TLS records start with a content type 20..24 and major version 3. */
static bool looks_tls(const struct attempt *a)
{
	return a->n_first == 0 || (a->first[0] >= 20 && a->first[0] <= 24 && (a->n_first < 2 || a->first[1] == 3));
}

static int fail_not_tls(struct attempt *a)
{
	struct buf b;
	char q[128];

	/* GnuTLS stopped at the record header: read a little more of what the
	 * server says ("HTTP/1.1 400 Bad Request", "SSH-2.0-...") to name it */
	if (a->deadline > mono_ms() + 300)
		a->deadline = mono_ms() + 300;
	if (a->n_first < sizeof(a->first) && wait_fd(a, POLLIN) == 1) {
		ssize_t n = recv(a->fd, a->first + a->n_first, sizeof(a->first) - a->n_first, MSG_DONTWAIT);
		if (n > 0)
			a->n_first += (size_t)n;
	}
	b = (struct buf){ .data = (char *)a->first, .len = a->n_first };

	return fail(a, TLSPROBE_E_NOT_TLS, hint_not_tls,
		    "not TLS: the server answered the handshake with \"%s...\"", quote(&b, q, sizeof(q)));
}

static int handshake_failed(struct attempt *a, gnutls_session_t s, int ret, const char *servername)
{
	if (!looks_tls(a))
		return fail_not_tls(a);
	switch (ret) {
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		/* RFC 6066 §3: "unrecognized_name" is the server saying it has
		 * nothing for the name asked (goproxyd before a pair for it) */
		if (gnutls_alert_get(s) == GNUTLS_A_UNRECOGNIZED_NAME)
			return fail(a, TLSPROBE_E_NO_CERT_FOR_NAME, hint_unknown_name,
				    "the server has no certificate for %s%s: it refused the handshake with the TLS alert "
				    "unrecognized_name", servername ? "" : "a handshake without a server name (SNI)",
				    servername ? servername : "");
		return fail(a, TLSPROBE_E_ALERT, hint_alert, "the server sent the TLS alert '%s'",
			    gnutls_alert_get_name(gnutls_alert_get(s)));
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_PUSH_ERROR:
	case GNUTLS_E_PULL_ERROR:
		if (a->got_eof || ret == GNUTLS_E_PREMATURE_TERMINATION || errno == ECONNRESET || errno == EPIPE)
			return fail(a, TLSPROBE_E_CLOSED, hint_closed,
				    "the server closed the connection during the TLS handshake%s",
				    a->n_first == 0 ? " without answering" : "");
		return fail_errno(a, errno, "the TLS handshake");
	default:
		return fail(a, TLSPROBE_E_HANDSHAKE, hint_handshake, "TLS handshake failed: %s",
			    gnutls_strerror(ret));
	}
}

/* Peers' DER certificates -> PEM, in the order sent. */
static int take_chain(struct attempt *a, gnutls_session_t s, struct tlsprobe_result *r)
{
	const gnutls_datum_t *peers;
	unsigned n = 0;
	struct buf b;

	if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509 ||
	    (peers = gnutls_certificate_get_peers(s, &n)) == NULL || n == 0)
		return fail(a, TLSPROBE_E_NO_CERT,
			    "the server authenticates without an X.509 certificate (PSK or raw key): "
			    "there is nothing to check",
			    "the handshake completed, but the server sent no certificate");
	buf_init(&b, CHAIN_MAX);
	for (unsigned i = 0; i < n; i++) {
		gnutls_datum_t pem = { NULL, 0 };
		int ok = gnutls_pem_base64_encode2("CERTIFICATE", &peers[i], &pem) == 0 &&
			 buf_add(&b, pem.data, pem.size) == 0;
		gnutls_free(pem.data);
		if (!ok) {
			buf_finish(&b);
			return fail(a, TLSPROBE_E_HANDSHAKE, "", "the served chain (%u certificates) is too "
				    "large to keep (over %d bytes as PEM)", n, CHAIN_MAX);
		}
	}
	r->chain_pem = buf_take(&b, &r->chain_len);
	if (r->chain_pem == NULL)
		return fail(a, GPC_E_NOMEM, "", "out of memory");
	r->n_certs = n;
	return 0;
}

static int tls_handshake(struct attempt *a, const struct tlsprobe_options *o,
			 gnutls_certificate_credentials_t cred, struct tlsprobe_result *r)
{
	gnutls_session_t s = NULL;
	int ret, rc = -1;
	char *desc;
	const char *ver;

	if ((ret = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL)) < 0 ||
	    (ret = gnutls_set_default_priority(s)) < 0 ||
	    (ret = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred)) < 0) {
		fail(a, TLSPROBE_E_HANDSHAKE, "", "TLS session set-up failed: %s", gnutls_strerror(ret));
		goto out;
	}
	if (o->servername != NULL && !tlsprobe_is_ip(o->servername) &&
	    (ret = gnutls_server_name_set(s, GNUTLS_NAME_DNS, o->servername, strlen(o->servername))) < 0) {
		fail(a, TLSPROBE_E_HANDSHAKE, "", "server name %s: %s", o->servername, gnutls_strerror(ret));
		goto out;
	}
	gnutls_transport_set_ptr(s, a);
	gnutls_transport_set_pull_function(s, pull);
	gnutls_transport_set_push_function(s, push);
	gnutls_transport_set_pull_timeout_function(s, pull_timeout);
	/* our deadline bounds the handshake, not GnuTLS's own default */
	gnutls_handshake_set_timeout(s, GNUTLS_INDEFINITE_TIMEOUT);

	for (;;) {
		int w;
		ret = gnutls_handshake(s);
		if (ret == GNUTLS_E_SUCCESS)
			break;
		if (ret != GNUTLS_E_AGAIN && ret != GNUTLS_E_INTERRUPTED) {
			if (!gnutls_error_is_fatal(ret))
				continue; /* a warning alert (unrecognized_name): go on */
			handshake_failed(a, s, ret,
					 o->servername != NULL && !tlsprobe_is_ip(o->servername) ? o->servername : NULL);
			goto out;
		}
		w = wait_fd(a, gnutls_record_get_direction(s) ? POLLOUT : POLLIN);
		if (w == 0) {
			if (!looks_tls(a))
				fail_not_tls(a);
			else
				fail(a, TLSPROBE_E_TIMEOUT, hint_tls_timeout, "timed out after %u s in the TLS "
				     "handshake (%s)", a->timeout_s, a->n_first ? "the server stopped answering"
				     : "connected, but the server sent nothing");
			goto out;
		}
		if (w < 0) {
			fail_errno(a, errno, "the TLS handshake");
			goto out;
		}
	}
	if (take_chain(a, s, r) != 0)
		goto out;
	ver = gnutls_protocol_get_name(gnutls_protocol_get_version(s));
	snprintf(r->tls_version, sizeof(r->tls_version), "%s", ver != NULL ? ver : "?");
	if ((desc = gnutls_session_get_desc(s)) != NULL) {
		r->session_desc = strdup(desc);
		gnutls_free(desc);
	}
	/* say goodbye once; a server that does not read it is no failure */
	(void)gnutls_bye(s, GNUTLS_SHUT_WR);
	rc = 0;
out:
	if (s != NULL)
		gnutls_deinit(s);
	return rc;
}

static int attempt_run(const struct tlsprobe_options *o, const struct addrinfo *ai,
		       gnutls_certificate_credentials_t cred, struct tlsprobe_attempt *out,
		       struct tlsprobe_result *r)
{
	struct attempt a = { .fd = -1, .timeout_s = o->timeout_s, .out = out };
	int rc;

	a.deadline = mono_ms() + (long long)o->timeout_s * 1000;
	memset(out, 0, sizeof(*out));
	out->hint = "";
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, out->address, sizeof(out->address), NULL, 0,
			NI_NUMERICHOST) != 0)
		snprintf(out->address, sizeof(out->address), "?");
	rc = tcp_connect(&a, ai);
	if (rc == 0)
		rc = starttls(&a, o->starttls);
	if (rc == 0)
		rc = tls_handshake(&a, o, cred, r);
	if (a.fd >= 0)
		close(a.fd);
	gpc_debug("%s port %s: %s: %s", o->host, o->port, out->address, rc == 0 ? "got the chain" : out->cause);
	return rc;
}

/* How far an attempt got: the furthest one explains the failure best. */
static int progress(const char *code)
{
	static const char *const order[] = {
		TLSPROBE_E_UNREACHABLE, TLSPROBE_E_REFUSED, TLSPROBE_E_TIMEOUT, TLSPROBE_E_STARTTLS,
		TLSPROBE_E_CLOSED, TLSPROBE_E_NOT_TLS, TLSPROBE_E_ALERT, TLSPROBE_E_NO_CERT_FOR_NAME, TLSPROBE_E_HANDSHAKE,
		TLSPROBE_E_NO_CERT,
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (code != NULL && strcmp(code, order[i]) == 0)
			return (int)i;
	return 0;
}

static const char *bracket(const char *addr, char *out, size_t outsz)
{
	snprintf(out, outsz, strchr(addr, ':') != NULL ? "[%s]" : "%s", addr);
	return out;
}

/* Every failed attempt into err: "HOST port PORT: ADDR: cause[; ADDR: cause]". */
static void explain(const struct tlsprobe_options *o, const struct tlsprobe_result *r, struct gpc_error *err)
{
	const struct tlsprobe_attempt *best = &r->attempts[0];
	struct buf b;
	char ab[64], hb[272];

	buf_init(&b, sizeof(err->message));
	for (size_t i = 0; i < r->n_attempts; i++) {
		const struct tlsprobe_attempt *t = &r->attempts[i];
		if (progress(t->code) > progress(best->code))
			best = t;
		if (buf_printf(&b, "%s%s: %s", i ? "; " : "", bracket(t->address, ab, sizeof(ab)), t->cause) != 0)
			break;
	}
	gpc_error_set(err, best->code, "%s port %s: %s%s", bracket(o->host, hb, sizeof(hb)), o->port,
		      r->n_attempts > 1 ? "no address worked: " : "", b.data ? b.data : "");
	if (best->hint[0] != '\0')
		gpc_error_hint(err, "%s", best->hint);
	buf_finish(&b);
}

int tlsprobe_run(const struct tlsprobe_options *o, struct tlsprobe_result *r, struct gpc_error *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	gnutls_certificate_credentials_t cred = NULL;
	size_t n = 0;
	int g, ret, rc = -1;

	memset(r, 0, sizeof(*r));
	r->used = -1;
	g = getaddrinfo(o->host, o->port, &hints, &res);
	if (g != 0) {
		gpc_error_set(err, TLSPROBE_E_UNRESOLVED, "%s port %s: cannot resolve the name: %s", o->host,
			      o->port, g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
		gpc_error_hint(err, "check the spelling and the resolver (/etc/resolv.conf, /etc/hosts), "
				    "or give an address (IPv6 in brackets: [2001:db8::1]:443)");
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		n++;
	r->attempts = calloc(n ? n : 1, sizeof(*r->attempts));
	if (r->attempts == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "%s port %s: out of memory", o->host, o->port);
		goto out;
	}
	/* no client certificate, no trust here: tlsprobe_verify judges the chain */
	if ((ret = gnutls_certificate_allocate_credentials(&cred)) < 0) {
		gpc_error_set(err, GPC_E_TLS, "%s port %s: TLS set-up failed: %s", o->host, o->port,
			      gnutls_strerror(ret));
		goto out;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct tlsprobe_attempt *t = &r->attempts[r->n_attempts++];
		if (attempt_run(o, ai, cred, t, r) == 0) {
			r->used = (long)(r->n_attempts - 1);
			rc = 0;
			goto out;
		}
	}
	explain(o, r, err);
out:
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
	freeaddrinfo(res);
	return rc;
}

void tlsprobe_result_finish(struct tlsprobe_result *r)
{
	free(r->attempts);
	free(r->chain_pem);
	free(r->session_desc);
	memset(r, 0, sizeof(*r));
	r->used = -1;
}

/* ---- trust ---- */

struct tlsprobe_trust {
	gnutls_x509_trust_list_t list;
	char source[PATH_MAX + 16];
};

int tlsprobe_trust_new(const char *ca_bundle, struct tlsprobe_trust **out, struct gpc_error *err)
{
	struct tlsprobe_trust *t = calloc(1, sizeof(*t));
	int ret;

	*out = NULL;
	if (t == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "trust store: out of memory");
	if ((ret = gnutls_x509_trust_list_init(&t->list, 0)) < 0) {
		free(t);
		return gpc_error_set(err, GPC_E_TLS, "trust store: %s", gnutls_strerror(ret));
	}
	if (ca_bundle == NULL) {
		snprintf(t->source, sizeof(t->source), "the system trust store");
		ret = gnutls_x509_trust_list_add_system_trust(t->list, 0, 0);
		if (ret <= 0) {
			gpc_error_set(err, TLSPROBE_E_TRUST, "the system trust store: %s",
				      ret == 0 ? "no certificates found" : gnutls_strerror(ret));
			gpc_error_hint(err, "install the CA certificates (Debian: ca-certificates), or name "
					    "the CA to trust with --ca-bundle FILE");
			goto bad;
		}
	} else {
		FILE *f = fopen(ca_bundle, "r");
		if (f == NULL) {
			gpc_error_sys(err, errno, "open", ca_bundle);
			if (err != NULL && err->code != NULL && strcmp(err->code, GPC_E_MISSING) == 0)
				gpc_error_hint(err, "give the path of a PEM file of CA certificates, or leave "
						    "--ca-bundle out to use the system trust store");
			goto bad;
		}
		fclose(f);
		snprintf(t->source, sizeof(t->source), "--ca-bundle %s", ca_bundle);
		ret = gnutls_x509_trust_list_add_trust_file(t->list, ca_bundle, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
		if (ret <= 0) {
			gpc_error_set(err, TLSPROBE_E_TRUST, "--ca-bundle %s: %s", ca_bundle,
				      ret == 0 ? "holds no PEM certificate" : gnutls_strerror(ret));
			gpc_error_hint(err, "--ca-bundle takes a PEM file of CA certificates "
					    "(-----BEGIN CERTIFICATE----- blocks)");
			goto bad;
		}
	}
	gpc_debug("%s: %d trust anchors", t->source, ret);
	*out = t;
	return 0;
bad:
	gnutls_x509_trust_list_deinit(t->list, 1);
	free(t);
	return -1;
}

void tlsprobe_trust_free(struct tlsprobe_trust *t)
{
	if (t == NULL)
		return;
	gnutls_x509_trust_list_deinit(t->list, 1);
	free(t);
}

const char *tlsprobe_trust_source(const struct tlsprobe_trust *t)
{
	return t->source;
}

/* Follow issuers from the leaf through the certificates served (in any
 * order) and return the last one reached. */
static gnutls_x509_crt_t chain_end(gnutls_x509_crt_t *crts, size_t n)
{
	gnutls_x509_crt_t cur = crts[0];

	for (size_t steps = 0; steps < n; steps++) {
		gnutls_x509_crt_t next = NULL;
		if (gnutls_x509_crt_check_issuer(cur, cur))
			break; /* self-signed: the end */
		for (size_t i = 0; i < n && next == NULL; i++)
			if (crts[i] != cur && gnutls_x509_crt_check_issuer(cur, crts[i]))
				next = crts[i];
		if (next == NULL)
			break;
		cur = next;
	}
	return cur;
}

int tlsprobe_verify(const struct tlsprobe_trust *t, const struct x509_chain *c, struct tlsprobe_verdict *v,
		    struct gpc_error *err)
{
	size_t n = x509_chain_length(c);
	gnutls_x509_crt_t *crts = calloc(n, sizeof(*crts)), end, issuer = NULL;
	gnutls_datum_t text = { NULL, 0 };
	unsigned status = 0;
	int ret, rc = -1;

	memset(v, 0, sizeof(*v));
	if (crts == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "verify: out of memory");
	for (size_t i = 0; i < n; i++) {
		if ((crts[i] = x509_chain_crt(c, i)) == NULL) {
			gpc_error_set(err, GPC_E_INTERNAL, "verify: certificate %zu of the chain cannot be decoded",
				      i + 1);
			goto out;
		}
	}
	ret = gnutls_x509_trust_list_verify_crt2(t->list, crts, (unsigned)n, NULL, 0,
						 GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status, NULL);
	if (ret < 0) {
		gpc_error_set(err, GPC_E_TLS, "verify: %s", gnutls_strerror(ret));
		goto out;
	}
	v->status = status;
	v->trusted = status == 0;
	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
		size_t l = text.size;
		while (l > 0 && (text.data[l - 1] == ' ' || text.data[l - 1] == '\n' || text.data[l - 1] == '\0'))
			l--;
		snprintf(v->text, sizeof(v->text), "%.*s", (int)l, (const char *)text.data);
		gnutls_free(text.data);
	}
	v->self_signed_leaf = gnutls_x509_crt_check_issuer(crts[0], crts[0]) != 0;
	end = chain_end(crts, n);
	if (gnutls_x509_crt_check_issuer(end, end) ||
	    gnutls_x509_trust_list_get_issuer(t->list, end, &issuer, GNUTLS_TL_GET_COPY) == 0) {
		v->complete = true;
	} else {
		gnutls_datum_t dn = { NULL, 0 };
		if (gnutls_x509_crt_get_issuer_dn3(end, &dn, 0) == 0) {
			snprintf(v->end_issuer, sizeof(v->end_issuer), "%.*s", (int)dn.size, (const char *)dn.data);
			gnutls_free(dn.data);
		}
	}
	if (issuer != NULL)
		gnutls_x509_crt_deinit(issuer);
	rc = 0;
out:
	free(crts); /* the certificates belong to the chain */
	return rc;
}

bool tlsprobe_covers(const struct x509_chain *c, const char *name)
{
	gnutls_x509_crt_t leaf = x509_chain_crt(c, 0);

	return leaf != NULL && gnutls_x509_crt_check_hostname2(leaf, name, 0) != 0;
}

/* solver: http-dir, webroot, standalone (HTTP or TLS-ALPN) and hook solvers. */
#include "solver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "acme.h"
#include "b64.h"
#include "fsutil.h"
#include "keygen.h"
#include "log.h"
#include "gpc_spawn.h"
#include "records.h"
#include "solver_dns.h"

#define HTTP01_PREFIX "/.well-known/acme-challenge/"
#define MAX_TOKEN 256

/* One presented challenge (standalone keeps what it serves here). */
struct entry {
	char *type, *ident, *token, *key_auth;
	gnutls_certificate_credentials_t cred; /* tls-alpn-01 standalone */
	struct entry *next;
};

#define STANDALONE_MAX_CONNS 32
#define STANDALONE_REQ_DEADLINE_MS 10000 /* a whole request head, however slowly it comes */

struct solver {
	enum solver_kind kind;
	char *arg;
	char *challenge;
	struct certstore *cs;
	long hook_timeout_ms;

	pthread_mutex_t mu;
	struct entry *entries;
	struct dns_solver *dns; /* SOLVER_DNS */
	struct acct_rec *acct;  /* dns-account-01 records presented (solver_present_account) */

	/* standalone */
	int lfd;
	int wake[2];
	pthread_t thread;
	bool running;
	bool tls;
	char bound[128];
	unsigned long served;
	gnutls_priority_t prio;
	/* connections being served, each on a thread of its own, so that one
	 * slow client never keeps the CA's validation request waiting */
	int conn_fds[STANDALONE_MAX_CONNS];
	int nconns;
	pthread_cond_t conn_cv;
};

const char *solver_kind_name(enum solver_kind k)
{
	switch (k) {
	case SOLVER_HTTP_DIR: return "http-dir";
	case SOLVER_WEBROOT: return "webroot";
	case SOLVER_STANDALONE: return "standalone";
	case SOLVER_HOOK: return "hook";
	case SOLVER_DNS: return "dns";
	}
	return "?";
}

int solver_kind_parse(const char *s, enum solver_kind *k)
{
	static const enum solver_kind all[] = { SOLVER_HTTP_DIR, SOLVER_WEBROOT, SOLVER_STANDALONE, SOLVER_HOOK,
						SOLVER_DNS };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, solver_kind_name(all[i])) == 0) {
			*k = all[i];
			return 0;
		}
	return -1;
}

const char *solver_flags_for(const char *type)
{
	if (strcmp(type, "http-01") == 0)
		return "--http-dir (goproxyd answers), --webroot DIR, --standalone ADDR:PORT or --hook PROGRAM";
	if (strcmp(type, "tls-alpn-01") == 0)
		return "--challenge tls-alpn-01 with --standalone ADDR:PORT, --http-dir (goproxyd answers) or --hook PROGRAM";
	if (strcmp(type, "dns-01") == 0)
		return "--dns PROVIDER (rfc2136, pdns, acmedns, cloudflare) or --challenge dns-01 --hook PROGRAM "
		       "(a uacme-style hook that sets the TXT record)";
	return "--hook PROGRAM";
}

bool solver_handles(const struct solver *s, const char *type)
{
	if (s->challenge != NULL && strcmp(s->challenge, type) != 0)
		return false;
	switch (s->kind) {
	case SOLVER_HOOK:
		return true;
	case SOLVER_HTTP_DIR:
		return strcmp(type, "http-01") == 0 || strcmp(type, "tls-alpn-01") == 0;
	case SOLVER_WEBROOT:
		return strcmp(type, "http-01") == 0;
	case SOLVER_STANDALONE:
		return strcmp(type, s->tls ? "tls-alpn-01" : "http-01") == 0;
	case SOLVER_DNS:
		return strcmp(type, "dns-01") == 0 || strcmp(type, "dns-account-01") == 0;
	}
	return false;
}

/* base64url(SHA-256(key_auth)), as dns-01 (RFC 8555 §8.4) and uacme's
 * tls-alpn-01 hook argument use it. Malloc'd or NULL. */
static char *auth_digest(const char *key_auth)
{
	unsigned char d[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, key_auth, strlen(key_auth), d) < 0)
		return NULL;
	return b64url_encode(d, sizeof(d));
}

/* A token is base64url (RFC 8555 §8.1): refuse anything that could escape a
 * directory when used as a file name. */
static bool safe_token(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > MAX_TOKEN)
		return false;
	for (; *t; t++)
		if (!((*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') ||
		      *t == '-' || *t == '_'))
			return false;
	return true;
}

/* Identifiers become file names for tls-alpn-01 in http-dir. */
static bool safe_ident(const char *t)
{
	if (*t == '\0' || *t == '.' || strlen(t) > 253)
		return false;
	for (; *t; t++)
		if (*t == '/' || (unsigned char)*t < 0x21)
			return false;
	return true;
}

static void entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	free(e->type);
	free(e->ident);
	free(e->token);
	free(e->key_auth);
	if (e->cred)
		gnutls_certificate_free_credentials(e->cred);
	free(e);
}

/* ---- paths ---- */

/* The record goproxyd answers from (through the store, never a path). */
static int http_dir_key(const char *type, const char *ident, const char *token, const char *ext, char *out,
			size_t outsz)
{
	int n;

	if (strcmp(type, "http-01") == 0)
		n = snprintf(out, outsz, RECORD_HTTP01_FMT, token);
	else
		n = snprintf(out, outsz, RECORD_TLSALPN01_FMT, ident, ext);
	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

static int webroot_path(const struct solver *s, const char *token, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/.well-known/acme-challenge/%s", s->arg, token);
	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

/* ---- hook (uacme compatible) ---- */

static int run_hook(const struct solver *s, const char *method, const char *type,
		    const char *ident, const char *token, const char *auth, int *status,
		    struct gpc_error *err)
{
	char *argv[] = { s->arg, (char *)method, (char *)type, (char *)ident, (char *)token,
			 (char *)auth, NULL };
	char phase[320];
	struct spawn_result res;

	/* Own process group and a limit: a hook that never returns must not hold
	 * the issuer lock (and every later cron run) forever. */
	snprintf(phase, sizeof(phase), "%s %s for %s", type, method, ident);
	if (spawn_run(argv, phase, s->hook_timeout_ms, NULL, &res, err) != 0)
		return -1;
	*status = res.status;
	gpc_debug("hook %s %s %s %s: exit %d", s->arg, method, type, ident, *status);
	return 0;
}

/* run_hook for dns-account-01: the record's name in $GOPROXY_CERT_DNS_RECORD
 * (absolute), as a uacme-style hook has no argument for it. record NULL:
 * run_hook. */
static int run_hook_record(const struct solver *s, const char *method, const char *type, const char *ident,
			   const char *token, const char *auth, const char *record, int *status,
			   struct gpc_error *err)
{
	char *argv[] = { s->arg, (char *)method, (char *)type, (char *)ident, (char *)token, (char *)auth, NULL };
	char *env[2] = { NULL, NULL }, phase[320];
	struct spawn_result res;
	int rc;

	if (record == NULL)
		return run_hook(s, method, type, ident, token, auth, status, err);
	if (asprintf(&env[0], "GOPROXY_CERT_DNS_RECORD=%s.", record) < 0)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	snprintf(phase, sizeof(phase), "%s %s for %s", type, method, ident);
	rc = spawn_run(argv, phase, s->hook_timeout_ms, env, &res, err);
	free(env[0]);
	if (rc != 0)
		return -1;
	*status = res.status;
	gpc_debug("hook %s %s %s %s (%s): exit %d", s->arg, method, type, ident, record, *status);
	return 0;
}

/* ---- dns-account-01: which record each presented answer went to ---- */

struct acct_rec {
	char *ident, *key_auth, *record;
	struct acct_rec *next;
};

static void acct_free_all(struct solver *s)
{
	while (s->acct) {
		struct acct_rec *a = s->acct;
		s->acct = a->next;
		free(a->ident);
		free(a->key_auth);
		free(a->record);
		free(a);
	}
}

/* The record name presented for (ident, key_auth), or NULL. Valid while
 * the solver lives (records are kept until solver_free). */
static const char *acct_record(struct solver *s, const char *ident, const char *key_auth)
{
	const char *r = NULL;

	pthread_mutex_lock(&s->mu);
	for (struct acct_rec *a = s->acct; a && !r; a = a->next)
		if (strcmp(a->ident, ident) == 0 && strcmp(a->key_auth, key_auth) == 0)
			r = a->record;
	pthread_mutex_unlock(&s->mu);
	return r;
}

static char *hook_auth(const char *type, const char *key_auth)
{
	if (strcmp(type, "dns-01") == 0 || strcmp(type, "tls-alpn-01") == 0 || strcmp(type, "dns-account-01") == 0)
		return auth_digest(key_auth);
	return strdup(key_auth);
}

/* ---- standalone responder ---- */

static struct entry *find_entry(struct solver *s, const char *type, const char *token,
				const char *ident)
{
	for (struct entry *e = s->entries; e; e = e->next) {
		if (strcmp(e->type, type) != 0)
			continue;
		if (token != NULL && strcmp(e->token, token) == 0)
			return e;
		if (ident != NULL && strcasecmp(e->ident, ident) == 0)
			return e;
	}
	return NULL;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void serve_http(struct solver *s, int fd)
{
	char req[8192], resp[1024 + MAX_TOKEN * 2];
	size_t len = 0;
	char *body = NULL;

	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (len < sizeof(req) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = STANDALONE_REQ_DEADLINE_MS - ((t1.tv_sec - t0.tv_sec) * 1000L +
						     (t1.tv_nsec - t0.tv_nsec) / 1000000L);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return;
		ssize_t r = read(fd, req + len, sizeof(req) - 1 - len);
		if (r <= 0)
			return;
		len += (size_t)r;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[len] = '\0';
	if (strncmp(req, "GET " HTTP01_PREFIX, 4 + strlen(HTTP01_PREFIX)) == 0) {
		char *tok = req + 4 + strlen(HTTP01_PREFIX);
		tok[strcspn(tok, " \r\n?")] = '\0';
		pthread_mutex_lock(&s->mu);
		struct entry *e = find_entry(s, "http-01", tok, NULL);
		if (e != NULL)
			body = strdup(e->key_auth);
		s->served++;
		pthread_mutex_unlock(&s->mu);
		gpc_debug("standalone %s: GET %s%s -> %s", s->bound, HTTP01_PREFIX, tok, body ? "200" : "404");
	}
	if (body != NULL) {
		int n = snprintf(resp, sizeof(resp),
				 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n%s", strlen(body), body);
		if (n > 0 && (size_t)n < sizeof(resp))
			write_all(fd, resp, (size_t)n);
		free(body);
	} else {
		static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		write_all(fd, nf, sizeof(nf) - 1);
	}
}

/* RFC 8737 §3: choose the acmeIdentifier certificate by SNI in the client
 * hello. For IP identifiers (RFC 8738 §6) the SNI is the reverse-DNS name. */
static int alpn_post_hello(gnutls_session_t sess)
{
	struct solver *s = gnutls_session_get_ptr(sess);
	char name[256];
	size_t nlen = sizeof(name);
	unsigned int type;
	struct entry *e = NULL, *only = NULL;
	int n = 0;

	if (gnutls_server_name_get(sess, name, &nlen, &type, 0) != 0)
		name[0] = '\0';
	pthread_mutex_lock(&s->mu);
	for (struct entry *x = s->entries; x; x = x->next)
		if (strcmp(x->type, "tls-alpn-01") == 0) {
			only = x;
			n++;
			if (name[0] && strcasecmp(x->ident, name) == 0)
				e = x;
		}
	if (e == NULL && n == 1)
		e = only;
	s->served++;
	if (e != NULL)
		gnutls_credentials_set(sess, GNUTLS_CRD_CERTIFICATE, e->cred);
	pthread_mutex_unlock(&s->mu);
	gpc_debug("standalone %s: TLS-ALPN hello for '%s' -> %s", s->bound, name, e ? "certificate" : "none");
	return e ? 0 : GNUTLS_E_UNRECOGNIZED_NAME;
}

static void serve_tls(struct solver *s, int fd)
{
	gnutls_session_t sess;
	gnutls_datum_t proto = { (unsigned char *)"acme-tls/1", 10 };
	int r;

	if (gnutls_init(&sess, GNUTLS_SERVER) < 0)
		return;
	gnutls_session_set_ptr(sess, s);
	gnutls_priority_set(sess, s->prio);
	gnutls_alpn_set_protocols(sess, &proto, 1, GNUTLS_ALPN_MANDATORY);
	gnutls_handshake_set_post_client_hello_function(sess, alpn_post_hello);
	gnutls_transport_set_int(sess, fd);
	gnutls_handshake_set_timeout(sess, 5000);
	do {
		r = gnutls_handshake(sess);
	} while (r < 0 && !gnutls_error_is_fatal(r));
	if (r == 0)
		gnutls_bye(sess, GNUTLS_SHUT_WR);
	else
		gpc_debug("standalone %s: TLS handshake: %s", s->bound, gnutls_strerror(r));
	gnutls_deinit(sess);
}

struct conn_job {
	struct solver *s;
	int fd;
};

static void *serve_conn(void *arg)
{
	struct conn_job *j = arg;
	struct solver *s = j->s;
	int fd = j->fd;

	free(j);
	if (s->tls)
		serve_tls(s, fd);
	else
		serve_http(s, fd);
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nconns; i++)
		if (s->conn_fds[i] == fd) {
			s->conn_fds[i] = s->conn_fds[--s->nconns];
			break;
		}
	close(fd);
	pthread_cond_broadcast(&s->conn_cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void *standalone_loop(void *arg)
{
	struct solver *s = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = s->lfd, .events = POLLIN }, { .fd = s->wake[0], .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		struct conn_job *j = malloc(sizeof(*j));
		pthread_t t;
		pthread_attr_t at;
		bool started = false;

		pthread_mutex_lock(&s->mu);
		if (j != NULL && s->nconns < STANDALONE_MAX_CONNS) {
			j->s = s;
			j->fd = fd;
			s->conn_fds[s->nconns++] = fd;
			pthread_attr_init(&at);
			pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
			if (pthread_create(&t, &at, serve_conn, j) == 0)
				started = true;
			else
				s->nconns--;
			pthread_attr_destroy(&at);
		}
		pthread_mutex_unlock(&s->mu);
		if (!started) {
			/* too many at once: the oldest are slow clients; drop this one */
			gpc_debug("standalone %s: %d connections open, refusing one", s->bound, STANDALONE_MAX_CONNS);
			free(j);
			close(fd);
		}
	}
	/* Stop: cut the connections still being served and wait for them. */
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nconns; i++)
		shutdown(s->conn_fds[i], SHUT_RDWR);
	while (s->nconns > 0)
		pthread_cond_wait(&s->conn_cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Bind ADDR:PORT (":PORT", "PORT", "[v6]:PORT", "host:PORT"). */
static int standalone_bind(struct solver *s, const char *spec, struct gpc_error *err)
{
	char host[256] = "", port[16];
	const char *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res = NULL;
	int rc = -1, fd = -1, one = 1, gai;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (end == NULL || end[1] != ':')
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(end - spec - 1), spec + 1);
		snprintf(port, sizeof(port), "%s", end + 2);
	} else if ((colon = strrchr(spec, ':')) != NULL) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
		snprintf(port, sizeof(port), "%s", colon + 1);
	} else {
		snprintf(port, sizeof(port), "%s", spec);
	}
	if (port[0] == '\0' || strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535)
		goto bad;
	if (host[0] == '\0')
		hints.ai_family = AF_INET6; /* dual stack below */
	gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (gai != 0) {
		gpc_error_set(err, GPC_E_USAGE, "--standalone %s: cannot resolve '%s': %s", spec, host, gai_strerror(gai));
		return gpc_error_hint(err, "give a local address and port, e.g. --standalone 0.0.0.0:80 or :80");
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		gpc_error_sys(err, errno, "socket for --standalone", spec);
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6 && host[0] == '\0') {
		int zero = 0;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 64) != 0) {
		int e = errno;
		gpc_error_set(err, e == EACCES ? GPC_E_PERMISSION : GPC_E_IO,
			      "--standalone %s: cannot listen: %s", spec, strerror(e));
		err->sys_errno = e;
		if (e == EACCES)
			gpc_error_hint(err, "ports below 1024 need root or CAP_NET_BIND_SERVICE; or use --http-dir "
					    "with goproxyd, --webroot DIR, or a port the CA is redirected to");
		else if (e == EADDRINUSE)
			gpc_error_hint(err, "another server (goproxyd? a web server?) already listens there: use "
					    "--http-dir if it is goproxyd, --webroot DIR for a web server, or stop it");
		goto out;
	}
	snprintf(s->bound, sizeof(s->bound), "%s", spec);
	s->lfd = fd;
	fd = -1;
	rc = 0;
	goto out;
bad:
	gpc_error_set(err, GPC_E_USAGE, "--standalone '%s' is not ADDR:PORT", spec);
	return gpc_error_hint(err, "for example --standalone 0.0.0.0:80, --standalone [::]:80 or --standalone :80");
out:
	if (fd >= 0)
		close(fd);
	if (res)
		freeaddrinfo(res);
	return rc;
}

/* ---- lifecycle ---- */

int solver_new(const struct solver_opts *o, struct solver **out, struct gpc_error *err)
{
	struct solver *s = calloc(1, sizeof(*s));
	struct stat st;

	if (s == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	s->kind = o->kind;
	s->cs = o->cs;
	s->hook_timeout_ms = o->hook_timeout_ms > 0 ? o->hook_timeout_ms : SOLVER_HOOK_TIMEOUT_MS;
	s->lfd = -1;
	s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->conn_cv, NULL);
	if ((o->arg && (s->arg = strdup(o->arg)) == NULL) ||
	    (o->challenge && (s->challenge = strdup(o->challenge)) == NULL)) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto fail;
	}
	switch (o->kind) {
	case SOLVER_HTTP_DIR:
		if (s->cs == NULL) {
			gpc_error_set(err, GPC_E_INTERNAL, "http-dir solver without a certs directory");
			goto fail;
		}
		break;
	case SOLVER_WEBROOT:
		if (s->arg == NULL || stat(s->arg, &st) != 0 || !S_ISDIR(st.st_mode)) {
			gpc_error_set(err, GPC_E_USAGE, "--webroot %s: not a directory", s->arg ? s->arg : "");
			gpc_error_hint(err, "give the document root your web server serves for the names "
					    "(files go to DIR/.well-known/acme-challenge/)");
			goto fail;
		}
		break;
	case SOLVER_HOOK:
		if (s->arg == NULL || *s->arg == '\0' ||
		    (strchr(s->arg, '/') != NULL && access(s->arg, X_OK) != 0)) {
			gpc_error_set(err, GPC_E_USAGE, "--hook %s: not an executable program", s->arg ? s->arg : "");
			gpc_error_hint(err, "give the path of a uacme-style hook (chmod +x it)");
			goto fail;
		}
		break;
	case SOLVER_DNS:
		if (o->lineage == NULL || dns_solver_new(s->cs, o->lineage, &s->dns, err) != 0)
			goto fail;
		break;
	case SOLVER_STANDALONE: {
		const char *type = s->challenge ? s->challenge : "http-01";
		if (strcmp(type, "http-01") != 0 && strcmp(type, "tls-alpn-01") != 0) {
			gpc_error_set(err, GPC_E_USAGE, "--standalone cannot answer %s challenges", type);
			gpc_error_hint(err, "%s", solver_flags_for(type));
			goto fail;
		}
		s->tls = strcmp(type, "tls-alpn-01") == 0;
		if (standalone_bind(s, s->arg ? s->arg : (s->tls ? ":443" : ":80"), err) != 0)
			goto fail;
		if (s->tls && gnutls_priority_init(&s->prio, NULL, NULL) < 0) {
			gpc_error_set(err, GPC_E_TLS, "cannot set up TLS priorities");
			goto fail;
		}
		if (pipe2(s->wake, O_CLOEXEC) != 0) {
			gpc_error_sys(err, errno, "pipe", "standalone responder");
			goto fail;
		}
		if (pthread_create(&s->thread, NULL, standalone_loop, s) != 0) {
			gpc_error_set(err, GPC_E_INTERNAL, "cannot start the standalone responder thread");
			goto fail;
		}
		s->running = true;
		gpc_info("answering %s challenges on %s", type, s->bound);
		break;
	}
	}
	*out = s;
	return 0;
fail:
	solver_free(s);
	return -1;
}

void solver_free(struct solver *s)
{
	if (s == NULL)
		return;
	dns_solver_free(s->dns);
	if (s->running) {
		char c = 'q';
		if (write(s->wake[1], &c, 1) < 0)
			gpc_debug("standalone: wake: %s", strerror(errno));
		pthread_join(s->thread, NULL);
	}
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->prio)
		gnutls_priority_deinit(s->prio);
	while (s->entries) {
		struct entry *e = s->entries;
		s->entries = e->next;
		entry_free(e);
	}
	acct_free_all(s);
	pthread_cond_destroy(&s->conn_cv);
	pthread_mutex_destroy(&s->mu);
	free(s->arg);
	free(s->challenge);
	free(s);
}

enum solver_kind solver_get_kind(const struct solver *s)
{
	return s->kind;
}

unsigned long solver_served(const struct solver *s)
{
	return s->served;
}

/* ---- present / cleanup ---- */

static int write_file(const char *path, const char *data, mode_t mode, struct gpc_error *err)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (fs_mkdirs(dir, 0755, 0, err) != 0)
			return -1;
	}
	return fs_write_atomic(path, data, strlen(data), mode, err);
}

static int present_standalone(struct solver *s, const char *type, const char *ident,
			      const char *token, const char *key_auth, struct gpc_error *err)
{
	struct entry *e = calloc(1, sizeof(*e));
	char *cert = NULL, *key = NULL;
	int rc = -1;

	if (e == NULL || !(e->type = strdup(type)) || !(e->ident = strdup(ident)) ||
	    !(e->token = strdup(token)) || !(e->key_auth = strdup(key_auth))) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	if (strcmp(type, "tls-alpn-01") == 0) {
		gnutls_datum_t c, k;
		if (keygen_tlsalpn_cert(ident, key_auth, &cert, &key, err) != 0)
			goto out;
		c.data = (unsigned char *)cert;
		c.size = (unsigned)strlen(cert);
		k.data = (unsigned char *)key;
		k.size = (unsigned)strlen(key);
		if (gnutls_certificate_allocate_credentials(&e->cred) < 0 ||
		    gnutls_certificate_set_x509_key_mem(e->cred, &c, &k, GNUTLS_X509_FMT_PEM) < 0) {
			gpc_error_set(err, GPC_E_TLS, "tls-alpn-01 certificate for %s: cannot load it", ident);
			goto out;
		}
	}
	pthread_mutex_lock(&s->mu);
	e->next = s->entries;
	s->entries = e;
	e = NULL;
	pthread_mutex_unlock(&s->mu);
	rc = 0;
out:
	if (key != NULL) {
		gnutls_memset(key, 0, strlen(key));
		free(key);
	}
	free(cert);
	entry_free(e);
	return rc;
}

int solver_present(struct solver *s, const char *type, const char *ident, const char *token,
		   const char *key_auth, struct gpc_error *err)
{
	char path[PATH_MAX];
	int status;

	if (!solver_handles(s, type))
		return 1;
	if (!safe_token(token))
		return gpc_error_set(err, GPC_E_CA, "the CA sent a challenge token that is not base64url: '%.40s'", token);
	switch (s->kind) {
	case SOLVER_DNS: {
		char *v = auth_digest(key_auth);
		int rc = v ? dns_solver_present(s->dns, ident, v, err) : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		free(v);
		return rc;
	}
	case SOLVER_HOOK: {
		char *auth = hook_auth(type, key_auth);
		int rc;
		if (auth == NULL)
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		rc = run_hook(s, "begin", type, ident, token, auth, &status, err);
		free(auth);
		if (rc != 0)
			return -1;
		if (status != 0) {
			gpc_info("hook %s declined %s for %s (exit %d)", s->arg, type, ident, status);
			return 1;
		}
		return 0;
	}
	case SOLVER_WEBROOT:
		if (webroot_path(s, token, path, sizeof(path)) != 0)
			return gpc_error_set(err, GPC_E_USAGE, "--webroot %s: path too long", s->arg);
		return write_file(path, key_auth, 0644, err);
	case SOLVER_HTTP_DIR:
		if (strcmp(type, "http-01") == 0) {
			if (http_dir_key(type, ident, token, "", path, sizeof(path)) != 0)
				return gpc_error_set(err, GPC_E_CA, "challenge token too long");
			return certstore_record_put(s->cs, path, key_auth, strlen(key_auth), CERTSTORE_REV_ANY, err);
		} else {
			char *cert = NULL, *key = NULL, kkey[PATH_MAX];
			int rc = -1;
			if (!safe_ident(ident) || http_dir_key(type, ident, token, ".crt", path, sizeof(path)) != 0 ||
			    http_dir_key(type, ident, token, ".key", kkey, sizeof(kkey)) != 0)
				return gpc_error_set(err, GPC_E_CA, "identifier '%s' cannot be a record name", ident);
			if (keygen_tlsalpn_cert(ident, key_auth, &cert, &key, err) != 0)
				return -1;
			/* key first: goproxyd loads the pair when the .crt appears */
			if (certstore_record_put(s->cs, kkey, key, strlen(key), CERTSTORE_REV_ANY, err) == 0 &&
			    certstore_record_put(s->cs, path, cert, strlen(cert), CERTSTORE_REV_ANY, err) == 0)
				rc = 0;
			else
				(void)certstore_record_del(s->cs, kkey, NULL);
			gnutls_memset(key, 0, strlen(key));
			free(key);
			free(cert);
			return rc;
		}
	case SOLVER_STANDALONE:
		return present_standalone(s, type, ident, token, key_auth, err);
	}
	return 1;
}

void solver_cleanup(struct solver *s, const char *type, const char *ident, const char *token,
		    const char *key_auth, bool ok)
{
	char path[PATH_MAX];
	struct gpc_error err;
	int status;

	gpc_error_clear(&err);
	switch (s->kind) {
	case SOLVER_DNS: {
		char *v = auth_digest(key_auth);
		const char *rec = acct_record(s, ident, key_auth);
		if (v != NULL)
			dns_solver_cleanup(s->dns, rec ? rec : ident, v);
		free(v);
		return;
	}
	case SOLVER_HOOK: {
		char *auth = hook_auth(type, key_auth);
		if (auth == NULL)
			return;
		if (run_hook_record(s, ok ? "done" : "failed", type, ident, token, auth,
				    acct_record(s, ident, key_auth), &status, &err) != 0)
			gpc_warn("%s", err.message);
		else if (status != 0)
			gpc_warn("hook %s %s %s %s: exit %d", s->arg, ok ? "done" : "failed", type, ident, status);
		free(auth);
		return;
	}
	case SOLVER_WEBROOT:
		if (webroot_path(s, token, path, sizeof(path)) == 0 && unlink(path) != 0 && errno != ENOENT)
			gpc_warn("remove %s: %s", path, strerror(errno));
		return;
	case SOLVER_HTTP_DIR:
		if (strcmp(type, "http-01") == 0) {
			if (http_dir_key(type, ident, token, "", path, sizeof(path)) == 0 &&
			    certstore_record_del(s->cs, path, &err) != 0)
				gpc_warn("%s", err.message);
		} else if (safe_ident(ident)) {
			if (http_dir_key(type, ident, token, ".crt", path, sizeof(path)) == 0)
				(void)certstore_record_del(s->cs, path, &err);
			if (http_dir_key(type, ident, token, ".key", path, sizeof(path)) == 0)
				(void)certstore_record_del(s->cs, path, &err);
		}
		return;
	case SOLVER_STANDALONE:
		pthread_mutex_lock(&s->mu);
		for (struct entry **pp = &s->entries; *pp; pp = &(*pp)->next) {
			struct entry *e = *pp;
			if (strcmp(e->type, type) == 0 && strcmp(e->token, token) == 0 &&
			    strcasecmp(e->ident, ident) == 0) {
				*pp = e->next;
				entry_free(e);
				break;
			}
		}
		pthread_mutex_unlock(&s->mu);
		return;
	}
}

char *solver_describe(const struct solver *s, const char *type, const char *ident,
		      const char *token, const char *key_auth, char *out, size_t outsz)
{
	char path[PATH_MAX], host[300];

	/* an IPv6 address goes in brackets in a URL (RFC 3986 §3.2.2) */
	snprintf(host, sizeof(host), strchr(ident, ':') ? "[%s]" : "%s", ident);
	switch (s->kind) {
	case SOLVER_DNS: {
		char *v = auth_digest(key_auth);
		if (v == NULL)
			snprintf(out, outsz, "a TXT record for %s", ident);
		else
			(void)dns_solver_describe(s->dns, ident, v, out, outsz);
		free(v);
		break;
	}
	case SOLVER_HOOK:
		snprintf(out, outsz, "hook %s was called as '%s begin %s %s %s ...' and accepted it", s->arg,
			 s->arg, type, ident, token);
		break;
	case SOLVER_WEBROOT:
		if (webroot_path(s, token, path, sizeof(path)) != 0)
			path[0] = '\0';
		snprintf(out, outsz, "the answer for http://%s" HTTP01_PREFIX "%s was written to %s; "
			 "the web server serving %s must serve that directory on port 80", host, token, path, ident);
		break;
	case SOLVER_HTTP_DIR:
		{
			char key[PATH_MAX];
			if (http_dir_key(type, ident, token, strcmp(type, "http-01") ? ".crt" : "", key, sizeof(key)) != 0 ||
			    certstore_state_path(s->cs, key, path, sizeof(path)) != 0)
				path[0] = '\0';
		}
		if (strcmp(type, "http-01") == 0)
			snprintf(out, outsz, "the answer for http://%s" HTTP01_PREFIX "%s was written to %s "
				 "for goproxyd; goproxyd must serve this certs directory on port 80 of %s",
				 host, token, path, ident);
		else
			snprintf(out, outsz, "the acme-tls/1 certificate for %s was written to %s for goproxyd; "
				 "goproxyd must serve this certs directory on port 443 of %s", ident, path, ident);
		break;
	case SOLVER_STANDALONE:
		if (s->tls)
			snprintf(out, outsz, "the acme-tls/1 certificate for %s was presented by the built-in "
				 "responder on %s (%lu handshakes seen); the CA must reach it on port 443 of %s",
				 ident, s->bound, s->served, ident);
		else
			snprintf(out, outsz, "http://%s" HTTP01_PREFIX "%s was answered by the built-in responder "
				 "on %s (%lu requests seen); the CA must reach it on port 80 of %s",
				 host, token, s->bound, s->served, ident);
		break;
	}
	return out;
}

int solver_dns_propagation(struct solver *s, const struct lineage *l, const char *const *idents,
			   const char *const *key_auths, size_t n, struct gpc_error *err)
{
	char **v;
	int rc = -1;

	if (n == 0)
		return 0;
	v = calloc(n, sizeof(*v));
	if (v == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if ((v[i] = auth_digest(key_auths[i])) == NULL) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
	rc = dns_solver_check(s->kind == SOLVER_DNS ? s->dns : NULL, l, idents, (const char *const *)v, n, err);
out:
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

const char *solver_account_record(struct solver *s, const char *ident, const char *key_auth)
{
	return acct_record(s, ident, key_auth);
}

int solver_present_account(struct solver *s, const char *type, const char *ident, const char *token,
			   const char *key_auth, const char *account_url, struct gpc_error *err)
{
	struct acct_rec *a;
	int status;

	if (strcmp(type, "dns-account-01") != 0)
		return solver_present(s, type, ident, token, key_auth, err);
	if (!solver_handles(s, type) || (s->kind != SOLVER_DNS && s->kind != SOLVER_HOOK))
		return 1;
	if (!safe_token(token))
		return gpc_error_set(err, GPC_E_CA, "the CA sent a challenge token that is not base64url: '%.40s'", token);
	if (account_url == NULL)
		return gpc_error_set(err, GPC_E_INTERNAL, "dns-account-01 for %s: no account URL", ident);
	a = calloc(1, sizeof(*a));
	if (a == NULL || !(a->ident = strdup(ident)) || !(a->key_auth = strdup(key_auth)) ||
	    !(a->record = acme_dns_account_name(account_url, ident))) {
		if (a != NULL) {
			free(a->ident);
			free(a->key_auth);
			free(a);
		}
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	pthread_mutex_lock(&s->mu);
	a->next = s->acct;
	s->acct = a;
	pthread_mutex_unlock(&s->mu);
	gpc_info("dns-account-01: the TXT record for %s goes to %s", ident, a->record);
	char *v = auth_digest(key_auth);
	if (v == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	int rc;
	if (s->kind == SOLVER_DNS) {
		rc = dns_solver_present(s->dns, a->record, v, err);
	} else {
		rc = run_hook_record(s, "begin", type, ident, token, v, a->record, &status, err);
		if (rc == 0 && status != 0) {
			gpc_info("hook %s declined %s for %s (exit %d)", s->arg, type, ident, status);
			rc = 1;
		}
	}
	free(v);
	return rc;
}

/* goproxyd: a small libev + GnuTLS TLS-terminating forwarding proxy over
 * the goproxy-cert certs directory. Private header shared by its files:
 *
 *   main.c       options, startup checks, privileges, signals, workers, pidfile
 *   sni.c        per-lineage credentials (refcounted), SNI choice (no libev)
 *   creds.c      the reload thread: inotify, SIGHUP, rescans through sni.c
 *   httpreq.c    HTTP request parsing and routing (no I/O)
 *   conn.c       one worker: listeners, TLS connections, forwarding
 *   proxyproto.c PROXY protocol v1/v2 headers
 *   http.c       the plain-HTTP side: http-01 answers and redirects
 */
#ifndef GOPROXYD_H
#define GOPROXYD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ev.h>
#include <gnutls/gnutls.h>

#include "certstore.h"
#include "sni.h"

/* Exit statuses (man/goproxyd.8, EXIT STATUS). */
#define GPD_EXIT_OK 0
#define GPD_EXIT_RUNTIME 1  /* a failure after start-up */
#define GPD_EXIT_CERTS 2    /* certs dir unreadable, only unusable pairs */
#define GPD_EXIT_USAGE 64   /* EX_USAGE */
#define GPD_EXIT_NOUSER 67  /* EX_NOUSER: --user unknown */
#define GPD_EXIT_OSERR 71   /* EX_OSERR: cannot bind (port in use), drop privileges ... */
#define GPD_EXIT_TEMPFAIL 75 /* EX_TEMPFAIL: the store unreachable and no cache to start from */

#define GPD_MAX_LISTEN 16
#define GPD_MAX_ALPN 8
#define GPD_BUFSZ 16384 /* one TLS record of plaintext per direction */

struct gpd_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[300]; /* as given / printable, for messages */
};

struct gpd_route {
	char *name;   /* lower case; "*.suffix" for one label */
	struct gpd_addr backend;
};

struct gpd_config {
	const char *certs_dir;
	struct gpd_addr listen[GPD_MAX_LISTEN];
	size_t nlisten;
	struct gpd_addr backend;
	struct gpd_route *routes;
	size_t nroutes;
	struct gpd_addr http;
	bool has_http;
	int proxy_proto; /* 0 none, 1, 2 */
	gnutls_datum_t alpn[GPD_MAX_ALPN + 1]; /* + acme-tls/1 at the end */
	unsigned nalpn;                        /* including acme-tls/1 */
	unsigned workers;
	unsigned long max_conns;
	double handshake_timeout;
	double idle_timeout; /* 0: none */
	double drain_timeout;
	const char *user;
	const char *pidfile;
	const char *store_cache; /* --store-cache, or the default under the state directory */
	bool sni_strict;
	int verbose;
};

extern struct gpd_config gpd_cfg;
extern atomic_ulong gpd_active_conns; /* TLS connections over all workers */
extern gnutls_priority_t gpd_priority;
extern gnutls_datum_t gpd_ticket_key;

/* ---- creds.c ------------------------------------------------------------ */

/* Load everything once at start-up (before workers). Returns the number of
 * usable lineages; 0 (the store holds none yet) after saying once how to
 * get the first one, goproxyd then answers challenges and refuses
 * handshakes until one is committed; -1 after logging why (lineages, none
 * usable), or -2 (the store unreachable and no cache: sni_load). */
int creds_init(struct certstore *cs) __attribute__((warn_unused_result));

/* Start the reload thread (inotify + SIGHUP requests). Returns 0 or -1. */
int creds_start_reloader(void) __attribute__((warn_unused_result));

/* Ask the reload thread to rescan now (async-signal-safe enough: writes to
 * an eventfd). */
void creds_request_reload(void);

/* Ask the reload thread to read the tls-alpn-01 certificates again now
 * (a handshake for one it does not know yet is waiting). */
void creds_request_challenges(void);

/* Stop the reload thread and free the current set (at exit). */
void creds_shutdown(void);

/* ---- conn.c ------------------------------------------------------------- */

struct gpd_worker;

/* Create worker `idx` with its own listening sockets (fds, nfds; taken over).
 * Returns NULL on allocation failure. */
struct gpd_worker *worker_new(unsigned idx, const int *fds, size_t nfds);

/* Thread entry: run the worker's loop until it has drained. */
void *worker_run(void *w);

/* From another thread: stop accepting, drain, then leave the loop. */
void worker_stop(struct gpd_worker *w);

void worker_free(struct gpd_worker *w);

/* ---- proxyproto.c --------------------------------------------------------- */

/* Build a PROXY protocol header (version 1 or 2) for the connection on `fd`
 * (client = peer, destination = local address) into out (size outsz).
 * v2 carries PP2_TYPE_AUTHORITY (SNI) and PP2_TYPE_ALPN when non-empty.
 * Returns the length, or -1 if it does not fit / the socket is gone. */
int pp_build(int version, int fd, const char *sni, const char *alpn, unsigned char *out,
	     size_t outsz) __attribute__((warn_unused_result));

/* ---- http.c ------------------------------------------------------------- */

/* Start the HTTP side on `loop` with the bound listening socket `fd`.
 * Returns 0 or -1. */
int http_start(struct ev_loop *loop, int fd, struct certstore *cs)
	__attribute__((warn_unused_result));

/* Stop accepting and close open HTTP connections. */
void http_stop(struct ev_loop *loop);

/* True when `s` is a valid http-01 token: [A-Za-z0-9_-]+ (RFC 8555 §8.3). */
bool http_token_valid(const char *s, size_t len);

/* ---- main.c --------------------------------------------------------------- */

/* Create, configure (non-blocking, close-on-exec, SO_REUSEADDR, optionally
 * SO_REUSEPORT) and bind a listening socket. On failure logs a message
 * naming the address and returns -1. */
int gpd_listen(const struct gpd_addr *a, bool reuseport) __attribute__((warn_unused_result));

#endif

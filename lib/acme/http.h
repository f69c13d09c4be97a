/* http: a small libcurl client for ACME. One CURL easy handle per client,
 * reused for the whole run so the TLS connection to the CA is reused.
 * Not thread-safe: use one http_client per thread; several clients may share
 * DNS cache, TLS sessions and the connection pool through an http_share. */
#ifndef GPC_HTTP_H
#define GPC_HTTP_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "error.h"

#define HTTP_MAX_BODY (4u * 1024 * 1024) /* default response body bound */
#define HTTP_MAX_LINKS 8

struct http_options {
	const char *ca_bundle;   /* PEM trust anchors for the server's TLS; NULL: system store */
	long connect_timeout_ms; /* 0: 10 s */
	long timeout_ms;         /* whole request; 0: 60 s */
	const char *user_agent;  /* NULL: "goproxy-cert/VERSION" */
	size_t max_body;         /* 0: HTTP_MAX_BODY */
	struct http_share *share; /* NULL or a share made by http_share_new */
};

/* Connection pool / DNS / TLS-session cache shared by several clients (one
 * per thread). Returns NULL when out of memory. Free after all clients. */
struct http_share *http_share_new(void);
void http_share_free(struct http_share *s);

struct http_client;

/* Returns 0 and a new client in *out (free with http_client_free), or -1. */
int http_client_new(const struct http_options *opt, struct http_client **out,
		    struct gpc_error *err) __attribute__((warn_unused_result));
void http_client_free(struct http_client *c);

struct http_response {
	long status;          /* HTTP status code */
	char *nonce;          /* Replay-Nonce, or NULL */
	char *location;       /* Location, or NULL */
	char *content_type;   /* Content-Type (lower-case, parameters removed), or NULL */
	time_t retry_after;   /* Retry-After as unix time (time_now() based), or 0 */
	char *link_up;        /* Link: <...>;rel="up" (first), or NULL */
	char *link_alternate[HTTP_MAX_LINKS]; /* Link: <...>;rel="alternate" */
	size_t n_alternate;
	struct buf body;      /* NUL-terminated body */
};

/* Prepare an empty response (no allocation). */
void http_response_init(struct http_response *r);
/* Free what a request stored, leaving an empty response. */
void http_response_finish(struct http_response *r);

/* Perform a request. `method` is "GET", "HEAD" or "POST"; for POST give
 * content_type and the body. `r` is reset first. Returns 0 when an HTTP
 * response arrived (any status; the caller judges it), or -1 with err:
 *   GPC_E_NETWORK  DNS failure, connection refused/reset, timeout (retryable;
 *                  the CLI maps it to exit 75); names the host;
 *   GPC_E_TLS      certificate verification failure (hint: --ca-bundle FILE
 *                  for a private CA or pebble, or --staging);
 *   GPC_E_INVALID  bad/oversized response; GPC_E_USAGE bad URL/CA file. */
int http_request(struct http_client *c, const char *method, const char *url,
		 const char *content_type, const void *body, size_t len,
		 struct http_response *r, struct gpc_error *err) __attribute__((warn_unused_result));

/* True when the last failed http_request was a dropped connection or a
 * timeout: worth another try for an idempotent request. */
int http_client_retryable(const struct http_client *c);

/* Counters for benchmarks and reports. */
struct http_stats {
	unsigned long requests;    /* requests sent (including failed ones) */
	unsigned long connections; /* new TCP/TLS connections (CURLINFO_NUM_CONNECTS) */
	int have_date;             /* a response carried a Date header (RFC 9110 §6.6.1) */
	long clock_skew;           /* then: the server's Date minus this machine's real
	                            * clock (time(), not the test clock) when it arrived,
	                            * in seconds, from the latest such response */
};
void http_client_stats(const struct http_client *c, struct http_stats *out);

/* Parse a Retry-After value: delta-seconds or an HTTP-date (RFC 9110
 * §10.2.3, IMF-fixdate; also RFC 850 and asctime forms). `now` is the base
 * for delta-seconds. Returns 0 and the absolute unix time in *out, or -1. */
int http_parse_retry_after(const char *value, time_t now, time_t *out)
	__attribute__((warn_unused_result));

/* Host part of a URL for messages ("acme-v02.api.letsencrypt.org").
 * Writes into out (size outsz, truncated). Returns out. */
char *http_url_host(const char *url, char *out, size_t outsz);

#endif

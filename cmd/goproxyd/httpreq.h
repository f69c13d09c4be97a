/* httpreq: the request parser and routing decision of goproxyd's plain-HTTP
 * side, with no socket or libev dependency (so it can be fuzzed alone). */
#ifndef GOPROXYD_HTTPREQ_H
#define GOPROXYD_HTTPREQ_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPREQ_ACME_PREFIX "/.well-known/acme-challenge/"

/* A parsed request head. Pointers point into the caller's buffer. */
struct httpreq {
	char method[16];
	const char *target; /* origin-form path?query (absolute-form reduced to it) */
	size_t target_len;
	const char *host;   /* Host header value, trimmed; NULL if none */
	size_t host_len;
	bool head;          /* HEAD: answer without a body */
};

enum httpreq_action {
	HTTPREQ_TOKEN = 1,     /* out = the http-01 token (RFC 8555 §8.3) */
	HTTPREQ_NOT_FOUND = 2, /* challenge path with a bad or no token, or a bad method */
	HTTPREQ_REDIRECT = 3,  /* out = https://HOST/PATH?QUERY for a 301 */
	HTTPREQ_BAD = 4,       /* 400: no usable Host */
};

/* Parse one HTTP/1.x request head from buf[0..len) (need not be
 * NUL-terminated; never modified). Returns 1 when a complete head was parsed
 * (*req filled, pointing into buf), 0 when more bytes are needed, -1 on a
 * malformed request (RFC 9112 §3). */
int httpreq_parse(const char *buf, size_t len, struct httpreq *req);

/* Decide the answer to a parsed request: one of enum httpreq_action, with the
 * token or the Location URL NUL-terminated in out (size outsz; a value that
 * does not fit gives HTTPREQ_BAD). */
int httpreq_route(const struct httpreq *req, char *out, size_t outsz);

/* The Host header of a parsed request as a host name for a URL: lower case,
 * without the port or a trailing dot (an IPv6 literal keeps its brackets),
 * NUL-terminated in out (size outsz). False when there is no Host, or it has
 * characters a host name cannot have, or it does not fit. */
bool httpreq_host(const struct httpreq *req, char *out, size_t outsz);

/* True when s[0..len) is a valid http-01 token: [A-Za-z0-9_-]+. */
bool httpreq_token_valid(const char *s, size_t len);

#endif

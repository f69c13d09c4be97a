/* storeurl: the --store URL of a shared store.
 *
 *   etcd://HOST[:PORT][,HOST[:PORT]...][/PREFIX]        members over http
 *   etcd+https://HOST[:PORT][,HOST[:PORT]...][/PREFIX]  members over TLS
 *
 * PORT defaults to 2379 (etcd's client port), PREFIX to /goproxy-cert.
 * HOST is a name, an IPv4 address or an [IPv6] address. No user or
 * password in the URL (it would show in ps and in logs): those come from
 * GOPROXY_CERT_STORE_USER and GOPROXY_CERT_STORE_PASSWORD(_FILE). Pure
 * string work: nothing is resolved or contacted. */
#ifndef GPC_STOREURL_H
#define GPC_STOREURL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define STOREURL_MAX_MEMBERS 16
#define STOREURL_DEFAULT_PREFIX "/goproxy-cert"
#define STOREURL_DEFAULT_PORT 2379

struct store_url {
	bool tls;
	size_t n_members;
	char members[STOREURL_MAX_MEMBERS][300]; /* "http://HOST:PORT" or "https://HOST:PORT" */
	char prefix[256];                        /* "/goproxy-cert": a leading '/', none trailing */
	char text[1024];                         /* the URL spelled out in full, for messages */
};

/* True when `s` looks like a URL (SCHEME://...) rather than a directory. */
bool store_url_is_url(const char *s);

/* Parse `s` into *out. Returns 0, or -1 with GPC_E_USAGE naming the URL,
 * what is wrong with it and the form it should have. */
int store_url_parse(const char *s, struct store_url *out, struct gpc_error *err)
	__attribute__((warn_unused_result));

#endif

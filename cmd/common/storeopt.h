/* storeopt: --store URL and the options that go with it, shared by
 * goproxy-cert and goproxyd (the environment is read here, in cmd/, never
 * in the library):
 *   --store URL          else $GOPROXY_CERT_STORE, else the certs directory
 *   --store-cacert FILE  --store-cert FILE  --store-key FILE  (etcd+https)
 *   --store-seal FILE    the seal key of private keys in the store
 *   GOPROXY_CERT_STORE_USER, GOPROXY_CERT_STORE_PASSWORD or
 *   GOPROXY_CERT_STORE_PASSWORD_FILE   the etcd user */
#ifndef GPC_STOREOPT_H
#define GPC_STOREOPT_H

#include <stdbool.h>
#include <getopt.h>

#include "certstore.h"
#include "error.h"

enum {
	STOREOPT_STORE = 0x2000,
	STOREOPT_CACERT,
	STOREOPT_CERT,
	STOREOPT_KEY,
	STOREOPT_SEAL,
};

/* The getopt_long entries, to put in a subcommand's table. */
#define STOREOPT_LONG_OPTIONS                                              \
	{ "store", required_argument, NULL, STOREOPT_STORE },              \
	{ "store-cacert", required_argument, NULL, STOREOPT_CACERT },      \
	{ "store-cert", required_argument, NULL, STOREOPT_CERT },          \
	{ "store-key", required_argument, NULL, STOREOPT_KEY },            \
	{ "store-seal", required_argument, NULL, STOREOPT_SEAL }

/* The lines of --help that describe them. */
#define STOREOPT_HELP                                                                            \
	"      --store URL          a shared store: etcd://HOST:PORT,...[/PREFIX] or etcd+https://...\n" \
	"                           (default $GOPROXY_CERT_STORE, else the certs directory)\n"          \
	"      --store-cacert FILE  CA of the etcd members; --store-cert FILE --store-key FILE: client\n" \
	"                           certificate; etcd user: $GOPROXY_CERT_STORE_USER and _PASSWORD(_FILE)\n" \
	"      --store-seal FILE    the key sealing private keys in the store (goproxy-cert store seal-key)\n"

struct storeopt {
	const char *url, *cacert, *cert, *key, *seal;
	const char *cache; /* goproxyd's --store-cache (store_options.cache_dir) */
};

/* Take option `opt` (a STOREOPT_* value) with its argument. Returns true
 * when it was one of these. */
bool storeopt_take(struct storeopt *s, int opt, const char *arg);

/* The store URL in effect: --store, else $GOPROXY_CERT_STORE; NULL for the
 * certs directory. */
const char *storeopt_url(const struct storeopt *s);

/* Open the store: etcd when a URL is in effect, else the certs directory
 * `dir` (certstore_default_dir). Returns 0 and *out, or -1 with err (the
 * password file unreadable, both _PASSWORD and _PASSWORD_FILE set, TLS
 * options without etcd+https, what store_open says). */
int storeopt_open(const struct storeopt *s, const char *dir, struct certstore **out, struct gpc_error *err)
	__attribute__((warn_unused_result));

#endif

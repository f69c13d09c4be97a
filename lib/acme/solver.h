/* solver: present ACME challenges (RFC 8555 §8) so the CA can validate them.
 *
 *   http-dir    DIR/.state/challenges/http-01/TOKEN (0644) and
 *               DIR/.state/challenges/tls-alpn-01/IDENT.crt/.key (key 0600),
 *               answered by a goproxyd serving that certs directory;
 *   webroot     WEBROOT/.well-known/acme-challenge/TOKEN, for a web server;
 *   standalone  a built-in responder on ADDR:PORT while the order runs:
 *               plain HTTP for http-01, or TLS with ALPN "acme-tls/1" and the
 *               RFC 8737 certificate for tls-alpn-01;
 *   hook        PROGRAM begin|done|failed TYPE IDENT TOKEN AUTH, exactly as
 *               uacme(1) calls it (AUTH is the key authorization for http-01,
 *               base64url(SHA-256(key authorization)) for dns-01 and
 *               tls-alpn-01); a non-zero exit on begin declines the type.
 *               Each call runs in its own process group with a time limit
 *               (lib/gpc_spawn.h): at the limit the group is killed and the
 *               call fails.
 *
 * One solver may serve several orders at once (renew --concurrency): every
 * call is thread-safe. */
#ifndef GPC_SOLVER_H
#define GPC_SOLVER_H

#include <stdbool.h>
#include <stddef.h>

#include "certstore.h"
#include "error.h"
#include "lineage.h"

enum solver_kind {
	SOLVER_HTTP_DIR = 0,
	SOLVER_WEBROOT,
	SOLVER_STANDALONE,
	SOLVER_HOOK,
	SOLVER_DNS,  /* dns-01 through a built-in provider (lib/dns), arg: the provider */
};

struct solver_opts {
	enum solver_kind kind;
	const char *arg;        /* webroot DIR, standalone ADDR:PORT (NULL: :80 / :443), hook PROGRAM */
	const char *challenge;  /* the one type to answer (standalone: http-01 or tls-alpn-01), or NULL */
	struct certstore *cs;   /* for http-dir */
	const struct lineage *lineage; /* dns: the provider's options, resolvers, lineage name */
	long hook_timeout_ms;   /* hook: limit per call (0: SOLVER_HOOK_TIMEOUT_MS); at the limit
				 * its process group is killed and the call fails */
};

/* The default limit for one hook call: 5 minutes. */
#define SOLVER_HOOK_TIMEOUT_MS 300000L

struct solver;

/* "http-dir", "webroot", "standalone", "hook". Static string. */
const char *solver_kind_name(enum solver_kind k);

/* Parse a kind name. Returns 0 or -1. */
int solver_kind_parse(const char *s, enum solver_kind *k);

/* Create a solver. standalone binds its port now (so a busy or privileged
 * port fails before any order is placed: err names ADDR:PORT and the cause);
 * webroot checks the directory exists; hook checks PROGRAM is executable.
 * Returns 0 and *out (free with solver_free), or -1. */
int solver_new(const struct solver_opts *o, struct solver **out, struct gpc_error *err)
	__attribute__((warn_unused_result));
void solver_free(struct solver *s);

/* True if this solver can answer challenges of `type` at all (hook: any type;
 * http-dir: http-01 and tls-alpn-01; webroot: http-01; standalone: its type).
 * With opts.challenge set, only that type. */
bool solver_handles(const struct solver *s, const char *type);

/* Present one challenge. key_auth is the key authorization (RFC 8555 §8.1).
 * Returns 0 when presented, 1 when the hook declined it (try another type),
 * -1 on error (err names the file/port/program). */
int solver_present(struct solver *s, const char *type, const char *ident, const char *token,
		   const char *key_auth, struct gpc_error *err) __attribute__((warn_unused_result));

/* Remove what solver_present put in place (hook: "done" if ok, else
 * "failed"). Errors are logged, not returned. */
void solver_cleanup(struct solver *s, const char *type, const char *ident, const char *token,
		    const char *key_auth, bool ok);

/* Describe where the answer was served, for a failed challenge's message:
 * e.g. "served http://example.org/.well-known/acme-challenge/TOKEN from
 * /srv/www/.well-known/acme-challenge/TOKEN", or for dns-01 the TXT value,
 * the name and zone it was added at and the provider (key_auth gives the
 * value). Writes into out; returns out. */
char *solver_describe(const struct solver *s, const char *type, const char *ident,
		      const char *token, const char *key_auth, char *out, size_t outsz);

/* The options that would answer `type` ("--http-dir, --webroot DIR, ...").
 * Static string. */
const char *solver_flags_for(const char *type);

/* dns-01, after presenting: wait until every authoritative server serves
 * the values for idents[0..n) (key_auths[i] their key authorizations),
 * by l's propagation settings; for a hook the names are found through the
 * resolvers. Returns 0 (also with nothing to check), or -1: nothing may
 * be sent to the CA. */
int solver_dns_propagation(struct solver *s, const struct lineage *l, const char *const *idents,
			   const char *const *key_auths, size_t n, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* The kind this solver was made with. */
enum solver_kind solver_get_kind(const struct solver *s);

/* Number of requests the standalone responder answered (for tests/benchmarks). */
unsigned long solver_served(const struct solver *s);

/* dns-account-01 (draft-ietf-acme-dns-account-label): like solver_present,
 * for the TXT record _LABEL._acme-challenge.NAME of the account at
 * account_url (a built-in provider writes it there; a hook gets the usual
 * arguments, AUTH the TXT value, and the record's name in
 * $GOPROXY_CERT_DNS_RECORD). Any other type: solver_present. Returns as
 * solver_present. solver_cleanup removes it. */
int solver_present_account(struct solver *s, const char *type, const char *ident, const char *token,
			   const char *key_auth, const char *account_url, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* The dns-account-01 record name presented for ident and key_auth (owned
 * by s), or NULL (another type). */
const char *solver_account_record(struct solver *s, const char *ident, const char *key_auth);

#endif

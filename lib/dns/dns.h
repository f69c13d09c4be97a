/* dns: dns-01 through built-in DNS providers (RFC 8555 §8.4).
 *
 *   provider.c     the table of providers, their options (lego's
 *                  environment names, NAME_FILE, GoDoxy's option names),
 *                  which options are secret
 *   rfc2136.c      RFC 2136 UPDATE with TSIG (RFC 8945), through ldns
 *   pdns.c         PowerDNS HTTP API
 *   acmedns.c      acme-dns (register, update)
 *   cloudflare.c   Cloudflare API v4
 *   duckdns.c      Duck DNS (one TXT value per domain)
 *   hetzner.c      Hetzner DNS API
 *   rest.c         one engine for the common REST shape (zone, list, create,
 *                  delete by id; or a name's whole set), driven by a
 *                  description per provider: rest_providers.c (digitalocean,
 *                  porkbun, desec, godaddy, linode, vultr, ionos, netlify,
 *                  vercel, infomaniak, hostinger, scaleway, spaceship,
 *                  cloudns) and
 *                  ovh.c (signed requests)
 *   namecheap.c    Namecheap's XML API (libxml2; the hosts written whole)
 *   netcup.c       netcup's CCP API (a session per change)
 *   inwx.c         INWX's JSON-RPC API (a cookie session, TOTP unlock)
 *   httpreq.c      lego's generic HTTP provider (POST /present, /cleanup)
 *   query.c        DNS messages to one server (UDP, TCP on truncation)
 *   propagation.c  the zone (SOA), a CNAME at _acme-challenge.NAME, every
 *                  authoritative server, and the check that each serves
 *                  every expected value
 *
 * Every provider adds to the TXT record set and removes only its own value,
 * so a wildcard and its apex (two values on one name) are served at once.
 * Nothing here reads the environment: the program passes a lookup function. */
#ifndef GPC_DNS_H
#define GPC_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"

/* ---- options ---- */

#define DNS_OPT_SECRET 1u   /* never printed, stored 0600 apart from the lineage */
#define DNS_OPT_REQUIRED 2u /* must be given (else exit 64 before any request) */

struct dns_opt_desc {
	const char *name;    /* GoDoxy's (lego's field) name in snake case: "tsig_secret" */
	const char *env;     /* lego's environment name: "RFC2136_TSIG_SECRET" */
	const char *env_alt; /* another accepted environment name, or NULL */
	unsigned flags;      /* DNS_OPT_* */
	const char *def;     /* default value, or NULL */
	const char *help;    /* one line: what it is */
};

struct dns_kv {
	char *key;   /* a dns_opt_desc name */
	char *value;
	bool secret;
};

/* A set of options, keys unique. Zero-initialise; free with dns_options_finish. */
struct dns_options {
	struct dns_kv *v;
	size_t n;
};

void dns_options_finish(struct dns_options *o);
/* Set key to value (a copy; replaces). Returns 0 or -1 (ENOMEM). */
int dns_options_set(struct dns_options *o, const char *key, const char *value, bool secret)
	__attribute__((warn_unused_result));
/* The value of key, or NULL. Owned by o. */
const char *dns_options_get(const struct dns_options *o, const char *key);
/* Copy src into dst (dst emptied first). Returns 0 or -1. */
int dns_options_copy(struct dns_options *dst, const struct dns_options *src)
	__attribute__((warn_unused_result));

/* ---- providers ---- */

/* What a provider writes: one TXT value. */
struct dns_record {
	const char *domain; /* the identifier, without "*." */
	const char *fqdn;   /* the TXT record's name after following a CNAME at
	                     * _acme-challenge.DOMAIN, absolute ("...example.org.") */
	const char *zone;   /* the zone holding fqdn (its SOA owner), absolute; NULL if unknown */
	const char *value;  /* base64url(SHA-256(key authorization)) */
};

struct dns_provider_ops {
	const char *name;          /* "rfc2136" */
	const char *aliases[3];    /* other spellings ("dnsupdate"), NULL-terminated */
	const char *title;         /* "RFC 2136 dynamic update (BIND, Knot, PowerDNS, ...)" */
	const char *needs;         /* what the credential must be allowed to do */
	const struct dns_opt_desc *opts;
	size_t n_opts;
	bool needs_zone;           /* present needs dns_record.zone */
	/* Check the values (formats, combinations) offline. Returns 0 or -1 (usage). */
	int (*check)(const struct dns_options *o, struct gpc_error *err);
	/* Create the provider's state from checked options. Returns 0 or -1. */
	int (*create)(const struct dns_options *o, void **state, struct gpc_error *err);
	/* Add the value to the record set (never replace it). Returns 0 or -1. */
	int (*present)(void *state, const struct dns_record *r, struct gpc_error *err);
	/* Remove that one value (others stay). Returns 0 or -1. */
	int (*cleanup)(void *state, const struct dns_record *r, struct gpc_error *err);
	/* The name the CA will look at for r, when the provider decides it
	 * (acme-dns: its account's full domain); NULL: r->fqdn. Malloc'd. */
	char *(*target)(void *state, const struct dns_record *r);
	void (*destroy)(void *state);
};

/* The provider called name (or one of its aliases), case-insensitively;
 * NULL if none. */
const struct dns_provider_ops *dns_provider_find(const char *name);

/* All providers, NULL-terminated (the table's order: most used first). */
const struct dns_provider_ops *const *dns_providers(void);

/* The supported provider name closest to name (edit distance), for a hint. */
const char *dns_provider_closest(const char *name);

/* "rfc2136, pdns, acmedns, cloudflare": into out; returns out. */
char *dns_provider_list(char *out, size_t outsz);

/* The descriptor matching key: a name ("tsig_key"), lego's field name
 * ("TSIGKey") or an environment name ("RFC2136_TSIG_KEY"), case, '_' and
 * '-' ignored. NULL if none. */
const struct dns_opt_desc *dns_opt_find(const struct dns_provider_ops *p, const char *key);

/* KEY is not an option of P: the usage error "WHERE: provider P has no
 * option 'KEY'", the hint naming the closest option (at most 2 edits away)
 * and every option of P. Returns -1. */
int dns_opt_unknown(const struct dns_provider_ops *p, const char *key, const char *where, struct gpc_error *err);

/* Environment lookup supplied by the program (getenv in cmd/, a table in tests). */
typedef const char *(*dns_env_fn)(const char *name, void *ud);

/* Add to o the options set in the environment: for each option its env
 * name (then env_alt), or NAME_FILE naming a file holding the value (one
 * trailing newline dropped). An empty variable counts as unset. Returns 0
 * or -1 (an unreadable _FILE: err names the variable and the file). */
int dns_options_from_env(const struct dns_provider_ops *p, dns_env_fn env, void *ud,
			 struct dns_options *o, struct gpc_error *err) __attribute__((warn_unused_result));

/* Add one "KEY=VALUE" (--dns-opt) to o. An unknown key is a usage error
 * naming the provider and its options. Returns 0 or -1. */
int dns_options_parse_arg(const struct dns_provider_ops *p, const char *arg, struct dns_options *o,
			  struct gpc_error *err) __attribute__((warn_unused_result));

/* Usage check before any request: required options present (err names the
 * option, its environment name and the provider), defaults filled in, then
 * the provider's own check. Returns 0 or -1 (GPC_E_USAGE). */
int dns_options_validate(const struct dns_provider_ops *p, struct dns_options *o,
			 struct gpc_error *err) __attribute__((warn_unused_result));

struct dns_provider;

/* A provider instance from validated options. Returns 0 and *out (free with
 * dns_provider_free), or -1. */
int dns_provider_new(const struct dns_provider_ops *ops, const struct dns_options *o,
		     struct dns_provider **out, struct gpc_error *err) __attribute__((warn_unused_result));
void dns_provider_free(struct dns_provider *p);
const struct dns_provider_ops *dns_provider_ops(const struct dns_provider *p);
/* Thread-safe wrappers of the ops (one request at a time per provider). */
int dns_provider_present(struct dns_provider *p, const struct dns_record *r, struct gpc_error *err)
	__attribute__((warn_unused_result));
int dns_provider_cleanup(struct dns_provider *p, const struct dns_record *r, struct gpc_error *err)
	__attribute__((warn_unused_result));
/* Malloc'd name the CA looks at (see ops->target), or NULL on ENOMEM. */
char *dns_provider_target(struct dns_provider *p, const struct dns_record *r);

/* Replace every secret value in text (NUL-terminated, in place) by "***":
 * for error messages built from a server's answer. */
void dns_redact(char *text, size_t size, const struct dns_options *o);

/* ---- resolution and the propagation check ---- */

#define DNS_PROPAGATION_TIMEOUT_DEFAULT 120 /* seconds */
#define DNS_MAX_SERVERS 32

struct dns_check_opts {
	char **resolvers;      /* "ADDR[:PORT]" recursive resolvers; none: /etc/resolv.conf */
	size_t n_resolvers;
	const char *resolv_conf; /* NULL: /etc/resolv.conf (tests give another) */
	int timeout_secs;      /* 0: DNS_PROPAGATION_TIMEOUT_DEFAULT */
	int wait_secs;         /* > 0: sleep this long instead of checking */
	bool no_check;         /* neither check nor wait */
	int query_timeout_ms;  /* one query; 0: 1500 */
};

/* Find where the TXT record for domain goes: _acme-challenge.DOMAIN. (a
 * domain that already is a record's name, dns-account-01's
 * _LABEL._acme-challenge.DOMAIN or dns-persist-01's
 * _validation-persist.DOMAIN, is taken as it is), or
 * the target of a CNAME there (followed up to 8 times), and the zone
 * holding that name (by SOA), both through the resolvers. *fqdn and *zone
 * are malloc'd (caller frees). Returns 0, or -1 (err names the name, the
 * resolvers and what they answered). */
int dns_find_target(const struct dns_check_opts *o, const char *domain, char **fqdn, char **zone,
		    struct gpc_error *err) __attribute__((warn_unused_result));

/* One expected value at one name. */
struct dns_expect {
	const char *fqdn; /* absolute */
	const char *zone; /* its zone (absolute), or NULL: found here */
	const char *value;
};

/* The propagation check: find every authoritative server of each zone (NS
 * through the resolvers, then their A/AAAA through the resolvers), ask
 * each address directly (no recursion; UDP, TCP when truncated) until
 * every one serves every expected value at each name, every second or
 * so, at most o->timeout_secs. With o->wait_secs > 0 just waits; with
 * o->no_check returns at once. -v (GPC_LOG_INFO) reports each round.
 * Returns 0, or -1: err names each server that does not serve a value and
 * what it answered. */
int dns_propagation_check(const struct dns_check_opts *o, const struct dns_expect *e, size_t n,
			  struct gpc_error *err) __attribute__((warn_unused_result));

/* Parse "ADDR[:PORT]" / "[V6]:PORT" (an IP literal; default port def_port)
 * into host (size hostsz) and *port. Returns 0 or -1. */
int dns_parse_hostport(const char *s, unsigned def_port, char *host, size_t hostsz, unsigned *port);

/* The nameservers of a resolv.conf file (path NULL: /etc/resolv.conf), at
 * most max, malloc'd strings into out. Returns how many, or -1 (err). */
int dns_resolv_conf(const char *path, char **out, size_t max, struct gpc_error *err);

/* ---- dns-persist-01 (draft-ietf-acme-dns-persist) ---- */

/* What a standing record must say: "ISSUER; accounturi=URL[; policy=wildcard]
 * [; persistUntil=UNIX]" at _validation-persist.NAME. */
struct dns_persist_want {
	const char *fqdn;           /* "_validation-persist.NAME." */
	const char *const *issuers; /* the CA's issuer domain names */
	size_t n_issuers;
	const char *account_uri;
	bool wildcard;              /* policy=wildcard needed */
	time_t now;                 /* a persistUntil before this has lapsed */
};

/* Whether one TXT value authorizes w (RFC 8659 issue-value syntax, tags
 * case-insensitive, as the CA reads it): 1 (*until: its persistUntil, 0
 * none), or 0 with why saying what is wrong with it. */
int dns_persist_match(const char *txt, const struct dns_persist_want *w, time_t *until, char *why,
		      size_t whysz);

/* Read-only: does every authoritative server of the zone (else, when the
 * resolvers show none, every resolver) serve a record matching w? Asks
 * once, writes nothing. Returns 0 (*until: the earliest persistUntil of
 * the matching records, 0 none), or -1: GPC_E_NETWORK naming each server
 * and what it answered, or a usage error (resolvers). */
int dns_persist_check(const struct dns_check_opts *o, const struct dns_persist_want *w, time_t *until,
		      struct gpc_error *err) __attribute__((warn_unused_result));

#endif

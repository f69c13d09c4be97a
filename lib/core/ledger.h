/* ledger: DIR/.state/ledger.json, the history that keeps a certs directory
 * inside the CA's rate limits without asking the CA:
 *   - every issuance and every failure per (CA directory URL, exact name set);
 *   - the CA's Retry-After per CA (429/503 rateLimited);
 *   - the renew back-off per lineage (1 min, 10 min, 100 min, then daily).
 * All checks are offline: a refusal happens before any network access. */
#ifndef GPC_LEDGER_H
#define GPC_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certstore.h"
#include "error.h"

/* Let's Encrypt's published limits (the default guard). */
#define LEDGER_DEFAULT_CERTS 5          /* certificates per exact name set ... */
#define LEDGER_DEFAULT_WINDOW (168 * 3600) /* ... per 168 hours */
#define LEDGER_DEFAULT_AUTHZ_FAILS 5    /* failed authorizations per name ... */
#define LEDGER_AUTHZ_WINDOW 3600        /* ... per hour */

struct ledger_limits {
	bool off;           /* --rate-limit off: no guard (CA Retry-After still honoured) */
	int certs;          /* N of N/HOURS */
	long window;        /* HOURS of N/HOURS, in seconds */
	int authz_fails;    /* failed authorizations per name per LEDGER_AUTHZ_WINDOW */
};

struct ledger;

/* The default limits (5 per 168 h, 5 failed authorizations per name per hour). */
void ledger_limits_default(struct ledger_limits *lim);

/* Parse "N/HOURS" (e.g. "5/168") or "off" into *lim (authz limit unchanged
 * from the default). Returns 0 or -1 with err naming the value. */
int ledger_limits_parse(const char *s, struct ledger_limits *lim, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Load DIR/.state/ledger.json (a missing file is an empty ledger). Returns 0
 * and *out (free with ledger_free) or -1 (unreadable or broken file: err
 * names it). */
int ledger_load(struct certstore *cs, struct ledger **out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* An empty ledger (for tests). NULL on ENOMEM. */
struct ledger *ledger_new(void);
void ledger_free(struct ledger *lg);

/* Drop entries that no limit looks at any more (older than the longest
 * window, at least 168 h) and expired Retry-Afters. */
void ledger_prune(struct ledger *lg, time_t now);

/* Write it back atomically (0600), pruned. Caller holds the exclusive lock.
 * Returns 0 or -1. */
int ledger_save(struct certstore *cs, struct ledger *lg, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Is a new order for names[0..n) at `ca` allowed at `now`?
 * Checks, in order: the CA's stored Retry-After, failed authorizations per
 * name in the last hour, certificates for this exact name set in the window
 * (issuances recorded with `replaces` do not count; `ari_renewal` skips this
 * limit since the CA exempts renewals that replace an ARI-known certificate).
 * Returns 0 when allowed, or -1 with err->code GPC_E_RATELIMIT,
 * err->retry_after = when it will be allowed, and a message saying why. */
int ledger_check(const struct ledger *lg, const char *ca, char *const *names, size_t n,
		 const struct ledger_limits *lim, bool ari_renewal, time_t now,
		 struct gpc_error *err) __attribute__((warn_unused_result));

/* Record a certificate issued now (replaced: accepted with ARI `replaces`).
 * Returns 0 or -1 (ENOMEM). */
int ledger_record_issuance(struct ledger *lg, const char *ca, char *const *names, size_t n,
			   bool replaced, time_t now) __attribute__((warn_unused_result));

/* Record a failed order; failed_authz[0..nf) are the names whose
 * authorizations failed (may be empty). Returns 0 or -1 (ENOMEM). */
int ledger_record_failure(struct ledger *lg, const char *ca, char *const *names, size_t n,
			  char *const *failed_authz, size_t nf, const char *detail, time_t now)
	__attribute__((warn_unused_result));

/* Store the CA's Retry-After (unix time) with the CA's detail. Later
 * ledger_check calls for that CA refuse until then. Returns 0 or -1. */
int ledger_set_retry_after(struct ledger *lg, const char *ca, time_t until, const char *detail)
	__attribute__((warn_unused_result));

/* The stored Retry-After of a CA that is still in force at `now`, else 0. */
time_t ledger_retry_after(const struct ledger *lg, const char *ca, time_t now);

/* Renew back-off for a lineage: after k consecutive failures the next
 * attempt waits 1 min, 10 min, 100 min, then 24 h from the last failure.
 * Returns the time before which renew must not retry (0 = no back-off). */
time_t ledger_backoff_until(const struct ledger *lg, const char *lineage, time_t now);

/* Record the outcome of a renew/issue attempt of a lineage (ok resets the
 * back-off). Returns 0 or -1 (ENOMEM). */
int ledger_record_attempt(struct ledger *lg, const char *lineage, bool ok, time_t now)
	__attribute__((warn_unused_result));

/* Number of issuances recorded for this exact name set (any CA when ca is
 * NULL) since `since`. */
int ledger_count_issuances(const struct ledger *lg, const char *ca, char *const *names,
			   size_t n, time_t since);

/* Serialise / parse (exposed for tests). to_json: malloc'd, caller frees. */
char *ledger_to_json(const struct ledger *lg);
int ledger_from_json(const char *text, const char *what, struct ledger **out,
		     struct gpc_error *err) __attribute__((warn_unused_result));

#endif

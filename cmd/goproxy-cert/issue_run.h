/* issue_run: the engine shared by `issue` and `renew`.
 *
 *   decide (offline, from the files) -> guard (offline, the ledger) ->
 *   account -> order -> solvers -> finalize -> write pair under the lock ->
 *   ledger -> lineage -> deploy hook.
 *
 * One struct issue_env per run holds what lineages share: the certs dir, the
 * ledger (behind a mutex), one account per CA, the solvers, the HTTP share.
 * Several threads may call issue_lineage on one env (renew --concurrency);
 * each call makes its own acme_client (acme.h: one client per thread) on the
 * shared connection pool. */
#ifndef GPC_ISSUE_RUN_H
#define GPC_ISSUE_RUN_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "certstore.h"
#include "error.h"
#include "ledger.h"
#include "lineage.h"

struct issue_opts {
	bool force;              /* skip the offline decision (never the guard) */
	int days;                /* --days N (0: lineage's, else policy) */
	struct ledger_limits lim;
	const char *eab_kid, *eab_hmac;
	bool quiet;
};

enum issue_result {
	ISSUE_CURRENT = 0,
	ISSUE_ISSUED,
	ISSUE_FAILED,
	ISSUE_DEFERRED,
	ISSUE_USAGE,
};

struct issue_outcome {
	enum issue_result res;
	time_t not_after;      /* of the certificate in place */
	time_t due_at;         /* when it becomes due (current) */
	char reason[1400];     /* why it was (not) issued */
	struct gpc_error err;  /* failure / deferral */
	unsigned long requests, connections; /* HTTP to the CA */
};

struct issue_account;
struct issue_solver;

struct issue_env {
	struct certstore *cs;
	pthread_mutex_t mu;           /* ledger, accounts, solvers, writes */
	struct ledger *ledger;         /* NULL when ledger.json could not be read */
	struct gpc_error ledger_err;  /* why */
	struct http_share *share;
	struct issue_account *accounts;
	struct issue_solver *solvers;
	int issue_lock_fd;
	bool quiet;
	long timeout_ms;              /* per HTTP request ($GOPROXY_CERT_TIMEOUT); 0: 60 s */
};

/* Set up an env on an open certs dir: loads the ledger (a broken one is
 * kept as ledger_err and refused by issue_guard) and reads
 * $GOPROXY_CERT_TIMEOUT (seconds per request to the CA, 1-600). Returns 0,
 * or -1 (GPC_E_USAGE for a bad $GOPROXY_CERT_TIMEOUT). */
int issue_env_init(struct issue_env *env, struct certstore *cs, struct gpc_error *err)
	__attribute__((warn_unused_result));
void issue_env_finish(struct issue_env *env);

/* Take DIR/.state/issue.lock (flock, exclusive, waits) so that two runs never
 * order the same certificate twice. Returns 0 or -1. */
int issue_env_lock(struct issue_env *env, struct gpc_error *err) __attribute__((warn_unused_result));

/* Check before any network access that the certs dir (and the lineage's
 * directory) is writable; err names path, uid, owner and mode. Returns 0/-1. */
int issue_check_writable(struct certstore *cs, const char *lineage, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* The offline decision: returns 1 when the lineage needs a certificate now
 * (reason says why), 0 when what is on disk is current (out->not_after and
 * out->due_at filled). */
int issue_decide(struct issue_env *env, const struct lineage *l, const struct issue_opts *o,
		 struct issue_outcome *out);

/* The offline guard (ledger): 0 allowed, -1 deferred (out->err filled, with
 * retry_after). */
int issue_guard(struct issue_env *env, const struct lineage *l, const struct issue_opts *o,
		struct issue_outcome *out);

/* Get a certificate for `l` now (the decision and the guard already passed).
 * Writes the pair, the ledger and the lineage (l is updated). */
enum issue_result issue_order(struct issue_env *env, struct lineage *l, const struct issue_opts *o,
			      struct issue_outcome *out);

/* RFC 9773: for a lineage with an ARI certificate ID whose stored
 * Retry-After has passed, GET renewalInfo and keep (or, when the window
 * moved, re-pick) the renewal time; saves the lineage. Network access, no
 * account. Returns 0 (also when nothing was due to be fetched) or -1. */
int issue_ari_refresh(struct issue_env *env, struct lineage *l, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Map a failure's error code to a result (network/rate limit: deferred). */
enum issue_result issue_classify(const struct gpc_error *e);

/* Directory name under .state/accounts/ for a CA directory URL: a readable,
 * filesystem-safe form plus a hash. Writes into out; returns 0 or -1. */
int issue_account_dirname(const char *url, char *out, size_t outsz);

/* Load the CA account of `url` (key + URL), creating it on first use.
 * On success *key_pem (malloc'd, secret) and *kid (malloc'd) are set.
 * Used by the account subcommand too. */
struct acme_client;
int issue_account_client(struct issue_env *env, const char *url, const char *ca_bundle,
			 const char *email, const char *eab_kid, const char *eab_hmac,
			 bool create, struct acme_client **out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Store a new account key for url (after a rollover). Returns 0 or -1. */
int issue_account_store_key(struct issue_env *env, const char *url, const char *key_pem,
			    struct gpc_error *err) __attribute__((warn_unused_result));
/* Store the account URL (kid) for url. Returns 0 or -1. */
int issue_account_store_kid(struct issue_env *env, const char *url, const char *kid,
			    struct gpc_error *err) __attribute__((warn_unused_result));

/* Exit code for a result (issue: 0/1/64/75). */
int issue_exit_code(enum issue_result r);

/* "issued", "current", "failed", "deferred", "usage". */
const char *issue_result_name(enum issue_result r);

/* The CA URL from --server/--staging/env/default. */
const char *issue_default_server(void);

/* The default solver: http-dir when a live goproxyd pidfile is in .state. */
bool issue_goproxyd_running(struct certstore *cs);

/* What a live goproxyd serving this certs dir answers, from the second line
 * of .state/goproxyd.pid ("answers: http-01 tls-alpn-01"): a mask of
 * GOPROXYD_* bits; 0 when no goproxyd runs. A pidfile without that line
 * (another program's) counts as answering both. */
#define GOPROXYD_RUNNING 1
#define GOPROXYD_HTTP01 2
#define GOPROXYD_TLSALPN01 4
int issue_goproxyd_answers(struct certstore *cs);

#endif

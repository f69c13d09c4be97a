/* issue: the issuer, the engine behind `issue` and `renew`, as library calls.
 *
 *   issue_lineage: offline precheck (decide, back-off, guard) -> the
 *   store's issuer lock -> the same precheck again from fresh state (a
 *   run that waited finds the winner's certificate current) -> account ->
 *   order -> solvers -> finalize -> check the chain -> commit (pair, ledger
 *   read-modify-write under the store lock, lineage) -> deploy hook.
 *   issue_renew: the same for many lineages on a pool of threads.
 *
 * One struct issue_env per run holds what lineages share: the store, one
 * account per CA, the solvers, the HTTP share. Nothing is read from the
 * environment or printed here: the program passes a complete configuration
 * and gets results back; progress goes through the log callback (log.h). */
#ifndef GPC_ISSUE_H
#define GPC_ISSUE_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "certstore.h"
#include "error.h"
#include "ledger.h"
#include "lineage.h"
#include "records.h"

/* How long a run waits for another run's issuer lock on the same lineage
 * before it gives up (exit 75) by default, in seconds: longer than an order
 * with DNS propagation and slow hooks takes. */
#define ISSUE_LOCK_WAIT_DEFAULT 900
/* Challenge and deploy hooks are killed (with their process group) after this. */
#define ISSUE_HOOK_TIMEOUT_DEFAULT_MS (300L * 1000L)

struct issue_opts {
	bool force;              /* skip the decision (never the guard); a run that waited
	                          * for the lock and finds a new pair still reports current */
	int days;                /* --days N (0: lineage's, else policy) */
	struct ledger_limits lim;
	const char *eab_kid, *eab_hmac;
	bool quiet;
	bool backoff;            /* renew: honour the lineage's back-off after failures */
	bool ari_refresh;        /* renew: ask renewalInfo again for a lineage not due */
	bool reload;             /* the lineage is the stored one: re-read it under the lock */
	int lock_wait_secs;      /* issuer lock: < 0 forever, 0 try once, else seconds;
	                          * issue_opts_default gives ISSUE_LOCK_WAIT_DEFAULT */
	long hook_timeout_ms;    /* challenge and deploy hooks, for this run; 0: the lineage's
	                          * hook_timeout, else ISSUE_HOOK_TIMEOUT_DEFAULT_MS */
	bool store_current;      /* issue: the lineage holds settings the user gave; when the
	                          * certificate in place is current, store them if they
	                          * changed (it is what renew will use). Otherwise settings
	                          * are stored only with the certificate they produce. */
	bool refuse_duplicate;   /* issue of a new lineage without --duplicate: decided again
	                          * under the issuer lock (issue_refuse_duplicate) */
};

/* A new lineage l (no certificate of its own) for exactly the names of
 * another lineage's current certificate of the same key type would ask the
 * CA for what is there (a typo in -n, the same names twice in a config):
 * -1 with a usage error naming that lineage and the fix (--duplicate), or 0.
 * issue checks it before anything else, and issue_lineage again under the
 * issuer lock when issue_opts.refuse_duplicate is set. */
int issue_refuse_duplicate(struct certstore *cs, const struct lineage *l, struct gpc_error *err);

/* Defaults: Let's Encrypt's limits, the default lock wait and hook limit. */
void issue_opts_default(struct issue_opts *o);

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
	char deploy_error[256]; /* the deploy hook failed: what happened (alerts), else "" */
};

struct issue_account;
struct issue_solver;

struct issue_env {
	struct certstore *cs;
	pthread_mutex_t mu;           /* accounts, solvers, the store lock between threads */
	struct http_share *share;
	struct issue_account *accounts;
	struct issue_solver *solvers;
	bool quiet;
	bool warned_ephemeral;        /* the not-persistent warning was given */
	bool ephemeral_ok;            /* the user said the directory is meant to be
	                               * temporary (CI): no warning */
	long timeout_ms;              /* per HTTP request to the CA; 0: 60 s */
	pthread_mutex_t lock_mu;      /* the issuer lock, shared by the run's threads */
	int lock_refs;
};

/* Set up an env on an open store. `timeout_ms`: per request to the CA (0:
 * the default 60 s). Nothing is read here: the ledger and lineages are read
 * fresh by every decision. Free with issue_env_finish. */
void issue_env_init(struct issue_env *env, struct certstore *cs, long timeout_ms);
void issue_env_finish(struct issue_env *env);

/* The record whose presence says "this certs directory is meant to be
 * temporary" (--ephemeral-ok once): no persistence warning for it. */
#define ISSUE_EPHEMERAL_OK_RECORD RECORD_EPHEMERAL_OK

/* The whole job for one lineage (see the top of this file): returns the
 * result, also in out->res; out->reason says why, out->err what failed or
 * was deferred. `l` is updated with what was stored. Safe to call from
 * several threads on one env for different lineages. */
enum issue_result issue_lineage(struct issue_env *env, struct lineage *l, const struct issue_opts *o,
				struct issue_outcome *out);

/* One lineage of a renew run. `l` is owned by the caller. */
struct issue_job {
	struct lineage *l;
	struct issue_outcome out;
	bool todo;                   /* run it (false: out already holds the result) */
};

/* Called from a worker thread before a lineage is worked on (may be NULL). */
typedef void (*issue_progress_fn)(const char *lineage, void *ud);

/* Run issue_lineage for every job with todo set, `concurrency` at a time
 * (at least 1). Each job's out is filled. */
void issue_renew(struct issue_env *env, struct issue_job *jobs, size_t n, const struct issue_opts *o,
		 int concurrency, issue_progress_fn progress, void *ud);

/* The offline part of issue_lineage, without any lock: the decision (and,
 * with o->ari_refresh, renewalInfo for a lineage that is not due), the
 * back-off (o->backoff) and the rate-limit guard, from the files as they are
 * now. Returns 1 when an order is needed and allowed, else 0 with out->res
 * CURRENT, DEFERRED or FAILED (renew uses it to know whether anything is due
 * before its --jitter sleep). */
int issue_precheck(struct issue_env *env, struct lineage *l, const struct issue_opts *o,
		   struct issue_outcome *out);

/* Before any network access: can the store take a new pair for `lineage`
 * (certstore_check_writable)? err names the record or path, uid, owner and
 * mode. Returns 0 or -1. */
int issue_check_writable(struct certstore *cs, const char *lineage, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* The offline decision from the pair in the store: returns 1 when the
 * lineage needs a certificate now, 0 when the pair is current; out->reason
 * says why either way, out->not_after and out->due_at are filled once the
 * pair is readable, matches its key and holds the names and key type. */
int issue_decide(struct issue_env *env, const struct lineage *l, const struct issue_opts *o,
		 struct issue_outcome *out);

/* The offline guard: reads the ledger fresh; 0 allowed, -1 deferred
 * (out->err filled, with retry_after) or failed (an unreadable ledger). */
int issue_guard(struct issue_env *env, const struct lineage *l, const struct issue_opts *o,
		struct issue_outcome *out);

/* Get a certificate for `l` now (the caller holds the lineage's issuer lock
 * and the decision and the guard passed). Writes the pair, the ledger and
 * the lineage (l is updated). */
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

/* The account directory (RECORD_ACCOUNT_FMT) for a CA directory URL: a readable,
 * filesystem-safe form plus a hash. Writes into out; returns 0 or -1. */
int issue_account_dirname(const char *url, char *out, size_t outsz);

/* A client on the CA account of `url` (the stored key and URL), registering
 * it (with `create`) on first use; one account per CA is shared by the
 * env's threads. Returns 0 and *out (free with acme_client_free), or -1
 * (GPC_E_MISSING without an account and without `create`). Used by
 * account.c (and through it persist.c) and revoke.c too. */
struct acme_client;
int issue_account_client(struct issue_env *env, const char *url, const char *ca_bundle,
			 const char *email, const char *eab_kid, const char *eab_hmac,
			 bool create, struct acme_client **out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Store the account key for url (a new account's, a rollover's, or one
 * brought from GoDoxy). Returns 0 or -1. */
int issue_account_store_key(struct issue_env *env, const char *url, const char *key_pem,
			    struct gpc_error *err) __attribute__((warn_unused_result));
/* Store the account URL (kid) for url. Returns 0 or -1. */
int issue_account_store_kid(struct issue_env *env, const char *url, const char *kid,
			    struct gpc_error *err) __attribute__((warn_unused_result));


/* "issued", "current", "failed", "deferred", "usage". */
const char *issue_result_name(enum issue_result r);

/* The default solver: http-dir when a live goproxyd has its presence in
 * the store (certstore_presence_get). */
bool issue_goproxyd_running(struct certstore *cs);

/* What a live goproxyd serving this store answers, from its presence
 * record (records_presence_parse): a mask of GOPROXYD_* bits (records.h);
 * 0 when no goproxyd runs. */
int issue_goproxyd_answers(struct certstore *cs);

#endif

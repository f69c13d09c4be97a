/* issue: the issuer engine. See issue.h. */
#include "issue.h"
#include "godoxy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>

#include "acme.h"
#include "buf.h"
#include "fsutil.h"
#include "gpc_spawn.h"
#include "http.h"
#include "jsonutil.h"
#include "keygen.h"
#include "log.h"
#include "persist.h"
#include "policy.h"
#include "solver.h"
#include "timeutil.h"
#include "x509.h"

struct issue_account {
	char *url;
	char *key_pem;
	char *kid;
	struct acme_directory dir;
	bool have_dir;
	struct issue_account *next;
};

static void account_free(struct issue_account *a)
{
	free(a->url);
	if (a->key_pem) {
		gnutls_memset(a->key_pem, 0, strlen(a->key_pem));
		free(a->key_pem);
	}
	free(a->kid);
	if (a->have_dir)
		acme_directory_finish(&a->dir);
	free(a);
}

struct issue_solver {
	enum solver_kind kind;
	char *arg, *challenge;
	struct solver *s;
	struct issue_solver *next;
};

static void issue_solver_free(struct issue_solver *is)
{
	solver_free(is->s);
	free(is->arg);
	free(is->challenge);
	free(is);
}

const char *issue_result_name(enum issue_result r)
{
	switch (r) {
	case ISSUE_CURRENT: return "current";
	case ISSUE_ISSUED: return "issued";
	case ISSUE_FAILED: return "failed";
	case ISSUE_DEFERRED: return "deferred";
	case ISSUE_USAGE: return "usage";
	}
	return "?";
}


static bool code_is(const struct gpc_error *e, const char *code)
{
	return e->code != NULL && strcmp(e->code, code) == 0;
}

enum issue_result issue_classify(const struct gpc_error *e)
{
	if (code_is(e, GPC_E_NETWORK) || code_is(e, GPC_E_RATELIMIT) || code_is(e, GPC_E_LOCKED) ||
	    code_is(e, GPC_E_BACKOFF))
		return ISSUE_DEFERRED;
	if (code_is(e, GPC_E_USAGE))
		return ISSUE_USAGE;
	return ISSUE_FAILED;
}

void issue_opts_default(struct issue_opts *o)
{
	memset(o, 0, sizeof(*o));
	ledger_limits_default(&o->lim);
	o->lock_wait_secs = ISSUE_LOCK_WAIT_DEFAULT;
}

/* ---- env ---- */

void issue_env_init(struct issue_env *env, struct certstore *cs, long timeout_ms)
{
	memset(env, 0, sizeof(*env));
	env->cs = cs;
	env->timeout_ms = timeout_ms;
	pthread_mutex_init(&env->mu, NULL);
	pthread_mutex_init(&env->lock_mu, NULL);
}

void issue_env_finish(struct issue_env *env)
{
	while (env->accounts) {
		struct issue_account *a = env->accounts;
		env->accounts = a->next;
		account_free(a);
	}
	while (env->solvers) {
		struct issue_solver *s = env->solvers;
		env->solvers = s->next;
		issue_solver_free(s);
	}
	if (env->share)
		http_share_free(env->share);
	if (env->lock_refs > 0)
		certstore_issuer_unlock(env->cs);
	pthread_mutex_destroy(&env->lock_mu);
	pthread_mutex_destroy(&env->mu);
}

/* ---- the issuer lock ----
 * The store's issuer lock (certstore_issuer_lock), held by a run while any
 * of its threads is deciding-and-ordering, so that two runs never order the
 * same certificate: the second waits (bounded), then decides again from
 * what the first stored and finds it current. The threads of one run share
 * it (lineages of one renew run go on in parallel): lock_refs counts them. */

static int issuer_lock(struct issue_env *env, const char *name, int wait_secs, bool *waited,
		       struct gpc_error *err)
{
	int rc = 0;

	*waited = false;
	pthread_mutex_lock(&env->lock_mu);
	if (env->lock_refs == 0)
		rc = certstore_issuer_lock(env->cs, name, wait_secs, waited, err);
	if (rc == 0)
		env->lock_refs++;
	pthread_mutex_unlock(&env->lock_mu);
	return rc;
}

/* The standalone solvers' listening sockets are closed before the issuer
 * lock is given up: the run that takes the lock next (renew from cron while
 * another renew finishes) binds the same --standalone ADDR:PORT at once. With
 * no lock reference left, none of this run's threads is ordering, so no
 * solver is in use; the next order that needs one binds it again. */
static void release_ports(struct issue_env *env)
{
	struct issue_solver **pp, *is;

	pthread_mutex_lock(&env->mu);
	for (pp = &env->solvers; (is = *pp) != NULL;) {
		if (is->kind != SOLVER_STANDALONE) {
			pp = &is->next;
			continue;
		}
		*pp = is->next;
		issue_solver_free(is);
	}
	pthread_mutex_unlock(&env->mu);
}

static void issuer_unlock(struct issue_env *env)
{
	pthread_mutex_lock(&env->lock_mu);
	if (env->lock_refs > 0 && --env->lock_refs == 0) {
		release_ports(env);
		certstore_issuer_unlock(env->cs);
	}
	pthread_mutex_unlock(&env->lock_mu);
}


int issue_check_writable(struct certstore *cs, const char *lineage, struct gpc_error *err)
{
	return certstore_check_writable(cs, lineage, err);
}

int issue_goproxyd_answers(struct certstore *cs)
{
	struct buf info;
	int answers = 0;

	buf_init(&info, 256);
	if (certstore_presence_get(cs, PRESENCE_GOPROXYD, &info) == 1)
		answers = records_presence_parse(info.data);
	buf_finish(&info);
	return answers;
}

bool issue_goproxyd_running(struct certstore *cs)
{
	return issue_goproxyd_answers(cs) != 0;
}

/* ---- decision (offline) ---- */

int issue_decide(struct issue_env *env, const struct lineage *l, const struct issue_opts *o,
		 struct issue_outcome *out)
{
	struct buf cert, key;
	struct x509_chain *chain = NULL;
	struct x509_key *k = NULL;
	struct gpc_error err;
	char cpath[PATH_MAX], kpath[PATH_MAX], ts[32];
	int need = 1;
	time_t now = time_now();

	gpc_error_clear(&err);
	buf_init(&cert, CERTSTORE_MAX_FILE);
	buf_init(&key, CERTSTORE_MAX_FILE);
	if (certstore_paths(env->cs, l->name, cpath, sizeof(cpath), kpath, sizeof(kpath)) != 0) {
		snprintf(out->reason, sizeof(out->reason), "bad lineage name");
		goto out;
	}
	if (certstore_read_pair(env->cs, l->name, &cert, &key, &err) != 0) {
		snprintf(out->reason, sizeof(out->reason), "%.1024s", code_is(&err, GPC_E_MISSING) ?
			 "no certificate on disk yet" : err.message);
		goto out;
	}
	if (x509_chain_parse(cpath, cert.data, cert.len, &chain, NULL, &err) != 0 ||
	    x509_key_parse(kpath, key.data, key.len, &k, &err) != 0) {
		snprintf(out->reason, sizeof(out->reason), "the files on disk are not usable: %.1000s", err.message);
		goto out;
	}
	if (!x509_key_matches(k, chain)) {
		snprintf(out->reason, sizeof(out->reason), "%.600s does not belong to %.600s", kpath, cpath);
		goto out;
	}
	const struct x509_info *leaf = x509_chain_info(chain, 0);
	struct buf only_a, only_b;
	buf_init(&only_a, 4096);
	buf_init(&only_b, 4096);
	bool same = x509_names_equal((const char *const *)leaf->names, leaf->n_names,
				     (const char *const *)l->names, l->n_names, &only_a, &only_b);
	if (!same) {
		snprintf(out->reason, sizeof(out->reason), "the name set changed (on disk only: %s; requested only: %s)",
			 only_a.len ? only_a.data : "-", only_b.len ? only_b.data : "-");
		buf_finish(&only_a);
		buf_finish(&only_b);
		goto out;
	}
	buf_finish(&only_a);
	buf_finish(&only_b);
	if (l->key_type && strcmp(x509_key_type(k), l->key_type) != 0) {
		snprintf(out->reason, sizeof(out->reason), "the key is %s, %s was requested", x509_key_type(k), l->key_type);
		goto out;
	}
	/* Due: the one rule check and status apply too (policy.h). */
	struct policy_result pr;
	struct policy_input pin = { .not_before = leaf->not_before, .not_after = leaf->not_after,
				    .fingerprint_sha256 = leaf->fingerprint_sha256, .stored_days = l->days,
				    .ari_renew_at = l->ari_renew_at, .ari_cert_sha256 = l->ari_cert_sha256,
				    .override_days = o->days };
	policy_lineage_due(&pin, now, &pr);
	time_t due = pr.due_at;
	out->not_after = leaf->not_after;
	out->due_at = due;
	if (now < leaf->not_before) {
		snprintf(out->reason, sizeof(out->reason), "the certificate is not valid yet (clock?)");
		goto out;
	}
	if (pr.due) {
		snprintf(out->reason, sizeof(out->reason), "%s since %s",
			 now >= leaf->not_after ? "expired" : "due for renewal",
			 time_rfc3339(now >= leaf->not_after ? leaf->not_after : due, ts, sizeof(ts)));
		goto out;
	}
	need = 0;
	snprintf(out->reason, sizeof(out->reason), "current until %s, nothing to do",
		 time_rfc3339(leaf->not_after, ts, sizeof(ts)));
out:
	x509_chain_free(chain);
	x509_key_free(k);
	buf_finish(&cert);
	if (key.data)
		gnutls_memset(key.data, 0, key.len);
	buf_finish(&key);
	return need;
}

int issue_guard(struct issue_env *env, const struct lineage *l, const struct issue_opts *o,
		struct issue_outcome *out)
{
	struct ledger *lg = NULL;
	int rc;

	/* Fresh from the file: another run may have issued a moment ago. A
	 * broken ledger refuses to order (no history, no guard). */
	if (ledger_load(env->cs, &lg, &out->err) != 0) {
		out->res = ISSUE_FAILED;
		return -1;
	}
	rc = ledger_check(lg, l->ca_url, l->names, l->n_names, &o->lim,
			  l->ari_cert_id != NULL && l->ari_renew_at != 0, time_now(), &out->err);
	ledger_free(lg);
	if (rc != 0)
		out->res = ISSUE_DEFERRED;
	return rc;
}

/* The renew back-off after failures, from the ledger as it is now. Returns
 * 0, or -1 with out deferred. */
static int check_backoff(struct issue_env *env, const struct lineage *l, struct issue_outcome *out)
{
	struct ledger *lg = NULL;
	struct gpc_error e;
	time_t now = time_now(), until;
	char ts[32];

	gpc_error_clear(&e);
	if (ledger_load(env->cs, &lg, &e) != 0)
		return 0; /* the guard reports a broken ledger */
	until = ledger_backoff_until(lg, l->name, now);
	ledger_free(lg);
	if (until <= now)
		return 0;
	/* The back-off is this tool's, not the CA's: its own code, and the
	 * error it waits out quoted, so cron's mail says what to fix. */
	if (l->last_error != NULL)
		gpc_error_set(&out->err, GPC_E_BACKOFF, "%s: the last attempt failed (%s); backing off until %s",
			      l->name, l->last_error, time_rfc3339(until, ts, sizeof(ts)));
	else
		gpc_error_set(&out->err, GPC_E_BACKOFF, "%s: the last attempt failed; backing off until %s",
			      l->name, time_rfc3339(until, ts, sizeof(ts)));
	gpc_error_hint(&out->err, "fix the cause, then retry now with --force (goproxy-cert status %s shows the "
		       "settings)", l->name);
	out->err.retry_after = until;
	out->res = ISSUE_DEFERRED;
	return -1;
}

/* Read-modify-write of the ledger under the exclusive store lock: the file
 * is read fresh, `fn` records into it, and it is written back. No writer
 * ever saves a copy older than the file (two runs at once both count).
 * Caller holds env->mu. Returns 0 or -1 (err). */
static int ledger_update(struct issue_env *env, int (*fn)(struct ledger *, void *), void *ud,
			 struct gpc_error *err)
{
	struct ledger *lg = NULL;
	int rc = -1;

	if (certstore_lock(env->cs, true, 60, err) != 0)
		return -1;
	if (ledger_load(env->cs, &lg, err) != 0)
		goto out;
	if (fn(lg, ud) != 0) {
		gpc_error_set(err, GPC_E_NOMEM, "ledger: out of memory");
		goto out;
	}
	rc = ledger_save(env->cs, lg, err);
out:
	ledger_free(lg);
	certstore_unlock(env->cs);
	return rc;
}

/* ---- accounts: .state/accounts/<dirname>/{key.pem,account.json} ---- */

int issue_account_dirname(const char *url, char *out, size_t outsz)
{
	unsigned char d[32];
	const char *p = strstr(url, "://");
	size_t n = 0;

	p = p ? p + 3 : url;
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, url, strlen(url), d) < 0 || outsz < 20)
		return -1;
	for (; *p && n < 80 && n + 18 < outsz; p++) {
		char c = *p;
		out[n++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '.' || c == '-') ? c : '_';
	}
	snprintf(out + n, outsz - n, "-%02x%02x%02x%02x", d[0], d[1], d[2], d[3]);
	return 0;
}

static int account_rel(const char *url, const char *file, char *rel, size_t relsz)
{
	char dn[128];
	int n;

	if (issue_account_dirname(url, dn, sizeof(dn)) != 0)
		return -1;
	n = snprintf(rel, relsz, RECORD_ACCOUNT_FMT, dn, file);
	return (n < 0 || (size_t)n >= relsz) ? -1 : 0;
}

int issue_account_store_key(struct issue_env *env, const char *url, const char *key_pem,
			    struct gpc_error *err)
{
	char rel[PATH_MAX];

	if (account_rel(url, "key.pem", rel, sizeof(rel)) != 0)
		return gpc_error_set(err, GPC_E_INTERNAL, "account path");
	return certstore_state_write(env->cs, rel, key_pem, strlen(key_pem), err);
}

int issue_account_store_kid(struct issue_env *env, const char *url, const char *kid,
			    struct gpc_error *err)
{
	char rel[PATH_MAX];
	struct buf b;
	int rc;

	if (account_rel(url, "account.json", rel, sizeof(rel)) != 0)
		return gpc_error_set(err, GPC_E_INTERNAL, "account path");
	buf_init(&b, 16384);
	/* small enough to print by hand; urls never hold quotes */
	if (buf_printf(&b, "{\n  \"directory\": \"%s\",\n  \"url\": \"%s\"\n}\n", url, kid) != 0) {
		buf_finish(&b);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	rc = certstore_state_write(env->cs, rel, b.data, b.len, err);
	buf_finish(&b);
	return rc;
}

static char *read_kid(struct issue_env *env, const char *url)
{
	char rel[PATH_MAX];
	struct buf b;
	struct gpc_error err;
	struct json_object *doc = NULL, *v;
	char *kid = NULL;

	if (account_rel(url, "account.json", rel, sizeof(rel)) != 0)
		return NULL;
	buf_init(&b, 16384);
	if (certstore_state_read(env->cs, rel, 16384, &b, &err) == 0 &&
	    (doc = jsonutil_parse_object(b.data)) != NULL && json_object_object_get_ex(doc, "url", &v) &&
	    json_object_is_type(v, json_type_string))
		kid = strdup(json_object_get_string(v));
	json_object_put(doc);
	buf_finish(&b);
	return kid;
}

/* RFC 8555 §7.3: the CA no longer knows the account (a CA reset, an
 * account deactivated elsewhere): the stored key and URL are moved to
 * accounts/DIR/archive-TIME/ (never deleted) and a new account is
 * registered with the lineage's contact, in this run. Threads that hit it
 * together register once: the first replaces the env's account, the others
 * find the new one. Returns 0 with *c a client on the new account, or -1. */
static int account_gone(struct issue_env *env, const struct lineage *l, const struct issue_opts *o,
			struct acme_client **c, struct gpc_error *err)
{
	char old[1024], rel[PATH_MAX], dst[PATH_MAX], adir[PATH_MAX] = "";
	struct issue_account **pp, *a;
	bool ours = false;
	struct gpc_error e2;

	snprintf(old, sizeof(old), "%s", acme_client_kid(*c) ? acme_client_kid(*c) : "");
	pthread_mutex_lock(&env->mu);
	for (pp = &env->accounts; (a = *pp) != NULL; pp = &a->next)
		if (strcmp(a->url, l->ca_url) == 0)
			break;
	if (a == NULL || strcmp(a->kid, old) == 0) {
		char *stored = read_kid(env, l->ca_url);
		ours = true;
		if (a != NULL) {
			*pp = a->next;
			account_free(a);
		}
		if (stored != NULL && strcmp(stored, old) == 0) {
			char sub[64];
			struct timespec tp;
			struct tm tm;
			/* to the nanosecond: two resets within a second keep both */
			clock_gettime(CLOCK_REALTIME, &tp);
			gmtime_r(&tp.tv_sec, &tm);
			snprintf(sub, sizeof(sub), "archive-%04d%02d%02dT%02d%02d%02d.%09ldZ", tm.tm_year + 1900,
				 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tp.tv_nsec);
			for (const char *const *f = (const char *const[]){ "key.pem", "account.json", NULL }; *f; f++) {
				struct buf b;
				char file[96];
				snprintf(file, sizeof(file), "%s/%s", sub, *f);
				buf_init(&b, 64 * 1024);
				gpc_error_clear(&e2);
				if (account_rel(l->ca_url, *f, rel, sizeof(rel)) == 0 &&
				    account_rel(l->ca_url, file, dst, sizeof(dst)) == 0 &&
				    certstore_state_read(env->cs, rel, 64 * 1024, &b, &e2) == 0 &&
				    certstore_state_write(env->cs, dst, b.data, b.len, &e2) == 0)
					(void)certstore_state_remove(env->cs, rel, &e2);
				if (e2.message[0])
					gpc_warn("archiving the old account: %s", e2.message);
				if (b.data)
					gnutls_memset(b.data, 0, b.len);
				buf_finish(&b);
			}
			if (account_rel(l->ca_url, sub, rel, sizeof(rel)) == 0)
				(void)certstore_state_path(env->cs, rel, adir, sizeof(adir));
		}
		free(stored);
	}
	pthread_mutex_unlock(&env->mu);
	acme_client_free(*c);
	*c = NULL;
	if (issue_account_client(env, l->ca_url, l->ca_bundle, l->email, o->eab_kid, o->eab_hmac, true, c,
				 err) != 0)
		return -1;
	if (ours)
		gpc_note("%s: %s no longer knows the account %s; registered a new account %s (contact %s)%s%s",
			 l->name, l->ca_url, old, acme_client_kid(*c), l->email ? l->email : "none",
			 adir[0] ? "; the old account's files are in " : "", adir);
	return 0;
}

static int make_client_retries(struct issue_env *env, const char *url, const char *ca_bundle,
			       int max_retries, struct acme_client **out, struct gpc_error *err)
{
	struct acme_options ao = { .directory_url = url, .ca_bundle = ca_bundle, .max_retries = max_retries,
				   .timeout_ms = env->timeout_ms };

	if (env->share == NULL)
		env->share = http_share_new();
	ao.share = env->share;
	return acme_client_new(&ao, out, err);
}

static int make_client(struct issue_env *env, const char *url, const char *ca_bundle,
		       struct acme_client **out, struct gpc_error *err)
{
	/* max_retries also bounds badNonce retries (RFC 8555 §6.5): a CA that
	 * rejects many nonces (pebble's PEBBLE_WFE_NONCEREJECT) needs more than
	 * the default 5. */
	return make_client_retries(env, url, ca_bundle, 12, out, err);
}

static void show_tos(const struct acme_directory *d, bool quiet)
{
	if (d->terms_of_service && !quiet)
		gpc_note("accepting the CA's terms of service: %s", d->terms_of_service);
}

/* The account key of url from the store into *key_pem, else (when
 * `create`) a new one, stored before newAccount so that a lost URL can be
 * found again with onlyReturnExisting (RFC 8555 §7.3.1; *new_key). rel
 * gets the key's record. Returns 0 or -1. */
static int account_key(struct issue_env *env, const char *url, bool create, char **key_pem, bool *new_key,
		       char *rel, size_t relsz, struct gpc_error *err)
{
	struct buf kb;

	*new_key = false;
	if (account_rel(url, "key.pem", rel, relsz) != 0)
		return gpc_error_set(err, GPC_E_INTERNAL, "account path");
	buf_init(&kb, 64 * 1024);
	if (certstore_state_read(env->cs, rel, 64 * 1024, &kb, err) == 0) {
		*key_pem = buf_take(&kb, NULL);
		return 0;
	}
	buf_finish(&kb);
	if (!code_is(err, GPC_E_MISSING))
		return -1;
	if (!create) {
		char d[PATH_MAX];
		gpc_error_set(err, GPC_E_MISSING, "no account for %s in %s", url,
			      certstore_describe(env->cs, rel, d, sizeof(d)));
		return gpc_error_hint(err, "run 'goproxy-cert issue' or 'goproxy-cert account update' first");
	}
	gpc_error_clear(err);
	if (keygen_generate(KEYGEN_EC256, key_pem, NULL, err) != 0 ||
	    issue_account_store_key(env, url, *key_pem, err) != 0)
		return -1;
	*new_key = true;
	return 0;
}

/* newAccount for the key set on c (RFC 8555 §7.3), with the contact and
 * the EAB credentials; a refusal names the CA and what to check. Returns 0
 * or -1. */
static int account_register(struct issue_env *env, struct acme_client *c, const char *url, const char *email,
			    const char *eab_kid, const char *eab_hmac, struct gpc_error *err)
{
	const struct acme_directory *dir = acme_client_directory(c);
	const char *contact[1] = { email };
	struct acme_account_opts ao = { .contact = contact, .n_contact = email ? 1 : 0, .agree_tos = true,
					.eab_kid = eab_kid, .eab_hmac = eab_hmac };
	bool created = false;

	show_tos(dir, env->quiet);
	if (acme_account_new(c, &ao, NULL, &created, err) != 0) {
		char msg[sizeof(err->message)];
		snprintf(msg, sizeof(msg), "%s", err->message);
		if (!code_is(err, GPC_E_NETWORK) && !code_is(err, GPC_E_TLS) && !code_is(err, GPC_E_RATELIMIT)) {
			gpc_error_set(err, err->code, "account registration at %s refused: %s", url, msg);
			if (dir->external_account_required && eab_kid == NULL)
				gpc_error_hint(err, "this CA requires External Account Binding: "
						    "pass --eab-kid ID --eab-hmac KEY from your CA account");
			else
				gpc_error_hint(err, "check the contact address (-m/--email or "
						    "GOPROXY_CERT_EMAIL) and the EAB credentials; "
						    "the CA's detail above says what it disliked");
		}
		return -1;
	}
	if (!env->quiet)
		gpc_note("registered a new account at %s: %s", url, acme_client_kid(c));
	return 0;
}

/* The account of url on c, kept in env for the other lineages of this run
 * (no network for them). Returns 0 or -1. */
static int account_remember(struct issue_env *env, const char *url, const char *key_pem, struct acme_client *c,
			    struct gpc_error *err)
{
	struct issue_account *a = calloc(1, sizeof(*a));

	if (a == NULL || !(a->url = strdup(url)) || !(a->key_pem = strdup(key_pem)) ||
	    !(a->kid = strdup(acme_client_kid(c)))) {
		if (a) {
			free(a->url);
			free(a->key_pem);
			free(a->kid);
			free(a);
		}
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	if (acme_directory_copy(acme_client_directory(c), &a->dir) == 0)
		a->have_dir = true;
	a->next = env->accounts;
	env->accounts = a;
	return 0;
}

int issue_account_client(struct issue_env *env, const char *url, const char *ca_bundle,
			 const char *email, const char *eab_kid, const char *eab_hmac,
			 bool create, struct acme_client **out, struct gpc_error *err)
{
	struct acme_client *c = NULL;
	struct issue_account *a;
	char rel[PATH_MAX];
	char *key_pem = NULL, *kid = NULL;
	bool new_key;
	int rc = -1;

	pthread_mutex_lock(&env->mu);
	if (make_client(env, url, ca_bundle, &c, err) != 0)
		goto out;
	for (a = env->accounts; a; a = a->next)
		if (strcmp(a->url, url) == 0)
			break;
	if (a != NULL) {
		/* Another lineage (thread) already has the account: no network. */
		if (a->have_dir && acme_client_set_directory(c, &a->dir) != 0) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
		if (acme_client_set_account(c, a->key_pem, strlen(a->key_pem), a->kid, err) != 0)
			goto out;
		*out = c;
		c = NULL;
		rc = 0;
		goto out;
	}
	if (acme_directory_fetch(c, err) != 0 ||
	    account_key(env, url, create, &key_pem, &new_key, rel, sizeof(rel), err) != 0)
		goto out;
	kid = new_key ? NULL : read_kid(env, url); /* a stored URL belongs to the old key */
	if (acme_client_set_account(c, key_pem, strlen(key_pem), kid, err) != 0)
		goto out;
	if (kid == NULL) {
		int found = acme_account_lookup(c, NULL, err);
		if (found < 0)
			goto out;
		if (found == 1 && !create) {
			gpc_error_set(err, GPC_E_MISSING, "%s has no account for the key in %s", url, rel);
			goto out;
		}
		if (found == 1 && account_register(env, c, url, email, eab_kid, eab_hmac, err) != 0)
			goto out;
		if (found != 1)
			gpc_info("found the existing account %s again", acme_client_kid(c));
		if (issue_account_store_kid(env, url, acme_client_kid(c), err) != 0)
			goto out;
	}
	if (account_remember(env, url, key_pem, c, err) != 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	pthread_mutex_unlock(&env->mu);
	acme_client_free(c);
	if (key_pem) {
		gnutls_memset(key_pem, 0, strlen(key_pem));
		free(key_pem);
	}
	free(kid);
	return rc;
}

/* ---- solvers ---- */

/* The limit for this lineage's hooks: this run's, else the stored one,
 * else the default. */
static long hook_ms(const struct issue_opts *o, const struct lineage *l)
{
	if (o->hook_timeout_ms > 0)
		return o->hook_timeout_ms;
	if (l->hook_timeout > 0)
		return l->hook_timeout * 1000L;
	return ISSUE_HOOK_TIMEOUT_DEFAULT_MS;
}

static struct solver *get_solver(struct issue_env *env, const struct lineage *l, const struct issue_opts *o,
				 struct gpc_error *err)
{
	struct issue_solver *is;
	enum solver_kind kind;
	const char *chal = l->challenge;
	const char *arg = l->solver_arg;
	struct solver *s = NULL;

	if (l->solver == NULL || solver_kind_parse(l->solver, &kind) != 0) {
		int answers = issue_goproxyd_answers(env->cs);
		kind = answers ? SOLVER_HTTP_DIR : SOLVER_STANDALONE;
		/* goproxyd without --http answers tls-alpn-01 only */
		if (chal == NULL && answers && !(answers & GOPROXYD_HTTP01) && (answers & GOPROXYD_TLSALPN01)) {
			chal = "tls-alpn-01";
			gpc_info("goproxyd serves this certs dir without --http: answering tls-alpn-01 through it");
		}
	}
	if (kind != SOLVER_STANDALONE && kind != SOLVER_HOOK && kind != SOLVER_WEBROOT)
		arg = NULL;
	if (kind == SOLVER_DNS)
		arg = l->name; /* a provider instance per lineage: its own options */
	pthread_mutex_lock(&env->mu);
	for (is = env->solvers; is; is = is->next)
		if (is->kind == kind && ((!is->arg && !arg) || (is->arg && arg && !strcmp(is->arg, arg))) &&
		    ((!is->challenge && !chal) || (is->challenge && chal && !strcmp(is->challenge, chal)))) {
			s = is->s;
			goto out;
		}
	struct solver_opts so = { .kind = kind, .arg = arg, .challenge = chal, .cs = env->cs,
				  .hook_timeout_ms = hook_ms(o, l), .lineage = l };
	if (solver_new(&so, &s, err) != 0) {
		/* The stored --standalone address is taken, and a goproxyd of this
		 * store answers the challenge (started after the first issue,
		 * on the port the CA comes to): answer through it, and say so,
		 * instead of failing every renewal from then on (issue 24). */
		int answers = kind == SOLVER_STANDALONE && err->sys_errno == EADDRINUSE ?
				      issue_goproxyd_answers(env->cs) : 0;
		bool http = chal == NULL || strcmp(chal, "http-01") == 0;
		if (!((answers & GOPROXYD_HTTP01) && http) &&
		    !((answers & GOPROXYD_TLSALPN01) && chal != NULL && strcmp(chal, "tls-alpn-01") == 0))
			goto out;
		gpc_note("%s: --standalone %s is in use and a goproxyd serves this certs dir: answering %s through "
			 "goproxyd (store it with: goproxy-cert renew --http-dir %s)", l->name, arg ? arg : "",
			 http ? "http-01" : "tls-alpn-01", l->name);
		gpc_error_clear(err);
		kind = SOLVER_HTTP_DIR;
		arg = NULL;
		if (http && chal == NULL)
			chal = "http-01";
		for (is = env->solvers; is; is = is->next)
			if (is->kind == kind && !is->arg && is->challenge && chal && !strcmp(is->challenge, chal)) {
				s = is->s;
				goto out;
			}
		so.kind = kind;
		so.arg = NULL;
		so.challenge = chal;
		if (solver_new(&so, &s, err) != 0)
			goto out;
	}
	is = calloc(1, sizeof(*is));
	if (is == NULL) {
		solver_free(s);
		s = NULL;
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	is->kind = kind;
	is->arg = arg ? strdup(arg) : NULL;
	is->challenge = chal ? strdup(chal) : NULL;
	is->s = s;
	is->next = env->solvers;
	env->solvers = is;
out:
	pthread_mutex_unlock(&env->mu);
	return s;
}

/* ---- the order ---- */

struct presented {
	char *type, *ident, *token, *key_auth, *authz_url, *chal_url;
	bool wildcard;
};

static void presented_free(struct presented *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].type);
		free(p[i].ident);
		free(p[i].token);
		free(p[i].key_auth);
		free(p[i].authz_url);
		free(p[i].chal_url);
	}
	free(p);
}

/* RFC 8555 §7.5: for one pending authorization, present the first offered
 * challenge our solver answers. Returns 0 (filled *p), or -1. */
static int choose_challenge(struct solver *s, struct acme_client *c, const struct acme_authz *az,
			    const struct lineage *l, struct presented *p, struct gpc_error *err)
{
	struct buf offered;
	int rc = -1;

	buf_init(&offered, 1024);
	for (size_t i = 0; i < az->n_challenges; i++) {
		const struct acme_challenge *ch = &az->challenges[i];
		if (buf_printf(&offered, "%s%s", offered.len ? ", " : "", ch->type) != 0)
			break;
	}
	/* A hook gets the types in the CA's order (as uacme does); the others
	 * prefer http-01 (pass 0), then whatever else they answer (pass 1). */
	bool hook = solver_get_kind(s) == SOLVER_HOOK;
	for (size_t k = 0; k < 2 * az->n_challenges; k++) {
		size_t i = k % az->n_challenges;
		bool pass0 = k < az->n_challenges;
		const struct acme_challenge *ch = &az->challenges[i];
		if (hook && !pass0)
			break;
		if (!hook && pass0 != (strcmp(ch->type, "http-01") == 0))
			continue;
		if (ch->token == NULL || !solver_handles(s, ch->type))
			continue;
		char *ka = acme_key_authorization(c, ch->token);
		if (ka == NULL) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
		int r = solver_present_account(s, ch->type, az->identifier.value, ch->token, ka, acme_client_kid(c), err);
		if (r < 0) {
			free(ka);
			goto out;
		}
		if (r == 1) {
			free(ka);
			continue;
		}
		p->type = strdup(ch->type);
		p->ident = strdup(az->identifier.value);
		p->token = strdup(ch->token);
		p->key_auth = ka;
		p->authz_url = strdup(az->url);
		p->chal_url = strdup(ch->url);
		p->wildcard = az->wildcard;
		rc = 0;
		goto out;
	}
	/* The Go-Proxy message, with what would have answered. */
	gpc_error_set(err, GPC_E_INVALID, "Could not find solver for %s%s: the CA offered %s; "
		      "this run can answer %s",
		      az->wildcard ? "*." : "", az->identifier.value, offered.len ? offered.data : "no challenges",
		      l->challenge ? l->challenge : (l->solver ? l->solver : "http-01"));
	if (az->wildcard)
		gpc_error_hint(err, "a wildcard name is validated only by dns-01: %s", solver_flags_for("dns-01"));
	else {
		struct buf h;
		buf_init(&h, 2048);
		for (size_t i = 0; i < az->n_challenges; i++)
			if (buf_printf(&h, "%s%s: %s", h.len ? "; " : "", az->challenges[i].type,
				       solver_flags_for(az->challenges[i].type)) != 0)
				break;
		gpc_error_hint(err, "%s", h.len ? h.data : "the CA offered nothing this tool can answer");
		buf_finish(&h);
	}
out:
	buf_finish(&offered);
	return rc;
}

/* The deploy hook after a certificate changed: sh -c CMD in its own
 * process group, with the hook limit, the lineage in its environment. A
 * failure is a warning: the new certificate is in place either way. */
static void run_deploy_hook(const struct lineage *l, const struct issue_opts *o, struct certstore *cs,
			    struct issue_outcome *out)
{
	char cert[PATH_MAX], key[PATH_MAX], phase[128];
	char *names, *env[5] = { NULL };
	struct spawn_result res;
	struct gpc_error err;

	if (l->deploy_hook == NULL || *l->deploy_hook == '\0')
		return;
	if (certstore_paths(cs, l->name, cert, sizeof(cert), key, sizeof(key)) != 0)
		return;
	names = lineage_names_joined(l, " ");
	if (asprintf(&env[0], "GOPROXY_CERT_NAME=%s", l->name) < 0 ||
	    asprintf(&env[1], "GOPROXY_CERT_DOMAINS=%s", names ? names : "") < 0 ||
	    asprintf(&env[2], "GOPROXY_CERT_CERT=%s", cert) < 0 || asprintf(&env[3], "GOPROXY_CERT_KEY=%s", key) < 0) {
		gpc_warn("%s: deploy hook: out of memory", l->name);
		goto out;
	}
	snprintf(phase, sizeof(phase), "deploy for %s", l->name);
	gpc_error_clear(&err);
	if (spawn_shell(l->deploy_hook, phase, hook_ms(o, l), env, &res, &err) != 0) {
		gpc_warn("%s; the new certificate is in place", err.message);
		snprintf(out->deploy_error, sizeof(out->deploy_error), "%.200s", err.message);
	} else if (res.status != 0) {
		snprintf(out->deploy_error, sizeof(out->deploy_error), "exit status %d", res.status);
		gpc_warn("%s: deploy hook '%s' failed (exit %d); the new certificate is in place", l->name,
			 l->deploy_hook, res.status);
	}
out:
	for (int i = 0; i < 4; i++)
		free(env[i]);
	free(names);
}

struct ledger_rec {
	const struct lineage *l;
	const struct gpc_error *e;   /* failure; NULL: an issuance */
	char *const *failed;
	size_t nf;
	bool replaced;
	time_t now;
};

static int record_issuance_fn(struct ledger *lg, void *ud)
{
	const struct ledger_rec *r = ud;

	if (ledger_record_issuance(lg, r->l->ca_url, r->l->names, r->l->n_names, r->replaced, r->now) != 0)
		return -1;
	return ledger_record_attempt(lg, r->l->name, true, r->now);
}

static int record_failure_fn(struct ledger *lg, void *ud)
{
	const struct ledger_rec *r = ud;
	const struct gpc_error *e = r->e;

	if (code_is(e, GPC_E_RATELIMIT)) {
		time_t until = e->retry_after > r->now ? e->retry_after : r->now + 3600;
		if (ledger_set_retry_after(lg, r->l->ca_url, until, e->message) != 0)
			return -1;
	} else if (!code_is(e, GPC_E_NETWORK) && !code_is(e, GPC_E_TLS) && !code_is(e, GPC_E_USAGE) &&
		   !code_is(e, GPC_E_CLOCK) && !code_is(e, GPC_E_LOCKED)) {
		if (ledger_record_failure(lg, r->l->ca_url, r->l->names, r->l->n_names, r->failed, r->nf,
					  e->message, r->now) != 0)
			return -1;
	}
	return ledger_record_attempt(lg, r->l->name, false, r->now);
}

/* Write the pair, then record the issuance in the ledger and the lineage.
 * The pair goes first: once the CA has issued, the certificate is what
 * matters; a ledger that cannot be written is a warning (the next run
 * finds the pair current and orders nothing). */
static int commit(struct issue_env *env, struct lineage *l, const char *chain_pem, size_t chain_len,
		  const char *key_pem, bool replaced, struct gpc_error *err)
{
	int rc = -1;
	time_t now = time_now();
	struct ledger_rec rec = { .l = l, .replaced = replaced, .now = now };
	struct gpc_error e2;

	gpc_error_clear(&e2);
	pthread_mutex_lock(&env->mu);
	if (certstore_lock(env->cs, true, 60, err) != 0)
		goto out;
	rc = certstore_write_pair(env->cs, l->name, chain_pem, chain_len, key_pem,
				  key_pem ? strlen(key_pem) : 0, err);
	certstore_unlock(env->cs);
	/* The CA issued it, whether or not it could be stored: it counts. */
	if (ledger_update(env, record_issuance_fn, &rec, &e2) != 0)
		gpc_warn("%s: the issuance was not recorded in the ledger: %s", l->name, e2.message);
	if (rc != 0)
		goto out;
	l->last_attempt = now;
	l->last_issued = now;
	(void)lineage_set_str(&l->last_result, "issued");
	(void)lineage_set_str(&l->last_error, NULL);
	(void)lineage_set_str(&l->last_code, NULL);
	(void)lineage_set_str(&l->revoked_sha256, NULL); /* a revocation record names the old pair */
	gpc_error_clear(&e2);
	if (certstore_lock(env->cs, true, 60, &e2) == 0) {
		if (lineage_save(env->cs, l, &e2) != 0)
			gpc_warn("%s", e2.message);
		certstore_unlock(env->cs);
	} else {
		gpc_warn("%s", e2.message);
	}
out:
	pthread_mutex_unlock(&env->mu);
	return rc;
}

/* What save_fields copies into the stored lineage. */
enum { KEEP_HISTORY = 1, KEEP_ARI = 2 };

/* Keep this run's outcome (KEEP_HISTORY: last attempt, result, error) or
 * the CA's renewalInfo answer (KEEP_ARI) in the stored lineage, leaving
 * every setting as stored: only a run that got a certificate stores the
 * settings it was given (commit), so a failed, deferred or refreshing run
 * with a typo in -D or a wrong --standalone never changes what cron's
 * renew will do (issue 24). Nothing stored: nothing to keep. The caller
 * holds env->mu. Returns 0 or -1. */
static int save_fields(struct issue_env *env, const struct lineage *l, int what, struct gpc_error *err)
{
	struct lineage *st = NULL;
	int rc = -1;

	if (certstore_lock(env->cs, true, 60, err) != 0)
		return -1;
	if (lineage_load(env->cs, l->name, &st, err) != 0) {
		rc = err->code != NULL && strcmp(err->code, GPC_E_MISSING) == 0 ? 0 : -1;
		if (rc == 0)
			gpc_error_clear(err);
		goto out;
	}
	if (what & KEEP_HISTORY) {
		st->last_attempt = l->last_attempt;
		if (lineage_set_str(&st->last_result, l->last_result) != 0 ||
		    lineage_set_str(&st->last_error, l->last_error) != 0 ||
		    lineage_set_str(&st->last_code, l->last_code) != 0)
			goto oom;
	}
	if (what & KEEP_ARI) {
		/* the window belongs to one certificate: only for the stored one */
		if (st->ari_cert_id == NULL || l->ari_cert_id == NULL || strcmp(st->ari_cert_id, l->ari_cert_id) != 0) {
			rc = 0;
			goto out;
		}
		st->ari_renew_at = l->ari_renew_at;
		st->ari_window_start = l->ari_window_start;
		st->ari_window_end = l->ari_window_end;
		st->ari_retry_after = l->ari_retry_after;
		if (lineage_set_str(&st->ari_explanation_url, l->ari_explanation_url) != 0)
			goto oom;
	}
	rc = lineage_save(env->cs, st, err);
	goto out;
oom:
	gpc_error_set(err, GPC_E_NOMEM, "out of memory");
out:
	certstore_unlock(env->cs);
	lineage_free(st);
	return rc;
}

/* Record a failure: ledger (failed authorizations, Retry-After, back-off),
 * lineage last result. Network failures record no CA failure (nothing
 * reached the CA). */
static void record_failure(struct issue_env *env, struct lineage *l, const struct gpc_error *e,
			   char *const *failed, size_t nf, bool lineage_exists)
{
	struct gpc_error e2;
	time_t now = time_now();
	struct ledger_rec rec = { .l = l, .e = e, .failed = failed, .nf = nf, .now = now };

	gpc_error_clear(&e2);
	pthread_mutex_lock(&env->mu);
	if (ledger_update(env, record_failure_fn, &rec, &e2) != 0)
		gpc_warn("%s: the failure was not recorded in the ledger: %s", l->name, e2.message);
	l->last_attempt = now;
	(void)lineage_set_str(&l->last_result, issue_classify(e) == ISSUE_DEFERRED ? "deferred" : "failed");
	(void)lineage_set_str(&l->last_error, e->message);
	(void)lineage_set_str(&l->last_code, e->code);
	gpc_error_clear(&e2);
	if (lineage_exists && save_fields(env, l, KEEP_HISTORY, &e2) != 0)
		gpc_warn("%s", e2.message);
	pthread_mutex_unlock(&env->mu);
}

/* RFC 9773: the certificate ID of the lineage's current certificate, when
 * the CA has ARI. Returns a malloc'd id or NULL. */
static char *current_cert_id(struct issue_env *env, const struct lineage *l)
{
	struct buf cert, key;
	struct gpc_error err;
	char *id = NULL;

	buf_init(&cert, CERTSTORE_MAX_FILE);
	buf_init(&key, CERTSTORE_MAX_FILE);
	if (certstore_read_pair(env->cs, l->name, &cert, &key, &err) == 0 &&
	    acme_ari_cert_id((const unsigned char *)cert.data, cert.len, &id, &err) != 0)
		id = NULL;
	buf_finish(&cert);
	if (key.data)
		gnutls_memset(key.data, 0, key.len);
	buf_finish(&key);
	return id;
}

/* After an issuance with ARI: fetch the window and keep a random time in it. */
static void ari_update(struct acme_client *c, struct lineage *l, const char *chain_pem, size_t len)
{
	struct acme_renewal_info ri = { 0 };
	struct gpc_error err;
	char *id = NULL;

	gpc_error_clear(&err);
	if (acme_ari_cert_id((const unsigned char *)chain_pem, len, &id, &err) != 0)
		return;
	(void)lineage_set_str(&l->ari_cert_id, id);
	if (acme_ari_fetch(c, id, &ri, &err) == 0) {
		l->ari_window_start = ri.start;
		l->ari_window_end = ri.end;
		l->ari_renew_at = acme_ari_pick(&ri, time_now());
		l->ari_retry_after = ri.retry_after;
		(void)lineage_set_str(&l->ari_explanation_url, ri.explanation_url);
	} else {
		/* The previous certificate's window and time are void: a stale
		 * (past) renew_at would renew the new certificate at once. The
		 * lifetime rule decides until renew asks again (retry_after 0). */
		gpc_info("%s: renewalInfo: %s", l->name, err.message);
		l->ari_window_start = l->ari_window_end = 0;
		l->ari_renew_at = 0;
		l->ari_retry_after = 0;
		(void)lineage_set_str(&l->ari_explanation_url, NULL);
	}
	acme_renewal_info_finish(&ri);
	free(id);
}

int issue_ari_refresh(struct issue_env *env, struct lineage *l, struct gpc_error *err)
{
	struct acme_client *c = NULL;
	struct acme_renewal_info ri;
	time_t now = time_now();
	int rc = -1;

	memset(&ri, 0, sizeof(ri));
	if (l->ari_cert_id == NULL || l->ca_url == NULL || (l->ari_retry_after != 0 && now < l->ari_retry_after))
		return 0;
	pthread_mutex_lock(&env->mu);
	/* Advisory, for a lineage that is not due: one retry at most (12, with
	 * backoff, kept `renew` busy for 143 s per lineage when the CA dropped
	 * connections). */
	rc = make_client_retries(env, l->ca_url, l->ca_bundle, 1, &c, err);
	pthread_mutex_unlock(&env->mu);
	if (rc != 0)
		return -1;
	rc = -1;
	if (acme_directory_fetch(c, err) != 0)
		goto out;
	if (acme_client_directory(c)->renewal_info == NULL) {
		rc = 0; /* the CA dropped ARI: the policy decides from now on */
		goto out;
	}
	if (acme_ari_fetch(c, l->ari_cert_id, &ri, err) != 0)
		goto out;
	/* RFC 9773 §4.2: keep the chosen time while the window is unchanged;
	 * a moved window gets a new random time inside it. */
	if (ri.start != l->ari_window_start || ri.end != l->ari_window_end || l->ari_renew_at == 0) {
		l->ari_window_start = ri.start;
		l->ari_window_end = ri.end;
		l->ari_renew_at = acme_ari_pick(&ri, now);
		(void)lineage_set_str(&l->ari_explanation_url, ri.explanation_url);
		gpc_info("%s: renewalInfo window %ld..%ld, renewing after %ld", l->name, (long)ri.start,
			 (long)ri.end, (long)l->ari_renew_at);
	}
	l->ari_retry_after = ri.retry_after;
	pthread_mutex_lock(&env->mu);
	rc = save_fields(env, l, KEEP_ARI, err);
	pthread_mutex_unlock(&env->mu);
out:
	acme_renewal_info_finish(&ri);
	acme_client_free(c);
	return rc;
}

/* How far this machine's clock may be from the CA's (its Date header,
 * RFC 9110 §6.6.1) before a warning, and before nothing is ordered. */
#define CLOCK_WARN_SECS 300
#define CLOCK_REFUSE_SECS 3600

/* To the nearest minute: Date has one-second steps and arrives a moment
 * after it was written, so 600 s apart often measures 599. */
static void format_span(long secs, char *out, size_t outsz)
{
	long m = (secs + 30) / 60;

	if (m >= 2 * 1440)
		snprintf(out, outsz, "%ld days %ld hours", m / 1440, m % 1440 / 60);
	else if (m >= 2 * 60)
		snprintf(out, outsz, "%ld hours %ld minutes", m / 60, m % 60);
	else
		snprintf(out, outsz, "%ld minutes", m);
}

/* Renewal times, "not yet valid" and "expired" are all judged by this
 * machine's clock. Far from the CA's, they are wrong: a clock ahead renews
 * too early, again at every run, until the rate limit locks the names out;
 * a clock behind sees every new certificate as not yet valid and orders
 * another. Compare with the CA's Date (the real clock, not the test clock):
 * from CLOCK_WARN_SECS a warning, from CLOCK_REFUSE_SECS an error before
 * anything is ordered. Returns 0 or -1 (err: GPC_E_CLOCK). */
static int clock_check(struct acme_client *c, const char *url, struct gpc_error *err)
{
	struct http_stats st;
	char here[32], there[32], host[256], span[64];
	time_t now = time(NULL);
	long a;

	acme_client_stats(c, &st);
	if (!st.have_date)
		return 0;
	a = st.clock_skew < 0 ? -st.clock_skew : st.clock_skew;
	if (a < CLOCK_WARN_SECS)
		return 0;
	time_rfc3339(now, here, sizeof(here));
	time_rfc3339(now + st.clock_skew, there, sizeof(there));
	http_url_host(url, host, sizeof(host));
	format_span(a, span, sizeof(span));
	if (a < CLOCK_REFUSE_SECS) {
		gpc_warn("this machine's clock is %s %s the CA's (here %s, %s says %s); set it right "
			 "(timedatectl set-ntp true) before it decides renewals wrongly",
			 span, st.clock_skew > 0 ? "behind" : "ahead of", here, host, there);
		return 0;
	}
	gpc_error_set(err, GPC_E_CLOCK, "this machine's clock is %s %s the CA's (here %s, %s says %s): "
		      "expiry and renewal are judged by this clock, so nothing was ordered",
		      span, st.clock_skew > 0 ? "behind" : "ahead of", here, host, there);
	gpc_error_hint(err, "set the clock (timedatectl set-ntp true, or chrony / systemd-timesyncd; "
			    "in a VM or container, the host's clock) and run again");
	return -1;
}

/* What the CA sent must be a working pair with the key we hold before it
 * replaces the one on disk: the leaf belongs to `key_pem`, holds exactly the
 * requested names, and is valid now. Otherwise the pair on disk stays (a CA
 * bug, an alternate chain with another leaf, a tampering proxy) and the run
 * fails naming the URL. Returns 0 or -1 (GPC_E_CA). */
static int check_issued(const struct lineage *l, const char *url, const struct x509_chain *chain,
			const char *key_pem, struct gpc_error *err)
{
	const struct x509_info *leaf = x509_chain_info(chain, 0);
	struct x509_key *k = NULL;
	struct buf only_cert, only_req;
	char t1[32], t2[32];
	time_t now = time(NULL); /* the CA's time (clock_check), not the test clock */
	int rc = -1;

	buf_init(&only_cert, 4096);
	buf_init(&only_req, 4096);
	if (x509_key_parse("the new private key", key_pem, strlen(key_pem), &k, err) != 0)
		goto out;
	if (!x509_key_matches(k, chain)) {
		gpc_error_set(err, GPC_E_CA, "the certificate from %.600s is not for the key this run sent in "
			      "its request (CSR); the pair on disk is kept", url);
		gpc_error_hint(err, "report it to the CA; with --preferred-chain, try without it");
		goto out;
	}
	if (!x509_names_equal((const char *const *)leaf->names, leaf->n_names, (const char *const *)l->names,
			      l->n_names, &only_cert, &only_req)) {
		gpc_error_set(err, GPC_E_CA, "the certificate from %.600s holds other names than requested "
			      "(only in it: %.300s; only requested: %.300s); the pair on disk is kept", url,
			      only_cert.len ? only_cert.data : "-", only_req.len ? only_req.data : "-");
		gpc_error_hint(err, "report it to the CA");
		goto out;
	}
	if (now >= leaf->not_after || leaf->not_before > now + 3600) {
		gpc_error_set(err, GPC_E_CA, "the certificate from %.600s is valid from %s to %s, not now "
			      "(%s); the pair on disk is kept", url, time_rfc3339(leaf->not_before, t1, sizeof(t1)),
			      time_rfc3339(leaf->not_after, t2, sizeof(t2)), now >= leaf->not_after ?
			      "expired" : "not yet valid");
		gpc_error_hint(err, "check this machine's clock (timedatectl), then report it to the CA");
		goto out;
	}
	rc = 0;
out:
	x509_key_free(k);
	buf_finish(&only_cert);
	buf_finish(&only_req);
	return rc;
}

static void add_stats(struct acme_client *c, struct issue_outcome *out)
{
	struct http_stats st = { 0 };

	acme_client_stats(c, &st);
	out->requests += st.requests;
	out->connections += st.connections;
}

/* draft-aaron-acme-profiles: a profile the directory does not list is a
 * usage error, found from the directory alone, before an account is
 * registered or anything is written. Returns 0 (no profile, or listed) or
 * -1 with out->err set. */
static int check_profile(struct issue_env *env, const struct lineage *l, struct issue_outcome *out)
{
	const struct acme_directory *d;
	struct acme_client *c = NULL;
	struct buf pl;
	int rc;

	if (l->profile == NULL)
		return 0;
	pthread_mutex_lock(&env->mu);
	rc = make_client(env, l->ca_url, l->ca_bundle, &c, &out->err);
	pthread_mutex_unlock(&env->mu);
	if (rc != 0)
		return -1;
	rc = acme_directory_fetch(c, &out->err);
	d = acme_client_directory(c);
	if (rc == 0 && !acme_directory_has_profile(d, l->profile)) {
		buf_init(&pl, 2048);
		for (size_t i = 0; i < d->n_profiles; i++)
			if (buf_printf(&pl, "%s%s", pl.len ? ", " : "", d->profiles[i].name) != 0)
				break;
		gpc_error_set(&out->err, GPC_E_USAGE, "--profile %s: %s does not offer it (profiles: %s)",
			      l->profile, l->ca_url, pl.len ? pl.data : "none");
		gpc_error_hint(&out->err, "%s", pl.len ? "pick one of the listed profiles, or drop --profile"
						       : "this CA lists no profiles; drop --profile");
		buf_finish(&pl);
		rc = -1;
	}
	add_stats(c, out);
	acme_client_free(c);
	return rc;
}

/* dns-01: every authoritative server serves the values before the CA is
 * told to look (a lagging secondary costs a failed validation). */
static int propagate(struct solver *s, const struct lineage *l, const struct presented *pres, size_t n,
		     struct gpc_error *err)
{
	const char **idents = calloc(n ? n : 1, sizeof(char *)), **kas = calloc(n ? n : 1, sizeof(char *));
	size_t k = 0;
	int rc = -1;

	if (idents == NULL || kas == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(pres[i].type, "dns-01") == 0 || strcmp(pres[i].type, "dns-account-01") == 0) {
			const char *rec = solver_account_record(s, pres[i].ident, pres[i].key_auth);
			idents[k] = rec ? rec : pres[i].ident;
			kas[k++] = pres[i].key_auth;
		}
	rc = solver_dns_propagation(s, l, idents, kas, k, err);
out:
	free(idents);
	free(kas);
	return rc;
}

/* RFC 8555 §7.5: answer every pending authorization of the order with the
 * solver, tell the CA, and wait until each is final. pres[] gets what was
 * presented (the caller cleans it up), failed[] the names whose
 * authorization failed. Returns 0 when all are valid, or -1 (err). */
static int authorize(struct acme_client *c, struct solver *s, const struct lineage *l, const struct acme_order *ord,
		     struct presented *pres, size_t *npres, char **failed, size_t *nfailed, struct gpc_error *err)
{
	for (size_t i = 0; i < ord->n_authorizations; i++) {
		struct acme_authz az;
		memset(&az, 0, sizeof(az));
		if (acme_authz_get(c, ord->authorizations[i], &az, err) != 0)
			return -1;
		if (strcmp(az.status, "valid") == 0) {
			gpc_debug("%s: authorization for %s already valid", l->name, az.identifier.value);
			acme_authz_finish(&az);
			continue;
		}
		if (strcmp(az.status, "pending") != 0) {
			gpc_error_set(err, GPC_E_CA, "authorization for %s is %s", az.identifier.value, az.status);
			failed[(*nfailed)++] = strdup(az.identifier.value);
			acme_authz_finish(&az);
			return -1;
		}
		int r = choose_challenge(s, c, &az, l, &pres[*npres], err);
		acme_authz_finish(&az);
		if (r != 0)
			return -1;
		(*npres)++;
	}
	if (propagate(s, l, pres, *npres, err) != 0)
		return -1;
	for (size_t i = 0; i < *npres; i++)
		if (acme_challenge_respond(c, pres[i].chal_url, err) != 0)
			return -1;
	for (size_t i = 0; i < *npres; i++) {
		struct acme_authz az;
		memset(&az, 0, sizeof(az));
		if (acme_authz_get(c, pres[i].authz_url, &az, err) != 0)
			return -1;
		int r = acme_authz_poll(c, &az, err);
		acme_authz_finish(&az);
		if (r != 0) {
			char where[1024], msg[sizeof(err->message)];
			failed[(*nfailed)++] = strdup(pres[i].ident);
			snprintf(msg, sizeof(msg), "%s", err->message);
			solver_describe(s, pres[i].type, pres[i].ident, pres[i].token, pres[i].key_auth, where,
					sizeof(where));
			gpc_error_set(err, GPC_E_CA, "%s challenge for %s failed: %s", pres[i].type, pres[i].ident, msg);
			gpc_error_hint(err, "%s", where);
			return -1;
		}
	}
	return 0;
}

/* The key (the current one with --reuse-key when it has the right type,
 * else a new one), the CSR, finalize, the download, and the check that the
 * chain is a working pair with that key (check_issued). Returns 0 with
 * *key_pem (secret), *new_key, *chain_pem, *chain_len and *chain, or -1. */
static int finalize(struct issue_env *env, struct acme_client *c, const struct lineage *l, struct acme_order *ord,
		    enum keygen_type kt, char **key_pem, bool *new_key, char **chain_pem, size_t *chain_len,
		    struct x509_chain **chain, struct gpc_error *err)
{
	unsigned char *csr = NULL;
	size_t csr_len = 0;
	struct gpc_error tmp;
	char label[1200];
	int rc = -1;

	if (l->reuse_key) {
		struct buf cb, kb;
		enum keygen_type have;
		buf_init(&cb, CERTSTORE_MAX_FILE);
		buf_init(&kb, CERTSTORE_MAX_FILE);
		if (certstore_read_pair(env->cs, l->name, &cb, &kb, &tmp) == 0 &&
		    keygen_pem_type(kb.data, kb.len, "priv.key", &have, &tmp) == 0 && have == kt)
			*key_pem = buf_take(&kb, NULL);
		buf_finish(&cb);
		if (kb.data)
			gnutls_memset(kb.data, 0, kb.len);
		buf_finish(&kb);
	}
	*new_key = *key_pem == NULL;
	if (*new_key && keygen_generate(kt, key_pem, NULL, err) != 0)
		goto out;
	if (keygen_csr(*key_pem, strlen(*key_pem), (const char *const *)l->names, l->n_names, 1, &csr, &csr_len,
		       err) != 0)
		goto out;
	if (acme_order_poll(c, ord, "ready", err) != 0 || acme_order_finalize(c, ord, csr, csr_len, err) != 0 ||
	    acme_certificate_download(c, ord->certificate, l->preferred_chain, chain_pem, chain_len, err) != 0)
		goto out;
	/* Name the URL the chain came from (a truncated download). */
	snprintf(label, sizeof(label), "certificate from %.1100s", ord->certificate);
	if (x509_chain_parse(label, *chain_pem, *chain_len, chain, NULL, err) != 0 ||
	    check_issued(l, ord->certificate, *chain, *key_pem, err) != 0)
		goto out;
	rc = 0;
out:
	free(csr);
	return rc;
}

/* After an issuance: the ARI data of the new certificate (RFC 9773) when
 * the CA has it, and the time renew will find it due, by the one rule. */
static time_t ari_and_due(struct acme_client *c, struct lineage *l, const struct issue_opts *o,
			  const char *chain_pem, size_t chain_len, const struct x509_chain *chain)
{
	const struct x509_info *leaf = x509_chain_info(chain, 0);
	struct policy_result pr;

	if (acme_client_directory(c)->renewal_info != NULL) {
		ari_update(c, l, chain_pem, chain_len);
		(void)lineage_set_str(&l->ari_cert_sha256, l->ari_cert_id != NULL ? leaf->fingerprint_sha256 : NULL);
	} else {
		(void)lineage_set_str(&l->ari_cert_id, NULL);
		(void)lineage_set_str(&l->ari_cert_sha256, NULL);
		l->ari_renew_at = 0;
	}
	struct policy_input pin = { .not_before = leaf->not_before, .not_after = leaf->not_after,
				    .fingerprint_sha256 = leaf->fingerprint_sha256, .stored_days = l->days,
				    .ari_renew_at = l->ari_renew_at, .ari_cert_sha256 = l->ari_cert_sha256,
				    .override_days = o->days };
	policy_lineage_due(&pin, time_now(), &pr);
	return pr.due_at;
}

/* Say it when this order changes the names a lineage renews: "+x -y"
 * (issue 24: a typo in -D is seen before the CA is asked). */
static void note_name_change(const struct lineage *old, const struct lineage *l)
{
	struct buf b;

	if (lineage_same_names(old->names, old->n_names, l->names, l->n_names))
		return;
	buf_init(&b, 64 * 1024);
	int r = 0;

	for (size_t i = 0; r == 0 && i < l->n_names; i++)
		if (!lineage_has_name(old, l->names[i]))
			r = buf_printf(&b, " +%s", l->names[i]);
	for (size_t i = 0; r == 0 && i < old->n_names; i++)
		if (!lineage_has_name(l, old->names[i]))
			r = buf_printf(&b, " -%s", old->names[i]);
	gpc_note("%s: names change:%s", l->name, b.data ? b.data : "");
	buf_finish(&b);
}

/* A wildcard name needs dns-01 (or dns-account-01, dns-persist-01).
 * Returns 0, or -1 (a usage error naming the name and the solver flags). */
static int check_wildcards(const struct lineage *l, struct gpc_error *err)
{
	for (size_t i = 0; i < l->n_names; i++)
		if (lineage_is_wildcard(l->names[i]) && l->challenge && strcmp(l->challenge, "dns-01") != 0 &&
		    strcmp(l->challenge, "dns-account-01") != 0 && !persist_lineage(l)) {
			gpc_error_set(err, GPC_E_USAGE, "%s is a wildcard: only dns-01 can validate it, "
				      "not %s", l->names[i], l->challenge);
			return gpc_error_hint(err, "%s", solver_flags_for("dns-01"));
		}
	return 0;
}

/* A refused newOrder that says the CA no longer knows the account (not a
 * refused `replaces`). */
static bool account_unknown(struct acme_client *c, const char *replaces)
{
	const struct acme_problem *p = acme_last_problem(c);

	return p != NULL &&
	       (acme_problem_is(p, "accountDoesNotExist") ||
		(acme_problem_is(p, "unauthorized") && p->detail && strcasestr(p->detail, "account") != NULL &&
		 /* pebble 2.10: "requester account did not request the certificate
		  * being replaced": a refused `replaces`, handled by place_order */
		 (replaces == NULL || strcasestr(p->detail, "replac") == NULL)));
}

/* RFC 8555 §7.4: the order for l's names on *c, with *replaces (RFC 9773
 * §5; freed and NULL when the CA refused it and the order was placed
 * without it); once more on a new account (*c replaced) when the CA no
 * longer knows ours. Returns 0 or -1. */
static int place_order(struct issue_env *env, struct lineage *l, const struct issue_opts *o, struct acme_client **c,
		       char **replaces, struct acme_order *ord, struct issue_outcome *out, struct gpc_error *err)
{
	struct acme_order_opts oo = { .names = (const char *const *)l->names, .n_names = l->n_names,
				      .profile = l->profile, .replaces = *replaces };
	int ro = acme_order_new(*c, &oo, ord, err);

	if (ro != 0 && account_unknown(*c, *replaces)) {
		add_stats(*c, out);
		gpc_error_clear(err);
		if (account_gone(env, l, o, c, err) != 0)
			return -1;
		ro = acme_order_new(*c, &oo, ord, err);
	}
	if (ro == 0)
		return 0;
	const struct acme_problem *p = acme_last_problem(*c);
	/* RFC 9773 §5: alreadyReplaced (409); and a CA SHOULD refuse a
	 * `replaces` naming a certificate of another account or CA, or
	 * with no name in common (after --server or -D changed): any
	 * refusal with a problem document, except rate limits, is
	 * answered by ordering once more without it. */
	if (*replaces == NULL || p == NULL || !code_is(err, GPC_E_CA))
		return -1;
	if (acme_problem_is(p, "alreadyReplaced"))
		gpc_info("%s: the CA says the certificate was already replaced (%s); ordering without "
			 "'replaces'", l->name, err->message);
	else
		gpc_info("%s: %s; ordering again without 'replaces'", l->name, err->message);
	free(*replaces);
	*replaces = NULL;
	oo.replaces = NULL;
	gpc_error_clear(err);
	return acme_order_new(*c, &oo, ord, err);
}

enum issue_result issue_order(struct issue_env *env, struct lineage *l, const struct issue_opts *o,
			      struct issue_outcome *out)
{
	struct gpc_error *err = &out->err;
	struct acme_client *c = NULL;
	struct solver *s = NULL;
	struct acme_order ord;
	struct presented *pres = NULL;
	size_t npres = 0;
	char **failed = NULL;
	size_t nfailed = 0;
	char *key_pem = NULL, *chain_pem = NULL, *replaces = NULL;
	size_t chain_len = 0;
	bool order_ok = false, lineage_exists, replaced = false, cleaned = false, new_key = true;
	struct x509_chain *chain = NULL;
	enum keygen_type kt;
	struct lineage *old = NULL;
	struct gpc_error tmp;

	memset(&ord, 0, sizeof(ord));
	gpc_error_clear(&tmp);
	lineage_exists = lineage_load(env->cs, l->name, &old, &tmp) == 0;
	if (lineage_exists)
		note_name_change(old, l);
	lineage_free(old);

	if (keygen_type_parse(l->key_type ? l->key_type : "ec256", &kt, err) != 0)
		goto fail;
	if (check_wildcards(l, err) != 0)
		goto fail;
	if (l->dns_provider != NULL && !l->dns_secrets_loaded && lineage_load_secrets(env->cs, l, err) != 0)
		goto fail;
	s = persist_lineage(l) ? NULL : get_solver(env, l, o, err); /* dns-persist-01 writes nothing */
	if (s == NULL && !persist_lineage(l))
		goto fail;
	if (check_profile(env, l, out) != 0)
		goto fail;
	if (issue_account_client(env, l->ca_url, l->ca_bundle, l->email, o->eab_kid, o->eab_hmac, true,
				 &c, err) != 0)
		goto fail;
	if (clock_check(c, l->ca_url, err) != 0)
		goto fail;
	/* RFC 9773 §5: replaces when the CA has ARI and a certificate exists. */
	if (acme_client_directory(c)->renewal_info != NULL)
		replaces = current_cert_id(env, l);

	if (place_order(env, l, o, &c, &replaces, &ord, out, err) != 0)
		goto fail;
	replaced = replaces != NULL;

	/* RFC 8555 §7.5: authorizations. Already-valid ones are skipped. */
	pres = calloc(ord.n_authorizations ? ord.n_authorizations : 1, sizeof(*pres));
	failed = calloc(ord.n_authorizations ? ord.n_authorizations : 1, sizeof(*failed));
	if (pres == NULL || failed == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto fail;
	}
	if (persist_lineage(l) ? persist_authorize(c, l, &ord, failed, &nfailed, &l->persist_until, err) != 0
			       : authorize(c, s, l, &ord, pres, &npres, failed, &nfailed, err) != 0)
		goto fail;
	order_ok = true;
	/* every answer goes once its authorization is final (DNS records too) */
	for (size_t i = 0; i < npres; i++)
		solver_cleanup(s, pres[i].type, pres[i].ident, pres[i].token, pres[i].key_auth, true);
	cleaned = true;

	/* RFC 8555 §7.4: key, CSR, finalize, download, and check what came. */
	if (finalize(env, c, l, &ord, kt, &key_pem, &new_key, &chain_pem, &chain_len, &chain, err) != 0)
		goto fail;
	out->not_after = x509_chain_info(chain, 0)->not_after;

	out->due_at = ari_and_due(c, l, o, chain_pem, chain_len, chain);
	if (commit(env, l, chain_pem, chain_len, new_key ? key_pem : NULL, replaced, err) != 0)
		goto fail;
	godoxy_write_copy(env->cs, l); /* a GoDoxy extra: with its own paths */
	run_deploy_hook(l, o, env->cs, out);
	char ts[32];
	snprintf(out->reason, sizeof(out->reason), "issued, valid until %s",
		 time_rfc3339(out->not_after, ts, sizeof(ts)));
	out->res = ISSUE_ISSUED;
	goto out;
fail:
	out->res = issue_classify(err);
	if (out->res != ISSUE_USAGE)
		record_failure(env, l, err, failed, nfailed, lineage_exists);
out:
	for (size_t i = 0; !cleaned && i < npres; i++)
		solver_cleanup(s, pres[i].type, pres[i].ident, pres[i].token, pres[i].key_auth, order_ok);
	if (c != NULL) {
		add_stats(c, out);
		acme_client_free(c);
	}
	presented_free(pres, npres);
	for (size_t i = 0; i < nfailed; i++)
		free(failed[i]);
	free(failed);
	acme_order_finish(&ord);
	x509_chain_free(chain);
	free(chain_pem);
	free(replaces);
	if (key_pem) {
		gnutls_memset(key_pem, 0, strlen(key_pem));
		free(key_pem);
	}
	return out->res;
}

/* ---- one lineage, start to end ---- */

/* The SHA-256 fingerprint of the lineage's leaf as stored now into fp
 * ("" when there is no readable certificate). */
static void pair_fingerprint(struct issue_env *env, const char *name, char *fp, size_t fpsz)
{
	struct buf cert, key;
	struct x509_chain *chain = NULL;
	struct gpc_error e;

	fp[0] = '\0';
	buf_init(&cert, CERTSTORE_MAX_FILE);
	buf_init(&key, CERTSTORE_MAX_FILE);
	if (certstore_read_pair(env->cs, name, &cert, &key, &e) == 0 &&
	    x509_chain_parse(name, cert.data, cert.len, &chain, NULL, &e) == 0)
		snprintf(fp, fpsz, "%s", x509_chain_info(chain, 0)->fingerprint_sha256);
	x509_chain_free(chain);
	buf_finish(&cert);
	if (key.data)
		gnutls_memset(key.data, 0, key.len);
	buf_finish(&key);
}

/* Take over what another run stored for the lineage (ARI data, history)
 * while keeping this run's requested settings. */
static void refresh_state(struct issue_env *env, struct lineage *l, bool all)
{
	struct lineage *st = NULL;
	struct gpc_error e;

	if (lineage_load(env->cs, l->name, &st, &e) != 0)
		return;
	if (all) {
		struct lineage tmp = *l;
		*l = *st;
		*st = tmp;
	} else {
#define TAKE(f) do { char *t_ = l->f; l->f = st->f; st->f = t_; } while (0)
		TAKE(ari_cert_id);
		TAKE(ari_cert_sha256);
		TAKE(ari_explanation_url);
		TAKE(last_result);
		TAKE(last_error);
#undef TAKE
		l->ari_renew_at = st->ari_renew_at;
		l->ari_window_start = st->ari_window_start;
		l->ari_window_end = st->ari_window_end;
		l->ari_retry_after = st->ari_retry_after;
		l->last_attempt = st->last_attempt;
		l->last_issued = st->last_issued;
	}
	lineage_free(st);
}

int issue_precheck(struct issue_env *env, struct lineage *l, const struct issue_opts *o,
		   struct issue_outcome *out)
{
	if (!o->force && issue_decide(env, l, o, out) == 0) {
		/* RFC 9773: the CA may move the window (e.g. before a mass
		 * revocation); ask again once its Retry-After has passed. */
		struct gpc_error aerr;
		gpc_error_clear(&aerr);
		if (o->ari_refresh && l->ari_cert_id != NULL && issue_ari_refresh(env, l, &aerr) != 0)
			gpc_warn("%s: renewalInfo: %s", l->name, aerr.message);
		if (!o->ari_refresh || l->ari_cert_id == NULL || issue_decide(env, l, o, out) == 0) {
			out->res = ISSUE_CURRENT;
			godoxy_write_copy(env->cs, l); /* a missing or torn copy is mended */
			return 0;
		}
	}
	if (o->backoff && !o->force && check_backoff(env, l, out) != 0)
		return 0;
	if (issue_guard(env, l, o, out) != 0)
		return 0;
	return 1;
}

/* Once per run, before the CA is first asked: a certs directory that will
 * not outlive a reboot or its container (tmpfs, a container's own root
 * filesystem) loses the certificates and the ledger, and the next run asks
 * the CA again -- the way the rate limit locks users out. */
static void warn_ephemeral(struct issue_env *env)
{
	struct gpc_error e = { 0 };
	bool first;

	pthread_mutex_lock(&env->mu);
	first = !env->warned_ephemeral;
	env->warned_ephemeral = true;
	pthread_mutex_unlock(&env->mu);
	if (!first || env->ephemeral_ok || certstore_ephemeral(env->cs, &e) != 1)
		return;
	/* acknowledged once for this directory (--ephemeral-ok) */
	struct buf ack;
	struct gpc_error e2;
	buf_init(&ack, 4096);
	gpc_error_clear(&e2);
	int acked = certstore_state_read(env->cs, ISSUE_EPHEMERAL_OK_RECORD, 4096, &ack, &e2) == 0;
	buf_finish(&ack);
	if (acked)
		return;
	/* One line: where it is and what to do (status has the long form). */
	const char *cut = strstr(e.message, ": the certificates");
	gpc_warn("%.*s: certificates and the rate-limit ledger there are lost with it; keep it on a persistent "
		 "volume, or say it is meant (CI) once with --ephemeral-ok", cut ? (int)(cut - e.message) : 400,
		 e.message);
}

/* The certificate in place is current and the user gave settings: keep
 * them when they differ from the stored ones (renew takes the lineage over,
 * also a pair that was on disk before goproxy-cert), with the stored
 * history and ARI data. A failure to store changes nothing about the
 * result (a read-only directory): said at info level. */
static void store_current(struct issue_env *env, struct lineage *l)
{
	struct lineage *old = NULL;
	struct gpc_error err;
	char *a = NULL, *b = NULL;

	gpc_error_clear(&err);
	pthread_mutex_lock(&env->mu);
	if (certstore_lock(env->cs, true, 60, &err) != 0)
		goto out;
	if (lineage_load(env->cs, l->name, &old, &err) == 0) {
		a = lineage_to_json(old);
		b = lineage_to_json(l);
	}
	gpc_error_clear(&err);
	if ((a == NULL || b == NULL || strcmp(a, b) != 0) && lineage_save(env->cs, l, &err) == 0)
		gpc_info("%s: settings stored", l->name);
	certstore_unlock(env->cs);
out:
	if (err.code != NULL)
		gpc_info("%s: settings not stored: %s", l->name, err.message);
	pthread_mutex_unlock(&env->mu);
	free(a);
	free(b);
	lineage_free(old);
}

int issue_refuse_duplicate(struct certstore *cs, const struct lineage *l, struct gpc_error *err)
{
	char *holder = NULL, ts[32];
	time_t until = 0;

	if (!lineage_duplicate_of(cs, l, time_now(), &holder, &until))
		return 0;
	gpc_error_set(err, GPC_E_USAGE, "%s: lineage '%s' already holds a certificate for exactly these names, "
		      "valid until %s; a new lineage '%s' would ask the CA for it again", l->name, holder,
		      time_rfc3339(until, ts, sizeof(ts)), l->name);
	gpc_error_hint(err, "to change or renew that one: goproxy-cert issue -n %s ...; to keep a second "
			    "certificate for the same names (each counts against the CA's limit of 5 a week for "
			    "one set of names): add --duplicate", holder);
	free(holder);
	return -1;
}

enum issue_result issue_lineage(struct issue_env *env, struct lineage *l, const struct issue_opts *o,
				struct issue_outcome *out)
{
	char before[128], after[128];
	bool waited = false, locked = false;

	/* 1. Offline, without the lock: the common answer "current" costs no
	 * lock and no network. */
	if (issue_precheck(env, l, o, out) == 0) {
		if (out->res == ISSUE_CURRENT && o->store_current)
			store_current(env, l);
		return out->res;
	}
	pair_fingerprint(env, l->name, before, sizeof(before));
	if (issue_check_writable(env->cs, l->name, &out->err) != 0)
		goto failed;

	/* 2. The issuer lock (bounded wait). */
	if (issuer_lock(env, l->name, o->lock_wait_secs, &waited, &out->err) != 0)
		goto failed;
	locked = true;

	/* 3. Decide again from fresh state: the run we waited for may have
	 * issued it. Under --force too, when the pair changed meanwhile:
	 * asking the CA again for what just arrived is what the rate limit
	 * punishes. */
	refresh_state(env, l, o->reload);
	pair_fingerprint(env, l->name, after, sizeof(after));
	struct issue_opts o2 = *o;
	o2.ari_refresh = false;
	if (waited && strcmp(before, after) != 0)
		o2.force = false;
	memset(out, 0, sizeof(*out));
	if (issue_precheck(env, l, &o2, out) == 0) {
		if (out->res == ISSUE_CURRENT && o->store_current)
			store_current(env, l);
		if (out->res == ISSUE_CURRENT && waited)
			snprintf(out->reason + strlen(out->reason), sizeof(out->reason) - strlen(out->reason),
				 " (issued by another run while this one waited)");
		goto out;
	}
	/* Another run may have committed a pair for these names under
	 * another new lineage while this one waited (issue -n a and -n b of
	 * one name at once): that is not ordered again either. */
	if (o->refuse_duplicate && issue_refuse_duplicate(env->cs, l, &out->err) != 0) {
		out->res = ISSUE_USAGE;
		goto out;
	}
	gpc_info("%s: %s", l->name, out->reason[0] ? out->reason : "--force");
	warn_ephemeral(env);

	/* 4. The CA. */
	issue_order(env, l, o, out);
	goto out;
failed:
	out->res = issue_classify(&out->err) == ISSUE_DEFERRED ? ISSUE_DEFERRED : ISSUE_FAILED;
out:
	if (locked)
		issuer_unlock(env);
	return out->res;
}

/* ---- renew: many lineages on a pool of threads ---- */

struct pool {
	struct issue_env *env;
	const struct issue_opts *o;
	struct issue_job *jobs;
	size_t n, next;
	pthread_mutex_t mu;
	issue_progress_fn progress;
	void *ud;
};

static void *pool_worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		struct issue_job *j = NULL;
		pthread_mutex_lock(&p->mu);
		while (p->next < p->n && !p->jobs[p->next].todo)
			p->next++;
		if (p->next < p->n)
			j = &p->jobs[p->next++];
		pthread_mutex_unlock(&p->mu);
		if (j == NULL)
			return NULL;
		if (p->progress)
			p->progress(j->l->name, p->ud);
		issue_lineage(p->env, j->l, p->o, &j->out);
	}
}

void issue_renew(struct issue_env *env, struct issue_job *jobs, size_t n, const struct issue_opts *o,
		 int concurrency, issue_progress_fn progress, void *ud)
{
	struct pool p = { .env = env, .o = o, .jobs = jobs, .n = n, .progress = progress, .ud = ud };
	size_t ntodo = 0, nt, started = 0;
	pthread_t *th;

	for (size_t i = 0; i < n; i++)
		ntodo += jobs[i].todo;
	if (ntodo == 0)
		return;
	nt = concurrency < 1 ? 1 : (size_t)concurrency;
	if (nt > ntodo)
		nt = ntodo;
	pthread_mutex_init(&p.mu, NULL);
	th = calloc(nt, sizeof(*th));
	for (size_t i = 0; th && i < nt; i++)
		if (pthread_create(&th[i], NULL, pool_worker, &p) == 0)
			started++;
	if (started == 0)
		pool_worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	pthread_mutex_destroy(&p.mu);
}

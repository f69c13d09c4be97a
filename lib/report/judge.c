/* judge: collect what check/status say about each lineage (the CLI renders
 * it: cmd/goproxy-cert/report_print.c).
 *
 * One collector, through the store interface: where the backend has files
 * (a certs directory) each lineage's certificate and key are read file by
 * file (certstore_read_files: each file itself, never a cache, with its
 * mode, a dangling link, an interrupted write), under one shared store lock
 * for the whole run when a writer has ever created one, so a pair is never
 * seen half-replaced; no per-lineage locking. Where a pair is one entry (a
 * shared store, etcd) it is read through certstore_read_pair: whole by
 * itself. Lineage settings and the ledger come through lib/core/lineage.c
 * and lib/core/ledger.c in both. Never prints: gpc_debug only. */
#include "judge.h"
#include "served.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "fsutil.h"
#include "records.h"
#include "ledger.h"
#include "lineage.h"
#include "log.h"
#include "policy.h"
#include "timeutil.h"
#include "x509.h"

/* Codes of problems the report itself finds (see also GPC_E_*, X509_E_*). */
#define RC_EXPIRED "expired"
#define RC_NOT_YET_VALID "not-yet-valid"
#define RC_MISMATCH "name-mismatch"
#define RC_DUE "due"
#define RC_REVOKED "revoked"
#define RC_NOT_FOUND "not-found"
#define RC_KEY_PERMS "key-permissions"
#define RC_NO_INTERMEDIATES "no-intermediates"
#define RC_KEY_IN_CERT "private-key-in-cert-file"
#define RC_PERSIST_LAPSES "persist-record-lapses"
#define RC_DIR_NOT_WRITABLE "certs-dir-not-writable"
#define RC_KEY_SEALED "key-not-unsealed"  /* a shared store: the key did not open */
#define RC_SETTINGS_IGNORED "settings-ignored" /* .state/lineages/NAME.json there but not read */
#define RC_KEY_NOT_CHECKED "key-not-checked" /* a shared store read without its seal key */

static const char *const state_names[RS__COUNT] = {
	[RS_OK] = "ok",
	[RS_DUE] = "due",
	[RS_MISMATCH] = "mismatch",
	[RS_REVOKED] = "revoked",
	[RS_NOT_YET_VALID] = "not-yet-valid",
	[RS_EXPIRED] = "expired",
	[RS_INVALID] = "invalid",
	[RS_UNREADABLE] = "unreadable",
	[RS_MISSING] = "missing",
};

const char *report_state_name(enum report_state s)
{
	return s < RS__COUNT ? state_names[s] : "invalid";
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s != NULL ? s : "");

	if (p == NULL)
		abort(); /* the CLI cannot do anything useful without memory */
	return p;
}

/* A malloc'd formatted string (messages hold paths of any length). */
static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	return s;
}

static void problem_set(struct report_problem *p, const char *code, const char *msg,
			const char *hint)
{
	p->code = code != NULL ? code : GPC_E_INTERNAL;
	p->message = xstrdup(msg);
	p->hint = xstrdup(hint);
}

static void problem_finish(struct report_problem *p)
{
	free(p->message);
	free(p->hint);
	p->message = p->hint = NULL;
}

static void push_problem(struct report_problem **v, size_t *n, const char *code, const char *msg,
			 const char *hint)
{
	struct report_problem *p = realloc(*v, (*n + 1) * sizeof(*p));

	if (p == NULL)
		abort();
	*v = p;
	problem_set(&p[*n], code, msg, hint);
	(*n)++;
}

/* A problem that decides the state: the worst one wins. */
static void add_problem(struct report_entry *e, enum report_state s, const char *code,
			const char *msg, const char *hint)
{
	push_problem(&e->problems, &e->n_problems, code, msg, hint);
	if (s > e->state)
		e->state = s;
}

static void add_error(struct report_entry *e, enum report_state s, const struct gpc_error *err)
{
	add_problem(e, s, err->code, err->message, err->hint);
}

static void add_warning(struct report_entry *e, const char *code, const char *msg,
			const char *hint)
{
	push_problem(&e->warnings, &e->n_warnings, code, msg, hint);
}

/* What a failed read means for the state. */
static enum report_state state_for_read(const struct gpc_error *err)
{
	switch (err->sys_errno) {
	case ENOENT:
		return RS_MISSING;
	case EACCES:
	case EPERM:
	case EIO:
		return RS_UNREADABLE;
	default:
		/* a directory, a symlink loop, a device, a 10 MiB file: not a
		 * certificate or key file at all */
		return RS_INVALID;
	}
}

void report_human_left(long long secs, char *out, size_t outsz)
{
	long long a = secs < 0 ? -secs : secs;

	if (a >= 2 * 86400LL)
		snprintf(out, outsz, "%lld days", a / 86400);
	else if (a >= 2 * 3600LL)
		snprintf(out, outsz, "%lld hours", a / 3600);
	else if (a >= 120)
		snprintf(out, outsz, "%lld minutes", a / 60);
	else
		snprintf(out, outsz, "%lld seconds", a);
}

const char *report_rule_text(const char *rule)
{
	if (strcmp(rule, POLICY_RULE_DAYS) == 0)
		return "fewer days left than --days";
	if (strcmp(rule, POLICY_RULE_HALF) == 0)
		return "less than 1/2 of its lifetime left";
	if (strcmp(rule, POLICY_RULE_ARI) == 0)
		return "the CA's renewal window (ARI) has been reached";
	return "less than 1/3 of its lifetime left";
}

/* The persistence warning was acknowledged: $GOPROXY_CERT_EPHEMERAL_OK, or
 * once for the directory with --ephemeral-ok (issue/renew). */
static bool ephemeral_acknowledged(struct certstore *cs)
{
	const char *v = getenv("GOPROXY_CERT_EPHEMERAL_OK");
	struct buf b;
	struct gpc_error err;
	bool acked;

	if (v != NULL && *v != '\0' && strcmp(v, "0") != 0)
		return true;
	buf_init(&b, 4096);
	gpc_error_clear(&err);
	acked = certstore_state_read(cs, RECORD_EPHEMERAL_OK, 4096, &b, &err) == 0;
	buf_finish(&b);
	return acked;
}

/* RFC 5280 §5.3.1 reason codes, as revoke takes them. */
static const char *revoke_reason_name(int r)
{
	switch (r) {
	case 0: return "unspecified";
	case 1: return "keyCompromise";
	case 3: return "affiliationChanged";
	case 4: return "superseded";
	case 5: return "cessationOfOperation";
	default: return "other";
	}
}

/* .state/lineages/NAME.json through lib/core/lineage.c (the reader issue/renew
 * use), or NULL when it is missing or damaged: the ACME side is then
 * unknown and the lifetime rule decides, never a failure of the report.
 * Read once per lineage, by the collecting thread. */
static struct lineage *lineage_read(struct certstore *cs, const char *name, struct gpc_error *err)
{
	struct lineage *l = NULL;

	gpc_error_clear(err);
	if (lineage_load(cs, name, &l, err) != 0) {
		if (err->code != NULL && strcmp(err->code, GPC_E_MISSING) == 0)
			gpc_error_clear(err);
		return NULL;
	}
	return l;
}

/* Settings that are there but were not read (another user's file, a broken
 * one): said as a warning, since what renews the lineage is then unknown. */
static void settings_warning(struct report_entry *e, const struct gpc_error *err)
{
	char *m;

	if (err->code == NULL)
		return;
	m = xasprintf("%s; its stored settings are ignored here (how it is renewed and by which CA is "
		      "not shown)", err->message);
	add_warning(e, RC_SETTINGS_IGNORED, m, err->hint);
	free(m);
}

/* Start entry e for lineage `name`: its name and the names of its cert and
 * key (paths in a directory, entries in a store) into cp/kp and the entry.
 * Returns 0, or -1 with the entry marked invalid (a name too long). */
static int entry_begin(struct report_entry *e, struct certstore *cs, const char *name, char *cp, size_t cpsz,
		       char *kp, size_t kpsz)
{
	bool dir = !certstore_shared(cs);

	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	e->cert_mode = e->key_mode = -1;
	e->issuances_168h = -1;
	if (certstore_paths(cs, name, cp, cpsz, kp, kpsz) != 0) {
		char *m = dir ? xasprintf("%s/%s: path too long", certstore_dir(cs), name)
			      : xasprintf("%s: lineage %s: name too long for the store", certstore_dir(cs), name);
		e->cert_path = xstrdup(m);
		e->key_path = xstrdup(m);
		add_problem(e, RS_INVALID, GPC_E_INVALID, m,
			    dir ? "use a shorter certs directory path" : "use a shorter store prefix");
		free(m);
		return -1;
	}
	e->cert_path = xstrdup(cp);
	e->key_path = xstrdup(kp);
	return 0;
}

/* Dates, names, due rule: what the parsed certificate says at `now`.
 * `lin`: the lineage's stored settings (days, ARI time) or NULL. */
static void judge_cert(struct report_entry *e, const struct x509_chain *chain, bool has_key_block,
		       const struct report_options *opt, const struct lineage *lin, time_t now)
{
	const struct x509_info *in = x509_chain_info(chain, 0);
	struct policy_result pr;
	char msg[1536], hint[1024], t1[32], t2[32], left[48];

	e->have_cert = true;
	e->n_domains = in->n_names;
	e->domains = calloc(in->n_names ? in->n_names : 1, sizeof(*e->domains));
	if (e->domains == NULL)
		abort();
	for (size_t i = 0; i < in->n_names; i++)
		e->domains[i] = xstrdup(in->names[i]);
	e->not_before = in->not_before;
	e->not_after = in->not_after;
	e->seconds_left = (long long)in->not_after - (long long)now;
	e->issuer = xstrdup(in->issuer);
	e->subject = xstrdup(in->subject);
	snprintf(e->serial, sizeof(e->serial), "%s", in->serial);
	snprintf(e->key_type, sizeof(e->key_type), "%s", in->key_type);
	snprintf(e->fingerprint, sizeof(e->fingerprint), "%s", in->fingerprint_sha256);
	e->chain_length = x509_chain_length(chain);

	/* The rule renew applies (stored --days, this --days, the ARI time
	 * for this certificate, the lifetime), so that "due" here is what
	 * renew does. */
	struct policy_input pin = {
		.not_before = in->not_before,
		.not_after = in->not_after,
		.fingerprint_sha256 = in->fingerprint_sha256,
		.stored_days = lin != NULL ? lin->days : 0,
		.ari_renew_at = lin != NULL ? lin->ari_renew_at : 0,
		.ari_cert_sha256 = lin != NULL ? lin->ari_cert_sha256 : NULL,
		.override_days = opt->days,
	};
	policy_lineage_due(&pin, now, &pr);
	e->due_at = pr.due_at;
	e->due_rule = pr.rule;

	if (now >= in->not_after) {
		report_human_left(e->seconds_left, left, sizeof(left));
		snprintf(msg, sizeof(msg), "%s: expired on %s (%s ago)", e->cert_path,
			 time_rfc3339(in->not_after, t1, sizeof(t1)), left);
		snprintf(hint, sizeof(hint), "get a new certificate: goproxy-cert renew%s%s (or issue --force); "
			 "if this date looks wrong, check the system clock (it says %s)",
			 opt->store_url ? " --store " : "", opt->store_url ? opt->store_url : "",
			 time_rfc3339(now, t2, sizeof(t2)));
		add_problem(e, RS_EXPIRED, RC_EXPIRED, msg, hint);
	} else if (now < in->not_before) {
		snprintf(msg, sizeof(msg), "%s: not valid before %s, but the clock here says %s",
			 e->cert_path, time_rfc3339(in->not_before, t1, sizeof(t1)),
			 time_rfc3339(now, t2, sizeof(t2)));
		add_problem(e, RS_NOT_YET_VALID, RC_NOT_YET_VALID, msg,
			    "the system clock may be wrong: check it (timedatectl, NTP) against a "
			    "trusted source; clients will reject this certificate until then");
	}

	if (opt->domains != NULL) {
		struct buf only_want, only_have;
		buf_init(&only_want, 4096);
		buf_init(&only_have, 4096);
		if (!x509_names_equal(opt->domains, opt->n_domains, (const char *const *)e->domains,
				      e->n_domains, &only_want, &only_have)) {
			snprintf(msg, sizeof(msg), "%s: names differ from --domain:%s%s%s%s", e->cert_path,
				 only_want.len ? " missing " : "", only_want.len ? only_want.data : "",
				 only_have.len ? (only_want.len ? "; extra " : " extra ") : "",
				 only_have.len ? only_have.data : "");
			snprintf(hint, sizeof(hint), "get a certificate for exactly the wanted names: "
				 "goproxy-cert issue%s%s%s%s -D NAME... (a wildcard covers only itself)",
				 opt->store_url ? " --store " : "", opt->store_url ? opt->store_url : "",
				 strcmp(e->name, CERTSTORE_DEFAULT) == 0 ? "" : " -n ",
				 strcmp(e->name, CERTSTORE_DEFAULT) == 0 ? "" : e->name);
			add_problem(e, RS_MISMATCH, RC_MISMATCH, msg, hint);
		}
		buf_finish(&only_want);
		buf_finish(&only_have);
	}

	/* Revoked (issue 24): the record `revoke` stored for this very
	 * certificate; a new pair replaces it and the record no longer
	 * applies. */
	if (lin != NULL && lin->revoked_sha256 != NULL && strcasecmp(lin->revoked_sha256, in->fingerprint_sha256) == 0) {
		snprintf(msg, sizeof(msg), "%s: revoked at %s, reason %d (%s)", e->cert_path,
			 time_rfc3339(lin->revoked_at, t1, sizeof(t1)), lin->revoked_reason,
			 revoke_reason_name(lin->revoked_reason));
		snprintf(hint, sizeof(hint), "clients may refuse it: get a new certificate now: goproxy-cert renew%s%s %s",
			 opt->store_url ? " --store " : "", opt->store_url ? opt->store_url : "", e->name);
		add_problem(e, RS_REVOKED, RC_REVOKED, msg, hint);
	}

	if (e->state == RS_OK && pr.due) {
		report_human_left(e->seconds_left, left, sizeof(left));
		snprintf(msg, sizeof(msg), "%s: due for renewal since %s: %s left, %s", e->cert_path,
			 time_rfc3339(pr.due_at, t1, sizeof(t1)), left, report_rule_text(pr.rule));
		snprintf(hint, sizeof(hint), "run 'goproxy-cert renew%s%s' (a daily cron job or timer does this for "
			 "you)", opt->store_url ? " --store " : "", opt->store_url ? opt->store_url : "");
		add_problem(e, RS_DUE, RC_DUE, msg, hint);
	}

	if (e->chain_length == 1 && !in->self_signed) {
		snprintf(msg, sizeof(msg), "%s: holds only the leaf certificate, no intermediates",
			 e->cert_path);
		add_warning(e, RC_NO_INTERMEDIATES, msg,
			    "clients that do not already have the issuing CA certificate will fail; "
			    "append the intermediate certificate(s) after the leaf (the CA's full chain)");
	}
	if (has_key_block) {
		snprintf(msg, sizeof(msg), "%s: also holds a private key", e->cert_path);
		add_warning(e, RC_KEY_IN_CERT, msg,
			    "certificate files are usually world-readable: keep the key only in priv.key "
			    "(mode 0600) and remove it from the certificate file");
	}
}

/* A failed read of a shared store: the store unreachable (try later)? */
static bool unreachable(const struct gpc_error *err)
{
	return err->code != NULL && strcmp(err->code, GPC_E_NETWORK) == 0;
}

/* A lineage's pair as read, by either way into the store: file by file
 * (certstore_read_files, a certs directory) or as one entry
 * (certstore_read_pair, a shared store). */
struct pair_read {
	struct buf cb, kb;
	bool cert_ok, key_ok;
	bool files;                /* read file by file: f holds each file's details */
	struct certstore_files f;
};

/* No certificate at all for the entry: one problem (not one per file),
 * naming what was looked for (`what`), with the likeliest fix: a lineage of
 * a close name, else how to get one (a shared store's hints name --store). */
static void not_found(struct certstore *cs, struct report_entry *e, const struct lineage *lin,
		      const char *what)
{
	bool def = strcmp(e->name, CERTSTORE_DEFAULT) == 0, shared = certstore_shared(cs);
	char *close = lin == NULL ? lineage_closest(cs, e->name) : NULL;
	char *m = xasprintf("%s: no certificate: %s", e->name, what);
	char *h;

	if (close != NULL)
		h = xasprintf("did you mean '%s'? (no lineage '%s' %s)", close, e->name,
			      shared ? "in this store" : "here");
	else if (shared)
		h = xasprintf("get one with 'goproxy-cert issue --store URL%s%s -D NAME', or check that --store "
			      "(or $GOPROXY_CERT_STORE) names the store and prefix that hold it",
			      def ? "" : " -n ", def ? "" : e->name);
	else
		h = xasprintf("get one with 'goproxy-cert issue%s%s -D NAME', or point --certs-dir / "
			      "$GOPROXY_CERTS_DIR at the directory that holds it", def ? "" : " -n ", def ? "" : e->name);
	free(close);
	add_problem(e, RS_MISSING, RC_NOT_FOUND, m, h);
	free(m);
	free(h);
}

/* The files' side of a file-by-file read: nothing at either name (not
 * even a dangling link) is the one not-found problem; otherwise the modes
 * (status). Each file's read error is judged by judge_pair, in order.
 * Returns false when the entry is complete. */
static bool files_read(struct certstore *cs, struct report_entry *e, const struct lineage *lin,
		       struct pair_read *p, const char *cp, const char *kp, const struct report_options *opt)
{
	p->cert_ok = p->f.cert_err.code == NULL;
	p->key_ok = p->f.key_err.code == NULL;
	if (!p->cert_ok && !p->key_ok && p->f.cert_absent && p->f.key_absent) {
		char *what = xasprintf("%s and %s do not exist", cp, kp);
		not_found(cs, e, lin, what);
		free(what);
		return false;
	}
	if (opt->detail) {
		e->cert_mode = p->f.cert_mode;
		e->key_mode = p->f.key_mode;
	}
	return true;
}

/* A pair read as one entry (a shared store): the certificate and the
 * sealed key together; without the seal key (skip_keys) the certificate
 * alone. A key that does not open is this lineage's problem and its
 * certificate is still judged (expiry is what check is asked first); an
 * unreachable store defers the entry. Returns false when the entry is
 * complete (no certificate to judge). */
static bool pair_read(struct certstore *cs, struct report_entry *e, const struct lineage *lin,
		      struct pair_read *p, const struct report_options *opt)
{
	struct gpc_error err, kerr;

	gpc_error_clear(&err);
	p->key_ok = false;
	if (opt->skip_keys) {
		p->cert_ok = certstore_read_cert(cs, e->name, &p->cb, NULL, &err) == 0;
	} else if (certstore_read_pair(cs, e->name, &p->cb, &p->kb, &err) == 0) {
		p->cert_ok = p->key_ok = true;
	} else if ((err.code != NULL && strcmp(err.code, GPC_E_MISSING) == 0) || unreachable(&err)) {
		p->cert_ok = false;
	} else {
		/* The pair is there but did not come out whole: its key may be
		 * sealed with another seal key. The certificate is not sealed. */
		kerr = err;
		buf_reset(&p->cb);
		gpc_error_clear(&err);
		p->cert_ok = certstore_read_cert(cs, e->name, &p->cb, NULL, &err) == 0;
		if (p->cert_ok)
			add_problem(e, RS_UNREADABLE, RC_KEY_SEALED, kerr.message, kerr.hint);
	}
	if (p->cert_ok)
		return true;
	if (err.code != NULL && strcmp(err.code, GPC_E_MISSING) == 0) {
		not_found(cs, e, lin, err.message);
	} else {
		e->deferred = unreachable(&err);
		add_error(e, err.code != NULL && strcmp(err.code, GPC_E_INVALID) == 0 ? RS_INVALID : RS_UNREADABLE,
			  &err);
	}
	return false;
}

/* How to mend a key that does not belong to its certificate: finish the
 * interrupted write the store reports, else write the pair again from its
 * source (a shared store), else put back the archived key. */
static char *mismatch_hint(struct certstore *cs, const struct report_entry *e, const struct pair_read *p)
{
	char arch[PATH_MAX];

	if (p->files && p->f.interrupted)
		return xasprintf("a write of this pair was interrupted (%s); run 'goproxy-cert renew' "
				 "or 'issue' to complete it", p->f.interrupted_at);
	if (certstore_shared(cs))
		return xasprintf("write the pair again from its source: 'goproxy-cert renew --store URL "
				 "--force %s', or 'store import' of a directory that holds it", e->name);
	return xasprintf("put back the key that was issued with this certificate (previous pairs are in "
			 "%s), or get a new pair with 'goproxy-cert issue --force'",
			 certstore_archive_describe(cs, arch, sizeof(arch)));
}

/* A private key readable by others than its owner (a file's mode). */
static void key_mode_warning(struct report_entry *e, const char *kp, int m)
{
	if (m < 0 || (m & 077) == 0)
		return;
	char *w = xasprintf("%s: private key readable by %s (mode %04o)", kp,
			    (m & 07) ? "other users" : "the group", (unsigned)m);
	char *h = xasprintf("chmod 600 %s", kp);
	add_warning(e, RC_KEY_PERMS, w, h);
	free(w);
	free(h);
}

/* Judge what was read, the same for every store: each file's read error
 * (file by file), the certificate's and the key's parse, the key's mode,
 * the chain order, whether the key belongs to the certificate, then the
 * certificate itself (judge_cert). In a shared store a certificate that
 * does not parse ends the judging (its key is not looked at). */
static void judge_pair(struct certstore *cs, struct report_entry *e, struct pair_read *p, const char *cp,
		       const char *kp, const struct report_options *opt, const struct lineage *lin, time_t now)
{
	struct x509_chain *chain = NULL;
	struct x509_key *key = NULL;
	struct gpc_error err;
	bool has_key_block = false, in_order;

	gpc_error_clear(&err);
	if (p->files && !p->cert_ok)
		add_error(e, state_for_read(&p->f.cert_err), &p->f.cert_err);
	if (p->cert_ok && x509_chain_parse(cp, p->cb.data ? p->cb.data : "", p->cb.len, &chain, &has_key_block,
					   &err) != 0) {
		add_error(e, RS_INVALID, &err);
		p->cert_ok = false;
		if (!p->files)
			p->key_ok = false;
	}
	if (p->files && !p->key_ok)
		add_error(e, state_for_read(&p->f.key_err), &p->f.key_err);
	if (p->key_ok && x509_key_parse(kp, p->kb.data ? p->kb.data : "", p->kb.len, &key, &err) != 0) {
		add_error(e, RS_INVALID, &err);
		p->key_ok = false;
	}
	/* the key's bytes are no longer needed: do not keep them around */
	if (p->kb.data != NULL)
		explicit_bzero(p->kb.data, p->kb.len);
	if (p->files && p->key_ok)
		key_mode_warning(e, kp, p->f.key_mode);
	in_order = p->cert_ok && x509_chain_check_order(chain, cp, &err) == 0;
	if (p->cert_ok && !in_order)
		add_error(e, RS_INVALID, &err);
	/* A key that belongs to a later certificate is the chain-order problem
	 * already reported, not a second one. */
	if (p->cert_ok && p->key_ok && !x509_key_matches(key, chain) && (in_order || x509_key_find(key, chain) < 0)) {
		const char *kt = x509_key_type(key), *ct = x509_chain_info(chain, 0)->key_type;
		char *m = strcmp(kt, ct) == 0
			? xasprintf("%s: does not belong to %s (both %s, but different keys)", kp, cp, kt)
			: xasprintf("%s: does not belong to %s (the key is %s, the certificate's is %s)",
				    kp, cp, kt, ct);
		char *h = mismatch_hint(cs, e, p);
		add_problem(e, RS_INVALID, X509_E_KEY_MISMATCH, m, h);
		free(m);
		free(h);
	}
	if (p->cert_ok)
		judge_cert(e, chain, has_key_block, in_order ? opt : &(struct report_options){
				   .days = opt->days, .detail = opt->detail, .store_url = opt->store_url },
			   lin, now);
	x509_key_free(key);
	x509_chain_free(chain);
}

/* The one collector: a lineage's pair read through the store interface,
 * file by file where the backend has files (certstore_read_files: a certs
 * directory's modes, dangling links, a half pair), else as one entry
 * (certstore_read_pair), then judged alike (judge_pair). */
static void collect_entry(struct certstore *cs, const char *name, const struct report_options *opt,
			  const struct lineage *lin, time_t now, struct report_entry *e)
{
	char cp[PATH_MAX], kp[PATH_MAX];
	struct pair_read p;
	bool judge;
	int got;

	if (entry_begin(e, cs, name, cp, sizeof(cp), kp, sizeof(kp)) != 0)
		return;
	buf_init(&p.cb, CERTSTORE_MAX_FILE);
	buf_init(&p.kb, CERTSTORE_MAX_FILE);
	got = certstore_read_files(cs, name, &p.cb, &p.kb, &p.f);
	p.files = got != 0;
	if (got < 0) {
		add_error(e, RS_INVALID, &p.f.cert_err);
		judge = false;
	} else {
		judge = p.files ? files_read(cs, e, lin, &p, cp, kp, opt) : pair_read(cs, e, lin, &p, opt);
	}
	if (judge)
		judge_pair(cs, e, &p, cp, kp, opt, lin, now);
	if (p.kb.data != NULL)
		explicit_bzero(p.kb.data, p.kb.len);
	buf_finish(&p.cb);
	buf_finish(&p.kb);
}

/* .state/ledger.json is read and parsed once per report (through
 * lib/core/ledger.c), not once per lineage: 10,000 lineages with a ledger of
 * 10,000 issuances would otherwise parse it 10,000 times. count_issuances
 * runs on one thread. */
enum { LEDGER_UNREAD, LEDGER_OK, LEDGER_BAD };
static int report_ledger_state = LEDGER_UNREAD;
static struct ledger *report_ledger;

static void report_ledger_load(struct certstore *cs)
{
	struct gpc_error err;

	gpc_error_clear(&err);
	/* a missing file is an empty ledger; a broken one leaves counts unknown */
	if (ledger_load(cs, &report_ledger, &err) != 0) {
		gpc_debug("%s; issuance counts unknown", err.message);
		report_ledger = NULL;
		report_ledger_state = LEDGER_BAD;
	} else {
		report_ledger_state = LEDGER_OK;
	}
}

static void report_ledger_drop(void)
{
	ledger_free(report_ledger);
	report_ledger = NULL;
	report_ledger_state = LEDGER_UNREAD;
}

/* status: how renew will answer the CA for a lineage, from its stored
 * settings, into out: "dns-01 through cloudflare", "http-01 by webroot
 * /srv/www", "any challenge (a running goproxyd, else ...)" -- never a
 * provider's options (they may hold secrets). Returns out. */
const char *report_describe_challenge(const struct lineage *l, char *out, size_t outsz)
{
	const char *type = l->challenge ? l->challenge : "any challenge";

	if (l->challenge != NULL && strcmp(l->challenge, "dns-persist-01") == 0) {
		snprintf(out, outsz, "dns-persist-01 (the standing TXT record _validation-persist.NAME; no DNS write)");
		return out;
	}
	if (l->dns_provider != NULL)
		snprintf(out, outsz, "dns-01 through %s", l->dns_provider);
	else if (l->solver != NULL && strcmp(l->solver, "http-dir") == 0)
		snprintf(out, outsz, "%s, answered by goproxyd from the store (--http-dir)", type);
	else if (l->solver != NULL && l->solver_arg != NULL)
		snprintf(out, outsz, "%s by %s %s", type, l->solver, l->solver_arg);
	else if (l->solver != NULL)
		snprintf(out, outsz, "%s by %s", type, l->solver);
	else
		snprintf(out, outsz, "%s (a running goproxyd answers it)", type);
	return out;
}

/* True when the names renew will order differ from the certificate's. */
bool report_names_differ(const struct report_entry *e)
{
	return e->lineage != NULL && e->have_cert &&
	       !lineage_same_names(e->lineage->names, e->lineage->n_names, e->domains, e->n_domains);
}

#define PERSIST_WARN_SECS (14 * 86400)

/* dns-persist-01: the standing record's persistUntil (kept by the last
 * validation) lapses before the next renewal or within 14 days: from
 * then on renew is deferred until a new record is published. */
static void persist_warning(const struct lineage *l, struct report_entry *e, time_t now)
{
	char at[32], due[32], *msg, *hint;

	if (l == NULL || l->persist_until == 0 || l->challenge == NULL || strcmp(l->challenge, "dns-persist-01") != 0)
		return;
	bool before_due = e->due_at > 0 && l->persist_until <= e->due_at;
	if (!before_due && l->persist_until - now > PERSIST_WARN_SECS)
		return;
	time_rfc3339(l->persist_until, at, sizeof(at));
	time_rfc3339(e->due_at, due, sizeof(due));
	if (l->persist_until <= now)
		msg = xasprintf("%s: the dns-persist-01 record of %s lapsed at %s (persistUntil): renewals are deferred "
				"until a new one is published", e->name, l->n_names ? l->names[0] : e->name, at);
	else
		msg = xasprintf("%s: the dns-persist-01 record of %s lapses at %s (persistUntil)%s%s", e->name,
				l->n_names ? l->names[0] : e->name, at, before_due ? ", before the renewal at " : "",
				before_due ? due : "");
	hint = xasprintf("publish the record 'goproxy-cert persist-record -n %s' prints (with a later "
			 "--persist-until, or none) in place of the old one", e->name);
	add_warning(e, RC_PERSIST_LAPSES, msg, hint);
	free(msg);
	free(hint);
}

/* status: the ACME side of an entry from its lineage settings (ca_url,
 * last_attempt, last_result, next_renewal; the lineage is kept for
 * count_issuances). Runs in the collecting thread, after collect_entry;
 * takes `lin` (NULL: not managed by issue/renew, nothing planned). */
static void lineage_fields(struct lineage *lin, struct report_entry *e)
{
	if (lin == NULL)
		return;
	/* Next renewal: when the certificate becomes due (policy_lineage_due,
	 * as renew decides); without a certificate, the stored ARI time. */
	e->next_renewal = e->have_cert ? e->due_at : lin->ari_renew_at;
	if (lin->ca_url != NULL)
		e->ca_url = xstrdup(lin->ca_url);
	e->last_attempt = lin->last_attempt;
	if (lin->last_result != NULL)
		e->last_result = xstrdup(lin->last_result);
	e->lineage = lin;
}

/* status: issuances of exactly the entry's name set from its CA in the last
 * 168 h, from .state/ledger.json (parsed once per report; one thread). */
static void count_issuances(struct certstore *cs, struct report_entry *e)
{
	if (e->lineage == NULL || e->ca_url == NULL)
		return;
	if (report_ledger_state == LEDGER_UNREAD)
		report_ledger_load(cs);
	if (report_ledger == NULL)
		return;
	time_t now = time_now();
	e->issuances_168h = ledger_count_issuances(report_ledger, e->ca_url, e->lineage->names,
						   e->lineage->n_names, now - 168 * 3600);
	/* when renew will next ask the CA (issue 24): not before it is due,
	 * nor before its back-off or the CA's Retry-After ends */
	time_t next = e->next_renewal > now ? e->next_renewal : now;
	time_t b = ledger_backoff_until(report_ledger, e->name, now);
	time_t ra = ledger_retry_after(report_ledger, e->ca_url, now);
	if (b > next)
		next = b;
	if (ra > next)
		next = ra;
	e->next_attempt = e->next_renewal > 0 || b > now || ra > now ? next : 0;
}

static void entry_finish(struct report_entry *e)
{
	for (size_t i = 0; i < e->n_domains; i++)
		free(e->domains[i]);
	free(e->domains);
	for (size_t i = 0; i < e->n_problems; i++)
		problem_finish(&e->problems[i]);
	free(e->problems);
	for (size_t i = 0; i < e->n_warnings; i++)
		problem_finish(&e->warnings[i]);
	free(e->warnings);
	free(e->name);
	free(e->cert_path);
	free(e->key_path);
	free(e->issuer);
	free(e->subject);
	free(e->ca_url);
	free(e->last_result);
	lineage_free(e->lineage);
}

void report_finish(struct report *r)
{
	for (size_t i = 0; i < r->n_entries; i++)
		entry_finish(&r->entries[i]);
	free(r->entries);
	for (size_t i = 0; i < r->n_warnings; i++)
		problem_finish(&r->warnings[i]);
	free(r->warnings);
	problem_finish(&r->dir_problem);
	free(r->certs_dir);
	memset(r, 0, sizeof(*r));
}

/* Lineages are independent: parse them on every core. Each worker takes
 * the next index; entries are written in place, so the order is kept. */
struct collect_job {
	struct certstore *cs;
	char *const *names;
	size_t n;
	const struct report_options *opt;
	struct report *r;
	size_t next;
	pthread_mutex_t mu;
};

static void *collect_worker(void *arg)
{
	struct collect_job *j = arg;

	for (;;) {
		size_t i;
		pthread_mutex_lock(&j->mu);
		i = j->next;
		j->next += 16; /* a batch, so the mutex stays cold */
		pthread_mutex_unlock(&j->mu);
		if (i >= j->n)
			return NULL;
		for (size_t k = i; k < i + 16 && k < j->n; k++) {
			struct gpc_error lerr;
			struct lineage *lin = lineage_read(j->cs, j->names[k], &lerr);
			collect_entry(j->cs, j->names[k], j->opt, lin, j->r->checked_at, &j->r->entries[k]);
			settings_warning(&j->r->entries[k], &lerr);
			persist_warning(lin, &j->r->entries[k], j->r->checked_at);
			if (j->opt->detail)
				lineage_fields(lin, &j->r->entries[k]); /* keeps lin */
			else
				lineage_free(lin);
		}
	}
}

#define COLLECT_MAX_THREADS 8
#define COLLECT_MIN_PER_THREAD 64

static void collect_all(struct certstore *cs, char *const *names, size_t n,
			const struct report_options *opt, struct report *r)
{
	struct collect_job j = { .cs = cs, .names = names, .n = n, .opt = opt, .r = r };
	pthread_t tid[COLLECT_MAX_THREADS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = cpus > 0 ? (size_t)cpus : 1, started = 0;

	if (nt > COLLECT_MAX_THREADS)
		nt = COLLECT_MAX_THREADS;
	if (nt > n / COLLECT_MIN_PER_THREAD)
		nt = n / COLLECT_MIN_PER_THREAD;
	pthread_mutex_init(&j.mu, NULL);
	/* this thread works too; a thread that cannot start is no error */
	for (size_t t = 1; t < nt; t++)
		if (pthread_create(&tid[started], NULL, collect_worker, &j) == 0)
			started++;
	collect_worker(&j);
	for (size_t t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	pthread_mutex_destroy(&j.mu);
}

/* Start a report on `where`; check the names given. Returns 0, or -1 (err
 * says which name; the report is finished). */
static int collect_begin(struct report *r, const char *where, char *const *names, size_t n_names,
			 struct gpc_error *err)
{
	memset(r, 0, sizeof(*r));
	r->certs_dir = xstrdup(where);
	r->checked_at = time_now();
	for (size_t i = 0; i < n_names; i++) {
		if (strcmp(names[i], CERTSTORE_DEFAULT) != 0 && !certstore_valid_name(names[i])) {
			gpc_error_set(err, GPC_E_USAGE, "'%s' is not a lineage name", names[i]);
			gpc_error_hint(err, "a lineage is \"default\" or one directory name of letters, "
					    "digits, '.', '_' and '-'");
			report_finish(r);
			return -1;
		}
	}
	return 0;
}

/* What is said about the store as a whole, each by the backend that knows
 * it (a backend without the operation says nothing): not writable by the
 * writers; (status) somewhere that will not survive a reboot or a new
 * container; a shared store's keys not checked without the seal key. And
 * a pair left half-written by a killed writer is completed first (the one
 * write check and status ever make), so that what is judged is what every
 * reader sees. */
static void store_warnings(struct report *r, struct certstore *cs, const struct report_options *opt)
{
	struct gpc_error why;

	gpc_error_clear(&why);
	if (certstore_unwritable(cs, &why) == 1)
		push_problem(&r->warnings, &r->n_warnings, RC_DIR_NOT_WRITABLE, why.message, why.hint);
	/* check keeps to the certificates */
	gpc_error_clear(&why);
	if (opt->detail && certstore_ephemeral(cs, &why) == 1 && !ephemeral_acknowledged(cs))
		push_problem(&r->warnings, &r->n_warnings, why.code, why.message, why.hint);
	if (certstore_finish_interrupted(cs) == 1)
		gpc_debug("%s: finished an interrupted write", certstore_dir(cs));
	if (r->shared && opt->skip_keys) {
		/* Once for the report, not once per lineage: the certificates
		 * below are judged, their keys were not read. */
		char *m = xasprintf("%s: the private keys were not checked: they are sealed in the store "
				    "and no --store-seal was given", r->certs_dir);
		push_problem(&r->warnings, &r->n_warnings, RC_KEY_NOT_CHECKED, m,
			     "give --store-seal FILE (the fleet's seal key) to check that each key opens and "
			     "belongs to its certificate; the certificates are checked without it");
		free(m);
		r->keys_unchecked = true;
	}
}

/* Collect from an open store (the names are valid). */
static void collect(struct report *r, struct certstore *cs, char *const *names, size_t n_names,
		    const struct report_options *opt)
{
	struct gpc_error e;
	char **listed = NULL;
	size_t n_listed = 0;
	char *const *todo = names;
	size_t n_todo = n_names;
	static char *const def[] = { (char *)CERTSTORE_DEFAULT };

	gpc_error_clear(&e);
	r->shared = certstore_shared(cs);
	if (n_names == 0) {
		if (certstore_list(cs, &listed, &n_listed, &e) != 0) {
			problem_set(&r->dir_problem, e.code, e.message, e.hint);
			r->deferred = unreachable(&e); /* only a shared store is ever unreachable */
			return;
		}
		todo = listed;
		n_todo = n_listed;
		if (n_listed == 0) {
			/* an empty certs dir: the certificate the proxy expects is missing */
			todo = def;
			n_todo = 1;
		}
	}
	r->dir_ok = true;
	store_warnings(r, cs, opt);

	/* One shared lock for the whole run (not per lineage). A writer busy
	 * for more than a moment (an ACME order) must not block check: read
	 * without it then, the rename order keeps each file whole. (In etcd a
	 * shared lock is nothing: each pair is one value.) */
	if (certstore_lock(cs, false, 2, &e) != 0)
		gpc_debug("%s; reading without the store lock", e.message);

	r->entries = calloc(n_todo ? n_todo : 1, sizeof(*r->entries));
	if (r->entries == NULL)
		abort();
	collect_all(cs, todo, n_todo, opt, r);
	r->n_entries = n_todo;
	/* The ledger is shared by all lineages: counted on this thread. */
	if (opt->detail) {
		for (size_t i = 0; i < n_todo; i++)
			count_issuances(cs, &r->entries[i]);
		report_ledger_drop();
	}
	certstore_unlock(cs);
	certstore_names_free(listed, n_listed);
}

int report_collect(struct report *r, const char *dir, char *const *names, size_t n_names,
		   const struct report_options *opt, struct gpc_error *err)
{
	struct certstore *cs = NULL;
	struct gpc_error e;

	if (collect_begin(r, dir, names, n_names, err) != 0)
		return -1;
	gpc_error_clear(&e);
	if (certstore_open(dir, &cs, &e) != 0) {
		problem_set(&r->dir_problem, e.code, e.message, e.hint);
		return 0;
	}
	collect(r, cs, names, n_names, opt);
	certstore_free(cs);
	return 0;
}

int report_collect_store(struct report *r, struct certstore *cs, char *const *names, size_t n_names,
			 const struct report_options *opt, struct gpc_error *err)
{
	struct report_options o = *opt;

	if (collect_begin(r, certstore_dir(cs), names, n_names, err) != 0)
		return -1;
	if (certstore_shared(cs))
		o.store_url = certstore_dir(cs);
	collect(r, cs, names, n_names, &o);
	return 0;
}


bool report_deferred(const struct report *r)
{
	if (r->deferred)
		return true;
	for (size_t i = 0; i < r->n_entries; i++)
		if (r->entries[i].deferred)
			return true;
	return false;
}


/* ---- for check --connect (connect.c): a served chain judged like a stored one ---- */

void report_judge_chain(struct report_entry *e, const struct x509_chain *chain,
			const struct report_options *opt, time_t now)
{
	judge_cert(e, chain, false, opt, 0, now);
}

void report_entry_finish(struct report_entry *e)
{
	entry_finish(e);
	memset(e, 0, sizeof(*e));
}

void report_problem_finish(struct report_problem *p)
{
	problem_finish(p);
}

/* judge: what check and status know about each lineage, collected once
 * from a store (a certs directory, or etcd: certstore.h) and judged (states,
 * problems, warnings, due times, the ACME side from the stored settings and
 * the ledger). The library part of check/status: it never prints; the CLI
 * renders a struct report (cmd/goproxy-cert/report.h: text, JSON,
 * Prometheus) and turns it into an exit code. */
#ifndef GPC_JUDGE_H
#define GPC_JUDGE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "certstore.h"
#include "error.h"

struct lineage;

enum report_state {
	RS_OK = 0,
	RS_DUE,
	RS_MISMATCH,
	RS_REVOKED,       /* `revoke` revoked this very certificate (stored record) */
	RS_NOT_YET_VALID,
	RS_EXPIRED,
	RS_INVALID,
	RS_UNREADABLE,
	RS_MISSING,
	RS__COUNT
};

/* "ok", "due", "expired", "not-yet-valid", "missing", "unreadable",
 * "invalid", "mismatch", "revoked". */
const char *report_state_name(enum report_state s);

struct report_problem {
	const char *code; /* static: GPC_E_*, X509_E_* or a report code */
	char *message;    /* "FILE: cause" (in a shared store: the entry's name) */
	char *hint;       /* the fix; may be "" */
};

struct report_entry {
	char *name;
	enum report_state state;
	char *cert_path;        /* in a shared store: the entry's name (certstore_paths) */
	char *key_path;
	bool deferred;          /* it could not be read: the store is unreachable (try later) */

	bool have_cert;         /* the certificate parsed: the fields below are set */
	char **domains;
	size_t n_domains;
	time_t not_before;
	time_t not_after;
	long long seconds_left; /* not_after - now (negative when expired) */
	time_t due_at;
	const char *due_rule;   /* POLICY_RULE_* */
	char *issuer;           /* RFC 4514 DN */
	char *subject;
	char serial[81];
	char key_type[24];      /* of the certificate's public key */
	char fingerprint[65];
	size_t chain_length;

	int cert_mode;          /* permission bits, -1 unknown */
	int key_mode;

	/* From the ACME side (.state/lineages/NAME.json, .state/ledger.json,
	 * read through lib/core/lineage.c and lib/core/ledger.c), filled for status
	 * (report_options.detail). NULL / 0 / -1 mean unknown (JSON null). */
	char *ca_url;
	time_t last_attempt;
	char *last_result;
	time_t next_renewal;
	time_t next_attempt;    /* when renew will next try: the later of next_renewal,
	                         * this lineage's back-off and the CA's Retry-After; 0 unknown */
	long issuances_168h;
	struct lineage *lineage; /* its stored settings (status only), or NULL; owned */

	struct report_problem *problems; /* decide the state */
	size_t n_problems;
	struct report_problem *warnings; /* do not change the state */
	size_t n_warnings;
};

struct report_options {
	long days;                   /* --days N, or -1 */
	const char *const *domains;  /* --domain set (NULL: no name check) */
	size_t n_domains;
	bool detail;                 /* status: file modes, ACME fields */
	bool skip_keys;              /* a shared store read without its seal key: the
	                              * certificates only (certstore_read_cert); the keys
	                              * are said not checked (report.keys_unchecked) */
	const char *store_url;       /* set by report_collect_store: the hints name it */
};

struct report {
	char *certs_dir;             /* the directory, or the store's URL */
	time_t checked_at;
	bool shared;                 /* a shared store (etcd), not a certs directory */
	bool keys_unchecked;         /* report_options.skip_keys: no key was read */
	bool deferred;               /* the store could not be reached: dir_problem says why */
	bool dir_ok;                 /* the certs dir (store) could be opened and listed */
	struct report_problem dir_problem;      /* when !dir_ok */
	struct report_problem *warnings;        /* about the certs dir as a whole */
	size_t n_warnings;
	struct report_entry *entries;
	size_t n_entries;
	struct json_object *alerts;  /* status: undelivered alerts (issue 29), shown by
	                              * report_print_json when set; the caller's */
};

/* Collect the report for `dir` (already resolved): the named lineages, or
 * every lineage on disk (the "default" one reported missing when there is
 * none at all). An unusable certs dir is not a failure of this call: it
 * sets dir_ok = false and dir_problem. Returns 0, or -1 only when a name is
 * invalid (err says which) or memory runs out. Free with report_finish. */
int report_collect(struct report *r, const char *dir, char *const *names, size_t n_names,
		   const struct report_options *opt, struct gpc_error *err)
	__attribute__((warn_unused_result));
void report_finish(struct report *r);

/* As report_collect, from a store already open (storeopt_open: a certs
 * directory or etcd; not freed here). One collector for every store: where
 * the backend offers certstore_read_files (a certs directory) each file is
 * read and judged on its own (modes, dangling links, a pending interrupted
 * write); elsewhere (a shared store) each pair is read through
 * certstore_read_pair (certstore_read_cert with skip_keys), messages name
 * the store's entries, and an unreachable store sets `deferred` (on the
 * report, or on the entries it could not read). The store-wide warnings
 * come from the backend's operations (certstore_unwritable,
 * certstore_ephemeral). */
int report_collect_store(struct report *r, struct certstore *cs, char *const *names, size_t n_names,
			 const struct report_options *opt, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* True when the store, or a lineage in it, could not be reached (status
 * then exits 75: what it printed is incomplete). */
bool report_deferred(const struct report *r);

/* For the renderers: "89 days" / "5 hours" / ... for |secs| into out; the
 * words for a POLICY_RULE_*; how renew will answer the CA for a lineage's
 * stored settings ("dns-01 through cloudflare", never a provider's
 * options; returns out); true when the names renew will order differ from
 * the certificate's. */
void report_human_left(long long secs, char *out, size_t outsz);
const char *report_rule_text(const char *rule);
const char *report_describe_challenge(const struct lineage *l, char *out, size_t outsz);
bool report_names_differ(const struct report_entry *e);

/* ---- for check --connect (cmd/goproxy-cert/connect.c) ---- */

struct x509_chain;
struct json_object;

/* Judge a chain that is not in the store (one a server served) as
 * collect_entry judges a stored one: fill the certificate fields, the dates
 * (expired, not yet valid), the --domain set, the due rule (no ARI time),
 * and the no-intermediates warning. `e` must be zeroed, with name and
 * cert_path (the label messages start with) set, malloc'd; it owns what is
 * added. Free with report_entry_finish. */
void report_judge_chain(struct report_entry *e, const struct x509_chain *chain,
			const struct report_options *opt, time_t now);
void report_entry_finish(struct report_entry *e);

#endif

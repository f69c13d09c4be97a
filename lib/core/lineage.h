/* lineage: how to renew one certificate, kept in DIR/.state/lineages/NAME.json
 * so that `renew` needs no options: the name set, the CA, the challenge type
 * and solver, the key type, hooks, and the ARI (RFC 9773) data. */
#ifndef GPC_LINEAGE_H
#define GPC_LINEAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certstore.h"
#include "error.h"

#define LINEAGE_MAX_NAMES 100 /* Let's Encrypt's limit of names per certificate */

struct lineage {
	char *name;          /* lineage name ("default" or a path component) */
	char **names;        /* normalised identifiers: lower case, sorted, unique */
	size_t n_names;
	char *ca_url;        /* ACME directory URL */
	char *ca_bundle;     /* --ca-bundle FILE, or NULL */
	char *email;         /* contact, or NULL */
	char *challenge;     /* "http-01", "dns-01", "tls-alpn-01", or NULL (any) */
	char *solver;        /* "http-dir", "webroot", "standalone", "hook", or NULL (auto) */
	char *solver_arg;    /* webroot DIR, ADDR:PORT, hook PROGRAM, or NULL */
	char *key_type;      /* "ec256" ... "rsa4096" */
	bool reuse_key;
	char *profile;       /* ACME profile name, or NULL */
	char *preferred_chain; /* issuer CN, or NULL */
	char *deploy_hook;   /* sh -c command, or NULL */
	char *copy_cert, *copy_key; /* GoDoxy extra: cert_path/key_path of its own: the pair is
	                             * also written there after each issuance (absolute), or NULL */
	int days;            /* --days N used for this lineage, 0 = policy default */
	int hook_timeout;    /* --hook-timeout SECONDS for its hooks, 0 = the default (5 min) */

	/* dns-01 (issue --dns PROVIDER): the provider and its options, the
	 * propagation check. Secret options are kept apart, in
	 * .state/secrets/NAME.json (0600): lineage_load leaves them out, the
	 * issuer reads them with lineage_load_secrets. */
	char *dns_provider;       /* "rfc2136", ... or NULL */
	struct lineage_opt {
		char *key, *value;
		bool secret;
	} *dns_opts;
	size_t n_dns_opts;
	bool dns_secrets_loaded;  /* the secret values are in dns_opts (given or read) */
	char **dns_resolvers;     /* --dns-resolver ADDR[:PORT] */
	size_t n_dns_resolvers;
	int dns_timeout;          /* --dns-propagation-timeout SECONDS, 0 = default */
	int dns_wait;             /* --dns-propagation-wait SECONDS, 0 = check instead */
	bool dns_no_check;        /* --no-dns-propagation-check */
	time_t persist_until;     /* dns-persist-01: the earliest persistUntil of the records
	                           * the last validation checked, 0 = none (lasts) */

	/* ARI, RFC 9773 */
	char *ari_cert_id;   /* base64url(AKI) "." base64url(serial) of the current cert */
	char *ari_cert_sha256; /* SHA-256 fingerprint (lowercase hex) of that certificate:
	                        * an ARI time is void for any other certificate */
	time_t ari_renew_at; /* the random time chosen inside the window, 0 = none */
	time_t ari_window_start, ari_window_end;
	char *ari_explanation_url;
	time_t ari_retry_after; /* do not fetch renewalInfo again before this */

	/* the last attempt to issue, for status */
	time_t last_attempt;
	char *last_result;   /* "issued", "current", "failed", "deferred" */
	char *last_error;    /* one-line message of the last failure, or NULL */
	char *last_code;     /* its error code (GPC_E_..., e.g. "ca", "network"), or NULL */
	time_t last_issued;

	/* `revoke`: the certificate it revoked (SHA-256 of the leaf, lowercase
	 * hex), when and why; check and status say "revoked" while that very
	 * certificate is in place. */
	char *revoked_sha256;
	time_t revoked_at;
	int revoked_reason;
};

/* What one run was told about a lineage's settings (issue's or renew's
 * options, a GoDoxy autocert: entry): NULL, 0 and false leave the stored
 * value as it is. Pointers are borrowed. */
struct lineage_settings {
	char *const *names;        /* -D, normalised by lineage_apply */
	size_t n_names;
	const char *ca_url, *ca_bundle, *email, *challenge, *key_type, *profile, *preferred_chain;
	const char *deploy_hook;   /* sh -c command; its first word made absolute when a relative path */
	const char *copy_cert, *copy_key; /* made absolute */
	bool solver_set;           /* one of --http-dir, --webroot, --standalone, --hook */
	const char *solver, *solver_arg;
	bool reuse_key, no_reuse_key, no_profile, no_preferred_chain, no_deploy_hook;
	int days, hook_timeout;
	const char *cwd;           /* the run's working directory: relative paths are
	                            * made absolute against it (NULL: getcwd) */
};

/* Apply s over l (the stored settings, or a new lineage): names, CA,
 * solver, hooks, key type ...; every path (webroot, hook program, CA
 * bundle, the deploy hook's program) made absolute against s->cwd, so
 * that `renew` from cron (another working directory) finds what the user
 * named. Nothing is stored here: the issuer stores the settings with the
 * certificate they produce. Returns 0, or -1 with err (GPC_E_USAGE for a
 * bad value, naming it; GPC_E_NOMEM). */
int lineage_apply(struct lineage *l, const struct lineage_settings *s, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* The paths of l's settings that must exist before they are stored or
 * used: the webroot is a directory, a hook given by path is executable,
 * the CA bundle is readable. Returns 0, or -1 with err (GPC_E_USAGE)
 * naming the option, the path and the fix. */
int lineage_check_paths(const struct lineage *l, struct gpc_error *err) __attribute__((warn_unused_result));

/* `path` made absolute against `cwd` (NULL: the working directory) into a
 * malloc'd string (caller frees): an absolute path is copied, "." and ".."
 * components and double slashes are folded lexically. NULL on ENOMEM or
 * when the working directory cannot be read. */
char *lineage_abs_path(const char *cwd, const char *path);

/* A new empty lineage called `name` (key type ec256). Returns NULL on ENOMEM.
 * Free with lineage_free. */
struct lineage *lineage_new(const char *name);
void lineage_free(struct lineage *l);

/* Replace the name set with a normalised copy of names[0..n): lower-cased
 * (IP addresses kept as given), sorted, duplicates removed. Returns 0, or -1
 * (ENOMEM, or an empty/invalid name: err names it). */
int lineage_set_names(struct lineage *l, char *const *names, size_t n, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* True if the normalised name sets of a and b are equal. */
bool lineage_same_names(char *const *a, size_t na, char *const *b, size_t nb);

/* True if `name` (normalised) is one of l's names. */
bool lineage_has_name(const struct lineage *l, const char *name);

/* Replace a string field (*field) with a copy of value (NULL clears it).
 * Returns 0 or -1 on ENOMEM. */
int lineage_set_str(char **field, const char *value);

/* The names joined by ", " into a malloc'd string (caller frees), or NULL. */
char *lineage_names_joined(const struct lineage *l, const char *sep);

/* The lineage record of NAME named for a message, as the store shows it
 * (certstore_describe). Writes into out and returns it. */
const char *lineage_describe(const struct certstore *cs, const char *name, char *out, size_t outsz);

/* Load .state/lineages/NAME.json. Returns 0 and *out (caller frees with
 * lineage_free), or -1: err->code GPC_E_MISSING when no file exists,
 * GPC_E_INVALID naming the file when it cannot be parsed. */
int lineage_load(struct certstore *cs, const char *name, struct lineage **out,
		 struct gpc_error *err) __attribute__((warn_unused_result));

/* Read .state/secrets/NAME.json into l->dns_opts (marked secret). A
 * missing file is not an error. Returns 0 or -1. */
int lineage_load_secrets(struct certstore *cs, struct lineage *l, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Set a dns option (a copy; replaces). Returns 0 or -1 (ENOMEM). */
int lineage_set_dns_opt(struct lineage *l, const char *key, const char *value, bool secret)
	__attribute__((warn_unused_result));
/* Drop every dns option. */
void lineage_clear_dns_opts(struct lineage *l);

/* Write .state/lineages/NAME.json atomically (mode 0600); with
 * dns_secrets_loaded, the secret options to .state/secrets/NAME.json too. The caller should
 * hold the store's exclusive lock. Returns 0 or -1. */
int lineage_save(struct certstore *cs, const struct lineage *l, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Serialise to a malloc'd JSON string (caller frees), or NULL on ENOMEM.
 * Exposed for tests. */
char *lineage_to_json(const struct lineage *l);

/* Parse JSON text (from lineage_to_json). `what` names the source in errors.
 * Returns 0 and *out (caller frees) or -1. */
int lineage_from_json(const char *name, const char *text, const char *what,
		      struct lineage **out, struct gpc_error *err) __attribute__((warn_unused_result));

/* Names of all lineages with a settings file, sorted; free with
 * certstore_names_free. Returns 0 (possibly *n == 0) or -1. */
int lineage_list(struct certstore *cs, char ***names, size_t *n, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* The known lineage (with settings, or a pair in the store) closest to
 * `name`, for "did you mean ...?": a malloc'd name at most 2 edits away, or
 * NULL (none close, `name` itself exists, or the store cannot be listed). */
char *lineage_closest(struct certstore *cs, const char *name);

/* Another lineage of the store whose certificate is for exactly l's names,
 * not expired at `now`, and of l's key type (when l names one): a second
 * certificate for l would be a duplicate (a typo in -n, or a pair moved).
 * Only asked when l has no certificate of its own. Returns 1 with *holder
 * (malloc'd name) and *not_after, or 0 (none, or the store cannot be read:
 * the order then goes ahead as before). */
int lineage_duplicate_of(struct certstore *cs, const struct lineage *l, time_t now, char **holder,
			 time_t *not_after);

/* True if `s` is a wildcard name ("*.example.org"). */
bool lineage_is_wildcard(const char *s);

/* True if `s` is an IPv4 or IPv6 address literal (RFC 8738 identifier). */
bool lineage_is_ip(const char *s);

#endif

/* acme: an RFC 8555 client over http (libcurl) + jws + json-c.
 *
 * One struct acme_client per thread: it holds the directory, one http client
 * (one reused connection), the account key and URL (kid), and a nonce pool.
 * Several clients may share connections via http_share (see acme_options).
 * The library never prints: progress goes to gpc_log, failures to gpc_error.
 *
 * Errors from the CA: the problem document (RFC 8555 §6.7, RFC 7807) is kept
 * in the client (acme_last_problem) and summarised into gpc_error:
 *   code GPC_E_CA, message "CA refused <step>: <detail> (<type>)[; <ident>: <detail>]...",
 *   code GPC_E_RATELIMIT for urn:...:rateLimited, HTTP 429 and 503 with
 *   err->retry_after set from Retry-After (unix time; 0 if the CA gave none).
 * Network errors are GPC_E_NETWORK / GPC_E_TLS as in http.h. */
#ifndef GPC_ACME_H
#define GPC_ACME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"
#include "http.h"
#include "jws.h"

#define ACME_LE_PRODUCTION "https://acme-v02.api.letsencrypt.org/directory"
#define ACME_LE_STAGING "https://acme-staging-v02.api.letsencrypt.org/directory"
#define ACME_ERR_PREFIX "urn:ietf:params:acme:error:"

/* ---- problem documents (RFC 8555 §6.7) -------------------------------- */

struct acme_subproblem {
	char *type;     /* full URN */
	char *detail;   /* may be NULL */
	char *id_type;  /* identifier.type ("dns"/"ip"), may be NULL */
	char *id_value; /* identifier.value, may be NULL */
};

struct acme_problem {
	char *type;   /* full URN, e.g. "urn:ietf:params:acme:error:badNonce"; NULL if none */
	char *detail; /* may be NULL */
	int status;   /* "status" member, else 0 */
	char *instance; /* may be NULL */
	struct acme_subproblem *sub;
	size_t n_sub;
};

/* Parse a problem JSON document. Returns 0 (fills *p; free with
 * acme_problem_finish) or -1 if it is not a JSON object. Missing members are NULL. */
int acme_problem_parse(const char *json, size_t len, struct acme_problem *p)
	__attribute__((warn_unused_result));
void acme_problem_finish(struct acme_problem *p);

/* True if p->type is ACME_ERR_PREFIX + `name` (e.g. "badNonce",
 * "alreadyReplaced", "rateLimited", "accountDoesNotExist"). */
bool acme_problem_is(const struct acme_problem *p, const char *name);

/* Write the problem into err as described above; `step` names what was being
 * done ("newOrder", "challenge for example.com"...). http_status and
 * retry_after (unix time or 0) come from the response. Returns -1. */
int acme_problem_to_error(const struct acme_problem *p, const char *step, long http_status,
			  time_t retry_after, struct gpc_error *err);

/* ---- directory (RFC 8555 §7.1.1) ---------------------------------------- */

struct acme_profile {
	char *name;
	char *description; /* may be NULL */
};

struct acme_directory {
	char *new_nonce, *new_account, *new_order, *revoke_cert, *key_change; /* required */
	char *new_authz;      /* optional, NULL */
	char *renewal_info;   /* RFC 9773 ARI, NULL if absent */
	char *terms_of_service; /* meta.termsOfService, NULL if absent */
	char *website;        /* meta.website */
	bool external_account_required; /* meta.externalAccountRequired */
	struct acme_profile *profiles; /* meta.profiles (draft-aaron-acme-profiles) */
	size_t n_profiles;
	char *caa_identity;   /* meta.caaIdentities[0] (the issuer domain name), NULL if absent */
};

/* Parse a directory object. Returns 0 or -1 (err GPC_E_CA naming `url` when
 * it is not JSON or lacks a required URL). Free with acme_directory_finish. */
int acme_directory_parse(const char *json, size_t len, const char *url,
			 struct acme_directory *d, struct gpc_error *err)
	__attribute__((warn_unused_result));
void acme_directory_finish(struct acme_directory *d);
/* Deep copy. Returns 0 or -1 (out of memory). */
int acme_directory_copy(const struct acme_directory *src, struct acme_directory *dst)
	__attribute__((warn_unused_result));
/* True if the directory lists profile `name`. */
bool acme_directory_has_profile(const struct acme_directory *d, const char *name);

/* ---- client ----------------------------------------------------------- */

struct acme_options {
	const char *directory_url; /* required */
	const char *ca_bundle;     /* NULL: system trust store */
	struct http_share *share;  /* NULL or shared pool (one client per thread) */
	long timeout_ms;           /* per request; 0: 60 s */
	int max_poll_secs;         /* bounded total wait when polling; 0: 300 */
	int max_retries;           /* badNonce / 503 / network retries; 0: 5 */
};

struct acme_client;

/* Create a client. No network access yet. Returns 0 and *out (free with
 * acme_client_free), or -1. */
int acme_client_new(const struct acme_options *o, struct acme_client **out,
		    struct gpc_error *err) __attribute__((warn_unused_result));
void acme_client_free(struct acme_client *c);

/* Fetch and parse the directory (GET directory_url), once; later calls return
 * the cached one. Returns 0 or -1. */
int acme_directory_fetch(struct acme_client *c, struct gpc_error *err)
	__attribute__((warn_unused_result));
/* Use an already fetched directory (copied) instead of fetching it, e.g. for
 * a second client in another thread. Returns 0 or -1 (out of memory). */
int acme_client_set_directory(struct acme_client *c, const struct acme_directory *d)
	__attribute__((warn_unused_result));
/* The directory, or NULL before acme_directory_fetch / set_directory. */
const struct acme_directory *acme_client_directory(const struct acme_client *c);

/* Set the account key (PEM; copied into a jws_key) and optionally the account
 * URL (kid; NULL if not known yet). Returns 0 or -1. */
int acme_client_set_account(struct acme_client *c, const char *key_pem, size_t key_len,
			    const char *kid, struct gpc_error *err) __attribute__((warn_unused_result));
/* Account URL (kid), or NULL before account_new/lookup or set_account. */
const char *acme_client_kid(const struct acme_client *c);
/* The account key (owned by the client), or NULL. */
const struct jws_key *acme_client_key(const struct acme_client *c);

/* The last problem document the CA sent (valid until the next request), or
 * NULL when the last failure carried none. */
const struct acme_problem *acme_last_problem(const struct acme_client *c);

/* Request / new-connection counters since acme_client_new. */
void acme_client_stats(const struct acme_client *c, struct http_stats *out);

/* Low level, for what is not covered below: signed POST (RFC 8555 §6.2) with
 * `payload` JSON (NULL = POST-as-GET, §6.3), signed with kid (or the JWK if
 * no kid is set yet). Handles nonces, badNonce retries (§6.5, with the nonce
 * the error response carries), 503/network retries with back-off (POST-as-GET
 * only), and problem documents (status >= 400 returns -1 with err set).
 * Returns 0 and the response in *r (caller: http_response_finish). */
int acme_post(struct acme_client *c, const char *url, const char *payload, const char *step,
	      struct http_response *r, struct gpc_error *err) __attribute__((warn_unused_result));

/* ---- account (RFC 8555 §7.3) ----------------------------------------- */

struct acme_account {
	char *url;     /* the kid */
	char *status;  /* "valid", "deactivated", "revoked" */
	char **contact; /* "mailto:..." */
	size_t n_contact;
	char *orders;  /* may be NULL */
};
void acme_account_finish(struct acme_account *a);

struct acme_account_opts {
	const char *const *contact; /* e.g. "mailto:a@example.com"; plain addresses get "mailto:" */
	size_t n_contact;
	bool agree_tos;             /* termsOfServiceAgreed */
	const char *eab_kid;        /* External Account Binding (§7.3.4) or NULL */
	const char *eab_hmac;       /* base64url HMAC key; secret */
};

/* newAccount: create (or find: a CA returns 200 for an existing key) the
 * account for the client's key. On success the client's kid is set.
 * *created (if non-NULL) is true when the CA answered 201. When the directory
 * says externalAccountRequired and no EAB is given: GPC_E_USAGE with a hint
 * naming --eab-kid/--eab-hmac. Returns 0 (fills *out if non-NULL) or -1. */
int acme_account_new(struct acme_client *c, const struct acme_account_opts *o,
		     struct acme_account *out, bool *created, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* newAccount with onlyReturnExisting (§7.3.1): find the account URL for the
 * client's key. Returns 0 (kid set, *out filled if non-NULL), 1 when the CA
 * has no account for this key (accountDoesNotExist), or -1. */
int acme_account_lookup(struct acme_client *c, struct acme_account *out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* POST-as-GET the account. Returns 0 or -1. */
int acme_account_get(struct acme_client *c, struct acme_account *out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Replace the contact list (§7.3.2). Returns 0 or -1. */
int acme_account_update(struct acme_client *c, const char *const *contact, size_t n_contact,
			struct acme_account *out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Key rollover (§7.3.5) to `new_key_pem`. On success the client signs with
 * the new key from now on (the caller must store the new key). Returns 0 or -1
 * (the old key stays in use). */
int acme_account_rollover(struct acme_client *c, const char *new_key_pem, size_t new_key_len,
			  struct gpc_error *err) __attribute__((warn_unused_result));

/* Deactivate the account (§7.3.6). Irreversible. Returns 0 or -1. */
int acme_account_deactivate(struct acme_client *c, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* ---- orders, authorizations, challenges (RFC 8555 §7.4, §7.5) --------- */

struct acme_identifier {
	char *type;  /* "dns" or "ip" */
	char *value;
};

struct acme_order {
	char *url;            /* from Location of newOrder */
	char *status;         /* pending, ready, processing, valid, invalid */
	time_t expires;       /* 0 if absent */
	struct acme_identifier *identifiers;
	size_t n_identifiers;
	char **authorizations;
	size_t n_authorizations;
	char *finalize;
	char *certificate;    /* when valid */
	char *profile;        /* may be NULL */
	char *replaces;       /* may be NULL */
	struct acme_problem error; /* error.type NULL if none */
};
void acme_order_finish(struct acme_order *o);

struct acme_order_opts {
	const char *const *names; /* DNS names (wildcards allowed) and IP addresses */
	size_t n_names;
	const char *profile;  /* NULL, or a profile the directory lists (else GPC_E_USAGE) */
	const char *replaces; /* NULL, or the ARI certificate identifier (RFC 9773 §5) */
};

/* newOrder (§7.4). Identifier types are chosen by keygen_ident_type. With
 * `replaces`, a CA answer of alreadyReplaced fails with GPC_E_CA and
 * acme_problem_is(acme_last_problem(c), "alreadyReplaced"): retry without it.
 * Returns 0 and *o (caller: acme_order_finish), or -1. */
int acme_order_new(struct acme_client *c, const struct acme_order_opts *opt,
		   struct acme_order *o, struct gpc_error *err) __attribute__((warn_unused_result));

/* POST-as-GET the order at o->url, refreshing *o. Returns 0 or -1. */
int acme_order_refresh(struct acme_client *c, struct acme_order *o, struct gpc_error *err)
	__attribute__((warn_unused_result));

struct acme_challenge {
	char *type;   /* "http-01", "dns-01", "tls-alpn-01", ... */
	char *url;
	char *token;  /* may be NULL for unknown types */
	char *status; /* pending, processing, valid, invalid */
	struct acme_problem error; /* error.type NULL if none */
	/* dns-persist-01 (draft-ietf-acme-dns-persist): "issuer-domain-names",
	 * and "accounturi" when the CA sends it (NULL otherwise) */
	char **issuers;
	size_t n_issuers;
	char *account_uri;
};

struct acme_authz {
	char *url;
	char *status; /* pending, valid, invalid, deactivated, expired, revoked */
	struct acme_identifier identifier;
	bool wildcard;
	time_t expires;
	struct acme_challenge *challenges;
	size_t n_challenges;
};
void acme_authz_finish(struct acme_authz *a);

/* POST-as-GET an authorization. Returns 0 and *a (caller: acme_authz_finish) or -1. */
int acme_authz_get(struct acme_client *c, const char *url, struct acme_authz *a,
		   struct gpc_error *err) __attribute__((warn_unused_result));

/* The challenge of `type` in a, or NULL. */
const struct acme_challenge *acme_authz_challenge(const struct acme_authz *a, const char *type);

/* Key authorization token "." thumbprint (§8.1). Returns malloc'd string
 * (caller frees) or NULL (no account key / out of memory). */
char *acme_key_authorization(const struct acme_client *c, const char *token)
	__attribute__((warn_unused_result));

/* dns-01 TXT value: base64url(SHA-256(key_authorization)) (§8.4). Returns
 * malloc'd string (caller frees) or NULL. */
char *acme_dns01_txt(const char *key_authorization) __attribute__((warn_unused_result));

/* dns-account-01 (draft-ietf-acme-dns-account-label): the record name
 * "_LABEL._acme-challenge.NAME" (a leading "*." removed, no trailing dot),
 * LABEL the lowercase base32 (no padding) of the first 10 bytes of
 * SHA-256(account_url). Malloc'd or NULL. */
char *acme_dns_account_name(const char *account_url, const char *ident) __attribute__((warn_unused_result));

/* "_acme-challenge.NAME" with a leading "*." removed. Malloc'd, caller frees. */
char *acme_dns01_name(const char *ident) __attribute__((warn_unused_result));

/* Tell the CA the challenge is ready: POST {} to its URL (§7.5.1).
 * Returns 0 or -1. */
int acme_challenge_respond(struct acme_client *c, const char *challenge_url,
			   struct gpc_error *err) __attribute__((warn_unused_result));

/* Poll an authorization until it leaves "pending", honouring Retry-After and
 * a bounded total wait (acme_options.max_poll_secs). Refreshes *a.
 * Returns 0 when "valid"; -1 otherwise: invalid -> GPC_E_CA with the failed
 * challenge's problem (its detail names what the CA saw) and
 * acme_last_problem set to it; timeout -> GPC_E_CA "still pending after N s". */
int acme_authz_poll(struct acme_client *c, struct acme_authz *a, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Deactivate an authorization (§7.5.2), e.g. after a failure. Returns 0 or -1. */
int acme_authz_deactivate(struct acme_client *c, const char *url, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Poll the order until its status is `want` ("ready" or "valid") or a final
 * state, within the bounded wait. Returns 0 on `want`, -1 otherwise (invalid:
 * the order's problem). */
int acme_order_poll(struct acme_client *c, struct acme_order *o, const char *want,
		    struct gpc_error *err) __attribute__((warn_unused_result));

/* Finalize (§7.4) with a DER CSR (keygen_csr der=1), then poll until the
 * order is "valid" (certificate URL known). Returns 0 or -1. */
int acme_order_finalize(struct acme_client *c, struct acme_order *o, const unsigned char *csr_der,
			size_t csr_len, struct gpc_error *err) __attribute__((warn_unused_result));

/* Download the certificate chain (§7.4.2, application/pem-certificate-chain).
 * preferred_chain: NULL, or an issuer CN: if the default chain's topmost
 * issuer CN is not it, the Link rel="alternate" chains are fetched and the
 * first whose topmost issuer CN (else any certificate's issuer CN) matches is
 * taken; no match keeps the default (logged). Returns 0 and a malloc'd PEM
 * chain, leaf first (caller frees), or -1. */
int acme_certificate_download(struct acme_client *c, const char *url, const char *preferred_chain,
			      char **pem, size_t *len, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Revoke (§7.6) a certificate (PEM or DER; the leaf is used), signed by the
 * account key (kid). reason: RFC 5280 CRLReason code, or -1 to omit.
 * Returns 0 or -1 (e.g. alreadyRevoked: GPC_E_CA). */
int acme_revoke(struct acme_client *c, const unsigned char *cert, size_t cert_len, int reason,
		struct gpc_error *err) __attribute__((warn_unused_result));

/* ---- ARI, RFC 9773 ---------------------------------------------------- */

/* Certificate identifier (RFC 9773 §4.1):
 * base64url(AKI keyIdentifier) "." base64url(serial number DER content bytes).
 * cert: PEM (leaf = first) or DER. Returns 0 and a malloc'd string (caller
 * frees), or -1 (no AKI: GPC_E_INVALID). */
int acme_ari_cert_id(const unsigned char *cert, size_t cert_len, char **id,
		     struct gpc_error *err) __attribute__((warn_unused_result));

struct acme_renewal_info {
	time_t start, end;     /* suggestedWindow */
	char *explanation_url; /* may be NULL */
	time_t retry_after;    /* when to ask again (unix time); 0 if not given */
};
void acme_renewal_info_finish(struct acme_renewal_info *ri);

/* Parse a RenewalInfo JSON object (§4.2). Returns 0 or -1 (missing/invalid
 * window, end <= start: GPC_E_CA). retry_after is left 0. */
int acme_ari_parse(const char *json, size_t len, struct acme_renewal_info *ri,
		   struct gpc_error *err) __attribute__((warn_unused_result));

/* GET renewalInfo/CERT_ID (unauthenticated, §4.2). Needs the directory's
 * renewalInfo (else GPC_E_CA "no ARI"). Sets ri->retry_after from
 * Retry-After (clamped to [1 minute, 1 day] per §4.3; 6 hours if absent).
 * One attempt, no retries (the information is advisory; ask again later).
 * Returns 0 or -1. */
int acme_ari_fetch(struct acme_client *c, const char *cert_id, struct acme_renewal_info *ri,
		   struct gpc_error *err) __attribute__((warn_unused_result));

/* A uniformly random time in [start, end) (RFC 9773 §4.2); if the window is
 * already past at `now`, returns now. */
time_t acme_ari_pick(const struct acme_renewal_info *ri, time_t now);

/* Parse an order (RFC 8555 §7.1.3), authorization (§7.1.4, with its
 * challenges, §8) or account (§7.1.2) object from JSON text, as the network
 * calls do with the CA's answers. `url` is copied into the object (may be
 * NULL). Returns 0 (caller: acme_order_finish / acme_authz_finish /
 * acme_account_finish) or -1 when the text is not a JSON object. */
int acme_order_parse(const char *json, size_t len, const char *url, struct acme_order *o);
int acme_authz_parse(const char *json, size_t len, const char *url, struct acme_authz *a);
int acme_account_parse(const char *json, size_t len, const char *url, struct acme_account *a);

#endif

/* account: the operations on a CA's ACME account (RFC 8555 §7.3) kept in
 * the store under accounts/<CA>/ (key.pem, account.json): show, update the
 * contact (registering if needed), key rollover, deactivation. The account
 * subcommand only parses options and prints what these return. */
#ifndef GPC_ACCOUNT_H
#define GPC_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "acme.h"
#include "error.h"
#include "issue.h"

/* The CA's directory URL, by one rule for every subcommand that chooses a
 * CA (issue, account, persist-record): `flag` (--server) if given, else Let's Encrypt's
 * staging CA with `staging`, else $GOPROXY_CERT_SERVER if set and not
 * empty, else `stored` (the lineage's CA; may be NULL), else Let's
 * Encrypt. renew and revoke act on each lineage's stored CA (renew
 * --server changes it). Returns one of the strings given, the
 * environment's or a static string. */
const char *account_ca_url(const char *flag, bool staging, const char *stored);

/* Whether env's store keeps an account key for the CA at url. Returns 1
 * (stored), 0 (none), or -1 (the store could not say, or url makes no
 * account name; err). */
int account_key_stored(struct issue_env *env, const char *url, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* An open account of one CA: the client on the stored key and URL. */
struct account;

/* What an account open needs: the CA's directory URL (required), the trust
 * anchors for its HTTPS (NULL: the system's), the contact and the EAB
 * credentials for a registration (each may be NULL). */
struct account_params {
	const char *server;
	const char *ca_bundle;
	const char *email;
	const char *eab_kid;
	const char *eab_hmac;
};

/* Open the account of p->server on env's store: the stored key, else (when
 * `create`) a new key and a registration. Returns 0 and *out (free with
 * account_close), or -1 (err: e.g. GPC_E_MISSING when there is no account
 * and `create` is false). */
int account_open(struct issue_env *env, const struct account_params *p, bool create, struct account **out,
		 struct gpc_error *err) __attribute__((warn_unused_result));
void account_close(struct account *a);

/* The account URL (kid) and the CA's directory URL; owned by `a`. */
const char *account_url(const struct account *a);
const char *account_server(const struct account *a);
/* The ACME client of the account, for the library's own requests (e.g.
 * the directory's issuer domain); owned by `a`. */
struct acme_client *account_client(const struct account *a);

/* The account as the CA has it (POST-as-GET). Fills *out (free with
 * account_info_finish). Returns 0 or -1. */
int account_show(struct account *a, struct acme_account *out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Set the contact to `email` (NULL: none). Fills *out as account_show.
 * Returns 0 or -1. */
int account_update(struct account *a, const char *email, struct acme_account *out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Free what account_show/account_update filled in. */
void account_info_finish(struct acme_account *info);

/* RFC 8555 §7.3.5: replace the account key under the store lock. The new
 * key is stored as key-next.pem before the CA switches to it, then becomes
 * key.pem; the old key is kept as key-old-<UTC>.pem. On success `archived`
 * gets the old key's record name for messages (certstore_describe). On a
 * failure after the CA switched, err's hint names where the new key is and
 * where it belongs. Returns 0 or -1. */
int account_rollover(struct account *a, char *archived, size_t archivedsz, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Deactivate the account for good (§7.3.6). Returns 0 or -1. */
int account_deactivate(struct account *a, struct gpc_error *err) __attribute__((warn_unused_result));

#endif

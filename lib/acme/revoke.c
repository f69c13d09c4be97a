/* revoke: a lineage's certificate revoked at its CA, and the lineage
 * record updated so that check/status say "revoked" and renew replaces it. */
#include "revoke.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "acme.h"
#include "buf.h"
#include "certstore.h"
#include "lineage.h"
#include "timeutil.h"
#include "x509.h"

/* The record of the revocation: it names this very certificate (check and
 * status say "revoked" until it is replaced) and makes the lineage due now
 * (renewal time moved to now). Returns 0, or -1 with err. */
static int record_revocation(struct certstore *cs, struct lineage *l, const struct buf *cert, long reason,
			     struct gpc_error *err)
{
	struct x509_chain *rch = NULL;
	struct gpc_error perr;
	int rc = 0;

	gpc_error_clear(&perr);
	if (x509_chain_parse(l->name, cert->data, cert->len, &rch, NULL, &perr) == 0) {
		(void)lineage_set_str(&l->revoked_sha256, x509_chain_info(rch, 0)->fingerprint_sha256);
		l->revoked_at = time_now();
		l->revoked_reason = reason < 0 ? 0 : (int)reason;
	}
	x509_chain_free(rch);
	l->days = 0;
	(void)lineage_set_str(&l->last_result, "revoked");
	l->last_attempt = time_now();
	if (certstore_lock(cs, true, 60, err) == 0) {
		l->ari_renew_at = time_now() - 1;
		rc = lineage_save(cs, l, err);
		certstore_unlock(cs);
	}
	return rc;
}

int revoke_lineage(struct issue_env *env, const char *name, const char *ca_bundle, long reason,
		   struct gpc_error *err)
{
	struct lineage *l = NULL;
	struct acme_client *c = NULL;
	struct buf cert, key;
	char rec[PATH_MAX];
	int rc = -1;

	buf_init(&cert, CERTSTORE_MAX_FILE);
	buf_init(&key, CERTSTORE_MAX_FILE);
	if (lineage_load(env->cs, name, &l, err) != 0) {
		if (err->code && strcmp(err->code, GPC_E_MISSING) == 0) {
			gpc_error_set(err, GPC_E_MISSING, "%s: no stored settings, so the CA and account are unknown",
				      name);
			char *close = lineage_closest(env->cs, name);
			if (close != NULL)
				gpc_error_hint(err, "did you mean '%s'?", close);
			else
				gpc_error_hint(err, "revoke only what goproxy-cert issued (its %s)",
					       lineage_describe(env->cs, name, rec, sizeof(rec)));
			free(close);
		}
		goto out;
	}
	if (ca_bundle && lineage_set_str(&l->ca_bundle, ca_bundle) != 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	if (certstore_read_pair(env->cs, name, &cert, &key, err) != 0)
		goto out;
	rc = -2;
	if (issue_account_client(env, l->ca_url, l->ca_bundle, NULL, NULL, NULL, false, &c, err) != 0 ||
	    acme_revoke(c, (const unsigned char *)cert.data, cert.len, (int)reason, err) != 0)
		goto out;
	rc = record_revocation(env->cs, l, &cert, reason, err) == 0 ? 0 : 1;
out:
	acme_client_free(c);
	lineage_free(l);
	buf_finish(&cert);
	if (key.data)
		gnutls_memset(key.data, 0, key.len);
	buf_finish(&key);
	return rc;
}

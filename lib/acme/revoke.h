/* revoke: revoke a lineage's certificate at its CA (RFC 8555 §7.6) with
 * the account that ordered it, and mark the lineage due. */
#ifndef GPC_REVOKE_H
#define GPC_REVOKE_H

#include "error.h"
#include "issue.h"

/* Revoke the certificate of lineage `name` in env's store at the lineage's
 * stored CA. `ca_bundle` (NULL: the lineage's) are the trust anchors for the
 * CA's HTTPS; `reason` an RFC 5280 CRLReason, or -1 for none (0 is
 * recorded). The pair stays in place (a running proxy keeps serving until a
 * new one is issued); the lineage record names the revoked certificate and
 * is due now, so the next renew replaces it.
 * Returns 0 revoked and recorded; 1 revoked, but the lineage record could
 * not be updated (err says why); -1 not revoked, failed before asking the
 * CA (err; GPC_E_MISSING when the lineage has no stored settings, so CA and
 * account are unknown); -2 the account or the CA failed (err; its code
 * says whether to retry later: issue_classify). */
int revoke_lineage(struct issue_env *env, const char *name, const char *ca_bundle, long reason,
		   struct gpc_error *err) __attribute__((warn_unused_result));

#endif

/* policy: when is a certificate due for renewal. Offline, from the dates in
 * the certificate (and an ARI-chosen time when the CA gave one).
 *
 *   ARI time set (RFC 9773 §4.2: a time chosen inside suggestedWindow)
 *                       -> due once that time has passed          rule "ari"
 *   --days N            -> due when fewer than N days are left    rule "days"
 *   lifetime > 10 days  -> due when less than 1/3 is left         rule "third-of-lifetime"
 *   lifetime <= 10 days -> due when less than 1/2 is left         rule "half-of-lifetime"
 *                          at the latest: also when an ARI time or --days
 *                          names a later time (an earlier one stays)
 *
 * 1/3 fits 90-day (due at 30 days left) and 45-day (15 days) certificates;
 * 1/2 fits 6-day ones (3 days), whose renewal needs more slack. */
#ifndef GPC_POLICY_H
#define GPC_POLICY_H

#include <stdbool.h>
#include <time.h>

#define POLICY_RULE_ARI "ari"
#define POLICY_RULE_DAYS "days"
#define POLICY_RULE_THIRD "third-of-lifetime"
#define POLICY_RULE_HALF "half-of-lifetime"

/* Lifetimes up to this many seconds use the 1/2 rule. */
#define POLICY_SHORT_LIFETIME (10L * 86400L)

struct policy_result {
	bool due;          /* now > due_at (policy_lineage_due: also now >= an ARI time
	                    * that applies, and now >= not_after) */
	time_t due_at;     /* the certificate is due once this time has passed */
	const char *rule;  /* one of POLICY_RULE_* (static string) */
};

/* Decide for a certificate valid from not_before to not_after, at `now`.
 * `days` < 0: not given. `ari_time` <= 0: no ARI time; when set it wins over
 * both other rules, except that a lifetime <= 10 days is due at half of it
 * at the latest. Fills *out; never fails. */
void policy_due(time_t not_before, time_t not_after, time_t now, long days, time_t ari_time,
		struct policy_result *out);

/* Everything the one "is it due" rule of a managed lineage looks at: the
 * leaf certificate on disk, the lineage's stored settings
 * (.state/lineages/NAME.json) and the command line. */
struct policy_input {
	time_t not_before;               /* the leaf's notBefore */
	time_t not_after;                /* the leaf's notAfter */
	const char *fingerprint_sha256;  /* the leaf's SHA-256 fingerprint, hex; NULL: unknown */
	long stored_days;                /* the lineage's "days" (issue --days), <= 0: none */
	time_t ari_renew_at;             /* the lineage's ari.renew_at, <= 0: none */
	const char *ari_cert_sha256;     /* ari.cert_sha256, NULL: not recorded */
	long override_days;              /* --days N of this command, <= 0: none */
};

/* The rule check, status, issue and renew all apply, so that check's "due"
 * is exactly what renew does:
 *   days     = override_days if > 0, else stored_days if > 0, else none;
 *   ARI time = ari_renew_at, but only when it is before not_after (a time
 *              at or after notAfter would let the certificate expire) and
 *              when ari_cert_sha256 is NULL or equals fingerprint_sha256
 *              (case-insensitive; a pair replaced by hand is not the
 *              certificate the time was chosen for; an unknown fingerprint
 *              never matches);
 *   then policy_due(not_before, not_after, now, days, ARI time), and due
 *   also once now >= the ARI time (RFC 9773 §4.2: a chosen time not in the
 *   future means renew now) or now >= not_after (expired).
 * Fills *out (due_at: the time the rule names, rule: POLICY_RULE_*); never
 * fails. Not-yet-valid certificates are the caller's concern. */
void policy_lineage_due(const struct policy_input *in, time_t now, struct policy_result *out);

#endif

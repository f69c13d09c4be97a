/* policy: when is a certificate due for renewal. Offline, from the dates in
 * the certificate (and an ARI-chosen time when the CA gave one).
 *
 *   ARI time set (RFC 9773 §4.2: a time chosen inside suggestedWindow)
 *                       -> due once that time has passed          rule "ari"
 *   --days N            -> due when fewer than N days are left    rule "days"
 *   lifetime > 10 days  -> due when less than 1/3 is left         rule "third-of-lifetime"
 *   lifetime <= 10 days -> due when less than 1/2 is left         rule "half-of-lifetime"
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
	bool due;          /* now > due_at */
	time_t due_at;     /* the certificate is due once this time has passed */
	const char *rule;  /* one of POLICY_RULE_* (static string) */
};

/* Decide for a certificate valid from not_before to not_after, at `now`.
 * `days` < 0: not given. `ari_time` <= 0: no ARI time; when set it wins over
 * both other rules. Fills *out; never fails. */
void policy_due(time_t not_before, time_t not_after, time_t now, long days, time_t ari_time,
		struct policy_result *out);

#endif

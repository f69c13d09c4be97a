#include "policy.h"

#include <stdbool.h>
#include <strings.h>

/* ceil(a / b) for a >= 0, b > 0 */
static long long ceil_div(long long a, long long b)
{
	return (a + b - 1) / b;
}

void policy_due(time_t not_before, time_t not_after, time_t now, long days, time_t ari_time,
		struct policy_result *out)
{
	long long lifetime = (long long)not_after - (long long)not_before;

	if (lifetime < 0)
		lifetime = 0;
	bool chosen = ari_time > 0 || days >= 0; /* a time named by ARI or --days */

	if (ari_time > 0) {
		out->rule = POLICY_RULE_ARI;
		out->due_at = ari_time;
	} else if (days >= 0) {
		/* "fewer than N days left": not_after - now < N days */
		out->rule = POLICY_RULE_DAYS;
		out->due_at = (time_t)((long long)not_after - (long long)days * 86400LL);
	} else {
		out->rule = POLICY_RULE_THIRD;
		out->due_at = (time_t)((long long)not_after - ceil_div(lifetime, 3));
	}
	/* A short certificate is due at half its lifetime at the latest, also
	 * when an ARI time or --days names a later one (Let's Encrypt: renew
	 * certificates of under 10 days at half their lifetime; pebble's ARI
	 * window for a 6-day certificate starts at 2/3 of it). An earlier time
	 * (a CA asking for renewal now, --days 5 on a 6-day certificate) stays.
	 * not_after - now < lifetime / 2 <=> now > not_after - ceil(lifetime / 2) */
	if (lifetime <= POLICY_SHORT_LIFETIME) {
		time_t half = (time_t)((long long)not_after - ceil_div(lifetime, 2));

		if (!chosen || half < out->due_at) {
			out->rule = POLICY_RULE_HALF;
			out->due_at = half;
		}
	}
	out->due = now > out->due_at;
}

void policy_lineage_due(const struct policy_input *in, time_t now, struct policy_result *out)
{
	long days = in->override_days > 0 ? in->override_days : in->stored_days;
	time_t ari = in->ari_renew_at > 0 && in->ari_renew_at < in->not_after ? in->ari_renew_at : 0;

	/* The stored time was chosen for one certificate (ari.cert_sha256). */
	if (in->ari_cert_sha256 != NULL &&
	    (in->fingerprint_sha256 == NULL || strcasecmp(in->ari_cert_sha256, in->fingerprint_sha256) != 0))
		ari = 0;
	policy_due(in->not_before, in->not_after, now, days > 0 ? days : -1, ari, out);
	if ((ari > 0 && now >= ari) || now >= in->not_after)
		out->due = true;
}

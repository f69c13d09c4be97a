#include "policy.h"

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
	if (ari_time > 0) {
		out->rule = POLICY_RULE_ARI;
		out->due_at = ari_time;
	} else if (days >= 0) {
		/* "fewer than N days left": not_after - now < N days */
		out->rule = POLICY_RULE_DAYS;
		out->due_at = (time_t)((long long)not_after - (long long)days * 86400LL);
	} else if (lifetime <= POLICY_SHORT_LIFETIME) {
		/* not_after - now < lifetime / 2 <=> now > not_after - ceil(lifetime / 2) */
		out->rule = POLICY_RULE_HALF;
		out->due_at = (time_t)((long long)not_after - ceil_div(lifetime, 2));
	} else {
		out->rule = POLICY_RULE_THIRD;
		out->due_at = (time_t)((long long)not_after - ceil_div(lifetime, 3));
	}
	out->due = now > out->due_at;
}

/* policy: due rules for 90-day, 45-day and 6-day certificates, boundaries. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "policy.h"

#define DAY 86400L
static const time_t NB = 1800000000;

static void expect(time_t nb, time_t na, time_t now, long days, time_t ari, bool due,
		   time_t due_at, const char *rule)
{
	struct policy_result r;

	policy_due(nb, na, now, days, ari, &r);
	assert_int_equal(r.due, due);
	assert_int_equal(r.due_at, due_at);
	assert_string_equal(r.rule, rule);
}

static void test_90_day(void **state)
{
	time_t na = NB + 90 * DAY;

	(void)state;
	/* due when fewer than 30 days are left */
	expect(NB, na, NB, -1, 0, false, na - 30 * DAY, POLICY_RULE_THIRD);
	expect(NB, na, na - 30 * DAY, -1, 0, false, na - 30 * DAY, POLICY_RULE_THIRD);
	expect(NB, na, na - 30 * DAY + 1, -1, 0, true, na - 30 * DAY, POLICY_RULE_THIRD);
	expect(NB, na, na + 5, -1, 0, true, na - 30 * DAY, POLICY_RULE_THIRD);
}

static void test_45_day(void **state)
{
	time_t na = NB + 45 * DAY;

	(void)state;
	expect(NB, na, na - 15 * DAY, -1, 0, false, na - 15 * DAY, POLICY_RULE_THIRD);
	expect(NB, na, na - 15 * DAY + 1, -1, 0, true, na - 15 * DAY, POLICY_RULE_THIRD);
}

static void test_6_day(void **state)
{
	time_t na = NB + 6 * DAY;

	(void)state;
	/* lifetime <= 10 days: half, i.e. due with fewer than 3 days left */
	expect(NB, na, NB + 3 * DAY, -1, 0, false, na - 3 * DAY, POLICY_RULE_HALF);
	expect(NB, na, NB + 3 * DAY + 1, -1, 0, true, na - 3 * DAY, POLICY_RULE_HALF);
}

static void test_lifetime_boundary(void **state)
{
	(void)state;
	/* exactly 10 days: half; 10 days + 1 s: third */
	expect(NB, NB + 10 * DAY, NB, -1, 0, false, NB + 5 * DAY, POLICY_RULE_HALF);
	expect(NB, NB + 10 * DAY + 3, NB, -1, 0, false, NB + 10 * DAY + 3 - (10 * DAY + 3) / 3,
	       POLICY_RULE_THIRD);
	/* a lifetime not divisible by 3: due exactly when 3 * left < lifetime */
	{
		time_t na = NB + 3000; /* lifetime 3000 s -> half rule; use a long one */
		(void)na;
		time_t nb = NB, na2 = NB + 90 * DAY + 1; /* lifetime 3k+1 */
		long long L = (long long)(na2 - nb);
		struct policy_result r;
		for (long long left = L / 3 - 2; left <= L / 3 + 2; left++) {
			policy_due(nb, na2, (time_t)(na2 - left), -1, 0, &r);
			assert_int_equal(r.due, 3 * left < L);
		}
	}
}

static void test_days(void **state)
{
	time_t na = NB + 90 * DAY;

	(void)state;
	expect(NB, na, na - 10 * DAY, 10, 0, false, na - 10 * DAY, POLICY_RULE_DAYS);
	expect(NB, na, na - 10 * DAY + 1, 10, 0, true, na - 10 * DAY, POLICY_RULE_DAYS);
	/* --days wins over the lifetime rule in both directions */
	expect(NB, na, na - 40 * DAY, 60, 0, true, na - 60 * DAY, POLICY_RULE_DAYS);
	/* --days 0: due only once expired */
	expect(NB, na, na, 0, 0, false, na, POLICY_RULE_DAYS);
	expect(NB, na, na + 1, 0, 0, true, na, POLICY_RULE_DAYS);
}

static void test_ari(void **state)
{
	time_t na = NB + 90 * DAY;
	time_t ari = NB + 50 * DAY;

	(void)state;
	expect(NB, na, ari, 30, ari, false, ari, POLICY_RULE_ARI);
	expect(NB, na, ari + 1, -1, ari, true, ari, POLICY_RULE_ARI);
	/* ARI earlier than the third-of-lifetime time still wins */
	expect(NB, na, NB + 20 * DAY, -1, NB + 10 * DAY, true, NB + 10 * DAY, POLICY_RULE_ARI);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_90_day),
		cmocka_unit_test(test_45_day),
		cmocka_unit_test(test_6_day),
		cmocka_unit_test(test_lifetime_boundary),
		cmocka_unit_test(test_days),
		cmocka_unit_test(test_ari),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

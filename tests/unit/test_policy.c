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
	/* ... at the latest: an ARI time after half life (pebble's window for a
	 * 6-day certificate starts at 2/3 of it, 4 days) does not delay it */
	expect(NB, na, NB + 3 * DAY + 3600, -1, NB + 4 * DAY, true, na - 3 * DAY, POLICY_RULE_HALF);
	expect(NB, na, NB + 3 * DAY, -1, NB + 4 * DAY, false, na - 3 * DAY, POLICY_RULE_HALF);
	/* nor does --days 1 (due at 5 days) */
	expect(NB, na, NB + 3 * DAY + 1, 1, 0, true, na - 3 * DAY, POLICY_RULE_HALF);
	/* an earlier ARI time (a revoked certificate: now) or --days 5 stays */
	expect(NB, na, NB + DAY + 1, -1, NB + DAY, true, NB + DAY, POLICY_RULE_ARI);
	expect(NB, na, NB + DAY + 1, 5, 0, true, na - 5 * DAY, POLICY_RULE_DAYS);
	/* 9 days: half; 11 days: an ARI time past 1/2 applies (as for 90 days) */
	expect(NB, NB + 9 * DAY, NB + 5 * DAY, -1, NB + 6 * DAY, true, NB + 9 * DAY - (9 * DAY + 1) / 2,
	       POLICY_RULE_HALF);
	expect(NB, NB + 11 * DAY, NB + 6 * DAY, -1, NB + 7 * DAY, false, NB + 7 * DAY, POLICY_RULE_ARI);
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

/* policy_lineage_due: one row of the decision table. */
struct row {
	const char *what;
	time_t nb, na;
	long stored, override;
	time_t ari;
	const char *ari_fp;  /* ari.cert_sha256, NULL: none recorded */
	const char *leaf_fp; /* the leaf's fingerprint */
	time_t now;
	bool due;
	time_t due_at;
	const char *rule;
};

#define FP_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define FP_A_UPPER "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
#define FP_B "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

static void test_lineage_due(void **state)
{
	const time_t na = NB + 90 * DAY, na6 = NB + 6 * DAY, ari = NB + 40 * DAY;
	const struct row rows[] = {
		/* the lifetime rule: 1/3 of 90 days */
		{ "default, 61 days left", NB, na, 0, 0, 0, NULL, FP_A, na - 61 * DAY, false, na - 30 * DAY, POLICY_RULE_THIRD },
		{ "default, exactly 30 left", NB, na, 0, 0, 0, NULL, FP_A, na - 30 * DAY, false, na - 30 * DAY, POLICY_RULE_THIRD },
		{ "default, under 30 left", NB, na, 0, 0, 0, NULL, FP_A, na - 30 * DAY + 1, true, na - 30 * DAY, POLICY_RULE_THIRD },
		/* stored days (issue --days 80): the measured bug, check ignored them */
		{ "stored 80, 81 left", NB, na, 80, 0, 0, NULL, FP_A, na - 81 * DAY, false, na - 80 * DAY, POLICY_RULE_DAYS },
		{ "stored 80, exactly 80 left", NB, na, 80, 0, 0, NULL, FP_A, na - 80 * DAY, false, na - 80 * DAY, POLICY_RULE_DAYS },
		{ "stored 80, 78 left", NB, na, 80, 0, 0, NULL, FP_A, na - 78 * DAY, true, na - 80 * DAY, POLICY_RULE_DAYS },
		{ "stored 80, 50 left", NB, na, 80, 0, 0, NULL, FP_A, na - 50 * DAY, true, na - 80 * DAY, POLICY_RULE_DAYS },
		{ "stored 10, 20 left (later than 1/3)", NB, na, 10, 0, 0, NULL, FP_A, na - 20 * DAY, false, na - 10 * DAY, POLICY_RULE_DAYS },
		{ "negative stored = none", NB, na, -5, 0, 0, NULL, FP_A, na - 29 * DAY, true, na - 30 * DAY, POLICY_RULE_THIRD },
		/* --days on the command line wins over the stored days */
		{ "override 10 over stored 80", NB, na, 80, 10, 0, NULL, FP_A, na - 50 * DAY, false, na - 10 * DAY, POLICY_RULE_DAYS },
		{ "override 85 over stored 10", NB, na, 10, 85, 0, NULL, FP_A, na - 84 * DAY, true, na - 85 * DAY, POLICY_RULE_DAYS },
		{ "override 0 = none: stored", NB, na, 80, 0, 0, NULL, FP_A, na - 79 * DAY, true, na - 80 * DAY, POLICY_RULE_DAYS },
		{ "override -1 = none: lifetime", NB, na, 0, -1, 0, NULL, FP_A, na - 31 * DAY, false, na - 30 * DAY, POLICY_RULE_THIRD },
		/* an ARI time before notAfter for this certificate wins over days */
		{ "ARI, before it", NB, na, 80, 85, ari, FP_A, FP_A, ari - 1, false, ari, POLICY_RULE_ARI },
		{ "ARI, at it: due", NB, na, 0, 0, ari, FP_A, FP_A, ari, true, ari, POLICY_RULE_ARI },
		{ "ARI, after it", NB, na, 0, 0, ari, FP_A, FP_A, ari + 1, true, ari, POLICY_RULE_ARI },
		{ "ARI, fingerprint case", NB, na, 0, 0, ari, FP_A_UPPER, FP_A, ari, true, ari, POLICY_RULE_ARI },
		{ "ARI, none recorded: applies", NB, na, 0, 0, ari, NULL, FP_A, ari, true, ari, POLICY_RULE_ARI },
		/* ... but not at or after notAfter */
		{ "ARI after notAfter: lifetime", NB, na, 0, 0, na + DAY, FP_A, FP_A, na - 31 * DAY, false, na - 30 * DAY, POLICY_RULE_THIRD },
		{ "ARI at notAfter: days", NB, na, 80, 0, na, FP_A, FP_A, na - 79 * DAY, true, na - 80 * DAY, POLICY_RULE_DAYS },
		/* ... nor for another certificate (a pair replaced by hand) */
		{ "ARI of another cert: lifetime", NB, na, 0, 0, ari, FP_B, FP_A, ari + DAY, false, na - 30 * DAY, POLICY_RULE_THIRD },
		{ "ARI of another cert: days", NB, na, 80, 0, ari, FP_B, FP_A, ari + DAY, true, na - 80 * DAY, POLICY_RULE_DAYS },
		{ "ARI, leaf fingerprint unknown", NB, na, 0, 0, ari, FP_A, NULL, ari + DAY, false, na - 30 * DAY, POLICY_RULE_THIRD },
		/* expired: due whatever the rule says */
		{ "expired, at notAfter", NB, na, 0, 0, 0, NULL, FP_A, na, true, na - 30 * DAY, POLICY_RULE_THIRD },
		{ "expired, ARI in the future", NB, na + 10 * DAY, 0, 0, na + 5 * DAY, NULL, FP_A, na + 10 * DAY + 1, true, na + 5 * DAY, POLICY_RULE_ARI },
		{ "expired, override 1 past", NB, na, 0, 1, 0, NULL, FP_A, na + DAY, true, na - DAY, POLICY_RULE_DAYS },
		/* short lifetime (6 days): 1/2 */
		{ "6-day, 3 days left", NB, na6, 0, 0, 0, NULL, FP_A, NB + 3 * DAY, false, na6 - 3 * DAY, POLICY_RULE_HALF },
		{ "6-day, under 3 left", NB, na6, 0, 0, 0, NULL, FP_A, NB + 3 * DAY + 1, true, na6 - 3 * DAY, POLICY_RULE_HALF },
		{ "6-day, stored 80: always due", NB, na6, 80, 0, 0, NULL, FP_A, NB, true, na6 - 80 * DAY, POLICY_RULE_DAYS },
		{ "6-day, ARI at 4 days: half wins", NB, na6, 0, 0, NB + 4 * DAY, FP_A, FP_A, NB + 3 * DAY + 3600, true, na6 - 3 * DAY, POLICY_RULE_HALF },
		{ "6-day, ARI at 1 day: ARI wins", NB, na6, 0, 0, NB + DAY, FP_A, FP_A, NB + DAY, true, NB + DAY, POLICY_RULE_ARI },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		struct policy_input in = {
			.not_before = w->nb, .not_after = w->na, .fingerprint_sha256 = w->leaf_fp,
			.stored_days = w->stored, .ari_renew_at = w->ari, .ari_cert_sha256 = w->ari_fp,
			.override_days = w->override,
		};
		struct policy_result r = { 0 };
		policy_lineage_due(&in, w->now, &r);
		if (r.due != w->due || r.due_at != w->due_at || strcmp(r.rule, w->rule) != 0)
			fail_msg("row %zu (%s): due %d at %lld by %s, expected %d at %lld by %s", i, w->what,
				 r.due, (long long)r.due_at, r.rule, w->due, (long long)w->due_at, w->rule);
	}
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
		cmocka_unit_test(test_lineage_due),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

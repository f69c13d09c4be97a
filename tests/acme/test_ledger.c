/* ledger and lineage: the offline rate-limit guard, back-off, Retry-After,
 * JSON round trips and damaged files (no network, no pebble). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "lineage.h"

#define CA "https://ca.example/dir"
#define H 3600L
static const time_t T0 = 1800000000;

static char *set_ab[] = { "a.example.org", "b.example.org" };
static char *set_ba_upper[] = { "B.EXAMPLE.org", "a.example.org" };
static char *set_a[] = { "a.example.org" };

static void test_limits_parse(void **state)
{
	struct ledger_limits lim;
	struct gpc_error err;

	(void)state;
	assert_int_equal(ledger_limits_parse("5/168", &lim, &err), 0);
	assert_int_equal(lim.certs, 5);
	assert_int_equal(lim.window, 168 * H);
	assert_false(lim.off);
	assert_int_equal(ledger_limits_parse("off", &lim, &err), 0);
	assert_true(lim.off);
	const char *bad[] = { "", "5", "5/", "/168", "0/168", "5/0", "x/1", "5/168h", "-1/5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		gpc_error_clear(&err);
		assert_int_equal(ledger_limits_parse(bad[i], &lim, &err), -1);
		assert_string_equal(err.code, GPC_E_USAGE);
		char want[64];
		snprintf(want, sizeof(want), "'%s'", bad[i]);
		assert_non_null(strstr(err.message, want));
	}
}

static void test_five_per_week(void **state)
{
	struct ledger *lg = ledger_new();
	struct ledger_limits lim;
	struct gpc_error err;

	(void)state;
	ledger_limits_default(&lim);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(ledger_check(lg, CA, set_ab, 2, &lim, false, T0 + i * H, &err), 0);
		assert_int_equal(ledger_record_issuance(lg, CA, set_ab, 2, false, T0 + i * H), 0);
	}
	/* the 6th: refused until the oldest leaves the 168 h window; same set in
	 * another case and order counts the same */
	gpc_error_clear(&err);
	assert_int_equal(ledger_check(lg, CA, set_ba_upper, 2, &lim, false, T0 + 5 * H, &err), -1);
	assert_string_equal(err.code, GPC_E_RATELIMIT);
	assert_int_equal(err.retry_after, T0 + 168 * H);
	assert_non_null(strstr(err.message, "a.example.org,b.example.org"));
	/* still refused one second before, allowed one second after */
	assert_int_equal(ledger_check(lg, CA, set_ab, 2, &lim, false, T0 + 168 * H - 1, &err), -1);
	assert_int_equal(ledger_check(lg, CA, set_ab, 2, &lim, false, T0 + 168 * H + 1, &err), 0);
	/* another set, another CA, an ARI renewal, or the guard off: allowed */
	assert_int_equal(ledger_check(lg, CA, set_a, 1, &lim, false, T0 + 5 * H, &err), 0);
	assert_int_equal(ledger_check(lg, "https://other/dir", set_ab, 2, &lim, false, T0 + 5 * H, &err), 0);
	assert_int_equal(ledger_check(lg, CA, set_ab, 2, &lim, true, T0 + 5 * H, &err), 0);
	lim.off = true;
	assert_int_equal(ledger_check(lg, CA, set_ab, 2, &lim, false, T0 + 5 * H, &err), 0);
	assert_int_equal(ledger_count_issuances(lg, CA, set_ba_upper, 2, T0), 5);
	assert_int_equal(ledger_count_issuances(lg, NULL, set_ab, 2, T0 + 3 * H), 2);
	ledger_free(lg);
}

static void test_replaces_exempt(void **state)
{
	struct ledger *lg = ledger_new();
	struct ledger_limits lim;
	struct gpc_error err;

	(void)state;
	ledger_limits_default(&lim);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ledger_record_issuance(lg, CA, set_a, 1, false, T0 + i), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ledger_record_issuance(lg, CA, set_a, 1, true, T0 + 10 + i), 0);
	assert_int_equal(ledger_check(lg, CA, set_a, 1, &lim, false, T0 + 100, &err), 0);
	ledger_free(lg);
}

static void test_failed_authz(void **state)
{
	struct ledger *lg = ledger_new();
	struct ledger_limits lim;
	struct gpc_error err;
	char *failed[] = { "B.example.org" };

	(void)state;
	ledger_limits_default(&lim);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ledger_record_failure(lg, CA, set_ab, 2, failed, 1, "boom", T0 + i * 60), 0);
	assert_int_equal(ledger_check(lg, CA, set_ab, 2, &lim, false, T0 + 300, &err), 0);
	assert_int_equal(ledger_record_failure(lg, CA, set_ab, 2, failed, 1, NULL, T0 + 300), 0);
	gpc_error_clear(&err);
	assert_int_equal(ledger_check(lg, CA, set_ab, 2, &lim, false, T0 + 301, &err), -1);
	assert_non_null(strstr(err.message, "b.example.org: 5 failed authorizations"));
	assert_int_equal(err.retry_after, T0 + H);
	/* a.example.org alone never failed */
	assert_int_equal(ledger_check(lg, CA, set_a, 1, &lim, false, T0 + 301, &err), 0);
	assert_int_equal(ledger_check(lg, CA, set_ab, 2, &lim, false, T0 + H + 1, &err), 0);
	ledger_free(lg);
}

static void test_retry_after(void **state)
{
	struct ledger *lg = ledger_new();
	struct ledger_limits lim;
	struct gpc_error err;

	(void)state;
	ledger_limits_default(&lim);
	lim.off = true;
	assert_int_equal(ledger_set_retry_after(lg, CA, T0 + 7200, "too many"), 0);
	gpc_error_clear(&err);
	assert_int_equal(ledger_check(lg, CA, set_a, 1, &lim, false, T0, &err), -1);
	assert_int_equal(err.retry_after, T0 + 7200);
	assert_non_null(strstr(err.message, "too many"));
	assert_int_equal(ledger_retry_after(lg, CA, T0), T0 + 7200);
	assert_int_equal(ledger_retry_after(lg, "https://other/dir", T0), 0);
	assert_int_equal(ledger_check(lg, CA, set_a, 1, &lim, false, T0 + 7201, &err), 0);
	ledger_prune(lg, T0 + 7201);
	assert_int_equal(ledger_retry_after(lg, CA, T0), 0);
	ledger_free(lg);
}

static void test_backoff(void **state)
{
	struct ledger *lg = ledger_new();
	static const long steps[] = { 60, 600, 6000, 86400, 86400, 86400 };

	(void)state;
	assert_int_equal(ledger_backoff_until(lg, "www", T0), 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(ledger_record_attempt(lg, "www", false, T0), 0);
		assert_int_equal(ledger_backoff_until(lg, "www", T0), T0 + steps[i]);
		assert_int_equal(ledger_backoff_until(lg, "www", T0 + steps[i]), 0);
	}
	assert_int_equal(ledger_record_attempt(lg, "www", true, T0), 0);
	assert_int_equal(ledger_backoff_until(lg, "www", T0), 0);
	assert_int_equal(ledger_backoff_until(lg, "other", T0), 0);
	ledger_free(lg);
}

static void test_roundtrip_and_prune(void **state)
{
	struct ledger *lg = ledger_new(), *lg2 = NULL;
	struct ledger_limits lim;
	struct gpc_error err;
	char *s;

	(void)state;
	ledger_limits_default(&lim);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ledger_record_issuance(lg, CA, set_a, 1, false, T0 + i), 0);
	assert_int_equal(ledger_record_attempt(lg, "www", false, T0), 0);
	s = ledger_to_json(lg);
	assert_non_null(s);
	assert_int_equal(ledger_from_json(s, "t", &lg2, &err), 0);
	free(s);
	assert_int_equal(ledger_check(lg2, CA, set_a, 1, &lim, false, T0 + 10, &err), -1);
	assert_int_equal(ledger_backoff_until(lg2, "www", T0), T0 + 60);
	/* a month later the history is gone */
	ledger_prune(lg2, T0 + 32L * 86400);
	assert_int_equal(ledger_count_issuances(lg2, CA, set_a, 1, 0), 0);
	ledger_free(lg);
	ledger_free(lg2);
}

/* Damaged or hand-edited ledgers must never crash or overflow (found by the
 * hardening fuzzer). */
static void test_damaged(void **state)
{
	static const char *docs[] = {
		"{\"failures\":[{\"ca\":\"" CA "\",\"names\":\"a.example.org\",\"authz\":[null],\"time\":1799999990}]}",
		"{\"failures\":[{\"ca\":\"" CA "\",\"names\":\"a.example.org\",\"authz\":\"abc\",\"time\":1799999990}]}",
		"{\"attempts\":{\"www\":{\"failures\":3,\"last\":9223372036854775807}}}",
		"{\"attempts\":{\"www\":{\"failures\":9223372036854775807,\"last\":1}}}",
		"{\"issuances\":{},\"failures\":7,\"retry_after\":[],\"attempts\":\"x\"}",
		"{\"issuances\":[1,null,\"x\",{\"time\":\"soon\"}],\"retry_after\":{\"" CA "\":5}}",
	};
	struct ledger_limits lim;
	struct gpc_error err;

	(void)state;
	ledger_limits_default(&lim);
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct ledger *lg = NULL;
		assert_int_equal(ledger_from_json(docs[i], "t", &lg, &err), 0);
		if (ledger_check(lg, CA, set_a, 1, &lim, false, T0, &err) != 0)
			assert_non_null(err.code);
		(void)ledger_backoff_until(lg, "www", T0);
		assert_int_equal(ledger_record_attempt(lg, "www", false, T0), 0);
		assert_int_equal(ledger_record_issuance(lg, CA, set_a, 1, false, T0), 0);
		ledger_prune(lg, T0);
		free(ledger_to_json(lg));
		ledger_free(lg);
	}
	struct ledger *lg = NULL;
	gpc_error_clear(&err);
	assert_int_equal(ledger_from_json("[1,2]", "/x/ledger.json", &lg, &err), -1);
	assert_non_null(strstr(err.message, "/x/ledger.json"));
	assert_int_equal(ledger_from_json("{\"issu", "/x/ledger.json", &lg, &err), -1);
}

static void test_lineage_names(void **state)
{
	struct lineage *l = lineage_new("www");
	struct gpc_error err;
	char *in[] = { "B.Example.org", "a.example.org", "b.example.org", "*.Wild.example.org", "::1", "127.0.0.1" };
	char *bad[] = { "a..b", "-", "bad_host!", ".lead", "trail.", "" };

	(void)state;
	assert_non_null(l);
	assert_int_equal(lineage_set_names(l, in, 6, &err), 0);
	assert_int_equal(l->n_names, 5);
	assert_string_equal(l->names[0], "*.wild.example.org");
	assert_true(lineage_same_names(l->names, l->n_names, in, 6));
	assert_false(lineage_same_names(l->names, l->n_names, in, 2));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		gpc_error_clear(&err);
		assert_int_equal(lineage_set_names(l, &bad[i], 1, &err), -1);
		assert_string_equal(err.code, GPC_E_USAGE);
	}
	assert_int_equal(l->n_names, 5); /* unchanged by a failure */
	assert_true(lineage_is_wildcard("*.x.org"));
	assert_false(lineage_is_wildcard("x.*.org"));
	assert_true(lineage_is_ip("::1"));
	assert_false(lineage_is_ip("1.2.3"));
	lineage_free(l);
}

static void test_lineage_json(void **state)
{
	struct lineage *l = lineage_new("www"), *l2 = NULL;
	struct gpc_error err;
	char *names[] = { "www.example.org", "example.org" };
	char *s;

	(void)state;
	assert_int_equal(lineage_set_names(l, names, 2, &err), 0);
	assert_int_equal(lineage_set_str(&l->ca_url, CA), 0);
	assert_int_equal(lineage_set_str(&l->solver, "hook"), 0);
	assert_int_equal(lineage_set_str(&l->solver_arg, "/etc/hook.sh"), 0);
	assert_int_equal(lineage_set_str(&l->challenge, "dns-01"), 0);
	assert_int_equal(lineage_set_str(&l->key_type, "rsa3072"), 0);
	assert_int_equal(lineage_set_str(&l->ari_cert_id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"), 0);
	assert_int_equal(lineage_set_str(&l->deploy_hook, "systemctl reload x"), 0);
	l->reuse_key = true;
	l->ari_renew_at = T0;
	l->days = 20;
	s = lineage_to_json(l);
	assert_non_null(s);
	assert_int_equal(lineage_from_json("www", s, "t", &l2, &err), 0);
	free(s);
	assert_int_equal(l2->n_names, 2);
	assert_string_equal(l2->names[0], "example.org");
	assert_string_equal(l2->ca_url, CA);
	assert_string_equal(l2->solver_arg, "/etc/hook.sh");
	assert_string_equal(l2->key_type, "rsa3072");
	assert_string_equal(l2->ari_cert_id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	assert_true(l2->reuse_key);
	assert_int_equal(l2->ari_renew_at, T0);
	assert_int_equal(l2->days, 20);
	assert_null(l2->profile);
	lineage_free(l2);
	l2 = NULL;

	static const char *bad[] = { "", "[]", "{}", "{\"names\":[]}", "{\"names\":[1]}",
				     "{\"names\":[\"a..b\"]}", "{\"names\":[\"x.org\"],\"ca_url\":5}",
				     "{\"names\":[\"x.org\"],\"ari\":{\"renew_at\":\"yesterday\"}}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		gpc_error_clear(&err);
		assert_int_equal(lineage_from_json("www", bad[i], "/d/.state/lineages/www.json", &l2, &err), -1);
		assert_string_equal(err.code, GPC_E_INVALID);
		assert_non_null(strstr(err.message, "/d/.state/lineages/www.json"));
	}
	lineage_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits_parse),
		cmocka_unit_test(test_five_per_week),
		cmocka_unit_test(test_replaces_exempt),
		cmocka_unit_test(test_failed_authz),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_roundtrip_and_prune),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_lineage_names),
		cmocka_unit_test(test_lineage_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

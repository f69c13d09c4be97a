/* report: the --json document (check's shape and status's details), exit
 * codes, from a certs directory made with real certificates. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "fixtures.h"
#include "fsutil.h"
#include "report.h"

#define DAY 86400L
static const time_t T0 = 1800000000; /* 2027-01-15T08:00:00Z */
static char dir[64];
static struct fx_cert ca, leaf, old;

static void put(const char *rel, const char *a, const char *b, mode_t mode)
{
	char path[256];
	struct gpc_error e;
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	char *s = malloc(la + lb + 1);

	memcpy(s, a, la);
	if (b)
		memcpy(s + la, b, lb);
	s[la + lb] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(fs_write_atomic(path, s, la + lb, mode, &e), 0);
	free(s);
}

static int setup(void **state)
{
	static const char *const names[] = { "www.example.org", "example.org", NULL };
	static const char *const oldn[] = { "old.example.org", NULL };
	char sub[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/gpc-report-XXXXXX");
	assert_non_null(mkdtemp(dir));
	fx_make(&ca, GNUTLS_PK_ECDSA, 256, "Report CA", NULL, T0 - 100 * DAY, T0 + 3000 * DAY, true, NULL);
	fx_make(&leaf, GNUTLS_PK_ECDSA, 256, NULL, names, T0, T0 + 90 * DAY, false, &ca);
	fx_make(&old, GNUTLS_PK_ECDSA, 384, NULL, oldn, T0 - 60 * DAY, T0 - DAY, false, &ca);
	put("cert.crt", leaf.cert_pem, ca.cert_pem, 0644);
	put("priv.key", leaf.key_pem, NULL, 0600);
	snprintf(sub, sizeof(sub), "%s/old", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	put("old/cert.crt", old.cert_pem, ca.cert_pem, 0644);
	put("old/priv.key", old.key_pem, NULL, 0600);
	setenv("GOPROXY_CERT_NOW", "1800864000", 1); /* T0 + 10 days */
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	fx_free(&ca);
	fx_free(&leaf);
	fx_free(&old);
	unsetenv("GOPROXY_CERT_NOW");
	return 0;
}

static json_object *render(const struct report *r, bool detail)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	json_object *o;

	assert_non_null(f);
	assert_int_equal(report_print_json(f, r, detail), 0);
	fclose(f);
	assert_true(n > 0 && s[n - 1] == '\n');
	assert_null(strchr(s, '\n') == s + n - 1 ? NULL : s); /* one line */
	o = json_tokener_parse(s);
	assert_non_null(o);
	free(s);
	return o;
}

static const char *jget_str(json_object *o, const char *k)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, k, &v));
	return json_object_is_type(v, json_type_null) ? NULL : json_object_get_string(v);
}

static bool jis_null(json_object *o, const char *k)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, k, &v));
	return v == NULL;
}

static void test_check_json(void **state)
{
	struct report r;
	struct report_options opt = { .days = -1 };
	struct gpc_error e;
	json_object *doc, *certs, *c, *v;
	static const char *const keys[] = { "name", "state", "domains", "not_before", "not_after",
					    "seconds_left", "due_at", "due_rule", "cert_path",
					    "key_path", "problems" };

	(void)state;
	gpc_error_clear(&e);
	assert_int_equal(report_collect(&r, dir, NULL, 0, &opt, &e), 0);
	assert_true(r.dir_ok);
	assert_int_equal(r.n_entries, 2);
	assert_int_equal(report_check_exit(&r), 2); /* old is expired */
	doc = render(&r, false);

	assert_string_equal(jget_str(doc, "certs_dir"), dir);
	assert_string_equal(jget_str(doc, "checked_at"), "2027-01-25T08:00:00Z");
	assert_true(json_object_object_get_ex(doc, "certificates", &certs));
	assert_int_equal(json_object_array_length(certs), 2);

	c = json_object_array_get_idx(certs, 0);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_true(json_object_object_get_ex(c, keys[i], NULL));
	assert_string_equal(jget_str(c, "name"), "default");
	assert_string_equal(jget_str(c, "state"), "ok");
	assert_string_equal(jget_str(c, "not_before"), "2027-01-15T08:00:00Z");
	assert_string_equal(jget_str(c, "not_after"), "2027-04-15T08:00:00Z");
	assert_true(json_object_object_get_ex(c, "seconds_left", &v));
	assert_int_equal(json_object_get_int64(v), 80 * DAY);
	assert_string_equal(jget_str(c, "due_at"), "2027-03-16T08:00:00Z");
	assert_string_equal(jget_str(c, "due_rule"), "third-of-lifetime");
	assert_true(json_object_object_get_ex(c, "domains", &v));
	assert_int_equal(json_object_array_length(v), 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)), "www.example.org");
	assert_true(json_object_object_get_ex(c, "problems", &v));
	assert_int_equal(json_object_array_length(v), 0);
	/* check's shape has no status details */
	assert_false(json_object_object_get_ex(c, "fingerprint_sha256", NULL));

	c = json_object_array_get_idx(certs, 1);
	assert_string_equal(jget_str(c, "name"), "old");
	assert_string_equal(jget_str(c, "state"), "expired");
	assert_true(json_object_object_get_ex(c, "seconds_left", &v));
	assert_int_equal(json_object_get_int64(v), -11 * DAY);
	assert_true(json_object_object_get_ex(c, "problems", &v));
	assert_string_equal(jget_str(json_object_array_get_idx(v, 0), "code"), "expired");
	assert_non_null(strstr(jget_str(json_object_array_get_idx(v, 0), "message"), "/old/cert.crt"));
	json_object_put(doc);
	report_finish(&r);
}

static void test_status_json(void **state)
{
	struct report r;
	struct report_options opt = { .days = -1, .detail = true };
	struct gpc_error e;
	char *names[] = { (char *)"default", (char *)"absent" };
	json_object *doc, *certs, *c, *v;

	(void)state;
	gpc_error_clear(&e);
	assert_int_equal(report_collect(&r, dir, names, 2, &opt, &e), 0);
	doc = render(&r, true);
	assert_true(json_object_object_get_ex(doc, "certificates", &certs));
	c = json_object_array_get_idx(certs, 0);
	assert_string_equal(jget_str(c, "issuer"), "CN=Report CA");
	assert_string_equal(jget_str(c, "key_type"), "ec256");
	assert_int_equal(strlen(jget_str(c, "fingerprint_sha256")), 64);
	assert_true(json_object_object_get_ex(c, "chain_length", &v));
	assert_int_equal(json_object_get_int(v), 2);
	assert_string_equal(jget_str(c, "cert_mode"), "0644");
	assert_string_equal(jget_str(c, "key_mode"), "0600");
	assert_true(jis_null(c, "ca_url"));
	assert_true(jis_null(c, "last_attempt"));
	assert_true(jis_null(c, "last_result"));
	assert_true(jis_null(c, "next_renewal"));
	assert_true(jis_null(c, "issuances_168h"));

	/* a missing lineage: nulls where nothing is known */
	c = json_object_array_get_idx(certs, 1);
	assert_string_equal(jget_str(c, "state"), "missing");
	assert_true(jis_null(c, "not_after"));
	assert_true(jis_null(c, "seconds_left"));
	assert_true(jis_null(c, "fingerprint_sha256"));
	assert_true(jis_null(c, "key_mode"));
	assert_true(json_object_object_get_ex(c, "domains", &v));
	assert_int_equal(json_object_array_length(v), 0);
	json_object_put(doc);
	report_finish(&r);
}

static void test_exit_codes(void **state)
{
	struct report r;
	struct report_options opt = { .days = -1 };
	struct gpc_error e;
	char *def[] = { (char *)"default" };
	char *bad[] = { (char *)"../x" };

	(void)state;
	gpc_error_clear(&e);
	assert_int_equal(report_collect(&r, dir, def, 1, &opt, &e), 0);
	assert_int_equal(report_check_exit(&r), 0);
	report_finish(&r);
	opt.days = 85; /* 80 days left */
	assert_int_equal(report_collect(&r, dir, def, 1, &opt, &e), 0);
	assert_int_equal(report_check_exit(&r), 1);
	assert_string_equal(r.entries[0].due_rule, "days");
	report_finish(&r);
	assert_int_equal(report_collect(&r, "/nonexistent/certs", def, 1, &opt, &e), 0);
	assert_false(r.dir_ok);
	assert_int_equal(report_check_exit(&r), 2);
	report_finish(&r);
	assert_int_equal(report_collect(&r, dir, bad, 1, &opt, &e), -1);
	assert_string_equal(e.code, GPC_E_USAGE);
	report_finish(&r);
}

/* The lineage's stored settings decide with the certificate, as renew
 * decides (policy_lineage_due): stored --days, this --days, the ARI time
 * for this very certificate. The ledger counts through lib/core/ledger.c. */
static void put_lineage(const char *days, const char *ari_at, const char *ari_fp)
{
	char js[1024];

	snprintf(js, sizeof(js),
		 "{\"version\": 1, \"names\": [\"example.org\", \"www.example.org\"],"
		 " \"ca_url\": \"https://ca.test/dir\", %s%s%s"
		 " \"ari\": {%s%s%s%s%s%s},"
		 " \"last\": {\"attempt\": \"2027-01-20T08:00:00Z\", \"result\": \"issued\"}}",
		 days ? "\"days\": " : "", days ? days : "", days ? "," : "",
		 ari_at ? "\"renew_at\": \"" : "", ari_at ? ari_at : "", ari_at ? "\"" : "",
		 ari_fp ? (ari_at ? ", \"cert_sha256\": \"" : "\"cert_sha256\": \"") : "",
		 ari_fp ? ari_fp : "", ari_fp ? "\"" : "");
	put(".state/lineages/default.json", js, NULL, 0600);
}

static void collect_default(struct report *r, long days, bool detail)
{
	struct report_options opt = { .days = days, .detail = detail };
	struct gpc_error e;
	char *def[] = { (char *)"default" };

	gpc_error_clear(&e);
	assert_int_equal(report_collect(r, dir, def, 1, &opt, &e), 0);
	assert_int_equal(r->n_entries, 1);
}

static void test_lineage_rule(void **state)
{
	struct report r;
	char sub[128], fp[65], ts[64];
	json_object *doc, *certs, *c, *v;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/.state", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/.state/lineages", dir);
	assert_int_equal(mkdir(sub, 0700), 0);

	/* without settings: the lifetime rule (80 days left of 90: ok) */
	collect_default(&r, -1, false);
	assert_int_equal(r.entries[0].state, RS_OK);
	assert_string_equal(r.entries[0].due_rule, "third-of-lifetime");
	snprintf(fp, sizeof(fp), "%s", r.entries[0].fingerprint);
	report_finish(&r);

	/* issued with --days 85: due now (80 left), renew would order */
	put_lineage("85", NULL, NULL);
	collect_default(&r, -1, false);
	assert_int_equal(report_check_exit(&r), 1);
	assert_string_equal(r.entries[0].due_rule, "days");
	assert_int_equal(r.entries[0].due_at, T0 + 5 * DAY);
	report_finish(&r);
	/* check --days 10 overrides the stored 85 */
	collect_default(&r, 10, false);
	assert_int_equal(report_check_exit(&r), 0);
	assert_int_equal(r.entries[0].due_at, T0 + 80 * DAY);
	report_finish(&r);
	/* --days 0 is no override: the stored days */
	collect_default(&r, 0, false);
	assert_int_equal(report_check_exit(&r), 1);
	report_finish(&r);

	/* status: next_renewal is the same answer; ledger counted by lib/core/ledger.c */
	put(".state/ledger.json", "{\"issuances\": [{\"ca\": \"https://ca.test/dir\", "
	    "\"names\": \"example.org,www.example.org\", \"time\": 1800860000},"
	    " {\"ca\": \"https://ca.test/dir\", \"names\": \"example.org\", \"time\": 1800860000},"
	    " {\"ca\": \"https://other.test/dir\", \"names\": \"example.org,www.example.org\", \"time\": 1800860000},"
	    " {\"ca\": \"https://ca.test/dir\", \"names\": \"example.org,www.example.org\", \"time\": 1800000000}]}",
	    NULL, 0600);
	collect_default(&r, -1, true);
	assert_int_equal(r.entries[0].next_renewal, T0 + 5 * DAY);
	assert_int_equal(r.entries[0].issuances_168h, 1);
	assert_int_equal(r.entries[0].last_attempt, T0 + 5 * DAY);
	doc = render(&r, true);
	assert_true(json_object_object_get_ex(doc, "certificates", &certs));
	c = json_object_array_get_idx(certs, 0);
	assert_string_equal(jget_str(c, "state"), "due");
	assert_string_equal(jget_str(c, "next_renewal"), "2027-01-20T08:00:00Z");
	assert_string_equal(jget_str(c, "due_at"), "2027-01-20T08:00:00Z");
	assert_string_equal(jget_str(c, "ca_url"), "https://ca.test/dir");
	assert_string_equal(jget_str(c, "last_result"), "issued");
	assert_true(json_object_object_get_ex(c, "issuances_168h", &v));
	assert_int_equal(json_object_get_int(v), 1);
	json_object_put(doc);
	report_finish(&r);
	/* a broken ledger: count unknown, nothing else changes */
	put(".state/ledger.json", "[1, 2", NULL, 0600);
	collect_default(&r, -1, true);
	assert_int_equal(r.entries[0].issuances_168h, -1);
	assert_int_equal(r.entries[0].next_renewal, T0 + 5 * DAY);
	report_finish(&r);

	/* an ARI time for this certificate wins over the stored days */
	snprintf(ts, sizeof(ts), "2027-02-14T08:00:00Z"); /* T0 + 30 days */
	put_lineage("85", ts, fp);
	collect_default(&r, -1, true);
	assert_int_equal(report_check_exit(&r), 0);
	assert_string_equal(r.entries[0].due_rule, "ari");
	assert_int_equal(r.entries[0].due_at, T0 + 30 * DAY);
	assert_int_equal(r.entries[0].next_renewal, T0 + 30 * DAY);
	report_finish(&r);
	/* ... not for another certificate: the stored days again */
	put_lineage("85", ts, "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752");
	collect_default(&r, -1, false);
	assert_int_equal(report_check_exit(&r), 1);
	assert_string_equal(r.entries[0].due_rule, "days");
	report_finish(&r);
	/* ... nor at/after notAfter */
	put_lineage(NULL, "2027-04-20T08:00:00Z", fp);
	collect_default(&r, -1, false);
	assert_int_equal(report_check_exit(&r), 0);
	assert_string_equal(r.entries[0].due_rule, "third-of-lifetime");
	report_finish(&r);

	/* a damaged lineage file: as if there were none */
	put(".state/lineages/default.json", "{\"days\": 85}", NULL, 0600);
	collect_default(&r, -1, true);
	assert_int_equal(report_check_exit(&r), 0);
	assert_string_equal(r.entries[0].due_rule, "third-of-lifetime");
	assert_null(r.entries[0].ca_url);
	report_finish(&r);

	snprintf(sub, sizeof(sub), "rm -rf '%s/.state'", dir);
	assert_int_equal(system(sub), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_json),
		cmocka_unit_test(test_status_json),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_lineage_rule),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

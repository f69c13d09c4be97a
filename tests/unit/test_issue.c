/* issue: the issuer's decision table (issue_precheck: decide, back-off,
 * guard) on a real certs directory in a temp dir, with certificates made
 * here and the clock set through $GOPROXY_CERT_NOW. No network: every case
 * is decided before the CA would be asked. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "issue.h"
#include "ledger.h"

#define DAY 86400L
static const time_t NB = 1800000000; /* notBefore of the stored certificate */
static char dir[] = "/tmp/gpc-test-issue.XXXXXX";
static struct certstore *cs;
static struct fx_cert ca, leaf;

static void set_now(time_t t)
{
	char v[32];
	snprintf(v, sizeof(v), "%lld", (long long)t);
	setenv("GOPROXY_CERT_NOW", v, 1);
}

static int setup(void **state)
{
	static const char *const names[] = { "a.example.test", "b.example.test", NULL };
	struct gpc_error err;
	char chain[16384];

	(void)state;
	assert_non_null(mkdtemp(dir));
	fx_make(&ca, GNUTLS_PK_ECDSA, 256, "test CA", NULL, NB - DAY, NB + 400 * DAY, true, NULL);
	fx_make(&leaf, GNUTLS_PK_ECDSA, 256, NULL, names, NB, NB + 90 * DAY, false, &ca);
	snprintf(chain, sizeof(chain), "%s%s", leaf.cert_pem, ca.cert_pem);
	assert_int_equal(certstore_open(dir, &cs, &err), 0);
	assert_int_equal(certstore_lock(cs, true, 5, &err), 0);
	assert_int_equal(certstore_write_pair(cs, "w", chain, strlen(chain), leaf.key_pem, strlen(leaf.key_pem), &err), 0);
	certstore_unlock(cs);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	certstore_free(cs);
	fx_free(&leaf);
	fx_free(&ca);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	unsetenv("GOPROXY_CERT_NOW");
	return 0;
}

static struct lineage *lin(const char *name, const char *n1, const char *n2)
{
	char *names[2] = { (char *)n1, (char *)n2 };
	struct gpc_error err;
	struct lineage *l = lineage_new(name);

	assert_non_null(l);
	assert_int_equal(lineage_set_names(l, names, n2 ? 2 : 1, &err), 0);
	assert_int_equal(lineage_set_str(&l->ca_url, "https://ca.invalid/dir"), 0);
	return l;
}

/* One row: precheck's return, result and (part of) the reason or error. */
static void row(struct lineage *l, const struct issue_opts *o, int want, enum issue_result res, const char *text)
{
	struct issue_env env;
	struct issue_outcome out;

	memset(&out, 0, sizeof(out));
	issue_env_init(&env, cs, 0);
	assert_int_equal(issue_precheck(&env, l, o, &out), want);
	if (want == 0)
		assert_int_equal(out.res, res);
	if (text != NULL && strstr(out.reason, text) == NULL && strstr(out.err.message, text) == NULL)
		fail_msg("'%s' not in reason '%s' / error '%s'", text, out.reason, out.err.message);
	issue_env_finish(&env);
}

static void clear_ledger(void)
{
	struct gpc_error err;
	(void)certstore_state_remove(cs, "ledger.json", &err);
}

static void test_decide(void **state)
{
	struct issue_opts o;
	struct lineage *l;

	(void)state;
	issue_opts_default(&o);
	clear_ledger();
	set_now(NB + 10 * DAY);
	l = lin("w", "b.example.test", "A.example.test"); /* order and case do not matter */
	row(l, &o, 0, ISSUE_CURRENT, "current until");
	o.force = true;
	row(l, &o, 1, 0, NULL); /* --force skips the decision, not the guard */
	o.force = false;
	lineage_free(l);

	l = lin("nothing", "a.example.test", NULL);
	row(l, &o, 1, 0, "no certificate on disk yet");
	lineage_free(l);

	l = lin("w", "a.example.test", NULL);
	row(l, &o, 1, 0, "the name set changed");
	lineage_free(l);

	l = lin("w", "a.example.test", "b.example.test");
	assert_int_equal(lineage_set_str(&l->key_type, "ec384"), 0);
	row(l, &o, 1, 0, "the key is ec256, ec384 was requested");
	assert_int_equal(lineage_set_str(&l->key_type, NULL), 0);

	/* the stored --days (80 of a 90-day certificate): due after 10 days */
	l->days = 80;
	set_now(NB + 9 * DAY);
	row(l, &o, 0, ISSUE_CURRENT, NULL);
	set_now(NB + 11 * DAY);
	row(l, &o, 1, 0, "due for renewal since");
	/* --days of this run wins over the stored one */
	o.days = 5;
	row(l, &o, 0, ISSUE_CURRENT, NULL);
	o.days = 0;
	l->days = 0;
	/* the lifetime rule: due after 60 days; expired is due */
	set_now(NB + 59 * DAY);
	row(l, &o, 0, ISSUE_CURRENT, NULL);
	set_now(NB + 61 * DAY);
	row(l, &o, 1, 0, "due for renewal");
	set_now(NB + 91 * DAY);
	row(l, &o, 1, 0, "expired since");
	/* an ARI time for this certificate decides; for another, it is void */
	set_now(NB + 20 * DAY);
	l->ari_renew_at = NB + 15 * DAY;
	assert_int_equal(lineage_set_str(&l->ari_cert_sha256, "00"), 0);
	row(l, &o, 0, ISSUE_CURRENT, NULL);
	assert_int_equal(lineage_set_str(&l->ari_cert_sha256, NULL), 0);
	row(l, &o, 1, 0, "due for renewal");
	/* not valid yet: the clock */
	l->ari_renew_at = 0;
	set_now(NB - DAY);
	row(l, &o, 1, 0, "not valid yet");
	lineage_free(l);
}

static void test_guard(void **state)
{
	struct issue_opts o;
	struct ledger *lg;
	struct lineage *l;
	struct gpc_error err;
	time_t now = NB + 70 * DAY; /* due */

	(void)state;
	issue_opts_default(&o);
	set_now(now);
	l = lin("w", "a.example.test", "b.example.test");
	/* 5 certificates for this name set within 168 h: deferred, offline */
	clear_ledger();
	assert_int_equal(ledger_load(cs, &lg, &err), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ledger_record_issuance(lg, l->ca_url, l->names, l->n_names, false, now - 3600 * (i + 1)), 0);
	assert_int_equal(certstore_lock(cs, true, 5, &err), 0);
	assert_int_equal(ledger_save(cs, lg, &err), 0);
	certstore_unlock(cs);
	ledger_free(lg);
	row(l, &o, 0, ISSUE_DEFERRED, "");
	o.force = true; /* never past the guard */
	row(l, &o, 0, ISSUE_DEFERRED, NULL);
	o.force = false;
	o.lim.off = true;
	row(l, &o, 1, 0, NULL);
	o.lim.off = false;

	/* the renew back-off after a failure a moment ago */
	clear_ledger();
	assert_int_equal(ledger_load(cs, &lg, &err), 0);
	assert_int_equal(ledger_record_attempt(lg, "w", false, now - 10), 0);
	assert_int_equal(certstore_lock(cs, true, 5, &err), 0);
	assert_int_equal(ledger_save(cs, lg, &err), 0);
	certstore_unlock(cs);
	ledger_free(lg);
	row(l, &o, 1, 0, NULL); /* issue: no back-off */
	o.backoff = true;
	row(l, &o, 0, ISSUE_DEFERRED, "backing off until");
	o.force = true;
	row(l, &o, 1, 0, NULL); /* --force retries now */
	o.force = false;
	o.backoff = false;

	/* a damaged ledger: no history, no order */
	assert_int_equal(certstore_state_write(cs, "ledger.json", "{\"issuances\": 5", 15, &err), 0);
	row(l, &o, 0, ISSUE_FAILED, "ledger.json");
	clear_ledger();
	lineage_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_guard),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

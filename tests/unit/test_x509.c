/* x509: parsing, key match, chain order, error classes, name sets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "x509.h"

#define DAY 86400
static const time_t T0 = 1800000000; /* 2027-01-15 */

static struct fx_cert ca, inter, leaf, other;

static int setup(void **state)
{
	static const char *const leaf_names[] = { "www.example.org", "Example.org", "192.0.2.7",
						  "2001:db8::1", NULL };
	static const char *const other_names[] = { "other.example", NULL };

	(void)state;
	fx_make(&ca, GNUTLS_PK_ECDSA, 384, "Test Root", NULL, T0 - 10 * DAY, T0 + 3650L * DAY, true, NULL);
	fx_make(&inter, GNUTLS_PK_ECDSA, 256, "Test Intermediate", NULL, T0 - 10 * DAY, T0 + 365L * DAY,
		true, &ca);
	fx_make(&leaf, GNUTLS_PK_ECDSA, 256, "www.example.org", leaf_names, T0, T0 + 90L * DAY, false,
		&inter);
	fx_make(&other, GNUTLS_PK_ECDSA, 256, NULL, other_names, T0, T0 + 90L * DAY, false, &inter);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx_free(&ca);
	fx_free(&inter);
	fx_free(&leaf);
	fx_free(&other);
	return 0;
}

static char *cat3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 1;
	char *s = malloc(n);

	snprintf(s, n, "%s%s%s", a, b, c ? c : "");
	return s;
}

static void test_parse_chain(void **state)
{
	char *pem = cat3(leaf.cert_pem, inter.cert_pem, NULL);
	struct x509_chain *c;
	struct gpc_error e;
	const struct x509_info *in;
	bool has_key = true;

	(void)state;
	gpc_error_clear(&e);
	assert_int_equal(x509_chain_parse("certs/cert.crt", pem, strlen(pem), &c, &has_key, &e), 0);
	assert_false(has_key);
	assert_int_equal(x509_chain_length(c), 2);
	in = x509_chain_info(c, 0);
	assert_int_equal(in->n_names, 4);
	assert_string_equal(in->names[0], "www.example.org");
	assert_string_equal(in->names[1], "Example.org");
	assert_string_equal(in->names[2], "192.0.2.7");
	assert_string_equal(in->names[3], "2001:db8::1");
	assert_false(in->names_from_cn);
	assert_int_equal(in->not_before, T0);
	assert_int_equal(in->not_after, T0 + 90L * DAY);
	assert_string_equal(in->key_type, "ec256");
	assert_string_equal(in->issuer_cn, "Test Intermediate");
	assert_string_equal(in->issuer, "CN=Test Intermediate");
	assert_string_equal(in->subject, "CN=www.example.org");
	assert_int_equal(strlen(in->fingerprint_sha256), 64);
	assert_int_equal(strspn(in->fingerprint_sha256, "0123456789abcdef"), 64);
	assert_true(strlen(in->serial) >= 2);
	assert_false(in->is_ca);
	assert_true(x509_chain_info(c, 1)->is_ca);
	assert_null(x509_chain_info(c, 2));
	assert_int_equal(x509_chain_check_order(c, "certs/cert.crt", &e), 0);
	x509_chain_free(c);
	free(pem);
}

static void test_cn_only(void **state)
{
	struct fx_cert cn;
	struct x509_chain *c;
	struct gpc_error e;

	(void)state;
	gpc_error_clear(&e);
	fx_make(&cn, GNUTLS_PK_ECDSA, 256, "legacy.example", NULL, T0, T0 + DAY, false, &inter);
	assert_int_equal(x509_chain_parse("c", cn.cert_pem, strlen(cn.cert_pem), &c, NULL, &e), 0);
	assert_int_equal(x509_chain_info(c, 0)->n_names, 1);
	assert_string_equal(x509_chain_info(c, 0)->names[0], "legacy.example");
	assert_true(x509_chain_info(c, 0)->names_from_cn);
	x509_chain_free(c);
	fx_free(&cn);
}

static void test_chain_order(void **state)
{
	char *pem = cat3(inter.cert_pem, leaf.cert_pem, NULL);
	char *pem2 = cat3(leaf.cert_pem, ca.cert_pem, NULL);
	struct x509_chain *c;
	struct gpc_error e;

	(void)state;
	gpc_error_clear(&e);
	assert_int_equal(x509_chain_parse("certs/cert.crt", pem, strlen(pem), &c, NULL, &e), 0);
	assert_int_equal(x509_chain_check_order(c, "certs/cert.crt", &e), -1);
	assert_string_equal(e.code, X509_E_CHAIN_ORDER);
	assert_non_null(strstr(e.message, "certs/cert.crt"));
	assert_non_null(strstr(e.hint, "leaf"));
	x509_chain_free(c);
	/* leaf followed by the root instead of its intermediate */
	assert_int_equal(x509_chain_parse("certs/cert.crt", pem2, strlen(pem2), &c, NULL, &e), 0);
	assert_int_equal(x509_chain_check_order(c, "certs/cert.crt", &e), -1);
	x509_chain_free(c);
	free(pem);
	free(pem2);
}

static void test_key_match(void **state)
{
	struct x509_chain *c;
	struct x509_key *k, *k2;
	struct gpc_error e;

	(void)state;
	gpc_error_clear(&e);
	assert_int_equal(x509_chain_parse("c", leaf.cert_pem, strlen(leaf.cert_pem), &c, NULL, &e), 0);
	assert_int_equal(x509_key_parse("k", leaf.key_pem, strlen(leaf.key_pem), &k, &e), 0);
	assert_int_equal(x509_key_parse("k", other.key_pem, strlen(other.key_pem), &k2, &e), 0);
	assert_string_equal(x509_key_type(k), "ec256");
	assert_true(x509_key_matches(k, c));
	assert_false(x509_key_matches(k2, c));
	x509_key_free(k);
	x509_key_free(k2);
	x509_chain_free(c);
}

static void check_key_type(gnutls_pk_algorithm_t pk, unsigned bits, const char *want)
{
	struct fx_cert f;
	struct x509_chain *c;
	struct x509_key *k;
	struct gpc_error e;

	gpc_error_clear(&e);
	fx_make(&f, pk, bits, "k.example", NULL, T0, T0 + DAY, false, NULL);
	assert_int_equal(x509_chain_parse("c", f.cert_pem, strlen(f.cert_pem), &c, NULL, &e), 0);
	assert_int_equal(x509_key_parse("k", f.key_pem, strlen(f.key_pem), &k, &e), 0);
	assert_string_equal(x509_chain_info(c, 0)->key_type, want);
	assert_string_equal(x509_key_type(k), want);
	assert_true(x509_key_matches(k, c));
	assert_true(x509_chain_info(c, 0)->self_signed);
	x509_key_free(k);
	x509_chain_free(c);
	fx_free(&f);
}

static void test_key_types(void **state)
{
	(void)state;
	check_key_type(GNUTLS_PK_ECDSA, 256, "ec256");
	check_key_type(GNUTLS_PK_ECDSA, 384, "ec384");
	check_key_type(GNUTLS_PK_ECDSA, 521, "ec521");
	check_key_type(GNUTLS_PK_RSA, 2048, "rsa2048");
	check_key_type(GNUTLS_PK_EDDSA_ED25519, 256, "ed25519");
}

static void expect_chain_error(const char *data, size_t len, const char *code)
{
	struct x509_chain *c = NULL;
	struct gpc_error e;

	gpc_error_clear(&e);
	assert_int_equal(x509_chain_parse("certs/cert.crt", data, len, &c, NULL, &e), -1);
	assert_null(c);
	assert_string_equal(e.code, code);
	assert_non_null(strstr(e.message, "certs/cert.crt"));
	assert_true(e.hint[0] != '\0');
}

static void expect_key_error(const char *data, size_t len, const char *code)
{
	struct x509_key *k = NULL;
	struct gpc_error e;

	gpc_error_clear(&e);
	assert_int_equal(x509_key_parse("certs/priv.key", data, len, &k, &e), -1);
	assert_null(k);
	assert_string_equal(e.code, code);
	assert_non_null(strstr(e.message, "certs/priv.key"));
	assert_true(e.hint[0] != '\0');
	/* the key material never reaches a message */
	assert_null(strstr(e.message, "MII"));
}

static void test_bad_inputs(void **state)
{
	static const unsigned char der[] = { 0x30, 0x82, 0x01, 0x0a, 0x02, 0x01, 0x00 };
	size_t half = strlen(leaf.cert_pem) / 2;
	char *mangled = strdup(leaf.cert_pem);

	(void)state;
	expect_chain_error("", 0, X509_E_EMPTY);
	expect_chain_error(" \n\n", 3, X509_E_EMPTY);
	expect_chain_error(leaf.cert_pem, half, X509_E_TRUNCATED);
	expect_chain_error((const char *)der, sizeof(der), X509_E_DER);
	expect_chain_error(leaf.key_pem, strlen(leaf.key_pem), X509_E_KEY_IN_CERT);
	expect_chain_error("hello world\n", 12, X509_E_NOT_PEM);
	/* text starting with '0' (0x30, DER's SEQUENCE tag) is still text:
	 * base64 of random bytes starts with '0' one time in 64 */
	expect_chain_error("0AbCdEfGh+/xyz==\n", 17, X509_E_NOT_PEM);
	/* damage the base64 inside a complete block */
	memset(mangled + 40, '!', 20);
	expect_chain_error(mangled, strlen(mangled), X509_E_TRUNCATED);
	free(mangled);

	expect_key_error("", 0, X509_E_EMPTY);
	expect_key_error(leaf.key_pem, strlen(leaf.key_pem) / 2, X509_E_TRUNCATED);
	expect_key_error((const char *)der, sizeof(der), X509_E_DER);
	expect_key_error(leaf.cert_pem, strlen(leaf.cert_pem), X509_E_CERT_IN_KEY);
	expect_key_error("garbage\n", 8, X509_E_NOT_PEM);
	expect_key_error("0garbage\n", 9, X509_E_NOT_PEM);
	expect_key_error("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
			 77, X509_E_ENCRYPTED);
}

static void test_combined_file(void **state)
{
	char *pem = cat3(leaf.cert_pem, inter.cert_pem, leaf.key_pem);
	struct x509_chain *c;
	struct gpc_error e;
	bool has_key = false;

	(void)state;
	gpc_error_clear(&e);
	assert_int_equal(x509_chain_parse("c", pem, strlen(pem), &c, &has_key, &e), 0);
	assert_true(has_key);
	assert_int_equal(x509_chain_length(c), 2);
	x509_chain_free(c);
	free(pem);
}

static bool eq(const char *const *a, size_t na, const char *const *b, size_t nb)
{
	return x509_names_equal(a, na, b, nb, NULL, NULL);
}

static void test_name_sets(void **state)
{
	const char *a[] = { "www.example.org", "example.org" };
	const char *b[] = { "EXAMPLE.org", "www.example.org.", "example.org" };
	const char *w[] = { "*.example.org" };
	const char *w2[] = { "*.EXAMPLE.ORG" };
	const char *sub[] = { "www.example.org" };
	const char *ip1[] = { "2001:db8:0:0::1", "192.0.2.1" };
	const char *ip2[] = { "192.0.2.1", "2001:DB8::1" };
	struct buf oa, ob;

	(void)state;
	assert_true(eq(a, 2, b, 3));
	assert_true(eq(b, 3, a, 2));
	assert_true(eq(w, 1, w2, 1));
	assert_false(eq(w, 1, sub, 1));
	assert_false(eq(sub, 1, w, 1));
	assert_false(eq(a, 2, sub, 1));
	assert_true(eq(ip1, 2, ip2, 2));
	assert_true(eq(NULL, 0, NULL, 0));
	assert_false(eq(a, 2, NULL, 0));

	buf_init(&oa, 4096);
	buf_init(&ob, 4096);
	assert_false(x509_names_equal(a, 2, w, 1, &oa, &ob));
	assert_string_equal(oa.data, "example.org, www.example.org");
	assert_string_equal(ob.data, "*.example.org");
	buf_finish(&oa);
	buf_finish(&ob);
}

static void test_normalize(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(x509_name_normalize("WWW.Example.ORG.", out, sizeof(out)), 0);
	assert_string_equal(out, "www.example.org");
	assert_int_equal(x509_name_normalize("::0001", out, sizeof(out)), 0);
	assert_string_equal(out, "::1");
	assert_int_equal(x509_name_normalize("", out, sizeof(out)), -1);
	assert_int_equal(x509_name_normalize("toolong.example", out, 4), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_chain),
		cmocka_unit_test(test_cn_only),
		cmocka_unit_test(test_chain_order),
		cmocka_unit_test(test_key_match),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_combined_file),
		cmocka_unit_test(test_name_sets),
		cmocka_unit_test(test_normalize),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* Unit tests: problem documents, directory, ARI (RFC 9773 examples), Retry-After. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme.h"
#include "error.h"
#include "http.h"
#include "timeutil.h"

/* RFC 8555 §6.7.1 example */
static const char problem_subs[] =
	"{\n"
	"  \"type\": \"urn:ietf:params:acme:error:malformed\",\n"
	"  \"detail\": \"Some of the identifiers requested were rejected\",\n"
	"  \"subproblems\": [\n"
	"    {\n"
	"      \"type\": \"urn:ietf:params:acme:error:malformed\",\n"
	"      \"detail\": \"Invalid underscore in DNS name \\\"_example.org\\\"\",\n"
	"      \"identifier\": {\"type\": \"dns\", \"value\": \"_example.org\"}\n"
	"    },\n"
	"    {\n"
	"      \"type\": \"urn:ietf:params:acme:error:rejectedIdentifier\",\n"
	"      \"detail\": \"This CA will not issue for \\\"example.net\\\"\",\n"
	"      \"identifier\": {\"type\": \"dns\", \"value\": \"example.net\"}\n"
	"    }\n"
	"  ]\n"
	"}\n";

static void test_problem_subproblems(void **state)
{
	struct acme_problem p;
	struct gpc_error err;
	(void)state;

	assert_int_equal(acme_problem_parse(problem_subs, strlen(problem_subs), &p), 0);
	assert_string_equal(p.type, "urn:ietf:params:acme:error:malformed");
	assert_true(acme_problem_is(&p, "malformed"));
	assert_false(acme_problem_is(&p, "badNonce"));
	assert_string_equal(p.detail, "Some of the identifiers requested were rejected");
	assert_int_equal(p.n_sub, 2);
	assert_string_equal(p.sub[0].id_type, "dns");
	assert_string_equal(p.sub[0].id_value, "_example.org");
	assert_string_equal(p.sub[0].detail, "Invalid underscore in DNS name \"_example.org\"");
	assert_string_equal(p.sub[1].type, "urn:ietf:params:acme:error:rejectedIdentifier");
	assert_string_equal(p.sub[1].id_value, "example.net");

	gpc_error_clear(&err);
	assert_int_equal(acme_problem_to_error(&p, "newOrder", 400, 0, &err), -1);
	assert_string_equal(err.code, GPC_E_CA);
	assert_non_null(strstr(err.message, "CA refused newOrder: Some of the identifiers requested were rejected"));
	assert_non_null(strstr(err.message, "(malformed, HTTP 400)"));
	assert_non_null(strstr(err.message, "dns _example.org: Invalid underscore"));
	assert_non_null(strstr(err.message, "dns example.net: This CA will not issue for \"example.net\" (rejectedIdentifier)"));
	assert_non_null(strstr(err.hint, "spelling"));
	assert_int_equal(err.retry_after, 0);
	acme_problem_finish(&p);
}

static void test_problem_ratelimit(void **state)
{
	const char *doc = "{\"type\":\"urn:ietf:params:acme:error:rateLimited\",\"detail\":\"too many certificates "
			  "(5) already issued for this exact set of identifiers in the last 168h0m0s\",\"status\":429}";
	struct acme_problem p, empty;
	struct gpc_error err;
	(void)state;

	assert_int_equal(acme_problem_parse(doc, strlen(doc), &p), 0);
	assert_int_equal(p.status, 429);
	gpc_error_clear(&err);
	acme_problem_to_error(&p, "newOrder", 429, 1900000000, &err);
	assert_string_equal(err.code, GPC_E_RATELIMIT);
	assert_int_equal(err.retry_after, 1900000000);
	assert_non_null(strstr(err.message, "168h0m0s"));
	assert_non_null(strstr(err.hint, "2030-03-17T17:46:40Z"));
	acme_problem_finish(&p);

	/* 503 without a problem document is a deferral too */
	memset(&empty, 0, sizeof(empty));
	gpc_error_clear(&err);
	acme_problem_to_error(&empty, "newNonce", 503, 0, &err);
	assert_string_equal(err.code, GPC_E_RATELIMIT);
	assert_int_equal(err.retry_after, 0);

	/* not JSON / not an object */
	assert_int_equal(acme_problem_parse("<html>", 6, &p), -1);
	assert_int_equal(acme_problem_parse("[1]", 3, &p), -1);
}

/* A directory with ARI and profiles (draft-aaron-acme-profiles, as Let's Encrypt serves it) */
static const char directory_json[] =
	"{\"keyChange\":\"https://ca.test/acme/key-change\","
	"\"meta\":{\"caaIdentities\":[\"letsencrypt.org\"],"
	"\"profiles\":{\"classic\":\"https://ca.test/docs/profiles#classic\","
	"\"shortlived\":\"https://ca.test/docs/profiles#shortlived\",\"tlsserver\":\"https://ca.test/docs/profiles#tlsserver\"},"
	"\"termsOfService\":\"https://ca.test/tos.pdf\",\"website\":\"https://ca.test\"},"
	"\"newAccount\":\"https://ca.test/acme/new-acct\",\"newNonce\":\"https://ca.test/acme/new-nonce\","
	"\"newOrder\":\"https://ca.test/acme/new-order\",\"renewalInfo\":\"https://ca.test/acme/renewal-info\","
	"\"revokeCert\":\"https://ca.test/acme/revoke-cert\",\"Kx5sUw4TrdY\":\"https://community.example/t/x\"}";

static void test_directory(void **state)
{
	struct acme_directory d, c;
	struct gpc_error err;
	(void)state;

	gpc_error_clear(&err);
	assert_int_equal(acme_directory_parse(directory_json, strlen(directory_json), "https://ca.test/dir", &d, &err), 0);
	assert_string_equal(d.new_nonce, "https://ca.test/acme/new-nonce");
	assert_string_equal(d.new_account, "https://ca.test/acme/new-acct");
	assert_string_equal(d.new_order, "https://ca.test/acme/new-order");
	assert_string_equal(d.revoke_cert, "https://ca.test/acme/revoke-cert");
	assert_string_equal(d.key_change, "https://ca.test/acme/key-change");
	assert_string_equal(d.renewal_info, "https://ca.test/acme/renewal-info");
	assert_null(d.new_authz);
	assert_string_equal(d.terms_of_service, "https://ca.test/tos.pdf");
	assert_false(d.external_account_required);
	assert_int_equal(d.n_profiles, 3);
	assert_true(acme_directory_has_profile(&d, "shortlived"));
	assert_true(acme_directory_has_profile(&d, "classic"));
	assert_false(acme_directory_has_profile(&d, "short"));
	assert_int_equal(acme_directory_copy(&d, &c), 0);
	assert_true(acme_directory_has_profile(&c, "tlsserver"));
	assert_string_equal(c.renewal_info, d.renewal_info);
	acme_directory_finish(&c);
	acme_directory_finish(&d);

	/* EAB flag; no profiles */
	{
		const char *j = "{\"newNonce\":\"n\",\"newAccount\":\"a\",\"newOrder\":\"o\",\"revokeCert\":\"r\","
				"\"keyChange\":\"k\",\"meta\":{\"externalAccountRequired\":true}}";
		assert_int_equal(acme_directory_parse(j, strlen(j), "u", &d, &err), 0);
		assert_true(d.external_account_required);
		assert_int_equal(d.n_profiles, 0);
		assert_null(d.renewal_info);
		acme_directory_finish(&d);
	}
	/* a missing required URL names itself and the URL */
	{
		const char *j = "{\"newAccount\":\"a\",\"newOrder\":\"o\",\"revokeCert\":\"r\",\"keyChange\":\"k\"}";
		gpc_error_clear(&err);
		assert_int_equal(acme_directory_parse(j, strlen(j), "https://x.test/dir", &d, &err), -1);
		assert_string_equal(err.code, GPC_E_CA);
		assert_non_null(strstr(err.message, "https://x.test/dir"));
		assert_non_null(strstr(err.message, "newNonce"));
		assert_non_null(strstr(err.hint, "--server"));
	}
	/* HTML is not a directory */
	gpc_error_clear(&err);
	assert_int_equal(acme_directory_parse("<html></html>", 13, "https://x.test/", &d, &err), -1);
	assert_non_null(strstr(err.message, "not an ACME directory"));
	/* bytes after the object: not the CA's answer; white space after it is */
	{
		const char *ok = "{\"newNonce\":\"n\",\"newAccount\":\"a\",\"newOrder\":\"o\",\"revokeCert\":\"r\","
				 "\"keyChange\":\"k\"} \r\n\n";
		char *glued = malloc(strlen(ok) + 16);
		assert_non_null(glued);
		strcpy(glued, ok);
		strcat(glued, "<html>");
		assert_int_equal(acme_directory_parse(ok, strlen(ok), "u", &d, &err), 0);
		acme_directory_finish(&d);
		gpc_error_clear(&err);
		assert_int_equal(acme_directory_parse(glued, strlen(glued), "https://x.test/dir", &d, &err), -1);
		assert_non_null(strstr(err.message, "https://x.test/dir"));
		strcpy(glued, "{\"type\":\"x\"}{\"type\":\"y\"}");
		struct acme_problem p2;
		assert_int_equal(acme_problem_parse(glued, strlen(glued), &p2), -1);
		free(glued);
	}
}

/* RFC 9773 Appendix A example certificate */
static const char ari_cert[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt\n"
	"cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS\n"
	"BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu\n"
	"7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf\n"
	"qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B\n"
	"yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb\n"
	"+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK\n"
	"-----END CERTIFICATE-----\n";

static void test_ari_cert_id(void **state)
{
	char *id = NULL;
	struct gpc_error err;
	(void)state;

	gpc_error_clear(&err);
	/* RFC 9773 §4.1: AKI 69:88:5B:..., serial 00:87:65:43:21 (leading zero kept) */
	assert_int_equal(acme_ari_cert_id((const unsigned char *)ari_cert, strlen(ari_cert), &id, &err), 0);
	assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	free(id);
	gpc_error_clear(&err);
	assert_int_equal(acme_ari_cert_id((const unsigned char *)"nope", 4, &id, &err), -1);
	assert_string_equal(err.code, GPC_E_INVALID);
}

/* RFC 9773 §4.2 example RenewalInfo */
static const char ari_json[] =
	"{\n"
	"  \"suggestedWindow\": {\n"
	"    \"start\": \"2025-01-02T04:00:00Z\",\n"
	"    \"end\": \"2025-01-03T04:00:00Z\"\n"
	"  },\n"
	"  \"explanationURL\": \"https://acme.example.com/docs/ari\"\n"
	"}\n";

static void test_ari_window(void **state)
{
	struct acme_renewal_info ri;
	struct gpc_error err;
	time_t start = 1735790400, end = 1735876800; /* 2025-01-02T04:00:00Z, 2025-01-03T04:00:00Z */
	(void)state;

	gpc_error_clear(&err);
	assert_int_equal(acme_ari_parse(ari_json, strlen(ari_json), &ri, &err), 0);
	assert_int_equal(ri.start, start);
	assert_int_equal(ri.end, end);
	assert_string_equal(ri.explanation_url, "https://acme.example.com/docs/ari");
	/* a pick is inside the window, and picks differ (uniformly random) */
	{
		time_t first = acme_ari_pick(&ri, start - 86400);
		int differ = 0;
		for (int i = 0; i < 50; i++) {
			time_t t = acme_ari_pick(&ri, start - 86400);
			assert_true(t >= start && t < end);
			differ |= t != first;
		}
		assert_true(differ);
	}
	/* a window already past: renew now; inside the window: not before now */
	assert_int_equal(acme_ari_pick(&ri, end + 10), end + 10);
	assert_true(acme_ari_pick(&ri, start + 3600) >= start + 3600);
	acme_renewal_info_finish(&ri);

	/* invalid windows */
	{
		const char *bad[] = {
			"{\"suggestedWindow\":{\"start\":\"2025-01-03T04:00:00Z\",\"end\":\"2025-01-02T04:00:00Z\"}}",
			"{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\"}}",
			"{\"explanationURL\":\"x\"}",
			"not json",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			gpc_error_clear(&err);
			assert_int_equal(acme_ari_parse(bad[i], strlen(bad[i]), &ri, &err), -1);
			assert_string_equal(err.code, GPC_E_CA);
			acme_renewal_info_finish(&ri);
		}
	}
}

static void test_retry_after(void **state)
{
	time_t t = 0;
	(void)state;

	assert_int_equal(http_parse_retry_after("120", 1000, &t), 0);
	assert_int_equal(t, 1120);
	assert_int_equal(http_parse_retry_after(" 0", 1000, &t), 0);
	assert_int_equal(t, 1000);
	/* RFC 9110 §5.6.7 HTTP-date, IMF-fixdate and the two obsolete forms */
	assert_int_equal(http_parse_retry_after("Fri, 31 Dec 1999 23:59:59 GMT", 0, &t), 0);
	assert_int_equal(t, 946684799);
	assert_int_equal(http_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", 0, &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(http_parse_retry_after("Sun Nov  6 08:49:37 1994", 0, &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(http_parse_retry_after("12abc", 0, &t), -1);
	assert_int_equal(http_parse_retry_after("", 0, &t), -1);
	assert_int_equal(http_parse_retry_after("soon", 0, &t), -1);
	assert_int_equal(http_parse_retry_after("-5", 0, &t), -1);
}

static void test_url_host(void **state)
{
	char h[64];
	(void)state;
	assert_string_equal(http_url_host("https://acme-v02.api.letsencrypt.org/directory", h, sizeof(h)),
			    "acme-v02.api.letsencrypt.org");
	assert_string_equal(http_url_host("https://127.0.0.1:14000/dir?x", h, sizeof(h)), "127.0.0.1:14000");
	assert_string_equal(http_url_host("https://x.test", h, 4), "x.t");
}

/* RFC 8555 §7.1.3 and §7.1.4 example objects, through the parsers the
 * network calls use. */
static void test_order_authz_account(void **state)
{
	static const char order[] =
		"{\"status\":\"pending\",\"expires\":\"2016-01-05T14:09:07.99Z\","
		"\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.example.org\"},"
		"{\"type\":\"dns\",\"value\":\"example.org\"}],"
		"\"authorizations\":[\"https://example.com/acme/authz/PAniVnsZcis\","
		"\"https://example.com/acme/authz/r4HqLzrSrpI\"],"
		"\"finalize\":\"https://example.com/acme/order/TOlocE8rfgo/finalize\","
		"\"certificate\":\"https://example.com/acme/cert/mAt3xBGaobw\"}";
	static const char authz[] =
		"{\"status\":\"valid\",\"expires\":\"2015-03-01T14:09:07.99Z\","
		"\"identifier\":{\"type\":\"dns\",\"value\":\"www.example.org\"},"
		"\"challenges\":[{\"url\":\"https://example.com/acme/chall/prV_B7yEyA4\","
		"\"type\":\"http-01\",\"status\":\"valid\",\"token\":\"DGyRejmCefe7v4NfDGDKfA\"}],"
		"\"wildcard\":false}";
	static const char acct[] =
		"{\"status\":\"valid\",\"contact\":[\"mailto:cert-admin@example.org\","
		"\"mailto:admin@example.org\"],\"orders\":\"https://example.com/acme/orders/rzGoeA\"}";
	struct acme_order o;
	struct acme_authz a;
	struct acme_account ac;

	(void)state;
	assert_int_equal(acme_order_parse(order, strlen(order), "https://example.com/acme/order/TOlocE8rfgo", &o), 0);
	assert_string_equal(o.status, "pending");
	assert_int_equal(o.n_identifiers, 2);
	assert_string_equal(o.identifiers[1].value, "example.org");
	assert_int_equal(o.n_authorizations, 2);
	assert_string_equal(o.authorizations[1], "https://example.com/acme/authz/r4HqLzrSrpI");
	assert_string_equal(o.finalize, "https://example.com/acme/order/TOlocE8rfgo/finalize");
	assert_string_equal(o.url, "https://example.com/acme/order/TOlocE8rfgo");
	assert_int_equal(o.expires, 1452002947); /* 2016-01-05T14:09:07Z */
	acme_order_finish(&o);

	assert_int_equal(acme_authz_parse(authz, strlen(authz), NULL, &a), 0);
	assert_string_equal(a.status, "valid");
	assert_string_equal(a.identifier.value, "www.example.org");
	assert_int_equal(a.n_challenges, 1);
	assert_string_equal(a.challenges[0].type, "http-01");
	assert_string_equal(a.challenges[0].token, "DGyRejmCefe7v4NfDGDKfA");
	assert_false(a.wildcard);
	acme_authz_finish(&a);

	assert_int_equal(acme_account_parse(acct, strlen(acct), "https://example.com/acme/acct/evOfKhNU60wg", &ac), 0);
	assert_string_equal(ac.status, "valid");
	assert_int_equal(ac.n_contact, 2);
	assert_string_equal(ac.contact[0], "mailto:cert-admin@example.org");
	acme_account_finish(&ac);

	assert_int_equal(acme_order_parse("[1]", 3, NULL, &o), -1);
	assert_int_equal(acme_authz_parse("{\"status\":", 10, NULL, &a), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_problem_subproblems),
		cmocka_unit_test(test_order_authz_account),
		cmocka_unit_test(test_problem_ratelimit),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_ari_cert_id),
		cmocka_unit_test(test_ari_window),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_url_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

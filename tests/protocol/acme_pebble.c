/* acme_pebble: drives lib/acme end to end against a real pebble started by
 * acme_pebble.sh (tests/lib/pebble.sh). Modes:
 *   issue [--expect-badnonce]  account, order for two names, dns-01 through
 *                              challtestsrv, finalize, download, verify, revoke
 *   eab                        External Account Binding (pebble --eab)
 *   account                    lookup (onlyReturnExisting), update, rollover, deactivate
 *   errors                     problem documents, TLS and network failures
 *   chains                     --preferred-chain via Link rel="alternate"
 *   threads                    8 clients in 4 threads sharing account and pool
 * Needs PEBBLE_DIR_URL, PEBBLE_CA_BUNDLE, CHALLTEST_MGMT, PEBBLE_MGMT_URL,
 * PEBBLE_ROOTS (pebble's root + intermediate, PEM). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "acme.h"
#include "b64.h"
#include "buf.h"
#include "driver.h"
#include "error.h"
#include "keygen.h"
#include "log.h"

static int badnonce_seen;
static int verbose;

static void log_cb(enum gpc_log_level level, const char *msg, void *ud)
{
	(void)ud;
	if (strstr(msg, "badNonce, retrying") != NULL)
		badnonce_seen++;
	if (verbose || level <= GPC_LOG_WARN)
		fprintf(stderr, "[%d] %s\n", (int)level, msg);
}

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
	struct buf *b = ud;
	if (b != NULL && buf_add(b, p, s * n) < 0)
		return 0;
	return s * n;
}

/* Plain libcurl request to a pebble/challtestsrv management endpoint. */
static long mgmt(const char *url, const char *post, struct buf *out)
{
	CURL *h = curl_easy_init();
	long status = 0;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO, env("PEBBLE_CA_BUNDLE"));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	if (post != NULL)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	return status;
}

static struct acme_client *client_new(const char *ca_bundle)
{
	struct acme_options o = {0};
	struct acme_client *c = NULL;
	struct gpc_error err;

	gpc_error_clear(&err);
	o.directory_url = env("PEBBLE_DIR_URL");
	o.ca_bundle = ca_bundle;
	o.max_poll_secs = 60;
	/* pebble rejects 50 % of nonces here: 11 rejections in a row (1 in 2048 per
	 * request at 10 retries) failed a CI run; at 30 it is 1 in 2^31 */
	o.max_retries = 30;
	MUST(acme_client_new(&o, &c, &err) == 0, "%s", err.message);
	return c;
}

static char *new_key(enum keygen_type t)
{
	char *pem = NULL;
	struct gpc_error err;

	gpc_error_clear(&err);
	MUST(keygen_generate(t, &pem, NULL, &err) == 0, "%s", err.message);
	return pem;
}

static void account_create(struct acme_client *c, const char *key)
{
	struct gpc_error err;
	const char *contact[] = {"admin@example.com"};
	struct acme_account_opts ao = {contact, 1, true, NULL, NULL};
	struct acme_account acct = {0};
	bool created = false;

	gpc_error_clear(&err);
	MUST(acme_client_set_account(c, key, strlen(key), NULL, &err) == 0, "%s", err.message);
	MUST(acme_account_new(c, &ao, &acct, &created, &err) == 0, "%s", err.message);
	CHECK(created, "first newAccount should create (201)");
	CHECK(acme_client_kid(c) != NULL && acct.url != NULL && strcmp(acct.url, acme_client_kid(c)) == 0,
	      "kid %s", acme_client_kid(c));
	CHECK(acct.status && strcmp(acct.status, "valid") == 0, "status %s", acct.status);
	CHECK(acct.n_contact == 1 && strcmp(acct.contact[0], "mailto:admin@example.com") == 0,
	      "contact not stored with mailto:");
	acme_account_finish(&acct);
}

/* Verify the chain against pebble's root, the names, and the key. */
static void verify_chain(const char *pem, size_t len, const char *const *names, size_t n, const char *key)
{
	gnutls_x509_crt_t *crts = NULL, *cas = NULL;
	unsigned ncrt = 0, nca = 0, status = 1;
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)len}, rd;
	struct buf roots;
	struct gpc_error err;
	unsigned char kid1[64], kid2[64];
	size_t k1 = sizeof(kid1), k2 = sizeof(kid2);
	gnutls_privkey_t pk = NULL;
	gnutls_pubkey_t pub = NULL;

	buf_init(&roots, 1 << 20);
	MUST(mgmt(env("PEBBLE_ROOT_URL"), NULL, &roots) == 200, "fetch pebble root");
	rd.data = (unsigned char *)roots.data;
	rd.size = (unsigned)roots.len;
	MUST(gnutls_x509_crt_list_import2(&crts, &ncrt, &d, GNUTLS_X509_FMT_PEM, 0) >= 0 && ncrt >= 2,
	     "chain has %u certificates", ncrt);
	MUST(gnutls_x509_crt_list_import2(&cas, &nca, &rd, GNUTLS_X509_FMT_PEM, 0) >= 0 && nca >= 1, "root");
	gnutls_x509_trust_list_init(&tl, 0);
	gnutls_x509_trust_list_add_cas(tl, cas, nca, 0);
	CHECK(gnutls_x509_trust_list_verify_crt(tl, crts, ncrt, 0, &status, NULL) >= 0 && status == 0,
	      "chain does not verify against pebble's root (status %u)", status);
	for (size_t i = 0; i < n; i++)
		CHECK(gnutls_x509_crt_check_hostname(crts[0], names[i]), "leaf lacks %s", names[i]);
	gpc_error_clear(&err);
	MUST(keygen_load(key, strlen(key), "cert key", &pk, &err) == 0, "%s", err.message);
	gnutls_pubkey_init(&pub);
	gnutls_pubkey_import_privkey(pub, pk, 0, 0);
	CHECK(gnutls_pubkey_get_key_id(pub, 0, kid1, &k1) >= 0 &&
	      gnutls_x509_crt_get_key_id(crts[0], 0, kid2, &k2) >= 0 && k1 == k2 && memcmp(kid1, kid2, k1) == 0,
	      "leaf does not carry the CSR's key");
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(pk);
	gnutls_x509_trust_list_deinit(tl, 1); /* frees cas */
	gnutls_free(cas);
	for (unsigned i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	buf_finish(&roots);
}

static char *serial_hex(const char *pem, size_t len)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)len};
	unsigned char s[64];
	size_t sl = sizeof(s), i = 0;
	char *hex = calloc(1, 2 * sizeof(s) + 1), *p = hex;

	gnutls_x509_crt_init(&crt);
	MUST(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) >= 0 &&
	     gnutls_x509_crt_get_serial(crt, s, &sl) >= 0, "serial");
	while (i < sl - 1 && s[i] == 0) /* pebble prints the serial without leading zeros */
		i++;
	for (; i < sl; i++)
		p += sprintf(p, "%02x", s[i]);
	gnutls_x509_crt_deinit(crt);
	return hex;
}

/* One issuance for `names` by dns-01. Returns the chain (caller frees). */
static char *issue(struct acme_client *c, const char *const *names, size_t n, char **cert_key,
		   struct http_stats *used, char **cert_url)
{
	struct acme_order_opts oo = {names, n, NULL, NULL};
	struct acme_order o = {0};
	struct gpc_error err;
	struct http_stats before, after;
	char *key = new_key(KEYGEN_EC256), *pem = NULL;
	unsigned char *csr = NULL;
	size_t csr_len = 0, pem_len = 0;

	gpc_error_clear(&err);
	acme_client_stats(c, &before);
	MUST(acme_order_new(c, &oo, &o, &err) == 0, "%s", err.message);
	CHECK(o.n_authorizations == n, "%zu authorizations for %zu names", o.n_authorizations, n);
	for (size_t i = 0; i < o.n_authorizations; i++) {
		struct acme_authz a = {0};
		const struct acme_challenge *ch;
		char *ka, *txt, *host, body[512], url[512];

		MUST(acme_authz_get(c, o.authorizations[i], &a, &err) == 0, "%s", err.message);
		if (strcmp(a.status, "valid") == 0) { /* reused authorization: skip */
			acme_authz_finish(&a);
			continue;
		}
		ch = acme_authz_challenge(&a, "dns-01");
		MUST(ch != NULL && ch->token != NULL, "no dns-01 challenge for %s", a.identifier.value);
		ka = acme_key_authorization(c, ch->token);
		txt = acme_dns01_txt(ka);
		host = acme_dns01_name(a.identifier.value);
		snprintf(body, sizeof(body), "{\"host\":\"%s.\",\"value\":\"%s\"}", host, txt);
		snprintf(url, sizeof(url), "%s/set-txt", env("CHALLTEST_MGMT"));
		MUST(mgmt(url, body, NULL) == 200, "set-txt %s", host);
		MUST(acme_challenge_respond(c, ch->url, &err) == 0, "%s", err.message);
		MUST(acme_authz_poll(c, &a, &err) == 0, "%s", err.message);
		CHECK(strcmp(a.status, "valid") == 0, "authz %s", a.status);
		free(ka);
		free(txt);
		free(host);
		acme_authz_finish(&a);
	}
	MUST(acme_order_poll(c, &o, "ready", &err) == 0, "%s", err.message);
	MUST(keygen_csr(key, strlen(key), names, n, 1, &csr, &csr_len, &err) == 0, "%s", err.message);
	MUST(acme_order_finalize(c, &o, csr, csr_len, &err) == 0, "%s", err.message);
	CHECK(strcmp(o.status, "valid") == 0 && o.certificate != NULL, "order %s", o.status);
	MUST(acme_certificate_download(c, o.certificate, NULL, &pem, &pem_len, &err) == 0, "%s", err.message);
	acme_client_stats(c, &after);
	used->requests = after.requests - before.requests;
	used->connections = after.connections - before.connections;
	verify_chain(pem, pem_len, names, n, key);
	if (cert_url != NULL)
		*cert_url = strdup(o.certificate);
	free(csr);
	acme_order_finish(&o);
	*cert_key = key;
	return pem;
}

static int mode_issue(int expect_badnonce, int conn_check)
{
	struct acme_client *c = client_new(env("PEBBLE_CA_BUNDLE"));
	const char *names[] = {"a.example.com", "b.example.com"};
	struct http_stats used, total, used2;
	struct gpc_error err;
	char *key = new_key(KEYGEN_EC256), *ckey = NULL, *pem, *serial, url[600], *pem2, *ckey2;
	struct buf status;

	account_create(c, key);
	pem = issue(c, names, 2, &ckey, &used, NULL);
	printf("STATS issuance (2 names, dns-01, new order to download): requests=%lu tls_connections=%lu\n",
	       used.requests, used.connections);
	/* a second issuance on the same client: everything on the kept connection */
	pem2 = issue(c, names, 2, &ckey2, &used2, NULL);
	printf("STATS second issuance on the same client: requests=%lu tls_connections=%lu\n",
	       used2.requests, used2.connections);
	if (conn_check)
		CHECK(used2.connections == 0, "second issuance opened %lu new connections", used2.connections);

	/* RFC 8555 §7.6 revoke with the account key, reason keyCompromise (1) */
	gpc_error_clear(&err);
	CHECK(acme_revoke(c, (const unsigned char *)pem, strlen(pem), 1, &err) == 0, "%s", err.message);
	serial = serial_hex(pem, strlen(pem));
	snprintf(url, sizeof(url), "%s/cert-status-by-serial/%s", env("PEBBLE_MGMT_URL"), serial);
	buf_init(&status, 1 << 20);
	CHECK(mgmt(url, NULL, &status) == 200 && strstr(status.data, "\"Revoked\"") != NULL,
	      "pebble does not list %s as revoked: %s", serial, status.data ? status.data : "");
	/* revoking again: the CA's problem (alreadyRevoked) comes back */
	gpc_error_clear(&err);
	CHECK(acme_revoke(c, (const unsigned char *)pem, strlen(pem), -1, &err) < 0 &&
	      strcmp(err.code, GPC_E_CA) == 0 && acme_problem_is(acme_last_problem(c), "alreadyRevoked") &&
	      strstr(err.message, "alreadyRevoked") != NULL, "second revoke: %s", err.message);

	acme_client_stats(c, &total);
	printf("STATS whole run (account + 2 issuances + 2 revocations): requests=%lu tls_connections=%lu\n",
	       total.requests, total.connections);
	if (conn_check)
		CHECK(total.connections == 1, "the connection was not reused: %lu connections", total.connections);
	if (expect_badnonce) {
		printf("badNonce retries seen: %d\n", badnonce_seen);
		CHECK(badnonce_seen > 0, "pebble rejected no nonce? (PEBBLE_WFE_NONCEREJECT=50)");
	}
	buf_finish(&status);
	free(serial);
	free(pem);
	free(pem2);
	free(ckey);
	free(ckey2);
	free(key);
	acme_client_free(c);
	return failures ? 1 : 0;
}

static int mode_eab(void)
{
	struct acme_client *c = client_new(env("PEBBLE_CA_BUNDLE"));
	char *key = new_key(KEYGEN_EC256);
	struct acme_account_opts ao = {NULL, 0, true, NULL, NULL};
	struct gpc_error err;
	bool created = false;

	gpc_error_clear(&err);
	MUST(acme_client_set_account(c, key, strlen(key), NULL, &err) == 0, "%s", err.message);
	MUST(acme_directory_fetch(c, &err) == 0, "%s", err.message);
	CHECK(acme_client_directory(c)->external_account_required, "directory lacks externalAccountRequired");
	/* without EAB: refused before any request, with a hint naming the options */
	CHECK(acme_account_new(c, &ao, NULL, NULL, &err) < 0 && strcmp(err.code, GPC_E_USAGE) == 0 &&
	      strstr(err.hint, "--eab-kid") != NULL, "no EAB: %s / %s", err.message, err.hint);
	/* a wrong HMAC key: the CA refuses, its words reach the error */
	ao.eab_kid = env("PEBBLE_EAB_KID");
	ao.eab_hmac = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk";
	gpc_error_clear(&err);
	CHECK(acme_account_new(c, &ao, NULL, NULL, &err) < 0 && strcmp(err.code, GPC_E_CA) == 0 &&
	      strstr(err.message, "CA refused newAccount") != NULL, "wrong HMAC: %s", err.message);
	/* not base64url */
	ao.eab_hmac = "not base64!";
	gpc_error_clear(&err);
	CHECK(acme_account_new(c, &ao, NULL, NULL, &err) < 0 && strcmp(err.code, GPC_E_USAGE) == 0 &&
	      strstr(err.message, "kid-1") != NULL && strstr(err.message, "not base64!") == NULL,
	      "bad HMAC encoding: %s", err.message);
	/* the right one */
	ao.eab_hmac = env("PEBBLE_EAB_HMAC");
	gpc_error_clear(&err);
	CHECK(acme_account_new(c, &ao, NULL, &created, &err) == 0 && created, "EAB: %s", err.message);
	free(key);
	acme_client_free(c);
	return failures ? 1 : 0;
}

static int mode_account(void)
{
	struct acme_client *c = client_new(env("PEBBLE_CA_BUNDLE")), *c2;
	char *key = new_key(KEYGEN_EC256), *key2 = new_key(KEYGEN_EC384), *key3 = new_key(KEYGEN_RSA2048);
	char *kid;
	struct acme_account a = {0};
	struct gpc_error err;
	const char *contact[] = {"mailto:new@example.com", "other@example.com"};

	gpc_error_clear(&err);
	MUST(acme_client_set_account(c, key, strlen(key), NULL, &err) == 0, "%s", err.message);
	/* onlyReturnExisting before the account exists: 1, nothing created */
	CHECK(acme_account_lookup(c, NULL, &err) == 1 && acme_client_kid(c) == NULL,
	      "lookup of an unknown key: %s", err.message);
	account_create(c, key);
	kid = strdup(acme_client_kid(c));

	/* a fresh client with the same key finds the account URL again */
	c2 = client_new(env("PEBBLE_CA_BUNDLE"));
	MUST(acme_client_set_account(c2, key, strlen(key), NULL, &err) == 0, "%s", err.message);
	CHECK(acme_account_lookup(c2, &a, &err) == 0 && acme_client_kid(c2) && strcmp(acme_client_kid(c2), kid) == 0,
	      "lookup: %s", err.message);
	acme_account_finish(&a);

	/* update contact */
	CHECK(acme_account_update(c, contact, 2, &a, &err) == 0 && a.n_contact == 2 &&
	      strcmp(a.contact[1], "mailto:other@example.com") == 0, "update: %s", err.message);
	acme_account_finish(&a);
	CHECK(acme_account_get(c, &a, &err) == 0 && a.status && strcmp(a.status, "valid") == 0, "get: %s",
	      err.message);
	acme_account_finish(&a);

	/* RFC 8555 §7.3.5 rollover to P-384, then to RSA */
	CHECK(acme_account_rollover(c, key2, strlen(key2), &err) == 0, "rollover: %s", err.message);
	CHECK(strcmp(jws_key_alg(acme_client_key(c)), "ES384") == 0, "client still uses the old key");
	CHECK(acme_account_get(c, &a, &err) == 0, "get after rollover: %s", err.message);
	acme_account_finish(&a);
	CHECK(acme_account_rollover(c, key3, strlen(key3), &err) == 0, "rollover to RSA: %s", err.message);
	CHECK(acme_account_get(c, &a, &err) == 0, "get with RS256: %s", err.message);
	acme_account_finish(&a);
	/* the old key no longer finds it; the new one does */
	acme_client_free(c2);
	c2 = client_new(env("PEBBLE_CA_BUNDLE"));
	MUST(acme_client_set_account(c2, key, strlen(key), NULL, &err) == 0, "%s", err.message);
	CHECK(acme_account_lookup(c2, NULL, &err) == 1, "old key still finds the account");
	MUST(acme_client_set_account(c2, key3, strlen(key3), NULL, &err) == 0, "%s", err.message);
	CHECK(acme_account_lookup(c2, NULL, &err) == 0 && strcmp(acme_client_kid(c2), kid) == 0,
	      "new key: %s", err.message);
	/* rollover to the key it already has: refused by the CA, old key kept */
	gpc_error_clear(&err);
	CHECK(acme_account_rollover(c, key3, strlen(key3), &err) < 0 && strstr(err.message, "CA refused") != NULL,
	      "rollover to same key: %s", err.message);

	/* deactivate; then the account is unusable */
	CHECK(acme_account_deactivate(c, &err) == 0, "deactivate: %s", err.message);
	gpc_error_clear(&err);
	CHECK(acme_account_get(c, &a, &err) < 0 && strcmp(err.code, GPC_E_CA) == 0, "get after deactivate: %s",
	      err.message);
	acme_account_finish(&a);
	free(kid);
	free(key);
	free(key2);
	free(key3);
	acme_client_free(c);
	acme_client_free(c2);
	return failures ? 1 : 0;
}

static int mode_errors(void)
{
	struct acme_client *c;
	struct acme_options o = {0};
	struct gpc_error err;
	char *key = new_key(KEYGEN_EC256);
	const char *bad[] = {"not a valid name!"}, *ip[] = {"127.0.0.1"};
	struct acme_order ord = {0};
	struct acme_order_opts oo = {bad, 1, NULL, NULL};

	/* TLS: pebble's certificate is not trusted without --ca-bundle */
	c = client_new(NULL);
	gpc_error_clear(&err);
	CHECK(acme_directory_fetch(c, &err) < 0 && strcmp(err.code, GPC_E_TLS) == 0 &&
	      strstr(err.message, "127.0.0.1") != NULL && strstr(err.hint, "--ca-bundle") != NULL,
	      "untrusted: %s / %s", err.message, err.hint);
	acme_client_free(c);

	/* a CA bundle that does not exist */
	c = client_new("/nonexistent/ca.pem");
	gpc_error_clear(&err);
	CHECK(acme_directory_fetch(c, &err) < 0 && strstr(err.message, "/nonexistent/ca.pem") != NULL,
	      "missing bundle: %s", err.message);
	acme_client_free(c);

	/* connection refused: a closed port (the freeport picked and released) */
	o.directory_url = getenv("CLOSED_URL");
	if (o.directory_url != NULL) {
		MUST(acme_client_new(&o, &c, &err) == 0, "%s", err.message);
		gpc_error_clear(&err);
		CHECK(acme_directory_fetch(c, &err) < 0 && strcmp(err.code, GPC_E_NETWORK) == 0 &&
		      strstr(err.message, "cannot connect") != NULL, "refused: %s", err.message);
		acme_client_free(c);
	}
	/* unresolvable host */
	o.directory_url = "https://no-such-host.invalid/directory";
	MUST(acme_client_new(&o, &c, &err) == 0, "%s", err.message);
	gpc_error_clear(&err);
	CHECK(acme_directory_fetch(c, &err) < 0 && strcmp(err.code, GPC_E_NETWORK) == 0 &&
	      strstr(err.message, "no-such-host.invalid") != NULL, "dns: %s", err.message);
	acme_client_free(c);

	/* not a directory: pebble's management root answers 404 text */
	{
		char murl[512];

		snprintf(murl, sizeof(murl), "%s/", env("PEBBLE_MGMT_URL"));
		o.directory_url = murl;
		o.ca_bundle = env("PEBBLE_CA_BUNDLE");
		MUST(acme_client_new(&o, &c, &err) == 0, "%s", err.message);
		gpc_error_clear(&err);
		CHECK(acme_directory_fetch(c, &err) < 0 && strcmp(err.code, GPC_E_CA) == 0 &&
		      strstr(err.message, murl) != NULL && strstr(err.message, "404") != NULL,
		      "not a directory: %s: %s", err.code, err.message);
		printf("not a directory -> %s\n", err.message);
		acme_client_free(c);
		o.ca_bundle = NULL;
	}

	c = client_new(env("PEBBLE_CA_BUNDLE"));
	account_create(c, key);
	/* the CA's problem document for a bad identifier */
	gpc_error_clear(&err);
	CHECK(acme_order_new(c, &oo, &ord, &err) < 0 && strcmp(err.code, GPC_E_CA) == 0 &&
	      strstr(err.message, "CA refused newOrder") != NULL && acme_last_problem(c) != NULL &&
	      acme_last_problem(c)->detail != NULL,
	      "bad name: %s", err.message);
	printf("bad identifier -> %s\n", err.message);
	/* profiles: the test pebble lists only "default" (tests/lib/pebble.sh) */
	oo.names = ip;
	oo.profile = "shortlived";
	gpc_error_clear(&err);
	CHECK(acme_order_new(c, &oo, &ord, &err) < 0 && strcmp(err.code, GPC_E_USAGE) == 0 &&
	      strstr(err.message, "shortlived") != NULL, "profile: %s", err.message);
	/* IP identifiers (RFC 8738) are accepted by pebble */
	oo.profile = NULL;
	gpc_error_clear(&err);
	CHECK(acme_order_new(c, &oo, &ord, &err) == 0 && ord.n_identifiers == 1 &&
	      strcmp(ord.identifiers[0].type, "ip") == 0, "ip order: %s", err.message);
	acme_order_finish(&ord);
	/* a failed challenge: the CA's detail and type reach the error */
	{
		const char *nm[] = {"nothing-here.example.com"};
		struct acme_order_opts o2 = {nm, 1, NULL, NULL};
		struct acme_authz a = {0};
		const struct acme_challenge *ch;

		gpc_error_clear(&err);
		MUST(acme_order_new(c, &o2, &ord, &err) == 0, "%s", err.message);
		MUST(acme_authz_get(c, ord.authorizations[0], &a, &err) == 0, "%s", err.message);
		ch = acme_authz_challenge(&a, "dns-01");
		MUST(ch != NULL, "dns-01 offered");
		/* no TXT record set: pebble's VA finds nothing */
		MUST(acme_challenge_respond(c, ch->url, &err) == 0, "%s", err.message);
		CHECK(acme_authz_poll(c, &a, &err) < 0 && strcmp(err.code, GPC_E_CA) == 0 &&
		      strstr(err.message, "dns-01 for nothing-here.example.com") != NULL &&
		      acme_last_problem(c) != NULL && acme_last_problem(c)->detail != NULL &&
		      strstr(err.message, acme_last_problem(c)->detail) != NULL && strcmp(a.status, "invalid") == 0,
		      "failed challenge: %s", err.message);
		printf("failed challenge -> %s (%s)\n", err.message, err.hint);
		/* the order is invalid now: polling it says so with the CA's words */
		gpc_error_clear(&err);
		CHECK(acme_order_poll(c, &ord, "ready", &err) < 0 && strcmp(err.code, GPC_E_CA) == 0,
		      "invalid order: %s", err.message);
		acme_authz_finish(&a);
		acme_order_finish(&ord);
	}
	/* ARI: pebble 2.10 has renewalInfo; a certID of no certificate it
	 * issued is refused in the CA's words */
	{
		struct acme_renewal_info ri;
		gpc_error_clear(&err);
		CHECK(acme_ari_fetch(c, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", &ri, &err) < 0 &&
		      strcmp(err.code, GPC_E_CA) == 0 && strstr(err.message, "renewalInfo") != NULL &&
		      strstr(err.message, "Authority Key Identifier") != NULL, "ari: %s", err.message);
	}
	acme_client_free(c);
	free(key);
	return failures ? 1 : 0;
}

/* Relay answers newOrder with 429 rateLimited, Retry-After: 3600 (RFC 8555 §6.6). */
static int mode_ratelimited(void)
{
	struct acme_client *c = client_new(env("PEBBLE_CA_BUNDLE"));
	const char *names[] = {"limited.example.com"};
	struct acme_order_opts oo = {names, 1, NULL, NULL};
	struct acme_order o = {0};
	struct gpc_error err;
	char *key = new_key(KEYGEN_EC256);
	time_t now = time(NULL);

	account_create(c, key);
	gpc_error_clear(&err);
	CHECK(acme_order_new(c, &oo, &o, &err) < 0, "newOrder passed a 429");
	CHECK(err.code && strcmp(err.code, GPC_E_RATELIMIT) == 0, "code %s", err.code);
	CHECK(err.retry_after >= now + 3590 && err.retry_after <= now + 3700, "retry_after %ld (now %ld)",
	      err.retry_after, (long)now);
	CHECK(strstr(err.message, "rateLimited") != NULL && strstr(err.message, "HTTP 429") != NULL, "%s",
	      err.message);
	CHECK(strstr(err.hint, "wait until") != NULL, "hint %s", err.hint);
	CHECK(acme_problem_is(acme_last_problem(c), "rateLimited"), "last problem");
	printf("429 -> %s (%s)\n", err.message, err.hint);
	free(key);
	acme_client_free(c);
	return failures ? 1 : 0;
}

/* Every request 503 with Retry-After: 3600: a deferral at once, not a wait. */
static int mode_busy(void)
{
	struct acme_client *c = client_new(env("PEBBLE_CA_BUNDLE"));
	struct gpc_error err;
	time_t now = time(NULL);

	gpc_error_clear(&err);
	CHECK(acme_directory_fetch(c, &err) < 0 && err.code && strcmp(err.code, GPC_E_RATELIMIT) == 0 &&
	      err.retry_after >= now + 3590 && strstr(err.message, "HTTP 503") != NULL,
	      "503: %s %s %ld", err.code, err.message, err.retry_after);
	CHECK(time(NULL) - now < 30, "waited %ld s", (long)(time(NULL) - now));
	printf("503 -> %s (%s)\n", err.message, err.hint);
	acme_client_free(c);
	return failures ? 1 : 0;
}

/* newOrder answer cut in half: a CA error naming the step, no crash. */
static int mode_truncated(void)
{
	struct acme_client *c = client_new(env("PEBBLE_CA_BUNDLE"));
	const char *names[] = {"cut.example.com"};
	struct acme_order_opts oo = {names, 1, NULL, NULL};
	struct acme_order o = {0};
	struct gpc_error err;
	char *key = new_key(KEYGEN_EC256);

	account_create(c, key);
	gpc_error_clear(&err);
	CHECK(acme_order_new(c, &oo, &o, &err) < 0 && err.code && strcmp(err.code, GPC_E_CA) == 0 &&
	      strstr(err.message, "newOrder") != NULL && strstr(err.message, "not a JSON object") != NULL,
	      "truncated: %s", err.message);
	printf("truncated -> %s\n", err.message);
	free(key);
	acme_client_free(c);
	return failures ? 1 : 0;
}

/* Subject (or issuer) CN of certificate `idx` (-1: last) of a PEM chain. */
static void chain_cn(const char *pem, size_t len, int idx, int issuer, char *out, size_t outsz)
{
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0;
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)len};
	size_t sz = outsz;

	MUST(gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0) >= 0 && n > 0, "PEM chain");
	if (idx < 0)
		idx = (int)n - 1;
	if (issuer)
		MUST(gnutls_x509_crt_get_issuer_dn_by_oid(crts[idx], GNUTLS_OID_X520_COMMON_NAME, 0, 0, out, &sz) >= 0, "CN");
	else
		MUST(gnutls_x509_crt_get_dn_by_oid(crts[idx], GNUTLS_OID_X520_COMMON_NAME, 0, 0, out, &sz) >= 0, "CN");
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
}

/* --preferred-chain: pebble with PEBBLE_ALTERNATE_ROOTS=1 offers a second chain
 * through Link rel="alternate" (RFC 8555 §7.4.2). */
static int mode_chains(void)
{
	struct acme_client *c = client_new(env("PEBBLE_CA_BUNDLE"));
	const char *names[] = {"chain.example.com"};
	char *key = new_key(KEYGEN_EC256), *ckey = NULL, *pem, *url = NULL, *p2 = NULL, cn0[256], cn1[256], top[256];
	char murl[600];
	struct http_stats used, s0, s1;
	struct gpc_error err;
	struct buf r0, r1;
	size_t len = 0;

	account_create(c, key);
	pem = issue(c, names, 1, &ckey, &used, &url);
	buf_init(&r0, 1 << 20);
	buf_init(&r1, 1 << 20);
	snprintf(murl, sizeof(murl), "%s/roots/0", env("PEBBLE_MGMT_URL"));
	MUST(mgmt(murl, NULL, &r0) == 200, "roots/0");
	snprintf(murl, sizeof(murl), "%s/roots/1", env("PEBBLE_MGMT_URL"));
	MUST(mgmt(murl, NULL, &r1) == 200, "roots/1 (PEBBLE_ALTERNATE_ROOTS=1?)");
	chain_cn(r0.data, r0.len, 0, 0, cn0, sizeof(cn0));
	chain_cn(r1.data, r1.len, 0, 0, cn1, sizeof(cn1));
	CHECK(strcmp(cn0, cn1) != 0, "two roots with one name %s", cn0);
	chain_cn(pem, strlen(pem), -1, 1, top, sizeof(top));
	CHECK(strcmp(top, cn0) == 0, "default chain ends at %s, not %s", top, cn0);

	/* the alternate root: one more request, its chain */
	gpc_error_clear(&err);
	acme_client_stats(c, &s0);
	MUST(acme_certificate_download(c, url, cn1, &p2, &len, &err) == 0, "%s", err.message);
	acme_client_stats(c, &s1);
	chain_cn(p2, len, -1, 1, top, sizeof(top));
	CHECK(strcmp(top, cn1) == 0, "preferred %s, got a chain ending at %s", cn1, top);
	CHECK(s1.requests - s0.requests == 2, "%lu requests for default + 1 alternate", s1.requests - s0.requests);
	free(p2);
	/* the default root: no extra request */
	acme_client_stats(c, &s0);
	MUST(acme_certificate_download(c, url, cn0, &p2, &len, &err) == 0, "%s", err.message);
	acme_client_stats(c, &s1);
	chain_cn(p2, len, -1, 1, top, sizeof(top));
	CHECK(strcmp(top, cn0) == 0 && s1.requests - s0.requests == 1, "default preferred: %s", top);
	free(p2);
	/* nobody's name: the default chain, not an error */
	MUST(acme_certificate_download(c, url, "No Such Root", &p2, &len, &err) == 0, "%s", err.message);
	chain_cn(p2, len, -1, 1, top, sizeof(top));
	CHECK(strcmp(top, cn0) == 0, "unknown preferred: %s", top);
	free(p2);
	buf_finish(&r0);
	buf_finish(&r1);
	free(url);
	free(pem);
	free(ckey);
	free(key);
	acme_client_free(c);
	return failures ? 1 : 0;
}

/* Several clients in threads share one account, directory and connection pool
 * (what `renew --concurrency N` does). More clients than threads: each thread
 * runs CLIENTS_PER_THREAD clients one after the other, so with the pool shared
 * a later client takes a connection an earlier one left in the pool, and the
 * run opens at most one connection per thread (at most N_THREADS requests
 * are in flight at once); without sharing every client opens its own, at
 * least N_CLIENTS in all. */
#define N_THREADS 4
#define CLIENTS_PER_THREAD 2
#define N_CLIENTS (N_THREADS * CLIENTS_PER_THREAD)
struct worker {
	struct acme_client *c;
	char n1[64], n2[64];
	const char *names[2];
	char *pem, *key;
	struct http_stats used;
};

struct thread_job {
	struct worker *w[CLIENTS_PER_THREAD];
};

static void *worker_run(void *arg)
{
	struct thread_job *j = arg;
	for (int k = 0; k < CLIENTS_PER_THREAD; k++) {
		struct worker *w = j->w[k];
		w->pem = issue(w->c, w->names, 2, &w->key, &w->used, NULL);
	}
	return NULL;
}

static int mode_threads(void)
{
	struct http_share *share = http_share_new();
	struct acme_client *first = client_new(env("PEBBLE_CA_BUNDLE"));
	struct worker w[N_CLIENTS];
	struct thread_job job[N_THREADS];
	pthread_t th[N_THREADS];
	char *key = new_key(KEYGEN_EC256);
	struct gpc_error err;
	unsigned long conns = 0, reqs = 0;

	MUST(share != NULL, "http_share_new");
	account_create(first, key);
	gpc_error_clear(&err);
	for (int i = 0; i < N_CLIENTS; i++) {
		struct acme_options o = {0};
		memset(&w[i], 0, sizeof(w[i]));
		o.directory_url = env("PEBBLE_DIR_URL");
		o.ca_bundle = env("PEBBLE_CA_BUNDLE");
		o.share = share;
		o.max_poll_secs = 60;
		MUST(acme_client_new(&o, &w[i].c, &err) == 0, "%s", err.message);
		MUST(acme_client_set_directory(w[i].c, acme_client_directory(first)) == 0, "set_directory");
		MUST(acme_client_set_account(w[i].c, key, strlen(key), acme_client_kid(first), &err) == 0, "%s",
		     err.message);
		snprintf(w[i].n1, sizeof(w[i].n1), "t%d.example.com", i);
		snprintf(w[i].n2, sizeof(w[i].n2), "www.t%d.example.com", i);
		w[i].names[0] = w[i].n1;
		w[i].names[1] = w[i].n2;
	}
	for (int t = 0; t < N_THREADS; t++) {
		for (int k = 0; k < CLIENTS_PER_THREAD; k++)
			job[t].w[k] = &w[t * CLIENTS_PER_THREAD + k];
		MUST(pthread_create(&th[t], NULL, worker_run, &job[t]) == 0, "pthread_create");
	}
	for (int t = 0; t < N_THREADS; t++)
		pthread_join(th[t], NULL);
	for (int i = 0; i < N_CLIENTS; i++) {
		CHECK(w[i].pem != NULL, "client %d issued nothing", i);
		conns += w[i].used.connections;
		reqs += w[i].used.requests;
		free(w[i].pem);
		free(w[i].key);
		acme_client_free(w[i].c);
	}
	printf("STATS %d issuances by %d clients in %d threads sharing one pool: requests=%lu "
	       "new_tls_connections=%lu\n",
	       N_CLIENTS, N_CLIENTS, N_THREADS, reqs, conns);
	/* Not sharing costs at least one connection per client. */
	CHECK(conns < N_CLIENTS, "%lu connections for %d clients: the clients do not share the pool", conns,
	      N_CLIENTS);
	CHECK(conns <= N_THREADS, "%lu connections for %d threads", conns, N_THREADS);
	acme_client_free(first);
	http_share_free(share);
	free(key);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	int rc;

	verbose = getenv("ACME_TEST_VERBOSE") != NULL;
	gpc_log_set_handler(log_cb, NULL, GPC_LOG_DEBUG);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc < 2) {
		fprintf(stderr, "usage: acme_pebble issue|eab|account|errors\n");
		return 64;
	}
	if (strcmp(argv[1], "issue") == 0)
		rc = mode_issue(argc > 2 && strcmp(argv[2], "--expect-badnonce") == 0,
				!(argc > 2 && strcmp(argv[2], "--no-conn-check") == 0));
	else if (strcmp(argv[1], "eab") == 0)
		rc = mode_eab();
	else if (strcmp(argv[1], "account") == 0)
		rc = mode_account();
	else if (strcmp(argv[1], "errors") == 0)
		rc = mode_errors();
	else if (strcmp(argv[1], "ratelimited") == 0)
		rc = mode_ratelimited();
	else if (strcmp(argv[1], "busy") == 0)
		rc = mode_busy();
	else if (strcmp(argv[1], "truncated") == 0)
		rc = mode_truncated();
	else if (strcmp(argv[1], "chains") == 0)
		rc = mode_chains();
	else if (strcmp(argv[1], "threads") == 0)
		rc = mode_threads();
	else
		rc = 64;
	curl_global_cleanup();
	if (rc == 0)
		printf("ok %s\n", argv[1]);
	return rc;
}

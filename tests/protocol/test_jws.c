/* Unit tests: base64url, JWK/RFC 7638 thumbprints, JWS signing, EAB, keygen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-c/json.h>

#include "acme.h"
#include "b64.h"
#include "error.h"
#include "jws.h"
#include "keygen.h"

/* ---- base64url (RFC 4648 §10 vectors, URL alphabet) ---- */

static void test_b64url_vectors(void **state)
{
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char *e = b64url_encode(in[i], strlen(in[i]));
		unsigned char *d = NULL;
		size_t dl = 0;

		assert_string_equal(e, out[i]);
		assert_int_equal(b64url_len(strlen(in[i])), strlen(out[i]));
		assert_int_equal(b64url_decode(e, strlen(e), &d, &dl), 0);
		assert_int_equal(dl, strlen(in[i]));
		assert_memory_equal(d, in[i], dl);
		free(e);
		free(d);
	}
}

static void test_b64url_alphabet(void **state)
{
	const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
	char *e = b64url_encode(bytes, sizeof(bytes));
	unsigned char *d = NULL;
	size_t dl = 0;
	char small[3];
	(void)state;

	assert_string_equal(e, "-_-_"); /* no '+', '/' or '=' */
	free(e);
	/* padding and the standard alphabet are tolerated on input */
	assert_int_equal(b64url_decode("Zm8=", 4, &d, &dl), 0);
	assert_int_equal(dl, 2);
	assert_memory_equal(d, "fo", 2);
	free(d);
	assert_int_equal(b64url_decode("+/+/", 4, &d, &dl), 0);
	assert_memory_equal(d, bytes, 3);
	free(d);
	/* bad characters and impossible lengths */
	assert_int_equal(b64url_decode("Zm 9", 4, &d, &dl), -1);
	assert_int_equal(b64url_decode("Z", 1, &d, &dl), -1);
	assert_int_equal(b64url_decode("Zm9vY", 5, &d, &dl), -1);
	/* encode_to refuses a too small buffer */
	assert_int_equal(b64url_encode_to("foo", 3, small, sizeof(small)), 0);
}

/* ---- RFC 7638 §3.1 thumbprint of the example RSA key ---- */

static const char rfc7638_n[] =
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
	"WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368"
	"QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd"
	"2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

static void test_thumbprint_rfc7638(void **state)
{
	unsigned char *n = NULL, *e = NULL, *nz;
	size_t nl = 0, el = 0;
	char *jwk, *jwk2, tp[64];
	(void)state;

	assert_int_equal(b64url_decode(rfc7638_n, strlen(rfc7638_n), &n, &nl), 0);
	assert_int_equal(b64url_decode("AQAB", 4, &e, &el), 0);
	jwk = jws_jwk_rsa_json(n, nl, e, el);
	assert_non_null(jwk);
	/* RFC 7638 §3.3: required members only, lexicographic order, no whitespace */
	{
		const char *want = "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"0vx7ag";
		assert_int_equal(strncmp(jwk, want, strlen(want)), 0);
	}
	assert_int_equal(jws_thumbprint_of(jwk, tp, sizeof(tp)), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* a leading zero byte (as a DER INTEGER export has) does not change it */
	nz = calloc(1, nl + 1);
	memcpy(nz + 1, n, nl);
	jwk2 = jws_jwk_rsa_json(nz, nl + 1, e, el);
	assert_string_equal(jwk, jwk2);
	free(nz);
	free(jwk2);
	free(jwk);
	free(n);
	free(e);
}

static void test_jwk_ec_padding(void **state)
{
	unsigned char x[31], y[32];
	char *jwk;
	struct json_object *o;
	unsigned char *d = NULL;
	size_t dl = 0;
	(void)state;

	memset(x, 0x11, sizeof(x));
	memset(y, 0x22, sizeof(y));
	jwk = jws_jwk_ec_json("P-256", x, sizeof(x), y, sizeof(y), 32);
	assert_non_null(jwk);
	{
		const char *want = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"";
		assert_int_equal(strncmp(jwk, want, strlen(want)), 0);
	}
	o = json_tokener_parse(jwk);
	assert_non_null(o);
	{
		struct json_object *xv;
		assert_true(json_object_object_get_ex(o, "x", &xv));
		assert_int_equal(b64url_decode(json_object_get_string(xv), strlen(json_object_get_string(xv)), &d, &dl), 0);
	}
	assert_int_equal(dl, 32); /* left-padded to the field size */
	assert_int_equal(d[0], 0);
	free(d);
	json_object_put(o);
	free(jwk);
}

/* ---- JWS ---- */

static struct json_object *decode_part(struct json_object *jws, const char *member)
{
	struct json_object *v;
	unsigned char *d = NULL;
	size_t dl = 0;
	struct json_object *o;

	assert_true(json_object_object_get_ex(jws, member, &v));
	assert_int_equal(b64url_decode(json_object_get_string(v), strlen(json_object_get_string(v)), &d, &dl), 0);
	o = json_tokener_parse((char *)d);
	free(d);
	return o;
}

static void check_jws(enum keygen_type t, const char *alg, size_t siglen)
{
	char *pem = NULL, *jws;
	struct jws_key *k = NULL;
	struct gpc_error err;
	struct json_object *o, *hdr, *v, *sig;
	unsigned char *raw = NULL;
	size_t rawlen = 0;

	gpc_error_clear(&err);
	assert_int_equal(keygen_generate(t, &pem, NULL, &err), 0);
	assert_int_equal(jws_key_from_pem(pem, strlen(pem), "test key", &k, &err), 0);
	assert_string_equal(jws_key_alg(k), alg);
	assert_int_equal(strlen(jws_key_thumbprint(k)), 43);

	/* with kid, nonce and a payload */
	jws = jws_build(k, "https://ca.test/acct/1", "nonce-1", "https://ca.test/new-order",
			"{\"identifiers\":[]}", &err);
	assert_non_null(jws);
	assert_int_equal(jws_verify(k, jws, &err), 0);
	o = json_tokener_parse(jws);
	hdr = decode_part(o, "protected");
	assert_true(json_object_object_get_ex(hdr, "alg", &v));
	assert_string_equal(json_object_get_string(v), alg);
	assert_true(json_object_object_get_ex(hdr, "kid", &v));
	assert_string_equal(json_object_get_string(v), "https://ca.test/acct/1");
	assert_false(json_object_object_get_ex(hdr, "jwk", &v)); /* RFC 8555 §6.2: kid XOR jwk */
	assert_true(json_object_object_get_ex(hdr, "nonce", &v));
	assert_string_equal(json_object_get_string(v), "nonce-1");
	assert_true(json_object_object_get_ex(hdr, "url", &v));
	assert_string_equal(json_object_get_string(v), "https://ca.test/new-order");
	assert_true(json_object_object_get_ex(o, "signature", &sig));
	assert_int_equal(b64url_decode(json_object_get_string(sig), strlen(json_object_get_string(sig)), &raw,
				       &rawlen), 0);
	assert_int_equal(rawlen, siglen);
	free(raw);
	json_object_put(hdr);
	json_object_put(o);

	/* tampering breaks it */
	{
		char *p = strstr(jws, "\"payload\":\"") + 11;
		*p = *p == 'e' ? 'f' : 'e';
		assert_int_equal(jws_verify(k, jws, &err), -1);
	}
	free(jws);

	/* POST-as-GET: jwk instead of kid, empty payload (RFC 8555 §6.3) */
	jws = jws_build(k, NULL, "n2", "https://ca.test/x", NULL, &err);
	assert_non_null(jws);
	assert_int_equal(jws_verify(k, jws, &err), 0);
	o = json_tokener_parse(jws);
	assert_true(json_object_object_get_ex(o, "payload", &v));
	assert_string_equal(json_object_get_string(v), "");
	hdr = decode_part(o, "protected");
	assert_true(json_object_object_get_ex(hdr, "jwk", &v));
	assert_string_equal(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), jws_key_jwk(k));
	assert_false(json_object_object_get_ex(hdr, "kid", &v));
	json_object_put(hdr);
	json_object_put(o);
	free(jws);
	jws_key_free(k);
	free(pem);
}

static void test_jws_es256(void **state)
{
	(void)state;
	/* ES256 signatures are r||s, 64 bytes (RFC 7518 §3.4), not DER */
	for (int i = 0; i < 20; i++) /* r or s with leading zeros must keep 32 bytes each */
		check_jws(KEYGEN_EC256, "ES256", 64);
}

static void test_jws_es384(void **state)
{
	(void)state;
	check_jws(KEYGEN_EC384, "ES384", 96);
}

static void test_jws_rs256(void **state)
{
	(void)state;
	check_jws(KEYGEN_RSA2048, "RS256", 256);
}

/* RFC 8555 §7.3.4: EAB is an HS256 JWS over the account JWK */
static void test_eab(void **state)
{
	char *pem = NULL, *eab;
	struct jws_key *k = NULL;
	struct gpc_error err;
	struct json_object *o, *hdr, *v, *p, *pl, *s;
	const char *hmac_b64 = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
	unsigned char *key = NULL, mac[32], *sig = NULL;
	size_t keylen = 0, siglen = 0;
	char input[8192];
	(void)state;

	gpc_error_clear(&err);
	assert_int_equal(keygen_generate(KEYGEN_EC256, &pem, NULL, &err), 0);
	assert_int_equal(jws_key_from_pem(pem, strlen(pem), "k", &k, &err), 0);
	eab = jws_eab(k, "kid-1", hmac_b64, "https://ca.test/new-acct", &err);
	assert_non_null(eab);
	o = json_tokener_parse(eab);
	hdr = decode_part(o, "protected");
	assert_true(json_object_object_get_ex(hdr, "alg", &v));
	assert_string_equal(json_object_get_string(v), "HS256");
	assert_true(json_object_object_get_ex(hdr, "kid", &v));
	assert_string_equal(json_object_get_string(v), "kid-1");
	assert_true(json_object_object_get_ex(hdr, "url", &v));
	assert_string_equal(json_object_get_string(v), "https://ca.test/new-acct");
	assert_false(json_object_object_get_ex(hdr, "nonce", &v));
	json_object_put(hdr);
	hdr = decode_part(o, "payload");
	assert_string_equal(json_object_to_json_string_ext(hdr, JSON_C_TO_STRING_PLAIN), jws_key_jwk(k));
	json_object_put(hdr);
	/* the MAC, recomputed independently */
	json_object_object_get_ex(o, "protected", &p);
	json_object_object_get_ex(o, "payload", &pl);
	json_object_object_get_ex(o, "signature", &s);
	snprintf(input, sizeof(input), "%s.%s", json_object_get_string(p), json_object_get_string(pl));
	assert_int_equal(b64url_decode(hmac_b64, strlen(hmac_b64), &key, &keylen), 0);
	assert_int_equal(gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, keylen, input, strlen(input), mac), 0);
	assert_int_equal(b64url_decode(json_object_get_string(s), strlen(json_object_get_string(s)), &sig, &siglen), 0);
	assert_int_equal(siglen, 32);
	assert_memory_equal(sig, mac, 32);
	free(sig);
	free(key);
	json_object_put(o);
	free(eab);
	/* a bad HMAC encoding is a usage error that does not echo the secret */
	gpc_error_clear(&err);
	assert_null(jws_eab(k, "kid-1", "bad key!", "https://ca.test/new-acct", &err));
	assert_string_equal(err.code, GPC_E_USAGE);
	assert_null(strstr(err.message, "bad key!"));
	jws_key_free(k);
	free(pem);
}

/* ---- keygen ---- */

static void test_keygen_types(void **state)
{
	static const enum keygen_type types[] = {KEYGEN_EC256, KEYGEN_EC384, KEYGEN_RSA2048};
	struct gpc_error err;
	enum keygen_type t;
	(void)state;

	gpc_error_clear(&err);
	assert_int_equal(keygen_type_parse("EC384", &t, &err), 0);
	assert_int_equal(t, KEYGEN_EC384);
	assert_int_equal(keygen_type_parse("dsa1024", &t, &err), -1);
	assert_string_equal(err.code, GPC_E_USAGE);
	assert_non_null(strstr(err.message, "dsa1024"));
	assert_non_null(strstr(err.hint, "rsa4096"));
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char *pem = NULL;
		size_t len = 0;
		assert_int_equal(keygen_generate(types[i], &pem, &len, &err), 0);
		assert_int_equal(len, strlen(pem));
		assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
		assert_int_equal(keygen_pem_type(pem, len, "k", &t, &err), 0);
		assert_int_equal(t, types[i]);
		free(pem);
	}
	gpc_error_clear(&err);
	assert_int_equal(keygen_pem_type("garbage", 7, "/x/priv.key", &t, &err), -1);
	assert_string_equal(err.code, GPC_E_INVALID);
	assert_non_null(strstr(err.message, "/x/priv.key"));
	assert_string_equal(keygen_ident_type("192.0.2.1"), "ip");
	assert_string_equal(keygen_ident_type("2001:db8::1"), "ip");
	assert_string_equal(keygen_ident_type("example.com"), "dns");
	assert_string_equal(keygen_ident_type("*.example.com"), "dns");
}

static void test_csr(void **state)
{
	const char *names[] = {"www.example.com", "192.0.2.7", "example.com", "2001:db8::1"};
	char long_name[100];
	const char *names2[] = {long_name, "short.example"};
	char *pem = NULL;
	unsigned char *csr = NULL;
	size_t csr_len = 0;
	struct gpc_error err;
	gnutls_x509_crq_t crq;
	gnutls_datum_t d;
	char buf[256];
	size_t sz;
	unsigned type, i, dns = 0, ip = 0;
	int ret;
	(void)state;

	gpc_error_clear(&err);
	assert_int_equal(keygen_generate(KEYGEN_EC256, &pem, NULL, &err), 0);
	assert_int_equal(keygen_csr(pem, strlen(pem), names, 4, 1, &csr, &csr_len, &err), 0);
	gnutls_x509_crq_init(&crq);
	d.data = csr;
	d.size = (unsigned)csr_len;
	assert_int_equal(gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_DER), 0);
	assert_int_equal(gnutls_x509_crq_verify(crq, 0), 0);
	sz = sizeof(buf);
	assert_int_equal(gnutls_x509_crq_get_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &sz), 0);
	assert_string_equal(buf, "www.example.com");
	for (i = 0;; i++) {
		sz = sizeof(buf);
		ret = gnutls_x509_crq_get_subject_alt_name(crq, i, buf, &sz, &type, NULL);
		if (ret < 0)
			break;
		if (type == GNUTLS_SAN_DNSNAME)
			dns++;
		if (type == GNUTLS_SAN_IPADDRESS) {
			assert_true(sz == 4 || sz == 16); /* raw address bytes (RFC 8738) */
			ip++;
		}
	}
	assert_int_equal(dns, 2);
	assert_int_equal(ip, 2);
	gnutls_x509_crq_deinit(crq);
	free(csr);

	/* a first name over 64 bytes gets no CN (the next DNS name does) */
	memset(long_name, 'a', 70);
	strcpy(long_name + 70, ".example.com");
	assert_int_equal(keygen_csr(pem, strlen(pem), names2, 2, 0, &csr, &csr_len, &err), 0);
	assert_non_null(strstr((char *)csr, "BEGIN NEW CERTIFICATE REQUEST"));
	gnutls_x509_crq_init(&crq);
	d.data = csr;
	d.size = (unsigned)csr_len;
	assert_int_equal(gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_PEM), 0);
	sz = sizeof(buf);
	assert_int_equal(gnutls_x509_crq_get_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &sz), 0);
	assert_string_equal(buf, "short.example");
	gnutls_x509_crq_deinit(crq);
	free(csr);
	free(pem);
}

/* RFC 8737 §3: acmeIdentifier extension, critical, OCTET STRING(SHA-256(keyAuth)) */
static void test_tlsalpn_cert(void **state)
{
	const char *ka = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
	char *cert = NULL, *key = NULL, buf[256];
	struct gpc_error err;
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;
	unsigned char ext[64], digest[32];
	size_t sz = sizeof(ext);
	unsigned critical = 0, type;
	(void)state;

	gpc_error_clear(&err);
	assert_int_equal(keygen_tlsalpn_cert("www.example.com", ka, &cert, &key, &err), 0);
	gnutls_x509_crt_init(&crt);
	d.data = (unsigned char *)cert;
	d.size = (unsigned)strlen(cert);
	assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
	assert_int_equal(gnutls_x509_crt_get_extension_by_oid(crt, "1.3.6.1.5.5.7.1.31", 0, ext, &sz, &critical), 0);
	assert_int_equal(critical, 1);
	assert_int_equal(sz, 34);
	assert_int_equal(ext[0], 0x04);
	assert_int_equal(ext[1], 32);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, ka, strlen(ka), digest);
	assert_memory_equal(ext + 2, digest, 32);
	sz = sizeof(buf);
	assert_true(gnutls_x509_crt_get_subject_alt_name2(crt, 0, buf, &sz, &type, NULL) >= 0);
	assert_int_equal(type, GNUTLS_SAN_DNSNAME);
	assert_string_equal(buf, "www.example.com");
	assert_true(gnutls_x509_crt_check_hostname(crt, "www.example.com"));
	gnutls_x509_crt_deinit(crt);
	{
		enum keygen_type t;
		assert_int_equal(keygen_pem_type(key, strlen(key), "k", &t, &err), 0);
		assert_int_equal(t, KEYGEN_EC256);
	}
	free(cert);
	free(key);
	/* IP identifier: SAN iPAddress */
	assert_int_equal(keygen_tlsalpn_cert("192.0.2.9", ka, &cert, &key, &err), 0);
	gnutls_x509_crt_init(&crt);
	d.data = (unsigned char *)cert;
	d.size = (unsigned)strlen(cert);
	assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
	sz = sizeof(buf);
	assert_true(gnutls_x509_crt_get_subject_alt_name2(crt, 0, buf, &sz, &type, NULL) >= 0);
	assert_int_equal(type, GNUTLS_SAN_IPADDRESS);
	assert_int_equal(sz, 4);
	gnutls_x509_crt_deinit(crt);
	free(cert);
	free(key);
}

static void test_dns01(void **state)
{
	char *n = acme_dns01_name("*.example.com"), *t;
	unsigned char d[32];
	char want[64];
	(void)state;

	assert_string_equal(n, "_acme-challenge.example.com");
	free(n);
	/* RFC 8555 §8.4: base64url(SHA-256(keyAuthorization)) */
	t = acme_dns01_txt("token.thumb");
	gnutls_hash_fast(GNUTLS_DIG_SHA256, "token.thumb", 11, d);
	b64url_encode_to(d, 32, want, sizeof(want));
	assert_string_equal(t, want);
	assert_int_equal(strlen(t), 43);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_b64url_alphabet),
		cmocka_unit_test(test_thumbprint_rfc7638),
		cmocka_unit_test(test_jwk_ec_padding),
		cmocka_unit_test(test_jws_es256),
		cmocka_unit_test(test_jws_es384),
		cmocka_unit_test(test_jws_rs256),
		cmocka_unit_test(test_eab),
		cmocka_unit_test(test_keygen_types),
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_tlsalpn_cert),
		cmocka_unit_test(test_dns01),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

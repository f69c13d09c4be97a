/* jws: JWK, RFC 7638 thumbprints and flattened JWS for ACME (RFC 8555 §6.2). */
#include "jws.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>

#include "b64.h"
#include "buf.h"
#include "keygen.h"

#define JWS_MAX 65536

struct jws_key {
	gnutls_privkey_t pk;
	gnutls_sign_algorithm_t sign;
	const char *alg;
	size_t rs_width; /* ECDSA: bytes of r and of s; 0 for RSA */
	char *jwk;
	char thumb[48];
};

static const unsigned char *strip_zeros(const unsigned char *p, size_t *len)
{
	while (*len > 1 && p[0] == 0) {
		p++;
		(*len)--;
	}
	return p;
}

/* Left-pad (or strip leading zeros of) a big-endian value to exactly `width`
 * bytes into out. Returns 0, or -1 if it does not fit. */
static int fixed_width(const unsigned char *p, size_t len, unsigned char *out, size_t width)
{
	while (len > width && p[0] == 0) {
		p++;
		len--;
	}
	if (len > width)
		return -1;
	memset(out, 0, width - len);
	memcpy(out + (width - len), p, len);
	return 0;
}

char *jws_jwk_rsa_json(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen)
{
	char *ns, *es, *out = NULL;
	struct buf b;

	n = strip_zeros(n, &nlen);
	e = strip_zeros(e, &elen);
	ns = b64url_encode(n, nlen);
	es = b64url_encode(e, elen);
	buf_init(&b, JWS_MAX);
	if (ns != NULL && es != NULL &&
	    buf_printf(&b, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", es, ns) == 0)
		out = buf_take(&b, NULL);
	buf_finish(&b);
	free(ns);
	free(es);
	return out;
}

char *jws_jwk_ec_json(const char *crv, const unsigned char *x, size_t xlen, const unsigned char *y,
		      size_t ylen, size_t width)
{
	unsigned char xb[66], yb[66];
	char *xs = NULL, *ys = NULL, *out = NULL;
	struct buf b;

	if (width > sizeof(xb) || fixed_width(x, xlen, xb, width) < 0 ||
	    fixed_width(y, ylen, yb, width) < 0)
		return NULL;
	xs = b64url_encode(xb, width);
	ys = b64url_encode(yb, width);
	buf_init(&b, JWS_MAX);
	if (xs != NULL && ys != NULL &&
	    buf_printf(&b, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", crv, xs, ys) == 0)
		out = buf_take(&b, NULL);
	buf_finish(&b);
	free(xs);
	free(ys);
	return out;
}

int jws_thumbprint_of(const char *jwk_json, char *out, size_t outsz)
{
	unsigned char digest[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, jwk_json, strlen(jwk_json), digest) < 0)
		return -1;
	return b64url_encode_to(digest, sizeof(digest), out, outsz) == 43 ? 0 : -1;
}

int jws_key_new(gnutls_privkey_t pk, struct jws_key **out, struct gpc_error *err)
{
	struct jws_key *k = calloc(1, sizeof(*k));
	gnutls_datum_t a = {NULL, 0}, b = {NULL, 0};
	unsigned bits = 0;
	int algo, ret;

	if (k == NULL) {
		gnutls_privkey_deinit(pk);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	k->pk = pk;
	algo = gnutls_privkey_get_pk_algorithm(pk, &bits);
	if (algo == GNUTLS_PK_ECDSA) {
		gnutls_ecc_curve_t curve;

		ret = gnutls_privkey_export_ecc_raw2(pk, &curve, &a, &b, NULL, GNUTLS_EXPORT_FLAG_NO_LZ);
		if (ret < 0)
			goto gnutls_fail;
		if (curve == GNUTLS_ECC_CURVE_SECP256R1) {
			k->alg = "ES256";
			k->sign = GNUTLS_SIGN_ECDSA_SHA256;
			k->rs_width = 32;
			k->jwk = jws_jwk_ec_json("P-256", a.data, a.size, b.data, b.size, 32);
		} else if (curve == GNUTLS_ECC_CURVE_SECP384R1) {
			k->alg = "ES384";
			k->sign = GNUTLS_SIGN_ECDSA_SHA384;
			k->rs_width = 48;
			k->jwk = jws_jwk_ec_json("P-384", a.data, a.size, b.data, b.size, 48);
		} else {
			gpc_error_set(err, GPC_E_INVALID, "account key: EC curve %s is not supported",
				      gnutls_ecc_curve_get_name(curve));
			gpc_error_hint(err, "use a P-256 (ec256), P-384 (ec384) or RSA key");
			goto fail;
		}
	} else if (algo == GNUTLS_PK_RSA) {
		ret = gnutls_privkey_export_rsa_raw2(pk, &a, &b, NULL, NULL, NULL, NULL, NULL, NULL,
						     GNUTLS_EXPORT_FLAG_NO_LZ);
		if (ret < 0)
			goto gnutls_fail;
		if (bits < 2048) {
			gpc_error_set(err, GPC_E_INVALID, "account key: RSA %u bits is too small", bits);
			gpc_error_hint(err, "use at least 2048 bits");
			goto fail;
		}
		k->alg = "RS256";
		k->sign = GNUTLS_SIGN_RSA_SHA256;
		k->jwk = jws_jwk_rsa_json(a.data, a.size, b.data, b.size);
	} else {
		gpc_error_set(err, GPC_E_INVALID, "account key: %s keys are not supported",
			      gnutls_pk_get_name((gnutls_pk_algorithm_t)algo));
		gpc_error_hint(err, "use an ec256, ec384 or RSA key");
		goto fail;
	}
	if (k->jwk == NULL || jws_thumbprint_of(k->jwk, k->thumb, sizeof(k->thumb)) < 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto fail;
	}
	gnutls_free(a.data);
	gnutls_free(b.data);
	*out = k;
	return 0;
gnutls_fail:
	gpc_error_set(err, GPC_E_INVALID, "account key: %s", gnutls_strerror(ret));
fail:
	gnutls_free(a.data);
	gnutls_free(b.data);
	jws_key_free(k);
	return -1;
}

int jws_key_from_pem(const char *pem, size_t len, const char *what, struct jws_key **out,
		     struct gpc_error *err)
{
	gnutls_privkey_t pk = NULL;

	if (keygen_load(pem, len, what, &pk, err) < 0)
		return -1;
	return jws_key_new(pk, out, err);
}

void jws_key_free(struct jws_key *k)
{
	if (k == NULL)
		return;
	gnutls_privkey_deinit(k->pk);
	free(k->jwk);
	free(k);
}

const char *jws_key_alg(const struct jws_key *k)
{
	return k->alg;
}

const char *jws_key_jwk(const struct jws_key *k)
{
	return k->jwk;
}

const char *jws_key_thumbprint(const struct jws_key *k)
{
	return k->thumb;
}

int jws_sign_raw(const struct jws_key *k, const void *data, size_t len, unsigned char **sig,
		 size_t *siglen, struct gpc_error *err)
{
	gnutls_datum_t d = {(unsigned char *)(uintptr_t)data, (unsigned)len};
	gnutls_datum_t s = {NULL, 0}, r = {NULL, 0}, sv = {NULL, 0};
	unsigned char *res = NULL;
	int ret, rc = -1;

	ret = gnutls_privkey_sign_data2(k->pk, k->sign, 0, &d, &s);
	if (ret < 0) {
		gpc_error_set(err, GPC_E_INTERNAL, "signing with the account key: %s", gnutls_strerror(ret));
		goto out;
	}
	if (k->rs_width == 0) {
		res = malloc(s.size);
		if (res == NULL)
			goto nomem;
		memcpy(res, s.data, s.size);
		*siglen = s.size;
	} else {
		/* RFC 7518 §3.4: ECDSA signatures are r||s, each fixed width, not DER. */
		ret = gnutls_decode_rs_value(&s, &r, &sv);
		if (ret < 0) {
			gpc_error_set(err, GPC_E_INTERNAL, "decoding the ECDSA signature: %s",
				      gnutls_strerror(ret));
			goto out;
		}
		res = malloc(2 * k->rs_width);
		if (res == NULL)
			goto nomem;
		if (fixed_width(r.data, r.size, res, k->rs_width) < 0 ||
		    fixed_width(sv.data, sv.size, res + k->rs_width, k->rs_width) < 0) {
			gpc_error_set(err, GPC_E_INTERNAL, "ECDSA signature value too long");
			goto out;
		}
		*siglen = 2 * k->rs_width;
	}
	*sig = res;
	res = NULL;
	rc = 0;
	goto out;
nomem:
	gpc_error_set(err, GPC_E_NOMEM, "out of memory");
out:
	free(res);
	gnutls_free(s.data);
	gnutls_free(r.data);
	gnutls_free(sv.data);
	return rc;
}

/* JSON string of a json-c object without escaping '/' (URLs stay readable). */
static const char *json_plain(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Assemble {"protected":P,"payload":PL,"signature":S} from the protected
 * header object, the payload text and a signing function. */
static char *assemble(struct json_object *hdr, const char *payload, const struct jws_key *k,
		      const unsigned char *hmac_key, size_t hmac_len, struct gpc_error *err)
{
	const char *hs = json_plain(hdr);
	char *ph = b64url_encode(hs, strlen(hs));
	char *pl = b64url_encode(payload ? payload : "", payload ? strlen(payload) : 0);
	char *sigs = NULL, *out = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	struct buf input, res;

	buf_init(&input, 4 * JWS_MAX);
	buf_init(&res, 4 * JWS_MAX);
	if (ph == NULL || pl == NULL || buf_printf(&input, "%s.%s", ph, pl) < 0) {
		gpc_error_set(err, GPC_E_NOMEM, "JWS too large or out of memory");
		goto out;
	}
	if (k != NULL) {
		if (jws_sign_raw(k, input.data, input.len, &sig, &siglen, err) < 0)
			goto out;
	} else {
		sig = malloc(32);
		siglen = 32;
		if (sig == NULL || gnutls_hmac_fast(GNUTLS_MAC_SHA256, hmac_key, hmac_len, input.data,
						    input.len, sig) < 0) {
			gpc_error_set(err, GPC_E_INTERNAL, "HMAC-SHA256 failed");
			goto out;
		}
	}
	sigs = b64url_encode(sig, siglen);
	if (sigs == NULL || buf_printf(&res, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
				       ph, pl, sigs) < 0) {
		gpc_error_set(err, GPC_E_NOMEM, "JWS too large or out of memory");
		goto out;
	}
	out = buf_take(&res, NULL);
out:
	buf_finish(&input);
	buf_finish(&res);
	free(ph);
	free(pl);
	free(sig);
	free(sigs);
	return out;
}

char *jws_build(const struct jws_key *k, const char *kid, const char *nonce, const char *url,
		const char *payload, struct gpc_error *err)
{
	struct json_object *hdr = json_object_new_object();
	char *out = NULL;

	if (hdr == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		return NULL;
	}
	/* RFC 8555 §6.2: alg, exactly one of kid / jwk, nonce, url. */
	json_object_object_add(hdr, "alg", json_object_new_string(k->alg));
	if (kid != NULL) {
		json_object_object_add(hdr, "kid", json_object_new_string(kid));
	} else {
		struct json_object *jwk = json_tokener_parse(k->jwk);
		if (jwk == NULL) {
			gpc_error_set(err, GPC_E_INTERNAL, "JWK does not parse");
			goto out;
		}
		json_object_object_add(hdr, "jwk", jwk);
	}
	if (nonce != NULL)
		json_object_object_add(hdr, "nonce", json_object_new_string(nonce));
	json_object_object_add(hdr, "url", json_object_new_string(url));
	out = assemble(hdr, payload, k, NULL, 0, err);
out:
	json_object_put(hdr);
	return out;
}

char *jws_eab(const struct jws_key *account, const char *eab_kid, const char *hmac_b64url,
	      const char *url, struct gpc_error *err)
{
	struct json_object *hdr = NULL;
	unsigned char *key = NULL;
	size_t keylen = 0;
	char *out = NULL;

	if (hmac_b64url == NULL || b64url_decode(hmac_b64url, strlen(hmac_b64url), &key, &keylen) < 0 ||
	    keylen == 0) {
		gpc_error_set(err, GPC_E_USAGE, "EAB HMAC key for kid '%s' is not valid base64url",
			      eab_kid ? eab_kid : "");
		gpc_error_hint(err, "pass --eab-hmac exactly as the CA gave it");
		goto out;
	}
	hdr = json_object_new_object();
	if (hdr == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	/* RFC 8555 §7.3.4: MAC algorithm, the CA's key identifier, same url; no nonce. */
	json_object_object_add(hdr, "alg", json_object_new_string("HS256"));
	json_object_object_add(hdr, "kid", json_object_new_string(eab_kid));
	json_object_object_add(hdr, "url", json_object_new_string(url));
	out = assemble(hdr, account->jwk, NULL, key, keylen, err);
out:
	if (key != NULL) {
		gnutls_memset(key, 0, keylen);
		free(key);
	}
	json_object_put(hdr);
	return out;
}

int jws_verify(const struct jws_key *k, const char *jws_json, struct gpc_error *err)
{
	struct json_object *root = json_tokener_parse(jws_json), *p, *pl, *s;
	gnutls_pubkey_t pub = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	struct buf input;
	gnutls_datum_t der = {NULL, 0};
	int rc = -1, ret;

	buf_init(&input, 4 * JWS_MAX);
	if (root == NULL || !json_object_object_get_ex(root, "protected", &p) ||
	    !json_object_object_get_ex(root, "payload", &pl) ||
	    !json_object_object_get_ex(root, "signature", &s) ||
	    buf_printf(&input, "%s.%s", json_object_get_string(p), json_object_get_string(pl)) < 0 ||
	    b64url_decode(json_object_get_string(s), strlen(json_object_get_string(s)), &sig, &siglen) < 0) {
		gpc_error_set(err, GPC_E_INVALID, "not a flattened JWS");
		goto out;
	}
	if (gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_privkey(pub, k->pk, 0, 0) < 0) {
		gpc_error_set(err, GPC_E_INTERNAL, "no public key");
		goto out;
	}
	if (k->rs_width != 0) {
		gnutls_datum_t r = {sig, (unsigned)k->rs_width}, sv = {sig + k->rs_width, (unsigned)k->rs_width};
		if (siglen != 2 * k->rs_width || gnutls_encode_rs_value(&der, &r, &sv) < 0) {
			gpc_error_set(err, GPC_E_INVALID, "ECDSA signature has %zu bytes, want %zu", siglen,
				      2 * k->rs_width);
			goto out;
		}
	} else {
		der.data = gnutls_malloc(siglen);
		if (der.data == NULL)
			goto out;
		memcpy(der.data, sig, siglen);
		der.size = (unsigned)siglen;
	}
	{
		gnutls_datum_t d = {(unsigned char *)input.data, (unsigned)input.len};
		ret = gnutls_pubkey_verify_data2(pub, k->sign, 0, &d, &der);
		if (ret < 0) {
			gpc_error_set(err, GPC_E_INVALID, "JWS signature does not verify: %s", gnutls_strerror(ret));
			goto out;
		}
	}
	rc = 0;
out:
	gnutls_free(der.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	free(sig);
	buf_finish(&input);
	json_object_put(root);
	return rc;
}

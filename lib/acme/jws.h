/* jws: JSON Web Key / Signature for ACME (RFC 7515, 7517, 7518, 7638, RFC 8555 §6.2).
 * Flattened JSON serialization only. Supported: ES256 (P-256), ES384 (P-384),
 * RS256 (RSA), and HS256 for External Account Binding. */
#ifndef GPC_JWS_H
#define GPC_JWS_H

#include <stddef.h>

#include <gnutls/abstract.h>

#include "error.h"

/* A signing key with its algorithm and JWK cached. */
struct jws_key;

/* Wrap a GnuTLS private key (takes ownership: freed by jws_key_free, also on
 * failure). Returns 0 and *out, or -1 (unsupported key type/curve). */
int jws_key_new(gnutls_privkey_t pk, struct jws_key **out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Load from PEM (see keygen_load). `what` names the source in errors. */
int jws_key_from_pem(const char *pem, size_t len, const char *what, struct jws_key **out,
		     struct gpc_error *err) __attribute__((warn_unused_result));

void jws_key_free(struct jws_key *k);

/* "ES256", "ES384" or "RS256". Static string. */
const char *jws_key_alg(const struct jws_key *k);

/* The public JWK as compact JSON with only the required members in
 * lexicographic order (RFC 7638 §3.2), e.g. {"crv":"P-256","kty":"EC","x":..,"y":..}.
 * Owned by the key; valid until jws_key_free. */
const char *jws_key_jwk(const struct jws_key *k);

/* RFC 7638 thumbprint: base64url(SHA-256(jwk)), 43 chars. Owned by the key. */
const char *jws_key_thumbprint(const struct jws_key *k);

/* Raw JWS signature over `data`: ES256/ES384 as fixed-width r||s (64/96
 * bytes, RFC 7518 §3.4), RS256 as PKCS#1 v1.5. Returns 0 and a malloc'd
 * buffer (caller frees), or -1. */
int jws_sign_raw(const struct jws_key *k, const void *data, size_t len, unsigned char **sig,
		 size_t *siglen, struct gpc_error *err) __attribute__((warn_unused_result));

/* Build a flattened JWS {"protected","payload","signature"}.
 * Protected header: alg, then "kid" if kid != NULL, else "jwk" (the key's
 * JWK); "nonce" if nonce != NULL; "url" (required).
 * payload: JSON text, or NULL for POST-as-GET (empty payload, RFC 8555 §6.3).
 * Returns a malloc'd JSON string (caller frees), or NULL with err set. */
char *jws_build(const struct jws_key *k, const char *kid, const char *nonce, const char *url,
		const char *payload, struct gpc_error *err) __attribute__((warn_unused_result));

/* RFC 8555 §7.3.4 External Account Binding: a JWS with protected header
 * {"alg":"HS256","kid":eab_kid,"url":url}, payload = the account key's JWK,
 * MAC'd with the base64url-decoded `hmac_b64url`. Returns a malloc'd JSON
 * object string (caller frees) to embed as "externalAccountBinding", or NULL
 * (bad HMAC key encoding: GPC_E_USAGE; the key itself is never logged). */
char *jws_eab(const struct jws_key *account, const char *eab_kid, const char *hmac_b64url,
	      const char *url, struct gpc_error *err) __attribute__((warn_unused_result));

/* Canonical JWK JSON (RFC 7638 §3.2 member order, no whitespace) from raw
 * big-endian values: RSA {"e","kty","n"} (leading zero bytes stripped) and
 * EC {"crv","kty","x","y"} (x/y left-padded to `width` bytes: 32 for P-256,
 * 48 for P-384). Return malloc'd strings (caller frees) or NULL. */
char *jws_jwk_rsa_json(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen)
	__attribute__((warn_unused_result));
char *jws_jwk_ec_json(const char *crv, const unsigned char *x, size_t xlen,
		      const unsigned char *y, size_t ylen, size_t width)
	__attribute__((warn_unused_result));

/* base64url(SHA-256(jwk_json)) into out (at least 44 bytes). Returns 0 or -1. */
int jws_thumbprint_of(const char *jwk_json, char *out, size_t outsz)
	__attribute__((warn_unused_result));

/* Verify a flattened JWS produced by jws_build against `k`'s public key
 * (used by tests). Returns 0 if valid, -1 otherwise. */
int jws_verify(const struct jws_key *k, const char *jws_json, struct gpc_error *err)
	__attribute__((warn_unused_result));

#endif

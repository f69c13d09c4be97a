/* keygen: private keys, CSRs and tls-alpn-01 certificates (GnuTLS).
 * Everything crosses this API as PEM/DER bytes so callers never touch GnuTLS. */
#ifndef GPC_KEYGEN_H
#define GPC_KEYGEN_H

#include <stddef.h>

#include <gnutls/abstract.h>

#include "error.h"

enum keygen_type {
	KEYGEN_EC256 = 0, /* default: ECDSA P-256 */
	KEYGEN_EC384,
	KEYGEN_RSA2048,
	KEYGEN_RSA3072,
	KEYGEN_RSA4096,
};

#define KEYGEN_DEFAULT KEYGEN_EC256

/* Parse "ec256|ec384|rsa2048|rsa3072|rsa4096" (case-insensitive).
 * Returns 0 and *t, or -1 (err: GPC_E_USAGE naming the value and the choices). */
int keygen_type_parse(const char *s, enum keygen_type *t, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* The canonical name ("ec256"...). Static string. */
const char *keygen_type_name(enum keygen_type t);

/* Generate a new private key. Returns 0 and a malloc'd PKCS#8 PEM string
 * ("-----BEGIN PRIVATE KEY-----", NUL-terminated; length in *len if non-NULL)
 * in *pem (caller frees; it is a secret: write it 0600, never log it), or -1. */
int keygen_generate(enum keygen_type t, char **pem, size_t *len, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Load a PEM private key (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE
 * KEY"; unencrypted). Returns 0 and *out (caller frees with
 * gnutls_privkey_deinit), or -1 with err (GPC_E_INVALID; `what` names the
 * file or thing in the message). */
int keygen_load(const char *pem, size_t len, const char *what, gnutls_privkey_t *out,
		struct gpc_error *err) __attribute__((warn_unused_result));

/* Which keygen_type a PEM private key is. Returns 0 and *t, or -1 (unreadable
 * key, or a type/size outside the list: GPC_E_INVALID). */
int keygen_pem_type(const char *pem, size_t len, const char *what, enum keygen_type *t,
		    struct gpc_error *err) __attribute__((warn_unused_result));

/* "dns" or "ip" for a name: "ip" if it parses as an IPv4 or IPv6 address
 * (RFC 8738), else "dns". Static string. */
const char *keygen_ident_type(const char *name);

/* Build a PKCS#10 CSR signed by `key_pem` for `names` (n >= 1): every DNS name
 * goes in subjectAltName dNSName, every IP address (RFC 8738) in iPAddress;
 * the first DNS name becomes the subject CN only if it fits 64 bytes (else the
 * subject is empty). `der` non-zero: DER bytes, else PEM. Returns 0 and a
 * malloc'd buffer in *out / *outlen (caller frees), or -1. */
int keygen_csr(const char *key_pem, size_t key_len, const char *const *names, size_t n,
	       int der, unsigned char **out, size_t *outlen, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* RFC 8737 tls-alpn-01: make a fresh P-256 key and a self-signed certificate
 * for the identifier `ident` (DNS name -> SAN dNSName; IP -> SAN iPAddress),
 * carrying the critical acmeIdentifier extension (OID 1.3.6.1.5.5.7.1.31)
 * whose value is the DER OCTET STRING of SHA-256(key_authorization).
 * Valid from now-1h for 7 days. Returns 0 and malloc'd PEM strings
 * *cert_pem and *key_pem (caller frees both), or -1. */
int keygen_tlsalpn_cert(const char *ident, const char *key_authorization, char **cert_pem,
			char **key_pem, struct gpc_error *err) __attribute__((warn_unused_result));

#endif

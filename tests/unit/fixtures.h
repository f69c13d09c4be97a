/* Test fixtures made at test time with GnuTLS: keys and certificates. */
#ifndef GPC_TEST_FIXTURES_H
#define GPC_TEST_FIXTURES_H

#include <stdbool.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

struct fx_cert {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	char *cert_pem; /* malloc'd */
	char *key_pem;  /* malloc'd */
};

/* Make a key (GNUTLS_PK_ECDSA with bits 256/384/521, GNUTLS_PK_RSA with
 * bits, GNUTLS_PK_EDDSA_ED25519) and a certificate for it, signed by
 * `issuer` (NULL: self-signed). `names` is a NULL-terminated list of SAN
 * entries (IPs recognised); cn may be NULL. Aborts on failure. */
void fx_make(struct fx_cert *out, gnutls_pk_algorithm_t pk, unsigned bits, const char *cn,
	     const char *const *names, time_t not_before, time_t not_after, bool ca,
	     const struct fx_cert *issuer);
void fx_free(struct fx_cert *c);

#endif

#include "fixtures.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x) do { int r_ = (x); if (r_ < 0) { fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, gnutls_strerror(r_)); abort(); } } while (0)

static char *pem_crt(gnutls_x509_crt_t crt)
{
	gnutls_datum_t d;
	char *s;

	CHECK(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d));
	s = malloc(d.size + 1);
	memcpy(s, d.data, d.size);
	s[d.size] = '\0';
	gnutls_free(d.data);
	return s;
}

static char *pem_key(gnutls_x509_privkey_t key)
{
	gnutls_datum_t d;
	char *s;

	CHECK(gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &d));
	s = malloc(d.size + 1);
	memcpy(s, d.data, d.size);
	s[d.size] = '\0';
	gnutls_free(d.data);
	return s;
}

/* EdDSA signs without a separate digest. */
static gnutls_digest_algorithm_t dig_for(gnutls_x509_privkey_t key)
{
	int pk = gnutls_x509_privkey_get_pk_algorithm(key);

	return pk == GNUTLS_PK_EDDSA_ED25519 || pk == GNUTLS_PK_EDDSA_ED448 ? GNUTLS_DIG_UNKNOWN
									      : GNUTLS_DIG_SHA256;
}

void fx_make(struct fx_cert *out, gnutls_pk_algorithm_t pk, unsigned bits, const char *cn,
	     const char *const *names, time_t not_before, time_t not_after, bool ca,
	     const struct fx_cert *issuer)
{
	static unsigned serial_ctr = 1;
	unsigned char serial[8] = { 0x10, 0, 0, 0, 0, 0, 0, 0 };

	memset(out, 0, sizeof(*out));
	CHECK(gnutls_x509_privkey_init(&out->key));
	CHECK(gnutls_x509_privkey_generate(out->key, pk, bits, 0));
	CHECK(gnutls_x509_crt_init(&out->crt));
	CHECK(gnutls_x509_crt_set_version(out->crt, 3));
	memcpy(serial + 4, &serial_ctr, sizeof(serial_ctr));
	serial_ctr++;
	CHECK(gnutls_x509_crt_set_serial(out->crt, serial, sizeof(serial)));
	CHECK(gnutls_x509_crt_set_activation_time(out->crt, not_before));
	CHECK(gnutls_x509_crt_set_expiration_time(out->crt, not_after));
	CHECK(gnutls_x509_crt_set_key(out->crt, out->key));
	if (cn != NULL)
		CHECK(gnutls_x509_crt_set_dn_by_oid(out->crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
						    (unsigned)strlen(cn)));
	for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
		unsigned char ip[16];
		if (inet_pton(AF_INET, names[i], ip) == 1)
			CHECK(gnutls_x509_crt_set_subject_alt_name(out->crt, GNUTLS_SAN_IPADDRESS, ip, 4,
								   GNUTLS_FSAN_APPEND));
		else if (inet_pton(AF_INET6, names[i], ip) == 1)
			CHECK(gnutls_x509_crt_set_subject_alt_name(out->crt, GNUTLS_SAN_IPADDRESS, ip, 16,
								   GNUTLS_FSAN_APPEND));
		else
			CHECK(gnutls_x509_crt_set_subject_alt_name(out->crt, GNUTLS_SAN_DNSNAME, names[i],
								   (unsigned)strlen(names[i]),
								   GNUTLS_FSAN_APPEND));
	}
	CHECK(gnutls_x509_crt_set_basic_constraints(out->crt, ca ? 1 : 0, -1));
	{
		unsigned char id[64];
		size_t len = sizeof(id);
		CHECK(gnutls_x509_crt_get_key_id(out->crt, 0, id, &len));
		CHECK(gnutls_x509_crt_set_subject_key_id(out->crt, id, len));
	}
	if (issuer != NULL) {
		unsigned char id[64];
		size_t len = sizeof(id);
		CHECK(gnutls_x509_crt_get_subject_key_id(issuer->crt, id, &len, NULL));
		CHECK(gnutls_x509_crt_set_authority_key_id(out->crt, id, len));
		CHECK(gnutls_x509_crt_sign2(out->crt, issuer->crt, issuer->key, dig_for(issuer->key), 0));
	} else {
		CHECK(gnutls_x509_crt_sign2(out->crt, out->crt, out->key, dig_for(out->key), 0));
	}
	out->cert_pem = pem_crt(out->crt);
	out->key_pem = pem_key(out->key);
}

void fx_free(struct fx_cert *c)
{
	gnutls_x509_crt_deinit(c->crt);
	gnutls_x509_privkey_deinit(c->key);
	free(c->cert_pem);
	free(c->key_pem);
	memset(c, 0, sizeof(*c));
}

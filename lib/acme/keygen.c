/* keygen: private keys, CSRs and tls-alpn-01 certificates with GnuTLS. */
#include "keygen.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "log.h"

static const char *const type_names[] = {
	[KEYGEN_EC256] = "ec256",
	[KEYGEN_EC384] = "ec384",
	[KEYGEN_RSA2048] = "rsa2048",
	[KEYGEN_RSA3072] = "rsa3072",
	[KEYGEN_RSA4096] = "rsa4096",
};

#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

int keygen_type_parse(const char *s, enum keygen_type *t, struct gpc_error *err)
{
	for (size_t i = 0; s != NULL && i < N_TYPES; i++) {
		if (strcasecmp(s, type_names[i]) == 0) {
			*t = (enum keygen_type)i;
			return 0;
		}
	}
	gpc_error_set(err, GPC_E_USAGE, "unknown key type '%s'", s ? s : "");
	return gpc_error_hint(err, "use one of ec256 (default), ec384, rsa2048, rsa3072, rsa4096");
}

const char *keygen_type_name(enum keygen_type t)
{
	if ((size_t)t < N_TYPES)
		return type_names[t];
	return "unknown";
}

/* Generate into an x509_privkey (used for PEM export and certificates). */
static int gen_x509(enum keygen_type t, gnutls_x509_privkey_t *out, struct gpc_error *err)
{
	gnutls_x509_privkey_t k = NULL;
	gnutls_pk_algorithm_t algo = GNUTLS_PK_ECDSA;
	unsigned bits = 0;
	int ret;

	switch (t) {
	case KEYGEN_EC256: bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1); break;
	case KEYGEN_EC384: bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1); break;
	case KEYGEN_RSA2048: algo = GNUTLS_PK_RSA; bits = 2048; break;
	case KEYGEN_RSA3072: algo = GNUTLS_PK_RSA; bits = 3072; break;
	case KEYGEN_RSA4096: algo = GNUTLS_PK_RSA; bits = 4096; break;
	default: return gpc_error_set(err, GPC_E_INTERNAL, "unknown key type %d", (int)t);
	}
	if ((ret = gnutls_x509_privkey_init(&k)) < 0 ||
	    (ret = gnutls_x509_privkey_generate2(k, algo, bits, 0, NULL, 0)) < 0) {
		gnutls_x509_privkey_deinit(k);
		return gpc_error_set(err, GPC_E_INTERNAL, "generating a %s key: %s",
				     keygen_type_name(t), gnutls_strerror(ret));
	}
	*out = k;
	return 0;
}

static int export_pkcs8(gnutls_x509_privkey_t k, char **pem, size_t *len, struct gpc_error *err)
{
	gnutls_datum_t d = {NULL, 0};
	int ret = gnutls_x509_privkey_export2_pkcs8(k, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &d);

	if (ret < 0)
		return gpc_error_set(err, GPC_E_INTERNAL, "exporting a private key: %s", gnutls_strerror(ret));
	*pem = malloc(d.size + 1);
	if (*pem == NULL) {
		gnutls_memset(d.data, 0, d.size);
		gnutls_free(d.data);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	memcpy(*pem, d.data, d.size);
	(*pem)[d.size] = '\0';
	if (len != NULL)
		*len = d.size;
	gnutls_memset(d.data, 0, d.size);
	gnutls_free(d.data);
	return 0;
}

int keygen_generate(enum keygen_type t, char **pem, size_t *len, struct gpc_error *err)
{
	gnutls_x509_privkey_t k = NULL;
	int rc;

	if (gen_x509(t, &k, err) < 0)
		return -1;
	rc = export_pkcs8(k, pem, len, err);
	gnutls_x509_privkey_deinit(k);
	return rc;
}

int keygen_load(const char *pem, size_t len, const char *what, gnutls_privkey_t *out,
		struct gpc_error *err)
{
	gnutls_privkey_t pk = NULL;
	gnutls_datum_t d = {(unsigned char *)(uintptr_t)pem, (unsigned)len};
	int ret;

	if (what == NULL)
		what = "private key";
	if (pem == NULL || len == 0) {
		gpc_error_set(err, GPC_E_INVALID, "%s: empty, no private key", what);
		return gpc_error_hint(err, "the file must hold one PEM private key (PKCS#8, SEC1 or PKCS#1)");
	}
	if ((ret = gnutls_privkey_init(&pk)) < 0)
		return gpc_error_set(err, GPC_E_NOMEM, "%s: %s", what, gnutls_strerror(ret));
	/* PKCS#8, SEC1 and PKCS#1 PEM are all recognised by their labels. */
	ret = gnutls_privkey_import_x509_raw(pk, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (ret < 0) {
		gnutls_privkey_deinit(pk);
		gpc_error_set(err, GPC_E_INVALID, "%s: not a usable PEM private key (%s)", what,
			      gnutls_strerror(ret));
		return gpc_error_hint(err, "the file must hold one unencrypted PEM private key "
				      "(PKCS#8, SEC1 or PKCS#1)");
	}
	*out = pk;
	return 0;
}

int keygen_pem_type(const char *pem, size_t len, const char *what, enum keygen_type *t,
		    struct gpc_error *err)
{
	gnutls_privkey_t pk = NULL;
	unsigned bits = 0;
	int algo, rc = -1;

	if (keygen_load(pem, len, what, &pk, err) < 0)
		return -1;
	algo = gnutls_privkey_get_pk_algorithm(pk, &bits);
	if (algo == GNUTLS_PK_ECDSA) {
		gnutls_ecc_curve_t curve;
		if (gnutls_privkey_export_ecc_raw2(pk, &curve, NULL, NULL, NULL, 0) >= 0) {
			if (curve == GNUTLS_ECC_CURVE_SECP256R1) {
				*t = KEYGEN_EC256;
				rc = 0;
			} else if (curve == GNUTLS_ECC_CURVE_SECP384R1) {
				*t = KEYGEN_EC384;
				rc = 0;
			}
		}
	} else if (algo == GNUTLS_PK_RSA) {
		if (bits == 2048 || bits == 3072 || bits == 4096) {
			*t = bits == 2048 ? KEYGEN_RSA2048 : bits == 3072 ? KEYGEN_RSA3072 : KEYGEN_RSA4096;
			rc = 0;
		}
	}
	if (rc < 0)
		gpc_error_set(err, GPC_E_INVALID, "%s: key type %s/%u bits is none of ec256, ec384, "
			      "rsa2048, rsa3072, rsa4096", what ? what : "private key",
			      gnutls_pk_get_name((gnutls_pk_algorithm_t)algo), bits);
	gnutls_privkey_deinit(pk);
	return rc;
}

const char *keygen_ident_type(const char *name)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
		return "ip";
	return "dns";
}

/* Raw address bytes of an IP identifier: returns 4, 16, or 0 (not an IP). */
static unsigned ip_bytes(const char *name, unsigned char *addr)
{
	if (inet_pton(AF_INET, name, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, name, addr) == 1)
		return 16;
	return 0;
}

static int datum_out(gnutls_datum_t *d, unsigned char **out, size_t *outlen, struct gpc_error *err)
{
	*out = malloc(d->size + 1);
	if (*out == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	memcpy(*out, d->data, d->size);
	(*out)[d->size] = 0;
	*outlen = d->size;
	return 0;
}

int keygen_csr(const char *key_pem, size_t key_len, const char *const *names, size_t n,
	       int der, unsigned char **out, size_t *outlen, struct gpc_error *err)
{
	gnutls_privkey_t pk = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_x509_crq_t crq = NULL;
	gnutls_datum_t d = {NULL, 0};
	const char *cn = NULL;
	int ret, rc = -1;

	if (n == 0)
		return gpc_error_set(err, GPC_E_USAGE, "a CSR needs at least one name");
	if (keygen_load(key_pem, key_len, "certificate key", &pk, err) < 0)
		return -1;
	if ((ret = gnutls_x509_crq_init(&crq)) < 0 || (ret = gnutls_pubkey_init(&pub)) < 0 ||
	    (ret = gnutls_pubkey_import_privkey(pub, pk, 0, 0)) < 0 ||
	    (ret = gnutls_x509_crq_set_pubkey(crq, pub)) < 0 ||
	    (ret = gnutls_x509_crq_set_version(crq, 1)) < 0)
		goto gnutls_fail;
	for (size_t i = 0; i < n; i++) {
		unsigned char addr[16];
		unsigned alen = ip_bytes(names[i], addr);

		if (alen > 0) {
			ret = gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_IPADDRESS, addr, alen,
								   GNUTLS_FSAN_APPEND);
		} else {
			/* The CN is limited to 64 bytes (RFC 5280 ub-common-name). */
			if (cn == NULL && strlen(names[i]) <= 64)
				cn = names[i];
			ret = gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME, names[i],
								   (unsigned)strlen(names[i]),
								   GNUTLS_FSAN_APPEND);
		}
		if (ret < 0) {
			gpc_error_set(err, GPC_E_INVALID, "CSR: name '%s': %s", names[i], gnutls_strerror(ret));
			goto out;
		}
	}
	if (cn != NULL && (ret = gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
							       (unsigned)strlen(cn))) < 0)
		goto gnutls_fail;
	if ((ret = gnutls_x509_crq_privkey_sign(crq, pk, GNUTLS_DIG_SHA256, 0)) < 0 ||
	    (ret = gnutls_x509_crq_export2(crq, der ? GNUTLS_X509_FMT_DER : GNUTLS_X509_FMT_PEM, &d)) < 0)
		goto gnutls_fail;
	rc = datum_out(&d, out, outlen, err);
	goto out;
gnutls_fail:
	gpc_error_set(err, GPC_E_INTERNAL, "making the CSR: %s", gnutls_strerror(ret));
out:
	gnutls_free(d.data);
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(pk);
	return rc;
}

int keygen_tlsalpn_cert(const char *ident, const char *key_authorization, char **cert_pem,
			char **key_pem, struct gpc_error *err)
{
	gnutls_x509_privkey_t k = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d = {NULL, 0};
	unsigned char ext[2 + 32], serial[16], addr[16];
	unsigned alen;
	size_t len;
	time_t now = time(NULL);
	int ret, rc = -1;

	*cert_pem = NULL;
	*key_pem = NULL;
	/* RFC 8737 §3: acmeIdentifier = OCTET STRING (SIZE (32)) of SHA-256(keyAuth). */
	ext[0] = 0x04;
	ext[1] = 32;
	if ((ret = gnutls_hash_fast(GNUTLS_DIG_SHA256, key_authorization, strlen(key_authorization),
				    ext + 2)) < 0 ||
	    (ret = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		goto gnutls_fail;
	serial[0] &= 0x7f; /* positive */
	serial[0] |= 0x01; /* and not starting with a zero byte */
	if (gen_x509(KEYGEN_EC256, &k, err) < 0)
		return -1;
	if ((ret = gnutls_x509_crt_init(&crt)) < 0 || (ret = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (ret = gnutls_x509_crt_set_key(crt, k)) < 0 ||
	    (ret = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (ret = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
	    (ret = gnutls_x509_crt_set_expiration_time(crt, now + 7 * 86400)) < 0)
		goto gnutls_fail;
	alen = ip_bytes(ident, addr);
	if (alen > 0)
		ret = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, alen,
							   GNUTLS_FSAN_SET);
	else
		ret = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, ident,
							   (unsigned)strlen(ident), GNUTLS_FSAN_SET);
	if (ret < 0)
		goto gnutls_fail;
	if ((ret = gnutls_x509_crt_set_extension_by_oid(crt, "1.3.6.1.5.5.7.1.31", ext, sizeof(ext), 1)) < 0 ||
	    (ret = gnutls_x509_crt_sign2(crt, crt, k, GNUTLS_DIG_SHA256, 0)) < 0 ||
	    (ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d)) < 0)
		goto gnutls_fail;
	if (datum_out(&d, (unsigned char **)cert_pem, &len, err) < 0)
		goto out;
	if (export_pkcs8(k, key_pem, NULL, err) < 0) {
		free(*cert_pem);
		*cert_pem = NULL;
		goto out;
	}
	rc = 0;
	goto out;
gnutls_fail:
	gpc_error_set(err, GPC_E_INTERNAL, "making the tls-alpn-01 certificate for %s: %s", ident,
		      gnutls_strerror(ret));
out:
	gnutls_free(d.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (k != NULL)
		gnutls_x509_privkey_deinit(k);
	return rc;
}

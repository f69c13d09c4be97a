/* x509: certificates and keys on disk, parsed with GnuTLS.
 *
 * Parsing is offline and loads no trust store: it answers "what is in this
 * file, does it belong with that key, is the chain in order", never "is it
 * trusted". Every failure names the file (the `path` label given by the
 * caller), the cause and the fix, with a specific err->code from X509_E_*
 * (also used as the "code" of a --json problem). */
#ifndef GPC_X509_H
#define GPC_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "buf.h"
#include "error.h"

/* err->code values for files that do not parse (all mean state "invalid"). */
#define X509_E_EMPTY "empty"                 /* zero bytes or only whitespace */
#define X509_E_TRUNCATED "truncated"         /* BEGIN without END, or a block that does not decode */
#define X509_E_DER "der-not-pem"             /* binary DER where PEM is expected */
#define X509_E_NOT_PEM "not-pem"             /* no PEM block at all (garbage) */
#define X509_E_KEY_IN_CERT "key-in-cert-file" /* private key where the certificate should be */
#define X509_E_CERT_IN_KEY "cert-in-key-file" /* certificate where the private key should be */
#define X509_E_ENCRYPTED "encrypted-key"     /* password-protected key: not supported */
#define X509_E_KEY_MISMATCH "key-mismatch"   /* priv.key does not belong to the leaf */
#define X509_E_CHAIN_ORDER "chain-order"     /* a certificate is not issued by the next one */

#define X509_FP_HEX 65     /* SHA-256 as 64 lowercase hex digits + NUL */
#define X509_SERIAL_HEX 81 /* up to 40 serial bytes (RFC 5280 allows 20) */
#define X509_KEY_TYPE 24   /* "ec256", "rsa2048", "ed25519", ... */

/* What one certificate says. Strings are owned by the chain. Every field is
 * set for the leaf (index 0); for the issuer certificates after it only
 * not_before, not_after and is_ca (subject/issuer are NULL unless a chain
 * check message needed them, the rest empty): parsing 10,000 lineages that
 * share one intermediate must not pay for fields nobody reads. */
struct x509_info {
	char **names;         /* SAN DNS names and IP addresses (text form), in
			       * certificate order; the subject CN only when there
			       * is no SAN at all */
	size_t n_names;
	bool names_from_cn;   /* names[] came from the CN (no SAN extension) */
	time_t not_before;
	time_t not_after;
	char *subject;        /* RFC 4514 DN, e.g. "CN=www.example.org" */
	char *issuer;         /* RFC 4514 DN of the issuer */
	char *issuer_cn;      /* the issuer's CN, or NULL when it has none */
	char serial[X509_SERIAL_HEX];            /* lowercase hex, no separators */
	char key_type[X509_KEY_TYPE];            /* see x509_key_type_name */
	char fingerprint_sha256[X509_FP_HEX];    /* of the DER certificate */
	bool is_ca;           /* basicConstraints CA:TRUE */
	bool self_signed;     /* subject DN == issuer DN (no signature check) */
};

/* A parsed PEM chain, leaf first. */
struct x509_chain;

/* A parsed private key. */
struct x509_key;

/* Parse `len` bytes of PEM (`pem` need not be NUL-terminated) holding one or
 * more certificates, leaf first. `path` names the file in messages. Detects
 * an empty file, truncated PEM, DER, a private key instead of certificates
 * (X509_E_*). *has_key (may be NULL) is set when the data also holds a
 * private key block. Returns 0 and *out (free with x509_chain_free) or -1. */
int x509_chain_parse(const char *path, const char *pem, size_t len, struct x509_chain **out,
		     bool *has_key, struct gpc_error *err) __attribute__((warn_unused_result));
void x509_chain_free(struct x509_chain *c);

/* Number of certificates (>= 1). */
size_t x509_chain_length(const struct x509_chain *c);

/* Facts about certificate i (0 = leaf; see struct x509_info for what is set
 * on the others); NULL if i is out of range. Lives as long as the chain. */
const struct x509_info *x509_chain_info(const struct x509_chain *c, size_t i);

/* The GnuTLS certificate i (0 = leaf), owned by the chain, for callers that
 * need more (ARI certificate ID, CSR building). NULL if out of range. */
gnutls_x509_crt_t x509_chain_crt(const struct x509_chain *c, size_t i);

/* Check that each certificate is issued by the next one (issuer DN equals
 * the next subject DN, and authority key ID equals the next subject key ID
 * when both are present). No signature or trust check. Returns 0, or -1
 * with X509_E_CHAIN_ORDER naming `path` and the positions. */
int x509_chain_check_order(const struct x509_chain *c, const char *path, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Parse a PEM private key (PKCS#8, PKCS#1 "RSA PRIVATE KEY" or SEC1 "EC
 * PRIVATE KEY"). Detects an empty file, truncated PEM, DER, a certificate
 * instead of a key, an encrypted key (X509_E_*). The key material never
 * reaches a message. Returns 0 and *out (free with x509_key_free) or -1. */
int x509_key_parse(const char *path, const char *pem, size_t len, struct x509_key **out,
		   struct gpc_error *err) __attribute__((warn_unused_result));
void x509_key_free(struct x509_key *k);

/* The key's type ("ec256", "rsa2048", ...); owned by the key. */
const char *x509_key_type(const struct x509_key *k);

/* The GnuTLS key, owned by `k`. */
gnutls_x509_privkey_t x509_key_gnutls(const struct x509_key *k);

/* True when `k` is the private key of the chain's leaf (their public keys,
 * compared by SHA-256 key ID, are equal). */
bool x509_key_matches(const struct x509_key *k, const struct x509_chain *c);

/* Index of the certificate in the chain whose public key is `k`'s, or -1.
 * Tells "the key belongs to certificate 2: the chain is out of order" apart
 * from "this is another certificate's key". */
int x509_key_find(const struct x509_key *k, const struct x509_chain *c);

/* Name a key: algorithm and size as "ec256", "ec384", "ec521", "rsa2048",
 * "rsa3072", "rsa4096" (any RSA size: "rsa" + bits), "ed25519", "ed448",
 * "rsapss2048", or "unknown". Writes into out (X509_KEY_TYPE bytes) and
 * returns it. */
const char *x509_key_type_name(gnutls_pk_algorithm_t pk, unsigned bits, char *out, size_t outsz);

/* Normalise one identifier for comparison into out: lowercase, one trailing
 * '.' dropped, IP addresses in canonical text form ("0:0::1" -> "::1").
 * A wildcard stays as it is (lowercased). Returns 0, or -1 if it does not
 * fit or is empty. */
int x509_name_normalize(const char *name, char *out, size_t outsz);

/* Compare two name sets the way "does the lineage hold exactly this set"
 * needs: case-insensitive, order-insensitive, duplicates ignored, IPs by
 * value; a wildcard matches only the same wildcard (never a name below it).
 * If only_a / only_b are non-NULL, the names in one set but not the other
 * are appended to them comma-separated (for messages). Returns true when the
 * sets are equal. */
bool x509_names_equal(const char *const *a, size_t na, const char *const *b, size_t nb,
		      struct buf *only_a, struct buf *only_b);

#endif

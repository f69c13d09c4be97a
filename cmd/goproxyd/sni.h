/* sni: the credentials goproxyd serves (one per lineage, refcounted) and
 * their choice per ClientHello. No libev or socket dependency, so the fuzz
 * targets can build a table from a certs directory, run real GnuTLS server
 * handshakes through it and free it (goproxyd_sni_src in meson.build). */
#ifndef GOPROXYD_SNI_H
#define GOPROXYD_SNI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <gnutls/gnutls.h>

#include "certstore.h"

/* Credentials of one lineage (or one tls-alpn-01 challenge certificate).
 * Reference counted: the current set holds one reference, every connection
 * that chose it holds one until after gnutls_deinit. */
struct gpd_creds {
	atomic_int refs;
	char *name;
	gnutls_certificate_credentials_t cred;
	unsigned char digest[32]; /* SHA-256 of cert file || key file */
	long not_after;
	char **dnsnames; /* lower case SAN dNSNames (and CN if none) */
	size_t ndnsnames;
};

/* Take / drop a reference. creds_unref frees on the last one (NULL is fine). */
void creds_ref(struct gpd_creds *c);
void creds_unref(struct gpd_creds *c);

/* Build the first set from the certs directory `cs` (kept for rescans; the
 * caller keeps it open). Returns the number of usable lineages: 0 when the
 * store holds none yet (a fresh install, an empty fleet prefix: nothing is
 * logged, the caller says how to get one), or -1 after logging why (there
 * are lineages, but none of them loads), or -2 after logging why the store
 * could not be read at all (etcd unreachable and no usable cache: try
 * later). */
int sni_load(struct certstore *cs) __attribute__((warn_unused_result));

/* Build a new set from disk and swap it in for new handshakes. With
 * `lineages` false only the challenge certificates are read again (no store
 * lock: quick) and the lineages are carried over. *retry (if non-NULL) is
 * set when a writer held the store lock, so another rescan should follow
 * soon. Call from one thread at a time. Returns the number of lineages, or
 * -1 (the current set stays). */
long sni_rescan(bool lineages, bool *retry);

/* Free the current set (connections keep their own references). */
void sni_free(void);

/* Call fn for each lineage name of the current set. Only from the thread
 * that calls sni_rescan. */
void sni_foreach_lineage(void (*fn)(const char *name, void *ud), void *ud);

/* Choose credentials for a ClientHello: `sni` (may be NULL or empty; case
 * insensitive): exact SAN, then a one-label wildcard, then the "default"
 * lineage (else the first) unless `strict`; with `acme`, the tls-alpn-01
 * certificate for that name. Returns a new reference (caller unrefs) or NULL
 * when nothing fits. */
struct gpd_creds *sni_select(const char *sni, bool acme, bool strict);

/* Number of lineages in the current set. */
size_t sni_count(void);

/* No SNI in the ClientHello: the pair whose certificate holds the local
 * address of the connection fd as an iPAddress SAN (an IP address
 * certificate), with a reference (creds_unref), or NULL (SNI given, or no
 * such pair: sni_choose decides). */
struct gpd_creds *sni_select_local(gnutls_session_t s, int fd);

/* In a post-ClientHello function: read the SNI (into sni, size snisz) and
 * whether ALPN selected acme-tls/1 (*acme); if *out is NULL, choose with
 * sni_select (the reference goes to *out, for the caller to unref after
 * gnutls_deinit); set those credentials on the session. Returns 0 or a
 * GnuTLS error to end the handshake (GNUTLS_E_UNRECOGNIZED_NAME when nothing
 * fits). */
int sni_choose(gnutls_session_t s, bool strict, struct gpd_creds **out, char *sni, size_t snisz,
	       bool *acme);

/* A complete post-ClientHello function for gnutls_handshake_set_post_client_hello_function
 * when the session pointer (gnutls_session_set_ptr) is a `struct gpd_creds **`
 * slot, initially NULL; the caller unrefs *slot after gnutls_deinit. */
int sni_client_hello(gnutls_session_t s);

/* Parse a TLS ClientHello at the start of b[0..n) far enough to tell whether
 * its ALPN extension offers exactly "acme-tls/1"; the SNI host name goes to
 * sni. Returns 1 (acme-tls/1 only, with a name), 0 (anything else) or -1
 * (incomplete or malformed: let GnuTLS decide). */
int sni_peek_acme(const unsigned char *b, size_t n, char *sni, size_t snisz);

#endif

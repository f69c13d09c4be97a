/* tlsprobe: what a TLS server actually serves (check --connect).
 *
 * Opens a TCP connection to every address of a name in turn, each attempt
 * (connect, STARTTLS preamble, handshake) bounded by one timeout; runs a
 * GnuTLS client handshake with SNI and no client certificate; hands back the
 * peer's chain as PEM, in the order the server sent it, for x509_chain_parse.
 * Trust is a separate step (tlsprobe_verify) so that a chain that does not
 * verify is still described. Part of the offline core library only in the
 * sense of its dependencies (GnuTLS, libc): nothing here runs unless a
 * caller asks for a connection. Never prints; errors are values. */
#ifndef GPC_TLSPROBE_H
#define GPC_TLSPROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "x509.h"

/* err->code / attempt codes (also the "code" of a --json problem). */
#define TLSPROBE_E_UNRESOLVED "unresolved"       /* the name has no address */
#define TLSPROBE_E_REFUSED "connection-refused"  /* nothing listens there */
#define TLSPROBE_E_TIMEOUT "timed-out"           /* no answer within the timeout */
#define TLSPROBE_E_UNREACHABLE "unreachable"     /* no route, network down, ... */
#define TLSPROBE_E_CLOSED "connection-closed"    /* the peer hung up mid-way */
#define TLSPROBE_E_NOT_TLS "not-tls"             /* the peer answered in something else */
#define TLSPROBE_E_ALERT "tls-alert"             /* the peer ended the handshake with an alert */
#define TLSPROBE_E_NO_CERT_FOR_NAME "no-certificate-for-name" /* ... unrecognized_name: none for the SNI */
#define TLSPROBE_E_HANDSHAKE "handshake-failed"  /* any other handshake failure */
#define TLSPROBE_E_NO_CERT "no-certificate"      /* the handshake worked without one */
#define TLSPROBE_E_STARTTLS "starttls-failed"    /* the plain-text preamble failed */
#define TLSPROBE_E_TRUST "trust-store"           /* no trust anchors could be loaded */

enum tlsprobe_starttls {
	TLSPROBE_TLS = 0,   /* TLS from the first byte */
	TLSPROBE_SMTP,      /* RFC 3207 */
	TLSPROBE_IMAP,      /* RFC 2595 / 9051 */
	TLSPROBE_POP3,      /* RFC 2595 (STLS) */
	TLSPROBE_FTP,       /* RFC 4217 (AUTH TLS) */
	TLSPROBE_POSTGRES,  /* PostgreSQL SSLRequest */
	TLSPROBE_LDAP,      /* RFC 4511 §4.14 StartTLS extended operation */
};

/* "smtp", "imap", "pop3", "ftp", "postgres", "ldap" -> *out. Returns 0, or
 * -1 for any other name. */
int tlsprobe_starttls_parse(const char *name, enum tlsprobe_starttls *out)
	__attribute__((warn_unused_result));

/* The protocol's usual port as text: "443" for plain TLS, "25", "143",
 * "110", "21", "5432", "389". Static. */
const char *tlsprobe_default_port(enum tlsprobe_starttls p);

/* The list of protocol names for messages: "smtp, imap, ...". Static. */
const char *tlsprobe_starttls_names(void);

struct tlsprobe_options {
	const char *host;        /* a DNS name or an IP literal, without brackets */
	const char *port;        /* decimal */
	const char *servername;  /* sent as SNI (not when it is an IP literal, RFC 6066 §3); NULL: none */
	enum tlsprobe_starttls starttls;
	unsigned timeout_s;      /* per address: connect + preamble + handshake (>= 1) */
};

/* One address tried. */
struct tlsprobe_attempt {
	char address[48];        /* numeric, without brackets */
	const char *code;        /* TLSPROBE_E_*, NULL when this attempt got the chain */
	char cause[320];         /* "connection refused", "timed out after 2 s ...", "" */
	const char *hint;        /* static; "" when none */
};

/* What one probe found. Embedded: tlsprobe_run fills it, tlsprobe_result_finish
 * frees what it holds. */
struct tlsprobe_result {
	struct tlsprobe_attempt *attempts; /* every address tried, in order */
	size_t n_attempts;
	long used;               /* index of the attempt that got the chain, -1 none */
	char *chain_pem;         /* the served certificates as PEM, as sent (leaf first
				  * if the server follows the rules); NULL when none */
	size_t chain_len;
	size_t n_certs;
	char tls_version[16];    /* "TLS1.3" */
	char *session_desc;      /* GnuTLS's "(TLS1.3)-(ECDHE-SECP256R1)-..." or NULL */
};

/* Resolve o->host and try each address in turn until one completes the
 * handshake. Fills *r (always: the attempts made are there even on failure).
 * Returns 0 when a chain was received, or -1 with err naming the host, the
 * port, each address tried and its cause, and a hint (err->code is the code
 * of the attempt that got furthest). Free with tlsprobe_result_finish. */
int tlsprobe_run(const struct tlsprobe_options *o, struct tlsprobe_result *r, struct gpc_error *err)
	__attribute__((warn_unused_result));
void tlsprobe_result_finish(struct tlsprobe_result *r);

/* Trust anchors: the system trust store, or only the certificates of
 * `ca_bundle` (PEM) when it is not NULL. Loading the system store reads a
 * few hundred certificates: done once per run, and only by --connect.
 * Returns 0 and *out (free with tlsprobe_trust_free), or -1 with err naming
 * the file or the store. */
struct tlsprobe_trust;
int tlsprobe_trust_new(const char *ca_bundle, struct tlsprobe_trust **out, struct gpc_error *err)
	__attribute__((warn_unused_result));
void tlsprobe_trust_free(struct tlsprobe_trust *t);

/* "the system trust store" or "--ca-bundle FILE"; owned by t. */
const char *tlsprobe_trust_source(const struct tlsprobe_trust *t);

struct tlsprobe_verdict {
	bool trusted;            /* the chain verifies to an anchor (dates not checked) */
	unsigned status;         /* gnutls_certificate_status_t bits */
	char text[512];          /* the status in words (gnutls_certificate_verification_status_print) */
	bool complete;           /* the chain ends at a self-signed certificate or at one an
				  * anchor issued: nothing is missing in between */
	bool self_signed_leaf;   /* the leaf is its own issuer */
	char end_issuer[256];    /* DN of the issuer the chain stops at ("" when complete) */
};

/* Verify chain `c` (as served; GnuTLS sorts an unsorted one) against `t`.
 * Dates are not part of it (GNUTLS_VERIFY_DISABLE_TIME_CHECKS): the caller
 * judges them with its own clock, the one check uses. Returns 0 with *v
 * filled, or -1 when verification could not run at all. */
int tlsprobe_verify(const struct tlsprobe_trust *t, const struct x509_chain *c, struct tlsprobe_verdict *v,
		    struct gpc_error *err) __attribute__((warn_unused_result));

/* True when the leaf of `c` is valid for `name` (a DNS name or an IP
 * literal) by RFC 6125 rules: SAN DNS names with one-label wildcards, SAN IP
 * addresses, the CN only when there is no SAN. */
bool tlsprobe_covers(const struct x509_chain *c, const char *name);

/* True when `s` is an IPv4 or IPv6 literal. */
bool tlsprobe_is_ip(const char *s);

#endif

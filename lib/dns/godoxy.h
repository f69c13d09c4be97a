/* godoxy: the `autocert:` block of GoDoxy's config.yml (libyaml), so a
 * GoDoxy user can hand their file over as it is. The rest of the file is
 * ignored. */
#ifndef GPC_GODOXY_H
#define GPC_GODOXY_H

#include <stddef.h>

#include "error.h"

struct godoxy_kv {
	char *key, *value;
	int line; /* where it is written in the file */
};

/* One certificate: the main block, or an entry of `extra:` (which takes
 * what it does not set from the main block, as GoDoxy does). */
/* GoDoxy's cert_path and key_path when an entry gives none. */
#define GODOXY_CERT_PATH "certs/cert.crt"
#define GODOXY_KEY_PATH "certs/priv.key"

struct godoxy_cert {
	char *provider;        /* "cloudflare", "rfc2136", "local", ... */
	char *email;
	char **domains;
	size_t n_domains;
	char **resolvers;
	size_t n_resolvers;
	char *ca_dir_url;
	char **ca_certs;
	size_t n_ca_certs;
	char *eab_kid, *eab_hmac;
	char *cert_path, *key_path; /* as written (relative to the working directory), or
	                             * NULL: GODOXY_CERT_PATH, GODOXY_KEY_PATH */
	char *acme_key_path;        /* as written, or NULL (GoDoxy's default: see godoxy_acme_key_default) */
	char *key_type;             /* certificate_key_type as goproxy-cert's name ("ec384"), or NULL */
	struct godoxy_kv *opts;     /* `options:`, scalars as text, without lego's common options */
	size_t n_opts;
	/* lego's options common to every provider, taken out of `options:`:
	 * milliseconds (a Go duration, or a bare number of seconds); ttl in
	 * seconds; -1 when not given */
	long propagation_timeout_ms, polling_interval_ms, sequence_interval_ms, ttl;
	int ttl_line;
	int line;                   /* where it starts in the file */
};

struct godoxy_autocert {
	struct godoxy_cert *certs; /* [0] the main block, then `extra:` */
	size_t n;
};

/* GoDoxy's account key path for a CA directory URL (NULL: Let's Encrypt):
 * certs/acme.key, or certs/acme_<first 16 hex of sha256(url)>.key. Into
 * out; returns out. */
char *godoxy_acme_key_default(const char *ca_dir_url, char *out, size_t outsz);

/* Read FILE's `autocert:` block as GoDoxy does: `${VAR}` in a value is
 * the environment's GODOXY_VAR, GOPROXY_VAR or VAR (an unset one is an
 * error naming it, the file and the line; `$VAR` stays as written), keys
 * match ignoring case and '_', an unknown key is an error naming the
 * closest known one. Returns 0 and *out (godoxy_finish it), or
 * -1: a YAML error names the file, line and column; no autocert block, a
 * value of the wrong kind (a list where a string goes) names the key. */
int godoxy_load(const char *path, struct godoxy_autocert *out, struct gpc_error *err)
	__attribute__((warn_unused_result));
void godoxy_finish(struct godoxy_autocert *a);

/* GoDoxy's ACME account key at path (x509.MarshalECPrivateKey: SEC1 DER;
 * PEM too, SEC1 or PKCS#8) as a PKCS#8 PEM (malloc'd, secret) in *pem.
 * Returns 0, or -1 (GPC_E_MISSING when the file does not exist; a key
 * that cannot be read names the file). */
int godoxy_account_key_pem(const char *path, char **pem, struct gpc_error *err)
	__attribute__((warn_unused_result));

struct certstore;
struct lineage;

/* After an issuance of l: when it has copy paths (a GoDoxy extra: entry
 * with its own cert_path/key_path), write the pair just committed there
 * too, each file staged next to its path (key 0600, certificate 0644),
 * fsynced, then renamed (key first, then certificate) and the directories
 * fsynced: each file is whole at every instant; between the two renames
 * (microseconds) the old certificate goes with the new key. Copies that
 * already hold the pair are left alone; the issuer calls this for a
 * current lineage too, so a copy torn by a kill between the renames, or
 * removed, is mended by the next run. A failure is a warning (logged):
 * the pair in the certs directory is in place. */
void godoxy_write_copy(struct certstore *cs, const struct lineage *l);

#endif

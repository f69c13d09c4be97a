/* godoxy: the `autocert:` block of GoDoxy's config.yml (libyaml), so a
 * GoDoxy user can hand their file over as it is. The rest of the file is
 * ignored. */
#ifndef GPC_GODOXY_H
#define GPC_GODOXY_H

#include <stddef.h>

#include "error.h"

struct godoxy_kv {
	char *key, *value;
};

/* One certificate: the main block, or an entry of `extra:` (which takes
 * what it does not set from the main block, as GoDoxy does). */
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
	char *cert_path, *key_path; /* as written (relative to the working directory) */
	struct godoxy_kv *opts;     /* `options:`, scalars as text */
	size_t n_opts;
	int line;                   /* where it starts in the file */
};

struct godoxy_autocert {
	struct godoxy_cert *certs; /* [0] the main block, then `extra:` */
	size_t n;
};

/* Read FILE's `autocert:` block. Returns 0 and *out (godoxy_finish it), or
 * -1: a YAML error names the file, line and column; no autocert block, a
 * value of the wrong kind (a list where a string goes) names the key. */
int godoxy_load(const char *path, struct godoxy_autocert *out, struct gpc_error *err)
	__attribute__((warn_unused_result));
void godoxy_finish(struct godoxy_autocert *a);

#endif

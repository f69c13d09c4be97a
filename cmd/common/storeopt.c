/* storeopt: --store and its options (see storeopt.h). */
#include "storeopt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fsutil.h"
#include "store_etcd.h"

bool storeopt_take(struct storeopt *s, int opt, const char *arg)
{
	switch (opt) {
	case STOREOPT_STORE: s->url = arg; return true;
	case STOREOPT_CACERT: s->cacert = arg; return true;
	case STOREOPT_CERT: s->cert = arg; return true;
	case STOREOPT_KEY: s->key = arg; return true;
	case STOREOPT_SEAL: s->seal = arg; return true;
	default: return false;
	}
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

const char *storeopt_url(const struct storeopt *s)
{
	if (s->url != NULL && s->url[0] != '\0')
		return s->url;
	return env("GOPROXY_CERT_STORE");
}

int storeopt_open(const struct storeopt *s, const char *dir, struct certstore **out, struct gpc_error *err)
{
	struct store_options o = { 0 };
	const char *pwfile = env("GOPROXY_CERT_STORE_PASSWORD_FILE");
	struct buf pw;
	int rc;

	o.url = storeopt_url(s);
	o.dir = dir;
	if (o.url == NULL) {
		if (s->cacert || s->cert || s->key || s->seal) {
			gpc_error_set(err, GPC_E_USAGE, "--store-cacert, --store-cert, --store-key and --store-seal "
							"need a --store URL");
			return gpc_error_hint(err, "give --store etcd://HOST:PORT,... (or set GOPROXY_CERT_STORE), or "
						   "drop them for the certs directory");
		}
		return store_open(&o, out, err);
	}
	o.cacert = s->cacert;
	o.cert = s->cert;
	o.key = s->key;
	o.seal_file = s->seal;
	o.cache_dir = s->cache;
	o.user = env("GOPROXY_CERT_STORE_USER");
	o.password = env("GOPROXY_CERT_STORE_PASSWORD");
	buf_init(&pw, 4096);
	if (pwfile != NULL) {
		if (o.password != NULL) {
			gpc_error_set(err, GPC_E_USAGE, "both GOPROXY_CERT_STORE_PASSWORD and "
							"GOPROXY_CERT_STORE_PASSWORD_FILE are set");
			return gpc_error_hint(err, "set one of them");
		}
		if (fs_read_file(pwfile, 4096, &pw, err) != 0) {
			char hint[sizeof(err->hint)];
			snprintf(hint, sizeof(hint), "%s", err->hint);
			gpc_error_hint(err, "%s%sGOPROXY_CERT_STORE_PASSWORD_FILE names the file holding the etcd "
					    "password", hint, hint[0] ? "; " : "");
			buf_finish(&pw);
			return -1;
		}
		/* one line: the newline an editor adds is not part of it */
		while (pw.len > 0 && (pw.data[pw.len - 1] == '\n' || pw.data[pw.len - 1] == '\r'))
			pw.data[--pw.len] = '\0';
		o.password = pw.data != NULL ? pw.data : "";
	}
	if (o.password != NULL && o.user == NULL) {
		gpc_error_set(err, GPC_E_USAGE, "an etcd password is set but GOPROXY_CERT_STORE_USER is not");
		buf_finish(&pw);
		return gpc_error_hint(err, "set GOPROXY_CERT_STORE_USER to the etcd user");
	}
	rc = store_open(&o, out, err);
	if (pw.data != NULL)
		explicit_bzero(pw.data, pw.len);
	buf_finish(&pw);
	return rc;
}

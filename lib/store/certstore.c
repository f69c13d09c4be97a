/* certstore: the front end over the store backends (certstore_backend.h).
 * certstore_open_url chooses the backend from the table below by the URL's
 * scheme (no URL: the directory); every other call checks lineage names
 * and record keys, then hands the call to the backend's operations. Nothing
 * here reads files or talks to etcd. */
#include "certstore_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct certstore {
	const struct certstore_ops *ops;
	void *be;
	int max_wait; /* certstore_set_lock_wait, -1: none */
};

const char *certstore_default_dir(const char *dir)
{
	const char *env;

	if (dir != NULL && *dir != '\0')
		return dir;
	env = getenv("GOPROXY_CERTS_DIR");
	if (env != NULL && *env != '\0')
		return env;
	return "certs";
}

bool certstore_valid_name(const char *name)
{
	size_t n;

	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return false;
	n = strlen(name);
	if (n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* A record key: relative components of [A-Za-z0-9._:@+=-], none empty,
 * none starting with '.', at most 512 bytes. (A directory prefix for
 * list ends in '/'.) */
static bool valid_key(const char *key, bool prefix)
{
	size_t n;
	bool start = true;

	if (key == NULL)
		return false;
	n = strlen(key);
	if (n == 0 || n > 512)
		return prefix && n == 0;
	for (size_t i = 0; i < n; i++) {
		char c = key[i];
		if (c == '/') {
			if (start)
				return false;
			start = true;
			continue;
		}
		if (start && c == '.')
			return false;
		start = false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-' || c == ':' || c == '@' || c == '+' || c == '='))
			return false;
	}
	return prefix ? start : !start;
}

static int bad_key(struct gpc_error *err, const char *key)
{
	return gpc_error_set(err, GPC_E_INVALID, "'%.200s' is not a valid record name in the store",
			     key ? key : "");
}

static int bad_name(struct gpc_error *err, const char *name)
{
	return gpc_error_set(err, GPC_E_USAGE, "'%.80s' is not a valid lineage name", name ? name : "");
}

void certstore_names_free(char **names, size_t n)
{
	if (names == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int certstore_from_backend(const struct certstore_ops *ops, void *be, struct certstore **out,
			   struct gpc_error *err)
{
	struct certstore *cs = calloc(1, sizeof(*cs));

	*out = NULL;
	if (cs == NULL) {
		ops->free(be);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	cs->ops = ops;
	cs->be = be;
	cs->max_wait = -1;
	*out = cs;
	return 0;
}

/* The backends: the directory (a store without a URL) first, then those a program adds
 * (certstore_add_backend: the etcd part is linked by some programs only). */
#define MAX_BACKENDS 8
static const struct certstore_backend *backends[MAX_BACKENDS] = { &store_dir_backend };

int certstore_add_backend(const struct certstore_backend *b)
{
	for (size_t i = 0; i < MAX_BACKENDS; i++) {
		if (backends[i] == b)
			return 0;
		if (backends[i] == NULL) {
			backends[i] = b;
			return 0;
		}
	}
	return -1;
}

int certstore_open(const char *dir, struct certstore **out, struct gpc_error *err)
{
	const struct store_options o = { .dir = dir };

	return backends[0]->open(&o, out, err);
}

int certstore_open_url(const struct store_options *o, struct certstore **out, struct gpc_error *err)
{
	char known[256] = "";
	size_t kl = 0;

	*out = NULL;
	if (o->url == NULL || o->url[0] == '\0')
		return backends[0]->open(o, out, err);
	for (size_t i = 1; i < MAX_BACKENDS && backends[i] != NULL; i++)
		for (const char *const *sc = backends[i]->schemes; *sc != NULL; sc++) {
			if (strncmp(o->url, *sc, strlen(*sc)) == 0)
				return backends[i]->open(o, out, err);
			if (kl < sizeof(known))
				kl += (size_t)snprintf(known + kl, sizeof(known) - kl, "%s%s", kl ? ", " : "", *sc);
		}
	gpc_error_set(err, GPC_E_USAGE, "--store '%.300s': %s", o->url,
		      strstr(o->url, "://") == NULL ? "not a URL (for a directory, use -d DIR)"
		      : known[0] ? "not a store URL this program knows" : "this program has no shared store backend");
	if (known[0])
		gpc_error_hint(err, "give a URL beginning with %s", known);
	return -1;
}

const char *certstore_archive_describe(const struct certstore *cs, char *out, size_t outsz)
{
	if (outsz > 0 && (cs->ops->archive_name == NULL || cs->ops->archive_name(cs->be, out, outsz) != 0))
		snprintf(out, outsz, "%s (archive)", certstore_dir(cs));
	return out;
}

bool certstore_shared(const struct certstore *cs)
{
	return cs->ops->shared;
}

int certstore_ephemeral(const struct certstore *cs, struct gpc_error *why)
{
	return cs->ops->ephemeral != NULL ? cs->ops->ephemeral(cs->be, why) : 0;
}

int certstore_unwritable(const struct certstore *cs, struct gpc_error *why)
{
	return cs->ops->unwritable != NULL ? cs->ops->unwritable(cs->be, why) : 0;
}

void certstore_free(struct certstore *cs)
{
	if (cs == NULL)
		return;
	cs->ops->free(cs->be);
	free(cs);
}

const char *certstore_dir(const struct certstore *cs)
{
	return cs->ops->describe(cs->be);
}

const char *certstore_kind(const struct certstore *cs)
{
	return cs->ops->kind;
}

int certstore_list(struct certstore *cs, char ***names, size_t *n, struct gpc_error *err)
{
	*names = NULL;
	*n = 0;
	return cs->ops->list(cs->be, names, n, err);
}

int certstore_paths(const struct certstore *cs, const char *name, char *cert, size_t certsz, char *key,
		    size_t keysz)
{
	if (!certstore_valid_name(name))
		return -1;
	return cs->ops->pair_names(cs->be, name, cert, certsz, key, keysz);
}

int certstore_state_path(const struct certstore *cs, const char *rel, char *out, size_t outsz)
{
	if (rel != NULL && rel[0] != '\0' && !valid_key(rel, false) && !valid_key(rel, true))
		return -1;
	return cs->ops->record_name(cs->be, rel, out, outsz);
}

const char *certstore_describe(const struct certstore *cs, const char *key, char *out, size_t outsz)
{
	if (outsz == 0)
		return out;
	if (certstore_state_path(cs, key, out, outsz) != 0)
		snprintf(out, outsz, "%s", key ? key : "");
	return out;
}

int certstore_state_mkdir(struct certstore *cs, const char *subdir, struct gpc_error *err)
{
	if (subdir != NULL && !valid_key(subdir, false))
		return bad_key(err, subdir);
	return cs->ops->prepare ? cs->ops->prepare(cs->be, subdir, err) : 0;
}

int certstore_lock(struct certstore *cs, bool exclusive, int wait_secs, struct gpc_error *err)
{
	if (cs->max_wait >= 0 && (wait_secs < 0 || wait_secs > cs->max_wait))
		wait_secs = cs->max_wait;
	return cs->ops->lock(cs->be, exclusive, wait_secs, err);
}

int certstore_check_trust(struct certstore *cs, struct gpc_error *err)
{
	return cs->ops->check_trust != NULL ? cs->ops->check_trust(cs->be, err) : 0;
}

void certstore_set_lock_wait(struct certstore *cs, int secs)
{
	cs->max_wait = secs < 0 ? -1 : secs;
	if (cs->ops->set_lock_wait != NULL)
		cs->ops->set_lock_wait(cs->be, cs->max_wait);
}

void certstore_unlock(struct certstore *cs)
{
	cs->ops->unlock(cs->be);
}

int certstore_read_pair(struct certstore *cs, const char *name, struct buf *cert, struct buf *key,
			struct gpc_error *err)
{
	return certstore_read_pair_rev(cs, name, cert, key, NULL, err);
}

int certstore_read_pair_rev(struct certstore *cs, const char *name, struct buf *cert, struct buf *key,
			    uint64_t *rev, struct gpc_error *err)
{
	uint64_t r = 0;
	int rc;

	if (!certstore_valid_name(name))
		return bad_name(err, name);
	rc = cs->ops->read_pair(cs->be, name, cert, key, &r, err);
	if (rev != NULL)
		*rev = rc == 0 ? r : 0;
	return rc;
}

int certstore_read_pair_nowait(struct certstore *cs, const char *name, struct buf *cert, struct buf *key,
			       struct gpc_error *err)
{
	uint64_t r;

	if (!certstore_valid_name(name))
		return bad_name(err, name);
	if (cs->ops->read_pair_nowait == NULL)
		return cs->ops->read_pair(cs->be, name, cert, key, &r, err);
	return cs->ops->read_pair_nowait(cs->be, name, cert, key, err);
}

int certstore_read_files(struct certstore *cs, const char *name, struct buf *cert, struct buf *key,
			 struct certstore_files *f)
{
	memset(f, 0, sizeof(*f));
	f->cert_mode = f->key_mode = -1;
	if (!certstore_valid_name(name)) {
		bad_name(&f->cert_err, name);
		return -1;
	}
	if (cs->ops->read_files == NULL)
		return 0;
	return cs->ops->read_files(cs->be, name, cert, key, f);
}

int certstore_read_cert(struct certstore *cs, const char *name, struct buf *cert, uint64_t *rev,
			struct gpc_error *err)
{
	struct buf key;
	uint64_t r = 0;
	int rc;

	if (!certstore_valid_name(name))
		return bad_name(err, name);
	if (cs->ops->read_cert != NULL) {
		rc = cs->ops->read_cert(cs->be, name, cert, &r, err);
	} else {
		buf_init(&key, CERTSTORE_MAX_FILE);
		rc = cs->ops->read_pair(cs->be, name, cert, &key, &r, err);
		if (key.data != NULL)
			explicit_bzero(key.data, key.len);
		buf_finish(&key);
	}
	if (rev != NULL)
		*rev = rc == 0 ? r : 0;
	return rc;
}

int certstore_write_pair(struct certstore *cs, const char *name, const char *cert_pem, size_t cert_len,
			 const char *key_pem, size_t key_len, struct gpc_error *err)
{
	return certstore_write_pair_if(cs, name, cert_pem, cert_len, key_pem, key_len, CERTSTORE_REV_ANY, err);
}

int certstore_write_pair_if(struct certstore *cs, const char *name, const char *cert_pem, size_t cert_len,
			    const char *key_pem, size_t key_len, uint64_t expect_rev, struct gpc_error *err)
{
	if (!certstore_valid_name(name))
		return bad_name(err, name);
	return cs->ops->write_pair(cs->be, name, cert_pem, cert_len, key_pem, key_len, expect_rev, err);
}

int certstore_check_writable(struct certstore *cs, const char *name, struct gpc_error *err)
{
	if (!certstore_valid_name(name))
		return bad_name(err, name);
	return cs->ops->check_writable(cs->be, name, err);
}

int certstore_record_get(struct certstore *cs, const char *key, size_t max, struct buf *out, uint64_t *rev,
			 struct gpc_error *err)
{
	uint64_t r = 0;
	int rc;

	if (!valid_key(key, false))
		return bad_key(err, key);
	rc = cs->ops->record_get(cs->be, key, max, out, &r, err);
	if (rev != NULL)
		*rev = rc == 0 ? r : 0;
	return rc;
}

int certstore_record_put(struct certstore *cs, const char *key, const void *data, size_t len,
			 uint64_t expect_rev, struct gpc_error *err)
{
	if (!valid_key(key, false))
		return bad_key(err, key);
	return cs->ops->record_put(cs->be, key, data, len, expect_rev, err);
}

int certstore_record_del(struct certstore *cs, const char *key, struct gpc_error *err)
{
	if (!valid_key(key, false))
		return bad_key(err, key);
	return cs->ops->record_del(cs->be, key, err);
}

int certstore_record_list(struct certstore *cs, const char *prefix, char ***keys, size_t *n,
			  struct gpc_error *err)
{
	*keys = NULL;
	*n = 0;
	if (!valid_key(prefix, true))
		return bad_key(err, prefix);
	return cs->ops->record_list(cs->be, prefix, keys, n, err);
}

int certstore_state_read(struct certstore *cs, const char *rel, size_t max, struct buf *out,
			 struct gpc_error *err)
{
	return certstore_record_get(cs, rel, max, out, NULL, err);
}

int certstore_state_write(struct certstore *cs, const char *rel, const void *data, size_t len,
			  struct gpc_error *err)
{
	return certstore_record_put(cs, rel, data, len, CERTSTORE_REV_ANY, err);
}

int certstore_state_remove(struct certstore *cs, const char *rel, struct gpc_error *err)
{
	return certstore_record_del(cs, rel, err);
}

int certstore_finish_interrupted(struct certstore *cs)
{
	return cs->ops->finish_interrupted ? cs->ops->finish_interrupted(cs->be) : 0;
}

int certstore_issuer_lock(struct certstore *cs, const char *what, int wait_secs, bool *waited,
			  struct gpc_error *err)
{
	*waited = false;
	return cs->ops->issuer_lock(cs->be, what, wait_secs, waited, err);
}

void certstore_issuer_unlock(struct certstore *cs)
{
	cs->ops->issuer_unlock(cs->be);
}

int certstore_watch_open(struct certstore *cs, struct gpc_error *err)
{
	return cs->ops->watch_open(cs->be, err);
}

unsigned certstore_watch_read(struct certstore *cs)
{
	return cs->ops->watch_read(cs->be);
}

void certstore_watch_close(struct certstore *cs)
{
	cs->ops->watch_close(cs->be);
}

int certstore_presence_set(struct certstore *cs, const char *who, const char *info, struct gpc_error *err)
{
	if (!certstore_valid_name(who))
		return bad_name(err, who);
	return cs->ops->presence_set(cs->be, who, info, err);
}

void certstore_presence_clear(struct certstore *cs, const char *who)
{
	if (certstore_valid_name(who))
		cs->ops->presence_clear(cs->be, who);
}

int certstore_presence_get(struct certstore *cs, const char *who, struct buf *info)
{
	if (!certstore_valid_name(who))
		return 0;
	return cs->ops->presence_get(cs->be, who, info);
}

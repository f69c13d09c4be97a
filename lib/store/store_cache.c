/* store_cache: goproxyd's local copy of a shared store's pairs (see
 * store_cache.h for the layout and what a crash leaves). */
#include "store_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "certstore.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "timeutil.h"

#define CACHE_MAX_PAIR (4 * CERTSTORE_MAX_FILE) /* a cert and a sealed key in base64, as JSON */
#define CACHE_MAX_INDEX (16 * 1024 * 1024)

struct store_cache {
	char *dir;
};

static int path_of(const struct store_cache *c, const char *file, char *out, size_t outsz,
		   struct gpc_error *err)
{
	if (fs_join(out, outsz, c->dir, file) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s/%s: path too long", c->dir, file);
	return 0;
}

static int pair_path(const struct store_cache *c, const char *name, char *out, size_t outsz,
		     struct gpc_error *err)
{
	char file[128];

	snprintf(file, sizeof(file), "%s%s", name, STORE_CACHE_EXT);
	return path_of(c, file, out, outsz, err);
}

int store_cache_open(const char *dir, struct store_cache **out, struct gpc_error *err)
{
	struct store_cache *c;
	char parent[PATH_MAX];
	const char *slash;
	struct stat st;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0') {
		gpc_error_set(err, GPC_E_USAGE, "--store-cache: empty directory name");
		return gpc_error_hint(err, "give the directory goproxyd keeps its copy of the store's pairs in");
	}
	/* The parents as a directory tree usually is (0755: a --user must get
	 * through them), the cache itself private. */
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - dir), dir);
		if (fs_mkdirs(parent, 0755, 0, err) != 0)
			goto fail_hint;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		gpc_error_sys(err, errno, "create directory", dir);
		goto fail_hint;
	}
	if (lstat(dir, &st) != 0) {
		gpc_error_sys(err, errno, "stat", dir);
		goto fail_hint;
	}
	if (!S_ISDIR(st.st_mode)) {
		gpc_error_set(err, GPC_E_USAGE, "--store-cache %s: not a directory", dir);
		return gpc_error_hint(err, "give a directory of its own for the cache (it is created, mode 0700)");
	}
	/* root (goproxyd before it drops to --user) may open its user's */
	if (st.st_uid != geteuid() && geteuid() != 0) {
		gpc_error_set(err, GPC_E_USAGE, "--store-cache %s: owned by uid %ld, not by uid %ld running goproxyd",
			      dir, (long)st.st_uid, (long)geteuid());
		return gpc_error_hint(err, "the cache holds sealed private keys: give goproxyd a directory of its "
					   "own (chown it to this user, or choose another --store-cache)");
	}
	if ((st.st_mode & 07777) != 0700) {
		/* through its descriptor: the directory just examined, never a
		 * link put in its place since */
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), e = 0;
		struct stat fst;
		if (fd < 0 || fstat(fd, &fst) != 0)
			e = errno;
		else if (fst.st_ino != st.st_ino || fst.st_dev != st.st_dev)
			e = ELOOP; /* replaced since the lstat */
		else if (fchmod(fd, 0700) != 0)
			e = errno;
		if (fd >= 0)
			close(fd);
		if (e != 0) {
			gpc_error_sys(err, e, "chmod 0700", dir);
			goto fail_hint;
		}
	}
	(void)fs_remove_stale_temps(dir, 0);
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->dir = strdup(dir)) == NULL) {
		free(c);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	*out = c;
	return 0;
fail_hint:
	if (err != NULL && err->hint[0] == '\0')
		gpc_error_hint(err, "give goproxyd a writable directory with --store-cache DIR");
	return -1;
}

void store_cache_free(struct store_cache *c)
{
	if (c == NULL)
		return;
	free(c->dir);
	free(c);
}

const char *store_cache_dir(const struct store_cache *c)
{
	return c->dir;
}

/* True when `path` holds exactly data[0..len) with mode 0600. */
static bool same_file(const char *path, const unsigned char *data, size_t len)
{
	struct gpc_error e;
	struct stat st;
	struct buf b;
	bool same;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0600 ||
	    (size_t)st.st_size != len)
		return false;
	buf_init(&b, len + 1);
	gpc_error_clear(&e);
	same = fs_read_file_strict(path, len + 1, false, &b, &e) == 0 && b.len == len && (len == 0 || memcmp(b.data, data, len) == 0);
	buf_finish(&b);
	return same;
}

static char *index_json(const char *store, const char *prefix, int64_t revision,
			const struct store_cache_entry *e, size_t n)
{
	struct json_object *o = json_object_new_object(), *pairs = json_object_new_array();
	char rev[32], at[40];
	char *out = NULL;

	if (o == NULL || pairs == NULL) {
		json_object_put(o);
		json_object_put(pairs);
		return NULL;
	}
	snprintf(rev, sizeof(rev), "%" PRId64, revision);
	time_rfc3339(time(NULL), at, sizeof(at));
	json_object_object_add(o, "v", json_object_new_int(1));
	json_object_object_add(o, "store", json_object_new_string(store));
	json_object_object_add(o, "prefix", json_object_new_string(prefix));
	json_object_object_add(o, "revision", json_object_new_string(rev));
	json_object_object_add(o, "read_at", json_object_new_string(at));
	for (size_t i = 0; i < n; i++)
		json_object_array_add(pairs, json_object_new_string(e[i].name));
	json_object_object_add(o, "pairs", pairs);
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

static bool listed(const struct store_cache_entry *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].name, name) == 0)
			return true;
	return false;
}

int store_cache_save(struct store_cache *c, const char *store, const char *prefix, int64_t revision,
		     const struct store_cache_entry *e, size_t n, struct gpc_error *err)
{
	char path[PATH_MAX];
	char *index = NULL;
	bool removed = false;
	DIR *d;
	struct dirent *de;
	int rc = -1;

	/* 1. the pairs that changed, each whole */
	for (size_t i = 0; i < n; i++) {
		if (!certstore_valid_name(e[i].name) || e[i].value == NULL) {
			gpc_error_set(err, GPC_E_INVALID, "%s: '%s' is not a lineage name", c->dir, e[i].name);
			goto out;
		}
		if (pair_path(c, e[i].name, path, sizeof(path), err) != 0)
			goto out;
		if (same_file(path, e[i].value, e[i].len))
			continue;
		if (fs_write_atomic(path, e[i].value, e[i].len, 0600, err) != 0)
			goto out;
	}
	/* 2. the index: from now on the copy is this set */
	if ((index = index_json(store, prefix, revision, e, n)) == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	if (path_of(c, STORE_CACHE_INDEX, path, sizeof(path), err) != 0 ||
	    fs_write_atomic(path, index, strlen(index), 0600, err) != 0)
		goto out;
	/* 3. pairs the store no longer has */
	if ((d = opendir(c->dir)) == NULL) {
		gpc_error_sys(err, errno, "open directory", c->dir);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name), el = strlen(STORE_CACHE_EXT);
		char name[80];

		if (l <= el || l - el >= sizeof(name) || strcmp(de->d_name + l - el, STORE_CACHE_EXT) != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(l - el), de->d_name);
		if (listed(e, n, name) || path_of(c, de->d_name, path, sizeof(path), NULL) != 0)
			continue;
		if (unlink(path) == 0)
			removed = true;
	}
	closedir(d);
	if (removed && path_of(c, STORE_CACHE_INDEX, path, sizeof(path), err) == 0 &&
	    fs_sync_parent(path, err) != 0)
		goto out;
	rc = 0;
out:
	free(index);
	return rc;
}

void store_cache_set_finish(struct store_cache_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].value);
	free(s->e);
	memset(s, 0, sizeof(*s));
}

static const char *jstr_of(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int store_cache_load(struct store_cache *c, struct store_cache_set *out, struct gpc_error *err)
{
	struct json_object *o = NULL, *v, *pairs;
	char path[PATH_MAX];
	const char *s;
	struct buf b;
	size_t n;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	buf_init(&b, CACHE_MAX_INDEX);
	if (path_of(c, STORE_CACHE_INDEX, path, sizeof(path), err) != 0)
		goto out;
	if (fs_read_file_strict(path, CACHE_MAX_INDEX, false, &b, err) != 0)
		goto out; /* GPC_E_MISSING when never saved */
	o = jsonutil_parse_object(b.data != NULL ? b.data : "");
	if (o == NULL || !json_object_object_get_ex(o, "v", &v) || json_object_get_int(v) != 1 ||
	    !json_object_object_get_ex(o, "pairs", &pairs) || !json_object_is_type(pairs, json_type_array) ||
	    jstr_of(o, "store") == NULL || jstr_of(o, "prefix") == NULL) {
		gpc_error_set(err, GPC_E_INVALID, "%s: not an index of goproxyd's store cache", path);
		gpc_error_hint(err, "remove it: goproxyd writes the cache again the next time it reads the store");
		goto out;
	}
	snprintf(out->store, sizeof(out->store), "%s", jstr_of(o, "store"));
	snprintf(out->prefix, sizeof(out->prefix), "%s", jstr_of(o, "prefix"));
	if ((s = jstr_of(o, "revision")) != NULL)
		out->revision = strtoll(s, NULL, 10);
	if ((s = jstr_of(o, "read_at")) == NULL || time_parse_rfc3339(s, &out->read_at) != 0)
		out->read_at = 0;
	n = json_object_array_length(pairs);
	if ((out->e = calloc(n ? n : 1, sizeof(*out->e))) == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *nm = json_object_array_get_idx(pairs, i);
		struct store_cache_entry *e = &out->e[out->n];
		struct gpc_error fe;
		struct buf pb;

		if (!json_object_is_type(nm, json_type_string) || !certstore_valid_name(json_object_get_string(nm)))
			continue; /* never a path outside the directory */
		snprintf(e->name, sizeof(e->name), "%s", json_object_get_string(nm));
		out->n++;
		gpc_error_clear(&fe);
		buf_init(&pb, CACHE_MAX_PAIR);
		if (pair_path(c, e->name, path, sizeof(path), &fe) != 0 ||
		    fs_read_file_strict(path, CACHE_MAX_PAIR, false, &pb, &fe) != 0) {
			snprintf(e->why, sizeof(e->why), "%.390s", fe.message);
			buf_finish(&pb);
			continue;
		}
		if (pb.len == 0)
			snprintf(e->why, sizeof(e->why), "%.380s: empty", path);
		else if ((e->value = (unsigned char *)buf_take(&pb, &e->len)) == NULL)
			snprintf(e->why, sizeof(e->why), "%.370s: out of memory", path);
		buf_finish(&pb);
	}
	rc = 0;
out:
	json_object_put(o);
	buf_finish(&b);
	if (rc != 0)
		store_cache_set_finish(out);
	return rc;
}

/* store_etcd: the certs store in etcd (see store_etcd.h for the layout and
 * what the locks guarantee). One etcd client per store, behind a mutex
 * (renew's worker threads share the store); the lock leases, the watch and
 * the presence keeper run their own clients in their own threads. */
#include "store_etcd.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "b64.h"
#include "certstore_backend.h"
#include "etcd.h"
#include "jsonutil.h"
#include "log.h"
#include "seal.h"
#include "store_cache.h"
#include "storeurl.h"
#include "timeutil.h"
#include "x509.h"

#define SE_DEFAULT_TTL 15
#define SE_KEY_MAX 1024
#define SE_SNAP_SECS 5.0 /* how long a snapshot serves reads made without a lock */
#define SE_GRANT_RETRY_SECS 10.0 /* a lease grant is asked again for this long (a leader change) */

/* A snapshot of one key directory (PREFIX/pairs/ or PREFIX/records/lineages/),
 * read in one range with values: one bulk read at one revision. Reads made
 * without a lock (renew's first, offline decision over every lineage;
 * goproxyd's rescan after listing) are answered from it: a handful of
 * requests instead of two per lineage. Each entry answers once, for at most
 * SE_SNAP_SECS after the snapshot was read; a second read of a key, a key
 * the snapshot lacks, and every read of a thread holding the issuer or store
 * lock (the decision under the lock) go to etcd. Any write through this
 * store drops the snapshots. */
struct snap {
	struct etcd_range r; /* sorted by key, as etcd answers */
	bool *used;          /* r.n flags: the entry has answered once */
	double at;           /* CLOCK_MONOTONIC seconds when read; 0: none */
};
enum { SNAP_PAIRS, SNAP_LINEAGES, SNAP_N };

struct store_etcd {
	struct store_url url;
	struct etcd_client *c; /* guarded by mu */
	pthread_mutex_t mu;
	struct seal_key *seal;
	char seal_file[1024];
	long ttl;

	struct snap snap[SNAP_N]; /* guarded by mu */

	/* the lease of this store's locks, made on first use, kept alive */
	struct etcd_session *sess; /* guarded by mu */

	/* the store lock: one thread of this process at a time */
	pthread_mutex_t lock_mu;
	pthread_cond_t lock_cv;
	bool lock_held;     /* exclusive, in etcd */
	pthread_t lock_owner;
	char *lock_key;     /* the owner key (fence) while held */

	/* the issuer lock */
	char *issuer_key;

	/* the change watch */
	struct etcd_watch *watch;
	int watch_fd; /* eventfd */

	/* presence */
	pthread_t pres_thread;
	bool pres_started;
	atomic_bool pres_stop;
	char pres_who[80];
	char pres_info[400];
	pthread_mutex_t pres_mu;
	pthread_cond_t pres_cv;

	/* goproxyd's local copy of the pairs (store_cache.h) */
	struct store_cache *cache;
	struct store_cache_set cached; /* its usable entries while serving them; guarded by mu */
	atomic_bool from_cache;        /* the last list came from the cache */
	bool ever_read;                /* a list of the pairs succeeded: never the cache again */
	bool cache_save_failed;        /* said once until a save works again */
};

/* ---- keys and messages ---- */

/* PREFIX "/" followed by the parts (a NULL-terminated list of strings).
 * Returns 0, or -1 when the key would not fit. */
static int keyf(char *out, const struct store_etcd *se, ...)
{
	size_t n = (size_t)snprintf(out, SE_KEY_MAX, "%s/", se->url.prefix);
	const char *part;
	va_list ap;

	va_start(ap, se);
	while ((part = va_arg(ap, const char *)) != NULL && n < SE_KEY_MAX)
		n += (size_t)snprintf(out + n, SE_KEY_MAX - n, "%s", part);
	va_end(ap);
	return n < SE_KEY_MAX ? 0 : -1;
}

static bool code_is(const struct gpc_error *e, const char *code)
{
	return e->code != NULL && strcmp(e->code, code) == 0;
}

/* The seal key is needed: a clear error when none was given. */
static int need_seal(struct store_etcd *se, const char *what, struct gpc_error *err)
{
	if (se->seal != NULL)
		return 0;
	gpc_error_set(err, GPC_E_USAGE, "%s: %s: private keys, DNS secrets and alert targets in the store are sealed, "
					"and no seal key was given", se->url.text, what);
	return gpc_error_hint(err, "give every node the same seal key with --store-seal FILE (make one "
				   "with 'goproxy-cert store seal-key FILE')");
}

static void prefix_error(struct store_etcd *se, struct gpc_error *err)
{
	char msg[sizeof(err->message)];

	/* name the store first: "etcd://...: <what etcd said>" */
	if (strncmp(err->message, se->url.text, strlen(se->url.text)) != 0) {
		snprintf(msg, sizeof(msg), "%.300s: %.700s", se->url.text, err->message);
		memcpy(err->message, msg, sizeof(msg));
	}
}

/* ---- snapshots ---- */

static double mono_secs(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Which snapshot holds keys under `dir` (a full key prefix), or -1. */
static int snap_of(const struct store_etcd *se, const char *dir)
{
	char k[SE_KEY_MAX];

	snprintf(k, sizeof(k), "%s/pairs/", se->url.prefix);
	if (strcmp(dir, k) == 0)
		return SNAP_PAIRS;
	snprintf(k, sizeof(k), "%s/records/lineages/", se->url.prefix);
	if (strcmp(dir, k) == 0)
		return SNAP_LINEAGES;
	return -1;
}

/* Drop every snapshot (a write happened). Caller holds mu. */
static void snap_drop(struct store_etcd *se)
{
	for (int i = 0; i < SNAP_N; i++) {
		etcd_range_finish(&se->snap[i].r);
		free(se->snap[i].used);
		se->snap[i].used = NULL;
		se->snap[i].at = 0;
	}
}

/* True when this thread's reads must go to etcd: it holds a lock. */
static bool must_read_fresh(struct store_etcd *se)
{
	bool fresh;

	pthread_mutex_lock(&se->lock_mu);
	fresh = se->issuer_key != NULL || (se->lock_held && pthread_equal(se->lock_owner, pthread_self()));
	pthread_mutex_unlock(&se->lock_mu);
	return fresh;
}

/* Load snapshot `i` of directory `dir`. Caller holds mu. Returns 0 or -1. */
static int snap_load(struct store_etcd *se, int i, const char *dir, struct gpc_error *err)
{
	struct etcd_range_opts ro = { .prefix = true };
	struct etcd_range r;

	bool *used;

	if (etcd_range(se->c, dir, &ro, &r, err) != 0)
		return -1;
	used = calloc(r.n + 1, sizeof(*used));
	if (used == NULL) {
		etcd_range_finish(&r);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	etcd_range_finish(&se->snap[i].r);
	free(se->snap[i].used);
	se->snap[i].r = r;
	se->snap[i].used = used;
	se->snap[i].at = mono_secs();
	return 0;
}

/* The snapshot entry for `key` (a full key under snapshot i's directory):
 * 1 with *kv pointing into the snapshot (now used), or -1: read etcd (a
 * lock held, the entry absent or used already). Loads the snapshot when
 * it is missing or old. Caller holds mu. */
static int snap_get(struct store_etcd *se, int i, const char *dir, const char *key, const struct etcd_kv **kv)
{
	struct gpc_error e;
	size_t lo = 0, hi;

	if (i < 0 || must_read_fresh(se))
		return -1;
	if (se->snap[i].at == 0 || mono_secs() - se->snap[i].at > SE_SNAP_SECS) {
		gpc_error_clear(&e);
		if (snap_load(se, i, dir, &e) != 0)
			return -1; /* the direct read says what is wrong */
	}
	hi = se->snap[i].r.n;
	if (hi == 0)
		return -1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(se->snap[i].r.kvs[mid].key, key);
		if (c == 0) {
			if (se->snap[i].used[mid])
				return -1;
			se->snap[i].used[mid] = true;
			*kv = &se->snap[i].r.kvs[mid];
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int kv_copy(const struct etcd_kv *src, struct etcd_kv *dst)
{
	memset(dst, 0, sizeof(*dst));
	dst->key = strdup(src->key);
	dst->value = malloc(src->value_len + 1);
	if (dst->key == NULL || dst->value == NULL) {
		free(dst->key);
		free(dst->value);
		memset(dst, 0, sizeof(*dst));
		return -1;
	}
	memcpy(dst->value, src->value, src->value_len);
	dst->value[src->value_len] = '\0';
	dst->value_len = src->value_len;
	dst->create_revision = src->create_revision;
	dst->mod_revision = src->mod_revision;
	dst->version = src->version;
	dst->lease = src->lease;
	return 0;
}

/* Read one key, from the snapshot of its directory when allowed, else from
 * etcd; *r gets 0 or 1 kv (etcd_range_finish frees). Caller holds mu. */
static int read_key(struct store_etcd *se, const char *dir, const char *key, const struct etcd_range_opts *ro,
		    struct etcd_range *r, struct gpc_error *err)
{
	const struct etcd_kv *kv = NULL;
	int got = snap_get(se, snap_of(se, dir), dir, key, &kv);

	if (got >= 0) {
		memset(r, 0, sizeof(*r));
		if (got == 0)
			return 0;
		r->kvs = calloc(1, sizeof(*r->kvs));
		if (r->kvs == NULL || kv_copy(kv, &r->kvs[0]) != 0) {
			free(r->kvs);
			r->kvs = NULL;
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		}
		r->n = r->count = 1;
		return 0;
	}
	return etcd_range(se->c, key, ro, r, err);
}

/* ---- the lock lease ---- */

/* The store's lease for its locks, made on first use. Caller holds mu. */
static int session(struct store_etcd *se, struct gpc_error *err)
{
	if (se->sess != NULL && etcd_session_alive(se->sess, NULL))
		return 0;
	if (se->sess != NULL) {
		etcd_session_free(se->sess);
		se->sess = NULL;
	}
	/* A leader change times out a lease grant on the member that was
	 * asked ("request timed out", outcome unknown) while the others have a
	 * new leader a second later. Asking again is safe: a lease granted by
	 * the lost request has nothing attached and expires by itself. So for
	 * up to SE_GRANT_RETRY_SECS, a network error means ask again. */
	for (double t0 = mono_secs();;) {
		if (etcd_session_new(se->c, se->ttl, &se->sess, err) == 0)
			return 0;
		if (!code_is(err, GPC_E_NETWORK) || mono_secs() - t0 > SE_GRANT_RETRY_SECS)
			break;
		gpc_info("%s: %s; asking again", se->url.text, err->message);
		usleep(500 * 1000);
	}
	prefix_error(se, err);
	return -1;
}

/* The fences of the locks this store holds (0, 1 or 2 compares). */
static size_t fences(struct store_etcd *se, struct etcd_cmp *cmp)
{
	size_t n = 0;

	pthread_mutex_lock(&se->lock_mu);
	if (se->lock_key != NULL && se->lock_held && pthread_equal(se->lock_owner, pthread_self()))
		cmp[n++] = etcd_fence(se->lock_key);
	pthread_mutex_unlock(&se->lock_mu);
	if (se->issuer_key != NULL)
		cmp[n++] = etcd_fence(se->issuer_key);
	return n;
}

/* After a txn whose compares failed: was it a lost lock? The failure
 * branch read the fence keys (ops 1.. of the failure branch). */
static bool fence_lost(const struct etcd_txn_result *t, size_t first, size_t nf)
{
	for (size_t i = first; i < first + nf && i < t->n_ranges; i++)
		if (t->ranges[i].n == 0)
			return true;
	return false;
}

static int lost_lock_error(struct store_etcd *se, const char *what, struct gpc_error *err)
{
	struct gpc_error why;

	gpc_error_clear(&why);
	if (se->sess != NULL)
		(void)etcd_session_alive(se->sess, &why);
	gpc_error_set(err, GPC_E_LOCKED, "%s: %s: not written: this run no longer holds its lock in etcd "
					 "(the lease expired or was revoked%s%s)",
		      se->url.text, what, why.code ? ": " : "", why.code ? why.message : "");
	return gpc_error_hint(err, "another node may hold the lock now and write instead; run again");
}

/* ---- values ---- */

/* A pair's value: {"v":1,"cert":PEM,"key":BASE64(sealed key)}. */
static char *pair_value(const char *cert, size_t cert_len, const struct buf *sealed)
{
	struct json_object *o = json_object_new_object();
	char *k = b64std_encode(sealed->data, sealed->len), *out = NULL;

	if (o != NULL && k != NULL) {
		json_object_object_add(o, "v", json_object_new_int(1));
		json_object_object_add(o, "cert", json_object_new_string_len(cert, (int)cert_len));
		json_object_object_add(o, "key", json_object_new_string(k));
		out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	}
	free(k);
	json_object_put(o);
	return out;
}

/* Split a pair's value: the certificate appended to cert (if not NULL), the
 * sealed key to sealed (if not NULL). Returns 0 or -1. */
static int pair_parse(struct store_etcd *se, const char *name, const struct etcd_kv *kv, struct buf *cert,
		      struct buf *sealed, struct gpc_error *err)
{
	struct json_object *o = jsonutil_parse_object((const char *)kv->value), *c, *k;
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	int rc = -1;

	if (o == NULL || !json_object_object_get_ex(o, "cert", &c) || !json_object_is_type(c, json_type_string) ||
	    !json_object_object_get_ex(o, "key", &k) || !json_object_is_type(k, json_type_string) ||
	    b64url_decode(json_object_get_string(k), (size_t)json_object_get_string_len(k), &raw, &rawlen) != 0) {
		gpc_error_set(err, GPC_E_INVALID, "%s: lineage %s: %s is not a pair written by goproxy-cert",
			      se->url.text, name, kv->key);
		gpc_error_hint(err, "write it again (goproxy-cert store import, or renew --force)");
		goto out;
	}
	if ((cert != NULL && buf_add(cert, json_object_get_string(c), (size_t)json_object_get_string_len(c)) != 0) ||
	    (sealed != NULL && buf_add(sealed, raw, rawlen) != 0)) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(raw);
	json_object_put(o);
	return rc;
}

static bool holds_private_key(const void *data, size_t len)
{
	return memmem(data, len, "PRIVATE KEY-----", 16) != NULL;
}

/* Records that hold secrets without a PEM key in them, sealed like the
 * keys (certstore.h): the alert targets (notify.h: webhook URLs, tokens). */
static bool secret_record(const char *rel)
{
	/* the alert targets; a lineage's DNS provider secrets (API tokens) */
	return strcmp(rel, "notify.json") == 0 || strncmp(rel, "secrets/", 8) == 0;
}

/* ---- goproxyd's cache of the pairs (store_cache.h) ---- */

static int cmp_names(const void *a, const void *b);

/* After a list of the pairs that etcd answered: save the snapshot it read
 * (the values as etcd holds them, keys sealed) to the cache, and stop
 * serving from the cache if it did. A failed save is said once; serving
 * goes on from etcd either way. */
static void cache_update(struct store_etcd *se)
{
	struct snap *sn = &se->snap[SNAP_PAIRS];
	struct store_cache_entry *e;
	char dir[SE_KEY_MAX], member[300];
	size_t n = 0, dl;
	int64_t rev;
	struct gpc_error err;
	bool left_cache = false;

	se->ever_read = true;
	(void)keyf(dir, se, "pairs/", NULL);
	dl = strlen(dir);
	pthread_mutex_lock(&se->mu);
	if (atomic_load(&se->from_cache)) {
		atomic_store(&se->from_cache, false);
		store_cache_set_finish(&se->cached);
		left_cache = true;
	}
	if (sn->at == 0 || (e = calloc(sn->r.n + 1, sizeof(*e))) == NULL) {
		/* listed without the snapshot (a lock held): nothing to save */
		pthread_mutex_unlock(&se->mu);
		return;
	}
	for (size_t i = 0; i < sn->r.n; i++) {
		const struct etcd_kv *kv = &sn->r.kvs[i];
		const char *rest = kv->key + dl;

		if (strlen(kv->key) <= dl || strchr(rest, '/') != NULL || !certstore_valid_name(rest) ||
		    (e[n].value = malloc(kv->value_len + 1)) == NULL)
			continue;
		memcpy(e[n].value, kv->value, kv->value_len);
		e[n].value[kv->value_len] = '\0';
		e[n].len = kv->value_len;
		snprintf(e[n].name, sizeof(e[n].name), "%s", rest);
		n++;
	}
	rev = sn->r.revision;
	snprintf(member, sizeof(member), "%s", etcd_client_endpoint(se->c));
	pthread_mutex_unlock(&se->mu);
	if (left_cache)
		gpc_note("%s: etcd answers again (member %s): serving the store's pairs (revision %" PRId64
			 "), no longer the cache %s", se->url.text, member, rev, store_cache_dir(se->cache));
	gpc_error_clear(&err);
	if (store_cache_save(se->cache, se->url.text, se->url.prefix, rev, e, n, &err) != 0) {
		if (!se->cache_save_failed)
			gpc_warn("%s: cannot update the cache %s: %s; goproxyd cannot start from it while etcd is "
				 "down (%s)", se->url.text, store_cache_dir(se->cache), err.message,
				 err.hint[0] ? err.hint : "check the directory");
		se->cache_save_failed = true;
	} else {
		if (se->cache_save_failed)
			gpc_note("%s: the cache %s is up to date again", se->url.text, store_cache_dir(se->cache));
		se->cache_save_failed = false;
		gpc_debug("%s: %zu pair(s) of revision %" PRId64 " saved to the cache %s", se->url.text, n, rev,
			  store_cache_dir(se->cache));
	}
	for (size_t i = 0; i < n; i++)
		free(e[i].value);
	free(e);
}

/* Can the cache's entry be served? Its value parses as a pair, its key
 * unseals for this lineage and belongs to its certificate. Returns 0, or
 * -1 with why. */
static int cache_check(struct store_etcd *se, const struct store_cache_entry *ce, struct gpc_error *why)
{
	struct etcd_kv kv = { .key = (char *)ce->name, .value = ce->value, .value_len = ce->len };
	struct x509_chain *chain = NULL;
	struct x509_key *k = NULL;
	struct buf cert, sealed, key;
	int rc = -1;

	if (ce->value == NULL)
		return gpc_error_set(why, GPC_E_IO, "%.600s", ce->why);
	buf_init(&cert, CERTSTORE_MAX_FILE);
	buf_init(&sealed, 2 * CERTSTORE_MAX_FILE);
	buf_init(&key, CERTSTORE_MAX_FILE);
	if (pair_parse(se, ce->name, &kv, &cert, &sealed, why) != 0) {
		gpc_error_set(why, GPC_E_INVALID, "not a pair value as goproxy-cert writes them");
		goto out;
	}
	if (seal_open(se->seal, ce->name, sealed.data, sealed.len, &key, why) != 0)
		goto out;
	if (x509_chain_parse(ce->name, cert.data, cert.len, &chain, NULL, why) != 0 ||
	    x509_key_parse(ce->name, key.data, key.len, &k, why) != 0)
		goto out;
	if (!x509_key_matches(k, chain)) {
		gpc_error_set(why, GPC_E_INVALID, "the key does not belong to the certificate");
		goto out;
	}
	rc = 0;
out:
	x509_key_free(k);
	x509_chain_free(chain);
	if (key.data != NULL)
		explicit_bzero(key.data, key.len);
	buf_finish(&key);
	buf_finish(&sealed);
	buf_finish(&cert);
	return rc;
}

/* The names of the entries served from the cache, sorted as a list is. */
static int cache_names(struct store_etcd *se, char ***names, size_t *n, struct gpc_error *err)
{
	char **v;

	pthread_mutex_lock(&se->mu);
	v = calloc(se->cached.n + 1, sizeof(*v));
	for (size_t i = 0; v != NULL && i < se->cached.n; i++) {
		if ((v[i] = strdup(se->cached.e[i].name)) == NULL) {
			certstore_names_free(v, i);
			v = NULL;
		}
	}
	*n = v != NULL ? se->cached.n : 0;
	pthread_mutex_unlock(&se->mu);
	if (v == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	qsort(v, *n, sizeof(*v), cmp_names);
	*names = v;
	return 0;
}

/* A list of the pairs that no member answered (err), before this store
 * read them once: the cache's servable entries instead, said once. Returns
 * 0 with the names, or -1 with err: the cause and why the cache cannot
 * stand in (empty, unreadable, another store's, nothing servable). */
static int cache_fallback(struct store_etcd *se, char ***names, size_t *n, struct gpc_error *err)
{
	struct store_cache_set set;
	struct gpc_error why;
	char cause[700], reason[600] = "", at[40] = "an unknown time";
	const char *dir = store_cache_dir(se->cache);
	size_t usable = 0, listed;
	size_t ul = strlen(se->url.text);

	if (se->ever_read || !code_is(err, GPC_E_NETWORK))
		return -1;
	if (atomic_load(&se->from_cache))
		return cache_names(se, names, n, err); /* still down: the same entries */
	/* "etcd://...: CAUSE" -> CAUSE */
	snprintf(cause, sizeof(cause), "%.690s",
		 strncmp(err->message, se->url.text, ul) == 0 && err->message[ul] == ':' ? err->message + ul + 2
											  : err->message);
	if (need_seal(se, "its cache", err) != 0)
		return -1;
	gpc_error_clear(&why);
	if (store_cache_load(se->cache, &set, &why) != 0) {
		snprintf(reason, sizeof(reason), "%.590s",
			 code_is(&why, GPC_E_MISSING) ? "it is empty (goproxyd never read this store with it)" : why.message);
		goto refuse;
	}
	if (strcmp(set.prefix, se->url.prefix) != 0) {
		snprintf(reason, sizeof(reason), "it holds the pairs of %.250s (prefix %.150s), not of prefix %.60s",
			 set.store, set.prefix, se->url.prefix);
		store_cache_set_finish(&set);
		goto refuse;
	}
	listed = set.n;
	for (size_t i = 0; i < set.n; i++) {
		gpc_error_clear(&why);
		if (cache_check(se, &set.e[i], &why) != 0) {
			gpc_warn("%s: cache %s/%s%s: lineage %s: %s; skipped, never served", se->url.text, dir,
				 set.e[i].name, STORE_CACHE_EXT, set.e[i].name, why.message);
			free(set.e[i].value);
			continue;
		}
		set.e[usable++] = set.e[i];
	}
	set.n = usable;
	if (usable == 0) {
		snprintf(reason, sizeof(reason), listed ? "none of its %zu pair(s) can be served (see above)"
							: "it holds no pair", listed);
		store_cache_set_finish(&set);
		goto refuse;
	}
	if (set.read_at > 0)
		time_rfc3339(set.read_at, at, sizeof(at));
	pthread_mutex_lock(&se->mu);
	store_cache_set_finish(&se->cached);
	se->cached = set;
	atomic_store(&se->from_cache, true);
	pthread_mutex_unlock(&se->mu);
	gpc_warn("%s: etcd unreachable (%s); serving %zu pair(s) from the cache %s as of %s (revision %" PRId64
		 ") until a member answers", se->url.text, cause, usable, dir, at, set.revision);
	return cache_names(se, names, n, err);
refuse:
	gpc_error_set(err, GPC_E_NETWORK, "%.200s: etcd unreachable (%.500s), and the cache %.150s cannot stand in: %.150s",
		      se->url.text, cause, dir, reason);
	return gpc_error_hint(err, "start the etcd members (or fix --store): goproxyd reads the store at start and "
				   "from then on keeps its copy in %.200s to start from while etcd is down", dir);
}

/* A pair from the cache's entries (into *r: 0 or 1 kv). Caller holds mu. */
static int cache_get(struct store_etcd *se, const char *key, const char *name, struct etcd_range *r,
		     struct gpc_error *err)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < se->cached.n; i++) {
		struct store_cache_entry *ce = &se->cached.e[i];
		struct etcd_kv kv = { .key = (char *)key, .value = ce->value, .value_len = ce->len,
				      .mod_revision = se->cached.revision };

		if (strcmp(ce->name, name) != 0)
			continue;
		r->kvs = calloc(1, sizeof(*r->kvs));
		if (r->kvs == NULL || kv_copy(&kv, &r->kvs[0]) != 0) {
			free(r->kvs);
			r->kvs = NULL;
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		}
		r->n = r->count = 1;
		r->revision = se->cached.revision;
		break;
	}
	return 0;
}

/* ---- backend operations ---- */

static void op_watch_close(void *be);
static void op_presence_clear(void *be, const char *who);

static void op_free(void *be)
{
	struct store_etcd *se = be;
	struct gpc_error e;

	if (se == NULL)
		return;
	op_watch_close(se);
	op_presence_clear(se, se->pres_who);
	/* locks still held go now (else with their lease) */
	if (se->c != NULL && se->lock_key != NULL && etcd_unlock(se->c, se->lock_key, &e) != 0)
		gpc_debug("%s", e.message);
	if (se->c != NULL && se->issuer_key != NULL && etcd_unlock(se->c, se->issuer_key, &e) != 0)
		gpc_debug("%s", e.message);
	free(se->lock_key);
	free(se->issuer_key);
	etcd_session_free(se->sess);
	snap_drop(se);
	store_cache_set_finish(&se->cached);
	store_cache_free(se->cache);
	etcd_client_free(se->c);
	seal_key_free(se->seal);
	pthread_mutex_destroy(&se->mu);
	pthread_mutex_destroy(&se->lock_mu);
	pthread_cond_destroy(&se->lock_cv);
	pthread_mutex_destroy(&se->pres_mu);
	pthread_cond_destroy(&se->pres_cv);
	free(se);
}

static const char *op_describe(void *be)
{
	return ((struct store_etcd *)be)->url.text;
}

static int cmp_names(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;

	/* "default" first, as in a directory */
	if (strcmp(x, CERTSTORE_DEFAULT) == 0)
		return strcmp(y, CERTSTORE_DEFAULT) == 0 ? 0 : -1;
	if (strcmp(y, CERTSTORE_DEFAULT) == 0)
		return 1;
	return strcmp(x, y);
}

/* Keys directly under `dir` (a key prefix ending in '/'), the part after it,
 * sorted. Returns 0 or -1. */
static int list_under(struct store_etcd *se, const char *dir, bool valid_names, char ***out, size_t *n,
		      struct gpc_error *err)
{
	struct etcd_range_opts ro = { .prefix = true, .keys_only = true };
	struct etcd_range r = { 0 }, *from = &r;
	size_t dl = strlen(dir);
	int si = snap_of(se, dir);
	char **v;
	int rc;

	/* Pairs and lineage settings: read with their values, as the snapshot
	 * the reads that follow (without a lock) are answered from. */
	pthread_mutex_lock(&se->mu);
	if (si >= 0 && !must_read_fresh(se)) {
		rc = snap_load(se, si, dir, err);
		from = &se->snap[si].r;
	} else {
		rc = etcd_range(se->c, dir, &ro, &r, err);
	}
	if (rc != 0) {
		pthread_mutex_unlock(&se->mu);
		prefix_error(se, err);
		return -1;
	}
	v = calloc(from->n + 1, sizeof(*v));
	if (v == NULL) {
		pthread_mutex_unlock(&se->mu);
		etcd_range_finish(&r);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	*n = 0;
	for (size_t i = 0; i < from->n; i++) {
		const char *rest = from->kvs[i].key + dl;
		if (strlen(from->kvs[i].key) <= dl || strchr(rest, '/') != NULL ||
		    (valid_names && !certstore_valid_name(rest)))
			continue;
		if ((v[*n] = strdup(rest)) == NULL) {
			pthread_mutex_unlock(&se->mu);
			certstore_names_free(v, *n);
			etcd_range_finish(&r);
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		}
		(*n)++;
	}
	pthread_mutex_unlock(&se->mu);
	etcd_range_finish(&r);
	qsort(v, *n, sizeof(*v), cmp_names);
	*out = v;
	return 0;
}

static int op_list(void *be, char ***names, size_t *n, struct gpc_error *err)
{
	struct store_etcd *se = be;
	char dir[SE_KEY_MAX];

	if (keyf(dir, se, "pairs/", NULL) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s: prefix too long", se->url.text);
	if (list_under(se, dir, true, names, n, err) != 0)
		return se->cache != NULL ? cache_fallback(se, names, n, err) : -1;
	if (se->cache != NULL)
		cache_update(se);
	return 0;
}

static int op_pair_names(void *be, const char *name, char *cert, size_t certsz, char *key, size_t keysz)
{
	struct store_etcd *se = be;

	if ((size_t)snprintf(cert, certsz, "%s/pairs/%s (certificate)", se->url.text, name) >= certsz ||
	    (size_t)snprintf(key, keysz, "%s/pairs/%s (sealed key)", se->url.text, name) >= keysz)
		return -1;
	return 0;
}

/* Read a pair's value (serializable: from the member's copy, without
 * quorum, possibly stale). */
static int get_pair(struct store_etcd *se, const char *name, bool serializable, bool fresh,
		    struct etcd_range *r, struct gpc_error *err)
{
	struct etcd_range_opts ro = { .serializable = serializable };
	char key[SE_KEY_MAX], dir[SE_KEY_MAX];
	int rc;

	if (keyf(key, se, "pairs/", name, NULL) != 0 || keyf(dir, se, "pairs/", NULL) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s: name too long", se->url.text);
	pthread_mutex_lock(&se->mu);
	if (!fresh && atomic_load(&se->from_cache))
		rc = cache_get(se, key, name, r, err);
	else
		rc = fresh ? etcd_range(se->c, key, &ro, r, err) : read_key(se, dir, key, &ro, r, err);
	pthread_mutex_unlock(&se->mu);
	if (rc != 0) {
		prefix_error(se, err);
		return -1;
	}
	if (r->n == 0) {
		etcd_range_finish(r);
		gpc_error_set(err, GPC_E_MISSING, "%s: no pair for lineage %s (%s)", se->url.text, name, key);
		return -1;
	}
	return 0;
}

static int read_pair(struct store_etcd *se, const char *name, struct buf *cert, struct buf *key,
		     uint64_t *rev, bool serializable, struct gpc_error *err)
{
	struct etcd_range r;
	struct buf sealed;
	size_t cl = cert->len;
	int rc = -1;

	if (need_seal(se, name, err) != 0)
		return -1;
	if (get_pair(se, name, serializable, false, &r, err) != 0)
		return -1;
	buf_init(&sealed, 2 * CERTSTORE_MAX_FILE);
	if (pair_parse(se, name, &r.kvs[0], cert, &sealed, err) != 0)
		goto out;
	if (seal_open(se->seal, name, sealed.data, sealed.len, key, err) != 0) {
		/* never half a pair */
		cert->len = cl;
		if (cert->data != NULL)
			cert->data[cl] = '\0';
		prefix_error(se, err);
		goto out;
	}
	if (rev != NULL)
		*rev = (uint64_t)r.kvs[0].mod_revision;
	rc = 0;
out:
	if (sealed.data != NULL)
		explicit_bzero(sealed.data, sealed.len);
	buf_finish(&sealed);
	etcd_range_finish(&r);
	return rc;
}

static int op_read_pair(void *be, const char *name, struct buf *cert, struct buf *key, uint64_t *rev,
			struct gpc_error *err)
{
	return read_pair(be, name, cert, key, rev, false, err);
}

/* goproxyd's reload: from the member it talks to, even without quorum. */
static int op_read_pair_nowait(void *be, const char *name, struct buf *cert, struct buf *key,
			       struct gpc_error *err)
{
	return read_pair(be, name, cert, key, NULL, true, err);
}

/* The certificate without the seal key: it is stored in clear beside the
 * sealed key. */
static int op_read_cert(void *be, const char *name, struct buf *cert, uint64_t *rev, struct gpc_error *err)
{
	struct store_etcd *se = be;
	struct etcd_range r;
	int rc;

	if (get_pair(se, name, false, false, &r, err) != 0)
		return -1;
	rc = pair_parse(se, name, &r.kvs[0], cert, NULL, err);
	if (rc == 0 && rev != NULL)
		*rev = (uint64_t)r.kvs[0].mod_revision;
	etcd_range_finish(&r);
	return rc;
}

static int op_write_pair(void *be, const char *name, const char *cert, size_t cert_len, const char *key_pem,
			 size_t key_len, uint64_t expect_rev, struct gpc_error *err)
{
	struct store_etcd *se = be;
	char pkey[SE_KEY_MAX], akey[SE_KEY_MAX], revs[32];
	struct buf sealed;
	char *value = NULL;
	int rc = -1;

	if (need_seal(se, name, err) != 0)
		return -1;
	if (keyf(pkey, se, "pairs/", name, NULL) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s: name too long", se->url.text);
	buf_init(&sealed, 2 * CERTSTORE_MAX_FILE);
	/* Read what is there (to archive it, and for --reuse-key its sealed
	 * key), then swap it only if it is still that: a txn on its revision,
	 * and on the locks this store holds. */
	for (int attempt = 0; attempt < 5; attempt++) {
		struct etcd_range cur = { 0 };
		struct etcd_cmp cmp[3];
		struct etcd_op ok[2], fail[3];
		struct etcd_txn_result t;
		int64_t cur_rev = 0;
		size_t nc = 0, nok = 0, nfail = 0, nf;
		int got;

		got = get_pair(se, name, false, true, &cur, err);
		if (got != 0 && !code_is(err, GPC_E_MISSING))
			goto out;
		if (got == 0)
			cur_rev = cur.kvs[0].mod_revision;
		if (expect_rev != CERTSTORE_REV_ANY && (uint64_t)cur_rev != expect_rev) {
			etcd_range_finish(&cur);
			gpc_error_set(err, GPC_E_CONFLICT, "%s: lineage %s: the pair changed since it was read; "
							   "not written", se->url.text, name);
			goto out;
		}
		buf_reset(&sealed);
		if (key_pem == NULL) {
			if (got != 0) {
				gpc_error_set(err, GPC_E_MISSING, "%s: lineage %s: no current key to reuse",
					      se->url.text, name);
				goto out;
			}
			if (pair_parse(se, name, &cur.kvs[0], NULL, &sealed, err) != 0) {
				etcd_range_finish(&cur);
				goto out;
			}
		} else if (seal_seal(se->seal, name, key_pem, key_len, &sealed, err) != 0) {
			etcd_range_finish(&cur);
			goto out;
		}
		free(value);
		value = pair_value(cert, cert_len, &sealed);
		if (value == NULL) {
			etcd_range_finish(&cur);
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
		cmp[nc++] = (struct etcd_cmp){ .key = pkey, .target = ETCD_TARGET_MOD, .result = ETCD_CMP_EQUAL,
					       .revision = cur_rev };
		pthread_mutex_lock(&se->mu);
		nf = fences(se, cmp + nc);
		ok[nok++] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = pkey, .value = value,
					      .value_len = strlen(value) };
		if (got == 0) {
			snprintf(revs, sizeof(revs), "%020" PRId64, cur_rev);
			(void)keyf(akey, se, "archive/", name, "/", revs, NULL);
			ok[nok++] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = akey, .value = cur.kvs[0].value,
						      .value_len = cur.kvs[0].value_len };
		}
		fail[nfail++] = (struct etcd_op){ .kind = ETCD_OP_RANGE, .key = pkey };
		for (size_t i = 0; i < nf; i++)
			fail[nfail++] = (struct etcd_op){ .kind = ETCD_OP_RANGE, .key = cmp[nc + i].key };
		rc = etcd_txn(se->c, cmp, nc + nf, ok, nok, fail, nfail, &t, err);
		snap_drop(se);
		pthread_mutex_unlock(&se->mu);
		etcd_range_finish(&cur);
		if (rc != 0) {
			prefix_error(se, err);
			goto out;
		}
		rc = -1;
		if (t.succeeded) {
			etcd_txn_result_finish(&t);
			gpc_debug("%s: lineage %s written at revision %" PRId64, se->url.text, name, t.revision);
			rc = 0;
			goto out;
		}
		if (fence_lost(&t, 1, nf)) {
			etcd_txn_result_finish(&t);
			lost_lock_error(se, name, err);
			goto out;
		}
		etcd_txn_result_finish(&t);
		/* someone wrote in between: read again (and with an expected
		 * revision, that is a conflict the next round reports) */
	}
	gpc_error_set(err, GPC_E_CONFLICT, "%s: lineage %s: written by others five times in a row; not written",
		      se->url.text, name);
out:
	if (sealed.data != NULL)
		explicit_bzero(sealed.data, sealed.len);
	buf_finish(&sealed);
	free(value);
	return rc;
}

/* Before the CA is asked: a seal key, and etcd lets this user write the
 * pair (a txn whose compare never holds: etcd checks the permission of its
 * ops, nothing is written). */
static int op_check_writable(void *be, const char *name, struct gpc_error *err)
{
	struct store_etcd *se = be;
	char pkey[SE_KEY_MAX];
	struct etcd_cmp never;
	struct etcd_op put;
	struct etcd_txn_result t;
	int rc;

	if (need_seal(se, name, err) != 0)
		return -1;
	if (keyf(pkey, se, "pairs/", name, NULL) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s: name too long", se->url.text);
	never = (struct etcd_cmp){ .key = pkey, .target = ETCD_TARGET_CREATE, .result = ETCD_CMP_LESS,
				   .revision = 0 };
	put = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = pkey, .value = "", .value_len = 0 };
	pthread_mutex_lock(&se->mu);
	rc = etcd_txn(se->c, &never, 1, &put, 1, NULL, 0, &t, err);
	pthread_mutex_unlock(&se->mu);
	if (rc != 0 && code_is(err, GPC_E_PERMISSION)) {
		char msg[sizeof(err->message)];

		/* say what it means before etcd's words: this user cannot
		 * store what the CA would issue */
		snprintf(msg, sizeof(msg), "%.200s: lineage %.64s: this etcd user may not write the store (%.600s); "
			 "nothing was ordered", se->url.text, name, err->message);
		memcpy(err->message, msg, sizeof(msg));
		return -1;
	}
	if (rc != 0) {
		prefix_error(se, err);
		return -1;
	}
	etcd_txn_result_finish(&t);
	return 0;
}

static int op_archive_name(void *be, char *out, size_t outsz)
{
	struct store_etcd *se = be;

	return (size_t)snprintf(out, outsz, "%s/archive/", se->url.text) < outsz ? 0 : -1;
}

static int op_record_name(void *be, const char *key, char *out, size_t outsz)
{
	struct store_etcd *se = be;

	return (size_t)snprintf(out, outsz, "%s/records/%s", se->url.text, key ? key : "") < outsz ? 0 : -1;
}

/* Serving from the cache: no member answered the last list, and the watch
 * says when one does. Reads of records fail at once meanwhile, instead of
 * waiting for etcd's timeout on every challenge lookup. */
static int while_cached(struct store_etcd *se, const char *rel, struct gpc_error *err)
{
	if (!atomic_load(&se->from_cache))
		return 0;
	gpc_error_set(err, GPC_E_NETWORK, "%s/records/%s: etcd unreachable (serving the pairs of the cache %s "
					  "until a member answers)", se->url.text, rel, store_cache_dir(se->cache));
	return -1;
}

static int op_record_get(void *be, const char *rel, size_t max, struct buf *out, uint64_t *rev,
			 struct gpc_error *err)
{
	struct store_etcd *se = be;
	char key[SE_KEY_MAX], ad[SE_KEY_MAX];
	struct etcd_range r;
	int rc;

	if (while_cached(se, rel, err) != 0)
		return -1;
	if (keyf(key, se, "records/", rel, NULL) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s: record name too long", se->url.text);
	{
		/* the directory of the key, for its snapshot */
		char dir[SE_KEY_MAX];
		const char *slash = strrchr(key, '/');
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - key + 1), key);
		pthread_mutex_lock(&se->mu);
		rc = read_key(se, dir, key, NULL, &r, err);
		pthread_mutex_unlock(&se->mu);
	}
	if (rc != 0) {
		prefix_error(se, err);
		return -1;
	}
	if (r.n == 0) {
		etcd_range_finish(&r);
		return gpc_error_set(err, GPC_E_MISSING, "%s/records/%s: missing", se->url.text, rel);
	}
	rc = -1;
	if (seal_is_sealed(r.kvs[0].value, r.kvs[0].value_len)) {
		snprintf(ad, sizeof(ad), "record/%s", rel);
		if (need_seal(se, rel, err) == 0 &&
		    seal_open(se->seal, ad, r.kvs[0].value, r.kvs[0].value_len, out, err) == 0)
			rc = 0;
		else
			prefix_error(se, err);
	} else if (r.kvs[0].value_len > max) {
		gpc_error_set(err, GPC_E_INVALID, "%s/records/%s: larger than %zu bytes", se->url.text, rel, max);
	} else if (buf_add(out, r.kvs[0].value, r.kvs[0].value_len) != 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	} else {
		rc = 0;
	}
	if (rc == 0 && rev != NULL)
		*rev = (uint64_t)r.kvs[0].mod_revision;
	etcd_range_finish(&r);
	return rc;
}

/* Put (or delete, data NULL) a record, fenced on the locks held and, with
 * expect_rev, on its revision. */
static int record_change(struct store_etcd *se, const char *rel, const void *data, size_t len,
			 uint64_t expect_rev, struct gpc_error *err)
{
	char key[SE_KEY_MAX], ad[SE_KEY_MAX];
	struct etcd_cmp cmp[3];
	struct etcd_op op, fail[3];
	struct etcd_txn_result t;
	struct buf sealed;
	size_t nc = 0, nf, nfail = 0;
	int rc = -1;

	if (keyf(key, se, "records/", rel, NULL) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s: record name too long", se->url.text);
	buf_init(&sealed, 4 * CERTSTORE_MAX_FILE);
	if (data != NULL && (holds_private_key(data, len) || secret_record(rel))) {
		/* an account key, a tls-alpn-01 key, the alert targets, DNS secrets: sealed like pairs */
		snprintf(ad, sizeof(ad), "record/%s", rel);
		if (need_seal(se, rel, err) != 0 || seal_seal(se->seal, ad, data, len, &sealed, err) != 0)
			goto out;
		data = sealed.data;
		len = sealed.len;
	}
	if (expect_rev != CERTSTORE_REV_ANY)
		cmp[nc++] = (struct etcd_cmp){ .key = key, .target = ETCD_TARGET_MOD, .result = ETCD_CMP_EQUAL,
					       .revision = (int64_t)expect_rev };
	if (data != NULL)
		op = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = key, .value = data, .value_len = len };
	else
		op = (struct etcd_op){ .kind = ETCD_OP_DELETE, .key = key };
	pthread_mutex_lock(&se->mu);
	nf = fences(se, cmp + nc);
	if (nc > 0)
		fail[nfail++] = (struct etcd_op){ .kind = ETCD_OP_RANGE, .key = key };
	for (size_t i = 0; i < nf; i++)
		fail[nfail++] = (struct etcd_op){ .kind = ETCD_OP_RANGE, .key = cmp[nc + i].key };
	rc = etcd_txn(se->c, cmp, nc + nf, &op, 1, fail, nfail, &t, err);
	snap_drop(se);
	pthread_mutex_unlock(&se->mu);
	if (rc != 0) {
		prefix_error(se, err);
		goto out;
	}
	rc = -1;
	if (t.succeeded)
		rc = 0;
	else if (fence_lost(&t, nc, nf))
		lost_lock_error(se, rel, err);
	else
		gpc_error_set(err, GPC_E_CONFLICT, "%s/records/%s: changed since it was read; not written",
			      se->url.text, rel);
	etcd_txn_result_finish(&t);
out:
	if (sealed.data != NULL)
		explicit_bzero(sealed.data, sealed.len);
	buf_finish(&sealed);
	return rc;
}

static int op_record_put(void *be, const char *key, const void *data, size_t len, uint64_t expect_rev,
			 struct gpc_error *err)
{
	return record_change(be, key, data != NULL ? data : "", len, expect_rev, err);
}

static int op_record_del(void *be, const char *key, struct gpc_error *err)
{
	return record_change(be, key, NULL, 0, CERTSTORE_REV_ANY, err);
}

static int op_record_list(void *be, const char *prefix, char ***keys, size_t *n, struct gpc_error *err)
{
	struct store_etcd *se = be;
	char dir[SE_KEY_MAX];
	char **v = NULL;
	size_t nv = 0;

	if (keyf(dir, se, "records/", prefix, NULL) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s: record name too long", se->url.text);
	if (while_cached(se, prefix, err) != 0 || list_under(se, dir, false, &v, &nv, err) != 0)
		return -1;
	/* the keys as the front end names them: PREFIX + name */
	for (size_t i = 0; i < nv; i++) {
		char *full = malloc(strlen(prefix) + strlen(v[i]) + 1);
		if (full == NULL) {
			certstore_names_free(v, nv);
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		}
		strcpy(full, prefix);
		strcat(full, v[i]);
		free(v[i]);
		v[i] = full;
	}
	*keys = v;
	*n = nv;
	return 0;
}

/* Take the etcd lock `name` on the store's lease. A lease that etcd no
 * longer knows (expired, revoked) before the keeper noticed: a new lease,
 * once. Caller holds mu. Returns 0 or -1 (err names the store). */
static int lock_on_session(struct store_etcd *se, const char *name, int wait_secs, char **owner,
			   struct gpc_error *err)
{
	long wait_ms = wait_secs > 0 ? wait_secs * 1000L : wait_secs == 0 ? 1000L : 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (session(se, err) != 0)
			return -1;
		if (etcd_lock(se->c, name, etcd_session_lease(se->sess), wait_ms, owner, err) == 0)
			return 0;
		if (!code_is(err, GPC_E_MISSING) && strstr(err->message, "lease not found") == NULL)
			break;
		etcd_session_free(se->sess);
		se->sess = NULL;
	}
	prefix_error(se, err);
	return -1;
}

/* ---- the store lock: exclusive only (a reader's range is consistent by
 * itself: a pair is one value); one thread of this process at a time, and
 * in etcd one holder of PREFIX/locks/store at a time ---- */

static int op_lock(void *be, bool exclusive, int wait_secs, struct gpc_error *err)
{
	struct store_etcd *se = be;
	char name[SE_KEY_MAX];
	struct timespec until;
	char *owner = NULL;
	int rc;

	if (!exclusive)
		return 0;
	pthread_mutex_lock(&se->lock_mu);
	if (se->lock_held && pthread_equal(se->lock_owner, pthread_self())) {
		pthread_mutex_unlock(&se->lock_mu);
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_secs >= 0 ? wait_secs : 365L * 86400;
	while (se->lock_held) {
		if (pthread_cond_timedwait(&se->lock_cv, &se->lock_mu, &until) == ETIMEDOUT && se->lock_held) {
			pthread_mutex_unlock(&se->lock_mu);
			gpc_error_set(err, GPC_E_LOCKED, "%s: the store lock is held by another thread of this "
							 "run after %d s", se->url.text, wait_secs);
			return gpc_error_hint(err, "try again later");
		}
	}
	se->lock_held = true;
	se->lock_owner = pthread_self();
	pthread_mutex_unlock(&se->lock_mu);

	(void)keyf(name, se, "locks/store", NULL);
	pthread_mutex_lock(&se->mu);
	rc = lock_on_session(se, name, wait_secs, &owner, err);
	pthread_mutex_unlock(&se->mu);
	pthread_mutex_lock(&se->lock_mu);
	if (rc != 0) {
		se->lock_held = false;
		pthread_cond_signal(&se->lock_cv);
	} else {
		se->lock_key = owner;
	}
	pthread_mutex_unlock(&se->lock_mu);
	return rc;
}

static void op_unlock(void *be)
{
	struct store_etcd *se = be;
	struct gpc_error e;
	char *key;

	pthread_mutex_lock(&se->lock_mu);
	if (!se->lock_held || !pthread_equal(se->lock_owner, pthread_self())) {
		pthread_mutex_unlock(&se->lock_mu);
		return;
	}
	key = se->lock_key;
	se->lock_key = NULL;
	pthread_mutex_unlock(&se->lock_mu);
	if (key != NULL) {
		gpc_error_clear(&e);
		pthread_mutex_lock(&se->mu);
		if (etcd_unlock(se->c, key, &e) != 0)
			gpc_info("%s: store lock not released (it goes with its lease): %s", se->url.text, e.message);
		pthread_mutex_unlock(&se->mu);
		free(key);
	}
	pthread_mutex_lock(&se->lock_mu);
	se->lock_held = false;
	pthread_cond_signal(&se->lock_cv);
	pthread_mutex_unlock(&se->lock_mu);
}

/* ---- the issuer lock ---- */

static int op_issuer_lock(void *be, const char *what, int wait_secs, bool *waited, struct gpc_error *err)
{
	struct store_etcd *se = be;
	char name[SE_KEY_MAX], holder[SE_KEY_MAX], who[300] = "", host[256] = "";
	struct etcd_range_opts ro = { .prefix = true, .keys_only = true, .limit = 1 };
	struct etcd_range r;
	char *owner = NULL;
	int rc;

	(void)keyf(name, se, "locks/issuer", NULL);
	(void)keyf(holder, se, "holders/issuer", NULL);
	pthread_mutex_lock(&se->mu);
	if (session(se, err) != 0) {
		pthread_mutex_unlock(&se->mu);
		return -1;
	}
	/* Someone holds it? Say so (and who) before waiting. */
	{
		char pfx[SE_KEY_MAX + 2];
		snprintf(pfx, sizeof(pfx), "%s/", name);
		if (etcd_range(se->c, pfx, &ro, &r, err) != 0) {
			pthread_mutex_unlock(&se->mu);
			prefix_error(se, err);
			return -1;
		}
	}
	if (r.n > 0) {
		struct etcd_range h;
		struct gpc_error e2;

		etcd_range_finish(&r);
		gpc_error_clear(&e2);
		if (etcd_range(se->c, holder, NULL, &h, &e2) == 0 && h.n == 1)
			snprintf(who, sizeof(who), " (%.250s)", (char *)h.kvs[0].value);
		etcd_range_finish(&h);
		*waited = true;
		gpc_note("%s: another goproxy-cert run%s is issuing in %s; waiting (at most %d s)", what, who,
			 se->url.text, wait_secs);
	} else {
		etcd_range_finish(&r);
	}
	rc = lock_on_session(se, name, wait_secs, &owner, err);
	if (rc != 0) {
		pthread_mutex_unlock(&se->mu);
		if (code_is(err, GPC_E_LOCKED)) {
			gpc_error_set(err, GPC_E_LOCKED, "%s: another goproxy-cert run%s still holds the issuer "
							 "lock %s after %d s; nothing was ordered",
				      what, who, se->url.text, wait_secs);
			return gpc_error_hint(err, "it is still working (or hangs: see its output); the next run "
						   "finds its certificate, or give --lock-wait SECONDS to wait longer");
		}
		return -1;
	}
	/* who holds it, for the message of a run that waits */
	{
		struct gpc_error e2;
		char text[400];
		gethostname(host, sizeof(host) - 1);
		snprintf(text, sizeof(text), "host %s, pid %ld", host, (long)getpid());
		gpc_error_clear(&e2);
		if (etcd_put(se->c, holder, text, strlen(text), etcd_session_lease(se->sess), NULL, &e2) != 0)
			gpc_debug("%s: %s", holder, e2.message);
	}
	se->issuer_key = owner;
	pthread_mutex_unlock(&se->mu);
	return 0;
}

static void op_issuer_unlock(void *be)
{
	struct store_etcd *se = be;
	char holder[SE_KEY_MAX];
	struct gpc_error e;

	pthread_mutex_lock(&se->mu);
	if (se->issuer_key != NULL) {
		gpc_error_clear(&e);
		(void)keyf(holder, se, "holders/issuer", NULL);
		if (etcd_delete(se->c, holder, false, NULL, &e) != 0 || etcd_unlock(se->c, se->issuer_key, &e) != 0)
			gpc_info("%s: issuer lock not released (it goes with its lease in %ld s): %s",
				 se->url.text, se->ttl, e.message);
		free(se->issuer_key);
		se->issuer_key = NULL;
	}
	pthread_mutex_unlock(&se->mu);
}

/* ---- the change watch: an eventfd the watch thread writes to when a pair
 * or a challenge answer changes (or everything must be read again) ---- */

static void watch_cb(const struct etcd_watch_msg *m, void *ud)
{
	struct store_etcd *se = ud;
	char pairs[SE_KEY_MAX], chal[SE_KEY_MAX];
	uint64_t one = 1;
	bool changed = false;

	(void)keyf(pairs, se, "pairs/", NULL);
	(void)keyf(chal, se, "records/challenges/", NULL);
	switch (m->kind) {
	case ETCD_WATCH_EVENTS:
		for (size_t i = 0; i < m->n_events && !changed; i++) {
			const char *k = m->events[i].kv.key;
			changed = strncmp(k, pairs, strlen(pairs)) == 0 || strncmp(k, chal, strlen(chal)) == 0;
		}
		break;
	case ETCD_WATCH_RESYNC:
	case ETCD_WATCH_UP:
		changed = true; /* read everything again */
		break;
	case ETCD_WATCH_DOWN:
		if (atomic_load(&se->from_cache))
			gpc_debug("%s: watch: %s", se->url.text, m->err ? m->err->message : "no member answers");
		else
			gpc_warn("%s: etcd unreachable (%s); the last pairs read stay in use", se->url.text,
				 m->err ? m->err->message : "no member answers");
		break;
	case ETCD_WATCH_FAILED:
		gpc_err("%s: the watch of the store stopped: %s", se->url.text,
			m->err ? m->err->message : "refused");
		break;
	case ETCD_WATCH_PROGRESS:
		break;
	}
	/* serving from the cache: a member answers the watch, so read the
	 * store (also when the watch came up without an outage of its own) */
	if (atomic_load(&se->from_cache) && m->kind != ETCD_WATCH_DOWN && m->kind != ETCD_WATCH_FAILED)
		changed = true;
	if (changed && write(se->watch_fd, &one, sizeof(one)) != sizeof(one))
		gpc_debug("%s: watch wakeup: %s", se->url.text, strerror(errno));
}

static int op_watch_open(void *be, struct gpc_error *err)
{
	struct store_etcd *se = be;
	struct etcd_watch_opts wo = { .prefix = true };
	struct etcd_range_opts ro = { .count_only = true };
	struct etcd_range r;
	char pfx[SE_KEY_MAX];
	uint64_t one = 1;
	int rc;

	if (se->watch != NULL)
		return se->watch_fd;
	(void)keyf(pfx, se, NULL);
	se->watch_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (se->watch_fd < 0)
		return gpc_error_sys(err, errno, "eventfd", se->url.text);
	/* From the revision now: what changed before it, a reader re-reads
	 * (the descriptor starts readable); what changes after it comes. */
	pthread_mutex_lock(&se->mu);
	/* serving from the cache: no member answered a moment ago; the
	 * watch starts from the revision when one does */
	rc = atomic_load(&se->from_cache) ? -1 : etcd_range(se->c, pfx, &ro, &r, err);
	if (rc == 0) {
		wo.start_revision = r.revision + 1;
		etcd_range_finish(&r);
	} else {
		/* etcd down at start: watch from "now" once a member answers */
		if (!atomic_load(&se->from_cache))
			gpc_warn("%s: %s", se->url.text, err->message);
		gpc_error_clear(err);
	}
	rc = etcd_watch_start(se->c, pfx, &wo, watch_cb, se, &se->watch, err);
	pthread_mutex_unlock(&se->mu);
	if (rc != 0) {
		close(se->watch_fd);
		se->watch_fd = -1;
		prefix_error(se, err);
		return -1;
	}
	if (write(se->watch_fd, &one, sizeof(one)) != sizeof(one))
		gpc_debug("%s: watch wakeup: %s", se->url.text, strerror(errno));
	return se->watch_fd;
}

static unsigned op_watch_read(void *be)
{
	struct store_etcd *se = be;
	uint64_t n = 0;

	if (se->watch_fd < 0 || read(se->watch_fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n > 0 ? 1 : 0;
}

static void op_watch_close(void *be)
{
	struct store_etcd *se = be;

	etcd_watch_free(se->watch);
	se->watch = NULL;
	if (se->watch_fd >= 0)
		close(se->watch_fd);
	se->watch_fd = -1;
}

/* ---- presence: PREFIX/presence/WHO/LEASE on a lease of its own, kept by
 * a thread that puts it again on a new lease when the old one was lost
 * (etcd was unreachable for longer than the TTL) ---- */

static void *presence_main(void *arg)
{
	struct store_etcd *se = arg;
	struct etcd_client *c = NULL;
	struct etcd_session *s = NULL;
	struct gpc_error e;
	bool denied = false; /* said once: the user may not write its presence */

	gpc_error_clear(&e);
	pthread_mutex_lock(&se->mu);
	if (etcd_client_dup(se->c, &c, &e) != 0)
		c = NULL;
	pthread_mutex_unlock(&se->mu);
	while (c != NULL && !atomic_load(&se->pres_stop)) {
		struct timespec until;
		int pause = 1;

		if (s == NULL || !etcd_session_alive(s, NULL)) {
			char key[SE_KEY_MAX], lease[32];

			etcd_session_free(s);
			s = NULL;
			gpc_error_clear(&e);
			if (etcd_session_new(c, se->ttl, &s, &e) == 0) {
				snprintf(lease, sizeof(lease), "%016" PRIx64, (uint64_t)etcd_session_lease(s));
				(void)keyf(key, se, "presence/", se->pres_who, "/", lease, NULL);
				if (etcd_put(c, key, se->pres_info, strlen(se->pres_info), etcd_session_lease(s), NULL,
					     &e) != 0) {
					etcd_session_free(s);
					s = NULL;
				} else {
					gpc_debug("%s: presence of %s recorded", se->url.text, se->pres_who);
				}
			}
			if (s != NULL && denied) {
				gpc_note("%s: presence of %s recorded now", se->url.text, se->pres_who);
				denied = false;
			} else if (s == NULL && code_is(&e, GPC_E_PERMISSION)) {
				/* a role without write on the prefix: serving goes
				 * on, but the fleet does not see this node */
				if (!denied)
					gpc_warn("%s: cannot record %s's presence (its lease) in the store: %s; "
						 "'goproxy-cert issue' does not count on this %s to answer challenges "
						 "(%s); trying again every 30 s", se->url.text, se->pres_who, e.message,
						 se->pres_who, e.hint[0] ? e.hint : "give its etcd user write on the prefix");
				denied = true;
			} else if (s == NULL) {
				gpc_debug("%s: presence of %s: %s", se->url.text, se->pres_who, e.message);
			}
			if (denied)
				pause = 30;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += pause;
		pthread_mutex_lock(&se->pres_mu);
		if (!atomic_load(&se->pres_stop))
			pthread_cond_timedwait(&se->pres_cv, &se->pres_mu, &until);
		pthread_mutex_unlock(&se->pres_mu);
	}
	etcd_session_free(s); /* revokes: the presence key goes */
	etcd_client_free(c);
	return NULL;
}

static int op_presence_set(void *be, const char *who, const char *info, struct gpc_error *err)
{
	struct store_etcd *se = be;

	if (se->pres_started)
		op_presence_clear(se, se->pres_who);
	snprintf(se->pres_who, sizeof(se->pres_who), "%s", who);
	snprintf(se->pres_info, sizeof(se->pres_info), "%s", info ? info : "");
	atomic_store(&se->pres_stop, false);
	if (pthread_create(&se->pres_thread, NULL, presence_main, se) != 0)
		return gpc_error_set(err, GPC_E_INTERNAL, "%s: cannot start the presence thread", se->url.text);
	se->pres_started = true;
	return 0;
}

static void op_presence_clear(void *be, const char *who)
{
	struct store_etcd *se = be;

	if (!se->pres_started || strcmp(who, se->pres_who) != 0)
		return;
	pthread_mutex_lock(&se->pres_mu);
	atomic_store(&se->pres_stop, true);
	pthread_cond_signal(&se->pres_cv);
	pthread_mutex_unlock(&se->pres_mu);
	pthread_join(se->pres_thread, NULL);
	se->pres_started = false;
}

static int op_presence_get(void *be, const char *who, struct buf *info)
{
	struct store_etcd *se = be;
	struct etcd_range_opts ro = { .prefix = true, .limit = 1 };
	struct etcd_range r;
	struct gpc_error e;
	char pfx[SE_KEY_MAX];
	int present = 0;

	(void)keyf(pfx, se, "presence/", who, "/", NULL);
	gpc_error_clear(&e);
	pthread_mutex_lock(&se->mu);
	if (etcd_range(se->c, pfx, &ro, &r, &e) == 0) {
		if (r.n > 0) {
			present = 1;
			if (buf_add(info, r.kvs[0].value, r.kvs[0].value_len) != 0)
				gpc_debug("presence of %s: out of memory", who);
		}
		etcd_range_finish(&r);
	} else {
		gpc_debug("%s: presence of %s: %s", se->url.text, who, e.message);
	}
	pthread_mutex_unlock(&se->mu);
	return present;
}

static const struct certstore_ops etcd_ops = {
	.kind = "etcd",
	.free = op_free,
	.describe = op_describe,
	.list = op_list,
	.pair_names = op_pair_names,
	.read_pair = op_read_pair,
	.read_pair_nowait = op_read_pair_nowait,
	.read_cert = op_read_cert,
	.read_files = NULL, /* a pair is one entry: no files, modes or half-written pairs */
	.write_pair = op_write_pair,
	.check_writable = op_check_writable,
	.record_name = op_record_name,
	.record_get = op_record_get,
	.record_put = op_record_put,
	.record_del = op_record_del,
	.record_list = op_record_list,
	.prepare = NULL,
	.lock = op_lock,
	.unlock = op_unlock,
	.issuer_lock = op_issuer_lock,
	.issuer_unlock = op_issuer_unlock,
	.watch_open = op_watch_open,
	.watch_read = op_watch_read,
	.watch_close = op_watch_close,
	.presence_set = op_presence_set,
	.presence_clear = op_presence_clear,
	.presence_get = op_presence_get,
	.finish_interrupted = NULL,
	.shared = true,
	.archive_name = op_archive_name,
};

static int etcd_open(const struct store_options *o, struct certstore **out, struct gpc_error *err)
{
	struct store_etcd *se;
	const char *eps[STOREURL_MAX_MEMBERS];
	struct etcd_options eo = { 0 };

	*out = NULL;
	se = calloc(1, sizeof(*se));
	if (se == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	pthread_mutex_init(&se->mu, NULL);
	pthread_mutex_init(&se->lock_mu, NULL);
	pthread_cond_init(&se->lock_cv, NULL);
	pthread_mutex_init(&se->pres_mu, NULL);
	pthread_cond_init(&se->pres_cv, NULL);
	atomic_init(&se->pres_stop, false);
	atomic_init(&se->from_cache, false);
	se->watch_fd = -1;
	se->ttl = o->lease_ttl > 0 ? o->lease_ttl : SE_DEFAULT_TTL;
	if (store_url_parse(o->url, &se->url, err) != 0)
		goto fail;
	if (se->url.tls && o->cacert == NULL && o->cert == NULL)
		gpc_debug("%s: no --store-cacert: the members' certificates are checked against the system store",
			  se->url.text);
	if (!se->url.tls && (o->cacert != NULL || o->cert != NULL || o->key != NULL)) {
		gpc_error_set(err, GPC_E_USAGE, "--store %s: TLS files given for a store over http", se->url.text);
		gpc_error_hint(err, "use etcd+https://... to talk TLS to the members, or drop --store-cacert, "
				    "--store-cert and --store-key");
		goto fail;
	}
	for (size_t i = 0; i < se->url.n_members; i++)
		eps[i] = se->url.members[i];
	eo.endpoints = eps;
	eo.n_endpoints = se->url.n_members;
	eo.cacert = o->cacert;
	eo.cert = o->cert;
	eo.key = o->key;
	eo.user = o->user != NULL && o->user[0] != '\0' ? o->user : NULL;
	eo.password = o->password;
	eo.timeout_ms = o->timeout_ms;
	if (etcd_client_new(&eo, &se->c, err) != 0)
		goto fail;
	if (o->seal_file != NULL && o->seal_file[0] != '\0') {
		snprintf(se->seal_file, sizeof(se->seal_file), "%s", o->seal_file);
		if (seal_key_load(o->seal_file, &se->seal, err) != 0)
			goto fail;
	}
	if (o->cache_dir != NULL && store_cache_open(o->cache_dir, &se->cache, err) != 0)
		goto fail;
	return certstore_from_backend(&etcd_ops, se, out, err);
fail:
	op_free(se);
	return -1;
}

static const char *const etcd_schemes[] = { "etcd://", "etcd+http://", "etcd+https://", NULL };
const struct certstore_backend store_etcd_backend = {
	.kind = "etcd",
	.schemes = etcd_schemes,
	.open = etcd_open,
};

int store_open(const struct store_options *o, struct certstore **out, struct gpc_error *err)
{
	*out = NULL;
	if (certstore_add_backend(&store_etcd_backend) != 0)
		return gpc_error_set(err, GPC_E_INTERNAL, "the store backend table is full");
	return certstore_open_url(o, out, err);
}

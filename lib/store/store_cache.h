/* store_cache: a local copy of the pairs last read from a shared store
 * (etcd), so that goproxyd can start and serve while no member answers.
 *
 * The cache holds the store's values byte for byte: for etcd each pair is
 * {"v":1,"cert":PEM,"key":BASE64} with the private key still SEALED
 * (lib/seal.c, the lineage name as associated data). Without the seal key a
 * copy of the cache gives no usable key, as a copy of etcd does not. This
 * module only stores and returns the values: parsing, unsealing and the
 * key-matches-certificate check are the backend's (store_etcd.c).
 *
 * Layout of DIR (0700, owned by the user running the program):
 *   DIR/NAME.pair      the store's value of lineage NAME (0600)
 *   DIR/index.json     {"v":1,"store":URL,"prefix":PREFIX,"revision":"N",
 *                       "read_at":RFC3339,"pairs":[NAME,...]} (0600): which
 *                      pairs make up the copy, from which store, read when
 * Every file is written atomically (temp + fsync + rename + fsync of DIR);
 * a save writes the changed pairs first, then the index, then removes the
 * pairs the store no longer has, so a crash at any point leaves an index
 * whose pairs are all present (possibly newer than the index says).
 * Nothing here logs or prints: errors are values. */
#ifndef GPC_STORE_CACHE_H
#define GPC_STORE_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

#define STORE_CACHE_INDEX "index.json"
#define STORE_CACHE_EXT ".pair"

struct store_cache;

/* One pair of the copy. */
struct store_cache_entry {
	char name[80];        /* the lineage */
	unsigned char *value; /* the store's value (NUL-terminated, not counted), or NULL */
	size_t len;
	char why[400];        /* load: when value is NULL, why the file could not be read */
};

/* What a load returns. */
struct store_cache_set {
	struct store_cache_entry *e; /* in the index's order (sorted by name) */
	size_t n;
	char store[1024];  /* the store's URL as recorded */
	char prefix[256];  /* the store's key prefix as recorded */
	int64_t revision;  /* the store revision the pairs were read at */
	time_t read_at;    /* when they were read */
};

/* Open (and create, mode 0700, with its parents) the cache directory `dir`:
 * it must be a directory owned by this user (any, for root: goproxyd gives
 * it to its --user before it drops privileges); a looser mode is set back to
 * 0700; temp files of killed writers are removed. Returns 0 and *out (free
 * with store_cache_free), or -1 with err naming the directory (GPC_E_USAGE
 * when it is not a directory or owned by someone else, the system error
 * otherwise) and a hint. */
int store_cache_open(const char *dir, struct store_cache **out, struct gpc_error *err)
	__attribute__((warn_unused_result));
void store_cache_free(struct store_cache *c);

/* The directory, as given. Owned by c. */
const char *store_cache_dir(const struct store_cache *c);

/* Make the copy hold exactly entries e[0..n) (the names valid lineage
 * names, each once), read from `store` (URL, for messages) under `prefix`
 * at `revision`, now. Only pairs whose file differs are written. Returns 0,
 * or -1 with err naming the file (the copy on disk then is the previous one,
 * or the previous index with some newer pairs). */
int store_cache_save(struct store_cache *c, const char *store, const char *prefix, int64_t revision,
		     const struct store_cache_entry *e, size_t n, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Read the copy: the index, then every pair it lists (a pair file that is
 * missing, too large or unreadable is an entry with value NULL and `why`
 * set; the caller decides). Returns 0 and *out (store_cache_set_finish
 * frees), or -1: GPC_E_MISSING when there is no index (never saved, or
 * emptied), GPC_E_INVALID when the index is not one this module wrote, the
 * system error when it cannot be read; err names the file. */
int store_cache_load(struct store_cache *c, struct store_cache_set *out, struct gpc_error *err)
	__attribute__((warn_unused_result));
void store_cache_set_finish(struct store_cache_set *s);

#endif

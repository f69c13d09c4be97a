/* certstore_backend: the table a store backend fills in (the certs
 * directory in store_dir.c; etcd beside it). Private to lib/ and to tests
 * that prove the interface with a backend of their own. Every function gets
 * the backend's own object `be`; the front end (certstore.c) checks names
 * and arguments before it calls, so a backend sees only valid lineage names
 * and record keys ("lineages/www.json", "ledger.json", "accounts/X/key.pem",
 * "challenges/http-01/TOKEN": relative, no "..", no leading '/' or '.').
 * Revisions: 0 = absent; CERTSTORE_REV_ANY = do not compare. Errors are
 * struct gpc_error values; GPC_E_MISSING for an absent entry,
 * GPC_E_CONFLICT when an expected revision is not the current one. */
#ifndef GPC_CERTSTORE_BACKEND_H
#define GPC_CERTSTORE_BACKEND_H

#include "certstore.h"

struct certstore_ops {
	const char *kind;                            /* "dir", "etcd", ... */
	void (*free)(void *be);
	const char *(*describe)(void *be);           /* for messages: the directory or URL */

	/* pairs */
	int (*list)(void *be, char ***names, size_t *n, struct gpc_error *err);
	int (*pair_names)(void *be, const char *name, char *cert, size_t certsz, char *key, size_t keysz);
	int (*read_pair)(void *be, const char *name, struct buf *cert, struct buf *key, uint64_t *rev,
			 struct gpc_error *err);
	/* without waiting for the store lock (a reader that must not stall
	 * behind a writer); may be NULL (read_pair is used) */
	int (*read_pair_nowait)(void *be, const char *name, struct buf *cert, struct buf *key,
				struct gpc_error *err);
	/* the certificate alone, without opening the key (certstore_read_cert);
	 * may be NULL (read_pair is used and the key wiped) */
	int (*read_cert)(void *be, const char *name, struct buf *cert, uint64_t *rev, struct gpc_error *err);
	/* the certificate and the key file by file, with the files' details
	 * (modes, dangling links, an interrupted write): certstore_read_files;
	 * may be NULL (a store without files: certstore_read_files returns 0) */
	int (*read_files)(void *be, const char *name, struct buf *cert, struct buf *key,
			  struct certstore_files *f);
	int (*write_pair)(void *be, const char *name, const char *cert, size_t cert_len, const char *key,
			  size_t key_len, uint64_t expect_rev, struct gpc_error *err);
	int (*check_writable)(void *be, const char *name, struct gpc_error *err);

	/* named records */
	int (*record_name)(void *be, const char *key, char *out, size_t outsz);
	int (*record_get)(void *be, const char *key, size_t max, struct buf *out, uint64_t *rev,
			  struct gpc_error *err);
	int (*record_put)(void *be, const char *key, const void *data, size_t len, uint64_t expect_rev,
			  struct gpc_error *err);
	int (*record_del)(void *be, const char *key, struct gpc_error *err);
	int (*record_list)(void *be, const char *prefix, char ***keys, size_t *n, struct gpc_error *err);
	int (*prepare)(void *be, const char *prefix, struct gpc_error *err); /* may be NULL */

	/* locks */
	int (*lock)(void *be, bool exclusive, int wait_secs, struct gpc_error *err);
	void (*unlock)(void *be);
	/* the longest any lock wait inside the backend may be (its own waits
	 * for the store lock included), -1: no bound; may be NULL */
	void (*set_lock_wait)(void *be, int secs);
	int (*issuer_lock)(void *be, const char *what, int wait_secs, bool *waited, struct gpc_error *err);
	void (*issuer_unlock)(void *be);

	/* change watch: a descriptor that becomes readable on a change */
	int (*watch_open)(void *be, struct gpc_error *err);
	unsigned (*watch_read)(void *be);
	void (*watch_close)(void *be);

	/* presence of a running program (goproxyd and what it answers) */
	int (*presence_set)(void *be, const char *who, const char *info, struct gpc_error *err);
	void (*presence_clear)(void *be, const char *who);
	int (*presence_get)(void *be, const char *who, struct buf *info);

	int (*finish_interrupted)(void *be);         /* may be NULL */
	/* may the effective user trust what the store holds (its local
	 * directories: owner, mode, no links)? may be NULL (always) */
	int (*check_trust)(void *be, struct gpc_error *err);
	/* shared by hosts (etcd) rather than a directory of this one */
	bool shared;
	/* 1 when the store will not survive a reboot (certstore_ephemeral);
	 * may be NULL (never) */
	int (*ephemeral)(void *be, struct gpc_error *why);
	/* 1 when the store itself is not writable by the effective user
	 * (certstore_unwritable); may be NULL (never said) */
	int (*unwritable)(void *be, struct gpc_error *why);
	/* where previous pairs are kept, for messages (certstore_archive_describe) */
	int (*archive_name)(void *be, char *out, size_t outsz);
};

/* A row of the backend table (certstore.c): a store URL beginning with one
 * of `schemes` ("etcd://", ...) is opened by `open`. */
struct certstore_backend {
	const char *kind;
	const char *const *schemes;  /* NULL-terminated */
	int (*open)(const struct store_options *o, struct certstore **out, struct gpc_error *err);
};

/* Add a backend to the table (once; later calls with the same row do
 * nothing). Programs add the backends they link before opening stores, from
 * one thread. Returns 0, or -1 when the table is full. */
int certstore_add_backend(const struct certstore_backend *b);

/* Wrap a backend in a struct certstore (takes `be`; ops->free frees it
 * with the store). Returns 0 and *out, or -1 (ENOMEM; `be` freed). */
int certstore_from_backend(const struct certstore_ops *ops, void *be, struct certstore **out,
			   struct gpc_error *err) __attribute__((warn_unused_result));

/* The directory backend (store_dir.c): the table's first row, for a store
 * without a URL (certstore_open, certstore_open_url). */
extern const struct certstore_backend store_dir_backend;

#endif

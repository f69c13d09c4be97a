/* certstore: the certificate store (see man/goproxy-cert.5 and DESIGN.md):
 * a front end over a backend table (certstore_backend.h); the certs
 * directory (store_dir.c) is one backend. Callers never build a path under
 * the store: pairs, named records, locks, the change watch and presence go
 * through these functions, and the names for messages come from here.
 *
 * The directory backend: 
 *
 *   DIR/cert.crt + DIR/priv.key          lineage "default" (Go-Proxy/GoDoxy layout)
 *   DIR/NAME/cert.crt + DIR/NAME/priv.key lineage NAME
 *   DIR/.state/                          0700, the tool's own records
 *
 * Written by this tool, the two files of a lineage are relative links
 * (cert.crt -> ..data/cert.crt, priv.key -> ..data/priv.key) and ..data
 * links to one generation directory ("..2026_12_01T09_00_00.123456789",
 * 0755, key 0600 in it), so one rename of ..data swaps both. Plain files
 * (written by hand or by another program) are read the same way and
 * converted by the next write; see "The generation layout" in certstore.c.
 *
 * Everything the filesystem decides (paths, rename, flock) stays behind this
 * API so that another backend (etcd) can sit beside the directory one. */
#ifndef GPC_CERTSTORE_H
#define GPC_CERTSTORE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"

#define CERTSTORE_DEFAULT "default"
#define CERTSTORE_CERT_FILE "cert.crt"
#define CERTSTORE_KEY_FILE "priv.key"
#define CERTSTORE_STATE_DIR ".state"
#define CERTSTORE_MAX_FILE (1024 * 1024) /* no cert/key file is larger */

/* Revisions of pairs and records: 0 = absent; any other value changes with
 * every write. CERTSTORE_REV_ANY as an expected revision: do not compare. */
#define CERTSTORE_REV_ANY UINT64_MAX

struct certstore;

/* Resolve the directory: `dir` if non-NULL and non-empty, else
 * $GOPROXY_CERTS_DIR if set and non-empty, else "certs" (./certs, spelled
 * without "./" so messages read "certs/priv.key"). Does not touch the
 * filesystem. Returns `dir`, the environment string or a static string. */
const char *certstore_default_dir(const char *dir);

/* What names a store: a URL, whose scheme chooses the backend from the
 * table in certstore.c, else a certs directory. */
struct store_options {
	const char *url;       /* etcd://... or etcd+https://...; NULL or "": the directory */
	const char *dir;       /* the certs directory when there is no URL (certstore_default_dir) */
	const char *cacert;    /* --store-cacert */
	const char *cert;      /* --store-cert */
	const char *key;       /* --store-key */
	const char *user;      /* GOPROXY_CERT_STORE_USER */
	const char *password;  /* GOPROXY_CERT_STORE_PASSWORD(_FILE) */
	const char *seal_file; /* --store-seal: needed to read or write private keys */
	long timeout_ms;       /* per etcd request; 0: the client's default */
	long lease_ttl;        /* lock and presence leases; 0: 15 s */
	const char *cache_dir; /* goproxyd's --store-cache: a local copy of the pairs
	                        * (store_cache.h), saved after every full read of
	                        * PREFIX/pairs/ and listed from when no member answers
	                        * before the store was read once; NULL: none */
};

/* Open the store `o` names: the backend whose scheme begins o->url, else
 * (no URL) the directory certstore_default_dir(o->dir). Returns 0 and *out
 * (free with certstore_free), or -1 with err (GPC_E_USAGE for a URL no
 * backend of this program takes). */
int certstore_open_url(const struct store_options *o, struct certstore **out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Where the store keeps the pairs a write replaced, named for a message
 * (DIR/.state/archive/ in a directory, the store URL with archive/ in
 * etcd). Writes into `out` (always terminated) and returns `out`. */
const char *certstore_archive_describe(const struct certstore *cs, char *out, size_t outsz);

/* A store shared by hosts (etcd), rather than a directory of this one. */
bool certstore_shared(const struct certstore *cs);

/* Is the store somewhere that will not survive a reboot or a new container
 * (a directory on tmpfs, in a container's writable layer)? Returns 1 and
 * `why` (the place, the cause and the fix), else 0. */
int certstore_ephemeral(const struct certstore *cs, struct gpc_error *why);

/* Could writers (issue, renew) run as this user not write the store itself
 * (a certs directory's owner and mode)? Returns 1 and `why` (the place, the
 * uid, owner and mode, and the fix), else 0 (writable, or a backend that
 * cannot tell, such as etcd). */
int certstore_unwritable(const struct certstore *cs, struct gpc_error *why);

/* Open a certs directory for reading (and, later, writing). Fails with a
 * clear error if it does not exist, is not a directory, or is not readable
 * and searchable. Returns 0 and *out (free with certstore_free) or -1. */
int certstore_open(const char *dir, struct certstore **out, struct gpc_error *err)
	__attribute__((warn_unused_result));
void certstore_free(struct certstore *cs);

/* What the store is, for messages: the directory path as given, or the URL. */
const char *certstore_dir(const struct certstore *cs);

/* The backend's kind: "dir", "etcd", ... */
const char *certstore_kind(const struct certstore *cs);

/* True if `name` is a valid lineage name: "default", or one path component
 * of [A-Za-z0-9._-], not starting with '.', at most 64 bytes. */
bool certstore_valid_name(const char *name);

/* List the lineages present on disk: "default" first if DIR/cert.crt or
 * DIR/priv.key exists, then every subdirectory (not starting with '.')
 * holding cert.crt or priv.key, sorted by name. *names is a malloc'd array of
 * malloc'd strings; free with certstore_names_free. Returns 0 or -1. */
int certstore_list(struct certstore *cs, char ***names, size_t *n, struct gpc_error *err)
	__attribute__((warn_unused_result));
void certstore_names_free(char **names, size_t n);

/* Names of a lineage's cert and key for messages (and hooks) into caller
 * buffers (each PATH_MAX): in a directory their paths (for "default":
 * DIR/cert.crt and DIR/priv.key). Returns 0 or -1 (bad name). */
int certstore_paths(const struct certstore *cs, const char *name, char *cert, size_t certsz,
		    char *key, size_t keysz);

/* The name of record REL for messages (in a directory: DIR/.state/REL).
 * Creates nothing. Returns 0 or -1. */
int certstore_state_path(const struct certstore *cs, const char *rel, char *out, size_t outsz);

/* Record KEY named for a message, as the store shows it: DIR/.state/KEY in
 * a directory, the store URL with records/KEY in etcd (never ".state"
 * pasted onto a URL). Writes into `out` (always terminated; the bare key
 * when the backend cannot name it) and returns `out`. */
const char *certstore_describe(const struct certstore *cs, const char *key, char *out, size_t outsz);

/* Make the store ready for records under SUBDIR (NULL: the state itself):
 * in a directory, create DIR/.state (0700) and DIR/.state/SUBDIR (0700) if
 * missing, fixing a wrong mode on .state. SUBDIR may be nested
 * ("challenges/http-01"). Returns 0 or -1 (e.g. the certs dir is not
 * writable: names uid/owner/mode). */
int certstore_state_mkdir(struct certstore *cs, const char *subdir, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Take the store lock: flock(2) on DIR/.state/lock. `exclusive` for writers,
 * shared for readers that need a pair to be consistent. `wait_secs` < 0:
 * wait forever; 0: try once; > 0: give up after that many seconds
 * (GPC_E_LOCKED, naming the lock file). An exclusive lock creates .state
 * (0700) and the lock file (0600). A shared lock never creates anything: when
 * the lock file is absent (never written by this tool) or cannot be opened
 * (read-only dir, EACCES) it succeeds without locking. Taking the lock that
 * is already held is a no-op; taking the other kind converts it.
 * Threads sharing one struct certstore take turns: the lock belongs to the
 * thread that took it (another thread waits, as for another process), and
 * only that thread releases it.
 * Returns 0 or -1. Release with certstore_unlock (also done by free). */
int certstore_lock(struct certstore *cs, bool exclusive, int wait_secs, struct gpc_error *err)
	__attribute__((warn_unused_result));
void certstore_unlock(struct certstore *cs);

/* Bound every wait for a lock of this store to `secs` (issue/renew
 * --lock-wait): the store lock's own waits (60 s for a write, 10 s for a
 * read) become at most that long; < 0 removes the bound. */
void certstore_set_lock_wait(struct certstore *cs, int secs);

/* Before anything is read or written: may the effective user trust the
 * store's local directories? A certs directory (and its .state) must be
 * owned by the effective user or root and not writable by group or others,
 * and .state must be no symbolic link (goproxy-cert(5)). Every lock, record
 * and write checks it too; this says it first, once. Returns 0, or -1 with
 * err (code FS_E_UNTRUSTED: path, owner, mode and the fix). */
int certstore_check_trust(struct certstore *cs, struct gpc_error *err) __attribute__((warn_unused_result));

/* Read a lineage's cert and key files (each at most CERTSTORE_MAX_FILE) into
 * the buffers (appended), taking a shared lock around both reads when
 * possible so the two belong together; when the caller already holds a lock
 * it is used as is. The two reads come from one generation: when ..data
 * changed between them, they are done again. Returns 0 or -1 (err names the
 * file). */
int certstore_read_pair(struct certstore *cs, const char *name, struct buf *cert,
			struct buf *key, struct gpc_error *err) __attribute__((warn_unused_result));

/* Replace a lineage's pair. Caller holds the exclusive lock. Creates DIR/NAME
 * (0755) if needed. Both new files are written and fsynced in a new
 * generation directory first; the current pair (if any) is copied to
 * DIR/.state/archive/NAME/<UTC time>-<n>.{crt,key} (key 0600); plain files
 * are converted to the link layout (never changing what they read); then one
 * rename of ..data swaps key and certificate together, the directory is
 * fsynced and the old generation removed. At no instant do cert.crt and
 * priv.key, read as plain files, resolve to a mismatched pair, whatever is
 * killed when. On failure before the swap what the paths read is unchanged
 * and no staged generation is left. key_pem may be NULL to keep the current
 * key (--reuse-key; -1 with GPC_E_MISSING when there is none).
 * Returns 0 or -1. */
int certstore_write_pair(struct certstore *cs, const char *name, const char *cert_pem,
			 size_t cert_len, const char *key_pem, size_t key_len, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Named records (REL like "lineages/www.json"; in a directory a file under
 * DIR/.state, written atomically, mode 0600, parent dirs 0700). read: a
 * missing record is -1 with err->code == GPC_E_MISSING. Returns 0 or -1.
 * These are certstore_record_get/put/del without revisions. In a shared
 * store (etcd) a record holding a private key, and the alert targets
 * (notify.json), are sealed with the seal key like the pairs' keys (the
 * seal key is then needed to write and read them); a plain one is still
 * read. */
int certstore_state_read(struct certstore *cs, const char *rel, size_t max, struct buf *out,
			 struct gpc_error *err) __attribute__((warn_unused_result));
int certstore_state_write(struct certstore *cs, const char *rel, const void *data, size_t len,
			  struct gpc_error *err) __attribute__((warn_unused_result));
int certstore_state_remove(struct certstore *cs, const char *rel, struct gpc_error *err);

/* Upgrades: if an older goproxy-cert (before the generation layout) was
 * killed in the middle of its two-rename write (a record in .state/txn),
 * finish or undo that write now, so that readers that do not use this
 * library (GoDoxy) see a matching pair too. Writes of this version leave no
 * such record (nothing to finish: the pair is whole at every instant), so
 * this is a no-op for them. Only when the store is writable and no writer
 * holds it; never waits. Returns 1 when it ran the recovery, 0 otherwise.
 * Used by check and status before reading. */
int certstore_finish_interrupted(struct certstore *cs);

/* As certstore_read_pair, without taking the store lock (goproxyd's reload
 * while a writer holds it): the pair is still read from one generation. */
int certstore_read_pair_nowait(struct certstore *cs, const char *name, struct buf *cert, struct buf *key,
			       struct gpc_error *err) __attribute__((warn_unused_result));

/* As certstore_read_pair, and *rev (may be NULL) = the pair's revision. */
int certstore_read_pair_rev(struct certstore *cs, const char *name, struct buf *cert, struct buf *key,
			    uint64_t *rev, struct gpc_error *err) __attribute__((warn_unused_result));

/* Only the certificate (PEM chain) of a lineage's pair, appended to cert,
 * and *rev (may be NULL) = the pair's revision: for a reader that does not
 * hold the seal key (check/status --store without --store-seal: a
 * certificate is public and never sealed, its key is). The key is never
 * opened (etcd: the sealed key stays sealed, no seal key is needed); a
 * backend without its own way (the directory) reads the pair and wipes the
 * key, so there an unreadable key fails the call. Returns 0 or -1
 * (GPC_E_MISSING when there is no pair; err names the entry). */
int certstore_read_cert(struct certstore *cs, const char *name, struct buf *cert, uint64_t *rev,
			struct gpc_error *err) __attribute__((warn_unused_result));

/* A lineage's certificate and key read file by file, with what a certs
 * directory knows about its files (certstore_read_files). */
struct certstore_files {
	struct gpc_error cert_err, key_err; /* why that file was not read (code NULL: it was);
	                                     * a dangling link's hint names its target */
	bool cert_absent, key_absent;       /* nothing at all at its name, not even a link
	                                     * (set only when that read failed with ENOENT) */
	int cert_mode, key_mode;            /* permission bits (through links), -1 unknown */
	bool interrupted;                   /* a write of this pair was interrupted and is
	                                     * recorded at `interrupted_at` (.state/txn/NAME) */
	char interrupted_at[PATH_MAX];
};

/* Read a lineage's certificate into cert and its key into key (appended),
 * each on its own: one unreadable file does not hide the other, and *f says
 * why each failed, the files' modes and a pending interrupted write. An
 * optional backend operation: a certs directory offers it; a shared store,
 * whose pair is one entry, does not (read it with certstore_read_pair).
 * Takes no lock (hold a shared one around a run of reads); both files come
 * from one generation as in certstore_read_pair. Returns 1 with *f filled, 0
 * when the backend has no files, -1 for an invalid name (f->cert_err). */
int certstore_read_files(struct certstore *cs, const char *name, struct buf *cert, struct buf *key,
			 struct certstore_files *f);

/* As certstore_write_pair, only if the pair's revision is still
 * `expect_rev` (0: there is no pair yet; CERTSTORE_REV_ANY: any), else -1
 * with GPC_E_CONFLICT and nothing written. Caller holds the exclusive lock. */
int certstore_write_pair_if(struct certstore *cs, const char *name, const char *cert_pem,
			    size_t cert_len, const char *key_pem, size_t key_len, uint64_t expect_rev,
			    struct gpc_error *err) __attribute__((warn_unused_result));

/* Before any network access: can this store take a new pair for `name`?
 * err names the path/entry, uid, owner and mode. Returns 0 or -1. */
int certstore_check_writable(struct certstore *cs, const char *name, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Named records with revisions. get: appends to out, *rev (may be NULL).
 * put: only if the record's revision is `expect_rev` (0: must not exist;
 * CERTSTORE_REV_ANY: any), else GPC_E_CONFLICT; a compare takes the
 * exclusive store lock for the check-and-write unless the caller holds it.
 * list: the keys of the records directly under `prefix` (ending in '/'),
 * sorted; free with certstore_names_free. Return 0 or -1. */
int certstore_record_get(struct certstore *cs, const char *key, size_t max, struct buf *out, uint64_t *rev,
			 struct gpc_error *err) __attribute__((warn_unused_result));
int certstore_record_put(struct certstore *cs, const char *key, const void *data, size_t len,
			 uint64_t expect_rev, struct gpc_error *err) __attribute__((warn_unused_result));
int certstore_record_del(struct certstore *cs, const char *key, struct gpc_error *err);
int certstore_record_list(struct certstore *cs, const char *prefix, char ***keys, size_t *n,
			  struct gpc_error *err) __attribute__((warn_unused_result));

/* The issuer lock: one run at a time decides-and-orders on this store (in
 * a directory: flock on DIR/.state/issue.lock, the holder's pid in it).
 * `what` names the lineage for the message of a run that has to wait (it
 * logs that it waits, and *waited becomes true). wait_secs < 0: forever;
 * else give up after that long: -1 with GPC_E_LOCKED naming the lock and
 * the holder. Not shared between threads: the caller counts its users.
 * Returns 0 or -1. */
int certstore_issuer_lock(struct certstore *cs, const char *what, int wait_secs, bool *waited,
			  struct gpc_error *err) __attribute__((warn_unused_result));
void certstore_issuer_unlock(struct certstore *cs);

/* The change watch: a descriptor (for poll/libev) that becomes readable
 * when a pair or a challenge answer may have changed; certstore_watch_read
 * drains it (and follows new lineages) and returns nonzero if anything
 * changed. open returns the descriptor or -1 (err: no watch; poll instead). */
int certstore_watch_open(struct certstore *cs, struct gpc_error *err);
unsigned certstore_watch_read(struct certstore *cs);
void certstore_watch_close(struct certstore *cs);

/* Presence of a running program (`who`, e.g. "goproxyd") with a line of
 * information ("answers: http-01 tls-alpn-01"): set by the program, cleared
 * when it stops (or when it dies: a dead holder does not count). get:
 * returns 1 (present; its information appended to info) or 0. */
int certstore_presence_set(struct certstore *cs, const char *who, const char *info, struct gpc_error *err)
	__attribute__((warn_unused_result));
void certstore_presence_clear(struct certstore *cs, const char *who);
int certstore_presence_get(struct certstore *cs, const char *who, struct buf *info);

#endif

/* etcd: a small client of etcd's v3 JSON gateway (POST /v3/...) over
 * libcurl + json-c. No C etcd v3 client is packaged or maintained; the
 * gateway speaks JSON with keys and values in base64 and int64 fields as
 * strings, and leaves zero values out (a missing key has no "kvs", a failed
 * txn no "succeeded", a PUT event no "type").
 *
 * Members: every endpoint listed is tried in turn; the client remembers the
 * last one that answered and starts there. A read (range, keepalive, auth)
 * moves on to the next member on any network failure or 503; a write (put,
 * delete, txn, lease grant, lock) moves on only when it was never sent
 * (connection refused, DNS, TLS handshake): a write that timed out or got a
 * 503 may or may not have been applied, and the error says so ("outcome
 * unknown": re-read before deciding).
 *
 * Auth: with a user, the client authenticates (/v3/auth/authenticate) on
 * first use, sends the token in "Authorization", and authenticates again on a
 * 401. Neither the password nor the token is ever logged or put in an error.
 *
 * Errors (struct gpc_error) name the member, the operation, the key and
 * etcd's own message:
 *   GPC_E_NETWORK     no member answered, no quorum, timed out (the CLI maps
 *                     it to exit 75: try later)
 *   GPC_E_PERMISSION  permission denied, authentication failed, no user given
 *                     while etcd requires one
 *   GPC_E_TLS         TLS handshake or certificate failure (a member refusing
 *                     a missing client certificate looks like this too)
 *   GPC_E_MISSING     lease not found
 *   GPC_E_USAGE       bad endpoint URL, unreadable CA/cert/key file
 *   GPC_E_INVALID     a malformed answer, or etcd refused the request (400)
 *
 * Thread safety: one struct etcd_client per thread. etcd_client_dup makes a
 * sibling with the same settings for another thread (the lease keeper and the
 * watch do that themselves). */
#ifndef GPC_ETCD_H
#define GPC_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define ETCD_MAX_ENDPOINTS 16

struct etcd_options {
	const char *const *endpoints; /* "http://HOST:PORT" or "https://HOST:PORT" */
	size_t n_endpoints;           /* 1..ETCD_MAX_ENDPOINTS */
	const char *cacert;           /* PEM CA for https members; NULL: system store */
	const char *cert, *key;       /* client certificate and key (PEM), or NULL */
	const char *user, *password;  /* etcd user, or NULL for no auth */
	long connect_timeout_ms;      /* per member; 0: 3 s */
	long timeout_ms;              /* per request and member; 0: 10 s (etcd's own
	                               * request timeout is 7 s) */
};

struct etcd_client;

/* Check and copy the options (strings are copied), make a client. No request
 * is sent. Returns 0 and *out (free with etcd_client_free), or -1 with err
 * (GPC_E_USAGE naming the bad endpoint or file). */
int etcd_client_new(const struct etcd_options *opt, struct etcd_client **out,
		    struct gpc_error *err) __attribute__((warn_unused_result));

/* A new client with c's settings and current member (and token), for use in
 * another thread. Returns 0 and *out (free with etcd_client_free), or -1. */
int etcd_client_dup(const struct etcd_client *c, struct etcd_client **out,
		    struct gpc_error *err) __attribute__((warn_unused_result));
void etcd_client_free(struct etcd_client *c);

/* The member the next request goes to first ("127.0.0.1:2379" form, for
 * messages). Owned by c; valid until the next request. */
const char *etcd_client_endpoint(const struct etcd_client *c);

struct etcd_stats {
	unsigned long requests;  /* HTTP requests sent, including failed ones and auth */
	unsigned long failovers; /* times a request moved on to another member */
	unsigned long auths;     /* authenticate calls */
};
void etcd_client_stats(const struct etcd_client *c, struct etcd_stats *out);

/* One key-value as etcd stores it. key and value are NUL-terminated for
 * convenience (the terminator is not counted in value_len). */
struct etcd_kv {
	char *key;
	unsigned char *value;
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
};

/* The answer to a range. */
struct etcd_range {
	struct etcd_kv *kvs;
	size_t n;
	int64_t count;    /* keys in the range (may exceed n with a limit) */
	bool more;        /* more keys past the limit */
	int64_t revision; /* the store revision the answer was read at */
};

/* Free what a range answer holds and zero it. */
void etcd_range_finish(struct etcd_range *r);

struct etcd_range_opts {
	bool prefix;       /* every key starting with `key` */
	bool serializable; /* answer from the member's local copy: works without
	                    * quorum, may be stale */
	bool keys_only;    /* no values */
	bool count_only;
	int64_t limit;     /* 0: no limit */
	int64_t revision;  /* 0: the latest */
};

/* Range over `key` (or the prefix). `o` may be NULL (one key, linearizable).
 * Returns 0 with *out filled (etcd_range_finish frees it), or -1. */
int etcd_range(struct etcd_client *c, const char *key, const struct etcd_range_opts *o,
	       struct etcd_range *out, struct gpc_error *err) __attribute__((warn_unused_result));

/* Put a value (attached to `lease` when non-zero). *revision (if not NULL)
 * gets the store revision of the write. Returns 0 or -1. */
int etcd_put(struct etcd_client *c, const char *key, const void *value, size_t len,
	     int64_t lease, int64_t *revision, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Delete a key (or every key under the prefix). *deleted (if not NULL) gets
 * how many were deleted. Returns 0 or -1. */
int etcd_delete(struct etcd_client *c, const char *key, bool prefix, int64_t *deleted,
		struct gpc_error *err) __attribute__((warn_unused_result));

enum etcd_target { ETCD_TARGET_VERSION, ETCD_TARGET_CREATE, ETCD_TARGET_MOD, ETCD_TARGET_VALUE };
enum etcd_cmp_result { ETCD_CMP_EQUAL, ETCD_CMP_GREATER, ETCD_CMP_LESS, ETCD_CMP_NOT_EQUAL };

/* One compare of a txn: `target` of `key` `result` `revision` (VERSION,
 * CREATE, MOD; 0 is "the key does not exist" for CREATE EQUAL) or `value`. */
struct etcd_cmp {
	const char *key;
	enum etcd_target target;
	enum etcd_cmp_result result;
	int64_t revision;
	const void *value;
	size_t value_len;
};

enum etcd_op_kind { ETCD_OP_RANGE, ETCD_OP_PUT, ETCD_OP_DELETE };

struct etcd_op {
	enum etcd_op_kind kind;
	const char *key;
	bool prefix;       /* RANGE and DELETE: the whole prefix */
	const void *value; /* PUT */
	size_t value_len;
	int64_t lease;     /* PUT: attach to this lease when non-zero */
};

struct etcd_txn_result {
	bool succeeded;           /* the compares held: the success ops ran */
	int64_t revision;         /* store revision after the txn */
	struct etcd_range *ranges; /* one per op of the branch that ran; filled
	                           * for RANGE ops, empty for the others */
	size_t n_ranges;
};
void etcd_txn_result_finish(struct etcd_txn_result *r);

/* One atomic transaction: if every compare holds, run `success`, else
 * `failure`. Returns 0 with *out (etcd_txn_result_finish frees it) whether
 * the compares held or not, or -1 when the txn could not be run (a txn that
 * timed out may have been applied: err says "outcome unknown"). */
int etcd_txn(struct etcd_client *c, const struct etcd_cmp *cmp, size_t ncmp,
	     const struct etcd_op *success, size_t nsuccess, const struct etcd_op *failure,
	     size_t nfailure, struct etcd_txn_result *out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* The compare that makes a write fenced on a lock: the owner key etcd_lock
 * returned still exists (its create revision is > 0). The key is named after
 * the lease, so it exists exactly while that lease holds the lock; a writer
 * whose lease expired or was revoked fails the compare. */
struct etcd_cmp etcd_fence(const char *owner_key);

/* Leases. grant: a lease of `ttl` seconds (etcd's minimum is 2); *granted
 * gets the TTL etcd chose. keepalive: refresh once; *ttl gets the new TTL; a
 * lease that no longer exists is -1 with GPC_E_MISSING (etcd answers 200
 * without a TTL). revoke: end it now, deleting every key attached; a lease
 * already gone is success. Each returns 0 or -1. */
int etcd_lease_grant(struct etcd_client *c, long ttl, int64_t *id, long *granted,
		     struct gpc_error *err) __attribute__((warn_unused_result));
int etcd_lease_keepalive(struct etcd_client *c, int64_t id, long *ttl, struct gpc_error *err)
	__attribute__((warn_unused_result));
int etcd_lease_revoke(struct etcd_client *c, int64_t id, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* A lease kept alive by a thread of its own (with its own client) at a third
 * of its TTL: the issuer lock's lease. */
struct etcd_session;

/* Grant a lease of `ttl` seconds through c's settings and start keeping it
 * alive. Returns 0 and *out (free with etcd_session_free), or -1. */
int etcd_session_new(const struct etcd_client *c, long ttl, struct etcd_session **out,
		     struct gpc_error *err) __attribute__((warn_unused_result));

/* The lease ID. */
int64_t etcd_session_lease(const struct etcd_session *s);

/* True while the lease is known to hold: false once etcd said it is gone, or
 * when no keepalive succeeded for a whole TTL (it may have expired while
 * etcd was unreachable). Then `why` (if not NULL) says what happened.
 * A lost session never comes back. Thread-safe. */
bool etcd_session_alive(struct etcd_session *s, struct gpc_error *why);

/* Stop the keeper thread, revoke the lease (best effort: an unreachable etcd
 * lets it expire by its TTL) and free. */
void etcd_session_free(struct etcd_session *s);

/* Take the lock `name` (etcd's lock service) for `lease`, waiting up to
 * `wait_ms` (<= 0: no limit; the request blocks in etcd until granted).
 * *owner_key gets the key that exists while the lock is held (malloc'd;
 * caller frees), for etcd_unlock and etcd_fence. Taking it again with the same
 * lease is idempotent. Returns 0, or -1: GPC_E_LOCKED when the wait ran out
 * (the waiting key stays attached to the lease until it is revoked). */
int etcd_lock(struct etcd_client *c, const char *name, int64_t lease, long wait_ms,
	      char **owner_key, struct gpc_error *err) __attribute__((warn_unused_result));

/* Release a lock taken by etcd_lock. Returns 0 or -1. */
int etcd_unlock(struct etcd_client *c, const char *owner_key, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Watch. */
enum etcd_event_type { ETCD_EVENT_PUT, ETCD_EVENT_DELETE };

struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv kv;   /* for DELETE: key and mod_revision only */
	struct etcd_kv prev; /* with prev_kv: the value before (key NULL if none) */
};

enum etcd_watch_kind {
	ETCD_WATCH_EVENTS,   /* events[0..n_events), in revision order */
	ETCD_WATCH_PROGRESS, /* nothing more changed up to `revision` */
	ETCD_WATCH_RESYNC,   /* the history the watch needed was compacted: changes
	                      * were lost. Re-read everything; the watch goes on from
	                      * `revision` (etcd's compact revision), so keep an
	                      * entry only if its mod_revision is newer than yours */
	ETCD_WATCH_DOWN,     /* no member answers (err says why); the watch keeps
	                      * trying every member. Said once per outage */
	ETCD_WATCH_UP,       /* a member answers again after DOWN; the watch resumed
	                      * where it stopped (nothing lost) */
	ETCD_WATCH_FAILED,   /* a permanent refusal (permission denied): the watch
	                      * has stopped; err says why */
};

struct etcd_watch_msg {
	enum etcd_watch_kind kind;
	const struct etcd_event *events;
	size_t n_events;
	int64_t revision;          /* see the kinds */
	const char *endpoint;      /* the member it came from (or last tried) */
	const struct gpc_error *err; /* DOWN, FAILED */
};

/* Called from the watch's own thread, one message at a time. Everything
 * the message points to is valid during the call only. */
typedef void (*etcd_watch_fn)(const struct etcd_watch_msg *m, void *ud);

struct etcd_watch_opts {
	bool prefix;
	int64_t start_revision; /* 0: from now */
	bool prev_kv;
	long idle_timeout_ms;   /* no byte for this long: reconnect (same or next
	                         * member), resuming after the last revision seen.
	                         * 0: 30 s. Members started with
	                         * --experimental-watch-progress-notify-interval
	                         * shorter than this stay connected while idle. */
};

struct etcd_watch;

/* Start watching `key` (or the prefix) in a thread of its own (with a client
 * made from c's settings). A member that dies, loses quorum or goes silent
 * is replaced by the next, the watch resuming after the last revision seen.
 * Returns 0 and *out (stop and free with etcd_watch_free), or -1. */
int etcd_watch_start(const struct etcd_client *c, const char *key,
		     const struct etcd_watch_opts *o, etcd_watch_fn fn, void *ud,
		     struct etcd_watch **out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Stop the watch, wait for its thread, free. fn is not called after this
 * returns. Must not be called from fn. */
void etcd_watch_free(struct etcd_watch *w);

#endif

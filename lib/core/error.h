/* error: what a failing library call hands back instead of printing.
 * Every error names the thing (file, value, host), the cause and the fix. */
#ifndef GPC_ERROR_H
#define GPC_ERROR_H

#include <stddef.h>

/* Stable machine-readable codes (also used as "code" in --json problems). */
#define GPC_E_USAGE "usage"
#define GPC_E_MISSING "missing"
#define GPC_E_PERMISSION "permission-denied"
#define GPC_E_IO "io-error"
#define GPC_E_NOSPACE "no-space"
#define GPC_E_READONLY "read-only"
#define GPC_E_INVALID "invalid"
#define GPC_E_LOCKED "locked"
#define GPC_E_NETWORK "network"
#define GPC_E_TLS "tls"
#define GPC_E_CA "ca-error"
#define GPC_E_RATELIMIT "rate-limited"
#define GPC_E_BACKOFF "backing-off" /* our own wait after a failure (not the CA's limit) */
#define GPC_E_NOMEM "out-of-memory"
#define GPC_E_INTERNAL "internal"
#define GPC_E_CLOCK "clock-skew"
#define GPC_E_CONFLICT "conflict" /* a store entry changed since it was read (compare-and-swap) */

struct gpc_error {
	const char *code;   /* one of GPC_E_*, NULL when no error */
	char message[1024]; /* "FILE: cause" -- what went wrong, naming the thing */
	char hint[512];     /* how to fix it; may be empty */
	int sys_errno;      /* errno when a system call failed, else 0 */
	long retry_after;   /* rate-limit / Retry-After: unix time when allowed, else 0 */
};

/* Reset to "no error". */
void gpc_error_clear(struct gpc_error *e);

/* Set code and message (printf-style). `e` may be NULL (then nothing happens).
 * Returns -1 so callers can write `return gpc_error_set(...)`. */
int gpc_error_set(struct gpc_error *e, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set the hint (printf-style). Returns -1. */
int gpc_error_hint(struct gpc_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Set code/message from a failed system call on `path` with errno `err`,
 * choosing code (missing, permission-denied, no-space, read-only, io-error)
 * and a hint (for EACCES: uid, file owner and mode). `what` says what was
 * being done ("open", "write", "rename" ...). Returns -1. */
int gpc_error_sys(struct gpc_error *e, int err, const char *what, const char *path);

#endif

/* timeutil: RFC 3339 UTC formatting and parsing, and a test clock. */
#ifndef GPC_TIMEUTIL_H
#define GPC_TIMEUTIL_H

#include <stddef.h>
#include <time.h>

/* Format `t` as "2026-11-27T05:53:39Z" into out (at least 21 bytes).
 * Returns out. */
char *time_rfc3339(time_t t, char *out, size_t outsz);

/* Parse RFC 3339 ("Z" or "+hh:mm", optional fractional seconds) into *t.
 * Returns 0 or -1. */
int time_parse_rfc3339(const char *s, time_t *t);

/* The current time. Honours $GOPROXY_CERT_NOW (unix seconds) when set, so
 * tests can move the clock without touching the system; otherwise time(). */
time_t time_now(void);

#endif

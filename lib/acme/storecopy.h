/* storecopy: copying pairs and records from one store to another, shared
 * by `store import`/`store export` (a whole store: pairs, lineage settings,
 * the accounts of their CAs, the ledger) and `sync` (pairs alone, mirrored).
 * A pair whose key does not belong to its certificate is never copied; what
 * is already where it goes is kept unless the rule says otherwise. */
#ifndef GPC_STORECOPY_H
#define GPC_STORECOPY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "certstore.h"
#include "error.h"

/* Read lineage `name`'s pair from `src` into cert and key (appended) and
 * check that the key belongs to the leaf certificate: a pair that does not
 * match is never copied anywhere. Returns 0, or -1 with err naming the
 * entry (the caller zeroes and frees the buffers either way). */
int store_pair_read_checked(struct certstore *src, const char *name, struct buf *cert, struct buf *key,
			    struct gpc_error *err) __attribute__((warn_unused_result));

enum store_pair_rule {
	STORE_PAIR_NEWER,     /* replace unless dst's certificate expires as late or later */
	STORE_PAIR_DIFFERENT, /* replace unless dst holds these very bytes (a mirror) */
};

/* Should (cert, key) replace what `dst` holds for `name` under `rule`? A
 * pair that is missing or cannot be read in dst is replaced (the write then
 * names what is wrong). Reads dst only. */
bool store_pair_wanted(struct certstore *dst, const char *name, const struct buf *cert, const struct buf *key,
		       enum store_pair_rule rule);

/* What storecopy_all did with one entry, for the caller to report. */
enum storecopy_what {
	STORECOPY_PAIR_COPIED,
	STORECOPY_PAIR_KEPT,      /* dst's certificate expires as late or later */
	STORECOPY_PAIR_FAILED,    /* not copied: ev->err says why; the copy goes on */
	STORECOPY_SETTINGS_COPIED,
	STORECOPY_ACCOUNT_COPIED, /* ev->name: the account's directory, ev->file: the file */
	STORECOPY_LEDGER_COPIED,
	STORECOPY_LEDGER_KEPT,
};

struct storecopy_event {
	enum storecopy_what what;
	const char *name;            /* the lineage (or the account directory) */
	const char *file;            /* STORECOPY_ACCOUNT_COPIED: "key.pem", "account.json" */
	const struct gpc_error *err; /* STORECOPY_PAIR_FAILED */
};

struct storecopy_counts {
	size_t copied, kept, failed; /* pairs */
};

/* Copy a whole store into `dst` under dst's lock: every pair (STORE_PAIR_NEWER),
 * each lineage's settings, the account of its CA and the ledger (each unless
 * dst has it). `note` (may be NULL) hears of each entry as it is done.
 * Returns 0 (counts filled; a pair that could not be read counts as failed),
 * or -1 with err when the copy stopped (listing, the lock, a write). */
int storecopy_all(struct certstore *src, struct certstore *dst,
		  void (*note)(void *ud, const struct storecopy_event *ev), void *ud,
		  struct storecopy_counts *counts, struct gpc_error *err) __attribute__((warn_unused_result));

#endif

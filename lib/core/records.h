/* records: the key and the format of every record the tools keep in a
 * store (certstore_record_*, certstore_state_*). A key is relative ("a/b");
 * the directory backend keeps it as DIR/.state/KEY, etcd as
 * PREFIX/records/KEY. Messages name a record through the store
 * (certstore_describe), never by pasting ".state/" onto the store's name. */
#ifndef GPC_RECORDS_H
#define GPC_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

/* lineage settings (lineage.c) and their secret DNS options, 0600 */
#define RECORD_LINEAGES_DIR "lineages/"
#define RECORD_LINEAGE_FMT "lineages/%s.json"          /* lineage name */
#define RECORD_SECRETS_FMT "secrets/%s.json"           /* lineage name */

/* the rate-limit ledger (ledger.c) */
#define RECORD_LEDGER "ledger.json"

/* ACME accounts, one directory per CA directory URL (issue_account_dirname) */
#define RECORD_ACCOUNT_FMT "accounts/%s/%s"            /* account dir, file */
#define RECORD_ACCOUNT_KEY "key.pem"                   /* the account key, 0600 */
#define RECORD_ACCOUNT_JSON "account.json"             /* {"directory", "url"} */
#define RECORD_ACCOUNT_KEY_NEXT "key-next.pem"         /* staged by a key rollover */
#define RECORD_ACCOUNT_KEY_OLD_FMT "key-old-%s.pem"    /* UTC time of a rollover */
#define RECORD_ACCOUNT_ARCHIVE_FMT "archive-%s"        /* UTC time the CA forgot the account */

/* challenge answers goproxyd serves (solver.c writes them) */
#define RECORD_HTTP01_FMT "challenges/http-01/%s"      /* token */
#define RECORD_TLSALPN01_DIR "challenges/tls-alpn-01"   /* listed by goproxyd */
#define RECORD_TLSALPN01_FMT RECORD_TLSALPN01_DIR "/%s%s" /* identifier, ".crt"/".key" */

/* what a dns-01 solver added, to remove it later (solver_dns.c) */
#define RECORD_DNS_RECORDS_FMT "dns-records/%s.json"   /* lineage name */

/* sync's lineages that still owe a deploy hook run (cmd_sync.c) */
#define RECORD_SYNC_PENDING "sync/hook-pending"

/* "this certs directory is meant to be temporary" (--ephemeral-ok once):
 * no persistence warning for it */
#define RECORD_EPHEMERAL_OK "ephemeral-ok"

/* alerts (notify.c): the targets, 0600 (webhook URLs and tokens are
 * secrets), and the state last sent to each target (redacted target names
 * and error texts only, never sealed: status reads it without a seal key) */
#define RECORD_NOTIFY_TARGETS "notify.json"
#define RECORD_NOTIFY_STATE "notify-state.json"

/* Not in a store: this node's copy of a shared store's alert targets, in
 * its state directory (notify_node_copy_path), one a store (a 64-bit FNV-1a
 * hash of the store's name). */
#define NODE_NOTIFY_STORE_FMT "notify-store-%016llx.json"

/* Kept by its module: the directory backend's own bookkeeping (lock,
 * issue.lock, txn/, archive/) in store_dir.c. */

/* goproxyd's presence (certstore_presence_*): WHO and the information line
 * "answers: http-01 tls-alpn-01" naming the challenge types it answers. */
#define PRESENCE_GOPROXYD "goproxyd"
#define GOPROXYD_RUNNING 1
#define GOPROXYD_HTTP01 2
#define GOPROXYD_TLSALPN01 4

/* goproxyd's presence line for what it answers (tls-alpn-01 always,
 * http-01 with `http`) into out. Returns 0, or -1 when out is too small. */
int records_presence_format(bool http, char *out, size_t outsz);

/* What a presence line says goproxyd answers: a mask of GOPROXYD_* bits.
 * `info` NULL or without the "answers:" line (a plain pidfile of another
 * program) counts as answering both; a line naming neither: RUNNING. */
int records_presence_parse(const char *info);

#endif

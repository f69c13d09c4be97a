/* issue_opts: option parsing and output shared by issue, renew, revoke,
 * account and persist-record. */
#ifndef GPC_ISSUE_OPTS_H
#define GPC_ISSUE_OPTS_H

#include <stdbool.h>
#include <stdio.h>

#include "certstore.h"
#include "issue.h"
#include "lineage.h"
#include "storeopt.h"

/* --store and its options, taken by each subcommand's option loop
 * (storeopt_take). */
extern struct storeopt cli_store;

/* Open the store: the --store URL (or $GOPROXY_CERT_STORE) in cli_store,
 * else the certs dir (creating it 0755 when `create` and it is missing).
 * Prints the error and returns NULL on failure. */
struct certstore *issue_open_store(const char *dir, bool create);
/* The exit code for a NULL from issue_open_store: 2 when the directory
 * is not trusted (another user's, writable by others), else 1. */
int issue_store_exit(void);

/* -d DIR together with a --store URL (or $GOPROXY_CERT_STORE) names two
 * stores: prints the usage error of `sub` and returns 64; 0 otherwise. */
int issue_store_conflict(const char *sub, const char *dir);

/* The account options of issue, account and persist-record (pointers
 * into argv): --server, --staging, --ca-bundle, -m/--email, --eab-kid,
 * --eab-hmac. */
struct acct_opts {
	const char *server, *ca_bundle, *email, *eab_kid, *eab_hmac;
	bool staging;
};

enum { ACCT_O_SERVER = 0x1000, ACCT_O_STAGING, ACCT_O_CA_BUNDLE, ACCT_O_EAB_KID, ACCT_O_EAB_HMAC };

/* Their entries of a getopt_long table (-m is in each optstring). */
#define ACCT_LONGOPTS                                                  \
	{ "server", required_argument, NULL, ACCT_O_SERVER },          \
	{ "staging", no_argument, NULL, ACCT_O_STAGING },              \
	{ "ca-bundle", required_argument, NULL, ACCT_O_CA_BUNDLE },    \
	{ "email", required_argument, NULL, 'm' },                     \
	{ "eab-kid", required_argument, NULL, ACCT_O_EAB_KID },        \
	{ "eab-hmac", required_argument, NULL, ACCT_O_EAB_HMAC }

/* Take option c (getopt_long's answer) with arg when it is an account
 * option. Returns true if it was one. */
bool acct_opts_take(struct acct_opts *o, int c, const char *arg);

/* After the options: --eab-kid and --eab-hmac go together (else the usage
 * error of `sub`); no -m: $GOPROXY_CERT_EMAIL (empty: no contact); no
 * --ca-bundle: $GOPROXY_CERT_CA_BUNDLE if not empty. Returns 0 or 64. */
int acct_opts_check(const char *sub, struct acct_opts *o);

/* Exit code for a result (issue: 0/1/64/75). */
int issue_exit_code(enum issue_result r);

/* A failure of the account or the CA: prints err and returns its exit
 * code (75 deferred, else 1; never 0 or 64). */
int issue_error_exit(const struct gpc_error *err);

/* issue_env_init with the per-request timeout from $GOPROXY_CERT_TIMEOUT
 * (seconds, 1-600). Prints the error and returns -1 for a bad value. */
int issue_opts_env_init(struct issue_env *env, struct certstore *cs);

/* $GOPROXY_CERT_EPHEMERAL_OK set (not empty, not "0"): the certs directory
 * is meant to be temporary (CI); no persistence warning. */
bool issue_opts_ephemeral_ok_env(void);

/* --ephemeral-ok: store the acknowledgement for the certs directory (once;
 * a shared store needs none). Prints the error and returns -1 on failure. */
int issue_opts_ack_ephemeral(struct certstore *cs);

/* Print one result: a line "NAME: message" on stdout (nothing with quiet
 * unless it failed; failures also print the error to stderr), or a JSON
 * object when json. */
void issue_print_result(const struct lineage *l, const struct issue_outcome *out, bool json,
			bool quiet, FILE *f);

/* The JSON object of one result (caller: json_object_put). */
struct json_object *issue_result_json(const struct lineage *l, const struct issue_outcome *out);

#endif

/* Shared by the goproxy-cert subcommands: exit codes, logging to stderr,
 * usage errors. Only cmd/ prints or exits. */
#ifndef GPC_CLI_H
#define GPC_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"

/* Exit codes (DESIGN.md; sysexits where one fits). */
#define EXIT_CURRENT 0
#define EXIT_DUE 1     /* check: some due; issue/renew: a failure */
#define EXIT_FAILURE_ 1
#define EXIT_BAD 2     /* check: expired, missing, broken ...  */
#define EXIT_USAGE 64  /* EX_USAGE */
#define EXIT_DEFER 75  /* EX_TEMPFAIL: rate limit / Retry-After / back-off */

struct cli_ctx {
	const char *prog;  /* "goproxy-cert" */
	int verbose;       /* -v count */
	bool quiet;        /* -q */
};

extern struct cli_ctx cli;

/* A subcommand: argv[0] is the subcommand name. Returns the exit code. */
struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage; /* one-line synopsis after "goproxy-cert " */
};

int cmd_check(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_issue(int argc, char **argv);
int cmd_renew(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_account(int argc, char **argv);
int cmd_store(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_notify(int argc, char **argv);
int cmd_persist(int argc, char **argv);

/* In goproxy-cert (not goproxy-cert-acme): run goproxy-cert-acme with the
 * same subcommand arguments (argv[0] is the subcommand) in place of this
 * process. Returns only on failure (the exit code). */
int cli_exec_acme(int argc, char **argv);

/* Install the stderr log handler (level from cli.verbose / cli.quiet). */
void cli_log_init(void);

/* Print "goproxy-cert SUB: message" + usage hint to stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Refuse abbreviated or unknown long options before getopt_long sees them
 * (optexact.h): prints "unknown option '--X' (did you mean --Y?)" as a
 * usage error of `sub`. Returns 0 or EXIT_USAGE. */
struct option;
int cli_exact_options(const char *sub, int argc, char **argv, const char *optstring,
		      const struct option *longopts);

/* Print an error (message, then "  hint: ..." if any) to stderr. */
void cli_print_error(const struct gpc_error *e);

/* Parse a non-negative integer option value; on error prints a usage error
 * naming the option and returns -1. */
int cli_parse_uint(const char *sub, const char *opt, const char *val, long max, long *out);

/* The same for a number from min to max (e.g. --hook-timeout: 1 to 86400). */
int cli_parse_range(const char *sub, const char *opt, const char *val, long min, long max, long *out);

/* Print the full help of a subcommand (its usage line and summary). */
void cli_print_sub_usage(FILE *f, const char *name);

#endif

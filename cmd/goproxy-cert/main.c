/* goproxy-cert: dispatch to a subcommand by exact name. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "cli.h"
#include "log.h"
#include "strdist.h"

struct cli_ctx cli = { .prog = "goproxy-cert" };

#ifndef GPC_ACME_TOOL
/* issue, renew, revoke and account live in goproxy-cert-acme, which links
 * libcurl; run it in place of this process with the same arguments. */
static int exec_acme(int argc, char **argv)
{
	char self[PATH_MAX], cand[PATH_MAX + 32];
	char **args;
	ssize_t n;

	args = calloc((size_t)argc + 2, sizeof(*args));
	if (args == NULL) {
		fprintf(stderr, "%s: out of memory\n", cli.prog);
		return EXIT_BAD;
	}
	args[0] = (char *)cli.prog;
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	fflush(NULL);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			snprintf(cand, sizeof(cand), "%s/goproxy-cert-acme", self);
			if (access(cand, X_OK) == 0)
				execv(cand, args);
		}
	}
	snprintf(cand, sizeof(cand), "%s/goproxy-cert-acme", GPC_LIBEXECDIR);
	execv(cand, args);
	fprintf(stderr, "%s: error: cannot run %s: %s\n"
			"  hint: the ACME part of goproxy-cert is not installed next to %s or in %s; reinstall goproxy-cert\n",
		cli.prog, cand, strerror(errno), n > 0 ? self : "this program", GPC_LIBEXECDIR);
	free(args);
	return EXIT_BAD;
}
int cli_exec_acme(int argc, char **argv)
{
	return exec_acme(argc, argv);
}
#define cmd_issue exec_acme
#define cmd_renew exec_acme
#define cmd_revoke exec_acme
#define cmd_account exec_acme
#define cmd_sync exec_acme
#define cmd_notify exec_acme
#define cmd_persist exec_acme
#endif

static const struct subcommand subcommands[] = {
	{ "check", cmd_check, "check the certificates on disk (offline); exit code says the state",
	  "check [-d DIR | --store URL] [--days N] [--domain NAME]... [--json] [-q] [LINEAGE...]" },
	{ "status", cmd_status, "show everything known about each certificate (text, JSON, Prometheus)",
	  "status [-d DIR | --store URL] [--json | --format text|json|prometheus] [LINEAGE...]" },
	{ "issue", cmd_issue, "get a certificate for a set of names, only if needed",
	  "issue -D NAME [-D NAME]... [-d DIR] [-n LINEAGE] [--server URL] [options]" },
	{ "renew", cmd_renew, "renew every certificate that is due (cron-safe)",
	  "renew [-d DIR] [LINEAGE...] [--days N] [--force] [--jitter S] [--concurrency N] [--json] [-q]" },
	{ "revoke", cmd_revoke, "revoke a lineage's certificate",
	  "revoke [-d DIR] LINEAGE [--reason N]" },
	{ "account", cmd_account, "show, update, roll over or deactivate the ACME account",
	  "account [-d DIR] show|update|rollover|deactivate [options]" },
	{ "store", cmd_store, "make the seal key of a shared store (etcd); import or export a certs directory",
	  "store seal-key FILE | store import|export --store URL --store-seal FILE [-d DIR]" },
	{ "sync", cmd_sync, "write a shared store's pairs into a local certs directory (cron, or --watch)",
	  "sync --store URL --store-seal FILE [-d DIR] [--watch] [--deploy-hook CMD]" },
	{ "notify", cmd_notify, "the alert targets: send a test message to each (notify test), list them",
	  "notify test|list [-d DIR | --store URL]" },
	{ "persist-record", cmd_persist, "print the dns-persist-01 TXT record to create once for the account",
	  "persist-record [-D NAME]... [-d DIR] [-n LINEAGE] [--server URL] [--wildcard] [--persist-until TIME] [--json]" },
};

#define N_SUB (sizeof(subcommands) / sizeof(subcommands[0]))

static const struct subcommand *find_sub(const char *name)
{
	for (size_t i = 0; i < N_SUB; i++)
		if (strcmp(subcommands[i].name, name) == 0)
			return &subcommands[i];
	return NULL;
}

/* An unknown command: every command named (from the table), and the
 * closest one when it is a typo away. */
static int unknown_command(const char *name)
{
	char list[512] = "";
	const char *best = NULL;
	size_t bestd = 3, len = 0;

	for (size_t i = 0; i < N_SUB; i++) {
		size_t d = str_distance(name, strlen(name), subcommands[i].name, strlen(subcommands[i].name));
		if (d < bestd) {
			bestd = d;
			best = subcommands[i].name;
		}
		len += (size_t)snprintf(list + len, len < sizeof(list) ? sizeof(list) - len : 0, "%s, ",
					subcommands[i].name);
	}
	if (best != NULL)
		return cli_usage_error(NULL, "unknown command '%s' (did you mean '%s'? commands: %shelp)", name,
				       best, list);
	return cli_usage_error(NULL, "unknown command '%s' (commands: %shelp)", name, list);
}

void cli_print_sub_usage(FILE *f, const char *name)
{
	const struct subcommand *s = find_sub(name);

	if (s == NULL)
		return;
	fprintf(f, "usage: %s %s\n  %s\n", cli.prog, s->usage, s->summary);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s COMMAND [OPTIONS]\n\ncommands:\n", cli.prog);
	for (size_t i = 0; i < N_SUB; i++)
		fprintf(f, "  %-15s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "  %-15s %s\n", "help", "show help for a command");
	fprintf(f, "\nRun '%s help COMMAND' or '%s COMMAND --help' for the options of a command.\n"
		   "See goproxy-cert(1) and goproxy-cert(5).\n", cli.prog, cli.prog);
}

static int help(int argc, char **argv)
{
	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	const struct subcommand *s = find_sub(argv[1]);
	if (s == NULL)
		return cli_usage_error(NULL, "no such command '%s'", argv[1]);
	char *args[] = { (char *)s->name, (char *)"--help", NULL };
	return s->fn(2, args);
}

int main(int argc, char **argv)
{
	const struct subcommand *s;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help(1, argv + 1);
	if (strcmp(argv[1], "help") == 0)
		return help(argc - 1, argv + 1);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("%s %s (GnuTLS %s)\n", cli.prog, GPC_VERSION, gnutls_check_version(NULL));
		return 0;
	}
	s = find_sub(argv[1]);
	if (s == NULL)
		return unknown_command(argv[1]);
	cli_log_init();
	rc = s->fn(argc - 1, argv + 1);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: writing output: %s\n", cli.prog, strerror(errno));
		if (rc == 0)
			rc = EXIT_BAD;
	}
	return rc;
}

/* goproxy-cert revoke LINEAGE [--reason N]: revoke a lineage's certificate
 * (RFC 8555 §7.6) with the account that ordered it. The pair stays in place
 * (a running proxy keeps serving until a new one is issued); the lineage is
 * marked due so the next renew replaces it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "issue_opts.h"
#include "issue.h"
#include "log.h"
#include "revoke.h"

static const char usage_text[] =
	"usage: goproxy-cert revoke [-d DIR] LINEAGE [--reason N]\n"
	"Revoke the lineage's certificate at its CA (with the stored account).\n"
	"\n"
	"  -d, --certs-dir DIR   certs directory\n"
	STOREOPT_HELP
	"      --reason N        RFC 5280 CRLReason code (0 unspecified, 1 keyCompromise,\n"
	"                        3 affiliationChanged, 4 superseded, 5 cessationOfOperation;\n"
	"                        the CA may accept fewer)\n"
	"      --ca-bundle FILE  trust anchors for the CA's HTTPS (default: the lineage's)\n"
	"      --json            one JSON document with the result\n"
	"  -q, --quiet           print nothing unless it failed\n"
	"  -v, --verbose         say what is done\n"
	"Exit: 0 revoked, 1 failed, 64 usage, 75 CA unreachable or rate limited.\n";

enum { O_REASON = 256, O_CA_BUNDLE, O_JSON };

static const struct option longopts[] = {
	{ "certs-dir", required_argument, NULL, 'd' },
	{ "reason", required_argument, NULL, O_REASON },
	{ "ca-bundle", required_argument, NULL, O_CA_BUNDLE },
	{ "json", no_argument, NULL, O_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	STOREOPT_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

int cmd_revoke(int argc, char **argv)
{
	const char *dir = NULL, *ca_bundle = NULL, *name;
	long reason = -1;
	bool json = false;
	struct certstore *cs = NULL;
	struct issue_env env;
	bool env_ok = false;
	struct gpc_error err;
	int ch, rc = EXIT_USAGE;

	gpc_error_clear(&err);
	optind = 1;
	if (cli_exact_options("revoke", argc, argv, "d:qvh", longopts) != 0)
		return EXIT_USAGE;
	while ((ch = getopt_long(argc, argv, "d:qvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'q': cli.quiet = true; break;
		case 'v': cli.verbose++; break;
		case 'h': fputs(usage_text, stdout); rc = 0; goto out;
		case O_REASON:
			if (cli_parse_uint("revoke", "--reason", optarg, 10, &reason) != 0)
				goto out;
			if (reason == 7) {
				cli_usage_error("revoke", "--reason 7 is not a valid CRLReason");
				goto out;
			}
			break;
		case O_CA_BUNDLE: ca_bundle = optarg; break;
		case O_JSON: json = true; break;
		default:
			if (storeopt_take(&cli_store, ch, optarg))
				break;
			cli_usage_error("revoke", "unknown option");
			goto out;
		}
	}
	cli_log_init();
	if (optind + 1 != argc) {
		cli_usage_error("revoke", "give exactly one LINEAGE (\"default\" for DIR/cert.crt)");
		goto out;
	}
	name = argv[optind];
	if (!certstore_valid_name(name)) {
		cli_usage_error("revoke", "'%s' is not a valid lineage name", name);
		goto out;
	}
	if ((rc = issue_store_conflict("revoke", dir)) != 0)
		goto out;
	rc = 1;
	cs = issue_open_store(dir, false);
	if (cs == NULL)
		goto out;
	if (issue_opts_env_init(&env, cs) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	env_ok = true;
	switch (revoke_lineage(&env, name, ca_bundle, reason, &err)) {
	case 0:
		break;
	case 1: /* revoked; the lineage record not updated */
		cli_print_error(&err);
		break;
	case -1: /* nothing asked of the CA */
		cli_print_error(&err);
		goto out;
	default:
		rc = issue_error_exit(&err);
		goto out;
	}
	if (json)
		printf("{\"lineage\":\"%s\",\"result\":\"revoked\",\"reason\":%ld}\n", name, reason < 0 ? 0 : reason);
	else if (!cli.quiet)
		printf("%s: revoked; run 'goproxy-cert renew %s' (or issue --force) for a new certificate\n",
		       name, name);
	rc = 0;
out:
	if (env_ok)
		issue_env_finish(&env);
	certstore_free(cs);
	return rc;
}

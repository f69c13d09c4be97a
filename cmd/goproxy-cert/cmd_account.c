/* goproxy-cert account show|update|rollover|deactivate: the ACME account kept
 * per CA in the store (RECORD_ACCOUNT_FMT; RFC 8555 §7.3). The work is
 * lib/acme/account.c's; this file parses options and prints. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "account.h"
#include "cli.h"
#include "issue_opts.h"
#include "issue.h"
#include "lineage.h"
#include "log.h"

static const char usage_text[] =
	"usage: goproxy-cert account [-d DIR] show|update|rollover|deactivate [options]\n"
	"The ACME account of a CA (--server/--staging, else $GOPROXY_CERT_SERVER, else lineage -n's CA,\n"
	"else Let's Encrypt).\n"
	"\n"
	"  show          print the account URL, status and contacts\n"
	"  update        set the contact (-m ADDR; none removes it); registers the account if needed\n"
	"  rollover      replace the account key (RFC 8555 §7.3.5); the old key is archived\n"
	"  deactivate    deactivate the account for good (needs --yes)\n"
	"\n"
	"  -d, --certs-dir DIR   -n, --name LINEAGE   --server URL   --staging   --ca-bundle FILE\n"
	"  -m, --email ADDR      --eab-kid ID --eab-hmac KEY   --yes   --json\n"
	"  -q, --quiet   -v, --verbose   -h, --help\n"
	STOREOPT_HELP;

enum { O_YES = 256, O_JSON };

static const struct option longopts[] = {
	{ "certs-dir", required_argument, NULL, 'd' },
	{ "name", required_argument, NULL, 'n' },
	ACCT_LONGOPTS,
	{ "yes", no_argument, NULL, O_YES },
	{ "json", no_argument, NULL, O_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	STOREOPT_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static void print_account(const char *server, const struct acme_account *a, bool json)
{
	if (json) {
		struct json_object *o = json_object_new_object(), *ct = json_object_new_array();
		json_object_object_add(o, "server", json_object_new_string(server));
		json_object_object_add(o, "url", a->url ? json_object_new_string(a->url) : NULL);
		json_object_object_add(o, "status", a->status ? json_object_new_string(a->status) : NULL);
		for (size_t i = 0; i < a->n_contact; i++)
			json_object_array_add(ct, json_object_new_string(a->contact[i]));
		json_object_object_add(o, "contact", ct);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		return;
	}
	printf("server:  %s\nurl:     %s\nstatus:  %s\n", server, a->url ? a->url : "-",
	       a->status ? a->status : "-");
	for (size_t i = 0; i < a->n_contact; i++)
		printf("contact: %s\n", a->contact[i]);
	if (a->n_contact == 0)
		printf("contact: -\n");
}

/* The action on an open account; prints the result. Returns 0 or -1 (err set). */
static int run_action(const char *action, struct account *a, const char *email, bool json,
		      struct gpc_error *err)
{
	const char *server = account_server(a);
	struct acme_account info;
	char archived[PATH_MAX];
	int rc = -1;

	memset(&info, 0, sizeof(info));
	if (strcmp(action, "show") == 0 || strcmp(action, "update") == 0) {
		if ((strcmp(action, "show") == 0 ? account_show(a, &info, err) : account_update(a, email, &info, err)) != 0)
			goto out;
		print_account(server, &info, json);
	} else if (strcmp(action, "rollover") == 0) {
		if (account_rollover(a, archived, sizeof(archived), err) != 0)
			goto out;
		if (!json && !cli.quiet)
			fprintf(stderr, "%s: previous account key archived as %s\n", cli.prog, archived);
		if (json)
			printf("{\"server\":\"%s\",\"url\":\"%s\",\"result\":\"rolled-over\"}\n", server, account_url(a));
		else if (!cli.quiet)
			printf("%s: account key replaced for %s\n", server, account_url(a));
	} else {
		if (account_deactivate(a, err) != 0)
			goto out;
		if (json)
			printf("{\"server\":\"%s\",\"url\":\"%s\",\"result\":\"deactivated\"}\n", server, account_url(a));
		else if (!cli.quiet)
			printf("%s: account %s deactivated\n", server, account_url(a));
	}
	rc = 0;
out:
	account_info_finish(&info);
	return rc;
}

int cmd_account(int argc, char **argv)
{
	const char *dir = NULL, *name = CERTSTORE_DEFAULT, *action;
	struct acct_opts ao = { 0 };
	bool yes = false, json = false;
	struct certstore *cs = NULL;
	struct lineage *l = NULL;
	struct issue_env env;
	bool env_ok = false;
	struct account *a = NULL;
	struct gpc_error err;
	int ch, rc = EXIT_USAGE;

	gpc_error_clear(&err);
	optind = 1;
	if (cli_exact_options("account", argc, argv, "d:n:m:qvh", longopts) != 0)
		return EXIT_USAGE;
	while ((ch = getopt_long(argc, argv, "d:n:m:qvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'n': name = optarg; break;
		case 'q': cli.quiet = true; break;
		case 'v': cli.verbose++; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case O_YES: yes = true; break;
		case O_JSON: json = true; break;
		default:
			if (acct_opts_take(&ao, ch, optarg) || storeopt_take(&cli_store, ch, optarg))
				break;
			return cli_usage_error("account", "unknown option");
		}
	}
	cli_log_init();
	if (optind + 1 != argc)
		return cli_usage_error("account", "give one action: show, update, rollover or deactivate");
	action = argv[optind];
	if (strcmp(action, "show") && strcmp(action, "update") && strcmp(action, "rollover") &&
	    strcmp(action, "deactivate"))
		return cli_usage_error("account", "unknown action '%s' (show, update, rollover, deactivate)", action);
	if (!certstore_valid_name(name))
		return cli_usage_error("account", "-n: '%s' is not a valid lineage name", name);
	if (strcmp(action, "deactivate") == 0 && !yes)
		return cli_usage_error("account", "deactivate cannot be undone: add --yes to confirm");
	if (acct_opts_check("account", &ao) != 0)
		return EXIT_USAGE;

	if ((rc = issue_store_conflict("account", dir)) != 0)
		return rc;
	rc = 1;
	cs = issue_open_store(dir, strcmp(action, "update") == 0);
	if (cs == NULL)
		goto out;
	if (lineage_load(cs, name, &l, &err) != 0)
		l = NULL;
	gpc_error_clear(&err);
	ao.server = account_ca_url(ao.server, ao.staging, l ? l->ca_url : NULL);
	if (ao.ca_bundle == NULL && l != NULL)
		ao.ca_bundle = l->ca_bundle;
	if (issue_opts_env_init(&env, cs) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	env_ok = true;
	struct account_params p = { .server = ao.server, .ca_bundle = ao.ca_bundle, .email = ao.email,
				    .eab_kid = ao.eab_kid, .eab_hmac = ao.eab_hmac };
	if (account_open(&env, &p, strcmp(action, "update") == 0, &a, &err) != 0 ||
	    run_action(action, a, ao.email, json, &err) != 0) {
		rc = issue_error_exit(&err);
		goto out;
	}
	rc = 0;
out:
	account_close(a);
	if (env_ok)
		issue_env_finish(&env);
	lineage_free(l);
	certstore_free(cs);
	return rc;
}

/* goproxy-cert status: everything known about each lineage, for people
 * (text), scripts (JSON) and dashboards (Prometheus textfile). It reports;
 * the state of the certificates does not change its exit code. A shared
 * store (--store) is read by goproxy-cert-acme (it links libcurl). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "certstore.h"
#include "cli.h"
#include "cmd_notify_status.h"
#include "report.h"
#include "storeopt.h"

static void status_help(FILE *f)
{
	cli_print_sub_usage(f, "status");
	fputs("\n"
	      "Shows everything known about the named lineages, or all of them (offline; a\n"
	      "--store is read from its etcd members).\n"
	      "\n"
	      "options:\n"
	      "  -d, --certs-dir DIR  the certs directory (default: $GOPROXY_CERTS_DIR, else ./certs)\n"
	      "      --json           same as --format json\n"
	      "      --format FORMAT  text (default), json, or prometheus (node_exporter textfile)\n"
	      STOREOPT_HELP
	      "                           (without it the certificates are shown, their keys not checked)\n"
	      "  -h, --help           show this help\n"
	      "\n"
	      "exit status: 0 whatever state the certificates are in; 2 the certs dir cannot be\n"
	      "read; 64 usage error; 75 the --store (etcd) cannot be reached, try later.\n", f);
}

enum fmt { FMT_TEXT, FMT_JSON, FMT_PROM };

/* Alerts that did not arrive, from the directory or the store (`url`: the
 * --store; not from one that could not be reached just now), or NULL. */
static struct json_object *status_alerts(const char *url, const struct storeopt *so, const char *dir)
{
	struct certstore *acs = NULL;
	struct json_object *alerts;
	struct gpc_error err;

	gpc_error_clear(&err);
#ifdef GPC_ACME_TOOL
	if (url != NULL ? storeopt_open(so, dir, &acs, &err) != 0
			: certstore_open(certstore_default_dir(dir), &acs, &err) != 0)
#else
	(void)url;
	(void)so;
	if (certstore_open(certstore_default_dir(dir), &acs, &err) != 0)
#endif
		acs = NULL;
	alerts = notify_status_undelivered(acs);
	certstore_free(acs);
	return alerts;
}

/* The report in `fmt` on stdout (problems of an unusable store on stderr
 * when stdout is a document). Returns the exit code: 0, 2 (EXIT_BAD) for a
 * store that could not be read, 75 when it could not be reached. */
static int status_print(const struct report *r, enum fmt fmt)
{
	int rc = 0;

	switch (fmt) {
	case FMT_JSON:
		report_print_json(stdout, r, true);
		break;
	case FMT_PROM:
		report_print_prometheus(stdout, r);
		break;
	default:
		report_print_status_text(stdout, r);
		notify_status_print(stdout, r->alerts);
		break;
	}
	if (!r->dir_ok) {
		if (fmt != FMT_TEXT) {
			fflush(stdout);
			report_print_problems(stderr, cli.prog, r);
		}
		rc = EXIT_BAD;
	}
	if (report_deferred(r))
		rc = EXIT_DEFER; /* what was printed is incomplete: try later */
	return rc;
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "certs-dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		STOREOPT_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct report_options ro = { .days = -1, .detail = true };
	const char *dir = NULL;
	enum fmt fmt = FMT_TEXT;
	bool fmt_set = false;
	struct report r;
	struct gpc_error err;
	struct storeopt so = { 0 };
	const char *url;
	int c, rc = 0;

	optind = 1;
	opterr = 0;
	if (cli_exact_options("status", argc, argv, ":d:h", opts) != 0)
		return EXIT_USAGE;
	while ((c = getopt_long(argc, argv, ":d:h", opts, NULL)) != -1) {
		enum fmt want;
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'j':
		case 'f':
			if (c == 'j' || strcmp(optarg, "json") == 0)
				want = FMT_JSON;
			else if (strcmp(optarg, "text") == 0)
				want = FMT_TEXT;
			else if (strcmp(optarg, "prometheus") == 0)
				want = FMT_PROM;
			else
				return cli_usage_error("status", "--format: '%s' is not one of text, json, prometheus",
						       optarg);
			if (fmt_set && want != fmt)
				return cli_usage_error("status", "--json and --format %s conflict; give one",
						       optarg);
			fmt = want;
			fmt_set = true;
			break;
		/* as storeopt_take, which only goproxy-cert-acme links */
		case STOREOPT_STORE: so.url = optarg; break;
		case STOREOPT_CACERT: so.cacert = optarg; break;
		case STOREOPT_CERT: so.cert = optarg; break;
		case STOREOPT_KEY: so.key = optarg; break;
		case STOREOPT_SEAL: so.seal = optarg; break;
		case 'h':
			status_help(stdout);
			return 0;
		case ':':
			return cli_usage_error("status", "option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("status", "unknown option '%s'", argv[optind - 1]);
		}
	}

	url = so.url != NULL && so.url[0] != '\0' ? so.url : getenv("GOPROXY_CERT_STORE");
	if (url != NULL && url[0] == '\0')
		url = NULL;
	if (url != NULL || so.cacert || so.cert || so.key || so.seal) {
		if (url != NULL && dir != NULL)
			return cli_usage_error("status", "-d %s and --store %s (or $GOPROXY_CERT_STORE) name two "
					       "stores; give one (GOPROXY_CERT_STORE= for the directory)", dir, url);
#ifndef GPC_ACME_TOOL
		/* the shared store is read by the part that links libcurl */
		return cli_exec_acme(argc, argv);
#else
		if ((rc = report_collect_storeopt("status", &so, dir, argv + optind, (size_t)(argc - optind), &ro, &r)) != 0)
			return rc;
#endif
	} else {
		gpc_error_clear(&err);
		if (report_collect(&r, certstore_default_dir(dir), argv + optind, (size_t)(argc - optind),
				   &ro, &err) != 0) {
			if (err.code != NULL && strcmp(err.code, "usage") == 0)
				return cli_usage_error("status", "%s", err.message);
			cli_print_error(&err);
			return EXIT_BAD;
		}
	}
	if (fmt != FMT_PROM && !(url != NULL && r.deferred))
		r.alerts = status_alerts(url, &so, dir);
	rc = status_print(&r, fmt);
	json_object_put(r.alerts);
	report_finish(&r);
	return rc;
}

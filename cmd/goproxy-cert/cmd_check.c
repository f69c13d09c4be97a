/* goproxy-cert check: is what is stored valid, complete and matching?
 * Offline: no network, no trust store (a shared store in etcd is the one
 * exception: it is read over the network, by goproxy-cert-acme, which links
 * libcurl; goproxy-cert execs it for --store). The exit code is the answer. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "certstore.h"
#include "cli.h"
#include "connect.h"
#include "report.h"
#include "storeopt.h"

static void check_help(FILE *f)
{
	cli_print_sub_usage(f, "check");
	fputs("\n"
	      "Checks the named lineages, or all of them, offline (no network, no trust store;\n"
	      "a --store is read from its etcd members).\n"
	      "\n"
	      "options:\n"
	      "  -d, --certs-dir DIR  the certs directory (default: $GOPROXY_CERTS_DIR, else ./certs)\n"
	      "      --days N         due when fewer than N days are left (default: the --days that\n"
	      "                       issue stored, else when less than 1/3 of the lifetime is left,\n"
	      "                       1/2 for lifetimes of 10 days or less; as renew decides, a stored\n"
	      "                       ARI time comes first)\n"
	      "  -D, --domain NAME    the names the certificate must hold, exactly (repeatable;\n"
	      "                       case- and order-insensitive, a wildcard matches only itself)\n"
	      "      --json           print a JSON document on stdout instead of text\n"
	      "  -q, --quiet          print nothing; the exit code says it all\n"
	      STOREOPT_HELP
	      "                           (without it the certificates are checked, not their keys)\n"
	      "      --connect HOST[:PORT]  instead: check what the server there serves (repeatable;\n"
	      "                       port 443; [IPv6]:PORT), compared with the store's lineage for\n"
	      "                       the name (-d, $GOPROXY_CERTS_DIR, a LINEAGE, or ./certs)\n"
	      "      --servername NAME  the name to ask for (SNI) and to check (default: HOST)\n"
	      "      --starttls PROTO  upgrade a plain connection first: smtp, imap, pop3, ftp,\n"
	      "                       postgres, ldap (the port then defaults to the protocol's)\n"
	      "      --ca-bundle FILE  verify against these CA certificates only (default: the\n"
	      "                       system trust store)\n"
	      "      --connect-timeout SECONDS  per address: connect + handshake (default 10)\n"
	      "  -h, --help           show this help\n"
	      "\n"
	      "exit status: 0 all ok; 1 some due for renewal and none worse; 2 some expired,\n"
	      "not yet valid, missing, unreadable, invalid or mismatching, or no certs dir;\n"
	      "64 usage error; 75 the --store (etcd) cannot be reached, try later. With\n"
	      "--connect also 1 when a server serves an older (stale) or newer certificate\n"
	      "than the store, 2 when it does not verify, does not cover the name, is unrelated\n"
	      "to the store, or cannot be reached.\n", f);
}

enum { O_CONNECT = 256, O_SERVERNAME, O_STARTTLS, O_CA_BUNDLE, O_CONNECT_TIMEOUT };

/* check's command line. */
struct check_args {
	struct report_options ro;
	const char *dir;
	const char **domains;
	size_t n_domains;
	bool json, quiet;
	struct connect_args ca;
	struct storeopt so;
};

/* The options into *a. Returns -1 to go on, or an exit code (a's arrays
 * freed). */
static int parse_check_options(int argc, char **argv, struct check_args *a)
{
	static const struct option opts[] = {
		{ "certs-dir", required_argument, NULL, 'd' },
		{ "days", required_argument, NULL, 'n' },
		{ "domain", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "connect", required_argument, NULL, O_CONNECT },
		{ "servername", required_argument, NULL, O_SERVERNAME },
		{ "starttls", required_argument, NULL, O_STARTTLS },
		{ "ca-bundle", required_argument, NULL, O_CA_BUNDLE },
		{ "connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT },
		STOREOPT_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	if (cli_exact_options("check", argc, argv, ":d:D:qh", opts) != 0)
		return EXIT_USAGE;
	while ((c = getopt_long(argc, argv, ":d:D:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->dir = optarg;
			break;
		case 'n':
			if (cli_parse_uint("check", "--days", optarg, 36500, &a->ro.days) != 0) {
				free(a->domains);
				free(a->ca.targets);
				return EXIT_USAGE;
			}
			break;
		case 'D': {
			const char **p = realloc(a->domains, (a->n_domains + 1) * sizeof(*p));
			if (p == NULL)
				abort();
			a->domains = p;
			if (*optarg == '\0') {
				free(a->domains);
				free(a->ca.targets);
				return cli_usage_error("check", "--domain: empty name");
			}
			a->domains[a->n_domains++] = optarg;
			break;
		}
		case 'j':
			a->json = true;
			break;
		case 'q':
			a->quiet = true;
			break;
		case O_CONNECT: {
			const char **p = realloc(a->ca.targets, (a->ca.n_targets + 1) * sizeof(*p));
			if (p == NULL)
				abort();
			a->ca.targets = p;
			a->ca.targets[a->ca.n_targets++] = optarg;
			break;
		}
		case O_SERVERNAME:
			a->ca.servername = optarg;
			break;
		case O_STARTTLS:
			a->ca.starttls = optarg;
			break;
		case O_CA_BUNDLE:
			a->ca.ca_bundle = optarg;
			break;
		case O_CONNECT_TIMEOUT:
			a->ca.timeout = optarg;
			break;
		/* as storeopt_take, which only goproxy-cert-acme links */
		case STOREOPT_STORE: a->so.url = optarg; break;
		case STOREOPT_CACERT: a->so.cacert = optarg; break;
		case STOREOPT_CERT: a->so.cert = optarg; break;
		case STOREOPT_KEY: a->so.key = optarg; break;
		case STOREOPT_SEAL: a->so.seal = optarg; break;
		case 'h':
			free(a->domains);
			free(a->ca.targets);
			check_help(stdout);
			return 0;
		case ':':
			free(a->domains);
			free(a->ca.targets);
			return cli_usage_error("check", "option '%s' needs a value", argv[optind - 1]);
		default:
			free(a->domains);
			free(a->ca.targets);
			return cli_usage_error("check", "unknown option '%s'", argv[optind - 1]);
		}
	}
	return -1;
}

int cmd_check(int argc, char **argv)
{
	struct check_args a = { .ro = { .days = -1 } };
	struct report r;
	struct gpc_error err;
	const char *url;
	int rc;

	if ((rc = parse_check_options(argc, argv, &a)) != -1)
		return rc;
	a.ro.domains = a.domains;
	a.ro.n_domains = a.n_domains;
	url = a.so.url != NULL && a.so.url[0] != '\0' ? a.so.url : getenv("GOPROXY_CERT_STORE");
	if (url != NULL && url[0] == '\0')
		url = NULL;
	if (url != NULL || a.so.cacert || a.so.cert || a.so.key || a.so.seal) {
		rc = -1;
		if (url != NULL && a.dir != NULL)
			rc = cli_usage_error("check", "-d %s and --store %s (or $GOPROXY_CERT_STORE) name two "
					     "stores; give one (GOPROXY_CERT_STORE= for the directory)", a.dir, url);
		else if (connect_wanted(&a.ca))
			rc = cli_usage_error("check", "--connect compares servers with a certs directory (-d), "
					     "not with --store");
#ifndef GPC_ACME_TOOL
		else /* the shared store is read by the part that links libcurl */
			rc = cli_exec_acme(argc, argv);
#else
		else
			rc = report_collect_storeopt("check", &a.so, a.dir, argv + optind, (size_t)(argc - optind),
						     &a.ro, &r);
#endif
		if (rc != 0) {
			free(a.ca.targets);
			free(a.domains);
			return rc;
		}
	} else if (connect_wanted(&a.ca)) {
		/* only --connect opens a socket; without it check stays offline */
		rc = connect_check(&a.ca, a.dir, argv + optind, (size_t)(argc - optind), &a.ro, a.json, a.quiet);
		free(a.ca.targets);
		free(a.domains);
		return rc;
	} else {
		gpc_error_clear(&err);
		if (report_collect(&r, certstore_default_dir(a.dir), argv + optind, (size_t)(argc - optind),
				   &a.ro, &err) != 0) {
			free(a.domains);
			if (err.code != NULL && strcmp(err.code, "usage") == 0)
				return cli_usage_error("check", "%s", err.message);
			cli_print_error(&err);
			return EXIT_BAD;
		}
	}
	rc = report_check_exit(&r);
	if (!a.quiet) {
		if (a.json) {
			report_print_json(stdout, &r, false);
		} else {
			report_print_check_text(stdout, &r);
			fflush(stdout);
			report_print_problems(stderr, cli.prog, &r);
		}
	}
	report_finish(&r);
	free(a.domains);
	return rc;
}

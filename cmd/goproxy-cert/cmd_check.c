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

int cmd_check(int argc, char **argv)
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
	struct report_options ro = { .days = -1 };
	const char *dir = NULL;
	const char **domains = NULL;
	size_t n_domains = 0;
	bool json = false, quiet = false;
	struct report r;
	struct gpc_error err;
	struct connect_args ca = { 0 };
	struct storeopt so = { 0 };
	const char *url;
	int c, rc;

	optind = 1;
	opterr = 0;
	if (cli_exact_options("check", argc, argv, ":d:D:qh", opts) != 0)
		return EXIT_USAGE;
	while ((c = getopt_long(argc, argv, ":d:D:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			if (cli_parse_uint("check", "--days", optarg, 36500, &ro.days) != 0) {
				free(domains);
				free(ca.targets);
				return EXIT_USAGE;
			}
			break;
		case 'D': {
			const char **p = realloc(domains, (n_domains + 1) * sizeof(*p));
			if (p == NULL)
				abort();
			domains = p;
			if (*optarg == '\0') {
				free(domains);
				free(ca.targets);
				return cli_usage_error("check", "--domain: empty name");
			}
			domains[n_domains++] = optarg;
			break;
		}
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case O_CONNECT: {
			const char **p = realloc(ca.targets, (ca.n_targets + 1) * sizeof(*p));
			if (p == NULL)
				abort();
			ca.targets = p;
			ca.targets[ca.n_targets++] = optarg;
			break;
		}
		case O_SERVERNAME:
			ca.servername = optarg;
			break;
		case O_STARTTLS:
			ca.starttls = optarg;
			break;
		case O_CA_BUNDLE:
			ca.ca_bundle = optarg;
			break;
		case O_CONNECT_TIMEOUT:
			ca.timeout = optarg;
			break;
		/* as storeopt_take, which only goproxy-cert-acme links */
		case STOREOPT_STORE: so.url = optarg; break;
		case STOREOPT_CACERT: so.cacert = optarg; break;
		case STOREOPT_CERT: so.cert = optarg; break;
		case STOREOPT_KEY: so.key = optarg; break;
		case STOREOPT_SEAL: so.seal = optarg; break;
		case 'h':
			free(domains);
			free(ca.targets);
			check_help(stdout);
			return 0;
		case ':':
			free(domains);
			free(ca.targets);
			return cli_usage_error("check", "option '%s' needs a value", argv[optind - 1]);
		default:
			free(domains);
			free(ca.targets);
			return cli_usage_error("check", "unknown option '%s'", argv[optind - 1]);
		}
	}
	ro.domains = domains;
	ro.n_domains = n_domains;
	url = so.url != NULL && so.url[0] != '\0' ? so.url : getenv("GOPROXY_CERT_STORE");
	if (url != NULL && url[0] == '\0')
		url = NULL;
	if (url != NULL || so.cacert || so.cert || so.key || so.seal) {
		rc = -1;
		if (url != NULL && dir != NULL)
			rc = cli_usage_error("check", "-d %s and --store %s (or $GOPROXY_CERT_STORE) name two "
					     "stores; give one (GOPROXY_CERT_STORE= for the directory)", dir, url);
		else if (connect_wanted(&ca))
			rc = cli_usage_error("check", "--connect compares servers with a certs directory (-d), "
					     "not with --store");
#ifndef GPC_ACME_TOOL
		else /* the shared store is read by the part that links libcurl */
			rc = cli_exec_acme(argc, argv);
#else
		else
			rc = report_collect_storeopt("check", &so, dir, argv + optind, (size_t)(argc - optind), &ro, &r);
#endif
		if (rc != 0) {
			free(ca.targets);
			free(domains);
			return rc;
		}
	} else if (connect_wanted(&ca)) {
		/* only --connect opens a socket; without it check stays offline */
		rc = connect_check(&ca, dir, argv + optind, (size_t)(argc - optind), &ro, json, quiet);
		free(ca.targets);
		free(domains);
		return rc;
	} else {
		gpc_error_clear(&err);
		if (report_collect(&r, certstore_default_dir(dir), argv + optind, (size_t)(argc - optind),
				   &ro, &err) != 0) {
			free(domains);
			if (err.code != NULL && strcmp(err.code, "usage") == 0)
				return cli_usage_error("check", "%s", err.message);
			cli_print_error(&err);
			return EXIT_BAD;
		}
	}
	rc = report_check_exit(&r);
	if (!quiet) {
		if (json) {
			report_print_json(stdout, &r, false);
		} else {
			report_print_check_text(stdout, &r);
			fflush(stdout);
			report_print_problems(stderr, cli.prog, &r);
		}
	}
	report_finish(&r);
	free(domains);
	return rc;
}

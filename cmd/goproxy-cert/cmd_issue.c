/* goproxy-cert issue: get a certificate for a set of names, only if needed.
 * The decision and the rate-limit guard come first and are offline. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "cli.h"
#include "issue_opts.h"
#include "issue.h"
#include "keygen.h"
#include "ledger.h"
#include "lineage.h"
#include "log.h"
#include "solver.h"

static const char usage_text[] =
	"usage: goproxy-cert issue -D NAME [-D NAME]... [options]\n"
	"Get a certificate for the names unless the one on disk is current.\n"
	"\n"
	"  -d, --certs-dir DIR      certs directory (default $GOPROXY_CERTS_DIR or ./certs)\n"
	"  -n, --name LINEAGE       lineage name (default: 'default' = DIR/cert.crt, DIR/priv.key)\n"
	"  -D, --domain NAME        a DNS name, *.wildcard (dns-01 only) or IP address; repeat\n"
	"      --server URL         ACME directory URL (default $GOPROXY_CERT_SERVER or Let's Encrypt)\n"
	"      --staging            Let's Encrypt staging\n"
	"      --ca-bundle FILE     trust anchors for the CA's HTTPS (pebble, private CAs)\n"
	"  -m, --email ADDR         account contact (default $GOPROXY_CERT_EMAIL)\n"
	"      --eab-kid ID, --eab-hmac KEY   External Account Binding\n"
	"      --challenge TYPE     http-01, dns-01 or tls-alpn-01\n"
	"      --http-dir           let goproxyd answer (files under DIR/.state/challenges/)\n"
	"      --webroot DIR        write DIR/.well-known/acme-challenge/TOKEN\n"
	"      --standalone ADDR:PORT  answer http-01 (or tls-alpn-01) itself\n"
	"      --hook PROGRAM       uacme-style hook: PROGRAM begin|done|failed TYPE IDENT TOKEN AUTH\n"
	"      --key-type TYPE      ec256 (default), ec384, rsa2048, rsa3072, rsa4096\n"
	"      --reuse-key          keep the current private key (stored; --no-reuse-key undoes)\n"
	"      --profile NAME       ACME profile (stored; --no-profile drops it)\n"
	"      --preferred-chain CN pick the chain whose top issuer has this CN (stored;\n"
	"                           --no-preferred-chain drops it)\n"
	"      --days N             renew when fewer than N days are left\n"
	"      --force              skip the 'is it current' check (never the rate-limit guard)\n"
	"      --hook-timeout SECONDS  limit for each run of a hook (stored; default 300):\n"
	"                           at the limit it is killed with its process group\n"
	"      --deploy-hook CMD    run with sh -c after the certificate changed (stored;\n"
	"                           --no-deploy-hook drops it)\n"
	"      --rate-limit N/HOURS|off  guard (default 5/168, Let's Encrypt's)\n"
	"      --lock-wait SECONDS  wait at most this long for another run issuing the same\n"
	"                           lineage (default 900), then exit 75\n"
	"      --json               one JSON document with the result\n"
	"  -q, --quiet              print nothing unless it failed\n"
	"  -v, --verbose            say what is done (twice: debug detail)\n"
	"Exit: 0 issued or current, 1 failed, 64 usage, 75 deferred (rate limit, Retry-After, CA unreachable).\n";

enum {
	O_SERVER = 256, O_STAGING, O_CA_BUNDLE, O_EAB_KID, O_EAB_HMAC, O_CHALLENGE, O_HTTP_DIR,
	O_WEBROOT, O_STANDALONE, O_HOOK, O_KEY_TYPE, O_REUSE_KEY, O_PROFILE, O_PREF_CHAIN, O_DAYS,
	O_FORCE, O_DEPLOY, O_RATE, O_JSON, O_NO_REUSE_KEY, O_NO_PROFILE, O_NO_PREF_CHAIN, O_NO_DEPLOY,
	O_LOCK_WAIT, O_HOOK_TIMEOUT,
};

static const struct option longopts[] = {
	{ "certs-dir", required_argument, NULL, 'd' },
	{ "name", required_argument, NULL, 'n' },
	{ "domain", required_argument, NULL, 'D' },
	{ "server", required_argument, NULL, O_SERVER },
	{ "staging", no_argument, NULL, O_STAGING },
	{ "ca-bundle", required_argument, NULL, O_CA_BUNDLE },
	{ "email", required_argument, NULL, 'm' },
	{ "eab-kid", required_argument, NULL, O_EAB_KID },
	{ "eab-hmac", required_argument, NULL, O_EAB_HMAC },
	{ "challenge", required_argument, NULL, O_CHALLENGE },
	{ "http-dir", no_argument, NULL, O_HTTP_DIR },
	{ "webroot", required_argument, NULL, O_WEBROOT },
	{ "standalone", required_argument, NULL, O_STANDALONE },
	{ "hook", required_argument, NULL, O_HOOK },
	{ "key-type", required_argument, NULL, O_KEY_TYPE },
	{ "reuse-key", no_argument, NULL, O_REUSE_KEY },
	{ "no-reuse-key", no_argument, NULL, O_NO_REUSE_KEY },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "no-profile", no_argument, NULL, O_NO_PROFILE },
	{ "no-preferred-chain", no_argument, NULL, O_NO_PREF_CHAIN },
	{ "no-deploy-hook", no_argument, NULL, O_NO_DEPLOY },
	{ "preferred-chain", required_argument, NULL, O_PREF_CHAIN },
	{ "days", required_argument, NULL, O_DAYS },
	{ "force", no_argument, NULL, O_FORCE },
	{ "deploy-hook", required_argument, NULL, O_DEPLOY },
	{ "rate-limit", required_argument, NULL, O_RATE },
	{ "json", no_argument, NULL, O_JSON },
	{ "lock-wait", required_argument, NULL, O_LOCK_WAIT },
	{ "hook-timeout", required_argument, NULL, O_HOOK_TIMEOUT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int set(char **field, const char *v)
{
	if (lineage_set_str(field, v) != 0) {
		fprintf(stderr, "%s: out of memory\n", cli.prog);
		return -1;
	}
	return 0;
}

/* A current certificate: keep the (possibly changed) settings so that
 * `renew` takes the lineage over -- also for a certificate that was on disk
 * before goproxy-cert (a Go-Proxy certs dir). Local files only; a failure
 * (read-only dir) changes nothing about the result. */
static void save_settings(struct certstore *cs, const struct lineage *l)
{
	struct lineage *old = NULL;
	struct gpc_error err;
	char *a = NULL, *b = NULL;

	gpc_error_clear(&err);
	if (lineage_load(cs, l->name, &old, &err) == 0) {
		a = lineage_to_json(old);
		b = lineage_to_json(l);
	}
	if (a == NULL || b == NULL || strcmp(a, b) != 0) {
		if (certstore_lock(cs, true, 5, &err) == 0) {
			if (lineage_save(cs, l, &err) != 0)
				gpc_info("%s: settings not stored: %s", l->name, err.message);
			certstore_unlock(cs);
		} else {
			gpc_info("%s: settings not stored: %s", l->name, err.message);
		}
	}
	free(a);
	free(b);
	lineage_free(old);
}

int cmd_issue(int argc, char **argv)
{
	const char *dir = NULL, *name = CERTSTORE_DEFAULT, *server = NULL, *ca_bundle = NULL;
	const char *email = NULL, *challenge = NULL, *solver = NULL, *solver_arg = NULL;
	const char *key_type = NULL, *profile = NULL, *pref = NULL, *deploy = NULL;
	bool staging = false, reuse_key = false, no_reuse_key = false, json = false, solver_set = false;
	bool no_profile = false, no_pref = false, no_deploy = false;
	int hook_timeout = 0;
	char **domains = NULL;
	size_t nd = 0;
	struct issue_opts o;
	struct issue_outcome out;
	struct issue_env env;
	bool env_ok = false;
	struct certstore *cs = NULL;
	struct lineage *l = NULL;
	struct gpc_error err;
	long v;
	int c, rc = EXIT_USAGE;

	issue_opts_default(&o);
	memset(&out, 0, sizeof(out));
	gpc_error_clear(&err);
	domains = calloc((size_t)argc + 1, sizeof(*domains));
	if (domains == NULL)
		return 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:n:D:m:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': name = optarg; break;
		case 'D': domains[nd++] = optarg; break;
		case 'm': email = optarg; break;
		case 'q': cli.quiet = true; o.quiet = true; break;
		case 'v': cli.verbose++; break;
		case 'h': fputs(usage_text, stdout); rc = 0; goto out;
		case O_SERVER: server = optarg; break;
		case O_STAGING: staging = true; break;
		case O_CA_BUNDLE: ca_bundle = optarg; break;
		case O_EAB_KID: o.eab_kid = optarg; break;
		case O_EAB_HMAC: o.eab_hmac = optarg; break;
		case O_CHALLENGE:
			if (strcmp(optarg, "http-01") && strcmp(optarg, "dns-01") && strcmp(optarg, "tls-alpn-01")) {
				cli_usage_error("issue", "--challenge: '%s' is not http-01, dns-01 or tls-alpn-01", optarg);
				goto out;
			}
			challenge = optarg;
			break;
		case O_HTTP_DIR: case O_WEBROOT: case O_STANDALONE: case O_HOOK:
			if (solver_set) {
				cli_usage_error("issue", "give only one of --http-dir, --webroot, --standalone, --hook");
				goto out;
			}
			solver_set = true;
			solver = c == O_HTTP_DIR ? "http-dir" : c == O_WEBROOT ? "webroot" :
				 c == O_STANDALONE ? "standalone" : "hook";
			solver_arg = c == O_HTTP_DIR ? NULL : optarg;
			break;
		case O_KEY_TYPE: {
			enum keygen_type kt;
			if (keygen_type_parse(optarg, &kt, &err) != 0) {
				cli_usage_error("issue", "--key-type: %s", err.message);
				goto out;
			}
			key_type = keygen_type_name(kt);
			break;
		}
		case O_REUSE_KEY: reuse_key = true; no_reuse_key = false; break;
		case O_NO_REUSE_KEY: no_reuse_key = true; reuse_key = false; break;
		case O_PROFILE:
		case O_PREF_CHAIN:
		case O_DEPLOY:
			if (optarg[0] == '\0') {
				const char *o2 = c == O_PROFILE ? "profile" : c == O_PREF_CHAIN ? "preferred-chain"
											     : "deploy-hook";
				cli_usage_error("issue", "--%s: empty value; to drop the stored one, use --no-%s",
						o2, o2);
				goto out;
			}
			if (c == O_PROFILE) {
				profile = optarg;
				no_profile = false;
			} else if (c == O_PREF_CHAIN) {
				pref = optarg;
				no_pref = false;
			} else {
				deploy = optarg;
				no_deploy = false;
			}
			break;
		case O_NO_PROFILE: no_profile = true; profile = NULL; break;
		case O_NO_PREF_CHAIN: no_pref = true; pref = NULL; break;
		case O_NO_DEPLOY: no_deploy = true; deploy = NULL; break;
		case O_DAYS:
			if (cli_parse_uint("issue", "--days", optarg, 3650, &v) != 0)
				goto out;
			o.days = (int)v;
			break;
		case O_FORCE: o.force = true; break;
		case O_RATE:
			if (ledger_limits_parse(optarg, &o.lim, &err) != 0) {
				cli_usage_error("issue", "%s", err.message);
				goto out;
			}
			break;
		case O_JSON: json = true; break;
		case O_LOCK_WAIT:
			if (cli_parse_uint("issue", "--lock-wait", optarg, 86400, &v) != 0)
				goto out;
			o.lock_wait_secs = (int)v;
			break;
		case O_HOOK_TIMEOUT:
			if (cli_parse_uint("issue", "--hook-timeout", optarg, 86400, &v) != 0)
				goto out;
			if (v < 1) {
				cli_usage_error("issue", "--hook-timeout: '%s' is not a number of seconds from 1 to 86400",
						optarg);
				goto out;
			}
			hook_timeout = (int)v;
			break;
		default:
			cli_usage_error("issue", "unknown option");
			goto out;
		}
	}
	cli_log_init();
	if (optind < argc) {
		cli_usage_error("issue", "unexpected argument '%s' (names go after -D)", argv[optind]);
		goto out;
	}
	if (!certstore_valid_name(name)) {
		cli_usage_error("issue", "-n/--name: '%s' is not a valid lineage name "
				"(one path component of A-Z a-z 0-9 . _ -, not starting with '.', at most 64 bytes)", name);
		goto out;
	}
	if (server && staging) {
		cli_usage_error("issue", "give --server or --staging, not both");
		goto out;
	}
	if ((o.eab_kid == NULL) != (o.eab_hmac == NULL)) {
		cli_usage_error("issue", "--eab-kid and --eab-hmac go together");
		goto out;
	}
	if (email == NULL)
		email = getenv("GOPROXY_CERT_EMAIL");
	if (email != NULL && *email == '\0')
		email = NULL;
	if (ca_bundle == NULL && getenv("GOPROXY_CERT_CA_BUNDLE") && *getenv("GOPROXY_CERT_CA_BUNDLE"))
		ca_bundle = getenv("GOPROXY_CERT_CA_BUNDLE");
	if (solver && strcmp(solver, "standalone") == 0 && challenge && strcmp(challenge, "dns-01") == 0) {
		cli_usage_error("issue", "--standalone cannot answer dns-01; use --hook PROGRAM");
		goto out;
	}
	if (solver && strcmp(solver, "webroot") == 0 && challenge && strcmp(challenge, "http-01") != 0) {
		cli_usage_error("issue", "--webroot answers only http-01");
		goto out;
	}

	cs = issue_open_store(dir, true);
	if (cs == NULL) {
		rc = 1;
		goto out;
	}

	/* Start from the stored settings; options override them. */
	if (lineage_load(cs, name, &l, &err) != 0) {
		if (err.code == NULL || strcmp(err.code, GPC_E_MISSING) != 0) {
			cli_print_error(&err);
			rc = 1;
			goto out;
		}
		gpc_error_clear(&err);
		l = lineage_new(name);
		if (l == NULL)
			goto oom;
		if (nd == 0) {
			cli_usage_error("issue", "no names: give -D NAME (lineage '%s' has no stored settings)", name);
			goto out;
		}
	}
	if (nd > 0 && lineage_set_names(l, domains, nd, &err) != 0) {
		cli_usage_error("issue", "-D: %s", err.message);
		goto out;
	}
	if (server || staging || l->ca_url == NULL)
		if (set(&l->ca_url, server ? server : staging ? ACME_LE_STAGING : cli_default_server()))
			goto oom;
	if ((ca_bundle && set(&l->ca_bundle, ca_bundle)) || (email && set(&l->email, email)) ||
	    (challenge && set(&l->challenge, challenge)) || (key_type && set(&l->key_type, key_type)) ||
	    (profile && set(&l->profile, profile)) || (pref && set(&l->preferred_chain, pref)) ||
	    (deploy && set(&l->deploy_hook, deploy)))
		goto oom;
	if (solver_set && (set(&l->solver, solver) || set(&l->solver_arg, solver_arg)))
		goto oom;
	if ((no_profile && set(&l->profile, NULL)) || (no_pref && set(&l->preferred_chain, NULL)) ||
	    (no_deploy && set(&l->deploy_hook, NULL)))
		goto oom;
	if (reuse_key)
		l->reuse_key = true;
	if (no_reuse_key)
		l->reuse_key = false;
	if (o.days > 0)
		l->days = o.days;
	if (hook_timeout > 0)
		l->hook_timeout = hook_timeout;

	if (l->challenge && strcmp(l->challenge, "dns-01") == 0 && (l->solver == NULL || strcmp(l->solver, "hook") != 0)) {
		cli_usage_error("issue", "--challenge dns-01 needs --hook PROGRAM (a uacme-style hook that sets "
				"the TXT record _acme-challenge.NAME); %s cannot answer it",
				l->solver ? l->solver : "the default solver");
		goto out;
	}

	/* Wildcards: only dns-01 validates them (RFC 8555 §7.1.3), and only a
	 * hook can answer dns-01. */
	for (size_t i = 0; i < l->n_names; i++) {
		if (!lineage_is_wildcard(l->names[i]))
			continue;
		if ((l->challenge && strcmp(l->challenge, "dns-01") != 0) ||
		    (l->solver && strcmp(l->solver, "hook") != 0) || l->solver == NULL) {
			cli_usage_error("issue", "%s is a wildcard name: only the dns-01 challenge can validate it; "
					"use --challenge dns-01 --hook PROGRAM (a uacme-style hook that sets the TXT record)",
					l->names[i]);
			goto out;
		}
		if (l->challenge == NULL && set(&l->challenge, "dns-01"))
			goto oom;
	}

	if (issue_opts_env_init(&env, cs) != 0)
		goto out;
	env_ok = true;
	env.quiet = o.quiet;
	/* Warn before anything is asked of the CA (the library decides again). */
	if (issue_precheck(&env, l, &o, &out) == 1)
		cli_warn_ephemeral(certstore_dir(cs));
	memset(&out, 0, sizeof(out));

	/* The library decides (offline first, then again under the lineage's
	 * issuer lock), orders, commits and records. */
	issue_lineage(&env, l, &o, &out);
	if (out.res == ISSUE_CURRENT)
		save_settings(cs, l);
	issue_print_result(l, &out, json, o.quiet, stdout);
	rc = issue_exit_code(out.res);
	goto out;
oom:
	fprintf(stderr, "%s: out of memory\n", cli.prog);
	rc = 1;
out:
	if (env_ok)
		issue_env_finish(&env);
	lineage_free(l);
	certstore_free(cs);
	free(domains);
	return rc;
}

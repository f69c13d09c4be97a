/* goproxy-cert issue: get a certificate for a set of names, only if needed.
 * The decision and the rate-limit guard come first and are offline. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "acme.h"
#include "cli.h"
#include "timeutil.h"
#include "cmd_notify.h"
#include "issue_opts.h"
#include "issue.h"
#include "issue_dns.h"
#include "dns.h"
#include "godoxy.h"
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
	STOREOPT_HELP
	"  -n, --name LINEAGE       lineage name (default: 'default' = DIR/cert.crt, DIR/priv.key)\n"
	"  -D, --domain NAME        a DNS name, *.wildcard (dns-01 only) or IP address; repeat\n"
	"      --server URL         ACME directory URL (default $GOPROXY_CERT_SERVER or Let's Encrypt)\n"
	"      --staging            Let's Encrypt staging\n"
	"      --ca-bundle FILE     trust anchors for the CA's HTTPS (pebble, private CAs)\n"
	"  -m, --email ADDR         account contact (default $GOPROXY_CERT_EMAIL)\n"
	"      --eab-kid ID, --eab-hmac KEY   External Account Binding\n"
	"      --challenge TYPE     http-01, dns-01, tls-alpn-01, dns-account-01 (the TXT record\n"
	"                           _LABEL._acme-challenge.NAME of this account: --dns or --hook)\n"
	"                           or dns-persist-01 (a standing record: see persist-record)\n"
	"      --http-dir           let goproxyd answer (files under DIR/.state/challenges/)\n"
	"      --webroot DIR        write DIR/.well-known/acme-challenge/TOKEN\n"
	"      --standalone ADDR:PORT  answer http-01 (or tls-alpn-01) itself\n"
	"      --hook PROGRAM       uacme-style hook: PROGRAM begin|done|failed TYPE IDENT TOKEN AUTH\n"
	ISSUE_DNS_USAGE
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
	"      --ephemeral-ok       the certs directory is meant to be temporary (CI): no\n"
	"                           persistence warning, from now on for this directory\n"
	"      --json               one JSON document with the result\n";
/* apart: one string would pass the 4095 bytes C99 promises */
static const char usage_tail[] =
	"      --duplicate          a new lineage may hold the same names as another one\n"
	"                           (refused otherwise: it would ask the CA again)\n"
	NOTIFY_HELP
	"  -q, --quiet              print nothing unless it failed\n"
	"  -v, --verbose            say what is done (twice: debug detail)\n"
	"Exit: 0 issued or current, 1 failed, 64 usage, 75 deferred (rate limit, Retry-After, CA unreachable).\n";

enum {
	O_CHALLENGE = 256, O_HTTP_DIR,
	O_WEBROOT, O_STANDALONE, O_HOOK, O_KEY_TYPE, O_REUSE_KEY, O_PROFILE, O_PREF_CHAIN, O_DAYS,
	O_FORCE, O_DEPLOY, O_RATE, O_JSON, O_NO_REUSE_KEY, O_NO_PROFILE, O_NO_PREF_CHAIN, O_NO_DEPLOY,
	O_LOCK_WAIT, O_HOOK_TIMEOUT, O_EPHEMERAL_OK, O_DUPLICATE,
};

static const struct option longopts[] = {
	{ "certs-dir", required_argument, NULL, 'd' },
	{ "name", required_argument, NULL, 'n' },
	{ "domain", required_argument, NULL, 'D' },
	ACCT_LONGOPTS,
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
	{ "ephemeral-ok", no_argument, NULL, O_EPHEMERAL_OK },
	{ "duplicate", no_argument, NULL, O_DUPLICATE },
	ISSUE_DNS_LONGOPTS,
	NOTIFY_LONGOPTS,
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	STOREOPT_LONG_OPTIONS,
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

/* What the command line asked for (pointers into argv). */
struct issue_args {
	const char *dir, *name, *challenge, *solver, *solver_arg;
	const char *key_type, *profile, *pref, *deploy;
	const char *copy_cert, *copy_key; /* a GoDoxy entry's own cert_path/key_path */
	const char *acme_key;             /* GoDoxy's account key for the CA, or NULL */
	bool acme_key_given;              /* acme_key_path was written in the file */
	struct acct_opts acct; /* the CA, its bundle, the contact, EAB (copied into o) */
	bool reuse_key, no_reuse_key, json, solver_set, no_profile, no_pref, no_deploy, ephemeral_ok;
	bool duplicate; /* --duplicate: another lineage may hold the same names */
	int hook_timeout;
	char **domains;
	size_t nd;
	struct issue_opts o;
	struct issue_dns_args dns;
	struct notify_args na;
};

/* A value-taking option that must not be empty (its --no- form drops it). */
static int set_nonempty(int c, const char **field, bool *no)
{
	if (optarg[0] == '\0') {
		const char *o2 = c == O_PROFILE ? "profile" : c == O_PREF_CHAIN ? "preferred-chain" : "deploy-hook";
		return cli_usage_error("issue", "--%s: empty value; to drop the stored one, use --no-%s", o2, o2);
	}
	*field = optarg;
	*no = false;
	return 0;
}

/* One option into a. Returns 0, or an exit code (64 usage, 0 for --help). */
static int parse_one(int c, struct issue_args *a)
{
	struct gpc_error err;
	long v;

	gpc_error_clear(&err);
	if (issue_dns_is_opt(c))
		return issue_dns_parse(c, optarg, &a->dns);
	switch (c) {
	case 'd': a->dir = optarg; break;
	case 'n': a->name = optarg; break;
	case 'D': a->domains[a->nd++] = optarg; break;
	case 'q': cli.quiet = true; a->o.quiet = true; break;
	case 'v': cli.verbose++; break;
	case 'h': fputs(usage_text, stdout); fputs(usage_tail, stdout); return -2;
	case O_CHALLENGE:
		if (strcmp(optarg, "http-01") && strcmp(optarg, "dns-01") && strcmp(optarg, "tls-alpn-01") &&
		    strcmp(optarg, "dns-persist-01") && strcmp(optarg, "dns-account-01"))
			return cli_usage_error("issue", "--challenge: '%s' is not http-01, dns-01, tls-alpn-01, "
					       "dns-account-01 or dns-persist-01", optarg);
		a->challenge = optarg;
		break;
	case O_HTTP_DIR: case O_WEBROOT: case O_STANDALONE: case O_HOOK:
		if (a->solver_set)
			return cli_usage_error("issue", "give only one of --http-dir, --webroot, --standalone, --hook");
		a->solver_set = true;
		a->solver = c == O_HTTP_DIR ? "http-dir" : c == O_WEBROOT ? "webroot" :
			    c == O_STANDALONE ? "standalone" : "hook";
		a->solver_arg = c == O_HTTP_DIR ? NULL : optarg;
		break;
	case O_KEY_TYPE: {
		enum keygen_type kt;
		if (keygen_type_parse(optarg, &kt, &err) != 0)
			return cli_usage_error("issue", "--key-type: %s", err.message);
		a->key_type = keygen_type_name(kt);
		break;
	}
	case O_REUSE_KEY: a->reuse_key = true; a->no_reuse_key = false; break;
	case O_NO_REUSE_KEY: a->no_reuse_key = true; a->reuse_key = false; break;
	case O_PROFILE: return set_nonempty(c, &a->profile, &a->no_profile);
	case O_PREF_CHAIN: return set_nonempty(c, &a->pref, &a->no_pref);
	case O_DEPLOY: return set_nonempty(c, &a->deploy, &a->no_deploy);
	case O_NO_PROFILE: a->no_profile = true; a->profile = NULL; break;
	case O_NO_PREF_CHAIN: a->no_pref = true; a->pref = NULL; break;
	case O_NO_DEPLOY: a->no_deploy = true; a->deploy = NULL; break;
	case O_DAYS:
		if (cli_parse_uint("issue", "--days", optarg, 3650, &v) != 0)
			return EXIT_USAGE;
		a->o.days = (int)v;
		break;
	case O_FORCE: a->o.force = true; break;
	case O_RATE:
		if (ledger_limits_parse(optarg, &a->o.lim, &err) != 0)
			return cli_usage_error("issue", "%s", err.message);
		break;
	case O_JSON: a->json = true; break;
	case O_EPHEMERAL_OK: a->ephemeral_ok = true; break;
	case O_DUPLICATE: a->duplicate = true; break;
	case O_LOCK_WAIT:
		if (cli_parse_uint("issue", "--lock-wait", optarg, 86400, &v) != 0)
			return EXIT_USAGE;
		a->o.lock_wait_secs = (int)v;
		break;
	case O_HOOK_TIMEOUT:
		if (cli_parse_range("issue", "--hook-timeout", optarg, 1, 86400, &v) != 0)
			return EXIT_USAGE;
		a->hook_timeout = (int)v;
		break;
	default:
		if (acct_opts_take(&a->acct, c, optarg) || storeopt_take(&cli_store, c, optarg) ||
		    notify_args_take(&a->na, c, optarg))
			break;
		return cli_usage_error("issue", "unknown option");
	}
	return 0;
}

/* Options, then the checks that need no store. Returns 0, -2 (--help
 * printed) or an exit code. */
static int parse_args(int argc, char **argv, struct issue_args *a)
{
	int c, r;

	optind = 1;
	if (cli_exact_options("issue", argc, argv, "d:n:D:m:qvh", longopts) != 0)
		return EXIT_USAGE;
	while ((c = getopt_long(argc, argv, "d:n:D:m:qvh", longopts, NULL)) != -1)
		if ((r = parse_one(c, a)) != 0)
			return r;
	cli_log_init();
	if (notify_args_check("issue", &a->na) != 0)
		return EXIT_USAGE;
	if (optind < argc)
		return cli_usage_error("issue", "unexpected argument '%s' (names go after -D)", argv[optind]);
	if (!certstore_valid_name(a->name))
		return cli_usage_error("issue", "-n/--name: '%s' is not a valid lineage name "
				       "(one path component of A-Z a-z 0-9 . _ -, not starting with '.', at most 64 bytes)",
				       a->name);
	if (a->acct.server && a->acct.staging)
		return cli_usage_error("issue", "give --server or --staging, not both");
	if (acct_opts_check("issue", &a->acct) != 0)
		return EXIT_USAGE;
	a->o.eab_kid = a->acct.eab_kid;
	a->o.eab_hmac = a->acct.eab_hmac;
	if (a->solver && strcmp(a->solver, "standalone") == 0 && a->challenge && strcmp(a->challenge, "dns-01") == 0)
		return cli_usage_error("issue", "--standalone cannot answer dns-01; use --hook PROGRAM");
	if (a->solver && strcmp(a->solver, "webroot") == 0 && a->challenge && strcmp(a->challenge, "http-01") != 0)
		return cli_usage_error("issue", "--webroot answers only http-01");
	return 0;
}

/* The lineage to issue: the stored settings with the options over them.
 * Returns 0 with *out, or an exit code (the error printed). */
static int build_lineage(struct certstore *cs, const struct issue_args *a, struct lineage **out)
{
	struct lineage *l = NULL;
	struct gpc_error err;
	int rc = EXIT_USAGE;

	gpc_error_clear(&err);
	if (lineage_load(cs, a->name, &l, &err) != 0) {
		if (err.code == NULL || strcmp(err.code, GPC_E_MISSING) != 0) {
			cli_print_error(&err);
			return 1;
		}
		gpc_error_clear(&err);
		if ((l = lineage_new(a->name)) == NULL)
			goto oom;
		if (a->nd == 0) {
			cli_usage_error("issue", "no names: give -D NAME (lineage '%s' has no stored settings)", a->name);
			goto out;
		}
	}
	/* the CA by the rule every subcommand uses (NULL: the stored one stays) */
	const char *ca = account_ca_url(a->acct.server, a->acct.staging, l->ca_url);
	struct lineage_settings st = {
		.names = a->domains, .n_names = a->nd,
		.ca_url = ca == l->ca_url ? NULL : ca,
		.ca_bundle = a->acct.ca_bundle, .email = a->acct.email, .challenge = a->challenge,
		.key_type = a->key_type, .profile = a->profile, .preferred_chain = a->pref,
		.deploy_hook = a->deploy, .solver_set = a->solver_set, .solver = a->solver,
		.solver_arg = a->solver_arg, .reuse_key = a->reuse_key, .no_reuse_key = a->no_reuse_key,
		.no_profile = a->no_profile, .no_preferred_chain = a->no_pref, .no_deploy_hook = a->no_deploy,
		.days = a->o.days, .hook_timeout = a->hook_timeout,
		.copy_cert = a->copy_cert, .copy_key = a->copy_key,
	};
	if (lineage_apply(l, &st, &err) != 0) {
		if (err.code && strcmp(err.code, GPC_E_NOMEM) == 0)
			goto oom;
		cli_usage_error("issue", "%s%s", err.code && strcmp(err.code, GPC_E_USAGE) == 0 && a->nd ? "-D: " : "",
				err.message);
		goto out;
	}
	if (a->challenge != NULL && strcmp(a->challenge, "dns-persist-01") == 0 && (a->dns.provider || a->solver_set)) {
		cli_usage_error("issue", "--challenge dns-persist-01 writes no DNS and answers nothing itself: drop %s "
				"(goproxy-cert persist-record --dns PROVIDER creates the record once)",
				a->dns.provider ? "--dns" : "the solver option");
		goto out;
	}
	if ((rc = issue_dns_apply(cs, &a->dns, a->solver_set, l)) != 0)
		goto out;

	*out = l;
	return 0;
oom:
	fprintf(stderr, "%s: out of memory\n", cli.prog);
	rc = 1;
out:
	lineage_free(l);
	return rc;
}

/* Which challenge can validate these names with this solver. Returns 0 or 64. */
static int check_challenge(struct lineage *l)
{
	bool dns_solver = l->solver && (strcmp(l->solver, "hook") == 0 || strcmp(l->solver, "dns") == 0);

	if (l->challenge && strcmp(l->challenge, "dns-persist-01") == 0)
		return 0; /* any name, wildcards too: the standing record, no solver */
	if (l->challenge && strcmp(l->challenge, "dns-account-01") == 0 && !dns_solver)
		return cli_usage_error("issue", "--challenge dns-account-01 needs --dns PROVIDER or --hook PROGRAM (it "
				       "gets the record's name in $GOPROXY_CERT_DNS_RECORD); %s cannot answer it",
				       l->solver ? l->solver : "the default solver");
	if (l->challenge && strcmp(l->challenge, "dns-01") == 0 && !dns_solver)
		return cli_usage_error("issue", "--challenge dns-01 needs --dns PROVIDER or --hook PROGRAM (a uacme-style "
				       "hook that sets the TXT record _acme-challenge.NAME); %s cannot answer it",
				       l->solver ? l->solver : "the default solver");
	/* Wildcards: only dns-01 validates them (RFC 8555 §7.1.3), and only a
	 * hook can answer dns-01. */
	for (size_t i = 0; i < l->n_names; i++) {
		if (!lineage_is_wildcard(l->names[i]))
			continue;
		if ((l->challenge && strcmp(l->challenge, "dns-01") != 0 && strcmp(l->challenge, "dns-account-01") != 0) ||
		    !dns_solver)
			return cli_usage_error("issue", "%s is a wildcard name: only the dns-01 challenge can validate it; "
					       "use --dns PROVIDER or --challenge dns-01 --hook PROGRAM (a uacme-style hook "
					       "that sets the TXT record)",
					       l->names[i]);
		if (l->challenge == NULL && set(&l->challenge, "dns-01"))
			return 1;
	}
	return 0;
}

/* The paths this run gives (--webroot, --hook, --ca-bundle) must exist
 * before anything is opened, created or stored, also when the certificate
 * turns out to be current (stored paths are the solver's concern when it
 * runs). Returns 0 or 64 (printed). */
static int check_given_paths(const struct issue_args *a)
{
	struct lineage_settings st = { .ca_bundle = a->acct.ca_bundle, .solver_set = a->solver_set,
				       .solver = a->solver, .solver_arg = a->solver_arg };
	struct lineage *t;
	struct gpc_error err;
	int rc = 0;

	if (!a->solver_set && a->acct.ca_bundle == NULL)
		return 0;
	gpc_error_clear(&err);
	if ((t = lineage_new(CERTSTORE_DEFAULT)) == NULL)
		return 1;
	if (lineage_apply(t, &st, &err) != 0 || lineage_check_paths(t, &err) != 0) {
		cli_print_error(&err);
		rc = EXIT_USAGE;
	}
	lineage_free(t);
	return rc;
}

/* GoDoxy's account key (acme_key_path) becomes the account key for the
 * CA when the store has none for it yet, so the CA is not asked for a
 * second account. A missing file is fine (GoDoxy too makes a new key);
 * a file that is not a key is 64. Returns 0 or an exit code (printed). */
static int godoxy_seed_account(struct issue_env *env, const struct lineage *l, const struct issue_args *a)
{
	struct gpc_error err;
	char dn[128], *pem = NULL;
	int rc = 1;

	if (a->acme_key == NULL || l->ca_url == NULL || issue_account_dirname(l->ca_url, dn, sizeof(dn)) != 0)
		return 0;
	gpc_error_clear(&err);
	int r = account_key_stored(env, l->ca_url, &err);
	if (r == 1)
		return 0; /* an account key is stored: it stays */
	if (r != 0) {
		cli_print_error(&err);
		return 1;
	}
	gpc_error_clear(&err);
	if (godoxy_account_key_pem(a->acme_key, &pem, &err) != 0) {
		if (err.code && strcmp(err.code, GPC_E_MISSING) == 0) {
			if (a->acme_key_given && !a->o.quiet)
				fprintf(stderr, "%s: note: acme_key_path %s does not exist; a new account key is made\n",
					cli.prog, a->acme_key);
			return 0;
		}
		cli_print_error(&err);
		return err.code && strcmp(err.code, GPC_E_USAGE) == 0 ? EXIT_USAGE : 1;
	}
	if (issue_account_store_key(env, l->ca_url, pem, &err) != 0)
		cli_print_error(&err);
	else
		rc = 0;
	if (rc == 0 && !a->o.quiet)
		fprintf(stderr, "%s: the account key for %s is GoDoxy's %s\n", cli.prog, l->ca_url, a->acme_key);
	memset(pem, 0, strlen(pem));
	free(pem);
	return rc;
}

/* A new lineage for names another lineage already holds a current
 * certificate for: refused unless --duplicate, here before anything is
 * stored or asked, and again by the library under the issuer lock.
 * Returns 0 or EXIT_USAGE (printed). */
static int refuse_duplicate(struct certstore *cs, const struct lineage *l, const struct issue_args *a)
{
	struct gpc_error err;

	gpc_error_clear(&err);
	if (a->duplicate || issue_refuse_duplicate(cs, l, &err) == 0)
		return 0;
	cli_print_error(&err);
	return EXIT_USAGE;
}

/* One issue run from parsed arguments: open the store, build the
 * lineage, let the library decide and order, print. Returns the exit code. */
static int issue_run(struct issue_args *a)
{
	struct issue_outcome out;
	struct issue_env env;
	bool env_ok = false;
	struct certstore *cs = NULL;
	struct lineage *l = NULL;
	int rc;

	memset(&out, 0, sizeof(out));
	if ((rc = issue_store_conflict("issue", a->dir)) != 0 || (rc = check_given_paths(a)) != 0)
		goto out;
	cs = issue_open_store(a->dir, true);
	if (cs == NULL) {
		rc = issue_store_exit();
		goto out;
	}
	certstore_set_lock_wait(cs, a->o.lock_wait_secs);
	a->o.refuse_duplicate = !a->duplicate;
	if ((rc = build_lineage(cs, a, &l)) != 0 || (rc = check_challenge(l)) != 0 ||
	    (rc = refuse_duplicate(cs, l, a)) != 0)
		goto out;
	if ((rc = notify_args_store("issue", cs, &a->na)) != 0)
		goto out;
	if (issue_opts_env_init(&env, cs) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	env_ok = true;
	env.quiet = a->o.quiet;
	if ((rc = godoxy_seed_account(&env, l, a)) != 0)
		goto out;
	if (a->ephemeral_ok) {
		if (issue_opts_ack_ephemeral(cs) != 0) {
			rc = 1;
			goto out;
		}
		env.ephemeral_ok = true;
	}

	/* The library decides (offline first, then again under the issuer
	 * lock), orders, commits and records. */
	a->o.store_current = true;
	issue_lineage(&env, l, &a->o, &out);
	issue_print_result(l, &out, a->json, a->o.quiet, stdout);
	rc = issue_exit_code(out.res);
	{ /* alerts of the stored targets: never change the exit code */
		struct issue_job job = { .l = l, .out = out, .todo = true };
		struct notify_events ev = { .done = "issued" };
		notify_events_send(cs, &job, 1, &ev);
	}
out:
	if (env_ok)
		issue_env_finish(&env);
	lineage_free(l);
	certstore_free(cs);
	return rc;
}

/* ---- --godoxy-config ---- */

/* dir of path ("." when none) and its last component, into d and f. */
static void split(const char *path, char *d, size_t dsz, char *f, size_t fsz)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		snprintf(d, dsz, ".");
		snprintf(f, fsz, "%s", path);
	} else {
		snprintf(d, dsz, "%.*s", (int)(slash - path), path);
		snprintf(f, fsz, "%s", slash + 1);
	}
}

/* Where a GoDoxy cert_path/key_path pair lives in goproxy-cert's layout:
 * DIR/cert.crt + DIR/priv.key (lineage default of DIR) or
 * MAIN/NAME/cert.crt + MAIN/NAME/priv.key (lineage NAME of MAIN). Any
 * other pair of paths (certs/other.crt + certs/other.key, as GoDoxy's
 * extra: entries usually have) is lineage NAME of MAIN (the certificate
 * file's name without its extension; for the main block MAIN is the
 * certificate's directory) and *copy is set: the pair is also written at
 * cert_path/key_path after each issuance. */
static int layout(const char *file, const struct godoxy_cert *c, const char *main_dir, char *dir, size_t dirsz,
		  char *name, size_t namesz, bool *copy)
{
	const char *cp = c->cert_path ? c->cert_path : GODOXY_CERT_PATH;
	const char *kp = c->key_path ? c->key_path : GODOXY_KEY_PATH;
	char cd[PATH_MAX], cf[256], kd[PATH_MAX], kf[256], up[PATH_MAX], base[256];

	*copy = false;
	split(cp, cd, sizeof(cd), cf, sizeof(cf));
	split(kp, kd, sizeof(kd), kf, sizeof(kf));
	if (strcmp(cf, CERTSTORE_CERT_FILE) != 0 || strcmp(kf, CERTSTORE_KEY_FILE) != 0 || strcmp(cd, kd) != 0) {
		char *dot;
		snprintf(base, sizeof(base), "%s", cf);
		if ((dot = strrchr(base, '.')) != NULL && dot != base)
			*dot = '\0';
		if (strcmp(cp, kp) == 0)
			return cli_usage_error("issue", "%s (line %d): cert_path and key_path are the same file %s",
					       file, c->line, cp);
		if (!certstore_valid_name(base) || strcmp(base, CERTSTORE_DEFAULT) == 0)
			return cli_usage_error("issue", "%s (line %d): cert_path %s: '%s' cannot name a lineage (one "
					       "path component of A-Z a-z 0-9 . _ -, not 'default')", file, c->line, cp,
					       base);
		snprintf(dir, dirsz, "%s", main_dir ? main_dir : cd);
		snprintf(name, namesz, "%s", base);
		*copy = true;
		return 0;
	}
	split(cd, up, sizeof(up), base, sizeof(base));
	if (main_dir != NULL && strcmp(up, main_dir) == 0 && certstore_valid_name(base)) {
		snprintf(dir, dirsz, "%s", main_dir);
		snprintf(name, namesz, "%s", base);
	} else {
		snprintf(dir, dirsz, "%s", cd);
		snprintf(name, namesz, "%s", CERTSTORE_DEFAULT);
	}
	return 0;
}

/* lego's options common to every provider: propagation_timeout is
 * --dns-propagation-timeout; ttl goes to a provider that has a ttl option;
 * polling_interval and sequence_interval have no counterpart (the check
 * asks each server on its own schedule; the records are set together) and
 * are accepted and ignored, said under -v. *ttl_kv: a malloc'd "ttl=N" or
 * NULL. Returns 0 or 64 (printed). */
static int godoxy_common_opts(const char *file, const struct godoxy_cert *c, const struct dns_provider_ops *ops,
			      struct issue_args *a, char **ttl_kv)
{
	*ttl_kv = NULL;
	if (c->propagation_timeout_ms >= 0) {
		long s = (c->propagation_timeout_ms + 999) / 1000;
		if (s < 1 || s > 86400)
			return cli_usage_error("issue", "%s (line %d): propagation_timeout: between 1s and 24h", file,
					       c->line);
		a->dns.timeout = (int)s;
		a->dns.check = true;
	}
	if (c->ttl >= 0) {
		if (ops != NULL && dns_opt_find(ops, "ttl") != NULL) {
			if (asprintf(ttl_kv, "ttl=%ld", c->ttl) < 0) {
				*ttl_kv = NULL;
				return cli_usage_error("issue", "out of memory");
			}
		} else if (cli.verbose) {
			fprintf(stderr, "%s: %s (line %d): ttl: provider %s sets its own TTL; ignored\n", cli.prog, file,
				c->ttl_line, c->provider);
		}
	}
	if (cli.verbose && c->polling_interval_ms >= 0)
		fprintf(stderr, "%s: %s (line %d): polling_interval: ignored (the propagation check asks each "
			"authoritative server on its own schedule)\n", cli.prog, file, c->line);
	if (cli.verbose && c->sequence_interval_ms >= 0)
		fprintf(stderr, "%s: %s (line %d): sequence_interval: ignored (all records are set before the "
			"CA is told)\n", cli.prog, file, c->line);
	return 0;
}

/* --godoxy-config FILE: one issue run for each certificate of the file's
 * autocert block (the main one and each of extra:): its values first, the
 * command line's options over them (they win), through the same
 * build_lineage as options alone. Returns the worst exit code
 * (64 > 1 > 75 > 0). */
/* One entry of a GoDoxy config before anything is asked of a CA: a
 * provider that issues, ca_dir_url for custom, EAB as a pair, one CA
 * bundle, names. Returns 0 or EXIT_USAGE (printed). */
static int godoxy_check_entry(const char *file, const struct godoxy_cert *c)
{
	char list[1024];

	/* GoDoxy: no provider is local (use the pair as it is) */
	if (c->provider == NULL || strcmp(c->provider, "local") == 0 || strcmp(c->provider, "pseudo") == 0)
		return cli_usage_error("issue", "%s (line %d): provider %s: GoDoxy uses the certificate at cert_path "
				       "as it is; there is nothing to issue (goproxy-cert check -d DIR checks it)", file,
				       c->line, c->provider ? c->provider : "local (none given)");
	if (strcmp(c->provider, "custom") == 0 && c->ca_dir_url == NULL)
		return cli_usage_error("issue", "%s (line %d): provider custom needs ca_dir_url: the ACME directory "
				       "URL of the CA (GoDoxy's meaning of custom)", file, c->line);
	if (strcmp(c->provider, "custom") != 0 && dns_provider_find(c->provider) == NULL)
		return cli_usage_error("issue", "%s (line %d): provider '%s' is not supported here (%s, or custom "
				       "with ca_dir_url); the closest is '%s'", file, c->line, c->provider,
				       dns_provider_list(list, sizeof(list)), dns_provider_closest(c->provider));
	if ((c->eab_kid == NULL) != (c->eab_hmac == NULL))
		return cli_usage_error("issue", "%s (line %d): eab_kid and eab_hmac go together (GoDoxy requires "
				       "both)", file, c->line);
	if (c->n_ca_certs > 1)
		return cli_usage_error("issue", "%s (line %d): ca_certs lists %zu files; goproxy-cert trusts one CA "
				       "bundle file per lineage: concatenate them (cat %s %s ... > roots.pem) and list "
				       "that one", file, c->line, c->n_ca_certs, c->ca_certs[0], c->ca_certs[1]);
	if (c->n_domains == 0)
		return cli_usage_error("issue", "%s (line %d): no domains", file, c->line);
	return 0;
}

/* Every entry checked, and no two landing on one lineage (GoDoxy requires
 * distinct paths), before the first request; main_dir gets the main
 * entry's directory. Returns 0 or an exit code (printed). */
static int godoxy_check_all(const char *file, const struct godoxy_autocert *g, char *main_dir, size_t mdsz)
{
	char (*seen)[PATH_MAX + 256] = calloc(g->n ? g->n : 1, sizeof(*seen));
	int rc = EXIT_USAGE;

	if (seen == NULL) {
		fprintf(stderr, "%s: out of memory\n", cli.prog);
		return 1;
	}
	for (size_t i = 0; i < g->n; i++) {
		const struct godoxy_cert *c = &g->certs[i];
		char d[PATH_MAX], n[256];
		bool copy;
		if (godoxy_check_entry(file, c) != 0 ||
		    layout(file, c, i == 0 ? NULL : main_dir, d, sizeof(d), n, sizeof(n), &copy) != 0)
			goto out;
		if (i == 0)
			snprintf(main_dir, mdsz, "%s", d);
		snprintf(seen[i], sizeof(seen[i]), "%s/%s", d, n);
		for (size_t j = 0; j < i; j++)
			if (strcmp(seen[j], seen[i]) == 0) {
				cli_usage_error("issue", "%s (line %d): this certificate would be lineage %s like the one at "
						"line %d; give each its own cert_path file name", file, c->line, seen[i],
						g->certs[j].line);
				goto out;
			}
	}
	rc = 0;
out:
	free(seen);
	return rc;
}

/* The file's settings of entry c into a: where its lineage lives (into
 * dir, PATH_MAX, and name, 256 bytes, which a points to), the names, the
 * provider and its options (strings made here go to kv[], *nkv of them),
 * the CA and the account. Returns 0, EXIT_USAGE (printed)
 * or -1 (out of memory). */
static int godoxy_entry_args(const char *file, const struct godoxy_cert *c, const char *main_dir, char *dir,
			     char *name, struct issue_args *a, char **kv, size_t *nkv, char *acme_key, size_t aksz)
{
	bool copy;

	(void)layout(file, c, main_dir, dir, PATH_MAX, name, 256, &copy);
	a->dir = dir;
	a->name = name;
	if (copy) {
		a->copy_cert = c->cert_path ? c->cert_path : GODOXY_CERT_PATH;
		a->copy_key = c->key_path ? c->key_path : GODOXY_KEY_PATH;
	}
	for (size_t k = 0; k < c->n_domains; k++)
		a->domains[a->nd++] = c->domains[k];
	/* custom: a CA of one's own (ca_dir_url), no DNS provider: the
	 * default solver, or the command line's */
	const struct dns_provider_ops *ops = dns_provider_find(c->provider);
	a->dns.provider = ops ? ops->name : NULL;
	a->key_type = c->key_type;
	a->acme_key = c->acme_key_path ? c->acme_key_path : godoxy_acme_key_default(c->ca_dir_url, acme_key, aksz);
	a->acme_key_given = c->acme_key_path != NULL;
	if (godoxy_common_opts(file, c, ops, a, &kv[*nkv]) != 0)
		return EXIT_USAGE;
	if (kv[*nkv] != NULL)
		a->dns.opts[a->dns.n_opts++] = kv[(*nkv)++];
	for (size_t k = 0; k < c->n_opts && *nkv < ISSUE_DNS_MAX; k++) {
		if (asprintf(&kv[*nkv], "%s=%s", c->opts[k].key, c->opts[k].value) < 0) {
			kv[*nkv] = NULL;
			return -1;
		}
		a->dns.opts[a->dns.n_opts++] = kv[(*nkv)++];
	}
	for (size_t k = 0; k < c->n_resolvers && k < ISSUE_DNS_MAX; k++)
		a->dns.resolvers[a->dns.n_resolvers++] = c->resolvers[k];
	a->acct.email = c->email;
	a->acct.server = c->ca_dir_url;
	a->acct.ca_bundle = c->n_ca_certs > 0 ? c->ca_certs[0] : NULL;
	if (c->eab_kid && c->eab_hmac) {
		a->acct.eab_kid = c->eab_kid;
		a->acct.eab_hmac = c->eab_hmac;
	}
	return 0;
}

/* Issue entry c: its settings, the command line's options over them, the
 * run. Returns the exit code. */
static int godoxy_issue_one(const char *file, const struct godoxy_cert *c, const char *main_dir, int argc,
			    char **argv)
{
	struct issue_args a = { .name = CERTSTORE_DEFAULT };
	char d[PATH_MAX], n[256], *kv[ISSUE_DNS_MAX], acme_key[PATH_MAX];
	size_t nkv = 0;
	int rc;

	memset(kv, 0, sizeof(kv));
	issue_opts_default(&a.o);
	a.domains = calloc(c->n_domains + (size_t)argc + 1, sizeof(*a.domains));
	rc = a.domains == NULL ? -1 : godoxy_entry_args(file, c, main_dir, d, n, &a, kv, &nkv, acme_key,
							sizeof(acme_key));
	if (rc == 0) {
		/* the command line's own options over the file's (its
		 * --no-dns-propagation-check over the file's propagation_timeout) */
		bool file_check = a.dns.check;
		int file_timeout = a.dns.timeout;
		rc = parse_args(argc, argv, &a);
		if (rc == 0 && file_check && a.dns.no_check && a.dns.timeout == file_timeout && a.dns.wait == 0)
			a.dns.check = false;
		a.na.godoxy = file; /* its providers.notification, unless --notify */
		if (rc == 0)
			rc = issue_run(&a);
		else if (rc == -2)
			rc = 0;
	} else if (rc == -1) {
		fprintf(stderr, "%s: out of memory\n", cli.prog);
		rc = 1;
	}
	for (size_t k = 0; k < nkv; k++) {
		memset(kv[k], 0, strlen(kv[k]));
		free(kv[k]);
	}
	free(a.domains);
	return rc;
}

static int issue_godoxy(const char *file, int argc, char **argv)
{
	struct godoxy_autocert g;
	struct gpc_error err;
	char main_dir[PATH_MAX] = "";
	int worst = 0, rc;

	gpc_error_clear(&err);
	if (godoxy_load(file, &g, &err) != 0) {
		cli_print_error(&err);
		/* a config file that cannot be used is a usage error, whatever
		 * is wrong with it (missing, unreadable, YAML syntax, a bad
		 * value): 64, as for a bad option (goproxy-cert(1) EXIT STATUS) */
		return err.code && strcmp(err.code, GPC_E_NOMEM) == 0 ? 1 : EXIT_USAGE;
	}
	/* everything is checked before the first request */
	if ((rc = godoxy_check_all(file, &g, main_dir, sizeof(main_dir))) != 0) {
		godoxy_finish(&g);
		return rc;
	}
	for (size_t i = 0; i < g.n; i++) {
		rc = godoxy_issue_one(file, &g.certs[i], i == 0 ? NULL : main_dir, argc, argv);
		if (rc == EXIT_USAGE || (rc == 1 && worst != EXIT_USAGE) || (rc == EXIT_DEFER && worst == 0))
			worst = rc;
	}
	godoxy_finish(&g);
	return worst;
}

int cmd_issue(int argc, char **argv)
{
	struct issue_args a = { .name = CERTSTORE_DEFAULT };
	int rc;

	issue_opts_default(&a.o);
	a.domains = calloc((size_t)argc + 1, sizeof(*a.domains));
	if (a.domains == NULL)
		return 1;
	rc = parse_args(argc, argv, &a);
	if (rc != 0)
		rc = rc == -2 ? 0 : rc;
	else if (a.dns.godoxy != NULL)
		rc = issue_godoxy(a.dns.godoxy, argc, argv);
	else
		rc = issue_run(&a);
	free(a.domains);
	return rc;
}

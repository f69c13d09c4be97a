/* goproxy-cert renew: renew every due lineage; cron-safe.
 * Offline first: each lineage is decided (files, policy) and guarded (ledger,
 * back-off) before anything touches the network; then the due ones run
 * concurrently (--concurrency, default 4) sharing one account per CA and one
 * connection pool (each thread has its own acme_client, as acme.h requires). */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <gnutls/crypto.h>

#include "cli.h"
#include "cmd_notify.h"
#include "issue_opts.h"
#include "issue_dns.h"
#include "issue.h"
#include "ledger.h"
#include "lineage.h"
#include "log.h"
#include "timeutil.h"
#include "policy.h"
#include "x509.h"
#include "buf.h"

static const char usage_text[] =
	"usage: goproxy-cert renew [-d DIR] [LINEAGE...] [options]\n"
	"Renew every lineage that is due (all with stored settings, or the ones named).\n"
	"\n"
	"  -d, --certs-dir DIR      certs directory (default $GOPROXY_CERTS_DIR or ./certs)\n"
	STOREOPT_HELP
	"      --days N             due when fewer than N days are left (default: ARI time, else 1/3 of lifetime)\n"
	"      --force              renew even what is not due (never past the rate-limit guard)\n"
	"      --jitter SECONDS     sleep a random time first, only when something is due\n"
	"      --concurrency N      lineages renewed at once (default 4)\n"
	"      --rate-limit N/HOURS|off  guard (default 5/168)\n"
	"      --lock-wait SECONDS  wait at most this long for another run issuing a lineage\n"
	"                           (default 900), then report it deferred (75)\n"
	"      --hook-timeout SECONDS  limit for each hook run in this run (default: the\n"
	"                           lineage's stored one, else 300)\n"
	"      --json               one JSON document with a result per lineage\n"
	"      --ephemeral-ok       the certs directory is meant to be temporary (CI): no\n"
	"                           persistence warning, from now on for this directory\n"
	"Settings for the LINEAGEs named (as issue takes them; stored only when renewed):\n"
	"      --server URL, --ca-bundle FILE, --profile NAME\n"
	"      --http-dir | --webroot DIR | --standalone ADDR:PORT | --hook PROGRAM\n"
	"      --dns PROVIDER, --dns-opt KEY=VALUE, --dns-resolver ADDR[:PORT],\n"
	"      --dns-propagation-timeout SECONDS, --dns-propagation-wait SECONDS,\n"
	"      --no-dns-propagation-check\n"
	NOTIFY_HELP
	"  -q, --quiet              print nothing unless a lineage failed\n"
	"  -v, --verbose\n"
	"Exit: 0 all current or renewed, 1 a lineage failed, 75 none failed but one was deferred.\n";

enum {
	O_DAYS = 256, O_FORCE, O_JITTER, O_CONC, O_RATE, O_JSON, O_LOCK_WAIT, O_HOOK_TIMEOUT,
	O_SERVER, O_CA_BUNDLE, O_PROFILE, O_HTTP_DIR, O_WEBROOT, O_STANDALONE, O_HOOK, O_EPHEMERAL_OK,
};

static const struct option longopts[] = {
	{ "certs-dir", required_argument, NULL, 'd' },
	{ "days", required_argument, NULL, O_DAYS },
	{ "force", no_argument, NULL, O_FORCE },
	{ "jitter", required_argument, NULL, O_JITTER },
	{ "concurrency", required_argument, NULL, O_CONC },
	{ "rate-limit", required_argument, NULL, O_RATE },
	{ "json", no_argument, NULL, O_JSON },
	{ "lock-wait", required_argument, NULL, O_LOCK_WAIT },
	{ "hook-timeout", required_argument, NULL, O_HOOK_TIMEOUT },
	{ "server", required_argument, NULL, O_SERVER },
	{ "ca-bundle", required_argument, NULL, O_CA_BUNDLE },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "http-dir", no_argument, NULL, O_HTTP_DIR },
	{ "webroot", required_argument, NULL, O_WEBROOT },
	{ "standalone", required_argument, NULL, O_STANDALONE },
	{ "hook", required_argument, NULL, O_HOOK },
	{ "ephemeral-ok", no_argument, NULL, O_EPHEMERAL_OK },
	ISSUE_DNS_LONGOPTS,
	NOTIFY_LONGOPTS,
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	STOREOPT_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static void progress(const char *lineage, void *ud)
{
	(void)ud;
	fprintf(stderr, "%s: renewing %s ...\n", cli.prog, lineage);
}

/* One result per lineage, in name order (text or one JSON document).
 * Returns the exit code: 64 when one failed on a usage or settings error (as
 * issue exits), else 1 when one failed, else 75 when one was deferred,
 * else 0. */
static int print_results(const struct issue_job *jobs, size_t n, bool json, bool quiet, const char *dir)
{
	int nfail = 0, ndef = 0, nren = 0, ncur = 0, nusage = 0;

	for (size_t i = 0; i < n; i++) {
		switch (jobs[i].out.res) {
		case ISSUE_USAGE: nusage++; nfail++; break;
		case ISSUE_FAILED: nfail++; break;
		case ISSUE_DEFERRED: ndef++; break;
		case ISSUE_ISSUED: nren++; break;
		case ISSUE_CURRENT: ncur++; break;
		}
	}
	if (json) {
		struct json_object *doc = json_object_new_object(), *arr = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			if (jobs[i].out.res != ISSUE_CURRENT && jobs[i].out.res != ISSUE_ISSUED)
				cli_print_error(&jobs[i].out.err);
			json_object_array_add(arr, issue_result_json(jobs[i].l, &jobs[i].out));
		}
		json_object_object_add(doc, "results", arr);
		json_object_object_add(doc, "renewed", json_object_new_int(nren));
		json_object_object_add(doc, "current", json_object_new_int(ncur));
		json_object_object_add(doc, "failed", json_object_new_int(nfail));
		json_object_object_add(doc, "deferred", json_object_new_int(ndef));
		printf("%s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								     JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(doc);
	} else {
		for (size_t i = 0; i < n; i++) {
			bool trouble = jobs[i].out.res == ISSUE_FAILED || jobs[i].out.res == ISSUE_USAGE;
			if (quiet && !trouble)
				continue;
			issue_print_result(jobs[i].l, &jobs[i].out, false, false, stdout);
		}
		if (n == 0 && !quiet)
			printf("no lineages with stored settings in %s (run 'goproxy-cert issue' first)\n", dir);
	}
	/* A cause gives the code it gives in issue: a setting the CA refuses
	 * (EAB required, a bad profile) is 64 in both (issue 24). */
	return nusage ? EXIT_USAGE : nfail ? 1 : ndef ? EXIT_DEFER : 0;
}

/* Pairs that no `issue` set up (put there by hand, by GoDoxy, or moved
 * over from another machine) have no settings, so renew cannot renew them;
 * one that is due or expired is named on stderr -- also under -q, so cron
 * mails -- with how to adopt it (issue 24). Returns how many are due or
 * expired. */
static int unmanaged_due(struct certstore *cs, const char *dir, char **managed, size_t nm,
			 struct notify_events *ev)
{
	char **pairs = NULL;
	size_t np = 0;
	struct gpc_error err;
	int bad = 0;
	time_t now = time_now();

	gpc_error_clear(&err);
	if (certstore_list(cs, &pairs, &np, &err) != 0)
		return 0; /* the lineages' own errors say it */
	for (size_t i = 0; i < np; i++) {
		bool known = false;
		for (size_t j = 0; j < nm && !known; j++)
			known = strcmp(pairs[i], managed[j]) == 0;
		if (known)
			continue;
		struct buf cert, key;
		struct x509_chain *chain = NULL;
		buf_init(&cert, CERTSTORE_MAX_FILE);
		buf_init(&key, CERTSTORE_MAX_FILE);
		if (certstore_read_pair(cs, pairs[i], &cert, &key, &err) == 0 &&
		    x509_chain_parse(pairs[i], cert.data, cert.len, &chain, NULL, &err) == 0) {
			const struct x509_info *in = x509_chain_info(chain, 0);
			struct policy_result pr;
			char t[32], *names = NULL;
			size_t nl = 0;
			policy_due(in->not_before, in->not_after, now, -1, 0, &pr);
			if (pr.due || now >= in->not_after) {
				for (size_t k = 0; k < in->n_names; k++)
					nl += strlen(in->names[k]) + 4;
				names = calloc(1, nl + 1);
				for (size_t k = 0; names && k < in->n_names; k++) {
					strcat(names, " -D ");
					strcat(names, in->names[k]);
				}
				notify_events_unmanaged(ev, pairs[i], now >= in->not_after, in->not_after, names);
				fprintf(stderr, "%s renew: %s: %s %s, and no 'issue' manages it (no stored settings), "
					"so renew cannot renew it\n  hint: adopt it once: goproxy-cert issue -d %s%s%s%s "
					"[--dns PROVIDER | --http-dir | ...]\n",
					cli.prog, pairs[i], now >= in->not_after ? "expired at" : "due since",
					time_rfc3339(now >= in->not_after ? in->not_after : pr.due_at, t, sizeof(t)), dir,
					strcmp(pairs[i], CERTSTORE_DEFAULT) ? " -n " : "",
					strcmp(pairs[i], CERTSTORE_DEFAULT) ? pairs[i] : "", names ? names : "");
				free(names);
				bad++;
			}
		}
		gpc_error_clear(&err);
		x509_chain_free(chain);
		buf_finish(&cert);
		if (key.data)
			gnutls_memset(key.data, 0, key.len);
		buf_finish(&key);
	}
	certstore_names_free(pairs, np);
	return bad;
}

/* renew's settings options over a lineage's stored ones (the same library
 * function as issue's). Returns 0, or an exit code (printed). */
static int apply_settings(struct certstore *cs, const struct lineage_settings *st,
			  const struct issue_dns_args *dns, struct issue_job *j)
{
	struct gpc_error err;
	int r;

	gpc_error_clear(&err);
	if (lineage_apply(j->l, st, &err) != 0) {
		cli_usage_error("renew", "%s: %s", j->l->name, err.message);
		return EXIT_USAGE;
	}
	if ((r = issue_dns_apply(cs, dns, st->solver_set, j->l)) != 0)
		return r;
	if (lineage_check_paths(j->l, &err) != 0) {
		cli_print_error(&err);
		return EXIT_USAGE;
	}
	if (st->solver_set && j->l->challenge != NULL && strcmp(j->l->challenge, "dns-01") == 0 &&
	    strcmp(st->solver, "hook") != 0)
		(void)lineage_set_str(&j->l->challenge, NULL); /* the new solver picks its type */
	return 0;
}

/* renew's command line. */
struct renew_args {
	const char *dir;
	struct issue_opts o;
	bool json, ephemeral_ok;
	long jitter, conc;
	bool have_settings;          /* settings options for the lineages named */
	struct lineage_settings st;
	struct issue_dns_args dns;
	struct notify_args na;
};

/* The options into *a. Returns -1 to go on, or an exit code. */
static int parse_renew_options(int argc, char **argv, struct renew_args *a)
{
	struct gpc_error err;
	long v;
	int c;

	memset(a, 0, sizeof(*a));
	a->conc = 4;
	issue_opts_default(&a->o);
	a->o.backoff = true;
	a->o.ari_refresh = true;
	a->o.reload = true;
	gpc_error_clear(&err);
	optind = 1;
	if (cli_exact_options("renew", argc, argv, "d:qvh", longopts) != 0)
		return EXIT_USAGE;
	while ((c = getopt_long(argc, argv, "d:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': a->dir = optarg; break;
		case 'q': cli.quiet = true; a->o.quiet = true; break;
		case 'v': cli.verbose++; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case O_DAYS:
			if (cli_parse_uint("renew", "--days", optarg, 3650, &v) != 0)
				return EXIT_USAGE;
			a->o.days = (int)v;
			break;
		case O_FORCE: a->o.force = true; break;
		case O_JITTER:
			if (cli_parse_uint("renew", "--jitter", optarg, 86400, &a->jitter) != 0)
				return EXIT_USAGE;
			break;
		case O_CONC:
			if (cli_parse_uint("renew", "--concurrency", optarg, 64, &a->conc) != 0)
				return EXIT_USAGE;
			if (a->conc < 1)
				a->conc = 1;
			break;
		case O_RATE:
			if (ledger_limits_parse(optarg, &a->o.lim, &err) != 0)
				return cli_usage_error("renew", "%s", err.message);
			break;
		case O_JSON: a->json = true; break;
		case O_LOCK_WAIT:
			if (cli_parse_uint("renew", "--lock-wait", optarg, 86400, &v) != 0)
				return EXIT_USAGE;
			a->o.lock_wait_secs = (int)v;
			break;
		case O_HOOK_TIMEOUT:
			if (cli_parse_range("renew", "--hook-timeout", optarg, 1, 86400, &v) != 0)
				return EXIT_USAGE;
			a->o.hook_timeout_ms = v * 1000L;
			break;
		case O_EPHEMERAL_OK: a->ephemeral_ok = true; break;
		case O_SERVER: a->st.ca_url = optarg; a->have_settings = true; break;
		case O_CA_BUNDLE: a->st.ca_bundle = optarg; a->have_settings = true; break;
		case O_PROFILE:
			if (*optarg == '\0')
				return cli_usage_error("renew", "--profile: empty value");
			a->st.profile = optarg;
			a->have_settings = true;
			break;
		case O_HTTP_DIR: case O_WEBROOT: case O_STANDALONE: case O_HOOK:
			if (a->st.solver_set)
				return cli_usage_error("renew", "give only one of --http-dir, --webroot, --standalone, --hook");
			a->st.solver_set = a->have_settings = true;
			a->st.solver = c == O_HTTP_DIR ? "http-dir" : c == O_WEBROOT ? "webroot" :
				    c == O_STANDALONE ? "standalone" : "hook";
			a->st.solver_arg = c == O_HTTP_DIR ? NULL : optarg;
			break;
		default:
			if (issue_dns_is_opt(c)) {
				int r = issue_dns_parse(c, optarg, &a->dns);
				if (r != 0)
					return r;
				if (a->dns.godoxy != NULL)
					return cli_usage_error("renew", "--godoxy-config is an issue option: "
							       "goproxy-cert issue --godoxy-config FILE");
				a->have_settings = true;
				break;
			}
			if (storeopt_take(&cli_store, c, optarg) || notify_args_take(&a->na, c, optarg))
				break;
			return cli_usage_error("renew", "unknown option");
		}
	}
	cli_log_init();
	if (notify_args_check("renew", &a->na) != 0)
		return EXIT_USAGE;
	for (int i = optind; i < argc; i++)
		if (!certstore_valid_name(argv[i]))
			return cli_usage_error("renew", "'%s' is not a valid lineage name", argv[i]);
	if (a->have_settings && optind >= argc)
		return cli_usage_error("renew", "settings options (--server, --webroot, --dns, ...) apply to the "
				       "lineages named: give them (goproxy-cert renew [options] LINEAGE...)");
	/* The run's settings replace the stored ones for the lineages named;
	 * they are stored only when a lineage is renewed with them, so the
	 * stored ones must not be re-read over them under the lock. */
	if (a->have_settings)
		a->o.reload = false;
	return -1;
}

/* Offline: which lineages are due (the library decides again under each
 * lineage's issuer lock). Fills jobs[0..n) and *ndue. Returns 0 or an exit
 * code. */
static int plan_jobs(struct certstore *cs, struct issue_env *env, struct renew_args *a, char **names, size_t n,
		     struct issue_job *jobs, size_t *ndue)
{
	for (size_t i = 0; i < n; i++) {
		struct issue_job *j = &jobs[i];
		if (lineage_load(cs, names[i], &j->l, &j->out.err) != 0) {
			j->l = lineage_new(names[i]);
			if (j->l == NULL)
				return 1;
			if (j->out.err.code && strcmp(j->out.err.code, GPC_E_MISSING) == 0) {
				char d[512];
				char *close = lineage_closest(cs, names[i]);
				gpc_error_set(&j->out.err, GPC_E_MISSING, "%s: no stored settings (%s)", names[i],
					      lineage_describe(cs, names[i], d, sizeof(d)));
				if (close != NULL)
					gpc_error_hint(&j->out.err, "did you mean '%s'? (renew %s)", close, close);
				else
					gpc_error_hint(&j->out.err, "run 'goproxy-cert issue -n %s -D NAME...' once",
						       names[i]);
				free(close);
			}
			j->out.res = ISSUE_FAILED;
			continue;
		}
		if (a->have_settings && apply_settings(cs, &a->st, &a->dns, j) != 0)
			return EXIT_USAGE;
		if (issue_precheck(env, j->l, &a->o, &j->out) == 1) {
			j->todo = true;
			(*ndue)++;
		}
	}
	return 0;
}

int cmd_renew(int argc, char **argv)
{
	struct renew_args a;
	struct issue_env env;
	bool env_ok = false;
	struct certstore *cs = NULL;
	struct gpc_error err;
	char **names = NULL;
	size_t n = 0, ndue = 0;
	struct issue_job *jobs = NULL;
	int rc;
	bool from_list = false;
	struct notify_events ev = { 0 };

	if ((rc = parse_renew_options(argc, argv, &a)) != -1)
		return rc;
	gpc_error_clear(&err);
	if ((rc = issue_store_conflict("renew", a.dir)) != 0)
		return rc;
	cs = issue_open_store(a.dir, false);
	if (cs == NULL)
		return issue_store_exit();
	certstore_set_lock_wait(cs, a.o.lock_wait_secs);
	if (optind < argc) {
		n = (size_t)(argc - optind);
		names = argv + optind;
	} else {
		if (lineage_list(cs, &names, &n, &err) != 0) {
			cli_print_error(&err);
			/* a store that cannot be reached now (etcd without quorum) */
			rc = issue_exit_code(issue_classify(&err));
			notify_store_reach(cs); /* out of reach for long: alert */
			goto out;
		}
		from_list = true;
	}
	if ((rc = notify_args_store("renew", cs, &a.na)) != 0)
		goto out;
	notify_store_reach(cs); /* --store: this node's copy of its targets */
	if (issue_opts_env_init(&env, cs) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	env_ok = true;
	env.quiet = a.o.quiet;
	if (a.ephemeral_ok) {
		if (issue_opts_ack_ephemeral(cs) != 0) {
			rc = 1;
			goto out;
		}
		env.ephemeral_ok = true;
	}
	jobs = calloc(n ? n : 1, sizeof(*jobs));
	if (jobs == NULL) {
		rc = 1;
		goto out;
	}
	if ((rc = plan_jobs(cs, &env, &a, names, n, jobs, &ndue)) != 0)
		goto out;

	if (ndue > 0) {
		if (a.jitter > 0) {
			unsigned int r = 0;
			if (gnutls_rnd(GNUTLS_RND_NONCE, &r, sizeof(r)) < 0)
				r = (unsigned int)getpid();
			unsigned int secs = r % (unsigned int)a.jitter;
			gpc_info("%zu due; waiting %u s (--jitter)", ndue, secs);
			sleep(secs);
		}
		a.o.ari_refresh = false; /* asked above */
		for (size_t i = 0; i < n; i++)
			if (jobs[i].todo)
				memset(&jobs[i].out, 0, sizeof(jobs[i].out));
		issue_renew(&env, jobs, n, &a.o, (int)a.conc,
			    !a.json && !a.o.quiet && isatty(STDERR_FILENO) ? progress : NULL, NULL);
	}

	rc = print_results(jobs, n, a.json, a.o.quiet, certstore_dir(cs));
	if (from_list && unmanaged_due(cs, certstore_dir(cs), names, n, &ev) > 0 && rc == 0)
		rc = 1;
	notify_events_send(cs, jobs, n, &ev); /* alerts never change the exit code */
out:
	if (jobs)
		for (size_t i = 0; i < n; i++)
			lineage_free(jobs[i].l);
	free(jobs);
	if (env_ok)
		issue_env_finish(&env);
	if (from_list)
		certstore_names_free(names, n);
	certstore_free(cs);
	return rc;
}

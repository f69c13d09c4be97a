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
#include "issue_opts.h"
#include "issue_run.h"
#include "ledger.h"
#include "lineage.h"
#include "log.h"
#include "timeutil.h"

static const char usage_text[] =
	"usage: goproxy-cert renew [-d DIR] [LINEAGE...] [options]\n"
	"Renew every lineage that is due (all with stored settings, or the ones named).\n"
	"\n"
	"  -d, --certs-dir DIR      certs directory (default $GOPROXY_CERTS_DIR or ./certs)\n"
	"      --days N             due when fewer than N days are left (default: ARI time, else 1/3 of lifetime)\n"
	"      --force              renew even what is not due (never past the rate-limit guard)\n"
	"      --jitter SECONDS     sleep a random time first, only when something is due\n"
	"      --concurrency N      lineages renewed at once (default 4)\n"
	"      --rate-limit N/HOURS|off  guard (default 5/168)\n"
	"      --json               one JSON document with a result per lineage\n"
	"  -q, --quiet              print nothing unless a lineage failed\n"
	"  -v, --verbose\n"
	"Exit: 0 all current or renewed, 1 a lineage failed, 75 none failed but one was deferred.\n";

enum { O_DAYS = 256, O_FORCE, O_JITTER, O_CONC, O_RATE, O_JSON };

static const struct option longopts[] = {
	{ "certs-dir", required_argument, NULL, 'd' },
	{ "days", required_argument, NULL, O_DAYS },
	{ "force", no_argument, NULL, O_FORCE },
	{ "jitter", required_argument, NULL, O_JITTER },
	{ "concurrency", required_argument, NULL, O_CONC },
	{ "rate-limit", required_argument, NULL, O_RATE },
	{ "json", no_argument, NULL, O_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct job {
	struct lineage *l;
	struct issue_outcome out;
	bool todo;
};

struct pool {
	struct issue_env *env;
	const struct issue_opts *o;
	struct job *jobs;
	size_t n, next;
	pthread_mutex_t mu;
	bool progress;
};

static void *worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		struct job *j = NULL;
		pthread_mutex_lock(&p->mu);
		while (p->next < p->n && !p->jobs[p->next].todo)
			p->next++;
		if (p->next < p->n)
			j = &p->jobs[p->next++];
		pthread_mutex_unlock(&p->mu);
		if (j == NULL)
			return NULL;
		if (p->progress)
			fprintf(stderr, "%s: renewing %s ...\n", cli.prog, j->l->name);
		issue_order(p->env, j->l, p->o, &j->out);
	}
}

int cmd_renew(int argc, char **argv)
{
	const char *dir = NULL;
	struct issue_opts o;
	struct issue_env env;
	bool env_ok = false, json = false;
	long v, jitter = 0, conc = 4;
	struct certstore *cs = NULL;
	struct gpc_error err;
	char **names = NULL;
	size_t n = 0, ndue = 0;
	struct job *jobs = NULL;
	int c, rc = EXIT_USAGE;
	bool from_list = false;

	memset(&o, 0, sizeof(o));
	gpc_error_clear(&err);
	ledger_limits_default(&o.lim);
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'q': cli.quiet = true; o.quiet = true; break;
		case 'v': cli.verbose++; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case O_DAYS:
			if (cli_parse_uint("renew", "--days", optarg, 3650, &v) != 0)
				return EXIT_USAGE;
			o.days = (int)v;
			break;
		case O_FORCE: o.force = true; break;
		case O_JITTER:
			if (cli_parse_uint("renew", "--jitter", optarg, 86400, &jitter) != 0)
				return EXIT_USAGE;
			break;
		case O_CONC:
			if (cli_parse_uint("renew", "--concurrency", optarg, 64, &conc) != 0)
				return EXIT_USAGE;
			if (conc < 1)
				conc = 1;
			break;
		case O_RATE:
			if (ledger_limits_parse(optarg, &o.lim, &err) != 0)
				return cli_usage_error("renew", "%s", err.message);
			break;
		case O_JSON: json = true; break;
		default: return cli_usage_error("renew", "unknown option");
		}
	}
	cli_log_init();
	for (int i = optind; i < argc; i++)
		if (!certstore_valid_name(argv[i]))
			return cli_usage_error("renew", "'%s' is not a valid lineage name", argv[i]);

	cs = issue_open_store(dir, false);
	if (cs == NULL)
		return 1;
	if (optind < argc) {
		n = (size_t)(argc - optind);
		names = argv + optind;
	} else {
		if (lineage_list(cs, &names, &n, &err) != 0) {
			cli_print_error(&err);
			rc = 1;
			goto out;
		}
		from_list = true;
	}
	if (issue_env_init(&env, cs, &err) != 0) {
		cli_print_error(&err);
		rc = issue_exit_code(issue_classify(&err));
		goto out;
	}
	env_ok = true;
	env.quiet = o.quiet;
	jobs = calloc(n ? n : 1, sizeof(*jobs));
	if (jobs == NULL) {
		rc = 1;
		goto out;
	}

	/* Offline: decide and guard every lineage. */
	time_t now = time_now();
	for (size_t i = 0; i < n; i++) {
		struct job *j = &jobs[i];
		if (lineage_load(cs, names[i], &j->l, &j->out.err) != 0) {
			j->l = lineage_new(names[i]);
			if (j->l == NULL) {
				rc = 1;
				goto out;
			}
			if (j->out.err.code && strcmp(j->out.err.code, GPC_E_MISSING) == 0) {
				gpc_error_set(&j->out.err, GPC_E_MISSING, "%s: no stored settings (.state/lineages/%s.json)",
					      names[i], names[i]);
				gpc_error_hint(&j->out.err, "run 'goproxy-cert issue -n %s -D NAME...' once", names[i]);
			}
			j->out.res = ISSUE_FAILED;
			continue;
		}
		if (!o.force && issue_decide(&env, j->l, &o, &j->out) == 0) {
			/* RFC 9773: the CA may move the window (e.g. before a mass
			 * revocation); ask again once its Retry-After has passed. */
			struct gpc_error aerr;
			gpc_error_clear(&aerr);
			if (j->l->ari_cert_id != NULL && issue_ari_refresh(&env, j->l, &aerr) != 0)
				gpc_warn("%s: renewalInfo: %s", j->l->name, aerr.message);
			if (j->l->ari_cert_id == NULL || issue_decide(&env, j->l, &o, &j->out) == 0) {
				j->out.res = ISSUE_CURRENT;
				continue;
			}
		}
		time_t until = env.ledger ? ledger_backoff_until(env.ledger, j->l->name, now) : 0;
		if (until > now && !o.force) {
			char ts[32];
			gpc_error_set(&j->out.err, GPC_E_RATELIMIT, "%s: the last attempt failed; backing off until %s",
				      j->l->name, time_rfc3339(until, ts, sizeof(ts)));
			gpc_error_hint(&j->out.err, "see the previous error (goproxy-cert status %s); "
					"--force retries now", j->l->name);
			j->out.err.retry_after = until;
			j->out.res = ISSUE_DEFERRED;
			continue;
		}
		if (issue_guard(&env, j->l, &o, &j->out) != 0)
			continue;
		j->todo = true;
		ndue++;
	}

	if (ndue > 0) {
		if (jitter > 0) {
			unsigned int r = 0;
			if (gnutls_rnd(GNUTLS_RND_NONCE, &r, sizeof(r)) < 0)
				r = (unsigned int)getpid();
			unsigned int secs = r % (unsigned int)jitter;
			gpc_info("%zu due; waiting %u s (--jitter)", ndue, secs);
			sleep(secs);
		}
		if (issue_check_writable(cs, CERTSTORE_DEFAULT, &err) != 0 || issue_env_lock(&env, &err) != 0) {
			for (size_t i = 0; i < n; i++)
				if (jobs[i].todo) {
					jobs[i].out.err = err;
					jobs[i].out.res = issue_classify(&err) == ISSUE_DEFERRED ? ISSUE_DEFERRED : ISSUE_FAILED;
					jobs[i].todo = false;
				}
		} else {
			cli_warn_ephemeral(certstore_dir(cs));
			struct pool p = { .env = &env, .o = &o, .jobs = jobs, .n = n,
					  .progress = !json && !o.quiet && isatty(STDERR_FILENO) };
			size_t nt = (size_t)conc < ndue ? (size_t)conc : ndue;
			pthread_t *th = calloc(nt, sizeof(*th));
			pthread_mutex_init(&p.mu, NULL);
			size_t started = 0;
			for (size_t i = 0; th && i < nt; i++)
				if (pthread_create(&th[i], NULL, worker, &p) == 0)
					started++;
			if (started == 0)
				worker(&p);
			for (size_t i = 0; i < started; i++)
				pthread_join(th[i], NULL);
			free(th);
			pthread_mutex_destroy(&p.mu);
		}
	}

	/* One result per lineage, in name order. */
	int nfail = 0, ndef = 0, nren = 0, ncur = 0;
	for (size_t i = 0; i < n; i++) {
		switch (jobs[i].out.res) {
		case ISSUE_FAILED: case ISSUE_USAGE: nfail++; break;
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
		printf("%s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(doc);
	} else {
		for (size_t i = 0; i < n; i++) {
			bool trouble = jobs[i].out.res == ISSUE_FAILED || jobs[i].out.res == ISSUE_USAGE;
			if (o.quiet && !trouble)
				continue;
			issue_print_result(jobs[i].l, &jobs[i].out, false, false, stdout);
		}
		if (n == 0 && !o.quiet)
			printf("no lineages with stored settings in %s (run 'goproxy-cert issue' first)\n",
			       certstore_dir(cs));
	}
	rc = nfail ? 1 : ndef ? EXIT_DEFER : 0;
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

/* goproxy-cert notify: the stored alert targets (test, list), and the
 * alert options issue, renew and sync share. See cmd_notify.h. */
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "buf.h"
#include "cli.h"
#include "cmd_notify.h"
#include "issue_opts.h"
#include "ledger.h"
#include "lineage.h"
#include "log.h"
#include "notify.h"
#include "timeutil.h"
#include "x509.h"

bool notify_args_take(struct notify_args *a, int c, const char *arg)
{
	if (c == O_NO_NOTIFY) {
		a->clear = true;
		return true;
	}
	if (c == O_NOTIFY_DAYS || c == O_NOTIFY_DIGEST || c == O_NOTIFY_UNREACHABLE) {
		*(c == O_NOTIFY_DAYS ? &a->days_arg : c == O_NOTIFY_DIGEST ? &a->digest_arg : &a->unreach_arg) = arg;
		return true;
	}
	if (c != O_NOTIFY_TARGET)
		return false;
	if (a->n < NOTIFY_MAX_TARGETS)
		a->specs[a->n] = arg;
	a->n++;
	return true;
}

/* The targets of $GOPROXY_CERT_NOTIFY (space-separated), when no option
 * gave any: the packaged timer's way (/etc/default/goproxy-cert). */
static char *env_copy;

int notify_args_check(const char *sub, struct notify_args *a)
{
	struct gpc_error err;
	const char *env = getenv("GOPROXY_CERT_NOTIFY");

	if (a->clear && a->n > 0)
		return cli_usage_error(sub, "give either --notify or --no-notify");
	if (a->n > NOTIFY_MAX_TARGETS)
		return cli_usage_error(sub, "more than %d --notify targets", NOTIFY_MAX_TARGETS);
	if (a->days_arg) {
		char *end;
		long v = strtol(a->days_arg, &end, 10);
		if (*a->days_arg == '\0' || *end != '\0' || v < 1 || v > 365)
			return cli_usage_error(sub, "--notify-days '%s' is not a number of days from 1 to 365",
					       a->days_arg);
		a->days = (int)v;
	}
	if (a->digest_arg) {
		char *end;
		long v = strtol(a->digest_arg, &end, 10);
		if (*a->digest_arg == '\0' || *end != '\0' || v < 1 || v > 10000)
			return cli_usage_error(sub, "--notify-digest '%s' is not a number of changes from 1 to 10000",
					       a->digest_arg);
		a->digest = v;
	}
	if (a->unreach_arg) {
		char *end;
		long v = strtol(a->unreach_arg, &end, 10);
		if (*a->unreach_arg == '\0' || *end != '\0' || v < 60 || v > 2592000)
			return cli_usage_error(sub, "--notify-unreachable '%s' is not a number of seconds from 60 to "
					       "2592000 (30 days)", a->unreach_arg);
		a->unreach = v;
	}
	if (a->clear && (a->days_arg || a->digest_arg || a->unreach_arg))
		return cli_usage_error(sub, "--no-notify removes the alert settings too; give it alone");
	if (!a->clear && a->n == 0 && env != NULL && *env != '\0') {
		env_copy = strdup(env);
		for (char *sp, *w = strtok_r(env_copy, " \t\n", &sp); w && a->n < NOTIFY_MAX_TARGETS;
		     w = strtok_r(NULL, " \t\n", &sp))
			a->specs[a->n++] = w;
	}
	for (size_t i = 0; i < a->n; i++) {
		struct notify_target *t = NULL;
		gpc_error_clear(&err);
		if (notify_target_parse(a->specs[i], &t, &err) != 0) {
			fprintf(stderr, "%s %s: %s%s\n", cli.prog, sub, err.message,
				env_copy && a->specs[i] >= env_copy && a->specs[i] < env_copy + strlen(env) + 1
					? " (from $GOPROXY_CERT_NOTIFY)" : "");
			if (err.hint[0])
				fprintf(stderr, "  hint: %s\n", err.hint);
			return EXIT_USAGE;
		}
		notify_target_free(t);
	}
	return 0;
}

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool same_target(const struct notify_target *a, const struct notify_target *b)
{
	return same_str(a->kind, b->kind) && same_str(a->url, b->url) && same_str(a->token, b->token) &&
	       same_str(a->topic, b->topic) && same_str(a->tmpl, b->tmpl) && same_str(a->payload, b->payload) &&
	       same_str(a->mime, b->mime) && same_str(a->method, b->method) && same_str(a->name, b->name) &&
	       same_str(a->events, b->events);
}

/* Move the targets of `from` into `to` (emptied first). */
static void list_move(struct notify_list *to, struct notify_list *from)
{
	notify_list_finish(to);
	to->t = from->t;
	to->n = from->n;
	from->t = NULL;
	from->n = 0;
}

int notify_args_store(const char *sub, struct certstore *cs, const struct notify_args *a)
{
	struct notify_list want = { 0 }, have = { 0 };
	struct gpc_error err;
	int rc = 1;
	bool same, targets_given = a->clear || a->n > 0;

	bool settings = a->days || a->digest || a->unreach;

	if (!a->clear && a->n == 0 && a->godoxy == NULL && !settings)
		return 0;
	gpc_error_clear(&err);
	if (notify_list_load(cs, &have, &err) != 0) {
		gpc_error_clear(&err); /* an unreadable list is replaced */
		notify_list_finish(&have);
	}
	if (!targets_given && a->godoxy != NULL) {
		/* GoDoxy's own alert targets, as its config.yml lists them */
		struct notify_list gd = { 0 };
		if (godoxy_load_notify(a->godoxy, &gd, &err) != 0) {
			cli_print_error(&err);
			notify_list_finish(&have);
			return EXIT_USAGE;
		}
		for (size_t i = 0; i < gd.n; i++) {
			char what[PATH_MAX + 64];
			snprintf(what, sizeof(what), "%s: providers.notification[%zu]%s%s%s", a->godoxy, i,
				 gd.t[i]->name ? " (" : "", gd.t[i]->name ? gd.t[i]->name : "",
				 gd.t[i]->name ? ")" : "");
			if (notify_target_check(gd.t[i], what, &err) != 0) {
				cli_print_error(&err);
				notify_list_finish(&gd);
				notify_list_finish(&have);
				return EXIT_USAGE;
			}
		}
		if (gd.n > 0) {
			list_move(&want, &gd);
			targets_given = true;
		}
		notify_list_finish(&gd);
	}
	for (size_t i = 0; i < a->n; i++) {
		struct notify_target *t = NULL;
		if (notify_target_parse(a->specs[i], &t, &err) != 0 || notify_list_add(&want, t, &err) != 0)
			goto out;
	}
	if (!targets_given) {
		/* only settings: for the targets stored */
		if (!settings) {
			rc = 0;
			goto out;
		}
		if (have.n == 0) {
			fprintf(stderr, "%s %s: --notify-days, --notify-digest and --notify-unreachable are kept "
				"with the alert targets, and none is stored\n  hint: give the targets too: --notify TARGET\n", cli.prog, sub);
			rc = EXIT_USAGE;
			notify_list_finish(&want);
			notify_list_finish(&have);
			return rc;
		}
		for (size_t i = 0; i < have.n; i++) {
			struct notify_target *t = have.t[i];
			have.t[i] = NULL;
			if (notify_list_add(&want, t, &err) != 0)
				goto out;
		}
		have.n = 0; /* moved: nothing to compare */
		same = false;
	}
	/* the settings: as given, else as stored */
	want.warn_days = a->days ? a->days : have.warn_days;
	want.digest_over = a->digest ? (size_t)a->digest : have.digest_over;
	want.unreachable_secs = a->unreach ? a->unreach : have.unreachable_secs;
	same = targets_given && have.n == want.n && have.warn_days == want.warn_days &&
	       have.digest_over == want.digest_over && have.unreachable_secs == want.unreachable_secs;
	for (size_t i = 0; same && i < want.n; i++)
		same = same_target(have.t[i], want.t[i]);
	if (!same) {
		if (a->clear) {
			want.warn_days = 0;
			want.digest_over = 0;
			want.unreachable_secs = 0;
		}
		if (notify_list_save(cs, &want, &err) != 0)
			goto out;
		if (want.n == 0) {
			if (!cli.quiet)
				fprintf(stderr, "%s %s: alert targets removed\n", cli.prog, sub);
		} else if (!targets_given) {
			if (!cli.quiet)
				fprintf(stderr, "%s %s: alert settings stored\n", cli.prog, sub);
		} else {
			for (size_t i = 0; i < want.n; i++) {
				char red[320];
				if (!cli.quiet)
					fprintf(stderr, "%s %s: alerts go to %s\n", cli.prog, sub,
						notify_target_redacted(want.t[i], red, sizeof(red)));
			}
		}
	}
	rc = 0;
out:
	if (rc != 0)
		cli_print_error(&err);
	notify_list_finish(&want);
	notify_list_finish(&have);
	return rc;
}

static char *own(struct notify_events *ev, char *s)
{
	char **o;
	if (s == NULL)
		return NULL;
	o = realloc(ev->owned, (ev->n_owned + 1) * sizeof(*o));
	if (o == NULL) {
		free(s);
		return NULL;
	}
	ev->owned = o;
	ev->owned[ev->n_owned++] = s;
	return s;
}

static struct notify_observation *add_obs(struct notify_events *ev)
{
	struct notify_observation *o = realloc(ev->obs, (ev->n + 1) * sizeof(*o));
	if (o == NULL)
		return NULL;
	ev->obs = o;
	memset(&ev->obs[ev->n], 0, sizeof(ev->obs[0]));
	return &ev->obs[ev->n++];
}

void notify_events_unmanaged(struct notify_events *ev, const char *name, bool expired, time_t not_after,
			     const char *names)
{
	struct notify_observation *o = add_obs(ev);
	if (o == NULL)
		return;
	o->key = own(ev, strdup(name));
	o->state = expired ? NOTIFY_S_UNMANAGED_EXPIRED : NOTIFY_S_UNMANAGED_DUE;
	o->names = own(ev, names ? strdup(names) : NULL);
	o->not_after = not_after;
}

/* The expiry of the pair in place (0 when none can be read). */
static time_t pair_not_after(struct certstore *cs, const char *name)
{
	struct buf cert, key;
	struct x509_chain *chain = NULL;
	struct gpc_error err;
	time_t na = 0;

	buf_init(&cert, CERTSTORE_MAX_FILE);
	buf_init(&key, CERTSTORE_MAX_FILE);
	gpc_error_clear(&err);
	if (certstore_read_pair(cs, name, &cert, &key, &err) == 0 &&
	    x509_chain_parse(name, cert.data, cert.len, &chain, NULL, &err) == 0)
		na = x509_chain_info(chain, 0)->not_after;
	x509_chain_free(chain);
	buf_finish(&cert);
	if (key.data)
		gnutls_memset(key.data, 0, key.len);
	buf_finish(&key);
	return na;
}

void notify_events_send(struct certstore *cs, const struct issue_job *jobs, size_t n, struct notify_events *ev)
{
	struct notify_report rep;
	struct gpc_error err;
	time_t now = time_now();
	struct ledger *lg = NULL;

	gpc_error_clear(&err);
	if ((ev->n > 0 || n > 0) && ledger_load(cs, &lg, &err) != 0) /* the back-off: when renew tries next */
		lg = NULL;
	gpc_error_clear(&err);

	for (size_t i = 0; i < n; i++) {
		const struct issue_job *j = &jobs[i];
		struct notify_observation *o;
		if (j->l == NULL || j->l->n_names == 0 || j->out.res == ISSUE_USAGE)
			continue; /* no settings: nothing is renewed, renew says so */
		if ((o = add_obs(ev)) == NULL)
			break;
		o->key = j->l->name;
		o->not_after = j->out.not_after ? j->out.not_after : pair_not_after(cs, j->l->name);
		o->names = own(ev, lineage_names_joined(j->l, " "));
		o->error = j->out.res == ISSUE_FAILED ? j->out.err.message : j->l->last_error;
		/* This run's result first (a lineage not saved after a failure
		 * still failed), else the stored one (a back-off keeps it). */
		o->state = notify_lineage_state(j->out.res == ISSUE_FAILED ? "failed" :
						j->out.res == ISSUE_ISSUED || j->out.res == ISSUE_CURRENT ? "issued" :
						j->l->last_result, o->not_after, now, 0);
		if (j->out.res == ISSUE_DEFERRED && j->out.err.retry_after > now)
			o->next_attempt = j->out.err.retry_after;
		else if (lg != NULL && strcmp(o->state, NOTIFY_S_OK) != 0)
			o->next_attempt = ledger_backoff_until(lg, j->l->name, now);
		if (j->out.deploy_error[0])
			o->deploy_error = j->out.deploy_error;
		if (j->out.res == ISSUE_ISSUED)
			o->done = ev->done ? ev->done : "renewed";
	}
	gpc_error_clear(&err);
	if (notify_run(cs, ev->obs, ev->n, NULL, &rep, &err) != 0)
		fprintf(stderr, "%s: warning: alerts not sent: %s\n", cli.prog, err.message);
	else if (rep.failed > 0)
		fprintf(stderr, "%s: warning: %zu alert%s not delivered; kept for the next run\n", cli.prog,
			rep.failed, rep.failed == 1 ? "" : "s");
	ledger_free(lg);
	for (size_t i = 0; i < ev->n_owned; i++)
		free(ev->owned[i]);
	free(ev->owned);
	free(ev->obs);
	memset(ev, 0, sizeof(*ev));
}

/* ---- a shared store out of reach ---- */

void notify_store_reach(struct certstore *cs)
{
	struct notify_list l = { 0 };
	struct notify_report rep;
	struct gpc_error err;
	char file[PATH_MAX];
	const char *store = certstore_dir(cs);
	int r;

	if (storeopt_url(&cli_store) == NULL)
		return; /* a certs directory: its targets are where its certificates are */
	if (notify_node_copy_path(store, file, sizeof(file)) != 0) {
		gpc_debug("no state directory for a copy of the store's alert targets ($STATE_DIRECTORY, "
			  "$XDG_STATE_HOME or $HOME)");
		return;
	}
	gpc_error_clear(&err);
	if (notify_list_load(cs, &l, &err) == 0) {
		r = notify_reach_ok(file, store, &l, &rep, &err);
		notify_list_finish(&l);
	} else if (issue_classify(&err) == ISSUE_DEFERRED) {
		char why[sizeof(err.message)];
		snprintf(why, sizeof(why), "%s", err.message);
		gpc_error_clear(&err);
		r = notify_reach_failed(file, store, why, &rep, &err);
	} else {
		return; /* e.g. no seal key: the run says it where it matters */
	}
	if (r != 0)
		fprintf(stderr, "%s: warning: alerts about the store: %s\n", cli.prog, err.message);
	else if (rep.failed > 0)
		fprintf(stderr, "%s: warning: %zu alert%s not delivered; kept for the next run\n", cli.prog,
			rep.failed, rep.failed == 1 ? "" : "s");
}

/* ---- goproxy-cert notify ---- */

static const char usage_text[] =
	"usage: goproxy-cert notify test|list [-d DIR | --store URL]\n"
	"The alert targets stored for a certs directory or store (set with --notify on issue,\n"
	"renew or sync).\n"
	"  test                     send a test message to every target; say which answered\n"
	"  list                     show the targets (without their secrets)\n"
	"\n"
	"  -d, --certs-dir DIR      certs directory (default $GOPROXY_CERTS_DIR or ./certs)\n"
	STOREOPT_HELP
	"  -q, --quiet\n"
	"  -v, --verbose\n"
	"Exit: 0 every target answered, 1 one did not (or none is stored), 64 usage.\n";

static const struct option longopts[] = {
	{ "certs-dir", required_argument, NULL, 'd' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	STOREOPT_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

int cmd_notify(int argc, char **argv)
{
	const char *dir = NULL, *action;
	struct certstore *cs = NULL;
	struct notify_list tl = { 0 };
	struct gpc_error err;
	int c, rc = EXIT_USAGE, bad = 0;

	optind = 1;
	if (cli_exact_options("notify", argc, argv, "d:qvh", longopts) != 0)
		return EXIT_USAGE;
	while ((c = getopt_long(argc, argv, "d:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'q': cli.quiet = true; break;
		case 'v': cli.verbose++; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default:
			if (storeopt_take(&cli_store, c, optarg))
				break;
			return cli_usage_error("notify", "unknown option");
		}
	}
	cli_log_init();
	if (optind != argc - 1)
		return cli_usage_error("notify", "give one action: test or list");
	action = argv[optind];
	if (strcmp(action, "test") != 0 && strcmp(action, "list") != 0)
		return cli_usage_error("notify", "unknown action '%s' (test or list)", action);
	if ((rc = issue_store_conflict("notify", dir)) != 0)
		return rc;
	cs = issue_open_store(dir, false);
	if (cs == NULL)
		return 1;
	gpc_error_clear(&err);
	if (notify_list_load(cs, &tl, &err) != 0) {
		cli_print_error(&err);
		rc = err.code != NULL && strcmp(err.code, GPC_E_USAGE) == 0 ? EXIT_USAGE : 1;
		goto out;
	}
	if (tl.n == 0) {
		fprintf(stderr, "%s notify: no alert targets stored for %s\n  hint: goproxy-cert renew -d %s "
			"--notify ntfy:https://ntfy.sh/TOPIC\n", cli.prog, certstore_dir(cs), certstore_dir(cs));
		rc = strcmp(action, "list") == 0 ? 0 : 1;
		goto out;
	}
	for (size_t i = 0; i < tl.n; i++) {
		char red[320];
		notify_target_redacted(tl.t[i], red, sizeof(red));
		if (strcmp(action, "list") == 0) {
			printf("%s\n", red);
			continue;
		}
		struct notify_message m = {
			.event = "test",
			.title = "goproxy-cert: test message",
			.text = "This is a test of goproxy-cert's alerts: renewal failures of this certs directory "
				"will arrive here.",
			.priority = 3,
		};
		gpc_error_clear(&err);
		if (notify_send(tl.t[i], &m, &err) == 0) {
			printf("%s: answered\n", red);
		} else {
			printf("%s: FAILED\n", red);
			cli_print_error(&err);
			bad++;
		}
	}
	rc = bad ? 1 : 0;
out:
	notify_list_finish(&tl);
	certstore_free(cs);
	return rc;
}

/* goproxy-cert sync --store URL -d DIR [--watch] [--deploy-hook CMD]: write
 * a shared store's pairs into a local certs directory in the Go-Proxy
 * layout, for a GoDoxy, nginx or haproxy on every node of a fleet.
 *
 * A pass: list the store's pairs (one range request), read each one and
 * check that its key belongs to its certificate, compare it byte for byte
 * with the local pair (without any lock that writes), and only when some
 * differ take the local store lock, compare again and write those through
 * certstore_write_pair (whole at rest at every instant). The deploy hook
 * runs once per pass that wrote something. Which lineages still owe a hook
 * run is recorded in DIR/.state/sync/hook-pending before the first write
 * and cleared after the hook ran, so a sync killed between the write and
 * the hook runs it at its next pass (at least once per change).
 *
 * --watch: follow the store's change watch (as goproxyd does), a full pass
 * every SYNC_FULL_SECS as a safety net; with the store unreachable the
 * local files stay as they are, it says so once and resumes when the
 * store answers. Only pairs are synced: lineage settings, accounts, the
 * ledger and challenge answers stay in the store (renew runs on it). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "certstore.h"
#include "cli.h"
#include "fsutil.h"
#include "gpc_spawn.h"
#include "issue_opts.h"
#include "cmd_notify.h"
#include "log.h"
#include "records.h"
#include "storecopy.h"
#include "storeopt.h"
#include "x509.h"

#define SYNC_FULL_SECS 60   /* a full pass this often even when the watch is quiet */
#define SYNC_RETRY_SECS 5   /* while the store is unreachable */
#define SYNC_SETTLE_MS 200  /* changes this close together make one pass (one hook run) */
#define SYNC_PENDING RECORD_SYNC_PENDING

static const char usage_text[] =
	"usage: goproxy-cert sync --store URL --store-seal FILE [-d DIR] [--watch] [--deploy-hook CMD]\n"
	"Write the store's pairs into the certs directory DIR (DIR/cert.crt + DIR/priv.key for\n"
	"lineage default, DIR/NAME/... for the others), each pair whole at every instant, only\n"
	"those that differ from what DIR holds. Only pairs: settings, accounts and the ledger\n"
	"stay in the store.\n"
	"\n"
	"  -d, --certs-dir DIR      the local certs directory (default $GOPROXY_CERTS_DIR or ./certs;\n"
	"                           it must exist)\n"
	STOREOPT_HELP
	"      --watch              keep running: follow the store's changes (and a full pass every\n"
	"                           60 s); with the store unreachable the files stay as they are\n"
	"      --deploy-hook CMD    run sh -c CMD once after each pass that wrote something, with\n"
	"                           GOPROXY_CERT_NAMES (the lineages written) and GOPROXY_CERTS_DIR\n"
	"                           set; for one lineage also GOPROXY_CERT_NAME, _DOMAINS, _CERT, _KEY\n"
	"      --hook-timeout SECONDS  limit for each run of the deploy hook (default 300)\n"
	NOTIFY_HELP
	"  -q, --quiet              print only errors\n"
	"  -v, --verbose\n"
	"  -h, --help\n"
	"Exit (without --watch): 0 done (changed or not), 1 an error (those pairs kept as they\n"
	"were), 75 the store is unreachable (nothing written), 64 usage error.\n";

enum { O_WATCH = 256, O_DEPLOY_HOOK, O_HOOK_TIMEOUT };

struct sync_ctx {
	struct certstore *src, *dst;
	const char *hook;   /* --deploy-hook, NULL: none */
	long hook_ms;       /* 0: the default limit */
	bool quiet, watching;
	bool down;          /* the store was unreachable at the last pass (said once) */
	unsigned passes;    /* passes done (--watch reports the first one, then changes) */
	struct buf last;    /* --watch: the errors of the last pass, not printed again */
};

/* A lineage written in this pass. */
struct sync_pair {
	char *name;
	struct buf cert, key;
};

static void pair_finish(struct sync_pair *p)
{
	if (p->key.data != NULL)
		explicit_bzero(p->key.data, p->key.len);
	buf_finish(&p->cert);
	buf_finish(&p->key);
	free(p->name);
}

static bool is_deferral(const struct gpc_error *e)
{
	return e->code != NULL && (strcmp(e->code, GPC_E_NETWORK) == 0 || strcmp(e->code, GPC_E_LOCKED) == 0);
}

/* A pass's errors are collected, then printed (in --watch only when they
 * differ from the last pass's: a store that stays broken is reported once). */
static void note_error(struct buf *errs, const struct gpc_error *e)
{
	if (buf_printf(errs, "%s: error: %s\n", cli.prog, e->message[0] ? e->message : "unknown error") != 0 ||
	    (e->hint[0] && buf_printf(errs, "  hint: %s\n", e->hint) != 0))
		cli_print_error(e);
}

/* Names in a space- or newline-separated list. */
static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t l = strcspn(p, " \n");
		if (l == n && strncmp(p, name, n) == 0)
			return true;
		p += l;
		p += strspn(p, " \n");
	}
	return false;
}

/* Add `name` to a space-separated list unless it is there. Returns 0 or -1. */
static int list_add(struct buf *list, const char *name)
{
	if (!certstore_valid_name(name) || in_list(list->data, name))
		return 0;
	return buf_printf(list, "%s%s", list->len > 0 ? " " : "", name);
}

/* The lineages a killed sync wrote and ran no hook for, into `out`. */
static void pending_read(struct sync_ctx *x, struct buf *out)
{
	struct buf b;
	struct gpc_error e;

	buf_init(&b, 64 * 1024);
	gpc_error_clear(&e);
	if (certstore_state_read(x->dst, SYNC_PENDING, 64 * 1024, &b, &e) == 0 && b.data != NULL) {
		char *save = NULL;
		for (char *tok = strtok_r(b.data, " \n", &save); tok != NULL; tok = strtok_r(NULL, " \n", &save))
			if (list_add(out, tok) != 0)
				break;
	}
	buf_finish(&b);
}

/* After the hook ran for `done`: drop those names from the record (under
 * the lock: another sync on DIR may have added some since). */
static void pending_clear(struct sync_ctx *x, const char *done)
{
	struct buf cur, rest;
	struct gpc_error e;
	char *save = NULL;

	buf_init(&cur, 64 * 1024);
	buf_init(&rest, 64 * 1024);
	gpc_error_clear(&e);
	if (certstore_lock(x->dst, true, 60, &e) != 0) {
		gpc_warn("%s (the deploy hook may run again at the next pass)", e.message);
		goto out;
	}
	pending_read(x, &cur);
	for (char *tok = cur.data ? strtok_r(cur.data, " ", &save) : NULL; tok != NULL;
	     tok = strtok_r(NULL, " ", &save))
		if (!in_list(done, tok) && list_add(&rest, tok) != 0)
			break;
	if (rest.len == 0)
		(void)certstore_state_remove(x->dst, SYNC_PENDING, &e);
	else if (certstore_state_write(x->dst, SYNC_PENDING, rest.data, rest.len, &e) != 0)
		gpc_warn("%s", e.message);
	certstore_unlock(x->dst);
out:
	buf_finish(&cur);
	buf_finish(&rest);
}

/* The names of a lineage's local certificate, space separated (malloc'd;
 * "" when it cannot be read). */
static char *local_domains(struct sync_ctx *x, const char *name)
{
	struct buf c, k, out;
	struct x509_chain *ch = NULL;
	struct gpc_error e;
	const struct x509_info *in;

	buf_init(&c, CERTSTORE_MAX_FILE);
	buf_init(&k, CERTSTORE_MAX_FILE);
	buf_init(&out, 64 * 1024);
	gpc_error_clear(&e);
	if (certstore_read_pair(x->dst, name, &c, &k, &e) == 0 &&
	    x509_chain_parse(name, c.data ? c.data : "", c.len, &ch, NULL, &e) == 0 &&
	    (in = x509_chain_info(ch, 0)) != NULL)
		for (size_t i = 0; i < in->n_names; i++)
			if (buf_printf(&out, "%s%s", i ? " " : "", in->names[i]) != 0)
				break;
	x509_chain_free(ch);
	if (k.data != NULL)
		explicit_bzero(k.data, k.len);
	buf_finish(&c);
	buf_finish(&k);
	return buf_take(&out, NULL);
}

/* The deploy hook, once, for the lineages in `names` (space separated):
 * the same kind of variables issue's deploy hook gets. A failure is a
 * warning: the pairs are in place either way. */
static void run_hook(struct sync_ctx *x, const char *names)
{
	char cert[PATH_MAX], key[PATH_MAX], phase[160];
	char *env[7] = { NULL }, *domains = NULL;
	struct spawn_result res;
	struct gpc_error err;
	int n = 0;

	if (asprintf(&env[n++], "GOPROXY_CERT_NAMES=%s", names) < 0 ||
	    asprintf(&env[n++], "GOPROXY_CERTS_DIR=%s", certstore_dir(x->dst)) < 0)
		goto oom;
	if (strchr(names, ' ') == NULL && certstore_paths(x->dst, names, cert, sizeof(cert), key, sizeof(key)) == 0) {
		domains = local_domains(x, names);
		if (asprintf(&env[n++], "GOPROXY_CERT_NAME=%s", names) < 0 ||
		    asprintf(&env[n++], "GOPROXY_CERT_DOMAINS=%s", domains ? domains : "") < 0 ||
		    asprintf(&env[n++], "GOPROXY_CERT_CERT=%s", cert) < 0 ||
		    asprintf(&env[n++], "GOPROXY_CERT_KEY=%s", key) < 0)
			goto oom;
	}
	snprintf(phase, sizeof(phase), "deploy for sync of %.120s", names);
	gpc_error_clear(&err);
	if (spawn_shell(x->hook, phase, x->hook_ms, env, &res, &err) != 0)
		gpc_warn("%s; the pairs are in place", err.message);
	else if (res.status != 0)
		gpc_warn("deploy hook '%s' failed for %s (exit %d); the pairs are in place", x->hook, names,
			 res.status);
	goto out;
oom:
	gpc_warn("deploy hook for %s: out of memory", names);
out:
	for (int i = 0; i < 7; i++)
		free(env[i]);
	free(domains);
}

/* Write the pairs that differ, under the local store lock, comparing again
 * there (another sync may have written them); *written counts them.
 * Returns 0 or -1 (errors noted). */
static int write_changed(struct sync_ctx *x, struct sync_pair *ps, size_t n, size_t *written,
			 struct buf *errs, bool *deferred)
{
	struct gpc_error err;
	struct buf pend;
	int rc = -1;

	buf_init(&pend, 64 * 1024);
	gpc_error_clear(&err);
	if (certstore_lock(x->dst, true, 60, &err) != 0) {
		note_error(errs, &err);
		*deferred = is_deferral(&err);
		goto out;
	}
	/* The hook owes a run for these from the first write on. */
	if (x->hook != NULL) {
		pending_read(x, &pend);
		for (size_t i = 0; i < n; i++)
			if (list_add(&pend, ps[i].name) != 0)
				break;
		if (certstore_state_write(x->dst, SYNC_PENDING, pend.data, pend.len, &err) != 0) {
			note_error(errs, &err);
			goto unlock;
		}
	}
	rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (!store_pair_wanted(x->dst, ps[i].name, &ps[i].cert, &ps[i].key, STORE_PAIR_DIFFERENT))
			continue;
		if (certstore_write_pair(x->dst, ps[i].name, ps[i].cert.data, ps[i].cert.len, ps[i].key.data,
					 ps[i].key.len, &err) != 0) {
			note_error(errs, &err);
			rc = -1;
			continue;
		}
		(*written)++;
		if (!x->quiet)
			printf("%s: written\n", ps[i].name);
	}
unlock:
	certstore_unlock(x->dst);
out:
	buf_finish(&pend);
	return rc;
}

/* One pass. Returns 0 (done), 1 (an error: those pairs kept) or EXIT_DEFER
 * (the store or the local lock could not be had: nothing written). */
static int sync_pass(struct sync_ctx *x)
{
	struct sync_pair *ps = NULL;
	struct buf hooked, errs;
	struct gpc_error err;
	char **names = NULL;
	size_t n = 0, nps = 0, same = 0, written = 0;
	bool failed = false, deferred = false;
	int rc;

	buf_init(&hooked, 64 * 1024);
	buf_init(&errs, 256 * 1024);
	gpc_error_clear(&err);
	if (certstore_list(x->src, &names, &n, &err) != 0) {
		if (is_deferral(&err)) {
			deferred = true;
			if (!x->down)
				fprintf(stderr, "%s: store unreachable: %s\n  the pairs in %s stay as they are; %s\n",
					cli.prog, err.message, certstore_dir(x->dst),
					x->watching ? "syncing again when it answers" : "run sync again later (exit 75)");
			x->down = x->watching;
		} else {
			note_error(&errs, &err);
			failed = true;
		}
		goto out;
	}
	ps = calloc(n + 1, sizeof(*ps));
	if (ps == NULL) {
		gpc_error_set(&err, GPC_E_NOMEM, "out of memory");
		note_error(&errs, &err);
		failed = true;
		goto out;
	}
	/* Read and compare everything first: an unchanged pass takes no lock
	 * that writes and touches nothing. */
	for (size_t i = 0; i < n; i++) {
		struct sync_pair *p = &ps[nps];

		buf_init(&p->cert, CERTSTORE_MAX_FILE);
		buf_init(&p->key, CERTSTORE_MAX_FILE);
		if (store_pair_read_checked(x->src, names[i], &p->cert, &p->key, &err) != 0) {
			note_error(&errs, &err);
			if (is_deferral(&err))
				deferred = true;
			else
				failed = true;
			pair_finish(p);
			gpc_error_clear(&err);
			continue;
		}
		if (!store_pair_wanted(x->dst, names[i], &p->cert, &p->key, STORE_PAIR_DIFFERENT)) {
			same++;
			pair_finish(p);
			continue;
		}
		if ((p->name = strdup(names[i])) == NULL) {
			pair_finish(p);
			failed = true;
			continue;
		}
		nps++;
	}
	if (x->down && !deferred) {
		if (!x->quiet)
			fprintf(stderr, "%s: %s answers again\n", cli.prog, certstore_dir(x->src));
		x->down = false;
	}
	if (nps > 0 && write_changed(x, ps, nps, &written, &errs, &deferred) != 0 && !deferred)
		failed = true;

	/* The hook: for what this pass wrote and what a killed pass wrote,
	 * both in the record (written before the first write). */
	if (x->hook != NULL) {
		pending_read(x, &hooked);
		if (hooked.len > 0) {
			run_hook(x, hooked.data);
			pending_clear(x, hooked.data);
		}
	}
	if (!x->quiet && (!x->watching || written > 0 || x->passes == 0))
		printf("%zu pair(s) written, %zu unchanged, into %s\n", written, same, certstore_dir(x->dst));
out:
	/* errors: printed unless --watch saw the very same at the last pass */
	if (errs.len > 0 && (!x->watching || x->last.len != errs.len ||
			     memcmp(x->last.data, errs.data, errs.len) != 0))
		fputs(errs.data, stderr);
	if (x->watching) {
		buf_reset(&x->last);
		if (errs.len > 0 && buf_add(&x->last, errs.data, errs.len) != 0)
			buf_reset(&x->last);
	}
	fflush(stdout);
	for (size_t i = 0; i < nps; i++)
		pair_finish(&ps[i]);
	free(ps);
	certstore_names_free(names, n);
	buf_finish(&hooked);
	buf_finish(&errs);
	x->passes++;
	rc = failed ? 1 : deferred ? EXIT_DEFER : 0;
	return rc;
}

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* --watch: passes on the store's change watch, every SYNC_FULL_SECS (every
 * SYNC_RETRY_SECS while the store is unreachable), until SIGTERM/SIGINT.
 * The signals are blocked in every thread (the etcd client's start later)
 * and read from a signalfd. */
static int watch_loop(struct sync_ctx *x, int sfd)
{
	struct gpc_error err;
	double last = 0;
	bool first = true;
	int wfd;

	gpc_error_clear(&err);
	wfd = certstore_watch_open(x->src, &err);
	if (wfd < 0)
		gpc_warn("%s: no change watch (%s); a full pass every %d s", certstore_dir(x->src), err.message,
			 SYNC_FULL_SECS);
	for (;;) {
		struct pollfd pf[2] = { { .fd = sfd, .events = POLLIN }, { .fd = wfd, .events = POLLIN } };
		double every = x->down ? SYNC_RETRY_SECS : SYNC_FULL_SECS, left = last + every - mono();
		int r, timeout = first ? 0 : left <= 0 ? 0 : (int)(left * 1000) + 1;

		r = poll(pf, wfd >= 0 ? 2 : 1, timeout);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "%s: poll: %s\n", cli.prog, strerror(errno));
			return 1;
		}
		if (r > 0 && (pf[0].revents & POLLIN))
			break;
		if (r > 0 && wfd >= 0 && (pf[1].revents & POLLIN)) {
			/* a burst of writes (renew of several lineages) makes
			 * one pass, up to a second late */
			unsigned changed = certstore_watch_read(x->src);
			for (int i = 0; i < 1000 / SYNC_SETTLE_MS; i++) {
				struct pollfd q = { .fd = wfd, .events = POLLIN };
				if (poll(&q, 1, SYNC_SETTLE_MS) <= 0)
					break;
				changed |= certstore_watch_read(x->src);
			}
			if (!changed && !first)
				continue;
		} else if (r > 0) {
			continue;
		}
		first = false;
		(void)sync_pass(x);
		last = mono();
	}
	if (wfd >= 0)
		certstore_watch_close(x->src);
	return 0;
}

int cmd_sync(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "certs-dir", required_argument, NULL, 'd' },
		{ "watch", no_argument, NULL, O_WATCH },
		{ "deploy-hook", required_argument, NULL, O_DEPLOY_HOOK },
		{ "hook-timeout", required_argument, NULL, O_HOOK_TIMEOUT },
		NOTIFY_LONGOPTS,
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		STOREOPT_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct sync_ctx x = { 0 };
	struct notify_args na = { 0 };
	struct gpc_error err;
	sigset_t sigs;
	const char *d = NULL;
	bool watch = false;
	int c, rc = 1, sfd = -1;
	long v;

	optind = 1;
	if (cli_exact_options("sync", argc, argv, "d:qvh", longopts) != 0)
		return EXIT_USAGE;
	while ((c = getopt_long(argc, argv, "d:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': d = optarg; break;
		case 'q': cli.quiet = true; break;
		case 'v': cli.verbose++; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case O_WATCH: watch = true; break;
		case O_DEPLOY_HOOK: x.hook = optarg[0] != '\0' ? optarg : NULL; break;
		case O_HOOK_TIMEOUT:
			if (cli_parse_range("sync", "--hook-timeout", optarg, 1, 86400, &v) != 0)
				return EXIT_USAGE;
			x.hook_ms = v * 1000L;
			break;
		default:
			if (storeopt_take(&cli_store, c, optarg) || notify_args_take(&na, c, optarg))
				break;
			return cli_usage_error("sync", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage_error("sync", "unexpected argument '%s'", argv[optind]);
	if (storeopt_url(&cli_store) == NULL)
		return cli_usage_error("sync", "sync needs --store URL (or $GOPROXY_CERT_STORE): the store to "
					       "copy the pairs from");
	if (cli_store.seal == NULL || cli_store.seal[0] == '\0')
		return cli_usage_error("sync", "sync needs --store-seal FILE: the private keys in the store are "
					       "sealed with it (the file every node holds)");
	cli_log_init();
	if (notify_args_check("sync", &na) != 0)
		return EXIT_USAGE;
	x.quiet = cli.quiet;
	x.watching = watch;
	buf_init(&x.last, 256 * 1024);

	/* before any thread starts: SIGTERM/SIGINT end --watch between passes */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (watch) {
		pthread_sigmask(SIG_BLOCK, &sigs, NULL);
		sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
		if (sfd < 0) {
			fprintf(stderr, "%s: signalfd: %s\n", cli.prog, strerror(errno));
			goto out;
		}
	}
	gpc_error_clear(&err);
	/* The local directory first: a wrong -d is said before the network. */
	if (certstore_open(certstore_default_dir(d), &x.dst, &err) != 0 ||
	    certstore_check_writable(x.dst, CERTSTORE_DEFAULT, &err) != 0 ||
	    storeopt_open(&cli_store, d, &x.src, &err) != 0) {
		cli_print_error(&err);
		rc = err.code != NULL && strcmp(err.code, GPC_E_USAGE) == 0 ? EXIT_USAGE :
		     err.code != NULL && strcmp(err.code, FS_E_UNTRUSTED) == 0 ? EXIT_BAD : 1;
		goto out;
	}
	if ((rc = notify_args_store("sync", x.src, &na)) != 0) /* for the store's renewals */
		goto out;
	notify_store_reach(x.src); /* this node's copy of the store's targets */
	rc = watch ? watch_loop(&x, sfd) : sync_pass(&x);
out:
	if (sfd >= 0)
		close(sfd);
	certstore_free(x.src);
	certstore_free(x.dst);
	buf_finish(&x.last);
	return rc;
}

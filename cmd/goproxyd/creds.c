/* creds: the reload of the certificates goproxyd serves (sni.c holds them).
 *
 * A thread with its own libev loop follows the store's change watch (in a
 * certs directory: inotify on it, every lineage directory, where the one
 * rename of ..data that swaps a pair arrives, and the tls-alpn-01 challenge
 * records; see store_dir.c), takes SIGHUP requests and rescans every minute as a safety net. It rebuilds the
 * set away from the connection callbacks and swaps it in, so a renewed
 * certificate is used by the next handshake while open connections keep the
 * one they started with. */
#include "goproxyd.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"

#define RELOAD_DELAY 0.05    /* collect a burst of file events into one rescan */
#define RESCAN_INTERVAL 60.0 /* safety net for missed events */

static struct certstore *store;
static pthread_t rl_thread;
static bool rl_started;
static struct ev_loop *rl_loop;
static ev_io rl_watch_w;
static ev_async rl_async;
static ev_timer rl_delay, rl_periodic;
static atomic_bool rl_stop;
static atomic_bool rl_challenges; /* a handshake waits for a challenge certificate */
static atomic_bool rl_hup;        /* SIGHUP: full rescan */
static int rl_watch = -1; /* the store's change watch */

/* Said once at start on an empty store: goproxyd runs anyway (it is how
 * the first certificate is obtained), and how to get that certificate
 * through it. */
static void say_no_certificate(struct certstore *cs)
{
	bool dir = !certstore_shared(cs);

	gpc_warn("%s: no certificate yet; answering ACME challenges (%s%s%stls-alpn-01 on the TLS port) and "
		 "refusing TLS handshakes (alert unrecognized_name) until the first pair is committed, which is "
		 "served at once\n  hint: get it through this goproxyd: goproxy-cert issue %s %s -D NAME --http-dir%s",
		 certstore_dir(cs), gpd_cfg.has_http ? "http-01 on " : "", gpd_cfg.has_http ? gpd_cfg.http.text : "",
		 gpd_cfg.has_http ? ", " : "", dir ? "-d" : "--store", certstore_dir(cs),
		 gpd_cfg.has_http ? "" : " --challenge tls-alpn-01 (no --http: http-01 is not answered)");
}

int creds_init(struct certstore *cs)
{
	int n;

	store = cs;
	if ((n = sni_load(cs)) == 0)
		say_no_certificate(cs);
	return n;
}

/* ---- reload thread ------------------------------------------------------ */

static void do_reload(void)
{
	bool retry = false;
	long n;

	/* Challenge certificates first and on their own: they are read
	 * without the store lock, so a writer holding it (an `issue` run
	 * waiting for its validation) does not delay them. */
	(void)sni_rescan(false, NULL);
	n = sni_rescan(true, &retry);
	if (n >= 0)
		gpc_debug("reload: %ld lineage(s) served", n);
	if (retry && rl_loop != NULL) {
		/* a writer held the store lock: its rename events are already
		 * consumed, so look again once it is likely done */
		ev_timer_stop(rl_loop, &rl_delay);
		ev_timer_set(&rl_delay, 1., 0.);
		ev_timer_start(rl_loop, &rl_delay);
	}
}

static void on_watch(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)w;
	(void)revents;
	/* The store's watch says something may have changed (a swap of a pair,
	 * a new lineage, a challenge answer): collect the burst into one rescan. */
	if (certstore_watch_read(store) == 0)
		return;
	ev_timer_stop(loop, &rl_delay);
	ev_timer_set(&rl_delay, RELOAD_DELAY, 0.);
	ev_timer_start(loop, &rl_delay);
}

static void on_delay(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	do_reload();
}

static void on_periodic(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	do_reload();
}

static void on_async(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)w;
	(void)revents;
	if (atomic_load(&rl_stop)) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (atomic_exchange(&rl_challenges, false))
		(void)sni_rescan(false, NULL);
	if (atomic_exchange(&rl_hup, false)) {
		gpc_info("reload requested (SIGHUP)");
		do_reload();
	}
}

static void *reload_main(void *arg)
{
	(void)arg;
	ev_run(rl_loop, 0);
	return NULL;
}

int creds_start_reloader(void)
{
	if ((rl_loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK)) == NULL)
		return -1;
	struct gpc_error err;
	gpc_error_clear(&err);
	rl_watch = certstore_watch_open(store, &err);
	if (rl_watch < 0) {
		gpc_warn("%s; falling back to a rescan every %.0f s and on SIGHUP", err.message, RESCAN_INTERVAL);
	} else {
		ev_io_init(&rl_watch_w, on_watch, rl_watch, EV_READ);
		ev_io_start(rl_loop, &rl_watch_w);
	}
	ev_timer_init(&rl_delay, on_delay, RELOAD_DELAY, 0.);
	ev_timer_init(&rl_periodic, on_periodic, RESCAN_INTERVAL, RESCAN_INTERVAL);
	ev_timer_start(rl_loop, &rl_periodic);
	ev_async_init(&rl_async, on_async);
	ev_async_start(rl_loop, &rl_async);
	if (pthread_create(&rl_thread, NULL, reload_main, NULL) != 0)
		return -1;
	rl_started = true;
	return 0;
}

void creds_request_reload(void)
{
	if (rl_started) {
		atomic_store(&rl_hup, true);
		ev_async_send(rl_loop, &rl_async);
	}
}

void creds_request_challenges(void)
{
	if (rl_started) {
		atomic_store(&rl_challenges, true);
		ev_async_send(rl_loop, &rl_async);
	}
}

/* Stop the reload thread (waiting at most a second: it may be blocked on
 * the store lock) and free the current set. */
void creds_shutdown(void)
{
	struct timespec ts;
	bool joined = true;

	if (rl_started) {
		atomic_store(&rl_stop, true);
		ev_async_send(rl_loop, &rl_async);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		joined = pthread_timedjoin_np(rl_thread, NULL, &ts) == 0;
		rl_started = false;
	}
	if (!joined)
		return; /* the thread still uses the set: leave it to exit() */
	if (rl_loop != NULL) {
		ev_loop_destroy(rl_loop);
		rl_loop = NULL;
	}
	if (rl_watch >= 0)
		certstore_watch_close(store);
	rl_watch = -1;
	sni_free();
}

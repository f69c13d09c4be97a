/* creds: the reload of the certificates goproxyd serves (sni.c holds them).
 *
 * A thread with its own libev loop watches the certs directory, every
 * lineage directory (the one rename of ..data that swaps a pair arrives
 * there) and the tls-alpn-01 challenge directory (inotify), takes
 * SIGHUP requests and rescans every minute as a safety net. It rebuilds the
 * set away from the connection callbacks and swaps it in, so a renewed
 * certificate is used by the next handshake while open connections keep the
 * one they started with. */
#include "goproxyd.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
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
static ev_io rl_inotify_w;
static ev_async rl_async;
static ev_timer rl_delay, rl_periodic;
static atomic_bool rl_stop;
static atomic_bool rl_challenges; /* a handshake waits for a challenge certificate */
static atomic_bool rl_hup;        /* SIGHUP: full rescan */
static int rl_inotify = -1;

int creds_init(struct certstore *cs)
{
	store = cs;
	return sni_load(cs);
}

/* ---- reload thread ------------------------------------------------------ */

static void watch_lineage(const char *name, void *ud)
{
	static const uint32_t files = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
				      IN_DELETE | IN_ATTRIB | IN_DELETE_SELF;
	char p[PATH_MAX];

	(void)ud;
	if (strcmp(name, CERTSTORE_DEFAULT) != 0 &&
	    fs_join(p, sizeof(p), certstore_dir(store), name) == 0)
		(void)inotify_add_watch(rl_inotify, p, files);
}

static void watch_dirs(void)
{
	static const uint32_t files = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
				      IN_DELETE | IN_ATTRIB | IN_DELETE_SELF;
	char p[PATH_MAX];

	if (rl_inotify < 0)
		return;
	(void)inotify_add_watch(rl_inotify, certstore_dir(store), files);
	/* .state holds the lock file: only creation of directories matters. */
	if (certstore_state_path(store, "", p, sizeof(p)) == 0)
		(void)inotify_add_watch(rl_inotify, p, IN_CREATE | IN_MOVED_TO);
	if (certstore_state_path(store, "challenges", p, sizeof(p)) == 0)
		(void)inotify_add_watch(rl_inotify, p, IN_CREATE | IN_MOVED_TO);
	if (certstore_state_path(store, SNI_CHALLENGE_DIR, p, sizeof(p)) == 0)
		(void)inotify_add_watch(rl_inotify, p, files);
	sni_foreach_lineage(watch_lineage, NULL);
}

/* Also watch every subdirectory (a new lineage's dir appears before its files). */
static void watch_subdirs(void)
{
	static const uint32_t files = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
				      IN_DELETE | IN_ATTRIB | IN_DELETE_SELF;
	struct dirent *de;
	char p[PATH_MAX];
	DIR *d;

	if (rl_inotify < 0 || (d = opendir(certstore_dir(store))) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !certstore_valid_name(de->d_name))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (fs_join(p, sizeof(p), certstore_dir(store), de->d_name) == 0)
			(void)inotify_add_watch(rl_inotify, p, files | IN_ONLYDIR);
	}
	closedir(d);
}

static void do_reload(void)
{
	bool retry = false;
	long n;

	/* Challenge certificates first and on their own: they are read
	 * without the store lock, so a writer holding it (an `issue` run
	 * waiting for its validation) does not delay them. */
	(void)sni_rescan(false, NULL);
	n = sni_rescan(true, &retry);
	watch_dirs();
	watch_subdirs();
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

static void on_inotify(struct ev_loop *loop, ev_io *w, int revents)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t r;

	(void)revents;
	while ((r = read(w->fd, buf, sizeof(buf))) > 0)
		;
	/* Every event counts, whatever its name: goproxy-cert swaps a pair by
	 * renaming ..data in the lineage directory (IN_MOVED_TO "..data", see
	 * goproxy-cert(5)), other writers rename cert.crt and priv.key. Collect
	 * the burst (new generation, swap, removal of the old one; or two
	 * files) into one rescan. */
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
	rl_inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (rl_inotify < 0) {
		gpc_warn("inotify: %s; falling back to a rescan every %.0f s and on SIGHUP",
			 strerror(errno), RESCAN_INTERVAL);
	} else {
		ev_io_init(&rl_inotify_w, on_inotify, rl_inotify, EV_READ);
		ev_io_start(rl_loop, &rl_inotify_w);
	}
	watch_dirs();
	watch_subdirs();
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
	if (rl_inotify >= 0)
		close(rl_inotify);
	rl_inotify = -1;
	sni_free();
}

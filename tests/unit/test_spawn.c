/* spawn_run / spawn_shell: exit statuses, the time limit and the process
 * group (a grandchild that ignores SIGTERM is killed too), stdin from
 * /dev/null, stdout on stderr, the environment, and calls from 4 threads.
 *
 * The test process is a child subreaper, so a hook's orphans are reparented
 * to it and it can see them die (this machine's pid 1 may not reap them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gpc_spawn.h"

static char tmpdir[64];

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait (up to 3 s) until no process of group `pgid` is left, reaping the
 * orphans reparented to us. Returns true when the group is gone. */
static bool group_gone(pid_t pgid)
{
	long until = now_ms() + 3000;

	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (kill(-pgid, 0) != 0 && errno == ESRCH)
			return true;
		if (now_ms() > until)
			return false;
		usleep(10000);
	}
}

static void test_exit_codes(void **state)
{
	struct spawn_result r;
	struct gpc_error e = { 0 };
	char *false_argv[] = { (char *)"false", NULL };

	(void)state;
	assert_int_equal(spawn_shell("exit 0", "test", 5000, NULL, &r, &e), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.exit_code, 0);
	assert_false(r.timed_out);
	assert_int_equal(spawn_shell("exit 3", "test", 5000, NULL, &r, &e), 0);
	assert_int_equal(r.status, 3);
	assert_int_equal(spawn_shell("exit 255", "test", 5000, NULL, &r, &e), 0);
	assert_int_equal(r.status, 255);
	/* found through PATH, like execvp */
	assert_int_equal(spawn_run(false_argv, "test", 5000, NULL, &r, &e), 0);
	assert_int_equal(r.status, 1);
	/* ended by a signal of its own: not an error, status as sh reports it */
	assert_int_equal(spawn_shell("kill -USR1 $$", "test", 5000, NULL, &r, &e), 0);
	assert_int_equal(r.term_signal, SIGUSR1);
	assert_int_equal(r.exit_code, -1);
	assert_int_equal(r.status, 128 + SIGUSR1);
	assert_false(r.timed_out);
	assert_true(group_gone(r.pid));
}

static void test_args_and_missing(void **state)
{
	struct spawn_result r;
	struct gpc_error e = { 0 };
	char path[128];
	char *argv[] = { path, (char *)"begin", (char *)"dns-01", NULL };
	char *missing[] = { (char *)"/nonexistent/hook", (char *)"begin", NULL };
	FILE *f;

	(void)state;
	/* a script without "#!" runs through /bin/sh, as execvp runs it */
	snprintf(path, sizeof(path), "%s/nosheb", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[ \"$1:$2\" = begin:dns-01 ] && exit 7\nexit 1\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(spawn_run(argv, "dns-01 begin for example.org", 5000, NULL, &r, &e), 0);
	assert_int_equal(r.status, 7);

	assert_int_equal(spawn_run(missing, "dns-01 begin for example.org", 5000, NULL, &r, &e), -1);
	assert_string_equal(e.code, GPC_E_MISSING);
	assert_non_null(strstr(e.message, "/nonexistent/hook"));
	assert_non_null(strstr(e.message, "dns-01 begin for example.org"));
	assert_non_null(strstr(e.message, "No such file"));
	assert_int_equal(r.status, -1);
	assert_int_equal(r.pid, -1);
}

static void test_timeout(void **state)
{
	struct spawn_result r;
	struct gpc_error e = { 0 };
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)"sleep 1000; exit 0", NULL };
	long t0 = now_ms(), dt;

	(void)state;
	assert_int_equal(spawn_run(argv, "dns-01 begin for example.org", 1000, NULL, &r, &e), -1);
	dt = now_ms() - t0;
	assert_true(r.timed_out);
	assert_int_equal(r.term_signal, SIGTERM);
	assert_true(dt >= 1000);
	assert_true(dt < 1000 + SPAWN_GRACE_MS); /* sh and sleep end on SIGTERM: no grace needed */
	assert_string_equal(e.code, GPC_E_TIMEOUT);
	assert_non_null(strstr(e.message, "hook /bin/sh"));
	assert_non_null(strstr(e.message, "dns-01 begin for example.org"));
	assert_non_null(strstr(e.message, "did not finish within 1 s; killed with its process group"));
	assert_non_null(strstr(e.hint, "--hook-timeout SECONDS"));
	assert_true(group_gone(r.pid));

	/* the shell form names the command */
	assert_int_equal(spawn_shell("sleep 1000", "deploy", 1500, NULL, &r, &e), -1);
	assert_non_null(strstr(e.message, "hook 'sleep 1000' (deploy) did not finish within 1.5 s"));
	assert_true(group_gone(r.pid));
}

/* The hook dies on SIGTERM, but leaves a grandchild that ignores it in its
 * group: SIGKILL to the group ends it. */
static void test_grandchild_ignoring_term(void **state)
{
	struct spawn_result r;
	struct gpc_error e = { 0 };
	char cmd[256], pidfile[128];
	long gpid = 0;
	int st = 0;
	FILE *f;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/grandchild.pid", tmpdir);
	snprintf(cmd, sizeof(cmd), "(trap '' TERM; exec sleep 1000) & echo $! >%s; wait", pidfile);
	assert_int_equal(spawn_shell(cmd, "dns-01 begin for example.org", 1000, NULL, &r, &e), -1);
	assert_true(r.timed_out);
	assert_int_equal(r.term_signal, SIGTERM);
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &gpid), 1);
	fclose(f);
	/* reparented to us (subreaper): it was killed, by SIGKILL */
	assert_int_equal(waitpid((pid_t)gpid, &st, 0), (pid_t)gpid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_true(group_gone(r.pid));
}

/* The whole group ignores SIGTERM: SIGKILL after the grace. */
static void test_all_ignore_term(void **state)
{
	struct spawn_result r;
	struct gpc_error e = { 0 };
	long t0 = now_ms(), dt;

	(void)state;
	assert_int_equal(spawn_shell("trap '' TERM; sleep 1000; exit 0", "test", 1000, NULL, &r, &e), -1);
	dt = now_ms() - t0;
	assert_true(r.timed_out);
	assert_int_equal(r.term_signal, SIGKILL);
	assert_true(dt >= 1000 + SPAWN_GRACE_MS);
	assert_true(dt < 1000 + SPAWN_GRACE_MS + 1500);
	assert_true(group_gone(r.pid));
}

/* stdin is /dev/null even when ours is a pipe with data in it; the hook's
 * stdout goes to our stderr, its stderr to our stderr. */
static void test_stdio(void **state)
{
	struct spawn_result r;
	struct gpc_error e = { 0 };
	char outp[128], errp[128], buf[256];
	int p[2], save0, save1, save2, fo, fe;
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "data\n", 5), 5);
	save0 = dup(0);
	assert_int_equal(dup2(p[0], 0), 0);
	assert_int_equal(spawn_shell("if read -r x; then exit 1; fi; "
				     "[ \"$(readlink /proc/$$/fd/0)\" = /dev/null ] || exit 2",
				     "test", 5000, NULL, &r, &e), 0);
	dup2(save0, 0);
	close(save0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(r.status, 0);

	snprintf(outp, sizeof(outp), "%s/out", tmpdir);
	snprintf(errp, sizeof(errp), "%s/err", tmpdir);
	fo = open(outp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	fe = open(errp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fo >= 0 && fe >= 0);
	fflush(stdout);
	fflush(stderr);
	save1 = dup(1);
	save2 = dup(2);
	dup2(fo, 1);
	dup2(fe, 2);
	assert_int_equal(spawn_shell("echo to-stdout; echo to-stderr >&2", "test", 5000, NULL, &r, &e), 0);
	dup2(save1, 1);
	dup2(save2, 2);
	close(save1);
	close(save2);
	assert_int_equal(r.status, 0);
	assert_int_equal(lseek(fo, 0, SEEK_END), 0);
	n = pread(fe, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "to-stdout\nto-stderr\n");
	close(fo);
	close(fe);
}

static void test_env(void **state)
{
	struct spawn_result r;
	struct gpc_error e = { 0 };
	char *extra[] = { (char *)"GPC_SPAWN_X=a b", (char *)"GPC_SPAWN_Y=override", NULL };
	char *bad[] = { (char *)"NOEQUALS", NULL };

	(void)state;
	assert_int_equal(setenv("GPC_SPAWN_Y", "ours", 1), 0);
	assert_int_equal(setenv("GPC_SPAWN_Z", "kept", 1), 0);
	assert_int_equal(spawn_shell("[ \"$GPC_SPAWN_X\" = 'a b' ] && [ \"$GPC_SPAWN_Y\" = override ] && "
				     "[ \"$GPC_SPAWN_Z\" = kept ] && [ \"$(env | grep -c '^GPC_SPAWN_Y=')\" = 1 ]",
				     "test", 5000, extra, &r, &e), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(spawn_shell("[ \"$GPC_SPAWN_Y\" = ours ]", "test", 5000, NULL, &r, &e), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(spawn_shell("true", "test", 5000, bad, &r, &e), -1);
	assert_non_null(strstr(e.message, "NOEQUALS"));
	unsetenv("GPC_SPAWN_Y");
	unsetenv("GPC_SPAWN_Z");
}

/* ---- 4 threads at once ---- */

#define NTHREADS 4

struct worker {
	int id;
	int failures;
	pid_t slow_pgid;
	char msg[256];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct spawn_result r;
	struct gpc_error e = { 0 };
	char cmd[64];

	for (int i = 0; i < 8; i++) {
		int want = w->id * 10 + i;
		snprintf(cmd, sizeof(cmd), "exit %d", want);
		if (spawn_shell(cmd, "thread", 5000, NULL, &r, &e) != 0 || r.status != want) {
			snprintf(w->msg, sizeof(w->msg), "thread %d: '%s' gave %d (%.160s)", w->id, cmd, r.status, e.message);
			w->failures++;
		}
	}
	/* one that hits the limit while the others keep running */
	if (spawn_shell("sleep 1000", "thread", 1000, NULL, &r, &e) != -1 || !r.timed_out) {
		snprintf(w->msg, sizeof(w->msg), "thread %d: sleep not killed at the limit", w->id);
		w->failures++;
	}
	w->slow_pgid = r.pid;
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t th[NTHREADS];
	struct worker w[NTHREADS];
	long t0 = now_ms(), dt;

	(void)state;
	memset(w, 0, sizeof(w));
	for (int i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	dt = now_ms() - t0;
	for (int i = 0; i < NTHREADS; i++) {
		if (w[i].failures)
			fail_msg("%s", w[i].msg);
		assert_true(group_gone(w[i].slow_pgid));
	}
	/* the limits ran side by side, not one after another */
	assert_true(dt < 1000 * NTHREADS);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s", "/tmp/test_spawn.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_args_and_missing),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_grandchild_ignoring_term),
		cmocka_unit_test(test_all_ignore_term),
		cmocka_unit_test(test_stdio),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

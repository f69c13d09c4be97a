/* spawn: hooks in their own process group, with a time limit. */
#include "gpc_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

extern char **environ;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "300 s", "1.5 s": the limit as people read it. */
static const char *limit_str(long ms, char *out, size_t outsz)
{
	if (ms % 1000 == 0)
		snprintf(out, outsz, "%ld s", ms / 1000);
	else
		snprintf(out, outsz, "%.3g s", (double)ms / 1000.0);
	return out;
}

/* Our environment with `extra` ("NAME=VALUE") replacing or adding entries.
 * The strings are not copied: the array lives only for the spawn. Returns a
 * malloc'd NULL-terminated array, or NULL (ENOMEM). */
static char **merge_env(char *const *extra)
{
	size_t n = 0, m = 0, k = 0;
	char **env;

	for (char **e = environ; e && *e; e++)
		n++;
	for (char *const *x = extra; x && *x; x++)
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (char **e = environ; e && *e; e++) {
		size_t len = strcspn(*e, "=");
		bool overridden = false;
		for (char *const *x = extra; x && *x && !overridden; x++)
			overridden = strncmp(*x, *e, len) == 0 && (*x)[len] == '=';
		if (!overridden)
			env[k++] = *e;
	}
	for (char *const *x = extra; x && *x; x++)
		env[k++] = *x;
	env[k] = NULL;
	return env;
}

/* Start argv in a new process group with stdin from /dev/null and stdout on
 * our stderr. fork + execvpe (which runs a file without "#!" through
 * /bin/sh, as execvp does), with a close-on-exec pipe that carries exec's
 * errno back: a missing program is an error here, not an exit status 127
 * (posix_spawn's own report of it is lost under valgrind, whose vfork is a
 * fork). The child calls only what is safe between fork and exec in a
 * program with threads. Returns 0 and *pid, or an errno value. */
static int start(char *const argv[], char *const envp[], pid_t *pid)
{
	int p[2], e = 0, rc;
	sigset_t none;
	ssize_t r;
	pid_t c;

	if (pipe2(p, O_CLOEXEC) != 0)
		return errno;
	sigemptyset(&none);
	c = fork();
	if (c < 0) {
		rc = errno;
		close(p[0]);
		close(p[1]);
		return rc;
	}
	if (c == 0) {
		int fd;
		close(p[0]);
		(void)setpgid(0, 0);
		/* The CLI ignores SIGPIPE; a hook gets the default back, and SIGTERM
		 * must be able to end it at the limit whatever we inherited. */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
			e = errno;
		} else {
			if (fd > STDERR_FILENO)
				close(fd);
			execvpe(argv[0], argv, envp);
			e = errno;
		}
		if (write(p[1], &e, sizeof(e)) != (ssize_t)sizeof(e))
			_exit(126);
		_exit(127);
	}
	close(p[1]);
	/* The child set its group before exec; doing it here too closes the
	 * window before it ran (after exec it fails with EACCES, which is fine). */
	(void)setpgid(c, c);
	while ((r = read(p[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (r == (ssize_t)sizeof(e)) {
		/* exec failed: reap the child, report why */
		while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
			;
		return e ? e : ENOEXEC;
	}
	*pid = c;
	return 0;
}

/* Wait until pid has ended, without reaping it (its zombie keeps the group
 * id from being reused while we signal the group), or until `until`
 * (monotonic ms). Returns 1 when it ended, 0 at the deadline, -1 (errno). */
static int wait_ended(pid_t pid, int pidfd, long until)
{
	long step = 5;

	for (;;) {
		siginfo_t si;
		long left;

		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (si.si_pid == pid)
			return 1;
		left = until - now_ms();
		if (left <= 0)
			return 0;
		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			if (poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left) < 0 && errno != EINTR)
				return -1;
		} else {
			/* No pidfd (old kernel, seccomp): poll the status, 5 ms growing to 100 ms. */
			long ms = left < step ? left : step;
			struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
			nanosleep(&ts, NULL);
			if (step < 100)
				step *= 2;
		}
	}
}

static int reap(pid_t pid, int *st)
{
	while (waitpid(pid, st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static void result_init(struct spawn_result *res)
{
	res->status = -1;
	res->exit_code = -1;
	res->term_signal = 0;
	res->timed_out = false;
	res->elapsed_ms = 0;
	res->pid = -1;
}

/* The body of spawn_run/spawn_shell; `name` is how messages name the hook. */
static int run(char *const argv[], const char *name, const char *phase, long timeout_ms,
	       char *const *extra_env, struct spawn_result *res, struct gpc_error *err)
{
	char lim[32];
	char **envp = NULL;
	pid_t pid = -1;
	int pidfd = -1, st = 0, rc = -1, e, ended;
	long t0 = now_ms();

	result_init(res);
	if (timeout_ms <= 0)
		timeout_ms = SPAWN_DEFAULT_TIMEOUT_MS;
	if (phase == NULL)
		phase = "hook";
	for (char *const *x = extra_env; x && *x; x++)
		if (strchr(*x, '=') == NULL || **x == '=')
			return gpc_error_set(err, GPC_E_INTERNAL, "hook %s (%s): environment entry '%.64s' is not NAME=VALUE",
					     name, phase, *x);
	if (extra_env != NULL && (envp = merge_env(extra_env)) == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");

	e = start(argv, envp ? envp : environ, &pid);
	if (e != 0) {
		gpc_error_set(err, e == ENOENT ? GPC_E_MISSING : (e == EACCES || e == EPERM) ? GPC_E_PERMISSION : GPC_E_IO,
			      "cannot run hook %s (%s): %s", name, phase, strerror(e));
		err->sys_errno = e;
		gpc_error_hint(err, "give the path of an executable program (chmod +x it; a script needs a #! line "
				    "naming an interpreter that exists)");
		goto out;
	}
	res->pid = pid;
	gpc_debug("hook %s (%s): started, pid %ld, limit %s", name, phase, (long)pid,
		  limit_str(timeout_ms, lim, sizeof(lim)));
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec by definition */
#endif

	ended = wait_ended(pid, pidfd, timeout_ms > LONG_MAX - t0 ? LONG_MAX : t0 + timeout_ms);
	if (ended == 0) {
		/* The limit: the whole group, since a hook's children (curl, nsupdate,
		 * a sleep) would otherwise live on. The hook is not reaped yet, so
		 * the group id cannot have been reused. */
		res->timed_out = true;
		gpc_debug("hook %s (%s): limit reached, SIGTERM to process group %ld", name, phase, (long)pid);
		if (kill(-pid, SIGTERM) != 0 && errno != ESRCH)
			gpc_debug("hook %s: kill -TERM -%ld: %s", name, (long)pid, strerror(errno));
		ended = wait_ended(pid, pidfd, now_ms() + SPAWN_GRACE_MS);
		/* Whatever is left of the group (the hook's zombie still holds its id). */
		if (kill(-pid, SIGKILL) != 0 && errno != ESRCH)
			gpc_debug("hook %s: kill -KILL -%ld: %s", name, (long)pid, strerror(errno));
	}
	if (ended < 0) {
		/* Cannot wait (ECHILD: someone reaped it, or SIGCHLD is ignored). */
		e = errno;
		(void)kill(-pid, SIGKILL);
		gpc_error_set(err, GPC_E_INTERNAL, "hook %s (%s): cannot wait for it: %s", name, phase, strerror(e));
		err->sys_errno = e;
		(void)reap(pid, &st);
		goto out;
	}
	if (reap(pid, &st) != 0) {
		e = errno;
		gpc_error_set(err, GPC_E_INTERNAL, "hook %s (%s): cannot wait for it: %s", name, phase, strerror(e));
		err->sys_errno = e;
		goto out;
	}
	res->elapsed_ms = now_ms() - t0;
	if (WIFEXITED(st)) {
		res->exit_code = WEXITSTATUS(st);
		res->status = res->exit_code;
	} else if (WIFSIGNALED(st)) {
		res->term_signal = WTERMSIG(st);
		res->status = 128 + res->term_signal;
	}
	if (res->timed_out) {
		gpc_error_set(err, GPC_E_TIMEOUT,
			      "hook %s (%s) did not finish within %s; killed with its process group", name, phase,
			      limit_str(timeout_ms, lim, sizeof(lim)));
		gpc_error_hint(err, "make the hook finish sooner (it runs with stdin from /dev/null), or raise the "
				    "limit with --hook-timeout SECONDS");
		goto out;
	}
	gpc_debug("hook %s (%s): status %d after %ld ms", name, phase, res->status, res->elapsed_ms);
	rc = 0;
out:
	if (pidfd >= 0)
		close(pidfd);
	free(envp);
	return rc;
}

int spawn_run(char *const argv[], const char *phase, long timeout_ms, char *const *extra_env,
	      struct spawn_result *res, struct gpc_error *err)
{
	if (argv == NULL || argv[0] == NULL || *argv[0] == '\0') {
		result_init(res);
		return gpc_error_set(err, GPC_E_USAGE, "hook (%s): no program given", phase ? phase : "hook");
	}
	return run(argv, argv[0], phase, timeout_ms, extra_env, res, err);
}

int spawn_shell(const char *cmd, const char *phase, long timeout_ms, char *const *extra_env,
		struct spawn_result *res, struct gpc_error *err)
{
	char name[160];
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL };

	if (cmd == NULL) {
		result_init(res);
		return gpc_error_set(err, GPC_E_USAGE, "hook (%s): no command given", phase ? phase : "hook");
	}
	snprintf(name, sizeof(name), "'%.*s%s'", 120, cmd, strlen(cmd) > 120 ? "..." : "");
	return run(argv, name, phase, timeout_ms, extra_env, res, err);
}

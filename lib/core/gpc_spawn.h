/* spawn: run a hook in its own process group, with a time limit.
 *
 * The child gets a new process group (its pid), stdin from /dev/null, its
 * stdout on our stderr (a hook's output must not mix with --json on stdout)
 * and its stderr inherited; the environment is ours plus `extra_env`.
 * When the limit passes, the whole group gets SIGTERM, the hook
 * SPAWN_GRACE_MS to exit, then the whole group SIGKILL; the hook is reaped
 * either way, so nothing of the group outlives the call. Processes a hook
 * leaves in its group after exiting on its own are left alone (a begin hook
 * may start a responder that its done call stops).
 *
 * No signal handlers, no SIGCHLD: the wait is on this one pid (pidfd + poll,
 * or waitid polling where pidfd_open is missing), so any number of threads
 * may spawn at once.
 *
 * (Not "spawn.h": with lib/ on the include path that name would hide the
 * system <spawn.h> from every file of the project.) */
#ifndef GPC_SPAWN_H
#define GPC_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* Error code of a hook killed at its limit (lets issue classify it as a
 * failure, exit 1, not a deferral). */
#ifndef GPC_E_TIMEOUT
#define GPC_E_TIMEOUT "timeout"
#endif

/* The limit when a caller passes timeout_ms <= 0: 5 minutes. */
#define SPAWN_DEFAULT_TIMEOUT_MS 300000L
/* Between SIGTERM and SIGKILL to the group. */
#define SPAWN_GRACE_MS 2000L

struct spawn_result {
	int status;      /* the exit code, or 128 + signal as sh reports it; -1 if never run */
	int exit_code;   /* exit code when it exited, else -1 */
	int term_signal; /* signal that ended it (SIGTERM/SIGKILL when timed out), else 0 */
	bool timed_out;  /* killed at the limit (the call then returned -1) */
	long elapsed_ms; /* from start to reaped */
	pid_t pid;       /* the hook's pid, also its process group id (reaped: for logs and tests) */
};

/* Run argv[0] (looked up in PATH like execvp; a file without "#!" runs
 * through /bin/sh, as execvp does) with argv. `phase` says what the run is
 * for, for messages ("dns-01 begin for example.org", "deploy for NAME").
 * `extra_env` is a NULL-terminated list of "NAME=VALUE" that override or add
 * to our environment, or NULL. timeout_ms <= 0 means SPAWN_DEFAULT_TIMEOUT_MS.
 * Returns 0 when the program ran and ended by itself, whatever its exit
 * status (read res); -1 when it could not be started, or was killed at the
 * limit (res->timed_out; err names the program, the phase and the limit).
 * res is always filled. Thread-safe. */
int spawn_run(char *const argv[], const char *phase, long timeout_ms, char *const *extra_env,
	      struct spawn_result *res, struct gpc_error *err) __attribute__((warn_unused_result));

/* spawn_run of /bin/sh -c CMD; messages name the hook as 'CMD'. */
int spawn_shell(const char *cmd, const char *phase, long timeout_ms, char *const *extra_env,
		struct spawn_result *res, struct gpc_error *err) __attribute__((warn_unused_result));

#endif

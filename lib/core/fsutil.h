/* fsutil: file reading and crash-safe writing. */
#ifndef GPC_FSUTIL_H
#define GPC_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"

/* Read a regular file of at most `max` bytes into `out` (appended).
 * Refuses directories, FIFOs and devices. Returns 0 or -1 with `err` set
 * (naming the path; too large is GPC_E_INVALID). */
int fs_read_file(const char *path, size_t max, struct buf *out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Write `len` bytes to `path` atomically: temp file in the same directory
 * (mkstemp), fchmod(mode), write, fsync, rename over `path`, fsync of the
 * directory. On any failure the temp file is removed and `path` is untouched.
 * Returns 0 or -1 with `err` set. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		    struct gpc_error *err) __attribute__((warn_unused_result));

/* Write to a temp file next to `path` (mode, fsync) without renaming; the
 * temp path is stored in `tmp` (size tmpsz). Used to stage several files that
 * are then renamed in a chosen order (fs_commit). Returns 0 or -1. */
int fs_stage(const char *path, const void *data, size_t len, mode_t mode,
	     char *tmp, size_t tmpsz, struct gpc_error *err) __attribute__((warn_unused_result));

/* Create `path`, which must not exist (O_EXCL, no symlink followed), with
 * `mode` (whatever the umask), write `len` bytes and fsync it. For files in
 * a directory nobody reads yet (a pair's new generation); the caller fsyncs
 * the directory. On failure the file is removed and `err` names `errpath`
 * (what the user knows, e.g. the directory) or `path` when NULL. Returns 0
 * or -1. */
int fs_write_new(const char *path, const void *data, size_t len, mode_t mode,
		 const char *errpath, struct gpc_error *err) __attribute__((warn_unused_result));

/* rename(tmp, path) then fsync the directory of `path`. Returns 0 or -1. */
int fs_commit(const char *tmp, const char *path, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* fsync the directory that contains `path`. Returns 0 or -1. */
int fs_sync_parent(const char *path, struct gpc_error *err) __attribute__((warn_unused_result));

/* mkdir -p with `mode` for every directory created; an existing directory
 * is chmod'ed to `mode` only if `fix_mode` is set. Returns 0 or -1. */
int fs_mkdirs(const char *path, mode_t mode, int fix_mode, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Remove temp files left in `dir` (and, `depth` levels down, its
 * subdirectories) by writers that were killed: names made by fs_stage
 * ("FILE.tmp-PID-XXXXXX") whose PID no longer runs. Returns how many were
 * removed. Best effort: errors are ignored. */
int fs_remove_stale_temps(const char *dir, int depth);

/* Will files written under `dir` survive a reboot or a container being
 * recreated? Returns 1 when they will not, with `why` set (code
 * FS_E_EPHEMERAL, message saying where `dir` lives and what is lost, hint
 * saying what to do): `dir` is on tmpfs/ramfs (memory), or, inside a
 * container (/.dockerenv, /run/.containerenv), on the container's own root
 * filesystem rather than on a mounted volume. Returns 0 when `dir` looks
 * persistent or cannot be examined: this is advice, never an error. */
#define FS_E_EPHEMERAL "certs-dir-not-persistent"
int fs_ephemeral(const char *dir, struct gpc_error *why);

/* The decision behind fs_ephemeral, for tests: `real` is the resolved
 * directory, `mountinfo` the text of /proc/self/mountinfo (NULL: unknown),
 * `statfs_type` the statfs f_type of `real`, `in_container` whether a
 * container marker exists. Same return and `why` as fs_ephemeral. */
int fs_ephemeral_decide(const char *real, const char *mountinfo, long statfs_type, int in_container,
			struct gpc_error *why);

/* Join dir and name with one '/' into out (size outsz). Returns 0, or -1 if
 * it does not fit. */
int fs_join(char *out, size_t outsz, const char *dir, const char *name);

/* ---- Files another user may write (OpenSSH's StrictModes) ----
 *
 * A file or directory is trusted when it is owned by the effective user or
 * root and is not writable by group or others: nobody else can have put
 * anything into it or replace what it holds. */
#define FS_E_UNTRUSTED "untrusted-owner"

/* Is what `st` describes (for `path`) trusted? Returns 0, or -1 with `err`
 * set (code FS_E_UNTRUSTED): the message names path, owner and mode, the
 * hint the chown/chmod that fixes it, and, for root in something a service
 * user owns, the runuser command that runs this as that user instead. */
int fs_trust_stat(const char *path, const struct stat *st, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* lstat(path) (a symbolic link is refused: FS_E_UNTRUSTED naming it) and
 * fs_trust_stat. `want_dir`: it must be a directory. An absent path is
 * -1 with GPC_E_MISSING (err->sys_errno ENOENT). */
int fs_trust_path(const char *path, bool want_dir, struct gpc_error *err) __attribute__((warn_unused_result));

/* The command line of this process with `runuser -u USER --` in front, for
 * the hint "run it as the owner" (best effort: "goproxy-cert ..." when
 * /proc is not mounted). */
void fs_runuser_command(const char *user, char *out, size_t outsz);

/* Open a lock file: never follows a symbolic link (O_NOFOLLOW), never
 * blocks in open (O_NONBLOCK: a FIFO planted there), never truncates;
 * `create`: O_RDWR|O_CREAT with mode 0600, else O_RDONLY. fstat must show a
 * regular file owned by the effective user or root. Returns the
 * descriptor (O_CLOEXEC) or -1 with `err` set (sys_errno ENOENT, EACCES,
 * ... when open failed; FS_E_UNTRUSTED or GPC_E_INVALID for what it found). */
int fs_open_lock(const char *path, bool create, struct gpc_error *err) __attribute__((warn_unused_result));

/* As fs_read_file, but a symbolic link is refused (O_NOFOLLOW: ELOOP, said
 * as "is a symbolic link") and, with `trusted`, the file must pass
 * fs_trust_stat. */
int fs_read_file_strict(const char *path, size_t max, bool trusted, struct buf *out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* As fs_write_new, for `name` inside the directory open as `dirfd`: the
 * file is created by openat (O_EXCL|O_NOFOLLOW), never through a path that
 * could be swapped. Returns 0 or -1 (the file removed). */
int fs_write_new_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		    const char *errpath, struct gpc_error *err) __attribute__((warn_unused_result));

/* The state directory of program `prog` into out: $STATE_DIRECTORY
 * (systemd's StateDirectory=; the first of a list), else /var/lib/PROG
 * when run as root, else $XDG_STATE_HOME/PROG, else
 * $HOME/.local/state/PROG. Returns 0, or -1 (no absolute one of them, or
 * out too small). */
int fs_state_dir(const char *prog, char *out, size_t outsz);

#endif

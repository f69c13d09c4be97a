#include "fsutil.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <pwd.h>
#include <unistd.h>

int fs_state_dir(const char *prog, char *out, size_t outsz)
{
	const char *sd = getenv("STATE_DIRECTORY"), *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	int n;

	if (sd != NULL && sd[0] == '/')
		n = snprintf(out, outsz, "%.*s", (int)strcspn(sd, ":"), sd); /* the first of a list */
	else if (geteuid() == 0)
		n = snprintf(out, outsz, "/var/lib/%s", prog);
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, outsz, "%s/%s", xdg, prog);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, outsz, "%s/.local/state/%s", home, prog);
	else
		return -1;
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int fs_join(char *out, size_t outsz, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	int n;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	n = snprintf(out, outsz, "%.*s/%s", (int)dl, dir, name);
	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

static int nofollow_error(struct gpc_error *err, int e, const char *what, const char *path);

/* fs_read_file; `strict`: a symbolic link is refused (O_NOFOLLOW);
 * `trusted`: the file must pass fs_trust_stat. */
static int read_file(const char *path, size_t max, bool strict, bool trusted, struct buf *out,
		     struct gpc_error *err)
{
	struct stat st;
	char chunk[16384];
	int fd, rc = -1;
	size_t total = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (strict ? O_NOFOLLOW : 0));
	if (fd < 0)
		return strict ? nofollow_error(err, errno, "open", path) : gpc_error_sys(err, errno, "open", path);
	if (fstat(fd, &st) != 0) {
		gpc_error_sys(err, errno, "stat", path);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		gpc_error_sys(err, EISDIR, "read", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		gpc_error_set(err, GPC_E_INVALID, "%s: not a regular file", path);
		gpc_error_hint(err, "replace %s with a regular file", path);
		goto out;
	}
	if (trusted && fs_trust_stat(path, &st, err) != 0)
		goto out;
	if ((size_t)st.st_size > max) {
		gpc_error_set(err, GPC_E_INVALID, "%s: file is %lld bytes, more than the %zu allowed",
			      path, (long long)st.st_size, max);
		gpc_error_hint(err, "%s is not a certificate or key file; replace it", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			gpc_error_sys(err, errno, "read", path);
			goto out;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > max) {
			gpc_error_set(err, GPC_E_INVALID, "%s: file grew past the %zu bytes allowed", path, max);
			goto out;
		}
		if (buf_add(out, chunk, (size_t)n) != 0) {
			gpc_error_sys(err, ENOMEM, "read", path);
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int fs_read_file(const char *path, size_t max, struct buf *out, struct gpc_error *err)
{
	return read_file(path, max, false, false, out, err);
}

int fs_sync_parent(const char *path, struct gpc_error *err)
{
	char copy[4096];
	const char *dir;
	int fd;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return gpc_error_sys(err, errno, "open directory", dir);
	if (fsync(fd) != 0 && errno != EINVAL) {
		int e = errno;
		close(fd);
		return gpc_error_sys(err, e, "fsync directory", dir);
	}
	close(fd);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_stage(const char *path, const void *data, size_t len, mode_t mode,
	     char *tmp, size_t tmpsz, struct gpc_error *err)
{
	int fd, n;

	/* The writer's pid in the name lets a later writer tell a temp file
	 * of a killed process (removable) from one being written now. */
	n = snprintf(tmp, tmpsz, "%s.tmp-%ld-XXXXXX", path, (long)getpid());
	if (n < 0 || (size_t)n >= tmpsz)
		return gpc_error_set(err, GPC_E_INVALID, "%s: path too long", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		int e = errno;
		char copy[4096];
		snprintf(copy, sizeof(copy), "%s", path);
		/* name the directory: that is where the file could not be created */
		return gpc_error_sys(err, e, "create file in", dirname(copy));
	}
	if (fchmod(fd, mode) != 0) {
		gpc_error_sys(err, errno, "chmod", tmp);
		goto fail;
	}
	if (write_all(fd, data, len) != 0) {
		gpc_error_sys(err, errno, "write", path);
		goto fail;
	}
	if (fsync(fd) != 0) {
		gpc_error_sys(err, errno, "fsync", path);
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		gpc_error_sys(err, errno, "close", path);
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	tmp[0] = '\0';
	return -1;
}

int fs_write_new(const char *path, const void *data, size_t len, mode_t mode,
		 const char *errpath, struct gpc_error *err)
{
	const char *ep = errpath != NULL ? errpath : path;
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return gpc_error_sys(err, errno, "create file in", ep);
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		e = errno;
		close(fd);
		unlink(path);
		return gpc_error_sys(err, e, "write", ep);
	}
	if (close(fd) != 0) {
		e = errno;
		unlink(path);
		return gpc_error_sys(err, e, "close", ep);
	}
	return 0;
}

int fs_commit(const char *tmp, const char *path, struct gpc_error *err)
{
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return gpc_error_sys(err, e, "rename into place", path);
	}
	return fs_sync_parent(path, err);
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		    struct gpc_error *err)
{
	char tmp[4096];

	if (fs_stage(path, data, len, mode, tmp, sizeof(tmp), err) != 0)
		return -1;
	return fs_commit(tmp, path, err);
}

/* PID of a temp file name "....tmp-PID-XXXXXX", or -1. */
static long temp_pid(const char *name)
{
	const char *t = strstr(name, ".tmp-");
	char *end;
	long pid;

	if (t == NULL)
		return -1;
	pid = strtol(t + 5, &end, 10);
	if (end == t + 5 || *end != '-' || strlen(end + 1) != 6 || pid <= 0)
		return -1;
	return pid;
}

int fs_remove_stale_temps(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[4096];
	int removed = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		long pid;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fs_join(p, sizeof(p), dir, de->d_name) != 0)
			continue;
		if (de->d_type == DT_DIR) {
			if (depth > 0)
				removed += fs_remove_stale_temps(p, depth - 1);
			continue;
		}
		pid = temp_pid(de->d_name);
		if (pid < 0 || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
			continue; /* its writer is alive */
		if (unlink(p) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

int fs_mkdirs(const char *path, mode_t mode, int fix_mode, struct gpc_error *err)
{
	char p[4096];
	size_t i, n;
	struct stat st;

	n = (size_t)snprintf(p, sizeof(p), "%s", path);
	if (n >= sizeof(p))
		return gpc_error_set(err, GPC_E_INVALID, "%s: path too long", path);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, mode) != 0) {
			int e = errno;
			if (e != EEXIST)
				return gpc_error_sys(err, e, "create directory", p);
			if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
				return gpc_error_sys(err, ENOTDIR, "create directory", p);
			if (fix_mode && c == '\0' && (st.st_mode & 07777) != mode && chmod(p, mode) != 0)
				return gpc_error_sys(err, errno, "chmod", p);
		}
		p[i] = c;
	}
	return 0;
}

/* Mount points in /proc/self/mountinfo escape space, tab, newline and
 * backslash as \ooo (proc(5)). */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r != '\0'; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* Is `mnt` `path` itself or one of its ancestors (whole components)? */
static bool path_under(const char *path, const char *mnt)
{
	size_t n = strlen(mnt);

	if (strcmp(mnt, "/") == 0)
		return path[0] == '/';
	return strncmp(path, mnt, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The mount that holds `real`: the longest mount point above it (the last
 * one listed wins on ties: it is mounted over the earlier ones). Copies its
 * mount point and filesystem type. Returns 0, or -1 if none is found. */
static int mount_of(const char *real, const char *mountinfo, char *mnt, size_t mntsz, char *type,
		    size_t typesz)
{
	size_t best = 0;
	int found = -1;
	const char *line = mountinfo;

	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[4096], *f[5] = { 0 }, *save = NULL, *dash;

		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			dash = strstr(buf, " - ");
			if (dash != NULL) {
				*dash = '\0';
				char *p = buf;
				int i;
				for (i = 0; i < 5 && (f[i] = strtok_r(p, " ", &save)) != NULL; i++)
					p = NULL;
				char *fstype = strtok_r(dash + 3, " ", &save);
				if (i == 5 && fstype != NULL) {
					unescape_octal(f[4]);
					size_t n = strlen(f[4]);
					if (path_under(real, f[4]) && n >= best) {
						best = n;
						snprintf(mnt, mntsz, "%s", f[4]);
						snprintf(type, typesz, "%s", fstype);
						found = 0;
					}
				}
			}
		}
		line = end ? end + 1 : NULL;
	}
	return found;
}

#define FS_TMPFS_MAGIC 0x01021994L
#define FS_RAMFS_MAGIC 0x858458f6L

int fs_ephemeral_decide(const char *real, const char *mountinfo, long statfs_type, int in_container,
			struct gpc_error *why)
{
	char mnt[PATH_MAX] = "", type[64] = "";
	bool have_mount = mountinfo != NULL && mount_of(real, mountinfo, mnt, sizeof(mnt), type, sizeof(type)) == 0;

	if (statfs_type == FS_TMPFS_MAGIC || statfs_type == FS_RAMFS_MAGIC ||
	    (have_mount && (strcmp(type, "tmpfs") == 0 || strcmp(type, "ramfs") == 0))) {
		gpc_error_set(why, FS_E_EPHEMERAL,
			      "%s is in memory (%s%s%s): the certificates, keys and the rate-limit "
			      "ledger kept there are gone after a reboot, and the next run asks the CA "
			      "again (Let's Encrypt allows 5 certificates per week for one set of names)",
			      real, have_mount ? type : "tmpfs", have_mount ? " mounted at " : "",
			      have_mount ? mnt : "");
		gpc_error_hint(why, "keep the certs directory on disk (e.g. /var/lib/goproxy-cert/certs) "
				    "or on a mounted volume, and point --certs-dir / $GOPROXY_CERTS_DIR at it");
		return 1;
	}
	if (in_container && have_mount && strcmp(mnt, "/") == 0) {
		gpc_error_set(why, FS_E_EPHEMERAL,
			      "%s is inside this container's own filesystem (%s on /), not on a mounted "
			      "volume: the certificates, keys and the rate-limit ledger kept there are "
			      "lost when the container is recreated (image update, compose down/up), and "
			      "each new container asks the CA again (Let's Encrypt allows 5 certificates "
			      "per week for one set of names)",
			      real, type);
		gpc_error_hint(why, "mount a volume or a host directory at %s (docker run -v "
				    "/srv/certs:%s, or 'volumes:' in compose)",
			       real, real);
		return 1;
	}
	return 0;
}

int fs_ephemeral(const char *dir, struct gpc_error *why)
{
	char real[PATH_MAX];
	struct statfs sf;
	struct buf mi;
	struct gpc_error ignore;
	int in_container, r;

	if (realpath(dir, real) == NULL || statfs(real, &sf) != 0)
		return 0;
	in_container = access("/.dockerenv", F_OK) == 0 || access("/run/.containerenv", F_OK) == 0;
	buf_init(&mi, 4 << 20);
	if (fs_read_file("/proc/self/mountinfo", 4 << 20, &mi, &ignore) != 0 || mi.data == NULL) {
		buf_finish(&mi);
		return fs_ephemeral_decide(real, NULL, (long)sf.f_type, 0, why);
	}
	r = fs_ephemeral_decide(real, mi.data, (long)sf.f_type, in_container, why);
	buf_finish(&mi);
	return r;
}

/* ---- files another user may write ---- */

/* "NAME" for a uid, or "" (buffer out of size outsz). */
static void user_name(uid_t uid, char *out, size_t outsz)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	out[0] = '\0';
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, outsz, "%s", res->pw_name);
}

void fs_runuser_command(const char *user, char *out, size_t outsz)
{
	char cmd[1024];
	size_t len = 0, w = 0;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

	cmd[0] = '\0';
	if (fd >= 0) {
		ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
		len = n > 0 ? (size_t)n : 0;
		close(fd);
	}
	w = (size_t)snprintf(out, outsz, "runuser -u %s --", user);
	if (len == 0 || len == sizeof(cmd) - 1) {
		/* unknown, or too long to repeat whole */
		snprintf(out + (w < outsz ? w : outsz - 1), outsz - (w < outsz ? w : outsz - 1),
			 " goproxy-cert ...");
		return;
	}
	cmd[len] = '\0';
	for (size_t i = 0; i < len && w + 4 < outsz; i += strlen(cmd + i) + 1) {
		const char *a = cmd + i;
		bool plain = *a != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						     "0123456789-_./=:,@+%") == strlen(a);
		/* argv[0] as the program's name: the path run as root may be a build tree */
		if (i == 0 && strrchr(a, '/') != NULL)
			a = strrchr(a, '/') + 1;
		if (i == 0 && strncmp(a, "goproxy-cert", 12) == 0)
			a = "goproxy-cert";
		w += (size_t)snprintf(out + w, outsz - w, plain || i == 0 ? " %s" : " '%s'", a);
		if (w >= outsz)
			w = outsz - 1;
	}
}

int fs_trust_stat(const char *path, const struct stat *st, struct gpc_error *err)
{
	uid_t me = geteuid();
	char owner[256], mine[256], cmd[1200];

	if (st->st_uid != me && st->st_uid != 0) {
		user_name(st->st_uid, owner, sizeof(owner));
		user_name(me, mine, sizeof(mine));
		gpc_error_set(err, FS_E_UNTRUSTED, "%s: owned by uid %u%s%s%s (mode %04o), not by uid %u%s%s%s "
			      "that runs this or by root; refused: its owner could have put settings or programs "
			      "there", path, (unsigned)st->st_uid, owner[0] ? " (" : "", owner, owner[0] ? ")" : "",
			      (unsigned)(st->st_mode & 07777), (unsigned)me, mine[0] ? " (" : "", mine,
			      mine[0] ? ")" : "");
		fs_runuser_command(owner[0] ? owner : "OWNER", cmd, sizeof(cmd));
		if (me == 0)
			return gpc_error_hint(err, "root does not act in a directory another user controls: run it as "
						   "that user: %s; or, if root is meant to own it: chown -R root: %s",
					      cmd, path);
		return gpc_error_hint(err, "run it as its owner (as root: %s), or give it to uid %u: chown -R "
					   "%s %s", cmd, (unsigned)me, mine[0] ? mine : "USER", path);
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0 && !S_ISLNK(st->st_mode)) {
		user_name(st->st_uid, owner, sizeof(owner));
		gpc_error_set(err, FS_E_UNTRUSTED, "%s: writable by %s (mode %04o, owner uid %u%s%s%s); refused: "
			      "another user could change what is in it", path,
			      (st->st_mode & S_IWOTH) ? "everyone" : "its group", (unsigned)(st->st_mode & 07777),
			      (unsigned)st->st_uid, owner[0] ? " (" : "", owner, owner[0] ? ")" : "");
		return gpc_error_hint(err, "chmod go-w %s", path);
	}
	return 0;
}

int fs_trust_path(const char *path, bool want_dir, struct gpc_error *err)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return gpc_error_sys(err, errno, "stat", path);
	if (S_ISLNK(st.st_mode)) {
		gpc_error_set(err, FS_E_UNTRUSTED, "%s: is a symbolic link; refused: nothing is read or written "
			      "through a link here", path);
		return gpc_error_hint(err, "replace the link with the %s itself (mv it there), or point "
					   "--certs-dir at the real directory", want_dir ? "directory" : "file");
	}
	if (want_dir && !S_ISDIR(st.st_mode)) {
		gpc_error_set(err, GPC_E_INVALID, "%s: not a directory", path);
		return gpc_error_hint(err, "move it away; goproxy-cert creates the directory");
	}
	return fs_trust_stat(path, &st, err);
}

/* What an fstat found where a regular file was expected. */
static const char *file_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

static int nofollow_error(struct gpc_error *err, int e, const char *what, const char *path)
{
	if (e == ELOOP) {
		gpc_error_set(err, FS_E_UNTRUSTED, "%s: is a symbolic link; refused: %s never follows a "
			      "link here", path, strcmp(what, "open") == 0 ? "a read" : "taking a lock");
		gpc_error_hint(err, "remove the link (rm %s)", path);
		err->sys_errno = ELOOP;
		return -1;
	}
	return gpc_error_sys(err, e, what, path);
}

int fs_open_lock(const char *path, bool create, struct gpc_error *err)
{
	struct stat st;
	int fd;

	if (create)
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
	else
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return nofollow_error(err, errno, "open lock file", path);
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return gpc_error_sys(err, e, "stat", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		gpc_error_set(err, GPC_E_INVALID, "%s: %s, not a lock file; refused", path, file_kind(st.st_mode));
		return gpc_error_hint(err, "remove it (rm %s); goproxy-cert creates the lock file again", path);
	}
	if (fs_trust_stat(path, &st, err) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int fs_read_file_strict(const char *path, size_t max, bool trusted, struct buf *out, struct gpc_error *err)
{
	return read_file(path, max, true, trusted, out, err);
}

int fs_write_new_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		    const char *errpath, struct gpc_error *err)
{
	int fd, e;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return gpc_error_sys(err, errno, "create file in", errpath);
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		e = errno;
		close(fd);
		(void)unlinkat(dirfd, name, 0);
		return gpc_error_sys(err, e, "write", errpath);
	}
	if (close(fd) != 0) {
		e = errno;
		(void)unlinkat(dirfd, name, 0);
		return gpc_error_sys(err, e, "close", errpath);
	}
	return 0;
}

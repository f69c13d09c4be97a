#include "fsutil.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_join(char *out, size_t outsz, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	int n;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	n = snprintf(out, outsz, "%.*s/%s", (int)dl, dir, name);
	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

int fs_read_file(const char *path, size_t max, struct buf *out, struct gpc_error *err)
{
	struct stat st;
	char chunk[16384];
	int fd, rc = -1;
	size_t total = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return gpc_error_sys(err, errno, "open", path);
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

#include "error.h"

#include <errno.h>
#include <limits.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void gpc_error_clear(struct gpc_error *e)
{
	if (e == NULL)
		return;
	e->code = NULL;
	e->message[0] = '\0';
	e->hint[0] = '\0';
	e->sys_errno = 0;
	e->retry_after = 0;
}

int gpc_error_set(struct gpc_error *e, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code;
	e->hint[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

int gpc_error_hint(struct gpc_error *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->hint, sizeof(e->hint), fmt, ap);
	va_end(ap);
	return -1;
}

/* For EACCES, describe who we are and who owns the file (or, when the file
 * itself cannot be stat'ed, its directory) so the user can fix it. */
static void perm_hint(struct gpc_error *e, const char *path)
{
	struct stat st;
	char copy[4096];
	const char *what = path;

	if (stat(path, &st) != 0) {
		snprintf(copy, sizeof(copy), "%s", path);
		what = dirname(copy);
		if (stat(what, &st) != 0) {
			gpc_error_hint(e, "running as uid %u; check the permissions of %s and its parent directories",
				       (unsigned)geteuid(), path);
			return;
		}
	}
	gpc_error_hint(e, "running as uid %u, but %s is owned by uid %u gid %u with mode %04o; "
			  "run as that user, or chown/chmod it",
		       (unsigned)geteuid(), what, (unsigned)st.st_uid, (unsigned)st.st_gid,
		       (unsigned)(st.st_mode & 07777));
}

int gpc_error_sys(struct gpc_error *e, int err, const char *what, const char *path)
{
	const char *code;

	if (e == NULL)
		return -1;
	switch (err) {
	case ENOENT: code = GPC_E_MISSING; break;
	case EACCES:
	case EPERM: code = GPC_E_PERMISSION; break;
	case ENOSPC:
	case EDQUOT: code = GPC_E_NOSPACE; break;
	case EROFS: code = GPC_E_READONLY; break;
	case ENOMEM: code = GPC_E_NOMEM; break;
	default: code = GPC_E_IO; break;
	}
	/* A relative path alone does not say where (cron runs in $HOME, a
	 * container in /): name the absolute one too. */
	char cwd[PATH_MAX];
	if (path != NULL && path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		gpc_error_set(e, code, "%s (%s/%s): %s failed: %s", path, strcmp(cwd, "/") ? cwd : "", path,
			      what, strerror(err));
	else
		gpc_error_set(e, code, "%s: %s failed: %s", path, what, strerror(err));
	e->sys_errno = err;
	switch (err) {
	case EACCES:
	case EPERM: perm_hint(e, path); break;
	case ENOSPC:
	case EDQUOT: gpc_error_hint(e, "free space on the filesystem holding %s; nothing was replaced", path); break;
	case EROFS: gpc_error_hint(e, "%s is on a read-only filesystem; mount the certs directory read-write (in a container: a writable, persistent volume)", path); break;
	case ENOENT: gpc_error_hint(e, "create it, or point --certs-dir / $GOPROXY_CERTS_DIR at the right directory"); break;
	case ELOOP: gpc_error_hint(e, "%s is a symbolic link loop; replace it with a regular file", path); break;
	case EISDIR: gpc_error_hint(e, "%s is a directory where a file is expected; remove or rename it", path); break;
	default: break;
	}
	return -1;
}

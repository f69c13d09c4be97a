/* certstore: the certs directory on a local filesystem.
 *
 * Every write is temp file + fsync + rename + fsync of the directory
 * (fsutil); a lineage's key and certificate are staged together and renamed
 * key first, then certificate, under the exclusive flock on DIR/.state/lock,
 * after the previous pair was copied to DIR/.state/archive/NAME/. */
#include "certstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "timeutil.h"

#define LOCK_FILE "lock"
#define ARCHIVE_DIR "archive"

struct certstore {
	char *dir;
	int lock_fd;    /* open on DIR/.state/lock while locked, else -1 */
	int lock_mode;  /* 0 none, LOCK_SH or LOCK_EX */
	bool state_ok;  /* .state (0700) known to exist */
	/* flock(2) excludes processes, not threads sharing one descriptor: the
	 * threads of one process (renew --concurrency) take turns on xmu. */
	pthread_mutex_t xmu;  /* held by the thread that holds the store lock */
	pthread_mutex_t mu;   /* guards held/owner */
	bool held;
	pthread_t owner;
};

const char *certstore_default_dir(const char *dir)
{
	const char *env;

	if (dir != NULL && *dir != '\0')
		return dir;
	env = getenv("GOPROXY_CERTS_DIR");
	if (env != NULL && *env != '\0')
		return env;
	return "certs";
}

int certstore_open(const char *dir, struct certstore **out, struct gpc_error *err)
{
	struct certstore *cs;
	struct stat st;
	int fd;

	*out = NULL;
	if (stat(dir, &st) != 0) {
		int e = errno;
		gpc_error_sys(err, e, "open certs directory", dir);
		if (e == ENOENT)
			gpc_error_hint(err, "create it (mkdir -m 0755 %s), or point --certs-dir / "
					    "$GOPROXY_CERTS_DIR at the directory that holds cert.crt and "
					    "priv.key%s; in a container, mount it as a persistent volume",
				       dir, dir[0] != '/' ? " (from cron or a timer, give an absolute path: "
							    "the working directory there is not yours)" : "");
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		gpc_error_set(err, GPC_E_INVALID, "%s: not a directory", dir);
		gpc_error_hint(err, "the certs directory must be a directory holding cert.crt and "
				    "priv.key; point --certs-dir / $GOPROXY_CERTS_DIR at it");
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return gpc_error_sys(err, errno, "open certs directory", dir);
	close(fd);
	if (access(dir, X_OK) != 0)
		return gpc_error_sys(err, errno, "search certs directory", dir);

	cs = calloc(1, sizeof(*cs));
	if (cs == NULL || (cs->dir = strdup(dir)) == NULL) {
		free(cs);
		return gpc_error_sys(err, ENOMEM, "open certs directory", dir);
	}
	cs->lock_fd = -1;
	pthread_mutex_init(&cs->xmu, NULL);
	pthread_mutex_init(&cs->mu, NULL);
	*out = cs;
	return 0;
}

void certstore_free(struct certstore *cs)
{
	if (cs == NULL)
		return;
	certstore_unlock(cs);
	pthread_mutex_destroy(&cs->xmu);
	pthread_mutex_destroy(&cs->mu);
	free(cs->dir);
	free(cs);
}

const char *certstore_dir(const struct certstore *cs)
{
	return cs->dir;
}

bool certstore_valid_name(const char *name)
{
	size_t n;

	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return false;
	n = strlen(name);
	if (n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* lstat so that a dangling link or a symlink loop still counts as "present":
 * the user put something there and check must report it. */
static bool exists_l(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void certstore_names_free(char **names, size_t n)
{
	if (names == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int names_push(char ***names, size_t *n, size_t *cap, const char *name)
{
	char *copy;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		char **p = realloc(*names, nc * sizeof(*p));
		if (p == NULL)
			return -1;
		*names = p;
		*cap = nc;
	}
	copy = strdup(name);
	if (copy == NULL)
		return -1;
	(*names)[(*n)++] = copy;
	return 0;
}

int certstore_list(struct certstore *cs, char ***names, size_t *n, struct gpc_error *err)
{
	char path[PATH_MAX];
	char **v = NULL;
	size_t nv = 0, cap = 0, first = 0;
	DIR *d = NULL;
	struct dirent *de;
	int rc = -1;

	*names = NULL;
	*n = 0;
	if ((fs_join(path, sizeof(path), cs->dir, CERTSTORE_CERT_FILE) == 0 && exists_l(path)) ||
	    (fs_join(path, sizeof(path), cs->dir, CERTSTORE_KEY_FILE) == 0 && exists_l(path))) {
		if (names_push(&v, &nv, &cap, CERTSTORE_DEFAULT) != 0)
			goto nomem;
		first = 1;
	}
	d = opendir(cs->dir);
	if (d == NULL) {
		gpc_error_sys(err, errno, "list certs directory", cs->dir);
		goto out;
	}
	for (;;) {
		struct stat st;
		char sub[PATH_MAX];

		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0) {
				gpc_error_sys(err, errno, "list certs directory", cs->dir);
				goto out;
			}
			break;
		}
		if (de->d_name[0] == '.' || !certstore_valid_name(de->d_name))
			continue;
		/* "default" as a subdirectory would shadow the root pair */
		if (strcmp(de->d_name, CERTSTORE_DEFAULT) == 0)
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
			continue;
		if (fs_join(sub, sizeof(sub), cs->dir, de->d_name) != 0)
			continue;
		if (de->d_type != DT_DIR && (stat(sub, &st) != 0 || !S_ISDIR(st.st_mode)))
			continue;
		if ((fs_join(path, sizeof(path), sub, CERTSTORE_CERT_FILE) == 0 && exists_l(path)) ||
		    (fs_join(path, sizeof(path), sub, CERTSTORE_KEY_FILE) == 0 && exists_l(path))) {
			if (names_push(&v, &nv, &cap, de->d_name) != 0)
				goto nomem;
		}
	}
	if (nv > first)
		qsort(v + first, nv - first, sizeof(*v), cmp_names);
	*names = v;
	*n = nv;
	v = NULL;
	rc = 0;
	goto out;
nomem:
	gpc_error_sys(err, ENOMEM, "list certs directory", cs->dir);
out:
	if (d != NULL)
		closedir(d);
	certstore_names_free(v, nv);
	return rc;
}

int certstore_paths(const struct certstore *cs, const char *name, char *cert, size_t certsz,
		    char *key, size_t keysz)
{
	char sub[PATH_MAX];

	if (name == NULL || strcmp(name, CERTSTORE_DEFAULT) == 0) {
		if (fs_join(cert, certsz, cs->dir, CERTSTORE_CERT_FILE) != 0 ||
		    fs_join(key, keysz, cs->dir, CERTSTORE_KEY_FILE) != 0)
			return -1;
		return 0;
	}
	if (!certstore_valid_name(name))
		return -1;
	if (fs_join(sub, sizeof(sub), cs->dir, name) != 0 ||
	    fs_join(cert, certsz, sub, CERTSTORE_CERT_FILE) != 0 ||
	    fs_join(key, keysz, sub, CERTSTORE_KEY_FILE) != 0)
		return -1;
	return 0;
}

/* A relative path below .state: no "..", not absolute, no empty components. */
static bool valid_rel(const char *rel)
{
	const char *p = rel;

	if (rel == NULL || *rel == '\0' || *rel == '/')
		return false;
	while (*p != '\0') {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += len;
		if (*p == '/')
			p++;
	}
	return true;
}

int certstore_state_path(const struct certstore *cs, const char *rel, char *out, size_t outsz)
{
	char st[PATH_MAX];

	if (fs_join(st, sizeof(st), cs->dir, CERTSTORE_STATE_DIR) != 0)
		return -1;
	if (rel == NULL || *rel == '\0')
		return snprintf(out, outsz, "%s", st) < (int)outsz ? 0 : -1;
	if (!valid_rel(rel))
		return -1;
	return fs_join(out, outsz, st, rel);
}

int certstore_state_mkdir(struct certstore *cs, const char *subdir, struct gpc_error *err)
{
	char path[PATH_MAX];

	if (!cs->state_ok) {
		if (certstore_state_path(cs, NULL, path, sizeof(path)) != 0)
			return gpc_error_set(err, GPC_E_INVALID, "%s: path too long", cs->dir);
		if (fs_mkdirs(path, 0700, 1, err) != 0) {
			if (err != NULL && err->sys_errno == EACCES)
				gpc_error_hint(err, "the certs directory %s must be writable by uid %u "
						    "(it creates %s); chown it to that user or run as its owner",
					       cs->dir, (unsigned)geteuid(), path);
			return -1;
		}
		cs->state_ok = true;
	}
	if (subdir == NULL || *subdir == '\0')
		return 0;
	if (certstore_state_path(cs, subdir, path, sizeof(path)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s/.state/%s: not a valid state path",
				     cs->dir, subdir);
	return fs_mkdirs(path, 0700, 0, err);
}

/* Seconds on a clock that tests cannot move (the test clock moves time_now). */
static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool held_by_me(struct certstore *cs)
{
	bool r;

	pthread_mutex_lock(&cs->mu);
	r = cs->held && pthread_equal(cs->owner, pthread_self());
	pthread_mutex_unlock(&cs->mu);
	return r;
}

/* The in-process half of the store lock. Returns 0, or -1 on timeout. */
static int take_thread_lock(struct certstore *cs, int wait_secs)
{
	int rc;

	if (wait_secs < 0) {
		rc = pthread_mutex_lock(&cs->xmu);
	} else if (wait_secs == 0) {
		rc = pthread_mutex_trylock(&cs->xmu);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait_secs;
		rc = pthread_mutex_timedlock(&cs->xmu, &ts);
	}
	if (rc != 0)
		return -1;
	pthread_mutex_lock(&cs->mu);
	cs->held = true;
	cs->owner = pthread_self();
	pthread_mutex_unlock(&cs->mu);
	return 0;
}

static void drop_thread_lock(struct certstore *cs)
{
	pthread_mutex_lock(&cs->mu);
	cs->held = false;
	pthread_mutex_unlock(&cs->mu);
	pthread_mutex_unlock(&cs->xmu);
}

static int locked_error(struct certstore *cs, const char *path, const char *who,
			struct gpc_error *err)
{
	gpc_error_set(err, GPC_E_LOCKED, "%s: held by %s", path, who);
	gpc_error_hint(err, "another goproxy-cert is writing to %s; wait for it to "
			    "finish and try again (fuser -v %s shows which process)",
		       cs->dir, path);
	return -1;
}

static void certstore_recover(struct certstore *cs);

int certstore_lock(struct certstore *cs, bool exclusive, int wait_secs, struct gpc_error *err)
{
	char path[PATH_MAX];
	int op = exclusive ? LOCK_EX : LOCK_SH;
	double deadline = mono_now() + (wait_secs > 0 ? wait_secs : 0);
	bool took = false;

	if (certstore_state_path(cs, LOCK_FILE, path, sizeof(path)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s: path too long", cs->dir);
	if (held_by_me(cs)) {
		if (cs->lock_fd >= 0 && cs->lock_mode == op)
			return 0;
		if (cs->lock_fd < 0 && !exclusive)
			return 0; /* shared, and there is no lock file to lock */
	} else {
		if (take_thread_lock(cs, wait_secs) != 0)
			return locked_error(cs, path, "another thread of this process", err);
		took = true;
	}

	if (cs->lock_fd < 0) {
		if (exclusive) {
			if (certstore_state_mkdir(cs, NULL, err) != 0)
				goto fail;
			cs->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
			if (cs->lock_fd < 0) {
				gpc_error_sys(err, errno, "open lock file", path);
				goto fail;
			}
		} else {
			/* A reader never creates .state: a store without a lock file
			 * has never been written by this tool, and a read-only certs
			 * directory must stay checkable. */
			cs->lock_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (cs->lock_fd < 0) {
				int e = errno;
				if (e == ENOENT || e == EACCES || e == EROFS || e == ENOTDIR) {
					gpc_debug("%s: %s, reading without the store lock", path,
						  strerror(e));
					return 0; /* the thread lock stays held until unlock */
				}
				gpc_error_sys(err, e, "open lock file", path);
				goto fail;
			}
		}
	}

	for (;;) {
		int flags = wait_secs < 0 ? 0 : LOCK_NB;
		if (flock(cs->lock_fd, op | flags) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			gpc_error_sys(err, errno, "lock", path);
			goto fail;
		}
		if (wait_secs == 0 || mono_now() >= deadline) {
			locked_error(cs, path, "another process", err);
			goto fail;
		}
		usleep(50 * 1000);
	}
	cs->lock_mode = op;
	if (exclusive)
		certstore_recover(cs);
	return 0;
fail:
	/* keep a lock this thread already had as it was */
	if (took) {
		if (cs->lock_fd >= 0 && cs->lock_mode == 0) {
			close(cs->lock_fd);
			cs->lock_fd = -1;
		}
		drop_thread_lock(cs);
	}
	return -1;
}

void certstore_unlock(struct certstore *cs)
{
	if (cs == NULL || !held_by_me(cs))
		return;
	if (cs->lock_fd >= 0) {
		flock(cs->lock_fd, LOCK_UN);
		close(cs->lock_fd);
		cs->lock_fd = -1;
	}
	cs->lock_mode = 0;
	drop_thread_lock(cs);
}

static bool txn_staged_cert(struct certstore *cs, const char *name, const char *cp, char *out,
			    size_t outsz);

int certstore_read_pair(struct certstore *cs, const char *name, struct buf *cert,
			struct buf *key, struct gpc_error *err)
{
	char cp[PATH_MAX], kp[PATH_MAX], staged[PATH_MAX] = "";
	bool took = false;
	int rc = -1;

	if (certstore_paths(cs, name, cp, sizeof(cp), kp, sizeof(kp)) != 0)
		return gpc_error_set(err, GPC_E_USAGE, "'%s': not a valid lineage name", name);
	if (!held_by_me(cs)) {
		if (certstore_lock(cs, false, 10, err) != 0)
			return -1;
		took = true;
	}
	/* A writer killed between its two renames left the new key in place
	 * and the certificate that belongs to it staged (.state/txn/NAME);
	 * until the next writer completes that, read the pair as it will be. */
	if (txn_staged_cert(cs, name, cp, staged, sizeof(staged)))
		gpc_warn("%s: an interrupted write left the new certificate at %s; reading that "
			 "(the next 'goproxy-cert renew' or 'issue' completes the write)", cp, staged);
	if (fs_read_file(staged[0] ? staged : cp, CERTSTORE_MAX_FILE, cert, err) != 0)
		goto out;
	if (fs_read_file(kp, CERTSTORE_MAX_FILE, key, err) != 0)
		goto out;
	rc = 0;
out:
	if (took)
		certstore_unlock(cs);
	return rc;
}

/* Copy `src` (if present) to `dst` atomically with `mode`. 1 copied, 0 absent,
 * -1 error. */
static int copy_file(const char *src, const char *dst, mode_t mode, struct gpc_error *err)
{
	struct buf b;
	int rc;

	buf_init(&b, CERTSTORE_MAX_FILE);
	if (fs_read_file(src, CERTSTORE_MAX_FILE, &b, err) != 0) {
		rc = (err != NULL && err->sys_errno == ENOENT) ? 0 : -1;
		if (rc == 0)
			gpc_error_clear(err);
		buf_finish(&b);
		return rc;
	}
	rc = fs_write_atomic(dst, b.data ? b.data : "", b.len, mode, err) == 0 ? 1 : -1;
	buf_finish(&b);
	return rc;
}

/* Copy the current pair to .state/archive/NAME/<UTC>-<n>.{crt,key}. The
 * archive key path is stored in `akey` ("" when there was nothing). */
static int archive_pair(struct certstore *cs, const char *name, const char *cp, const char *kp,
			char *akey, size_t akeysz, struct gpc_error *err)
{
	char rel[PATH_MAX], dir[PATH_MAX], base[PATH_MAX], ac[PATH_MAX + 8], ak[PATH_MAX + 8];
	char stamp[32];
	struct tm tm;
	time_t now = time_now();
	int n;

	akey[0] = '\0';
	if (!exists_l(cp) && !exists_l(kp))
		return 0;
	snprintf(rel, sizeof(rel), "%s/%s", ARCHIVE_DIR, name);
	if (certstore_state_mkdir(cs, rel, err) != 0)
		return -1;
	if (certstore_state_path(cs, rel, dir, sizeof(dir)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s: path too long", cs->dir);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (n = 0;; n++) {
		if (snprintf(base, sizeof(base), "%s/%s-%d", dir, stamp, n) >= (int)sizeof(base) - 5)
			return gpc_error_set(err, GPC_E_INVALID, "%s: path too long", dir);
		snprintf(ac, sizeof(ac), "%s.crt", base);
		snprintf(ak, sizeof(ak), "%s.key", base);
		if (!exists_l(ac) && !exists_l(ak))
			break;
	}
	if (copy_file(cp, ac, 0644, err) < 0)
		return -1;
	switch (copy_file(kp, ak, 0600, err)) {
	case -1:
		unlink(ac);
		return -1;
	case 1:
		if (strlen(ak) < akeysz)
			memcpy(akey, ak, strlen(ak) + 1);
		break;
	default:
		break;
	}
	gpc_info("%s: previous pair archived as %s.{crt,key}", name, base);
	return 0;
}

/* Crash safety. write_pair stages both files under temporary names, then
 * records them in .state/txn/NAME ("KEY_TMP\nCERT_TMP\n") before the first
 * rename and removes that record after the last. A process killed in between
 * leaves the record behind, and the next writer (certstore_lock, exclusive)
 * finishes the job: if the staged key is still there, nothing visible changed
 * yet and the staged files are removed (roll back); if only the staged
 * certificate is left, the new key is already in place, so the certificate
 * that belongs to it is renamed in (roll forward). Either way key and
 * certificate belong together again. Temporary files of writers killed while
 * staging are removed too. */
#define TXN_DIR "txn"

static bool is_staged_name(const char *base)
{
	return strncmp(base, CERTSTORE_CERT_FILE ".tmp-", sizeof(CERTSTORE_CERT_FILE ".tmp-") - 1) == 0 ||
	       strncmp(base, CERTSTORE_KEY_FILE ".tmp-", sizeof(CERTSTORE_KEY_FILE ".tmp-") - 1) == 0;
}

/* A staged path must be DIR[/NAME]/{cert.crt,priv.key}.tmp-XXXXXX of this lineage. */
static bool staged_path_ok(const char *tmp, const char *final)
{
	size_t n = strlen(final);

	return strncmp(tmp, final, n) == 0 && strncmp(tmp + n, ".tmp-", 5) == 0 &&
	       strchr(tmp + n, '/') == NULL;
}

/* Read the record .state/txn/NAME (see certstore_write_pair) into the
 * staged key and certificate paths (ktmp may come back "": the key was
 * kept). Returns 1 for a record this tool wrote, 0 when there is none, -1
 * for one that is not ours (a path outside this lineage, no newline). */
static int txn_read(struct certstore *cs, const char *name, const char *cp, const char *kp,
		    char ktmp[PATH_MAX], char ctmp[PATH_MAX])
{
	char rel[PATH_MAX];
	char *k, *c, *nl;
	struct buf b;
	struct gpc_error e;
	int rc = -1;

	gpc_error_clear(&e);
	buf_init(&b, 3 * PATH_MAX);
	snprintf(rel, sizeof(rel), "%s/%s", TXN_DIR, name);
	if (certstore_state_read(cs, rel, 3 * PATH_MAX, &b, &e) != 0 || b.data == NULL) {
		rc = 0;
		goto out;
	}
	k = b.data;
	if ((nl = strchr(k, '\n')) == NULL)
		goto out;
	*nl = '\0';
	c = nl + 1;
	if ((nl = strchr(c, '\n')) != NULL)
		*nl = '\0';
	if ((k[0] != '\0' && !staged_path_ok(k, kp)) || !staged_path_ok(c, cp) ||
	    strlen(k) >= PATH_MAX || strlen(c) >= PATH_MAX)
		goto out;
	memcpy(ktmp, k, strlen(k) + 1);
	memcpy(ctmp, c, strlen(c) + 1);
	rc = 1;
out:
	buf_finish(&b);
	return rc;
}

/* True (and the staged certificate's path in out) when .state/txn/NAME
 * records a write that was killed after its key rename: the staged
 * certificate exists and the staged key does not. */
static bool txn_staged_cert(struct certstore *cs, const char *name, const char *cp, char *out,
			    size_t outsz)
{
	char kp[PATH_MAX], cp2[PATH_MAX], ktmp[PATH_MAX], ctmp[PATH_MAX];

	out[0] = '\0';
	if (certstore_paths(cs, name, cp2, sizeof(cp2), kp, sizeof(kp)) != 0 ||
	    txn_read(cs, name, cp, kp, ktmp, ctmp) != 1 || !exists_l(ctmp) ||
	    (ktmp[0] != '\0' && exists_l(ktmp)) || strlen(ctmp) >= outsz)
		return false;
	memcpy(out, ctmp, strlen(ctmp) + 1);
	return true;
}

static void remove_strays(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!is_staged_name(de->d_name) || fs_join(p, sizeof(p), dir, de->d_name) != 0)
			continue;
		if (unlink(p) == 0)
			gpc_info("%s: removed a temporary file left by an interrupted write", p);
	}
	closedir(d);
}

static void txn_recover_one(struct certstore *cs, const char *name)
{
	char rel[PATH_MAX], cp[PATH_MAX], kp[PATH_MAX], ktmp[PATH_MAX], ctmp[PATH_MAX];
	struct gpc_error e;

	gpc_error_clear(&e);
	snprintf(rel, sizeof(rel), "%s/%s", TXN_DIR, name);
	if (certstore_paths(cs, name, cp, sizeof(cp), kp, sizeof(kp)) != 0)
		return;
	switch (txn_read(cs, name, cp, kp, ktmp, ctmp)) {
	case 0:
		return;
	case -1:
		gpc_warn("%s/.state/%s: not a record this tool wrote; ignored", cs->dir, rel);
		break;
	default:
		if (ktmp[0] != '\0' && exists_l(ktmp)) {
			/* killed before the key was renamed: the old pair is intact */
			unlink(ktmp);
			unlink(ctmp);
			gpc_warn("%s: an interrupted write was rolled back; the previous pair is unchanged", name);
		} else if (exists_l(ctmp)) {
			/* killed between the two renames: the new key is in place */
			if (rename(ctmp, cp) != 0 || fs_sync_parent(cp, &e) != 0) {
				gpc_err("%s: could not complete an interrupted write: %s", cp,
					e.message[0] ? e.message : strerror(errno));
				return; /* keep the record: try again next time */
			}
			gpc_warn("%s: an interrupted write was completed; key and certificate belong together", name);
		}
		break;
	}
	if (certstore_state_remove(cs, rel, &e) != 0)
		gpc_warn("%s", e.message);
}

/* Finish or undo interrupted writes, and remove stray temporary files.
 * Called with the exclusive lock held. */
static void certstore_recover(struct certstore *cs)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	char **names = NULL;
	size_t n = 0;
	DIR *d;
	struct dirent *de;
	struct gpc_error e;

	if (certstore_state_path(cs, TXN_DIR, dir, sizeof(dir)) == 0 && (d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (certstore_valid_name(de->d_name))
				txn_recover_one(cs, de->d_name);
		closedir(d);
	}
	gpc_error_clear(&e);
	remove_strays(cs->dir);
	/* .state files are written under the run lock, not always under this
	 * one: only temps of writers that no longer run are removed there. */
	if (certstore_state_path(cs, NULL, dir, sizeof(dir)) == 0) {
		int k = fs_remove_stale_temps(dir, 3);
		if (k > 0)
			gpc_info("%s: removed %d temporary file(s) left by interrupted writes", dir, k);
	}
	if (certstore_list(cs, &names, &n, &e) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], CERTSTORE_DEFAULT) != 0 && fs_join(sub, sizeof(sub), cs->dir, names[i]) == 0)
			remove_strays(sub);
	certstore_names_free(names, n);
}

int certstore_write_pair(struct certstore *cs, const char *name, const char *cert_pem,
			 size_t cert_len, const char *key_pem, size_t key_len, struct gpc_error *err)
{
	char cp[PATH_MAX], kp[PATH_MAX], sub[PATH_MAX];
	char tcert[PATH_MAX] = "", tkey[PATH_MAX] = "", akey[PATH_MAX + 8] = "";
	char txn[PATH_MAX];
	bool journaled = false;
	int rc = -1;

	if (name == NULL)
		name = CERTSTORE_DEFAULT;
	if (certstore_paths(cs, name, cp, sizeof(cp), kp, sizeof(kp)) != 0)
		return gpc_error_set(err, GPC_E_USAGE, "'%s': not a valid lineage name", name);
	if (cs->lock_mode != LOCK_EX)
		gpc_debug("certstore_write_pair(%s) without the exclusive store lock", name);
	if (strcmp(name, CERTSTORE_DEFAULT) != 0) {
		if (fs_join(sub, sizeof(sub), cs->dir, name) != 0 || fs_mkdirs(sub, 0755, 0, err) != 0)
			return -1;
	}

	/* Stage both files first: a full disk or a permission problem shows
	 * up here, before anything visible has changed. */
	if (key_pem != NULL &&
	    fs_stage(kp, key_pem, key_len, 0600, tkey, sizeof(tkey), err) != 0)
		goto out;
	if (fs_stage(cp, cert_pem, cert_len, 0644, tcert, sizeof(tcert), err) != 0)
		goto out;

	/* An old pair is archived, never deleted. */
	if (archive_pair(cs, name, cp, kp, akey, sizeof(akey), err) != 0)
		goto out;

	/* Record the staged files so that a crash between the renames below
	 * is finished by the next writer (certstore_recover). */
	snprintf(txn, sizeof(txn), "%s/%s", TXN_DIR, name);
	{
		struct buf j;
		int jrc;
		buf_init(&j, 3 * PATH_MAX);
		jrc = buf_printf(&j, "%s\n%s\n", tkey, tcert);
		if (jrc == 0)
			jrc = certstore_state_write(cs, txn, j.data, j.len, err);
		else
			gpc_error_sys(err, ENOMEM, "record", txn);
		buf_finish(&j);
		if (jrc != 0)
			goto out;
		journaled = true;
	}

	/* Key first, then certificate: goproxyd loads on cert.crt changes. */
	if (tkey[0] != '\0') {
		if (rename(tkey, kp) != 0) {
			gpc_error_sys(err, errno, "rename into place", kp);
			goto out;
		}
		tkey[0] = '\0';
	}
	if (rename(tcert, cp) != 0) {
		int e = errno;
		gpc_error_sys(err, e, "rename into place", cp);
		/* Put the old key back so key and certificate still belong together. */
		if (key_pem != NULL && akey[0] != '\0') {
			struct gpc_error e2;
			gpc_error_clear(&e2);
			if (copy_file(akey, kp, 0600, &e2) < 0)
				gpc_err("%s: could not restore the previous key: %s", kp, e2.message);
		}
		goto out;
	}
	tcert[0] = '\0';
	if (fs_sync_parent(cp, err) != 0)
		goto out;
	rc = 0;
out:
	if (tkey[0] != '\0')
		unlink(tkey);
	if (tcert[0] != '\0')
		unlink(tcert);
	if (journaled) {
		struct gpc_error e2;
		gpc_error_clear(&e2);
		if (certstore_state_remove(cs, txn, &e2) != 0)
			gpc_warn("%s", e2.message);
	}
	return rc;
}

int certstore_state_read(struct certstore *cs, const char *rel, size_t max, struct buf *out,
			 struct gpc_error *err)
{
	char path[PATH_MAX];

	if (certstore_state_path(cs, rel, path, sizeof(path)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s/.state/%s: not a valid state path",
				     cs->dir, rel ? rel : "");
	return fs_read_file(path, max, out, err);
}

int certstore_state_write(struct certstore *cs, const char *rel, const void *data, size_t len,
			  struct gpc_error *err)
{
	char path[PATH_MAX], parent[PATH_MAX];
	char *slash;

	if (certstore_state_path(cs, rel, path, sizeof(path)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s/.state/%s: not a valid state path",
				     cs->dir, rel ? rel : "");
	snprintf(parent, sizeof(parent), "%s", rel);
	slash = strrchr(parent, '/');
	if (slash != NULL)
		*slash = '\0';
	if (certstore_state_mkdir(cs, slash != NULL ? parent : NULL, err) != 0)
		return -1;
	return fs_write_atomic(path, data, len, 0600, err);
}

int certstore_state_remove(struct certstore *cs, const char *rel, struct gpc_error *err)
{
	char path[PATH_MAX];

	if (certstore_state_path(cs, rel, path, sizeof(path)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s/.state/%s: not a valid state path",
				     cs->dir, rel ? rel : "");
	if (unlink(path) != 0) {
		if (errno == ENOENT)
			return 0;
		return gpc_error_sys(err, errno, "remove", path);
	}
	return fs_sync_parent(path, err);
}

int certstore_finish_interrupted(struct certstore *cs)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;
	bool any = false;
	struct gpc_error e;

	if (certstore_state_path(cs, TXN_DIR, dir, sizeof(dir)) != 0 || (d = opendir(dir)) == NULL)
		return 0;
	while (!any && (de = readdir(d)) != NULL)
		any = certstore_valid_name(de->d_name);
	closedir(d);
	if (!any || held_by_me(cs) || access(dir, W_OK) != 0)
		return 0;
	/* The exclusive lock runs certstore_recover; a busy store is left to
	 * its writer. */
	gpc_error_clear(&e);
	if (certstore_lock(cs, true, 0, &e) != 0) {
		gpc_debug("%s; not finishing interrupted writes now", e.message);
		return 0;
	}
	certstore_unlock(cs);
	return 1;
}

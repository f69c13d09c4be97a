/* store_dir: the certstore backend for a certs directory on a local filesystem.
 *
 * Every write is temp file + fsync + rename + fsync of the directory
 * (fsutil). A lineage's key and certificate are two relative symbolic links
 * into a generation directory reached through one more link (..data), and
 * one rename(2) of that link swaps both (Kubernetes' atomic writer; see
 * "The generation layout" below), under the exclusive flock on
 * DIR/.state/lock, after the previous pair was copied to
 * DIR/.state/archive/NAME/. */
#include "certstore_backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "timeutil.h"
#include "x509.h"

#define LOCK_FILE "lock"
#define ARCHIVE_DIR "archive"

struct store_dir {
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
	int issuer_fd;  /* DIR/.state/issue.lock while the issuer lock is held, else -1 */
	int watch_fd;   /* inotify, -1 until watch_open */
	int max_wait;   /* the longest any store lock wait may be (--lock-wait), -1: none */
};


static int dir_open(const char *dir, struct store_dir **out, struct gpc_error *err)
{
	struct store_dir *cs;
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
	cs->issuer_fd = -1;
	cs->watch_fd = -1;
	cs->max_wait = -1;
	pthread_mutex_init(&cs->xmu, NULL);
	pthread_mutex_init(&cs->mu, NULL);
	*out = cs;
	return 0;
}

static void op_issuer_unlock(void *be);
static void op_watch_close(void *be);
static void dir_unlock(struct store_dir *cs);
static int dir_state_read(struct store_dir *cs, const char *rel, size_t max, struct buf *out,
			  struct gpc_error *err);
static int dir_state_remove(struct store_dir *cs, const char *rel, struct gpc_error *err);

static void dir_free(struct store_dir *cs)
{
	if (cs == NULL)
		return;
	dir_unlock(cs);
	op_issuer_unlock(cs);
	op_watch_close(cs);
	pthread_mutex_destroy(&cs->xmu);
	pthread_mutex_destroy(&cs->mu);
	free(cs->dir);
	free(cs);
}

static const char *dir_dir(const struct store_dir *cs)
{
	return cs->dir;
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

static int dir_list(struct store_dir *cs, char ***names, size_t *n, struct gpc_error *err)
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

static int dir_paths(const struct store_dir *cs, const char *name, char *cert, size_t certsz,
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

static int dir_state_path(const struct store_dir *cs, const char *rel, char *out, size_t outsz)
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

/* ---- Trust (goproxy-cert(5), "Who may own what") ----
 *
 * The certs directory, .state, every lineage directory and every record
 * file must be owned by the effective user or root and not writable by
 * group or others (OpenSSH's StrictModes): whoever else can write there
 * could name a program in a lineage file, or swap a path for a link to
 * a file elsewhere. Once the certs directory and .state are trusted,
 * nobody else can rename anything in them, so the paths below them stay
 * what was checked. Checked before every lock, record and write (two
 * stats); reading a pair alone (goproxyd) is not refused. */
static int dir_trusted(struct store_dir *cs, struct gpc_error *err)
{
	char sp[PATH_MAX];
	struct stat st;

	if (stat(cs->dir, &st) != 0)
		return gpc_error_sys(err, errno, "open certs directory", cs->dir);
	if (fs_trust_stat(cs->dir, &st, err) != 0)
		return -1;
	if (dir_state_path(cs, NULL, sp, sizeof(sp)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s: path too long", cs->dir);
	if (lstat(sp, &st) != 0)
		return 0; /* no .state yet (or unreadable: the open that follows says so) */
	if (fs_trust_path(sp, true, err) != 0)
		return -1;
	return 0;
}

/* Create .state (0700 whatever the umask), or bring an existing one of ours
 * back to 0700; never through a symbolic link. */
static int state_create(struct store_dir *cs, const char *path, struct gpc_error *err)
{
	struct stat st;
	int fd;

	if (dir_trusted(cs, err) != 0)
		return -1;
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		gpc_error_sys(err, errno, "create directory", path);
		if (err != NULL && err->sys_errno == EACCES)
			gpc_error_hint(err, "the certs directory %s must be writable by uid %u "
					    "(it creates %s); chown it to that user or run as its owner",
				       cs->dir, (unsigned)geteuid(), path);
		return -1;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			return fs_trust_path(path, true, err) != 0 ? -1 :
			       gpc_error_sys(err, ENOTDIR, "open directory", path);
		return gpc_error_sys(err, errno, "open directory", path);
	}
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return gpc_error_sys(err, e, "stat", path);
	}
	if (st.st_uid == geteuid() && (st.st_mode & 07777) != 0700) {
		if (fchmod(fd, 0700) != 0) {
			int e = errno;
			close(fd);
			return gpc_error_sys(err, e, "chmod", path);
		}
		st.st_mode = (st.st_mode & ~07777u) | 0700;
	}
	close(fd);
	return fs_trust_stat(path, &st, err);
}

static int dir_state_mkdir(struct store_dir *cs, const char *subdir, struct gpc_error *err)
{
	char path[PATH_MAX];

	if (!cs->state_ok) {
		if (dir_state_path(cs, NULL, path, sizeof(path)) != 0)
			return gpc_error_set(err, GPC_E_INVALID, "%s: path too long", cs->dir);
		if (state_create(cs, path, err) != 0)
			return -1;
		cs->state_ok = true;
	} else if (dir_trusted(cs, err) != 0) {
		return -1;
	}
	if (subdir == NULL || *subdir == '\0')
		return 0;
	if (dir_state_path(cs, subdir, path, sizeof(path)) != 0)
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

static bool held_by_me(struct store_dir *cs)
{
	bool r;

	pthread_mutex_lock(&cs->mu);
	r = cs->held && pthread_equal(cs->owner, pthread_self());
	pthread_mutex_unlock(&cs->mu);
	return r;
}

/* The in-process half of the store lock. Returns 0, or -1 on timeout. */
static int take_thread_lock(struct store_dir *cs, int wait_secs)
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

static void drop_thread_lock(struct store_dir *cs)
{
	pthread_mutex_lock(&cs->mu);
	cs->held = false;
	pthread_mutex_unlock(&cs->mu);
	pthread_mutex_unlock(&cs->xmu);
}

static int locked_error(struct store_dir *cs, const char *path, const char *who,
			struct gpc_error *err)
{
	gpc_error_set(err, GPC_E_LOCKED, "%s: held by %s", path, who);
	gpc_error_hint(err, "another goproxy-cert is writing to %s; wait for it to "
			    "finish and try again (fuser -v %s shows which process)",
		       cs->dir, path);
	return -1;
}

static void dir_recover(struct store_dir *cs);

static int dir_lock(struct store_dir *cs, bool exclusive, int wait_secs, struct gpc_error *err)
{
	char path[PATH_MAX];
	int op = exclusive ? LOCK_EX : LOCK_SH;
	double deadline = mono_now() + (wait_secs > 0 ? wait_secs : 0);
	bool took = false;

	if (dir_state_path(cs, LOCK_FILE, path, sizeof(path)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s: path too long", cs->dir);
	if (cs->max_wait >= 0 && (wait_secs < 0 || wait_secs > cs->max_wait)) {
		wait_secs = cs->max_wait;
		deadline = mono_now() + wait_secs;
	}
	if (dir_trusted(cs, err) != 0)
		return -1;
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
			if (dir_state_mkdir(cs, NULL, err) != 0)
				goto fail;
			cs->lock_fd = fs_open_lock(path, true, err);
			if (cs->lock_fd < 0)
				goto fail;
		} else {
			/* A reader never creates .state: a store without a lock file
			 * has never been written by this tool, and a read-only certs
			 * directory must stay checkable. */
			struct gpc_error le;
			gpc_error_clear(&le);
			cs->lock_fd = fs_open_lock(path, false, &le);
			if (cs->lock_fd < 0) {
				int e = le.sys_errno;
				if (e == ENOENT || e == EACCES || e == EROFS || e == ENOTDIR) {
					gpc_debug("%s: %s, reading without the store lock", path,
						  strerror(e));
					return 0; /* the thread lock stays held until unlock */
				}
				if (err != NULL)
					*err = le;
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
			/* --lock-wait bounds the run, not each wait: after one
			 * wait ran out, later ones only try */
			if (cs->max_wait > 0) {
				gpc_debug("%s: waited %d s; later waits in this run only try", path, wait_secs);
				cs->max_wait = 0;
			}
			goto fail;
		}
		usleep(50 * 1000);
	}
	cs->lock_mode = op;
	if (exclusive)
		dir_recover(cs);
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

static void dir_unlock(struct store_dir *cs)
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

static bool txn_staged_cert(struct store_dir *cs, const char *name, const char *cp, char *out,
			    size_t outsz);
static int lineage_dir(const struct store_dir *cs, const char *name, char *out, size_t outsz);
static void data_target(const char *ldir, char *out, size_t outsz);

static void buf_cut(struct buf *b, size_t len)
{
	b->len = len;
	if (b->data != NULL)
		b->data[len] = '\0';
}

static uint64_t pair_rev(const char *target, const char *cert_path);

static int dir_read_pair(struct store_dir *cs, const char *name, struct buf *cert,
			struct buf *key, uint64_t *rev, bool nowait, struct gpc_error *err)
{
	char cp[PATH_MAX], kp[PATH_MAX], staged[PATH_MAX] = "", ldir[PATH_MAX];
	char before[PATH_MAX], after[PATH_MAX];
	size_t c0 = cert->len, k0 = key->len;
	bool took = false;
	int rc = -1;

	if (dir_paths(cs, name, cp, sizeof(cp), kp, sizeof(kp)) != 0 ||
	    lineage_dir(cs, name, ldir, sizeof(ldir)) != 0)
		return gpc_error_set(err, GPC_E_USAGE, "'%s': not a valid lineage name", name);
	if (!held_by_me(cs) && !nowait) {
		if (dir_lock(cs, false, 10, err) != 0)
			return -1;
		took = true;
	}
	/* Legacy (goproxy-cert before the generation layout): a writer killed
	 * between its two renames left the new key in place and the
	 * certificate that belongs to it staged (.state/txn/NAME); until the
	 * next writer completes that, read the pair as it will be. */
	if (txn_staged_cert(cs, name, cp, staged, sizeof(staged)))
		gpc_warn("%s: an interrupted write left the new certificate at %s; reading that "
			 "(the next 'goproxy-cert renew' or 'issue' completes the write)", cp, staged);
	/* The two opens resolve ..data separately: when it changed between
	 * them (a writer that does not wait for our lock, or none taken), the
	 * files may come from two generations. Generation names are never
	 * reused, so an unchanged ..data means one generation: read again
	 * until it holds still. */
	for (int attempt = 0;; attempt++) {
		data_target(ldir, before, sizeof(before));
		rc = -1;
		if (fs_read_file(staged[0] ? staged : cp, CERTSTORE_MAX_FILE, cert, err) == 0 &&
		    fs_read_file(kp, CERTSTORE_MAX_FILE, key, err) == 0)
			rc = 0;
		data_target(ldir, after, sizeof(after));
		if (strcmp(before, after) == 0 || attempt == 4) {
			if (rev != NULL)
				*rev = pair_rev(after, cp);
			break;
		}
		buf_cut(cert, c0);
		buf_cut(key, k0);
		gpc_error_clear(err);
	}
	if (took)
		dir_unlock(cs);
	return rc;
}

/* Copy the current pair (the content each path resolves to; NULL: that
 * file is absent) to .state/archive/NAME/<UTC>-<n>.{crt,key}. */
static int archive_pair(struct store_dir *cs, const char *name, const struct buf *cert,
			const struct buf *key, struct gpc_error *err)
{
	char rel[PATH_MAX], dir[PATH_MAX], base[PATH_MAX], ac[PATH_MAX + 8], ak[PATH_MAX + 8];
	char stamp[32];
	struct tm tm;
	time_t now = time_now();
	int n;

	if (cert == NULL && key == NULL)
		return 0;
	snprintf(rel, sizeof(rel), "%s/%s", ARCHIVE_DIR, name);
	if (dir_state_mkdir(cs, rel, err) != 0)
		return -1;
	if (dir_state_path(cs, rel, dir, sizeof(dir)) != 0)
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
	if (cert != NULL &&
	    fs_write_atomic(ac, cert->data ? cert->data : "", cert->len, 0644, err) != 0)
		return -1;
	if (key != NULL && fs_write_atomic(ak, key->data ? key->data : "", key->len, 0600, err) != 0) {
		unlink(ac);
		return -1;
	}
	gpc_info("%s: previous pair archived as %s.{crt,key}", name, base);
	return 0;
}

/* Legacy crash safety, kept to upgrade a directory an older goproxy-cert
 * left mid-write; nothing writes these records any more (the generation
 * layout below needs none). That writer staged both files under temporary
 * names, recorded them in .state/txn/NAME ("KEY_TMP\nCERT_TMP\n") before
 * the first rename and removed that record after the last. A process killed
 * in between left the record behind, and the next writer (dir_lock,
 * exclusive) finishes the job: if the staged key is still there, nothing
 * visible changed yet and the staged files are removed (roll back); if only
 * the staged certificate is left, the new key is already in place, so the
 * certificate that belongs to it is renamed in (roll forward). Temporary
 * files of writers killed while staging are removed too. Reading a record is
 * one failed open per lineage read when there is none. */
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

/* Read the record .state/txn/NAME (see dir_write_pair) into the
 * staged key and certificate paths (ktmp may come back "": the key was
 * kept). Returns 1 for a record this tool wrote, 0 when there is none, -1
 * for one that is not ours (a path outside this lineage, no newline). */
static int txn_read(struct store_dir *cs, const char *name, const char *cp, const char *kp,
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
	if (dir_state_read(cs, rel, 3 * PATH_MAX, &b, &e) != 0 || b.data == NULL) {
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
static bool txn_staged_cert(struct store_dir *cs, const char *name, const char *cp, char *out,
			    size_t outsz)
{
	char kp[PATH_MAX], cp2[PATH_MAX], ktmp[PATH_MAX], ctmp[PATH_MAX];

	out[0] = '\0';
	if (dir_paths(cs, name, cp2, sizeof(cp2), kp, sizeof(kp)) != 0 ||
	    txn_read(cs, name, cp, kp, ktmp, ctmp) != 1 || !exists_l(ctmp) ||
	    (ktmp[0] != '\0' && exists_l(ktmp)) || strlen(ctmp) >= outsz)
		return false;
	memcpy(out, ctmp, strlen(ctmp) + 1);
	return true;
}

/* One file of a pair for dir_read_files: fs_read_file as dir_read_pair
 * reads it (through the links of the generation layout); a name that is a
 * link to nothing gets a hint naming its target. */
static int read_pair_file(const char *path, struct buf *b, struct gpc_error *err)
{
	char target[PATH_MAX];
	ssize_t n;

	gpc_error_clear(err);
	if (fs_read_file(path, CERTSTORE_MAX_FILE, b, err) == 0)
		return 0;
	if (err->sys_errno == ENOENT && (n = readlink(path, target, sizeof(target) - 1)) > 0) {
		target[n] = '\0';
		gpc_error_hint(err, "%s is a symbolic link to %s, which does not exist; fix the link "
				    "or replace it with the file", path, target);
	}
	return -1;
}

static int file_mode(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* certstore_read_files: the certificate and the key each on its own (one
 * unreadable file does not hide the other), from one generation as in
 * dir_read_pair (read again while ..data moves), without a lock of its own
 * (check and status hold the shared one for their whole run). Then what
 * is at each name (nothing at all, or a dangling link), the modes, and
 * whether .state/txn/NAME records an interrupted write. A pending write is
 * said, not read around: check reports the half pair it left. */
static int dir_read_files(struct store_dir *cs, const char *name, struct buf *cert, struct buf *key,
			  struct certstore_files *f)
{
	char cp[PATH_MAX], kp[PATH_MAX], ldir[PATH_MAX], before[PATH_MAX], after[PATH_MAX];
	char rel[PATH_MAX];
	size_t c0 = cert->len, k0 = key->len;
	struct stat st;

	if (dir_paths(cs, name, cp, sizeof(cp), kp, sizeof(kp)) != 0 ||
	    lineage_dir(cs, name, ldir, sizeof(ldir)) != 0) {
		gpc_error_set(&f->cert_err, GPC_E_USAGE, "'%s': not a valid lineage name", name);
		return -1;
	}
	for (int attempt = 0;; attempt++) {
		data_target(ldir, before, sizeof(before));
		read_pair_file(cp, cert, &f->cert_err);
		read_pair_file(kp, key, &f->key_err);
		data_target(ldir, after, sizeof(after));
		if (strcmp(before, after) == 0 || attempt == 4)
			break;
		buf_cut(cert, c0);
		buf_cut(key, k0);
	}
	f->cert_absent = f->cert_err.code != NULL && f->cert_err.sys_errno == ENOENT && lstat(cp, &st) != 0;
	f->key_absent = f->key_err.code != NULL && f->key_err.sys_errno == ENOENT && lstat(kp, &st) != 0;
	f->cert_mode = file_mode(cp);
	f->key_mode = file_mode(kp);
	snprintf(rel, sizeof(rel), "%s/%s", TXN_DIR, name);
	f->interrupted = dir_state_path(cs, rel, f->interrupted_at, sizeof(f->interrupted_at)) == 0 &&
			 access(f->interrupted_at, F_OK) == 0;
	if (!f->interrupted)
		f->interrupted_at[0] = '\0';
	return 1;
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

static void txn_recover_one(struct store_dir *cs, const char *name)
{
	char rel[PATH_MAX], cp[PATH_MAX], kp[PATH_MAX], ktmp[PATH_MAX], ctmp[PATH_MAX];
	struct gpc_error e;

	gpc_error_clear(&e);
	snprintf(rel, sizeof(rel), "%s/%s", TXN_DIR, name);
	if (dir_paths(cs, name, cp, sizeof(cp), kp, sizeof(kp)) != 0)
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
	if (dir_state_remove(cs, rel, &e) != 0)
		gpc_warn("%s", e.message);
}

/* ---- The generation layout ------------------------------------------------
 *
 * A lineage directory L (DIR for "default", DIR/NAME otherwise) holds:
 *
 *   L/..2026_12_01T09_00_00.123456789/   a generation: cert.crt (0644) and
 *                                        priv.key (0600); dir mode 0755
 *   L/..data -> ..2026_12_01T09_00_00.123456789
 *   L/cert.crt -> ..data/cert.crt
 *   L/priv.key -> ..data/priv.key
 *
 * All links are relative, so the directory works wherever it is mounted
 * (bind mounts, containers). A generation is written once, completely,
 * before anything points at it, and never changed after; its name (UTC time
 * of the real clock, nanoseconds, "-N" if taken) is never used twice. Names
 * starting with '.' are never lineages, so neither dir_list nor
 * goproxyd mistakes a generation for one, also at the top of DIR.
 *
 * A write: (1) read what cert.crt and priv.key resolve to now; (2) create
 * the new generation and write + fsync both files, fsync it; (3) archive the
 * current pair; (4) make L/..data_tmp -> ..NEW and rename it over L/..data,
 * fsync L: this one rename swaps key and certificate together; (5) remove
 * the other generations and stray temporary links. A kill before (4) leaves
 * the old pair visible (and a stray generation the next writer removes); a
 * kill after it the new one.
 *
 * The first write onto plain files (written by hand, by GoDoxy, by an older
 * goproxy-cert) converts without an instant where the two paths resolve to
 * a mismatched or missing pair. Two paths cannot change in one rename, so
 * the conversion changes only what each path is, never what it reads: first
 * a generation G0 holding a copy of exactly what each path resolves to now
 * (the old pair, or whatever is there) is written and ..data pointed at it
 * (invisible: no path goes through ..data yet, or the ones that do read the
 * same bytes from G0); then priv.key, then cert.crt, each plain file is
 * replaced by its link with one rename(2) (atomic per path): before, the
 * path reads the old file, after, the same bytes through ..data -> G0. At
 * every instant both paths read the old pair. Only then does step (4) swap
 * ..data to the new generation, and both paths change at once. A kill in the
 * middle leaves a mix of old plain files and links into G0: the same old
 * pair; the next write finishes the conversion. A path that did not exist
 * (the first issuance) gets its link after the swap, key first, so a reader
 * that finds cert.crt finds priv.key.
 *
 * Readers of the plain paths resolve ..data once per open: one that opens
 * cert.crt and then priv.key across a swap can get two generations. A
 * careful reader opens L/..data as a directory once and reads both files
 * relative to it (openat), starting again if one is gone; or reads
 * L/..data's target before and after the two reads and reads again when it
 * changed (dir_read_pair). A writer removes a generation only after
 * ..data points elsewhere and the old pair is in the archive. */
#define DATA_LINK "..data"
#define DATA_TMP "..data_tmp"
#define CERT_LINK_TMP "..cert.crt_tmp"
#define KEY_LINK_TMP "..priv.key_tmp"
#define CERT_TARGET DATA_LINK "/" CERTSTORE_CERT_FILE
#define KEY_TARGET DATA_LINK "/" CERTSTORE_KEY_FILE
#define GEN_MODE 0755 /* what the lineage directory is; the key in it is 0600 */

static int lineage_dir(const struct store_dir *cs, const char *name, char *out, size_t outsz)
{
	if (name == NULL || strcmp(name, CERTSTORE_DEFAULT) == 0)
		return snprintf(out, outsz, "%s", cs->dir) < (int)outsz ? 0 : -1;
	if (!certstore_valid_name(name))
		return -1;
	return fs_join(out, outsz, cs->dir, name);
}

/* "..2026_12_01T09_00_00.123456789" or with "-N": a generation's name. */
static bool is_gen_name(const char *s)
{
	if (strncmp(s, "..", 2) != 0 || s[2] < '0' || s[2] > '9')
		return false;
	for (s += 2; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || *s == '_' || *s == 'T' || *s == '.' || *s == '-'))
			return false;
	return true;
}

/* The target of a symbolic link into out ("" when it is none). */
static void link_target(const char *path, char *out, size_t outsz)
{
	ssize_t n = readlink(path, out, outsz - 1);

	out[n > 0 ? (size_t)n : 0] = '\0';
}

/* What L/..data points at ("" when it is no link). */
static void data_target(const char *ldir, char *out, size_t outsz)
{
	char p[PATH_MAX];

	out[0] = '\0';
	if (fs_join(p, sizeof(p), ldir, DATA_LINK) == 0)
		link_target(p, out, outsz);
	/* only a generation of this directory: a link anywhere else is not
	 * ours, and nothing is read, kept or removed by it */
	if (!is_gen_name(out))
		out[0] = '\0';
}

/* Is `path` our link (to "..data/FILE")? */
static bool is_our_link(const char *path, const char *target)
{
	char t[PATH_MAX];

	link_target(path, t, sizeof(t));
	return strcmp(t, target) == 0;
}

/* Read what `path` resolves to now; a missing file (or dangling link) is
 * *present = false. Returns 0 or -1 (unreadable, not a file, too large). */
static int read_current(const char *path, struct buf *b, bool *present, struct gpc_error *err)
{
	*present = false;
	if (fs_read_file(path, CERTSTORE_MAX_FILE, b, err) == 0) {
		*present = true;
		return 0;
	}
	if (err != NULL && err->sys_errno == ENOENT) {
		gpc_error_clear(err);
		return 0;
	}
	return -1;
}

/* A lineage directory (DIR/NAME) as a writer may use it: no symbolic link
 * (certs/evil -> /elsewhere would make every write and tidy act there),
 * owned by the effective user or root, not writable by others. The
 * default lineage is DIR itself (dir_trusted). Returns 0 or -1. */
static int lineage_dir_trusted(const struct store_dir *cs, const char *ldir, struct gpc_error *err)
{
	if (strcmp(ldir, cs->dir) == 0)
		return 0;
	return fs_trust_path(ldir, true, err);
}

/* What a path of a pair reads now, for the archive and the first
 * generation of a conversion: through our own link into this directory's
 * generation, or from a regular file of the effective user (no link out of
 * the directory, nothing another user planted) whose content parses as a
 * certificate chain (is_key false) or a private key. Anything else is not
 * copied (*present false), with a warning: a root-only file linked here
 * must not be republished 0644 nor archived. */
static int read_convert(const char *ldir, const char *path, const char *our_target, bool is_key,
			struct buf *b, bool *present, struct gpc_error *err)
{
	char cur[PATH_MAX];
	struct stat st;
	int ok = -1;

	*present = false;
	if (lstat(path, &st) != 0)
		return 0;
	if (S_ISLNK(st.st_mode) && is_our_link(path, our_target)) {
		data_target(ldir, cur, sizeof(cur));
		if (cur[0] == '\0')
			return 0; /* ..data is no generation of ours: nothing to keep */
		return read_current(path, b, present, err);
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		gpc_warn("%s: %s; its content is not kept (not archived, not copied): only a regular file of "
			 "uid %u in the directory is", path, S_ISLNK(st.st_mode) ? "a symbolic link" :
			 !S_ISREG(st.st_mode) ? "not a regular file" : "owned by another user",
			 (unsigned)geteuid());
		return 0;
	}
	if (fs_read_file_strict(path, CERTSTORE_MAX_FILE, false, b, err) != 0)
		return -1;
	if (is_key) {
		struct x509_key *k = NULL;
		if (x509_key_parse(path, b->data ? b->data : "", b->len, &k, NULL) == 0) {
			x509_key_free(k);
			ok = 0;
		}
	} else {
		struct x509_chain *c = NULL;
		bool has_key = false;
		/* a private key block in it would be published 0644 */
		if (x509_chain_parse(path, b->data ? b->data : "", b->len, &c, &has_key, NULL) == 0) {
			x509_chain_free(c);
			ok = has_key ? -1 : 0;
		}
	}
	if (ok != 0) {
		gpc_warn("%s: not a %s; its content is not kept (not archived, not copied)", path,
			 is_key ? "private key" : "certificate chain");
		buf_cut(b, 0);
		return 0;
	}
	*present = true;
	return 0;
}

/* Remove a generation directory: its files, then itself. */
static int remove_gen(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	return rmdir(path);
}

/* Remove every generation in L but the one ..data points at, and the
 * temporary links of a writer that was killed. Called under the exclusive
 * lock (no writer is between its steps). Returns how many were removed. */
static int tidy_lineage_dir(const char *ldir)
{
	static const char *const tmps[] = { DATA_TMP, CERT_LINK_TMP, KEY_LINK_TMP };
	char cur[PATH_MAX], p[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int n = 0;

	data_target(ldir, cur, sizeof(cur));
	for (size_t i = 0; i < sizeof(tmps) / sizeof(tmps[0]); i++)
		if (fs_join(p, sizeof(p), ldir, tmps[i]) == 0 && lstat(p, &st) == 0 &&
		    S_ISLNK(st.st_mode) && unlink(p) == 0)
			n++;
	if ((d = opendir(ldir)) == NULL)
		return n;
	while ((de = readdir(d)) != NULL) {
		if (!is_gen_name(de->d_name) || strcmp(de->d_name, cur) == 0 ||
		    fs_join(p, sizeof(p), ldir, de->d_name) != 0 || lstat(p, &st) != 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (remove_gen(p) == 0)
			n++;
		else
			gpc_warn("%s: could not remove an old generation: %s", p, strerror(errno));
	}
	closedir(d);
	return n;
}

/* Write a new generation in L holding `cert` and `key` (each may be NULL:
 * that file is left out). Its name goes to gen (size NAME_MAX + 1). On
 * failure nothing is left. Returns 0 or -1. */
static int make_gen(const char *ldir, const char *cert, size_t cert_len, const char *key,
		    size_t key_len, char *gen, struct gpc_error *err)
{
	char base[64], path[PATH_MAX];
	struct timespec ts;
	struct stat st;
	struct tm tm;
	size_t bl;
	int fd = -1;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	bl = strftime(base, sizeof(base), "..%Y_%m_%dT%H_%M_%S", &tm);
	snprintf(base + bl, sizeof(base) - bl, ".%09ld", (long)ts.tv_nsec);
	for (int n = 0;; n++) {
		if (n == 0)
			snprintf(gen, NAME_MAX + 1, "%s", base);
		else
			snprintf(gen, NAME_MAX + 1, "%s-%d", base, n);
		if (fs_join(path, sizeof(path), ldir, gen) != 0)
			return gpc_error_set(err, GPC_E_INVALID, "%s: path too long", ldir);
		if (mkdir(path, GEN_MODE & 0700) == 0)
			break;
		if (errno != EEXIST || n == 99)
			return gpc_error_sys(err, errno, "create directory in", ldir);
	}
	/* Everything else through the descriptor of the directory just made
	 * (never its path: nothing can be swapped in between), which must be
	 * the directory this process created. Readers may enter it only once
	 * it is complete (0700 while filled, then GEN_MODE whatever the umask,
	 * so readers that could read cert.crt still can). */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		gpc_error_sys(err, errno, "open directory", path);
		goto fail;
	}
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid()) {
		gpc_error_set(err, FS_E_UNTRUSTED, "%s: not the directory this run created; refused", path);
		goto fail;
	}
	if ((key != NULL && fs_write_new_at(fd, CERTSTORE_KEY_FILE, key, key_len, 0600, ldir, err) != 0) ||
	    (cert != NULL && fs_write_new_at(fd, CERTSTORE_CERT_FILE, cert, cert_len, 0644, ldir, err) != 0))
		goto fail;
	if (fchmod(fd, GEN_MODE) != 0 || fsync(fd) != 0) {
		gpc_error_sys(err, errno, "write", path);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	if (fd >= 0) {
		(void)unlinkat(fd, CERTSTORE_KEY_FILE, 0);
		(void)unlinkat(fd, CERTSTORE_CERT_FILE, 0);
		close(fd);
	}
	(void)unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
	gen[0] = '\0';
	return -1;
}

/* L/FINAL := a symbolic link to `target`, by one rename(2) of L/TMP. The
 * caller fsyncs L. Returns 0 or -1. */
static int link_replace(const char *ldir, const char *tmp, const char *target, const char *final,
			struct gpc_error *err)
{
	char tp[PATH_MAX], fp[PATH_MAX];

	if (fs_join(tp, sizeof(tp), ldir, tmp) != 0 || fs_join(fp, sizeof(fp), ldir, final) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s: path too long", ldir);
	if (unlink(tp) != 0 && errno != ENOENT)
		return gpc_error_sys(err, errno, "remove", tp);
	if (symlink(target, tp) != 0)
		return gpc_error_sys(err, errno, "create symbolic link in", ldir);
	if (rename(tp, fp) != 0) {
		int e = errno;
		unlink(tp);
		return gpc_error_sys(err, e, "rename into place", fp);
	}
	return 0;
}

/* Finish or undo interrupted writes, and remove stray temporary files and
 * generations. Called with the exclusive lock held. */
static void dir_recover(struct store_dir *cs)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	char **names = NULL;
	size_t n = 0;
	DIR *d;
	struct dirent *de;
	struct gpc_error e;

	if (dir_state_path(cs, TXN_DIR, dir, sizeof(dir)) == 0 && (d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (certstore_valid_name(de->d_name))
				txn_recover_one(cs, de->d_name);
		closedir(d);
	}
	gpc_error_clear(&e);
	remove_strays(cs->dir);
	/* .state files are written under the run lock, not always under this
	 * one: only temps of writers that no longer run are removed there. */
	if (dir_state_path(cs, NULL, dir, sizeof(dir)) == 0) {
		int k = fs_remove_stale_temps(dir, 3);
		if (k > 0)
			gpc_info("%s: removed %d temporary file(s) left by interrupted writes", dir, k);
	}
	if (dir_list(cs, &names, &n, &e) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int k;
		if (lineage_dir(cs, names[i], sub, sizeof(sub)) != 0)
			continue;
		if (lineage_dir_trusted(cs, sub, &e) != 0) {
			gpc_warn("%s", e.message);
			gpc_error_clear(&e);
			continue; /* nothing is removed through a link or in another user's directory */
		}
		if (strcmp(names[i], CERTSTORE_DEFAULT) != 0)
			remove_strays(sub);
		if ((k = tidy_lineage_dir(sub)) > 0)
			gpc_info("%s: removed %d generation(s) or link(s) left by an interrupted write",
				 sub, k);
	}
	certstore_names_free(names, n);
}

static int dir_write_pair(struct store_dir *cs, const char *name, const char *cert_pem,
			 size_t cert_len, const char *key_pem, size_t key_len, uint64_t expect_rev,
			 struct gpc_error *err)
{
	char cp[PATH_MAX], kp[PATH_MAX], ldir[PATH_MAX];
	char g0[NAME_MAX + 1] = "", g1[NAME_MAX + 1] = "";
	struct buf cur_c, cur_k;
	bool have_c = false, have_k = false, conv_c, conv_k;
	int rc = -1;

	if (name == NULL)
		name = CERTSTORE_DEFAULT;
	if (dir_paths(cs, name, cp, sizeof(cp), kp, sizeof(kp)) != 0 ||
	    lineage_dir(cs, name, ldir, sizeof(ldir)) != 0)
		return gpc_error_set(err, GPC_E_USAGE, "'%s': not a valid lineage name", name);
	if (cs->lock_mode != LOCK_EX)
		gpc_debug("dir_write_pair(%s) without the exclusive store lock", name);
	if (expect_rev != CERTSTORE_REV_ANY) {
		/* compare-and-swap: under the caller's exclusive lock, nothing
		 * else writes between this check and the swap */
		char t[PATH_MAX];
		data_target(ldir, t, sizeof(t));
		uint64_t now = exists_l(cp) ? pair_rev(t, cp) : 0;
		if (now != expect_rev)
			return gpc_error_set(err, GPC_E_CONFLICT, "%s: the pair changed since it was read; "
					     "not replaced", cp);
	}
	if (dir_trusted(cs, err) != 0)
		return -1;
	if (strcmp(name, CERTSTORE_DEFAULT) != 0 && mkdir(ldir, 0755) != 0 && errno != EEXIST)
		return gpc_error_sys(err, errno, "create directory", ldir);
	if (lineage_dir_trusted(cs, ldir, err) != 0)
		return -1;
	buf_init(&cur_c, CERTSTORE_MAX_FILE);
	buf_init(&cur_k, CERTSTORE_MAX_FILE);

	/* (1) What the two paths read now: archived, copied into G0 when
	 * converting, and the key kept for --reuse-key. */
	if (read_convert(ldir, cp, CERT_TARGET, false, &cur_c, &have_c, err) != 0 ||
	    read_convert(ldir, kp, KEY_TARGET, true, &cur_k, &have_k, err) != 0)
		goto out;
	if (key_pem == NULL) {
		if (!have_k) {
			gpc_error_set(err, GPC_E_MISSING, "%s: no private key to keep", kp);
			gpc_error_hint(err, "issue without --reuse-key to make a new key");
			goto out;
		}
		key_pem = cur_k.data ? cur_k.data : "";
		key_len = cur_k.len;
	}
	/* Paths that exist but are not our links yet: plain files of another
	 * writer, or links of the user's. */
	conv_c = exists_l(cp) && !is_our_link(cp, CERT_TARGET);
	conv_k = exists_l(kp) && !is_our_link(kp, KEY_TARGET);

	/* (2) Both generations are written before anything visible changes: a
	 * full disk or a permission problem shows up here. */
	if ((conv_c || conv_k) &&
	    make_gen(ldir, have_c ? (cur_c.data ? cur_c.data : "") : NULL, cur_c.len,
		     have_k ? (cur_k.data ? cur_k.data : "") : NULL, cur_k.len, g0, err) != 0)
		goto out;
	if (make_gen(ldir, cert_pem, cert_len, key_pem, key_len, g1, err) != 0)
		goto out;

	/* (3) An old pair is archived, never deleted. */
	if (archive_pair(cs, name, have_c ? &cur_c : NULL, have_k ? &cur_k : NULL, err) != 0)
		goto out;

	/* Conversion (see the layout comment): ..data -> G0 (the same bytes
	 * every path reads now), then each path becomes its link, key first. */
	if (conv_c || conv_k) {
		if (link_replace(ldir, DATA_TMP, g0, DATA_LINK, err) != 0 ||
		    (conv_k && link_replace(ldir, KEY_LINK_TMP, KEY_TARGET, CERTSTORE_KEY_FILE, err) != 0) ||
		    (conv_c && link_replace(ldir, CERT_LINK_TMP, CERT_TARGET, CERTSTORE_CERT_FILE, err) != 0) ||
		    fs_sync_parent(cp, err) != 0)
			goto out;
	}

	/* (4) The swap: one rename changes key and certificate together. */
	if (link_replace(ldir, DATA_TMP, g1, DATA_LINK, err) != 0 || fs_sync_parent(cp, err) != 0)
		goto out;

	/* Paths that did not exist (first issuance, half a pair): key first,
	 * so that whoever finds cert.crt finds its key. */
	if ((!is_our_link(kp, KEY_TARGET) &&
	     link_replace(ldir, KEY_LINK_TMP, KEY_TARGET, CERTSTORE_KEY_FILE, err) != 0) ||
	    (!is_our_link(cp, CERT_TARGET) &&
	     link_replace(ldir, CERT_LINK_TMP, CERT_TARGET, CERTSTORE_CERT_FILE, err) != 0) ||
	    fs_sync_parent(cp, err) != 0)
		goto out;
	rc = 0;
out:
	/* (5) On success the old generation (archived) goes; on failure the
	 * staged ones do. The one ..data points at always stays. */
	(void)tidy_lineage_dir(ldir);
	buf_finish(&cur_c);
	buf_finish(&cur_k);
	return rc;
}

static int dir_state_read(struct store_dir *cs, const char *rel, size_t max, struct buf *out,
			 struct gpc_error *err)
{
	char path[PATH_MAX];

	if (dir_state_path(cs, rel, path, sizeof(path)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s/.state/%s: not a valid state path",
				     cs->dir, rel ? rel : "");
	if (dir_trusted(cs, err) != 0)
		return -1;
	/* a record is never read through a link, nor from a file another
	 * user could have written (a lineage's hook or solver program) */
	return fs_read_file_strict(path, max, true, out, err);
}

static int dir_state_write(struct store_dir *cs, const char *rel, const void *data, size_t len,
			  struct gpc_error *err)
{
	char path[PATH_MAX], parent[PATH_MAX];
	char *slash;

	if (dir_state_path(cs, rel, path, sizeof(path)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s/.state/%s: not a valid state path",
				     cs->dir, rel ? rel : "");
	snprintf(parent, sizeof(parent), "%s", rel);
	slash = strrchr(parent, '/');
	if (slash != NULL)
		*slash = '\0';
	if (dir_state_mkdir(cs, slash != NULL ? parent : NULL, err) != 0)
		return -1;
	return fs_write_atomic(path, data, len, 0600, err);
}

static int dir_state_remove(struct store_dir *cs, const char *rel, struct gpc_error *err)
{
	char path[PATH_MAX];

	if (dir_state_path(cs, rel, path, sizeof(path)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s/.state/%s: not a valid state path",
				     cs->dir, rel ? rel : "");
	if (dir_trusted(cs, err) != 0)
		return -1;
	if (unlink(path) != 0) {
		if (errno == ENOENT)
			return 0;
		return gpc_error_sys(err, errno, "remove", path);
	}
	return fs_sync_parent(path, err);
}

static int dir_finish_interrupted(struct store_dir *cs)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;
	bool any = false;
	struct gpc_error e;

	if (dir_state_path(cs, TXN_DIR, dir, sizeof(dir)) != 0 || (d = opendir(dir)) == NULL)
		return 0;
	while (!any && (de = readdir(d)) != NULL)
		any = certstore_valid_name(de->d_name);
	closedir(d);
	if (!any || held_by_me(cs) || access(dir, W_OK) != 0)
		return 0;
	/* The exclusive lock runs dir_recover; a busy store is left to
	 * its writer. */
	gpc_error_clear(&e);
	if (dir_lock(cs, true, 0, &e) != 0) {
		gpc_debug("%s; not finishing interrupted writes now", e.message);
		return 0;
	}
	dir_unlock(cs);
	return 1;
}

/* ---- revisions ----
 * A pair's revision is a hash of the generation ..data points at (names
 * are never reused), or, for plain files, of the certificate file's
 * identity (device, inode, change time, size); a record's of its file's
 * identity: every atomic write makes a new inode. 0 is "absent". */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t stat_rev(const struct stat *st)
{
	uint64_t h = 14695981039346656037ULL;

	h = fnv(h, &st->st_dev, sizeof(st->st_dev));
	h = fnv(h, &st->st_ino, sizeof(st->st_ino));
	h = fnv(h, &st->st_ctim, sizeof(st->st_ctim));
	h = fnv(h, &st->st_mtim, sizeof(st->st_mtim));
	h = fnv(h, &st->st_size, sizeof(st->st_size));
	return h == 0 || h == CERTSTORE_REV_ANY ? 1 : h;
}

static uint64_t pair_rev(const char *target, const char *cert_path)
{
	struct stat st;

	if (target != NULL && target[0] != '\0') {
		uint64_t h = fnv(14695981039346656037ULL, target, strlen(target));
		return h == 0 || h == CERTSTORE_REV_ANY ? 1 : h;
	}
	if (stat(cert_path, &st) != 0)
		return 0;
	return stat_rev(&st);
}

/* ---- the backend table ---- */

static void op_free(void *be)
{
	dir_free(be);
}

static const char *op_describe(void *be)
{
	return dir_dir(be);
}

static int op_list(void *be, char ***names, size_t *n, struct gpc_error *err)
{
	return dir_list(be, names, n, err);
}

static int op_pair_names(void *be, const char *name, char *cert, size_t certsz, char *key, size_t keysz)
{
	return dir_paths(be, name, cert, certsz, key, keysz);
}

static int op_read_pair(void *be, const char *name, struct buf *cert, struct buf *key, uint64_t *rev,
			struct gpc_error *err)
{
	return dir_read_pair(be, name, cert, key, rev, false, err);
}

static int op_read_pair_nowait(void *be, const char *name, struct buf *cert, struct buf *key,
			       struct gpc_error *err)
{
	return dir_read_pair(be, name, cert, key, NULL, true, err);
}

static int op_read_files(void *be, const char *name, struct buf *cert, struct buf *key,
			 struct certstore_files *f)
{
	return dir_read_files(be, name, cert, key, f);
}

static int op_write_pair(void *be, const char *name, const char *cert, size_t cert_len, const char *key,
			 size_t key_len, uint64_t expect_rev, struct gpc_error *err)
{
	return dir_write_pair(be, name, cert, cert_len, key, key_len, expect_rev, err);
}

/* Before any network access: the directory (and the lineage's) writable. */
static int op_check_writable(void *be, const char *name, struct gpc_error *err)
{
	struct store_dir *cs = be;
	char ldir[PATH_MAX];

	if (dir_trusted(cs, err) != 0)
		return -1;
	if (access(cs->dir, W_OK | X_OK) != 0) {
		gpc_error_sys(err, errno, "write into certs directory", cs->dir);
		if (errno == EACCES || errno == EPERM || errno == EROFS) {
			char hint[sizeof(err->hint)];
			snprintf(hint, sizeof(hint), "%s", err->hint);
			gpc_error_hint(err, "%s%sthe certificate is written there (pass -d DIR for another "
					    "directory; in a container, mount it writable and persistent)",
				       hint, hint[0] ? "; " : "");
		}
		return -1;
	}
	if (dir_state_mkdir(cs, NULL, err) != 0)
		return -1;
	if (strcmp(name, CERTSTORE_DEFAULT) != 0 && lineage_dir(cs, name, ldir, sizeof(ldir)) == 0 &&
	    faccessat(AT_FDCWD, ldir, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		if (lineage_dir_trusted(cs, ldir, err) != 0)
			return -1;
		if (access(ldir, W_OK | X_OK) != 0)
			return gpc_error_sys(err, errno, "write into lineage directory", ldir);
	}
	return 0;
}

static int op_record_name(void *be, const char *key, char *out, size_t outsz)
{
	return dir_state_path(be, key, out, outsz);
}

static int op_record_get(void *be, const char *key, size_t max, struct buf *out, uint64_t *rev,
			 struct gpc_error *err)
{
	struct store_dir *cs = be;
	char path[PATH_MAX];
	struct stat a, b;
	size_t l0 = out->len;

	if (dir_state_path(cs, key, path, sizeof(path)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s/.state/%s: not a valid state path", cs->dir, key);
	if (dir_trusted(cs, err) != 0)
		return -1;
	/* The revision of what was read: the file's identity before and after
	 * (an atomic write in between is read again). Never through a link
	 * (goproxyd serving a challenge file included), never a file another
	 * user could have written. */
	for (int attempt = 0;; attempt++) {
		bool had = lstat(path, &a) == 0;
		int rc = fs_read_file_strict(path, max, true, out, err);
		if (rc != 0)
			return rc;
		if (!had || lstat(path, &b) != 0 || (a.st_ino == b.st_ino && a.st_dev == b.st_dev &&
						    a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
						    a.st_mtim.tv_nsec == b.st_mtim.tv_nsec) || attempt == 3) {
			*rev = had ? stat_rev(&a) : 1;
			return 0;
		}
		buf_cut(out, l0);
	}
}

static int op_record_put(void *be, const char *key, const void *data, size_t len, uint64_t expect_rev,
			 struct gpc_error *err)
{
	struct store_dir *cs = be;
	char path[PATH_MAX];
	struct stat st;
	bool took = false;
	int rc = -1;

	if (expect_rev == CERTSTORE_REV_ANY)
		return dir_state_write(cs, key, data, len, err);
	if (dir_state_path(cs, key, path, sizeof(path)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s/.state/%s: not a valid state path", cs->dir, key);
	if (!(held_by_me(cs) && cs->lock_mode == LOCK_EX)) {
		if (dir_lock(cs, true, 60, err) != 0)
			return -1;
		took = true;
	}
	uint64_t now = stat(path, &st) == 0 ? stat_rev(&st) : 0;
	if (now != expect_rev)
		gpc_error_set(err, GPC_E_CONFLICT, "%s: changed since it was read; not written", path);
	else
		rc = dir_state_write(cs, key, data, len, err);
	if (took)
		dir_unlock(cs);
	return rc;
}

static int op_record_del(void *be, const char *key, struct gpc_error *err)
{
	return dir_state_remove(be, key, err);
}

static int op_record_list(void *be, const char *prefix, char ***keys, size_t *n, struct gpc_error *err)
{
	struct store_dir *cs = be;
	char path[PATH_MAX], sub[PATH_MAX];
	struct dirent *de;
	char **v = NULL;
	size_t nv = 0, cap = 0;
	DIR *d;

	snprintf(sub, sizeof(sub), "%s", prefix);
	if (sub[0] != '\0')
		sub[strlen(sub) - 1] = '\0'; /* the trailing '/' */
	if (dir_state_path(cs, sub, path, sizeof(path)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s/.state/%s: not a valid state path", cs->dir, prefix);
	if (dir_trusted(cs, err) != 0)
		return -1;
	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return gpc_error_sys(err, errno, "list", path);
	}
	while ((de = readdir(d)) != NULL) {
		char key[PATH_MAX], fp[PATH_MAX];
		struct stat st;
		if (de->d_name[0] == '.' || snprintf(key, sizeof(key), "%s%s", prefix, de->d_name) >= (int)sizeof(key) ||
		    fs_join(fp, sizeof(fp), path, de->d_name) != 0 || lstat(fp, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (names_push(&v, &nv, &cap, key) != 0) {
			closedir(d);
			certstore_names_free(v, nv);
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		}
	}
	closedir(d);
	if (nv > 1)
		qsort(v, nv, sizeof(*v), cmp_names);
	*keys = v;
	*n = nv;
	return 0;
}

static int op_prepare(void *be, const char *prefix, struct gpc_error *err)
{
	return dir_state_mkdir(be, prefix, err);
}

static int op_lock(void *be, bool exclusive, int wait_secs, struct gpc_error *err)
{
	return dir_lock(be, exclusive, wait_secs, err);
}

static void op_unlock(void *be)
{
	dir_unlock(be);
}

static void op_set_lock_wait(void *be, int secs)
{
	struct store_dir *cs = be;

	cs->max_wait = secs;
}

/* The issuer lock: flock(2) on DIR/.state/issue.lock, the holder's pid
 * written into it for the message of a run that waits. */
static int op_issuer_lock(void *be, const char *what, int wait_secs, bool *waited, struct gpc_error *err)
{
	struct store_dir *cs = be;
	char path[PATH_MAX], who[64] = "", pid[32];
	int fd, n;

	if (dir_state_mkdir(cs, NULL, err) != 0)
		return -1;
	if (dir_state_path(cs, "issue.lock", path, sizeof(path)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "%s: path too long", cs->dir);
	/* never through a link, never blocking on a FIFO, never truncating
	 * what is not our own regular file */
	fd = fs_open_lock(path, true, err);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t r = pread(fd, who, sizeof(who) - 1, 0);
		who[r > 0 ? r : 0] = '\0';
		who[strcspn(who, "\n")] = '\0';
		*waited = true;
		gpc_note("%s: another goproxy-cert run%s%s%s is issuing in %s; waiting (at most %d s)", what,
			 who[0] ? " (pid " : "", who, who[0] ? ")" : "", cs->dir, wait_secs);
		time_t t0 = time(NULL);
		while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			if (errno != EWOULDBLOCK && errno != EINTR) {
				int e = errno;
				close(fd);
				return gpc_error_sys(err, e, "lock", path);
			}
			if (wait_secs >= 0 && time(NULL) - t0 >= wait_secs) {
				close(fd);
				gpc_error_set(err, GPC_E_LOCKED, "%s: another goproxy-cert run%s%s%s still holds the "
					      "issuer lock %s after %d s; nothing was ordered", what,
					      who[0] ? " (pid " : "", who, who[0] ? ")" : "", path, wait_secs);
				return gpc_error_hint(err, "it is still working (or hangs: see its output); the next "
							   "run finds its certificate, or give --lock-wait SECONDS to "
							   "wait longer");
			}
			usleep(100 * 1000);
		}
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		gpc_debug("%s: %s", path, strerror(errno));
	cs->issuer_fd = fd;
	return 0;
}

static void op_issuer_unlock(void *be)
{
	struct store_dir *cs = be;

	if (cs->issuer_fd >= 0) {
		if (ftruncate(cs->issuer_fd, 0) != 0)
			gpc_debug("issuer lock: %s", strerror(errno));
		close(cs->issuer_fd); /* releases the flock */
		cs->issuer_fd = -1;
	}
}

/* ---- the change watch: inotify on the certs directory, every lineage
 * directory (the one rename of ..data that swaps a pair arrives there),
 * .state and the challenge directories ---- */

#define WATCH_FILES (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB | \
		     IN_DELETE_SELF)

static void watch_all(struct store_dir *cs)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (cs->watch_fd < 0)
		return;
	(void)inotify_add_watch(cs->watch_fd, cs->dir, WATCH_FILES);
	/* .state holds the lock file: only the creation of directories matters */
	if (dir_state_path(cs, NULL, p, sizeof(p)) == 0)
		(void)inotify_add_watch(cs->watch_fd, p, IN_CREATE | IN_MOVED_TO);
	if (dir_state_path(cs, "challenges", p, sizeof(p)) == 0)
		(void)inotify_add_watch(cs->watch_fd, p, IN_CREATE | IN_MOVED_TO);
	if (dir_state_path(cs, "challenges/tls-alpn-01", p, sizeof(p)) == 0)
		(void)inotify_add_watch(cs->watch_fd, p, WATCH_FILES);
	/* every subdirectory: a new lineage's directory appears before its files */
	if ((d = opendir(cs->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !certstore_valid_name(de->d_name))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (fs_join(p, sizeof(p), cs->dir, de->d_name) == 0)
			(void)inotify_add_watch(cs->watch_fd, p, WATCH_FILES | IN_ONLYDIR);
	}
	closedir(d);
}

static int op_watch_open(void *be, struct gpc_error *err)
{
	struct store_dir *cs = be;

	if (cs->watch_fd < 0) {
		cs->watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (cs->watch_fd < 0)
			return gpc_error_sys(err, errno, "inotify", cs->dir);
	}
	watch_all(cs);
	return cs->watch_fd;
}

static unsigned op_watch_read(void *be)
{
	struct store_dir *cs = be;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	unsigned changed = 0;
	ssize_t r;

	if (cs->watch_fd < 0)
		return 0;
	/* Every event counts, whatever its name: goproxy-cert swaps a pair by
	 * renaming ..data (IN_MOVED_TO "..data"), other writers rename
	 * cert.crt and priv.key. */
	while ((r = read(cs->watch_fd, buf, sizeof(buf))) > 0)
		changed = 1;
	if (changed)
		watch_all(cs); /* follow new lineage and challenge directories */
	return changed;
}

static void op_watch_close(void *be)
{
	struct store_dir *cs = be;

	if (cs->watch_fd >= 0)
		close(cs->watch_fd);
	cs->watch_fd = -1;
}

/* ---- presence: .state/WHO.pid, the pid on the first line (as any
 * pidfile), the information on the second; a holder that is gone (kill 0
 * says no such process) does not count ---- */

static int op_presence_set(void *be, const char *who, const char *info, struct gpc_error *err)
{
	char rel[96], text[512];
	int n;

	snprintf(rel, sizeof(rel), "%s.pid", who);
	n = snprintf(text, sizeof(text), "%ld\n%s%s", (long)getpid(), info ? info : "", info ? "\n" : "");
	if (n < 0 || (size_t)n >= sizeof(text))
		return gpc_error_set(err, GPC_E_INVALID, "presence information too long");
	if (dir_state_mkdir(be, NULL, err) != 0)
		return -1;
	return dir_state_write(be, rel, text, (size_t)n, err);
}

static long presence_pid(struct store_dir *cs, const char *who, struct buf *b)
{
	char rel[96];
	struct gpc_error e;

	snprintf(rel, sizeof(rel), "%s.pid", who);
	if (dir_state_read(cs, rel, 4096, b, &e) != 0 || b->data == NULL)
		return 0;
	return strtol(b->data, NULL, 10);
}

static void op_presence_clear(void *be, const char *who)
{
	struct buf b;
	char rel[96];
	struct gpc_error e;

	buf_init(&b, 4096);
	if (presence_pid(be, who, &b) == (long)getpid()) {
		snprintf(rel, sizeof(rel), "%s.pid", who);
		(void)dir_state_remove(be, rel, &e);
	}
	buf_finish(&b);
}

static int op_presence_get(void *be, const char *who, struct buf *info)
{
	struct buf b;
	long pid;
	int present = 0;

	buf_init(&b, 4096);
	pid = presence_pid(be, who, &b);
	if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM)) {
		const char *nl = strchr(b.data, '\n');
		present = 1;
		if (nl != NULL && nl[1] != '\0' && buf_add(info, nl + 1, strcspn(nl + 1, "\n")) != 0)
			gpc_debug("presence of %s: out of memory", who);
	}
	buf_finish(&b);
	return present;
}

static int op_finish_interrupted(void *be)
{
	return dir_finish_interrupted(be);
}

static int op_check_trust(void *be, struct gpc_error *err)
{
	return dir_trusted(be, err);
}

static int op_archive_name(void *be, char *out, size_t outsz)
{
	return dir_state_path(be, ARCHIVE_DIR "/", out, outsz);
}

static int op_ephemeral(void *be, struct gpc_error *why)
{
	return fs_ephemeral(dir_dir(be), why);
}

/* Writers (issue, renew) need the certs directory: said early by check
 * and status, with its owner and mode. */
static int op_unwritable(void *be, struct gpc_error *why)
{
	const char *dir = dir_dir(be);
	struct stat st;

	if (access(dir, W_OK) == 0 || stat(dir, &st) != 0)
		return 0;
	gpc_error_set(why, GPC_E_PERMISSION, "%s: not writable by uid %u (owner uid %u gid %u, mode %04o)", dir,
		      (unsigned)geteuid(), (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
	gpc_error_hint(why, "renewal will fail to write here: run goproxy-cert as the owner, or chown/chmod %s "
			    "(in a container: mount a writable, persistent volume)", dir);
	return 1;
}

static const struct certstore_ops dir_ops = {
	.kind = "dir",
	.free = op_free,
	.describe = op_describe,
	.list = op_list,
	.pair_names = op_pair_names,
	.read_pair = op_read_pair,
	.read_pair_nowait = op_read_pair_nowait,
	.read_files = op_read_files,
	.write_pair = op_write_pair,
	.check_writable = op_check_writable,
	.record_name = op_record_name,
	.record_get = op_record_get,
	.record_put = op_record_put,
	.record_del = op_record_del,
	.record_list = op_record_list,
	.prepare = op_prepare,
	.lock = op_lock,
	.unlock = op_unlock,
	.set_lock_wait = op_set_lock_wait,
	.issuer_lock = op_issuer_lock,
	.issuer_unlock = op_issuer_unlock,
	.watch_open = op_watch_open,
	.watch_read = op_watch_read,
	.watch_close = op_watch_close,
	.presence_set = op_presence_set,
	.presence_clear = op_presence_clear,
	.presence_get = op_presence_get,
	.finish_interrupted = op_finish_interrupted,
	.check_trust = op_check_trust,
	.shared = false,
	.ephemeral = op_ephemeral,
	.unwritable = op_unwritable,
	.archive_name = op_archive_name,
};

static int store_dir_open(const char *dir, struct certstore **out, struct gpc_error *err)
{
	struct store_dir *sd;

	*out = NULL;
	if (dir_open(dir, &sd, err) != 0)
		return -1;
	return certstore_from_backend(&dir_ops, sd, out, err);
}

static int open_from_options(const struct store_options *o, struct certstore **out, struct gpc_error *err)
{
	return store_dir_open(certstore_default_dir(o->dir), out, err);
}

static const char *const no_schemes[] = { NULL };
const struct certstore_backend store_dir_backend = {
	.kind = "dir",
	.schemes = no_schemes,
	.open = open_from_options,
};

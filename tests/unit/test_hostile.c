/* The directory store against what another user may have put in it
 * (issue 25): conversion to the link layout keeps only the running user's
 * own certificate and key files, generations get their modes whatever the
 * umask, records of another user are refused, --lock-wait bounds the
 * store lock's own waits. Cases that chown need root: skipped otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "certstore.h"
#include "fixtures.h"
#include "fsutil.h"

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/gpc-hostile.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	assert_int_equal(chmod(d, 0755), 0);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void put(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Does any regular file under dir (links not followed) contain needle? */
static bool tree_has(const char *dir, const char *needle)
{
	char cmd[PATH_MAX + 128];

	snprintf(cmd, sizeof(cmd), "grep -rqF -- '%s' '%s' 2>/dev/null", needle, dir);
	return system(cmd) == 0;
}

static void make_pem(struct fx_cert *fx)
{
	static const char *const names[] = { "www.example.org", NULL };

	fx_make(fx, GNUTLS_PK_ECDSA, 256, NULL, names, time(NULL) - 60, time(NULL) + 86400, false, NULL);
}

/* The first write onto plain files: what is not the running user's own
 * certificate or key is not copied anywhere (a root-only file linked as
 * cert.crt must not come out 0644 in a generation or the archive). */
static void test_convert_keeps_only_own(void **state)
{
	(void)state;
	char *dir = tmpdir(), p[PATH_MAX], secret[1024], sub[1024];
	struct certstore *cs;
	struct gpc_error e;
	struct fx_cert fx;
	struct stat st;
	mode_t um = umask(0);

	make_pem(&fx);
	gpc_error_clear(&e);
	snprintf(secret, sizeof(secret), "%s.secret", dir);
	put(secret, "TOPSECRET-ROOT-ONLY\n", 0600);
	assert_int_equal(certstore_open(dir, &cs, &e), 0);

	/* links to a file elsewhere */
	snprintf(sub, sizeof(sub), "%s/lnk", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(p, sizeof(p), "%s/cert.crt", sub);
	assert_int_equal(symlink(secret, p), 0);
	snprintf(p, sizeof(p), "%s/priv.key", sub);
	assert_int_equal(symlink(secret, p), 0);
	assert_int_equal(certstore_lock(cs, true, 5, &e), 0);
	assert_int_equal(certstore_write_pair(cs, "lnk", fx.cert_pem, strlen(fx.cert_pem), fx.key_pem,
					      strlen(fx.key_pem), &e), 0);
	/* a certificate file holding a key block too, and plain text */
	snprintf(sub, sizeof(sub), "%s/mixed", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	{
		char both[16384];
		snprintf(both, sizeof(both), "%s%s", fx.cert_pem, fx.key_pem);
		snprintf(p, sizeof(p), "%s/cert.crt", sub);
		put(p, both, 0644);
		snprintf(p, sizeof(p), "%s/priv.key", sub);
		put(p, "TOPSECRET-NOT-A-KEY\n", 0600);
	}
	assert_int_equal(certstore_write_pair(cs, "mixed", fx.cert_pem, strlen(fx.cert_pem), fx.key_pem,
					      strlen(fx.key_pem), &e), 0);
	certstore_unlock(cs);

	assert_false(tree_has(dir, "TOPSECRET"));
	/* the key block of the mixed file went nowhere readable: only 0600 files hold a key */
	{
		char cmd[PATH_MAX * 2];
		snprintf(cmd, sizeof(cmd), "find '%s' -type f -perm /044 -exec grep -l 'PRIVATE KEY' {} + "
			 "2>/dev/null | grep -q .", dir);
		assert_int_not_equal(system(cmd), 0);
	}
	/* the secret itself untouched */
	assert_int_equal(stat(secret, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* generations: 0755 with the key 0600, whatever the umask */
	snprintf(p, sizeof(p), "%s/lnk/..data/priv.key", dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(p, sizeof(p), "%s/lnk/..data/", dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);

	certstore_free(cs);
	umask(um);
	unlink(secret);
	rm_rf(dir);
	free(dir);
	fx_free(&fx);
}

/* Plain files another user owns are not kept either; a record another
 * user owns is refused naming its owner. */
static void test_foreign_owner(void **state)
{
	(void)state;
	char *dir, p[PATH_MAX], sub[1024];
	struct certstore *cs;
	struct gpc_error e;
	struct fx_cert fx;
	struct buf b;
	uint64_t rev;

	if (geteuid() != 0)
		skip();
	dir = tmpdir();
	make_pem(&fx);
	gpc_error_clear(&e);
	assert_int_equal(certstore_open(dir, &cs, &e), 0);
	snprintf(sub, sizeof(sub), "%s/foreign", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(p, sizeof(p), "%s/cert.crt", sub);
	put(p, fx.cert_pem, 0644);
	assert_int_equal(chown(p, 65534, 65534), 0);
	snprintf(p, sizeof(p), "%s/priv.key", sub);
	put(p, fx.key_pem, 0600);
	assert_int_equal(chown(p, 65534, 65534), 0);
	assert_int_equal(certstore_lock(cs, true, 5, &e), 0);
	assert_int_equal(certstore_write_pair(cs, "foreign", "CERT", 4, "KEY", 3, &e), 0);
	certstore_unlock(cs);
	assert_int_equal(certstore_state_path(cs, "archive/foreign", p, sizeof(p)), 0);
	assert_int_equal(access(p, F_OK), -1); /* nothing archived: nothing kept */

	/* a lineage file 65534 owns in root's .state */
	assert_int_equal(certstore_state_path(cs, "lineages", p, sizeof(p)), 0);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(certstore_state_path(cs, "lineages/x.json", p, sizeof(p)), 0);
	put(p, "{\"names\":[\"x.example\"],\"deploy_hook\":\"/tmp/evil\"}", 0600);
	assert_int_equal(chown(p, 65534, 65534), 0);
	buf_init(&b, 65536);
	assert_int_equal(certstore_record_get(cs, "lineages/x.json", 65536, &b, &rev, &e), -1);
	assert_string_equal(e.code, FS_E_UNTRUSTED);
	assert_non_null(strstr(e.message, "owned by uid 65534"));
	assert_non_null(strstr(e.message, p));
	/* group-writable, our own: refused too */
	assert_int_equal(chown(p, 0, 0), 0);
	assert_int_equal(chmod(p, 0620), 0);
	gpc_error_clear(&e);
	assert_int_equal(certstore_record_get(cs, "lineages/x.json", 65536, &b, &rev, &e), -1);
	assert_non_null(strstr(e.message, "writable by its group"));
	assert_non_null(strstr(e.hint, "chmod go-w"));
	/* a linked record (goproxyd's challenge answers too) */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	gpc_error_clear(&e);
	assert_int_equal(certstore_record_get(cs, "lineages/x.json", 65536, &b, &rev, &e), -1);
	assert_non_null(strstr(e.message, "is a symbolic link"));
	buf_finish(&b);

	certstore_free(cs);
	rm_rf(dir);
	free(dir);
	fx_free(&fx);
}

/* A store lock another process holds: with a bound, the store's own 60-s
 * wait (a compare-and-swap record write) ends after the bound. */
static void test_lock_wait_bound(void **state)
{
	(void)state;
	char *dir = tmpdir(), lock[PATH_MAX];
	struct certstore *cs;
	struct gpc_error e;
	struct timespec t0, t1;
	int pfd[2], fd;
	pid_t pid;
	char c;

	gpc_error_clear(&e);
	assert_int_equal(certstore_open(dir, &cs, &e), 0);
	assert_int_equal(certstore_state_mkdir(cs, NULL, &e), 0);
	assert_int_equal(certstore_state_path(cs, "lock", lock, sizeof(lock)), 0);
	put(lock, "", 0600);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(lock, O_RDWR);
		if (fd < 0 || flock(fd, LOCK_EX) != 0)
			_exit(1);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		sleep(10); /* never outlives a failed test for long */
		_exit(0);
	}
	assert_int_equal(read(pfd[0], &c, 1), 1);
	certstore_set_lock_wait(cs, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(certstore_record_put(cs, "ledger.json", "{}", 2, 0, &e), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(e.code, GPC_E_LOCKED);
	assert_true(t1.tv_sec - t0.tv_sec <= 3);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(pfd[0]);
	close(pfd[1]);
	certstore_free(cs);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_convert_keeps_only_own),
		cmocka_unit_test(test_foreign_owner),
		cmocka_unit_test(test_lock_wait_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

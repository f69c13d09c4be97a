/* certstore_read_files: the directory backend's optional operation that
 * check and status read a pair through (lib/report/judge.c): each file on
 * its own, with its mode, a missing file told from a dangling link, and a
 * pending interrupted write. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certstore.h"

static char dir[64];

static void put(const char *rel, const char *text, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/gpc-unit-rf-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Read `name` file by file; returns what certstore_read_files returned. */
static int read_files(const char *name, struct buf *c, struct buf *k, struct certstore_files *f)
{
	struct certstore *cs = NULL;
	struct gpc_error e;
	int rc;

	gpc_error_clear(&e);
	assert_int_equal(certstore_open(dir, &cs, &e), 0);
	buf_init(c, CERTSTORE_MAX_FILE);
	buf_init(k, CERTSTORE_MAX_FILE);
	rc = certstore_read_files(cs, name, c, k, f);
	certstore_free(cs);
	return rc;
}

static void test_both_files(void **state)
{
	struct buf c, k;
	struct certstore_files f;

	(void)state;
	put("cert.crt", "CERT\n", 0644);
	put("priv.key", "KEY\n", 0640);
	assert_int_equal(read_files(CERTSTORE_DEFAULT, &c, &k, &f), 1);
	assert_null(f.cert_err.code);
	assert_null(f.key_err.code);
	assert_string_equal(c.data, "CERT\n");
	assert_string_equal(k.data, "KEY\n");
	assert_int_equal(f.cert_mode, 0644);
	assert_int_equal(f.key_mode, 0640);
	assert_false(f.interrupted);
	buf_finish(&c);
	buf_finish(&k);
}

/* One unreadable file does not hide the other: the certificate is read
 * while the key name is a link to nothing (not "absent": a link is there). */
static void test_dangling_key(void **state)
{
	char path[256];
	struct buf c, k;
	struct certstore_files f;

	(void)state;
	assert_int_equal(mkdir(strcat(strcpy(path, dir), "/www"), 0755), 0);
	put("www/cert.crt", "CERT\n", 0644);
	strcat(path, "/priv.key");
	assert_int_equal(symlink("/nonexistent/key.pem", path), 0);
	assert_int_equal(read_files("www", &c, &k, &f), 1);
	assert_null(f.cert_err.code);
	assert_string_equal(c.data, "CERT\n");
	assert_non_null(f.key_err.code);
	assert_int_equal(f.key_err.sys_errno, ENOENT);
	assert_false(f.key_absent);
	assert_non_null(strstr(f.key_err.hint, "is a symbolic link to /nonexistent/key.pem"));
	assert_int_equal(f.key_mode, -1);
	buf_finish(&c);
	buf_finish(&k);
}

/* Nothing at either name: both absent (check's one not-found problem). */
static void test_absent(void **state)
{
	struct buf c, k;
	struct certstore_files f;

	(void)state;
	assert_int_equal(read_files("none", &c, &k, &f), 1);
	assert_true(f.cert_absent);
	assert_true(f.key_absent);
	assert_int_equal(f.cert_err.sys_errno, ENOENT);
	buf_finish(&c);
	buf_finish(&k);
}

/* .state/txn/NAME: an interrupted write is said, with where it is recorded. */
static void test_interrupted(void **state)
{
	char path[256];
	struct buf c, k;
	struct certstore_files f;

	(void)state;
	snprintf(path, sizeof(path), "%s/.state", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	strcat(path, "/txn");
	assert_int_equal(mkdir(path, 0700), 0);
	put(".state/txn/www", "x\n", 0600);
	assert_int_equal(read_files("www", &c, &k, &f), 1);
	assert_true(f.interrupted);
	assert_non_null(strstr(f.interrupted_at, "/.state/txn/www"));
	buf_finish(&c);
	buf_finish(&k);
	assert_int_equal(read_files(CERTSTORE_DEFAULT, &c, &k, &f), 1);
	assert_false(f.interrupted);
	buf_finish(&c);
	buf_finish(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_files),
		cmocka_unit_test(test_dangling_key),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_interrupted),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

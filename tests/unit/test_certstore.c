/* certstore and fsutil: atomic writes, the store lock, write_pair. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "certstore.h"
#include "fixtures.h"
#include "fsutil.h"

static char *mktmp(void)
{
	char tmpl[] = "/tmp/gpc-unit-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void rmrf(const char *path)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* Count entries in dir whose name contains ".tmp-" (stray temp files). */
static int count_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".tmp-") != NULL)
			n++;
	closedir(d);
	return n;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	struct buf b;
	struct gpc_error e;

	buf_init(&b, 1 << 20);
	gpc_error_clear(&e);
	if (fs_read_file(path, 1 << 20, &b, &e) != 0) {
		buf_finish(&b);
		return NULL;
	}
	return buf_take(&b, NULL);
}

static void test_atomic_write(void **state)
{
	char *dir = mktmp();
	char path[4096], bad[4096];
	struct gpc_error e;
	struct stat st;
	char *s;

	(void)state;
	gpc_error_clear(&e);
	snprintf(path, sizeof(path), "%s/f.txt", dir);
	assert_int_equal(fs_write_atomic(path, "one", 3, 0600, &e), 0);
	assert_int_equal(fs_write_atomic(path, "two!", 4, 0640, &e), 0);
	s = slurp(path);
	assert_string_equal(s, "two!");
	free(s);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(count_tmp(dir), 0);

	/* into a missing directory: fails, names the directory, leaves nothing */
	snprintf(bad, sizeof(bad), "%s/nodir/f.txt", dir);
	assert_int_equal(fs_write_atomic(bad, "x", 1, 0600, &e), -1);
	assert_string_equal(e.code, GPC_E_MISSING);
	assert_non_null(strstr(e.message, "nodir"));
	assert_int_equal(count_tmp(dir), 0);

	/* over a directory: rename fails, the temp file is removed */
	snprintf(bad, sizeof(bad), "%s/sub", dir);
	assert_int_equal(mkdir(bad, 0755), 0);
	assert_int_equal(fs_write_atomic(bad, "x", 1, 0600, &e), -1);
	assert_non_null(strstr(e.message, "sub"));
	assert_int_equal(count_tmp(dir), 0);
	rmrf(dir);
	free(dir);
}

static void test_names_and_paths(void **state)
{
	char *dir = mktmp();
	struct certstore *cs;
	struct gpc_error e;
	char c[4096], k[4096];

	(void)state;
	gpc_error_clear(&e);
	assert_true(certstore_valid_name("default"));
	assert_true(certstore_valid_name("www.example.org"));
	assert_true(certstore_valid_name("a_b-c.9"));
	assert_false(certstore_valid_name(""));
	assert_false(certstore_valid_name(".state"));
	assert_false(certstore_valid_name("a/b"));
	assert_false(certstore_valid_name(".."));
	assert_false(certstore_valid_name("*.example.org"));
	assert_false(certstore_valid_name("0123456789012345678901234567890123456789012345678901234567890123456789"));

	assert_int_equal(certstore_open(dir, &cs, &e), 0);
	assert_int_equal(certstore_paths(cs, "default", c, sizeof(c), k, sizeof(k)), 0);
	assert_non_null(strstr(c, "/cert.crt"));
	assert_null(strstr(c, "default"));
	assert_int_equal(certstore_paths(cs, "www", c, sizeof(c), k, sizeof(k)), 0);
	assert_non_null(strstr(c, "/www/cert.crt"));
	assert_non_null(strstr(k, "/www/priv.key"));
	assert_int_equal(certstore_paths(cs, "../x", c, sizeof(c), k, sizeof(k)), -1);
	assert_int_equal(certstore_state_path(cs, "lineages/www.json", c, sizeof(c)), 0);
	assert_non_null(strstr(c, "/.state/lineages/www.json"));
	assert_int_equal(certstore_state_path(cs, "../escape", c, sizeof(c)), -1);
	assert_int_equal(certstore_state_path(cs, "/abs", c, sizeof(c)), -1);
	certstore_free(cs);

	/* a missing directory is an error naming it */
	snprintf(c, sizeof(c), "%s/missing", dir);
	assert_int_equal(certstore_open(c, &cs, &e), -1);
	assert_string_equal(e.code, GPC_E_MISSING);
	assert_non_null(strstr(e.message, "missing"));
	assert_true(e.hint[0] != '\0');
	rmrf(dir);
	free(dir);
}

/* In a child: try to take the lock once; exit 0 if taken, 1 if locked. */
static int child_try_lock(const char *dir, bool exclusive)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct certstore *cs;
		struct gpc_error e;
		int rc;
		gpc_error_clear(&e);
		if (certstore_open(dir, &cs, &e) != 0)
			_exit(3);
		rc = certstore_lock(cs, exclusive, 0, &e);
		if (rc != 0)
			_exit(e.code != NULL && strcmp(e.code, GPC_E_LOCKED) == 0 ? 1 : 2);
		certstore_free(cs);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_lock(void **state)
{
	char *dir = mktmp();
	struct certstore *cs;
	struct gpc_error e;
	char path[4096];
	struct stat st;

	(void)state;
	gpc_error_clear(&e);
	assert_int_equal(certstore_open(dir, &cs, &e), 0);

	/* a shared lock on a fresh store creates nothing */
	assert_int_equal(certstore_lock(cs, false, 0, &e), 0);
	assert_int_equal(certstore_state_path(cs, NULL, path, sizeof(path)), 0);
	assert_int_equal(stat(path, &st), -1);
	certstore_unlock(cs);

	assert_int_equal(certstore_lock(cs, true, 0, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(child_try_lock(dir, true), 1);
	assert_int_equal(child_try_lock(dir, false), 1);
	/* downgrade to shared: other readers get in, writers do not */
	assert_int_equal(certstore_lock(cs, false, 0, &e), 0);
	assert_int_equal(child_try_lock(dir, false), 0);
	assert_int_equal(child_try_lock(dir, true), 1);
	certstore_unlock(cs);
	assert_int_equal(child_try_lock(dir, true), 0);

	/* the locked error names the lock file */
	{
		struct certstore *cs2;
		assert_int_equal(certstore_lock(cs, true, 0, &e), 0);
		assert_int_equal(certstore_open(dir, &cs2, &e), 0);
		assert_int_equal(certstore_lock(cs2, true, 1, &e), -1);
		assert_string_equal(e.code, GPC_E_LOCKED);
		assert_non_null(strstr(e.message, ".state/lock"));
		certstore_free(cs2);
	}
	certstore_free(cs); /* releases */
	assert_int_equal(child_try_lock(dir, true), 0);

	/* a wrong mode on .state is fixed */
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(certstore_open(dir, &cs, &e), 0);
	assert_int_equal(certstore_state_mkdir(cs, "challenges/http-01", &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	certstore_free(cs);
	rmrf(dir);
	free(dir);
}

struct thr_arg {
	struct certstore *cs;
	int wait;
	int rc;
	char code[32];
};

static void *thr_lock(void *p)
{
	struct thr_arg *a = p;
	struct gpc_error e;

	gpc_error_clear(&e);
	a->rc = certstore_lock(a->cs, true, a->wait, &e);
	snprintf(a->code, sizeof(a->code), "%s", e.code ? e.code : "");
	if (a->rc == 0)
		certstore_unlock(a->cs);
	return NULL;
}

/* Threads sharing one store take turns (flock alone would let them all in). */
static void test_lock_threads(void **state)
{
	char *dir = mktmp();
	struct certstore *cs;
	struct gpc_error e;
	struct thr_arg a = { 0 };
	pthread_t t;

	(void)state;
	gpc_error_clear(&e);
	assert_int_equal(certstore_open(dir, &cs, &e), 0);
	assert_int_equal(certstore_lock(cs, true, 0, &e), 0);
	a.cs = cs;
	a.wait = 0;
	assert_int_equal(pthread_create(&t, NULL, thr_lock, &a), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.rc, -1);
	assert_string_equal(a.code, GPC_E_LOCKED);
	/* another thread cannot release it either */
	a.wait = 1;
	assert_int_equal(pthread_create(&t, NULL, thr_lock, &a), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.rc, -1);
	/* still ours: re-taking is a no-op, and the process lock is held */
	assert_int_equal(certstore_lock(cs, true, 0, &e), 0);
	assert_int_equal(child_try_lock(dir, true), 1);
	certstore_unlock(cs);
	a.wait = 0;
	assert_int_equal(pthread_create(&t, NULL, thr_lock, &a), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.rc, 0);
	certstore_free(cs);
	rmrf(dir);
	free(dir);
}

static void test_write_pair(void **state)
{
	char *dir = mktmp();
	struct certstore *cs;
	struct gpc_error e;
	char c[4096], k[4096], sub[4096], arch[4096];
	struct stat st;
	char **names;
	size_t n;
	char *s;
	struct buf bc, bk;

	(void)state;
	gpc_error_clear(&e);
	assert_int_equal(certstore_open(dir, &cs, &e), 0);
	assert_int_equal(certstore_lock(cs, true, 5, &e), 0);

	/* first pair: no archive */
	assert_int_equal(certstore_write_pair(cs, "www", "CERT1", 5, "KEY1", 4, &e), 0);
	assert_int_equal(certstore_paths(cs, "www", c, sizeof(c), k, sizeof(k)), 0);
	s = slurp(c); assert_string_equal(s, "CERT1"); free(s);
	s = slurp(k); assert_string_equal(s, "KEY1"); free(s);
	assert_int_equal(stat(k, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(c, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(certstore_state_path(cs, "archive/www", arch, sizeof(arch)), 0);
	assert_int_equal(count_entries(arch), -1);

	/* second pair: the first one is archived, twice in one second is fine */
	assert_int_equal(certstore_write_pair(cs, "www", "CERT2", 5, "KEY2", 4, &e), 0);
	assert_int_equal(count_entries(arch), 2);
	assert_int_equal(certstore_write_pair(cs, "www", "CERT3", 5, NULL, 0, &e), 0);
	assert_int_equal(count_entries(arch), 4);
	s = slurp(c); assert_string_equal(s, "CERT3"); free(s);
	s = slurp(k); assert_string_equal(s, "KEY2"); free(s); /* key reused */
	snprintf(sub, sizeof(sub), "%s/www", dir);
	assert_int_equal(count_tmp(sub), 0);

	/* default lineage lives at the root */
	assert_int_equal(certstore_write_pair(cs, "default", "CERTD", 5, "KEYD", 4, &e), 0);
	assert_int_equal(certstore_list(cs, &names, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "default");
	assert_string_equal(names[1], "www");
	certstore_names_free(names, n);

	/* read_pair under the lock we hold */
	buf_init(&bc, 1 << 20);
	buf_init(&bk, 1 << 20);
	assert_int_equal(certstore_read_pair(cs, "www", &bc, &bk, &e), 0);
	assert_string_equal(bc.data, "CERT3");
	assert_string_equal(bk.data, "KEY2");
	buf_finish(&bc);
	buf_finish(&bk);

	/* failure before the renames: the archive cannot be written
	 * (archive/www is a file). Nothing changes, no temp file left. */
	{
		char archroot[4096];
		assert_int_equal(certstore_state_path(cs, "archive", archroot, sizeof(archroot)), 0);
		rmrf(archroot);
		assert_int_equal(mkdir(archroot, 0700), 0);
		FILE *f = fopen(arch, "w");
		assert_non_null(f);
		fclose(f);
	}
	assert_int_equal(certstore_write_pair(cs, "www", "CERT4", 5, "KEY4", 4, &e), -1);
	assert_non_null(strstr(e.message, "archive"));
	s = slurp(c); assert_string_equal(s, "CERT3"); free(s);
	s = slurp(k); assert_string_equal(s, "KEY2"); free(s);
	assert_int_equal(count_tmp(sub), 0);

	/* invalid names are refused */
	assert_int_equal(certstore_write_pair(cs, "../x", "C", 1, "K", 1, &e), -1);
	assert_string_equal(e.code, GPC_E_USAGE);
	certstore_free(cs);

	/* read_pair without a lock held takes (and drops) a shared one */
	assert_int_equal(certstore_open(dir, &cs, &e), 0);
	buf_init(&bc, 1 << 20);
	buf_init(&bk, 1 << 20);
	assert_int_equal(certstore_read_pair(cs, "default", &bc, &bk, &e), 0);
	assert_string_equal(bc.data, "CERTD");
	assert_int_equal(certstore_read_pair(cs, "nosuch", &bc, &bk, &e), -1);
	assert_string_equal(e.code, GPC_E_MISSING);
	assert_non_null(strstr(e.message, "nosuch/cert.crt"));
	buf_finish(&bc);
	buf_finish(&bk);
	assert_int_equal(child_try_lock(dir, true), 0);
	certstore_free(cs);
	rmrf(dir);
	free(dir);
}

/* Generation directories ("..2026_...") directly in dir; the last name
 * seen goes to last. */
static int count_gens(const char *dir, char *last, size_t lastsz)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "..", 2) == 0 && de->d_name[2] >= '0' && de->d_name[2] <= '9') {
			n++;
			if (last != NULL)
				snprintf(last, lastsz, "%s", de->d_name);
		}
	closedir(d);
	return n;
}

static void assert_link(const char *path, const char *target)
{
	char t[4096];
	ssize_t n = readlink(path, t, sizeof(t) - 1);

	assert_true(n > 0);
	t[n] = '\0';
	assert_string_equal(t, target);
}

static void put_file(const char *dir, const char *name, const char *data, mode_t mode)
{
	char p[4200];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
}

/* The generation layout: cert.crt and priv.key are relative links through
 * ..data into one generation directory; a write swaps ..data, removes the
 * old generation and archives the old pair; plain files convert. */
static void test_generations(void **state)
{
	char *dir = mktmp();
	struct certstore *cs;
	struct gpc_error e;
	char c[4096], k[4096], sub[4096], arch[4096], p[4500], g1[256], g2[256], t[4200];
	struct stat st;
	char **names;
	size_t n;
	char *s;
	struct buf bc, bk;

	(void)state;
	gpc_error_clear(&e);
	assert_int_equal(certstore_open(dir, &cs, &e), 0);
	assert_int_equal(certstore_lock(cs, true, 5, &e), 0);
	snprintf(sub, sizeof(sub), "%s/www", dir);
	assert_int_equal(certstore_paths(cs, "www", c, sizeof(c), k, sizeof(k)), 0);

	/* first write: links, one generation, key 0600, dir 0755 */
	assert_int_equal(certstore_write_pair(cs, "www", "CERT1", 5, "KEY1", 4, &e), 0);
	assert_link(c, "..data/cert.crt");
	assert_link(k, "..data/priv.key");
	assert_int_equal(count_gens(sub, g1, sizeof(g1)), 1);
	snprintf(p, sizeof(p), "%s/..data", sub);
	assert_link(p, g1);
	snprintf(p, sizeof(p), "%s/%s", sub, g1);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	snprintf(p, sizeof(p), "%s/%s/priv.key", sub, g1);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	s = slurp(c); assert_string_equal(s, "CERT1"); free(s);
	s = slurp(k); assert_string_equal(s, "KEY1"); free(s);

	/* second write: a new generation, the old one gone, the old pair archived */
	assert_int_equal(certstore_write_pair(cs, "www", "CERT2", 5, "KEY2", 4, &e), 0);
	assert_int_equal(count_gens(sub, g2, sizeof(g2)), 1);
	assert_string_not_equal(g1, g2);
	snprintf(p, sizeof(p), "%s/..data", sub);
	assert_link(p, g2);
	s = slurp(c); assert_string_equal(s, "CERT2"); free(s);
	s = slurp(k); assert_string_equal(s, "KEY2"); free(s);
	assert_int_equal(certstore_state_path(cs, "archive/www", arch, sizeof(arch)), 0);
	assert_int_equal(count_entries(arch), 2);
	snprintf(p, sizeof(p), "%s/..data_tmp", sub);
	assert_int_equal(lstat(p, &st), -1);

	/* --reuse-key: the key comes along into the new generation */
	assert_int_equal(certstore_write_pair(cs, "www", "CERT3", 5, NULL, 0, &e), 0);
	s = slurp(k); assert_string_equal(s, "KEY2"); free(s);
	assert_int_equal(count_gens(sub, NULL, 0), 1);

	/* default lineage: the same layout at the top; no generation is a lineage */
	assert_int_equal(certstore_write_pair(cs, "default", "CERTD", 5, "KEYD", 4, &e), 0);
	assert_int_equal(certstore_write_pair(cs, "default", "CERTE", 5, "KEYE", 4, &e), 0);
	snprintf(p, sizeof(p), "%s/cert.crt", dir);
	assert_link(p, "..data/cert.crt");
	assert_int_equal(count_gens(dir, NULL, 0), 1);
	assert_int_equal(certstore_list(cs, &names, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "default");
	assert_string_equal(names[1], "www");
	certstore_names_free(names, n);

	/* plain files (by hand, GoDoxy, an older goproxy-cert) convert; the old
	 * plain pair is archived */
	/* (only what parses as a certificate chain / private key is kept) */
	struct fx_cert fx;
	static const char *const fx_names[] = { "conv.example.org", NULL };
	fx_make(&fx, GNUTLS_PK_ECDSA, 256, NULL, fx_names, time(NULL) - 60, time(NULL) + 86400, false, NULL);
	snprintf(sub, sizeof(sub), "%s/conv", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	put_file(sub, "cert.crt", fx.cert_pem, 0644);
	put_file(sub, "priv.key", fx.key_pem, 0600);
	assert_int_equal(certstore_paths(cs, "conv", c, sizeof(c), k, sizeof(k)), 0);
	assert_int_equal(certstore_write_pair(cs, "conv", "CERTQ", 5, "KEYQ", 4, &e), 0);
	assert_link(c, "..data/cert.crt");
	assert_link(k, "..data/priv.key");
	s = slurp(c); assert_string_equal(s, "CERTQ"); free(s);
	s = slurp(k); assert_string_equal(s, "KEYQ"); free(s);
	assert_int_equal(count_gens(sub, NULL, 0), 1);
	assert_int_equal(certstore_state_path(cs, "archive/conv", arch, sizeof(arch)), 0);
	assert_int_equal(count_entries(arch), 2);
	{
		DIR *d = opendir(arch);
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strstr(de->d_name, ".key") == NULL)
				continue;
			snprintf(p, sizeof(p), "%s/%s", arch, de->d_name);
			s = slurp(p); assert_string_equal(s, fx.key_pem); free(s);
		}
		closedir(d);
	}
	fx_free(&fx);

	/* a conversion killed half way: priv.key already a link into G0,
	 * cert.crt still plain, same pair; the next write finishes it */
	snprintf(p, sizeof(p), "%s/cert.crt", sub);
	assert_int_equal(unlink(p), 0);
	put_file(sub, "cert.crt", "CERTQ", 0644);
	assert_int_equal(certstore_write_pair(cs, "conv", "CERTR", 5, "KEYR", 4, &e), 0);
	assert_link(c, "..data/cert.crt");
	s = slurp(c); assert_string_equal(s, "CERTR"); free(s);
	s = slurp(k); assert_string_equal(s, "KEYR"); free(s);
	assert_int_equal(count_gens(sub, NULL, 0), 1);

	/* a half pair on disk (only the certificate): the key link appears */
	snprintf(sub, sizeof(sub), "%s/half", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	put_file(sub, "cert.crt", "CERTH", 0644);
	assert_int_equal(certstore_paths(cs, "half", c, sizeof(c), k, sizeof(k)), 0);
	assert_int_equal(certstore_write_pair(cs, "half", "CERTI", 5, "KEYI", 4, &e), 0);
	s = slurp(c); assert_string_equal(s, "CERTI"); free(s);
	s = slurp(k); assert_string_equal(s, "KEYI"); free(s);
	assert_link(k, "..data/priv.key");

	/* strays of a killed writer: a staged generation and a temp link are
	 * removed by the next writer; the current generation stays */
	snprintf(sub, sizeof(sub), "%s/www", dir);
	assert_int_equal(count_gens(sub, g1, sizeof(g1)), 1);
	snprintf(p, sizeof(p), "%s/..2020_01_01T00_00_00.000000000", sub);
	assert_int_equal(mkdir(p, 0755), 0);
	put_file(p, "cert.crt", "STRAY", 0644);
	snprintf(p, sizeof(p), "%s/..data_tmp", sub);
	assert_int_equal(symlink("..2020_01_01T00_00_00.000000000", p), 0);
	assert_int_equal(count_gens(sub, NULL, 0), 2);
	certstore_unlock(cs);
	/* readers ignore them */
	buf_init(&bc, 1 << 20);
	buf_init(&bk, 1 << 20);
	assert_int_equal(certstore_read_pair(cs, "www", &bc, &bk, &e), 0);
	assert_string_equal(bc.data, "CERT3");
	assert_string_equal(bk.data, "KEY2");
	buf_finish(&bc);
	buf_finish(&bk);
	assert_int_equal(certstore_lock(cs, true, 5, &e), 0);
	assert_int_equal(count_gens(sub, g2, sizeof(g2)), 1);
	assert_string_equal(g1, g2);
	assert_int_equal(lstat(p, &st), -1);

	/* a user's own link is replaced by ours like a plain file; its target
	 * is left alone */
	snprintf(p, sizeof(p), "%s/elsewhere.crt", dir);
	put_file(dir, "elsewhere.crt", "CERTX", 0644);
	snprintf(sub, sizeof(sub), "%s/ln", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(t, sizeof(t), "%s/cert.crt", sub);
	assert_int_equal(symlink("../elsewhere.crt", t), 0);
	put_file(sub, "priv.key", "KEYX", 0600);
	assert_int_equal(certstore_write_pair(cs, "ln", "CERTY", 5, "KEYY", 4, &e), 0);
	assert_link(t, "..data/cert.crt");
	s = slurp(t); assert_string_equal(s, "CERTY"); free(s);
	s = slurp(p); assert_string_equal(s, "CERTX"); free(s);

	certstore_free(cs);
	rmrf(dir);
	free(dir);
}

static void test_state_files(void **state)
{
	char *dir = mktmp();
	struct certstore *cs;
	struct gpc_error e;
	struct buf b;
	char p[4096];
	struct stat st;

	(void)state;
	gpc_error_clear(&e);
	assert_int_equal(certstore_open(dir, &cs, &e), 0);
	buf_init(&b, 4096);
	assert_int_equal(certstore_state_read(cs, "lineages/www.json", 4096, &b, &e), -1);
	assert_string_equal(e.code, GPC_E_MISSING);
	assert_int_equal(certstore_state_write(cs, "lineages/www.json", "{}", 2, &e), 0);
	assert_int_equal(certstore_state_read(cs, "lineages/www.json", 4096, &b, &e), 0);
	assert_string_equal(b.data, "{}");
	assert_int_equal(certstore_state_path(cs, "lineages/www.json", p, sizeof(p)), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(certstore_state_path(cs, "lineages", p, sizeof(p)), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(count_tmp(p), 0);
	assert_int_equal(certstore_state_write(cs, "ledger.json", "[]", 2, &e), 0);
	assert_int_equal(certstore_state_remove(cs, "lineages/www.json", &e), 0);
	assert_int_equal(certstore_state_remove(cs, "lineages/www.json", &e), 0);
	assert_int_equal(certstore_state_write(cs, "../x", "1", 1, &e), -1);
	buf_finish(&b);
	certstore_free(cs);
	rmrf(dir);
	free(dir);
}

/* Legacy: an older goproxy-cert killed between its renames (or before them)
 * left a record in .state/txn; the next exclusive lock finishes or undoes
 * that write so that key and certificate belong together, and removes stray
 * temporary files. */
static void put(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static void test_recover(void **state)
{
	char *dir = mktmp();
	struct certstore *cs;
	struct gpc_error e;
	char c[4096], k[4096], sub[4096], txn[4096], ct[4200], kt[4200], rec[9000];
	char *s;

	(void)state;
	gpc_error_clear(&e);
	assert_int_equal(certstore_open(dir, &cs, &e), 0);
	assert_int_equal(certstore_lock(cs, true, 5, &e), 0);
	assert_int_equal(certstore_write_pair(cs, "www", "CERT1", 5, "KEY1", 4, &e), 0);
	certstore_unlock(cs);
	assert_int_equal(certstore_paths(cs, "www", c, sizeof(c), k, sizeof(k)), 0);
	assert_int_equal(certstore_state_path(cs, "txn", txn, sizeof(txn)), 0);
	mkdir(txn, 0700);
	snprintf(sub, sizeof(sub), "%s/www", dir);

	/* killed between the renames: new key in place, new cert staged */
	snprintf(ct, sizeof(ct), "%s.tmp-AAAAAA", c);
	put(ct, "CERT2");
	put(k, "KEY2");
	snprintf(rec, sizeof(rec), "%s.tmp-BBBBBB\n%s\n", k, ct);
	snprintf(txn + strlen(txn), sizeof(txn) - strlen(txn), "/www");
	put(txn, rec);
	{
		/* readers see the pair as it will be, before any writer ran */
		struct buf bc, bk;
		buf_init(&bc, 1 << 20);
		buf_init(&bk, 1 << 20);
		assert_int_equal(certstore_read_pair(cs, "www", &bc, &bk, &e), 0);
		assert_string_equal(bc.data, "CERT2");
		assert_string_equal(bk.data, "KEY2");
		buf_finish(&bc);
		buf_finish(&bk);
	}
	assert_int_equal(certstore_lock(cs, true, 5, &e), 0);
	certstore_unlock(cs);
	s = slurp(c); assert_string_equal(s, "CERT2"); free(s);
	s = slurp(k); assert_string_equal(s, "KEY2"); free(s);
	assert_int_equal(access(txn, F_OK), -1);
	assert_int_equal(count_tmp(sub), 0);

	/* killed before the first rename: both staged, old pair intact */
	snprintf(ct, sizeof(ct), "%s.tmp-CCCCCC", c);
	snprintf(kt, sizeof(kt), "%s.tmp-DDDDDD", k);
	put(ct, "CERT3");
	put(kt, "KEY3");
	snprintf(rec, sizeof(rec), "%s\n%s\n", kt, ct);
	put(txn, rec);
	/* and a stray from a writer killed while staging, with no record */
	snprintf(kt, sizeof(kt), "%s.tmp-EEEEEE", k);
	put(kt, "KEY4");
	assert_int_equal(certstore_lock(cs, true, 5, &e), 0);
	certstore_unlock(cs);
	s = slurp(c); assert_string_equal(s, "CERT2"); free(s);
	s = slurp(k); assert_string_equal(s, "KEY2"); free(s);
	assert_int_equal(access(txn, F_OK), -1);
	assert_int_equal(count_tmp(sub), 0);

	/* a record pointing outside the lineage is ignored, never followed */
	snprintf(ct, sizeof(ct), "%s/victim", dir);
	put(ct, "DATA");
	snprintf(rec, sizeof(rec), "%s\n%s\n", ct, ct);
	put(txn, rec);
	assert_int_equal(certstore_lock(cs, true, 5, &e), 0);
	certstore_unlock(cs);
	s = slurp(ct); assert_string_equal(s, "DATA"); free(s);
	s = slurp(c); assert_string_equal(s, "CERT2"); free(s);

	certstore_free(cs);
	rmrf(dir);
	free(dir);
}

/* Temp files of killed writers are removed; those of live writers and
 * files that merely look alike are kept. */
static void test_stale_temps(void **state)
{
	char *dir = mktmp();
	char p[4400], sub[4200];
	pid_t dead;
	int st;

	(void)state;
	dead = fork();
	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, &st, 0), dead);
	snprintf(sub, sizeof(sub), "%s/lineages", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(p, sizeof(p), "%s/ledger.json.tmp-%ld-AbCdEf", dir, (long)dead);
	put(p, "x");
	snprintf(p, sizeof(p), "%s/www.json.tmp-%ld-AbCdEf", sub, (long)dead);
	put(p, "x");
	snprintf(p, sizeof(p), "%s/ledger.json.tmp-%ld-XyZxYz", dir, (long)getppid());
	put(p, "alive");
	snprintf(p, sizeof(p), "%s/notes.tmp-abc", dir);
	put(p, "not ours");
	assert_int_equal(fs_remove_stale_temps(dir, 3), 2);
	assert_int_equal(count_tmp(dir), 2);
	assert_int_equal(count_tmp(sub), 0);
	rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_names_and_paths),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_lock_threads),
		cmocka_unit_test(test_write_pair),
		cmocka_unit_test(test_generations),
		cmocka_unit_test(test_recover),
		cmocka_unit_test(test_stale_temps),
		cmocka_unit_test(test_state_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* store_cache: goproxyd's local copy of a store's pairs. Round trip with
 * modes (0700 directory, 0600 files), only changed files rewritten, a pair
 * the store lost removed, an empty cache (GPC_E_MISSING), a broken index
 * (GPC_E_INVALID), a missing pair file (an entry with why), a name in the
 * index that would leave the directory (ignored), a loose directory mode
 * fixed, stale temp files removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_cache.h"

struct fx {
	char base[64];
	char dir[128];
	struct store_cache *c;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct gpc_error e = { 0 };

	snprintf(f->base, sizeof(f->base), "/tmp/test_store_cache.XXXXXX");
	if (mkdtemp(f->base) == NULL)
		return -1;
	/* a parent that does not exist yet */
	snprintf(f->dir, sizeof(f->dir), "%s/state/cache", f->base);
	if (store_cache_open(f->dir, &f->c, &e) != 0) {
		fprintf(stderr, "setup: %s\n", e.message);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	store_cache_free(f->c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->base);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct store_cache_entry entry(const char *name, const char *value)
{
	struct store_cache_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "%s", name);
	e.value = (unsigned char *)value;
	e.len = strlen(value);
	return e;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void write_file(const char *path, const char *s)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(s, fp);
	fclose(fp);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct store_cache_entry e[2] = { entry("default", "{\"v\":1,\"cert\":\"A\",\"key\":\"S1\"}"),
					  entry("www", "{\"v\":1,\"cert\":\"B\",\"key\":\"S2\"}") };
	struct store_cache_set s;
	struct gpc_error err = { 0 };
	char p[256], parent[192];
	time_t before = time(NULL);

	assert_int_equal(store_cache_save(f->c, "etcd://h:1/p", "/p", 42, e, 2, &err), 0);
	assert_int_equal(mode_of(f->dir), 0700);
	snprintf(parent, sizeof(parent), "%s/state", f->base);
	assert_int_equal(mode_of(parent), 0755);
	snprintf(p, sizeof(p), "%s/www.pair", f->dir);
	assert_int_equal(mode_of(p), 0600);
	snprintf(p, sizeof(p), "%s/index.json", f->dir);
	assert_int_equal(mode_of(p), 0600);

	assert_int_equal(store_cache_load(f->c, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.store, "etcd://h:1/p");
	assert_string_equal(s.prefix, "/p");
	assert_int_equal(s.revision, 42);
	assert_true(s.read_at >= before - 1 && s.read_at <= time(NULL) + 1);
	assert_string_equal(s.e[0].name, "default");
	assert_string_equal((char *)s.e[1].value, (char *)e[1].value);
	assert_int_equal(s.e[1].len, e[1].len);
	store_cache_set_finish(&s);
}

static void test_changes(void **state)
{
	struct fx *f = *state;
	struct store_cache_entry e[2] = { entry("a", "one"), entry("b", "two") };
	struct store_cache_set s;
	struct gpc_error err = { 0 };
	struct stat st1, st2;
	char pa[256], pb[256];

	snprintf(pa, sizeof(pa), "%s/a.pair", f->dir);
	snprintf(pb, sizeof(pb), "%s/b.pair", f->dir);
	assert_int_equal(store_cache_save(f->c, "u", "/p", 1, e, 2, &err), 0);
	assert_int_equal(stat(pa, &st1), 0);
	/* a unchanged: not rewritten (same inode); b changed; then b gone */
	e[1] = entry("b", "three");
	assert_int_equal(store_cache_save(f->c, "u", "/p", 2, e, 2, &err), 0);
	assert_int_equal(stat(pa, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(store_cache_save(f->c, "u", "/p", 3, e, 1, &err), 0);
	assert_int_not_equal(access(pb, F_OK), 0);
	assert_int_equal(store_cache_load(f->c, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.revision, 3);
	store_cache_set_finish(&s);
	/* an invalid name is refused, nothing written for it */
	e[0] = entry("../x", "evil");
	assert_int_equal(store_cache_save(f->c, "u", "/p", 4, e, 1, &err), -1);
	assert_string_equal(err.code, GPC_E_INVALID);
}

static void test_empty_and_broken(void **state)
{
	struct fx *f = *state;
	struct store_cache_entry e[1] = { entry("a", "one") };
	struct store_cache_set s;
	struct gpc_error err = { 0 };
	char p[256];

	assert_int_equal(store_cache_load(f->c, &s, &err), -1);
	assert_string_equal(err.code, GPC_E_MISSING);

	snprintf(p, sizeof(p), "%s/index.json", f->dir);
	write_file(p, "{\"v\":2}");
	assert_int_equal(store_cache_load(f->c, &s, &err), -1);
	assert_string_equal(err.code, GPC_E_INVALID);
	assert_non_null(strstr(err.message, "index.json"));

	/* a pair file gone: an entry with why; a name leaving the directory:
	 * ignored */
	assert_int_equal(store_cache_save(f->c, "u", "/p", 1, e, 1, &err), 0);
	snprintf(p, sizeof(p), "%s/a.pair", f->dir);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/index.json", f->dir);
	write_file(p, "{\"v\":1,\"store\":\"u\",\"prefix\":\"/p\",\"pairs\":[\"a\",\"../../etc/passwd\",7]}");
	assert_int_equal(store_cache_load(f->c, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_null(s.e[0].value);
	assert_non_null(strstr(s.e[0].why, "a.pair"));
	store_cache_set_finish(&s);
}

static void test_open_fixes(void **state)
{
	struct fx *f = *state;
	struct store_cache *c2 = NULL;
	struct gpc_error err = { 0 };
	char tmp[256], file[256];

	/* a loose mode set back, a killed writer's temp file removed */
	assert_int_equal(chmod(f->dir, 0755), 0);
	snprintf(tmp, sizeof(tmp), "%s/a.pair.tmp-999999999-ABCDEF", f->dir);
	write_file(tmp, "x");
	assert_int_equal(store_cache_open(f->dir, &c2, &err), 0);
	assert_int_equal(mode_of(f->dir), 0700);
	assert_int_not_equal(access(tmp, F_OK), 0);
	store_cache_free(c2);
	/* not a directory */
	snprintf(file, sizeof(file), "%s/file", f->base);
	write_file(file, "x");
	assert_int_equal(store_cache_open(file, &c2, &err), -1);
	assert_string_equal(err.code, GPC_E_USAGE);
	assert_non_null(strstr(err.message, file));
	assert_true(err.hint[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_broken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_fixes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* seal: sealed private keys for a shared store. Round trip, another key,
 * every byte of an envelope flipped, a name swapped, key files of the wrong
 * mode, owner, size or kind, generate never overwriting. */
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

#include "buf.h"
#include "seal.h"

static const char pem[] = "-----BEGIN PRIVATE KEY-----\n"
			  "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n"
			  "-----END PRIVATE KEY-----\n";

struct fx {
	char dir[64];
	char path_a[128], path_b[128];
	struct seal_key *a, *b;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct gpc_error e = { 0 };

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_seal.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path_a, sizeof(f->path_a), "%s/a.key", f->dir);
	snprintf(f->path_b, sizeof(f->path_b), "%s/b.key", f->dir);
	if (seal_key_generate(f->path_a, &e) < 0 || seal_key_generate(f->path_b, &e) < 0 ||
	    seal_key_load(f->path_a, &f->a, &e) < 0 || seal_key_load(f->path_b, &f->b, &e) < 0) {
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

	seal_key_free(f->a);
	seal_key_free(f->b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void seal_into(const struct seal_key *k, const char *name, struct buf *out)
{
	struct gpc_error e = { 0 };

	buf_init(out, 1 << 20);
	assert_int_equal(seal_seal(k, name, pem, sizeof(pem) - 1, out, &e), 0);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct gpc_error e = { 0 };
	struct buf s1, s2, p;

	seal_into(f->a, "www", &s1);
	seal_into(f->a, "www", &s2);
	assert_int_equal(s1.len, sizeof(pem) - 1 + SEAL_OVERHEAD);
	assert_true(seal_is_sealed(s1.data, s1.len));
	assert_false(seal_is_sealed(pem, sizeof(pem) - 1));
	/* no plaintext in the envelope, and a fresh nonce each time */
	assert_null(memmem(s1.data, s1.len, "PRIVATE KEY", 11));
	assert_memory_not_equal(s1.data, s2.data, s1.len);
	buf_init(&p, 1 << 20);
	assert_int_equal(seal_open(f->a, "www", s1.data, s1.len, &p, &e), 0);
	assert_int_equal(p.len, sizeof(pem) - 1);
	assert_memory_equal(p.data, pem, p.len);
	buf_reset(&p);
	/* an empty plaintext seals too */
	buf_reset(&s2);
	assert_int_equal(seal_seal(f->a, "default", "", 0, &s2, &e), 0);
	assert_int_equal(seal_open(f->a, "default", s2.data, s2.len, &p, &e), 0);
	assert_int_equal(p.len, 0);
	buf_finish(&s1);
	buf_finish(&s2);
	buf_finish(&p);
}

static void test_wrong_key(void **state)
{
	struct fx *f = *state;
	struct gpc_error e = { 0 };
	struct buf s, p;

	seal_into(f->a, "www", &s);
	buf_init(&p, 1 << 20);
	assert_int_equal(seal_open(f->b, "www", s.data, s.len, &p, &e), -1);
	assert_string_equal(e.code, GPC_E_INVALID);
	assert_non_null(strstr(e.message, "another seal key"));
	assert_non_null(strstr(e.message, seal_key_id(f->b)));
	assert_non_null(strstr(e.message, seal_key_id(f->a)));
	assert_non_null(strstr(e.hint, "same seal key"));
	assert_int_equal(p.len, 0);
	/* the key id in the header is authenticated too: a forged id still fails */
	memcpy(s.data + 6, "\0\0\0\0", 4);
	memset(&e, 0, sizeof(e));
	assert_int_equal(seal_open(f->a, "www", s.data, s.len, &p, &e), -1);
	buf_finish(&s);
	buf_finish(&p);
}

static void test_tampered(void **state)
{
	struct fx *f = *state;
	struct buf s, p;

	seal_into(f->a, "www", &s);
	buf_init(&p, 1 << 20);
	/* every single byte flipped, every truncation: refused, nothing out */
	for (size_t i = 0; i < s.len; i++) {
		struct gpc_error e = { 0 };

		s.data[i] ^= 0x01;
		assert_int_equal(seal_open(f->a, "www", s.data, s.len, &p, &e), -1);
		assert_non_null(e.code);
		assert_int_equal(p.len, 0);
		s.data[i] ^= 0x01;
	}
	for (size_t n = 0; n < s.len; n++) {
		struct gpc_error e = { 0 };
		assert_int_equal(seal_open(f->a, "www", s.data, n, &p, &e), -1);
		assert_int_equal(p.len, 0);
	}
	{
		struct gpc_error e = { 0 };
		s.data[s.len - 1] ^= 0x80;
		assert_int_equal(seal_open(f->a, "www", s.data, s.len, &p, &e), -1);
		assert_non_null(strstr(e.message, "authentication failed"));
	}
	buf_finish(&s);
	buf_finish(&p);
}

static void test_swapped_name(void **state)
{
	struct fx *f = *state;
	struct gpc_error e = { 0 };
	struct buf s, p;

	seal_into(f->a, "www", &s);
	buf_init(&p, 1 << 20);
	assert_int_equal(seal_open(f->a, "mail", s.data, s.len, &p, &e), -1);
	assert_non_null(strstr(e.message, "'mail'"));
	assert_non_null(strstr(e.message, "another lineage"));
	assert_int_equal(seal_open(f->a, "ww", s.data, s.len, &p, &e), -1);
	assert_int_equal(seal_open(f->a, "www.", s.data, s.len, &p, &e), -1);
	assert_int_equal(p.len, 0);
	assert_int_equal(seal_open(f->a, "www", s.data, s.len, &p, &e), 0);
	buf_finish(&s);
	buf_finish(&p);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE *fp;

	unlink(path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_key_file(void **state)
{
	struct fx *f = *state;
	struct gpc_error e = { 0 };
	struct seal_key *k = NULL;
	char path[160], link[160];
	unsigned char raw[SEAL_KEY_LEN];

	snprintf(path, sizeof(path), "%s/k", f->dir);
	/* raw 32 bytes, mode 0600 and 0400: accepted */
	memset(raw, 7, sizeof(raw));
	write_file(path, raw, sizeof(raw), 0600);
	assert_int_equal(seal_key_load(path, &k, &e), 0);
	seal_key_free(k);
	chmod(path, 0400);
	assert_int_equal(seal_key_load(path, &k, &e), 0);
	seal_key_free(k);
	/* readable by the group or others: refused, naming mode and fix */
	chmod(path, 0644);
	assert_int_equal(seal_key_load(path, &k, &e), -1);
	assert_string_equal(e.code, GPC_E_PERMISSION);
	assert_non_null(strstr(e.message, path));
	assert_non_null(strstr(e.message, "0644"));
	assert_non_null(strstr(e.hint, "chmod 600"));
	chmod(path, 0640);
	assert_int_equal(seal_key_load(path, &k, &e), -1);
	/* owned by another user (only root can arrange that) */
	if (geteuid() == 0) {
		chmod(path, 0600);
		assert_int_equal(chown(path, 65534, 65534), 0);
		memset(&e, 0, sizeof(e));
		assert_int_equal(seal_key_load(path, &k, &e), -1);
		assert_string_equal(e.code, GPC_E_PERMISSION);
		assert_non_null(strstr(e.message, "uid 65534"));
	}
	/* wrong sizes and bad base64 */
	write_file(path, raw, 31, 0600);
	assert_int_equal(seal_key_load(path, &k, &e), -1);
	assert_string_equal(e.code, GPC_E_INVALID);
	assert_non_null(strstr(e.message, "32-byte"));
	write_file(path, "not base64 at all!\n", 19, 0600);
	assert_int_equal(seal_key_load(path, &k, &e), -1);
	write_file(path, "", 0, 0600);
	assert_int_equal(seal_key_load(path, &k, &e), -1);
	/* base64 of 32 bytes with spaces around: accepted, same key as raw */
	write_file(path, "  BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n", 47, 0600);
	assert_int_equal(seal_key_load(path, &k, &e), 0);
	{
		struct seal_key *k2 = NULL;
		write_file(path, raw, sizeof(raw), 0600);
		assert_int_equal(seal_key_load(path, &k2, &e), 0);
		assert_string_equal(seal_key_id(k), seal_key_id(k2));
		seal_key_free(k2);
	}
	seal_key_free(k);
	/* missing: the hint says how to make one */
	snprintf(path, sizeof(path), "%s/absent", f->dir);
	assert_int_equal(seal_key_load(path, &k, &e), -1);
	assert_string_equal(e.code, GPC_E_MISSING);
	assert_non_null(strstr(e.hint, "store seal-key"));
	/* a directory, a symbolic link */
	assert_int_equal(seal_key_load(f->dir, &k, &e), -1);
	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink(f->path_a, link), 0);
	assert_int_equal(seal_key_load(link, &k, &e), -1);
}

static void test_generate(void **state)
{
	struct fx *f = *state;
	struct gpc_error e = { 0 };
	struct stat st;
	char path[160];

	/* made 0600, one base64 line; never overwritten */
	assert_int_equal(stat(f->path_a, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 45);
	assert_int_equal(seal_key_generate(f->path_a, &e), -1);
	assert_string_equal(e.code, GPC_E_USAGE);
	assert_non_null(strstr(e.message, "already exists"));
	/* two generated keys differ */
	assert_string_not_equal(seal_key_id(f->a), seal_key_id(f->b));
	/* a directory that does not exist */
	snprintf(path, sizeof(path), "%s/no/such/dir", f->dir);
	memset(&e, 0, sizeof(e));
	assert_int_equal(seal_key_generate(path, &e), -1);
	assert_string_equal(e.code, GPC_E_MISSING);
	/* umask does not loosen it */
	{
		mode_t old = umask(0);
		snprintf(path, sizeof(path), "%s/umask.key", f->dir);
		assert_int_equal(seal_key_generate(path, &e), 0);
		umask(old);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_swapped_name),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_generate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* The store interface proved with a second backend: a small in-memory one
 * written here against certstore_backend.h. The library's own callers
 * (lineage, ledger, the issuer's decision, goproxyd's presence check) run
 * on it unchanged, and the front end's contract holds: revisions change
 * with every write, compare-and-swap refuses a stale revision, keys and
 * names are checked before a backend sees them. It proves the interface,
 * not a product. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certstore_backend.h"
#include "fixtures.h"
#include "issue.h"
#include "ledger.h"
#include "lineage.h"
#include "records.h"

#define MAXE 64

struct ent {
	char *key;
	char *val;
	size_t len;
	uint64_t rev;
};

struct mem {
	struct ent e[MAXE];
	size_t n;
	uint64_t clock;
	int locked, issuer, calls_bad;
	char present[64];
};

static struct ent *find(struct mem *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->e[i].key, key) == 0)
			return &m->e[i];
	return NULL;
}

static int put(struct mem *m, const char *key, const void *data, size_t len, uint64_t expect,
	       struct gpc_error *err)
{
	struct ent *e = find(m, key);

	if (expect != CERTSTORE_REV_ANY && (e ? e->rev : 0) != expect)
		return gpc_error_set(err, GPC_E_CONFLICT, "mem:%s changed", key);
	if (e == NULL) {
		assert_true(m->n < MAXE);
		e = &m->e[m->n++];
		e->key = strdup(key);
	} else {
		free(e->val);
	}
	e->val = malloc(len + 1);
	memcpy(e->val, data, len);
	e->val[len] = '\0';
	e->len = len;
	e->rev = ++m->clock;
	return 0;
}

static int get(struct mem *m, const char *key, size_t max, struct buf *out, uint64_t *rev,
	       struct gpc_error *err)
{
	struct ent *e = find(m, key);

	if (e == NULL)
		return gpc_error_set(err, GPC_E_MISSING, "mem:%s: missing", key);
	if (e->len > max)
		return gpc_error_set(err, GPC_E_INVALID, "mem:%s: too large", key);
	if (rev != NULL)
		*rev = e->rev;
	return buf_add(out, e->val, e->len);
}

static void m_free(void *be)
{
	struct mem *m = be;

	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].key);
		free(m->e[i].val);
	}
	free(m);
}

static const char *m_describe(void *be)
{
	(void)be;
	return "mem:";
}

static int m_list(void *be, char ***names, size_t *n, struct gpc_error *err)
{
	struct mem *m = be;
	char **v = calloc(MAXE, sizeof(*v));

	(void)err;
	for (size_t i = 0; i < m->n; i++) {
		const char *k = m->e[i].key;
		size_t l = strlen(k);
		if (strncmp(k, "pair/", 5) == 0 && l > 10 && strcmp(k + l - 5, "/cert") == 0)
			v[(*n)++] = strndup(k + 5, l - 10);
	}
	*names = v;
	return 0;
}

static int m_pair_names(void *be, const char *name, char *cert, size_t certsz, char *key, size_t keysz)
{
	(void)be;
	snprintf(cert, certsz, "mem:pair/%s/cert", name);
	snprintf(key, keysz, "mem:pair/%s/key", name);
	return 0;
}

static int m_read_pair(void *be, const char *name, struct buf *cert, struct buf *key, uint64_t *rev,
		       struct gpc_error *err)
{
	char c[128], k[128];
	uint64_t r;

	snprintf(c, sizeof(c), "pair/%s/cert", name);
	snprintf(k, sizeof(k), "pair/%s/key", name);
	if (get(be, c, CERTSTORE_MAX_FILE, cert, rev, err) != 0 || get(be, k, CERTSTORE_MAX_FILE, key, &r, err) != 0)
		return -1;
	return 0;
}

static int m_write_pair(void *be, const char *name, const char *cert, size_t cert_len, const char *key,
			size_t key_len, uint64_t expect_rev, struct gpc_error *err)
{
	struct mem *m = be;
	char c[128], k[128];

	if (!m->locked)
		m->calls_bad++; /* the front end's callers hold the lock for writes */
	snprintf(c, sizeof(c), "pair/%s/cert", name);
	snprintf(k, sizeof(k), "pair/%s/key", name);
	if (expect_rev != CERTSTORE_REV_ANY) {
		struct ent *e = find(m, c);
		if ((e ? e->rev : 0) != expect_rev)
			return gpc_error_set(err, GPC_E_CONFLICT, "mem:%s changed", c);
	}
	if (key != NULL && put(m, k, key, key_len, CERTSTORE_REV_ANY, err) != 0)
		return -1;
	return put(m, c, cert, cert_len, CERTSTORE_REV_ANY, err);
}

static int m_check_writable(void *be, const char *name, struct gpc_error *err)
{
	(void)be;
	(void)name;
	(void)err;
	return 0;
}

static int m_record_name(void *be, const char *key, char *out, size_t outsz)
{
	(void)be;
	return snprintf(out, outsz, "mem:%s", key) < (int)outsz ? 0 : -1;
}

static int m_record_get(void *be, const char *key, size_t max, struct buf *out, uint64_t *rev,
			struct gpc_error *err)
{
	return get(be, key, max, out, rev, err);
}

static int m_record_put(void *be, const char *key, const void *data, size_t len, uint64_t expect_rev,
			struct gpc_error *err)
{
	return put(be, key, data, len, expect_rev, err);
}

static int m_record_del(void *be, const char *key, struct gpc_error *err)
{
	struct mem *m = be;
	struct ent *e = find(m, key);

	(void)err;
	if (e != NULL) {
		free(e->key);
		free(e->val);
		*e = m->e[--m->n];
	}
	return 0;
}

static int m_record_list(void *be, const char *prefix, char ***keys, size_t *n, struct gpc_error *err)
{
	struct mem *m = be;
	char **v = calloc(MAXE, sizeof(*v));
	size_t pl = strlen(prefix);

	(void)err;
	for (size_t i = 0; i < m->n; i++)
		if (strncmp(m->e[i].key, prefix, pl) == 0 && strchr(m->e[i].key + pl, '/') == NULL)
			v[(*n)++] = strdup(m->e[i].key);
	*keys = v;
	return 0;
}

static int m_lock(void *be, bool exclusive, int wait_secs, struct gpc_error *err)
{
	(void)exclusive;
	(void)wait_secs;
	(void)err;
	((struct mem *)be)->locked++;
	return 0;
}

static void m_unlock(void *be)
{
	struct mem *m = be;
	if (m->locked > 0)
		m->locked--;
}

static int m_issuer_lock(void *be, const char *what, int wait_secs, bool *waited, struct gpc_error *err)
{
	struct mem *m = be;

	(void)what;
	(void)waited;
	if (m->issuer)
		return gpc_error_set(err, GPC_E_LOCKED, "mem: issuer lock held (waited %d s)", wait_secs);
	m->issuer = 1;
	return 0;
}

static void m_issuer_unlock(void *be)
{
	((struct mem *)be)->issuer = 0;
}

static int m_watch_open(void *be, struct gpc_error *err)
{
	(void)be;
	return gpc_error_set(err, GPC_E_INVALID, "mem: no watch");
}

static unsigned m_watch_read(void *be)
{
	(void)be;
	return 0;
}

static void m_watch_close(void *be)
{
	(void)be;
}

static int m_presence_set(void *be, const char *who, const char *info, struct gpc_error *err)
{
	(void)who;
	(void)err;
	snprintf(((struct mem *)be)->present, 64, "%s", info);
	return 0;
}

static void m_presence_clear(void *be, const char *who)
{
	(void)who;
	((struct mem *)be)->present[0] = '\0';
}

static int m_presence_get(void *be, const char *who, struct buf *info)
{
	struct mem *m = be;

	(void)who;
	if (m->present[0] == '\0')
		return 0;
	return buf_adds(info, m->present) == 0 ? 1 : 0;
}

static const struct certstore_ops mem_ops = {
	.kind = "mem", .free = m_free, .describe = m_describe, .list = m_list, .pair_names = m_pair_names,
	.read_pair = m_read_pair, .write_pair = m_write_pair, .check_writable = m_check_writable,
	.record_name = m_record_name, .record_get = m_record_get, .record_put = m_record_put,
	.record_del = m_record_del, .record_list = m_record_list, .lock = m_lock, .unlock = m_unlock,
	.issuer_lock = m_issuer_lock, .issuer_unlock = m_issuer_unlock, .watch_open = m_watch_open,
	.watch_read = m_watch_read, .watch_close = m_watch_close, .presence_set = m_presence_set,
	.presence_clear = m_presence_clear, .presence_get = m_presence_get,
};

static struct certstore *open_mem(struct mem **mp)
{
	struct certstore *cs;
	struct gpc_error err;
	struct mem *m = calloc(1, sizeof(*m));

	*mp = m;
	assert_int_equal(certstore_from_backend(&mem_ops, m, &cs, &err), 0);
	assert_string_equal(certstore_kind(cs), "mem");
	return cs;
}

/* Records: revisions, compare-and-swap, listing, key checks in the front end. */
static void test_records(void **state)
{
	struct mem *m;
	struct certstore *cs = open_mem(&m);
	struct gpc_error err;
	struct buf b;
	uint64_t r1, r2;
	char **keys;
	size_t n;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(certstore_record_put(cs, "a/x.json", "1", 1, 0, &err), 0); /* 0: must not exist */
	assert_int_equal(certstore_record_put(cs, "a/x.json", "2", 1, 0, &err), -1);
	assert_string_equal(err.code, GPC_E_CONFLICT);
	assert_int_equal(certstore_record_get(cs, "a/x.json", 16, &b, &r1, &err), 0);
	assert_int_equal(certstore_record_put(cs, "a/x.json", "3", 1, r1, &err), 0);
	assert_int_equal(certstore_record_put(cs, "a/x.json", "4", 1, r1, &err), -1); /* stale */
	b.len = 0;
	assert_int_equal(certstore_record_get(cs, "a/x.json", 16, &b, &r2, &err), 0);
	assert_true(r2 != r1);
	assert_memory_equal(b.data, "3", 1);
	assert_int_equal(certstore_record_put(cs, "a/y.json", "5", 1, CERTSTORE_REV_ANY, &err), 0);
	assert_int_equal(certstore_record_put(cs, "a/sub/z", "6", 1, CERTSTORE_REV_ANY, &err), 0);
	assert_int_equal(certstore_record_list(cs, "a/", &keys, &n, &err), 0);
	assert_int_equal(n, 2);
	certstore_names_free(keys, n);
	/* the front end refuses bad keys before the backend sees them */
	size_t before = m->n;
	assert_int_equal(certstore_record_put(cs, "../etc/passwd", "x", 1, CERTSTORE_REV_ANY, &err), -1);
	assert_int_equal(certstore_record_put(cs, "/abs", "x", 1, CERTSTORE_REV_ANY, &err), -1);
	assert_int_equal(certstore_record_put(cs, "a/.hidden", "x", 1, CERTSTORE_REV_ANY, &err), -1);
	assert_int_equal(certstore_record_put(cs, "a//b", "x", 1, CERTSTORE_REV_ANY, &err), -1);
	assert_int_equal(certstore_record_get(cs, "a/", 16, &b, NULL, &err), -1);
	assert_int_equal(m->n, before);
	assert_int_equal(certstore_read_pair(cs, "../x", &b, &b, &err), -1);
	buf_finish(&b);
	certstore_free(cs);
}

/* The library's callers on the second backend, unchanged. */
static void test_callers(void **state)
{
	static const char *const names[] = { "m.example.test", NULL };
	struct mem *m;
	struct certstore *cs = open_mem(&m);
	struct gpc_error err;
	struct lineage *l = lineage_new("web"), *back = NULL;
	struct ledger *lg = NULL;
	struct fx_cert leaf;
	char **ls;
	size_t n;
	char *nm[1] = { (char *)"m.example.test" };

	(void)state;
	/* lineage settings are records */
	assert_int_equal(lineage_set_names(l, nm, 1, &err), 0);
	assert_int_equal(lineage_set_str(&l->ca_url, "https://ca.invalid/dir"), 0);
	assert_int_equal(lineage_save(cs, l, &err), 0);
	assert_non_null(find(m, "lineages/web.json"));
	assert_int_equal(lineage_load(cs, "web", &back, &err), 0);
	assert_string_equal(back->names[0], "m.example.test");
	lineage_free(back);
	assert_int_equal(lineage_list(cs, &ls, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ls[0], "web");
	certstore_names_free(ls, n);

	/* the ledger is a record */
	assert_int_equal(ledger_load(cs, &lg, &err), 0);
	assert_int_equal(ledger_record_issuance(lg, l->ca_url, l->names, l->n_names, false, 1800000000), 0);
	assert_int_equal(ledger_save(cs, lg, &err), 0);
	ledger_free(lg);
	assert_non_null(find(m, "ledger.json"));

	/* a pair with revisions; the issuer decides from it */
	fx_make(&leaf, GNUTLS_PK_ECDSA, 256, NULL, names, 1800000000, 1800000000 + 90 * 86400, false, NULL);
	assert_int_equal(certstore_lock(cs, true, 5, &err), 0);
	assert_int_equal(certstore_write_pair_if(cs, "web", leaf.cert_pem, strlen(leaf.cert_pem), leaf.key_pem,
						 strlen(leaf.key_pem), 0, &err), 0);
	assert_int_equal(certstore_write_pair_if(cs, "web", leaf.cert_pem, strlen(leaf.cert_pem), leaf.key_pem,
						 strlen(leaf.key_pem), 0, &err), -1); /* exists now */
	assert_string_equal(err.code, GPC_E_CONFLICT);
	certstore_unlock(cs);
	assert_int_equal(m->calls_bad, 0);
	/* the certificate alone (check/status without the seal key): a backend
	 * without read_cert is read through read_pair, the key dropped */
	{
		struct buf c;
		uint64_t rev = 0, prev = 0;
		buf_init(&c, CERTSTORE_MAX_FILE);
		assert_int_equal(certstore_read_cert(cs, "web", &c, &rev, &err), 0);
		assert_int_equal(c.len, strlen(leaf.cert_pem));
		assert_memory_equal(c.data, leaf.cert_pem, c.len);
		assert_null(memmem(c.data, c.len, "PRIVATE KEY", 11));
		assert_int_equal(certstore_read_pair_rev(cs, "web", &c, &c, &prev, &err), 0);
		assert_true(rev != 0 && rev == prev);
		assert_int_equal(certstore_read_cert(cs, "nothere", &c, &rev, &err), -1);
		assert_string_equal(err.code, GPC_E_MISSING);
		assert_int_equal(rev, 0);
		assert_int_equal(certstore_read_cert(cs, "../x", &c, NULL, &err), -1);
		buf_finish(&c);
	}
	assert_int_equal(certstore_list(cs, &ls, &n, &err), 0);
	assert_int_equal(n, 1);
	certstore_names_free(ls, n);

	struct issue_env env;
	struct issue_opts o;
	struct issue_outcome out;
	issue_opts_default(&o);
	memset(&out, 0, sizeof(out));
	setenv("GOPROXY_CERT_NOW", "1800864000", 1); /* 10 days in */
	issue_env_init(&env, cs, 0);
	assert_int_equal(issue_precheck(&env, l, &o, &out), 0);
	assert_int_equal(out.res, ISSUE_CURRENT);
	/* goproxyd's presence */
	assert_int_equal(issue_goproxyd_answers(cs), 0);
	assert_int_equal(certstore_presence_set(cs, "goproxyd", "answers: http-01 tls-alpn-01", &err), 0);
	assert_int_equal(issue_goproxyd_answers(cs), GOPROXYD_HTTP01 | GOPROXYD_TLSALPN01);
	certstore_presence_clear(cs, "goproxyd");
	assert_int_equal(issue_goproxyd_answers(cs), 0);
	issue_env_finish(&env);
	unsetenv("GOPROXY_CERT_NOW");

	fx_free(&leaf);
	lineage_free(l);
	certstore_free(cs);
}

/* Messages name records through the backend (never DIR/.state pasted on
 * the store's name); the table refuses a URL no backend takes; goproxyd's
 * presence line reads back as written. */
static void test_describe(void **state)
{
	struct mem *m;
	struct certstore *cs = open_mem(&m);
	struct store_options o = { .url = "http://127.0.0.1:2379" };
	struct certstore *none = NULL;
	struct gpc_error err;
	char out[256], line[96];

	(void)state;
	assert_string_equal(certstore_describe(cs, "accounts/x/key.pem", out, sizeof(out)), "mem:accounts/x/key.pem");
	assert_string_equal(lineage_describe(cs, "www", out, sizeof(out)), "mem:lineages/www.json");
	assert_false(certstore_shared(cs));
	assert_int_equal(certstore_ephemeral(cs, &err), 0);
	gpc_error_clear(&err);
	assert_int_equal(certstore_open_url(&o, &none, &err), -1);
	assert_null(none);
	assert_string_equal(err.code, GPC_E_USAGE);
	assert_non_null(strstr(err.message, "http://127.0.0.1:2379"));

	assert_int_equal(records_presence_format(true, line, sizeof(line)), 0);
	assert_int_equal(records_presence_parse(line), GOPROXYD_HTTP01 | GOPROXYD_TLSALPN01);
	assert_int_equal(records_presence_format(false, line, sizeof(line)), 0);
	assert_int_equal(records_presence_parse(line), GOPROXYD_TLSALPN01);
	assert_int_equal(records_presence_parse("12345\n"), GOPROXYD_HTTP01 | GOPROXYD_TLSALPN01);
	assert_int_equal(records_presence_parse("answers: "), GOPROXYD_RUNNING);
	certstore_free(cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_callers),
		cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

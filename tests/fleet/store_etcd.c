/* store_etcd: the etcd backend through the certstore interface, against a
 * real cluster (etcd_client.sh starts it). Two stores opened on the same
 * prefix play two nodes. Modes:
 *   store   pairs sealed in etcd (no private key in clear there), read back
 *           whole; compare-and-swap on revisions; --reuse-key; archive;
 *           records (a private key in one is sealed too); lists; the wrong
 *           seal key and no seal key: clear errors, nothing half read;
 *           the change watch wakes within 1 s; presence on a lease
 *   issuer  the issuer lock between two nodes: the second waits and names
 *           the holder; the holder's lease revoked behind its back: its
 *           pair write is refused (fenced), the other node takes the lock
 *           and writes; the store lock likewise fences records
 *   auth    a node whose etcd user may not write the prefix: check_writable
 *           says so before anything is ordered; reading works
 *   hold, take  take the issuer lock (default TTL) and keep it until killed /
 *           take it (waiting up to 60 s) and release it: for
 *           tests/bench/bench-fleet-takeover.sh and the "leader" test of
 *           store_etcd.sh (the lock asked for during a leader election)
 * Needs ETCD_ENDPOINTS, ETCD_PIDS (and for auth ETCD_USER, ETCD_PASSWORD,
 * ETCD_RO_USER, ETCD_RO_PASSWORD). */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "driver.h"
#include "certstore.h"
#include "error.h"
#include "etcd.h"
#include "log.h"
#include "seal.h"
#include "store_etcd.h"

static int verbose;
static char url[2048];
static char tmpdir[64];
static char seal_a[128], seal_b[128];

static void log_cb(enum gpc_log_level level, const char *msg, void *ud)
{
	(void)ud;
	if (verbose || level <= GPC_LOG_WARN)
		fprintf(stderr, "[%d] %s\n", (int)level, msg);
}

static const char cert1[] = "-----BEGIN CERTIFICATE-----\nMIIB1\n-----END CERTIFICATE-----\n";
static const char key1[] = "-----BEGIN PRIVATE KEY-----\nKEY1SECRET\n-----END PRIVATE KEY-----\n";
static const char cert2[] = "-----BEGIN CERTIFICATE-----\nMIIB2\n-----END CERTIFICATE-----\n";
static const char key2[] = "-----BEGIN PRIVATE KEY-----\nKEY2SECRET\n-----END PRIVATE KEY-----\n";

static struct certstore *open_as(const char *seal, const char *user, const char *pw)
{
	struct store_options o = { .url = url, .seal_file = seal, .user = user, .password = pw,
				   .lease_ttl = 3 };
	struct certstore *cs = NULL;
	struct gpc_error err = { 0 };

	MUST(store_open(&o, &cs, &err) == 0, "%s", err.message);
	CHECK(strcmp(certstore_kind(cs), "etcd") == 0, "kind %s", certstore_kind(cs));
	return cs;
}

static struct etcd_client *raw(void)
{
	const char *eps[] = { NULL };
	char *list = strdup(env("ETCD_ENDPOINTS")), *comma = strchr(list, ',');
	struct etcd_options o = { 0 };
	struct etcd_client *c = NULL;
	struct gpc_error err = { 0 };

	if (comma != NULL)
		*comma = '\0';
	eps[0] = list;
	o.endpoints = eps;
	o.n_endpoints = 1;
	o.user = getenv("ETCD_ROOT_USER");
	o.password = getenv("ETCD_ROOT_PASSWORD");
	MUST(etcd_client_new(&o, &c, &err) == 0, "%s", err.message);
	free(list);
	return c;
}

static int read_pair(struct certstore *cs, const char *name, struct buf *c, struct buf *k, uint64_t *rev,
		     struct gpc_error *err)
{
	buf_reset(c);
	buf_reset(k);
	return certstore_read_pair_rev(cs, name, c, k, rev, err);
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) == 1;
}

static void mode_store(void)
{
	struct certstore *a = open_as(seal_a, NULL, NULL), *b = open_as(seal_a, NULL, NULL);
	struct certstore *wrong = open_as(seal_b, NULL, NULL), *none = open_as(NULL, NULL, NULL);
	struct etcd_client *c = raw();
	struct gpc_error err = { 0 };
	struct buf cb, kb;
	uint64_t r1 = 0, r2 = 0, r3 = 0;
	struct etcd_range r;
	char **names = NULL;
	size_t n = 0;

	buf_init(&cb, CERTSTORE_MAX_FILE);
	buf_init(&kb, CERTSTORE_MAX_FILE);
	/* a pair: written on one node, read on the other */
	MUST(certstore_lock(a, true, 10, &err) == 0, "%s", err.message);
	MUST(certstore_write_pair_if(a, "www", cert1, strlen(cert1), key1, strlen(key1), 0, &err) == 0, "%s",
	     err.message);
	certstore_unlock(a);
	MUST(read_pair(b, "www", &cb, &kb, &r1, &err) == 0, "%s", err.message);
	CHECK(strcmp(cb.data, cert1) == 0 && strcmp(kb.data, key1) == 0, "the pair read back differs");
	CHECK(r1 > 0, "revision 0");
	/* in etcd: one value holding both, the key sealed */
	MUST(etcd_range(c, "/gpc-test/pairs/www", NULL, &r, &err) == 0 && r.n == 1, "%s", err.message);
	CHECK(strstr((char *)r.kvs[0].value, "MIIB1") != NULL, "the certificate is not in the value");
	CHECK(strstr((char *)r.kvs[0].value, "KEY1SECRET") == NULL && strstr((char *)r.kvs[0].value, "PRIVATE") == NULL,
	      "the private key is in etcd in clear: %s", (char *)r.kvs[0].value);
	CHECK((uint64_t)r.kvs[0].mod_revision == r1, "revision %llu, etcd says %lld", (unsigned long long)r1,
	      (long long)r.kvs[0].mod_revision);
	etcd_range_finish(&r);
	/* compare-and-swap: a stale revision is refused, nothing written */
	MUST(certstore_write_pair_if(a, "www", cert2, strlen(cert2), key2, strlen(key2), r1, &err) == 0, "%s",
	     err.message);
	CHECK(certstore_write_pair_if(b, "www", cert1, strlen(cert1), key1, strlen(key1), r1, &err) == -1 &&
		      strcmp(err.code, GPC_E_CONFLICT) == 0,
	      "stale revision written: %s", err.message);
	CHECK(certstore_write_pair_if(b, "new", cert1, strlen(cert1), key1, strlen(key1), 5, &err) == -1 &&
		      strcmp(err.code, GPC_E_CONFLICT) == 0,
	      "absent pair with a revision: %s", err.message);
	MUST(read_pair(b, "www", &cb, &kb, &r2, &err) == 0, "%s", err.message);
	CHECK(strcmp(cb.data, cert2) == 0 && strcmp(kb.data, key2) == 0 && r2 > r1, "after the swap");
	/* the old pair is archived */
	{
		struct etcd_range_opts ro = { .prefix = true };
		MUST(etcd_range(c, "/gpc-test/archive/www/", &ro, &r, &err) == 0, "%s", err.message);
		CHECK(r.n == 1 && strstr((char *)r.kvs[0].value, "MIIB1") != NULL, "archive: %zu entries", r.n);
		etcd_range_finish(&r);
	}
	/* --reuse-key: a new certificate, the key kept */
	MUST(certstore_write_pair(a, "www", cert1, strlen(cert1), NULL, 0, &err) == 0, "%s", err.message);
	MUST(read_pair(b, "www", &cb, &kb, &r3, &err) == 0, "%s", err.message);
	CHECK(strcmp(cb.data, cert1) == 0 && strcmp(kb.data, key2) == 0, "reuse-key changed the key");
	/* the default lineage lists first */
	MUST(certstore_write_pair(a, "default", cert1, strlen(cert1), key1, strlen(key1), &err) == 0, "%s",
	     err.message);
	MUST(certstore_write_pair(a, "alpha", cert1, strlen(cert1), key1, strlen(key1), &err) == 0, "%s",
	     err.message);
	MUST(certstore_list(b, &names, &n, &err) == 0, "%s", err.message);
	CHECK(n == 3 && strcmp(names[0], "default") == 0 && strcmp(names[1], "alpha") == 0 &&
		      strcmp(names[2], "www") == 0,
	      "list: %zu names", n);
	certstore_names_free(names, n);
	/* missing */
	CHECK(read_pair(b, "nope", &cb, &kb, NULL, &err) == -1 && strcmp(err.code, GPC_E_MISSING) == 0,
	      "missing pair: %s", err.message);
	/* another seal key: a clear error naming both key ids, nothing half read */
	CHECK(read_pair(wrong, "www", &cb, &kb, NULL, &err) == -1 && strstr(err.message, "another seal key") &&
		      strstr(err.message, "www") != NULL && cb.len == 0 && kb.len == 0,
	      "wrong seal key: %s (cert %zu bytes)", err.message, cb.len);
	printf("wrong seal key: %s\n  hint: %s\n", err.message, err.hint);
	CHECK(read_pair(none, "www", &cb, &kb, NULL, &err) == -1 && strcmp(err.code, GPC_E_USAGE) == 0 &&
		      strstr(err.hint, "--store-seal") != NULL,
	      "no seal key: %s", err.message);
	CHECK(certstore_write_pair(none, "www", cert1, strlen(cert1), key1, strlen(key1), &err) == -1 &&
		      strstr(err.hint, "--store-seal") != NULL,
	      "a write without a seal key: %s", err.message);
	CHECK(certstore_check_writable(none, "www", &err) == -1, "check_writable without a seal key");
	CHECK(certstore_check_writable(a, "www", &err) == 0, "check_writable: %s", err.message);
	/* a pair sealed for another lineage, moved there by hand: refused */
	MUST(etcd_range(c, "/gpc-test/pairs/www", NULL, &r, &err) == 0 && r.n == 1, "%s", err.message);
	MUST(etcd_put(c, "/gpc-test/pairs/moved", r.kvs[0].value, r.kvs[0].value_len, 0, NULL, &err) == 0, "%s",
	     err.message);
	etcd_range_finish(&r);
	CHECK(read_pair(b, "moved", &cb, &kb, NULL, &err) == -1 && strstr(err.message, "another lineage") != NULL,
	      "a pair moved to another lineage: %s", err.message);

	/* records: revisions, compare-and-swap, lists */
	{
		struct buf rb;
		uint64_t rv = 0, rv2 = 0;
		const char *acct = "-----BEGIN EC PRIVATE KEY-----\nACCOUNTKEY\n-----END EC PRIVATE KEY-----\n";

		buf_init(&rb, 1 << 20);
		MUST(certstore_record_put(a, "lineages/www.json", "{\"a\":1}", 7, 0, &err) == 0, "%s", err.message);
		CHECK(certstore_record_put(b, "lineages/www.json", "{\"a\":2}", 7, 0, &err) == -1 &&
			      strcmp(err.code, GPC_E_CONFLICT) == 0,
		      "create twice: %s", err.message);
		MUST(certstore_record_get(b, "lineages/www.json", 1 << 20, &rb, &rv, &err) == 0, "%s", err.message);
		CHECK(strcmp(rb.data, "{\"a\":1}") == 0 && rv > 0, "record read back");
		MUST(certstore_record_put(b, "lineages/www.json", "{\"a\":3}", 7, rv, &err) == 0, "%s", err.message);
		CHECK(certstore_record_put(a, "lineages/www.json", "{\"a\":4}", 7, rv, &err) == -1 &&
			      strcmp(err.code, GPC_E_CONFLICT) == 0,
		      "stale record written");
		MUST(certstore_record_put(a, "lineages/alpha.json", "{}", 2, CERTSTORE_REV_ANY, &err) == 0, "%s",
		     err.message);
		MUST(certstore_record_put(a, "lineages/sub/deeper.json", "{}", 2, CERTSTORE_REV_ANY, &err) == 0, "%s",
		     err.message);
		MUST(certstore_record_list(b, "lineages/", &names, &n, &err) == 0, "%s", err.message);
		CHECK(n == 2 && strcmp(names[0], "lineages/alpha.json") == 0 &&
			      strcmp(names[1], "lineages/www.json") == 0,
		      "record list: %zu (%s)", n, n ? names[0] : "");
		certstore_names_free(names, n);
		/* an account key: sealed in etcd, read back in clear */
		MUST(certstore_record_put(a, "accounts/ca/key.pem", acct, strlen(acct), CERTSTORE_REV_ANY, &err) == 0,
		     "%s", err.message);
		MUST(etcd_range(c, "/gpc-test/records/accounts/ca/key.pem", NULL, &r, &err) == 0 && r.n == 1, "%s",
		     err.message);
		CHECK(memmem(r.kvs[0].value, r.kvs[0].value_len, "ACCOUNTKEY", 10) == NULL,
		      "an account key in etcd in clear");
		etcd_range_finish(&r);
		buf_reset(&rb);
		MUST(certstore_record_get(b, "accounts/ca/key.pem", 1 << 20, &rb, &rv2, &err) == 0, "%s",
		     err.message);
		CHECK(strcmp(rb.data, acct) == 0, "account key read back");
		CHECK(certstore_record_put(none, "accounts/ca/key.pem", acct, strlen(acct), CERTSTORE_REV_ANY,
					   &err) == -1,
		      "a private key written without a seal key");
		/* a DNS provider's secrets (secrets/NAME.json: API tokens): sealed too */
		{
			static const char sec[] = "{\"auth_token\":\"DNSTOKENSECRET\"}";
			MUST(certstore_record_put(a, "secrets/www.json", sec, strlen(sec), CERTSTORE_REV_ANY, &err) == 0,
			     "%s", err.message);
			MUST(etcd_range(c, "/gpc-test/records/secrets/www.json", NULL, &r, &err) == 0 && r.n == 1, "%s",
			     err.message);
			CHECK(memmem(r.kvs[0].value, r.kvs[0].value_len, "DNSTOKENSECRET", 14) == NULL,
			      "a DNS provider's token in etcd in clear");
			etcd_range_finish(&r);
			buf_reset(&rb);
			MUST(certstore_record_get(b, "secrets/www.json", 1 << 20, &rb, NULL, &err) == 0, "%s",
			     err.message);
			CHECK(strcmp(rb.data, sec) == 0, "DNS secrets read back");
		}
		buf_reset(&rb);
		CHECK(certstore_record_get(a, "ledger.json", 1 << 20, &rb, NULL, &err) == -1 &&
			      strcmp(err.code, GPC_E_MISSING) == 0,
		      "missing record: %s", err.message);
		MUST(certstore_record_del(a, "lineages/alpha.json", &err) == 0, "%s", err.message);
		buf_reset(&rb);
		CHECK(certstore_record_get(a, "lineages/alpha.json", 1 << 20, &rb, NULL, &err) == -1,
		      "deleted record still there");
		/* b listed lineages/ a moment ago: its first read of alpha may
		 * answer as of that listing (one bulk read); the second is fresh */
		buf_reset(&rb);
		if (certstore_record_get(b, "lineages/alpha.json", 1 << 20, &rb, NULL, &err) == 0)
			printf("first read after the listing: as of the listing\n");
		buf_reset(&rb);
		CHECK(certstore_record_get(b, "lineages/alpha.json", 1 << 20, &rb, NULL, &err) == -1,
		      "deleted record still there on a second read");
		buf_finish(&rb);
	}

	/* the change watch: readable at once (read everything), then on a
	 * write by the other node within 1 s; a record outside challenges
	 * does not wake it */
	{
		struct gpc_error e2 = { 0 };
		int fd = certstore_watch_open(b, &e2);
		double t0;

		MUST(fd >= 0, "%s", e2.message);
		CHECK(readable(fd, 1000), "the watch does not start readable");
		(void)certstore_watch_read(b);
		CHECK(!readable(fd, 300), "readable with nothing changed");
		MUST(certstore_record_put(a, "ledger.json", "{}", 2, CERTSTORE_REV_ANY, &err) == 0, "%s", err.message);
		CHECK(!readable(fd, 500), "a ledger write woke the watch");
		t0 = now_ms();
		MUST(certstore_write_pair(a, "www", cert2, strlen(cert2), key2, strlen(key2), &err) == 0, "%s",
		     err.message);
		CHECK(readable(fd, 1000), "a pair write not seen within 1 s");
		printf("watch: a pair written on one node woke the other after %.1f ms\n", now_ms() - t0);
		CHECK(certstore_watch_read(b) != 0, "watch_read says nothing changed");
		MUST(certstore_record_put(a, "challenges/http-01/tok", "tok.thumb", 9, CERTSTORE_REV_ANY, &err) == 0,
		     "%s", err.message);
		CHECK(readable(fd, 1000), "a challenge answer not seen within 1 s");
		(void)certstore_watch_read(b);
		certstore_watch_close(b);
	}

	/* presence on a lease: gone when cleared, and when the process dies
	 * its lease expires (here: cleared) */
	{
		struct buf info;
		buf_init(&info, 1024);
		CHECK(certstore_presence_get(b, "goproxyd", &info) == 0, "present before set");
		MUST(certstore_presence_set(a, "goproxyd", "answers: http-01 tls-alpn-01", &err) == 0, "%s",
		     err.message);
		for (int i = 0; i < 50 && certstore_presence_get(b, "goproxyd", &info) == 0; i++)
			usleep(100 * 1000);
		buf_reset(&info);
		CHECK(certstore_presence_get(b, "goproxyd", &info) == 1 && strcmp(info.data, "answers: http-01 tls-alpn-01") == 0,
		      "presence: %s", info.data ? info.data : "(none)");
		certstore_presence_clear(a, "goproxyd");
		buf_reset(&info);
		CHECK(certstore_presence_get(b, "goproxyd", &info) == 0, "present after clear");
		buf_finish(&info);
	}
	buf_finish(&cb);
	buf_finish(&kb);
	certstore_free(a);
	certstore_free(b);
	certstore_free(wrong);
	certstore_free(none);
	etcd_client_free(c);
}

/* Revoke the lease behind a lock (what etcd does when a node stops
 * renewing it): the owner keys under PREFIX/locks/NAME/ are named after it. */
static void revoke_holder(struct etcd_client *c, const char *lock)
{
	struct etcd_range_opts ro = { .prefix = true, .keys_only = true };
	struct etcd_range r;
	struct gpc_error err = { 0 };
	char pfx[256];

	snprintf(pfx, sizeof(pfx), "/gpc-test/locks/%s/", lock);
	MUST(etcd_range(c, pfx, &ro, &r, &err) == 0 && r.n >= 1, "no holder of %s: %s", lock, err.message);
	MUST(etcd_lease_revoke(c, (int64_t)strtoull(r.kvs[0].key + strlen(pfx), NULL, 16), &err) == 0, "%s",
	     err.message);
	etcd_range_finish(&r);
}

static void mode_issuer(void)
{
	struct certstore *a = open_as(seal_a, NULL, NULL), *b = open_as(seal_a, NULL, NULL);
	struct etcd_client *c = raw();
	struct gpc_error err = { 0 };
	struct buf cb, kb;
	bool waited = false;
	double t0;

	buf_init(&cb, CERTSTORE_MAX_FILE);
	buf_init(&kb, CERTSTORE_MAX_FILE);
	MUST(certstore_issuer_lock(a, "www", 5, &waited, &err) == 0, "%s", err.message);
	CHECK(!waited, "waited for a free lock");
	MUST(certstore_lock(a, true, 5, &err) == 0, "%s", err.message);
	MUST(certstore_write_pair(a, "www", cert1, strlen(cert1), key1, strlen(key1), &err) == 0, "%s", err.message);
	certstore_unlock(a);
	/* the other node waits, names the holder, gives up at its limit */
	t0 = now_ms();
	CHECK(certstore_issuer_lock(b, "www", 2, &waited, &err) == -1 && strcmp(err.code, GPC_E_LOCKED) == 0,
	      "two holders of the issuer lock: %s", err.message);
	CHECK(waited && strstr(err.message, "pid ") != NULL && strstr(err.message, "nothing was ordered") != NULL,
	      "message: %s", err.message);
	CHECK(now_ms() - t0 < 4000, "waited %.0f ms for 2 s", now_ms() - t0);
	printf("issuer lock held elsewhere: %s\n", err.message);
	/* a's lease is revoked (as when its keepalives stopped reaching
	 * etcd): its next pair write is refused, nothing written */
	revoke_holder(c, "issuer");
	MUST(certstore_lock(a, true, 5, &err) == 0, "%s", err.message);
	CHECK(certstore_write_pair(a, "www", cert2, strlen(cert2), key2, strlen(key2), &err) == -1 &&
		      strcmp(err.code, GPC_E_LOCKED) == 0,
	      "a writer that lost its lease wrote: %s", err.message);
	printf("lost lease: %s\n", err.message);
	certstore_unlock(a);
	MUST(read_pair(b, "www", &cb, &kb, NULL, &err) == 0, "%s", err.message);
	CHECK(strcmp(cb.data, cert1) == 0 && strcmp(kb.data, key1) == 0, "the pair changed after the lost lease");
	/* b takes the lock now and writes; a's stale write stays refused */
	MUST(certstore_issuer_lock(b, "www", 5, &waited, &err) == 0, "%s", err.message);
	MUST(certstore_lock(b, true, 5, &err) == 0, "%s", err.message);
	MUST(certstore_write_pair(b, "www", cert2, strlen(cert2), key2, strlen(key2), &err) == 0, "%s", err.message);
	certstore_unlock(b);
	CHECK(certstore_write_pair(a, "www", cert1, strlen(cert1), key1, strlen(key1), &err) == -1,
	      "the old holder overwrote the new holder's pair");
	MUST(read_pair(a, "www", &cb, &kb, NULL, &err) == 0, "%s", err.message);
	CHECK(strcmp(cb.data, cert2) == 0, "the new holder's pair is not the one stored");
	certstore_issuer_unlock(a);
	certstore_issuer_unlock(b);
	/* the store lock fences records the same way */
	MUST(certstore_lock(b, true, 5, &err) == 0, "%s", err.message);
	MUST(certstore_record_put(b, "ledger.json", "{\"n\":1}", 7, CERTSTORE_REV_ANY, &err) == 0, "%s", err.message);
	revoke_holder(c, "store");
	CHECK(certstore_record_put(b, "ledger.json", "{\"n\":2}", 7, CERTSTORE_REV_ANY, &err) == -1 &&
		      strcmp(err.code, GPC_E_LOCKED) == 0,
	      "a ledger write under a lost store lock: %s", err.message);
	certstore_unlock(b);
	/* ... and the lock can be taken again afterwards (a new lease) */
	MUST(certstore_lock(b, true, 5, &err) == 0, "store lock after a lost lease: %s", err.message);
	MUST(certstore_record_put(b, "ledger.json", "{\"n\":3}", 7, CERTSTORE_REV_ANY, &err) == 0, "%s", err.message);
	certstore_unlock(b);
	buf_finish(&cb);
	buf_finish(&kb);
	certstore_free(a);
	certstore_free(b);
	etcd_client_free(c);
}

static void mode_auth(void)
{
	struct certstore *rw = open_as(seal_a, env("ETCD_USER"), env("ETCD_PASSWORD"));
	struct certstore *ro = open_as(seal_a, env("ETCD_RO_USER"), env("ETCD_RO_PASSWORD"));
	struct gpc_error err = { 0 };
	struct buf cb, kb;

	buf_init(&cb, CERTSTORE_MAX_FILE);
	buf_init(&kb, CERTSTORE_MAX_FILE);
	MUST(certstore_check_writable(rw, "www", &err) == 0, "%s", err.message);
	MUST(certstore_write_pair(rw, "www", cert1, strlen(cert1), key1, strlen(key1), &err) == 0, "%s", err.message);
	MUST(read_pair(ro, "www", &cb, &kb, NULL, &err) == 0, "a read-only node cannot read: %s", err.message);
	CHECK(certstore_check_writable(ro, "www", &err) == -1 && strcmp(err.code, GPC_E_PERMISSION) == 0 &&
		      strstr(err.message, "permission denied") != NULL && strstr(err.message, "/gpc-test/pairs/www"),
	      "a read-only node passes check_writable: %s", err.message);
	printf("read-only node: %s\n  hint: %s\n", err.message, err.hint);
	CHECK(certstore_write_pair(ro, "www", cert2, strlen(cert2), key2, strlen(key2), &err) == -1 &&
		      strcmp(err.code, GPC_E_PERMISSION) == 0,
	      "a read-only node wrote: %s", err.message);
	buf_finish(&cb);
	buf_finish(&kb);
	certstore_free(rw);
	certstore_free(ro);
}

/* For tests/bench/bench-fleet-takeover.sh, with the default lease TTL
 * (15 s): "hold" takes the issuer lock, prints "held UNIX_MS" and sleeps
 * until killed; "take" waits for it (at most 60 s) and prints "took
 * UNIX_MS". */
static void mode_hold_take(bool hold)
{
	struct store_options o = { .url = url, .seal_file = seal_a };
	struct certstore *cs = NULL;
	struct gpc_error err = { 0 };
	struct timespec t;
	bool waited = false;

	MUST(store_open(&o, &cs, &err) == 0, "%s", err.message);
	MUST(certstore_issuer_lock(cs, "bench", 60, &waited, &err) == 0, "%s", err.message);
	clock_gettime(CLOCK_REALTIME, &t);
	printf("%s %lld\n", hold ? "held" : "took", (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000);
	fflush(stdout);
	while (hold)
		pause();
	certstore_issuer_unlock(cs);
	certstore_free(cs);
}

/* For tests/bench/bench-fleet-latency.sh: write lineage "bench" N times,
 * alternating two pairs (files from the environment), WAIT_MS apart, and
 * print "commit I UNIX_MS" after each write returned. */
static void mode_writes(void)
{
	struct certstore *a = open_as(seal_a, NULL, NULL);
	struct gpc_error err = { 0 };
	long n = atol(env("BENCH_N")), wait_ms = atol(env("BENCH_WAIT_MS"));
	const char *files[4] = { env("BENCH_CERT_A"), env("BENCH_KEY_A"), env("BENCH_CERT_B"), env("BENCH_KEY_B") };
	struct buf pem[4];

	for (int i = 0; i < 4; i++) {
		FILE *f = fopen(files[i], "r");
		char chunk[4096];
		size_t r;
		MUST(f != NULL, "%s", files[i]);
		buf_init(&pem[i], CERTSTORE_MAX_FILE);
		while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
			MUST(buf_add(&pem[i], chunk, r) == 0, "buf");
		fclose(f);
	}
	for (long i = 0; i < n; i++) {
		int k = (int)(i % 2) * 2;
		struct timespec t;

		MUST(certstore_write_pair(a, "bench", pem[k].data, pem[k].len, pem[k + 1].data, pem[k + 1].len, &err) == 0,
		     "%s", err.message);
		clock_gettime(CLOCK_REALTIME, &t);
		printf("commit %ld %lld\n", i, (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000);
		fflush(stdout);
		usleep((useconds_t)wait_ms * 1000);
	}
	for (int i = 0; i < 4; i++)
		buf_finish(&pem[i]);
	certstore_free(a);
}

static void bad_options(void)
{
	struct store_options o = { .url = "etcd://127.0.0.1:1,/x" };
	struct certstore *cs = NULL;
	struct gpc_error err = { 0 };

	CHECK(store_open(&o, &cs, &err) == -1 && strcmp(err.code, GPC_E_USAGE) == 0, "bad URL: %s", err.message);
	o.url = "etcd://127.0.0.1:1";
	o.cacert = "/etc/ssl/certs/ca-certificates.crt";
	CHECK(store_open(&o, &cs, &err) == -1 && strstr(err.hint, "etcd+https") != NULL, "TLS files over http: %s",
	      err.message);
	o.cacert = NULL;
	o.seal_file = "/nonexistent/seal.key";
	CHECK(store_open(&o, &cs, &err) == -1 && strcmp(err.code, GPC_E_MISSING) == 0, "missing seal key: %s",
	      err.message);
}

int main(int argc, char **argv)
{
	struct gpc_error err = { 0 };
	const char *mode;
	char *list, *p;

	if (argc < 2) {
		fprintf(stderr, "usage: store_etcd store|issuer|auth [-v]\n");
		return 64;
	}
	mode = argv[1];
	verbose = argc > 2 && strcmp(argv[2], "-v") == 0;
	gpc_log_set_handler(log_cb, NULL, GPC_LOG_DEBUG);
	/* etcd://HOST:PORT,...(from the endpoints)/gpc-test */
	list = strdup(env("ETCD_ENDPOINTS"));
	snprintf(url, sizeof(url), "etcd://");
	for (p = strtok(list, ","); p != NULL; p = strtok(NULL, ","))
		snprintf(url + strlen(url), sizeof(url) - strlen(url), "%s%s", url[7] ? "," : "", p + 7);
	strncat(url, getenv("STORE_PREFIX") ? getenv("STORE_PREFIX") : "/gpc-test", sizeof(url) - strlen(url) - 1);
	free(list);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/store_etcd.XXXXXX");
	MUST(mkdtemp(tmpdir) != NULL, "mkdtemp");
	snprintf(seal_a, sizeof(seal_a), "%s/a.key", tmpdir);
	snprintf(seal_b, sizeof(seal_b), "%s/b.key", tmpdir);
	MUST(seal_key_generate(seal_b, &err) == 0, "%s", err.message);
	if (getenv("STORE_SEAL") != NULL)
		snprintf(seal_a, sizeof(seal_a), "%s", getenv("STORE_SEAL"));
	else
		MUST(seal_key_generate(seal_a, &err) == 0, "%s", err.message);
	bad_options();
	if (strcmp(mode, "store") == 0)
		mode_store();
	else if (strcmp(mode, "issuer") == 0)
		mode_issuer();
	else if (strcmp(mode, "auth") == 0)
		mode_auth();
	else if (strcmp(mode, "writes") == 0)
		mode_writes();
	else if (strcmp(mode, "hold") == 0 || strcmp(mode, "take") == 0)
		mode_hold_take(strcmp(mode, "hold") == 0);
	else
		MUST(0, "unknown mode %s", mode);
	if (getenv("STORE_SEAL") == NULL)
		unlink(seal_a);
	unlink(seal_b);
	rmdir(tmpdir);
	if (failures > 0) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("%s: ok\n", mode);
	return 0;
}

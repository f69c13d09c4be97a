/* etcd_client: drives lib/etcd/etcd.c against a real etcd cluster started by
 * etcd_client.sh (tests/lib/etcd.sh). Modes:
 *   kv        put/range/prefix/delete, txn compare-and-swap (two racing
 *             writers: one wins), serializable reads, errors of bad setups
 *   lock      lease lock, fenced writes: a writer whose lease was revoked or
 *             expired cannot write; the keeper keeps a 2-s lease for 5 s and
 *             notices a revoked one
 *   watch     a put is seen within 1 s (20 puts: p50, max), deletes, prev_kv
 *   compact   a watch from a compacted revision says RESYNC; a watch on a
 *             frozen member reconnects after its idle timeout and, history
 *             compacted meanwhile, says RESYNC
 *   failover  the member in use (the leader) killed -9: requests and the
 *             watch go on on the next member, nothing lost; then no quorum
 *             (a second member killed): a clear network error,
 *             serializable reads still answer, the watch says DOWN once
 *   outage    two members frozen (SIGSTOP): the watch says DOWN once, then
 *             UP when they are thawed, and goes on
 *   auth      a user limited to a prefix: permission denied elsewhere is a
 *             clear error (put, lock, watch), wrong/missing password, the
 *             token expiring (re-authentication), no secret in any log line
 *   tls       client certificates and a user limited to the prefix: works
 *             with them; without a certificate, without the CA, with a
 *             certificate that has a CN: a clear error with the fix
 * Needs ETCD_ENDPOINTS (comma list), ETCD_PIDS (same order), and for tls
 * ETCD_CACERT, ETCD_CLIENT_CERT, ETCD_CLIENT_KEY; for auth ETCD_USER,
 * ETCD_PASSWORD, ETCD_PREFIX, ETCD_TOKEN_TTL; ETCD_LEADER (1-based) for
 * failover. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "driver.h"
#include "error.h"
#include "etcd.h"
#include "log.h"

static int verbose;

/* Every log line, kept to look for secrets afterwards. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct buf log_all;

static void log_cb(enum gpc_log_level level, const char *msg, void *ud)
{
	(void)ud;
	pthread_mutex_lock(&log_mu);
	if (buf_adds(&log_all, msg) < 0 || buf_adds(&log_all, "\n") < 0)
		fprintf(stderr, "log buffer full\n");
	pthread_mutex_unlock(&log_mu);
	if (verbose || level <= GPC_LOG_WARN)
		fprintf(stderr, "[%d] %s\n", (int)level, msg);
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

/* The cluster: endpoints and member PIDs in the same order. */
static char *eps[ETCD_MAX_ENDPOINTS];
static pid_t pids[ETCD_MAX_ENDPOINTS];
static size_t n_eps;

static void split(const char *list, char **out, size_t *n)
{
	char *copy = strdup(list), *save = NULL;

	*n = 0;
	for (char *t = strtok_r(copy, ",", &save); t != NULL && *n < ETCD_MAX_ENDPOINTS;
	     t = strtok_r(NULL, ",", &save))
		out[(*n)++] = strdup(t);
	free(copy);
}

static void cluster_load(void)
{
	char *p[ETCD_MAX_ENDPOINTS];
	size_t np = 0;

	split(env("ETCD_ENDPOINTS"), eps, &n_eps);
	split(env("ETCD_PIDS"), p, &np);
	MUST(np == n_eps, "%zu endpoints, %zu pids", n_eps, np);
	for (size_t i = 0; i < np; i++) {
		pids[i] = (pid_t)atol(p[i]);
		free(p[i]);
	}
}

/* The member index of "HOST:PORT". */
static size_t member_of(const char *host)
{
	for (size_t i = 0; i < n_eps; i++)
		if (strstr(eps[i], host) != NULL && strlen(strstr(eps[i], host)) == strlen(host))
			return i;
	MUST(0, "no member %s", host);
	return 0;
}

static struct etcd_client *client_with(const char *const *e, size_t n, const char *user,
				       const char *password, long timeout_ms)
{
	struct etcd_options o = { 0 };
	struct etcd_client *c = NULL;
	struct gpc_error err = { 0 };

	o.endpoints = e;
	o.n_endpoints = n;
	o.user = user;
	o.password = password;
	o.timeout_ms = timeout_ms;
	if (getenv("ETCD_CACERT") != NULL) {
		o.cacert = getenv("ETCD_CACERT");
		o.cert = getenv("ETCD_CLIENT_CERT");
		o.key = getenv("ETCD_CLIENT_KEY");
	}
	MUST(etcd_client_new(&o, &c, &err) == 0, "%s", err.message);
	return c;
}

static struct etcd_client *client(void)
{
	return client_with((const char *const *)eps, n_eps, NULL, NULL, 0);
}

static char *get(struct etcd_client *c, const char *key, int64_t *mod)
{
	struct etcd_range r;
	struct gpc_error err = { 0 };
	char *v = NULL;

	MUST(etcd_range(c, key, NULL, &r, &err) == 0, "get %s: %s", key, err.message);
	if (r.n == 1) {
		v = strdup((char *)r.kvs[0].value);
		if (mod != NULL)
			*mod = r.kvs[0].mod_revision;
	}
	etcd_range_finish(&r);
	return v;
}

static void put(struct etcd_client *c, const char *key, const char *value)
{
	struct gpc_error err = { 0 };
	MUST(etcd_put(c, key, value, strlen(value), 0, NULL, &err) == 0, "put %s: %s", key, err.message);
}

/* A write while a leader is being elected fails for a few seconds (503
 * after 7 s, "outcome unknown"): try again, as the next run would. */
static int64_t put_retry(struct etcd_client *c, const char *key, const char *value)
{
	struct gpc_error err = { 0 };
	int64_t rev = 0;

	for (int i = 0; i < 10; i++) {
		if (etcd_put(c, key, value, strlen(value), 0, &rev, &err) == 0)
			return rev;
		MUST(strcmp(err.code, GPC_E_NETWORK) == 0, "put %s: %s", key, err.message);
		if (verbose)
			fprintf(stderr, "put %s again: %s\n", key, err.message);
		sleep_ms(300);
	}
	MUST(0, "put %s: %s", key, err.message);
	return 0;
}

/* A raw request with libcurl (what the library does not offer: compaction). */
static long raw_post(const char *ep, const char *path, const char *body)
{
	CURL *h = curl_easy_init();
	char url[512];
	long status = 0;
	FILE *devnull = fopen("/dev/null", "w");

	snprintf(url, sizeof(url), "%s%s", ep, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	if (getenv("ETCD_CACERT") != NULL) {
		curl_easy_setopt(h, CURLOPT_CAINFO, getenv("ETCD_CACERT"));
		curl_easy_setopt(h, CURLOPT_SSLCERT, getenv("ETCD_CLIENT_CERT"));
		curl_easy_setopt(h, CURLOPT_SSLKEY, getenv("ETCD_CLIENT_KEY"));
	}
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	fclose(devnull);
	return status;
}

static void compact(const char *ep, int64_t rev)
{
	char body[96];
	long st = 0;

	snprintf(body, sizeof(body), "{\"revision\":\"%lld\",\"physical\":true}", (long long)rev);
	for (int i = 0; i < 5 && (st = raw_post(ep, "/v3/kv/compaction", body)) != 200; i++)
		sleep_ms(300);
	MUST(st == 200, "compaction at %lld: HTTP %ld", (long long)rev, st);
}

/* ---- a watch that records what it was told ---- */

#define MAX_SEEN 256

struct seen {
	char key[128];
	char value[128];
	enum etcd_event_type type;
	int64_t mod_revision;
	char prev[128];
	double at;
};

struct recorder {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct seen ev[MAX_SEEN];
	size_t n;
	int kinds[ETCD_WATCH_FAILED + 1];
	int64_t resync_rev;
	struct gpc_error last_err;
	char endpoint[128];
};

static void recorder_init(struct recorder *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
}

static void on_watch(const struct etcd_watch_msg *m, void *ud)
{
	struct recorder *r = ud;

	pthread_mutex_lock(&r->mu);
	r->kinds[m->kind]++;
	snprintf(r->endpoint, sizeof(r->endpoint), "%s", m->endpoint);
	if (m->kind == ETCD_WATCH_RESYNC)
		r->resync_rev = m->revision;
	if (m->err != NULL)
		r->last_err = *m->err;
	for (size_t i = 0; i < m->n_events && r->n < MAX_SEEN; i++) {
		struct seen *s = &r->ev[r->n++];
		snprintf(s->key, sizeof(s->key), "%s", m->events[i].kv.key);
		snprintf(s->value, sizeof(s->value), "%s", (char *)m->events[i].kv.value);
		snprintf(s->prev, sizeof(s->prev), "%s",
			 m->events[i].prev.key ? (char *)m->events[i].prev.value : "");
		s->type = m->events[i].type;
		s->mod_revision = m->events[i].kv.mod_revision;
		s->at = now_ms();
	}
	if (verbose)
		fprintf(stderr, "watch: kind %d, %zu events, rev %lld, %s\n", (int)m->kind, m->n_events,
			(long long)m->revision, m->endpoint);
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* Wait until an event for key=value arrived; returns its index or -1. */
static long wait_event(struct recorder *r, const char *key, const char *value, long ms)
{
	double until = now_ms() + (double)ms;
	long found = -1;

	pthread_mutex_lock(&r->mu);
	while (found < 0) {
		for (size_t i = 0; i < r->n; i++)
			if (strcmp(r->ev[i].key, key) == 0 && (value == NULL || strcmp(r->ev[i].value, value) == 0))
				found = (long)i;
		if (found >= 0 || now_ms() >= until)
			break;
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 20 * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->cv, &r->mu, &t);
	}
	pthread_mutex_unlock(&r->mu);
	return found;
}

static int wait_kind(struct recorder *r, enum etcd_watch_kind k, int count, long ms)
{
	double until = now_ms() + (double)ms;
	int got;

	for (;;) {
		pthread_mutex_lock(&r->mu);
		got = r->kinds[k];
		pthread_mutex_unlock(&r->mu);
		if (got >= count || now_ms() >= until)
			return got >= count;
		sleep_ms(20);
	}
}

static size_t count_events(struct recorder *r, const char *key, const char *value)
{
	size_t n = 0;

	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->ev[i].key, key) == 0 && (value == NULL || strcmp(r->ev[i].value, value) == 0))
			n++;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static struct etcd_watch *watch(struct etcd_client *c, const char *key, int64_t from, long idle_ms,
				struct recorder *r)
{
	struct etcd_watch_opts o = { .prefix = true, .start_revision = from, .prev_kv = true,
				     .idle_timeout_ms = idle_ms };
	struct etcd_watch *w = NULL;
	struct gpc_error err = { 0 };

	MUST(etcd_watch_start(c, key, &o, on_watch, r, &w, &err) == 0, "%s", err.message);
	return w;
}

/* ---- modes ---- */

struct race {
	const char *key;
	int64_t rev;
	const char *value;
	int won;
};

static void *race_main(void *arg)
{
	struct race *r = arg;
	struct etcd_client *c = client();
	struct etcd_cmp cmp = { .key = r->key, .target = ETCD_TARGET_MOD, .result = ETCD_CMP_EQUAL,
				.revision = r->rev };
	struct etcd_op op = { .kind = ETCD_OP_PUT, .key = r->key, .value = r->value,
			      .value_len = strlen(r->value) };
	struct etcd_txn_result t;
	struct gpc_error err = { 0 };

	MUST(etcd_txn(c, &cmp, 1, &op, 1, NULL, 0, &t, &err) == 0, "%s", err.message);
	r->won = t.succeeded;
	etcd_txn_result_finish(&t);
	etcd_client_free(c);
	return NULL;
}

static void mode_kv(void)
{
	struct etcd_client *c = client();
	struct gpc_error err = { 0 };
	struct etcd_range r;
	struct etcd_range_opts po = { .prefix = true };
	struct etcd_txn_result t;
	int64_t rev1 = 0, rev2 = 0, mod = 0, deleted = 0;
	char *v;

	/* single key, revisions */
	MUST(etcd_put(c, "/t/a", "one", 3, 0, &rev1, &err) == 0, "%s", err.message);
	MUST(etcd_put(c, "/t/a", "two", 3, 0, &rev2, &err) == 0, "%s", err.message);
	CHECK(rev2 == rev1 + 1, "revisions %lld then %lld", (long long)rev1, (long long)rev2);
	v = get(c, "/t/a", &mod);
	CHECK(v != NULL && strcmp(v, "two") == 0, "got %s", v ? v : "(none)");
	CHECK(mod == rev2, "mod_revision %lld, put said %lld", (long long)mod, (long long)rev2);
	free(v);
	CHECK(get(c, "/t/missing", NULL) == NULL, "a missing key has a value");
	/* binary values with NUL bytes, and a large one (a pair with its chain) */
	{
		static unsigned char big[900 * 1024];
		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (unsigned char)(i * 7);
		MUST(etcd_put(c, "/t/bin", big, sizeof(big), 0, NULL, &err) == 0, "%s", err.message);
		MUST(etcd_range(c, "/t/bin", NULL, &r, &err) == 0, "%s", err.message);
		CHECK(r.n == 1 && r.kvs[0].value_len == sizeof(big) &&
			      memcmp(r.kvs[0].value, big, sizeof(big)) == 0,
		      "binary value changed");
		etcd_range_finish(&r);
	}
	/* prefix: sorted, limit, keys only, count only; /t/ab is not under /t/a/ */
	put(c, "/t/a/2", "x2");
	put(c, "/t/a/1", "x1");
	put(c, "/t/a/3", "x3");
	put(c, "/t/ab", "no");
	MUST(etcd_range(c, "/t/a/", &po, &r, &err) == 0, "%s", err.message);
	CHECK(r.n == 3 && strcmp(r.kvs[0].key, "/t/a/1") == 0 && strcmp(r.kvs[2].key, "/t/a/3") == 0,
	      "prefix range: %zu keys", r.n);
	CHECK(r.revision >= rev2 + 4, "range revision %lld", (long long)r.revision);
	etcd_range_finish(&r);
	po.limit = 2;
	MUST(etcd_range(c, "/t/a/", &po, &r, &err) == 0, "%s", err.message);
	CHECK(r.n == 2 && r.more && r.count == 3, "limit: n %zu more %d count %lld", r.n, r.more,
	      (long long)r.count);
	etcd_range_finish(&r);
	po.limit = 0;
	po.keys_only = true;
	MUST(etcd_range(c, "/t/a/", &po, &r, &err) == 0, "%s", err.message);
	CHECK(r.n == 3 && r.kvs[0].value_len == 0, "keys only");
	etcd_range_finish(&r);
	po.keys_only = false;
	po.count_only = true;
	MUST(etcd_range(c, "/t/a/", &po, &r, &err) == 0, "%s", err.message);
	CHECK(r.n == 0 && r.count == 3, "count only: n %zu count %lld", r.n, (long long)r.count);
	etcd_range_finish(&r);
	po.count_only = false;
	po.serializable = true;
	MUST(etcd_range(c, "/t/a/", &po, &r, &err) == 0, "%s", err.message);
	CHECK(r.n == 3, "serializable: %zu", r.n);
	etcd_range_finish(&r);
	MUST(etcd_delete(c, "/t/a/", true, &deleted, &err) == 0, "%s", err.message);
	CHECK(deleted == 3, "deleted %lld", (long long)deleted);
	v = get(c, "/t/ab", NULL);
	CHECK(v != NULL, "/t/ab deleted with the /t/a/ prefix");
	free(v);

	/* txn: create only if absent; the loser learns the current value */
	{
		struct etcd_cmp absent = { .key = "/t/cas", .target = ETCD_TARGET_CREATE,
					   .result = ETCD_CMP_EQUAL, .revision = 0 };
		struct etcd_op mk = { .kind = ETCD_OP_PUT, .key = "/t/cas", .value = "first", .value_len = 5 };
		struct etcd_op mk2 = { .kind = ETCD_OP_PUT, .key = "/t/cas", .value = "second", .value_len = 6 };
		struct etcd_op rd = { .kind = ETCD_OP_RANGE, .key = "/t/cas" };

		MUST(etcd_txn(c, &absent, 1, &mk, 1, &rd, 1, &t, &err) == 0, "%s", err.message);
		CHECK(t.succeeded, "create-if-absent on an absent key failed");
		etcd_txn_result_finish(&t);
		MUST(etcd_txn(c, &absent, 1, &mk2, 1, &rd, 1, &t, &err) == 0, "%s", err.message);
		CHECK(!t.succeeded, "create-if-absent twice succeeded");
		CHECK(t.n_ranges == 1 && t.ranges[0].n == 1 && strcmp((char *)t.ranges[0].kvs[0].value, "first") == 0,
		      "the failure branch's range");
		mod = t.n_ranges == 1 && t.ranges[0].n == 1 ? t.ranges[0].kvs[0].mod_revision : 0;
		etcd_txn_result_finish(&t);
		/* value compare */
		struct etcd_cmp isfirst = { .key = "/t/cas", .target = ETCD_TARGET_VALUE,
					    .result = ETCD_CMP_EQUAL, .value = "first", .value_len = 5 };
		MUST(etcd_txn(c, &isfirst, 1, NULL, 0, NULL, 0, &t, &err) == 0, "%s", err.message);
		CHECK(t.succeeded, "value compare");
		etcd_txn_result_finish(&t);
	}
	/* two writers race a compare-and-swap on the same revision: one wins */
	for (int round = 0; round < 5; round++) {
		struct race a = { "/t/cas", mod, "A", 0 }, b = { "/t/cas", mod, "B", 0 };
		pthread_t ta, tb;
		int64_t m2 = 0;

		pthread_create(&ta, NULL, race_main, &a);
		pthread_create(&tb, NULL, race_main, &b);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		CHECK(a.won + b.won == 1, "round %d: %d winners", round, a.won + b.won);
		v = get(c, "/t/cas", &m2);
		CHECK(v != NULL && strcmp(v, a.won ? "A" : "B") == 0, "the winner's value is not stored");
		free(v);
		mod = m2;
	}

	/* errors of bad setups */
	{
		struct etcd_options o = { 0 };
		struct etcd_client *x = NULL;
		const char *bad[] = { "127.0.0.1:2379" };
		const char *path[] = { "http://127.0.0.1:2379/v3" };

		o.endpoints = bad;
		o.n_endpoints = 1;
		CHECK(etcd_client_new(&o, &x, &err) == -1 && strcmp(err.code, GPC_E_USAGE) == 0 &&
			      strstr(err.message, "127.0.0.1:2379") != NULL,
		      "no scheme: %s", err.message);
		o.endpoints = path;
		CHECK(etcd_client_new(&o, &x, &err) == -1, "a path in the endpoint");
		o.endpoints = (const char *const *)eps;
		o.n_endpoints = n_eps;
		o.cert = "/nonexistent/cert.pem";
		CHECK(etcd_client_new(&o, &x, &err) == -1 && strstr(err.hint, "--store-key") != NULL,
		      "cert without key: %s", err.message);
		o.key = "/nonexistent/key.pem";
		CHECK(etcd_client_new(&o, &x, &err) == -1 && strstr(err.message, "/nonexistent/cert.pem") != NULL,
		      "unreadable cert: %s", err.message);
		o.cert = o.key = NULL;
		o.user = "someone";
		CHECK(etcd_client_new(&o, &x, &err) == -1 && strstr(err.hint, "PASSWORD") != NULL,
		      "user without password: %s", err.message);
	}
	/* nobody listening: a network error naming every member tried */
	{
		const char *closed[] = { env("CLOSED_URL1"), env("CLOSED_URL2") };
		struct etcd_client *x = client_with(closed, 2, NULL, NULL, 2000);
		double t0 = now_ms();

		CHECK(etcd_range(x, "/t/a", NULL, &r, &err) == -1, "closed ports answered");
		CHECK(strcmp(err.code, GPC_E_NETWORK) == 0, "code %s", err.code);
		CHECK(strstr(err.message, closed[0] + 7) != NULL && strstr(err.message, closed[1] + 7) != NULL &&
			      strstr(err.message, "/t/a") != NULL && strstr(err.message, "no member answered") != NULL,
		      "message: %s", err.message);
		CHECK(now_ms() - t0 < 2000, "refused connections took %.0f ms", now_ms() - t0);
		printf("no member: %s\n  hint: %s\n", err.message, err.hint);
		etcd_client_free(x);
	}
	/* a dead first member: the next one answers, and is used from then on */
	{
		const char *mixed[] = { env("CLOSED_URL1"), eps[0] };
		struct etcd_client *x = client_with(mixed, 2, NULL, NULL, 0);
		struct etcd_stats st;

		v = get(x, "/t/cas", NULL);
		CHECK(v != NULL, "the second member did not answer");
		free(v);
		v = get(x, "/t/cas", NULL);
		free(v);
		etcd_client_stats(x, &st);
		CHECK(st.failovers == 1 && st.requests == 3, "failovers %lu requests %lu (want 1, 3)",
		      st.failovers, st.requests);
		CHECK(strstr(eps[0], etcd_client_endpoint(x)) != NULL, "endpoint %s", etcd_client_endpoint(x));
		etcd_client_free(x);
	}
	etcd_client_free(c);
}

static int fenced_put(struct etcd_client *c, const char *owner, const char *key, const char *value)
{
	struct etcd_cmp f = etcd_fence(owner);
	struct etcd_op op = { .kind = ETCD_OP_PUT, .key = key, .value = value, .value_len = strlen(value) };
	struct etcd_txn_result t;
	struct gpc_error err = { 0 };
	int ok;

	MUST(etcd_txn(c, &f, 1, &op, 1, NULL, 0, &t, &err) == 0, "%s", err.message);
	ok = t.succeeded;
	etcd_txn_result_finish(&t);
	return ok;
}

static void mode_lock(void)
{
	struct etcd_client *a = client(), *b = client(), *admin = client();
	struct etcd_session *sa = NULL, *sb = NULL;
	struct gpc_error err = { 0 };
	char *ka = NULL, *kb = NULL, *v;
	double t0;

	MUST(etcd_session_new(a, 2, &sa, &err) == 0, "%s", err.message);
	MUST(etcd_session_new(b, 2, &sb, &err) == 0, "%s", err.message);
	MUST(etcd_lock(a, "/t/issuer", etcd_session_lease(sa), 5000, &ka, &err) == 0, "%s", err.message);
	CHECK(strncmp(ka, "/t/issuer/", 10) == 0, "owner key %s", ka);
	CHECK(fenced_put(a, ka, "/t/pair", "A1"), "the holder's fenced write failed");
	/* taking it again with the same lease: the same key at once */
	{
		char *again = NULL;
		MUST(etcd_lock(a, "/t/issuer", etcd_session_lease(sa), 2000, &again, &err) == 0, "%s", err.message);
		CHECK(strcmp(again, ka) == 0, "%s then %s", ka, again);
		free(again);
	}
	/* the other one waits, and gives up at its limit */
	t0 = now_ms();
	CHECK(etcd_lock(b, "/t/issuer", etcd_session_lease(sb), 1000, &kb, &err) == -1, "both hold the lock");
	CHECK(err.code != NULL && strcmp(err.code, GPC_E_LOCKED) == 0 && strstr(err.message, "/t/issuer"),
	      "%s: %s", err.code, err.message);
	CHECK(now_ms() - t0 < 2500, "waited %.0f ms for a 1000-ms limit", now_ms() - t0);
	/* the keeper holds a 2-s lease for 5 s */
	sleep_ms(5000);
	CHECK(etcd_session_alive(sa, &err), "lease lost while kept alive: %s", err.message);
	CHECK(fenced_put(a, ka, "/t/pair", "A2"), "fenced write after 5 s of keepalive");
	/* revoked behind its back (as when etcd expired it): writes refused,
	 * the keeper notices within a third of the TTL plus a request */
	MUST(etcd_lease_revoke(admin, etcd_session_lease(sa), &err) == 0, "%s", err.message);
	CHECK(!fenced_put(a, ka, "/t/pair", "A3"), "a writer whose lease was revoked wrote");
	t0 = now_ms();
	while (etcd_session_alive(sa, NULL) && now_ms() - t0 < 3000)
		sleep_ms(50);
	CHECK(!etcd_session_alive(sa, &err), "a revoked lease still looks alive after 3 s");
	CHECK(err.code != NULL && strstr(err.message, "expired or was revoked") != NULL, "why: %s", err.message);
	printf("lost lease noticed after %.0f ms: %s\n", now_ms() - t0, err.message);
	/* now b gets it (its waiting key from before is reused) and writes */
	MUST(etcd_lock(b, "/t/issuer", etcd_session_lease(sb), 5000, &kb, &err) == 0, "%s", err.message);
	CHECK(fenced_put(b, kb, "/t/pair", "B1"), "the new holder's fenced write failed");
	CHECK(!fenced_put(a, ka, "/t/pair", "A4"), "the old holder overwrote the new holder's pair");
	v = get(admin, "/t/pair", NULL);
	CHECK(v != NULL && strcmp(v, "B1") == 0, "pair is %s, want B1", v ? v : "(none)");
	free(v);
	/* after unlock, no more fenced writes */
	MUST(etcd_unlock(b, kb, &err) == 0, "%s", err.message);
	CHECK(!fenced_put(b, kb, "/t/pair", "B2"), "fenced write after unlock");
	/* a lease that simply expires (no keeper): the lock goes with it */
	{
		int64_t id = 0;
		long ttl = 0;
		char *kc = NULL;

		MUST(etcd_lease_grant(admin, 2, &id, &ttl, &err) == 0, "%s", err.message);
		CHECK(ttl == 2, "granted %ld", ttl);
		MUST(etcd_lock(admin, "/t/issuer", id, 5000, &kc, &err) == 0, "%s", err.message);
		CHECK(fenced_put(admin, kc, "/t/pair", "C1"), "fenced write under a fresh lease");
		CHECK(etcd_lease_keepalive(admin, id, &ttl, &err) == 0 && ttl == 2, "keepalive: %s", err.message);
		sleep_ms(3500);
		CHECK(!fenced_put(admin, kc, "/t/pair", "C2"), "a writer whose lease expired wrote");
		CHECK(etcd_lease_keepalive(admin, id, &ttl, &err) == -1 && strcmp(err.code, GPC_E_MISSING) == 0,
		      "keepalive of an expired lease: %s", err.message);
		CHECK(etcd_lease_revoke(admin, id, &err) == 0, "revoking a lease already gone: %s", err.message);
		free(kc);
	}
	etcd_session_free(sa);
	etcd_session_free(sb);
	free(ka);
	free(kb);
	etcd_client_free(a);
	etcd_client_free(b);
	etcd_client_free(admin);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static void mode_watch(void)
{
	struct etcd_client *c = client();
	struct recorder r;
	struct etcd_watch *w;
	double lat[20];
	char key[64], val[64];

	recorder_init(&r);
	w = watch(c, "/w/", 0, 0, &r);
	/* the watch is created asynchronously: wait until a first put shows */
	for (int i = 0; i < 50 && count_events(&r, "/w/warm", NULL) == 0; i++) {
		put(c, "/w/warm", "x");
		sleep_ms(100);
	}
	MUST(count_events(&r, "/w/warm", NULL) > 0, "the watch never delivered");
	for (int i = 0; i < 20; i++) {
		double t0;
		long idx;

		snprintf(key, sizeof(key), "/w/k%d", i % 4);
		snprintf(val, sizeof(val), "v%d", i);
		t0 = now_ms();
		put(c, key, val);
		idx = wait_event(&r, key, val, 2000);
		CHECK(idx >= 0, "put %s=%s not seen within 2 s", key, val);
		lat[i] = idx >= 0 ? r.ev[idx].at - t0 : 2000;
		sleep_ms(30);
	}
	qsort(lat, 20, sizeof(lat[0]), cmp_double);
	printf("watch: put to event over 20 puts: p50 %.1f ms, max %.1f ms\n", lat[10], lat[19]);
	CHECK(lat[19] < 1000, "a put took %.0f ms to be seen (goal: under 1 s)", lat[19]);
	/* prev_kv and deletes */
	put(c, "/w/p", "before");
	put(c, "/w/p", "after");
	{
		long i = wait_event(&r, "/w/p", "after", 2000);
		CHECK(i >= 0 && strcmp(r.ev[i].prev, "before") == 0, "prev_kv: %s", i >= 0 ? r.ev[i].prev : "");
	}
	{
		struct gpc_error err = { 0 };
		MUST(etcd_delete(c, "/w/p", false, NULL, &err) == 0, "%s", err.message);
		double t0 = now_ms();
		bool del = false;
		while (!del && now_ms() - t0 < 2000) {
			pthread_mutex_lock(&r.mu);
			for (size_t i = 0; i < r.n; i++)
				if (strcmp(r.ev[i].key, "/w/p") == 0 && r.ev[i].type == ETCD_EVENT_DELETE)
					del = true;
			pthread_mutex_unlock(&r.mu);
			sleep_ms(20);
		}
		CHECK(del, "delete event not seen");
	}
	/* keys outside the prefix are not delivered */
	put(c, "/wx", "outside");
	put(c, "/w/last", "x");
	CHECK(wait_event(&r, "/w/last", NULL, 2000) >= 0, "last put not seen");
	CHECK(count_events(&r, "/wx", NULL) == 0, "a key outside the prefix was delivered");
	/* progress notifications arrive while idle (the members send them every 2 s) */
	CHECK(wait_kind(&r, ETCD_WATCH_PROGRESS, 1, 6000), "no progress notification in 6 s");
	/* stopping is immediate */
	{
		double t0 = now_ms();
		etcd_watch_free(w);
		CHECK(now_ms() - t0 < 500, "etcd_watch_free took %.0f ms", now_ms() - t0);
	}
	etcd_client_free(c);
}

static void mode_compact(void)
{
	struct etcd_client *c = client();
	struct recorder r;
	struct etcd_watch *w;
	int64_t first = 0, mid = 0;
	struct gpc_error err = { 0 };

	/* part 1: a watch asked to start at a compacted revision */
	MUST(etcd_put(c, "/c/k", "v1", 2, 0, &first, &err) == 0, "%s", err.message);
	put(c, "/c/k", "v2");
	MUST(etcd_put(c, "/c/k", "v3", 2, 0, &mid, &err) == 0, "%s", err.message);
	put(c, "/c/k", "v4");
	compact(eps[0], mid);
	recorder_init(&r);
	w = watch(c, "/c/", first, 0, &r);
	CHECK(wait_kind(&r, ETCD_WATCH_RESYNC, 1, 3000), "no RESYNC for a compacted start");
	CHECK(r.resync_rev == mid, "RESYNC at %lld, compacted at %lld", (long long)r.resync_rev, (long long)mid);
	/* the watch goes on from the compact revision: v3, v4, then new puts */
	CHECK(wait_event(&r, "/c/k", "v4", 3000) >= 0, "v4 not replayed after RESYNC");
	put(c, "/c/k", "v5");
	CHECK(wait_event(&r, "/c/k", "v5", 2000) >= 0, "a put after RESYNC not seen");
	CHECK(count_events(&r, "/c/k", "v1") == 0, "an event older than the compaction");
	etcd_watch_free(w);

	/* part 2: the member the watch uses (a follower, so that writes go on
	 * at once) freezes (SIGSTOP: no RST, no bytes); meanwhile puts and a
	 * compaction; after the idle timeout the watch resumes on another
	 * member from a revision now compacted */
	{
		size_t leader = (size_t)atol(env("ETCD_LEADER")) - 1, f = (leader + 1) % n_eps;
		const char *order[ETCD_MAX_ENDPOINTS];
		size_t n = 0;

		order[n++] = eps[f];
		for (size_t i = 0; i < n_eps; i++)
			if (i != f)
				order[n++] = eps[i];
		etcd_client_free(c);
		c = client_with(order, n, NULL, NULL, 0);
	}
	recorder_init(&r);
	w = watch(c, "/c/", put_retry(c, "/c/start", "x") + 1, 3000, &r);
	put(c, "/c/k", "w0");
	MUST(wait_event(&r, "/c/k", "w0", 3000) >= 0, "w0 not seen");
	{
		size_t m;
		int64_t rev = 0;
		const char *other;
		struct etcd_client *o;

		pthread_mutex_lock(&r.mu);
		m = member_of(r.endpoint);
		pthread_mutex_unlock(&r.mu);
		other = eps[atol(env("ETCD_LEADER")) - 1];
		CHECK(other != eps[m], "the watch is on the leader");
		o = client_with(&other, 1, NULL, NULL, 0);
		MUST(kill(pids[m], SIGSTOP) == 0, "SIGSTOP %d", (int)pids[m]);
		/* (when the frozen member led, writes wait for a new leader) */
		put_retry(o, "/c/k", "w1");
		put_retry(o, "/c/gone", "x");
		MUST(etcd_delete(o, "/c/gone", false, NULL, &err) == 0, "%s", err.message);
		rev = put_retry(o, "/c/k", "w2");
		compact(other, rev);
		CHECK(wait_kind(&r, ETCD_WATCH_RESYNC, 1, 8000), "no RESYNC after a frozen member and a compaction");
		CHECK(r.resync_rev == rev, "RESYNC at %lld, compacted at %lld", (long long)r.resync_rev,
		      (long long)rev);
		CHECK(wait_event(&r, "/c/k", "w2", 3000) >= 0, "w2 not delivered after RESYNC");
		MUST(kill(pids[m], SIGCONT) == 0, "SIGCONT");
		etcd_client_free(o);
	}
	etcd_watch_free(w);
	etcd_client_free(c);
}

static void mode_failover(void)
{
	/* the leader first, so the member in use is the leader */
	size_t leader = (size_t)atol(env("ETCD_LEADER")) - 1;
	const char *order[ETCD_MAX_ENDPOINTS];
	size_t n = 0, second, third;
	struct etcd_client *c;
	struct recorder r;
	struct etcd_watch *w;
	struct gpc_error err = { 0 };
	struct etcd_range rr;
	double t0;
	int ok = 0;
	int64_t rev0;

	order[n++] = eps[leader];
	for (size_t i = 0; i < n_eps; i++)
		if (i != leader)
			order[n++] = eps[i];
	c = client_with(order, n, NULL, NULL, 4000);
	rev0 = put_retry(c, "/f/k", "before");
	CHECK(strstr(eps[leader], etcd_client_endpoint(c)) != NULL, "not talking to the leader");
	recorder_init(&r);
	/* from the next revision: the watch is created asynchronously */
	w = watch(c, "/f/", rev0 + 1, 3000, &r);
	put(c, "/f/k", "w0");
	MUST(wait_event(&r, "/f/k", "w0", 3000) >= 0, "w0 not seen");

	/* kill -9 the leader, the member both use */
	MUST(kill(pids[leader], SIGKILL) == 0, "kill");
	t0 = now_ms();
	/* writes fail while a new leader is elected (about 2 s); a caller
	 * tries again, as the next cron run would */
	for (int i = 0; i < 20 && !ok; i++) {
		ok = etcd_put(c, "/f/k", "after", 5, 0, NULL, &err) == 0;
		if (!ok) {
			CHECK(strcmp(err.code, GPC_E_NETWORK) == 0, "error code %s: %s", err.code, err.message);
			if (verbose)
				fprintf(stderr, "put while electing: %s\n", err.message);
			sleep_ms(300);
		}
	}
	CHECK(ok, "no write accepted in 20 tries after the leader was killed: %s", err.message);
	printf("leader killed: first write accepted after %.0f ms, on %s\n", now_ms() - t0,
	       etcd_client_endpoint(c));
	CHECK(strstr(eps[leader], etcd_client_endpoint(c)) == NULL, "still on the dead member");
	CHECK(wait_event(&r, "/f/k", "after", 5000) >= 0, "the watch lost the write after failover");
	printf("watch: the write seen %.0f ms after the kill, on %s\n", r.ev[r.n - 1].at - t0, r.endpoint);
	CHECK(count_events(&r, "/f/k", "w0") == 1, "w0 delivered %zu times", count_events(&r, "/f/k", "w0"));

	/* no quorum: a second member killed, the third left alone */
	second = member_of(etcd_client_endpoint(c));
	third = 0;
	for (size_t i = 0; i < n_eps; i++)
		if (i != leader && i != second)
			third = i;
	/* the first failover may have said DOWN and UP already (an election
	 * slower than a round over the members): count from here */
	pthread_mutex_lock(&r.mu);
	int downs = r.kinds[ETCD_WATCH_DOWN], ups = r.kinds[ETCD_WATCH_UP];
	pthread_mutex_unlock(&r.mu);
	CHECK(downs == ups, "DOWN %d times but UP %d times before the second kill", downs, ups);
	MUST(kill(pids[second], SIGKILL) == 0, "kill");
	t0 = now_ms();
	CHECK(etcd_put(c, "/f/k", "lost", 4, 0, NULL, &err) == -1, "a write without quorum succeeded");
	CHECK(err.code != NULL && strcmp(err.code, GPC_E_NETWORK) == 0, "code %s", err.code);
	printf("no quorum: put failed after %.0f ms: %s\n  hint: %s\n", now_ms() - t0, err.message, err.hint);
	CHECK(now_ms() - t0 < 12000, "the write took %.0f ms to fail", now_ms() - t0);
	{
		struct etcd_range_opts so = { .serializable = true };
		CHECK(etcd_range(c, "/f/k", &so, &rr, &err) == 0 && rr.n == 1 &&
			      strcmp((char *)rr.kvs[0].value, "after") == 0,
		      "serializable read without quorum: %s", err.message);
		etcd_range_finish(&rr);
	}
	CHECK(wait_kind(&r, ETCD_WATCH_DOWN, downs + 1, 15000), "the watch never said DOWN");
	printf("watch DOWN: %s\n", r.last_err.message);
	/* the watch says DOWN once, not once per retry */
	sleep_ms(3000);
	CHECK(r.kinds[ETCD_WATCH_DOWN] == downs + 1, "DOWN said %d times after the second kill",
	      r.kinds[ETCD_WATCH_DOWN] - downs);
	(void)third;
	etcd_watch_free(w);
	etcd_client_free(c);
}

/* An outage and its end: two members frozen (SIGSTOP: connections accepted,
 * nothing answered), so the watch says DOWN once; thawed, it says UP and
 * delivers what follows. */
static void mode_outage(void)
{
	struct etcd_client *c = client();
	struct recorder r;
	struct etcd_watch *w;

	recorder_init(&r);
	w = watch(c, "/r/", put_retry(c, "/r/start", "x") + 1, 2000, &r);
	put(c, "/r/k", "x0");
	MUST(wait_event(&r, "/r/k", "x0", 3000) >= 0, "x0 not seen");
	MUST(kill(pids[1], SIGSTOP) == 0 && kill(pids[2], SIGSTOP) == 0, "SIGSTOP");
	CHECK(wait_kind(&r, ETCD_WATCH_DOWN, 1, 20000), "no DOWN with two members frozen");
	printf("outage: %s\n", r.last_err.message);
	sleep_ms(3000);
	MUST(kill(pids[1], SIGCONT) == 0 && kill(pids[2], SIGCONT) == 0, "SIGCONT");
	CHECK(wait_kind(&r, ETCD_WATCH_UP, 1, 20000), "no UP after the members came back");
	/* the watch can be up on a thawed member while the cluster still
	 * elects a leader: the write is tried again, as the next run would */
	put_retry(c, "/r/k", "x1");
	CHECK(wait_event(&r, "/r/k", "x1", 10000) >= 0, "x1 not seen after UP");
	/* once per outage: a loaded machine may see the thawed cluster lose
	 * its leader once more while it settles (a second outage), whose UP
	 * then follows its DOWN */
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&r.mu);
		bool even = r.kinds[ETCD_WATCH_DOWN] == r.kinds[ETCD_WATCH_UP];
		pthread_mutex_unlock(&r.mu);
		if (even)
			break;
		sleep_ms(20);
	}
	CHECK(r.kinds[ETCD_WATCH_DOWN] == r.kinds[ETCD_WATCH_UP] && r.kinds[ETCD_WATCH_DOWN] <= 2,
	      "DOWN %d UP %d", r.kinds[ETCD_WATCH_DOWN], r.kinds[ETCD_WATCH_UP]);
	etcd_watch_free(w);
	etcd_client_free(c);
}

static void mode_auth(void)
{
	const char *user = env("ETCD_USER"), *pw = env("ETCD_PASSWORD"), *prefix = env("ETCD_PREFIX");
	long token_ttl = atol(env("ETCD_TOKEN_TTL"));
	struct etcd_client *c = client_with((const char *const *)eps, n_eps, user, pw, 0), *x;
	struct gpc_error err = { 0 };
	struct etcd_range r;
	struct etcd_stats st;
	char key[128], *v;

	snprintf(key, sizeof(key), "%sa", prefix);
	put(c, key, "mine");
	v = get(c, key, NULL);
	CHECK(v != NULL && strcmp(v, "mine") == 0, "read back under the prefix");
	free(v);
	/* outside the prefix: a clear permission error naming key and user */
	CHECK(etcd_put(c, "/other/a", "x", 1, 0, NULL, &err) == -1, "a write outside the prefix succeeded");
	CHECK(strcmp(err.code, GPC_E_PERMISSION) == 0 && strstr(err.message, "/other/a") != NULL &&
		      strstr(err.message, "permission denied") != NULL && strstr(err.message, user) != NULL &&
		      strstr(err.hint, "grant-permission") != NULL,
	      "%s: %s (%s)", err.code, err.message, err.hint);
	printf("outside the prefix: %s\n  hint: %s\n", err.message, err.hint);
	CHECK(etcd_range(c, "/other/a", NULL, &r, &err) == -1 && strcmp(err.code, GPC_E_PERMISSION) == 0,
	      "read outside the prefix: %s", err.message);
	/* a lock outside the prefix (etcd answers 500 with code 2 there) */
	{
		int64_t id = 0;
		char *k = NULL;
		MUST(etcd_lease_grant(c, 5, &id, NULL, &err) == 0, "%s", err.message);
		CHECK(etcd_lock(c, "/other/lock", id, 3000, &k, &err) == -1 &&
			      strcmp(err.code, GPC_E_PERMISSION) == 0,
		      "lock outside the prefix: %s: %s", err.code, err.message);
		snprintf(key, sizeof(key), "%slock", prefix);
		CHECK(etcd_lock(c, key, id, 3000, &k, &err) == 0, "lock inside the prefix: %s", err.message);
		free(k);
		CHECK(etcd_lease_revoke(c, id, &err) == 0, "%s", err.message);
	}
	/* a watch outside the prefix fails for good, inside works */
	{
		struct recorder r1, r2;
		struct etcd_watch *w1, *w2;

		recorder_init(&r1);
		recorder_init(&r2);
		w1 = watch(c, "/other/", 0, 0, &r1);
		CHECK(wait_kind(&r1, ETCD_WATCH_FAILED, 1, 3000), "a watch outside the prefix did not fail");
		CHECK(r1.last_err.code != NULL && strcmp(r1.last_err.code, GPC_E_PERMISSION) == 0,
		      "watch failure: %s", r1.last_err.message);
		printf("watch outside the prefix: %s\n", r1.last_err.message);
		w2 = watch(c, prefix, 0, 0, &r2);
		snprintf(key, sizeof(key), "%sw", prefix);
		for (int i = 0; i < 30 && count_events(&r2, key, NULL) == 0; i++) {
			put(c, key, "x");
			sleep_ms(100);
		}
		CHECK(count_events(&r2, key, NULL) > 0, "a watch inside the prefix saw nothing");
		etcd_watch_free(w1);
		etcd_watch_free(w2);
	}
	/* the token expires: the client authenticates again by itself */
	etcd_client_stats(c, &st);
	CHECK(st.auths == 1, "%lu authentications before expiry", st.auths);
	sleep_ms(token_ttl * 1000 + 1500);
	snprintf(key, sizeof(key), "%sa", prefix);
	v = get(c, key, NULL);
	CHECK(v != NULL, "a read after the token expired");
	free(v);
	etcd_client_stats(c, &st);
	CHECK(st.auths == 2, "%lu authentications after expiry (want 2)", st.auths);
	/* wrong password, no user at all */
	x = client_with((const char *const *)eps, n_eps, user, "wrong-password", 0);
	CHECK(etcd_range(x, key, NULL, &r, &err) == -1 && strcmp(err.code, GPC_E_PERMISSION) == 0 &&
		      strstr(err.message, "authentication failed") != NULL && strstr(err.message, user) != NULL,
	      "wrong password: %s: %s", err.code, err.message);
	printf("wrong password: %s\n  hint: %s\n", err.message, err.hint);
	etcd_client_free(x);
	x = client();
	CHECK(etcd_range(x, key, NULL, &r, &err) == -1 && strcmp(err.code, GPC_E_PERMISSION) == 0 &&
		      strstr(err.hint, "GOPROXY_CERT_STORE_USER") != NULL,
	      "no user: %s: %s", err.code, err.message);
	printf("no user: %s\n  hint: %s\n", err.message, err.hint);
	etcd_client_free(x);
	etcd_client_free(c);
	/* no secret in any log line (the debug level was on throughout) */
	pthread_mutex_lock(&log_mu);
	CHECK(log_all.len > 0 && strstr(log_all.data, pw) == NULL, "the password is in the log");
	CHECK(strstr(log_all.data, "wrong-password") == NULL, "the wrong password is in the log");
	CHECK(strstr(log_all.data, "Authorization") == NULL, "an Authorization header is in the log");
	pthread_mutex_unlock(&log_mu);
}

/* TLS with client certificates and a user limited to the prefix (the
 * setup goproxy-cert(5) recommends). */
static void mode_tls(void)
{
	const char *user = env("ETCD_USER"), *pw = env("ETCD_PASSWORD");
	struct etcd_client *c = client_with((const char *const *)eps, n_eps, user, pw, 0), *x;
	struct etcd_options o = { 0 };
	struct gpc_error err = { 0 };
	struct etcd_range r;
	struct recorder rec;
	struct etcd_watch *w;
	char *v;

	CHECK(strncmp(eps[0], "https://", 8) == 0, "not a TLS cluster: %s", eps[0]);
	put(c, "/fleet/a", "secret");
	v = get(c, "/fleet/a", NULL);
	CHECK(v != NULL && strcmp(v, "secret") == 0, "read back over TLS");
	free(v);
	CHECK(etcd_put(c, "/other/a", "x", 1, 0, NULL, &err) == -1 && strcmp(err.code, GPC_E_PERMISSION) == 0,
	      "outside the prefix over TLS: %s", err.message);
	recorder_init(&rec);
	w = watch(c, "/fleet/", 0, 0, &rec);
	for (int i = 0; i < 30 && count_events(&rec, "/fleet/w", NULL) == 0; i++) {
		put(c, "/fleet/w", "x");
		sleep_ms(100);
	}
	CHECK(count_events(&rec, "/fleet/w", NULL) > 0, "the watch over TLS saw nothing");
	etcd_watch_free(w);
	/* no client certificate: refused, the hint names the options */
	o.endpoints = (const char *const *)eps;
	o.n_endpoints = n_eps;
	o.cacert = env("ETCD_CACERT");
	o.user = user;
	o.password = pw;
	o.timeout_ms = 3000;
	MUST(etcd_client_new(&o, &x, &err) == 0, "%s", err.message);
	CHECK(etcd_range(x, "/fleet/a", NULL, &r, &err) == -1, "a client without certificate was answered");
	CHECK(strstr(err.hint, "--store-cert") != NULL, "hint: %s", err.hint);
	printf("no client certificate: %s\n  hint: %s\n", err.message, err.hint);
	etcd_client_free(x);
	/* no CA: the members' certificates are not trusted */
	o.cacert = NULL;
	o.cert = env("ETCD_CLIENT_CERT");
	o.key = env("ETCD_CLIENT_KEY");
	MUST(etcd_client_new(&o, &x, &err) == 0, "%s", err.message);
	CHECK(etcd_range(x, "/fleet/a", NULL, &r, &err) == -1 && strcmp(err.code, GPC_E_TLS) == 0 &&
		      strstr(err.hint, "--store-cacert") != NULL,
	      "no CA: %s: %s (%s)", err.code, err.message, err.hint);
	printf("no CA: %s\n  hint: %s\n", err.message, err.hint);
	etcd_client_free(x);
	/* the certificate but no user: etcd wants one */
	x = client();
	CHECK(etcd_range(x, "/fleet/a", NULL, &r, &err) == -1 && strcmp(err.code, GPC_E_PERMISSION) == 0,
	      "no user over TLS: %s: %s", err.code, err.message);
	etcd_client_free(x);
	/* a client certificate with a Common Name: with auth enabled, the
	 * gateway refuses it (400, plain text) */
	o.cacert = env("ETCD_CACERT");
	o.cert = env("ETCD_CN_CERT");
	o.key = env("ETCD_CN_KEY");
	MUST(etcd_client_new(&o, &x, &err) == 0, "%s", err.message);
	memset(&err, 0, sizeof(err));
	CHECK(etcd_range(x, "/fleet/a", NULL, &r, &err) == -1 && err.code != NULL &&
		      strcmp(err.code, GPC_E_TLS) == 0 && strstr(err.hint, "Common Name") != NULL,
	      "CN certificate: %s: %s (%s)", err.code, err.message, err.hint);
	printf("client certificate with a CN: %s\n  hint: %s\n", err.message, err.hint);
	etcd_client_free(x);
	etcd_client_free(c);
}

int main(int argc, char **argv)
{
	const char *mode;

	if (argc < 2) {
		fprintf(stderr, "usage: etcd_client kv|lock|watch|compact|failover|outage|auth|tls [-v]\n");
		return 64;
	}
	mode = argv[1];
	verbose = argc > 2 && strcmp(argv[2], "-v") == 0;
	buf_init(&log_all, 64u << 20);
	gpc_log_set_handler(log_cb, NULL, GPC_LOG_DEBUG);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cluster_load();
	if (strcmp(mode, "kv") == 0)
		mode_kv();
	else if (strcmp(mode, "lock") == 0)
		mode_lock();
	else if (strcmp(mode, "watch") == 0)
		mode_watch();
	else if (strcmp(mode, "compact") == 0)
		mode_compact();
	else if (strcmp(mode, "failover") == 0)
		mode_failover();
	else if (strcmp(mode, "outage") == 0)
		mode_outage();
	else if (strcmp(mode, "auth") == 0)
		mode_auth();
	else if (strcmp(mode, "tls") == 0)
		mode_tls();
	else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 64;
	}
	if (failures > 0) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("%s: ok\n", mode);
	return 0;
}

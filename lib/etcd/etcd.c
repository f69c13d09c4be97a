/* etcd: v3 JSON gateway client (see etcd.h for the contract). One CURL easy
 * handle per client, kept between requests so the connection to the member
 * is reused; the watch runs its own easy handle in a multi handle so that
 * etcd_watch_free can wake it at once. */
#include "etcd.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "b64.h"
#include "buf.h"
#include "log.h"

#ifndef GPC_VERSION
#define GPC_VERSION "0"
#endif

#define ETCD_MAX_BODY (64u * 1024 * 1024) /* a prefix range of every pair fits */
#define ETCD_DEFAULT_CONNECT_MS 3000L
#define ETCD_DEFAULT_TIMEOUT_MS 10000L
#define ETCD_DEFAULT_IDLE_MS 30000L

struct etcd_client {
	char *endpoints[ETCD_MAX_ENDPOINTS];
	char hosts[ETCD_MAX_ENDPOINTS][256]; /* "HOST:PORT" for messages */
	size_t n_ep;
	size_t cur; /* the member tried first: the last one that answered */
	char *cacert, *cert, *key, *user, *password;
	long connect_timeout_ms, timeout_ms;
	char *token; /* auth token, never logged */
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	struct buf body;
	struct etcd_stats stats;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- small helpers ---- */

static bool code_is(const struct gpc_error *e, const char *code)
{
	return e->code != NULL && strcmp(e->code, code) == 0;
}

static char *xstrdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* int64 fields come as JSON strings ("123"), sometimes as numbers. */
static int64_t jint64(struct json_object *o, const char *name)
{
	struct json_object *v;
	const char *s;
	char *end;
	long long n;

	if (o == NULL || !json_object_object_get_ex(o, name, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_string))
		return 0;
	s = json_object_get_string(v);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return 0;
	return (int64_t)n;
}

static bool jbool(struct json_object *o, const char *name)
{
	struct json_object *v;

	return o != NULL && json_object_object_get_ex(o, name, &v) && v != NULL &&
	       json_object_get_boolean(v);
}

static const char *jstr(struct json_object *o, const char *name)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, name, &v) || v == NULL ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *jobj(struct json_object *o, const char *name)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, name, &v) || v == NULL ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

static struct json_object *jarr(struct json_object *o, const char *name)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, name, &v) || v == NULL ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

/* Add "name": base64(data). Returns 0 or -1 (out of memory). */
static int jadd_b64(struct json_object *o, const char *name, const void *data, size_t len)
{
	char *s = b64std_encode(data, len);

	if (s == NULL)
		return -1;
	json_object_object_add(o, name, json_object_new_string(s));
	free(s);
	return 0;
}

static void jadd_int64(struct json_object *o, const char *name, int64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRId64, v);
	json_object_object_add(o, name, json_object_new_string(s));
}

/* The end of the range of every key starting with `key`: the key with its
 * last byte that can be incremented incremented (etcd's GetPrefixRangeEnd).
 * *len gets its length. Returns malloc'd bytes, or NULL. An all-0xff key has
 * no end: "\0" (every key from `key` on). */
static char *prefix_end(const char *key, size_t *len)
{
	size_t n = strlen(key);
	char *e = malloc(n + 1);

	if (e == NULL)
		return NULL;
	memcpy(e, key, n + 1);
	while (n > 0) {
		if ((unsigned char)e[n - 1] < 0xff) {
			e[n - 1] = (char)((unsigned char)e[n - 1] + 1);
			e[n] = '\0';
			*len = n;
			return e;
		}
		n--;
	}
	e[0] = '\0';
	*len = 1;
	return e;
}

static int jadd_range_end(struct json_object *o, const char *key)
{
	size_t n = 0;
	char *e = prefix_end(key, &n);
	int rc;

	if (e == NULL)
		return -1;
	rc = jadd_b64(o, "range_end", e, n);
	free(e);
	return rc;
}

/* Decode a base64 field into a malloc'd NUL-terminated buffer. A missing
 * field is an empty value (zero values are left out). */
static int jb64(struct json_object *o, const char *name, unsigned char **out, size_t *len)
{
	const char *s = jstr(o, name);

	if (s == NULL) {
		*out = calloc(1, 1);
		*len = 0;
		return *out != NULL ? 0 : -1;
	}
	return b64url_decode(s, strlen(s), out, len);
}

static void kv_finish(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static int kv_parse(struct json_object *o, struct etcd_kv *kv)
{
	size_t klen = 0;

	memset(kv, 0, sizeof(*kv));
	if (jb64(o, "key", (unsigned char **)&kv->key, &klen) < 0 ||
	    jb64(o, "value", &kv->value, &kv->value_len) < 0) {
		kv_finish(kv);
		return -1;
	}
	kv->create_revision = jint64(o, "create_revision");
	kv->mod_revision = jint64(o, "mod_revision");
	kv->version = jint64(o, "version");
	kv->lease = jint64(o, "lease");
	return 0;
}

void etcd_range_finish(struct etcd_range *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		kv_finish(&r->kvs[i]);
	free(r->kvs);
	memset(r, 0, sizeof(*r));
}

static int range_parse(struct json_object *o, int64_t revision, struct etcd_range *r)
{
	struct json_object *kvs = jarr(o, "kvs");
	size_t n = kvs != NULL ? json_object_array_length(kvs) : 0;

	memset(r, 0, sizeof(*r));
	r->count = jint64(o, "count");
	r->more = jbool(o, "more");
	r->revision = revision;
	if (n == 0)
		return 0;
	r->kvs = calloc(n, sizeof(*r->kvs));
	if (r->kvs == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (kv_parse(json_object_array_get_idx(kvs, i), &r->kvs[r->n]) < 0) {
			etcd_range_finish(r);
			return -1;
		}
		r->n++;
	}
	return 0;
}

static int64_t header_revision(struct json_object *resp)
{
	return jint64(jobj(resp, "header"), "revision");
}

/* ---- the client ---- */

/* "http://127.0.0.1:2379" -> "127.0.0.1:2379"; refuses paths and other
 * schemes. Returns 0 or -1. */
static int endpoint_check(const char *url, char *host, size_t hostsz, struct gpc_error *err)
{
	const char *p;
	size_t n;

	if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else {
		gpc_error_set(err, GPC_E_USAGE, "etcd endpoint '%s': not an http:// or https:// URL", url);
		return gpc_error_hint(err, "give each member as HOST:PORT (etcd://HOST:PORT,HOST:PORT "
					   "or etcd+https://... for TLS)");
	}
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n == 0 || n >= hostsz || memchr(p, '/', n) != NULL || memchr(p, '?', n) != NULL ||
	    memchr(p, '@', n) != NULL) {
		gpc_error_set(err, GPC_E_USAGE, "etcd endpoint '%s': want SCHEME://HOST:PORT", url);
		return gpc_error_hint(err, "give each member as HOST:PORT, e.g. 127.0.0.1:2379");
	}
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
}

static int file_check(const char *what, const char *path, struct gpc_error *err)
{
	if (path == NULL || access(path, R_OK) == 0)
		return 0;
	gpc_error_sys(err, errno, "read", path);
	return gpc_error_hint(err, "the etcd %s must be a readable PEM file", what);
}

static int client_setup(struct etcd_client *c, struct gpc_error *err)
{
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return gpc_error_set(err, GPC_E_INTERNAL, "libcurl initialisation failed: %s",
				     curl_easy_strerror(curl_init_rc));
	c->easy = curl_easy_init();
	if (c->easy == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	buf_init(&c->body, ETCD_MAX_BODY);
	return 0;
}

void etcd_client_free(struct etcd_client *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_ep; i++)
		free(c->endpoints[i]);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	free(c->user);
	if (c->password != NULL)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	buf_finish(&c->body);
	free(c);
}

int etcd_client_new(const struct etcd_options *opt, struct etcd_client **out, struct gpc_error *err)
{
	struct etcd_client *c;

	if (opt == NULL || opt->n_endpoints == 0 || opt->endpoints == NULL)
		return gpc_error_set(err, GPC_E_USAGE, "etcd: no endpoint given");
	if (opt->n_endpoints > ETCD_MAX_ENDPOINTS)
		return gpc_error_set(err, GPC_E_USAGE, "etcd: %zu endpoints, at most %d", opt->n_endpoints,
				     ETCD_MAX_ENDPOINTS);
	if ((opt->cert == NULL) != (opt->key == NULL)) {
		gpc_error_set(err, GPC_E_USAGE, "etcd: a client certificate needs its key and a key its certificate");
		return gpc_error_hint(err, "give both --store-cert and --store-key, or neither");
	}
	if (opt->user != NULL && opt->password == NULL) {
		gpc_error_set(err, GPC_E_USAGE, "etcd user '%s' given without a password", opt->user);
		return gpc_error_hint(err, "set GOPROXY_CERT_STORE_PASSWORD or GOPROXY_CERT_STORE_PASSWORD_FILE");
	}
	if (file_check("CA certificate", opt->cacert, err) < 0 ||
	    file_check("client certificate", opt->cert, err) < 0 ||
	    file_check("client key", opt->key, err) < 0)
		return -1;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	for (size_t i = 0; i < opt->n_endpoints; i++) {
		if (endpoint_check(opt->endpoints[i], c->hosts[i], sizeof(c->hosts[i]), err) < 0)
			goto fail;
		c->endpoints[i] = strdup(opt->endpoints[i]);
		if (c->endpoints[i] == NULL)
			goto nomem;
		/* drop trailing slashes: paths are appended */
		for (size_t n = strlen(c->endpoints[i]); n > 0 && c->endpoints[i][n - 1] == '/'; n--)
			c->endpoints[i][n - 1] = '\0';
		c->n_ep++;
	}
	c->cacert = xstrdup(opt->cacert);
	c->cert = xstrdup(opt->cert);
	c->key = xstrdup(opt->key);
	c->user = xstrdup(opt->user);
	c->password = xstrdup(opt->password);
	if ((opt->cacert && !c->cacert) || (opt->cert && !c->cert) || (opt->key && !c->key) ||
	    (opt->user && !c->user) || (opt->password && !c->password))
		goto nomem;
	c->connect_timeout_ms = opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : ETCD_DEFAULT_CONNECT_MS;
	c->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : ETCD_DEFAULT_TIMEOUT_MS;
	if (client_setup(c, err) < 0)
		goto fail;
	*out = c;
	return 0;
nomem:
	gpc_error_set(err, GPC_E_NOMEM, "out of memory");
fail:
	etcd_client_free(c);
	return -1;
}

int etcd_client_dup(const struct etcd_client *src, struct etcd_client **out, struct gpc_error *err)
{
	struct etcd_options o = {
		.endpoints = (const char *const *)src->endpoints,
		.n_endpoints = src->n_ep,
		.cacert = src->cacert,
		.cert = src->cert,
		.key = src->key,
		.user = src->user,
		.password = src->password,
		.connect_timeout_ms = src->connect_timeout_ms,
		.timeout_ms = src->timeout_ms,
	};
	struct etcd_client *c;

	if (etcd_client_new(&o, &c, err) < 0)
		return -1;
	c->cur = src->cur;
	if (src->token != NULL && (c->token = strdup(src->token)) == NULL) {
		etcd_client_free(c);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	*out = c;
	return 0;
}

const char *etcd_client_endpoint(const struct etcd_client *c)
{
	return c->hosts[c->cur];
}

void etcd_client_stats(const struct etcd_client *c, struct etcd_stats *out)
{
	*out = c->stats;
}

static size_t body_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct etcd_client *c = ud;
	size_t len = size * nmemb;

	return buf_add(&c->body, data, len) == 0 ? len : 0;
}

/* Options every request of this client (and its watch) shares. */
static void easy_common(const struct etcd_client *c, CURL *h, char *errbuf)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "goproxy-cert/" GPC_VERSION);
	if (c->cacert != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
	if (c->cert != NULL) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
	}
}

/* How one attempt on one member ended. */
enum attempt {
	ATT_OK,      /* 200 with a JSON object */
	ATT_NEXT,    /* not sent or a read: try the next member */
	ATT_UNKNOWN, /* a write may have been applied: stop, say so */
	ATT_AUTH,    /* 401: authenticate again, same member */
	ATT_FATAL,   /* a definite answer (permission, bad request, TLS setup) */
};

struct call {
	const char *op;   /* "range", "put", ... for messages */
	const char *key;  /* the key, for messages; may be NULL */
	const char *path; /* "/v3/kv/range" */
	bool write;       /* may have been applied when it timed out */
	bool no_auth;     /* the authenticate call itself */
	long timeout_ms;  /* 0: the client's */
	bool wait;        /* a timeout is the lock wait running out */
};

static const char *key_sep(const struct call *k)
{
	return k->key != NULL ? " " : "";
}

/* Classify a failed transfer. */
static enum attempt curl_failed(struct etcd_client *c, const struct call *k, size_t ep, CURLcode rc,
				struct gpc_error *err)
{
	const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
	const char *host = c->hosts[ep];
	long sent = 0;

	curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &sent);
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		gpc_error_set(err, GPC_E_NETWORK, "etcd %s: %s%s%s: cannot connect (%s)", host, k->op,
			      key_sep(k), k->key ? k->key : "", detail);
		return ATT_NEXT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		gpc_error_set(err, GPC_E_TLS, "etcd %s: %s%s%s: TLS handshake failed (%s)", host, k->op,
			      key_sep(k), k->key ? k->key : "", detail);
		gpc_error_hint(err, "give the CA of the etcd members (--store-cacert) and, when they "
				    "require client certificates, --store-cert and --store-key");
		return ATT_NEXT;
	case CURLE_OPERATION_TIMEDOUT:
		if (k->wait) {
			gpc_error_set(err, GPC_E_LOCKED, "etcd %s: %s%s%s: not granted within %.1f s", host,
				      k->op, key_sep(k), k->key ? k->key : "",
				      (double)k->timeout_ms / 1000.0);
			gpc_error_hint(err, "another node holds it (or etcd is slow); try again later");
			return ATT_FATAL;
		}
		gpc_error_set(err, GPC_E_NETWORK, "etcd %s: %s%s%s: no answer within %.1f s%s", host, k->op,
			      key_sep(k), k->key ? k->key : "",
			      (double)(k->timeout_ms ? k->timeout_ms : c->timeout_ms) / 1000.0,
			      k->write && sent > 0 ? " (outcome unknown)" : "");
		break;
	default:
		gpc_error_set(err, GPC_E_NETWORK, "etcd %s: %s%s%s: connection failed (%s)%s", host, k->op,
			      key_sep(k), k->key ? k->key : "", detail,
			      k->write && sent > 0 ? " (outcome unknown)" : "");
		/* a member that refuses a missing client certificate completes
		 * the handshake, then drops the connection (send or receive
		 * error, or the socket gone before curl looked at it) */
		if (c->cert == NULL && strncmp(c->endpoints[ep], "https:", 6) == 0) {
			gpc_error_hint(err, "if the etcd members require client certificates "
					    "(--client-cert-auth), give --store-cert and --store-key");
			return ATT_NEXT;
		}
		break;
	}
	if (k->write && sent > 0) {
		gpc_error_hint(err, "the write may or may not have been applied; read it back before deciding");
		return ATT_UNKNOWN;
	}
	return ATT_NEXT;
}

/* Classify a non-200 answer from etcd: {"error","message","code"} (gRPC code). */
static enum attempt http_failed(struct etcd_client *c, const struct call *k, size_t ep, long status,
				struct json_object *body, struct gpc_error *err)
{
	const char *host = c->hosts[ep];
	const char *msg = jstr(body, "message");
	int64_t code = jint64(body, "code");
	const char *key = k->key ? k->key : "";

	if (msg == NULL) {
		/* not JSON: the gateway's own plain-text refusals */
		msg = c->body.len > 0 && c->body.data != NULL ? c->body.data : "(empty answer)";
		if (strstr(msg, "CommonName of client") != NULL) {
			gpc_error_set(err, GPC_E_TLS, "etcd %s: %s%s%s: HTTP %ld: %.200s", host, k->op,
				      key_sep(k), key, status, msg);
			gpc_error_hint(err, "etcd's JSON gateway refuses client certificates that carry a "
					    "Common Name: issue the client certificate with an empty CN "
					    "(e.g. subject O=goproxy-cert) and authenticate with a user");
			return ATT_FATAL;
		}
	}
	if (status == 401 || code == 16) {
		gpc_error_set(err, GPC_E_PERMISSION, "etcd %s: %s%s%s: %s", host, k->op, key_sep(k), key, msg);
		gpc_error_hint(err, "check the etcd user and password (GOPROXY_CERT_STORE_USER, "
				    "GOPROXY_CERT_STORE_PASSWORD)");
		return c->user != NULL && !k->no_auth ? ATT_AUTH : ATT_FATAL;
	}
	if (status == 403 || code == 7 || strstr(msg, "permission denied") != NULL) {
		gpc_error_set(err, GPC_E_PERMISSION, "etcd %s: %s%s%s: %s (user %s)", host, k->op, key_sep(k),
			      key, msg, c->user ? c->user : "none");
		gpc_error_hint(err, "the etcd user needs a role with readwrite on the store's prefix "
				    "(etcdctl role grant-permission ROLE --prefix=true readwrite PREFIX)");
		return ATT_FATAL;
	}
	if (strstr(msg, "authentication failed") != NULL || strstr(msg, "user name is empty") != NULL ||
	    strstr(msg, "authentication is not enabled") != NULL) {
		gpc_error_set(err, GPC_E_PERMISSION, "etcd %s: %s%s%s: %s", host, k->op, key_sep(k), key, msg);
		if (strstr(msg, "user name is empty") != NULL)
			gpc_error_hint(err, "etcd has authentication enabled: set GOPROXY_CERT_STORE_USER and "
					    "GOPROXY_CERT_STORE_PASSWORD (or _FILE)");
		else if (strstr(msg, "not enabled") != NULL)
			gpc_error_hint(err, "etcd has no authentication: unset GOPROXY_CERT_STORE_USER");
		else
			gpc_error_hint(err, "check GOPROXY_CERT_STORE_USER and GOPROXY_CERT_STORE_PASSWORD (or _FILE)");
		return ATT_FATAL;
	}
	if (status == 404 || code == 5) {
		gpc_error_set(err, GPC_E_MISSING, "etcd %s: %s%s%s: %s", host, k->op, key_sep(k), key, msg);
		return ATT_FATAL;
	}
	if (status >= 500 || code == 14 || code == 4) {
		/* Refused before it was proposed: safe anywhere. */
		bool safe = strstr(msg, "no leader") != NULL || strstr(msg, "not capable") != NULL;

		gpc_error_set(err, GPC_E_NETWORK, "etcd %s: %s%s%s: %s%s", host, k->op, key_sep(k), key, msg,
			      k->write && !safe ? " (outcome unknown)" : "");
		gpc_error_hint(err, "etcd has no quorum or is overloaded: check that most members run "
				    "(etcdctl endpoint health); try again later");
		if (k->write && !safe) {
			gpc_error_hint(err, "etcd has no quorum or is overloaded; the write may or may not have "
					    "been applied: read it back before deciding; try again later");
			return ATT_UNKNOWN;
		}
		return ATT_NEXT;
	}
	gpc_error_set(err, GPC_E_INVALID, "etcd %s: %s%s%s: HTTP %ld: %s", host, k->op, key_sep(k), key, status,
		      msg);
	return ATT_FATAL;
}

static int authenticate(struct etcd_client *c, struct gpc_error *err);

/* One attempt: POST the request to member `ep`. */
static enum attempt attempt(struct etcd_client *c, const struct call *k, size_t ep, const char *req,
			    size_t reqlen, struct json_object **resp, struct gpc_error *err)
{
	struct curl_slist *hdrs = NULL;
	char url[512], auth[1100];
	struct json_object *o = NULL;
	enum attempt a;
	long status = 0;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", c->endpoints[ep], k->path);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (c->token != NULL && !k->no_auth) {
		snprintf(auth, sizeof(auth), "Authorization: %s", c->token);
		hdrs = curl_slist_append(hdrs, auth);
		explicit_bzero(auth, sizeof(auth));
	}
	if (hdrs == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		return ATT_FATAL;
	}
	buf_reset(&c->body);
	c->errbuf[0] = '\0';
	curl_easy_reset(c->easy);
	easy_common(c, c->easy, c->errbuf);
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)reqlen);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, k->timeout_ms > 0 ? k->timeout_ms : c->timeout_ms);
	c->stats.requests++;
	rc = curl_easy_perform(c->easy);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		gpc_debug("etcd POST %s%s: %s", c->hosts[ep], k->path,
			  c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
		return curl_failed(c, k, ep, rc, err);
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	gpc_debug("etcd POST %s%s -> %ld (%zu bytes)", c->hosts[ep], k->path, status, c->body.len);
	if (c->body.len > 0) {
		o = json_tokener_parse(c->body.data);
		if (o != NULL && !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			o = NULL;
		}
	}
	if (status == 200 && o != NULL) {
		*resp = o;
		return ATT_OK;
	}
	if (status == 200) {
		gpc_error_set(err, GPC_E_INVALID, "etcd %s: %s%s%s: the answer is not a JSON object",
			      c->hosts[ep], k->op, key_sep(k), k->key ? k->key : "");
		gpc_error_hint(err, "is %s an etcd (v3.4 or later) client URL?", c->endpoints[ep]);
		return ATT_FATAL;
	}
	a = http_failed(c, k, ep, status, o, err);
	json_object_put(o);
	return a;
}

/* POST `req` to the members in turn (from the last good one), following the
 * retry rules in etcd.h. *resp gets the answer (caller: json_object_put). */
static int call(struct etcd_client *c, const struct call *k, struct json_object *req,
		struct json_object **resp, struct gpc_error *err)
{
	const char *body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(body);
	char tried[768] = "", hint[sizeof(err->hint)] = "";
	bool reauthed = false;
	struct gpc_error last;

	gpc_error_clear(&last);
	if (c->user != NULL && c->token == NULL && !k->no_auth && authenticate(c, err) < 0)
		return -1;
	for (size_t i = 0; i < c->n_ep; i++) {
		size_t ep = (c->cur + i) % c->n_ep;
		enum attempt a = attempt(c, k, ep, body, len, resp, &last);

		if (a == ATT_AUTH && !reauthed) {
			/* the token expired (or the member restarted): once more */
			reauthed = true;
			free(c->token);
			c->token = NULL;
			if (authenticate(c, err) < 0)
				return -1;
			a = attempt(c, k, ep, body, len, resp, &last);
		}
		if (a == ATT_OK) {
			if (ep != c->cur)
				gpc_info("etcd: now using member %s", c->hosts[ep]);
			c->cur = ep;
			return 0;
		}
		if (a != ATT_NEXT) {
			*err = last;
			return -1;
		}
		if (hint[0] == '\0' && last.hint[0] != '\0')
			snprintf(hint, sizeof(hint), "%s", last.hint);
		/* remember what each member said, for the final message:
		 * "HOST: cause" without the repeated operation and key */
		{
			char pre[512];
			size_t tl = strlen(tried), pl;
			const char *cause = last.message;

			pl = (size_t)snprintf(pre, sizeof(pre), "etcd %s: %s%s%s: ", c->hosts[ep], k->op,
					      key_sep(k), k->key ? k->key : "");
			if (pl < sizeof(pre) && strncmp(cause, pre, pl) == 0)
				cause += pl;
			snprintf(tried + tl, sizeof(tried) - tl, "%s%s: %.300s", tl ? "; " : "", c->hosts[ep], cause);
		}
		if (i + 1 < c->n_ep) {
			c->stats.failovers++;
			gpc_info("%s; trying the next member", last.message);
		}
	}
	if (c->n_ep == 1) {
		*err = last;
		return -1;
	}
	gpc_error_set(err, last.code, "etcd: %s%s%s: no member answered (%s)", k->op, key_sep(k),
		      k->key ? k->key : "", tried);
	if (hint[0] != '\0')
		gpc_error_hint(err, "%s", hint);
	else
		gpc_error_hint(err, "check that the etcd members run and have quorum (etcdctl endpoint "
				    "health); try again later");
	return -1;
}

static int authenticate(struct etcd_client *c, struct gpc_error *err)
{
	struct json_object *req = json_object_new_object(), *resp = NULL;
	const struct call k = { .op = "authenticate as", .key = c->user, .path = "/v3/auth/authenticate",
				.no_auth = true };
	const char *tok;
	int rc = -1;

	if (req == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	json_object_object_add(req, "name", json_object_new_string(c->user));
	json_object_object_add(req, "password", json_object_new_string(c->password));
	c->stats.auths++;
	if (call(c, &k, req, &resp, err) < 0)
		goto out;
	tok = jstr(resp, "token");
	if (tok == NULL || *tok == '\0') {
		gpc_error_set(err, GPC_E_PERMISSION, "etcd %s: authenticate as %s: no token in the answer",
			      etcd_client_endpoint(c), c->user);
		gpc_error_hint(err, "is authentication enabled in etcd (etcdctl auth enable)?");
		goto out;
	}
	free(c->token);
	c->token = strdup(tok);
	if (c->token == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	/* the answer held the token */
	if (c->body.data != NULL)
		explicit_bzero(c->body.data, c->body.len);
	json_object_put(req);
	json_object_put(resp);
	return rc;
}

/* ---- KV ---- */

int etcd_range(struct etcd_client *c, const char *key, const struct etcd_range_opts *o,
	       struct etcd_range *out, struct gpc_error *err)
{
	struct json_object *req = json_object_new_object(), *resp = NULL;
	const struct call k = { .op = o && o->prefix ? "range" : "get", .key = key, .path = "/v3/kv/range" };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (req == NULL || jadd_b64(req, "key", key, strlen(key)) < 0 ||
	    (o != NULL && o->prefix && jadd_range_end(req, key) < 0)) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	if (o != NULL) {
		if (o->serializable)
			json_object_object_add(req, "serializable", json_object_new_boolean(1));
		if (o->keys_only)
			json_object_object_add(req, "keys_only", json_object_new_boolean(1));
		if (o->count_only)
			json_object_object_add(req, "count_only", json_object_new_boolean(1));
		if (o->limit > 0)
			jadd_int64(req, "limit", o->limit);
		if (o->revision > 0)
			jadd_int64(req, "revision", o->revision);
	}
	if (call(c, &k, req, &resp, err) < 0)
		goto out;
	if (range_parse(resp, header_revision(resp), out) < 0) {
		gpc_error_set(err, GPC_E_INVALID, "etcd %s: %s %s: bad base64 in the answer",
			      etcd_client_endpoint(c), k.op, key);
		goto out;
	}
	rc = 0;
out:
	json_object_put(req);
	json_object_put(resp);
	return rc;
}

/* Fill a RequestOp-shaped put/delete/range object. */
static int op_fill(struct json_object *o, const struct etcd_op *op)
{
	if (jadd_b64(o, "key", op->key, strlen(op->key)) < 0)
		return -1;
	switch (op->kind) {
	case ETCD_OP_PUT:
		if (jadd_b64(o, "value", op->value ? op->value : "", op->value_len) < 0)
			return -1;
		if (op->lease != 0)
			jadd_int64(o, "lease", op->lease);
		break;
	case ETCD_OP_RANGE:
	case ETCD_OP_DELETE:
		if (op->prefix && jadd_range_end(o, op->key) < 0)
			return -1;
		break;
	}
	return 0;
}

/* One put or delete request built from `op`; *resp gets the answer
 * (caller: json_object_put). Returns 0 or -1. */
static int single_op(struct etcd_client *c, const struct call *k, const struct etcd_op *op,
		     struct json_object **resp, struct gpc_error *err)
{
	struct json_object *req = json_object_new_object();
	int rc = -1;

	*resp = NULL;
	if (req == NULL || op_fill(req, op) < 0)
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	else
		rc = call(c, k, req, resp, err);
	json_object_put(req);
	return rc;
}

int etcd_put(struct etcd_client *c, const char *key, const void *value, size_t len, int64_t lease,
	     int64_t *revision, struct gpc_error *err)
{
	const struct etcd_op op = { .kind = ETCD_OP_PUT, .key = key, .value = value, .value_len = len,
				    .lease = lease };
	const struct call k = { .op = "put", .key = key, .path = "/v3/kv/put", .write = true };
	struct json_object *resp;

	if (single_op(c, &k, &op, &resp, err) < 0)
		return -1;
	if (revision != NULL)
		*revision = header_revision(resp);
	json_object_put(resp);
	return 0;
}

int etcd_delete(struct etcd_client *c, const char *key, bool prefix, int64_t *deleted,
		struct gpc_error *err)
{
	const struct etcd_op op = { .kind = ETCD_OP_DELETE, .key = key, .prefix = prefix };
	const struct call k = { .op = "delete", .key = key, .path = "/v3/kv/deleterange", .write = true };
	struct json_object *resp;

	if (single_op(c, &k, &op, &resp, err) < 0)
		return -1;
	if (deleted != NULL)
		*deleted = jint64(resp, "deleted");
	json_object_put(resp);
	return 0;
}

void etcd_txn_result_finish(struct etcd_txn_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_ranges; i++)
		etcd_range_finish(&r->ranges[i]);
	free(r->ranges);
	memset(r, 0, sizeof(*r));
}

static struct json_object *ops_json(const struct etcd_op *ops, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr != NULL && i < n; i++) {
		struct json_object *wrap = json_object_new_object(), *o = json_object_new_object();
		const char *name = ops[i].kind == ETCD_OP_PUT     ? "request_put"
				   : ops[i].kind == ETCD_OP_DELETE ? "request_delete_range"
								   : "request_range";
		if (wrap == NULL || o == NULL || op_fill(o, &ops[i]) < 0) {
			json_object_put(wrap);
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
		json_object_object_add(wrap, name, o);
		json_object_array_add(arr, wrap);
	}
	return arr;
}

static struct json_object *cmps_json(const struct etcd_cmp *cmp, size_t n)
{
	static const char *const targets[] = { "VERSION", "CREATE", "MOD", "VALUE" };
	static const char *const results[] = { "EQUAL", "GREATER", "LESS", "NOT_EQUAL" };
	static const char *const fields[] = { "version", "create_revision", "mod_revision" };
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr != NULL && i < n; i++) {
		struct json_object *o = json_object_new_object();

		if (o == NULL || jadd_b64(o, "key", cmp[i].key, strlen(cmp[i].key)) < 0) {
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
		json_object_object_add(o, "target", json_object_new_string(targets[cmp[i].target]));
		json_object_object_add(o, "result", json_object_new_string(results[cmp[i].result]));
		if (cmp[i].target == ETCD_TARGET_VALUE) {
			if (jadd_b64(o, "value", cmp[i].value ? cmp[i].value : "", cmp[i].value_len) < 0) {
				json_object_put(o);
				json_object_put(arr);
				return NULL;
			}
		} else {
			jadd_int64(o, fields[cmp[i].target], cmp[i].revision);
		}
		json_object_array_add(arr, o);
	}
	return arr;
}

int etcd_txn(struct etcd_client *c, const struct etcd_cmp *cmp, size_t ncmp,
	     const struct etcd_op *success, size_t nsuccess, const struct etcd_op *failure,
	     size_t nfailure, struct etcd_txn_result *out, struct gpc_error *err)
{
	struct json_object *req = json_object_new_object(), *resp = NULL, *a, *b, *d, *resps;
	/* name the first key written (or compared) in messages */
	const char *key = nsuccess > 0 ? success[0].key : ncmp > 0 ? cmp[0].key : NULL;
	const struct call k = { .op = "txn", .key = key, .path = "/v3/kv/txn", .write = true };
	const struct etcd_op *ran;
	size_t nran;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	a = cmps_json(cmp, ncmp);
	b = ops_json(success, nsuccess);
	d = ops_json(failure, nfailure);
	if (req == NULL || a == NULL || b == NULL || d == NULL) {
		json_object_put(a);
		json_object_put(b);
		json_object_put(d);
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	json_object_object_add(req, "compare", a);
	json_object_object_add(req, "success", b);
	json_object_object_add(req, "failure", d);
	if (call(c, &k, req, &resp, err) < 0)
		goto out;
	out->succeeded = jbool(resp, "succeeded");
	out->revision = header_revision(resp);
	ran = out->succeeded ? success : failure;
	nran = out->succeeded ? nsuccess : nfailure;
	resps = jarr(resp, "responses");
	if (nran > 0) {
		out->ranges = calloc(nran, sizeof(*out->ranges));
		if (out->ranges == NULL) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
		out->n_ranges = nran;
	}
	for (size_t i = 0; i < nran; i++) {
		struct json_object *r;

		if (ran[i].kind != ETCD_OP_RANGE)
			continue;
		r = resps != NULL && i < json_object_array_length(resps)
			    ? jobj(json_object_array_get_idx(resps, i), "response_range")
			    : NULL;
		if (r != NULL && range_parse(r, out->revision, &out->ranges[i]) < 0) {
			gpc_error_set(err, GPC_E_INVALID, "etcd %s: txn %s: bad base64 in the answer",
				      etcd_client_endpoint(c), ran[i].key);
			etcd_txn_result_finish(out);
			goto out;
		}
		if (r != NULL)
			out->ranges[i].revision = out->revision;
	}
	rc = 0;
out:
	json_object_put(req);
	json_object_put(resp);
	return rc;
}

struct etcd_cmp etcd_fence(const char *owner_key)
{
	struct etcd_cmp f = { .key = owner_key, .target = ETCD_TARGET_CREATE,
			      .result = ETCD_CMP_GREATER, .revision = 0 };
	return f;
}

/* ---- leases ---- */

int etcd_lease_grant(struct etcd_client *c, long ttl, int64_t *id, long *granted, struct gpc_error *err)
{
	struct json_object *req = json_object_new_object(), *resp = NULL;
	const struct call k = { .op = "lease grant", .path = "/v3/lease/grant", .write = true };
	const char *e;
	int rc = -1;

	if (req == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	jadd_int64(req, "TTL", ttl);
	if (call(c, &k, req, &resp, err) < 0)
		goto out;
	e = jstr(resp, "error");
	*id = jint64(resp, "ID");
	if ((e != NULL && *e != '\0') || *id == 0) {
		gpc_error_set(err, GPC_E_INVALID, "etcd %s: lease grant: %s", etcd_client_endpoint(c),
			      e && *e ? e : "no lease ID in the answer");
		goto out;
	}
	if (granted != NULL)
		*granted = (long)jint64(resp, "TTL");
	rc = 0;
out:
	json_object_put(req);
	json_object_put(resp);
	return rc;
}

static int lease_keepalive_ms(struct etcd_client *c, int64_t id, long *ttl, long timeout_ms,
			      struct gpc_error *err)
{
	struct json_object *req = json_object_new_object(), *resp = NULL, *res;
	char lease[40];
	const struct call k = { .op = "lease keepalive", .key = lease, .path = "/v3/lease/keepalive",
				.timeout_ms = timeout_ms };
	long t;
	int rc = -1;

	snprintf(lease, sizeof(lease), "%016" PRIx64, (uint64_t)id);
	if (req == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	jadd_int64(req, "ID", id);
	if (call(c, &k, req, &resp, err) < 0)
		goto out;
	/* a stream of one answer: {"result": {...}} */
	res = jobj(resp, "result");
	t = (long)jint64(res != NULL ? res : resp, "TTL");
	if (t <= 0) {
		gpc_error_set(err, GPC_E_MISSING, "etcd %s: lease %s has expired or was revoked",
			      etcd_client_endpoint(c), lease);
		goto out;
	}
	if (ttl != NULL)
		*ttl = t;
	rc = 0;
out:
	json_object_put(req);
	json_object_put(resp);
	return rc;
}

int etcd_lease_keepalive(struct etcd_client *c, int64_t id, long *ttl, struct gpc_error *err)
{
	return lease_keepalive_ms(c, id, ttl, 0, err);
}

int etcd_lease_revoke(struct etcd_client *c, int64_t id, struct gpc_error *err)
{
	struct json_object *req = json_object_new_object(), *resp = NULL;
	char lease[40];
	const struct call k = { .op = "lease revoke", .key = lease, .path = "/v3/lease/revoke" };
	struct gpc_error e2;
	int rc = -1;

	snprintf(lease, sizeof(lease), "%016" PRIx64, (uint64_t)id);
	if (req == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	jadd_int64(req, "ID", id);
	gpc_error_clear(&e2);
	if (call(c, &k, req, &resp, &e2) < 0) {
		if (code_is(&e2, GPC_E_MISSING)) /* already gone: that is what we wanted */
			rc = 0;
		else if (err != NULL)
			*err = e2;
		goto out;
	}
	rc = 0;
out:
	json_object_put(req);
	json_object_put(resp);
	return rc;
}

/* ---- session: a lease kept alive by a thread ---- */

struct etcd_session {
	struct etcd_client *c; /* the keeper thread's own */
	int64_t id;
	long ttl;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, lost;
	struct timespec last_ok; /* CLOCK_MONOTONIC of the last keepalive that held */
	struct gpc_error why;
};

static double mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static double mono_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void *session_main(void *arg)
{
	struct etcd_session *s = arg;
	/* a third of the TTL between keepalives, and no single try longer
	 * than that, so that a hung member leaves time for the next */
	long period_ms = s->ttl * 1000 / 3;

	if (period_ms < 500)
		period_ms = 500;
	pthread_mutex_lock(&s->mu);
	while (!s->stop && !s->lost) {
		struct timespec until;
		struct gpc_error e;
		long ttl = 0;
		int rc;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += period_ms / 1000;
		until.tv_nsec += (period_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
			;
		if (s->stop)
			break;
		pthread_mutex_unlock(&s->mu);
		gpc_error_clear(&e);
		rc = lease_keepalive_ms(s->c, s->id, &ttl, period_ms, &e);
		pthread_mutex_lock(&s->mu);
		if (rc == 0) {
			clock_gettime(CLOCK_MONOTONIC, &s->last_ok);
		} else if (code_is(&e, GPC_E_MISSING)) {
			s->lost = true;
			s->why = e;
			gpc_warn("%s", e.message);
		} else if (mono_since(&s->last_ok) >= (double)s->ttl) {
			s->lost = true;
			gpc_error_set(&s->why, GPC_E_NETWORK,
				      "etcd: lease %016" PRIx64 " not renewed for %ld s, it may have expired: %s",
				      (uint64_t)s->id, s->ttl, e.message);
			gpc_warn("%s", s->why.message);
		} else {
			gpc_info("etcd: lease keepalive failed, trying again: %s", e.message);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int etcd_session_new(const struct etcd_client *c, long ttl, struct etcd_session **out,
		     struct gpc_error *err)
{
	struct etcd_session *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;
	long granted = 0;

	if (s == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (etcd_client_dup(c, &s->c, err) < 0)
		goto fail;
	if (etcd_lease_grant(s->c, ttl, &s->id, &granted, err) < 0)
		goto fail;
	s->ttl = granted > 0 ? granted : ttl;
	clock_gettime(CLOCK_MONOTONIC, &s->last_ok);
	if (pthread_create(&s->thread, NULL, session_main, s) != 0) {
		gpc_error_set(err, GPC_E_INTERNAL, "etcd: cannot start the lease keeper thread");
		goto fail;
	}
	s->started = true;
	gpc_debug("etcd: lease %016" PRIx64 " granted for %ld s", (uint64_t)s->id, s->ttl);
	*out = s;
	return 0;
fail:
	etcd_session_free(s);
	return -1;
}

int64_t etcd_session_lease(const struct etcd_session *s)
{
	return s->id;
}

bool etcd_session_alive(struct etcd_session *s, struct gpc_error *why)
{
	bool alive;

	pthread_mutex_lock(&s->mu);
	if (!s->lost && mono_since(&s->last_ok) >= (double)s->ttl) {
		s->lost = true;
		gpc_error_set(&s->why, GPC_E_NETWORK,
			      "etcd: lease %016" PRIx64 " not renewed for %ld s, it may have expired",
			      (uint64_t)s->id, s->ttl);
	}
	alive = !s->lost;
	if (!alive && why != NULL)
		*why = s->why;
	pthread_mutex_unlock(&s->mu);
	return alive;
}

void etcd_session_free(struct etcd_session *s)
{
	if (s == NULL)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	if (s->c != NULL && s->id != 0) {
		struct gpc_error e;

		gpc_error_clear(&e);
		if (etcd_lease_revoke(s->c, s->id, &e) < 0)
			gpc_info("etcd: lease %016" PRIx64 " not revoked, it expires in %ld s: %s",
				 (uint64_t)s->id, s->ttl, e.message);
	}
	etcd_client_free(s->c);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* ---- lock ---- */

int etcd_lock(struct etcd_client *c, const char *name, int64_t lease, long wait_ms, char **owner_key,
	      struct gpc_error *err)
{
	struct json_object *req = json_object_new_object(), *resp = NULL;
	/* etcd_lock is idempotent for one lease (the owner key is named after
	 * it), so it is retried on the next member like a read */
	const struct call k = { .op = "lock", .key = name, .path = "/v3/lock/lock",
				.timeout_ms = wait_ms > 0 ? wait_ms : 24L * 3600 * 1000, .wait = wait_ms > 0 };
	unsigned char *key = NULL;
	size_t klen = 0;
	int rc = -1;

	*owner_key = NULL;
	if (req == NULL || jadd_b64(req, "name", name, strlen(name)) < 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	jadd_int64(req, "lease", lease);
	if (call(c, &k, req, &resp, err) < 0)
		goto out;
	if (jb64(resp, "key", &key, &klen) < 0 || klen == 0) {
		gpc_error_set(err, GPC_E_INVALID, "etcd %s: lock %s: no owner key in the answer",
			      etcd_client_endpoint(c), name);
		free(key);
		goto out;
	}
	*owner_key = (char *)key;
	rc = 0;
out:
	json_object_put(req);
	json_object_put(resp);
	return rc;
}

int etcd_unlock(struct etcd_client *c, const char *owner_key, struct gpc_error *err)
{
	struct json_object *req = json_object_new_object(), *resp = NULL;
	const struct call k = { .op = "unlock", .key = owner_key, .path = "/v3/lock/unlock" };
	int rc = -1;

	if (req == NULL || jadd_b64(req, "key", owner_key, strlen(owner_key)) < 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	if (call(c, &k, req, &resp, err) < 0)
		goto out;
	rc = 0;
out:
	json_object_put(req);
	json_object_put(resp);
	return rc;
}

/* ---- watch ---- */

enum stream_end {
	END_NONE,      /* the transfer ended by itself (EOF, error, idle) */
	END_RESYNC,    /* compacted: reconnect at once from the compact revision */
	END_FAILED,    /* permanent: stop */
	END_RECONNECT, /* an error message in the stream: next member */
};

struct etcd_watch {
	struct etcd_client *c; /* the watch thread's own (auth, endpoints) */
	char *key;
	bool prefix, prev_kv;
	long idle_ms;
	etcd_watch_fn fn;
	void *ud;
	pthread_t thread;
	bool started;
	CURLM *multi;
	atomic_bool stop;
	int64_t next_rev; /* resume here; 0: from now */
	bool down;        /* DOWN said and not yet UP */
	/* per connection */
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	struct buf line;
	struct buf errbody;
	bool created;
	double last_byte; /* CLOCK_MONOTONIC ms of the last byte received */
	bool idle;        /* ended because nothing came for idle_ms */
	long status;
	enum stream_end end;
	struct gpc_error failure;
};

static void deliver(struct etcd_watch *w, enum etcd_watch_kind kind, const struct etcd_event *ev,
		    size_t n, int64_t rev, const struct gpc_error *err)
{
	struct etcd_watch_msg m = { .kind = kind, .events = ev, .n_events = n, .revision = rev,
				    .endpoint = etcd_client_endpoint(w->c), .err = err };

	if (!atomic_load(&w->stop))
		w->fn(&m, w->ud);
}

static void events_free(struct etcd_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		kv_finish(&ev[i].kv);
		kv_finish(&ev[i].prev);
	}
	free(ev);
}

/* One message of the stream: {"result": WatchResponse} or {"error": ...}. */
static void watch_message(struct etcd_watch *w, struct json_object *o)
{
	struct json_object *res = jobj(o, "result"), *evs;
	int64_t rev;

	if (res == NULL) {
		struct json_object *e = jobj(o, "error");
		const char *msg = jstr(e, "message");

		gpc_error_set(&w->failure, GPC_E_NETWORK, "etcd %s: watch %s: %s", etcd_client_endpoint(w->c),
			      w->key, msg ? msg : "the stream said something unexpected");
		if (msg != NULL && strstr(msg, "permission denied") != NULL) {
			w->failure.code = GPC_E_PERMISSION;
			w->end = END_FAILED;
		} else {
			w->end = END_RECONNECT;
		}
		return;
	}
	rev = header_revision(res);
	if (jbool(res, "canceled")) {
		int64_t compact = jint64(res, "compact_revision");
		const char *reason = jstr(res, "cancel_reason");

		if (compact > 0) {
			/* RESYNC goes out after the transfer is torn down */
			w->next_rev = compact;
			w->end = END_RESYNC;
			return;
		}
		gpc_error_set(&w->failure, GPC_E_NETWORK, "etcd %s: watch %s cancelled: %s",
			      etcd_client_endpoint(w->c), w->key, reason ? reason : "no reason given");
		if (reason != NULL && strstr(reason, "ermission") != NULL) {
			w->failure.code = GPC_E_PERMISSION;
			gpc_error_hint(&w->failure, "the etcd user needs read on the store's prefix "
						    "(etcdctl role grant-permission ROLE --prefix=true readwrite PREFIX)");
			w->end = END_FAILED;
		} else {
			w->end = END_RECONNECT;
		}
		return;
	}
	if (jbool(res, "created")) {
		w->created = true;
		if (w->next_rev == 0)
			w->next_rev = rev + 1;
		if (w->down) {
			w->down = false;
			gpc_note("etcd: watch of %s resumed on %s", w->key, etcd_client_endpoint(w->c));
			deliver(w, ETCD_WATCH_UP, NULL, 0, rev, NULL);
		}
		return;
	}
	evs = jarr(res, "events");
	if (evs != NULL && json_object_array_length(evs) > 0) {
		size_t n = json_object_array_length(evs), k = 0;
		struct etcd_event *ev = calloc(n, sizeof(*ev));

		if (ev == NULL) {
			gpc_error_set(&w->failure, GPC_E_NOMEM, "out of memory");
			w->end = END_RECONNECT;
			return;
		}
		for (; k < n; k++) {
			struct json_object *e = json_object_array_get_idx(evs, k), *p;
			const char *type = jstr(e, "type");

			ev[k].type = type != NULL && strcmp(type, "DELETE") == 0 ? ETCD_EVENT_DELETE
										: ETCD_EVENT_PUT;
			if (kv_parse(jobj(e, "kv"), &ev[k].kv) < 0)
				break;
			if ((p = jobj(e, "prev_kv")) != NULL && kv_parse(p, &ev[k].prev) < 0)
				break;
		}
		if (k < n) {
			events_free(ev, n);
			gpc_error_set(&w->failure, GPC_E_INVALID, "etcd %s: watch %s: bad base64 in an event",
				      etcd_client_endpoint(w->c), w->key);
			w->end = END_RECONNECT;
			return;
		}
		if (ev[n - 1].kv.mod_revision + 1 > w->next_rev)
			w->next_rev = ev[n - 1].kv.mod_revision + 1;
		deliver(w, ETCD_WATCH_EVENTS, ev, n, rev, NULL);
		events_free(ev, n);
		return;
	}
	/* a progress notification: every change up to rev has been sent */
	if (rev + 1 > w->next_rev)
		w->next_rev = rev + 1;
	deliver(w, ETCD_WATCH_PROGRESS, NULL, 0, rev, NULL);
}

static size_t watch_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct etcd_watch *w = ud;
	size_t len = size * nmemb;
	char *nl;

	w->last_byte = mono_ms();
	if (w->status == 0)
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status != 200)
		return buf_add(&w->errbody, data, len) == 0 ? len : 0;
	if (buf_add(&w->line, data, len) < 0)
		return 0;
	/* one JSON object per line */
	while (w->end == END_NONE && (nl = memchr(w->line.data, '\n', w->line.len)) != NULL) {
		size_t n = (size_t)(nl - w->line.data) + 1;
		struct json_object *o;

		*nl = '\0';
		o = json_tokener_parse(w->line.data);
		if (o != NULL && json_object_is_type(o, json_type_object))
			watch_message(w, o);
		json_object_put(o);
		memmove(w->line.data, w->line.data + n, w->line.len - n);
		w->line.len -= n;
		w->line.data[w->line.len] = '\0';
	}
	return w->end == END_NONE ? len : 0; /* 0 ends the transfer */
}

/* Wait up to ms (or until etcd_watch_free wakes us). */
static void watch_sleep(struct etcd_watch *w, long ms)
{
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!atomic_load(&w->stop)) {
		long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = ms - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return;
		curl_multi_poll(w->multi, NULL, 0, (int)left, NULL);
	}
}

/* One connection to the current member, until it ends. Returns the HTTP
 * transfer's result. */
static CURLcode watch_connect(struct etcd_watch *w, struct json_object *req)
{
	struct curl_slist *hdrs = NULL;
	char url[512], auth[1100];
	const char *body;
	CURLcode rc = CURLE_OK;
	int running = 1;

	body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	snprintf(url, sizeof(url), "%s/v3/watch", w->c->endpoints[w->c->cur]);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	/* end the watch when this member loses its leader (no quorum) */
	hdrs = curl_slist_append(hdrs, "Grpc-Metadata-hasleader: true");
	if (w->c->token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: %s", w->c->token);
		hdrs = curl_slist_append(hdrs, auth);
		explicit_bzero(auth, sizeof(auth));
	}
	if (hdrs == NULL)
		return CURLE_OUT_OF_MEMORY;
	buf_reset(&w->line);
	buf_reset(&w->errbody);
	w->created = false;
	w->status = 0;
	w->end = END_NONE;
	w->errbuf[0] = '\0';
	curl_easy_reset(w->easy);
	easy_common(w->c, w->easy, w->errbuf);
	curl_easy_setopt(w->easy, CURLOPT_URL, url);
	curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(w->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(w->easy, CURLOPT_COPYPOSTFIELDS, body);
	curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, watch_cb);
	curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
	w->c->stats.requests++;
	w->idle = false;
	w->last_byte = mono_ms();
	curl_multi_add_handle(w->multi, w->easy);
	while (running && !atomic_load(&w->stop)) {
		CURLMsg *msg;
		int left;

		if (curl_multi_perform(w->multi, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(w->multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == w->easy)
				rc = msg->data.result;
		/* A member gone silent (frozen, partitioned) sends no byte, not
		 * even progress notifications. Timed here: curl's low-speed
		 * limit averages over several seconds and fires late. */
		if (running && mono_ms() - w->last_byte >= (double)w->idle_ms) {
			w->idle = true;
			break;
		}
		if (running)
			curl_multi_poll(w->multi, NULL, 0, 250, NULL);
	}
	curl_multi_remove_handle(w->multi, w->easy);
	curl_slist_free_all(hdrs);
	if (w->status == 0)
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->status);
	return rc;
}

static void *watch_main(void *arg)
{
	struct etcd_watch *w = arg;
	size_t fails = 0; /* members in a row that did not hold a watch */
	long backoff = 200;

	while (!atomic_load(&w->stop)) {
		struct json_object *req = json_object_new_object(), *cr = json_object_new_object();
		struct gpc_error e;
		CURLcode rc;
		size_t ep = w->c->cur;

		gpc_error_clear(&e);
		if (req == NULL || cr == NULL || jadd_b64(cr, "key", w->key, strlen(w->key)) < 0 ||
		    (w->prefix && jadd_range_end(cr, w->key) < 0)) {
			json_object_put(req);
			json_object_put(cr);
			watch_sleep(w, 1000);
			continue;
		}
		if (w->next_rev > 0)
			jadd_int64(cr, "start_revision", w->next_rev);
		json_object_object_add(cr, "progress_notify", json_object_new_boolean(1));
		if (w->prev_kv)
			json_object_object_add(cr, "prev_kv", json_object_new_boolean(1));
		json_object_object_add(req, "create_request", cr);
		if (w->c->user != NULL && w->c->token == NULL && authenticate(w->c, &e) < 0) {
			json_object_put(req);
			if (code_is(&e, GPC_E_PERMISSION)) {
				deliver(w, ETCD_WATCH_FAILED, NULL, 0, 0, &e);
				break;
			}
			fails = w->c->n_ep; /* authenticate tried every member */
			goto down;
		}
		ep = w->c->cur;
		rc = watch_connect(w, req);
		json_object_put(req);
		if (atomic_load(&w->stop))
			break;
		if (w->end == END_RESYNC) {
			gpc_note("etcd: watch of %s: history compacted at revision %" PRId64 ", reading everything again",
				 w->key, w->next_rev);
			deliver(w, ETCD_WATCH_RESYNC, NULL, 0, w->next_rev, NULL);
			continue;
		}
		if (w->end == END_FAILED) {
			deliver(w, ETCD_WATCH_FAILED, NULL, 0, 0, &w->failure);
			break;
		}
		if (w->status == 401 && w->c->user != NULL) {
			free(w->c->token);
			w->c->token = NULL;
			continue;
		}
		if (w->status != 0 && w->status != 200) {
			struct json_object *o = json_tokener_parse(w->errbody.data ? w->errbody.data : "");
			const struct call k = { .op = "watch", .key = w->key, .path = "/v3/watch" };
			enum attempt a;

			/* reuse the unary rules to name the failure */
			a = http_failed(w->c, &k, ep, w->status, o, &e);
			json_object_put(o);
			if (a == ATT_FATAL) {
				deliver(w, ETCD_WATCH_FAILED, NULL, 0, 0, &e);
				break;
			}
		} else if (w->end == END_RECONNECT) {
			e = w->failure;
		} else {
			const char *d = w->errbuf[0] ? w->errbuf : curl_easy_strerror(rc);
			if (w->idle)
				gpc_error_set(&e, GPC_E_NETWORK, "etcd %s: watch %s: nothing received for %.1f s",
					      w->c->hosts[ep], w->key, (double)w->idle_ms / 1000.0);
			else
				gpc_error_set(&e, GPC_E_NETWORK, "etcd %s: watch %s: %s", w->c->hosts[ep], w->key,
					      rc == CURLE_OK ? "the member ended the stream (lost its leader?)" : d);
		}
		if (w->created) {
			/* it held a watch: a fresh failure, start counting again */
			fails = 0;
			backoff = 200;
		}
		fails++;
		/* during an outage every retry fails: said once (DOWN) */
		if (w->down)
			gpc_debug("%s; trying the next member", e.message);
		else
			gpc_info("%s; trying the next member", e.message);
		w->c->cur = (ep + 1) % w->c->n_ep;
		w->c->stats.failovers++;
		if (fails < w->c->n_ep)
			continue;
	down:
		/* every member failed once in a row: say so once, back off */
		if (!w->down) {
			w->down = true;
			/* the caller says what it means (DOWN); this is the detail */
			gpc_info("etcd: watch of %s: no member answers (%s); retrying", w->key, e.message);
			deliver(w, ETCD_WATCH_DOWN, NULL, 0, w->next_rev, &e);
		}
		fails = 0;
		watch_sleep(w, backoff);
		backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
	}
	return NULL;
}

int etcd_watch_start(const struct etcd_client *c, const char *key, const struct etcd_watch_opts *o,
		     etcd_watch_fn fn, void *ud, struct etcd_watch **out, struct gpc_error *err)
{
	struct etcd_watch *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	atomic_init(&w->stop, false);
	buf_init(&w->line, ETCD_MAX_BODY);
	buf_init(&w->errbody, 64 * 1024);
	w->fn = fn;
	w->ud = ud;
	if (o != NULL) {
		w->prefix = o->prefix;
		w->prev_kv = o->prev_kv;
		w->next_rev = o->start_revision > 0 ? o->start_revision : 0;
		w->idle_ms = o->idle_timeout_ms;
	}
	if (w->idle_ms <= 0)
		w->idle_ms = ETCD_DEFAULT_IDLE_MS;
	if ((w->key = strdup(key)) == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto fail;
	}
	if (etcd_client_dup(c, &w->c, err) < 0)
		goto fail;
	w->multi = curl_multi_init();
	w->easy = curl_easy_init();
	if (w->multi == NULL || w->easy == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto fail;
	}
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		gpc_error_set(err, GPC_E_INTERNAL, "etcd: cannot start the watch thread");
		goto fail;
	}
	w->started = true;
	*out = w;
	return 0;
fail:
	etcd_watch_free(w);
	return -1;
}

void etcd_watch_free(struct etcd_watch *w)
{
	if (w == NULL)
		return;
	atomic_store(&w->stop, true);
	if (w->started) {
		curl_multi_wakeup(w->multi);
		pthread_join(w->thread, NULL);
	}
	if (w->easy != NULL)
		curl_easy_cleanup(w->easy);
	if (w->multi != NULL)
		curl_multi_cleanup(w->multi);
	etcd_client_free(w->c);
	buf_finish(&w->line);
	buf_finish(&w->errbody);
	free(w->key);
	free(w);
}

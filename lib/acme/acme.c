/* acme: RFC 8555 client. One reused HTTP connection, a nonce pool, retries
 * that are bounded, and the CA's own words in every error. */
#include "acme.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-c/json.h>

#include "b64.h"
#include "buf.h"
#include "keygen.h"
#include "log.h"
#include "timeutil.h"

#define NONCE_POOL 8
#define CT_JOSE "application/jose+json"
#define MAX_WAIT_503_SECS 30 /* a longer 503 Retry-After is a deferral, not a retry */

struct acme_client {
	struct acme_options opt;
	char *dir_url;
	struct http_client *http;
	struct acme_directory dir;
	bool have_dir;
	struct jws_key *key;
	char *kid;
	char *nonces[NONCE_POOL];
	size_t n_nonces;
	struct acme_problem last;
};

/* ---- small helpers ----------------------------------------------------- */

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static const char *jget_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static char *jdup(struct json_object *o, const char *key)
{
	return xstrdup(jget_str(o, key));
}

static time_t jtime(struct json_object *o, const char *key)
{
	const char *s = jget_str(o, key);
	time_t t = 0;

	if (s == NULL || time_parse_rfc3339(s, &t) < 0)
		return 0;
	return t;
}

static const char *json_plain(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static struct json_object *parse_json(const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	if (tok == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o != NULL && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	/* One JSON value and nothing after it but white space (RFC 8259 §2):
	 * an answer with bytes after the object (two answers glued together, a
	 * proxy's page appended) is not the CA's answer. Values are read with
	 * json-c's default (lenient) rules. */
	if (o != NULL) {
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
			if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' && s[i] != '\0') {
				json_object_put(o);
				o = NULL;
				break;
			}
	}
	json_tokener_free(tok);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int nomem(struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
}

/* ---- problems ------------------------------------------------------------ */

static void problem_from_json(struct json_object *o, struct acme_problem *p)
{
	struct json_object *v, *subs;

	memset(p, 0, sizeof(*p));
	p->type = jdup(o, "type");
	p->detail = jdup(o, "detail");
	p->instance = jdup(o, "instance");
	if (json_object_object_get_ex(o, "status", &v) && json_object_is_type(v, json_type_int))
		p->status = json_object_get_int(v);
	if (json_object_object_get_ex(o, "subproblems", &subs) && json_object_is_type(subs, json_type_array)) {
		size_t n = json_object_array_length(subs);
		p->sub = n ? calloc(n, sizeof(*p->sub)) : NULL;
		for (size_t i = 0; p->sub != NULL && i < n; i++) {
			struct json_object *s = json_object_array_get_idx(subs, i), *id;
			struct acme_subproblem *sp = &p->sub[p->n_sub];

			if (!json_object_is_type(s, json_type_object))
				continue;
			sp->type = jdup(s, "type");
			sp->detail = jdup(s, "detail");
			if (json_object_object_get_ex(s, "identifier", &id)) {
				sp->id_type = jdup(id, "type");
				sp->id_value = jdup(id, "value");
			}
			p->n_sub++;
		}
	}
}

int acme_problem_parse(const char *json, size_t len, struct acme_problem *p)
{
	struct json_object *o = parse_json(json, len);

	memset(p, 0, sizeof(*p));
	if (o == NULL)
		return -1;
	problem_from_json(o, p);
	json_object_put(o);
	return 0;
}

void acme_problem_finish(struct acme_problem *p)
{
	if (p == NULL)
		return;
	free(p->type);
	free(p->detail);
	free(p->instance);
	for (size_t i = 0; i < p->n_sub; i++) {
		free(p->sub[i].type);
		free(p->sub[i].detail);
		free(p->sub[i].id_type);
		free(p->sub[i].id_value);
	}
	free(p->sub);
	memset(p, 0, sizeof(*p));
}

static int problem_copy(const struct acme_problem *src, struct acme_problem *dst)
{
	memset(dst, 0, sizeof(*dst));
	dst->type = xstrdup(src->type);
	dst->detail = xstrdup(src->detail);
	dst->instance = xstrdup(src->instance);
	dst->status = src->status;
	if (src->n_sub > 0) {
		dst->sub = calloc(src->n_sub, sizeof(*dst->sub));
		if (dst->sub == NULL)
			return -1;
		for (size_t i = 0; i < src->n_sub; i++) {
			dst->sub[i].type = xstrdup(src->sub[i].type);
			dst->sub[i].detail = xstrdup(src->sub[i].detail);
			dst->sub[i].id_type = xstrdup(src->sub[i].id_type);
			dst->sub[i].id_value = xstrdup(src->sub[i].id_value);
		}
		dst->n_sub = src->n_sub;
	}
	return 0;
}

bool acme_problem_is(const struct acme_problem *p, const char *name)
{
	size_t n = strlen(ACME_ERR_PREFIX);

	return p != NULL && p->type != NULL && strncmp(p->type, ACME_ERR_PREFIX, n) == 0 &&
	       strcmp(p->type + n, name) == 0;
}

/* The problem or one of its subproblems has type `name`. */
static bool problem_any_is(const struct acme_problem *p, const char *name)
{
	size_t n = strlen(ACME_ERR_PREFIX);

	if (acme_problem_is(p, name))
		return true;
	for (size_t i = 0; p != NULL && i < p->n_sub; i++)
		if (p->sub[i].type != NULL && strncmp(p->sub[i].type, ACME_ERR_PREFIX, n) == 0 &&
		    strcmp(p->sub[i].type + n, name) == 0)
			return true;
	return false;
}

static const char *short_type(const char *type)
{
	size_t n = strlen(ACME_ERR_PREFIX);

	if (type == NULL)
		return "no type";
	return strncmp(type, ACME_ERR_PREFIX, n) == 0 ? type + n : type;
}

/* A rate-limit answer that carries a link for the user (Let's Encrypt:
 * "... Please visit: https://portal.letsencrypt.org/sfe/v1/unpause?jwt=..."):
 * the link, whole, in the hint; one too long for it is logged whole and the
 * hint points there. True when there was one. */
static bool problem_action_hint(const struct acme_problem *p, struct gpc_error *err)
{
	const char *u = p && p->detail ? strstr(p->detail, "https://") : NULL;
	size_t n;

	if (u == NULL || err == NULL)
		return false;
	n = strcspn(u, " \t\r\n\"'<>");
	while (n > 0 && (u[n - 1] == '.' || u[n - 1] == ',' || u[n - 1] == ')'))
		n--; /* the sentence's end, not the link's */
	if (n + 120 < sizeof(err->hint)) {
		gpc_error_hint(err, "the CA paused new orders for these names on this account; to go on, open %.*s "
			       "(the CA's link, whole), then run again", (int)n, u);
	} else {
		gpc_warn("the CA's link for this limit: %.*s", (int)n, u);
		gpc_error_hint(err, "the CA paused new orders for these names on this account; to go on, open the "
			       "link logged above (the CA's, whole), then run again");
	}
	return true;
}

int acme_problem_to_error(const struct acme_problem *p, const char *step, long http_status,
			  time_t retry_after, struct gpc_error *err)
{
	struct buf b;
	bool limited = acme_problem_is(p, "rateLimited") || http_status == 429 || http_status == 503;
	char when[32];

	buf_init(&b, sizeof(err->message) - 1);
	/* best effort: the message is cut at the bound, never fails */
	if (buf_printf(&b, "CA refused %s: %s (%s", step ? step : "the request",
		       p && p->detail ? p->detail : "no detail given",
		       p ? short_type(p->type) : "no problem document") == 0 &&
	    (http_status <= 0 || buf_printf(&b, ", HTTP %ld", http_status) == 0) && buf_adds(&b, ")") < 0)
		gpc_debug("problem message truncated");
	for (size_t i = 0; p != NULL && i < p->n_sub; i++) {
		const struct acme_subproblem *s = &p->sub[i];
		if (buf_printf(&b, "; %s%s%s: %s (%s)", s->id_type ? s->id_type : "",
			       s->id_type ? " " : "", s->id_value ? s->id_value : "?",
			       s->detail ? s->detail : "no detail", short_type(s->type)) < 0)
			break;
	}
	gpc_error_set(err, limited ? GPC_E_RATELIMIT : GPC_E_CA, "%s", b.data ? b.data : "CA error");
	buf_finish(&b);
	if (err == NULL)
		return -1;
	err->retry_after = limited ? (long)retry_after : 0;
	if (limited && problem_action_hint(p, err))
		; /* an unpause link: the one thing that helps */
	else if (limited && retry_after > 0)
		gpc_error_hint(err, "the CA asks to wait until %s; try again after that",
			       time_rfc3339(retry_after, when, sizeof(when)));
	else if (limited)
		gpc_error_hint(err, "the CA is limiting requests; try again later");
	else if (acme_problem_is(p, "badCSR") || problem_any_is(p, "rejectedIdentifier") ||
		 (p != NULL && p->n_sub > 0 && problem_any_is(p, "malformed")))
		gpc_error_hint(err, "the CA will not issue for these names; check their spelling");
	else if (acme_problem_is(p, "invalidProfile"))
		gpc_error_hint(err, "the CA will not issue this order under that profile (its reason is quoted above); "
			       "choose another it lists with --profile NAME, or --no-profile");
	else if (acme_problem_is(p, "externalAccountRequired"))
		gpc_error_hint(err, "this CA needs External Account Binding: pass --eab-kid and --eab-hmac");
	else if (acme_problem_is(p, "userActionRequired"))
		gpc_error_hint(err, "the CA needs you to act (e.g. accept new terms): see %s",
			       p->instance ? p->instance : "the CA's website");
	else if (acme_problem_is(p, "unauthorized") || acme_problem_is(p, "dns") ||
		 acme_problem_is(p, "connection") || acme_problem_is(p, "incorrectResponse"))
		gpc_error_hint(err, "the CA could not verify the challenge; check that the names point "
			       "here and the challenge answer is reachable from the Internet");
	return -1;
}

/* ---- directory --------------------------------------------------------- */

int acme_directory_parse(const char *json, size_t len, const char *url, struct acme_directory *d,
			 struct gpc_error *err)
{
	struct json_object *o = parse_json(json, len), *meta, *profiles;
	const char *missing = NULL;

	memset(d, 0, sizeof(*d));
	if (o == NULL) {
		gpc_error_set(err, GPC_E_CA, "%s: not an ACME directory (no JSON object)", url ? url : "directory");
		return gpc_error_hint(err, "check the --server URL: it must be the CA's ACME directory URL");
	}
	d->new_nonce = jdup(o, "newNonce");
	d->new_account = jdup(o, "newAccount");
	d->new_order = jdup(o, "newOrder");
	d->revoke_cert = jdup(o, "revokeCert");
	d->key_change = jdup(o, "keyChange");
	d->new_authz = jdup(o, "newAuthz");
	d->renewal_info = jdup(o, "renewalInfo");
	if (d->renewal_info != NULL && d->renewal_info[0] == '\0') {
		/* "renewalInfo": "" is no ARI (it made acme_ari_fetch read
		 * before the string) */
		free(d->renewal_info);
		d->renewal_info = NULL;
	}
	if (json_object_object_get_ex(o, "meta", &meta) && json_object_is_type(meta, json_type_object)) {
		struct json_object *v;

		d->terms_of_service = jdup(meta, "termsOfService");
		d->website = jdup(meta, "website");
		if (json_object_object_get_ex(meta, "caaIdentities", &v) && json_object_is_type(v, json_type_array) &&
		    json_object_array_length(v) > 0 &&
		    json_object_is_type(json_object_array_get_idx(v, 0), json_type_string))
			d->caa_identity = strdup(json_object_get_string(json_object_array_get_idx(v, 0)));
		if (json_object_object_get_ex(meta, "externalAccountRequired", &v))
			d->external_account_required = json_object_get_boolean(v);
		/* draft-aaron-acme-profiles: "profiles": {"name": "description", ...} */
		if (json_object_object_get_ex(meta, "profiles", &profiles) &&
		    json_object_is_type(profiles, json_type_object)) {
			size_t n = (size_t)json_object_object_length(profiles), i = 0;
			d->profiles = n ? calloc(n, sizeof(*d->profiles)) : NULL;
			if (d->profiles != NULL) {
				json_object_object_foreach(profiles, k, val) {
					if (i >= n)
						break;
					d->profiles[i].name = strdup(k);
					d->profiles[i].description = json_object_is_type(val, json_type_string)
						? strdup(json_object_get_string(val)) : NULL;
					i++;
				}
				d->n_profiles = i;
			}
		}
	}
	json_object_put(o);
	if (d->new_nonce == NULL)
		missing = "newNonce";
	else if (d->new_account == NULL)
		missing = "newAccount";
	else if (d->new_order == NULL)
		missing = "newOrder";
	else if (d->revoke_cert == NULL)
		missing = "revokeCert";
	else if (d->key_change == NULL)
		missing = "keyChange";
	if (missing != NULL) {
		acme_directory_finish(d);
		gpc_error_set(err, GPC_E_CA, "%s: not an ACME directory (no \"%s\")", url ? url : "directory",
			      missing);
		return gpc_error_hint(err, "check the --server URL: it must be the CA's ACME directory URL");
	}
	return 0;
}

void acme_directory_finish(struct acme_directory *d)
{
	if (d == NULL)
		return;
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	free(d->new_authz);
	free(d->renewal_info);
	free(d->terms_of_service);
	free(d->website);
	free(d->caa_identity);
	for (size_t i = 0; i < d->n_profiles; i++) {
		free(d->profiles[i].name);
		free(d->profiles[i].description);
	}
	free(d->profiles);
	memset(d, 0, sizeof(*d));
}

int acme_directory_copy(const struct acme_directory *src, struct acme_directory *dst)
{
	memset(dst, 0, sizeof(*dst));
	dst->new_nonce = xstrdup(src->new_nonce);
	dst->new_account = xstrdup(src->new_account);
	dst->new_order = xstrdup(src->new_order);
	dst->revoke_cert = xstrdup(src->revoke_cert);
	dst->key_change = xstrdup(src->key_change);
	dst->new_authz = xstrdup(src->new_authz);
	dst->renewal_info = xstrdup(src->renewal_info);
	dst->terms_of_service = xstrdup(src->terms_of_service);
	dst->website = xstrdup(src->website);
	dst->caa_identity = xstrdup(src->caa_identity);
	dst->external_account_required = src->external_account_required;
	if (src->n_profiles > 0) {
		dst->profiles = calloc(src->n_profiles, sizeof(*dst->profiles));
		if (dst->profiles == NULL) {
			acme_directory_finish(dst);
			return -1;
		}
		for (size_t i = 0; i < src->n_profiles; i++) {
			dst->profiles[i].name = xstrdup(src->profiles[i].name);
			dst->profiles[i].description = xstrdup(src->profiles[i].description);
		}
		dst->n_profiles = src->n_profiles;
	}
	if (dst->new_nonce == NULL || dst->new_account == NULL || dst->new_order == NULL ||
	    dst->revoke_cert == NULL || dst->key_change == NULL) {
		acme_directory_finish(dst);
		return -1;
	}
	return 0;
}

bool acme_directory_has_profile(const struct acme_directory *d, const char *name)
{
	for (size_t i = 0; d != NULL && name != NULL && i < d->n_profiles; i++)
		if (d->profiles[i].name != NULL && strcmp(d->profiles[i].name, name) == 0)
			return true;
	return false;
}

/* ---- client ------------------------------------------------------------ */

int acme_client_new(const struct acme_options *o, struct acme_client **out, struct gpc_error *err)
{
	struct acme_client *c;
	struct http_options ho = {0};

	if (o == NULL || o->directory_url == NULL || o->directory_url[0] == '\0')
		return gpc_error_set(err, GPC_E_USAGE, "no ACME directory URL given");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return nomem(err);
	c->opt = *o;
	if (c->opt.max_poll_secs <= 0)
		c->opt.max_poll_secs = 300;
	if (c->opt.max_retries <= 0)
		c->opt.max_retries = 5;
	c->dir_url = strdup(o->directory_url);
	if (c->dir_url == NULL) {
		free(c);
		return nomem(err);
	}
	c->opt.directory_url = c->dir_url;
	c->opt.ca_bundle = NULL; /* only used here, copied by http */
	ho.ca_bundle = o->ca_bundle;
	ho.timeout_ms = o->timeout_ms;
	ho.share = o->share;
	if (http_client_new(&ho, &c->http, err) < 0) {
		free(c->dir_url);
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void acme_client_free(struct acme_client *c)
{
	if (c == NULL)
		return;
	http_client_free(c->http);
	acme_directory_finish(&c->dir);
	jws_key_free(c->key);
	free(c->kid);
	for (size_t i = 0; i < c->n_nonces; i++)
		free(c->nonces[i]);
	acme_problem_finish(&c->last);
	free(c->dir_url);
	free(c);
}

const struct acme_directory *acme_client_directory(const struct acme_client *c)
{
	return c->have_dir ? &c->dir : NULL;
}

int acme_client_set_directory(struct acme_client *c, const struct acme_directory *d)
{
	acme_directory_finish(&c->dir);
	c->have_dir = false;
	if (acme_directory_copy(d, &c->dir) < 0)
		return -1;
	c->have_dir = true;
	return 0;
}

int acme_client_set_account(struct acme_client *c, const char *key_pem, size_t key_len, const char *kid,
			    struct gpc_error *err)
{
	struct jws_key *k = NULL;
	char *kd = NULL;

	if (jws_key_from_pem(key_pem, key_len, "account key", &k, err) < 0)
		return -1;
	if (kid != NULL && (kd = strdup(kid)) == NULL) {
		jws_key_free(k);
		return nomem(err);
	}
	jws_key_free(c->key);
	free(c->kid);
	c->key = k;
	c->kid = kd;
	return 0;
}

const char *acme_client_kid(const struct acme_client *c)
{
	return c->kid;
}

const struct jws_key *acme_client_key(const struct acme_client *c)
{
	return c->key;
}

const struct acme_problem *acme_last_problem(const struct acme_client *c)
{
	return c->last.type != NULL || c->last.detail != NULL ? &c->last : NULL;
}

void acme_client_stats(const struct acme_client *c, struct http_stats *out)
{
	http_client_stats(c->http, out);
}

static void nonce_push(struct acme_client *c, const char *nonce)
{
	char *n;

	if (nonce == NULL || nonce[0] == '\0' || (n = strdup(nonce)) == NULL)
		return;
	if (c->n_nonces == NONCE_POOL) {
		free(c->nonces[0]);
		memmove(c->nonces, c->nonces + 1, (NONCE_POOL - 1) * sizeof(c->nonces[0]));
		c->n_nonces--;
	}
	c->nonces[c->n_nonces++] = n;
}

/* Interpret an error response: keep the problem document, fill err. */
static int fail_response(struct acme_client *c, const char *step, const char *url,
			 struct http_response *r, struct gpc_error *err)
{
	acme_problem_finish(&c->last);
	if (acme_problem_parse(r->body.data ? r->body.data : "", r->body.len, &c->last) < 0) {
		/* Not a problem document (truncated, HTML from a proxy, ...):
		 * name the URL that answered instead of echoing its bytes. */
		char detail[1024];
		snprintf(detail, sizeof(detail),
			 "%s answered with %s that is not an ACME problem document (%zu bytes, Content-Type %s)",
			 url ? url : "the CA", r->body.len ? "a body" : "an empty body", r->body.len,
			 r->content_type ? r->content_type : "none");
		c->last.detail = strdup(detail);
	}
	gpc_debug("%s: HTTP %ld %s: %s", step, r->status, c->last.type ? c->last.type : "",
		  c->last.detail ? c->last.detail : "");
	return acme_problem_to_error(&c->last, step, r->status, r->retry_after, err);
}

/* Back-off before retry number `attempt` (1-based): 1 s, 2 s, 4 s ... */
static long backoff_ms(int attempt)
{
	long ms = 1000L << (attempt > 5 ? 5 : attempt - 1);
	return ms > 16000 ? 16000 : ms;
}

/* A 503 without rateLimited and with a short (or no) Retry-After is retried. */
static bool retry_503(const struct acme_client *c, const struct http_response *r, int attempt, long *wait_ms)
{
	time_t now = time_now();

	if (r->status != 503 || attempt >= c->opt.max_retries || acme_problem_is(&c->last, "rateLimited"))
		return false;
	if (r->retry_after > 0) {
		if (r->retry_after - now > MAX_WAIT_503_SECS)
			return false;
		*wait_ms = r->retry_after > now ? (long)(r->retry_after - now) * 1000 : 0;
	} else {
		*wait_ms = backoff_ms(attempt + 1);
	}
	return true;
}

/* GET (or HEAD) with retries on dropped connections and short 503s. Error
 * statuses fail with the problem. */
static int get_retry(struct acme_client *c, const char *method, const char *url, const char *step,
		     struct http_response *r, struct gpc_error *err)
{
	for (int attempt = 0;; attempt++) {
		long wait = 0;

		if (http_request(c->http, method, url, NULL, NULL, 0, r, err) < 0) {
			if (http_client_retryable(c->http) && attempt < c->opt.max_retries) {
				gpc_info("%s: %s; retrying", step, err ? err->message : "network error");
				sleep_ms(backoff_ms(attempt + 1));
				continue;
			}
			return -1;
		}
		nonce_push(c, r->nonce);
		if (r->status < 400)
			return 0;
		fail_response(c, step, url, r, err);
		if (retry_503(c, r, attempt, &wait)) {
			gpc_info("%s: CA busy (HTTP 503); retrying in %ld ms", step, wait);
			sleep_ms(wait);
			continue;
		}
		return -1;
	}
}

int acme_directory_fetch(struct acme_client *c, struct gpc_error *err)
{
	struct http_response r;
	int rc = -1;

	if (c->have_dir)
		return 0;
	http_response_init(&r);
	if (get_retry(c, "GET", c->dir_url, "directory", &r, err) < 0)
		goto out;
	if (acme_directory_parse(r.body.data, r.body.len, c->dir_url, &c->dir, err) < 0)
		goto out;
	c->have_dir = true;
	gpc_debug("directory %s: %s%s%zu profiles", c->dir_url, c->dir.renewal_info ? "ARI, " : "",
		  c->dir.external_account_required ? "EAB required, " : "", c->dir.n_profiles);
	rc = 0;
out:
	http_response_finish(&r);
	return rc;
}

static int get_nonce(struct acme_client *c, char **nonce, struct gpc_error *err)
{
	struct http_response r;
	int rc = -1;

	if (c->n_nonces > 0) {
		*nonce = c->nonces[--c->n_nonces];
		return 0;
	}
	if (acme_directory_fetch(c, err) < 0)
		return -1;
	http_response_init(&r);
	/* RFC 8555 §7.2: HEAD newNonce */
	if (get_retry(c, "HEAD", c->dir.new_nonce, "newNonce", &r, err) < 0)
		goto out;
	if (c->n_nonces == 0) {
		gpc_error_set(err, GPC_E_CA, "%s: no Replay-Nonce in the answer", c->dir.new_nonce);
		goto out;
	}
	*nonce = c->nonces[--c->n_nonces];
	rc = 0;
out:
	http_response_finish(&r);
	return rc;
}

enum { POST_JWK = 1, POST_IDEMPOTENT = 2 };

/* Signed POST (RFC 8555 §6.2). badNonce is retried with the nonce carried by
 * the error response (§6.5); dropped connections and short 503s only for
 * idempotent requests. */
static int post_signed(struct acme_client *c, const char *url, const char *payload, const char *step,
		       int flags, struct http_response *r, struct gpc_error *err)
{
	if (c->key == NULL)
		return gpc_error_set(err, GPC_E_INTERNAL, "%s: no account key set", step);
	if (!(flags & POST_JWK) && c->kid == NULL)
		return gpc_error_set(err, GPC_E_INTERNAL, "%s: no account URL (kid) set", step);
	for (int attempt = 0;; attempt++) {
		char *nonce = NULL, *jws;
		long wait = 0;
		int rc;

		if (get_nonce(c, &nonce, err) < 0)
			return -1;
		jws = jws_build(c->key, (flags & POST_JWK) ? NULL : c->kid, nonce, url, payload, err);
		free(nonce);
		if (jws == NULL)
			return -1;
		rc = http_request(c->http, "POST", url, CT_JOSE, jws, strlen(jws), r, err);
		free(jws);
		if (rc < 0) {
			if ((flags & POST_IDEMPOTENT) && http_client_retryable(c->http) &&
			    attempt < c->opt.max_retries) {
				gpc_info("%s: %s; retrying", step, err ? err->message : "network error");
				sleep_ms(backoff_ms(attempt + 1));
				continue;
			}
			return -1;
		}
		nonce_push(c, r->nonce);
		if (r->status < 400) {
			acme_problem_finish(&c->last);
			return 0;
		}
		fail_response(c, step, url, r, err);
		if (acme_problem_is(&c->last, "badNonce") && attempt < c->opt.max_retries) {
			gpc_debug("%s: badNonce, retrying with the nonce from the error response", step);
			continue;
		}
		if ((flags & POST_IDEMPOTENT) && retry_503(c, r, attempt, &wait)) {
			gpc_info("%s: CA busy (HTTP 503); retrying in %ld ms", step, wait);
			sleep_ms(wait);
			continue;
		}
		return -1;
	}
}

int acme_post(struct acme_client *c, const char *url, const char *payload, const char *step,
	      struct http_response *r, struct gpc_error *err)
{
	int flags = payload == NULL ? POST_IDEMPOTENT : 0;

	if (c->kid == NULL)
		flags |= POST_JWK;
	if (acme_directory_fetch(c, err) < 0)
		return -1;
	return post_signed(c, url, payload, step ? step : url, flags, r, err);
}

/* POST and parse a JSON object answer. */
static int post_json(struct acme_client *c, const char *url, const char *payload, const char *step,
		     int flags, struct http_response *r, struct json_object **out, struct gpc_error *err)
{
	if (acme_directory_fetch(c, err) < 0 || post_signed(c, url, payload, step, flags, r, err) < 0)
		return -1;
	*out = parse_json(r->body.data ? r->body.data : "", r->body.len);
	if (*out == NULL)
		return gpc_error_set(err, GPC_E_CA, "%s: the CA's answer (%s) is not a JSON object", step, url);
	return 0;
}

/* ---- account ----------------------------------------------------------- */

void acme_account_finish(struct acme_account *a)
{
	if (a == NULL)
		return;
	free(a->url);
	free(a->status);
	for (size_t i = 0; i < a->n_contact; i++)
		free(a->contact[i]);
	free(a->contact);
	free(a->orders);
	memset(a, 0, sizeof(*a));
}

static void account_from_json(struct json_object *o, const char *url, struct acme_account *a)
{
	struct json_object *ct;

	memset(a, 0, sizeof(*a));
	a->url = xstrdup(url);
	a->status = jdup(o, "status");
	a->orders = jdup(o, "orders");
	if (json_object_object_get_ex(o, "contact", &ct) && json_object_is_type(ct, json_type_array)) {
		size_t n = json_object_array_length(ct);
		a->contact = n ? calloc(n, sizeof(char *)) : NULL;
		for (size_t i = 0; a->contact != NULL && i < n; i++) {
			struct json_object *v = json_object_array_get_idx(ct, i);
			if (json_object_is_type(v, json_type_string))
				a->contact[a->n_contact++] = strdup(json_object_get_string(v));
		}
	}
}

static struct json_object *contact_array(const char *const *contact, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr != NULL && i < n; i++) {
		char tmp[512];
		const char *v = contact[i];
		if (strchr(v, ':') == NULL) {
			snprintf(tmp, sizeof(tmp), "mailto:%s", v);
			v = tmp;
		}
		json_object_array_add(arr, json_object_new_string(v));
	}
	return arr;
}

static int set_kid(struct acme_client *c, const char *loc, const char *step, struct gpc_error *err)
{
	char *k;

	if (loc == NULL)
		return gpc_error_set(err, GPC_E_CA, "%s: the CA sent no account URL (Location)", step);
	if ((k = strdup(loc)) == NULL)
		return nomem(err);
	free(c->kid);
	c->kid = k;
	return 0;
}

int acme_account_new(struct acme_client *c, const struct acme_account_opts *o, struct acme_account *out,
		     bool *created, struct gpc_error *err)
{
	struct json_object *req = NULL, *resp = NULL;
	struct http_response r;
	char *eab = NULL;
	int rc = -1;

	http_response_init(&r);
	if (acme_directory_fetch(c, err) < 0)
		goto out;
	if (c->key == NULL) {
		gpc_error_set(err, GPC_E_INTERNAL, "newAccount: no account key set");
		goto out;
	}
	if (c->dir.external_account_required && (o == NULL || o->eab_kid == NULL || o->eab_hmac == NULL)) {
		gpc_error_set(err, GPC_E_USAGE, "%s requires External Account Binding", c->dir_url);
		gpc_error_hint(err, "pass --eab-kid ID --eab-hmac KEY as given by the CA");
		goto out;
	}
	req = json_object_new_object();
	if (req == NULL) {
		nomem(err);
		goto out;
	}
	/* RFC 8555 §7.3: termsOfServiceAgreed, contact, externalAccountBinding */
	if (o != NULL && o->agree_tos)
		json_object_object_add(req, "termsOfServiceAgreed", json_object_new_boolean(1));
	if (o != NULL && o->n_contact > 0)
		json_object_object_add(req, "contact", contact_array(o->contact, o->n_contact));
	if (o != NULL && o->eab_kid != NULL && o->eab_hmac != NULL) {
		struct json_object *eo;
		eab = jws_eab(c->key, o->eab_kid, o->eab_hmac, c->dir.new_account, err);
		if (eab == NULL)
			goto out;
		eo = json_tokener_parse(eab);
		if (eo == NULL) {
			gpc_error_set(err, GPC_E_INTERNAL, "EAB JWS does not parse");
			goto out;
		}
		json_object_object_add(req, "externalAccountBinding", eo);
	}
	if (post_json(c, c->dir.new_account, json_plain(req), "newAccount", POST_JWK, &r, &resp, err) < 0)
		goto out;
	if (set_kid(c, r.location, "newAccount", err) < 0)
		goto out;
	if (created != NULL)
		*created = r.status == 201;
	gpc_info("account %s: %s", r.status == 201 ? "created" : "exists", c->kid);
	if (out != NULL)
		account_from_json(resp, c->kid, out);
	rc = 0;
out:
	if (eab != NULL) {
		gnutls_memset(eab, 0, strlen(eab));
		free(eab);
	}
	json_object_put(req);
	json_object_put(resp);
	http_response_finish(&r);
	return rc;
}

int acme_account_lookup(struct acme_client *c, struct acme_account *out, struct gpc_error *err)
{
	struct json_object *resp = NULL;
	struct http_response r;
	int rc = -1;

	http_response_init(&r);
	if (acme_directory_fetch(c, err) < 0)
		goto out;
	/* RFC 8555 §7.3.1: find the account of this key without creating one */
	if (post_json(c, c->dir.new_account, "{\"onlyReturnExisting\":true}", "account lookup",
		      POST_JWK | POST_IDEMPOTENT, &r, &resp, err) < 0) {
		if (acme_problem_is(&c->last, "accountDoesNotExist"))
			rc = 1;
		goto out;
	}
	if (set_kid(c, r.location, "account lookup", err) < 0)
		goto out;
	if (out != NULL)
		account_from_json(resp, c->kid, out);
	rc = 0;
out:
	json_object_put(resp);
	http_response_finish(&r);
	return rc;
}

static int account_post(struct acme_client *c, const char *payload, const char *step, int flags,
			struct acme_account *out, struct gpc_error *err)
{
	struct json_object *resp = NULL;
	struct http_response r;
	int rc = -1;

	http_response_init(&r);
	if (c->kid == NULL) {
		gpc_error_set(err, GPC_E_INTERNAL, "%s: no account URL known", step);
		goto out;
	}
	if (post_json(c, c->kid, payload, step, flags, &r, &resp, err) < 0)
		goto out;
	if (out != NULL)
		account_from_json(resp, c->kid, out);
	rc = 0;
out:
	json_object_put(resp);
	http_response_finish(&r);
	return rc;
}

int acme_account_get(struct acme_client *c, struct acme_account *out, struct gpc_error *err)
{
	/* POST-as-GET (RFC 8555 §6.3); Pebble refuses the older empty update "{}". */
	return account_post(c, NULL, "account", POST_IDEMPOTENT, out, err);
}

int acme_account_update(struct acme_client *c, const char *const *contact, size_t n_contact,
			struct acme_account *out, struct gpc_error *err)
{
	struct json_object *req = json_object_new_object();
	int rc;

	if (req == NULL)
		return nomem(err);
	json_object_object_add(req, "contact", contact_array(contact, n_contact));
	rc = account_post(c, json_plain(req), "account update", POST_IDEMPOTENT, out, err);
	json_object_put(req);
	return rc;
}

int acme_account_deactivate(struct acme_client *c, struct gpc_error *err)
{
	/* RFC 8555 §7.3.6 */
	return account_post(c, "{\"status\":\"deactivated\"}", "account deactivation", 0, NULL, err);
}

int acme_account_rollover(struct acme_client *c, const char *new_key_pem, size_t new_key_len,
			  struct gpc_error *err)
{
	struct jws_key *nk = NULL;
	struct json_object *inner_payload = NULL, *oldkey;
	struct http_response r;
	char *inner = NULL;
	int rc = -1;

	http_response_init(&r);
	if (acme_directory_fetch(c, err) < 0)
		goto out;
	if (c->kid == NULL || c->key == NULL) {
		gpc_error_set(err, GPC_E_INTERNAL, "key rollover: no account");
		goto out;
	}
	if (jws_key_from_pem(new_key_pem, new_key_len, "new account key", &nk, err) < 0)
		goto out;
	/* RFC 8555 §7.3.5: inner JWS signed by the new key with its jwk and the
	 * keyChange url, no nonce; payload {account, oldKey}; outer signed by
	 * the old key with kid. */
	inner_payload = json_object_new_object();
	oldkey = json_tokener_parse(jws_key_jwk(c->key));
	if (inner_payload == NULL || oldkey == NULL) {
		json_object_put(oldkey);
		nomem(err);
		goto out;
	}
	json_object_object_add(inner_payload, "account", json_object_new_string(c->kid));
	json_object_object_add(inner_payload, "oldKey", oldkey);
	inner = jws_build(nk, NULL, NULL, c->dir.key_change, json_plain(inner_payload), err);
	if (inner == NULL)
		goto out;
	if (post_signed(c, c->dir.key_change, inner, "key rollover", 0, &r, err) < 0)
		goto out;
	jws_key_free(c->key);
	c->key = nk;
	nk = NULL;
	gpc_info("account key rolled over: %s", c->kid);
	rc = 0;
out:
	jws_key_free(nk);
	free(inner);
	json_object_put(inner_payload);
	http_response_finish(&r);
	return rc;
}

/* ---- orders -------------------------------------------------------------- */

static void ident_from_json(struct json_object *o, struct acme_identifier *id)
{
	id->type = jdup(o, "type");
	id->value = jdup(o, "value");
}

void acme_order_finish(struct acme_order *o)
{
	if (o == NULL)
		return;
	free(o->url);
	free(o->status);
	for (size_t i = 0; i < o->n_identifiers; i++) {
		free(o->identifiers[i].type);
		free(o->identifiers[i].value);
	}
	free(o->identifiers);
	for (size_t i = 0; i < o->n_authorizations; i++)
		free(o->authorizations[i]);
	free(o->authorizations);
	free(o->finalize);
	free(o->certificate);
	free(o->profile);
	free(o->replaces);
	acme_problem_finish(&o->error);
	memset(o, 0, sizeof(*o));
}

/* Replace *o's content with the order object `j` (keeping url). */
static void order_from_json(struct json_object *j, char *url, struct acme_order *o)
{
	struct json_object *arr, *e;

	acme_order_finish(o);
	o->url = url;
	o->status = jdup(j, "status");
	o->expires = jtime(j, "expires");
	o->finalize = jdup(j, "finalize");
	o->certificate = jdup(j, "certificate");
	o->profile = jdup(j, "profile");
	o->replaces = jdup(j, "replaces");
	if (json_object_object_get_ex(j, "identifiers", &arr) && json_object_is_type(arr, json_type_array)) {
		size_t n = json_object_array_length(arr);
		o->identifiers = n ? calloc(n, sizeof(*o->identifiers)) : NULL;
		for (size_t i = 0; o->identifiers != NULL && i < n; i++)
			ident_from_json(json_object_array_get_idx(arr, i), &o->identifiers[o->n_identifiers++]);
	}
	if (json_object_object_get_ex(j, "authorizations", &arr) && json_object_is_type(arr, json_type_array)) {
		size_t n = json_object_array_length(arr);
		o->authorizations = n ? calloc(n, sizeof(char *)) : NULL;
		for (size_t i = 0; o->authorizations != NULL && i < n; i++) {
			struct json_object *v = json_object_array_get_idx(arr, i);
			if (json_object_is_type(v, json_type_string))
				o->authorizations[o->n_authorizations++] = strdup(json_object_get_string(v));
		}
	}
	if (json_object_object_get_ex(j, "error", &e) && json_object_is_type(e, json_type_object))
		problem_from_json(e, &o->error);
}

int acme_order_new(struct acme_client *c, const struct acme_order_opts *opt, struct acme_order *o,
		   struct gpc_error *err)
{
	struct json_object *req = NULL, *ids, *resp = NULL;
	struct http_response r;
	char *url;
	int rc = -1;

	memset(o, 0, sizeof(*o));
	http_response_init(&r);
	if (opt == NULL || opt->n_names == 0) {
		gpc_error_set(err, GPC_E_USAGE, "an order needs at least one name");
		goto out;
	}
	if (acme_directory_fetch(c, err) < 0)
		goto out;
	if (opt->profile != NULL && !acme_directory_has_profile(&c->dir, opt->profile)) {
		struct buf b;
		buf_init(&b, 400);
		for (size_t i = 0; i < c->dir.n_profiles; i++)
			if (buf_printf(&b, "%s%s", i ? ", " : "", c->dir.profiles[i].name) < 0)
				break;
		gpc_error_set(err, GPC_E_USAGE, "profile '%s': the CA at %s does not offer it", opt->profile,
			      c->dir_url);
		if (c->dir.n_profiles > 0)
			gpc_error_hint(err, "choose one of: %s", b.data);
		else
			gpc_error_hint(err, "this CA lists no profiles; leave out --profile");
		buf_finish(&b);
		goto out;
	}
	req = json_object_new_object();
	ids = json_object_new_array();
	if (req == NULL || ids == NULL) {
		json_object_put(ids);
		nomem(err);
		goto out;
	}
	/* RFC 8555 §7.4 identifiers; RFC 8738 for IP addresses */
	for (size_t i = 0; i < opt->n_names; i++) {
		struct json_object *id = json_object_new_object();
		json_object_object_add(id, "type", json_object_new_string(keygen_ident_type(opt->names[i])));
		json_object_object_add(id, "value", json_object_new_string(opt->names[i]));
		json_object_array_add(ids, id);
	}
	json_object_object_add(req, "identifiers", ids);
	if (opt->profile != NULL)
		json_object_object_add(req, "profile", json_object_new_string(opt->profile));
	if (opt->replaces != NULL) /* RFC 9773 §5 */
		json_object_object_add(req, "replaces", json_object_new_string(opt->replaces));
	if (post_json(c, c->dir.new_order, json_plain(req), "newOrder", 0, &r, &resp, err) < 0)
		goto out;
	if (r.location == NULL) {
		gpc_error_set(err, GPC_E_CA, "newOrder: the CA sent no order URL (Location)");
		goto out;
	}
	url = strdup(r.location);
	if (url == NULL) {
		nomem(err);
		goto out;
	}
	order_from_json(resp, url, o);
	gpc_debug("order %s: %s, %zu authorizations", o->url, o->status ? o->status : "?",
		  o->n_authorizations);
	rc = 0;
out:
	json_object_put(req);
	json_object_put(resp);
	http_response_finish(&r);
	return rc;
}

int acme_order_refresh(struct acme_client *c, struct acme_order *o, struct gpc_error *err)
{
	struct json_object *resp = NULL;
	struct http_response r;
	char *url;
	int rc = -1;

	http_response_init(&r);
	if (post_json(c, o->url, NULL, "order", POST_IDEMPOTENT, &r, &resp, err) < 0)
		goto out;
	url = o->url;
	o->url = NULL;
	order_from_json(resp, url, o);
	rc = 0;
out:
	json_object_put(resp);
	http_response_finish(&r);
	return rc;
}

/* ---- authorizations and challenges ------------------------------------ */

void acme_authz_finish(struct acme_authz *a)
{
	if (a == NULL)
		return;
	free(a->url);
	free(a->status);
	free(a->identifier.type);
	free(a->identifier.value);
	for (size_t i = 0; i < a->n_challenges; i++) {
		free(a->challenges[i].type);
		free(a->challenges[i].url);
		free(a->challenges[i].token);
		free(a->challenges[i].status);
		for (size_t k = 0; k < a->challenges[i].n_issuers; k++)
			free(a->challenges[i].issuers[k]);
		free(a->challenges[i].issuers);
		free(a->challenges[i].account_uri);
		acme_problem_finish(&a->challenges[i].error);
	}
	free(a->challenges);
	memset(a, 0, sizeof(*a));
}

/* dns-persist-01: the issuer domain names the CA accepts and, from CAs
 * that send it, the account URI the record must name. */
static void challenge_persist_from_json(struct json_object *ch, struct acme_challenge *c)
{
	struct json_object *arr;

	c->account_uri = jdup(ch, "accounturi");
	if (!json_object_object_get_ex(ch, "issuer-domain-names", &arr) || !json_object_is_type(arr, json_type_array))
		return;
	size_t n = json_object_array_length(arr);
	c->issuers = n ? calloc(n, sizeof(char *)) : NULL;
	for (size_t i = 0; c->issuers != NULL && i < n; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		if (json_object_is_type(v, json_type_string) &&
		    (c->issuers[c->n_issuers] = strdup(json_object_get_string(v))) != NULL)
			c->n_issuers++;
	}
}

static void authz_from_json(struct json_object *j, char *url, struct acme_authz *a)
{
	struct json_object *v, *arr;

	acme_authz_finish(a);
	a->url = url;
	a->status = jdup(j, "status");
	a->expires = jtime(j, "expires");
	if (json_object_object_get_ex(j, "identifier", &v))
		ident_from_json(v, &a->identifier);
	if (json_object_object_get_ex(j, "wildcard", &v))
		a->wildcard = json_object_get_boolean(v);
	if (json_object_object_get_ex(j, "challenges", &arr) && json_object_is_type(arr, json_type_array)) {
		size_t n = json_object_array_length(arr);
		a->challenges = n ? calloc(n, sizeof(*a->challenges)) : NULL;
		for (size_t i = 0; a->challenges != NULL && i < n; i++) {
			struct json_object *ch = json_object_array_get_idx(arr, i), *e;
			struct acme_challenge *c = &a->challenges[a->n_challenges];

			if (!json_object_is_type(ch, json_type_object))
				continue;
			c->type = jdup(ch, "type");
			c->url = jdup(ch, "url");
			c->token = jdup(ch, "token");
			c->status = jdup(ch, "status");
			if (json_object_object_get_ex(ch, "error", &e) && json_object_is_type(e, json_type_object))
				problem_from_json(e, &c->error);
			challenge_persist_from_json(ch, c);
			a->n_challenges++;
		}
	}
}

static int authz_fetch(struct acme_client *c, const char *url, struct acme_authz *a, time_t *retry_after,
		       struct gpc_error *err)
{
	struct json_object *resp = NULL;
	struct http_response r;
	char *u;
	int rc = -1;

	http_response_init(&r);
	if (post_json(c, url, NULL, "authorization", POST_IDEMPOTENT, &r, &resp, err) < 0)
		goto out;
	if ((u = strdup(url)) == NULL) {
		nomem(err);
		goto out;
	}
	authz_from_json(resp, u, a);
	if (retry_after != NULL)
		*retry_after = r.retry_after;
	rc = 0;
out:
	json_object_put(resp);
	http_response_finish(&r);
	return rc;
}

int acme_authz_get(struct acme_client *c, const char *url, struct acme_authz *a, struct gpc_error *err)
{
	memset(a, 0, sizeof(*a));
	return authz_fetch(c, url, a, NULL, err);
}

const struct acme_challenge *acme_authz_challenge(const struct acme_authz *a, const char *type)
{
	for (size_t i = 0; i < a->n_challenges; i++)
		if (a->challenges[i].type != NULL && strcmp(a->challenges[i].type, type) == 0)
			return &a->challenges[i];
	return NULL;
}

char *acme_key_authorization(const struct acme_client *c, const char *token)
{
	struct buf b;

	if (c->key == NULL || token == NULL)
		return NULL;
	buf_init(&b, 4096);
	/* RFC 8555 §8.1: token || '.' || base64url(JWK_Thumbprint(accountKey)) */
	if (buf_printf(&b, "%s.%s", token, jws_key_thumbprint(c->key)) < 0) {
		buf_finish(&b);
		return NULL;
	}
	return buf_take(&b, NULL);
}

char *acme_dns01_txt(const char *key_authorization)
{
	unsigned char d[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, key_authorization, strlen(key_authorization), d) < 0)
		return NULL;
	return b64url_encode(d, sizeof(d));
}

char *acme_dns01_name(const char *ident)
{
	struct buf b;

	if (strncmp(ident, "*.", 2) == 0)
		ident += 2;
	buf_init(&b, 1024);
	if (buf_printf(&b, "_acme-challenge.%s", ident) < 0) {
		buf_finish(&b);
		return NULL;
	}
	return buf_take(&b, NULL);
}

char *acme_dns_account_name(const char *account_url, const char *ident)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char h[32];
	char label[17], *out = NULL;
	size_t k = 0;

	if (account_url == NULL || gnutls_hash_fast(GNUTLS_DIG_SHA256, account_url, strlen(account_url), h) < 0)
		return NULL;
	/* RFC 4648 §6 over 10 bytes: 80 bits, 16 characters, no padding */
	for (size_t bit = 0; bit < 80; bit += 5) {
		unsigned v = ((unsigned)h[bit / 8] << 8 | (bit / 8 + 1 < 10 ? h[bit / 8 + 1] : 0)) >> (11 - bit % 8);
		label[k++] = b32[v & 31];
	}
	label[k] = '\0';
	if (strncmp(ident, "*.", 2) == 0)
		ident += 2;
	if (asprintf(&out, "_%s._acme-challenge.%s", label, ident) < 0)
		return NULL;
	return out;
}

int acme_challenge_respond(struct acme_client *c, const char *challenge_url, struct gpc_error *err)
{
	struct http_response r;
	int rc;

	http_response_init(&r);
	if (acme_directory_fetch(c, err) < 0) {
		http_response_finish(&r);
		return -1;
	}
	/* RFC 8555 §7.5.1: an empty JSON object says "ready" */
	rc = post_signed(c, challenge_url, "{}", "challenge", POST_IDEMPOTENT, &r, err);
	http_response_finish(&r);
	return rc;
}

/* How long to wait before poll number `n` (0-based): Retry-After when the CA
 * gave one (RFC 8555 §7.5.1), else 100 ms doubling up to 3.2 s. Clamped to the
 * time left. Returns -1 when the deadline has passed. */
static long poll_wait_ms(int n, time_t retry_after, double deadline)
{
	double left = deadline - mono_now();
	long ms;

	if (left <= 0)
		return -1;
	if (retry_after > 0) {
		time_t now = time_now();
		ms = retry_after > now ? (long)(retry_after - now) * 1000 : 250;
	} else {
		ms = 100L << (n > 5 ? 5 : n); /* 0.1 s doubling to 3.2 s */
	}
	if (ms > (long)(left * 1000))
		ms = (long)(left * 1000);
	return ms;
}

int acme_authz_poll(struct acme_client *c, struct acme_authz *a, struct gpc_error *err)
{
	double deadline = mono_now() + c->opt.max_poll_secs;
	time_t retry_after = 0;
	char *url;

	for (int n = 0;; n++) {
		long ms;

		if (a->status != NULL && strcmp(a->status, "pending") != 0)
			break;
		ms = poll_wait_ms(n, retry_after, deadline);
		if (ms < 0) {
			gpc_error_set(err, GPC_E_CA, "authorization for %s still pending after %d s",
				      a->identifier.value ? a->identifier.value : "?", c->opt.max_poll_secs);
			return gpc_error_hint(err, "the CA did not validate in time; try again later");
		}
		gpc_debug("authorization for %s pending; asking again in %ld ms",
			  a->identifier.value ? a->identifier.value : "?", ms);
		sleep_ms(ms);
		url = strdup(a->url);
		if (url == NULL)
			return nomem(err);
		if (authz_fetch(c, url, a, &retry_after, err) < 0) {
			free(url);
			return -1;
		}
		free(url);
	}
	if (strcmp(a->status, "valid") == 0)
		return 0;
	/* Failed: report the challenge that carries an error (RFC 8555 §7.1.6). */
	for (size_t i = 0; i < a->n_challenges; i++) {
		const struct acme_challenge *ch = &a->challenges[i];
		if (ch->error.type != NULL || ch->error.detail != NULL) {
			char step[300];
			acme_problem_finish(&c->last);
			if (problem_copy(&ch->error, &c->last) < 0)
				return nomem(err);
			snprintf(step, sizeof(step), "%s for %s", ch->type ? ch->type : "challenge",
				 a->identifier.value ? a->identifier.value : "?");
			return acme_problem_to_error(&c->last, step, 0, 0, err);
		}
	}
	gpc_error_set(err, GPC_E_CA, "authorization for %s is %s",
		      a->identifier.value ? a->identifier.value : "?", a->status);
	return -1;
}

int acme_authz_deactivate(struct acme_client *c, const char *url, struct gpc_error *err)
{
	struct http_response r;
	int rc;

	http_response_init(&r);
	if (acme_directory_fetch(c, err) < 0) {
		http_response_finish(&r);
		return -1;
	}
	rc = post_signed(c, url, "{\"status\":\"deactivated\"}", "authorization deactivation",
			 POST_IDEMPOTENT, &r, err);
	http_response_finish(&r);
	return rc;
}

int acme_order_poll(struct acme_client *c, struct acme_order *o, const char *want, struct gpc_error *err)
{
	double deadline = mono_now() + c->opt.max_poll_secs;
	time_t retry_after = 0;

	/* Waiting for "ready" follows the authorizations, so the order object the
	 * caller holds is stale (still "pending" from newOrder): ask at once. */
	bool stale = strcmp(want, "ready") == 0;

	for (int n = 0;; n++) {
		long ms;

		if (o->status != NULL && !(stale && n == 0)) {
			if (strcmp(o->status, want) == 0 ||
			    (strcmp(want, "ready") == 0 && strcmp(o->status, "valid") == 0))
				return 0;
			if (strcmp(o->status, "invalid") == 0) {
				if (o->error.type != NULL || o->error.detail != NULL) {
					acme_problem_finish(&c->last);
					if (problem_copy(&o->error, &c->last) < 0)
						return nomem(err);
					return acme_problem_to_error(&c->last, "the order", 0, 0, err);
				}
				return gpc_error_set(err, GPC_E_CA, "order %s is invalid", o->url);
			}
			if (strcmp(want, "ready") == 0 && strcmp(o->status, "pending") != 0)
				return gpc_error_set(err, GPC_E_CA, "order %s is %s, expected ready", o->url,
						     o->status);
		}
		ms = stale && n == 0 ? 0 : poll_wait_ms(n - (stale ? 1 : 0), retry_after, deadline);
		if (ms < 0) {
			gpc_error_set(err, GPC_E_CA, "order %s still %s after %d s", o->url,
				      o->status ? o->status : "unknown", c->opt.max_poll_secs);
			return gpc_error_hint(err, "the CA is slow; try again later");
		}
		gpc_debug("order %s; asking again in %ld ms", o->status ? o->status : "?", ms);
		sleep_ms(ms);
		{
			struct json_object *resp = NULL;
			struct http_response r;
			char *url;

			http_response_init(&r);
			if (post_json(c, o->url, NULL, "order", POST_IDEMPOTENT, &r, &resp, err) < 0) {
				json_object_put(resp);
				http_response_finish(&r);
				return -1;
			}
			retry_after = r.retry_after;
			url = o->url;
			o->url = NULL;
			order_from_json(resp, url, o);
			json_object_put(resp);
			http_response_finish(&r);
		}
	}
}

int acme_order_finalize(struct acme_client *c, struct acme_order *o, const unsigned char *csr_der,
			size_t csr_len, struct gpc_error *err)
{
	struct json_object *req = NULL, *resp = NULL;
	struct http_response r;
	char *csr = NULL, *url;
	int rc = -1;

	http_response_init(&r);
	if (o->status != NULL && strcmp(o->status, "valid") == 0)
		return 0;
	if (o->finalize == NULL) {
		gpc_error_set(err, GPC_E_CA, "order %s has no finalize URL", o->url);
		goto out;
	}
	csr = b64url_encode(csr_der, csr_len);
	req = json_object_new_object();
	if (csr == NULL || req == NULL) {
		nomem(err);
		goto out;
	}
	json_object_object_add(req, "csr", json_object_new_string(csr));
	/* RFC 8555 §7.4: the answer is the order, "processing" or "valid" */
	if (post_json(c, o->finalize, json_plain(req), "finalize", 0, &r, &resp, err) < 0)
		goto out;
	url = o->url;
	o->url = NULL;
	order_from_json(resp, url, o);
	if (acme_order_poll(c, o, "valid", err) < 0)
		goto out;
	if (o->certificate == NULL) {
		gpc_error_set(err, GPC_E_CA, "order %s is valid but has no certificate URL", o->url);
		goto out;
	}
	rc = 0;
out:
	free(csr);
	json_object_put(req);
	json_object_put(resp);
	http_response_finish(&r);
	return rc;
}

/* ---- certificates --------------------------------------------------------- */

/* Issuer CN of certificate `idx` (-1: the last) of a PEM chain into out.
 * Returns the number of certificates, or -1. */
static int chain_issuer_cn(const char *pem, size_t len, int idx, char *out, size_t outsz)
{
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0;
	gnutls_datum_t d = {(unsigned char *)(uintptr_t)pem, (unsigned)len};
	int rc = -1;

	out[0] = '\0';
	if (gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0) < 0 || n == 0)
		return -1;
	if (idx < 0)
		idx = (int)n - 1;
	if ((unsigned)idx < n) {
		size_t sz = outsz;
		if (gnutls_x509_crt_get_issuer_dn_by_oid(crts[idx], GNUTLS_OID_X520_COMMON_NAME, 0, 0, out, &sz) < 0)
			out[0] = '\0';
		rc = (int)n;
	}
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return rc;
}

/* Does the chain match `issuer`: topmost issuer CN first (pass 0), any
 * certificate's issuer CN (pass 1). */
static bool chain_matches(const char *pem, size_t len, const char *issuer, int pass)
{
	char cn[256];
	int n = chain_issuer_cn(pem, len, -1, cn, sizeof(cn));

	if (n < 0)
		return false;
	if (strcmp(cn, issuer) == 0)
		return true;
	for (int i = 0; pass == 1 && i < n; i++)
		if (chain_issuer_cn(pem, len, i, cn, sizeof(cn)) > 0 && strcmp(cn, issuer) == 0)
			return true;
	return false;
}

static int fetch_chain(struct acme_client *c, const char *url, struct http_response *r, struct gpc_error *err)
{
	if (post_signed(c, url, NULL, "certificate download", POST_IDEMPOTENT, r, err) < 0)
		return -1;
	if (r->body.len == 0 || strstr(r->body.data, "-----BEGIN CERTIFICATE-----") == NULL)
		return gpc_error_set(err, GPC_E_CA, "%s: the CA's answer is not a PEM certificate chain (%s)",
				     url, r->content_type ? r->content_type : "no content type");
	return 0;
}

int acme_certificate_download(struct acme_client *c, const char *url, const char *preferred_chain,
			      char **pem, size_t *len, struct gpc_error *err)
{
	struct http_response r, alt;
	char *alts[HTTP_MAX_LINKS];
	size_t n_alts = 0;
	int rc = -1;

	http_response_init(&r);
	http_response_init(&alt);
	if (acme_directory_fetch(c, err) < 0 || fetch_chain(c, url, &r, err) < 0)
		goto out;
	if (preferred_chain != NULL && !chain_matches(r.body.data, r.body.len, preferred_chain, 0)) {
		/* RFC 8555 §7.4.2: alternate chains come as Link rel="alternate" */
		for (size_t i = 0; i < r.n_alternate; i++)
			alts[n_alts++] = r.link_alternate[i];
		r.n_alternate = 0; /* now owned by alts */
		for (int pass = 0; pass < 2; pass++) {
			for (size_t i = 0; i < n_alts; i++) {
				struct gpc_error aerr;
				gpc_error_clear(&aerr);
				if (fetch_chain(c, alts[i], &alt, &aerr) < 0) {
					gpc_warn("alternate chain %s: %s", alts[i], aerr.message);
					continue;
				}
				if (chain_matches(alt.body.data, alt.body.len, preferred_chain, pass)) {
					gpc_info("using the alternate chain issued by %s", preferred_chain);
					buf_finish(&r.body);
					r.body = alt.body;
					buf_init(&alt.body, HTTP_MAX_BODY);
					goto take;
				}
			}
			if (pass == 0 && chain_matches(r.body.data, r.body.len, preferred_chain, 1))
				goto take;
		}
		gpc_warn("no chain issued by '%s' offered; using the default chain", preferred_chain);
	}
take:
	*pem = buf_take(&r.body, len);
	if (*pem == NULL) {
		nomem(err);
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n_alts; i++)
		free(alts[i]);
	http_response_finish(&alt);
	http_response_finish(&r);
	return rc;
}

/* First certificate of PEM or DER input. */
static int leaf_import(const unsigned char *cert, size_t len, gnutls_x509_crt_t *out, struct gpc_error *err)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d = {(unsigned char *)(uintptr_t)cert, (unsigned)len};
	bool pem = len > 10 && memmem(cert, len, "-----BEGIN", 10) != NULL;
	int ret;

	if ((ret = gnutls_x509_crt_init(&crt)) < 0 ||
	    (ret = gnutls_x509_crt_import(crt, &d, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER)) < 0) {
		if (crt != NULL)
			gnutls_x509_crt_deinit(crt);
		return gpc_error_set(err, GPC_E_INVALID, "not a certificate: %s", gnutls_strerror(ret));
	}
	*out = crt;
	return 0;
}

int acme_revoke(struct acme_client *c, const unsigned char *cert, size_t cert_len, int reason,
		struct gpc_error *err)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t der = {NULL, 0};
	struct json_object *req = NULL;
	struct http_response r;
	char *b = NULL;
	int rc = -1;

	http_response_init(&r);
	if (leaf_import(cert, cert_len, &crt, err) < 0)
		goto out;
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) < 0 ||
	    (b = b64url_encode(der.data, der.size)) == NULL || (req = json_object_new_object()) == NULL) {
		nomem(err);
		goto out;
	}
	/* RFC 8555 §7.6: certificate (DER, base64url) and optional reason */
	json_object_object_add(req, "certificate", json_object_new_string(b));
	if (reason >= 0)
		json_object_object_add(req, "reason", json_object_new_int(reason));
	if (acme_directory_fetch(c, err) < 0 ||
	    post_signed(c, c->dir.revoke_cert, json_plain(req), "revocation", 0, &r, err) < 0)
		goto out;
	rc = 0;
out:
	json_object_put(req);
	free(b);
	gnutls_free(der.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	http_response_finish(&r);
	return rc;
}

/* ---- ARI (RFC 9773) ------------------------------------------------------ */

int acme_ari_cert_id(const unsigned char *cert, size_t cert_len, char **id, struct gpc_error *err)
{
	gnutls_x509_crt_t crt = NULL;
	unsigned char aki[128], serial[64];
	size_t akilen = sizeof(aki), seriallen = sizeof(serial);
	unsigned critical = 0;
	char *a = NULL, *s = NULL;
	struct buf b;
	int rc = -1;

	buf_init(&b, 512);
	if (leaf_import(cert, cert_len, &crt, err) < 0)
		goto out;
	/* RFC 9773 §4.1: keyIdentifier of the AKI extension, and the serial's
	 * DER INTEGER content octets (with the leading zero when present). */
	if (gnutls_x509_crt_get_authority_key_id(crt, aki, &akilen, &critical) < 0) {
		gpc_error_set(err, GPC_E_INVALID, "certificate has no Authority Key Identifier; no ARI for it");
		goto out;
	}
	if (gnutls_x509_crt_get_serial(crt, serial, &seriallen) < 0) {
		gpc_error_set(err, GPC_E_INVALID, "certificate serial number unreadable");
		goto out;
	}
	a = b64url_encode(aki, akilen);
	s = b64url_encode(serial, seriallen);
	if (a == NULL || s == NULL || buf_printf(&b, "%s.%s", a, s) < 0) {
		nomem(err);
		goto out;
	}
	*id = buf_take(&b, NULL);
	rc = *id ? 0 : nomem(err);
out:
	free(a);
	free(s);
	buf_finish(&b);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

void acme_renewal_info_finish(struct acme_renewal_info *ri)
{
	if (ri == NULL)
		return;
	free(ri->explanation_url);
	memset(ri, 0, sizeof(*ri));
}

int acme_ari_parse(const char *json, size_t len, struct acme_renewal_info *ri, struct gpc_error *err)
{
	struct json_object *o = parse_json(json, len), *w;
	int rc = -1;

	memset(ri, 0, sizeof(*ri));
	if (o == NULL) {
		gpc_error_set(err, GPC_E_CA, "renewalInfo: not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(o, "suggestedWindow", &w) || !json_object_is_type(w, json_type_object) ||
	    (ri->start = jtime(w, "start")) == 0 || (ri->end = jtime(w, "end")) == 0) {
		gpc_error_set(err, GPC_E_CA, "renewalInfo: no valid suggestedWindow start/end");
		goto out;
	}
	/* RFC 9773 §4.2: a window whose end is not after its start is invalid */
	if (ri->end <= ri->start) {
		gpc_error_set(err, GPC_E_CA, "renewalInfo: suggestedWindow ends before it starts");
		goto out;
	}
	ri->explanation_url = jdup(o, "explanationURL");
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

int acme_ari_fetch(struct acme_client *c, const char *cert_id, struct acme_renewal_info *ri,
		   struct gpc_error *err)
{
	struct http_response r;
	struct buf url;
	time_t now;
	int rc = -1;

	memset(ri, 0, sizeof(*ri));
	http_response_init(&r);
	buf_init(&url, 4096);
	if (acme_directory_fetch(c, err) < 0)
		goto out;
	if (c->dir.renewal_info == NULL || c->dir.renewal_info[0] == '\0') {
		gpc_error_set(err, GPC_E_CA, "%s offers no renewal information (ARI)", c->dir_url);
		goto out;
	}
	if (buf_printf(&url, "%s%s%s", c->dir.renewal_info,
		       c->dir.renewal_info[strlen(c->dir.renewal_info) - 1] == '/' ? "" : "/", cert_id) < 0) {
		nomem(err);
		goto out;
	}
	/* RFC 9773 §4.3: renewalInfo is advisory. One attempt, no retries in
	 * this run (they held a freshly issued certificate back from its
	 * commit for minutes); the caller asks again on a later run. */
	if (http_request(c->http, "GET", url.data, NULL, NULL, 0, &r, err) < 0)
		goto out;
	nonce_push(c, r.nonce);
	if (r.status >= 400) {
		fail_response(c, "renewalInfo", url.data, &r, err);
		goto out;
	}
	if (acme_ari_parse(r.body.data, r.body.len, ri, err) < 0)
		goto out;
	/* RFC 9773 §4.3: poll again after Retry-After, clamped to a sane range
	 * (at most 12 h: asked at least twice a day, which a 6-day certificate
	 * needs); without one, in six hours. */
	now = time_now();
	if (r.retry_after == 0)
		ri->retry_after = now + 6 * 3600;
	else if (r.retry_after < now + 60)
		ri->retry_after = now + 60;
	else if (r.retry_after > now + 43200)
		ri->retry_after = now + 43200;
	else
		ri->retry_after = r.retry_after;
	rc = 0;
out:
	buf_finish(&url);
	http_response_finish(&r);
	return rc;
}

time_t acme_ari_pick(const struct acme_renewal_info *ri, time_t now)
{
	uint64_t rnd = 0, span;

	if (ri->end <= now)
		return now;
	if (ri->end <= ri->start)
		return ri->start > now ? ri->start : now;
	span = (uint64_t)(ri->end - ri->start);
	if (gnutls_rnd(GNUTLS_RND_NONCE, &rnd, sizeof(rnd)) < 0)
		rnd = (uint64_t)now;
	/* RFC 9773 §4.2: a uniformly random time within the window */
	{
		time_t t = ri->start + (time_t)(rnd % span);
		return t < now ? now : t;
	}
}

/* ---- parsers of CA objects from raw JSON (also the fuzzers' entry) ----- */

int acme_order_parse(const char *json, size_t len, const char *url, struct acme_order *o)
{
	struct json_object *j = parse_json(json, len);

	memset(o, 0, sizeof(*o));
	if (j == NULL) /* parse_json: NULL unless a JSON object */
		return -1;
	order_from_json(j, url ? strdup(url) : NULL, o);
	json_object_put(j);
	return 0;
}

int acme_authz_parse(const char *json, size_t len, const char *url, struct acme_authz *a)
{
	struct json_object *j = parse_json(json, len);

	memset(a, 0, sizeof(*a));
	if (j == NULL) /* parse_json: NULL unless a JSON object */
		return -1;
	authz_from_json(j, url ? strdup(url) : NULL, a);
	json_object_put(j);
	return 0;
}

int acme_account_parse(const char *json, size_t len, const char *url, struct acme_account *a)
{
	struct json_object *j = parse_json(json, len);

	memset(a, 0, sizeof(*a));
	if (j == NULL) /* parse_json: NULL unless a JSON object */
		return -1;
	account_from_json(j, url ? url : "", a);
	json_object_put(j);
	return 0;
}

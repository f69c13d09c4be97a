/* lineage: per-certificate settings in DIR/.state/lineages/NAME.json. */
#include "lineage.h"
#include "strdist.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "buf.h"
#include "jsonutil.h"
#include "log.h"
#include "records.h"
#include "timeutil.h"
#include "x509.h"

#define LINEAGE_MAX_JSON (256 * 1024)

struct lineage *lineage_new(const char *name)
{
	struct lineage *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->name = strdup(name);
	l->key_type = strdup("ec256");
	if (l->name == NULL || l->key_type == NULL) {
		lineage_free(l);
		return NULL;
	}
	return l;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void lineage_free(struct lineage *l)
{
	if (l == NULL)
		return;
	free(l->name);
	free_names(l->names, l->n_names);
	free(l->ca_url);
	free(l->ca_bundle);
	free(l->email);
	free(l->challenge);
	free(l->solver);
	free(l->solver_arg);
	free(l->key_type);
	free(l->profile);
	free(l->preferred_chain);
	free(l->deploy_hook);
	free(l->copy_cert);
	free(l->copy_key);
	lineage_clear_dns_opts(l);
	free(l->dns_provider);
	free_names(l->dns_resolvers, l->n_dns_resolvers);
	free(l->ari_cert_id);
	free(l->ari_cert_sha256);
	free(l->ari_explanation_url);
	free(l->last_result);
	free(l->last_error);
	free(l->last_code);
	free(l->revoked_sha256);
	free(l);
}

int lineage_set_str(char **field, const char *value)
{
	char *copy = NULL;

	if (value != NULL && (copy = strdup(value)) == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

bool lineage_is_wildcard(const char *s)
{
	return s[0] == '*' && s[1] == '.';
}

bool lineage_is_ip(const char *s)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A DNS name (optionally "*." first) of letters, digits, '-', '.', '_'. */
static bool valid_dns_name(const char *s)
{
	size_t len = strlen(s);

	if (lineage_is_wildcard(s))
		s += 2;
	if (len == 0 || len > 253 || *s == '\0' || *s == '.' || s[strlen(s) - 1] == '.')
		return false;
	for (const char *p = s; *p; p++) {
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == '_'))
			return false;
		if (p[0] == '.' && p[1] == '.')
			return false;
		/* a label neither starts nor ends with '-' (RFC 1123 §2.1) */
		if (*p == '-' && (p == s || p[-1] == '.' || p[1] == '.' || p[1] == '\0'))
			return false;
	}
	return true;
}

int lineage_set_names(struct lineage *l, char *const *names, size_t n, struct gpc_error *err)
{
	char **v;
	size_t k = 0;

	if (n == 0)
		return gpc_error_set(err, GPC_E_USAGE, "no names given");
	if (n > LINEAGE_MAX_NAMES)
		return gpc_error_set(err, GPC_E_USAGE, "%zu names given; a certificate holds at most %d",
				     n, LINEAGE_MAX_NAMES);
	v = calloc(n, sizeof(*v));
	if (v == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (!lineage_is_ip(names[i]) && !valid_dns_name(names[i])) {
			free_names(v, k);
			gpc_error_set(err, GPC_E_USAGE, "'%s' is not a valid domain name or IP address", names[i]);
			return gpc_error_hint(err, "use a name like example.org, *.example.org (dns-01 only) or an IP address");
		}
		v[k] = strdup(names[i]);
		if (v[k] == NULL) {
			free_names(v, k);
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		}
		if (!lineage_is_ip(v[k]))
			for (char *p = v[k]; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_str);
	/* drop duplicates */
	size_t w = 0;
	for (size_t i = 0; i < k; i++) {
		if (w > 0 && strcmp(v[w - 1], v[i]) == 0) {
			free(v[i]);
			continue;
		}
		v[w++] = v[i];
	}
	free_names(l->names, l->n_names);
	l->names = v;
	l->n_names = w;
	return 0;
}

bool lineage_has_name(const struct lineage *l, const char *name)
{
	for (size_t i = 0; i < l->n_names; i++)
		if (strcmp(l->names[i], name) == 0)
			return true;
	return false;
}

bool lineage_same_names(char *const *a, size_t na, char *const *b, size_t nb)
{
	/* Both sides may be unnormalised: compare as sets, case-insensitively. */
	for (size_t i = 0; i < na; i++) {
		bool found = false;
		for (size_t j = 0; j < nb && !found; j++)
			found = strcasecmp(a[i], b[j]) == 0;
		if (!found)
			return false;
	}
	for (size_t j = 0; j < nb; j++) {
		bool found = false;
		for (size_t i = 0; i < na && !found; i++)
			found = strcasecmp(a[i], b[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

char *lineage_names_joined(const struct lineage *l, const char *sep)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	for (size_t i = 0; i < l->n_names; i++)
		if ((i > 0 && buf_adds(&b, sep) != 0) || buf_adds(&b, l->names[i]) != 0) {
			buf_finish(&b);
			return NULL;
		}
	return buf_take(&b, NULL);
}

/* ---- JSON ---- */

static void put_str(struct json_object *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_object_add(o, key, json_object_new_string(v));
}

static void put_time(struct json_object *o, const char *key, time_t t)
{
	char ts[32];

	if (t != 0)
		json_object_object_add(o, key, json_object_new_string(time_rfc3339(t, ts, sizeof(ts))));
}

char *lineage_to_json(const struct lineage *l)
{
	struct json_object *o = json_object_new_object(), *names, *ari, *last;
	char *s = NULL;

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "version", json_object_new_int(1));
	names = json_object_new_array();
	for (size_t i = 0; i < l->n_names; i++)
		json_object_array_add(names, json_object_new_string(l->names[i]));
	json_object_object_add(o, "names", names);
	put_str(o, "ca_url", l->ca_url);
	put_str(o, "ca_bundle", l->ca_bundle);
	put_str(o, "email", l->email);
	put_str(o, "challenge", l->challenge);
	put_str(o, "solver", l->solver);
	put_str(o, "solver_arg", l->solver_arg);
	put_str(o, "key_type", l->key_type);
	json_object_object_add(o, "reuse_key", json_object_new_boolean(l->reuse_key));
	put_str(o, "profile", l->profile);
	put_str(o, "preferred_chain", l->preferred_chain);
	put_str(o, "deploy_hook", l->deploy_hook);
	put_str(o, "copy_cert", l->copy_cert);
	put_str(o, "copy_key", l->copy_key);
	if (l->days > 0)
		json_object_object_add(o, "days", json_object_new_int(l->days));
	if (l->hook_timeout > 0)
		json_object_object_add(o, "hook_timeout", json_object_new_int(l->hook_timeout));
	if (l->dns_provider || l->n_dns_resolvers || l->dns_timeout || l->dns_wait || l->dns_no_check) {
		/* only when set: files stay as older versions wrote them */
		struct json_object *d = json_object_new_object(), *opts = json_object_new_object();
		struct json_object *res = json_object_new_array();
		put_str(d, "provider", l->dns_provider);
		for (size_t i = 0; i < l->n_dns_opts; i++)
			if (!l->dns_opts[i].secret)
				json_object_object_add(opts, l->dns_opts[i].key,
						       json_object_new_string(l->dns_opts[i].value));
		json_object_object_add(d, "options", opts);
		for (size_t i = 0; i < l->n_dns_resolvers; i++)
			json_object_array_add(res, json_object_new_string(l->dns_resolvers[i]));
		json_object_object_add(d, "resolvers", res);
		if (l->dns_timeout > 0)
			json_object_object_add(d, "propagation_timeout", json_object_new_int(l->dns_timeout));
		if (l->dns_wait > 0)
			json_object_object_add(d, "propagation_wait", json_object_new_int(l->dns_wait));
		json_object_object_add(d, "propagation_check", json_object_new_boolean(!l->dns_no_check));
		json_object_object_add(o, "dns", d);
	}

	if (l->persist_until != 0) {
		json_object *pu = json_object_new_object();
		put_time(pu, "until", l->persist_until);
		json_object_object_add(o, "persist", pu);
	}

	ari = json_object_new_object();
	put_str(ari, "cert_id", l->ari_cert_id);
	put_str(ari, "cert_sha256", l->ari_cert_sha256);
	put_time(ari, "renew_at", l->ari_renew_at);
	put_time(ari, "window_start", l->ari_window_start);
	put_time(ari, "window_end", l->ari_window_end);
	put_str(ari, "explanation_url", l->ari_explanation_url);
	put_time(ari, "retry_after", l->ari_retry_after);
	json_object_object_add(o, "ari", ari);

	last = json_object_new_object();
	put_time(last, "attempt", l->last_attempt);
	put_str(last, "result", l->last_result);
	put_str(last, "error", l->last_error);
	put_str(last, "code", l->last_code);
	if (l->revoked_sha256 != NULL) {
		json_object *rv = json_object_new_object();
		put_str(rv, "cert_sha256", l->revoked_sha256);
		put_time(rv, "at", l->revoked_at);
		json_object_object_add(rv, "reason", json_object_new_int(l->revoked_reason));
		json_object_object_add(o, "revoked", rv);
	}
	put_time(last, "issued", l->last_issued);
	json_object_object_add(o, "last", last);

	const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (txt != NULL)
		s = strdup(txt);
	json_object_put(o);
	return s;
}

static int get_str(struct json_object *o, const char *key, char **field)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	return lineage_set_str(field, json_object_get_string(v));
}

static int get_time(struct json_object *o, const char *key, time_t *t)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		/* seconds since the epoch, up to 9999-12-31T23:59:59Z: what is
		 * written back as RFC 3339 must read back the same */
		int64_t secs = json_object_get_int64(v);
		if (secs < 0 || secs > INT64_C(253402300799))
			return -1;
		*t = (time_t)secs;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -1;
	return time_parse_rfc3339(json_object_get_string(v), t);
}

/* The "names" array of o into l (checked as -D names are). Returns 0 or
 * -1 (err names `what`). */
static int names_from_json(struct lineage *l, struct json_object *o, const char *what, struct gpc_error *err)
{
	struct json_object *v;
	char **names;
	size_t n;
	int rc = -1;

	if (!json_object_object_get_ex(o, "names", &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) == 0) {
		gpc_error_set(err, GPC_E_INVALID, "%s: no \"names\" array", what);
		return gpc_error_hint(err, "remove the file and run 'goproxy-cert issue -D NAME...' again");
	}
	n = json_object_array_length(v);
	names = calloc(n, sizeof(*names));
	if (names == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string)) {
			gpc_error_set(err, GPC_E_INVALID, "%s: \"names\"[%zu] is not a string", what, i);
			goto out;
		}
		names[i] = (char *)json_object_get_string(e);
	}
	if (lineage_set_names(l, names, n, err) != 0) {
		char msg[sizeof(err->message)];
		snprintf(msg, sizeof(msg), "%s", err->message);
		gpc_error_set(err, GPC_E_INVALID, "%s: %s", what, msg);
		goto out;
	}
	rc = 0;
out:
	free(names);
	return rc;
}

/* The "dns" object v into l: provider, options (not the secret ones),
 * resolvers, propagation settings (out of range: the default). Returns 0,
 * -1 (a field of the wrong type) or -2 (out of memory). */
static int dns_from_json(struct lineage *l, struct json_object *v)
{
	struct json_object *x;

	if (get_str(v, "provider", &l->dns_provider))
		return -1;
	if (json_object_object_get_ex(v, "options", &x) && json_object_is_type(x, json_type_object)) {
		json_object_object_foreach(x, key, val) {
			if (!json_object_is_type(val, json_type_string))
				return -1;
			if (lineage_set_dns_opt(l, key, json_object_get_string(val), false) != 0)
				return -2;
		}
	}
	if (json_object_object_get_ex(v, "resolvers", &x) && json_object_is_type(x, json_type_array)) {
		size_t nr = json_object_array_length(x);
		l->dns_resolvers = calloc(nr ? nr : 1, sizeof(char *));
		if (l->dns_resolvers == NULL)
			return -2;
		for (size_t i = 0; i < nr; i++) {
			struct json_object *e = json_object_array_get_idx(x, i);
			if (!json_object_is_type(e, json_type_string))
				return -1;
			if ((l->dns_resolvers[l->n_dns_resolvers] = strdup(json_object_get_string(e))) == NULL)
				return -2;
			l->n_dns_resolvers++;
		}
	}
	if (json_object_object_get_ex(v, "propagation_timeout", &x))
		l->dns_timeout = json_object_get_int(x);
	if (json_object_object_get_ex(v, "propagation_wait", &x))
		l->dns_wait = json_object_get_int(x);
	if (json_object_object_get_ex(v, "propagation_check", &x))
		l->dns_no_check = !json_object_get_boolean(x);
	if (l->dns_timeout < 0 || l->dns_timeout > 3600)
		l->dns_timeout = 0;
	if (l->dns_wait < 0 || l->dns_wait > 3600)
		l->dns_wait = 0;
	return 0;
}

/* What the runs recorded in o: persist, ari, last, revoked. Returns 0 or
 * -1 (a field of the wrong type). */
static int state_from_json(struct lineage *l, struct json_object *o)
{
	struct json_object *v, *r;

	if (json_object_object_get_ex(o, "persist", &v) && json_object_is_type(v, json_type_object) &&
	    get_time(v, "until", &l->persist_until))
		return -1;
	if (json_object_object_get_ex(o, "ari", &v) && json_object_is_type(v, json_type_object) &&
	    (get_str(v, "cert_id", &l->ari_cert_id) || get_str(v, "cert_sha256", &l->ari_cert_sha256) ||
	     get_time(v, "renew_at", &l->ari_renew_at) || get_time(v, "window_start", &l->ari_window_start) ||
	     get_time(v, "window_end", &l->ari_window_end) ||
	     get_str(v, "explanation_url", &l->ari_explanation_url) ||
	     get_time(v, "retry_after", &l->ari_retry_after)))
		return -1;
	if (json_object_object_get_ex(o, "last", &v) && json_object_is_type(v, json_type_object) &&
	    (get_time(v, "attempt", &l->last_attempt) || get_str(v, "result", &l->last_result) ||
	     get_str(v, "error", &l->last_error) || get_str(v, "code", &l->last_code) ||
	     get_time(v, "issued", &l->last_issued)))
		return -1;
	if (json_object_object_get_ex(o, "revoked", &v) && json_object_is_type(v, json_type_object)) {
		if (get_str(v, "cert_sha256", &l->revoked_sha256) || get_time(v, "at", &l->revoked_at))
			return -1;
		if (json_object_object_get_ex(v, "reason", &r))
			l->revoked_reason = json_object_get_int(r);
	}
	return 0;
}

int lineage_from_json(const char *name, const char *text, const char *what,
		      struct lineage **out, struct gpc_error *err)
{
	struct json_object *o = NULL, *v;
	struct lineage *l = NULL;
	int rc = -1, r;

	o = jsonutil_parse_object(text);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		gpc_error_set(err, GPC_E_INVALID, "%s: not a JSON object", what);
		gpc_error_hint(err, "remove the file and run 'goproxy-cert issue' again with the options for this lineage");
		goto out;
	}
	l = lineage_new(name);
	if (l == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	if (names_from_json(l, o, what, err) != 0)
		goto out;
	if (get_str(o, "ca_url", &l->ca_url) || get_str(o, "ca_bundle", &l->ca_bundle) ||
	    get_str(o, "email", &l->email) || get_str(o, "challenge", &l->challenge) ||
	    get_str(o, "solver", &l->solver) || get_str(o, "solver_arg", &l->solver_arg) ||
	    get_str(o, "key_type", &l->key_type) || get_str(o, "profile", &l->profile) ||
	    get_str(o, "preferred_chain", &l->preferred_chain) ||
	    get_str(o, "deploy_hook", &l->deploy_hook) || get_str(o, "copy_cert", &l->copy_cert) ||
	    get_str(o, "copy_key", &l->copy_key))
		goto bad;
	if (json_object_object_get_ex(o, "reuse_key", &v))
		l->reuse_key = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "days", &v))
		l->days = json_object_get_int(v);
	if (json_object_object_get_ex(o, "dns", &v) && json_object_is_type(v, json_type_object) &&
	    (r = dns_from_json(l, v)) != 0) {
		if (r == -2)
			goto nomem;
		goto bad;
	}
	if (json_object_object_get_ex(o, "hook_timeout", &v)) {
		l->hook_timeout = json_object_get_int(v);
		if (l->hook_timeout < 0 || l->hook_timeout > 86400)
			l->hook_timeout = 0; /* out of range: the default */
	}
	if (state_from_json(l, o) != 0)
		goto bad;
	*out = l;
	l = NULL;
	rc = 0;
	goto out;
bad:
	gpc_error_set(err, GPC_E_INVALID, "%s: a field has the wrong type", what);
	gpc_error_hint(err, "remove the file and run 'goproxy-cert issue -D NAME...' again");
	goto out;
nomem:
	gpc_error_set(err, GPC_E_NOMEM, "out of memory");
out:
	lineage_free(l);
	json_object_put(o);
	return rc;
}

static int rel_path(const char *name, char *rel, size_t relsz)
{
	int n = snprintf(rel, relsz, RECORD_LINEAGE_FMT, name);
	return (n < 0 || (size_t)n >= relsz) ? -1 : 0;
}

const char *lineage_describe(const struct certstore *cs, const char *name, char *out, size_t outsz)
{
	char rel[PATH_MAX];

	if (rel_path(name, rel, sizeof(rel)) != 0) {
		snprintf(out, outsz, "%s", name);
		return out;
	}
	return certstore_describe(cs, rel, out, outsz);
}

int lineage_load(struct certstore *cs, const char *name, struct lineage **out,
		 struct gpc_error *err)
{
	char rel[PATH_MAX], path[PATH_MAX];
	struct buf b;
	int rc;

	if (!certstore_valid_name(name) || rel_path(name, rel, sizeof(rel)) != 0)
		return gpc_error_set(err, GPC_E_USAGE, "'%s' is not a valid lineage name", name);
	buf_init(&b, LINEAGE_MAX_JSON);
	rc = certstore_state_read(cs, rel, LINEAGE_MAX_JSON, &b, err);
	if (rc == 0) {
		if (certstore_state_path(cs, rel, path, sizeof(path)) != 0)
			snprintf(path, sizeof(path), "%s", rel);
		rc = lineage_from_json(name, b.data, path, out, err);
	}
	buf_finish(&b);
	return rc;
}

/* ---- dns options and their secrets ---- */

int lineage_set_dns_opt(struct lineage *l, const char *key, const char *value, bool secret)
{
	char *v = strdup(value);

	if (v == NULL)
		return -1;
	for (size_t i = 0; i < l->n_dns_opts; i++)
		if (strcmp(l->dns_opts[i].key, key) == 0) {
			memset(l->dns_opts[i].value, 0, strlen(l->dns_opts[i].value));
			free(l->dns_opts[i].value);
			l->dns_opts[i].value = v;
			l->dns_opts[i].secret = secret;
			return 0;
		}
	struct lineage_opt *nv = realloc(l->dns_opts, (l->n_dns_opts + 1) * sizeof(*nv));
	if (nv == NULL || (nv[l->n_dns_opts].key = strdup(key)) == NULL) {
		if (nv)
			l->dns_opts = nv;
		free(v);
		return -1;
	}
	l->dns_opts = nv;
	nv[l->n_dns_opts].value = v;
	nv[l->n_dns_opts].secret = secret;
	l->n_dns_opts++;
	return 0;
}

void lineage_clear_dns_opts(struct lineage *l)
{
	for (size_t i = 0; i < l->n_dns_opts; i++) {
		free(l->dns_opts[i].key);
		memset(l->dns_opts[i].value, 0, strlen(l->dns_opts[i].value));
		free(l->dns_opts[i].value);
	}
	free(l->dns_opts);
	l->dns_opts = NULL;
	l->n_dns_opts = 0;
}

static int secrets_rel(const char *name, char *rel, size_t relsz)
{
	int n = snprintf(rel, relsz, RECORD_SECRETS_FMT, name);
	return (n < 0 || (size_t)n >= relsz) ? -1 : 0;
}

int lineage_load_secrets(struct certstore *cs, struct lineage *l, struct gpc_error *err)
{
	char rel[PATH_MAX];
	struct buf b;
	struct json_object *o = NULL, *d;
	int rc = -1;

	if (secrets_rel(l->name, rel, sizeof(rel)) != 0)
		return gpc_error_set(err, GPC_E_USAGE, "'%s' is not a valid lineage name", l->name);
	buf_init(&b, LINEAGE_MAX_JSON);
	if (certstore_state_read(cs, rel, LINEAGE_MAX_JSON, &b, err) != 0) {
		if (err->code != NULL && strcmp(err->code, GPC_E_MISSING) == 0) {
			gpc_error_clear(err);
			l->dns_secrets_loaded = true;
			rc = 0;
		}
		goto out;
	}
	o = jsonutil_parse_object(b.data);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		char rn[PATH_MAX];
		gpc_error_set(err, GPC_E_INVALID, "%s: not a JSON object", certstore_describe(cs, rel, rn, sizeof(rn)));
		gpc_error_hint(err, "run 'goproxy-cert issue -n %s' again with the provider's secrets", l->name);
		goto out;
	}
	if (json_object_object_get_ex(o, "dns", &d) && json_object_is_type(d, json_type_object)) {
		json_object_object_foreach(d, key, val) {
			if (json_object_is_type(val, json_type_string) &&
			    lineage_set_dns_opt(l, key, json_object_get_string(val), true) != 0) {
				gpc_error_set(err, GPC_E_NOMEM, "out of memory");
				goto out;
			}
		}
	}
	l->dns_secrets_loaded = true;
	rc = 0;
out:
	if (b.data)
		memset(b.data, 0, b.len);
	buf_finish(&b);
	json_object_put(o);
	return rc;
}

static int save_secrets(struct certstore *cs, const struct lineage *l, struct gpc_error *err)
{
	char rel[PATH_MAX];
	struct json_object *o = json_object_new_object(), *d = json_object_new_object();
	size_t n = 0;
	int rc;

	if (secrets_rel(l->name, rel, sizeof(rel)) != 0) {
		json_object_put(o);
		json_object_put(d);
		return gpc_error_set(err, GPC_E_USAGE, "'%s' is not a valid lineage name", l->name);
	}
	for (size_t i = 0; i < l->n_dns_opts; i++)
		if (l->dns_opts[i].secret) {
			json_object_object_add(d, l->dns_opts[i].key, json_object_new_string(l->dns_opts[i].value));
			n++;
		}
	json_object_object_add(o, "dns", d);
	if (n == 0) {
		json_object_put(o);
		return certstore_state_remove(cs, rel, err);
	}
	const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	/* certstore_state_write writes 0600 under the 0700 state directory */
	rc = certstore_state_write(cs, rel, txt, strlen(txt), err);
	json_object_put(o);
	return rc;
}

int lineage_save(struct certstore *cs, const struct lineage *l, struct gpc_error *err)
{
	char rel[PATH_MAX];
	char *s;
	int rc;

	if (rel_path(l->name, rel, sizeof(rel)) != 0)
		return gpc_error_set(err, GPC_E_USAGE, "'%s' is not a valid lineage name", l->name);
	s = lineage_to_json(l);
	if (s == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	rc = certstore_state_write(cs, rel, s, strlen(s), err);
	free(s);
	if (rc == 0 && l->dns_secrets_loaded)
		rc = save_secrets(cs, l, err);
	return rc;
}

int lineage_list(struct certstore *cs, char ***names, size_t *n, struct gpc_error *err)
{
	char **keys = NULL;
	size_t nk = 0, k = 0;

	*names = NULL;
	*n = 0;
	if (certstore_record_list(cs, RECORD_LINEAGES_DIR, &keys, &nk, err) != 0)
		return -1;
	/* "lineages/NAME.json" -> NAME, in place (the keys come sorted) */
	for (size_t i = 0; i < nk; i++) {
		char *base = keys[i] + strlen(RECORD_LINEAGES_DIR);
		size_t len = strlen(base);
		if (len > 5 && strcmp(base + len - 5, ".json") == 0) {
			memmove(keys[i], base, len - 5);
			keys[i][len - 5] = '\0';
			if (certstore_valid_name(keys[i])) {
				keys[k++] = keys[i];
				continue;
			}
		}
		free(keys[i]);
	}
	if (k == 0) {
		free(keys);
		keys = NULL;
	}
	*names = keys;
	*n = k;
	return 0;
}

static void closest_in(char **names, size_t n, const char *name, char **best, size_t *bestd, bool *exact)
{
	for (size_t i = 0; i < n; i++) {
		size_t d = str_distance(name, strlen(name), names[i], strlen(names[i]));
		if (strcmp(names[i], name) == 0)
			*exact = true;
		else if (d < *bestd) {
			*bestd = d;
			*best = names[i];
		}
	}
}

char *lineage_closest(struct certstore *cs, const char *name)
{
	char **a = NULL, **b = NULL, *best = NULL, *out = NULL;
	size_t na = 0, nb = 0, bestd = 3;
	bool exact = false;
	struct gpc_error err = {0};

	if (lineage_list(cs, &a, &na, &err) != 0)
		gpc_error_clear(&err);
	if (certstore_list(cs, &b, &nb, &err) != 0)
		gpc_error_clear(&err);
	closest_in(a, na, name, &best, &bestd, &exact);
	closest_in(b, nb, name, &best, &bestd, &exact);
	if (!exact && best != NULL)
		out = strdup(best);
	certstore_names_free(a, na);
	certstore_names_free(b, nb);
	return out;
}

/* 1 if lineage `name` holds a certificate for exactly l's names, valid at
 * `now`, of l's key type when l names one (*not_after set); else 0. */
static int holds_names(struct certstore *cs, const char *name, const struct lineage *l, time_t now,
		       time_t *not_after)
{
	struct buf cert;
	struct x509_chain *chain = NULL;
	struct gpc_error err = {0};
	int rc = 0;

	buf_init(&cert, CERTSTORE_MAX_FILE);
	if (certstore_read_cert(cs, name, &cert, NULL, &err) == 0 &&
	    x509_chain_parse(name, cert.data ? cert.data : "", cert.len, &chain, NULL, &err) == 0) {
		const struct x509_info *leaf = x509_chain_info(chain, 0);
		if (leaf != NULL && leaf->not_after > now &&
		    (l->key_type == NULL || strcmp(leaf->key_type, l->key_type) == 0) &&
		    x509_names_equal((const char *const *)leaf->names, leaf->n_names,
				     (const char *const *)l->names, l->n_names, NULL, NULL)) {
			*not_after = leaf->not_after;
			rc = 1;
		}
	}
	gpc_error_clear(&err);
	x509_chain_free(chain);
	buf_finish(&cert);
	return rc;
}

int lineage_duplicate_of(struct certstore *cs, const struct lineage *l, time_t now, char **holder,
			 time_t *not_after)
{
	struct buf own;
	struct gpc_error err = {0};
	char **names = NULL;
	size_t n = 0;
	int found = 0;

	*holder = NULL;
	if (l->n_names == 0)
		return 0;
	buf_init(&own, CERTSTORE_MAX_FILE);
	/* l has a certificate of its own (or one that cannot be read): its
	 * own renewal, which issue_decide judges */
	if (certstore_read_cert(cs, l->name, &own, NULL, &err) == 0 ||
	    err.code == NULL || strcmp(err.code, GPC_E_MISSING) != 0) {
		buf_finish(&own);
		gpc_error_clear(&err);
		return 0;
	}
	buf_finish(&own);
	gpc_error_clear(&err);
	if (certstore_list(cs, &names, &n, &err) != 0) {
		gpc_error_clear(&err);
		return 0;
	}
	for (size_t i = 0; i < n && !found; i++) {
		if (strcmp(names[i], l->name) != 0 && holds_names(cs, names[i], l, now, not_after)) {
			*holder = strdup(names[i]);
			found = *holder != NULL;
		}
	}
	certstore_names_free(names, n);
	return found;
}

/* ---- settings from one run (issue 24) ---- */

char *lineage_abs_path(const char *cwd, const char *path)
{
	char *wd = NULL, *joined = NULL, *out = NULL;
	size_t n = 0;

	if (path == NULL)
		return NULL;
	if (path[0] != '/') {
		if (cwd == NULL && (wd = getcwd(NULL, 0)) == NULL)
			return NULL;
		if (asprintf(&joined, "%s/%s", cwd ? cwd : wd, path) < 0)
			joined = NULL;
		free(wd);
		if (joined == NULL)
			return NULL;
		path = joined;
	}
	/* lexical folding: components onto a stack in `out` */
	out = malloc(strlen(path) + 2);
	if (out == NULL)
		goto done;
	for (const char *p = path; *p != '\0';) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t len = (size_t)(e - p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
		} else {
			out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = e;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
done:
	free(joined);
	return out;
}

/* *field = the absolute form of value (NULL clears). 0 or -1 (ENOMEM). */
static int set_abs(char **field, const char *cwd, const char *value)
{
	char *a;

	if (value == NULL)
		return lineage_set_str(field, NULL);
	if ((a = lineage_abs_path(cwd, value)) == NULL)
		return -1;
	free(*field);
	*field = a;
	return 0;
}

/* A deploy hook is a shell command: its first word, when a relative path
 * to a program ("./deploy.sh", "bin/reload"), is made absolute; a bare
 * command name is looked up in PATH as before and left alone. */
static int set_deploy(char **field, const char *cwd, const char *cmd)
{
	size_t lead = strspn(cmd, " \t"), wl = strcspn(cmd + lead, " \t;&|<>()");
	char *word = NULL, *abs = NULL, *out = NULL;
	int rc = -1;

	if (wl == 0 || cmd[lead] == '/' || memchr(cmd + lead, '/', wl) == NULL ||
	    memchr(cmd + lead, '=', wl) != NULL || memchr(cmd + lead, '$', wl) != NULL ||
	    memchr(cmd + lead, '\'', wl) != NULL || memchr(cmd + lead, '"', wl) != NULL)
		return lineage_set_str(field, cmd);
	if ((word = strndup(cmd + lead, wl)) == NULL || (abs = lineage_abs_path(cwd, word)) == NULL)
		goto out;
	if (asprintf(&out, "%s%s", abs, cmd + lead + wl) < 0) {
		out = NULL;
		goto out;
	}
	free(*field);
	*field = out;
	rc = 0;
out:
	free(word);
	free(abs);
	return rc;
}

int lineage_check_paths(const struct lineage *l, struct gpc_error *err)
{
	struct stat st;

	if (l->solver != NULL && strcmp(l->solver, "webroot") == 0 &&
	    (l->solver_arg == NULL || stat(l->solver_arg, &st) != 0 || !S_ISDIR(st.st_mode))) {
		gpc_error_set(err, GPC_E_USAGE, "--webroot %s: not a directory", l->solver_arg ? l->solver_arg : "");
		return gpc_error_hint(err, "give the document root your web server serves for the names "
					   "(files go to DIR/.well-known/acme-challenge/)");
	}
	if (l->solver != NULL && strcmp(l->solver, "hook") == 0 &&
	    (l->solver_arg == NULL || *l->solver_arg == '\0' ||
	     (strchr(l->solver_arg, '/') != NULL && access(l->solver_arg, X_OK) != 0))) {
		gpc_error_set(err, GPC_E_USAGE, "--hook %s: not an executable program", l->solver_arg ? l->solver_arg : "");
		return gpc_error_hint(err, "give the path of a uacme-style hook (chmod +x it)");
	}
	if (l->ca_bundle != NULL && access(l->ca_bundle, R_OK) != 0) {
		gpc_error_set(err, GPC_E_USAGE, "--ca-bundle %s: %s", l->ca_bundle, strerror(errno));
		return gpc_error_hint(err, "give a readable PEM file of the CA's trust anchors");
	}
	return 0;
}

int lineage_apply(struct lineage *l, const struct lineage_settings *s, struct gpc_error *err)
{
	const char *cwd = s->cwd;
	char *wd = NULL;
	int rc = -1;

	if (cwd == NULL) {
		if ((wd = getcwd(NULL, 0)) == NULL) {
			gpc_error_set(err, GPC_E_IO, "cannot read the working directory: %s", strerror(errno));
			gpc_error_hint(err, "run from a directory that exists, or give absolute paths");
			return -1;
		}
		cwd = wd;
	}
	if (s->n_names > 0 && lineage_set_names(l, s->names, s->n_names, err) != 0)
		goto out;
	if ((s->ca_url && lineage_set_str(&l->ca_url, s->ca_url)) ||
	    (s->ca_bundle && set_abs(&l->ca_bundle, cwd, s->ca_bundle)) ||
	    (s->email && lineage_set_str(&l->email, s->email)) ||
	    (s->challenge && lineage_set_str(&l->challenge, s->challenge)) ||
	    (s->key_type && lineage_set_str(&l->key_type, s->key_type)) ||
	    (s->profile && lineage_set_str(&l->profile, s->profile)) ||
	    (s->preferred_chain && lineage_set_str(&l->preferred_chain, s->preferred_chain)) ||
	    (s->deploy_hook && set_deploy(&l->deploy_hook, cwd, s->deploy_hook)) ||
	    (s->copy_cert && set_abs(&l->copy_cert, cwd, s->copy_cert)) ||
	    (s->copy_key && set_abs(&l->copy_key, cwd, s->copy_key)))
		goto oom;
	if (s->solver_set) {
		/* a hook named without a slash is looked up in PATH, as the shell does */
		bool path_arg = s->solver && s->solver_arg &&
				(strcmp(s->solver, "webroot") == 0 ||
				 (strcmp(s->solver, "hook") == 0 && strchr(s->solver_arg, '/') != NULL));
		if (lineage_set_str(&l->solver, s->solver) != 0 ||
		    (path_arg ? set_abs(&l->solver_arg, cwd, s->solver_arg)
			      : lineage_set_str(&l->solver_arg, s->solver_arg)) != 0)
			goto oom;
	}
	if ((s->no_profile && lineage_set_str(&l->profile, NULL)) ||
	    (s->no_preferred_chain && lineage_set_str(&l->preferred_chain, NULL)) ||
	    (s->no_deploy_hook && lineage_set_str(&l->deploy_hook, NULL)))
		goto oom;
	if (s->reuse_key)
		l->reuse_key = true;
	if (s->no_reuse_key)
		l->reuse_key = false;
	if (s->days > 0)
		l->days = s->days;
	if (s->hook_timeout > 0)
		l->hook_timeout = s->hook_timeout;
	rc = 0;
	goto out;
oom:
	gpc_error_set(err, GPC_E_NOMEM, "out of memory");
out:
	free(wd);
	return rc;
}

/* ledger: issuance/failure history, CA Retry-After and renew back-off in
 * DIR/.state/ledger.json. The in-memory form is the JSON tree itself:
 *   { "version": 1,
 *     "issuances": [ {"ca", "names": "a,b", "time", "replaces"} ],
 *     "failures":  [ {"ca", "names": "a,b", "authz": ["a"], "time", "detail"} ],
 *     "retry_after": { CA: {"until", "detail"} },
 *     "attempts":  { LINEAGE: {"failures", "last"} } } */
#include "ledger.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "buf.h"
#include "jsonutil.h"
#include "log.h"
#include "records.h"
#include "timeutil.h"

#define LEDGER_MAX_JSON (8 * 1024 * 1024)
#define LEDGER_REL RECORD_LEDGER

struct ledger {
	struct json_object *root;
	long keep; /* seconds of history to keep */
};

void ledger_limits_default(struct ledger_limits *lim)
{
	lim->off = false;
	lim->certs = LEDGER_DEFAULT_CERTS;
	lim->window = LEDGER_DEFAULT_WINDOW;
	lim->authz_fails = LEDGER_DEFAULT_AUTHZ_FAILS;
}

int ledger_limits_parse(const char *s, struct ledger_limits *lim, struct gpc_error *err)
{
	const char *orig = s;
	char *end;
	long n, h;

	ledger_limits_default(lim);
	if (strcmp(s, "off") == 0) {
		lim->off = true;
		return 0;
	}
	n = strtol(s, &end, 10);
	if (end == s || *end != '/' || n < 1 || n > 100000)
		goto bad;
	s = end + 1;
	h = strtol(s, &end, 10);
	if (end == s || *end != '\0' || h < 1 || h > 24 * 366)
		goto bad;
	lim->certs = (int)n;
	lim->window = h * 3600;
	return 0;
bad:
	gpc_error_set(err, GPC_E_USAGE, "--rate-limit: '%s' is not N/HOURS or off", orig);
	return gpc_error_hint(err, "for example --rate-limit 5/168 (Let's Encrypt's limit, the default) or --rate-limit off");
}

static struct json_object *ensure(struct json_object *root, const char *key, enum json_type t)
{
	struct json_object *v;

	if (json_object_object_get_ex(root, key, &v) && json_object_is_type(v, t))
		return v;
	v = t == json_type_array ? json_object_new_array() : json_object_new_object();
	json_object_object_add(root, key, v);
	return v;
}

static struct ledger *ledger_wrap(struct json_object *root)
{
	struct ledger *lg = calloc(1, sizeof(*lg));

	if (lg == NULL) {
		json_object_put(root);
		return NULL;
	}
	lg->root = root;
	lg->keep = 31L * 86400; /* longer than any window --rate-limit is likely to set */
	json_object_object_add(root, "version", json_object_new_int(1));
	ensure(root, "issuances", json_type_array);
	ensure(root, "failures", json_type_array);
	ensure(root, "retry_after", json_type_object);
	ensure(root, "attempts", json_type_object);
	return lg;
}

struct ledger *ledger_new(void)
{
	struct json_object *root = json_object_new_object();

	return root ? ledger_wrap(root) : NULL;
}

void ledger_free(struct ledger *lg)
{
	if (lg == NULL)
		return;
	json_object_put(lg->root);
	free(lg);
}

static int cmp_ci(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

/* The exact-name-set key: lower case, sorted, unique, comma separated.
 * Returns a malloc'd string or NULL. */
static char *set_key(char *const *names, size_t n)
{
	char **v = calloc(n ? n : 1, sizeof(*v));
	struct buf b;
	char *s = NULL;

	if (v == NULL)
		return NULL;
	memcpy(v, names, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_ci);
	buf_init(&b, 64 * 1024);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcasecmp(v[i - 1], v[i]) == 0)
			continue;
		if ((b.len > 0 && buf_adds(&b, ",") != 0))
			goto out;
		for (const char *p = v[i]; *p; p++) {
			char c = (char)tolower((unsigned char)*p);
			if (buf_add(&b, &c, 1) != 0)
				goto out;
		}
	}
	s = buf_take(&b, NULL);
out:
	buf_finish(&b);
	free(v);
	return s;
}

static const char *get_s(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "";
}

/* Numbers read from the file are clamped to [0, 2^40] so that a damaged or
 * hand-edited ledger can never overflow the arithmetic below. */
static int64_t get_i(struct json_object *o, const char *key)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	x = json_object_get_int64(v);
	if (x < 0)
		return 0;
	return x > ((int64_t)1 << 40) ? ((int64_t)1 << 40) : x;
}

static struct json_object *arr(const struct ledger *lg, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(lg->root, key, &v);
	return v;
}

static void fmt_time(time_t t, char *out, size_t outsz)
{
	time_rfc3339(t, out, outsz);
}

int ledger_check(const struct ledger *lg, const char *ca, char *const *names, size_t n,
		 const struct ledger_limits *lim, bool ari_renewal, time_t now,
		 struct gpc_error *err)
{
	char ts[32];
	time_t until;
	char *key;
	struct json_object *a;
	int rc = -1;

	/* The CA's own Retry-After is honoured even with --rate-limit off. */
	until = ledger_retry_after(lg, ca, now);
	if (until > now) {
		struct json_object *ra = arr(lg, "retry_after"), *e;
		const char *detail = "";
		if (json_object_object_get_ex(ra, ca, &e))
			detail = get_s(e, "detail");
		fmt_time(until, ts, sizeof(ts));
		gpc_error_set(err, GPC_E_RATELIMIT, "%s asked us to wait: not contacting it again before %s%s%s",
			      ca, ts, *detail ? " (" : "", *detail ? detail : "");
		gpc_error_hint(err, "try again after %s; the time is stored in .state/ledger.json", ts);
		err->retry_after = until;
		return -1;
	}
	if (lim->off)
		return 0;
	key = set_key(names, n);
	if (key == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");

	/* Failed authorizations per name per hour. */
	a = arr(lg, "failures");
	for (size_t i = 0; i < n; i++) {
		int count = 0;
		time_t oldest = 0;
		for (size_t j = 0; j < json_object_array_length(a); j++) {
			struct json_object *f = json_object_array_get_idx(a, j), *az;
			time_t t = (time_t)get_i(f, "time");
			if (strcmp(get_s(f, "ca"), ca) != 0 || t <= now - LEDGER_AUTHZ_WINDOW || t > now)
				continue;
			if (!json_object_object_get_ex(f, "authz", &az) || !json_object_is_type(az, json_type_array))
				continue;
			for (size_t k = 0; k < json_object_array_length(az); k++) {
				struct json_object *nm = json_object_array_get_idx(az, k);
				if (!json_object_is_type(nm, json_type_string) ||
				    strcasecmp(json_object_get_string(nm), names[i]) != 0)
					continue;
				{
					count++;
					if (oldest == 0 || t < oldest)
						oldest = t;
				}
			}
		}
		if (count >= lim->authz_fails) {
			until = oldest + LEDGER_AUTHZ_WINDOW;
			fmt_time(until, ts, sizeof(ts));
			gpc_error_set(err, GPC_E_RATELIMIT,
				      "%s: %d failed authorizations in the last hour (limit %d per name per hour); "
				      "next attempt allowed at %s", names[i], count, lim->authz_fails, ts);
			gpc_error_hint(err, "fix the challenge setup first (see the earlier failures), "
					    "then try after %s", ts);
			err->retry_after = until;
			goto out;
		}
	}

	/* Certificates per exact name set per window. */
	if (!ari_renewal) {
		int count = 0;
		time_t oldest = 0;
		a = arr(lg, "issuances");
		/* The oldest counted issuance decides when a slot frees up; with
		 * more than the limit, the (count - limit + 1)-th oldest does. */
		time_t times[256];
		size_t nt = 0;
		for (size_t j = 0; j < json_object_array_length(a); j++) {
			struct json_object *is = json_object_array_get_idx(a, j), *r;
			time_t t = (time_t)get_i(is, "time");
			if (strcmp(get_s(is, "ca"), ca) != 0 || strcmp(get_s(is, "names"), key) != 0)
				continue;
			if (t <= now - lim->window || t > now)
				continue;
			if (json_object_object_get_ex(is, "replaces", &r) && json_object_get_boolean(r))
				continue;
			count++;
			if (nt < sizeof(times) / sizeof(times[0]))
				times[nt++] = t;
		}
		if (count >= lim->certs) {
			/* sort ascending (small n) */
			for (size_t x = 1; x < nt; x++)
				for (size_t y = x; y > 0 && times[y - 1] > times[y]; y--) {
					time_t tmp = times[y];
					times[y] = times[y - 1];
					times[y - 1] = tmp;
				}
			size_t idx = (size_t)(count - lim->certs);
			oldest = times[idx < nt ? idx : nt - 1];
			until = oldest + lim->window;
			fmt_time(until, ts, sizeof(ts));
			gpc_error_set(err, GPC_E_RATELIMIT,
				      "%d certificates for exactly {%s} from %s in the last %ld hours (limit %d); "
				      "next issuance allowed at %s", count, key, ca, lim->window / 3600,
				      lim->certs, ts);
			gpc_error_hint(err, "the certificate on disk is still usable ('goproxy-cert check'); "
					    "try after %s, or change --rate-limit if your CA allows more", ts);
			err->retry_after = until;
			goto out;
		}
	}
	rc = 0;
out:
	free(key);
	return rc;
}

int ledger_record_issuance(struct ledger *lg, const char *ca, char *const *names, size_t n,
			   bool replaced, time_t now)
{
	struct json_object *e;
	char *key = set_key(names, n);

	if (key == NULL || (e = json_object_new_object()) == NULL) {
		free(key);
		return -1;
	}
	json_object_object_add(e, "ca", json_object_new_string(ca));
	json_object_object_add(e, "names", json_object_new_string(key));
	json_object_object_add(e, "time", json_object_new_int64(now));
	if (replaced)
		json_object_object_add(e, "replaces", json_object_new_boolean(1));
	json_object_array_add(arr(lg, "issuances"), e);
	free(key);
	return 0;
}

int ledger_record_failure(struct ledger *lg, const char *ca, char *const *names, size_t n,
			  char *const *failed_authz, size_t nf, const char *detail, time_t now)
{
	struct json_object *e, *az;
	char *key = set_key(names, n);

	if (key == NULL || (e = json_object_new_object()) == NULL) {
		free(key);
		return -1;
	}
	json_object_object_add(e, "ca", json_object_new_string(ca));
	json_object_object_add(e, "names", json_object_new_string(key));
	json_object_object_add(e, "time", json_object_new_int64(now));
	az = json_object_new_array();
	for (size_t i = 0; i < nf; i++) {
		char *low = strdup(failed_authz[i]);
		if (low == NULL)
			continue;
		for (char *p = low; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		json_object_array_add(az, json_object_new_string(low));
		free(low);
	}
	json_object_object_add(e, "authz", az);
	if (detail != NULL)
		json_object_object_add(e, "detail", json_object_new_string(detail));
	json_object_array_add(arr(lg, "failures"), e);
	free(key);
	return 0;
}

int ledger_set_retry_after(struct ledger *lg, const char *ca, time_t until, const char *detail)
{
	struct json_object *e = json_object_new_object();

	if (e == NULL)
		return -1;
	json_object_object_add(e, "until", json_object_new_int64(until));
	if (detail != NULL)
		json_object_object_add(e, "detail", json_object_new_string(detail));
	json_object_object_add(arr(lg, "retry_after"), ca, e);
	return 0;
}

time_t ledger_retry_after(const struct ledger *lg, const char *ca, time_t now)
{
	struct json_object *e;
	time_t until;

	if (!json_object_object_get_ex(arr(lg, "retry_after"), ca, &e))
		return 0;
	until = (time_t)get_i(e, "until");
	return until > now ? until : 0;
}

time_t ledger_backoff_until(const struct ledger *lg, const char *lineage, time_t now)
{
	static const long steps[] = { 60, 600, 6000, 86400 };
	struct json_object *e;
	int64_t k;
	time_t until;

	if (!json_object_object_get_ex(arr(lg, "attempts"), lineage, &e))
		return 0;
	k = get_i(e, "failures");
	if (k <= 0)
		return 0;
	until = (time_t)get_i(e, "last") + steps[k > 4 ? 3 : k - 1];
	return until > now ? until : 0;
}

int ledger_record_attempt(struct ledger *lg, const char *lineage, bool ok, time_t now)
{
	struct json_object *att = arr(lg, "attempts"), *e;
	int64_t k = 0;

	if (json_object_object_get_ex(att, lineage, &e))
		k = get_i(e, "failures");
	e = json_object_new_object();
	if (e == NULL)
		return -1;
	json_object_object_add(e, "failures", json_object_new_int64(ok ? 0 : k + 1));
	json_object_object_add(e, "last", json_object_new_int64(now));
	json_object_object_add(att, lineage, e);
	return 0;
}

int ledger_count_issuances(const struct ledger *lg, const char *ca, char *const *names,
			   size_t n, time_t since)
{
	struct json_object *a = arr(lg, "issuances");
	char *key = set_key(names, n);
	int count = 0;

	if (key == NULL)
		return 0;
	for (size_t j = 0; j < json_object_array_length(a); j++) {
		struct json_object *is = json_object_array_get_idx(a, j);
		if (ca != NULL && strcmp(get_s(is, "ca"), ca) != 0)
			continue;
		if (strcmp(get_s(is, "names"), key) == 0 && get_i(is, "time") >= since)
			count++;
	}
	free(key);
	return count;
}

static void prune_array(struct json_object *a, time_t cutoff)
{
	for (size_t j = json_object_array_length(a); j > 0; j--) {
		struct json_object *e = json_object_array_get_idx(a, j - 1);
		if (get_i(e, "time") < cutoff)
			json_object_array_del_idx(a, j - 1, 1);
	}
}

void ledger_prune(struct ledger *lg, time_t now)
{
	struct json_object *ra = arr(lg, "retry_after");
	const char *dead[64];
	size_t nd = 0;

	prune_array(arr(lg, "issuances"), now - lg->keep);
	prune_array(arr(lg, "failures"), now - lg->keep);
	json_object_object_foreach(ra, k, v) {
		if (get_i(v, "until") < now && nd < 64)
			dead[nd++] = k;
	}
	for (size_t i = 0; i < nd; i++)
		json_object_object_del(ra, dead[i]);
}

char *ledger_to_json(const struct ledger *lg)
{
	const char *s = json_object_to_json_string_ext(lg->root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	return s ? strdup(s) : NULL;
}

int ledger_from_json(const char *text, const char *what, struct ledger **out,
		     struct gpc_error *err)
{
	struct json_object *root = jsonutil_parse_object(text);

	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		gpc_error_set(err, GPC_E_INVALID, "%s: not a JSON object", what);
		return gpc_error_hint(err, "move the broken file away; the guard then starts with an empty history");
	}
	*out = ledger_wrap(root);
	if (*out == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	return 0;
}

int ledger_load(struct certstore *cs, struct ledger **out, struct gpc_error *err)
{
	struct buf b;
	char path[PATH_MAX];
	int rc;

	buf_init(&b, LEDGER_MAX_JSON);
	rc = certstore_state_read(cs, LEDGER_REL, LEDGER_MAX_JSON, &b, err);
	if (rc != 0 && err->code != NULL && strcmp(err->code, GPC_E_MISSING) == 0) {
		gpc_error_clear(err);
		buf_finish(&b);
		*out = ledger_new();
		return *out ? 0 : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	if (rc == 0) {
		if (certstore_state_path(cs, LEDGER_REL, path, sizeof(path)) != 0)
			snprintf(path, sizeof(path), "%s", LEDGER_REL);
		rc = ledger_from_json(b.data, path, out, err);
	}
	buf_finish(&b);
	return rc;
}

int ledger_save(struct certstore *cs, struct ledger *lg, struct gpc_error *err)
{
	char *s;
	int rc;

	ledger_prune(lg, time_now());
	s = ledger_to_json(lg);
	if (s == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	rc = certstore_state_write(cs, LEDGER_REL, s, strlen(s), err);
	free(s);
	return rc;
}

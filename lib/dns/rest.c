/* rest: one engine for the DNS APIs of the common REST shape (find the
 * zone, list its TXT records page by page, create one record per value,
 * delete by id), driven by a struct dns_rest_desc per provider
 * (rest_providers.c). Templates name what goes where:
 *
 *   {zone} {zone_id} {rel} {fqdn} {dfqdn} {value} {qvalue} {ttl} {id}
 *   {page} {offset} {cursor} {items} {old} {opt:NAME}
 *
 * {rel} is the name relative to the zone (desc->apex for the apex),
 * {fqdn} has no trailing dot ({dfqdn} has it), {qvalue} is the value in double quotes.
 * In a path each value is percent-encoded, in a body it is a JSON string
 * ({ttl} and {page} are numbers), in a header it is as is. {items} is
 * the whole record set, each value through desc->set_item, joined by
 * commas: for the APIs that replace a name's set at once (desc->set);
 * {old} is the set as it was, through desc->set_old. */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "log.h"

#define REST_MAX_PAGES 100

enum esc { ESC_NONE, ESC_URL, ESC_JSON };

struct rest {
	const struct dns_rest_desc *d;
	struct dns_options o; /* {opt:NAME}; zeroed when freed */
	char *base;
	unsigned ttl;
	long status; /* of the last answer */
	unsigned old_ttl; /* the set's TTL as set_read found it (desc->set_ttl) */
};

/* What the templates of one request may name. */
struct vars {
	const char *zone, *zone_id, *rel, *fqdn, *value, *id, *cursor, *items, *old;
	unsigned ttl;
	int page;
	unsigned offset; /* records seen on the pages before (total_path) */
};

static void no_dot(const char *name, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", name ? name : "");
	size_t n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
}

static int put_str(struct buf *b, const char *s, enum esc e)
{
	if (e == ESC_URL)
		return dnshttp_escape(b, s);
	if (e == ESC_JSON) {
		struct json_object *j = json_object_new_string(s);
		int rc = j ? buf_adds(b, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
									      JSON_C_TO_STRING_NOSLASHESCAPE))
			   : -1;
		json_object_put(j);
		return rc;
	}
	return buf_adds(b, s);
}

/* Expand template t into b. Returns 0, -1 (out of memory) or -2 (an
 * unknown placeholder: a bug in a description). */
static int expand(struct buf *b, const struct rest *st, const struct vars *v, const char *t, enum esc e)
{
	while (*t) {
		const char *end;
		char key[64];
		if (t[0] != '{' || !(t[1] >= 'a' && t[1] <= 'z') || (end = strchr(t, '}')) == NULL ||
		    (size_t)(end - t - 1) >= sizeof(key)) {
			if (buf_add(b, t, 1) != 0)
				return -1;
			t++;
			continue;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(end - t - 1), t + 1);
		t = end + 1;
		const char *s = NULL;
		if (strcmp(key, "ttl") == 0 || strcmp(key, "page") == 0 || strcmp(key, "offset") == 0) {
			if (buf_printf(b, "%u", strcmp(key, "ttl") == 0    ? v->ttl
						: strcmp(key, "page") == 0 ? (unsigned)v->page
									   : v->offset) != 0)
				return -1;
			continue;
		}
		if (strcmp(key, "qvalue") == 0) {
			char q[600];
			snprintf(q, sizeof(q), "\"%s\"", v->value ? v->value : "");
			if (put_str(b, q, e) != 0)
				return -1;
			continue;
		}
		if (strcmp(key, "dfqdn") == 0) {
			char d[320];
			snprintf(d, sizeof(d), "%s.", v->fqdn ? v->fqdn : "");
			if (put_str(b, d, e) != 0)
				return -1;
			continue;
		}
		if (strcmp(key, "items") == 0 || strcmp(key, "old") == 0) {
			const char *txt = key[0] == 'i' ? v->items : v->old;
			if (buf_adds(b, txt ? txt : "") != 0)
				return -1;
			continue;
		}
		if (strcmp(key, "zone") == 0)
			s = v->zone;
		else if (strcmp(key, "zone_id") == 0)
			s = v->zone_id;
		else if (strcmp(key, "rel") == 0)
			s = v->rel;
		else if (strcmp(key, "fqdn") == 0)
			s = v->fqdn;
		else if (strcmp(key, "value") == 0)
			s = v->value;
		else if (strcmp(key, "id") == 0)
			s = v->id;
		else if (strcmp(key, "cursor") == 0)
			s = v->cursor;
		else if (strncmp(key, "opt:", 4) == 0)
			s = dns_options_get(&st->o, key + 4);
		else
			return -2;
		if (put_str(b, s ? s : "", e) != 0)
			return -1;
	}
	return 0;
}

/* The value at a dotted path ("links.pages.next", "errors.0.message"; ""
 * is the root), or NULL. */
static struct json_object *jpath(struct json_object *o, const char *path)
{
	char part[64];

	if (path == NULL)
		return NULL;
	while (o != NULL && *path) {
		size_t n = strcspn(path, ".");
		snprintf(part, sizeof(part), "%.*s", (int)n, path);
		path += n + (path[n] == '.');
		if (json_object_is_type(o, json_type_array)) {
			char *end;
			long i = strtol(part, &end, 10);
			o = *end == '\0' && i >= 0 ? json_object_array_get_idx(o, (size_t)i) : NULL;
		} else if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, part, &o)) {
			o = NULL;
		}
	}
	return o;
}

static const char *jstr(struct json_object *o, const char *path)
{
	struct json_object *v = jpath(o, path);
	return v == NULL || json_object_is_type(v, json_type_null) ? NULL : json_object_get_string(v);
}

/* A 2xx answer that is not an error by the provider's own flag. On
 * failure err names the provider, what, the URL, the status and the
 * provider's own error text. *out gets the parsed body (may be NULL for
 * an empty or non-JSON 2xx body when need_json is false). */
static int answer(const struct rest *st, const char *what, const char *url, const struct dnshttp_resp *r,
		  bool need_json, struct json_object **out, struct gpc_error *err)
{
	const struct dns_rest_desc *d = st->d;
	struct json_object *o = r->body.data && r->body.len ? json_tokener_parse(r->body.data) : NULL;
	const char *flag = o && d->fail_path ? jstr(o, d->fail_path) : NULL;
	bool failed = flag != NULL && strcasecmp(flag, d->fail_value) == 0;
	char label[512], msg[400] = "";

	if (r->status >= 200 && r->status < 300 && !failed && (o != NULL || !need_json)) {
		*out = o;
		return 0;
	}
	dnshttp_url_label(url, label, sizeof(label));
	for (size_t i = 0; o != NULL && i < 3 && d->err_paths[i] && msg[0] == '\0'; i++) {
		const char *t = jstr(o, d->err_paths[i]);
		if (t != NULL && *t)
			snprintf(msg, sizeof(msg), ": %s", t);
	}
	if (msg[0] == '\0' && o == NULL && r->body.data && r->body.len && r->body.len < 200)
		snprintf(msg, sizeof(msg), ": %s", r->body.data);
	else if (msg[0] == '\0' && r->status >= 200 && r->status < 300)
		snprintf(msg, sizeof(msg), ": not a %s API answer", d->title);
	json_object_put(o);
	/* a server's text ends with a newline now and then */
	for (size_t n = strlen(msg); n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'); n--)
		msg[n - 1] = '\0';
	gpc_error_set(err, r->status == 401 || r->status == 403 ? GPC_E_PERMISSION : GPC_E_INVALID,
		      "%s: %s: %s answered HTTP %ld%s", d->name, what, label, r->status, msg);
	if (r->status == 401 || r->status == 403)
		gpc_error_hint(err, "%s", d->auth_hint);
	else if (failed) /* the API says what in its text; credentials are a common cause */
		gpc_error_hint(err, "see the %s API's message above; credentials: %s", d->title, d->auth_hint);
	else
		gpc_error_hint(err, "see the %s API's message above", d->title);
	return -1;
}

/* One call of the description: expand, send, judge. */
static int call(struct rest *st, const char *what, const struct dns_rest_call *c, const struct vars *v,
		bool need_json, struct json_object **out, struct gpc_error *err)
{
	struct buf url, body;
	struct buf hb[DNS_REST_MAX_HEADERS + DNS_REST_SIGN_HEADERS];
	const char *hdr[DNS_REST_MAX_HEADERS + DNS_REST_SIGN_HEADERS + 1] = { 0 };
	struct dnshttp_resp r = { 0 };
	int rc = -1, x = 0;
	size_t nh = 0;

	*out = NULL;
	buf_init(&url, 8192);
	buf_init(&body, 65536);
	for (size_t i = 0; i < DNS_REST_MAX_HEADERS + DNS_REST_SIGN_HEADERS; i++)
		buf_init(&hb[i], 8192);
	x = buf_adds(&url, st->base);
	if (x == 0)
		x = expand(&url, st, v, c->path, ESC_URL);
	if (x == 0 && c->body)
		x = expand(&body, st, v, c->body, ESC_JSON);
	for (size_t i = 0; x == 0 && c != &st->d->login && i < DNS_REST_MAX_HEADERS && st->d->headers[i]; i++) {
		x = expand(&hb[i], st, v, st->d->headers[i], ESC_NONE);
		hdr[nh++] = hb[i].data;
	}
	if (x == 0 && st->d->sign != NULL) {
		x = st->d->sign(&st->o, c->method, url.data, c->body ? body.data : "", &hb[DNS_REST_MAX_HEADERS]);
		for (size_t i = 0; x == 0 && i < DNS_REST_SIGN_HEADERS; i++)
			if (hb[DNS_REST_MAX_HEADERS + i].data)
				hdr[nh++] = hb[DNS_REST_MAX_HEADERS + i].data;
	}
	if (x != 0) {
		gpc_error_set(err, x == -1 ? GPC_E_NOMEM : GPC_E_INTERNAL, "%s: %s", st->d->name,
			      x == -1 ? "out of memory" : "a request template names an unknown value");
		goto out;
	}
	st->status = 0;
	if (dnshttp_request(st->d->name, c->method, url.data, hdr, c->body ? body.data : NULL, &r, err) != 0)
		goto out;
	st->status = r.status;
	rc = answer(st, what, url.data, &r, need_json, out, err);
out:
	dnshttp_resp_finish(&r);
	buf_finish(&url);
	if (body.data)
		memset(body.data, 0, body.len); /* porkbun's keys travel in it */
	buf_finish(&body);
	for (size_t i = 0; i < DNS_REST_MAX_HEADERS + DNS_REST_SIGN_HEADERS; i++) {
		if (hb[i].data)
			memset(hb[i].data, 0, hb[i].len);
		buf_finish(&hb[i]);
	}
	return rc;
}

/* Whether the page after o is wanted; sets cursor (malloc'd) for next_path. */
static bool next_page(const struct dns_rest_desc *d, struct json_object *o, int page, char **cursor)
{
	free(*cursor);
	*cursor = NULL;
	if (d->next_path != NULL) {
		const char *n = jstr(o, d->next_path);
		if (n == NULL || *n == '\0')
			return false;
		*cursor = strdup(n);
		return *cursor != NULL;
	}
	if (d->pages_path != NULL) {
		struct json_object *p = jpath(o, d->pages_path);
		return p != NULL && page < json_object_get_int(p);
	}
	return false;
}

/* The zone's id: its name, or found by listing the account's zones. */
static int zone_id(struct rest *st, const char *zone, char **id, struct gpc_error *err)
{
	const struct dns_rest_desc *d = st->d;
	char name[300], *cursor = NULL;
	struct vars v = { 0 };
	int rc = -1;

	no_dot(zone, name, sizeof(name));
	if (d->zones.path == NULL) {
		*id = strdup(name);
		return *id ? 0 : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	v.zone = name;
	for (v.page = 1; v.page <= REST_MAX_PAGES; v.page++) {
		struct json_object *o = NULL, *a;
		if (call(st, "find the zone", &d->zones, &v, true, &o, err) != 0)
			goto out;
		a = jpath(o, d->zones_array);
		for (size_t i = 0; a && json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
			struct json_object *z = json_object_array_get_idx(a, i);
			const char *n = jstr(z, d->zone_name_key), *zid = jstr(z, d->zone_id_key);
			char zn[300];
			no_dot(n, zn, sizeof(zn));
			if (n != NULL && zid != NULL && strcasecmp(zn, name) == 0) {
				*id = strdup(zid);
				json_object_put(o);
				rc = *id ? 0 : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
				goto out;
			}
		}
		bool more = next_page(d, o, v.page, &cursor);
		v.cursor = cursor;
		json_object_put(o);
		if (!more)
			break;
	}
	gpc_error_set(err, GPC_E_INVALID, "%s: no zone %s in this account", d->name, name);
	gpc_error_hint(err, "the zone found by SOA is %s; it must be a zone of this %s account", name, d->title);
out:
	free(cursor);
	return rc;
}

/* fqdn relative to zone ("_acme-challenge.www"; desc->apex for the apex). */
static void relative(const struct dns_rest_desc *d, const char *fqdn, const char *zone, char *out, size_t outsz)
{
	char f[300], z[300];
	size_t fl, zl;

	no_dot(fqdn, f, sizeof(f));
	no_dot(zone, z, sizeof(z));
	fl = strlen(f);
	zl = strlen(z);
	if (strcasecmp(f, z) == 0)
		snprintf(out, outsz, "%s", d->apex ? d->apex : "@");
	else if (fl > zl + 1 && f[fl - zl - 1] == '.' && strcasecmp(f + fl - zl, z) == 0)
		snprintf(out, outsz, "%.*s", (int)(fl - zl - 1), f);
	else
		snprintf(out, outsz, "%s", f);
}

/* A listed record's content: plain or in double quotes. */
static bool same_value(const char *c, const char *value)
{
	size_t n = strlen(value);

	if (strcmp(c, value) == 0)
		return true;
	return c[0] == '"' && strncmp(c + 1, value, n) == 0 && c[n + 1] == '"' && c[n + 2] == '\0';
}

/* A listed record's name: relative or absolute, with or without the dot. */
static bool same_name(const char *n, const struct vars *v)
{
	char x[300];

	no_dot(n, x, sizeof(x));
	return strcasecmp(x, v->rel) == 0 || strcasecmp(x, v->fqdn) == 0;
}

static void free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* The records of a list answer as a new array (json_object_put it): the
 * array itself, or the values of an object keyed by id (ClouDNS). */
static struct json_object *records_of(struct json_object *x)
{
	struct json_object *a;

	if (x != NULL && json_object_is_type(x, json_type_array))
		return json_object_get(x);
	a = json_object_new_array();
	if (a != NULL && x != NULL && json_object_is_type(x, json_type_object)) {
		json_object_object_foreach(x, k, e)
		{
			(void)k;
			json_object_array_add(a, json_object_get(e));
		}
	}
	return a;
}

/* The ids of the TXT records at the name holding the value, every page. */
static int find_records(struct rest *st, struct vars *v, char ***ids, size_t *nids, struct gpc_error *err)
{
	const struct dns_rest_desc *d = st->d;
	char *cursor = NULL;
	int rc = -1;

	*ids = NULL;
	*nids = 0;
	v->cursor = NULL;
	v->offset = 0;
	for (v->page = 1; v->page <= REST_MAX_PAGES; v->page++) {
		struct json_object *o = NULL, *a;
		if (call(st, "list the TXT records", &d->list, v, true, &o, err) != 0)
			goto out;
		a = records_of(jpath(o, d->records_array));
		for (size_t i = 0; a && i < json_object_array_length(a); i++) {
			struct json_object *e = json_object_array_get_idx(a, i), *det = NULL;
			if (d->detail.path != NULL) {
				/* the list gave an id: read the record */
				v->id = json_object_get_string(e);
				int x = call(st, "read a TXT record", &d->detail, v, true, &det, err);
				v->id = NULL;
				if (x != 0) {
					json_object_put(a);
					json_object_put(o);
					goto out;
				}
				json_object_array_put_idx(a, i, det);
				e = det;
			}
			const char *id = jstr(e, d->rec_id), *n = jstr(e, d->rec_name), *val = jstr(e, d->rec_value);
			const char *t = d->rec_type ? jstr(e, d->rec_type) : "TXT";
			if (id == NULL || n == NULL || val == NULL || t == NULL || strcasecmp(t, "TXT") != 0 ||
			    !same_name(n, v) || !same_value(val, v->value))
				continue;
			char **nv = realloc(*ids, (*nids + 1) * sizeof(*nv));
			if (nv != NULL)
				*ids = nv;
			if (nv == NULL || (nv[*nids] = strdup(id)) == NULL) {
				json_object_put(o);
				gpc_error_set(err, GPC_E_NOMEM, "out of memory");
				goto out;
			}
			(*nids)++;
		}
		bool more = next_page(d, o, v->page, &cursor);
		if (d->total_path != NULL) {
			/* offset pages: more while fewer than the total were seen */
			struct json_object *t = jpath(o, d->total_path);
			size_t got = a ? json_object_array_length(a) : 0;
			v->offset += (unsigned)got;
			more = t != NULL && got > 0 && v->offset < (unsigned)json_object_get_int(t);
		}
		v->cursor = cursor;
		json_object_put(a);
		json_object_put(o);
		if (!more)
			break;
	}
	rc = 0;
out:
	v->cursor = NULL;
	free(cursor);
	if (rc != 0) {
		free_ids(*ids, *nids);
		*ids = NULL;
		*nids = 0;
	}
	return rc;
}

/* ---- APIs that replace a name's whole record set ---- */

/* A value as the set lists it: without one pair of double quotes. */
static char *unquoted(const char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
		return strndup(s + 1, n - 2);
	return strdup(s);
}

/* The name's current values (the list call; 404: none). */
static int set_read(struct rest *st, struct vars *v, char ***vals, size_t *n, struct gpc_error *err)
{
	const struct dns_rest_desc *d = st->d;
	struct json_object *o = NULL, *a;

	*vals = NULL;
	*n = 0;
	if (call(st, "read the TXT record set", &d->list, v, true, &o, err) != 0)
		return st->status == 404 ? (gpc_error_clear(err), 0) : -1;
	a = jpath(o, d->records_array);
	if (d->set_values != NULL) {
		/* the zone's sets: the values of the one with this name and TXT */
		struct json_object *x = a;
		a = NULL;
		for (size_t i = 0; x && json_object_is_type(x, json_type_array) && i < json_object_array_length(x); i++) {
			struct json_object *e = json_object_array_get_idx(x, i);
			const char *nm = jstr(e, d->rec_name), *t = jstr(e, d->rec_type);
			if (nm && t && same_name(nm, v) && strcasecmp(t, "TXT") == 0) {
				a = jpath(e, d->set_values);
				if (d->set_ttl != NULL)
					st->old_ttl = (unsigned)json_object_get_int(jpath(e, d->set_ttl));
			}
		}
	}
	for (size_t i = 0; a && json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		const char *t = d->rec_type && !d->set_values ? jstr(e, d->rec_type) : "TXT";
		const char *val = d->rec_value ? jstr(e, d->rec_value) : json_object_get_string(e);
		if (val == NULL || t == NULL || strcasecmp(t, "TXT") != 0)
			continue;
		char **nv = realloc(*vals, (*n + 1) * sizeof(*nv));
		if (nv != NULL)
			*vals = nv;
		if (nv == NULL || (nv[*n] = unquoted(val)) == NULL) {
			json_object_put(o);
			free_ids(*vals, *n);
			*vals = NULL;
			*n = 0;
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		}
		(*n)++;
	}
	json_object_put(o);
	return 0;
}

/* Write the set: vals without `drop` (NULL: none) plus `add` (NULL:
 * none), through c; an empty set through d->del_empty when it has one. */
static int set_write(struct rest *st, struct vars *v, char **vals, size_t n, const char *drop, const char *add,
		     struct gpc_error *err)
{
	const struct dns_rest_desc *d = st->d;
	const struct dns_rest_call *c = add ? &d->create : &d->del;
	struct buf items, old, olds;
	struct json_object *o = NULL;
	const char *keep = v->value;
	unsigned ttl = v->ttl;
	size_t count = 0;
	int rc = -1;

	buf_init(&items, 65536);
	buf_init(&old, 65536);
	buf_init(&olds, 65536);
	/* desc->set_old: the set as it is now ({items} of every value, {ttl}
	 * as found), for the APIs that delete it exactly before adding */
	for (size_t i = 0; d->set_old != NULL && i < n; i++) {
		v->value = vals[i];
		if ((i && buf_adds(&olds, ",") != 0) || expand(&olds, st, v, d->set_item, ESC_JSON) != 0) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
	}
	if (d->set_old != NULL && n > 0) {
		v->items = olds.data;
		v->ttl = st->old_ttl ? st->old_ttl : ttl;
		int x = expand(&old, st, v, d->set_old, ESC_JSON);
		v->items = NULL;
		v->ttl = ttl;
		if (x != 0) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
		v->old = old.data;
	}
	for (size_t i = 0; i <= n; i++) {
		const char *x = i < n ? vals[i] : add;
		if (x == NULL || (i < n && drop != NULL && strcmp(x, drop) == 0))
			continue;
		v->value = x;
		if ((count++ && buf_adds(&items, ",") != 0) || expand(&items, st, v, d->set_item, ESC_JSON) != 0) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
	}
	v->value = keep;
	v->items = items.data ? items.data : "";
	if (count == 0 && d->del_empty.path != NULL)
		c = &d->del_empty;
	if (add && n == 0 && d->create_new.path != NULL)
		c = &d->create_new;
	rc = call(st, add ? "write the TXT record set" : "remove the value from the TXT record set", c, v, false,
		  &o, err);
	json_object_put(o);
out:
	v->value = keep;
	v->items = NULL;
	v->old = NULL;
	v->ttl = ttl;
	buf_finish(&items);
	buf_finish(&old);
	buf_finish(&olds);
	return rc;
}

static int set_change(struct rest *st, struct vars *v, bool add, struct gpc_error *err)
{
	char **vals = NULL;
	size_t n = 0;
	bool there = false;
	int rc;

	if (set_read(st, v, &vals, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		there = there || strcmp(vals[i], v->value) == 0;
	if (there == add) /* already there / already gone */
		rc = 0;
	else
		rc = set_write(st, v, vals, n, add ? NULL : v->value, add ? v->value : NULL, err);
	free_ids(vals, n);
	return rc;
}

/* desc->after, when it has one: the API applies the zone's changes. */
static int apply(struct rest *st, struct vars *v, struct gpc_error *err)
{
	struct json_object *o = NULL;
	int rc;

	if (st->d->after.path == NULL)
		return 0;
	rc = call(st, "apply the zone's changes", &st->d->after, v, false, &o, err);
	json_object_put(o);
	return rc;
}

/* desc->login, once: its token as the option login_opt. */
static int login(struct rest *st, const struct vars *v, struct gpc_error *err)
{
	const struct dns_rest_desc *d = st->d;
	struct json_object *o = NULL;
	const char *t, *have = d->login_opt ? dns_options_get(&st->o, d->login_opt) : NULL;
	int rc;

	if (d->login.path == NULL || (have != NULL && *have != '\0'))
		return 0;
	if (call(st, "log in", &d->login, v, true, &o, err) != 0)
		return -1;
	t = jstr(o, d->login_token);
	if (t == NULL || *t == '\0') {
		json_object_put(o);
		gpc_error_set(err, GPC_E_INVALID, "%s: log in: the answer has no %s", d->name, d->login_token);
		return gpc_error_hint(err, "see the %s API's documentation; credentials: %s", d->title, d->auth_hint);
	}
	rc = dns_options_set(&st->o, d->login_opt, t, true);
	json_object_put(o);
	return rc != 0 ? gpc_error_set(err, GPC_E_NOMEM, "out of memory") : 0;
}

int dns_rest_present(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	struct rest *st = state;
	char *zid = NULL, zone[300], rel[300], fqdn[300], **ids = NULL;
	size_t nids = 0;
	struct json_object *o = NULL;
	int rc = -1;

	no_dot(rec->zone, zone, sizeof(zone));
	no_dot(rec->fqdn, fqdn, sizeof(fqdn));
	relative(st->d, rec->fqdn, rec->zone, rel, sizeof(rel));
	struct vars v = { .zone = zone, .rel = rel, .fqdn = fqdn, .value = rec->value, .ttl = st->ttl };
	if (login(st, &v, err) != 0 || zone_id(st, rec->zone, &zid, err) != 0)
		goto out;
	v.zone_id = zid;
	if (st->d->set_item != NULL) {
		rc = set_change(st, &v, true, err);
		goto out;
	}
	/* a value left by a killed run is there already: keep it */
	if (st->d->list.path != NULL && find_records(st, &v, &ids, &nids, err) != 0)
		goto out;
	if (nids > 0) {
		gpc_debug("%s: %s already has TXT %s", st->d->name, rec->fqdn, rec->value);
		rc = 0;
		goto out;
	}
	if (call(st, "create the TXT record", &st->d->create, &v, false, &o, err) != 0 ||
	    apply(st, &v, err) != 0)
		goto out;
	gpc_debug("%s: added TXT %s at %s", st->d->name, rec->value, rec->fqdn);
	rc = 0;
out:
	json_object_put(o);
	free_ids(ids, nids);
	free(zid);
	return rc;
}

int dns_rest_cleanup(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	struct rest *st = state;
	char *zid = NULL, zone[300], rel[300], fqdn[300], **ids = NULL;
	size_t nids = 0;
	int rc = -1;

	no_dot(rec->zone, zone, sizeof(zone));
	no_dot(rec->fqdn, fqdn, sizeof(fqdn));
	relative(st->d, rec->fqdn, rec->zone, rel, sizeof(rel));
	struct vars v = { .zone = zone, .rel = rel, .fqdn = fqdn, .value = rec->value, .ttl = st->ttl };
	if (login(st, &v, err) != 0 || zone_id(st, rec->zone, &zid, err) != 0)
		goto out;
	v.zone_id = zid;
	if (st->d->set_item != NULL) {
		rc = set_change(st, &v, false, err);
		goto out;
	}
	if (st->d->list.path == NULL) {
		/* no ids: the API deletes by name, type and value */
		struct json_object *o = NULL;
		rc = call(st, "delete the TXT record", &st->d->del, &v, false, &o, err);
		json_object_put(o);
		goto out;
	}
	if (find_records(st, &v, &ids, &nids, err) != 0)
		goto out;
	for (size_t i = 0; i < nids; i++) {
		struct json_object *o = NULL;
		v.id = ids[i];
		if (call(st, "delete the TXT record", &st->d->del, &v, false, &o, err) != 0)
			goto out;
		json_object_put(o);
	}
	if (nids > 0 && apply(st, &v, err) != 0)
		goto out;
	rc = 0;
out:
	free_ids(ids, nids);
	free(zid);
	return rc;
}

void dns_rest_destroy(void *state)
{
	struct rest *st = state;

	if (st == NULL)
		return;
	dns_options_finish(&st->o);
	free(st->base);
	free(st);
}

int dns_rest_check(const struct dns_rest_desc *d, const struct dns_options *o, struct gpc_error *err)
{
	const char *bo = d->base_opt ? d->base_opt : "base_url";
	const char *u = dns_options_get(o, bo), *ttl = dns_options_get(o, "ttl");
	const struct dns_opt_desc *td = NULL, *ud = NULL;
	char *end;

	for (size_t i = 0; i < d->n_opts; i++) {
		if (strcmp(d->opts[i].name, "ttl") == 0)
			td = &d->opts[i];
		if (strcmp(d->opts[i].name, bo) == 0)
			ud = &d->opts[i];
	}
	if (u != NULL && ud != NULL) {
		char hint[300];
		snprintf(hint, sizeof(hint), "leave it unset (%s)", ud->def ? ud->def : "the default");
		if (dns_opt_url(d->name, bo, ud->env, u, hint, err) != 0)
			return -1;
	}
	if (ttl != NULL && td != NULL) {
		unsigned long t = strtoul(ttl, &end, 10);
		if (*ttl == '\0' || *end != '\0' || t < d->ttl_min || t > 86400) {
			gpc_error_set(err, GPC_E_USAGE, "dns provider %s: option ttl (%s) '%s' is not %u-86400 "
				      "seconds", d->name, td->env, ttl, d->ttl_min);
			return gpc_error_hint(err, "leave it unset (%s)", td->def ? td->def : "the default");
		}
	}
	return d->check ? d->check(o, err) : 0;
}

int dns_rest_create(const struct dns_rest_desc *d, const struct dns_options *o, void **state,
		    struct gpc_error *err)
{
	struct rest *st = calloc(1, sizeof(*st));
	const char *ttl = dns_options_get(o, "ttl"), *u = dns_options_get(o, d->base_opt ? d->base_opt : "base_url");

	if (st == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	st->d = d;
	st->ttl = ttl ? (unsigned)strtoul(ttl, NULL, 10) : 120;
	if (dns_options_copy(&st->o, o) != 0 || (d->prepare && d->prepare(&st->o) != 0)) {
		dns_rest_destroy(st);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	/* prepare may have set it (OVH: an endpoint's name) */
	u = dns_options_get(&st->o, d->base_opt ? d->base_opt : "base_url");
	if ((st->base = dns_url_base(u && *u ? u : d->base)) == NULL) {
		dns_rest_destroy(st);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	*state = st;
	return 0;
}

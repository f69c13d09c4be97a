/* hetzner: the Hetzner DNS API (dns.hetzner.com/api/v1). A TXT record is
 * created per value (records are not sets there) with its name relative to
 * the zone ("_acme-challenge.www", "@" for the apex); cleanup lists the
 * zone's records page by page and deletes those holding the value by id. */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "jsonutil.h"
#include "log.h"

#define HZ_DEFAULT_BASE "https://dns.hetzner.com/api/v1"
#define HZ_PER_PAGE 100
#define HZ_MAX_PAGES 100

static const struct dns_opt_desc opts[] = {
	{ "api_key", "HETZNER_API_KEY", "HETZNER_API_TOKEN", DNS_OPT_REQUIRED | DNS_OPT_SECRET, NULL,
	  "an API token of the Hetzner DNS Console (dns.hetzner.com, Settings, API tokens)" },
	{ "base_url", "HETZNER_BASE_URL", NULL, 0, HZ_DEFAULT_BASE, "the API's base URL" },
	{ "ttl", "HETZNER_TTL", NULL, 0, "120", "the TXT record's TTL in seconds" },
};

struct hz {
	char *base;
	char *auth; /* "Auth-API-Token: ..." */
	unsigned ttl;
};

static int check(const struct dns_options *o, struct gpc_error *err)
{
	if (dns_opt_url("hetzner", "base_url", "HETZNER_BASE_URL", dns_options_get(o, "base_url"),
			"leave it unset (" HZ_DEFAULT_BASE ")", err) != 0)
		return -1;
	return dns_opt_ttl("hetzner", "HETZNER_TTL", dns_options_get(o, "ttl"), err);
}

static void destroy(void *state)
{
	struct hz *h = state;

	if (h == NULL)
		return;
	free(h->base);
	dns_secret_free(h->auth);
	free(h);
}

static int create(const struct dns_options *o, void **state, struct gpc_error *err)
{
	struct hz *h = calloc(1, sizeof(*h));
	struct buf b;

	if (h == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	h->base = dns_url_base(dns_options_get(o, "base_url"));
	h->ttl = (unsigned)strtoul(dns_options_get(o, "ttl"), NULL, 10);
	buf_init(&b, 4096);
	if (buf_printf(&b, "Auth-API-Token: %s", dns_options_get(o, "api_key")) == 0)
		h->auth = buf_take(&b, NULL);
	buf_finish(&b);
	if (h->base == NULL || h->auth == NULL) {
		destroy(h);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	*state = h;
	return 0;
}

/* A 2xx answer parsed, else NULL with err: Hetzner's errors come as
 * {"message": "..."} (authentication) or {"error": {"message", "code"}}. */
static struct json_object *answer(const char *what, const char *url, const struct dnshttp_resp *r,
				  struct gpc_error *err)
{
	struct json_object *o = jsonutil_parse_object(r->body.data ? r->body.data : ""), *e, *m;
	char label[512], msg[400] = "";

	if (r->status >= 200 && r->status < 300 && o != NULL)
		return o;
	dnshttp_url_label(url, label, sizeof(label));
	if (o != NULL && json_object_object_get_ex(o, "error", &e) && json_object_object_get_ex(e, "message", &m))
		snprintf(msg, sizeof(msg), ": %s", json_object_get_string(m));
	else if (o != NULL && json_object_object_get_ex(o, "message", &m))
		snprintf(msg, sizeof(msg), ": %s", json_object_get_string(m));
	else if (o == NULL && r->status >= 200 && r->status < 300)
		snprintf(msg, sizeof(msg), ": not a Hetzner DNS API answer");
	json_object_put(o);
	gpc_error_set(err, r->status == 401 || r->status == 403 ? GPC_E_PERMISSION : GPC_E_INVALID,
		      "hetzner: %s: %s answered HTTP %ld%s", what, label, r->status, msg);
	if (r->status == 401 || r->status == 403)
		gpc_error_hint(err, "HETZNER_API_KEY must be an API token of the Hetzner DNS Console "
				    "(dns.hetzner.com, Settings, API tokens)");
	else
		gpc_error_hint(err, "see the message above");
	return NULL;
}

static int get(struct hz *h, const char *what, const char *url, struct json_object **o, struct gpc_error *err)
{
	const char *hdr[] = { h->auth, NULL };
	struct dnshttp_resp r = { 0 };
	int rc = -1;

	if (dnshttp_request("hetzner", "GET", url, hdr, NULL, &r, err) == 0 && (*o = answer(what, url, &r, err)))
		rc = 0;
	dnshttp_resp_finish(&r);
	return rc;
}

static void no_dot(const char *name, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", name);
	size_t n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
}

static int zone_id(struct hz *h, const char *zone, char **id, struct gpc_error *err)
{
	struct buf b;
	struct json_object *o = NULL, *zs;
	char name[300];
	int rc = -1;

	no_dot(zone, name, sizeof(name));
	buf_init(&b, 4096);
	if (buf_printf(&b, "%s/zones?name=", h->base) != 0 || dnshttp_escape(&b, name) != 0) {
		buf_finish(&b);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	if (get(h, "find the zone", b.data, &o, err) != 0) {
		/* the API answers 404 for a name it does not have */
		if (strstr(err->message, "answered HTTP 404") != NULL)
			gpc_error_hint(err, "the zone found by SOA is %s; it must be a zone of this Hetzner DNS "
				       "account", name);
		goto out;
	}
	for (size_t i = 0; json_object_object_get_ex(o, "zones", &zs) && json_object_is_type(zs, json_type_array) &&
			   i < json_object_array_length(zs);
	     i++) {
		struct json_object *z = json_object_array_get_idx(zs, i), *n, *v;
		if (json_object_object_get_ex(z, "name", &n) && strcasecmp(json_object_get_string(n), name) == 0 &&
		    json_object_object_get_ex(z, "id", &v)) {
			*id = strdup(json_object_get_string(v));
			rc = *id ? 0 : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
	}
	gpc_error_set(err, GPC_E_INVALID, "hetzner: no zone %s in this account", name);
	gpc_error_hint(err, "the zone found by SOA is %s; it must be a zone of this Hetzner DNS account", name);
out:
	json_object_put(o);
	buf_finish(&b);
	return rc;
}

/* fqdn relative to zone: "_acme-challenge.www", "@" for the apex. */
static void relative(const char *fqdn, const char *zone, char *out, size_t outsz)
{
	char f[300], z[300];
	size_t fl, zl;

	no_dot(fqdn, f, sizeof(f));
	no_dot(zone, z, sizeof(z));
	fl = strlen(f);
	zl = strlen(z);
	if (strcasecmp(f, z) == 0)
		snprintf(out, outsz, "@");
	else if (fl > zl + 1 && f[fl - zl - 1] == '.' && strcasecmp(f + fl - zl, z) == 0)
		snprintf(out, outsz, "%.*s", (int)(fl - zl - 1), f);
	else
		snprintf(out, outsz, "%s", f);
}

static bool same_value(const char *c, const char *value)
{
	size_t n = strlen(value);

	if (strcmp(c, value) == 0)
		return true;
	return c[0] == '"' && strncmp(c + 1, value, n) == 0 && c[n + 1] == '"' && c[n + 2] == '\0';
}

/* The ids of the zone's TXT records at rel holding value (every page). */
static int find_records(struct hz *h, const char *zid, const char *rel, const char *value, char ***ids,
			size_t *nids, struct gpc_error *err)
{
	*ids = NULL;
	*nids = 0;
	for (int page = 1; page <= HZ_MAX_PAGES; page++) {
		struct buf b;
		struct json_object *o = NULL, *recs, *meta, *pg, *last;
		int last_page = 1;

		buf_init(&b, 4096);
		if (buf_printf(&b, "%s/records?zone_id=", h->base) != 0 || dnshttp_escape(&b, zid) != 0 ||
		    buf_printf(&b, "&per_page=%d&page=%d", HZ_PER_PAGE, page) != 0) {
			buf_finish(&b);
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto fail;
		}
		int rc = get(h, "list the records", b.data, &o, err);
		buf_finish(&b);
		if (rc != 0)
			goto fail;
		for (size_t i = 0; json_object_object_get_ex(o, "records", &recs) &&
				   json_object_is_type(recs, json_type_array) && i < json_object_array_length(recs);
		     i++) {
			struct json_object *e = json_object_array_get_idx(recs, i), *id, *t, *n, *v;
			if (!json_object_object_get_ex(e, "id", &id) || !json_object_object_get_ex(e, "type", &t) ||
			    !json_object_object_get_ex(e, "name", &n) || !json_object_object_get_ex(e, "value", &v) ||
			    strcmp(json_object_get_string(t), "TXT") != 0 ||
			    strcasecmp(json_object_get_string(n), rel) != 0 ||
			    !same_value(json_object_get_string(v), value))
				continue;
			char **nv = realloc(*ids, (*nids + 1) * sizeof(*nv));
			if (nv == NULL) {
				json_object_put(o);
				gpc_error_set(err, GPC_E_NOMEM, "out of memory");
				goto fail;
			}
			*ids = nv;
			if ((nv[*nids] = strdup(json_object_get_string(id))) == NULL) {
				json_object_put(o);
				gpc_error_set(err, GPC_E_NOMEM, "out of memory");
				goto fail;
			}
			(*nids)++;
		}
		if (json_object_object_get_ex(o, "meta", &meta) && json_object_object_get_ex(meta, "pagination", &pg) &&
		    json_object_object_get_ex(pg, "last_page", &last))
			last_page = json_object_get_int(last);
		json_object_put(o);
		if (page >= last_page)
			return 0;
	}
	return 0;
fail:
	for (size_t i = 0; i < *nids; i++)
		free((*ids)[i]);
	free(*ids);
	*ids = NULL;
	*nids = 0;
	return -1;
}

static void free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static int present(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	struct hz *h = state;
	const char *hdr[] = { h->auth, NULL };
	char *zid = NULL, rel[300], **ids = NULL;
	size_t nids = 0;
	struct buf b;
	struct dnshttp_resp r = { 0 };
	struct json_object *body = NULL, *o = NULL;
	int rc = -1;

	buf_init(&b, 4096);
	relative(rec->fqdn, rec->zone, rel, sizeof(rel));
	if (zone_id(h, rec->zone, &zid, err) != 0 || find_records(h, zid, rel, rec->value, &ids, &nids, err) != 0)
		goto out;
	if (nids > 0) {
		/* a value left by a killed run is there already: keep it */
		gpc_debug("hetzner: %s already has TXT %s", rec->fqdn, rec->value);
		rc = 0;
		goto out;
	}
	body = json_object_new_object();
	json_object_object_add(body, "zone_id", json_object_new_string(zid));
	json_object_object_add(body, "type", json_object_new_string("TXT"));
	json_object_object_add(body, "name", json_object_new_string(rel));
	json_object_object_add(body, "value", json_object_new_string(rec->value));
	json_object_object_add(body, "ttl", json_object_new_int((int)h->ttl));
	if (buf_printf(&b, "%s/records", h->base) != 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	if (dnshttp_request("hetzner", "POST", b.data, hdr,
			    json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			    &r, err) != 0 ||
	    (o = answer("create the TXT record", b.data, &r, err)) == NULL)
		goto out;
	gpc_debug("hetzner: added TXT %s at %s", rec->value, rec->fqdn);
	rc = 0;
out:
	free_ids(ids, nids);
	json_object_put(body);
	json_object_put(o);
	dnshttp_resp_finish(&r);
	buf_finish(&b);
	free(zid);
	return rc;
}

static int cleanup(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	struct hz *h = state;
	const char *hdr[] = { h->auth, NULL };
	char *zid = NULL, rel[300], **ids = NULL;
	size_t nids = 0;
	int rc = -1;

	relative(rec->fqdn, rec->zone, rel, sizeof(rel));
	if (zone_id(h, rec->zone, &zid, err) != 0 || find_records(h, zid, rel, rec->value, &ids, &nids, err) != 0)
		goto out;
	for (size_t i = 0; i < nids; i++) {
		struct buf b;
		struct dnshttp_resp r = { 0 };
		struct json_object *o = NULL;
		int bad;
		buf_init(&b, 4096);
		if (buf_printf(&b, "%s/records/", h->base) != 0 || dnshttp_escape(&b, ids[i]) != 0) {
			buf_finish(&b);
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
		bad = dnshttp_request("hetzner", "DELETE", b.data, hdr, NULL, &r, err) != 0;
		/* DELETE answers with an empty body */
		if (!bad && (r.status < 200 || r.status >= 300)) {
			o = answer("delete the TXT record", b.data, &r, err);
			json_object_put(o);
			bad = 1;
		}
		dnshttp_resp_finish(&r);
		buf_finish(&b);
		if (bad)
			goto out;
	}
	rc = 0;
out:
	free_ids(ids, nids);
	free(zid);
	return rc;
}

const struct dns_provider_ops dns_hetzner = {
	.name = "hetzner",
	.aliases = { NULL },
	.title = "Hetzner DNS API",
	.needs = "an API token of the Hetzner DNS Console (it may edit every zone of the account)",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = true,
	.check = check,
	.create = create,
	.present = present,
	.cleanup = cleanup,
	.destroy = destroy,
};

/* cloudflare: Cloudflare API v4. A TXT record is created per value
 * (records are not sets there), found again by listing the name's TXT
 * records page by page, and deleted by id. */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "jsonutil.h"
#include "log.h"

#define CF_DEFAULT_BASE "https://api.cloudflare.com/client/v4"
#define CF_PER_PAGE 100
#define CF_MAX_PAGES 50

static const struct dns_opt_desc opts[] = {
	{ "auth_token", "CF_DNS_API_TOKEN", "CLOUDFLARE_DNS_API_TOKEN", DNS_OPT_SECRET, NULL,
	  "an API token with Zone:Read and DNS:Edit on the zone" },
	{ "zone_token", "CF_ZONE_API_TOKEN", "CLOUDFLARE_ZONE_API_TOKEN", DNS_OPT_SECRET, NULL,
	  "a separate token with Zone:Read, used to find the zone (optional)" },
	{ "auth_email", "CF_API_EMAIL", "CLOUDFLARE_EMAIL", 0, NULL,
	  "the account e-mail, with auth_key (the global API key; a token is better)" },
	{ "auth_key", "CF_API_KEY", "CLOUDFLARE_API_KEY", DNS_OPT_SECRET, NULL, "the global API key" },
	{ "base_url", "CLOUDFLARE_BASE_URL", NULL, 0, CF_DEFAULT_BASE, "the API's base URL" },
	{ "ttl", "CF_TTL", "CLOUDFLARE_TTL", 0, "120", "the TXT record's TTL (1 = automatic, else 60-86400)" },
};

struct cf {
	char *base;
	char *auth[3];      /* headers for the records: token, or email + key */
	char *zone_auth[3]; /* headers for the zone lookup */
	unsigned ttl;
};

static bool set(const struct dns_options *o, const char *k)
{
	const char *v = dns_options_get(o, k);
	return v != NULL && *v != '\0';
}

static int check(const struct dns_options *o, struct gpc_error *err)
{
	const char *u = dns_options_get(o, "base_url"), *ttl = dns_options_get(o, "ttl");
	char *end;

	if (!set(o, "auth_token") && !(set(o, "auth_email") && set(o, "auth_key"))) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider cloudflare: option auth_token (CF_DNS_API_TOKEN) "
			      "is missing");
		return gpc_error_hint(err, "create an API token with Zone:Read and DNS:Edit for the zone and set "
				      "CF_DNS_API_TOKEN (or CF_DNS_API_TOKEN_FILE, or --dns-opt auth_token=...); the "
				      "global key works too: CF_API_EMAIL + CF_API_KEY");
	}
	if (set(o, "auth_email") != set(o, "auth_key") && !set(o, "auth_token")) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider cloudflare: auth_email and auth_key go together");
		return gpc_error_hint(err, "or use an API token: CF_DNS_API_TOKEN");
	}
	if (dns_opt_url("cloudflare", "base_url", "CLOUDFLARE_BASE_URL", u, "leave it unset (" CF_DEFAULT_BASE ")",
			err) != 0)
		return -1;
	unsigned long t = strtoul(ttl, &end, 10);
	if (*end != '\0' || !(t == 1 || (t >= 60 && t <= 86400))) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider cloudflare: option ttl (CF_TTL) '%s' is not 1 or "
			      "60-86400", ttl);
		return gpc_error_hint(err, "leave it unset (120)");
	}
	return 0;
}

static void free_hdrs(char **h)
{
	for (int i = 0; i < 3; i++) {
		dns_secret_free(h[i]);
		h[i] = NULL;
	}
}

static void destroy(void *state)
{
	struct cf *c = state;

	if (c == NULL)
		return;
	free(c->base);
	free_hdrs(c->auth);
	free_hdrs(c->zone_auth);
	free(c);
}

static int make_hdrs(char **h, const char *token, const char *email, const char *key)
{
	struct buf b;

	buf_init(&b, 4096);
	if (token != NULL && *token != '\0') {
		if (buf_printf(&b, "Authorization: Bearer %s", token) != 0)
			return -1;
		h[0] = buf_take(&b, NULL);
		return h[0] ? 0 : -1;
	}
	if (buf_printf(&b, "X-Auth-Email: %s", email) != 0)
		return -1;
	h[0] = buf_take(&b, NULL);
	if (buf_printf(&b, "X-Auth-Key: %s", key) != 0)
		return -1;
	h[1] = buf_take(&b, NULL);
	return h[0] && h[1] ? 0 : -1;
}

static int create(const struct dns_options *o, void **state, struct gpc_error *err)
{
	struct cf *c = calloc(1, sizeof(*c));
	const char *tok = dns_options_get(o, "auth_token"), *ztok = dns_options_get(o, "zone_token");

	if (c == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	c->base = dns_url_base(dns_options_get(o, "base_url"));
	c->ttl = (unsigned)strtoul(dns_options_get(o, "ttl"), NULL, 10);
	if (c->base == NULL ||
	    make_hdrs(c->auth, tok, dns_options_get(o, "auth_email"), dns_options_get(o, "auth_key")) != 0 ||
	    make_hdrs(c->zone_auth, ztok && *ztok ? ztok : tok, dns_options_get(o, "auth_email"),
		      dns_options_get(o, "auth_key")) != 0) {
		destroy(c);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	*state = c;
	return 0;
}

/* Cloudflare's envelope: {"success": bool, "errors": [{"code", "message"}], "result": ...}.
 * Returns the parsed object when success is true, else NULL with err. */
static struct json_object *envelope(const char *what, const char *url, const struct dnshttp_resp *r,
				    struct gpc_error *err)
{
	struct json_object *o = jsonutil_parse_object(r->body.data ? r->body.data : ""), *s, *es;
	char label[512], msg[500] = "";
	size_t len = 0;

	if (o != NULL && json_object_object_get_ex(o, "success", &s) && json_object_get_boolean(s) &&
	    r->status >= 200 && r->status < 300)
		return o;
	dnshttp_url_label(url, label, sizeof(label));
	if (o != NULL && json_object_object_get_ex(o, "errors", &es) && json_object_is_type(es, json_type_array))
		for (size_t i = 0; i < json_object_array_length(es) && len < sizeof(msg) - 1; i++) {
			struct json_object *e = json_object_array_get_idx(es, i), *c = NULL, *m = NULL;
			bool hc = json_object_object_get_ex(e, "code", &c);
			bool hm = json_object_object_get_ex(e, "message", &m);
			int n = snprintf(msg + len, sizeof(msg) - len, "%s%s%d%s%s", i ? "; " : ": ",
					 hc ? "error " : "", hc ? json_object_get_int(c) : 0, hm ? " " : "",
					 hm ? json_object_get_string(m) : "");
			if (n < 0 || (size_t)n >= sizeof(msg) - len)
				break;
			len += (size_t)n;
		}
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "%s", o == NULL ? ": not a Cloudflare API answer" : "");
	json_object_put(o);
	gpc_error_set(err, r->status == 401 || r->status == 403 ? GPC_E_PERMISSION : GPC_E_INVALID,
		      "cloudflare: %s: %s answered HTTP %ld%s", what, label, r->status, msg);
	if (r->status == 401 || r->status == 403)
		gpc_error_hint(err, "the API token needs Zone:Read and DNS:Edit permissions for the zone "
				    "(CF_DNS_API_TOKEN; CF_ZONE_API_TOKEN for the zone lookup)");
	else
		gpc_error_hint(err, "see the message above; the API's status page may help");
	return NULL;
}

static int zone_id(struct cf *c, const char *zone, char **id, struct gpc_error *err)
{
	struct buf b;
	struct dnshttp_resp r = { 0 };
	struct json_object *o = NULL, *res;
	char name[300];
	int rc = -1;

	snprintf(name, sizeof(name), "%s", zone);
	if (name[0] && name[strlen(name) - 1] == '.')
		name[strlen(name) - 1] = '\0';
	buf_init(&b, 4096);
	if (buf_printf(&b, "%s/zones?name=", c->base) != 0 || dnshttp_escape(&b, name) != 0) {
		buf_finish(&b);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	if (dnshttp_request("cloudflare", "GET", b.data, (const char *const *)c->zone_auth, NULL, &r, err) != 0)
		goto out;
	if ((o = envelope("find the zone", b.data, &r, err)) == NULL)
		goto out;
	if (!json_object_object_get_ex(o, "result", &res) || !json_object_is_type(res, json_type_array) ||
	    json_object_array_length(res) == 0) {
		gpc_error_set(err, GPC_E_INVALID, "cloudflare: no zone %s in this account", name);
		gpc_error_hint(err, "the zone found by SOA is %s; the token must have Zone:Read on it", name);
		goto out;
	}
	struct json_object *z = json_object_array_get_idx(res, 0), *v;
	if (!json_object_object_get_ex(z, "id", &v) || (*id = strdup(json_object_get_string(v))) == NULL) {
		gpc_error_set(err, GPC_E_INVALID, "cloudflare: zone %s has no id", name);
		goto out;
	}
	rc = 0;
out:
	json_object_put(o);
	dnshttp_resp_finish(&r);
	buf_finish(&b);
	return rc;
}

static const char *no_dot(const char *fqdn, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", fqdn);
	size_t n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
	return out;
}

/* Content as the API may give it back: plain or in quotes. */
static bool same_content(const char *c, const char *value)
{
	size_t n = strlen(value);

	if (strcmp(c, value) == 0)
		return true;
	return c[0] == '"' && strncmp(c + 1, value, n) == 0 && c[n + 1] == '"' && c[n + 2] == '\0';
}

/* The ids of fqdn's TXT records holding value (all pages). */
static int find_records(struct cf *c, const char *zid, const struct dns_record *rec, char ***ids, size_t *nids,
			struct gpc_error *err)
{
	char name[300];
	int rc = -1;

	*ids = NULL;
	*nids = 0;
	no_dot(rec->fqdn, name, sizeof(name));
	for (int page = 1; page <= CF_MAX_PAGES; page++) {
		struct buf b;
		struct dnshttp_resp r = { 0 };
		struct json_object *o = NULL, *res, *info, *tp;
		int total_pages = 1;

		buf_init(&b, 4096);
		if (buf_printf(&b, "%s/zones/", c->base) != 0 || dnshttp_escape(&b, zid) != 0 ||
		    buf_printf(&b, "/dns_records?type=TXT&per_page=%d&page=%d&name=", CF_PER_PAGE, page) != 0 ||
		    dnshttp_escape(&b, name) != 0) {
			buf_finish(&b);
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		}
		if (dnshttp_request("cloudflare", "GET", b.data, (const char *const *)c->auth, NULL, &r, err) != 0 ||
		    (o = envelope("list TXT records", b.data, &r, err)) == NULL) {
			buf_finish(&b);
			dnshttp_resp_finish(&r);
			goto out;
		}
		buf_finish(&b);
		dnshttp_resp_finish(&r);
		if (json_object_object_get_ex(o, "result", &res) && json_object_is_type(res, json_type_array))
			for (size_t i = 0; i < json_object_array_length(res); i++) {
				struct json_object *e = json_object_array_get_idx(res, i), *id, *ct, *nm;
				if (!json_object_object_get_ex(e, "id", &id) ||
				    !json_object_object_get_ex(e, "content", &ct) ||
				    !same_content(json_object_get_string(ct), rec->value))
					continue;
				if (json_object_object_get_ex(e, "name", &nm) &&
				    strcasecmp(json_object_get_string(nm), name) != 0)
					continue;
				char **nv = realloc(*ids, (*nids + 1) * sizeof(*nv));
				if (nv == NULL || (nv[*nids] = strdup(json_object_get_string(id))) == NULL) {
					if (nv)
						*ids = nv;
					json_object_put(o);
					gpc_error_set(err, GPC_E_NOMEM, "out of memory");
					goto out;
				}
				*ids = nv;
				(*nids)++;
			}
		if (json_object_object_get_ex(o, "result_info", &info) &&
		    json_object_object_get_ex(info, "total_pages", &tp))
			total_pages = json_object_get_int(tp);
		json_object_put(o);
		if (page >= total_pages)
			break;
	}
	rc = 0;
out:
	if (rc != 0) {
		for (size_t i = 0; i < *nids; i++)
			free((*ids)[i]);
		free(*ids);
		*ids = NULL;
		*nids = 0;
	}
	return rc;
}

static int present(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	struct cf *c = state;
	char *zid = NULL, name[300], **ids = NULL;
	size_t nids = 0;
	struct buf b;
	struct dnshttp_resp r = { 0 };
	struct json_object *body = NULL, *o = NULL;
	int rc = -1;

	buf_init(&b, 4096);
	if (zone_id(c, rec->zone, &zid, err) != 0)
		goto out;
	/* a value left by a killed run is there already: keep it */
	if (find_records(c, zid, rec, &ids, &nids, err) != 0)
		goto out;
	if (nids > 0) {
		gpc_debug("cloudflare: %s already has TXT %s", rec->fqdn, rec->value);
		rc = 0;
		goto out;
	}
	body = json_object_new_object();
	json_object_object_add(body, "type", json_object_new_string("TXT"));
	json_object_object_add(body, "name", json_object_new_string(no_dot(rec->fqdn, name, sizeof(name))));
	json_object_object_add(body, "content", json_object_new_string(rec->value));
	json_object_object_add(body, "ttl", json_object_new_int((int)c->ttl));
	if (buf_printf(&b, "%s/zones/", c->base) != 0 || dnshttp_escape(&b, zid) != 0 ||
	    buf_adds(&b, "/dns_records") != 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	if (dnshttp_request("cloudflare", "POST", b.data, (const char *const *)c->auth,
			    json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), &r, err) != 0)
		goto out;
	if ((o = envelope("create the TXT record", b.data, &r, err)) == NULL)
		goto out;
	gpc_debug("cloudflare: added TXT %s at %s", rec->value, rec->fqdn);
	rc = 0;
out:
	for (size_t i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
	json_object_put(body);
	json_object_put(o);
	dnshttp_resp_finish(&r);
	buf_finish(&b);
	free(zid);
	return rc;
}

static int cleanup(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	struct cf *c = state;
	char *zid = NULL, **ids = NULL;
	size_t nids = 0;
	int rc = -1;

	if (zone_id(c, rec->zone, &zid, err) != 0 || find_records(c, zid, rec, &ids, &nids, err) != 0)
		goto out;
	for (size_t i = 0; i < nids; i++) {
		struct buf b;
		struct dnshttp_resp r = { 0 };
		struct json_object *o;
		buf_init(&b, 4096);
		if (buf_printf(&b, "%s/zones/", c->base) != 0 || dnshttp_escape(&b, zid) != 0 ||
		    buf_adds(&b, "/dns_records/") != 0 || dnshttp_escape(&b, ids[i]) != 0) {
			buf_finish(&b);
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
		if (dnshttp_request("cloudflare", "DELETE", b.data, (const char *const *)c->auth, NULL, &r, err) != 0 ||
		    (o = envelope("delete the TXT record", b.data, &r, err)) == NULL) {
			buf_finish(&b);
			dnshttp_resp_finish(&r);
			goto out;
		}
		json_object_put(o);
		buf_finish(&b);
		dnshttp_resp_finish(&r);
	}
	rc = 0;
out:
	for (size_t i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
	free(zid);
	return rc;
}

const struct dns_provider_ops dns_cloudflare = {
	.name = "cloudflare",
	.aliases = { "cf", NULL },
	.title = "Cloudflare API v4",
	.needs = "an API token with Zone:Read and DNS:Edit permissions on the zone",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = true,
	.check = check,
	.create = create,
	.present = present,
	.cleanup = cleanup,
	.destroy = destroy,
};

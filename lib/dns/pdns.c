/* pdns: the PowerDNS Authoritative HTTP API (/api/v1). An RRset is
 * replaced whole (changetype REPLACE), so the current values are read
 * first and the new one is added to them; cleanup writes back the others
 * (or DELETEs the set when none is left). */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "jsonutil.h"
#include "log.h"

static const struct dns_opt_desc opts[] = {
	{ "api_url", "PDNS_API_URL", NULL, DNS_OPT_REQUIRED, NULL,
	  "the API's base URL, e.g. http://127.0.0.1:8081 (the webserver of pdns_server)" },
	{ "api_key", "PDNS_API_KEY", NULL, DNS_OPT_REQUIRED | DNS_OPT_SECRET, NULL,
	  "the api-key of pdns.conf" },
	{ "server_name", "PDNS_SERVER_NAME", NULL, 0, "localhost", "the server id in the API's URLs" },
	{ "ttl", "PDNS_TTL", NULL, 0, "120", "the TXT record's TTL in seconds" },
};

struct pdns {
	char *base;   /* ".../api/v1/servers/NAME" */
	char *key_hdr; /* "X-API-Key: ..." */
	unsigned ttl;
};

static int check(const struct dns_options *o, struct gpc_error *err)
{
	if (dns_opt_url("pdns", "api_url", "PDNS_API_URL", dns_options_get(o, "api_url"),
			"give the address of pdns_server's webserver, e.g. http://127.0.0.1:8081", err) != 0)
		return -1;
	return dns_opt_ttl("pdns", "PDNS_TTL", dns_options_get(o, "ttl"), err);
}

static void destroy(void *state)
{
	struct pdns *p = state;

	if (p == NULL)
		return;
	free(p->base);
	dns_secret_free(p->key_hdr);
	free(p);
}

static int create(const struct dns_options *o, void **state, struct gpc_error *err)
{
	struct pdns *p = calloc(1, sizeof(*p));
	struct buf b;
	const char *u = dns_options_get(o, "api_url");
	size_t ul = strlen(u);

	if (p == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	while (ul > 0 && u[ul - 1] == '/')
		ul--;
	if (ul >= 7 && strncmp(u + ul - 7, "/api/v1", 7) == 0)
		ul -= 7;
	buf_init(&b, 4096);
	if (buf_printf(&b, "%.*s/api/v1/servers/", (int)ul, u) != 0 ||
	    dnshttp_escape(&b, dns_options_get(o, "server_name")) != 0)
		goto nomem;
	p->base = buf_take(&b, NULL);
	if (buf_printf(&b, "X-API-Key: %s", dns_options_get(o, "api_key")) != 0)
		goto nomem;
	p->key_hdr = buf_take(&b, NULL);
	p->ttl = (unsigned)strtoul(dns_options_get(o, "ttl"), NULL, 10);
	if (p->base == NULL || p->key_hdr == NULL)
		goto nomem;
	*state = p;
	return 0;
nomem:
	buf_finish(&b);
	destroy(p);
	return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
}

static char *zone_url(const struct pdns *p, const char *zone)
{
	struct buf b;

	buf_init(&b, 4096);
	/* zone ids are the name with '/' as =2F; names here have none */
	if (buf_printf(&b, "%s/zones/", p->base) != 0 || dnshttp_escape(&b, zone) != 0) {
		buf_finish(&b);
		return NULL;
	}
	return buf_take(&b, NULL);
}

/* A failed answer: the API's {"error": "..."} or the status. */
static int api_error(const char *what, const char *url, const struct dnshttp_resp *r, const char *zone,
		     struct gpc_error *err)
{
	struct json_object *o = jsonutil_parse_object(r->body.data ? r->body.data : "");
	struct json_object *e;
	char label[512], msg[400] = "";

	dnshttp_url_label(url, label, sizeof(label));
	if (o != NULL && json_object_object_get_ex(o, "error", &e) && json_object_is_type(e, json_type_string))
		snprintf(msg, sizeof(msg), ": %s", json_object_get_string(e));
	else if (r->body.len > 0 && r->body.len < 200 && strchr(r->body.data, '<') == NULL)
		snprintf(msg, sizeof(msg), ": %.*s", (int)strcspn(r->body.data, "\r\n"), r->body.data);
	json_object_put(o);
	gpc_error_set(err, r->status == 401 || r->status == 403 ? GPC_E_PERMISSION : GPC_E_INVALID,
		      "pdns: %s: %s answered HTTP %ld%s", what, label, r->status, msg);
	if (r->status == 401 || r->status == 403)
		return gpc_error_hint(err, "PDNS_API_KEY must be the api-key of pdns.conf");
	if (r->status == 404)
		return gpc_error_hint(err, "the server has no zone %s (or PDNS_SERVER_NAME is not its server id, "
				      "usually localhost)", zone);
	return gpc_error_hint(err, "see the PowerDNS log");
}

/* The TXT contents of fqdn in zone (quoted, as the API keeps them). */
static int read_set(struct pdns *p, const char *url, const struct dns_record *rec, struct json_object **contents,
		    struct gpc_error *err)
{
	const char *hdr[] = { p->key_hdr, NULL };
	struct dnshttp_resp r = { 0 };
	struct json_object *z = NULL, *sets, *list = json_object_new_array();
	int rc = -1;

	if (list == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	if (dnshttp_request("pdns", "GET", url, hdr, NULL, &r, err) != 0)
		goto out;
	if (r.status != 200) {
		api_error("read zone", url, &r, rec->zone, err);
		goto out;
	}
	z = jsonutil_parse_object(r.body.data);
	if (z == NULL || !json_object_object_get_ex(z, "rrsets", &sets) ||
	    !json_object_is_type(sets, json_type_array)) {
		gpc_error_set(err, GPC_E_INVALID, "pdns: %s: the zone has no rrsets list", rec->zone);
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(sets); i++) {
		struct json_object *s = json_object_array_get_idx(sets, i), *n, *t, *recs;
		if (!json_object_object_get_ex(s, "name", &n) || !json_object_object_get_ex(s, "type", &t) ||
		    strcasecmp(json_object_get_string(n), rec->fqdn) != 0 ||
		    strcmp(json_object_get_string(t), "TXT") != 0 ||
		    !json_object_object_get_ex(s, "records", &recs))
			continue;
		for (size_t k = 0; k < json_object_array_length(recs); k++) {
			struct json_object *c;
			if (json_object_object_get_ex(json_object_array_get_idx(recs, k), "content", &c))
				json_object_array_add(list, json_object_new_string(json_object_get_string(c)));
		}
	}
	*contents = list;
	list = NULL;
	rc = 0;
out:
	json_object_put(list);
	json_object_put(z);
	dnshttp_resp_finish(&r);
	return rc;
}

static int patch(struct pdns *p, const struct dns_record *rec, bool add, struct gpc_error *err)
{
	const char *hdr[] = { p->key_hdr, NULL };
	struct dnshttp_resp r = { 0 };
	struct json_object *cur = NULL, *body = NULL, *sets, *set, *recs;
	char quoted[300], *url = zone_url(p, rec->zone);
	size_t kept = 0;
	bool had = false;
	int rc = -1;

	if (url == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	if (read_set(p, url, rec, &cur, err) != 0)
		goto out;
	snprintf(quoted, sizeof(quoted), "\"%s\"", rec->value);
	body = json_object_new_object();
	sets = json_object_new_array();
	set = json_object_new_object();
	recs = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(cur); i++) {
		const char *c = json_object_get_string(json_object_array_get_idx(cur, i));
		if (strcmp(c, quoted) == 0) {
			had = true;
			if (!add)
				continue;
		}
		struct json_object *one = json_object_new_object();
		json_object_object_add(one, "content", json_object_new_string(c));
		json_object_object_add(one, "disabled", json_object_new_boolean(0));
		json_object_array_add(recs, one);
		kept++;
	}
	if (add && had) {
		gpc_debug("pdns: %s already has TXT %s", rec->fqdn, quoted);
		rc = 0;
		json_object_put(recs);
		json_object_put(set);
		json_object_put(sets);
		goto out;
	}
	if (!add && !had) {
		rc = 0; /* already gone */
		json_object_put(recs);
		json_object_put(set);
		json_object_put(sets);
		goto out;
	}
	if (add) {
		struct json_object *one = json_object_new_object();
		json_object_object_add(one, "content", json_object_new_string(quoted));
		json_object_object_add(one, "disabled", json_object_new_boolean(0));
		json_object_array_add(recs, one);
		kept++;
	}
	json_object_object_add(set, "name", json_object_new_string(rec->fqdn));
	json_object_object_add(set, "type", json_object_new_string("TXT"));
	if (kept > 0) {
		json_object_object_add(set, "ttl", json_object_new_int((int)p->ttl));
		json_object_object_add(set, "changetype", json_object_new_string("REPLACE"));
		json_object_object_add(set, "records", recs);
	} else {
		json_object_object_add(set, "changetype", json_object_new_string("DELETE"));
		json_object_put(recs);
	}
	json_object_array_add(sets, set);
	json_object_object_add(body, "rrsets", sets);
	if (dnshttp_request("pdns", "PATCH", url, hdr, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			    &r, err) != 0)
		goto out;
	if (r.status != 204 && r.status != 200) {
		api_error(add ? "add the TXT record" : "remove the TXT record", url, &r, rec->zone, err);
		goto out;
	}
	gpc_debug("pdns: %s TXT %s at %s", add ? "added" : "removed", quoted, rec->fqdn);
	rc = 0;
out:
	json_object_put(cur);
	json_object_put(body);
	dnshttp_resp_finish(&r);
	free(url);
	return rc;
}

static int present(void *state, const struct dns_record *r, struct gpc_error *err)
{
	return patch(state, r, true, err);
}

static int cleanup(void *state, const struct dns_record *r, struct gpc_error *err)
{
	return patch(state, r, false, err);
}

const struct dns_provider_ops dns_pdns = {
	.name = "pdns",
	.aliases = { "powerdns", NULL },
	.title = "PowerDNS Authoritative HTTP API",
	.needs = "the api-key of pdns.conf (api=yes, webserver=yes, webserver-allow-from this host)",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = true,
	.check = check,
	.create = create,
	.present = present,
	.cleanup = cleanup,
	.destroy = destroy,
};

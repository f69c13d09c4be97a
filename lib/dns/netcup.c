/* netcup: the netcup CCP DNS API (JSON, one endpoint, an "action" per
 * request). A change is a session: login (customer number, API key, API
 * password) gives an apisessionid; infoDnsRecords lists the zone's
 * records; updateDnsRecords adds a record, or deletes one by id with
 * deleterecord true; logout ends the session. Every answer is HTTP 200
 * with "status" ("success" or "error"), "statuscode" and "longmessage". */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "log.h"

#define NETCUP_BASE "https://ccp.netcup.net/run/webservice/servers/endpoint.php?JSON"

static const struct dns_opt_desc opts[] = {
	{ "customer", "NETCUP_CUSTOMER_NUMBER", NULL, DNS_OPT_REQUIRED, NULL, "the customer number" },
	{ "key", "NETCUP_API_KEY", NULL, DNS_OPT_REQUIRED | DNS_OPT_SECRET, NULL, "an API key (CCP, Master Data, API)" },
	{ "password", "NETCUP_API_PASSWORD", NULL, DNS_OPT_REQUIRED | DNS_OPT_SECRET, NULL, "the API password" },
	{ "base_url", "NETCUP_BASE_URL", NULL, 0, NETCUP_BASE, "the API's endpoint" },
};

struct nc {
	struct dns_options o;
	char *base;
};

static int check(const struct dns_options *o, struct gpc_error *err)
{
	return dns_opt_url("netcup", "base_url", "NETCUP_BASE_URL", dns_options_get(o, "base_url"),
			   "leave it unset (" NETCUP_BASE ")", err);
}

static void destroy(void *state)
{
	struct nc *n = state;

	if (n == NULL)
		return;
	dns_options_finish(&n->o);
	free(n->base);
	free(n);
}

static int create(const struct dns_options *o, void **state, struct gpc_error *err)
{
	struct nc *n = calloc(1, sizeof(*n));

	if (n == NULL || dns_options_copy(&n->o, o) != 0 || (n->base = strdup(dns_options_get(o, "base_url"))) == NULL) {
		destroy(n);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	*state = n;
	return 0;
}

/* One action; param is taken (freed here). Returns the answer's
 * responsedata (a new reference, may be NULL) in *data, or -1 with err
 * naming the action, the status and netcup's longmessage. */
static int action(struct nc *n, const char *act, const char *what, struct json_object *param, struct json_object **data,
		  struct gpc_error *err)
{
	struct json_object *req = json_object_new_object(), *o = NULL, *v;
	struct dnshttp_resp r = { 0 };
	char label[512], msg[400] = "";
	int rc = -1;

	if (data)
		*data = NULL;
	json_object_object_add(req, "action", json_object_new_string(act));
	json_object_object_add(req, "param", param);
	const char *body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (dnshttp_request("netcup", "POST", n->base, NULL, body, &r, err) != 0)
		goto out;
	o = r.body.data ? json_tokener_parse(r.body.data) : NULL;
	const char *st = o && json_object_object_get_ex(o, "status", &v) ? json_object_get_string(v) : NULL;
	if (r.status == 200 && st && strcmp(st, "success") == 0) {
		if (data && json_object_object_get_ex(o, "responsedata", &v))
			*data = json_object_get(v);
		rc = 0;
		goto out;
	}
	if (o && json_object_object_get_ex(o, "longmessage", &v) && *json_object_get_string(v)) {
		struct json_object *c = NULL;
		json_object_object_get_ex(o, "statuscode", &c);
		snprintf(msg, sizeof(msg), ": %s%s%s", c ? json_object_get_string(c) : "", c ? " " : "",
			 json_object_get_string(v));
	} else if (o == NULL) {
		snprintf(msg, sizeof(msg), ": not a netcup API answer");
	}
	gpc_error_set(err, GPC_E_INVALID, "netcup: %s: %s answered HTTP %ld%s", what,
		      dnshttp_url_label(n->base, label, sizeof(label)), r.status, msg);
	gpc_error_hint(err, "NETCUP_CUSTOMER_NUMBER, NETCUP_API_KEY and NETCUP_API_PASSWORD must be the "
			    "customer number and an API key and password of the CCP (Master Data, API)");
out:
	/* the body held the password (login) or the session */
	if (body)
		memset((char *)body, 0, strlen(body));
	json_object_put(req);
	json_object_put(o);
	dnshttp_resp_finish(&r);
	return rc;
}

static struct json_object *auth_param(struct nc *n, const char *session)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "customernumber", json_object_new_string(dns_options_get(&n->o, "customer")));
	json_object_object_add(p, "apikey", json_object_new_string(dns_options_get(&n->o, "key")));
	if (session)
		json_object_object_add(p, "apisessionid", json_object_new_string(session));
	else
		json_object_object_add(p, "apipassword", json_object_new_string(dns_options_get(&n->o, "password")));
	return p;
}

static void relative(const char *fqdn, const char *zone, char *out, size_t outsz)
{
	char f[300], z[300];

	snprintf(f, sizeof(f), "%s", fqdn);
	snprintf(z, sizeof(z), "%s", zone);
	if (f[0] && f[strlen(f) - 1] == '.')
		f[strlen(f) - 1] = '\0';
	if (z[0] && z[strlen(z) - 1] == '.')
		z[strlen(z) - 1] = '\0';
	size_t fl = strlen(f), zl = strlen(z);
	if (strcasecmp(f, z) == 0)
		snprintf(out, outsz, "@");
	else if (fl > zl + 1 && f[fl - zl - 1] == '.' && strcasecmp(f + fl - zl, z) == 0)
		snprintf(out, outsz, "%.*s", (int)(fl - zl - 1), f);
	else
		snprintf(out, outsz, "%s", f);
}

static int change(struct nc *n, const struct dns_record *rec, bool add, struct gpc_error *err)
{
	struct json_object *data = NULL, *recs, *p, *set, *list;
	char zone[300], rel[300], *session = NULL;
	int rc = -1;

	snprintf(zone, sizeof(zone), "%s", rec->zone);
	if (zone[0] && zone[strlen(zone) - 1] == '.')
		zone[strlen(zone) - 1] = '\0';
	relative(rec->fqdn, rec->zone, rel, sizeof(rel));
	if (action(n, "login", "log in", auth_param(n, NULL), &data, err) != 0)
		return -1;
	struct json_object *sid;
	if (data == NULL || !json_object_object_get_ex(data, "apisessionid", &sid) ||
	    (session = strdup(json_object_get_string(sid))) == NULL) {
		json_object_put(data);
		return gpc_error_set(err, GPC_E_INVALID, "netcup: login gave no session");
	}
	json_object_put(data);
	data = NULL;
	p = auth_param(n, session);
	json_object_object_add(p, "domainname", json_object_new_string(zone));
	if (action(n, "infoDnsRecords", "list the records", p, &data, err) != 0)
		goto out;
	/* the records holding the value at the name */
	list = json_object_new_array();
	for (size_t i = 0; data && json_object_object_get_ex(data, "dnsrecords", &recs) &&
			   json_object_is_type(recs, json_type_array) && i < json_object_array_length(recs);
	     i++) {
		struct json_object *e = json_object_array_get_idx(recs, i), *h, *t, *d;
		if (json_object_object_get_ex(e, "hostname", &h) && json_object_object_get_ex(e, "type", &t) &&
		    json_object_object_get_ex(e, "destination", &d) && strcasecmp(json_object_get_string(t), "TXT") == 0 &&
		    strcasecmp(json_object_get_string(h), rel) == 0 && strcmp(json_object_get_string(d), rec->value) == 0) {
			json_object_object_add(e, "deleterecord", json_object_new_boolean(1));
			json_object_array_add(list, json_object_get(e));
		}
	}
	if ((json_object_array_length(list) > 0) == add) {
		/* already there / already gone */
		json_object_put(list);
		rc = 0;
		goto out;
	}
	if (add) {
		struct json_object *r = json_object_new_object();
		json_object_object_add(r, "hostname", json_object_new_string(rel));
		json_object_object_add(r, "type", json_object_new_string("TXT"));
		json_object_object_add(r, "priority", json_object_new_string(""));
		json_object_object_add(r, "destination", json_object_new_string(rec->value));
		json_object_object_add(r, "deleterecord", json_object_new_boolean(0));
		json_object_array_add(list, r);
	}
	set = json_object_new_object();
	json_object_object_add(set, "dnsrecords", list);
	p = auth_param(n, session);
	json_object_object_add(p, "domainname", json_object_new_string(zone));
	json_object_object_add(p, "dnsrecordset", set);
	if (action(n, "updateDnsRecords", add ? "add the TXT record" : "delete the TXT record", p, NULL, err) != 0)
		goto out;
	gpc_debug("netcup: %s TXT %s at %s", add ? "added" : "removed", rec->value, rec->fqdn);
	rc = 0;
out:
	json_object_put(data);
	{
		struct gpc_error e2;
		gpc_error_clear(&e2);
		if (action(n, "logout", "log out", auth_param(n, session), NULL, &e2) != 0)
			gpc_debug("netcup: logout: %s", e2.message);
	}
	dns_secret_free(session);
	return rc;
}

static int present(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	return change(state, rec, true, err);
}

static int cleanup(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	return change(state, rec, false, err);
}

const struct dns_provider_ops dns_netcup = {
	.name = "netcup",
	.aliases = { NULL },
	.title = "netcup CCP DNS API",
	.needs = "the customer number and an API key and password of the CCP",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = true,
	.check = check,
	.create = create,
	.present = present,
	.cleanup = cleanup,
	.destroy = destroy,
};

/* ovh: the OVHcloud API (/1.0/domain/zone) on the REST engine. Every
 * request is signed: X-Ovh-Signature is "$1$" and the hex SHA-1 of
 * "APPLICATION_SECRET+CONSUMER_KEY+METHOD+URL+BODY+TIMESTAMP", with the
 * application and consumer keys and the timestamp in headers of their
 * own (or an OAuth2 access token as a Bearer header instead). The list
 * gives record ids only, each record is read by id, and the zone's
 * changes are applied by POST .../refresh. */
#include "dns_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#define S DNS_OPT_SECRET

static const struct dns_opt_desc opts[] = {
	{ "api_endpoint", "OVH_ENDPOINT", NULL, DNS_OPT_REQUIRED, NULL,
	  "ovh-eu, ovh-ca, ovh-us, kimsufi-eu, kimsufi-ca, soyoustart-eu, soyoustart-ca or a URL" },
	{ "application_key", "OVH_APPLICATION_KEY", NULL, 0, NULL, "the application key" },
	{ "application_secret", "OVH_APPLICATION_SECRET", NULL, S, NULL, "the application secret" },
	{ "consumer_key", "OVH_CONSUMER_KEY", NULL, S, NULL, "the consumer key granted to the application" },
	{ "access_token", "OVH_ACCESS_TOKEN", NULL, S, NULL, "an OAuth2 access token (instead of the three keys)" },
	{ "ttl", "OVH_TTL", NULL, 0, "120", "the TXT record's TTL in seconds (at least 60)" },
};

static const struct {
	const char *name, *url;
} endpoints[] = {
	{ "ovh-eu", "https://eu.api.ovh.com/1.0" },
	{ "ovh-ca", "https://ca.api.ovh.com/1.0" },
	{ "ovh-us", "https://api.us.ovhcloud.com/1.0" },
	{ "kimsufi-eu", "https://eu.api.kimsufi.com/1.0" },
	{ "kimsufi-ca", "https://ca.api.kimsufi.com/1.0" },
	{ "soyoustart-eu", "https://eu.api.soyoustart.com/1.0" },
	{ "soyoustart-ca", "https://ca.api.soyoustart.com/1.0" },
};

static bool set(const struct dns_options *o, const char *k)
{
	const char *v = dns_options_get(o, k);
	return v != NULL && *v != '\0';
}

static int check(const struct dns_options *o, struct gpc_error *err)
{
	const char *e = dns_options_get(o, "api_endpoint");
	bool known = false;

	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
		known = known || strcasecmp(e, endpoints[i].name) == 0;
	if (!known && dns_opt_url("ovh", "api_endpoint", "OVH_ENDPOINT", e,
				  "give ovh-eu, ovh-ca, ovh-us, kimsufi-eu, kimsufi-ca, soyoustart-eu, soyoustart-ca "
				  "or the API's URL (https://eu.api.ovh.com/1.0)", err) != 0)
		return -1;
	if (set(o, "access_token"))
		return 0;
	const char *miss = !set(o, "application_key")    ? "application_key (OVH_APPLICATION_KEY)"
			   : !set(o, "application_secret") ? "application_secret (OVH_APPLICATION_SECRET)"
			   : !set(o, "consumer_key")       ? "consumer_key (OVH_CONSUMER_KEY)"
							   : NULL;
	if (miss == NULL)
		return 0;
	gpc_error_set(err, GPC_E_USAGE, "dns provider ovh: option %s is missing", miss);
	return gpc_error_hint(err, "create an application (https://eu.api.ovh.com/createToken/) with GET, POST and "
				   "DELETE on /domain/zone/*, and set OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and "
				   "OVH_CONSUMER_KEY (or OVH_ACCESS_TOKEN)");
}

/* The endpoint's name as its URL, in base_url. */
static int prepare(struct dns_options *o)
{
	const char *e = dns_options_get(o, "api_endpoint");

	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
		if (strcasecmp(e, endpoints[i].name) == 0)
			return dns_options_set(o, "base_url", endpoints[i].url, false);
	return dns_options_set(o, "base_url", e, false);
}

static int sign(const struct dns_options *o, const char *method, const char *url, const char *body, struct buf *h)
{
	const char *as = dns_options_get(o, "application_secret"), *ck = dns_options_get(o, "consumer_key");
	unsigned char dig[20];
	char ts[32], hex[41];
	struct buf in;
	int rc = -1;

	if (set(o, "access_token"))
		return buf_printf(&h[0], "Authorization: Bearer %s", dns_options_get(o, "access_token"));
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	buf_init(&in, 1u << 20);
	if (buf_printf(&in, "%s+%s+%s+%s+", as, ck, method, url) != 0 || buf_adds(&in, body) != 0 ||
	    buf_printf(&in, "+%s", ts) != 0 || gnutls_hash_fast(GNUTLS_DIG_SHA1, in.data, in.len, dig) < 0)
		goto out;
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", dig[i]);
	rc = buf_printf(&h[0], "X-Ovh-Application: %s", dns_options_get(o, "application_key")) ||
	     buf_printf(&h[1], "X-Ovh-Consumer: %s", ck) || buf_printf(&h[2], "X-Ovh-Timestamp: %s", ts) ||
	     buf_printf(&h[3], "X-Ovh-Signature: $1$%s", hex) ? -1 : 0;
out:
	if (in.data)
		memset(in.data, 0, in.len);
	buf_finish(&in);
	return rc;
}

static const struct dns_rest_desc desc = {
	.name = "ovh", .title = "OVHcloud", .base = "https://eu.api.ovh.com/1.0",
	.opts = opts, .n_opts = sizeof(opts) / sizeof(opts[0]), .ttl_min = 60,
	.prepare = prepare, .check = check, .sign = sign,
	.auth_hint = "the application (OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET) and its consumer key "
		     "(OVH_CONSUMER_KEY) must be valid and granted GET, POST and DELETE on /domain/zone/*",
	.list = { "GET", "/domain/zone/{zone}/record?fieldType=TXT&subDomain={rel}", NULL },
	.detail = { "GET", "/domain/zone/{zone}/record/{id}", NULL },
	.create = { "POST", "/domain/zone/{zone}/record",
		    "{\"fieldType\":\"TXT\",\"subDomain\":{rel},\"target\":{value},\"ttl\":{ttl}}" },
	.del = { "DELETE", "/domain/zone/{zone}/record/{id}", NULL },
	.after = { "POST", "/domain/zone/{zone}/refresh", NULL },
	.records_array = "", .rec_id = "id", .rec_name = "subDomain", .rec_type = "fieldType", .rec_value = "target",
	.apex = "",
	.err_paths = { "message" },
};

static int ovh_check(const struct dns_options *o, struct gpc_error *err)
{
	return dns_rest_check(&desc, o, err);
}

static int ovh_create(const struct dns_options *o, void **s, struct gpc_error *err)
{
	return dns_rest_create(&desc, o, s, err);
}

const struct dns_provider_ops dns_ovh = {
	.name = "ovh",
	.aliases = { NULL },
	.title = "OVHcloud API (signed requests)",
	.needs = "an application and consumer key granted GET, POST and DELETE on /domain/zone/*",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = true,
	.check = ovh_check,
	.create = ovh_create,
	.present = dns_rest_present,
	.cleanup = dns_rest_cleanup,
	.destroy = dns_rest_destroy,
};

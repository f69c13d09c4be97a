/* ovh: the OVHcloud API (/1.0/domain/zone) on the REST engine. Every
 * request is signed: X-Ovh-Signature is "$1$" and the hex SHA-1 of
 * "APPLICATION_SECRET+CONSUMER_KEY+METHOD+URL+BODY+TIMESTAMP", with the
 * application and consumer keys and the timestamp in headers of their
 * own, or a Bearer header: an OAuth2 access token given as it is, or one
 * asked for a service account (client credentials: client_id and
 * client_secret at the endpoint's token URL, scope "all"). The list
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
	{ "client_id", "OVH_CLIENT_ID", NULL, 0, NULL, "an OAuth2 service account's id (with client_secret)" },
	{ "client_secret", "OVH_CLIENT_SECRET", NULL, S, NULL, "that service account's secret" },
	{ "token_url", "OVH_TOKEN_URL", NULL, 0, NULL,
	  "the OAuth2 token endpoint (default: ovh-eu's, ovh-ca's or ovh-us's; needed with an endpoint URL)" },
	{ "ttl", "OVH_TTL", NULL, 0, "120", "the TXT record's TTL in seconds (at least 60)" },
};

/* The API of each endpoint name, and its OAuth2 token endpoint where
 * OVHcloud offers service accounts (as OVH's own SDKs know them). */
static const struct {
	const char *name, *url, *token;
} endpoints[] = {
	{ "ovh-eu", "https://eu.api.ovh.com/1.0", "https://www.ovh.com/auth/oauth2/token" },
	{ "ovh-ca", "https://ca.api.ovh.com/1.0", "https://ca.ovh.com/auth/oauth2/token" },
	{ "ovh-us", "https://api.us.ovhcloud.com/1.0", "https://us.ovhcloud.com/auth/oauth2/token" },
	{ "kimsufi-eu", "https://eu.api.kimsufi.com/1.0", NULL },
	{ "kimsufi-ca", "https://ca.api.kimsufi.com/1.0", NULL },
	{ "soyoustart-eu", "https://eu.api.soyoustart.com/1.0", NULL },
	{ "soyoustart-ca", "https://ca.api.soyoustart.com/1.0", NULL },
};

#define OAUTH_HINT                                                                                         \
	"the service account (OVH_CLIENT_ID, OVH_CLIENT_SECRET) must exist on this endpoint and an IAM policy " \
	"must grant it GET, POST and DELETE on /domain/zone/*"

/* The token endpoint for the options' api_endpoint: token_url when given,
 * else the known one of the endpoint's name, else NULL. */
static const char *token_url(const struct dns_options *o)
{
	const char *t = dns_options_get(o, "token_url"), *e = dns_options_get(o, "api_endpoint");

	if (t != NULL && *t != '\0')
		return t;
	for (size_t i = 0; e != NULL && i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
		if (strcasecmp(e, endpoints[i].name) == 0)
			return endpoints[i].token;
	return NULL;
}

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
	if (set(o, "client_id") || set(o, "client_secret")) {
		const char *t = dns_options_get(o, "token_url");
		if (!set(o, "client_id") || !set(o, "client_secret")) {
			gpc_error_set(err, GPC_E_USAGE, "dns provider ovh: option %s is missing",
				      set(o, "client_id") ? "client_secret (OVH_CLIENT_SECRET)" : "client_id (OVH_CLIENT_ID)");
			return gpc_error_hint(err, "an OAuth2 service account needs both OVH_CLIENT_ID and "
						   "OVH_CLIENT_SECRET (or use the application keys instead)");
		}
		if (t != NULL && *t != '\0')
			return dns_opt_url("ovh", "token_url", "OVH_TOKEN_URL", t,
					   "give the token endpoint's URL (https://www.ovh.com/auth/oauth2/token)", err);
		if (token_url(o) != NULL)
			return 0;
		gpc_error_set(err, GPC_E_USAGE, "dns provider ovh: endpoint '%s' has no OAuth2 service accounts",
			      e);
		return gpc_error_hint(err, "use ovh-eu, ovh-ca or ovh-us, give the token endpoint as "
					   "OVH_TOKEN_URL, or use OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and "
					   "OVH_CONSUMER_KEY");
	}
	const char *miss = !set(o, "application_key")    ? "application_key (OVH_APPLICATION_KEY)"
			   : !set(o, "application_secret") ? "application_secret (OVH_APPLICATION_SECRET)"
			   : !set(o, "consumer_key")       ? "consumer_key (OVH_CONSUMER_KEY)"
							   : NULL;
	if (miss == NULL)
		return 0;
	gpc_error_set(err, GPC_E_USAGE, "dns provider ovh: option %s is missing", miss);
	return gpc_error_hint(err, "create an application (https://eu.api.ovh.com/createToken/) with GET, POST and "
				   "DELETE on /domain/zone/*, and set OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and "
				   "OVH_CONSUMER_KEY (or a service account's OVH_CLIENT_ID and OVH_CLIENT_SECRET, "
				   "or OVH_ACCESS_TOKEN)");
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

/* With a service account: its access token (client credentials) into a
 * copy of the options, then the engine as with a given token. */
static int ovh_create(const struct dns_options *o, void **s, struct gpc_error *err)
{
	struct dns_options c = { 0 };
	struct buf form;
	int rc = -1;

	if (set(o, "access_token") || !set(o, "client_id"))
		return dns_rest_create(&desc, o, s, err);
	buf_init(&form, 16384);
	if (dns_options_copy(&c, o) != 0 ||
	    dns_oauth_client_form(&form, dns_options_get(o, "client_id"), dns_options_get(o, "client_secret")) ||
	    buf_adds(&form, "all"))
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	else
		rc = dns_oauth_rest_create(&desc, "ovh", token_url(o), form.data, OAUTH_HINT, &c, s, err);
	if (form.data)
		memset(form.data, 0, form.len);
	buf_finish(&form);
	dns_options_finish(&c);
	return rc;
}

const struct dns_provider_ops dns_ovh = {
	.name = "ovh",
	.aliases = { NULL },
	.title = "OVHcloud API (signed requests)",
	.needs = "an application and consumer key, or a service account, granted GET, POST and DELETE on "
		 "/domain/zone/*",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = true,
	.check = ovh_check,
	.create = ovh_create,
	.present = dns_rest_present,
	.cleanup = dns_rest_cleanup,
	.destroy = dns_rest_destroy,
};

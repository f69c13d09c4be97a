/* azuredns: Azure DNS (public zones) through the Azure Resource Manager
 * REST API on the REST engine. The service principal's client
 * credentials (tenant, client id, client secret) buy an access token at
 * the Microsoft identity platform's v2.0 token endpoint once per run; the
 * name's TXT record set is read with GET, written whole with PUT and
 * removed with DELETE when it empties:
 * /subscriptions/S/resourceGroups/G/providers/Microsoft.Network/
 * dnsZones/ZONE/TXT/NAME?api-version=2018-05-01. */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define R DNS_OPT_REQUIRED
#define S DNS_OPT_SECRET

static const struct dns_opt_desc opts[] = {
	{ "tenant_id", "AZURE_TENANT_ID", NULL, R, NULL, "the directory (tenant) id of the service principal" },
	{ "client_id", "AZURE_CLIENT_ID", NULL, R, NULL, "the service principal's application (client) id" },
	{ "client_secret", "AZURE_CLIENT_SECRET", NULL, R | S, NULL, "its client secret" },
	{ "subscription_id", "AZURE_SUBSCRIPTION_ID", NULL, R, NULL, "the subscription holding the DNS zone" },
	{ "resource_group", "AZURE_RESOURCE_GROUP", NULL, R, NULL, "the resource group holding the DNS zone" },
	{ "environment", "AZURE_ENVIRONMENT", NULL, 0, "public", "the cloud: public, china or usgovernment" },
	{ "ttl", "AZURE_TTL", NULL, 0, "60", "the TXT record's TTL in seconds" },
	{ "base_url", "AZURE_BASE_URL", NULL, 0, "https://management.azure.com",
	  "the Resource Manager's URL (the environment's by default)" },
	{ "auth_url", "AZURE_AUTH_URL", NULL, 0, "https://login.microsoftonline.com",
	  "the identity platform's URL (the environment's by default)" },
};

static const struct {
	const char *name, *base, *auth;
} clouds[] = {
	{ "public", "https://management.azure.com", "https://login.microsoftonline.com" },
	{ "china", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn" },
	{ "usgovernment", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us" },
};

#define AUTH_HINT                                                                                          \
	"AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET must be a service principal's valid client " \
	"secret, with the role 'DNS Zone Contributor' on the zone (AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP)"

static int cloud(const struct dns_options *o)
{
	const char *e = dns_options_get(o, "environment");

	for (size_t i = 0; i < sizeof(clouds) / sizeof(clouds[0]); i++)
		if (e == NULL || *e == '\0' ? i == 0 : strcasecmp(e, clouds[i].name) == 0)
			return (int)i;
	return -1;
}

static int check(const struct dns_options *o, struct gpc_error *err)
{
	const char *a = dns_options_get(o, "auth_url");

	if (cloud(o) < 0) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider azuredns: option environment (AZURE_ENVIRONMENT) '%s' "
			      "is not an Azure cloud", dns_options_get(o, "environment"));
		return gpc_error_hint(err, "give public, china or usgovernment (or leave it unset: public)");
	}
	if (a != NULL && dns_opt_url("azuredns", "auth_url", "AZURE_AUTH_URL", a,
				     "leave it unset (the environment's identity platform)", err) != 0)
		return -1;
	return 0;
}

/* base_url and auth_url from the environment unless given. */
static int prepare(struct dns_options *o)
{
	int c = cloud(o);
	const char *b = dns_options_get(o, "base_url"), *a = dns_options_get(o, "auth_url");

	if (c < 0)
		c = 0;
	if ((b == NULL || *b == '\0') && dns_options_set(o, "base_url", clouds[c].base, false) != 0)
		return -1;
	if ((a == NULL || *a == '\0') && dns_options_set(o, "auth_url", clouds[c].auth, false) != 0)
		return -1;
	return 0;
}

#define RECORD_SET                                                                                          \
	"/subscriptions/{opt:subscription_id}/resourceGroups/{opt:resource_group}/providers/Microsoft.Network/" \
	"dnsZones/{zone}/TXT/{rel}?api-version=2018-05-01"

static const struct dns_rest_desc desc = {
	.name = "azuredns", .title = "Azure DNS", .base = "https://management.azure.com",
	.opts = opts, .n_opts = sizeof(opts) / sizeof(opts[0]), .ttl_min = 1,
	.headers = { "Authorization: Bearer {opt:access_token}" },
	.auth_hint = AUTH_HINT,
	.list = { "GET", RECORD_SET, NULL },
	.create = { "PUT", RECORD_SET, "{\"properties\":{\"TTL\":{ttl},\"TXTRecords\":[{items}]}}" },
	.del = { "PUT", RECORD_SET, "{\"properties\":{\"TTL\":{ttl},\"TXTRecords\":[{items}]}}" },
	.del_empty = { "DELETE", RECORD_SET, NULL },
	.set_item = "{\"value\":[{value}]}",
	.records_array = "properties.TXTRecords", .rec_value = "value.0",
	.err_paths = { "error.message", "message" },
	.prepare = prepare, .check = check,
};

static int azure_check(const struct dns_options *o, struct gpc_error *err)
{
	return dns_rest_check(&desc, o, err);
}

/* The token (client credentials) into a copy of the options, then the engine. */
static int azure_create(const struct dns_options *o, void **s, struct gpc_error *err)
{
	struct dns_options c = { 0 };
	struct buf url, form;
	char *auth = NULL, *base = NULL;
	int rc = -1, x;

	buf_init(&url, 8192);
	buf_init(&form, 16384);
	if (dns_options_copy(&c, o) != 0 || prepare(&c) != 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	auth = dns_url_base(dns_options_get(&c, "auth_url"));
	base = dns_url_base(dns_options_get(&c, "base_url"));
	x = auth == NULL || base == NULL || buf_adds(&url, auth) || buf_adds(&url, "/") ||
		dnshttp_escape(&url, dns_options_get(&c, "tenant_id")) || buf_adds(&url, "/oauth2/v2.0/token") ||
		dns_oauth_client_form(&form, dns_options_get(&c, "client_id"), dns_options_get(&c, "client_secret")) ||
		dnshttp_escape(&form, base) || buf_adds(&form, "%2F.default");
	free(auth);
	free(base);
	if (x != 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	rc = dns_oauth_rest_create(&desc, "azuredns", url.data, form.data, AUTH_HINT, &c, s, err);
out:
	if (form.data)
		memset(form.data, 0, form.len);
	buf_finish(&form);
	buf_finish(&url);
	dns_options_finish(&c);
	return rc;
}

const struct dns_provider_ops dns_azuredns = {
	.name = "azuredns",
	.aliases = { NULL },
	.title = "Azure DNS (Resource Manager API, service principal)",
	.needs = "a service principal (client secret) with 'DNS Zone Contributor' on the zone",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = true,
	.check = azure_check,
	.create = azure_create,
	.present = dns_rest_present,
	.cleanup = dns_rest_cleanup,
	.destroy = dns_rest_destroy,
};

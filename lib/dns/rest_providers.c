/* rest_providers: the DNS APIs of the common REST shape, each described
 * for the engine in rest.c from its published API reference: where the
 * zone, the records and the errors are, how a request authenticates.
 * Option names are GoDoxy's (lego's Config fields in snake case), the
 * environment names lego's. */
#include "dns_int.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The ops of a described provider: name, aliases, title and needs as in
 * struct dns_provider_ops, desc the struct dns_rest_desc. */
#define REST_OPS(var, desc, OPTS, NAME, ALIAS, TITLE, NEEDS)                                                  \
	static int var##_check(const struct dns_options *o, struct gpc_error *err)                     \
	{                                                                                               \
		return dns_rest_check(&desc, o, err);                                                   \
	}                                                                                               \
	static int var##_create(const struct dns_options *o, void **s, struct gpc_error *err)          \
	{                                                                                               \
		return dns_rest_create(&desc, o, s, err);                                               \
	}                                                                                               \
	const struct dns_provider_ops var = {                                                           \
		.name = NAME, .aliases = { ALIAS, NULL }, .title = TITLE, .needs = NEEDS,               \
		.opts = OPTS, .n_opts = N(OPTS), .needs_zone = true, .check = var##_check,  \
		.create = var##_create, .present = dns_rest_present, .cleanup = dns_rest_cleanup,       \
		.destroy = dns_rest_destroy,                                                            \
	}

#define S DNS_OPT_SECRET
#define R DNS_OPT_REQUIRED

/* ---- DigitalOcean: api.digitalocean.com/v2/domains/ZONE/records ---- */
static const struct dns_opt_desc do_opts[] = {
	{ "auth_token", "DO_AUTH_TOKEN", NULL, R | S, NULL, "a personal access token with write scope" },
	{ "base_url", "DO_API_URL", NULL, 0, "https://api.digitalocean.com", "the API's base URL" },
	{ "ttl", "DO_TTL", NULL, 0, "30", "the TXT record's TTL in seconds" },
};
static const struct dns_rest_desc do_desc = {
	.name = "digitalocean", .title = "DigitalOcean", .base = "https://api.digitalocean.com",
	.opts = do_opts, .n_opts = N(do_opts), .ttl_min = 30,
	.headers = { "Authorization: Bearer {opt:auth_token}" },
	.auth_hint = "DO_AUTH_TOKEN must be a DigitalOcean personal access token with write scope",
	.list = { "GET", "/v2/domains/{zone}/records?type=TXT&name={fqdn}&per_page=200&page={page}", NULL },
	.create = { "POST", "/v2/domains/{zone}/records",
		    "{\"type\":\"TXT\",\"name\":{rel},\"data\":{value},\"ttl\":{ttl}}" },
	.del = { "DELETE", "/v2/domains/{zone}/records/{id}", NULL },
	.records_array = "domain_records", .rec_id = "id", .rec_name = "name", .rec_type = "type",
	.rec_value = "data", .next_path = "links.pages.next",
	.err_paths = { "message", "id" },
};
REST_OPS(dns_digitalocean, do_desc, do_opts, "digitalocean", "do", "DigitalOcean DNS API v2",
	 "a personal access token with write scope");

/* ---- Linode (Akamai): api.linode.com/v4/domains ---- */
static const struct dns_opt_desc linode_opts[] = {
	{ "token", "LINODE_TOKEN", NULL, R | S, NULL, "a personal access token with Domains read/write" },
	{ "base_url", "LINODE_BASE_URL", NULL, 0, "https://api.linode.com/v4", "the API's base URL" },
	{ "ttl", "LINODE_TTL", NULL, 0, "300", "the TXT record's TTL in seconds (at least 300)" },
};
static const struct dns_rest_desc linode_desc = {
	.name = "linode", .title = "Linode", .base = "https://api.linode.com/v4",
	.opts = linode_opts, .n_opts = N(linode_opts), .ttl_min = 300,
	.headers = { "Authorization: Bearer {opt:token}" },
	.auth_hint = "LINODE_TOKEN must be a Linode personal access token with Domains read/write",
	.zones = { "GET", "/domains?page={page}&page_size=100", NULL },
	.zones_array = "data", .zone_name_key = "domain", .zone_id_key = "id",
	.list = { "GET", "/domains/{zone_id}/records?page={page}&page_size=100", NULL },
	.create = { "POST", "/domains/{zone_id}/records",
		    "{\"type\":\"TXT\",\"name\":{rel},\"target\":{value},\"ttl_sec\":{ttl}}" },
	.del = { "DELETE", "/domains/{zone_id}/records/{id}", NULL },
	.records_array = "data", .rec_id = "id", .rec_name = "name", .rec_type = "type", .rec_value = "target",
	.pages_path = "pages", .apex = "",
	.err_paths = { "errors.0.reason" },
};
REST_OPS(dns_linode, linode_desc, linode_opts, "linode", NULL, "Linode DNS Manager API v4",
	 "a personal access token with Domains read/write");

/* ---- Vultr: api.vultr.com/v2/domains/ZONE/records ---- */
static const struct dns_opt_desc vultr_opts[] = {
	{ "api_key", "VULTR_API_KEY", NULL, R | S, NULL, "an API key (Account, API)" },
	{ "base_url", "VULTR_BASE_URL", NULL, 0, "https://api.vultr.com/v2", "the API's base URL" },
	{ "ttl", "VULTR_TTL", NULL, 0, "120", "the TXT record's TTL in seconds" },
};
static const struct dns_rest_desc vultr_desc = {
	.name = "vultr", .title = "Vultr", .base = "https://api.vultr.com/v2",
	.opts = vultr_opts, .n_opts = N(vultr_opts), .ttl_min = 1,
	.headers = { "Authorization: Bearer {opt:api_key}" },
	.auth_hint = "VULTR_API_KEY must be a Vultr API key, and this machine's address in its access control list",
	.list = { "GET", "/domains/{zone}/records?per_page=500&cursor={cursor}", NULL },
	.create = { "POST", "/domains/{zone}/records",
		    "{\"name\":{rel},\"type\":\"TXT\",\"data\":{qvalue},\"ttl\":{ttl}}" },
	.del = { "DELETE", "/domains/{zone}/records/{id}", NULL },
	.records_array = "records", .rec_id = "id", .rec_name = "name", .rec_type = "type", .rec_value = "data",
	.next_path = "meta.links.next", .apex = "",
	.err_paths = { "error" },
};
REST_OPS(dns_vultr, vultr_desc, vultr_opts, "vultr", NULL, "Vultr DNS API v2", "an API key allowed from this address");

/* ---- Porkbun: api.porkbun.com/api/json/v3, keys in every POST body ---- */
static const struct dns_opt_desc porkbun_opts[] = {
	{ "api_key", "PORKBUN_API_KEY", NULL, R | S, NULL, "the API key (pk1_...)" },
	{ "secret_api_key", "PORKBUN_SECRET_API_KEY", NULL, R | S, NULL, "the secret API key (sk1_...)" },
	{ "base_url", "PORKBUN_BASE_URL", NULL, 0, "https://api.porkbun.com/api/json/v3", "the API's base URL" },
	{ "ttl", "PORKBUN_TTL", NULL, 0, "600", "the TXT record's TTL in seconds (at least 600)" },
};
#define PB_KEYS "\"apikey\":{opt:api_key},\"secretapikey\":{opt:secret_api_key}"
static const struct dns_rest_desc porkbun_desc = {
	.name = "porkbun", .title = "Porkbun", .base = "https://api.porkbun.com/api/json/v3",
	.opts = porkbun_opts, .n_opts = N(porkbun_opts), .ttl_min = 600,
	.auth_hint = "PORKBUN_API_KEY and PORKBUN_SECRET_API_KEY must be a key pair of the account, with "
		     "API ACCESS turned on for the domain",
	.list = { "POST", "/dns/retrieveByNameType/{zone}/TXT/{rel}", "{" PB_KEYS "}" },
	.create = { "POST", "/dns/create/{zone}",
		    "{" PB_KEYS ",\"name\":{rel},\"type\":\"TXT\",\"content\":{value},\"ttl\":\"{ttl}\"}" },
	.del = { "POST", "/dns/delete/{zone}/{id}", "{" PB_KEYS "}" },
	.records_array = "records", .rec_id = "id", .rec_name = "name", .rec_type = "type", .rec_value = "content",
	.apex = "",
	.err_paths = { "message" },
	.fail_path = "status", .fail_value = "ERROR",
};
REST_OPS(dns_porkbun, porkbun_desc, porkbun_opts, "porkbun", NULL, "Porkbun API v3",
	 "an API key pair, with API ACCESS turned on for the domain");

/* ---- IONOS: api.hosting.ionos.com/dns/v1 ---- */
static const struct dns_opt_desc ionos_opts[] = {
	{ "api_key", "IONOS_API_KEY", NULL, R | S, NULL, "the API key as PREFIX.SECRET" },
	{ "base_url", "IONOS_BASE_URL", NULL, 0, "https://api.hosting.ionos.com/dns", "the API's base URL" },
	{ "ttl", "IONOS_TTL", NULL, 0, "300", "the TXT record's TTL in seconds (at least 300)" },
};
static const struct dns_rest_desc ionos_desc = {
	.name = "ionos", .title = "IONOS", .base = "https://api.hosting.ionos.com/dns",
	.opts = ionos_opts, .n_opts = N(ionos_opts), .ttl_min = 300,
	.headers = { "X-API-Key: {opt:api_key}" },
	.auth_hint = "IONOS_API_KEY must be an IONOS developer API key as PREFIX.SECRET",
	.zones = { "GET", "/v1/zones", NULL },
	.zones_array = "", .zone_name_key = "name", .zone_id_key = "id",
	.list = { "GET", "/v1/zones/{zone_id}?recordName={fqdn}&recordType=TXT", NULL },
	.create = { "POST", "/v1/zones/{zone_id}/records",
		    "[{\"name\":{fqdn},\"type\":\"TXT\",\"content\":{value},\"ttl\":{ttl},\"prio\":0,"
		    "\"disabled\":false}]" },
	.del = { "DELETE", "/v1/zones/{zone_id}/records/{id}", NULL },
	.records_array = "records", .rec_id = "id", .rec_name = "name", .rec_type = "type", .rec_value = "content",
	.err_paths = { "0.message", "message" },
};
REST_OPS(dns_ionos, ionos_desc, ionos_opts, "ionos", NULL, "IONOS DNS API v1", "a developer API key (PREFIX.SECRET)");

/* ---- Netlify: api.netlify.com/api/v1/dns_zones ---- */
static const struct dns_opt_desc netlify_opts[] = {
	{ "token", "NETLIFY_TOKEN", NULL, R | S, NULL, "a personal access token" },
	{ "base_url", "NETLIFY_BASE_URL", NULL, 0, "https://api.netlify.com/api/v1", "the API's base URL" },
	{ "ttl", "NETLIFY_TTL", NULL, 0, "300", "the TXT record's TTL in seconds" },
};
static const struct dns_rest_desc netlify_desc = {
	.name = "netlify", .title = "Netlify", .base = "https://api.netlify.com/api/v1",
	.opts = netlify_opts, .n_opts = N(netlify_opts), .ttl_min = 1,
	.headers = { "Authorization: Bearer {opt:token}" },
	.auth_hint = "NETLIFY_TOKEN must be a Netlify personal access token (User settings, Applications)",
	.zones = { "GET", "/dns_zones", NULL },
	.zones_array = "", .zone_name_key = "name", .zone_id_key = "id",
	.list = { "GET", "/dns_zones/{zone_id}/dns_records", NULL },
	.create = { "POST", "/dns_zones/{zone_id}/dns_records",
		    "{\"type\":\"TXT\",\"hostname\":{fqdn},\"value\":{value},\"ttl\":{ttl}}" },
	.del = { "DELETE", "/dns_zones/{zone_id}/dns_records/{id}", NULL },
	.records_array = "", .rec_id = "id", .rec_name = "hostname", .rec_type = "type", .rec_value = "value",
	.err_paths = { "message" },
};
REST_OPS(dns_netlify, netlify_desc, netlify_opts, "netlify", NULL, "Netlify DNS API", "a personal access token");

/* ---- Vercel: api.vercel.com, v4 list, v2 create/delete ---- */
static const struct dns_opt_desc vercel_opts[] = {
	{ "auth_token", "VERCEL_API_TOKEN", NULL, R | S, NULL, "an access token (Account settings, Tokens)" },
	{ "team_id", "VERCEL_TEAM_ID", NULL, 0, "", "the team owning the domain (empty: the personal account)" },
	{ "base_url", "VERCEL_BASE_URL", NULL, 0, "https://api.vercel.com", "the API's base URL" },
	{ "ttl", "VERCEL_TTL", NULL, 0, "60", "the TXT record's TTL in seconds" },
};
static const struct dns_rest_desc vercel_desc = {
	.name = "vercel", .title = "Vercel", .base = "https://api.vercel.com",
	.opts = vercel_opts, .n_opts = N(vercel_opts), .ttl_min = 60,
	.headers = { "Authorization: Bearer {opt:auth_token}" },
	.auth_hint = "VERCEL_API_TOKEN must be a Vercel access token with the domain's scope "
		     "(VERCEL_TEAM_ID for a team's domain)",
	.list = { "GET", "/v4/domains/{zone}/records?teamId={opt:team_id}&limit=100&until={cursor}", NULL },
	.create = { "POST", "/v2/domains/{zone}/records?teamId={opt:team_id}",
		    "{\"name\":{rel},\"type\":\"TXT\",\"value\":{value},\"ttl\":{ttl}}" },
	.del = { "DELETE", "/v2/domains/{zone}/records/{id}?teamId={opt:team_id}", NULL },
	.records_array = "records", .rec_id = "id", .rec_name = "name", .rec_type = "type", .rec_value = "value",
	.next_path = "pagination.next", .apex = "",
	.err_paths = { "error.message" },
};
REST_OPS(dns_vercel, vercel_desc, vercel_opts, "vercel", NULL, "Vercel DNS API", "an access token with the domain's scope");

/* ---- Infomaniak: api.infomaniak.com/2/zones ---- */
static const struct dns_opt_desc infomaniak_opts[] = {
	{ "access_token", "INFOMANIAK_ACCESS_TOKEN", NULL, R | S, NULL, "an API token with the domain scope" },
	{ "api_endpoint", "INFOMANIAK_ENDPOINT", NULL, 0, "https://api.infomaniak.com", "the API's base URL" },
	{ "ttl", "INFOMANIAK_TTL", NULL, 0, "300", "the TXT record's TTL in seconds" },
};
static const struct dns_rest_desc infomaniak_desc = {
	.name = "infomaniak", .title = "Infomaniak", .base = "https://api.infomaniak.com",
	.base_opt = "api_endpoint", .opts = infomaniak_opts, .n_opts = N(infomaniak_opts), .ttl_min = 1,
	.headers = { "Authorization: Bearer {opt:access_token}" },
	.auth_hint = "INFOMANIAK_ACCESS_TOKEN must be an Infomaniak API token with the domain scope",
	.list = { "GET", "/2/zones/{zone}/records", NULL },
	.create = { "POST", "/2/zones/{zone}/records",
		    "{\"source\":{rel},\"type\":\"TXT\",\"target\":{value},\"ttl\":{ttl}}" },
	.del = { "DELETE", "/2/zones/{zone}/records/{id}", NULL },
	.records_array = "data", .rec_id = "id", .rec_name = "source", .rec_type = "type", .rec_value = "target",
	.err_paths = { "error.description", "error.code" },
	.fail_path = "result", .fail_value = "error",
};
REST_OPS(dns_infomaniak, infomaniak_desc, infomaniak_opts, "infomaniak", NULL, "Infomaniak API v2",
	 "an API token with the domain scope");

/* ---- Scaleway: api.scaleway.com/domain/v2beta1, one PATCH of changes ---- */
static const struct dns_opt_desc scaleway_opts[] = {
	{ "secret_key", "SCW_SECRET_KEY", "SCALEWAY_API_TOKEN", R | S, NULL, "an API key's secret key" },
	{ "access_key", "SCW_ACCESS_KEY", NULL, 0, NULL, "the API key's access key (not needed)" },
	{ "project_id", "SCW_PROJECT_ID", "SCALEWAY_PROJECT_ID", 0, NULL, "the project (not needed)" },
	{ "base_url", "SCALEWAY_BASE_URL", NULL, 0, "https://api.scaleway.com/domain/v2beta1", "the API's base URL" },
	{ "ttl", "SCALEWAY_TTL", NULL, 0, "60", "the TXT record's TTL in seconds (at least 60)" },
};
static const struct dns_rest_desc scaleway_desc = {
	.name = "scaleway", .title = "Scaleway", .base = "https://api.scaleway.com/domain/v2beta1",
	.opts = scaleway_opts, .n_opts = N(scaleway_opts), .ttl_min = 60,
	.headers = { "X-Auth-Token: {opt:secret_key}" },
	.auth_hint = "SCW_SECRET_KEY must be the secret key of a Scaleway API key with DomainsDNSFullAccess",
	.create = { "PATCH", "/dns-zones/{zone}/records",
		    "{\"return_all_records\":false,\"changes\":[{\"add\":{\"records\":[{\"name\":{rel},"
		    "\"type\":\"TXT\",\"data\":{qvalue},\"ttl\":{ttl}}]}}]}" },
	.del = { "PATCH", "/dns-zones/{zone}/records",
		 "{\"return_all_records\":false,\"changes\":[{\"delete\":{\"id_fields\":{\"name\":{rel},"
		 "\"type\":\"TXT\",\"data\":{qvalue}}}}]}" },
	.apex = "",
	.err_paths = { "message" },
};
REST_OPS(dns_scaleway, scaleway_desc, scaleway_opts, "scaleway", NULL, "Scaleway Domains and DNS API",
	 "an API key with DomainsDNSFullAccess");

/* ---- Spaceship: spaceship.dev/api/v1/dns/records/ZONE ---- */
static const struct dns_opt_desc spaceship_opts[] = {
	{ "api_key", "SPACESHIP_API_KEY", NULL, R | S, NULL, "the API key" },
	{ "api_secret", "SPACESHIP_API_SECRET", NULL, R | S, NULL, "the API secret" },
	{ "base_url", "SPACESHIP_BASE_URL", NULL, 0, "https://spaceship.dev/api/v1", "the API's base URL" },
	{ "ttl", "SPACESHIP_TTL", NULL, 0, "120", "the TXT record's TTL in seconds (at least 60)" },
};
static const struct dns_rest_desc spaceship_desc = {
	.name = "spaceship", .title = "Spaceship", .base = "https://spaceship.dev/api/v1",
	.opts = spaceship_opts, .n_opts = N(spaceship_opts), .ttl_min = 60,
	.headers = { "X-Api-Key: {opt:api_key}", "X-Api-Secret: {opt:api_secret}" },
	.auth_hint = "SPACESHIP_API_KEY and SPACESHIP_API_SECRET must be a key of the account with "
		     "dnsrecords:write",
	.create = { "PUT", "/dns/records/{zone}",
		    "{\"force\":false,\"items\":[{\"type\":\"TXT\",\"name\":{rel},\"value\":{value},\"ttl\":{ttl}}]}" },
	.del = { "DELETE", "/dns/records/{zone}", "[{\"type\":\"TXT\",\"name\":{rel},\"value\":{value}}]" },
	.err_paths = { "detail", "data.0.details" },
};
REST_OPS(dns_spaceship, spaceship_desc, spaceship_opts, "spaceship", NULL, "Spaceship DNS API",
	 "an API key with dnsrecords:write");

/* ---- GoDaddy: api.godaddy.com/v1, the name's TXT set replaced at once ---- */
static const struct dns_opt_desc godaddy_opts[] = {
	{ "api_key", "GODADDY_API_KEY", NULL, R | S, NULL, "a production API key (developer.godaddy.com)" },
	{ "api_secret", "GODADDY_API_SECRET", NULL, R | S, NULL, "its secret" },
	{ "base_url", "GODADDY_BASE_URL", NULL, 0, "https://api.godaddy.com", "the API's base URL" },
	{ "ttl", "GODADDY_TTL", NULL, 0, "600", "the TXT record's TTL in seconds (at least 600)" },
};
static const struct dns_rest_desc godaddy_desc = {
	.name = "godaddy", .title = "GoDaddy", .base = "https://api.godaddy.com",
	.opts = godaddy_opts, .n_opts = N(godaddy_opts), .ttl_min = 600,
	.headers = { "Authorization: sso-key {opt:api_key}:{opt:api_secret}" },
	.auth_hint = "GODADDY_API_KEY and GODADDY_API_SECRET must be a production key of the account "
		     "(GoDaddy gives DNS API access only to some accounts)",
	.list = { "GET", "/v1/domains/{zone}/records/TXT/{rel}", NULL },
	.create = { "PUT", "/v1/domains/{zone}/records/TXT/{rel}", "[{items}]" },
	.del = { "PUT", "/v1/domains/{zone}/records/TXT/{rel}", "[{items}]" },
	.del_empty = { "DELETE", "/v1/domains/{zone}/records/TXT/{rel}", NULL },
	.set_item = "{\"data\":{value},\"ttl\":{ttl}}",
	.records_array = "", .rec_value = "data", .rec_type = NULL,
	.err_paths = { "message", "code" },
};
REST_OPS(dns_godaddy, godaddy_desc, godaddy_opts, "godaddy", NULL, "GoDaddy Domains API v1",
	 "a production API key and secret");

/* ---- deSEC: desec.io/api/v1, RRsets written whole ---- */
static const struct dns_opt_desc desec_opts[] = {
	{ "token", "DESEC_TOKEN", NULL, R | S, NULL, "an API token of the account" },
	{ "base_url", "DESEC_BASE_URL", NULL, 0, "https://desec.io/api/v1", "the API's base URL" },
	{ "ttl", "DESEC_TTL", NULL, 0, "3600", "the TXT record's TTL in seconds (deSEC's minimum is 3600)" },
};
static const struct dns_rest_desc desec_desc = {
	.name = "desec", .title = "deSEC", .base = "https://desec.io/api/v1",
	.opts = desec_opts, .n_opts = N(desec_opts), .ttl_min = 1,
	.headers = { "Authorization: Token {opt:token}" },
	.auth_hint = "DESEC_TOKEN must be a deSEC API token allowed to write the domain's RRsets",
	.list = { "GET", "/domains/{zone}/rrsets/{rel}/TXT/", NULL },
	.create = { "PUT", "/domains/{zone}/rrsets/",
		    "[{\"subname\":{rel},\"type\":\"TXT\",\"ttl\":{ttl},\"records\":[{items}]}]" },
	.del = { "PUT", "/domains/{zone}/rrsets/",
		 "[{\"subname\":{rel},\"type\":\"TXT\",\"ttl\":{ttl},\"records\":[{items}]}]" },
	.set_item = "{qvalue}",
	.records_array = "records",
	.err_paths = { "detail", "0.ttl.0", "0.records.0" },
};
REST_OPS(dns_desec, desec_desc, desec_opts, "desec", NULL, "deSEC DNS API v1", "an API token");

/* ---- ClouDNS: api.cloudns.net, credentials in the query, HTTP 200 with
 * {"status": "Failed"} for errors, records keyed by id ---- */
static const struct dns_opt_desc cloudns_opts[] = {
	{ "auth_id", "CLOUDNS_AUTH_ID", NULL, 0, NULL, "the API user's auth-id (or sub_auth_id)" },
	{ "sub_auth_id", "CLOUDNS_SUB_AUTH_ID", NULL, 0, NULL, "a sub-user's sub-auth-id (instead of auth_id)" },
	{ "auth_password", "CLOUDNS_AUTH_PASSWORD", NULL, R | S, NULL, "the API user's password" },
	{ "base_url", "CLOUDNS_BASE_URL", NULL, 0, "https://api.cloudns.net", "the API's base URL" },
	{ "ttl", "CLOUDNS_TTL", NULL, 0, "60", "the TXT record's TTL (60, 300, 900, 1800, 3600, ...)" },
};

/* auth-id or sub-auth-id, whichever is given, as {opt:auth_param}={opt:auth_value} */
static int cloudns_prepare(struct dns_options *o)
{
	const char *sub = dns_options_get(o, "sub_auth_id");
	bool use_sub = sub != NULL && *sub != '\0';
	const char *v = use_sub ? sub : dns_options_get(o, "auth_id");

	if (dns_options_set(o, "auth_param", use_sub ? "sub-auth-id" : "auth-id", false) != 0)
		return -1;
	return dns_options_set(o, "auth_value", v ? v : "", false);
}

static int cloudns_check(const struct dns_options *o, struct gpc_error *err)
{
	const char *a = dns_options_get(o, "auth_id"), *s = dns_options_get(o, "sub_auth_id");

	if ((a != NULL && *a) || (s != NULL && *s))
		return 0;
	gpc_error_set(err, GPC_E_USAGE, "dns provider cloudns: option auth_id (CLOUDNS_AUTH_ID) is missing");
	return gpc_error_hint(err, "set CLOUDNS_AUTH_ID (an API user's auth-id) or CLOUDNS_SUB_AUTH_ID (a "
				   "sub-user's), with CLOUDNS_AUTH_PASSWORD");
}

#define CLOUDNS_AUTH "{opt:auth_param}={opt:auth_value}&auth-password={opt:auth_password}"
static const struct dns_rest_desc cloudns_desc = {
	.name = "cloudns", .title = "ClouDNS", .base = "https://api.cloudns.net",
	.opts = cloudns_opts, .n_opts = N(cloudns_opts), .ttl_min = 60, .prepare = cloudns_prepare,
	.check = cloudns_check,
	.auth_hint = "CLOUDNS_AUTH_ID (or CLOUDNS_SUB_AUTH_ID) and CLOUDNS_AUTH_PASSWORD must be an API user "
		     "of the account (API & Resellers), allowed from this address",
	.list = { "GET", "/dns/records.json?" CLOUDNS_AUTH "&domain-name={zone}&host={rel}&type=TXT", NULL },
	.create = { "POST", "/dns/add-record.json?" CLOUDNS_AUTH "&domain-name={zone}&record-type=TXT&host={rel}"
			    "&record={value}&ttl={ttl}", NULL },
	.del = { "POST", "/dns/delete-record.json?" CLOUDNS_AUTH "&domain-name={zone}&record-id={id}", NULL },
	.records_array = "", .rec_id = "id", .rec_name = "host", .rec_type = "type", .rec_value = "record",
	.apex = "",
	.err_paths = { "statusDescription" },
	.fail_path = "status", .fail_value = "Failed",
};
REST_OPS(dns_cloudns, cloudns_desc, cloudns_opts, "cloudns", NULL, "ClouDNS API",
	 "an API user (auth-id or sub-auth-id) allowed from this address");

/* ---- Hostinger: developers.hostinger.com/api/dns/v1/zones/ZONE, the
 * zone's sets listed at once, one set replaced (overwrite) ---- */
static const struct dns_opt_desc hostinger_opts[] = {
	{ "api_token", "HOSTINGER_API_TOKEN", NULL, R | S, NULL, "an API token (hPanel, Account, API)" },
	{ "base_url", "HOSTINGER_BASE_URL", NULL, 0, "https://developers.hostinger.com", "the API's base URL" },
	{ "ttl", "HOSTINGER_TTL", NULL, 0, "300", "the TXT record's TTL in seconds (at least 60)" },
};
#define HOSTINGER_SET "{\"overwrite\":true,\"zone\":[{\"name\":{rel},\"type\":\"TXT\",\"ttl\":{ttl},\"records\":[{items}]}]}"
static const struct dns_rest_desc hostinger_desc = {
	.name = "hostinger", .title = "Hostinger", .base = "https://developers.hostinger.com",
	.opts = hostinger_opts, .n_opts = N(hostinger_opts), .ttl_min = 60,
	.headers = { "Authorization: Bearer {opt:api_token}" },
	.auth_hint = "HOSTINGER_API_TOKEN must be a Hostinger API token of the account holding the domain",
	.list = { "GET", "/api/dns/v1/zones/{zone}", NULL },
	.create = { "PUT", "/api/dns/v1/zones/{zone}", HOSTINGER_SET },
	.del = { "PUT", "/api/dns/v1/zones/{zone}", HOSTINGER_SET },
	.del_empty = { "DELETE", "/api/dns/v1/zones/{zone}", "{\"filters\":[{\"name\":{rel},\"type\":\"TXT\"}]}" },
	.set_item = "{\"content\":{value}}",
	.records_array = "", .rec_name = "name", .rec_type = "type", .set_values = "records", .rec_value = "content",
	.err_paths = { "message", "error" },
};
REST_OPS(dns_hostinger, hostinger_desc, hostinger_opts, "hostinger", NULL, "Hostinger DNS API v1",
	 "an API token of the account");

/* ---- CloudDNS (vshosting): a login for an access token, the domain
 * found by search, its records read with the domain, each change
 * published ---- */
static const struct dns_opt_desc clouddns_opts[] = {
	{ "client_id", "CLOUDDNS_CLIENT_ID", NULL, R, NULL, "the client id of the account" },
	{ "email", "CLOUDDNS_EMAIL", NULL, R, NULL, "the e-mail address the account logs in with" },
	{ "password", "CLOUDDNS_PASSWORD", NULL, R | S, NULL, "the account's password" },
	{ "base_url", "CLOUDDNS_BASE_URL", NULL, 0, "https://admin.vshosting.cloud", "the API's base URL" },
	{ "ttl", "CLOUDDNS_TTL", NULL, 0, "300", "the zone's SOA TTL set when publishing" },
};
static const struct dns_rest_desc clouddns_desc = {
	.name = "clouddns", .title = "CloudDNS", .base = "https://admin.vshosting.cloud",
	.opts = clouddns_opts, .n_opts = N(clouddns_opts), .ttl_min = 1,
	.login = { "POST", "/api/public/auth/login", "{\"email\":{opt:email},\"password\":{opt:password}}" },
	.login_token = "auth.accessToken", .login_opt = "access_token",
	.headers = { "Authorization: Bearer {opt:access_token}" },
	.auth_hint = "CLOUDDNS_EMAIL and CLOUDDNS_PASSWORD must log in to the CloudDNS account of CLOUDDNS_CLIENT_ID",
	.zones = { "POST", "/clouddns/domain/search",
		   "{\"search\":[{\"name\":\"clientId\",\"operator\":\"eq\",\"value\":{opt:client_id}},"
		   "{\"name\":\"domainName\",\"operator\":\"eq\",\"value\":{zone}}]}" },
	.zones_array = "items", .zone_name_key = "domainName", .zone_id_key = "id",
	.list = { "GET", "/clouddns/domain/{zone_id}", NULL },
	.records_array = "lastDomainRecordList", .rec_id = "id", .rec_name = "name", .rec_type = "type",
	.rec_value = "value",
	.create = { "POST", "/clouddns/record-txt",
		    "{\"domainId\":{zone_id},\"name\":{dfqdn},\"value\":{value},\"type\":\"TXT\"}" },
	.del = { "DELETE", "/clouddns/record/{id}", NULL },
	.after = { "PUT", "/clouddns/domain/{zone_id}/publish", "{\"soaTtl\":{ttl}}" },
	.err_paths = { "error.message" },
};
REST_OPS(dns_clouddns, clouddns_desc, clouddns_opts, "clouddns", NULL, "CloudDNS (vshosting) API",
	 "an account's client id, e-mail and password");

/* ---- Timeweb Cloud: api.timeweb.cloud/api/v1/domains/ZONE/dns-records,
 * Bearer token, limit/offset pages with meta.total ---- */
static const struct dns_opt_desc timeweb_opts[] = {
	{ "auth_token", "TIMEWEBCLOUD_AUTH_TOKEN", NULL, R | S, NULL, "an API token of the account" },
	{ "base_url", "TIMEWEBCLOUD_BASE_URL", NULL, 0, "https://api.timeweb.cloud/api", "the API's base URL" },
};
static const struct dns_rest_desc timeweb_desc = {
	.name = "timewebcloud", .title = "Timeweb Cloud", .base = "https://api.timeweb.cloud/api",
	.opts = timeweb_opts, .n_opts = N(timeweb_opts), .ttl_min = 1,
	.headers = { "Authorization: Bearer {opt:auth_token}", "Accept: application/json" },
	.auth_hint = "TIMEWEBCLOUD_AUTH_TOKEN must be a Timeweb Cloud API token of the account holding the domain",
	.list = { "GET", "/v1/domains/{zone}/dns-records?limit=100&offset={offset}", NULL },
	.records_array = "dns_records", .rec_id = "id", .rec_name = "data.subdomain", .rec_type = "type",
	.rec_value = "data.value", .total_path = "meta.total", .apex = "",
	.create = { "POST", "/v1/domains/{zone}/dns-records", "{\"type\":\"TXT\",\"value\":{value},\"subdomain\":{rel}}" },
	.del = { "DELETE", "/v1/domains/{zone}/dns-records/{id}", NULL },
	.err_paths = { "message" },
};
REST_OPS(dns_timewebcloud, timeweb_desc, timeweb_opts, "timewebcloud", NULL, "Timeweb Cloud API",
	 "an API token of the account");

/* gcloud: Google Cloud DNS (API v1) on the REST engine. The service
 * account's JSON key signs a JWT (RS256, RFC 7523) that the key's
 * token_uri exchanges for an access token once per run; the managed zone
 * is found by its DNS name, the name's TXT set read from rrsets, and each
 * change is one Change: the set as it was in deletions, the new one in
 * additions (Cloud DNS applies both or neither). */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>

#include "b64.h"

#define R DNS_OPT_REQUIRED
#define S DNS_OPT_SECRET

static const struct dns_opt_desc opts[] = {
	{ "service_account", "GCE_SERVICE_ACCOUNT", NULL, R | S, NULL,
	  "the service account's JSON key (GCE_SERVICE_ACCOUNT_FILE: the key file)" },
	{ "project", "GCE_PROJECT", NULL, 0, NULL, "the project holding the zone (the key's project_id by default)" },
	{ "ttl", "GCE_TTL", NULL, 0, "120", "the TXT record's TTL in seconds" },
	{ "base_url", "GCE_BASE_URL", NULL, 0, "https://dns.googleapis.com/dns/v1", "the Cloud DNS API's URL" },
};

#define SCOPE "https://www.googleapis.com/auth/ndev.clouddns.readwrite"
#define AUTH_HINT                                                                                      \
	"GCE_SERVICE_ACCOUNT(_FILE) must be a valid JSON key of a service account with the role "   \
	"'DNS Administrator' (roles/dns.admin) in the project (GCE_PROJECT)"

struct sa {
	struct json_object *j;
	const char *email, *key, *key_id, *token_uri, *project;
};

static const char *field(struct json_object *j, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(j, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return *json_object_get_string(v) ? json_object_get_string(v) : NULL;
}

/* The key's fields; err names what is wrong (never the key's text). */
static int sa_parse(const struct dns_options *o, struct sa *sa, struct gpc_error *err)
{
	const char *t = dns_options_get(o, "service_account"), *type, *miss;

	memset(sa, 0, sizeof(*sa));
	sa->j = t ? json_tokener_parse(t) : NULL;
	if (sa->j == NULL || !json_object_is_type(sa->j, json_type_object)) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider gcloud: option service_account (GCE_SERVICE_ACCOUNT) "
			      "is not a JSON key");
		goto bad;
	}
	type = field(sa->j, "type");
	sa->email = field(sa->j, "client_email");
	sa->key = field(sa->j, "private_key");
	sa->key_id = field(sa->j, "private_key_id");
	sa->token_uri = field(sa->j, "token_uri");
	sa->project = field(sa->j, "project_id");
	if (sa->token_uri == NULL)
		sa->token_uri = "https://oauth2.googleapis.com/token";
	miss = type == NULL || strcmp(type, "service_account") != 0 ? "\"type\": \"service_account\""
	       : sa->email == NULL				      ? "client_email"
	       : sa->key == NULL				      ? "private_key"
								      : NULL;
	if (miss != NULL) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider gcloud: the service account key (GCE_SERVICE_ACCOUNT) "
			      "lacks %s", miss);
		goto bad;
	}
	return 0;
bad:
	json_object_put(sa->j);
	sa->j = NULL;
	return gpc_error_hint(err, "give the JSON key file of a service account (IAM, Service accounts, Keys, "
				   "Add key, JSON) as GCE_SERVICE_ACCOUNT_FILE");
}

static int import_key(const struct sa *sa, gnutls_privkey_t *k, struct gpc_error *err)
{
	gnutls_datum_t pem = { (unsigned char *)sa->key, (unsigned)strlen(sa->key) };
	int x;

	if (gnutls_privkey_init(k) < 0)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	x = gnutls_privkey_import_x509_raw(*k, &pem, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (x < 0 || gnutls_privkey_get_pk_algorithm(*k, NULL) != GNUTLS_PK_RSA) {
		gnutls_privkey_deinit(*k);
		*k = NULL;
		gpc_error_set(err, GPC_E_USAGE, "dns provider gcloud: the service account key's private_key "
			      "(GCE_SERVICE_ACCOUNT) is not an RSA private key in PEM%s%s", x < 0 ? ": " : "",
			      x < 0 ? gnutls_strerror(x) : "");
		return gpc_error_hint(err, "give the JSON key file as Google Cloud made it (GCE_SERVICE_ACCOUNT_FILE)");
	}
	return 0;
}

static int check(const struct dns_options *o, struct gpc_error *err)
{
	struct sa sa;
	gnutls_privkey_t k = NULL;
	const char *p = dns_options_get(o, "project");
	int rc = -1;

	if (sa_parse(o, &sa, err) != 0)
		return -1;
	if (dns_opt_url("gcloud", "token_uri", "GCE_SERVICE_ACCOUNT", sa.token_uri,
			"give the JSON key file as Google Cloud made it (its token_uri)", err) != 0 ||
	    import_key(&sa, &k, err) != 0)
		goto out;
	if ((p == NULL || *p == '\0') && sa.project == NULL) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider gcloud: option project (GCE_PROJECT) is missing and the "
			      "service account key has no project_id");
		gpc_error_hint(err, "set GCE_PROJECT to the project holding the managed zone");
		goto out;
	}
	rc = 0;
out:
	if (k)
		gnutls_privkey_deinit(k);
	json_object_put(sa.j);
	return rc;
}

/* The project from the key unless given. */
static int prepare(struct dns_options *o)
{
	const char *p = dns_options_get(o, "project"), *t = dns_options_get(o, "service_account");
	struct json_object *j;
	int rc = 0;

	if (p != NULL && *p)
		return 0;
	j = t ? json_tokener_parse(t) : NULL;
	if (j != NULL && field(j, "project_id") != NULL)
		rc = dns_options_set(o, "project", field(j, "project_id"), false);
	json_object_put(j);
	return rc;
}

static char *b64json(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	return b64url_encode(s, strlen(s));
}

/* The signed assertion (header.claims.signature) into jwt. */
static int assertion(const struct sa *sa, struct buf *jwt, struct gpc_error *err)
{
	struct json_object *h = json_object_new_object(), *c = json_object_new_object();
	gnutls_privkey_t k = NULL;
	gnutls_datum_t data, sig = { NULL, 0 };
	char *hs = NULL, *cs = NULL, *ss = NULL;
	long long now = (long long)time(NULL);
	int rc = -1;

	if (import_key(sa, &k, err) != 0)
		goto out;
	if (h == NULL || c == NULL || json_object_object_add(h, "alg", json_object_new_string("RS256")) ||
	    json_object_object_add(h, "typ", json_object_new_string("JWT")) ||
	    (sa->key_id && json_object_object_add(h, "kid", json_object_new_string(sa->key_id))) ||
	    json_object_object_add(c, "iss", json_object_new_string(sa->email)) ||
	    json_object_object_add(c, "scope", json_object_new_string(SCOPE)) ||
	    json_object_object_add(c, "aud", json_object_new_string(sa->token_uri)) ||
	    json_object_object_add(c, "iat", json_object_new_int64(now)) ||
	    json_object_object_add(c, "exp", json_object_new_int64(now + 3600)) || (hs = b64json(h)) == NULL ||
	    (cs = b64json(c)) == NULL || buf_printf(jwt, "%s.%s", hs, cs) != 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	data.data = (unsigned char *)jwt->data;
	data.size = (unsigned)jwt->len;
	int x = gnutls_privkey_sign_data(k, GNUTLS_DIG_SHA256, 0, &data, &sig);
	if (x < 0) {
		gpc_error_set(err, GPC_E_INTERNAL, "gcloud: signing the token request failed: %s", gnutls_strerror(x));
		goto out;
	}
	if ((ss = b64url_encode(sig.data, sig.size)) == NULL || buf_printf(jwt, ".%s", ss) != 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	gnutls_free(sig.data);
	if (k)
		gnutls_privkey_deinit(k);
	json_object_put(h);
	json_object_put(c);
	free(hs);
	free(cs);
	free(ss);
	return rc;
}

#define ZONE "/projects/{opt:project}/managedZones/{zone_id}"
#define SET "{\"name\":{dfqdn},\"type\":\"TXT\",\"ttl\":{ttl},\"rrdatas\":[{items}]}"

static const struct dns_rest_desc desc = {
	.name = "gcloud", .title = "Google Cloud DNS", .base = "https://dns.googleapis.com/dns/v1",
	.opts = opts, .n_opts = sizeof(opts) / sizeof(opts[0]), .ttl_min = 1,
	.headers = { "Authorization: Bearer {opt:access_token}" },
	.auth_hint = AUTH_HINT,
	.zones = { "GET", "/projects/{opt:project}/managedZones?dnsName={zone}.", NULL },
	.zones_array = "managedZones", .zone_name_key = "dnsName", .zone_id_key = "name",
	.list = { "GET", ZONE "/rrsets?name={fqdn}.&type=TXT", NULL },
	.create = { "POST", ZONE "/changes", "{\"deletions\":[{old}],\"additions\":[" SET "]}" },
	.del = { "POST", ZONE "/changes", "{\"deletions\":[{old}],\"additions\":[" SET "]}" },
	.del_empty = { "POST", ZONE "/changes", "{\"deletions\":[{old}]}" },
	.set_item = "{qvalue}", .set_old = SET,
	.records_array = "rrsets", .rec_name = "name", .rec_type = "type", .set_values = "rrdatas",
	.set_ttl = "ttl",
	.err_paths = { "error.message" },
	.prepare = prepare, .check = check,
};

static int gcloud_check(const struct dns_options *o, struct gpc_error *err)
{
	return dns_rest_check(&desc, o, err);
}

/* The token (a signed JWT exchanged) into a copy of the options, then the engine. */
static int gcloud_create(const struct dns_options *o, void **s, struct gpc_error *err)
{
	struct dns_options c = { 0 };
	struct sa sa = { 0 };
	struct buf jwt, form;
	int rc = -1;

	buf_init(&jwt, 65536);
	buf_init(&form, 65536);
	if (dns_options_copy(&c, o) != 0 || prepare(&c) != 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	if (sa_parse(&c, &sa, err) != 0 || assertion(&sa, &jwt, err) != 0)
		goto out;
	if (buf_adds(&form, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=") ||
	    buf_adds(&form, jwt.data)) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	rc = dns_oauth_rest_create(&desc, "gcloud", sa.token_uri, form.data, AUTH_HINT, &c, s, err);
out:
	json_object_put(sa.j);
	if (form.data)
		memset(form.data, 0, form.len);
	if (jwt.data)
		memset(jwt.data, 0, jwt.len);
	buf_finish(&form);
	buf_finish(&jwt);
	dns_options_finish(&c);
	return rc;
}

const struct dns_provider_ops dns_gcloud = {
	.name = "gcloud",
	.aliases = { NULL },
	.title = "Google Cloud DNS (API v1, service account key)",
	.needs = "a service account JSON key with the role DNS Administrator in the project",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = true,
	.check = gcloud_check,
	.create = gcloud_create,
	.present = dns_rest_present,
	.cleanup = dns_rest_cleanup,
	.destroy = dns_rest_destroy,
};

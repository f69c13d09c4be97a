/* edgedns: Akamai Edge DNS, the Config DNS v2 API
 * (/config-dns/v2/zones/ZONE/names/NAME/types/TXT: one record set read,
 * created by POST, replaced by PUT, removed by DELETE) on the REST
 * engine's record-set shape. Every request is signed with EdgeGrid
 * (EG1-HMAC-SHA256): the signing key is the base64 HMAC-SHA256 of the
 * timestamp under the client secret, and the signature the base64
 * HMAC-SHA256 under that key of, joined by tabs: the method, the scheme,
 * the host, the path with its query, the (empty) signed headers, the
 * base64 SHA-256 of a POST's body and the Authorization header without
 * its signature. */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "b64.h"

#define S DNS_OPT_SECRET
#define R DNS_OPT_REQUIRED
#define EG_MAX_BODY 131072 /* EdgeGrid hashes at most this much of a body */

static const struct dns_opt_desc opts[] = {
	{ "host", "AKAMAI_HOST", NULL, R, NULL, "the API client's host (akab-....luna.akamaiapis.net)" },
	{ "client_token", "AKAMAI_CLIENT_TOKEN", NULL, R, NULL, "the API client's client token" },
	{ "client_secret", "AKAMAI_CLIENT_SECRET", NULL, R | S, NULL, "the API client's client secret" },
	{ "access_token", "AKAMAI_ACCESS_TOKEN", NULL, R | S, NULL, "the API client's access token" },
	{ "ttl", "AKAMAI_TTL", NULL, 0, "300", "the TXT record set's TTL in seconds" },
};

static int check(const struct dns_options *o, struct gpc_error *err)
{
	const char *h = dns_options_get(o, "host");

	if (h != NULL && (strncmp(h, "https://", 8) == 0 || strncmp(h, "http://", 7) == 0))
		return dns_opt_url("edgedns", "host", "AKAMAI_HOST", h, "give the host of the API client's "
				   "credentials (akab-....luna.akamaiapis.net)", err);
	if (h != NULL && *h != '\0' && strpbrk(h, " \t/?#@") == NULL)
		return 0;
	gpc_error_set(err, GPC_E_USAGE, "dns provider edgedns: option host (AKAMAI_HOST) '%s' is not a host name",
		      h ? h : "");
	return gpc_error_hint(err, "give the host of the API client's credentials (akab-....luna.akamaiapis.net)");
}

/* The host as base_url: https://HOST (a URL as given, for tests). */
static int prepare(struct dns_options *o)
{
	const char *h = dns_options_get(o, "host");
	char u[600];

	if (strstr(h, "://") != NULL)
		return dns_options_set(o, "base_url", h, false);
	snprintf(u, sizeof(u), "https://%s", h);
	return dns_options_set(o, "base_url", u, false);
}

static int hmac_b64(const char *key, size_t klen, const char *msg, size_t mlen, char **out)
{
	unsigned char mac[32];

	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, klen, msg, mlen, mac) < 0)
		return -1;
	*out = b64std_encode(mac, sizeof(mac));
	memset(mac, 0, sizeof(mac));
	return *out ? 0 : -1;
}

static int sign(const struct dns_options *o, const char *method, const char *url, const char *body, struct buf *h)
{
	const char *cs = dns_options_get(o, "client_secret");
	const char *rest = strstr(url, "://"), *path;
	unsigned char rnd[16], dig[32];
	char ts[32], nonce[40], *key = NULL, *sig = NULL, *chash = NULL;
	struct tm tm;
	time_t now = time(NULL);
	struct buf auth, data;
	int rc = -1;

	if (rest == NULL || gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) < 0)
		return -1;
	path = strchr(rest + 3, '/');
	if (path == NULL)
		path = "/";
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H:%M:%S+0000", &tm);
	rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40);
	rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);
	snprintf(nonce, sizeof(nonce), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8], rnd[9], rnd[10], rnd[11],
		 rnd[12], rnd[13], rnd[14], rnd[15]);
	buf_init(&auth, 8192);
	buf_init(&data, 1u << 20);
	if (buf_printf(&auth, "EG1-HMAC-SHA256 client_token=%s;access_token=%s;timestamp=%s;nonce=%s;",
		       dns_options_get(o, "client_token"), dns_options_get(o, "access_token"), ts, nonce) != 0)
		goto out;
	if (strcmp(method, "POST") == 0 && *body) {
		size_t n = strlen(body);
		if (gnutls_hash_fast(GNUTLS_DIG_SHA256, body, n > EG_MAX_BODY ? EG_MAX_BODY : n, dig) < 0 ||
		    (chash = b64std_encode(dig, sizeof(dig))) == NULL)
			goto out;
	}
	if (buf_printf(&data, "%s\t%.*s\t%.*s\t%s\t\t%s\t%s", method, (int)(rest - url), url,
		       (int)(path - rest - 3), rest + 3, path, chash ? chash : "", auth.data) != 0 ||
	    hmac_b64(cs, strlen(cs), ts, strlen(ts), &key) != 0 ||
	    hmac_b64(key, strlen(key), data.data, data.len, &sig) != 0)
		goto out;
	rc = buf_printf(&h[0], "Authorization: %ssignature=%s", auth.data, sig) != 0 ? -1 : 0;
out:
	if (key)
		memset(key, 0, strlen(key));
	free(key);
	free(sig);
	free(chash);
	if (auth.data)
		memset(auth.data, 0, auth.len);
	if (data.data)
		memset(data.data, 0, data.len);
	buf_finish(&auth);
	buf_finish(&data);
	return rc;
}

#define EG_SET "/config-dns/v2/zones/{zone}/names/{fqdn}/types/TXT"
#define EG_BODY "{\"name\":{fqdn},\"type\":\"TXT\",\"ttl\":{ttl},\"rdata\":[{items}]}"

static const struct dns_rest_desc desc = {
	.name = "edgedns", .title = "Akamai Edge DNS", .base = "https://akab.luna.akamaiapis.net",
	.opts = opts, .n_opts = sizeof(opts) / sizeof(opts[0]), .ttl_min = 30,
	.prepare = prepare, .check = check, .sign = sign,
	.auth_hint = "the API client's credentials (AKAMAI_HOST, AKAMAI_CLIENT_TOKEN, AKAMAI_CLIENT_SECRET, "
		     "AKAMAI_ACCESS_TOKEN) must be valid and granted READ-WRITE on the Edge DNS API",
	.list = { "GET", EG_SET, NULL },
	.create_new = { "POST", EG_SET, EG_BODY },
	.create = { "PUT", EG_SET, EG_BODY },
	.del = { "PUT", EG_SET, EG_BODY },
	.del_empty = { "DELETE", EG_SET, NULL },
	.set_item = "{qvalue}",
	.records_array = "rdata",
	.err_paths = { "detail", "title" },
};

static int edgedns_check(const struct dns_options *o, struct gpc_error *err)
{
	return dns_rest_check(&desc, o, err);
}

static int edgedns_create(const struct dns_options *o, void **s, struct gpc_error *err)
{
	return dns_rest_create(&desc, o, s, err);
}

const struct dns_provider_ops dns_edgedns = {
	.name = "edgedns",
	.aliases = { NULL },
	.title = "Akamai Edge DNS (Config DNS v2, EdgeGrid-signed requests)",
	.needs = "an API client's EdgeGrid credentials with READ-WRITE on the Edge DNS API",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = true,
	.check = edgedns_check,
	.create = edgedns_create,
	.present = dns_rest_present,
	.cleanup = dns_rest_cleanup,
	.destroy = dns_rest_destroy,
};

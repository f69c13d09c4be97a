/* oraclecloud: OCI DNS (dns.REGION.oraclecloud.com/20180115) on the REST
 * engine: a name's TXT records read by GET .../zones/ZONE/records/NAME,
 * changed by PATCH with an ADD, or a REMOVE by the record's hash. Every
 * request carries an HTTP signature (draft-cavage, version 1) made with
 * the API key (RSA-SHA256 through GnuTLS) over "(request-target)", date
 * and host, and for a body also x-content-sha256, content-type and
 * content-length; keyId is TENANCY/USER/FINGERPRINT. */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "b64.h"

#define S DNS_OPT_SECRET
#define R DNS_OPT_REQUIRED

static const struct dns_opt_desc opts[] = {
	{ "private_key", "OCI_PRIVKEY", "OCI_PRIVATE_KEY", R | S, NULL,
	  "the API signing key, PEM (OCI_PRIVKEY_FILE: a file holding it)" },
	{ "private_key_pass", "OCI_PRIVKEY_PASS", "OCI_PRIVATE_KEY_PASSWORD", S, NULL,
	  "the key's passphrase, if it has one" },
	{ "tenancy_ocid", "OCI_TENANCY_OCID", NULL, R, NULL, "the tenancy's OCID" },
	{ "user_ocid", "OCI_USER_OCID", NULL, R, NULL, "the OCID of the user the key belongs to" },
	{ "pubkey_fingerprint", "OCI_PUBKEY_FINGERPRINT", "OCI_FINGERPRINT", R, NULL,
	  "the API key's fingerprint (aa:bb:...)" },
	{ "region", "OCI_REGION", NULL, R, NULL, "the region (us-ashburn-1, eu-frankfurt-1, ...)" },
	{ "compartment_id", "OCI_COMPARTMENT_OCID", NULL, R, NULL, "the OCID of the zone's compartment" },
	{ "ttl", "OCI_TTL", NULL, 0, "120", "the TXT record's TTL in seconds" },
	{ "base_url", "OCI_BASE_URL", NULL, 0, NULL, "the API's base URL (unset: https://dns.REGION.oraclecloud.com/20180115)" },
};

static int load_key(const struct dns_options *o, gnutls_privkey_t *key)
{
	const char *pem = dns_options_get(o, "private_key"), *pass = dns_options_get(o, "private_key_pass");
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem, pem ? (unsigned)strlen(pem) : 0 };

	if (pem == NULL || gnutls_privkey_init(key) < 0)
		return -1;
	if (gnutls_privkey_import_x509_raw(*key, &d, GNUTLS_X509_FMT_PEM, pass && *pass ? pass : NULL, 0) < 0) {
		gnutls_privkey_deinit(*key);
		return -1;
	}
	return 0;
}

static int check(const struct dns_options *o, struct gpc_error *err)
{
	gnutls_privkey_t key;

	if (load_key(o, &key) != 0) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider oraclecloud: option private_key (OCI_PRIVKEY) is not a "
			      "PEM private key (or private_key_pass, OCI_PRIVKEY_PASS, does not open it)");
		return gpc_error_hint(err, "give the API signing key's PEM file as OCI_PRIVKEY_FILE, and its "
					   "passphrase as OCI_PRIVKEY_PASS if it has one");
	}
	if (gnutls_privkey_get_pk_algorithm(key, NULL) != GNUTLS_PK_RSA) {
		gnutls_privkey_deinit(key);
		gpc_error_set(err, GPC_E_USAGE, "dns provider oraclecloud: option private_key (OCI_PRIVKEY) is not "
			      "an RSA key");
		return gpc_error_hint(err, "OCI API signing keys are RSA keys (2048 bits or more)");
	}
	gnutls_privkey_deinit(key);
	return 0;
}

/* base_url from the region unless given. */
static int prepare(struct dns_options *o)
{
	const char *u = dns_options_get(o, "base_url");
	char b[400];

	if (u != NULL && *u != '\0')
		return 0;
	snprintf(b, sizeof(b), "https://dns.%s.oraclecloud.com/20180115", dns_options_get(o, "region"));
	return dns_options_set(o, "base_url", b, false);
}

static int sign(const struct dns_options *o, const char *method, const char *url, const char *body, struct buf *h)
{
	const char *rest = strstr(url, "://"), *path;
	bool with_body = *body != '\0';
	char date[64], lm[16], *sig64 = NULL, *bhash = NULL;
	unsigned char dig[32];
	gnutls_privkey_t key = NULL;
	gnutls_datum_t sig = { NULL, 0 };
	struct buf in;
	struct tm tm;
	time_t now = time(NULL);
	int rc = -1;

	if (rest == NULL || load_key(o, &key) != 0)
		return -1;
	rest += 3;
	path = strchr(rest, '/');
	if (path == NULL)
		path = "/";
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(lm, sizeof(lm), "%s", method);
	for (char *p = lm; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	buf_init(&in, 1u << 20);
	if (buf_printf(&in, "date: %s\n(request-target): %s %s\nhost: %.*s", date, lm, path, (int)(path - rest),
		       rest) != 0)
		goto out;
	if (with_body) {
		if (gnutls_hash_fast(GNUTLS_DIG_SHA256, body, strlen(body), dig) < 0 ||
		    (bhash = b64std_encode(dig, sizeof(dig))) == NULL ||
		    buf_printf(&in, "\nx-content-sha256: %s\ncontent-type: application/json\ncontent-length: %zu", bhash,
			       strlen(body)) != 0)
			goto out;
	}
	gnutls_datum_t data = { (unsigned char *)in.data, (unsigned)in.len };
	if (gnutls_privkey_sign_data(key, GNUTLS_DIG_SHA256, 0, &data, &sig) < 0 ||
	    (sig64 = b64std_encode(sig.data, sig.size)) == NULL)
		goto out;
	if (buf_printf(&h[0], "Date: %s", date) != 0 ||
	    buf_printf(&h[1], "Authorization: Signature version=\"1\",keyId=\"%s/%s/%s\",algorithm=\"rsa-sha256\","
			      "headers=\"date (request-target) host%s\",signature=\"%s\"",
		       dns_options_get(o, "tenancy_ocid"), dns_options_get(o, "user_ocid"),
		       dns_options_get(o, "pubkey_fingerprint"),
		       with_body ? " x-content-sha256 content-type content-length" : "", sig64) != 0)
		goto out;
	if (with_body && (buf_printf(&h[2], "x-content-sha256: %s", bhash) != 0 ||
			  buf_printf(&h[3], "Content-Type: application/json") != 0))
		goto out;
	rc = 0;
out:
	gnutls_free(sig.data);
	free(sig64);
	free(bhash);
	if (in.data)
		memset(in.data, 0, in.len);
	buf_finish(&in);
	gnutls_privkey_deinit(key);
	return rc;
}

#define OCI_RECS "/zones/{zone}/records/{fqdn}"
#define OCI_COMP "compartmentId={opt:compartment_id}"

static const struct dns_rest_desc desc = {
	.name = "oraclecloud", .title = "OCI DNS", .base = "https://dns.us-ashburn-1.oraclecloud.com/20180115",
	.opts = opts, .n_opts = sizeof(opts) / sizeof(opts[0]), .ttl_min = 1,
	.prepare = prepare, .check = check, .sign = sign,
	.auth_hint = "OCI_TENANCY_OCID, OCI_USER_OCID, OCI_PUBKEY_FINGERPRINT and the key (OCI_PRIVKEY_FILE) must be "
		     "an API key of a user allowed to manage dns in the compartment OCI_COMPARTMENT_OCID",
	.list = { "GET", OCI_RECS "?rtype=TXT&" OCI_COMP, NULL },
	.records_array = "items", .rec_id = "recordHash", .rec_name = "domain", .rec_type = "rtype",
	.rec_value = "rdata",
	.create = { "PATCH", OCI_RECS "?" OCI_COMP,
		    "{\"items\":[{\"domain\":{fqdn},\"rdata\":{value},\"rtype\":\"TXT\",\"ttl\":{ttl},"
		    "\"isProtected\":false}]}" },
	.del = { "PATCH", OCI_RECS "?" OCI_COMP, "{\"items\":[{\"recordHash\":{id},\"operation\":\"REMOVE\"}]}" },
	.err_paths = { "message" },
};

static int oci_check(const struct dns_options *o, struct gpc_error *err)
{
	return dns_rest_check(&desc, o, err);
}

static int oci_create(const struct dns_options *o, void **s, struct gpc_error *err)
{
	return dns_rest_create(&desc, o, s, err);
}

const struct dns_provider_ops dns_oraclecloud = {
	.name = "oraclecloud",
	.aliases = { NULL },
	.title = "Oracle Cloud Infrastructure DNS (signed requests)",
	.needs = "an API key of a user allowed to manage dns in the zone's compartment",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = true,
	.check = oci_check,
	.create = oci_create,
	.present = dns_rest_present,
	.cleanup = dns_rest_cleanup,
	.destroy = dns_rest_destroy,
};

/* httpreq: lego's generic HTTP provider. POST ENDPOINT/present and
 * ENDPOINT/cleanup with {"fqdn": "_acme-challenge.NAME.", "value": "..."},
 * HTTP basic authentication when a username and password are given; any
 * 2xx answer is success. lego's RAW mode ({"domain", "token", "keyAuth"})
 * needs the key authorization, which a cleanup after a killed run no
 * longer has: it is refused before any request. */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "log.h"

static const struct dns_opt_desc opts[] = {
	{ "endpoint", "HTTPREQ_ENDPOINT", NULL, DNS_OPT_REQUIRED, NULL,
	  "the URL under which /present and /cleanup answer" },
	{ "mode", "HTTPREQ_MODE", NULL, 0, "", "lego's mode: empty (fqdn and value); RAW is not supported" },
	{ "username", "HTTPREQ_USERNAME", NULL, 0, NULL, "the basic authentication user (optional)" },
	{ "password", "HTTPREQ_PASSWORD", NULL, DNS_OPT_SECRET, NULL, "the basic authentication password" },
};

struct hr {
	char *base;
	char *auth; /* "Authorization: Basic ..." or NULL */
};

static int check(const struct dns_options *o, struct gpc_error *err)
{
	const char *m = dns_options_get(o, "mode"), *u = dns_options_get(o, "username"),
		   *p = dns_options_get(o, "password");

	if (dns_opt_url("httpreq", "endpoint", "HTTPREQ_ENDPOINT", dns_options_get(o, "endpoint"),
			"give the URL of the service, e.g. https://dns-api.example.org/acme", err) != 0)
		return -1;
	if (m != NULL && *m != '\0') {
		gpc_error_set(err, GPC_E_USAGE, "dns provider httpreq: option mode (HTTPREQ_MODE) '%s' is not "
			      "supported", m);
		return gpc_error_hint(err, "leave it unset: the service then gets {\"fqdn\", \"value\"} (lego's "
					   "default mode); RAW mode needs the key authorization, which a later "
					   "cleanup no longer has");
	}
	if ((u != NULL && *u) != (p != NULL && *p)) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider httpreq: username (HTTPREQ_USERNAME) and password "
			      "(HTTPREQ_PASSWORD) go together");
		return gpc_error_hint(err, "give both for basic authentication, or neither");
	}
	return 0;
}

static void destroy(void *state)
{
	struct hr *h = state;

	if (h == NULL)
		return;
	free(h->base);
	dns_secret_free(h->auth);
	free(h);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int base64(struct buf *b, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		char q[4] = { b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=',
			      i + 2 < n ? b64[v & 63] : '=' };
		if (buf_add(b, q, 4) != 0)
			return -1;
	}
	return 0;
}

static int create(const struct dns_options *o, void **state, struct gpc_error *err)
{
	struct hr *h = calloc(1, sizeof(*h));
	const char *u = dns_options_get(o, "username"), *p = dns_options_get(o, "password");
	struct buf up, b;
	int bad = 0;

	if (h == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	h->base = dns_url_base(dns_options_get(o, "endpoint"));
	bad = h->base == NULL;
	if (!bad && u != NULL && *u) {
		buf_init(&up, 4096);
		buf_init(&b, 8192);
		bad = buf_printf(&up, "%s:%s", u, p) != 0 || buf_adds(&b, "Authorization: Basic ") != 0 ||
		      base64(&b, (const unsigned char *)up.data, up.len) != 0 || (h->auth = buf_take(&b, NULL)) == NULL;
		if (up.data)
			memset(up.data, 0, up.len);
		buf_finish(&up);
		buf_finish(&b);
	}
	if (bad) {
		destroy(h);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	*state = h;
	return 0;
}

static int post(struct hr *h, const char *what, const struct dns_record *rec, struct gpc_error *err)
{
	const char *hdr[] = { h->auth, NULL };
	struct json_object *body = json_object_new_object();
	struct dnshttp_resp r = { 0 };
	char url[2048], label[512], fqdn[300], msg[300] = "";
	int rc = -1;

	/* lego sends the name absolute, with its dot */
	snprintf(fqdn, sizeof(fqdn), "%s%s", rec->fqdn, rec->fqdn[0] && rec->fqdn[strlen(rec->fqdn) - 1] == '.' ? "" : ".");
	json_object_object_add(body, "fqdn", json_object_new_string(fqdn));
	json_object_object_add(body, "value", json_object_new_string(rec->value));
	snprintf(url, sizeof(url), "%s/%s", h->base, what);
	if (dnshttp_request("httpreq", "POST", url, hdr,
			    json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			    &r, err) != 0)
		goto out;
	if (r.status >= 200 && r.status < 300) {
		gpc_debug("httpreq: %s TXT %s at %s", what, rec->value, fqdn);
		rc = 0;
		goto out;
	}
	if (r.body.data && r.body.len)
		snprintf(msg, sizeof(msg), ": %.*s", (int)strcspn(r.body.data, "\r\n"), r.body.data);
	gpc_error_set(err, r.status == 401 || r.status == 403 ? GPC_E_PERMISSION : GPC_E_INVALID,
		      "httpreq: %s: %s answered HTTP %ld%s", what, dnshttp_url_label(url, label, sizeof(label)),
		      r.status, msg);
	if (r.status == 401 || r.status == 403)
		gpc_error_hint(err, "HTTPREQ_USERNAME and HTTPREQ_PASSWORD must be what the service at "
				    "HTTPREQ_ENDPOINT accepts");
	else
		gpc_error_hint(err, "the service at HTTPREQ_ENDPOINT must answer POST /present and /cleanup "
				    "with a 2xx status");
out:
	json_object_put(body);
	dnshttp_resp_finish(&r);
	return rc;
}

static int present(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	return post(state, "present", rec, err);
}

static int cleanup(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	return post(state, "cleanup", rec, err);
}

const struct dns_provider_ops dns_httpreq = {
	.name = "httpreq",
	.aliases = { NULL },
	.title = "lego's generic HTTP request provider",
	.needs = "a service of your own answering POST /present and /cleanup",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = false,
	.check = check,
	.create = create,
	.present = present,
	.cleanup = cleanup,
	.destroy = destroy,
};

/* oauth: an OAuth2 access token from a token endpoint (RFC 6749 §4.4
 * client credentials for Azure, RFC 7523 JWT bearer for Google Cloud),
 * for the providers whose API takes a Bearer token. */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

static const char *jget(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int dns_oauth_token(const char *prov, const char *url, const char *form, const char *auth_hint, char **token,
		    struct gpc_error *err)
{
	static const char *const hdr[] = { "Content-Type: application/x-www-form-urlencoded",
					   "Accept: application/json", NULL };
	struct dnshttp_resp r = { 0 };
	struct json_object *o = NULL;
	const char *t, *d;
	char label[512], msg[400] = "";
	int rc = -1;

	*token = NULL;
	if (dnshttp_request(prov, "POST", url, hdr, form, &r, err) != 0)
		goto out;
	o = r.body.data && r.body.len ? json_tokener_parse(r.body.data) : NULL;
	t = jget(o, "access_token");
	if (r.status >= 200 && r.status < 300 && t != NULL && *t) {
		*token = strdup(t);
		rc = *token ? 0 : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	/* RFC 6749 §5.2: "error" and "error_description" */
	d = jget(o, "error_description");
	if (d == NULL || *d == '\0')
		d = jget(o, "error");
	if (d != NULL && *d)
		snprintf(msg, sizeof(msg), ": %.*s", (int)strcspn(d, "\r\n"), d); /* Azure adds trace lines */
	else if (r.status >= 200 && r.status < 300)
		snprintf(msg, sizeof(msg), ": no access_token in the answer");
	dnshttp_url_label(url, label, sizeof(label));
	gpc_error_set(err, r.status == 400 || r.status == 401 || r.status == 403 ? GPC_E_PERMISSION : GPC_E_INVALID,
		      "%s: get an access token: %s answered HTTP %ld%s", prov, label, r.status, msg);
	gpc_error_hint(err, "%s", auth_hint);
out:
	json_object_put(o);
	if (r.body.data)
		memset(r.body.data, 0, r.body.len);
	dnshttp_resp_finish(&r);
	return rc;
}

int dns_oauth_client_form(struct buf *form, const char *id, const char *secret)
{
	return buf_adds(form, "grant_type=client_credentials&client_id=") || dnshttp_escape(form, id) ||
			       buf_adds(form, "&client_secret=") || dnshttp_escape(form, secret) ||
			       buf_adds(form, "&scope=")
		       ? -1
		       : 0;
}

int dns_oauth_rest_create(const struct dns_rest_desc *d, const char *prov, const char *url, const char *form,
			  const char *auth_hint, struct dns_options *c, void **state, struct gpc_error *err)
{
	char *tok = NULL;
	int rc = -1;

	if (dns_oauth_token(prov, url, form, auth_hint, &tok, err) != 0)
		return -1;
	if (dns_options_set(c, "access_token", tok, true) != 0)
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	else
		rc = dns_rest_create(d, c, state, err);
	dns_secret_free(tok);
	return rc;
}

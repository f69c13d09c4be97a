/* inwx: the INWX domrobot JSON-RPC API. A change is a session: account.login
 * (user, pass) sets a cookie; with two-factor authentication on, account.unlock
 * takes the current TOTP code (RFC 6238, from the shared secret);
 * nameserver.info lists the name's TXT records, nameserver.createRecord
 * adds one, nameserver.deleteRecord removes one by id; account.logout.
 * Every answer is HTTP 200 with "code" (1000-1999 success) and "msg". */
#include "dns_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>

#include "log.h"

#define INWX_BASE "https://api.domrobot.com/jsonrpc/"
#define INWX_SANDBOX "https://api.ote.domrobot.com/jsonrpc/"

static const struct dns_opt_desc opts[] = {
	{ "username", "INWX_USERNAME", NULL, DNS_OPT_REQUIRED, NULL, "the account's user name" },
	{ "password", "INWX_PASSWORD", NULL, DNS_OPT_REQUIRED | DNS_OPT_SECRET, NULL, "its password" },
	{ "shared_secret", "INWX_SHARED_SECRET", NULL, DNS_OPT_SECRET, NULL,
	  "the two-factor authentication secret (base32), when it is on" },
	{ "sandbox", "INWX_SANDBOX", NULL, 0, "false", "true: the OTE test system" },
	{ "base_url", "INWX_BASE_URL", NULL, 0, "", "the API's URL (default by sandbox)" },
	{ "ttl", "INWX_TTL", NULL, 0, "300", "the TXT record's TTL in seconds (at least 300)" },
};

struct inwx {
	struct dns_options o;
	char *base;
	char *cookie; /* "Cookie: domrobot=..." during a session */
	unsigned ttl;
};

static bool truthy(const char *s)
{
	return s && (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcasecmp(s, "yes") == 0);
}

/* RFC 4648 base32 (the TOTP secret) into out; returns its length or -1. */
static int base32(const char *s, unsigned char *out, size_t outsz)
{
	unsigned bits = 0, acc = 0;
	size_t n = 0;

	for (; *s; s++) {
		int v;
		if (*s == '=' || *s == ' ')
			continue;
		if (*s >= 'A' && *s <= 'Z')
			v = *s - 'A';
		else if (*s >= 'a' && *s <= 'z')
			v = *s - 'a';
		else if (*s >= '2' && *s <= '7')
			v = *s - '2' + 26;
		else
			return -1;
		acc = acc << 5 | (unsigned)v;
		bits += 5;
		if (bits >= 8) {
			if (n >= outsz)
				return -1;
			out[n++] = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return (int)n;
}

static int check(const struct dns_options *o, struct gpc_error *err)
{
	const char *b = dns_options_get(o, "base_url"), *s = dns_options_get(o, "shared_secret"),
		   *t = dns_options_get(o, "ttl");
	unsigned char k[128];
	char *end;

	if (b && *b && dns_opt_url("inwx", "base_url", "INWX_BASE_URL", b, "leave it unset (" INWX_BASE ")", err) != 0)
		return -1;
	if (s && *s && base32(s, k, sizeof(k)) <= 0) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider inwx: option shared_secret (INWX_SHARED_SECRET) is not "
			      "base32");
		return gpc_error_hint(err, "give the secret INWX showed when two-factor authentication was turned on");
	}
	unsigned long v = strtoul(t, &end, 10);
	if (*t == '\0' || *end != '\0' || v < 300 || v > 86400) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider inwx: option ttl (INWX_TTL) '%s' is not 300-86400 "
			      "seconds", t);
		return gpc_error_hint(err, "leave it unset (300)");
	}
	return 0;
}

static void destroy(void *state)
{
	struct inwx *x = state;

	if (x == NULL)
		return;
	dns_options_finish(&x->o);
	free(x->base);
	dns_secret_free(x->cookie);
	free(x);
}

static int create(const struct dns_options *o, void **state, struct gpc_error *err)
{
	struct inwx *x = calloc(1, sizeof(*x));
	const char *b = dns_options_get(o, "base_url");

	if (x == NULL || dns_options_copy(&x->o, o) != 0 ||
	    (x->base = strdup(b && *b ? b : truthy(dns_options_get(o, "sandbox")) ? INWX_SANDBOX : INWX_BASE)) == NULL) {
		destroy(x);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	x->ttl = (unsigned)strtoul(dns_options_get(o, "ttl"), NULL, 10);
	*state = x;
	return 0;
}

/* One method; params is taken. Returns 0 and resData (new reference, may
 * be NULL) in *data, or -1 with err naming the method, code and msg. */
static int rpc(struct inwx *x, const char *method, const char *what, struct json_object *params,
	       struct json_object **data, struct gpc_error *err)
{
	struct json_object *req = json_object_new_object(), *o = NULL, *c, *m, *d;
	struct dnshttp_resp r = { 0 };
	const char *hdr[] = { x->cookie, NULL };
	char label[512], msg[400] = "";
	int rc = -1;

	if (data)
		*data = NULL;
	json_object_object_add(req, "method", json_object_new_string(method));
	json_object_object_add(req, "params", params);
	const char *body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (dnshttp_request("inwx", "POST", x->base, hdr, body, &r, err) != 0)
		goto out;
	o = r.body.data ? json_tokener_parse(r.body.data) : NULL;
	int code = o && json_object_object_get_ex(o, "code", &c) ? json_object_get_int(c) : 0;
	if (r.status == 200 && code >= 1000 && code < 2000) {
		if (data && json_object_object_get_ex(o, "resData", &d))
			*data = json_object_get(d);
		if (r.cookie && strcmp(method, "account.login") == 0) {
			struct buf b;
			buf_init(&b, 8192);
			if (buf_printf(&b, "Cookie: %s", r.cookie) == 0) {
				dns_secret_free(x->cookie);
				x->cookie = buf_take(&b, NULL);
			}
			buf_finish(&b);
		}
		rc = 0;
		goto out;
	}
	if (o && json_object_object_get_ex(o, "msg", &m))
		snprintf(msg, sizeof(msg), ": %d %s", code, json_object_get_string(m));
	else if (o == NULL)
		snprintf(msg, sizeof(msg), ": not an INWX API answer");
	gpc_error_set(err, code == 2200 ? GPC_E_PERMISSION : GPC_E_INVALID, "inwx: %s: %s answered HTTP %ld%s", what,
		      dnshttp_url_label(x->base, label, sizeof(label)), r.status, msg);
	gpc_error_hint(err, "INWX_USERNAME and INWX_PASSWORD must be the account's (INWX_SHARED_SECRET too when "
			    "two-factor authentication is on), and the domain one of its domains");
out:
	if (body)
		memset((char *)body, 0, strlen(body)); /* the password (login) */
	json_object_put(req);
	json_object_put(o);
	dnshttp_resp_finish(&r);
	return rc;
}

/* RFC 6238 TOTP (30 s, 6 digits, HMAC-SHA1) of the shared secret now. */
static int totp(const char *secret, char out[7])
{
	unsigned char k[128], msg[8], mac[20];
	int kl = base32(secret, k, sizeof(k));
	uint64_t t = (uint64_t)time(NULL) / 30;

	if (kl <= 0)
		return -1;
	for (int i = 7; i >= 0; i--, t >>= 8)
		msg[i] = (unsigned char)(t & 0xff);
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA1, k, (size_t)kl, msg, sizeof(msg), mac) < 0)
		return -1;
	unsigned off = mac[19] & 0x0f;
	uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | (uint32_t)mac[off + 1] << 16 | (uint32_t)mac[off + 2] << 8 |
		       mac[off + 3];
	snprintf(out, 7, "%06u", (unsigned)(bin % 1000000));
	memset(k, 0, sizeof(k));
	return 0;
}

static int login(struct inwx *x, struct gpc_error *err)
{
	struct json_object *p = json_object_new_object(), *data = NULL, *tfa;
	const char *secret = dns_options_get(&x->o, "shared_secret");
	int rc;

	json_object_object_add(p, "user", json_object_new_string(dns_options_get(&x->o, "username")));
	json_object_object_add(p, "pass", json_object_new_string(dns_options_get(&x->o, "password")));
	if (rpc(x, "account.login", "log in", p, &data, err) != 0)
		return -1;
	const char *t = data && json_object_object_get_ex(data, "tfa", &tfa) ? json_object_get_string(tfa) : "0";
	bool need = strcmp(t, "0") != 0 && *t != '\0';
	json_object_put(data);
	if (!need)
		return 0;
	char code[7];
	if (secret == NULL || *secret == '\0' || totp(secret, code) != 0) {
		gpc_error_set(err, GPC_E_USAGE, "inwx: the account has two-factor authentication on and "
			      "shared_secret (INWX_SHARED_SECRET) is not set");
		return gpc_error_hint(err, "give the base32 secret INWX showed when two-factor authentication "
					   "was turned on");
	}
	p = json_object_new_object();
	json_object_object_add(p, "tan", json_object_new_string(code));
	rc = rpc(x, "account.unlock", "unlock the session (two-factor code)", p, NULL, err);
	return rc;
}

static void logout(struct inwx *x)
{
	struct gpc_error e;

	gpc_error_clear(&e);
	if (x->cookie && rpc(x, "account.logout", "log out", json_object_new_object(), NULL, &e) != 0)
		gpc_debug("inwx: logout: %s", e.message);
	dns_secret_free(x->cookie);
	x->cookie = NULL;
}

static void no_dot(const char *s, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", s);
	size_t n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
}

static int change(struct inwx *x, const struct dns_record *rec, bool add, struct gpc_error *err)
{
	struct json_object *p, *data = NULL, *recs;
	char zone[300], fqdn[300];
	int rc = -1, found = 0;

	no_dot(rec->zone, zone, sizeof(zone));
	no_dot(rec->fqdn, fqdn, sizeof(fqdn));
	if (login(x, err) != 0)
		goto out;
	p = json_object_new_object();
	json_object_object_add(p, "domain", json_object_new_string(zone));
	json_object_object_add(p, "name", json_object_new_string(fqdn));
	json_object_object_add(p, "type", json_object_new_string("TXT"));
	if (rpc(x, "nameserver.info", "list the TXT records", p, &data, err) != 0)
		goto out;
	for (size_t i = 0; data && json_object_object_get_ex(data, "record", &recs) &&
			   json_object_is_type(recs, json_type_array) && i < json_object_array_length(recs);
	     i++) {
		struct json_object *e = json_object_array_get_idx(recs, i), *c, *id, *t;
		if (!json_object_object_get_ex(e, "content", &c) || !json_object_object_get_ex(e, "id", &id) ||
		    (json_object_object_get_ex(e, "type", &t) && strcasecmp(json_object_get_string(t), "TXT") != 0) ||
		    strcmp(json_object_get_string(c), rec->value) != 0)
			continue;
		found++;
		if (!add) {
			p = json_object_new_object();
			json_object_object_add(p, "id", json_object_get(id));
			if (rpc(x, "nameserver.deleteRecord", "delete the TXT record", p, NULL, err) != 0)
				goto out;
		}
	}
	if (add && found == 0) {
		p = json_object_new_object();
		json_object_object_add(p, "domain", json_object_new_string(zone));
		json_object_object_add(p, "name", json_object_new_string(fqdn));
		json_object_object_add(p, "type", json_object_new_string("TXT"));
		json_object_object_add(p, "content", json_object_new_string(rec->value));
		json_object_object_add(p, "ttl", json_object_new_int((int)x->ttl));
		if (rpc(x, "nameserver.createRecord", "create the TXT record", p, NULL, err) != 0)
			goto out;
	}
	gpc_debug("inwx: %s TXT %s at %s", add ? "added" : "removed", rec->value, rec->fqdn);
	rc = 0;
out:
	json_object_put(data);
	logout(x);
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

const struct dns_provider_ops dns_inwx = {
	.name = "inwx",
	.aliases = { NULL },
	.title = "INWX domrobot JSON-RPC API",
	.needs = "the account's user name and password (and its two-factor secret)",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = true,
	.check = check,
	.create = create,
	.present = present,
	.cleanup = cleanup,
	.destroy = destroy,
};

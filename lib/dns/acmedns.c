/* acmedns: acme-dns (joohoi/acme-dns), a small DNS server that holds only
 * dns-01 records. Each domain gets an account (/register) once; the user
 * points _acme-challenge.DOMAIN at the account's full domain with a CNAME;
 * every /update sets a value, and the server keeps the last two, enough for
 * a wildcard and its apex. The accounts are kept in a JSON file
 * (ACME_DNS_STORAGE_PATH, lego's format), mode 0600. */
#include "dns_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "fsutil.h"
#include "jsonutil.h"
#include "log.h"

#define ACMEDNS_MAX_STORAGE (1024 * 1024)

static const struct dns_opt_desc opts[] = {
	{ "api_base", "ACME_DNS_API_BASE", NULL, DNS_OPT_REQUIRED, NULL,
	  "the acme-dns server's URL, e.g. https://auth.example.org" },
	{ "storage_path", "ACME_DNS_STORAGE_PATH", NULL, DNS_OPT_REQUIRED, NULL,
	  "a JSON file keeping the accounts (created 0600)" },
	{ "allow_from", "ACME_DNS_ALLOW_FROM", NULL, 0, NULL,
	  "CIDR ranges allowed to update, comma-separated, for new accounts" },
};

struct acmedns {
	char *base, *storage, *allow;
};

static int check(const struct dns_options *o, struct gpc_error *err)
{
	return dns_opt_url("acmedns", "api_base", "ACME_DNS_API_BASE", dns_options_get(o, "api_base"),
			   "give the acme-dns server's URL, e.g. https://auth.acme-dns.io", err);
}

static void destroy(void *state)
{
	struct acmedns *a = state;

	if (a == NULL)
		return;
	free(a->base);
	free(a->storage);
	free(a->allow);
	free(a);
}

static int create(const struct dns_options *o, void **state, struct gpc_error *err)
{
	struct acmedns *a = calloc(1, sizeof(*a));
	const char *al = dns_options_get(o, "allow_from");

	if (a == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	a->base = dns_url_base(dns_options_get(o, "api_base"));
	a->storage = strdup(dns_options_get(o, "storage_path"));
	a->allow = al ? strdup(al) : NULL;
	if (a->base == NULL || a->storage == NULL || (al && a->allow == NULL)) {
		destroy(a);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	*state = a;
	return 0;
}

/* The storage file as an object ({} when it does not exist yet). */
static struct json_object *load(struct acmedns *a, struct gpc_error *err)
{
	struct buf b;
	struct json_object *o;

	buf_init(&b, ACMEDNS_MAX_STORAGE);
	if (fs_read_file(a->storage, ACMEDNS_MAX_STORAGE, &b, err) != 0) {
		buf_finish(&b);
		if (err->code != NULL && strcmp(err->code, GPC_E_MISSING) == 0) {
			gpc_error_clear(err);
			return json_object_new_object();
		}
		return NULL;
	}
	o = jsonutil_parse_object(b.data);
	buf_finish(&b);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		gpc_error_set(err, GPC_E_INVALID, "acmedns: %s is not a JSON object of accounts", a->storage);
		gpc_error_hint(err, "it holds the acme-dns accounts (ACME_DNS_STORAGE_PATH); move it away and "
				    "register again (the CNAME records then change)");
		return NULL;
	}
	return o;
}

static const char *field(struct json_object *acct, const char *k)
{
	struct json_object *v;

	if (acct == NULL || !json_object_object_get_ex(acct, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *account(struct json_object *store, const char *domain)
{
	struct json_object *acct;

	if (!json_object_object_get_ex(store, domain, &acct) || !json_object_is_type(acct, json_type_object) ||
	    !field(acct, "username") || !field(acct, "password") || !field(acct, "subdomain") ||
	    !field(acct, "fulldomain"))
		return NULL;
	return acct;
}

static const char *api_error_text(const struct dnshttp_resp *r, char *out, size_t outsz)
{
	struct json_object *o = jsonutil_parse_object(r->body.data ? r->body.data : ""), *e;

	out[0] = '\0';
	if (o != NULL && json_object_object_get_ex(o, "error", &e))
		snprintf(out, outsz, ": %s", json_object_get_string(e));
	json_object_put(o);
	return out;
}

/* POST /register; the new account is stored before it is used. */
static struct json_object *do_register(struct acmedns *a, struct json_object *store, const char *domain,
				       struct gpc_error *err)
{
	struct buf url, body;
	struct dnshttp_resp r = { 0 };
	struct json_object *acct = NULL, *res = NULL;
	char msg[300];

	buf_init(&url, 4096);
	buf_init(&body, 4096);
	if (buf_printf(&url, "%s/register", a->base) != 0)
		goto nomem;
	if (a->allow != NULL && *a->allow) {
		struct json_object *b = json_object_new_object(), *l = json_object_new_array();
		char *copy = strdup(a->allow), *save = NULL;
		for (char *t = copy ? strtok_r(copy, ", ", &save) : NULL; t; t = strtok_r(NULL, ", ", &save))
			json_object_array_add(l, json_object_new_string(t));
		free(copy);
		json_object_object_add(b, "allowfrom", l);
		if (buf_adds(&body, json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) != 0) {
			json_object_put(b);
			goto nomem;
		}
		json_object_put(b);
	}
	if (dnshttp_request("acmedns", "POST", url.data, NULL, body.len ? body.data : "{}", &r, err) != 0)
		goto out;
	if (r.status != 201 && r.status != 200) {
		gpc_error_set(err, GPC_E_INVALID, "acmedns: register at %s: HTTP %ld%s", url.data, r.status,
			      api_error_text(&r, msg, sizeof(msg)));
		gpc_error_hint(err, "ACME_DNS_API_BASE must be an acme-dns server that takes registrations");
		goto out;
	}
	res = jsonutil_parse_object(r.body.data);
	if (res == NULL || !field(res, "username") || !field(res, "password") || !field(res, "subdomain") ||
	    !field(res, "fulldomain")) {
		gpc_error_set(err, GPC_E_INVALID, "acmedns: register at %s: the answer is not an account", url.data);
		goto out;
	}
	json_object_object_add(res, "server_url", json_object_new_string(a->base));
	json_object_object_add(store, domain, json_object_get(res));
	const char *txt = json_object_to_json_string_ext(store, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (fs_write_atomic(a->storage, txt, strlen(txt), 0600, err) != 0)
		goto out;
	acct = res;
	res = NULL;
	goto out;
nomem:
	gpc_error_set(err, GPC_E_NOMEM, "out of memory");
out:
	json_object_put(res);
	dnshttp_resp_finish(&r);
	buf_finish(&url);
	buf_finish(&body);
	return acct;
}

static void absolute(const char *name, char *out, size_t outsz)
{
	dnsq_absolute(name, out, outsz);
}

/* Accounts are per domain: a wildcard shares its apex's (one CNAME). */
static const char *base_domain(const char *d)
{
	return (d[0] == '*' && d[1] == '.') ? d + 2 : d;
}

static int present(void *state, const struct dns_record *in, struct gpc_error *err)
{
	struct acmedns *a = state;
	struct dns_record rr = *in, *rec = &rr;
	struct json_object *store = load(a, err), *acct, *reg = NULL, *body = NULL;
	struct buf url, u, k;
	struct dnshttp_resp r = { 0 };
	char full[300], msg[300];
	int rc = -1;

	rr.domain = base_domain(rr.domain);
	buf_init(&url, 4096);
	buf_init(&u, 1024);
	buf_init(&k, 1024);
	if (store == NULL)
		goto out;
	acct = account(store, rec->domain);
	if (acct == NULL) {
		acct = reg = do_register(a, store, rec->domain, err);
		if (acct == NULL)
			goto out;
		gpc_note("acmedns: registered an account for %s at %s (kept in %s)", rec->domain, a->base,
			 a->storage);
	}
	absolute(field(acct, "fulldomain"), full, sizeof(full));
	/* the CA follows _acme-challenge.DOMAIN; without the CNAME it finds nothing */
	if (strcasecmp(rec->fqdn, full) != 0) {
		gpc_error_set(err, GPC_E_INVALID, "acmedns: _acme-challenge.%s. must be a CNAME for %s "
			      "(the resolvers find %s)", rec->domain, full, rec->fqdn);
		gpc_error_hint(err, "create the record '_acme-challenge.%s. CNAME %s' in the zone of %s, then run "
				    "again (the account is kept in %s)", rec->domain, full, rec->domain, a->storage);
		goto out;
	}
	body = json_object_new_object();
	json_object_object_add(body, "subdomain", json_object_new_string(field(acct, "subdomain")));
	json_object_object_add(body, "txt", json_object_new_string(rec->value));
	if (buf_printf(&url, "%s/update", a->base) != 0 ||
	    buf_printf(&u, "X-Api-User: %s", field(acct, "username")) != 0 ||
	    buf_printf(&k, "X-Api-Key: %s", field(acct, "password")) != 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	const char *hdr[] = { u.data, k.data, NULL };
	if (dnshttp_request("acmedns", "POST", url.data, hdr, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			    &r, err) != 0)
		goto out;
	if (r.status != 200) {
		gpc_error_set(err, r.status == 401 ? GPC_E_PERMISSION : GPC_E_INVALID,
			      "acmedns: update of %s at %s: HTTP %ld%s", full, url.data, r.status,
			      api_error_text(&r, msg, sizeof(msg)));
		gpc_error_hint(err, r.status == 401 ? "the account in %s is not known to this acme-dns server (or "
				    "this address is not in its allowfrom)" : "see the acme-dns server's log (%s)",
			       a->storage);
		goto out;
	}
	gpc_debug("acmedns: set TXT %s at %s", rec->value, full);
	rc = 0;
out:
	if (k.data)
		memset(k.data, 0, k.len);
	buf_finish(&url);
	buf_finish(&u);
	buf_finish(&k);
	dnshttp_resp_finish(&r);
	json_object_put(body);
	json_object_put(reg);
	json_object_put(store);
	return rc;
}

/* acme-dns has no delete: it keeps the last two values of a name. */
static int cleanup(void *state, const struct dns_record *r, struct gpc_error *err)
{
	(void)state;
	(void)r;
	(void)err;
	return 0;
}

static char *target(void *state, const struct dns_record *in)
{
	struct acmedns *a = state;
	struct gpc_error e;
	struct json_object *store, *acct;
	char full[300], *t = NULL;
	struct dns_record r = *in, *rec = &r;

	r.domain = base_domain(r.domain);
	gpc_error_clear(&e);
	store = load(a, &e);
	if (store != NULL && (acct = account(store, rec->domain)) != NULL) {
		absolute(field(acct, "fulldomain"), full, sizeof(full));
		t = strdup(full);
	}
	json_object_put(store);
	return t;
}

const struct dns_provider_ops dns_acmedns = {
	.name = "acmedns",
	.aliases = { "acme-dns", NULL },
	.title = "acme-dns (a CNAME from _acme-challenge.NAME to the account's domain)",
	.needs = "nothing at first: the account is registered on first use; then a CNAME record",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = false,
	.check = check,
	.create = create,
	.present = present,
	.cleanup = cleanup,
	.target = target,
	.destroy = destroy,
};

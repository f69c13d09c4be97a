/* duckdns: Duck DNS (www.duckdns.org/spec.jsp). One GET /update sets the
 * TXT value of a Duck DNS domain (NAME.duckdns.org, served at every name
 * under it, _acme-challenge.NAME.duckdns.org included); clear=true empties
 * it. The answer is the text "OK" or "KO".
 *
 * Duck DNS keeps ONE TXT value per domain: a wildcard and its apex (or two
 * names under one Duck DNS domain) cannot be served at once. lego solves
 * such authorizations one after the other, a minute apart; the issuer here
 * presents every value before it tells the CA, so the second value would
 * silently replace the first and cost a failed validation. Instead the
 * provider remembers the value it set per domain and refuses a second,
 * different one with an error that says what to do. */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#define DUCK_DEFAULT_BASE "https://www.duckdns.org"
#define DUCK_SUFFIX ".duckdns.org"
#define DUCK_MAX_DOMAINS 32

static const struct dns_opt_desc opts[] = {
	{ "token", "DUCKDNS_TOKEN", NULL, DNS_OPT_REQUIRED | DNS_OPT_SECRET, NULL,
	  "the account token shown at the top of the Duck DNS account page" },
	{ "base_url", "DUCKDNS_BASE_URL", NULL, 0, DUCK_DEFAULT_BASE, "the API's base URL" },
};

struct duck_set {
	char name[64];   /* the Duck DNS domain, "NAME" of NAME.duckdns.org */
	char value[128]; /* the TXT value this run set there */
};

struct duck {
	char *base, *token;
	struct duck_set set[DUCK_MAX_DOMAINS];
	size_t n;
};

static int check(const struct dns_options *o, struct gpc_error *err)
{
	return dns_opt_url("duckdns", "base_url", "DUCKDNS_BASE_URL", dns_options_get(o, "base_url"),
			   "leave it unset (" DUCK_DEFAULT_BASE ")", err);
}

static void destroy(void *state)
{
	struct duck *d = state;

	if (d == NULL)
		return;
	free(d->base);
	dns_secret_free(d->token);
	free(d);
}

static int create(const struct dns_options *o, void **state, struct gpc_error *err)
{
	struct duck *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	d->base = dns_url_base(dns_options_get(o, "base_url"));
	d->token = strdup(dns_options_get(o, "token"));
	if (d->base == NULL || d->token == NULL) {
		destroy(d);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	*state = d;
	return 0;
}

/* "_acme-challenge.www.NAME.duckdns.org." -> "NAME". Returns 0, or -1 (usage)
 * when fqdn is not under duckdns.org. */
static int duck_name(const char *fqdn, char *out, size_t outsz, struct gpc_error *err)
{
	char n[300];
	size_t len, sl = strlen(DUCK_SUFFIX);

	snprintf(n, sizeof(n), "%s", fqdn);
	len = strlen(n);
	if (len > 0 && n[len - 1] == '.')
		n[--len] = '\0';
	if (len <= sl || strcasecmp(n + len - sl, DUCK_SUFFIX) != 0) {
		gpc_error_set(err, GPC_E_USAGE, "duckdns: %s is not under duckdns.org", fqdn);
		return gpc_error_hint(err, "Duck DNS serves only NAME.duckdns.org; for a domain of your own, "
				      "CNAME _acme-challenge.DOMAIN to NAME.duckdns.org, or use its own provider");
	}
	n[len - sl] = '\0';
	const char *dot = strrchr(n, '.');
	snprintf(out, outsz, "%s", dot ? dot + 1 : n);
	return 0;
}

static struct duck_set *find_set(struct duck *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcasecmp(d->set[i].name, name) == 0)
			return &d->set[i];
	return NULL;
}

/* GET /update?domains=NAME&token=...&txt=VALUE[&clear=true]. */
static int update(struct duck *d, const char *name, const char *value, bool clear, struct gpc_error *err)
{
	struct buf b;
	struct dnshttp_resp r = { 0 };
	char label[512];
	int rc = -1;

	buf_init(&b, 4096);
	if (buf_printf(&b, "%s/update?domains=", d->base) != 0 || dnshttp_escape(&b, name) != 0 ||
	    buf_adds(&b, "&token=") != 0 || dnshttp_escape(&b, d->token) != 0 || buf_adds(&b, "&txt=") != 0 ||
	    dnshttp_escape(&b, value) != 0 || (clear && buf_adds(&b, "&clear=true") != 0)) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	if (dnshttp_request("duckdns", "GET", b.data, NULL, NULL, &r, err) != 0)
		goto out;
	dnshttp_url_label(b.data, label, sizeof(label));
	if (r.status == 200 && r.body.len >= 2 && strncmp(r.body.data, "OK", 2) == 0) {
		rc = 0;
		goto out;
	}
	if (r.status == 200 && r.body.len >= 2 && strncmp(r.body.data, "KO", 2) == 0) {
		gpc_error_set(err, GPC_E_PERMISSION, "duckdns: %s the TXT value of %s.duckdns.org: %s answered KO",
			      clear ? "clear" : "set", name, label);
		gpc_error_hint(err, "KO: DUCKDNS_TOKEN is not this account's token, or %s.duckdns.org is not one of "
				    "its domains (both are on the Duck DNS account page)", name);
		goto out;
	}
	gpc_error_set(err, GPC_E_INVALID, "duckdns: %s the TXT value of %s.duckdns.org: %s answered HTTP %ld%s%.*s",
		      clear ? "clear" : "set", name, label, r.status, r.body.len ? ": " : "",
		      r.body.len && !strchr(r.body.data, '<') ? (int)strcspn(r.body.data, "\r\n") : 0,
		      r.body.data ? r.body.data : "");
	gpc_error_hint(err, "the answer is not Duck DNS's OK or KO; check DUCKDNS_BASE_URL");
out:
	dnshttp_resp_finish(&r);
	if (b.data)
		memset(b.data, 0, b.len); /* the URL holds the token */
	buf_finish(&b);
	return rc;
}

static int present(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	struct duck *d = state;
	char name[64];
	struct duck_set *s;

	if (duck_name(rec->fqdn, name, sizeof(name), err) != 0)
		return -1;
	if (strlen(rec->value) >= sizeof(s->value))
		return gpc_error_set(err, GPC_E_INVALID, "duckdns: TXT value too long");
	s = find_set(d, name);
	if (s != NULL && strcmp(s->value, rec->value) == 0)
		return 0;
	if (s != NULL) {
		gpc_error_set(err, GPC_E_USAGE, "duckdns: %s.duckdns.org would need two TXT values at once (for %s "
			      "and another name of this certificate under it: a wildcard and its apex), and Duck "
			      "DNS keeps one value per domain", name, rec->domain);
		return gpc_error_hint(err, "issue %s.duckdns.org and *.%s.duckdns.org as two certificates (issue "
				      "-n NAME -D ... for each), or drop one of the names", name, name);
	}
	if (d->n >= DUCK_MAX_DOMAINS)
		return gpc_error_set(err, GPC_E_INVALID, "duckdns: more than %d Duck DNS domains at once",
				     DUCK_MAX_DOMAINS);
	if (update(d, name, rec->value, false, err) != 0)
		return -1;
	s = &d->set[d->n++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->value, sizeof(s->value), "%s", rec->value);
	gpc_debug("duckdns: set TXT %s at %s.duckdns.org", rec->value, name);
	return 0;
}

static int cleanup(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	struct duck *d = state;
	char name[64];
	struct duck_set *s;

	if (duck_name(rec->fqdn, name, sizeof(name), err) != 0)
		return -1;
	s = find_set(d, name);
	/* another value of this run is there now: it is not ours to clear */
	if (s != NULL && strcmp(s->value, rec->value) != 0)
		return 0;
	/* unknown here (a value left by a killed run): Duck DNS cannot be
	 * asked what it holds, and the TXT is only ever used for ACME */
	if (update(d, name, "", true, err) != 0)
		return -1;
	if (s != NULL)
		*s = d->set[--d->n];
	gpc_debug("duckdns: cleared the TXT value of %s.duckdns.org", name);
	return 0;
}

const struct dns_provider_ops dns_duckdns = {
	.name = "duckdns",
	.aliases = { NULL },
	.title = "Duck DNS",
	.needs = "the account token; the name must be NAME.duckdns.org (or CNAME _acme-challenge to it)",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = false,
	.check = check,
	.create = create,
	.present = present,
	.cleanup = cleanup,
	.destroy = destroy,
};

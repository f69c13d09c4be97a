/* persist: dns-persist-01 (see persist.h). */
#include "persist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "buf.h"
#include "dns.h"
#include "log.h"
#include "timeutil.h"

bool persist_lineage(const struct lineage *l)
{
	return l->challenge != NULL && strcmp(l->challenge, PERSIST_CHALLENGE) == 0;
}

char *persist_record_name(const char *ident)
{
	char *s = NULL;

	if (ident[0] == '*' && ident[1] == '.')
		ident += 2;
	if (asprintf(&s, "_validation-persist.%s.", ident) < 0)
		return NULL;
	return s;
}

char *persist_record_value(const char *issuer, const char *account_uri, bool wildcard, time_t until)
{
	char *s = NULL, u[40] = "";

	if (until != 0)
		snprintf(u, sizeof(u), "; persistUntil=%lld", (long long)until);
	if (asprintf(&s, "%s; accounturi=%s%s%s", issuer, account_uri, wildcard ? "; policy=wildcard" : "", u) < 0)
		return NULL;
	return s;
}

void persist_records_free(struct persist_record *r, size_t n)
{
	for (size_t i = 0; r != NULL && i < n; i++) {
		free(r[i].name);
		free(r[i].value);
	}
	free(r);
}

/* NAME next to *.NAME among names: the wildcard's record serves both. */
static bool persist_covered(const char *const *names, size_t n, const char *name)
{
	for (size_t k = 0; k < n; k++)
		if (strncmp(names[k], "*.", 2) == 0 && strcmp(names[k] + 2, name) == 0)
			return true;
	return false;
}

int persist_records(struct issue_env *env, const struct account_params *p, const char *const *names, size_t n,
		    bool wildcard, time_t until, struct persist_record **out, size_t *nout, struct gpc_error *err)
{
	struct account *a = NULL;
	struct persist_record *r = calloc(n ? n : 1, sizeof(*r));
	size_t k = 0;
	int rc = -1;

	*out = NULL;
	*nout = 0;
	if (r == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	if (account_open(env, p, true, &a, err) != 0)
		goto out;
	const char *issuer = acme_client_directory(account_client(a))->caa_identity;
	if (issuer == NULL) {
		gpc_error_set(err, GPC_E_CA, "%s: the directory names no issuer domain (meta.caaIdentities): this CA "
			      "does not say what a dns-persist-01 record must name", p->server);
		gpc_error_hint(err, "use --challenge dns-01 or http-01 with this CA");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool wild = wildcard || strncmp(names[i], "*.", 2) == 0;
		if (!wild && persist_covered(names, n, names[i]))
			continue;
		r[k].ident = names[i];
		r[k].name = persist_record_name(names[i]);
		r[k].value = persist_record_value(issuer, account_url(a), wild, until);
		k++;
		if (r[k - 1].name == NULL || r[k - 1].value == NULL) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
	}
	*out = r;
	*nout = k;
	r = NULL;
	rc = 0;
out:
	persist_records_free(r, k);
	account_close(a);
	return rc;
}

/* The issuer domain names of the challenge, else the directory's CAA
 * identity (a CA that sends none). */
static size_t issuers_of(struct acme_client *c, const struct acme_challenge *ch, const char **one,
			 const char *const **list)
{
	if (ch->n_issuers > 0) {
		*list = (const char *const *)ch->issuers;
		return ch->n_issuers;
	}
	*one = acme_client_directory(c)->caa_identity;
	*list = one;
	return *one != NULL ? 1 : 0;
}

/* Step 1: the order's authorizations into az (*n of them fetched, each to
 * be finished) and for each pending one its dns-persist-01 challenge in ch
 * (NULL: valid already). Returns 0 or -1 (a name the CA will not validate
 * goes to failed). */
static int fetch_pending(struct acme_client *c, const struct lineage *l, const struct acme_order *ord,
			 struct acme_authz *az, const struct acme_challenge **ch, size_t *n, char **failed,
			 size_t *nfailed, struct gpc_error *err)
{
	for (size_t i = 0; i < ord->n_authorizations; i++) {
		struct acme_authz *a = &az[*n];
		if (acme_authz_get(c, ord->authorizations[i], a, err) != 0)
			return -1;
		(*n)++;
		if (strcmp(a->status, "valid") == 0) {
			gpc_debug("%s: authorization for %s already valid", l->name, a->identifier.value);
			continue;
		}
		if (strcmp(a->status, "pending") != 0) {
			gpc_error_set(err, GPC_E_CA, "authorization for %s is %s", a->identifier.value, a->status);
			failed[(*nfailed)++] = strdup(a->identifier.value);
			return -1;
		}
		ch[*n - 1] = acme_authz_challenge(a, PERSIST_CHALLENGE);
		if (ch[*n - 1] == NULL) {
			struct buf offered;
			buf_init(&offered, 512);
			for (size_t k = 0; k < a->n_challenges; k++)
				if (buf_printf(&offered, "%s%s", offered.len ? ", " : "", a->challenges[k].type) != 0)
					break;
			gpc_error_set(err, GPC_E_CA, "the CA does not offer dns-persist-01 for %s%s (it offered %s)",
				      a->wildcard ? "*." : "", a->identifier.value,
				      offered.len ? offered.data : "nothing");
			gpc_error_hint(err, "choose another with --challenge http-01, dns-01 or tls-alpn-01");
			buf_finish(&offered);
			return -1;
		}
	}
	return 0;
}

/* What step 2 found: records matching, the earliest persistUntil among
 * them, and the records to create. */
struct persist_seen {
	size_t checked, nmissing;
	time_t earliest;
	struct buf missing;
};

/* Step 2 for authorization i: the record its challenge wants, checked on
 * every authoritative server (l's resolvers, co). Returns 0 (matched or
 * noted missing in seen) or -1 (err: the challenge names no issuer or
 * account, a usage error of the check, out of memory). */
static int check_one(struct acme_client *c, const struct dns_check_opts *co, const struct acme_authz *az, size_t n,
		     size_t i, const struct acme_challenge *ch, struct persist_seen *seen, struct gpc_error *err)
{
	const char *one = NULL, *const *issuers;
	const char *acct = ch->account_uri ? ch->account_uri : acme_client_kid(c);
	size_t ni = issuers_of(c, ch, &one, &issuers);
	struct gpc_error e;
	time_t u = 0;
	int rc = -1;

	if (ni == 0 || acct == NULL)
		return gpc_error_set(err, GPC_E_CA, "the CA's dns-persist-01 challenge for %s names no %s",
				     az[i].identifier.value, ni == 0 ? "issuer-domain-names" : "account");
	/* NAME and *.NAME share one record: the wildcard's (policy=wildcard) */
	bool wild = az[i].wildcard;
	for (size_t k = 0; k < n; k++)
		wild |= az[k].wildcard && strcmp(az[k].identifier.value, az[i].identifier.value) == 0;
	char *fqdn = persist_record_name(az[i].identifier.value);
	char *value = persist_record_value(issuers[0], acct, wild, 0);
	if (fqdn == NULL || value == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	struct dns_persist_want w = { .fqdn = fqdn, .issuers = issuers, .n_issuers = ni,
				      .account_uri = acct, .wildcard = az[i].wildcard, .now = time_now() };
	gpc_error_clear(&e);
	int r = dns_persist_check(co, &w, &u, &e);
	if (r == 0) {
		seen->checked++;
		if (u != 0 && (seen->earliest == 0 || u < seen->earliest))
			seen->earliest = u;
	} else if (e.code != NULL && strcmp(e.code, GPC_E_USAGE) == 0) {
		*err = e;
		goto out;
	} else {
		char needle[300];
		snprintf(needle, sizeof(needle), "create %s IN", fqdn);
		seen->nmissing++;
		if (seen->missing.data != NULL && strstr(seen->missing.data, needle) != NULL)
			; /* named already (NAME and *.NAME) */
		else if (buf_printf(&seen->missing, "%screate %s IN TXT \"%s\" (%s)", seen->missing.len ? "; " : "",
				    fqdn, value, e.message) != 0)
			gpc_debug("dns-persist-01: the message is cut short");
	}
	rc = 0;
out:
	free(fqdn);
	free(value);
	return rc;
}

/* Step 3: answer every challenge, then wait for each authorization.
 * Returns 0 or -1 (the name whose authorization failed goes to failed). */
static int answer_and_wait(struct acme_client *c, struct acme_authz *az, const struct acme_challenge **ch, size_t n,
			   char **failed, size_t *nfailed, struct gpc_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (ch[i] != NULL && acme_challenge_respond(c, ch[i]->url, err) != 0)
			return -1;
	for (size_t i = 0; i < n; i++) {
		if (ch[i] == NULL)
			continue;
		char *ident = strdup(az[i].identifier.value);
		if (ident == NULL)
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		ch[i] = NULL; /* points into az[i], refreshed by the poll */
		if (acme_authz_poll(c, &az[i], err) != 0) {
			char msg[sizeof(err->message)];
			snprintf(msg, sizeof(msg), "%s", err->message);
			gpc_error_set(err, GPC_E_CA, "dns-persist-01 challenge for %s failed: %s", ident, msg);
			failed[(*nfailed)++] = ident;
			return -1;
		}
		free(ident);
	}
	return 0;
}

int persist_authorize(struct acme_client *c, const struct lineage *l, const struct acme_order *ord,
		      char **failed, size_t *nfailed, time_t *until, struct gpc_error *err)
{
	struct acme_authz *az = calloc(ord->n_authorizations ? ord->n_authorizations : 1, sizeof(*az));
	const struct acme_challenge **ch = calloc(ord->n_authorizations ? ord->n_authorizations : 1, sizeof(*ch));
	struct dns_check_opts co = { .resolvers = l->dns_resolvers, .n_resolvers = l->n_dns_resolvers };
	struct persist_seen seen = { 0 };
	size_t n = 0;
	int rc = -1;

	buf_init(&seen.missing, sizeof(err->message) - 200);
	if (az == NULL || ch == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	/* 1. the pending authorizations and their dns-persist-01 challenge */
	if (fetch_pending(c, l, ord, az, ch, &n, failed, nfailed, err) != 0)
		goto out;
	/* 2. read-only: every name has its record, before anything is answered */
	for (size_t i = 0; i < n; i++)
		if (ch[i] != NULL && check_one(c, &co, az, n, i, ch[i], &seen, err) != 0)
			goto out;
	if (seen.nmissing > 0) {
		gpc_error_set(err, GPC_E_NETWORK, "dns-persist-01: %zu name%s without a record for this account, "
			      "nothing was answered: %s", seen.nmissing, seen.nmissing == 1 ? "" : "s",
			      seen.missing.data);
		gpc_error_hint(err, "publish the record%s (goproxy-cert persist-record prints %s), then run again",
			       seen.nmissing == 1 ? "" : "s", seen.nmissing == 1 ? "it" : "them");
		goto out;
	}
	if (seen.checked > 0)
		*until = seen.earliest; /* all reused: what the last check saw stays */
	/* 3. answer, then wait for each */
	if (answer_and_wait(c, az, ch, n, failed, nfailed, err) != 0)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; az != NULL && i < n; i++)
		acme_authz_finish(&az[i]);
	free(az);
	free(ch);
	buf_finish(&seen.missing);
	return rc;
}

int persist_publish(const struct lineage *l, const char *ident, const char *value, char **where,
		    struct gpc_error *err)
{
	const struct dns_provider_ops *ops = l->dns_provider ? dns_provider_find(l->dns_provider) : NULL;
	struct dns_check_opts co = { .resolvers = l->dns_resolvers, .n_resolvers = l->n_dns_resolvers };
	struct dns_options o = { 0 };
	struct dns_provider *p = NULL;
	char *name = NULL, *fqdn = NULL, *zone = NULL;
	int rc = -1;

	*where = NULL;
	if (ops == NULL)
		return gpc_error_set(err, GPC_E_USAGE, "no DNS provider to create the record with");
	if (ops->target != NULL || strcmp(ops->name, "duckdns") == 0) {
		gpc_error_set(err, GPC_E_USAGE, "%s writes only _acme-challenge records: it cannot create a "
			      "dns-persist-01 record", ops->name);
		return gpc_error_hint(err, "create the printed record by hand, or with rfc2136, pdns, cloudflare "
				      "or hetzner");
	}
	for (size_t i = 0; i < l->n_dns_opts; i++)
		if (dns_options_set(&o, l->dns_opts[i].key, l->dns_opts[i].value, l->dns_opts[i].secret) != 0) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
	if (dns_options_validate(ops, &o, err) != 0)
		goto out;
	name = persist_record_name(ident);
	if (name == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	name[strlen(name) - 1] = '\0'; /* dns_find_target takes it without the root's dot */
	if (dns_find_target(&co, name, &fqdn, &zone, err) != 0 || dns_provider_new(ops, &o, &p, err) != 0)
		goto out;
	struct dns_record r = { .domain = ident[0] == '*' && ident[1] == '.' ? ident + 2 : ident, .fqdn = fqdn,
				.zone = zone, .value = value };
	if (dns_provider_present(p, &r, err) != 0)
		goto out;
	gpc_info("dns-persist-01: TXT record for %s created at %s (zone %s) through %s", ident, fqdn,
		 zone ? zone : "?", ops->name);
	*where = fqdn;
	fqdn = NULL;
	rc = 0;
out:
	dns_provider_free(p);
	dns_options_finish(&o);
	free(name);
	free(fqdn);
	free(zone);
	return rc;
}

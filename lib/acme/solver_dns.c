/* solver_dns: the built-in dns-01 solver and the propagation check (see
 * solver_dns.h). */
#include "solver_dns.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "buf.h"
#include "dns.h"
#include "jsonutil.h"
#include "log.h"
#include "records.h"

#define PENDING_MAX (256 * 1024)

struct dns_item {
	char *ident, *value, *fqdn, *zone, *target;
	struct dns_item *next;
};

struct dns_solver {
	struct certstore *cs;
	char *lineage;
	struct dns_provider *p;
	struct dns_check_opts co;
	pthread_mutex_t mu;
	struct dns_item *items;
};

static void item_free(struct dns_item *i)
{
	free(i->ident);
	free(i->value);
	free(i->fqdn);
	free(i->zone);
	free(i->target);
	free(i);
}

static void check_opts(const struct lineage *l, struct dns_check_opts *co)
{
	memset(co, 0, sizeof(*co));
	co->resolvers = l->dns_resolvers;
	co->n_resolvers = l->n_dns_resolvers;
	co->timeout_secs = l->dns_timeout;
	co->wait_secs = l->dns_wait;
	co->no_check = l->dns_no_check;
}

static const char *bare(const char *ident)
{
	return (ident[0] == '*' && ident[1] == '.') ? ident + 2 : ident;
}

/* ---- the record of what was added: .state/dns-records/LINEAGE.json ---- */

static int pending_rel(const struct dns_solver *d, char *rel, size_t relsz)
{
	int n = snprintf(rel, relsz, RECORD_DNS_RECORDS_FMT, d->lineage);
	return (n < 0 || (size_t)n >= relsz) ? -1 : 0;
}

static struct json_object *pending_load(struct dns_solver *d)
{
	char rel[512];
	struct buf b;
	struct gpc_error e;
	struct json_object *o = NULL;

	gpc_error_clear(&e);
	if (pending_rel(d, rel, sizeof(rel)) != 0)
		return NULL;
	buf_init(&b, PENDING_MAX);
	if (certstore_state_read(d->cs, rel, PENDING_MAX, &b, &e) == 0) {
		/* {"records": [...]} */
		struct json_object *top = jsonutil_parse_object(b.data), *r;
		if (top != NULL && json_object_object_get_ex(top, "records", &r) &&
		    json_object_is_type(r, json_type_array))
			o = json_object_get(r);
		json_object_put(top);
	}
	buf_finish(&b);
	return o ? o : json_object_new_array();
}

static int pending_save(struct dns_solver *d, struct json_object *a, struct gpc_error *err)
{
	char rel[512];

	if (pending_rel(d, rel, sizeof(rel)) != 0)
		return gpc_error_set(err, GPC_E_INVALID, "lineage name too long");
	if (json_object_array_length(a) == 0)
		return certstore_state_remove(d->cs, rel, err);
	struct json_object *top = json_object_new_object();
	json_object_object_add(top, "records", json_object_get(a));
	const char *t = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = certstore_state_write(d->cs, rel, t, strlen(t), err);
	json_object_put(top);
	return rc;
}

static bool same(struct json_object *e, const char *k, const char *v)
{
	struct json_object *x;
	return json_object_object_get_ex(e, k, &x) && strcasecmp(json_object_get_string(x), v) == 0;
}

static int pending_add(struct dns_solver *d, const struct dns_record *r, struct gpc_error *err)
{
	struct json_object *a = pending_load(d), *e = json_object_new_object();
	int rc;

	json_object_object_add(e, "provider", json_object_new_string(dns_provider_ops(d->p)->name));
	json_object_object_add(e, "domain", json_object_new_string(r->domain));
	json_object_object_add(e, "fqdn", json_object_new_string(r->fqdn));
	if (r->zone)
		json_object_object_add(e, "zone", json_object_new_string(r->zone));
	json_object_object_add(e, "value", json_object_new_string(r->value));
	json_object_array_add(a, e);
	rc = pending_save(d, a, err);
	json_object_put(a);
	return rc;
}

static void pending_del(struct dns_solver *d, const char *fqdn, const char *value)
{
	struct json_object *a = pending_load(d), *b = json_object_new_array();
	struct gpc_error e;

	gpc_error_clear(&e);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *x = json_object_array_get_idx(a, i);
		if (same(x, "fqdn", fqdn) && same(x, "value", value))
			continue;
		json_object_array_add(b, json_object_get(x));
	}
	if (pending_save(d, b, &e) != 0)
		gpc_warn("%s", e.message);
	json_object_put(a);
	json_object_put(b);
}

/* What a killed run of this lineage added and never removed goes first. */
static void remove_leftovers(struct dns_solver *d)
{
	struct json_object *a = pending_load(d), *keep = json_object_new_array();
	struct gpc_error e;
	size_t n = json_object_array_length(a), removed = 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(a, i), *f, *v, *z, *dm;
		if (!json_object_object_get_ex(x, "fqdn", &f) || !json_object_object_get_ex(x, "value", &v) ||
		    !json_object_object_get_ex(x, "domain", &dm))
			continue;
		if (!same(x, "provider", dns_provider_ops(d->p)->name)) {
			json_object_array_add(keep, json_object_get(x));
			continue;
		}
		struct dns_record r = { .domain = json_object_get_string(dm), .fqdn = json_object_get_string(f),
					.zone = json_object_object_get_ex(x, "zone", &z) ? json_object_get_string(z) : NULL,
					.value = json_object_get_string(v) };
		gpc_error_clear(&e);
		if (dns_provider_cleanup(d->p, &r, &e) != 0) {
			gpc_warn("%s: a TXT record left by an earlier run is still at %s: %s", d->lineage, r.fqdn, e.message);
			json_object_array_add(keep, json_object_get(x));
			continue;
		}
		removed++;
	}
	if (removed > 0)
		gpc_note("%s: removed %zu TXT record%s left by an earlier run that was stopped", d->lineage, removed,
			 removed == 1 ? "" : "s");
	if (n > 0) {
		gpc_error_clear(&e);
		if (pending_save(d, keep, &e) != 0)
			gpc_warn("%s", e.message);
	}
	json_object_put(a);
	json_object_put(keep);
}

/* ---- the solver ---- */

int dns_solver_new(struct certstore *cs, const struct lineage *l, struct dns_solver **out, struct gpc_error *err)
{
	const struct dns_provider_ops *ops = dns_provider_find(l->dns_provider);
	struct dns_options o = { 0 };
	struct dns_solver *d = NULL;
	int rc = -1;

	if (ops == NULL) {
		char list[1024];
		gpc_error_set(err, GPC_E_USAGE, "%s: unknown dns provider '%s'", l->name,
			      l->dns_provider ? l->dns_provider : "");
		return gpc_error_hint(err, "supported here: %s", dns_provider_list(list, sizeof(list)));
	}
	for (size_t i = 0; i < l->n_dns_opts; i++)
		if (dns_options_set(&o, l->dns_opts[i].key, l->dns_opts[i].value, l->dns_opts[i].secret) != 0) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
	if (dns_options_validate(ops, &o, err) != 0) {
		char msg[sizeof(err->message)];
		snprintf(msg, sizeof(msg), "%s", err->message);
		gpc_error_set(err, GPC_E_USAGE, "%s: %s", l->name, msg);
		goto out;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL || (d->lineage = strdup(l->name)) == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	d->cs = cs;
	pthread_mutex_init(&d->mu, NULL);
	/* the resolvers are the lineage's: it outlives the solver's use */
	check_opts(l, &d->co);
	if (d->co.n_resolvers > 0) {
		d->co.resolvers = calloc(d->co.n_resolvers, sizeof(char *));
		if (d->co.resolvers == NULL) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < d->co.n_resolvers; i++)
			d->co.resolvers[i] = strdup(l->dns_resolvers[i]);
	}
	if (dns_provider_new(ops, &o, &d->p, err) != 0)
		goto out;
	remove_leftovers(d);
	*out = d;
	d = NULL;
	rc = 0;
out:
	dns_options_finish(&o);
	dns_solver_free(d);
	return rc;
}

void dns_solver_free(struct dns_solver *d)
{
	if (d == NULL)
		return;
	while (d->items) {
		struct dns_item *i = d->items;
		d->items = i->next;
		item_free(i);
	}
	dns_provider_free(d->p);
	for (size_t i = 0; d->co.resolvers && i < d->co.n_resolvers; i++)
		free(d->co.resolvers[i]);
	free(d->co.resolvers);
	if (d->lineage)
		pthread_mutex_destroy(&d->mu);
	free(d->lineage);
	free(d);
}

static struct dns_item *find_item(struct dns_solver *d, const char *ident, const char *value)
{
	for (struct dns_item *i = d->items; i; i = i->next)
		if (strcasecmp(i->ident, ident) == 0 && strcmp(i->value, value) == 0)
			return i;
	return NULL;
}

int dns_solver_present(struct dns_solver *d, const char *ident, const char *value, struct gpc_error *err)
{
	struct dns_item *it = calloc(1, sizeof(*it));
	char *fqdn = NULL, *zone = NULL;
	const char *dom = bare(ident);

	if (it == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	if (dns_find_target(&d->co, dom, &fqdn, &zone, err) != 0) {
		free(it);
		return -1;
	}
	struct dns_record r = { .domain = dom, .fqdn = fqdn, .zone = zone, .value = value };
	it->ident = strdup(ident);
	it->value = strdup(value);
	it->fqdn = fqdn;
	it->zone = zone;
	if (it->ident == NULL || it->value == NULL) {
		item_free(it);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	/* recorded before it is added: a kill in between is cleaned up next time */
	pthread_mutex_lock(&d->mu);
	int rc = pending_add(d, &r, err);
	pthread_mutex_unlock(&d->mu);
	if (rc != 0 || dns_provider_present(d->p, &r, err) != 0) {
		pthread_mutex_lock(&d->mu);
		if (rc == 0)
			pending_del(d, fqdn, value);
		pthread_mutex_unlock(&d->mu);
		item_free(it);
		return -1;
	}
	it->target = dns_provider_target(d->p, &r);
	gpc_info("%s: TXT record for %s added at %s through %s", d->lineage, ident, it->target ? it->target : fqdn,
		 dns_provider_ops(d->p)->name);
	pthread_mutex_lock(&d->mu);
	it->next = d->items;
	d->items = it;
	pthread_mutex_unlock(&d->mu);
	return 0;
}

void dns_solver_cleanup(struct dns_solver *d, const char *ident, const char *value)
{
	struct dns_item *it, **pp;
	struct gpc_error e;

	pthread_mutex_lock(&d->mu);
	for (pp = &d->items; (it = *pp) != NULL; pp = &it->next)
		if (strcasecmp(it->ident, ident) == 0 && strcmp(it->value, value) == 0) {
			*pp = it->next;
			break;
		}
	pthread_mutex_unlock(&d->mu);
	if (it == NULL)
		return;
	struct dns_record r = { .domain = bare(it->ident), .fqdn = it->fqdn, .zone = it->zone, .value = it->value };
	gpc_error_clear(&e);
	if (dns_provider_cleanup(d->p, &r, &e) != 0) {
		gpc_warn("%s: the TXT record at %s stays (the next run removes it): %s", d->lineage, it->fqdn, e.message);
	} else {
		gpc_debug("%s: TXT record for %s removed", d->lineage, ident);
		pthread_mutex_lock(&d->mu);
		pending_del(d, it->fqdn, it->value);
		pthread_mutex_unlock(&d->mu);
	}
	item_free(it);
}

char *dns_solver_describe(struct dns_solver *d, const char *ident, const char *value, char *out, size_t outsz)
{
	struct dns_item *it;

	pthread_mutex_lock(&d->mu);
	it = find_item(d, ident, value);
	if (it != NULL)
		snprintf(out, outsz, "TXT \"%s\" was added at %s (zone %s) through %s; the CA did not see it: "
			 "check that every name server of the zone serves it (dig TXT %s @NS), and keep the "
			 "propagation check on (--dns-propagation-timeout to wait longer)", value,
			 it->target ? it->target : it->fqdn, it->zone ? it->zone : "?", dns_provider_ops(d->p)->name,
			 it->target ? it->target : it->fqdn);
	else
		snprintf(out, outsz, "a TXT record for %s through %s", ident, dns_provider_ops(d->p)->name);
	pthread_mutex_unlock(&d->mu);
	return out;
}

int dns_solver_check(struct dns_solver *d, const struct lineage *l, const char *const *idents,
		     const char *const *values, size_t n, struct gpc_error *err)
{
	struct dns_check_opts co;
	struct dns_expect *e = NULL;
	char **names = NULL, **zones = NULL;
	int rc = -1;

	check_opts(l, &co);
	if (n == 0 || co.no_check)
		return 0;
	e = calloc(n, sizeof(*e));
	names = calloc(n, sizeof(*names));
	zones = calloc(n, sizeof(*zones));
	if (e == NULL || names == NULL || zones == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct dns_item *it = NULL;
		if (d != NULL) {
			pthread_mutex_lock(&d->mu);
			it = find_item(d, idents[i], values[i]);
			if (it != NULL) {
				names[i] = strdup(it->target ? it->target : it->fqdn);
				/* a provider's own target (acme-dns) may be in another zone */
				zones[i] = it->target && strcasecmp(it->target, it->fqdn) != 0 ? NULL
				       : (it->zone ? strdup(it->zone) : NULL);
			}
			pthread_mutex_unlock(&d->mu);
		}
		if (it == NULL && co.wait_secs == 0 &&
		    dns_find_target(&co, bare(idents[i]), &names[i], &zones[i], err) != 0)
			goto out;
		e[i].fqdn = names[i] ? names[i] : "";
		e[i].zone = zones[i];
		e[i].value = values[i];
	}
	rc = dns_propagation_check(&co, e, n, err);
out:
	for (size_t i = 0; names && i < n; i++) {
		free(names[i]);
		free(zones[i]);
	}
	free(names);
	free(zones);
	free(e);
	return rc;
}

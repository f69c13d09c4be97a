/* provider: the table of DNS providers and their options. */
#include "dns_int.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "strdist.h"

#define DNS_MAX_OPT_FILE 16384

static const struct dns_provider_ops *const table[] = {
#define DNS_REST_ENTRY(x) &x,
	&dns_rfc2136, &dns_pdns, &dns_acmedns, &dns_cloudflare, &dns_duckdns, &dns_hetzner,
	DNS_REST_PROVIDERS(DNS_REST_ENTRY) &dns_httpreq, NULL,
};

const struct dns_provider_ops *const *dns_providers(void)
{
	return table;
}

const struct dns_provider_ops *dns_provider_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; table[i]; i++) {
		if (strcasecmp(table[i]->name, name) == 0)
			return table[i];
		for (size_t k = 0; k < 3 && table[i]->aliases[k]; k++)
			if (strcasecmp(table[i]->aliases[k], name) == 0)
				return table[i];
	}
	return NULL;
}

const char *dns_provider_closest(const char *name)
{
	const char *best = table[0]->name;
	size_t bd = (size_t)-1;

	for (size_t i = 0; table[i]; i++) {
		size_t d = str_distance(name, strlen(name), table[i]->name, strlen(table[i]->name));
		if (d < bd) {
			bd = d;
			best = table[i]->name;
		}
		for (size_t k = 0; k < 3 && table[i]->aliases[k]; k++) {
			d = str_distance(name, strlen(name), table[i]->aliases[k], strlen(table[i]->aliases[k]));
			if (d < bd) {
				bd = d;
				best = table[i]->name;
			}
		}
	}
	return best;
}

char *dns_provider_list(char *out, size_t outsz)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; table[i]; i++) {
		int n = snprintf(out + len, outsz - len, "%s%s", i ? ", " : "", table[i]->name);
		if (n < 0 || (size_t)n >= outsz - len)
			break;
		len += (size_t)n;
	}
	return out;
}

/* ---- option sets ---- */

void dns_options_finish(struct dns_options *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].key);
		if (o->v[i].value) {
			/* secrets do not linger in freed memory */
			memset(o->v[i].value, 0, strlen(o->v[i].value));
			free(o->v[i].value);
		}
	}
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

int dns_options_set(struct dns_options *o, const char *key, const char *value, bool secret)
{
	char *v = strdup(value);

	if (v == NULL)
		return -1;
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->v[i].key, key) == 0) {
			memset(o->v[i].value, 0, strlen(o->v[i].value));
			free(o->v[i].value);
			o->v[i].value = v;
			o->v[i].secret = secret;
			return 0;
		}
	struct dns_kv *nv = realloc(o->v, (o->n + 1) * sizeof(*nv));
	if (nv == NULL) {
		free(v);
		return -1;
	}
	o->v = nv;
	o->v[o->n].key = strdup(key);
	if (o->v[o->n].key == NULL) {
		free(v);
		return -1;
	}
	o->v[o->n].value = v;
	o->v[o->n].secret = secret;
	o->n++;
	return 0;
}

const char *dns_options_get(const struct dns_options *o, const char *key)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->v[i].key, key) == 0)
			return o->v[i].value;
	return NULL;
}

int dns_options_copy(struct dns_options *dst, const struct dns_options *src)
{
	dns_options_finish(dst);
	for (size_t i = 0; i < src->n; i++)
		if (dns_options_set(dst, src->v[i].key, src->v[i].value, src->v[i].secret) != 0)
			return -1;
	return 0;
}

/* Case, '_' and '-' ignored: "TSIGKey" == "tsig_key" == "tsig-key". */
static bool same_key(const char *a, const char *b)
{
	for (;;) {
		while (*a == '_' || *a == '-')
			a++;
		while (*b == '_' || *b == '-')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++;
		b++;
	}
}

const struct dns_opt_desc *dns_opt_find(const struct dns_provider_ops *p, const char *key)
{
	for (size_t i = 0; i < p->n_opts; i++) {
		const struct dns_opt_desc *d = &p->opts[i];
		if (same_key(key, d->name) || (d->env && strcasecmp(key, d->env) == 0) ||
		    (d->env_alt && strcasecmp(key, d->env_alt) == 0))
			return d;
	}
	return NULL;
}

static char *option_names(const struct dns_provider_ops *p, char *out, size_t outsz)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->n_opts; i++) {
		int n = snprintf(out + len, outsz - len, "%s%s", i ? ", " : "", p->opts[i].name);
		if (n < 0 || (size_t)n >= outsz - len)
			break;
		len += (size_t)n;
	}
	return out;
}

int dns_opt_unknown(const struct dns_provider_ops *p, const char *key, const char *where, struct gpc_error *err)
{
	const char *best = NULL;
	size_t bd = (size_t)-1, kl = strlen(key);
	char names[512];

	for (size_t i = 0; i < p->n_opts; i++) {
		const char *n = p->opts[i].name;
		size_t d = str_distance(key, kl, n, strlen(n));
		if (d < bd) {
			bd = d;
			best = n;
		}
	}
	gpc_error_set(err, GPC_E_USAGE, "%s: provider %s has no option '%s'", where, p->name, key);
	if (best != NULL && bd <= 2)
		return gpc_error_hint(err, "did you mean '%s'? options of %s: %s", best, p->name,
				      option_names(p, names, sizeof(names)));
	return gpc_error_hint(err, "options of %s: %s", p->name, option_names(p, names, sizeof(names)));
}

/* Read a NAME_FILE value: the file's content, one trailing newline dropped. */
static int read_opt_file(const char *var, const char *path, char **out, struct gpc_error *err)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char chunk[1024];
	size_t n;
	int rc = -1;

	if (f == NULL) {
		gpc_error_sys(err, errno, "open", path);
		char msg[sizeof(err->message)];
		snprintf(msg, sizeof(msg), "%s", err->message);
		gpc_error_set(err, GPC_E_USAGE, "%s=%s: %s", var, path, msg);
		return gpc_error_hint(err, "%s names a file holding the value (a container secret); "
					   "give a readable file or set the variable without _FILE", var);
	}
	buf_init(&b, DNS_MAX_OPT_FILE);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) != 0) {
			gpc_error_set(err, GPC_E_USAGE, "%s=%s: larger than %d bytes", var, path, DNS_MAX_OPT_FILE);
			goto out;
		}
	if (ferror(f)) {
		gpc_error_sys(err, errno, "read", path);
		goto out;
	}
	if (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	if (b.len > 0 && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	*out = buf_take(&b, NULL);
	rc = *out ? 0 : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
out:
	if (b.data)
		memset(b.data, 0, b.len);
	buf_finish(&b);
	fclose(f);
	return rc;
}

int dns_options_from_env(const struct dns_provider_ops *p, dns_env_fn env, void *ud,
			 struct dns_options *o, struct gpc_error *err)
{
	for (size_t i = 0; i < p->n_opts; i++) {
		const struct dns_opt_desc *d = &p->opts[i];
		const char *names[2] = { d->env, d->env_alt };
		for (int k = 0; k < 2; k++) {
			char var[128];
			const char *v;
			if (names[k] == NULL)
				continue;
			v = env(names[k], ud);
			if (v != NULL && *v != '\0') {
				if (dns_options_set(o, d->name, v, d->flags & DNS_OPT_SECRET) != 0)
					return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
				break;
			}
			snprintf(var, sizeof(var), "%s_FILE", names[k]);
			v = env(var, ud);
			if (v != NULL && *v != '\0') {
				char *val = NULL;
				int rc;
				if (read_opt_file(var, v, &val, err) != 0)
					return -1;
				rc = dns_options_set(o, d->name, val, d->flags & DNS_OPT_SECRET);
				memset(val, 0, strlen(val));
				free(val);
				if (rc != 0)
					return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
				break;
			}
		}
	}
	return 0;
}

int dns_options_parse_arg(const struct dns_provider_ops *p, const char *arg, struct dns_options *o,
			  struct gpc_error *err)
{
	const char *eq = strchr(arg, '=');
	char key[128], names[512];
	const struct dns_opt_desc *d;

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(key)) {
		/* never echo the argument: it may be a secret given without its key */
		gpc_error_set(err, GPC_E_USAGE, "--dns-opt: an argument is not KEY=VALUE (provider %s)", p->name);
		return gpc_error_hint(err, "options of %s: %s", p->name, option_names(p, names, sizeof(names)));
	}
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	d = dns_opt_find(p, key);
	if (d == NULL) {
		char where[160];
		snprintf(where, sizeof(where), "--dns-opt %s", key);
		return dns_opt_unknown(p, key, where, err);
	}
	if (dns_options_set(o, d->name, eq + 1, d->flags & DNS_OPT_SECRET) != 0)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	return 0;
}

int dns_options_validate(const struct dns_provider_ops *p, struct dns_options *o, struct gpc_error *err)
{
	/* keys that are not this provider's (a stored set from another one) go */
	for (size_t i = 0; i < o->n;) {
		const struct dns_opt_desc *d = dns_opt_find(p, o->v[i].key);
		if (d == NULL || strcmp(d->name, o->v[i].key) != 0) {
			free(o->v[i].key);
			free(o->v[i].value);
			o->v[i] = o->v[--o->n];
			continue;
		}
		o->v[i].secret = d->flags & DNS_OPT_SECRET;
		i++;
	}
	for (size_t i = 0; i < p->n_opts; i++) {
		const struct dns_opt_desc *d = &p->opts[i];
		const char *v = dns_options_get(o, d->name);
		if (v != NULL && *v != '\0')
			continue;
		if (d->def != NULL) {
			if (dns_options_set(o, d->name, d->def, d->flags & DNS_OPT_SECRET) != 0)
				return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			continue;
		}
		if (d->flags & DNS_OPT_REQUIRED) {
			gpc_error_set(err, GPC_E_USAGE, "dns provider %s: option %s (%s) is missing", p->name,
				      d->name, d->env ? d->env : d->name);
			return gpc_error_hint(err, "set %s (or %s_FILE naming a file holding it), or give "
					      "--dns-opt %s=VALUE: %s", d->env, d->env, d->name, d->help);
		}
	}
	return p->check ? p->check(o, err) : 0;
}

/* ---- instances ---- */

struct dns_provider {
	const struct dns_provider_ops *ops;
	void *state;
	struct dns_options opts; /* for dns_redact */
	pthread_mutex_t mu;
};

int dns_provider_new(const struct dns_provider_ops *ops, const struct dns_options *o,
		     struct dns_provider **out, struct gpc_error *err)
{
	struct dns_provider *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	p->ops = ops;
	pthread_mutex_init(&p->mu, NULL);
	if (dns_options_copy(&p->opts, o) != 0) {
		dns_provider_free(p);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	if (ops->create(o, &p->state, err) != 0) {
		dns_provider_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

void dns_provider_free(struct dns_provider *p)
{
	if (p == NULL)
		return;
	if (p->state)
		p->ops->destroy(p->state);
	dns_options_finish(&p->opts);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

const struct dns_provider_ops *dns_provider_ops(const struct dns_provider *p)
{
	return p->ops;
}

static void redact_err(struct dns_provider *p, struct gpc_error *err)
{
	dns_redact(err->message, sizeof(err->message), &p->opts);
	dns_redact(err->hint, sizeof(err->hint), &p->opts);
}

int dns_provider_present(struct dns_provider *p, const struct dns_record *r, struct gpc_error *err)
{
	int rc;

	if (p->ops->needs_zone && r->zone == NULL)
		return gpc_error_set(err, GPC_E_INTERNAL, "%s: no zone for %s", p->ops->name, r->fqdn);
	pthread_mutex_lock(&p->mu);
	rc = p->ops->present(p->state, r, err);
	pthread_mutex_unlock(&p->mu);
	if (rc != 0)
		redact_err(p, err);
	return rc;
}

int dns_provider_cleanup(struct dns_provider *p, const struct dns_record *r, struct gpc_error *err)
{
	int rc;

	pthread_mutex_lock(&p->mu);
	rc = p->ops->cleanup(p->state, r, err);
	pthread_mutex_unlock(&p->mu);
	if (rc != 0)
		redact_err(p, err);
	return rc;
}

char *dns_provider_target(struct dns_provider *p, const struct dns_record *r)
{
	char *t = NULL;

	if (p->ops->target != NULL) {
		pthread_mutex_lock(&p->mu);
		t = p->ops->target(p->state, r);
		pthread_mutex_unlock(&p->mu);
		if (t != NULL)
			return t;
	}
	return strdup(r->fqdn);
}

void dns_redact(char *text, size_t size, const struct dns_options *o)
{
	for (size_t i = 0; i < o->n; i++) {
		const char *s = o->v[i].value;
		size_t sl = strlen(s);
		char *hit;
		if (!o->v[i].secret || sl < 4)
			continue;
		while ((hit = strstr(text, s)) != NULL) {
			size_t tail = strlen(hit + sl);
			if (hit + 3 + tail + 1 > text + size)
				break;
			memmove(hit + 3, hit + sl, tail + 1);
			memcpy(hit, "***", 3);
		}
	}
}

/* ---- what the providers share --------------------------------------- */

int dns_opt_url(const char *prov, const char *opt, const char *env, const char *value, const char *hint,
		struct gpc_error *err)
{
	char name[128];

	if (strncasecmp(value, "https://", 8) == 0 || strncasecmp(value, "http://", 7) == 0)
		return 0;
	if (env != NULL)
		snprintf(name, sizeof(name), "%s (%s)", opt, env);
	else
		snprintf(name, sizeof(name), "%s", opt);
	gpc_error_set(err, GPC_E_USAGE, "dns provider %s: option %s '%s' is not an http:// or https:// URL", prov,
		      name, value);
	return gpc_error_hint(err, "%s", hint);
}

int dns_opt_ttl(const char *prov, const char *env, const char *value, struct gpc_error *err)
{
	char *end;
	unsigned long t = strtoul(value, &end, 10);

	if (*value != '\0' && *end == '\0' && t >= 1 && t <= 86400)
		return 0;
	gpc_error_set(err, GPC_E_USAGE, "dns provider %s: option ttl (%s) '%s' is not 1-86400 seconds", prov, env,
		      value);
	return gpc_error_hint(err, "leave it unset (120)");
}

char *dns_url_base(const char *u)
{
	size_t n = strlen(u);

	while (n > 0 && u[n - 1] == '/')
		n--;
	return strndup(u, n);
}

void dns_secret_free(char *s)
{
	if (s == NULL)
		return;
	memset(s, 0, strlen(s));
	free(s);
}

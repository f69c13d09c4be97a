/* godoxy: GoDoxy's config.yml, the autocert block (see godoxy.h). libyaml
 * gives events; they become a small tree here, and only the autocert
 * subtree is looked at. */
#include "godoxy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "log.h"

#define GODOXY_MAX_DEPTH 64

enum node_kind { N_SCALAR, N_MAP, N_SEQ };

struct node {
	enum node_kind kind;
	char *text;            /* scalar */
	struct node **kids;    /* map: key, value, key, value...; seq: items */
	size_t n;
	int line;
};

static void node_free(struct node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++)
		node_free(n->kids[i]);
	free(n->kids);
	if (n->text) {
		memset(n->text, 0, strlen(n->text)); /* options hold secrets */
		free(n->text);
	}
	free(n);
}

static int node_add(struct node *p, struct node *k)
{
	struct node **v = realloc(p->kids, (p->n + 1) * sizeof(*v));

	if (v == NULL)
		return -1;
	p->kids = v;
	p->kids[p->n++] = k;
	return 0;
}

/* Build the tree of the document's root node. */
static struct node *parse_node(yaml_parser_t *y, yaml_event_t *ev, int depth, const char *path,
			       struct gpc_error *err)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		return NULL;
	}
	n->line = (int)ev->start_mark.line + 1;
	if (depth > GODOXY_MAX_DEPTH) {
		gpc_error_set(err, GPC_E_INVALID, "%s:%d: nested too deeply", path, n->line);
		free(n);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n->kind = N_SCALAR;
		n->text = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		if (n->text == NULL)
			goto nomem;
		return n;
	case YAML_ALIAS_EVENT:
		gpc_error_set(err, GPC_E_INVALID, "%s:%d: YAML aliases (*name) are not supported here", path, n->line);
		gpc_error_hint(err, "write the value out in the autocert block");
		free(n);
		return NULL;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		yaml_event_type_t end = ev->type == YAML_SEQUENCE_START_EVENT ? YAML_SEQUENCE_END_EVENT
									     : YAML_MAPPING_END_EVENT;
		n->kind = ev->type == YAML_SEQUENCE_START_EVENT ? N_SEQ : N_MAP;
		for (;;) {
			yaml_event_t e;
			if (!yaml_parser_parse(y, &e)) {
				gpc_error_set(err, GPC_E_INVALID, "%s:%zu:%zu: %s", path, y->problem_mark.line + 1,
					      y->problem_mark.column + 1, y->problem ? y->problem : "YAML error");
				gpc_error_hint(err, "fix the YAML syntax there (GoDoxy would refuse it too)");
				node_free(n);
				return NULL;
			}
			if (e.type == end) {
				yaml_event_delete(&e);
				return n;
			}
			struct node *k = parse_node(y, &e, depth + 1, path, err);
			yaml_event_delete(&e);
			if (k == NULL) {
				node_free(n);
				return NULL;
			}
			if (node_add(n, k) != 0) {
				node_free(k);
				goto nomem;
			}
		}
	}
	default:
		gpc_error_set(err, GPC_E_INVALID, "%s:%d: unexpected YAML event", path, n->line);
		free(n);
		return NULL;
	}
nomem:
	node_free(n);
	gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	return NULL;
}

static struct node *parse_file(const char *path, struct gpc_error *err)
{
	FILE *f = fopen(path, "rb");
	yaml_parser_t y;
	yaml_event_t ev;
	struct node *root = NULL;
	bool done = false;

	if (f == NULL) {
		gpc_error_sys(err, errno, "open", path);
		gpc_error_hint(err, "give GoDoxy's config file, usually config/config.yml");
		return NULL;
	}
	if (!yaml_parser_initialize(&y)) {
		fclose(f);
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_file(&y, f);
	while (!done) {
		if (!yaml_parser_parse(&y, &ev)) {
			gpc_error_set(err, GPC_E_INVALID, "%s:%zu:%zu: %s", path, y.problem_mark.line + 1,
				      y.problem_mark.column + 1, y.problem ? y.problem : "YAML error");
			gpc_error_hint(err, "fix the YAML syntax there (GoDoxy would refuse it too)");
			node_free(root);
			root = NULL;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (root == NULL) {
				root = parse_node(&y, &ev, 0, path, err);
				if (root == NULL)
					done = true;
			}
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&y);
	fclose(f);
	if (root == NULL && err->code == NULL) {
		gpc_error_set(err, GPC_E_INVALID, "%s: empty file", path);
		gpc_error_hint(err, "give GoDoxy's config file, with an autocert: block");
	}
	return root;
}

static struct node *map_get(const struct node *m, const char *key)
{
	if (m == NULL || m->kind != N_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < m->n; i += 2)
		if (m->kids[i]->kind == N_SCALAR && strcmp(m->kids[i]->text, key) == 0)
			return m->kids[i + 1];
	return NULL;
}

static bool is_null(const struct node *v)
{
	return v->kind == N_SCALAR && (v->text[0] == '\0' || strcmp(v->text, "~") == 0 || strcmp(v->text, "null") == 0);
}

static int get_str(const struct node *m, const char *key, char **out, const char *path, struct gpc_error *err)
{
	struct node *v = map_get(m, key);

	if (v == NULL || is_null(v))
		return 0;
	if (v->kind != N_SCALAR) {
		gpc_error_set(err, GPC_E_USAGE, "%s:%d: autocert.%s must be a string", path, v->line, key);
		return gpc_error_hint(err, "write it as %s: VALUE", key);
	}
	free(*out);
	*out = strdup(v->text);
	return *out ? 0 : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
}

/* A list of strings (a single string counts as a list of one). */
static int get_list(const struct node *m, const char *key, char ***out, size_t *n, const char *path,
		    struct gpc_error *err)
{
	struct node *v = map_get(m, key);

	if (v == NULL || is_null(v))
		return 0;
	if (v->kind == N_MAP) {
		gpc_error_set(err, GPC_E_USAGE, "%s:%d: autocert.%s must be a list", path, v->line, key);
		return gpc_error_hint(err, "write it as '%s:' followed by lines '  - VALUE'", key);
	}
	size_t cnt = v->kind == N_SCALAR ? 1 : v->n;
	char **l = calloc(cnt ? cnt : 1, sizeof(*l));
	if (l == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		const struct node *it = v->kind == N_SCALAR ? v : v->kids[i];
		if (it->kind != N_SCALAR) {
			for (size_t j = 0; j < i; j++)
				free(l[j]);
			free(l);
			gpc_error_set(err, GPC_E_USAGE, "%s:%d: autocert.%s: an entry is not a string", path, it->line, key);
			return gpc_error_hint(err, "each entry is one value");
		}
		l[i] = strdup(it->text);
	}
	for (size_t i = 0; i < *n; i++)
		free((*out)[i]);
	free(*out);
	*out = l;
	*n = cnt;
	return 0;
}

static int get_opts(const struct node *m, struct godoxy_cert *c, const char *path, struct gpc_error *err)
{
	struct node *v = map_get(m, "options");

	if (v == NULL || is_null(v))
		return 0;
	if (v->kind != N_MAP) {
		gpc_error_set(err, GPC_E_USAGE, "%s:%d: autocert.options must be a mapping (key: value lines)", path,
			      v->line);
		return gpc_error_hint(err, "for example 'options:' then '  auth_token: ...'");
	}
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		struct node *k = v->kids[i], *val = v->kids[i + 1];
		if (k->kind != N_SCALAR || val->kind != N_SCALAR) {
			/* the key only: the value may be a secret */
			gpc_error_set(err, GPC_E_USAGE, "%s:%d: autocert.options.%s must be a single value", path,
				      val->line, k->kind == N_SCALAR ? k->text : "?");
			return gpc_error_hint(err, "write it as KEY: VALUE");
		}
		struct godoxy_kv *nv = realloc(c->opts, (c->n_opts + 1) * sizeof(*nv));
		if (nv == NULL)
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		c->opts = nv;
		c->opts[c->n_opts].key = strdup(k->text);
		c->opts[c->n_opts].value = strdup(val->text);
		c->n_opts++;
	}
	return 0;
}

static void cert_finish(struct godoxy_cert *c)
{
	free(c->provider);
	free(c->email);
	for (size_t i = 0; i < c->n_domains; i++)
		free(c->domains[i]);
	free(c->domains);
	for (size_t i = 0; i < c->n_resolvers; i++)
		free(c->resolvers[i]);
	free(c->resolvers);
	free(c->ca_dir_url);
	for (size_t i = 0; i < c->n_ca_certs; i++)
		free(c->ca_certs[i]);
	free(c->ca_certs);
	free(c->eab_kid);
	if (c->eab_hmac) {
		memset(c->eab_hmac, 0, strlen(c->eab_hmac));
		free(c->eab_hmac);
	}
	free(c->cert_path);
	free(c->key_path);
	for (size_t i = 0; i < c->n_opts; i++) {
		free(c->opts[i].key);
		if (c->opts[i].value) {
			memset(c->opts[i].value, 0, strlen(c->opts[i].value));
			free(c->opts[i].value);
		}
	}
	free(c->opts);
	memset(c, 0, sizeof(*c));
}

void godoxy_finish(struct godoxy_autocert *a)
{
	for (size_t i = 0; i < a->n; i++)
		cert_finish(&a->certs[i]);
	free(a->certs);
	a->certs = NULL;
	a->n = 0;
}

static int read_cert(const struct node *m, struct godoxy_cert *c, const char *path, struct gpc_error *err)
{
	c->line = m->line;
	if (get_str(m, "provider", &c->provider, path, err) || get_str(m, "email", &c->email, path, err) ||
	    get_list(m, "domains", &c->domains, &c->n_domains, path, err) ||
	    get_list(m, "resolvers", &c->resolvers, &c->n_resolvers, path, err) ||
	    get_str(m, "ca_dir_url", &c->ca_dir_url, path, err) ||
	    get_list(m, "ca_certs", &c->ca_certs, &c->n_ca_certs, path, err) ||
	    get_str(m, "eab_kid", &c->eab_kid, path, err) || get_str(m, "eab_hmac", &c->eab_hmac, path, err) ||
	    get_str(m, "cert_path", &c->cert_path, path, err) || get_str(m, "key_path", &c->key_path, path, err) ||
	    get_opts(m, c, path, err))
		return -1;
	return 0;
}

static int dup_list(char ***dst, size_t *dn, char *const *src, size_t sn)
{
	if (*dn > 0 || sn == 0)
		return 0;
	*dst = calloc(sn, sizeof(char *));
	if (*dst == NULL)
		return -1;
	for (size_t i = 0; i < sn; i++)
		if (((*dst)[i] = strdup(src[i])) == NULL)
			return -1;
	*dn = sn;
	return 0;
}

static int dup_str(char **dst, const char *src)
{
	if (*dst != NULL || src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

/* An extra entry takes what it leaves unset from the main block. */
static int inherit(struct godoxy_cert *x, const struct godoxy_cert *m)
{
	bool own_provider = x->provider != NULL;

	if (dup_str(&x->provider, m->provider) || dup_str(&x->email, m->email) ||
	    dup_list(&x->resolvers, &x->n_resolvers, m->resolvers, m->n_resolvers) ||
	    dup_str(&x->ca_dir_url, m->ca_dir_url) ||
	    dup_list(&x->ca_certs, &x->n_ca_certs, m->ca_certs, m->n_ca_certs) ||
	    dup_str(&x->eab_kid, m->eab_kid) || dup_str(&x->eab_hmac, m->eab_hmac))
		return -1;
	/* the options belong to the provider: inherited only with it */
	if (!own_provider && x->n_opts == 0 && m->n_opts > 0) {
		x->opts = calloc(m->n_opts, sizeof(*x->opts));
		if (x->opts == NULL)
			return -1;
		for (size_t i = 0; i < m->n_opts; i++) {
			x->opts[i].key = strdup(m->opts[i].key);
			x->opts[i].value = strdup(m->opts[i].value);
			if (!x->opts[i].key || !x->opts[i].value)
				return -1;
			x->n_opts++;
		}
	}
	return 0;
}

int godoxy_load(const char *path, struct godoxy_autocert *out, struct gpc_error *err)
{
	struct node *root = parse_file(path, err), *ac, *extra;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return -1;
	ac = map_get(root, "autocert");
	if (ac == NULL || ac->kind != N_MAP) {
		gpc_error_set(err, GPC_E_USAGE, "%s: no autocert: block%s", path,
			      ac ? " (it is not a mapping)" : "");
		gpc_error_hint(err, "the file needs 'autocert:' with provider, email, domains and options, as "
				    "GoDoxy reads it");
		goto out;
	}
	extra = map_get(ac, "extra");
	if (extra != NULL && !is_null(extra) && extra->kind != N_SEQ) {
		gpc_error_set(err, GPC_E_USAGE, "%s:%d: autocert.extra must be a list of certificates", path, extra->line);
		gpc_error_hint(err, "each entry: '- cert_path: ...' with key_path, domains and so on");
		goto out;
	}
	size_t n = 1 + ((extra && extra->kind == N_SEQ) ? extra->n : 0);
	out->certs = calloc(n, sizeof(*out->certs));
	if (out->certs == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	out->n = n;
	if (read_cert(ac, &out->certs[0], path, err) != 0)
		goto out;
	for (size_t i = 1; i < n; i++) {
		const struct node *x = extra->kids[i - 1];
		if (x->kind != N_MAP) {
			gpc_error_set(err, GPC_E_USAGE, "%s:%d: autocert.extra[%zu] is not a mapping", path, x->line, i - 1);
			gpc_error_hint(err, "each entry: '- cert_path: ...' with key_path, domains and so on");
			goto out;
		}
		if (read_cert(x, &out->certs[i], path, err) != 0)
			goto out;
		if (inherit(&out->certs[i], &out->certs[0]) != 0) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		godoxy_finish(out);
	node_free(root);
	return rc;
}

/* ---- providers.notification (issue 29): GoDoxy's alert targets ---- */

#include "notify.h"

/* A scalar value of an entry, copied (NULL when absent or null). */
static int notif_str(const struct node *m, const char *key, char **out, const char *path, size_t idx,
		     struct gpc_error *err)
{
	struct node *v = map_get(m, key);

	*out = NULL;
	if (v == NULL || is_null(v))
		return 0;
	if (v->kind != N_SCALAR) {
		gpc_error_set(err, GPC_E_USAGE, "%s:%d: providers.notification[%zu].%s must be a string", path,
			      v->line, idx, key);
		return gpc_error_hint(err, "write it as %s: VALUE", key);
	}
	*out = strdup(v->text);
	return *out ? 0 : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
}

int godoxy_load_notify(const char *path, struct notify_list *out, struct gpc_error *err)
{
	struct node *root = parse_file(path, err), *prov, *list;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return -1;
	prov = map_get(root, "providers");
	list = prov ? map_get(prov, "notification") : NULL;
	if (list == NULL || is_null(list)) {
		rc = 0; /* no alert targets in this file */
		goto out;
	}
	if (list->kind != N_SEQ) {
		gpc_error_set(err, GPC_E_USAGE, "%s:%d: providers.notification must be a list", path, list->line);
		gpc_error_hint(err, "each entry: '- name: ...' with provider (ntfy, gotify, webhook) and url");
		goto out;
	}
	for (size_t i = 0; i < list->n; i++) {
		const struct node *e = list->kids[i];
		struct notify_target *t, **nt;
		char *provider = NULL;

		if (e->kind != N_MAP) {
			gpc_error_set(err, GPC_E_USAGE, "%s:%d: providers.notification[%zu] is not a mapping", path,
				      e->line, i);
			gpc_error_hint(err, "each entry: '- name: ...' with provider (ntfy, gotify, webhook) and url");
			goto out;
		}
		t = calloc(1, sizeof(*t));
		nt = t ? realloc(out->t, (out->n + 1) * sizeof(*nt)) : NULL;
		if (nt == NULL) {
			free(t);
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
		out->t = nt;
		out->t[out->n++] = t;
		if (notif_str(e, "provider", &provider, path, i, err) != 0 ||
		    notif_str(e, "name", &t->name, path, i, err) != 0 ||
		    notif_str(e, "url", &t->url, path, i, err) != 0 ||
		    notif_str(e, "token", &t->token, path, i, err) != 0 ||
		    notif_str(e, "topic", &t->topic, path, i, err) != 0 ||
		    notif_str(e, "template", &t->tmpl, path, i, err) != 0 ||
		    notif_str(e, "payload", &t->payload, path, i, err) != 0 ||
		    notif_str(e, "mime_type", &t->mime, path, i, err) != 0 ||
		    notif_str(e, "method", &t->method, path, i, err) != 0) {
			free(provider);
			goto out;
		}
		if (provider == NULL || (strcmp(provider, "ntfy") && strcmp(provider, "gotify") &&
					 strcmp(provider, "webhook"))) {
			gpc_error_set(err, GPC_E_USAGE, "%s:%d: providers.notification[%zu]: provider '%s' is not one "
				      "of ntfy, gotify, webhook", path, e->line, i, provider ? provider : "(none)");
			gpc_error_hint(err, "GoDoxy's notification providers are ntfy, gotify and webhook");
			free(provider);
			goto out;
		}
		t->kind = provider;
		if (t->url == NULL) {
			gpc_error_set(err, GPC_E_USAGE, "%s:%d: providers.notification[%zu]%s%s%s: no url", path,
				      e->line, i, t->name ? " (" : "", t->name ? t->name : "", t->name ? ")" : "");
			goto out;
		}
		if (t->payload && t->tmpl == NULL && t->mime == NULL)
			t->mime = strdup("application/json"); /* GoDoxy's default */
	}
	rc = 0;
out:
	if (rc != 0) {
		for (size_t i = 0; i < out->n; i++)
			notify_target_free(out->t[i]);
		free(out->t);
		memset(out, 0, sizeof(*out));
	}
	node_free(root);
	return rc;
}

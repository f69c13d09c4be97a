/* godoxy: GoDoxy's config.yml, the autocert block (see godoxy.h). libyaml
 * gives events; they become a small tree here, and only the autocert
 * subtree is looked at. */
#include "godoxy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <yaml.h>

#include "strdist.h"
#include "buf.h"
#include "certstore.h"
#include "dns.h"
#include "fsutil.h"
#include "keygen.h"
#include "lineage.h"
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

/* GoDoxy matches a key to a field ignoring case and '_' (its
 * serialization's fnv1IgnoreCaseSnake): CertPath, certpath, cert_path. */
static bool key_eq(const char *a, const char *b)
{
	for (;;) {
		while (*a == '_')
			a++;
		while (*b == '_')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
		if (x != y)
			return false;
		a++, b++;
	}
}

static struct node *map_get(const struct node *m, const char *key)
{
	struct node *found = NULL;

	if (m == NULL || m->kind != N_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < m->n; i += 2)
		if (m->kids[i]->kind == N_SCALAR && key_eq(m->kids[i]->text, key))
			found = m->kids[i + 1]; /* the last one wins */
	return found;
}

/* The keys of a certificate (GoDoxy's autocert.Config, json tags). */
static const char *const cert_keys[] = {
	"email", "domains", "cert_path", "key_path", "extra", "acme_key_path", "provider", "options",
	"resolvers", "ca_dir_url", "ca_certs", "eab_kid", "eab_hmac", "certificate_key_type",
};
#define N_CERT_KEYS (sizeof(cert_keys) / sizeof(cert_keys[0]))

/* Every key of certificate mapping m is one GoDoxy knows (extra: only in
 * the main block). */
static int check_keys(const struct node *m, bool main_block, const char *where, const char *path,
		      struct gpc_error *err)
{
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct node *k = m->kids[i];
		const char *best = NULL;
		size_t bd = SIZE_MAX;
		bool known = false;
		if (k->kind != N_SCALAR) {
			gpc_error_set(err, GPC_E_USAGE, "%s:%d: %s: a key is not a plain word", path, k->line, where);
			return gpc_error_hint(err, "write keys as 'name: value'");
		}
		for (size_t j = 0; j < N_CERT_KEYS; j++) {
			if (!main_block && strcmp(cert_keys[j], "extra") == 0)
				continue;
			if (key_eq(k->text, cert_keys[j])) {
				known = true;
				break;
			}
			size_t d = str_distance(k->text, strlen(k->text), cert_keys[j], strlen(cert_keys[j]));
			if (d < bd) {
				bd = d;
				best = cert_keys[j];
			}
		}
		if (known)
			continue;
		gpc_error_set(err, GPC_E_USAGE, "%s:%d: %s: unknown key '%s'%s%s%s", path, k->line, where, k->text,
			      best && bd <= 3 ? " (did you mean " : "", best && bd <= 3 ? best : "",
			      best && bd <= 3 ? "?)" : "");
		return gpc_error_hint(err, "GoDoxy's autocert keys are email, domains, provider, options, cert_path, "
				      "key_path, acme_key_path, certificate_key_type, resolvers, ca_dir_url, ca_certs, "
				      "eab_kid, eab_hmac%s", main_block ? " and extra" : "");
	}
	return 0;
}

/* GoDoxy's environment lookup for ${NAME}: GODOXY_NAME, GOPROXY_NAME, NAME. */
static const char *env_lookup(const char *name)
{
	static const char *const prefixes[] = { "GODOXY_", "GOPROXY_", "" };
	char buf[512];

	for (size_t i = 0; i < 3; i++) {
		if (snprintf(buf, sizeof(buf), "%s%s", prefixes[i], name) >= (int)sizeof(buf))
			continue;
		const char *v = getenv(buf);
		if (v != NULL)
			return v;
	}
	return NULL;
}

/* ${VAR} in every scalar under n replaced from the environment, as GoDoxy
 * does to its config files before reading them (its pattern is \$\{[^}]+\}:
 * `$VAR` without braces, and `${` without a closing brace, stay as
 * written). An unset variable is an error naming it, the file and line. */
static int substitute(struct node *n, const char *path, struct gpc_error *err)
{
	if (n->kind != N_SCALAR) {
		for (size_t i = 0; i < n->n; i++)
			if (substitute(n->kids[i], path, err) != 0)
				return -1;
		return 0;
	}
	if (strstr(n->text, "${") == NULL)
		return 0;
	char *out = NULL;
	size_t outn = 0;
	FILE *f = open_memstream(&out, &outn);
	if (f == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	for (const char *p = n->text; *p;) {
		const char *close = p[0] == '$' && p[1] == '{' ? strchr(p + 2, '}') : NULL;
		if (close == NULL || close == p + 2) {
			fputc(*p++, f);
			continue;
		}
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)(close - p - 2), p + 2);
		const char *v = env_lookup(name);
		if (v == NULL) {
			fclose(f);
			free(out);
			gpc_error_set(err, GPC_E_USAGE, "%s:%d: ${%s} is not set in the environment", path, n->line,
				      name);
			return gpc_error_hint(err, "export %s (GoDoxy also reads GODOXY_%s and GOPROXY_%s), as in "
					      "GoDoxy's .env", name, name, name);
		}
		fputs(v, f);
		p = close + 1;
	}
	if (fclose(f) != 0) {
		free(out);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	memset(n->text, 0, strlen(n->text));
	free(n->text);
	n->text = out;
	return 0;
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

static int take_common(struct godoxy_cert *c, const struct node *k, const struct node *v, const char *path,
		       struct gpc_error *err);
static int take_opts(const struct node *v, struct godoxy_cert *c, const char *path, struct gpc_error *err);

static int get_opts(const struct node *m, struct godoxy_cert *c, const char *path, struct gpc_error *err)
{
	struct node *v = map_get(m, "options");

	c->propagation_timeout_ms = c->polling_interval_ms = c->sequence_interval_ms = c->ttl = -1;
	if (v == NULL || is_null(v))
		return 0;
	if (v->kind != N_MAP) {
		gpc_error_set(err, GPC_E_USAGE, "%s:%d: autocert.options must be a mapping (key: value lines)", path,
			      v->line);
		return gpc_error_hint(err, "for example 'options:' then '  auth_token: ...'");
	}
	return take_opts(v, c, path, err);
}

/* The options of one mapping. A mapping inside (lego's nested settings, as
 * ovh's oauth2_config: with client_id and client_secret) gives its own
 * keys: they are options like the others. */
static int take_opts(const struct node *v, struct godoxy_cert *c, const char *path, struct gpc_error *err)
{
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		struct node *k = v->kids[i], *val = v->kids[i + 1];
		if (k->kind == N_SCALAR && val->kind == N_MAP) {
			if (take_opts(val, c, path, err) != 0)
				return -1;
			continue;
		}
		if (k->kind != N_SCALAR || val->kind != N_SCALAR) {
			/* the key only: the value may be a secret */
			gpc_error_set(err, GPC_E_USAGE, "%s:%d: autocert.options.%s must be a single value", path,
				      val->line, k->kind == N_SCALAR ? k->text : "?");
			return gpc_error_hint(err, "write it as KEY: VALUE");
		}
		int common = take_common(c, k, val, path, err);
		if (common < 0)
			return -1;
		if (common > 0)
			continue;
		struct godoxy_kv *nv = realloc(c->opts, (c->n_opts + 1) * sizeof(*nv));
		if (nv == NULL)
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		c->opts = nv;
		c->opts[c->n_opts].key = strdup(k->text);
		c->opts[c->n_opts].value = strdup(val->text);
		c->opts[c->n_opts].line = k->line;
		c->n_opts++;
	}
	return 0;
}

/* A Go duration (time.ParseDuration: 1m30s, 90s, 2m, 1.5h, 500ms), or a
 * bare number of seconds (lego's environment form), into milliseconds.
 * Returns 0 or -1. */
static int parse_duration_ms(const char *s, long *out)
{
	static const struct {
		const char *u;
		double ms;
	} units[] = { { "ns", 1e-6 }, { "us", 1e-3 }, { "\xc2\xb5s", 1e-3 }, { "ms", 1 },
		      { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	double total = 0;
	char *end;

	if (*s == '+')
		s++;
	if (*s == '\0' || *s == '-')
		return -1;
	if (strspn(s, "0123456789") == strlen(s)) {
		long v = strtol(s, &end, 10);
		if (v > 86400L * 365)
			return -1;
		*out = v * 1000;
		return 0;
	}
	while (*s) {
		if (!((*s >= '0' && *s <= '9') || *s == '.'))
			return -1;
		double v = strtod(s, &end);
		if (end == s)
			return -1;
		s = end;
		size_t best = 0, bl = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].u);
			if (strncmp(s, units[i].u, l) == 0 && l > bl) {
				best = i;
				bl = l;
			}
		}
		if (bl == 0)
			return -1;
		total += v * units[best].ms;
		s += bl;
	}
	if (total > 86400.0 * 365 * 1000)
		return -1;
	*out = (long)(total + 0.999);
	return 0;
}

/* certificate_key_type as GoDoxy reads it (EC256 ... RSA8192, any case,
 * lego's tokens P256, P384, 2048 ...), as goproxy-cert's key type. */
static int parse_key_type(const char *v, char **out, int line, const char *path, struct gpc_error *err)
{
	static const struct {
		const char *godoxy, *token, *ours;
	} kt[] = { { "ec256", "p256", "ec256" },       { "ec384", "p384", "ec384" },
		   { "rsa2048", "2048", "rsa2048" },   { "rsa3072", "3072", "rsa3072" },
		   { "rsa4096", "4096", "rsa4096" },   { "rsa8192", "8192", NULL } };
	char t[32];
	size_t n = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v && n + 1 < sizeof(t); v++)
		t[n++] = (char)((*v >= 'A' && *v <= 'Z') ? *v + 32 : *v);
	while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	t[n] = '\0';
	if (n == 0)
		return 0;
	for (size_t i = 0; i < sizeof(kt) / sizeof(kt[0]); i++) {
		if (strcmp(t, kt[i].godoxy) != 0 && strcmp(t, kt[i].token) != 0)
			continue;
		if (kt[i].ours == NULL) {
			gpc_error_set(err, GPC_E_USAGE, "%s:%d: certificate_key_type %s: GoDoxy accepts it, but "
				      "goproxy-cert makes only EC256, EC384, RSA2048, RSA3072 and RSA4096 keys", path,
				      line, t);
			return gpc_error_hint(err, "use RSA4096 (or EC384)");
		}
		free(*out);
		*out = strdup(kt[i].ours);
		return *out ? 0 : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	gpc_error_set(err, GPC_E_USAGE, "%s:%d: certificate_key_type '%s' is not one GoDoxy accepts", path, line, t);
	return gpc_error_hint(err, "use one of EC256 (the default), EC384, RSA2048, RSA3072, RSA4096");
}

/* lego's options common to every provider, out of `options:`. Returns 1
 * if key is one of them (taken), 0 if not, -1 on error. */
static int take_common(struct godoxy_cert *c, const struct node *k, const struct node *v, const char *path,
		       struct gpc_error *err)
{
	long *field = key_eq(k->text, "propagation_timeout") ? &c->propagation_timeout_ms
		      : key_eq(k->text, "polling_interval")  ? &c->polling_interval_ms
		      : key_eq(k->text, "sequence_interval") ? &c->sequence_interval_ms
							     : NULL;

	if (key_eq(k->text, "ttl")) {
		char *end;
		long t = strtol(v->text, &end, 10);
		if (end == v->text || *end != '\0' || t < 0 || t > 86400 * 7) {
			gpc_error_set(err, GPC_E_USAGE, "%s:%d: autocert.options.ttl '%s' is not a number of seconds",
				      path, v->line, v->text);
			return gpc_error_hint(err, "for example 'ttl: 120'");
		}
		c->ttl = t;
		c->ttl_line = v->line;
		return 1;
	}
	if (field == NULL)
		return 0;
	if (parse_duration_ms(v->text, field) != 0) {
		gpc_error_set(err, GPC_E_USAGE, "%s:%d: autocert.options.%s '%s' is not a duration", path, v->line,
			      k->text, v->text);
		return gpc_error_hint(err, "write it as Go (and GoDoxy) does: 90s, 2m, 1m30s (or a number of seconds)");
	}
	return 1;
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
	free(c->acme_key_path);
	free(c->key_type);
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

static int read_cert(const struct node *m, bool main_block, struct godoxy_cert *c, const char *path,
		     struct gpc_error *err)
{
	char *kt = NULL;
	const struct node *ktn = map_get(m, "certificate_key_type");

	c->line = m->line;
	if (check_keys(m, main_block, main_block ? "autocert" : "autocert.extra", path, err) != 0)
		return -1;
	if (get_str(m, "certificate_key_type", &kt, path, err) != 0)
		return -1;
	if (kt != NULL) {
		int r = parse_key_type(kt, &c->key_type, ktn->line, path, err);
		free(kt);
		if (r != 0)
			return -1;
	}
	if (get_str(m, "acme_key_path", &c->acme_key_path, path, err) ||
	    get_str(m, "provider", &c->provider, path, err) || get_str(m, "email", &c->email, path, err) ||
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
	    dup_str(&x->eab_kid, m->eab_kid) || dup_str(&x->eab_hmac, m->eab_hmac) ||
	    dup_str(&x->key_type, m->key_type) || dup_str(&x->acme_key_path, m->acme_key_path))
		return -1;
	if (!own_provider) {
		if (x->propagation_timeout_ms < 0)
			x->propagation_timeout_ms = m->propagation_timeout_ms;
		if (x->polling_interval_ms < 0)
			x->polling_interval_ms = m->polling_interval_ms;
		if (x->sequence_interval_ms < 0)
			x->sequence_interval_ms = m->sequence_interval_ms;
		if (x->ttl < 0) {
			x->ttl = m->ttl;
			x->ttl_line = m->ttl_line;
		}
	}
	/* the options belong to the provider: inherited only with it */
	if (!own_provider && x->n_opts == 0 && m->n_opts > 0) {
		x->opts = calloc(m->n_opts, sizeof(*x->opts));
		if (x->opts == NULL)
			return -1;
		for (size_t i = 0; i < m->n_opts; i++) {
			x->opts[i].key = strdup(m->opts[i].key);
			x->opts[i].value = strdup(m->opts[i].value);
			x->opts[i].line = m->opts[i].line;
			if (!x->opts[i].key || !x->opts[i].value)
				return -1;
			x->n_opts++;
		}
	}
	return 0;
}

char *godoxy_acme_key_default(const char *ca_dir_url, char *out, size_t outsz)
{
	unsigned char d[32];

	if (ca_dir_url == NULL || *ca_dir_url == '\0' ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, ca_dir_url, strlen(ca_dir_url), d) < 0) {
		snprintf(out, outsz, "certs/acme.key");
		return out;
	}
	snprintf(out, outsz, "certs/acme_%02x%02x%02x%02x%02x%02x%02x%02x.key", d[0], d[1], d[2], d[3], d[4], d[5],
		 d[6], d[7]);
	return out;
}

int godoxy_account_key_pem(const char *path, char **pem, struct gpc_error *err)
{
	struct buf b;
	gnutls_x509_privkey_t k = NULL;
	gnutls_datum_t in, out = { NULL, 0 };
	int ret, rc = -1;

	*pem = NULL;
	buf_init(&b, 64 * 1024);
	if (fs_read_file(path, 64 * 1024, &b, err) != 0)
		goto done;
	in.data = (unsigned char *)b.data;
	in.size = (unsigned)b.len;
	if (gnutls_x509_privkey_init(&k) < 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto done;
	}
	ret = gnutls_x509_privkey_import2(k, &in, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN);
	if (ret < 0)
		ret = gnutls_x509_privkey_import2(k, &in, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN);
	if (ret < 0) {
		gpc_error_set(err, GPC_E_USAGE, "%s: not a private key GoDoxy wrote (EC key, DER or PEM): %s", path,
			      gnutls_strerror(ret));
		gpc_error_hint(err, "point acme_key_path at GoDoxy's account key (certs/acme.key), or remove it to "
				    "register a new account");
		goto done;
	}
	if ((ret = gnutls_x509_privkey_export2_pkcs8(k, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &out)) < 0) {
		gpc_error_set(err, GPC_E_INTERNAL, "%s: exporting the key: %s", path, gnutls_strerror(ret));
		goto done;
	}
	if ((*pem = strndup((const char *)out.data, out.size)) == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto done;
	}
	rc = 0;
done:
	if (out.data) {
		memset(out.data, 0, out.size);
		gnutls_free(out.data);
	}
	if (k)
		gnutls_x509_privkey_deinit(k);
	if (b.data)
		memset(b.data, 0, b.len);
	buf_finish(&b);
	return rc;
}

/* The parent directory of path, created (0755) when missing. */
static int copy_parent(const char *path, struct gpc_error *err)
{
	char d[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (slash == NULL || slash == path)
		return 0;
	snprintf(d, sizeof(d), "%.*s", (int)(slash - path), path);
	return fs_mkdirs(d, 0755, 0, err);
}

/* path holds exactly b's bytes. */
static bool same_file(const char *path, const struct buf *b)
{
	struct buf f;
	struct gpc_error e;
	bool same;

	buf_init(&f, CERTSTORE_MAX_FILE);
	gpc_error_clear(&e);
	same = fs_read_file(path, CERTSTORE_MAX_FILE, &f, &e) == 0 && f.len == b->len &&
	       (f.len == 0 || memcmp(f.data, b->data, f.len) == 0);
	if (f.data)
		memset(f.data, 0, f.len);
	buf_finish(&f);
	return same;
}

void godoxy_write_copy(struct certstore *cs, const struct lineage *l)
{
	struct buf cert, key;
	struct gpc_error err;
	char tc[PATH_MAX] = "", tk[PATH_MAX] = "";

	if (l->copy_cert == NULL || l->copy_key == NULL)
		return;
	buf_init(&cert, CERTSTORE_MAX_FILE);
	buf_init(&key, CERTSTORE_MAX_FILE);
	gpc_error_clear(&err);
	if (certstore_read_pair(cs, l->name, &cert, &key, &err) == 0 && same_file(l->copy_cert, &cert) &&
	    same_file(l->copy_key, &key))
		goto done; /* already there (a run that found the lineage current) */
	if (err.code != NULL || copy_parent(l->copy_cert, &err) != 0 ||
	    copy_parent(l->copy_key, &err) != 0 ||
	    fs_stage(l->copy_key, key.data, key.len, 0600, tk, sizeof(tk), &err) != 0 ||
	    fs_stage(l->copy_cert, cert.data, cert.len, 0644, tc, sizeof(tc), &err) != 0 ||
	    fs_commit(tk, l->copy_key, &err) != 0 || (tk[0] = '\0', fs_commit(tc, l->copy_cert, &err) != 0)) {
		if (tk[0])
			unlink(tk);
		if (tc[0])
			unlink(tc);
		gpc_warn("%s: writing the pair to %s and %s (GoDoxy's cert_path/key_path) failed: %s; the new "
			 "certificate is in the certs directory", l->name, l->copy_cert, l->copy_key, err.message);
	} else {
		gpc_info("%s: also written to %s and %s", l->name, l->copy_cert, l->copy_key);
	}
done:
	if (key.data)
		memset(key.data, 0, key.len);
	buf_finish(&cert);
	buf_finish(&key);
}

/* Every option must be one of the provider's (a built-in DNS provider;
 * GoDoxy's "local" and "pseudo" take none that matter here): a typo is
 * named with its file and line, not later as a --dns-opt the user never
 * typed. */
static int check_opts(const struct godoxy_cert *c, const char *path, size_t i, struct gpc_error *err)
{
	const struct dns_provider_ops *p = dns_provider_find(c->provider);

	for (size_t k = 0; p != NULL && k < c->n_opts; k++) {
		char where[512];
		if (dns_opt_find(p, c->opts[k].key) != NULL)
			continue;
		if (i == 0)
			snprintf(where, sizeof(where), "%s:%d: autocert.options.%s", path, c->opts[k].line,
				 c->opts[k].key);
		else
			snprintf(where, sizeof(where), "%s:%d: autocert.extra[%zu].options.%s", path,
				 c->opts[k].line, i - 1, c->opts[k].key);
		return dns_opt_unknown(p, c->opts[k].key, where, err);
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
	if (substitute(ac, path, err) != 0)
		goto out;
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
	if (read_cert(ac, true, &out->certs[0], path, err) != 0)
		goto out;
	for (size_t i = 1; i < n; i++) {
		const struct node *x = extra->kids[i - 1];
		if (x->kind != N_MAP) {
			gpc_error_set(err, GPC_E_USAGE, "%s:%d: autocert.extra[%zu] is not a mapping", path, x->line, i - 1);
			gpc_error_hint(err, "each entry: '- cert_path: ...' with key_path, domains and so on");
			goto out;
		}
		if (read_cert(x, false, &out->certs[i], path, err) != 0)
			goto out;
		if (inherit(&out->certs[i], &out->certs[0]) != 0) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (check_opts(&out->certs[i], path, i, err) != 0)
			goto out;
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

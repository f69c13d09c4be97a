/* issue_dns: dns-01 options of issue, and --godoxy-config. */
#include "issue_dns.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dns.h"
#include "godoxy.h"

int cmd_issue(int argc, char **argv);

bool issue_dns_is_opt(int c)
{
	return c >= 512 && c <= 518;
}

static int secs(const char *opt, const char *v, int *out)
{
	long n;

	if (cli_parse_uint("issue", opt, v, 3600, &n) != 0)
		return EXIT_USAGE;
	if (n == 0)
		return cli_usage_error("issue", "%s: give 1 to 3600 seconds", opt);
	*out = (int)n;
	return 0;
}

int issue_dns_parse(int c, const char *arg, struct issue_dns_args *d)
{
	switch (c) {
	case 512: {
		char list[256];
		if (dns_provider_find(arg) == NULL)
			return cli_usage_error("issue", "--dns: '%s' is not a provider supported here (%s); the closest "
					       "is '%s'", arg, dns_provider_list(list, sizeof(list)),
					       dns_provider_closest(arg));
		d->provider = dns_provider_find(arg)->name;
		return 0;
	}
	case 513:
		if (d->n_opts >= ISSUE_DNS_MAX)
			return cli_usage_error("issue", "--dns-opt: at most %d", ISSUE_DNS_MAX);
		d->opts[d->n_opts++] = arg;
		return 0;
	case 514: {
		char host[96];
		unsigned port;
		if (dns_parse_hostport(arg, 53, host, sizeof(host), &port) != 0 || strspn(host, "0123456789abcdefABCDEF.:") != strlen(host))
			return cli_usage_error("issue", "--dns-resolver: '%s' is not ADDR[:PORT] (an IP address, "
					       "e.g. 1.1.1.1 or [2606:4700:4700::1111]:53)", arg);
		if (d->n_resolvers >= ISSUE_DNS_MAX)
			return cli_usage_error("issue", "--dns-resolver: at most %d", ISSUE_DNS_MAX);
		d->resolvers[d->n_resolvers++] = arg;
		return 0;
	}
	case 515: d->check = true; return secs("--dns-propagation-timeout", arg, &d->timeout);
	case 516: d->check = true; return secs("--dns-propagation-wait", arg, &d->wait);
	case 517: d->no_check = true; return 0;
	case 518: d->godoxy = arg; return 0;
	}
	return cli_usage_error("issue", "unknown option");
}

static const char *env_lookup(const char *name, void *ud)
{
	(void)ud;
	return getenv(name);
}

int issue_dns_apply(struct certstore *cs, const struct issue_dns_args *d, bool other_solver, struct lineage *l)
{
	struct gpc_error err;
	struct dns_options o = { 0 };
	const struct dns_provider_ops *p;
	int rc = EXIT_USAGE;

	gpc_error_clear(&err);
	if (d->no_check && d->check)
		return cli_usage_error("issue", "--no-dns-propagation-check goes with neither "
				       "--dns-propagation-timeout nor --dns-propagation-wait");
	if (d->provider && other_solver)
		return cli_usage_error("issue", "give only one of --dns, --http-dir, --webroot, --standalone, --hook");
	if (d->n_resolvers > 0) {
		for (size_t i = 0; i < l->n_dns_resolvers; i++)
			free(l->dns_resolvers[i]);
		free(l->dns_resolvers);
		l->n_dns_resolvers = 0;
		l->dns_resolvers = calloc(d->n_resolvers, sizeof(char *));
		if (l->dns_resolvers == NULL)
			goto oom;
		for (size_t i = 0; i < d->n_resolvers; i++)
			if ((l->dns_resolvers[l->n_dns_resolvers++] = strdup(d->resolvers[i])) == NULL)
				goto oom;
	}
	if (d->no_check) {
		l->dns_no_check = true;
		l->dns_timeout = l->dns_wait = 0;
	}
	if (d->check) {
		l->dns_no_check = false;
		l->dns_timeout = d->timeout;
		l->dns_wait = d->wait;
	}
	if (other_solver && !d->provider) {
		/* --hook etc. replace a stored provider */
		free(l->dns_provider);
		l->dns_provider = NULL;
		lineage_clear_dns_opts(l);
		return 0;
	}
	if (d->provider == NULL && d->n_opts == 0)
		return 0;
	if (d->provider == NULL && l->dns_provider == NULL)
		return cli_usage_error("issue", "--dns-opt needs --dns PROVIDER");
	if (d->provider != NULL && (l->dns_provider == NULL || strcmp(l->dns_provider, d->provider) != 0)) {
		/* another provider: its options only */
		lineage_clear_dns_opts(l);
		l->dns_secrets_loaded = true;
		if (lineage_set_str(&l->dns_provider, d->provider) != 0)
			goto oom;
	} else if (!l->dns_secrets_loaded && lineage_load_secrets(cs, l, &err) != 0) {
		cli_print_error(&err);
		return 1;
	}
	p = dns_provider_find(l->dns_provider);
	for (size_t i = 0; i < l->n_dns_opts; i++)
		if (dns_options_set(&o, l->dns_opts[i].key, l->dns_opts[i].value, l->dns_opts[i].secret) != 0)
			goto oom;
	if (dns_options_from_env(p, env_lookup, NULL, &o, &err) != 0)
		goto bad;
	for (size_t i = 0; i < d->n_opts; i++)
		if (dns_options_parse_arg(p, d->opts[i], &o, &err) != 0)
			goto bad;
	if (dns_options_validate(p, &o, &err) != 0)
		goto bad;
	lineage_clear_dns_opts(l);
	for (size_t i = 0; i < o.n; i++)
		if (lineage_set_dns_opt(l, o.v[i].key, o.v[i].value, o.v[i].secret) != 0)
			goto oom;
	l->dns_secrets_loaded = true;
	if (lineage_set_str(&l->solver, "dns") != 0 || lineage_set_str(&l->solver_arg, l->dns_provider) != 0 ||
	    lineage_set_str(&l->challenge, "dns-01") != 0)
		goto oom;
	rc = 0;
	goto out;
bad:
	cli_print_error(&err);
	rc = err.code && strcmp(err.code, GPC_E_USAGE) == 0 ? EXIT_USAGE : 1;
	goto out;
oom:
	fprintf(stderr, "%s: out of memory\n", cli.prog);
	rc = 1;
out:
	dns_options_finish(&o);
	return rc;
}

/* ---- --godoxy-config ---- */

struct argv_b {
	char **v;
	int n, cap;
};

static int push(struct argv_b *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		int nc = a->cap ? a->cap * 2 : 32;
		char **nv = realloc(a->v, (size_t)nc * sizeof(*nv));
		if (nv == NULL)
			return -1;
		a->v = nv;
		a->cap = nc;
	}
	if ((a->v[a->n] = strdup(s)) == NULL)
		return -1;
	a->n++;
	a->v[a->n] = NULL;
	return 0;
}

static void argv_free(struct argv_b *a)
{
	for (int i = 0; i < a->n; i++) {
		memset(a->v[i], 0, strlen(a->v[i]));
		free(a->v[i]);
	}
	free(a->v);
}

/* dir of path ("." when none) and its last component, into d and f. */
static void split(const char *path, char *d, size_t dsz, char *f, size_t fsz)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		snprintf(d, dsz, ".");
		snprintf(f, fsz, "%s", path);
	} else {
		snprintf(d, dsz, "%.*s", (int)(slash - path), path);
		snprintf(f, fsz, "%s", slash + 1);
	}
}

/* Where a GoDoxy cert_path/key_path pair lives in goproxy-cert's layout:
 * DIR/cert.crt + DIR/priv.key (lineage default of DIR) or
 * MAIN/NAME/cert.crt + MAIN/NAME/priv.key (lineage NAME of MAIN). */
static int layout(const char *file, const struct godoxy_cert *c, const char *main_dir, char *dir, size_t dirsz,
		  char *name, size_t namesz)
{
	const char *cp = c->cert_path ? c->cert_path : "certs/cert.crt";
	const char *kp = c->key_path ? c->key_path : "certs/priv.key";
	char cd[PATH_MAX], cf[256], kd[PATH_MAX], kf[256], up[PATH_MAX], base[256];

	split(cp, cd, sizeof(cd), cf, sizeof(cf));
	split(kp, kd, sizeof(kd), kf, sizeof(kf));
	if (strcmp(cf, "cert.crt") != 0 || strcmp(kf, "priv.key") != 0 || strcmp(cd, kd) != 0)
		return cli_usage_error("issue", "%s (line %d): cert_path %s and key_path %s: goproxy-cert keeps a pair "
				       "as DIR/cert.crt and DIR/priv.key (or DIR/NAME/cert.crt and DIR/NAME/priv.key)",
				       file, c->line, cp, kp);
	split(cd, up, sizeof(up), base, sizeof(base));
	if (main_dir != NULL && strcmp(up, main_dir) == 0 && certstore_valid_name(base)) {
		snprintf(dir, dirsz, "%s", main_dir);
		snprintf(name, namesz, "%s", base);
	} else {
		snprintf(dir, dirsz, "%s", cd);
		snprintf(name, namesz, "%s", CERTSTORE_DEFAULT);
	}
	return 0;
}

int issue_godoxy(const char *file, int argc, char **argv)
{
	struct godoxy_autocert a;
	struct gpc_error err;
	char main_dir[PATH_MAX] = "";
	int worst = 0;

	gpc_error_clear(&err);
	if (godoxy_load(file, &a, &err) != 0) {
		cli_print_error(&err);
		/* a config file that cannot be used is a usage error, whatever
		 * is wrong with it (missing, unreadable, YAML syntax, a bad
		 * value): 64, as for a bad option (goproxy-cert(1) EXIT STATUS) */
		return err.code && strcmp(err.code, GPC_E_NOMEM) == 0 ? 1 : EXIT_USAGE;
	}
	/* everything is checked before the first request */
	for (size_t i = 0; i < a.n; i++) {
		const struct godoxy_cert *c = &a.certs[i];
		char list[256], d[PATH_MAX], n[256];
		if (c->provider == NULL || dns_provider_find(c->provider) == NULL) {
			if (c->provider != NULL && strcmp(c->provider, "local") == 0)
				cli_usage_error("issue", "%s (line %d): provider local: GoDoxy uses the certificate at "
						"cert_path as it is; there is nothing to issue (goproxy-cert check -d DIR "
						"checks it)", file, c->line);
			else
				cli_usage_error("issue", "%s (line %d): provider '%s' is not supported here (%s); the closest "
						"is '%s'", file, c->line, c->provider ? c->provider : "(none)",
						dns_provider_list(list, sizeof(list)), dns_provider_closest(c->provider ? c->provider : ""));
			godoxy_finish(&a);
			return EXIT_USAGE;
		}
		if (c->n_domains == 0) {
			cli_usage_error("issue", "%s (line %d): no domains", file, c->line);
			godoxy_finish(&a);
			return EXIT_USAGE;
		}
		if (layout(file, c, i == 0 ? NULL : main_dir, d, sizeof(d), n, sizeof(n)) != 0) {
			godoxy_finish(&a);
			return EXIT_USAGE;
		}
		if (i == 0)
			snprintf(main_dir, sizeof(main_dir), "%s", d);
	}
	for (size_t i = 0; i < a.n; i++) {
		const struct godoxy_cert *c = &a.certs[i];
		struct argv_b v = { 0 };
		char d[PATH_MAX], n[256];
		int bad = 0, rc;

		(void)layout(file, c, i == 0 ? NULL : main_dir, d, sizeof(d), n, sizeof(n));
		bad |= push(&v, "issue") | push(&v, "-d") | push(&v, d) | push(&v, "-n") | push(&v, n);
		for (size_t k = 0; k < c->n_domains; k++)
			bad |= push(&v, "-D") | push(&v, c->domains[k]);
		bad |= push(&v, "--dns") | push(&v, c->provider);
		for (size_t k = 0; k < c->n_opts; k++) {
			char kv[4096];
			snprintf(kv, sizeof(kv), "%s=%s", c->opts[k].key, c->opts[k].value);
			bad |= push(&v, "--dns-opt") | push(&v, kv);
			memset(kv, 0, sizeof(kv));
		}
		for (size_t k = 0; k < c->n_resolvers; k++)
			bad |= push(&v, "--dns-resolver") | push(&v, c->resolvers[k]);
		if (c->email)
			bad |= push(&v, "-m") | push(&v, c->email);
		if (c->ca_dir_url)
			bad |= push(&v, "--server") | push(&v, c->ca_dir_url);
		if (c->n_ca_certs > 0)
			bad |= push(&v, "--ca-bundle") | push(&v, c->ca_certs[0]);
		if (c->eab_kid && c->eab_hmac)
			bad |= push(&v, "--eab-kid") | push(&v, c->eab_kid) | push(&v, "--eab-hmac") | push(&v, c->eab_hmac);
		/* the command line's own options come last: they win */
		for (int k = 1; k < argc; k++) {
			if (strcmp(argv[k], "--godoxy-config") == 0) {
				k++;
				continue;
			}
			if (strncmp(argv[k], "--godoxy-config=", 16) == 0)
				continue;
			bad |= push(&v, argv[k]);
		}
		if (bad) {
			argv_free(&v);
			godoxy_finish(&a);
			fprintf(stderr, "%s: out of memory\n", cli.prog);
			return 1;
		}
		rc = cmd_issue(v.n, v.v);
		argv_free(&v);
		if (rc == EXIT_USAGE || (rc == 1 && worst != EXIT_USAGE) || (rc == EXIT_DEFER && worst == 0))
			worst = rc;
	}
	godoxy_finish(&a);
	return worst;
}

/* issue_dns: the dns-01 options of issue and renew. */
#include "issue_dns.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dns.h"

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
		char list[1024];
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
	/* a provider answers dns-01, or dns-account-01 when that was asked for */
	if (lineage_set_str(&l->solver, "dns") != 0 || lineage_set_str(&l->solver_arg, l->dns_provider) != 0 ||
	    ((l->challenge == NULL || strcmp(l->challenge, "dns-account-01") != 0) &&
	     lineage_set_str(&l->challenge, "dns-01") != 0))
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

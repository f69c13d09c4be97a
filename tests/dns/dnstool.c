/* dnstool: drive lib/dns directly from the dns tests (not installed).
 *
 *   dnstool [-r RESOLVER]... [-o KEY=VALUE]... [-v] present|cleanup PROVIDER DOMAIN VALUE
 *   dnstool [-r RESOLVER]... [-t SECONDS] [-v] check DOMAIN VALUE [DOMAIN VALUE]...
 *   dnstool [-r RESOLVER]... target DOMAIN        prints "FQDN ZONE"
 *   dnstool [-o KEY=VALUE]... validate PROVIDER    exit 64 on a usage error
 *   dnstool list        every provider: "provider NAME [ALIAS]...", then
 *                       "option NAME ENV [ENV_ALT]" for each of its options
 *
 * Options come from the environment (lego's names, NAME_FILE) and -o, as
 * goproxy-cert issue takes them. Errors print "error: MESSAGE" and
 * "hint: HINT" on stderr; exit 1 (64 for usage errors). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"

static void log_cb(enum gpc_log_level level, const char *msg, void *ud)
{
	(void)ud;
	fprintf(stderr, "%s: %s\n", level <= GPC_LOG_WARN ? "warning" : "log", msg);
}

static const char *env_cb(const char *name, void *ud)
{
	(void)ud;
	return getenv(name);
}

static int fail(const struct gpc_error *e)
{
	fprintf(stderr, "error: %s\n", e->message);
	if (e->hint[0])
		fprintf(stderr, "hint: %s\n", e->hint);
	return e->code && strcmp(e->code, GPC_E_USAGE) == 0 ? 64 : 1;
}

int main(int argc, char **argv)
{
	char *resolvers[8];
	const char *optv[32];
	size_t nr = 0, no = 0;
	struct dns_check_opts co;
	struct gpc_error err;
	int c, verbose = 0;

	memset(&co, 0, sizeof(co));
	gpc_error_clear(&err);
	while ((c = getopt(argc, argv, "r:o:t:v")) != -1) {
		switch (c) {
		case 'r': if (nr < 8) resolvers[nr++] = optarg; break;
		case 'o': if (no < 32) optv[no++] = optarg; break;
		case 't': co.timeout_secs = atoi(optarg); break;
		case 'v': verbose++; break;
		default: return 64;
		}
	}
	gpc_log_set_handler(log_cb, NULL, verbose > 1 ? GPC_LOG_DEBUG : verbose ? GPC_LOG_INFO : GPC_LOG_NOTE);
	co.resolvers = resolvers;
	co.n_resolvers = nr;
	co.query_timeout_ms = 1000;
	if (optind >= argc)
		return 64;
	const char *cmd = argv[optind++];
	if (strcmp(cmd, "list") == 0) {
		for (const struct dns_provider_ops *const *p = dns_providers(); *p; p++) {
			printf("provider %s", (*p)->name);
			for (size_t k = 0; k < 3 && (*p)->aliases[k]; k++)
				printf(" %s", (*p)->aliases[k]);
			printf("\n");
			for (size_t i = 0; i < (*p)->n_opts; i++)
				printf("option %s %s%s%s\n", (*p)->opts[i].name, (*p)->opts[i].env,
				       (*p)->opts[i].env_alt ? " " : "", (*p)->opts[i].env_alt ? (*p)->opts[i].env_alt : "");
		}
		return 0;
	}
	if (strcmp(cmd, "target") == 0 && optind < argc) {
		char *fqdn, *zone;
		if (dns_find_target(&co, argv[optind], &fqdn, &zone, &err) != 0)
			return fail(&err);
		printf("%s %s\n", fqdn, zone);
		free(fqdn);
		free(zone);
		return 0;
	}
	if (strcmp(cmd, "check") == 0) {
		struct dns_expect e[16];
		char *names[16] = { 0 }, *zones[16] = { 0 };
		size_t n = 0;
		int rc = 0;
		for (; optind + 1 < argc && n < 16; optind += 2, n++) {
			if (dns_find_target(&co, argv[optind], &names[n], &zones[n], &err) != 0)
				return fail(&err);
			e[n].fqdn = names[n];
			e[n].zone = zones[n];
			e[n].value = argv[optind + 1];
		}
		if (dns_propagation_check(&co, e, n, &err) != 0)
			rc = fail(&err);
		for (size_t i = 0; i < n; i++) {
			free(names[i]);
			free(zones[i]);
		}
		return rc;
	}
	if ((strcmp(cmd, "present") == 0 || strcmp(cmd, "cleanup") == 0 || strcmp(cmd, "validate") == 0) &&
	    optind < argc) {
		const struct dns_provider_ops *ops = dns_provider_find(argv[optind]);
		struct dns_options o = { 0 };
		struct dns_provider *p = NULL;
		int rc = 1;
		if (ops == NULL) {
			fprintf(stderr, "error: unknown provider %s (closest: %s)\n", argv[optind],
				dns_provider_closest(argv[optind]));
			return 64;
		}
		if (dns_options_from_env(ops, env_cb, NULL, &o, &err) != 0)
			goto done;
		for (size_t i = 0; i < no; i++)
			if (dns_options_parse_arg(ops, optv[i], &o, &err) != 0)
				goto done;
		if (dns_options_validate(ops, &o, &err) != 0)
			goto done;
		if (strcmp(cmd, "validate") == 0) {
			for (size_t i = 0; i < o.n; i++)
				printf("%s=%s\n", o.v[i].key, o.v[i].secret ? "(secret)" : o.v[i].value);
			rc = 0;
			goto done;
		}
		if (optind + 2 >= argc) {
			rc = 64;
			goto done;
		}
		const char *domain = argv[optind + 1], *value = argv[optind + 2];
		char *fqdn = NULL, *zone = NULL;
		if (dns_find_target(&co, domain, &fqdn, &zone, &err) != 0)
			goto done;
		struct dns_record r = { .domain = domain, .fqdn = fqdn, .zone = zone, .value = value };
		if (dns_provider_new(ops, &o, &p, &err) == 0) {
			if (strcmp(cmd, "present") == 0)
				rc = dns_provider_present(p, &r, &err);
			else
				rc = dns_provider_cleanup(p, &r, &err);
			if (rc == 0) {
				char *t = dns_provider_target(p, &r);
				printf("%s %s %s\n", cmd, t ? t : fqdn, zone);
				free(t);
			}
		} else {
			rc = -1;
		}
		free(fqdn);
		free(zone);
	done:
		dns_provider_free(p);
		dns_options_finish(&o);
		if (rc != 0 && rc != 64)
			return fail(&err);
		return rc;
	}
	return 64;
}

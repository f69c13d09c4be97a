/* goproxy-cert persist-record: the dns-persist-01 TXT record(s) to create
 * once for the account of a CA (draft-ietf-acme-dns-persist), in zone-file
 * form or JSON. Registers the account when it has none yet, as issue does;
 * orders nothing and writes no DNS. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "account.h"
#include "cli.h"
#include "issue.h"
#include "issue_dns.h"
#include "issue_opts.h"
#include "lineage.h"
#include "log.h"
#include "persist.h"
#include "timeutil.h"

static const char usage_text[] =
	"usage: goproxy-cert persist-record [-D NAME]... [-d DIR] [-n LINEAGE] [--server URL] [options]\n"
	"Print the dns-persist-01 TXT record to create once for each name: it authorizes this\n"
	"certs directory's account at the CA for the name, so issue --challenge dns-persist-01 and\n"
	"every renewal need no DNS write. Registers the account if needed; orders nothing.\n"
	"\n"
	"  -D, --domain NAME        a name (*.NAME: the record says policy=wildcard); repeat;\n"
	"                           default: the names of lineage -n\n"
	"      --wildcard           policy=wildcard on every record (NAME and *.NAME)\n"
	"      --persist-until TIME the record lapses at TIME (Unix seconds or RFC 3339 UTC)\n"
	"      --dns PROVIDER       also create the record(s) once through this provider (any of\n"
	"                           issue --dns but acmedns and duckdns; its options); nothing\n"
	"                           about it is stored, renewals never write DNS\n"
	"      --dns-opt KEY=VALUE  a provider option   --dns-resolver ADDR[:PORT]  to find the zone\n"
	"  -d, --certs-dir DIR   -n, --name LINEAGE   --server URL   --staging   --ca-bundle FILE\n"
	"  -m, --email ADDR      --eab-kid ID --eab-hmac KEY   --json\n"
	"  -q, --quiet   -v, --verbose   -h, --help\n"
	STOREOPT_HELP;

enum { O_JSON = 256, O_WILDCARD, O_UNTIL };

static const struct option longopts[] = {
	{ "domain", required_argument, NULL, 'D' },
	{ "certs-dir", required_argument, NULL, 'd' },
	{ "name", required_argument, NULL, 'n' },
	ACCT_LONGOPTS,
	{ "json", no_argument, NULL, O_JSON },
	{ "wildcard", no_argument, NULL, O_WILDCARD },
	{ "persist-until", required_argument, NULL, O_UNTIL },
	{ "dns", required_argument, NULL, 512 },
	{ "dns-opt", required_argument, NULL, 513 },
	{ "dns-resolver", required_argument, NULL, 514 },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	STOREOPT_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

/* Unix seconds or RFC 3339. Returns 0 or -1. */
static int parse_until(const char *s, time_t *t)
{
	char *end;
	long long v;

	if (*s != '\0' && strspn(s, "0123456789") == strlen(s)) {
		v = strtoll(s, &end, 10);
		if (*end != '\0' || v <= 0)
			return -1;
		*t = (time_t)v;
		return 0;
	}
	return time_parse_rfc3339(s, t);
}

/* A TXT value in zone-file form: quoted strings of at most 255 bytes. */
static void print_txt(const char *v)
{
	size_t n = strlen(v);

	for (size_t off = 0; off < n || off == 0; off += 255) {
		printf("%s\"%.*s\"", off ? " " : "", (int)(n - off > 255 ? 255 : n - off), v + off);
		if (n == 0)
			break;
	}
}

/* What the command line asked for (pointers into argv). */
struct persist_args {
	const char *dir, *name;
	struct acct_opts ao;
	const char *domains[LINEAGE_MAX_NAMES];
	size_t nd;
	bool json, wildcard;
	time_t until;
	struct issue_dns_args dargs;
};

/* One option into a. Returns 0, -2 (--help printed) or an exit code. */
static int parse_one(int ch, struct persist_args *a)
{
	switch (ch) {
	case 'D':
		if (a->nd == LINEAGE_MAX_NAMES)
			return cli_usage_error("persist-record", "more than %d names", LINEAGE_MAX_NAMES);
		a->domains[a->nd++] = optarg;
		break;
	case 'd': a->dir = optarg; break;
	case 'n': a->name = optarg; break;
	case 'q': cli.quiet = true; break;
	case 'v': cli.verbose++; break;
	case 'h': fputs(usage_text, stdout); return -2;
	case O_JSON: a->json = true; break;
	case O_WILDCARD: a->wildcard = true; break;
	case O_UNTIL:
		if (parse_until(optarg, &a->until) != 0)
			return cli_usage_error("persist-record", "--persist-until: '%s' is neither Unix seconds "
					       "nor an RFC 3339 time (2027-06-01T00:00:00Z)", optarg);
		break;
	default:
		if (issue_dns_is_opt(ch))
			return issue_dns_parse(ch, optarg, &a->dargs);
		if (acct_opts_take(&a->ao, ch, optarg) || storeopt_take(&cli_store, ch, optarg))
			break;
		return cli_usage_error("persist-record", "unknown option");
	}
	return 0;
}

/* Options, then the checks that need no store. Returns 0, -2 (--help
 * printed) or an exit code. */
static int parse_args(int argc, char **argv, struct persist_args *a)
{
	const char *prov;
	int ch, r;

	optind = 1;
	if (cli_exact_options("persist-record", argc, argv, "D:d:n:m:qvh", longopts) != 0)
		return EXIT_USAGE;
	while ((ch = getopt_long(argc, argv, "D:d:n:m:qvh", longopts, NULL)) != -1)
		if ((r = parse_one(ch, a)) != 0)
			return r;
	cli_log_init();
	prov = a->dargs.provider;
	if (optind != argc)
		return cli_usage_error("persist-record", "unexpected argument '%s' (names go with -D)", argv[optind]);
	if (!certstore_valid_name(a->name))
		return cli_usage_error("persist-record", "-n: '%s' is not a valid lineage name", a->name);
	if (acct_opts_check("persist-record", &a->ao) != 0)
		return EXIT_USAGE;
	if (prov != NULL && (strcmp(prov, "acmedns") == 0 || strcmp(prov, "duckdns") == 0))
		return cli_usage_error("persist-record", "--dns %s: %s writes only _acme-challenge records, not a "
				       "dns-persist-01 record; create it by hand, or with a provider that writes any TXT "
				       "record (rfc2136, pdns, cloudflare, ...)", prov, prov);
	return 0;
}

/* The names given with -D as issue takes them (checked, lower case,
 * sorted) into a->domains; *given keeps them. Returns 0 or an exit code. */
static int check_names(struct persist_args *a, struct lineage **given)
{
	struct gpc_error err;

	gpc_error_clear(&err);
	if (a->nd == 0)
		return 0;
	*given = lineage_new(a->name);
	if (*given == NULL || lineage_set_names(*given, (char *const *)a->domains, a->nd, &err) != 0) {
		cli_print_error(&err);
		return *given == NULL ? 1 : EXIT_USAGE;
	}
	for (size_t i = 0; i < (*given)->n_names; i++)
		a->domains[i] = (*given)->names[i];
	a->nd = (*given)->n_names;
	return 0;
}

/* Create (with a provider) and print the records. Returns 0 or -1. */
static int emit_records(const struct persist_args *a, const struct lineage *pub, const struct persist_record *r,
			size_t n, struct gpc_error *err)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		if (pub != NULL) {
			char *where = NULL;
			if (persist_publish(pub, r[i].ident, r[i].value, &where, err) != 0) {
				json_object_put(arr);
				return -1;
			}
			if (!cli.quiet)
				fprintf(stderr, "%s: created %s IN TXT \"%s\" through %s\n", cli.prog, where, r[i].value,
					pub->dns_provider);
			free(where);
		}
		if (a->json) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "name", json_object_new_string(r[i].name));
			json_object_object_add(o, "type", json_object_new_string("TXT"));
			json_object_object_add(o, "value", json_object_new_string(r[i].value));
			json_object_array_add(arr, o);
		} else {
			printf("%s IN TXT ", r[i].name);
			print_txt(r[i].value);
			printf("\n");
		}
	}
	if (a->json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return 0;
}

int cmd_persist(int argc, char **argv)
{
	struct persist_args a = { .name = CERTSTORE_DEFAULT };
	struct certstore *cs = NULL;
	struct lineage *l = NULL, *given = NULL, *pub = NULL;
	struct issue_env env;
	bool env_ok = false;
	struct persist_record *recs = NULL;
	size_t nrecs = 0;
	struct gpc_error err;
	int rc;

	gpc_error_clear(&err);
	if ((rc = parse_args(argc, argv, &a)) != 0)
		return rc == -2 ? 0 : rc;
	if ((rc = check_names(&a, &given)) != 0)
		goto out;
	if ((rc = issue_store_conflict("persist-record", a.dir)) != 0)
		goto out;
	rc = 1;
	cs = issue_open_store(a.dir, true);
	if (cs == NULL)
		goto out;
	if (lineage_load(cs, a.name, &l, &err) != 0)
		l = NULL;
	gpc_error_clear(&err);
	if (a.nd == 0 && l != NULL)
		for (size_t i = 0; i < l->n_names && a.nd < LINEAGE_MAX_NAMES; i++)
			a.domains[a.nd++] = l->names[i];
	if (a.nd == 0) {
		rc = cli_usage_error("persist-record", "give the names with -D NAME (lineage '%s' has none stored)", a.name);
		goto out;
	}
	a.ao.server = account_ca_url(a.ao.server, a.ao.staging, l ? l->ca_url : NULL);
	if (a.ao.ca_bundle == NULL && l != NULL)
		a.ao.ca_bundle = l->ca_bundle;
	if (issue_opts_env_init(&env, cs) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	env_ok = true;
	struct account_params p = { .server = a.ao.server, .ca_bundle = a.ao.ca_bundle, .email = a.ao.email,
				    .eab_kid = a.ao.eab_kid, .eab_hmac = a.ao.eab_hmac };
	if (persist_records(&env, &p, a.domains, a.nd, a.wildcard, a.until, &recs, &nrecs, &err) != 0)
		goto fail;
	if (a.dargs.provider != NULL || a.dargs.n_opts > 0) {
		/* the provider's options as issue --dns takes them, checked before anything is written */
		if ((pub = lineage_new(a.name)) == NULL) {
			gpc_error_set(&err, GPC_E_NOMEM, "out of memory");
			goto fail;
		}
		if ((rc = issue_dns_apply(cs, &a.dargs, false, pub)) != 0)
			goto out;
		rc = 1;
	}
	if (emit_records(&a, pub, recs, nrecs, &err) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	rc = issue_error_exit(&err);
out:
	persist_records_free(recs, nrecs);
	if (env_ok)
		issue_env_finish(&env);
	lineage_free(l);
	lineage_free(given);
	lineage_free(pub);
	certstore_free(cs);
	return rc;
}

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

#include "acme.h"
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
	"      --dns PROVIDER       also create the record(s) once through this provider (rfc2136,\n"
	"                           pdns, cloudflare, hetzner; options as for issue --dns); nothing\n"
	"                           about it is stored, renewals never write DNS\n"
	"      --dns-opt KEY=VALUE  a provider option   --dns-resolver ADDR[:PORT]  to find the zone\n"
	"  -d, --certs-dir DIR   -n, --name LINEAGE   --server URL   --staging   --ca-bundle FILE\n"
	"  -m, --email ADDR      --eab-kid ID --eab-hmac KEY   --json\n"
	"  -q, --quiet   -v, --verbose   -h, --help\n"
	STOREOPT_HELP;

enum { O_SERVER = 256, O_STAGING, O_CA_BUNDLE, O_EAB_KID, O_EAB_HMAC, O_JSON, O_WILDCARD, O_UNTIL };

static const struct option longopts[] = {
	{ "domain", required_argument, NULL, 'D' },
	{ "certs-dir", required_argument, NULL, 'd' },
	{ "name", required_argument, NULL, 'n' },
	{ "server", required_argument, NULL, O_SERVER },
	{ "staging", no_argument, NULL, O_STAGING },
	{ "ca-bundle", required_argument, NULL, O_CA_BUNDLE },
	{ "email", required_argument, NULL, 'm' },
	{ "eab-kid", required_argument, NULL, O_EAB_KID },
	{ "eab-hmac", required_argument, NULL, O_EAB_HMAC },
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

int cmd_persist(int argc, char **argv)
{
	const char *dir = NULL, *name = CERTSTORE_DEFAULT, *server = NULL, *ca_bundle = NULL;
	const char *email = NULL, *eab_kid = NULL, *eab_hmac = NULL;
	const char *domains[LINEAGE_MAX_NAMES];
	size_t nd = 0;
	bool staging = false, json = false, wildcard = false;
	time_t until = 0;
	struct certstore *cs = NULL;
	struct lineage *l = NULL, *given = NULL;
	struct issue_env env;
	bool env_ok = false;
	struct acme_client *c = NULL;
	struct gpc_error err;
	struct json_object *arr = NULL;
	struct issue_dns_args dargs;
	struct lineage *pub = NULL;
	int ch, rc = EXIT_USAGE;

	memset(&dargs, 0, sizeof(dargs));

	gpc_error_clear(&err);
	optind = 1;
	if (cli_exact_options("persist-record", argc, argv, "D:d:n:m:qvh", longopts) != 0)
		return EXIT_USAGE;
	while ((ch = getopt_long(argc, argv, "D:d:n:m:qvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D':
			if (nd == LINEAGE_MAX_NAMES)
				return cli_usage_error("persist-record", "more than %d names", LINEAGE_MAX_NAMES);
			domains[nd++] = optarg;
			break;
		case 'd': dir = optarg; break;
		case 'n': name = optarg; break;
		case 'm': email = optarg; break;
		case 'q': cli.quiet = true; break;
		case 'v': cli.verbose++; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case O_SERVER: server = optarg; break;
		case O_STAGING: staging = true; break;
		case O_CA_BUNDLE: ca_bundle = optarg; break;
		case O_EAB_KID: eab_kid = optarg; break;
		case O_EAB_HMAC: eab_hmac = optarg; break;
		case O_JSON: json = true; break;
		case O_WILDCARD: wildcard = true; break;
		case O_UNTIL:
			if (parse_until(optarg, &until) != 0)
				return cli_usage_error("persist-record", "--persist-until: '%s' is neither Unix seconds "
						       "nor an RFC 3339 time (2027-06-01T00:00:00Z)", optarg);
			break;
		default:
			if (issue_dns_is_opt(ch)) {
				int r = issue_dns_parse(ch, optarg, &dargs);
				if (r != 0)
					return r;
				break;
			}
			if (storeopt_take(&cli_store, ch, optarg))
				break;
			return cli_usage_error("persist-record", "unknown option");
		}
	}
	cli_log_init();
	if (optind != argc)
		return cli_usage_error("persist-record", "unexpected argument '%s' (names go with -D)", argv[optind]);
	if (!certstore_valid_name(name))
		return cli_usage_error("persist-record", "-n: '%s' is not a valid lineage name", name);
	if ((eab_kid == NULL) != (eab_hmac == NULL))
		return cli_usage_error("persist-record", "--eab-kid and --eab-hmac go together");
	if (dargs.provider != NULL && (strcmp(dargs.provider, "acmedns") == 0 || strcmp(dargs.provider, "duckdns") == 0))
		return cli_usage_error("persist-record", "--dns %s: %s writes only _acme-challenge records, not a "
				       "dns-persist-01 record; create it by hand, or with rfc2136, pdns, cloudflare or "
				       "hetzner", dargs.provider, dargs.provider);
	if (nd > 0) {
		/* the names as issue takes them: checked, lower case, sorted */
		given = lineage_new(name);
		if (given == NULL || lineage_set_names(given, (char *const *)domains, nd, &err) != 0) {
			cli_print_error(&err);
			lineage_free(given);
			return given == NULL ? 1 : EXIT_USAGE;
		}
		for (size_t i = 0; i < given->n_names; i++)
			domains[i] = given->names[i];
		nd = given->n_names;
	}
	if ((rc = issue_store_conflict("persist-record", dir)) != 0)
		return rc;
	rc = 1;
	cs = issue_open_store(dir, true);
	if (cs == NULL)
		goto out;
	if (lineage_load(cs, name, &l, &err) != 0)
		l = NULL;
	gpc_error_clear(&err);
	if (nd == 0 && l != NULL)
		for (size_t i = 0; i < l->n_names && nd < LINEAGE_MAX_NAMES; i++)
			domains[nd++] = l->names[i];
	if (nd == 0) {
		rc = cli_usage_error("persist-record", "give the names with -D NAME (lineage '%s' has none stored)", name);
		goto out;
	}
	if (server == NULL)
		server = staging ? ACME_LE_STAGING : (l && l->ca_url && !getenv("GOPROXY_CERT_SERVER")) ?
			 l->ca_url : cli_default_server();
	if (ca_bundle == NULL)
		ca_bundle = getenv("GOPROXY_CERT_CA_BUNDLE") && *getenv("GOPROXY_CERT_CA_BUNDLE") ?
			    getenv("GOPROXY_CERT_CA_BUNDLE") : (l ? l->ca_bundle : NULL);
	if (email == NULL)
		email = getenv("GOPROXY_CERT_EMAIL");
	if (email != NULL && *email == '\0')
		email = NULL;
	if (issue_opts_env_init(&env, cs) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	env_ok = true;
	if (issue_account_client(&env, server, ca_bundle, email, eab_kid, eab_hmac, true, &c, &err) != 0)
		goto fail;
	if (dargs.provider != NULL || dargs.n_opts > 0) {
		/* the provider's options as issue --dns takes them, checked before anything is written */
		pub = lineage_new(name);
		if (pub == NULL) {
			gpc_error_set(&err, GPC_E_NOMEM, "out of memory");
			goto fail;
		}
		if ((rc = issue_dns_apply(cs, &dargs, false, pub)) != 0)
			goto out;
		rc = 1;
	}
	const char *issuer = acme_client_directory(c)->caa_identity;
	if (issuer == NULL) {
		gpc_error_set(&err, GPC_E_CA, "%s: the directory names no issuer domain (meta.caaIdentities): this CA "
			      "does not say what a dns-persist-01 record must name", server);
		gpc_error_hint(&err, "use --challenge dns-01 or http-01 with this CA");
		goto fail;
	}
	arr = json_object_new_array();
	for (size_t i = 0; i < nd; i++) {
		bool wild = wildcard || strncmp(domains[i], "*.", 2) == 0;
		bool covered = false; /* NAME next to *.NAME: the wildcard's record serves both */
		for (size_t k = 0; k < nd && !wild; k++)
			covered |= strncmp(domains[k], "*.", 2) == 0 && strcmp(domains[k] + 2, domains[i]) == 0;
		if (covered)
			continue;
		char *fqdn = persist_record_name(domains[i]);
		char *value = persist_record_value(issuer, acme_client_kid(c), wild, until);
		if (fqdn == NULL || value == NULL) {
			free(fqdn);
			free(value);
			gpc_error_set(&err, GPC_E_NOMEM, "out of memory");
			goto fail;
		}
		if (pub != NULL) {
			char *where = NULL;
			if (persist_publish(pub, domains[i], value, &where, &err) != 0) {
				free(fqdn);
				free(value);
				goto fail;
			}
			if (!cli.quiet)
				fprintf(stderr, "%s: created %s IN TXT \"%s\" through %s\n", cli.prog, where, value,
					pub->dns_provider);
			free(where);
		}
		if (json) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "name", json_object_new_string(fqdn));
			json_object_object_add(o, "type", json_object_new_string("TXT"));
			json_object_object_add(o, "value", json_object_new_string(value));
			json_object_array_add(arr, o);
		} else {
			printf("%s IN TXT ", fqdn);
			print_txt(value);
			printf("\n");
		}
		free(fqdn);
		free(value);
	}
	if (json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	rc = 0;
	goto out;
fail:
	cli_print_error(&err);
	rc = issue_exit_code(issue_classify(&err));
	if (rc == 0 || rc == EXIT_USAGE)
		rc = 1;
out:
	json_object_put(arr);
	acme_client_free(c);
	if (env_ok)
		issue_env_finish(&env);
	lineage_free(l);
	lineage_free(given);
	lineage_free(pub);
	certstore_free(cs);
	return rc;
}

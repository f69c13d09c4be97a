/* issue_opts: shared helpers of issue, renew, revoke, account, persist-record. */
#include "issue_opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "acme.h"
#include "cli.h"
#include "fsutil.h"
#include "timeutil.h"

struct storeopt cli_store;
static int open_store_exit = 1;

int issue_store_exit(void)
{
	return open_store_exit;
}

struct certstore *issue_open_store(const char *dir, bool create)
{
	struct certstore *cs = NULL;
	struct gpc_error err;
	const char *d = certstore_default_dir(dir);
	struct stat st;

	gpc_error_clear(&err);
	if (storeopt_url(&cli_store) != NULL) {
		if (storeopt_open(&cli_store, dir, &cs, &err) != 0) {
			cli_print_error(&err);
			return NULL;
		}
		return cs;
	}
	if (create && stat(d, &st) != 0 && errno == ENOENT && fs_mkdirs(d, 0755, 0, &err) != 0) {
		cli_print_error(&err);
		return NULL;
	}
	if (storeopt_open(&cli_store, d, &cs, &err) != 0) {
		cli_print_error(&err);
		return NULL;
	}
	/* a directory another user controls: refused before anything in it
	 * is read (goproxy-cert(5)), exit 2 as check says of a broken store */
	if (certstore_check_trust(cs, &err) != 0) {
		cli_print_error(&err);
		certstore_free(cs);
		open_store_exit = EXIT_BAD;
		return NULL;
	}
	return cs;
}

int issue_store_conflict(const char *sub, const char *dir)
{
	const char *url = storeopt_url(&cli_store);

	if (url == NULL || dir == NULL)
		return 0;
	return cli_usage_error(sub, "-d %s and --store %s (or $GOPROXY_CERT_STORE) name two stores; give "
				    "one (GOPROXY_CERT_STORE= for the directory)", dir, url);
}

bool acct_opts_take(struct acct_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'm': o->email = arg; break;
	case ACCT_O_SERVER: o->server = arg; break;
	case ACCT_O_STAGING: o->staging = true; break;
	case ACCT_O_CA_BUNDLE: o->ca_bundle = arg; break;
	case ACCT_O_EAB_KID: o->eab_kid = arg; break;
	case ACCT_O_EAB_HMAC: o->eab_hmac = arg; break;
	default: return false;
	}
	return true;
}

int acct_opts_check(const char *sub, struct acct_opts *o)
{
	const char *bundle = getenv("GOPROXY_CERT_CA_BUNDLE");

	if ((o->eab_kid == NULL) != (o->eab_hmac == NULL))
		return cli_usage_error(sub, "--eab-kid and --eab-hmac go together");
	if (o->email == NULL)
		o->email = getenv("GOPROXY_CERT_EMAIL");
	if (o->email != NULL && *o->email == '\0')
		o->email = NULL;
	if (o->ca_bundle == NULL && bundle != NULL && *bundle != '\0')
		o->ca_bundle = bundle;
	return 0;
}

int issue_exit_code(enum issue_result r)
{
	switch (r) {
	case ISSUE_CURRENT:
	case ISSUE_ISSUED: return 0;
	case ISSUE_FAILED: return 1;
	case ISSUE_DEFERRED: return EXIT_DEFER;
	case ISSUE_USAGE: return EXIT_USAGE;
	}
	return 1;
}

int issue_error_exit(const struct gpc_error *err)
{
	int rc = issue_exit_code(issue_classify(err));

	cli_print_error(err);
	return rc == 0 || rc == EXIT_USAGE ? 1 : rc;
}

bool issue_opts_ephemeral_ok_env(void)
{
	const char *v = getenv("GOPROXY_CERT_EPHEMERAL_OK");

	return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

int issue_opts_ack_ephemeral(struct certstore *cs)
{
	struct gpc_error err;
	static const char text[] = "the certs directory is meant to be temporary: no persistence warning "
				   "(goproxy-cert --ephemeral-ok)\n";

	gpc_error_clear(&err);
	if (certstore_shared(cs))
		return 0;
	if (certstore_state_write(cs, ISSUE_EPHEMERAL_OK_RECORD, text, sizeof(text) - 1, &err) != 0) {
		cli_print_error(&err);
		return -1;
	}
	return 0;
}

int issue_opts_env_init(struct issue_env *env, struct certstore *cs)
{
	const char *t = getenv("GOPROXY_CERT_TIMEOUT");
	long secs = 0;

	if (t != NULL && *t != '\0') {
		char *end;
		errno = 0;
		secs = strtol(t, &end, 10);
		if (errno != 0 || end == t || *end != '\0' || secs < 1 || secs > 600) {
			struct gpc_error err;
			gpc_error_set(&err, GPC_E_USAGE, "GOPROXY_CERT_TIMEOUT='%.64s' is not a number of "
				      "seconds between 1 and 600", t);
			gpc_error_hint(&err, "set it to the longest time one request to the CA may take "
					     "(default 60), or unset it");
			cli_print_error(&err);
			return -1;
		}
	}
	issue_env_init(env, cs, secs * 1000);
	env->ephemeral_ok = issue_opts_ephemeral_ok_env();
	return 0;
}

struct json_object *issue_result_json(const struct lineage *l, const struct issue_outcome *out)
{
	struct json_object *o = json_object_new_object(), *names = json_object_new_array();
	char ts[32];

	json_object_object_add(o, "lineage", json_object_new_string(l->name));
	json_object_object_add(o, "result", json_object_new_string(issue_result_name(out->res)));
	for (size_t i = 0; i < l->n_names; i++)
		json_object_array_add(names, json_object_new_string(l->names[i]));
	json_object_object_add(o, "names", names);
	json_object_object_add(o, "ca", l->ca_url ? json_object_new_string(l->ca_url) : NULL);
	json_object_object_add(o, "not_after", out->not_after ?
			       json_object_new_string(time_rfc3339(out->not_after, ts, sizeof(ts))) : NULL);
	json_object_object_add(o, "due_at", out->due_at ?
			       json_object_new_string(time_rfc3339(out->due_at, ts, sizeof(ts))) : NULL);
	json_object_object_add(o, "message", json_object_new_string(out->res == ISSUE_CURRENT ||
								    out->res == ISSUE_ISSUED ?
								    out->reason : out->err.message));
	if (out->res != ISSUE_CURRENT && out->res != ISSUE_ISSUED) {
		struct json_object *e = json_object_new_object();
		json_object_object_add(e, "code", json_object_new_string(out->err.code ? out->err.code : "error"));
		json_object_object_add(e, "message", json_object_new_string(out->err.message));
		json_object_object_add(e, "hint", json_object_new_string(out->err.hint));
		json_object_object_add(o, "error", e);
		json_object_object_add(o, "retry_after", out->err.retry_after ?
				       json_object_new_string(time_rfc3339(out->err.retry_after, ts, sizeof(ts))) : NULL);
	}
	json_object_object_add(o, "requests", json_object_new_int64((int64_t)out->requests));
	json_object_object_add(o, "connections", json_object_new_int64((int64_t)out->connections));
	return o;
}

void issue_print_result(const struct lineage *l, const struct issue_outcome *out, bool json,
			bool quiet, FILE *f)
{
	bool ok = out->res == ISSUE_CURRENT || out->res == ISSUE_ISSUED;

	if (!ok)
		cli_print_error(&out->err);
	if (json) {
		struct json_object *o = issue_result_json(l, out);
		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		return;
	}
	if (quiet && ok)
		return;
	if (ok) {
		fprintf(f, "%s: %s\n", l->name, out->reason);
	} else {
		char ts[32];
		if (out->res == ISSUE_DEFERRED && out->err.retry_after)
			fprintf(f, "%s: deferred until %s\n", l->name,
				time_rfc3339(out->err.retry_after, ts, sizeof(ts)));
		else
			fprintf(f, "%s: %s\n", l->name, out->res == ISSUE_USAGE ? "failed" : issue_result_name(out->res));
	}
}

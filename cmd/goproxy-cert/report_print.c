/* report_print: check and status's output from a struct report (collected
 * and judged by lib/report/judge.c): text, JSON, Prometheus; check's exit
 * code; opening the store --store names (goproxy-cert-acme). */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "lineage.h"
#include "policy.h"
#include "timeutil.h"

static void print_time_or_dash(FILE *out, const char *label, time_t t);

/* status text: what renew will do, from the stored settings (issue 24). */
static void print_settings(FILE *out, const struct report_entry *e)
{
	const struct lineage *l = e->lineage;

	if (l == NULL)
		return;
	char *names = lineage_names_joined(l, ", ");
	fprintf(out, "  %-14s%s%s\n", "orders", names ? names : "-",
		report_names_differ(e) ? "  (differs from the certificate's names)" : "");
	free(names);
	fprintf(out, "  %-14s%s%s\n", "key (next)", l->key_type ? l->key_type : "ec256", l->reuse_key ? ", reused" : "");
	if (l->profile)
		fprintf(out, "  %-14s%s\n", "profile", l->profile);
	if (l->ca_bundle)
		fprintf(out, "  %-14s%s\n", "ca bundle", l->ca_bundle);
	if (l->deploy_hook)
		fprintf(out, "  %-14s%s\n", "deploy hook", l->deploy_hook);
	if (l->copy_cert || l->copy_key) /* a GoDoxy extra: entry's own cert_path/key_path */
		fprintf(out, "  %-14s%s + %s\n", "also written", l->copy_cert ? l->copy_cert : "-",
			l->copy_key ? l->copy_key : "-");
	if (l->persist_until != 0)
		print_time_or_dash(out, "persist until", l->persist_until);
}


#ifdef GPC_ACME_TOOL
int report_collect_storeopt(const char *sub, const struct storeopt *so, const char *dir, char *const *names,
			    size_t n, struct report_options *ro, struct report *r)
{
	struct certstore *cs = NULL;
	struct gpc_error err;
	int rc;

	gpc_error_clear(&err);
	ro->skip_keys = so->seal == NULL;
	if (storeopt_open(so, dir, &cs, &err) != 0) {
		cli_print_error(&err);
		return err.code != NULL && strcmp(err.code, GPC_E_USAGE) == 0 ? EXIT_USAGE : EXIT_BAD;
	}
	rc = report_collect_store(r, cs, names, n, ro, &err);
	certstore_free(cs);
	if (rc == 0)
		return 0;
	if (err.code != NULL && strcmp(err.code, GPC_E_USAGE) == 0)
		return cli_usage_error(sub, "%s", err.message);
	cli_print_error(&err);
	return EXIT_BAD;
}
#endif

int report_check_exit(const struct report *r)
{
	enum report_state worst = RS_OK;
	bool deferred = false;

	if (!r->dir_ok)
		return r->deferred ? 75 : 2;
	/* A lineage the store could not give (etcd unreachable) is "try
	 * later" (EX_TEMPFAIL), unless another one is already known bad. */
	for (size_t i = 0; i < r->n_entries; i++) {
		if (r->entries[i].deferred)
			deferred = true;
		else if (r->entries[i].state > worst)
			worst = r->entries[i].state;
	}
	if (deferred && worst <= RS_DUE)
		return 75;
	return worst == RS_OK ? 0 : worst == RS_DUE ? 1 : 2;
}

static void print_domains(FILE *out, const struct report_entry *e, const char *sep)
{
	if (e->n_domains == 0) {
		fputs("-", out);
		return;
	}
	for (size_t i = 0; i < e->n_domains; i++)
		fprintf(out, "%s%s", i ? sep : "", e->domains[i]);
}

/* "expires 2027-02-25T10:00:00Z (89 days left; due after ..., rule)" */
static void print_when(FILE *out, const struct report_entry *e, time_t now)
{
	char t1[32], t2[32], left[48];

	if (!e->have_cert) {
		fputs("-", out);
		return;
	}
	report_human_left(e->seconds_left, left, sizeof(left));
	if (e->seconds_left <= 0) {
		fprintf(out, "expired %s (%s ago)", time_rfc3339(e->not_after, t1, sizeof(t1)), left);
	} else if (now < e->not_before) {
		report_human_left((long long)e->not_before - (long long)now, left, sizeof(left));
		fprintf(out, "valid from %s (in %s)", time_rfc3339(e->not_before, t1, sizeof(t1)), left);
	} else {
		fprintf(out, "expires %s (%s left; %s %s, %s)", time_rfc3339(e->not_after, t1, sizeof(t1)),
			left, now > e->due_at ? "due since" : "due after",
			time_rfc3339(e->due_at, t2, sizeof(t2)), e->due_rule);
	}
}

static size_t domains_len(const struct report_entry *e)
{
	size_t n = e->n_domains ? 0 : 1;

	for (size_t i = 0; i < e->n_domains; i++)
		n += strlen(e->domains[i]) + (i ? 1 : 0);
	return n;
}

void report_print_check_text(FILE *out, const struct report *r)
{
	int w = 7;
	size_t dw = 0;

	for (size_t i = 0; i < r->n_entries; i++) {
		int l = (int)strlen(r->entries[i].name);
		size_t d = domains_len(&r->entries[i]);
		if (l > w)
			w = l;
		if (d > dw)
			dw = d;
	}
	if (dw > 48)
		dw = 48; /* long name lists just push the rest of their line */
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct report_entry *e = &r->entries[i];
		size_t d = domains_len(e);
		fprintf(out, "%-*s  %-13s  ", w, e->name, report_state_name(e->state));
		print_domains(out, e, ",");
		fprintf(out, "%*s  ", (int)(d < dw ? dw - d : 0), "");
		print_when(out, e, r->checked_at);
		/* states the line cannot explain: name the first cause */
		if (e->state >= RS_MISMATCH && e->state != RS_EXPIRED && e->state != RS_NOT_YET_VALID &&
		    e->n_problems > 0)
			fprintf(out, "  [%s]", e->problems[0].code);
		fputc('\n', out);
	}
}

static void print_problem(FILE *f, const char *prog, const char *kind,
			  const struct report_problem *p)
{
	fprintf(f, "%s: %s%s\n", prog, kind, p->message);
	if (p->hint != NULL && p->hint[0] != '\0')
		fprintf(f, "  hint: %s\n", p->hint);
}

void report_print_problems(FILE *err, const char *prog, const struct report *r)
{
	if (!r->dir_ok) {
		print_problem(err, prog, "", &r->dir_problem);
		return;
	}
	for (size_t i = 0; i < r->n_warnings; i++)
		print_problem(err, prog, "warning: ", &r->warnings[i]);
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct report_entry *e = &r->entries[i];
		for (size_t j = 0; j < e->n_problems; j++)
			print_problem(err, prog, "", &e->problems[j]);
		for (size_t j = 0; j < e->n_warnings; j++)
			print_problem(err, prog, "warning: ", &e->warnings[j]);
	}
}

static void print_mode(FILE *out, const char *label, const char *path, int mode)
{
	if (mode >= 0)
		fprintf(out, "  %-14s%s (mode %04o)\n", label, path, (unsigned)mode);
	else
		fprintf(out, "  %-14s%s\n", label, path);
}

static void print_time_or_dash(FILE *out, const char *label, time_t t)
{
	char b[32];

	fprintf(out, "  %-14s%s\n", label, t > 0 ? time_rfc3339(t, b, sizeof(b)) : "-");
}

void report_print_status_text(FILE *out, const struct report *r)
{
	char t[32], left[48];

	fprintf(out, "%s: %s (checked %s)\n", r->shared ? "store" : "certs dir", r->certs_dir,
		time_rfc3339(r->checked_at, t, sizeof(t)));
	if (!r->dir_ok) {
		fprintf(out, "  problem: %s\n", r->dir_problem.message);
		if (r->dir_problem.hint[0])
			fprintf(out, "    hint: %s\n", r->dir_problem.hint);
		return;
	}
	for (size_t i = 0; i < r->n_warnings; i++)
		fprintf(out, "  warning: %s\n    hint: %s\n", r->warnings[i].message, r->warnings[i].hint);
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct report_entry *e = &r->entries[i];
		fprintf(out, "\n%s: %s\n", e->name, report_state_name(e->state));
		if (e->have_cert) {
			fprintf(out, "  %-14s", "domains");
			print_domains(out, e, ", ");
			fputc('\n', out);
			fprintf(out, "  %-14s%s\n", "not before", time_rfc3339(e->not_before, t, sizeof(t)));
			report_human_left(e->seconds_left, left, sizeof(left));
			fprintf(out, "  %-14s%s (%s %s)\n", "not after",
				time_rfc3339(e->not_after, t, sizeof(t)), left,
				e->seconds_left > 0 ? "left" : "ago");
			fprintf(out, "  %-14s%s (%s)\n", "due at", time_rfc3339(e->due_at, t, sizeof(t)),
				e->due_rule);
			fprintf(out, "  %-14s%s\n", "issuer", e->issuer[0] ? e->issuer : "-");
			fprintf(out, "  %-14s%s\n", "serial", e->serial);
			fprintf(out, "  %-14s%s\n", "key type", e->key_type);
			fprintf(out, "  %-14s%s\n", "sha256", e->fingerprint);
			fprintf(out, "  %-14s%zu\n", "chain length", e->chain_length);
		}
		print_mode(out, "cert file", e->cert_path, e->cert_mode);
		if (r->keys_unchecked)
			fprintf(out, "  %-14s%s: not checked (no --store-seal)\n", "key file", e->key_path);
		else
			print_mode(out, "key file", e->key_path, e->key_mode);
		fprintf(out, "  %-14s%s\n", "ca url", e->ca_url ? e->ca_url : "-");
		if (e->lineage != NULL) {
			char how[600];
			fprintf(out, "  %-14s%s\n", "renewed by", report_describe_challenge(e->lineage, how, sizeof(how)));
		} else {
			fprintf(out, "  %-14s-\n", "renewed by");
		}
		print_settings(out, e);
		print_time_or_dash(out, "last attempt", e->last_attempt);
		fprintf(out, "  %-14s%s\n", "last result", e->last_result ? e->last_result : "-");
		if (e->lineage != NULL && e->lineage->last_error != NULL && e->last_result != NULL &&
		    strcmp(e->last_result, "issued") != 0 && strcmp(e->last_result, "current") != 0)
			fprintf(out, "  %-14s%s%s%s\n", "last error", e->lineage->last_code ? e->lineage->last_code : "",
				e->lineage->last_code ? ": " : "", e->lineage->last_error);
		print_time_or_dash(out, "next renewal", e->next_renewal);
		print_time_or_dash(out, "next attempt", e->next_attempt);
		if (e->issuances_168h >= 0)
			fprintf(out, "  %-14s%ld\n", "issued (168h)", e->issuances_168h);
		else
			fprintf(out, "  %-14s-\n", "issued (168h)");
		for (size_t j = 0; j < e->n_problems; j++) {
			fprintf(out, "  problem: %s\n", e->problems[j].message);
			if (e->problems[j].hint[0])
				fprintf(out, "    hint: %s\n", e->problems[j].hint);
		}
		for (size_t j = 0; j < e->n_warnings; j++) {
			fprintf(out, "  warning: %s\n", e->warnings[j].message);
			if (e->warnings[j].hint[0])
				fprintf(out, "    hint: %s\n", e->warnings[j].hint);
		}
	}
}

/* ---- JSON ---- */

static json_object *jtime(time_t t)
{
	char b[32];

	return json_object_new_string(time_rfc3339(t, b, sizeof(b)));
}

static json_object *jstr_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

/* status --json: the stored settings (never a provider's options). */
static json_object *jsettings(const struct report_entry *e)
{
	const struct lineage *l = e->lineage;
	json_object *o = json_object_new_object(), *n = json_object_new_array();

	for (size_t i = 0; i < l->n_names; i++)
		json_object_array_add(n, json_object_new_string(l->names[i]));
	json_object_object_add(o, "names", n);
	json_object_object_add(o, "names_differ", json_object_new_boolean(report_names_differ(e)));
	json_object_object_add(o, "ca_url", jstr_or_null(l->ca_url));
	json_object_object_add(o, "ca_bundle", jstr_or_null(l->ca_bundle));
	json_object_object_add(o, "challenge", jstr_or_null(l->challenge));
	json_object_object_add(o, "solver", jstr_or_null(l->solver));
	json_object_object_add(o, "solver_arg", jstr_or_null(l->solver_arg));
	json_object_object_add(o, "dns_provider", jstr_or_null(l->dns_provider));
	json_object_object_add(o, "persist_until", l->persist_until ? jtime(l->persist_until) : NULL);
	json_object_object_add(o, "key_type", jstr_or_null(l->key_type ? l->key_type : "ec256"));
	json_object_object_add(o, "reuse_key", json_object_new_boolean(l->reuse_key));
	json_object_object_add(o, "profile", jstr_or_null(l->profile));
	json_object_object_add(o, "preferred_chain", jstr_or_null(l->preferred_chain));
	json_object_object_add(o, "deploy_hook", jstr_or_null(l->deploy_hook));
	json_object_object_add(o, "days", l->days > 0 ? json_object_new_int(l->days) : NULL);
	json_object_object_add(o, "hook_timeout", l->hook_timeout > 0 ? json_object_new_int(l->hook_timeout) : NULL);
	json_object_object_add(o, "copy_cert", jstr_or_null(l->copy_cert));
	json_object_object_add(o, "copy_key", jstr_or_null(l->copy_key));
	return o;
}

static json_object *jproblems(const struct report_problem *v, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_new_object();
		json_object_object_add(p, "code", json_object_new_string(v[i].code));
		json_object_object_add(p, "message", json_object_new_string(v[i].message));
		json_object_object_add(p, "hint", json_object_new_string(v[i].hint));
		json_object_array_add(a, p);
	}
	return a;
}

static json_object *jmode(int mode)
{
	char b[16];

	if (mode < 0)
		return NULL;
	snprintf(b, sizeof(b), "%04o", (unsigned)mode & 07777);
	return json_object_new_string(b);
}

static json_object *entry_json(const struct report_entry *e, bool detail)
{
	json_object *o = json_object_new_object();
	json_object *d = json_object_new_array();
	bool c = e->have_cert;

	json_object_object_add(o, "name", json_object_new_string(e->name));
	json_object_object_add(o, "state", json_object_new_string(report_state_name(e->state)));
	for (size_t i = 0; i < e->n_domains; i++)
		json_object_array_add(d, json_object_new_string(e->domains[i]));
	json_object_object_add(o, "domains", d);
	json_object_object_add(o, "not_before", c ? jtime(e->not_before) : NULL);
	json_object_object_add(o, "not_after", c ? jtime(e->not_after) : NULL);
	json_object_object_add(o, "seconds_left", c ? json_object_new_int64(e->seconds_left) : NULL);
	json_object_object_add(o, "due_at", c ? jtime(e->due_at) : NULL);
	json_object_object_add(o, "due_rule", c ? json_object_new_string(e->due_rule) : NULL);
	json_object_object_add(o, "cert_path", json_object_new_string(e->cert_path));
	json_object_object_add(o, "key_path", json_object_new_string(e->key_path));
	if (detail) {
		json_object_object_add(o, "issuer", c ? json_object_new_string(e->issuer) : NULL);
		json_object_object_add(o, "subject", c ? json_object_new_string(e->subject) : NULL);
		json_object_object_add(o, "serial", c ? json_object_new_string(e->serial) : NULL);
		json_object_object_add(o, "key_type", c ? json_object_new_string(e->key_type) : NULL);
		json_object_object_add(o, "fingerprint_sha256",
				       c ? json_object_new_string(e->fingerprint) : NULL);
		json_object_object_add(o, "chain_length",
				       c ? json_object_new_int64((int64_t)e->chain_length) : NULL);
		json_object_object_add(o, "cert_mode", jmode(e->cert_mode));
		json_object_object_add(o, "key_mode", jmode(e->key_mode));
		json_object_object_add(o, "ca_url", jstr_or_null(e->ca_url));
		json_object_object_add(o, "challenge", jstr_or_null(e->lineage ? e->lineage->challenge : NULL));
		json_object_object_add(o, "solver", jstr_or_null(e->lineage ? e->lineage->solver : NULL));
		json_object_object_add(o, "dns_provider", jstr_or_null(e->lineage ? e->lineage->dns_provider : NULL));
		json_object_object_add(o, "last_attempt", e->last_attempt > 0 ? jtime(e->last_attempt) : NULL);
		json_object_object_add(o, "last_result", jstr_or_null(e->last_result));
		json_object_object_add(o, "last_error", jstr_or_null(e->lineage ? e->lineage->last_error : NULL));
		json_object_object_add(o, "last_error_code", jstr_or_null(e->lineage ? e->lineage->last_code : NULL));
		json_object_object_add(o, "settings", e->lineage ? jsettings(e) : NULL);
		json_object_object_add(o, "next_renewal", e->next_renewal > 0 ? jtime(e->next_renewal) : NULL);
		json_object_object_add(o, "next_attempt", e->next_attempt > 0 ? jtime(e->next_attempt) : NULL);
		json_object_object_add(o, "issuances_168h",
				       e->issuances_168h >= 0 ? json_object_new_int64(e->issuances_168h) : NULL);
	}
	json_object_object_add(o, "problems", jproblems(e->problems, e->n_problems));
	json_object_object_add(o, "warnings", jproblems(e->warnings, e->n_warnings));
	return o;
}

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

int report_print_json(FILE *out, const struct report *r, bool detail)
{
	json_object *head = json_object_new_object();
	const char *s;
	size_t len;

	/* The head object is rendered, then its closing brace is replaced by
	 * the certificates array streamed entry by entry: 10,000 lineages do
	 * not need one big tree in memory. */
	json_object_object_add(head, "certs_dir", json_object_new_string(r->certs_dir));
	json_object_object_add(head, "checked_at", jtime(r->checked_at));
	json_object_object_add(head, "problems",
			       r->dir_ok ? json_object_new_array() : jproblems(&r->dir_problem, 1));
	json_object_object_add(head, "warnings", jproblems(r->warnings, r->n_warnings));
	if (r->alerts != NULL)
		json_object_object_add(head, "alerts", json_object_get(r->alerts));
	s = json_object_to_json_string_ext(head, JSON_FLAGS);
	len = strlen(s);
	fwrite(s, 1, len - 1, out); /* without the final '}' */
	json_object_put(head);

	fputs(",\"certificates\":[", out);
	for (size_t i = 0; i < r->n_entries; i++) {
		json_object *o = entry_json(&r->entries[i], detail);
		if (i > 0)
			fputc(',', out);
		fputs(json_object_to_json_string_ext(o, JSON_FLAGS), out);
		json_object_put(o);
	}
	fputs("]}\n", out);
	return ferror(out) ? -1 : 0;
}

/* ---- Prometheus (node_exporter textfile collector) ---- */

static void prom_label(FILE *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(out, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

static void prom_labels(FILE *out, const struct report_entry *e, bool domains)
{
	fputs("{name=\"", out);
	prom_label(out, e->name);
	if (domains) {
		fputs("\",domains=\"", out);
		for (size_t i = 0; i < e->n_domains; i++) {
			if (i)
				fputc(',', out);
			prom_label(out, e->domains[i]);
		}
	}
	fputc('"', out);
}

static void prom_head(FILE *out, const char *name, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

int report_print_prometheus(FILE *out, const struct report *r)
{
	prom_head(out, "goproxy_cert_not_after_seconds",
		  "End of the certificate's validity (notAfter), unix seconds.");
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct report_entry *e = &r->entries[i];
		if (!e->have_cert)
			continue;
		fputs("goproxy_cert_not_after_seconds", out);
		prom_labels(out, e, true);
		fprintf(out, "} %lld\n", (long long)e->not_after);
	}
	prom_head(out, "goproxy_cert_not_before_seconds",
		  "Start of the certificate's validity (notBefore), unix seconds.");
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct report_entry *e = &r->entries[i];
		if (!e->have_cert)
			continue;
		fputs("goproxy_cert_not_before_seconds", out);
		prom_labels(out, e, true);
		fprintf(out, "} %lld\n", (long long)e->not_before);
	}
	prom_head(out, "goproxy_cert_due_at_seconds",
		  "Time after which the certificate is due for renewal, unix seconds.");
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct report_entry *e = &r->entries[i];
		if (!e->have_cert)
			continue;
		fputs("goproxy_cert_due_at_seconds", out);
		prom_labels(out, e, false);
		fprintf(out, "} %lld\n", (long long)e->due_at);
	}
	prom_head(out, "goproxy_cert_state",
		  "State of the lineage as goproxy-cert check sees it: 1 for the current state.");
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct report_entry *e = &r->entries[i];
		for (int s = 0; s < RS__COUNT; s++) {
			fputs("goproxy_cert_state", out);
			prom_labels(out, e, false);
			fprintf(out, ",state=\"%s\"} %d\n", report_state_name((enum report_state)s), e->state == (enum report_state)s);
		}
	}
	prom_head(out, "goproxy_cert_certs_dir_ok",
		  "1 when the certs directory could be read, else 0.");
	fputs("goproxy_cert_certs_dir_ok{certs_dir=\"", out);
	prom_label(out, r->certs_dir);
	fprintf(out, "\"} %d\n", r->dir_ok ? 1 : 0);
	prom_head(out, "goproxy_cert_last_check_timestamp_seconds",
		  "When goproxy-cert status last looked at the certificates, unix seconds.");
	fprintf(out, "goproxy_cert_last_check_timestamp_seconds %lld\n", (long long)r->checked_at);
	return ferror(out) ? -1 : 0;
}


void report_print_domains(FILE *out, const struct report_entry *e, const char *sep)
{
	print_domains(out, e, sep);
}

void report_print_when(FILE *out, const struct report_entry *e, time_t now)
{
	print_when(out, e, now);
}

struct json_object *report_entry_json(const struct report_entry *e, bool detail)
{
	return entry_json(e, detail);
}

/* served: a served certificate compared with the store's (served.h). */
#include "served.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "timeutil.h"
#include "x509.h"

/* Does the entry hold `name` exactly (normalised), or (wildcard) a
 * one-label wildcard above it? As goproxyd picks by SNI. */
static bool entry_holds(const struct report_entry *e, const char *name, bool wildcard)
{
	char w[256], d[256];
	const char *dot;

	if (x509_name_normalize(name, w, sizeof(w)) != 0)
		return false;
	dot = strchr(w, '.');
	for (size_t i = 0; i < e->n_domains; i++) {
		if (x509_name_normalize(e->domains[i], d, sizeof(d)) != 0)
			continue;
		if (!wildcard && strcmp(d, w) == 0)
			return true;
		if (wildcard && strncmp(d, "*.", 2) == 0 && dot != NULL && dot != w && strcmp(dot + 1, d + 2) == 0)
			return true;
	}
	return false;
}

const struct report_entry *report_pick_lineage(const struct report *r, const char *name, bool named)
{
	for (int wild = 0; wild <= 1; wild++)
		for (size_t i = 0; i < r->n_entries; i++)
			if (r->entries[i].have_cert && entry_holds(&r->entries[i], name, wild))
				return &r->entries[i];
	if (named && r->n_entries == 1)
		return &r->entries[0];
	for (size_t i = 0; i < r->n_entries; i++)
		if (strcmp(r->entries[i].name, CERTSTORE_DEFAULT) == 0)
			return &r->entries[i];
	return NULL;
}

static bool share_a_name(const struct report_entry *a, const struct report_entry *b)
{
	for (size_t i = 0; i < a->n_domains; i++)
		if (entry_holds(b, a->domains[i], false))
			return true;
	return false;
}

void report_join_names(const struct report_entry *e, char *out, size_t outsz)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < e->n_domains && used + 1 < outsz; i++) {
		int n = snprintf(out + used, outsz - used, "%s%s", i ? ", " : "", e->domains[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (e->n_domains == 0)
		snprintf(out, outsz, "none");
}

static void problem_put(struct report_problem *p, const char *code, const char *msg, const char *hint)
{
	p->code = code;
	p->message = strdup(msg);
	p->hint = strdup(hint);
	if (p->message == NULL || p->hint == NULL)
		abort(); /* as judge.c: nothing useful to do without memory */
}

const char *report_compare_served(const struct report_entry *sv, const char *label,
				  const struct report_entry *st, struct report_problem *p)
{
	char msg[2048], hint[1024], t1[32], t2[32], n1[512], n2[512];
	bool def = strcmp(st->name, CERTSTORE_DEFAULT) == 0;

	memset(p, 0, sizeof(*p));
	if (!st->have_cert || !sv->have_cert)
		return NULL; /* the lineage's own problem says why there is nothing to compare */
	if (strcasecmp(st->fingerprint, sv->fingerprint) == 0)
		return "same";
	time_rfc3339(sv->not_before, t1, sizeof(t1));
	time_rfc3339(st->not_before, t2, sizeof(t2));
	if (share_a_name(sv, st) && sv->not_before != st->not_before) {
		bool older = sv->not_before < st->not_before;
		snprintf(msg, sizeof(msg), "%s: serves %s certificate than the store: sha256 %.16s... "
			 "(not before %s), but %s holds sha256 %.16s... (not before %s)", label,
			 older ? "an older" : "a newer", sv->fingerprint, t1, st->cert_path, st->fingerprint, t2);
		if (older)
			snprintf(hint, sizeof(hint), "the new pair was written but the server still uses the old "
				 "one: reload it now (e.g. systemctl reload nginx), and make every renewal do it: "
				 "goproxy-cert issue%s%s -D NAME... --deploy-hook 'systemctl reload nginx' "
				 "(stored for renew; goproxyd reloads by itself)", def ? "" : " -n ",
				 def ? "" : st->name);
		else
			snprintf(hint, sizeof(hint), "the server takes its certificate from somewhere else "
				 "(another certs directory or node, a copy made by hand): point it at %s and %s, "
				 "or check the directory it really uses (-d DIR)", st->cert_path, st->key_path);
		problem_put(p, older ? REPORT_SERVED_STALE : REPORT_SERVED_NEWER, msg, hint);
		return older ? "older" : "newer";
	}
	report_join_names(sv, n1, sizeof(n1));
	report_join_names(st, n2, sizeof(n2));
	snprintf(msg, sizeof(msg), "%s: serves a certificate unrelated to lineage %s: served %s "
		 "(sha256 %.16s..., not before %s), stored in %s: %s (sha256 %.16s..., not before %s)",
		 label, st->name, n1, sv->fingerprint, t1, st->cert_path, n2, st->fingerprint, t2);
	snprintf(hint, sizeof(hint), "the server is configured with another certificate: point it at "
		 "%s and %s and reload it; or compare with the lineage it should serve "
		 "(goproxy-cert check -d DIR LINEAGE --connect ...)", st->cert_path, st->key_path);
	problem_put(p, REPORT_SERVED_UNRELATED, msg, hint);
	return "unrelated";
}

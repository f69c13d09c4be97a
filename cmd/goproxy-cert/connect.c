/* connect: check --connect. For each HOST[:PORT]: take the chain the server
 * serves (lib/core/tlsprobe.c), judge it like a stored certificate
 * (lib/report/judge.c's rules: dates, due, --domain), check its order,
 * trust and names, and say how it relates to the store's lineage for that
 * name (lib/report/served.c): the same certificate, an older one (the
 * server was not reloaded), a newer one, or an unrelated one. */
#include "connect.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "certstore.h"
#include "cli.h"
#include "served.h"
#include "timeutil.h"
#include "tlsprobe.h"
#include "x509.h"

/* A served chain's state, from the best; the worst finding wins. */
enum served_state {
	SV_OK = 0,
	SV_DUE,
	SV_NEWER,        /* newer than the store's: the store is behind */
	SV_STALE,        /* older than the store's: the server was not reloaded */
	SV_UNRELATED,    /* not the lineage's certificate at all */
	SV_MISMATCH,     /* names do not cover the server name (or differ from --domain) */
	SV_UNTRUSTED,    /* does not verify against the trust anchors */
	SV_NOT_YET_VALID,
	SV_EXPIRED,
	SV_INVALID,      /* out of order, unparsable */
	SV_UNREACHABLE,  /* no chain: the connection or the handshake failed */
	SV__COUNT
};

static const char *const sv_names[SV__COUNT] = {
	[SV_OK] = "ok",
	[SV_DUE] = "due",
	[SV_NEWER] = "newer",
	[SV_STALE] = "stale",
	[SV_UNRELATED] = "unrelated",
	[SV_MISMATCH] = "mismatch",
	[SV_UNTRUSTED] = "untrusted",
	[SV_NOT_YET_VALID] = "not-yet-valid",
	[SV_EXPIRED] = "expired",
	[SV_INVALID] = "invalid",
	[SV_UNREACHABLE] = "unreachable",
};

/* Problem codes this file adds (see also TLSPROBE_E_*, X509_E_*,
 * REPORT_SERVED_*). */
#define CC_NO_LINEAGE "no-lineage"
#define CC_UNTRUSTED "untrusted"
#define CC_NOT_COVERED "servername-not-covered"
#define CC_OTHER_ADDRESS "address-failed"

struct served {
	char host[256];               /* without brackets */
	char port[8];
	char label[272];              /* "host:port", "[v6]:port" */
	const char *servername;       /* --servername, else the host */
	struct tlsprobe_result probe;
	bool connected;
	struct x509_chain *chain;
	struct report_entry e;        /* the leaf, judged like a stored one */
	enum served_state state;
	const char *why;              /* code of the finding that decided the state */
	bool in_order;
	bool have_verdict;
	struct tlsprobe_verdict v;
	bool covers;
	const struct report_entry *stored; /* the lineage compared with, or NULL */
	const char *relation;         /* "same", "older", "newer", "unrelated", or NULL */
};

static char *sdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		abort(); /* as judge.c: nothing useful to do without memory */
	return p;
}

static void served_add(struct served *s, enum served_state st, bool warning, const char *code,
		       const char *msg, const char *hint)
{
	struct report_problem **v = warning ? &s->e.warnings : &s->e.problems;
	size_t *n = warning ? &s->e.n_warnings : &s->e.n_problems;
	struct report_problem *p = realloc(*v, (*n + 1) * sizeof(*p));

	if (p == NULL)
		abort();
	p[*n].code = code;
	p[*n].message = sdup(msg);
	p[*n].hint = sdup(hint != NULL ? hint : "");
	*v = p;
	(*n)++;
	if (!warning && st > s->state) {
		s->state = st;
		s->why = code;
	}
}

/* ---- options ---- */

static int parse_port(const char *arg, const char *p, char *out, size_t outsz)
{
	char *end;
	long v = strtol(p, &end, 10);

	if (*p == '\0' || *end != '\0' || v < 1 || v > 65535 || p[0] == '+' || p[0] == '-')
		return cli_usage_error("check", "--connect '%s': '%s' is not a port number (1-65535)", arg, p);
	snprintf(out, outsz, "%ld", v);
	return 0;
}

/* HOST, HOST:PORT, [V6], [V6]:PORT, or a bare IPv6 literal (no port). */
static int parse_target(const char *arg, const char *defport, struct served *s)
{
	const char *host = arg, *port = NULL, *colon;
	size_t hl;
	unsigned char a6[16];

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');
		if (close == NULL)
			return cli_usage_error("check", "--connect '%s': no ']' after the IPv6 address", arg);
		host = arg + 1;
		hl = (size_t)(close - host);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return cli_usage_error("check", "--connect '%s': expected ':PORT' after ']'", arg);
	} else if ((colon = strchr(arg, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		hl = (size_t)(colon - arg);
		port = colon + 1;
	} else {
		hl = strlen(arg);
	}
	if (hl == 0)
		return cli_usage_error("check", "--connect '%s': no host name or address", arg);
	if (hl >= sizeof(s->host))
		return cli_usage_error("check", "--connect '%.64s...': the host name is too long", arg);
	memcpy(s->host, host, hl);
	s->host[hl] = '\0';
	if (strchr(s->host, ':') != NULL && inet_pton(AF_INET6, s->host, a6) != 1)
		return cli_usage_error("check", "--connect '%s': '%s' is not an IPv6 address (with a port, "
				       "write [ADDRESS]:PORT)", arg, s->host);
	if (arg[0] == '[' && strchr(s->host, ':') == NULL)
		return cli_usage_error("check", "--connect '%s': brackets are for IPv6 addresses", arg);
	if (strpbrk(s->host, " \t/?#@") != NULL)
		return cli_usage_error("check", "--connect '%s': give HOST[:PORT], not a URL", arg);
	if (parse_port(arg, port != NULL ? port : defport, s->port, sizeof(s->port)) != 0)
		return -1;
	snprintf(s->label, sizeof(s->label), strchr(s->host, ':') ? "[%s]:%s" : "%s:%s", s->host, s->port);
	return 0;
}

struct conn_opts {
	const char *servername;
	enum tlsprobe_starttls starttls;
	unsigned timeout_s;
};

static int parse_opts(const struct connect_args *a, struct conn_opts *o)
{
	long t = 10;

	memset(o, 0, sizeof(*o));
	if (a->n_targets == 0)
		return cli_usage_error("check", "--servername, --starttls, --ca-bundle and --connect-timeout "
				       "need --connect HOST[:PORT]");
	if (a->timeout != NULL) {
		if (cli_parse_uint("check", "--connect-timeout", a->timeout, 600, &t) != 0)
			return -1;
		if (t == 0)
			return cli_usage_error("check", "--connect-timeout: 0 seconds would never connect; "
					       "give 1 to 600");
	}
	o->timeout_s = (unsigned)t;
	if (a->starttls != NULL && tlsprobe_starttls_parse(a->starttls, &o->starttls) != 0)
		return cli_usage_error("check", "--starttls '%s': not a protocol this knows (%s)", a->starttls,
				       tlsprobe_starttls_names());
	if (a->servername != NULL) {
		size_t l = strlen(a->servername);
		if (l == 0 || l > 253 || strpbrk(a->servername, " \t/[]") != NULL)
			return cli_usage_error("check", "--servername '%s': give a DNS name or an address "
					       "(without brackets)", a->servername);
	}
	o->servername = a->servername;
	if (a->ca_bundle != NULL && a->ca_bundle[0] == '\0')
		return cli_usage_error("check", "--ca-bundle: empty file name");
	return 0;
}

bool connect_wanted(const struct connect_args *a)
{
	return a->n_targets > 0 || a->servername != NULL || a->starttls != NULL || a->ca_bundle != NULL ||
	       a->timeout != NULL;
}

/* ---- how the served certificate relates to the store's lineage ---- */

/* The comparison is the library's (lib/report/served.c); the finding gets
 * the served state its relation means. */
static void compare(struct served *s, const struct report_entry *st)
{
	struct report_problem p;

	s->stored = st;
	s->relation = report_compare_served(&s->e, s->label, st, &p);
	if (p.message == NULL)
		return;
	served_add(s, strcmp(s->relation, "older") == 0 ? SV_STALE
		      : strcmp(s->relation, "newer") == 0 ? SV_NEWER : SV_UNRELATED,
		   false, p.code, p.message, p.hint);
	report_problem_finish(&p);
}

/* ---- judging one served chain ---- */

static void judge_trust(struct served *s, const struct tlsprobe_trust *trust)
{
	char msg[2048], hint[1024];
	struct gpc_error err;

	gpc_error_clear(&err);
	if (tlsprobe_verify(trust, s->chain, &s->v, &err) != 0) {
		served_add(s, SV_UNTRUSTED, false, CC_UNTRUSTED, err.message, err.hint);
		return;
	}
	s->have_verdict = true;
	if (s->v.trusted)
		return;
	snprintf(msg, sizeof(msg), "%s: the served chain does not verify against %s: %s", s->label,
		 tlsprobe_trust_source(trust), s->v.text);
	if (s->v.self_signed_leaf)
		snprintf(hint, sizeof(hint), "a self-signed certificate: clients do not trust it; get one from "
			 "a CA (goproxy-cert issue), or, for a private setup, name it with --ca-bundle FILE");
	else if (!s->v.complete && s->e.chain_length == 1)
		snprintf(hint, sizeof(hint), "the server sends only the leaf, and its issuer (%s) is not a "
			 "trust anchor: configure the full chain, the intermediates after the leaf (as cert.crt "
			 "holds them); for a private CA, pass its certificate with --ca-bundle FILE",
			 s->v.end_issuer[0] ? s->v.end_issuer : "unknown");
	else if (!s->v.complete)
		snprintf(hint, sizeof(hint), "the chain ends at a certificate issued by %s, which is not a "
			 "trust anchor here: for a private CA, pass its certificate with --ca-bundle FILE; "
			 "otherwise the server sends an intermediate of another chain, or one is missing",
			 s->v.end_issuer[0] ? s->v.end_issuer : "an unknown CA");
	else
		snprintf(hint, sizeof(hint), "the chain is complete but its root is not trusted here (a "
			 "private CA needs --ca-bundle FILE), or a signature in it is rejected");
	served_add(s, SV_UNTRUSTED, false, CC_UNTRUSTED, msg, hint);
}

static void judge(struct served *s, const struct tlsprobe_trust *trust, const struct report_options *ro,
		  time_t now)
{
	static const enum served_state from_report[RS__COUNT] = {
		[RS_OK] = SV_OK, [RS_DUE] = SV_DUE, [RS_MISMATCH] = SV_MISMATCH, [RS_REVOKED] = SV_INVALID,
		[RS_NOT_YET_VALID] = SV_NOT_YET_VALID, [RS_EXPIRED] = SV_EXPIRED, [RS_INVALID] = SV_INVALID,
		[RS_UNREADABLE] = SV_INVALID, [RS_MISSING] = SV_INVALID,
	};
	char msg[2048], names[512];
	struct gpc_error err;
	size_t before;

	gpc_error_clear(&err);
	if (x509_chain_parse(s->label, s->probe.chain_pem, s->probe.chain_len, &s->chain, NULL, &err) != 0) {
		served_add(s, SV_INVALID, false, err.code, err.message, err.hint);
		return;
	}
	before = s->e.n_problems;
	report_judge_chain(&s->e, s->chain, ro, now);
	/* lib/report/judge.c adds the worst of its findings first */
	if (s->e.n_problems > before && from_report[s->e.state] > s->state) {
		s->state = from_report[s->e.state];
		s->why = s->e.problems[before].code;
	}

	s->in_order = x509_chain_check_order(s->chain, s->label, &err) == 0;
	if (!s->in_order)
		served_add(s, SV_INVALID, false, err.code, err.message,
			   "the server sends its certificates out of order (TLS 1.2 clients and strict ones reject "
			   "that): list them leaf first, then each issuer in turn, in the file it is configured "
			   "with (goproxy-cert writes cert.crt in this order)");
	judge_trust(s, trust);

	s->covers = tlsprobe_covers(s->chain, s->servername);
	if (!s->covers) {
		report_join_names(&s->e, names, sizeof(names));
		snprintf(msg, sizeof(msg), "%s: the certificate's names (%s) do not cover the server name %s",
			 s->label, names, s->servername);
		served_add(s, SV_MISMATCH, false, CC_NOT_COVERED, msg,
			   "clients asking for this name reject the certificate: the server picked another "
			   "certificate for this name (check its SNI configuration), or the certificate lacks "
			   "it (goproxy-cert issue -D NAME)");
	}
}

static void probe_one(struct served *s, const struct conn_opts *o, const struct tlsprobe_trust *trust,
		      const struct report_options *ro, time_t now)
{
	struct tlsprobe_options po = {
		.host = s->host, .port = s->port, .servername = s->servername,
		.starttls = o->starttls, .timeout_s = o->timeout_s,
	};
	struct gpc_error err;
	char msg[1024];

	gpc_error_clear(&err);
	s->connected = tlsprobe_run(&po, &s->probe, &err) == 0;
	if (!s->connected) {
		served_add(s, SV_UNREACHABLE, false, err.code, err.message, err.hint);
		return;
	}
	/* an address that failed before one worked: users with a broken AAAA want to know */
	for (long i = 0; i < s->probe.used; i++) {
		const struct tlsprobe_attempt *t = &s->probe.attempts[i];
		snprintf(msg, sizeof(msg), "%s: address %s%s%s: %s (the next address answered)", s->label,
			 strchr(t->address, ':') ? "[" : "", t->address, strchr(t->address, ':') ? "]" : "",
			 t->cause);
		served_add(s, SV_OK, true, CC_OTHER_ADDRESS, msg, t->hint);
	}
	judge(s, trust, ro, now);
}

static int served_exit(enum served_state st)
{
	if (st == SV_OK)
		return 0;
	return st <= SV_STALE ? 1 : 2;
}

/* ---- output ---- */

static void detail(FILE *out, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void detail(FILE *out, const char *label, const char *fmt, ...)
{
	va_list ap;

	fprintf(out, "  %-14s", label);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

static const struct tlsprobe_attempt *used_attempt(const struct served *s)
{
	return s->probe.used >= 0 ? &s->probe.attempts[s->probe.used] : NULL;
}

static void print_store_line(FILE *out, const struct served *s, const char *dir, bool dir_ok)
{
	const struct report_entry *st = s->stored;

	if (dir == NULL)
		return;
	if (!dir_ok) {
		detail(out, "store", "%s cannot be read: nothing to compare with", dir);
		return;
	}
	if (st == NULL) {
		detail(out, "store", "no lineage in %s for %s", dir, s->servername);
		return;
	}
	if (s->relation == NULL)
		detail(out, "store", "lineage %s (%s): nothing to compare (%s)", st->name, st->cert_path,
		       report_state_name(st->state));
	else if (strcmp(s->relation, "same") == 0)
		detail(out, "store", "lineage %s (%s): the same certificate", st->name, st->cert_path);
	else
		detail(out, "store", "lineage %s (%s): %s (stored sha256 %s)", st->name, st->cert_path,
		       strcmp(s->relation, "older") == 0 ? "the server's is OLDER: not reloaded"
		       : strcmp(s->relation, "newer") == 0 ? "the server's is newer" : "unrelated",
		       st->fingerprint);
}

static void print_served(FILE *out, const struct served *s, const char *dir, bool dir_ok,
			 const char *trust_source, time_t now)
{
	const struct tlsprobe_attempt *u = used_attempt(s);
	char t[32];

	fprintf(out, "%s  %-13s  ", s->label, sv_names[s->state]);
	if (s->e.have_cert) {
		report_print_domains(out, &s->e, ",");
		fputs("  ", out);
		report_print_when(out, &s->e, now);
	} else {
		fputs("-", out);
	}
	if (s->why != NULL && s->state != SV_DUE && s->state != SV_EXPIRED && s->state != SV_NOT_YET_VALID)
		fprintf(out, "  [%s]", s->why);
	fputc('\n', out);

	for (size_t i = 0; i < s->probe.n_attempts; i++) {
		const struct tlsprobe_attempt *a = &s->probe.attempts[i];
		if (a == u)
			detail(out, "address", "%s port %s, %s, server name %s", a->address, s->port,
			       s->probe.tls_version, s->servername);
		else
			detail(out, "address", "%s port %s: %s", a->address, s->port, a->cause);
	}
	if (!s->e.have_cert)
		return;
	detail(out, "not before", "%s", time_rfc3339(s->e.not_before, t, sizeof(t)));
	detail(out, "issuer", "%s", s->e.issuer[0] ? s->e.issuer : "-");
	detail(out, "serial", "%s", s->e.serial);
	detail(out, "sha256", "%s", s->e.fingerprint);
	if (!s->have_verdict || s->v.complete)
		detail(out, "chain", "%zu certificate%s, %s%s", s->e.chain_length, s->e.chain_length == 1 ? "" : "s",
		       s->in_order ? "in order" : "OUT OF ORDER", s->have_verdict ? ", complete" : "");
	else
		detail(out, "chain", "%zu certificate%s, %s, %s %s (not a trust anchor here)", s->e.chain_length,
		       s->e.chain_length == 1 ? "" : "s", s->in_order ? "in order" : "OUT OF ORDER",
		       s->e.chain_length == 1 ? "INCOMPLETE: only the leaf, issued by" : "ends at an issuer:",
		       s->v.end_issuer[0] ? s->v.end_issuer : "unknown");
	if (s->have_verdict)
		detail(out, "trust", "%s %s", s->v.trusted ? "verified against" : "NOT verified against",
		       trust_source);
	detail(out, "server name", "%s %s", s->servername, s->covers ? "covered" : "NOT covered");
	print_store_line(out, s, dir, dir_ok);
}

static void print_problems_of(FILE *f, const struct served *s)
{
	/* one entry in a report of its own: report_print.c's layout for problems */
	struct report one = { .dir_ok = true, .entries = (struct report_entry *)&s->e, .n_entries = 1 };

	report_print_problems(f, cli.prog, &one);
}

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static json_object *served_json(const struct served *s, const char *dir, const char *trust_source)
{
	json_object *o = report_entry_json(&s->e, false), *att = json_object_new_array(), *st = NULL;
	const struct tlsprobe_attempt *u = used_attempt(s);
	bool c = s->e.have_cert;

	/* report_entry_json's fields, minus the files, plus what the server told */
	json_object_object_del(o, "cert_path");
	json_object_object_del(o, "key_path");
	json_object_object_add(o, "name", json_object_new_string(s->label));
	json_object_object_add(o, "state", json_object_new_string(sv_names[s->state]));
	json_object_object_add(o, "host", json_object_new_string(s->host));
	json_object_object_add(o, "port", json_object_new_int(atoi(s->port)));
	json_object_object_add(o, "servername", json_object_new_string(s->servername));
	json_object_object_add(o, "address", u ? json_object_new_string(u->address) : NULL);
	for (size_t i = 0; i < s->probe.n_attempts; i++) {
		const struct tlsprobe_attempt *a = &s->probe.attempts[i];
		json_object *j = json_object_new_object();
		json_object_object_add(j, "address", json_object_new_string(a->address));
		json_object_object_add(j, "error", a->code ? json_object_new_string(a->code) : NULL);
		json_object_object_add(j, "cause", a->code ? json_object_new_string(a->cause) : NULL);
		json_object_array_add(att, j);
	}
	json_object_object_add(o, "attempts", att);
	json_object_object_add(o, "tls_version", u ? json_object_new_string(s->probe.tls_version) : NULL);
	json_object_object_add(o, "issuer", c ? json_object_new_string(s->e.issuer) : NULL);
	json_object_object_add(o, "subject", c ? json_object_new_string(s->e.subject) : NULL);
	json_object_object_add(o, "serial", c ? json_object_new_string(s->e.serial) : NULL);
	json_object_object_add(o, "key_type", c ? json_object_new_string(s->e.key_type) : NULL);
	json_object_object_add(o, "fingerprint_sha256", c ? json_object_new_string(s->e.fingerprint) : NULL);
	json_object_object_add(o, "chain_length", c ? json_object_new_int64((int64_t)s->e.chain_length) : NULL);
	json_object_object_add(o, "chain_in_order", c ? json_object_new_boolean(s->in_order) : NULL);
	json_object_object_add(o, "chain_complete", s->have_verdict ? json_object_new_boolean(s->v.complete) : NULL);
	json_object_object_add(o, "chain_ends_at", s->have_verdict && !s->v.complete
			       ? json_object_new_string(s->v.end_issuer) : NULL);
	json_object_object_add(o, "verified", s->have_verdict ? json_object_new_boolean(s->v.trusted) : NULL);
	json_object_object_add(o, "verify_status", s->have_verdict ? json_object_new_string(s->v.text) : NULL);
	json_object_object_add(o, "trust", json_object_new_string(trust_source));
	json_object_object_add(o, "servername_covered", c ? json_object_new_boolean(s->covers) : NULL);
	if (dir != NULL) {
		st = json_object_new_object();
		json_object_object_add(st, "lineage", s->stored ? json_object_new_string(s->stored->name) : NULL);
		json_object_object_add(st, "cert_path", s->stored ? json_object_new_string(s->stored->cert_path) : NULL);
		json_object_object_add(st, "relation", s->relation ? json_object_new_string(s->relation) : NULL);
		json_object_object_add(st, "fingerprint_sha256", s->stored && s->stored->have_cert
				       ? json_object_new_string(s->stored->fingerprint) : NULL);
	}
	json_object_object_add(o, "store", st);
	return o;
}

/* check's --json document, with "served" after "certificates". */
static void print_json(FILE *out, const struct report *sub, const struct served *sv, size_t n,
		       const char *dir, const char *trust_source)
{
	char *doc = NULL, t[32];
	size_t len = 0;
	FILE *m;

	if (dir != NULL && (m = open_memstream(&doc, &len)) != NULL) {
		/* report_print.c streams its document; cut its closing brace to add ours */
		int bad = report_print_json(m, sub, false);
		fclose(m);
		while (len > 0 && (doc[len - 1] == '\n' || doc[len - 1] == '}'))
			if (doc[--len] == '}')
				break;
		if (bad == 0)
			fwrite(doc, 1, len, out);
		free(doc);
		if (bad != 0)
			return;
	} else {
		fprintf(out, "{\"certs_dir\":null,\"checked_at\":\"%s\",\"problems\":[],\"warnings\":[],"
			"\"certificates\":[]", time_rfc3339(sub->checked_at, t, sizeof(t)));
	}
	fputs(",\"served\":[", out);
	for (size_t i = 0; i < n; i++) {
		json_object *o = served_json(&sv[i], dir, trust_source);
		fprintf(out, "%s%s", i ? "," : "", json_object_to_json_string_ext(o, JSON_FLAGS));
		json_object_put(o);
	}
	fputs("]}\n", out);
}

/* ---- the command ---- */

/* One --connect target: the lineage to compare with (with a store, from
 * its report r; marked in `compared`), the probe, the comparison. */
static void check_target(struct served *s, const char *target, const struct conn_opts *o,
			 struct tlsprobe_trust *trust, const struct report_options *ro, struct report *r,
			 const char *store, bool named, bool *compared)
{
	const struct report_entry *st = NULL;
	char msg[1024], hint[512];

	s->e.name = sdup(CERTSTORE_DEFAULT);
	s->e.cert_path = sdup(s->label);
	s->e.key_path = sdup("");
	s->e.cert_mode = s->e.key_mode = -1;
	s->e.issuances_168h = -1;
	if (store != NULL && r->dir_ok) {
		st = report_pick_lineage(r, s->servername, named);
		if (st == NULL) {
			snprintf(msg, sizeof(msg), "%s: no lineage in %s covers %s", s->label, store,
				 s->servername);
			snprintf(hint, sizeof(hint), "name the lineage to compare with (goproxy-cert check "
				 "-d %s LINEAGE --connect %s), or get a certificate for this name "
				 "(goproxy-cert issue -D %s)", store, target, s->servername);
			served_add(s, SV_UNRELATED, false, CC_NO_LINEAGE, msg, hint);
		} else {
			compared[st - r->entries] = true;
			free(s->e.name);
			s->e.name = sdup(st->name); /* for judge.c's hints ("issue -n NAME") */
		}
	}
	probe_one(s, o, trust, ro, r->checked_at);
	if (st != NULL && s->connected)
		compare(s, st);
}

/* sub: r with the lineages named, or those compared with (shallow copies
 * of r's entries: free sub->entries alone). */
static void stored_side(const struct report *r, bool named, const bool *compared, struct report *sub)
{
	sub->entries = calloc(r->n_entries + 1, sizeof(*sub->entries));
	if (sub->entries == NULL)
		abort();
	sub->n_entries = 0;
	for (size_t i = 0; i < r->n_entries; i++)
		if (named || compared[i])
			sub->entries[sub->n_entries++] = r->entries[i];
}

int connect_check(const struct connect_args *a, const char *dir, char *const *names, size_t n_names,
		  const struct report_options *ro, bool json, bool quiet)
{
	struct conn_opts o;
	struct served *sv;
	struct tlsprobe_trust *trust = NULL;
	struct report r, sub;
	struct gpc_error err;
	const char *env = getenv("GOPROXY_CERTS_DIR"), *store = NULL;
	bool *compared = NULL;
	struct stat dst;
	int rc;

	memset(&r, 0, sizeof(r));
	memset(&sub, 0, sizeof(sub));
	if (parse_opts(a, &o) != 0)
		return EXIT_USAGE;
	sv = calloc(a->n_targets, sizeof(*sv));
	if (sv == NULL)
		abort();
	for (size_t i = 0; i < a->n_targets; i++) {
		if (parse_target(a->targets[i], tlsprobe_default_port(o.starttls), &sv[i]) != 0) {
			free(sv);
			return EXIT_USAGE;
		}
		sv[i].servername = o.servername != NULL ? o.servername : sv[i].host;
	}
	/* the store check would read; ./certs only when it is there, so that
	 * checking a server from anywhere needs no certs directory */
	if ((dir != NULL && *dir != '\0') || (env != NULL && *env != '\0') || n_names > 0 ||
	    (stat(certstore_default_dir(NULL), &dst) == 0 && S_ISDIR(dst.st_mode)))
		store = certstore_default_dir(dir);

	gpc_error_clear(&err);
	if (tlsprobe_trust_new(a->ca_bundle, &trust, &err) != 0) {
		cli_print_error(&err);
		rc = EXIT_BAD;
		goto out;
	}
	if (store != NULL) {
		if (report_collect(&r, store, names, n_names, ro, &err) != 0) {
			if (err.code != NULL && strcmp(err.code, GPC_E_USAGE) == 0) {
				rc = cli_usage_error("check", "%s", err.message);
			} else {
				cli_print_error(&err);
				rc = EXIT_BAD;
			}
			goto out;
		}
		compared = calloc(r.n_entries + 1, sizeof(*compared));
		if (compared == NULL)
			abort();
	} else {
		r.checked_at = time_now();
	}

	rc = 0;
	for (size_t i = 0; i < a->n_targets; i++) {
		check_target(&sv[i], a->targets[i], &o, trust, ro, &r, store, n_names > 0, compared);
		if (served_exit(sv[i].state) > rc)
			rc = served_exit(sv[i].state);
	}

	/* The stored side: the lineages named, or the ones compared with. */
	sub = r;
	if (store != NULL) {
		stored_side(&r, n_names > 0, compared, &sub);
		if (report_check_exit(&sub) > rc)
			rc = report_check_exit(&sub);
	}
	if (quiet)
		goto out;
	if (json) {
		print_json(stdout, &sub, sv, a->n_targets, store, tlsprobe_trust_source(trust));
		goto out;
	}
	if (store != NULL)
		report_print_check_text(stdout, &sub);
	for (size_t i = 0; i < a->n_targets; i++)
		print_served(stdout, &sv[i], store, r.dir_ok, tlsprobe_trust_source(trust), r.checked_at);
	fflush(stdout);
	if (store != NULL)
		report_print_problems(stderr, cli.prog, &sub);
	for (size_t i = 0; i < a->n_targets; i++)
		print_problems_of(stderr, &sv[i]);
out:
	if (store != NULL)
		free(sub.entries); /* shallow copies of r's */
	free(compared);
	report_finish(&r);
	for (size_t i = 0; i < a->n_targets; i++) {
		tlsprobe_result_finish(&sv[i].probe);
		x509_chain_free(sv[i].chain);
		report_entry_finish(&sv[i].e);
	}
	free(sv);
	tlsprobe_trust_free(trust);
	return rc;
}

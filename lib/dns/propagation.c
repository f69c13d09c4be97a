/* propagation: where a dns-01 record goes and whether every authoritative
 * server serves it yet. The CA asks one of the zone's servers, any of
 * them; a value that only the primary has costs a failed validation. */
#include "dns_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define MAX_CNAME 8
#define MAX_NS 16
#define MAX_ADDRS 4 /* per NS name */

/* ---- resolvers ---- */

struct resolvers {
	struct dnsq_server s[8];
	size_t n;
	char label[256]; /* "127.0.0.1, 10.0.0.1" */
};

int dns_parse_hostport(const char *s, unsigned def_port, char *host, size_t hostsz, unsigned *port)
{
	const char *colon, *ps = NULL;
	char tmp[128];
	struct dnsq_server probe;

	if (s == NULL || *s == '\0' || strlen(s) >= sizeof(tmp))
		return -1;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return -1;
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(end - s - 1), s + 1);
		if (end[1] == ':')
			ps = end + 2;
	} else if ((colon = strchr(s, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(colon - s), s);
		ps = colon + 1;
	} else {
		snprintf(tmp, sizeof(tmp), "%s", s); /* an IPv6 literal without port, or a name */
	}
	*port = def_port;
	if (ps != NULL) {
		char *end;
		unsigned long p;
		if (*ps == '\0' || strspn(ps, "0123456789") != strlen(ps))
			return -1;
		p = strtoul(ps, &end, 10);
		if (p == 0 || p > 65535)
			return -1;
		*port = (unsigned)p;
	}
	if (tmp[0] == '\0' || strlen(tmp) >= hostsz)
		return -1;
	snprintf(host, hostsz, "%s", tmp);
	(void)probe;
	return 0;
}

int dns_resolv_conf(const char *path, char **out, size_t max, struct gpc_error *err)
{
	FILE *f = fopen(path ? path : "/etc/resolv.conf", "r");
	char line[512];
	int n = 0;

	if (f == NULL) {
		gpc_error_sys(err, errno, "open", path ? path : "/etc/resolv.conf");
		return gpc_error_hint(err, "give the recursive resolvers with --dns-resolver ADDR[:PORT]");
	}
	while (fgets(line, sizeof(line), f) != NULL && (size_t)n < max) {
		char *p = line, *a;
		while (isspace((unsigned char)*p))
			p++;
		if (strncmp(p, "nameserver", 10) != 0 || !isspace((unsigned char)p[10]))
			continue;
		a = p + 10;
		while (isspace((unsigned char)*a))
			a++;
		a[strcspn(a, " \t\r\n#;%")] = '\0'; /* drop an IPv6 zone index too */
		if (*a == '\0')
			continue;
		if ((out[n] = strdup(a)) == NULL) {
			fclose(f);
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		}
		n++;
	}
	fclose(f);
	return n;
}

static int resolvers_init(struct resolvers *r, const struct dns_check_opts *o, struct gpc_error *err)
{
	char *conf[8] = { 0 };
	char *const *list = o->resolvers;
	size_t n = o->n_resolvers;
	int got = 0, rc = -1;

	memset(r, 0, sizeof(*r));
	if (n == 0) {
		got = dns_resolv_conf(o->resolv_conf, conf, 8, err);
		if (got < 0)
			return -1;
		if (got == 0) {
			gpc_error_set(err, GPC_E_USAGE, "%s lists no nameserver",
				      o->resolv_conf ? o->resolv_conf : "/etc/resolv.conf");
			return gpc_error_hint(err, "give the recursive resolvers with --dns-resolver ADDR[:PORT]");
		}
		list = conf;
		n = (size_t)got;
	}
	for (size_t i = 0; i < n && r->n < 8; i++) {
		char host[96];
		unsigned port;
		if (dns_parse_hostport(list[i], 53, host, sizeof(host), &port) != 0 ||
		    dnsq_server_set(&r->s[r->n], host, port) != 0) {
			gpc_error_set(err, GPC_E_USAGE, "DNS resolver '%s' is not ADDR[:PORT] (an IP address)", list[i]);
			gpc_error_hint(err, "for example --dns-resolver 1.1.1.1 or --dns-resolver [2606:4700:4700::1111]:53");
			goto out;
		}
		size_t len = strlen(r->label);
		snprintf(r->label + len, sizeof(r->label) - len, "%s%s", len ? ", " : "", r->s[r->n].label);
		r->n++;
	}
	rc = 0;
out:
	for (int i = 0; i < got; i++)
		free(conf[i]);
	return rc;
}

/* Ask the resolvers in turn until one answers (any rcode but SERVFAIL/REFUSED). */
static int resolve(const struct resolvers *r, const struct dns_check_opts *o, const char *name,
		   ldns_rr_type type, ldns_pkt **reply, struct gpc_error *err)
{
	struct gpc_error e1;
	ldns_pkt *a = NULL;

	gpc_error_clear(&e1);
	for (size_t i = 0; i < r->n; i++) {
		struct gpc_error e;
		gpc_error_clear(&e);
		if (dnsq_query(&r->s[i], name, type, true, o->query_timeout_ms, &a, &e) != 0) {
			if (e1.code == NULL)
				e1 = e;
			continue;
		}
		unsigned rc = ldns_pkt_get_rcode(a);
		if (rc == LDNS_RCODE_SERVFAIL || rc == LDNS_RCODE_REFUSED) {
			if (e1.code == NULL)
				gpc_error_set(&e1, GPC_E_NETWORK, "resolver %s answered %s for %s", r->s[i].label,
					      dnsq_rcode_name(rc), name);
			ldns_pkt_free(a);
			a = NULL;
			continue;
		}
		*reply = a;
		return 0;
	}
	*err = e1;
	return gpc_error_hint(err, "the recursive resolvers (%s) must answer for the zone's names; give "
			      "others with --dns-resolver ADDR[:PORT]", r->label);
}

/* The first record of type in the answer section whose owner is name. */
static ldns_rr *answer_rr(ldns_pkt *p, const char *name, ldns_rr_type type)
{
	ldns_rr_list *an = ldns_pkt_answer(p);
	char owner[300], want[300];

	dnsq_absolute(name, want, sizeof(want));
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != type)
			continue;
		dnsq_dname(ldns_rr_owner(rr), owner, sizeof(owner));
		if (strcmp(owner, want) == 0)
			return rr;
	}
	return NULL;
}

static const char *parent_of(const char *name)
{
	const char *dot = strchr(name, '.');
	return (dot && dot[1]) ? dot + 1 : NULL;
}

/* The zone holding name (absolute), by SOA: the owner of an SOA answer at
 * name or a parent, or the SOA in the authority section of a negative
 * answer (RFC 2308 §3). */
static int find_zone(const struct resolvers *r, const struct dns_check_opts *o, const char *name,
		     char **zone, struct gpc_error *err)
{
	for (const char *c = name; c != NULL; c = parent_of(c)) {
		ldns_pkt *a = NULL;
		if (resolve(r, o, c, LDNS_RR_TYPE_SOA, &a, err) != 0)
			return -1;
		ldns_rr *soa = answer_rr(a, c, LDNS_RR_TYPE_SOA);
		char owner[300];
		if (soa != NULL) {
			dnsq_absolute(c, owner, sizeof(owner));
			ldns_pkt_free(a);
			*zone = strdup(owner);
			return *zone ? 0 : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		}
		ldns_rr_list *au = ldns_pkt_authority(a);
		for (size_t i = 0; au && i < ldns_rr_list_rr_count(au); i++) {
			ldns_rr *rr = ldns_rr_list_rr(au, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && answer_rr(a, c, LDNS_RR_TYPE_CNAME) == NULL) {
				dnsq_dname(ldns_rr_owner(rr), owner, sizeof(owner));
				ldns_pkt_free(a);
				*zone = strdup(owner);
				return *zone ? 0 : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			}
		}
		ldns_pkt_free(a);
		if (strcmp(c, ".") == 0)
			break;
	}
	gpc_error_set(err, GPC_E_INVALID, "no zone (SOA record) found for %s through the resolvers %s", name,
		      r->label);
	return gpc_error_hint(err, "the name must be in a zone the resolvers can see; give the right ones "
			      "with --dns-resolver ADDR[:PORT]");
}

int dns_find_target(const struct dns_check_opts *o, const char *domain, char **fqdn, char **zone,
		    struct gpc_error *err)
{
	struct resolvers r;
	char name[300], start[300];
	const char *d = domain;

	*fqdn = *zone = NULL;
	if (d[0] == '*' && d[1] == '.')
		d += 2;
	if (d[0] == '_' && (strstr(d, "._acme-challenge.") != NULL || strncmp(d, "_validation-persist.", 20) == 0))
		snprintf(start, sizeof(start), "%s", d); /* dns-account-01, dns-persist-01: the record's own name */
	else
		snprintf(start, sizeof(start), "_acme-challenge.%s", d);
	dnsq_absolute(start, name, sizeof(name));
	snprintf(start, sizeof(start), "%s", name);
	if (resolvers_init(&r, o, err) != 0)
		return -1;
	/* RFC 8555 §8.4 lets the record be reached through a CNAME: the
	 * provider then writes the target (delegation to another zone). */
	for (int hop = 0; hop <= MAX_CNAME; hop++) {
		ldns_pkt *a = NULL;
		if (resolve(&r, o, name, LDNS_RR_TYPE_CNAME, &a, err) != 0)
			return -1;
		ldns_rr *cn = answer_rr(a, name, LDNS_RR_TYPE_CNAME);
		if (cn == NULL) {
			ldns_pkt_free(a);
			break;
		}
		if (hop == MAX_CNAME) {
			ldns_pkt_free(a);
			gpc_error_set(err, GPC_E_INVALID, "%s: more than %d CNAMEs in a row", start, MAX_CNAME);
			return gpc_error_hint(err, "point _acme-challenge.%s at its final name directly", d);
		}
		char target[300];
		dnsq_dname(ldns_rr_rdf(cn, 0), target, sizeof(target));
		ldns_pkt_free(a);
		gpc_info("dns: %s is a CNAME for %s: the record goes there", name, target);
		snprintf(name, sizeof(name), "%s", target);
	}
	if (find_zone(&r, o, name, zone, err) != 0)
		return -1;
	*fqdn = strdup(name);
	if (*fqdn == NULL) {
		free(*zone);
		*zone = NULL;
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	gpc_debug("dns: %s: record %s in zone %s", domain, *fqdn, *zone);
	return 0;
}

/* ---- the authoritative servers ---- */

struct auth_server {
	char ns[256];            /* NS name */
	struct dnsq_server addr;
};

/* Every address of every NS of zone, through the resolvers. */
static int zone_servers(const struct resolvers *r, const struct dns_check_opts *o, const char *zone,
			struct auth_server **out, size_t *nout, struct gpc_error *err)
{
	ldns_pkt *a = NULL;
	char names[MAX_NS][256];
	size_t nn = 0, k = 0;
	struct auth_server *v = NULL;

	if (resolve(r, o, zone, LDNS_RR_TYPE_NS, &a, err) != 0)
		return -1;
	ldns_rr_list *an = ldns_pkt_answer(a);
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an) && nn < MAX_NS; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS)
			dnsq_dname(ldns_rr_rdf(rr, 0), names[nn++], sizeof(names[0]));
	}
	ldns_pkt_free(a);
	if (nn == 0) {
		gpc_error_set(err, GPC_E_INVALID, "zone %s has no NS records (asked %s)", zone, r->label);
		return gpc_error_hint(err, "the resolvers must see the zone's delegation; give others with "
				      "--dns-resolver, or --no-dns-propagation-check / --dns-propagation-wait SECONDS");
	}
	v = calloc(nn * MAX_ADDRS * 2, sizeof(*v));
	if (v == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	for (size_t i = 0; i < nn; i++) {
		const ldns_rr_type types[2] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
		size_t before = k;
		for (int t = 0; t < 2; t++) {
			if (resolve(r, o, names[i], types[t], &a, err) != 0) {
				free(v);
				return -1;
			}
			an = ldns_pkt_answer(a);
			size_t got = 0;
			for (size_t j = 0; an && j < ldns_rr_list_rr_count(an) && got < MAX_ADDRS; j++) {
				ldns_rr *rr = ldns_rr_list_rr(an, j);
				if (ldns_rr_get_type(rr) != types[t])
					continue;
				char *ip = ldns_rdf2str(ldns_rr_rdf(rr, 0));
				if (ip != NULL && dnsq_server_set(&v[k].addr, ip, 53) == 0) {
					snprintf(v[k].ns, sizeof(v[k].ns), "%.255s", names[i]);
					k++;
					got++;
				}
				free(ip);
			}
			ldns_pkt_free(a);
		}
		if (k == before)
			gpc_warn("dns: NS %s of zone %s has no address (asked %s); it is not checked", names[i],
				 zone, r->label);
	}
	if (k == 0) {
		free(v);
		gpc_error_set(err, GPC_E_INVALID, "no NS of zone %s has an address (asked %s)", zone, r->label);
		return gpc_error_hint(err, "give resolvers that know the zone's servers with --dns-resolver");
	}
	*out = v;
	*nout = k;
	return 0;
}

/* ---- the check ---- */

struct probe {
	const struct dns_expect *e;  /* first expectation of this name */
	const char *fqdn, *zone;
	const char **values;
	size_t n_values;
	struct auth_server *servers; /* of the zone */
	size_t n_servers;
	bool *ok;                     /* per server */
	char (*answer)[200];          /* per server: what it answered last */
};

static void probes_free(struct probe *p, size_t n, char **zones)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].values);
		free(p[i].ok);
		free(p[i].answer);
		/* servers are shared by the probes of a zone: freed by the first */
		bool first = true;
		for (size_t j = 0; j < i; j++)
			if (p[j].servers == p[i].servers)
				first = false;
		if (first)
			free(p[i].servers);
		free(zones[i]);
	}
	free(p);
	free(zones);
}

/* A TXT record's value (several strings are one value: concatenated), cut
 * at sz - 1 bytes; always NUL-terminated. */
static void txt_value(const ldns_rr *rr, char *txt, size_t sz)
{
	size_t tl = 0;

	for (size_t k = 0; k < ldns_rr_rd_count(rr); k++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, k);
		const uint8_t *d = ldns_rdf_data(f);
		size_t l = ldns_rdf_size(f) > 0 ? d[0] : 0;
		if (l + 1 > ldns_rdf_size(f) || tl + l >= sz)
			break;
		memcpy(txt + tl, d + 1, l);
		tl += l;
	}
	txt[tl] = '\0';
}

/* Ask one server for fqdn TXT without recursion. 1 serves all values, 0 not
 * (answer says what it had), -1 no answer (answer says why). */
static int probe_one(const struct dns_check_opts *o, const struct auth_server *s, const struct probe *p,
		     char *answer, size_t asz)
{
	ldns_pkt *a = NULL;
	struct gpc_error e;
	size_t have = 0, ntxt = 0;

	gpc_error_clear(&e);
	if (dnsq_query(&s->addr, p->fqdn, LDNS_RR_TYPE_TXT, false, o->query_timeout_ms, &a, &e) != 0) {
		snprintf(answer, asz, "%.190s", e.message);
		return -1;
	}
	unsigned rc = ldns_pkt_get_rcode(a);
	if (rc != LDNS_RCODE_NOERROR) {
		snprintf(answer, asz, "it answered %s", dnsq_rcode_name(rc));
		ldns_pkt_free(a);
		return 0;
	}
	ldns_rr_list *an = ldns_pkt_answer(a);
	char first[120] = "";
	for (size_t v = 0; v < p->n_values; v++) {
		bool found = false;
		for (size_t i = 0; an && i < ldns_rr_list_rr_count(an) && !found; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);
			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT || ldns_rr_rd_count(rr) < 1)
				continue;
			char txt[512];
			txt_value(rr, txt, sizeof(txt));
			if (v == 0 && first[0] == '\0')
				snprintf(first, sizeof(first), "\"%.100s\"", txt);
			if (strcmp(txt, p->values[v]) == 0)
				found = true;
		}
		if (found)
			have++;
	}
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(an, i)) == LDNS_RR_TYPE_TXT)
			ntxt++;
	ldns_pkt_free(a);
	if (have == p->n_values)
		return 1;
	if (ntxt == 0)
		snprintf(answer, asz, "it has no TXT record there yet");
	else
		snprintf(answer, asz, "it has %zu TXT value%s (%s%s), %zu of the %zu expected", ntxt,
			 ntxt == 1 ? "" : "s", first, ntxt > 1 ? ", ..." : "", have, p->n_values);
	return 0;
}

static long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* One probe per name in p (*np of them), with all the values expected
 * there and its zone (zones[i], owned), then the zone's authoritative
 * servers (shared by the probes of one zone). Returns 0 or -1 (err). */
static int make_probes(struct resolvers *r, const struct dns_check_opts *o, const struct dns_expect *e, size_t n,
		       struct probe *p, char **zones, size_t *np, struct gpc_error *err)
{
	for (size_t i = 0; i < n; i++) {
		size_t j;
		for (j = 0; j < *np; j++)
			if (strcasecmp(p[j].fqdn, e[i].fqdn) == 0)
				break;
		if (j == *np) {
			p[j].e = &e[i];
			p[j].fqdn = e[i].fqdn;
			p[j].values = calloc(n, sizeof(char *));
			if (p[j].values == NULL)
				return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			if (e[i].zone != NULL) {
				if ((zones[j] = strdup(e[i].zone)) == NULL)
					return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			} else if (find_zone(r, o, e[i].fqdn, &zones[j], err) != 0) {
				(*np)++;
				return -1;
			}
			p[j].zone = zones[j];
			(*np)++;
		}
		bool dup = false;
		for (size_t v = 0; v < p[j].n_values; v++)
			dup |= strcmp(p[j].values[v], e[i].value) == 0;
		if (!dup)
			p[j].values[p[j].n_values++] = e[i].value;
	}
	for (size_t i = 0; i < *np; i++) {
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(p[j].zone, p[i].zone) == 0) {
				p[i].servers = p[j].servers;
				p[i].n_servers = p[j].n_servers;
			}
		if (p[i].servers == NULL && zone_servers(r, o, p[i].zone, &p[i].servers, &p[i].n_servers, err) != 0)
			return -1;
		p[i].ok = calloc(p[i].n_servers, sizeof(bool));
		p[i].answer = calloc(p[i].n_servers, sizeof(*p[i].answer));
		if (p[i].ok == NULL || p[i].answer == NULL)
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	return 0;
}

/* Ask every server that does not serve the values yet, once. Returns how
 * many of *total serve them. */
static size_t probe_round(const struct dns_check_opts *o, struct probe *p, size_t np, size_t *total)
{
	size_t good = 0;

	*total = 0;
	for (size_t i = 0; i < np; i++)
		for (size_t s = 0; s < p[i].n_servers; s++) {
			(*total)++;
			if (!p[i].ok[s])
				p[i].ok[s] = probe_one(o, &p[i].servers[s], &p[i], p[i].answer[s],
						       sizeof(p[i].answer[s])) == 1;
			good += p[i].ok[s];
		}
	return good;
}

/* The servers still waited for, in the log (info). */
static void log_waiting(const struct probe *p, size_t np, int round, size_t good, size_t total)
{
	struct buf b;

	if (!gpc_log_enabled(GPC_LOG_INFO))
		return;
	buf_init(&b, 2048);
	for (size_t i = 0; i < np; i++)
		for (size_t s = 0; s < p[i].n_servers; s++)
			if (!p[i].ok[s] && buf_printf(&b, "%s%s (%s)", b.len ? ", " : "", p[i].servers[s].ns,
						      p[i].servers[s].addr.label) != 0)
				break;
	gpc_info("dns: round %d: %zu of %zu servers serve the values; waiting for %s", round, good, total,
		 b.data ? b.data : "?");
	buf_finish(&b);
}

/* The time limit passed: err names each server and what it answered. */
static int timeout_error(const struct probe *p, size_t np, int timeout, struct gpc_error *err)
{
	struct buf b;

	buf_init(&b, sizeof(err->message) - 200);
	for (size_t i = 0; i < np; i++)
		for (size_t s = 0; s < p[i].n_servers; s++)
			if (!p[i].ok[s] && buf_printf(&b, "%sNS %s (%s) does not serve the TXT value%s at %s: %s",
						      b.len ? "; " : "", p[i].servers[s].ns, p[i].servers[s].addr.label,
						      p[i].n_values > 1 ? "s" : "", p[i].fqdn, p[i].answer[s]) != 0)
				break;
	gpc_error_set(err, GPC_E_NETWORK, "propagation: time limit of %d s exceeded: %s", timeout,
		      b.data ? b.data : "?");
	gpc_error_hint(err, "nothing was sent to the CA; a secondary that lags needs a longer "
			    "--dns-propagation-timeout SECONDS (or NOTIFY from its primary); for split-horizon "
			    "DNS use --dns-propagation-wait SECONDS");
	buf_finish(&b);
	return -1;
}

int dns_propagation_check(const struct dns_check_opts *o, const struct dns_expect *e, size_t n,
			  struct gpc_error *err)
{
	struct resolvers r;
	struct probe *p = NULL;
	char **zones = NULL;
	size_t np = 0;
	int rc = -1, timeout = o->timeout_secs > 0 ? o->timeout_secs : DNS_PROPAGATION_TIMEOUT_DEFAULT;

	if (n == 0 || o->no_check)
		return 0;
	if (o->wait_secs > 0) {
		gpc_info("dns: waiting %d s for the records to reach every server (--dns-propagation-wait)",
			 o->wait_secs);
		sleep((unsigned)o->wait_secs);
		return 0;
	}
	if (resolvers_init(&r, o, err) != 0)
		return -1;
	p = calloc(n, sizeof(*p));
	zones = calloc(n, sizeof(*zones));
	if (p == NULL || zones == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	if (make_probes(&r, o, e, n, p, zones, &np, err) != 0)
		goto out;
	long start = mono_ms(), deadline = start + timeout * 1000L;
	for (int round = 1;; round++) {
		size_t total, good = probe_round(o, p, np, &total);
		if (good == total) {
			gpc_info("dns: every authoritative server serves the record%s (round %d, %.1f s)",
				 np > 1 ? "s" : "", round, (mono_ms() - start) / 1000.0);
			rc = 0;
			goto out;
		}
		log_waiting(p, np, round, good, total);
		long now = mono_ms();
		if (now >= deadline)
			break;
		/* a record usually appears within a few seconds: ask often
		 * first, then once a second */
		long pause = round < 8 ? 250 : 1000;
		if (now + pause > deadline)
			pause = deadline - now;
		usleep((useconds_t)pause * 1000);
	}
	timeout_error(p, np, timeout, err);
out:
	if (p != NULL)
		probes_free(p, n, zones);
	else
		free(zones);
	return rc;
}

/* ---- dns-persist-01 (draft-ietf-acme-dns-persist): a standing record ---- */

static const char *trim_wsp(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

int dns_persist_match(const char *txt, const struct dns_persist_want *w, time_t *until, char *why, size_t whysz)
{
	char buf[1024], *save = NULL, *tok;
	const char *issuer;
	bool first = true, issuer_ok = false, acct = false, wild = false;
	int rc = 0;

	*until = 0;
	if (strlen(txt) >= sizeof(buf)) {
		snprintf(why, whysz, "a value of %zu bytes", strlen(txt));
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", txt);
	/* RFC 8659 issue-value: issuer-domain-name *(";" tag "=" value) */
	for (tok = strtok_r(buf, ";", &save); tok != NULL; tok = strtok_r(NULL, ";", &save)) {
		const char *t = trim_wsp(tok);
		if (first) {
			first = false;
			issuer = t;
			for (size_t i = 0; i < w->n_issuers; i++)
				issuer_ok |= strcmp(issuer, w->issuers[i]) == 0;
			if (!issuer_ok) {
				snprintf(why, whysz, "issuer '%.80s' is not %s", issuer, w->n_issuers ? w->issuers[0] : "?");
				return 0;
			}
			continue;
		}
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			snprintf(why, whysz, "parameter '%.60s' is not tag=value", t);
			return 0;
		}
		*eq = '\0';
		const char *tag = trim_wsp(tok), *val = trim_wsp(eq + 1);
		if (strcasecmp(tag, "accounturi") == 0) {
			acct = strcmp(val, w->account_uri) == 0;
			if (!acct) {
				snprintf(why, whysz, "accounturi=%.200s is another account", val);
				return 0;
			}
		} else if (strcasecmp(tag, "policy") == 0) {
			wild = strcasecmp(val, "wildcard") == 0;
		} else if (strcasecmp(tag, "persistUntil") == 0) {
			char *end;
			errno = 0;
			long long v = strtoll(val, &end, 10);
			if (*val == '\0' || *end != '\0' || errno != 0) {
				snprintf(why, whysz, "persistUntil=%.40s is not a Unix time", val);
				return 0;
			}
			*until = (time_t)v;
		}
	}
	if (!issuer_ok)
		snprintf(why, whysz, "an empty value");
	else if (!acct)
		snprintf(why, whysz, "no accounturi");
	else if (w->wildcard && !wild)
		snprintf(why, whysz, "no policy=wildcard (the name is a wildcard)");
	else if (*until != 0 && *until < w->now)
		snprintf(why, whysz, "persistUntil=%lld has passed", (long long)*until);
	else
		rc = 1;
	return rc;
}

/* Ask one server (rd: a resolver) for w->fqdn TXT: 1 a matching record
 * (*until its persistUntil, 0 none), 0 none (answer says what it had). */
static int persist_probe(const struct dns_check_opts *o, const struct dnsq_server *s, bool rd,
			 const struct dns_persist_want *w, time_t *until, char *answer, size_t asz)
{
	ldns_pkt *a = NULL;
	struct gpc_error e;
	size_t ntxt = 0;
	int found = 0;

	gpc_error_clear(&e);
	snprintf(answer, asz, "it has no TXT record there");
	if (dnsq_query(s, w->fqdn, LDNS_RR_TYPE_TXT, rd, o->query_timeout_ms, &a, &e) != 0) {
		snprintf(answer, asz, "%.300s", e.message);
		return 0;
	}
	unsigned rc = ldns_pkt_get_rcode(a);
	if (rc != LDNS_RCODE_NOERROR) {
		snprintf(answer, asz, "it answered %s", dnsq_rcode_name(rc));
		ldns_pkt_free(a);
		return 0;
	}
	ldns_rr_list *an = ldns_pkt_answer(a);
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an) && !found; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT)
			continue;
		char txt[1024], why[300];
		txt_value(rr, txt, sizeof(txt));
		ntxt++;
		found = dns_persist_match(txt, w, until, why, sizeof(why));
		if (!found)
			snprintf(answer, asz, "\"%.200s\": %.180s", txt, why);
	}
	ldns_pkt_free(a);
	return found;
}

int dns_persist_check(const struct dns_check_opts *o, const struct dns_persist_want *w, time_t *until,
		      struct gpc_error *err)
{
	struct resolvers r;
	struct auth_server *sv = NULL;
	size_t nsv = 0;
	char *zone = NULL;
	bool rd = false;
	struct buf bad;
	int rc = -1;

	*until = 0;
	if (resolvers_init(&r, o, err) != 0)
		return -1;
	buf_init(&bad, sizeof(err->message) - 200);
	/* every authoritative server, as for dns-01; where the resolvers
	 * show no zone with servers (split horizon, a test server) the CA
	 * can only ask its resolvers too: ask them. */
	if (find_zone(&r, o, w->fqdn, &zone, err) != 0 || zone_servers(&r, o, zone, &sv, &nsv, err) != 0) {
		gpc_info("dns: %s: %s; asking the resolvers (%s) instead", w->fqdn, err->message, r.label);
		gpc_error_clear(err);
		free(sv);
		sv = calloc(r.n, sizeof(*sv));
		if (sv == NULL) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < r.n; i++) {
			sv[i].addr = r.s[i];
		}
		nsv = r.n;
		rd = true;
	}
	for (size_t i = 0; i < nsv; i++) {
		char answer[400];
		time_t u = 0;
		if (persist_probe(o, &sv[i].addr, rd, w, &u, answer, sizeof(answer)) == 1) {
			if (*until == 0 || (u != 0 && u < *until))
				*until = u;
			continue;
		}
		int pr = rd ? buf_printf(&bad, "%sresolver %s: %s", bad.len ? "; " : "", sv[i].addr.label, answer)
			    : buf_printf(&bad, "%sNS %s (%s): %s", bad.len ? "; " : "", sv[i].ns, sv[i].addr.label,
					 answer);
		if (pr != 0)
			break;
	}
	if (bad.len == 0) {
		gpc_info("dns: %s: every %s serves the dns-persist-01 record", w->fqdn,
			 rd ? "resolver" : "authoritative server");
		rc = 0;
		goto out;
	}
	gpc_error_set(err, GPC_E_NETWORK, "no dns-persist-01 record for this account at %s: %s", w->fqdn, bad.data);
out:
	buf_finish(&bad);
	free(sv);
	free(zone);
	return rc;
}

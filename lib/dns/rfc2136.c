/* rfc2136: RFC 2136 dynamic UPDATE signed with TSIG (RFC 8945), as BIND,
 * Knot, PowerDNS and most self-hosted servers take it. One RR is added or
 * deleted per message (never the whole set), so two values on one name
 * (a wildcard and its apex) coexist. */
#include "dns_int.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>

#include "b64.h"
#include "log.h"

static const struct dns_opt_desc opts[] = {
	{ "nameserver", "RFC2136_NAMESERVER", NULL, DNS_OPT_REQUIRED, NULL,
	  "the primary server that takes updates, HOST[:PORT] (port 53 by default)" },
	{ "tsig_key", "RFC2136_TSIG_KEY", NULL, 0, NULL, "the TSIG key's name" },
	{ "tsig_secret", "RFC2136_TSIG_SECRET", NULL, DNS_OPT_SECRET, NULL,
	  "the TSIG key's secret, base64" },
	{ "tsig_algorithm", "RFC2136_TSIG_ALGORITHM", NULL, 0, "hmac-sha256.",
	  "hmac-sha256. (default), hmac-sha512., hmac-sha384., hmac-sha1. or hmac-md5" },
	{ "ttl", "RFC2136_TTL", NULL, 0, "120", "the TXT record's TTL in seconds" },
};

struct rfc2136 {
	struct dnsq_server server;
	char nameserver[256];
	char *key, *secret, *alg;
	unsigned ttl;
};

/* The algorithm names ldns signs with (RFC 8945 §6). */
static const char *alg_name(const char *a)
{
	static const char *const known[] = { "hmac-sha256.", "hmac-sha512.", "hmac-sha384.", "hmac-sha1.",
					     "hmac-md5.sig-alg.reg.int." };
	char n[64];
	size_t l;

	snprintf(n, sizeof(n), "%s", a);
	l = strlen(n);
	if (l > 0 && n[l - 1] != '.' && l + 1 < sizeof(n)) {
		n[l] = '.';
		n[l + 1] = '\0';
	}
	if (strcasecmp(n, "hmac-md5.") == 0)
		return known[4];
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcasecmp(n, known[i]) == 0)
			return known[i];
	return NULL;
}

static int valid_base64(const char *s)
{
	gnutls_datum_t in = { (unsigned char *)s, (unsigned)strlen(s) }, out = { NULL, 0 };
	int ok;

	ok = in.size > 0 && gnutls_base64_decode2(&in, &out) == 0 && out.size > 0;
	gnutls_free(out.data);
	return ok;
}

/* HOST[:PORT] to an address: an IP literal, else the system's lookup. */
static int resolve_nameserver(const char *spec, struct dnsq_server *s, struct gpc_error *err)
{
	char host[256];
	unsigned port;
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_ADDRCONFIG }, *res = NULL;
	char ps[8], ip[64];
	int g;

	if (dns_parse_hostport(spec, 53, host, sizeof(host), &port) != 0) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider rfc2136: nameserver '%s' is not HOST[:PORT]", spec);
		return gpc_error_hint(err, "for example RFC2136_NAMESERVER=ns1.example.org:53 or 192.0.2.1");
	}
	if (dnsq_server_set(s, host, port) == 0)
		return 0;
	snprintf(ps, sizeof(ps), "%u", port);
	g = getaddrinfo(host, ps, &hints, &res);
	if (g != 0 || res == NULL) {
		gpc_error_set(err, GPC_E_NETWORK, "dns provider rfc2136: cannot resolve nameserver '%s': %s", host,
			      gai_strerror(g));
		return gpc_error_hint(err, "give its IP address in RFC2136_NAMESERVER");
	}
	g = getnameinfo(res->ai_addr, res->ai_addrlen, ip, sizeof(ip), NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(res);
	if (g != 0 || dnsq_server_set(s, ip, port) != 0)
		return gpc_error_set(err, GPC_E_NETWORK, "dns provider rfc2136: cannot resolve nameserver '%s'", host);
	return 0;
}

static int check(const struct dns_options *o, struct gpc_error *err)
{
	const char *key = dns_options_get(o, "tsig_key"), *sec = dns_options_get(o, "tsig_secret");
	const char *alg = dns_options_get(o, "tsig_algorithm"), *ttl = dns_options_get(o, "ttl");
	char host[256];
	unsigned port;

	if (dns_parse_hostport(dns_options_get(o, "nameserver"), 53, host, sizeof(host), &port) != 0) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider rfc2136: option nameserver (RFC2136_NAMESERVER) "
			      "'%s' is not HOST[:PORT]", dns_options_get(o, "nameserver"));
		return gpc_error_hint(err, "for example RFC2136_NAMESERVER=ns1.example.org:53 or 192.0.2.1");
	}
	if ((key && *key) != (sec && *sec)) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider rfc2136: option %s (%s) is missing: the TSIG key "
			      "name and secret go together", key && *key ? "tsig_secret" : "tsig_key",
			      key && *key ? "RFC2136_TSIG_SECRET" : "RFC2136_TSIG_KEY");
		return gpc_error_hint(err, "give both RFC2136_TSIG_KEY and RFC2136_TSIG_SECRET (or neither, for a "
				      "server that takes unsigned updates)");
	}
	if (sec && *sec && !valid_base64(sec)) {
		/* never the value: it is the secret */
		gpc_error_set(err, GPC_E_USAGE, "dns provider rfc2136: option tsig_secret (RFC2136_TSIG_SECRET) "
			      "is not base64");
		return gpc_error_hint(err, "give the secret as the server's key file has it (keymgr -t, "
				      "tsig-keygen, dnssec-keygen print it)");
	}
	if (alg_name(alg) == NULL) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider rfc2136: option tsig_algorithm "
			      "(RFC2136_TSIG_ALGORITHM) '%s' is not supported", alg);
		return gpc_error_hint(err, "use hmac-sha256. (the default), hmac-sha512., hmac-sha384., "
				      "hmac-sha1. or hmac-md5");
	}
	return dns_opt_ttl("rfc2136", "RFC2136_TTL", ttl, err);
}

static void destroy(void *state)
{
	struct rfc2136 *r = state;

	if (r == NULL)
		return;
	free(r->key);
	dns_secret_free(r->secret);
	free(r);
}

static int create(const struct dns_options *o, void **state, struct gpc_error *err)
{
	struct rfc2136 *r = calloc(1, sizeof(*r));
	const char *key = dns_options_get(o, "tsig_key"), *sec = dns_options_get(o, "tsig_secret");
	char abs[300];

	if (r == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	snprintf(r->nameserver, sizeof(r->nameserver), "%s", dns_options_get(o, "nameserver"));
	r->alg = (char *)alg_name(dns_options_get(o, "tsig_algorithm"));
	r->ttl = (unsigned)strtoul(dns_options_get(o, "ttl"), NULL, 10);
	if (key && *key) {
		dnsq_absolute(key, abs, sizeof(abs));
		r->key = strdup(abs);
		r->secret = strdup(sec);
		if (r->key == NULL || r->secret == NULL) {
			destroy(r);
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		}
	}
	if (resolve_nameserver(r->nameserver, &r->server, err) != 0) {
		destroy(r);
		return -1;
	}
	*state = r;
	return 0;
}

static const char *tsig_error_name(unsigned e)
{
	switch (e) {
	case 16: return "BADSIG";
	case 17: return "BADKEY";
	case 18: return "BADTIME";
	case 22: return "BADTRUNC";
	}
	return NULL;
}

/* Send one UPDATE of zone with rr (add, or delete when del) and judge the answer. */
static int update(struct rfc2136 *r, const struct dns_record *rec, bool del, struct gpc_error *err)
{
	ldns_rr *rr = NULL;
	ldns_rr_list *up = NULL;
	ldns_pkt *q = NULL, *a = NULL;
	ldns_rdf *zone = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0;
	char text[600];
	const char *what = del ? "removal" : "update";
	int rc = -1;

	snprintf(text, sizeof(text), "%s %u IN TXT \"%s\"", rec->fqdn, r->ttl, rec->value);
	if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK)
		return gpc_error_set(err, GPC_E_INVALID, "rfc2136: cannot build a TXT record for %s", rec->fqdn);
	if (del) {
		/* RFC 2136 §2.5.4: delete an RR from an RRset: class NONE, TTL 0 */
		ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
		ldns_rr_set_ttl(rr, 0);
	}
	up = ldns_rr_list_new();
	zone = ldns_dname_new_frm_str(rec->zone);
	if (up == NULL || zone == NULL || !ldns_rr_list_push_rr(up, rr)) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(zone);
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	q = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, NULL, up, NULL);
	if (q == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	ldns_pkt_set_random_id(q);
	if (r->key != NULL &&
	    ldns_pkt_tsig_sign(q, r->key, r->secret, 300, r->alg, NULL) != LDNS_STATUS_OK) {
		gpc_error_set(err, GPC_E_USAGE, "rfc2136: cannot sign the update with TSIG key %s (%s)", r->key, r->alg);
		gpc_error_hint(err, "check RFC2136_TSIG_SECRET (base64) and RFC2136_TSIG_ALGORITHM");
		goto out;
	}
	if (dnsq_send(&r->server, q, 5000, &a, &wire, &wlen, err) != 0) {
		char msg[sizeof(err->message)];
		snprintf(msg, sizeof(msg), "%s", err->message);
		gpc_error_set(err, GPC_E_NETWORK, "rfc2136: %s of %s in zone %s at %s: %s", what, rec->fqdn,
			      rec->zone, r->nameserver, msg);
		gpc_error_hint(err, "RFC2136_NAMESERVER must be the zone's primary, reachable on UDP and TCP");
		goto out;
	}
	unsigned rcode = ldns_pkt_get_rcode(a);
	ldns_rr *ts = ldns_pkt_tsig(a);
	unsigned terr = 0;
	if (ts != NULL && ldns_rr_rd_count(ts) > 5)
		terr = ldns_rdf2native_int16(ldns_rr_rdf(ts, 5));
	if (rcode != LDNS_RCODE_NOERROR || terr != 0) {
		const char *tn = tsig_error_name(terr);
		char te[64] = "";
		if (terr != 0)
			snprintf(te, sizeof(te), ", TSIG error %s", tn ? tn : "unknown");
		gpc_error_set(err, (rcode == LDNS_RCODE_NOTAUTH || rcode == LDNS_RCODE_REFUSED) ? GPC_E_PERMISSION
											     : GPC_E_INVALID,
			      "rfc2136: %s refused the %s of %s in zone %s: %s%s", r->nameserver, what, rec->fqdn,
			      rec->zone, dnsq_rcode_name(rcode), te);
		if (terr == 16)
			gpc_error_hint(err, "the server has a key named %s with another secret: check "
					    "RFC2136_TSIG_SECRET and RFC2136_TSIG_ALGORITHM (%s)", r->key, r->alg);
		else if (terr == 17)
			gpc_error_hint(err, "the server has no key named %s with algorithm %s: check RFC2136_TSIG_KEY "
					    "and RFC2136_TSIG_ALGORITHM", r->key ? r->key : "(none)", r->alg);
		else if (terr == 18)
			gpc_error_hint(err, "this machine's clock and the server's differ by more than 300 s");
		else if (rcode == LDNS_RCODE_REFUSED || rcode == LDNS_RCODE_NOTAUTH)
			gpc_error_hint(err, "the server does not let %s update zone %s: its update ACL must allow "
					    "this key (or address)", r->key ? r->key : "unsigned requests", rec->zone);
		else if (rcode == LDNS_RCODE_NOTZONE)
			gpc_error_hint(err, "%s is not inside zone %s on that server", rec->fqdn, rec->zone);
		else
			gpc_error_hint(err, "see the server's log for the update of %s", rec->zone);
		goto out;
	}
	/* RFC 8945 §5.3: an answer to a signed request is signed; an unsigned
	 * "success" is not from the server that has the key */
	if (r->key != NULL) {
		ldns_rr *qts = ldns_pkt_tsig(q);
		if (ts == NULL || qts == NULL ||
		    !ldns_pkt_tsig_verify(a, wire, wlen, r->key, r->secret, ldns_rr_rdf(qts, 3))) {
			gpc_error_set(err, GPC_E_INVALID, "rfc2136: the answer of %s to the %s of %s is not signed "
				      "with key %s", r->nameserver, what, rec->fqdn, r->key);
			gpc_error_hint(err, "something between here and the server answers in its place");
			goto out;
		}
	}
	gpc_debug("rfc2136: %s %s TXT \"%s\" in %s at %s: NOERROR", del ? "deleted" : "added", rec->fqdn,
		  rec->value, rec->zone, r->nameserver);
	rc = 0;
out:
	if (q)
		ldns_pkt_free(q);
	if (a)
		ldns_pkt_free(a);
	free(wire);
	ldns_rr_list_deep_free(up);
	return rc;
}

static int present(void *state, const struct dns_record *r, struct gpc_error *err)
{
	return update(state, r, false, err);
}

static int cleanup(void *state, const struct dns_record *r, struct gpc_error *err)
{
	return update(state, r, true, err);
}

const struct dns_provider_ops dns_rfc2136 = {
	.name = "rfc2136",
	.aliases = { "dnsupdate", "nsupdate", NULL },
	.title = "RFC 2136 dynamic update with TSIG (BIND, Knot, PowerDNS, Technitium, ...)",
	.needs = "a TSIG key the primary accepts for updates of the zone (its update ACL)",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = true,
	.check = check,
	.create = create,
	.present = present,
	.cleanup = cleanup,
	.destroy = destroy,
};

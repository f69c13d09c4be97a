/* namecheap: the Namecheap XML API (xml.response). Its only write is
 * namecheap.domains.dns.setHosts, which replaces every host record of the
 * domain, so a change is: getHosts, the same list with the one TXT value
 * added or removed, setHosts. Answers are XML (libxml2); errors come as
 * HTTP 200 with Status="ERROR" and <Errors><Error Number="...">. The API
 * only answers from a whitelisted address, given as ClientIp: client_ip,
 * or this machine's public address as ip_url tells it. */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "log.h"

#define NC_BASE "https://api.namecheap.com/xml.response"
#define NC_SANDBOX "https://api.sandbox.namecheap.com/xml.response"
#define NC_MAX_HOSTS 500

static const struct dns_opt_desc opts[] = {
	{ "api_user", "NAMECHEAP_API_USER", NULL, DNS_OPT_REQUIRED, NULL, "the account's user name" },
	{ "api_key", "NAMECHEAP_API_KEY", NULL, DNS_OPT_REQUIRED | DNS_OPT_SECRET, NULL,
	  "the API key (Profile, Tools, Namecheap API Access)" },
	{ "client_ip", "NAMECHEAP_CLIENT_IP", NULL, 0, NULL,
	  "this machine's whitelisted public address (default: asked of ip_url)" },
	{ "sandbox", "NAMECHEAP_SANDBOX", NULL, 0, "false", "true: the sandbox API" },
	{ "base_url", "NAMECHEAP_BASE_URL", NULL, 0, "", "the API's URL (default by sandbox)" },
	{ "ip_url", "NAMECHEAP_IP_URL", NULL, 0, "https://dynamicdns.park-your-domain.com/getip",
	  "where this machine's public address is asked" },
	{ "ttl", "NAMECHEAP_TTL", NULL, 0, "120", "the TXT record's TTL in seconds (60-60000)" },
};

struct host {
	char *name, *type, *address, *mxpref, *ttl;
};

struct nc {
	char *base, *user, *key, *ip, *ip_url;
	unsigned ttl;
};

static bool truthy(const char *s)
{
	return s && (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcasecmp(s, "yes") == 0);
}

static int check(const struct dns_options *o, struct gpc_error *err)
{
	const char *b = dns_options_get(o, "base_url"), *t = dns_options_get(o, "ttl"), *sb = dns_options_get(o, "sandbox");
	char *end;

	if (b && *b && dns_opt_url("namecheap", "base_url", "NAMECHEAP_BASE_URL", b, "leave it unset (" NC_BASE ")",
				   err) != 0)
		return -1;
	if (dns_opt_url("namecheap", "ip_url", "NAMECHEAP_IP_URL", dns_options_get(o, "ip_url"),
			"leave it unset, or give client_ip (NAMECHEAP_CLIENT_IP)", err) != 0)
		return -1;
	if (!truthy(sb) && strcasecmp(sb, "false") != 0 && strcmp(sb, "0") != 0 && strcasecmp(sb, "no") != 0) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider namecheap: option sandbox (NAMECHEAP_SANDBOX) '%s' is "
			      "not true or false", sb);
		return gpc_error_hint(err, "leave it unset for the real API");
	}
	unsigned long v = strtoul(t, &end, 10);
	if (*t == '\0' || *end != '\0' || v < 60 || v > 60000) {
		gpc_error_set(err, GPC_E_USAGE, "dns provider namecheap: option ttl (NAMECHEAP_TTL) '%s' is not "
			      "60-60000 seconds", t);
		return gpc_error_hint(err, "leave it unset (120)");
	}
	return 0;
}

static void destroy(void *state)
{
	struct nc *n = state;

	if (n == NULL)
		return;
	free(n->base);
	free(n->user);
	dns_secret_free(n->key);
	free(n->ip);
	free(n->ip_url);
	free(n);
}

static int create(const struct dns_options *o, void **state, struct gpc_error *err)
{
	struct nc *n = calloc(1, sizeof(*n));
	const char *b = dns_options_get(o, "base_url"), *ip = dns_options_get(o, "client_ip");

	if (n == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	n->base = dns_url_base(b && *b ? b : truthy(dns_options_get(o, "sandbox")) ? NC_SANDBOX : NC_BASE);
	n->user = strdup(dns_options_get(o, "api_user"));
	n->key = strdup(dns_options_get(o, "api_key"));
	n->ip = ip && *ip ? strdup(ip) : NULL;
	n->ip_url = strdup(dns_options_get(o, "ip_url"));
	n->ttl = (unsigned)strtoul(dns_options_get(o, "ttl"), NULL, 10);
	if (!n->base || !n->user || !n->key || (ip && *ip && !n->ip) || !n->ip_url) {
		destroy(n);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	*state = n;
	return 0;
}

/* This machine's public address, asked once (lego asks the same service). */
static int client_ip(struct nc *n, struct gpc_error *err)
{
	struct dnshttp_resp r = { 0 };
	char label[512];
	size_t len;

	if (n->ip != NULL)
		return 0;
	if (dnshttp_request("namecheap", "GET", n->ip_url, NULL, NULL, &r, err) != 0)
		return -1;
	const char *b = r.body.data ? r.body.data : "";
	len = strspn(b, "0123456789abcdefABCDEF.:");
	if (r.status != 200 || len == 0 || len > 45) {
		gpc_error_set(err, GPC_E_NETWORK, "namecheap: %s answered HTTP %ld, not this machine's address",
			      dnshttp_url_label(n->ip_url, label, sizeof(label)), r.status);
		gpc_error_hint(err, "give client_ip (NAMECHEAP_CLIENT_IP): the public address Namecheap has "
				    "whitelisted for the API");
		dnshttp_resp_finish(&r);
		return -1;
	}
	n->ip = strndup(b, len);
	dnshttp_resp_finish(&r);
	return n->ip ? 0 : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
}

static xmlNode *child(xmlNode *p, const char *name)
{
	for (xmlNode *c = p ? p->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

static char *attr(xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	char *s = strdup(v ? (const char *)v : "");
	xmlFree(v);
	return s;
}

/* One command (form-encoded POST; the credentials in it). Returns the
 * parsed document with Status="OK" (xmlFreeDoc), or NULL with err naming
 * the command, the status and Namecheap's errors. */
static xmlDoc *command(struct nc *n, const char *cmd, const char *what, struct buf *params, struct gpc_error *err)
{
	const char *hdr[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
	struct dnshttp_resp r = { 0 };
	struct buf f;
	xmlDoc *doc = NULL;
	char label[512], msg[400] = "";
	int bad;

	buf_init(&f, 1u << 20);
	bad = buf_adds(&f, "ApiUser=") || dnshttp_escape(&f, n->user) || buf_adds(&f, "&ApiKey=") ||
	      dnshttp_escape(&f, n->key) || buf_adds(&f, "&UserName=") || dnshttp_escape(&f, n->user) ||
	      buf_adds(&f, "&ClientIp=") || dnshttp_escape(&f, n->ip) || buf_adds(&f, "&Command=") ||
	      dnshttp_escape(&f, cmd) || (params->len && buf_add(&f, params->data, params->len));
	if (bad) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	if (dnshttp_request("namecheap", "POST", n->base, hdr, f.data, &r, err) != 0)
		goto out;
	if (r.body.data && r.body.len)
		doc = xmlReadMemory(r.body.data, (int)r.body.len, "answer.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	char *status = root ? attr(root, "Status") : NULL;
	if (r.status == 200 && status && strcmp(status, "OK") == 0) {
		free(status);
		goto out;
	}
	free(status);
	xmlNode *e = child(child(root, "Errors"), "Error");
	if (e != NULL) {
		xmlChar *t = xmlNodeGetContent(e);
		char *num = attr(e, "Number");
		snprintf(msg, sizeof(msg), ": error %s %s", num ? num : "", t ? (const char *)t : "");
		free(num);
		xmlFree(t);
	} else if (root == NULL) {
		snprintf(msg, sizeof(msg), ": not a Namecheap API answer");
	}
	gpc_error_set(err, GPC_E_INVALID, "namecheap: %s: %s answered HTTP %ld%s", what,
		      dnshttp_url_label(n->base, label, sizeof(label)), r.status, msg);
	gpc_error_hint(err, "NAMECHEAP_API_USER and NAMECHEAP_API_KEY must be an account with API access "
			    "turned on, and this machine's address (%s) whitelisted for it", n->ip);
	xmlFreeDoc(doc);
	doc = NULL;
out:
	if (f.data)
		memset(f.data, 0, f.len);
	buf_finish(&f);
	dnshttp_resp_finish(&r);
	return doc;
}

/* SLD and TLD of the zone ("example.co.uk": "example", "co.uk"). */
static int split_zone(const char *zone, struct buf *p, char *name, size_t namesz)
{
	snprintf(name, namesz, "%s", zone);
	size_t l = strlen(name);
	if (l > 1 && name[l - 1] == '.')
		name[l - 1] = '\0';
	char *dot = strchr(name, '.');
	if (dot == NULL)
		return -1;
	*dot = '\0';
	int rc = buf_adds(p, "&SLD=") || dnshttp_escape(p, name) || buf_adds(p, "&TLD=") || dnshttp_escape(p, dot + 1);
	*dot = '.';
	return rc ? -1 : 0;
}

static void hosts_free(struct host *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].type);
		free(h[i].address);
		free(h[i].mxpref);
		free(h[i].ttl);
	}
	free(h);
}

static int get_hosts(struct nc *n, const char *zone, struct host **hosts, size_t *nh, struct gpc_error *err)
{
	struct buf p;
	char name[300];
	xmlDoc *doc;

	*hosts = NULL;
	*nh = 0;
	buf_init(&p, 4096);
	if (split_zone(zone, &p, name, sizeof(name)) != 0) {
		buf_finish(&p);
		return gpc_error_set(err, GPC_E_INVALID, "namecheap: zone %s has no TLD", zone);
	}
	doc = command(n, "namecheap.domains.dns.getHosts", "read the hosts", &p, err);
	buf_finish(&p);
	if (doc == NULL)
		return -1;
	xmlNode *res = child(child(xmlDocGetRootElement(doc), "CommandResponse"), "DomainDNSGetHostsResult");
	for (xmlNode *c = res ? res->children : NULL; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || strcasecmp((const char *)c->name, "host") != 0)
			continue;
		struct host *nv = realloc(*hosts, (*nh + 1) * sizeof(*nv));
		if (nv == NULL || *nh >= NC_MAX_HOSTS) {
			xmlFreeDoc(doc);
			hosts_free(nv ? nv : *hosts, *nh);
			*hosts = NULL;
			*nh = 0;
			return gpc_error_set(err, GPC_E_NOMEM, "namecheap: too many hosts in %s", name);
		}
		*hosts = nv;
		nv[*nh] = (struct host){ attr(c, "Name"), attr(c, "Type"), attr(c, "Address"), attr(c, "MXPref"),
					 attr(c, "TTL") };
		(*nh)++;
	}
	xmlFreeDoc(doc);
	return 0;
}

/* fqdn relative to zone, "@" for the apex. */
static void relative(const char *fqdn, const char *zone, char *out, size_t outsz)
{
	char f[300], z[300];

	snprintf(f, sizeof(f), "%s", fqdn);
	snprintf(z, sizeof(z), "%s", zone);
	if (f[0] && f[strlen(f) - 1] == '.')
		f[strlen(f) - 1] = '\0';
	if (z[0] && z[strlen(z) - 1] == '.')
		z[strlen(z) - 1] = '\0';
	size_t fl = strlen(f), zl = strlen(z);
	if (strcasecmp(f, z) == 0)
		snprintf(out, outsz, "@");
	else if (fl > zl + 1 && f[fl - zl - 1] == '.' && strcasecmp(f + fl - zl, z) == 0)
		snprintf(out, outsz, "%.*s", (int)(fl - zl - 1), f);
	else
		snprintf(out, outsz, "%s", f);
}

static bool is_ours(const struct host *h, const char *rel, const char *value)
{
	return strcasecmp(h->type, "TXT") == 0 && strcasecmp(h->name, rel) == 0 && strcmp(h->address, value) == 0;
}

/* getHosts, then setHosts with value added (add) or removed. */
static int change(struct nc *n, const struct dns_record *rec, bool add, struct gpc_error *err)
{
	struct host *h = NULL;
	size_t nh = 0, k = 0;
	bool there = false;
	char rel[300], name[300];
	struct buf p;
	xmlDoc *doc = NULL;
	int rc = -1;

	if (client_ip(n, err) != 0 || get_hosts(n, rec->zone, &h, &nh, err) != 0)
		return -1;
	relative(rec->fqdn, rec->zone, rel, sizeof(rel));
	for (size_t i = 0; i < nh; i++)
		there = there || is_ours(&h[i], rel, rec->value);
	if (there == add) {
		hosts_free(h, nh);
		return 0;
	}
	buf_init(&p, 1u << 20);
	if (split_zone(rec->zone, &p, name, sizeof(name)) != 0)
		goto nomem;
	for (size_t i = 0; i < nh; i++) {
		if (!add && is_ours(&h[i], rel, rec->value))
			continue;
		k++;
		if (buf_printf(&p, "&HostName%zu=", k) || dnshttp_escape(&p, h[i].name) ||
		    buf_printf(&p, "&RecordType%zu=", k) || dnshttp_escape(&p, h[i].type) ||
		    buf_printf(&p, "&Address%zu=", k) || dnshttp_escape(&p, h[i].address) ||
		    buf_printf(&p, "&MXPref%zu=", k) || dnshttp_escape(&p, h[i].mxpref) ||
		    buf_printf(&p, "&TTL%zu=", k) || dnshttp_escape(&p, h[i].ttl))
			goto nomem;
	}
	if (add) {
		k++;
		if (buf_printf(&p, "&HostName%zu=", k) || dnshttp_escape(&p, rel) ||
		    buf_printf(&p, "&RecordType%zu=TXT&Address%zu=", k, k) || dnshttp_escape(&p, rec->value) ||
		    buf_printf(&p, "&MXPref%zu=10&TTL%zu=%u", k, k, n->ttl))
			goto nomem;
	}
	doc = command(n, "namecheap.domains.dns.setHosts", add ? "add the TXT record" : "remove the TXT record", &p,
		      err);
	if (doc == NULL)
		goto out;
	xmlNode *res = child(child(xmlDocGetRootElement(doc), "CommandResponse"), "DomainDNSSetHostsResult");
	char *ok = res ? attr(res, "IsSuccess") : NULL;
	if (ok == NULL || strcasecmp(ok, "true") != 0) {
		gpc_error_set(err, GPC_E_INVALID, "namecheap: setHosts for %s did not report success", name);
		gpc_error_hint(err, "see the domain's Advanced DNS page at Namecheap");
	} else {
		gpc_debug("namecheap: %s TXT %s at %s", add ? "added" : "removed", rec->value, rec->fqdn);
		rc = 0;
	}
	free(ok);
	goto out;
nomem:
	gpc_error_set(err, GPC_E_NOMEM, "out of memory");
out:
	xmlFreeDoc(doc);
	buf_finish(&p);
	hosts_free(h, nh);
	return rc;
}

static int present(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	return change(state, rec, true, err);
}

static int cleanup(void *state, const struct dns_record *rec, struct gpc_error *err)
{
	return change(state, rec, false, err);
}

const struct dns_provider_ops dns_namecheap = {
	.name = "namecheap",
	.aliases = { NULL },
	.title = "Namecheap XML API",
	.needs = "an account with API access and this machine's address whitelisted",
	.opts = opts,
	.n_opts = sizeof(opts) / sizeof(opts[0]),
	.needs_zone = true,
	.check = check,
	.create = create,
	.present = present,
	.cleanup = cleanup,
	.destroy = destroy,
};

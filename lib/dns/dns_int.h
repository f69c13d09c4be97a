/* dns_int: what the files of lib/dns share and nothing else uses. */
#ifndef GPC_DNS_INT_H
#define GPC_DNS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "buf.h"
#include "dns.h"
#include "error.h"

/* The providers of rest_providers.c, X(ops variable), most used first. */
#define DNS_REST_PROVIDERS(X) \
	X(dns_digitalocean) X(dns_porkbun) X(dns_desec) X(dns_godaddy) X(dns_linode) X(dns_vultr) \
	X(dns_ionos) X(dns_netlify) X(dns_vercel) X(dns_infomaniak) X(dns_hostinger) X(dns_scaleway) X(dns_spaceship) X(dns_cloudns) X(dns_ovh) X(dns_namecheap) X(dns_netcup) X(dns_inwx) \
	X(dns_azuredns) X(dns_gcloud) X(dns_edgedns) X(dns_clouddns) X(dns_timewebcloud) X(dns_oraclecloud)

extern const struct dns_provider_ops dns_rfc2136;
extern const struct dns_provider_ops dns_pdns;
extern const struct dns_provider_ops dns_acmedns;
extern const struct dns_provider_ops dns_cloudflare;
extern const struct dns_provider_ops dns_duckdns;
extern const struct dns_provider_ops dns_hetzner;
extern const struct dns_provider_ops dns_httpreq;
#define DNS_REST_EXTERN(x) extern const struct dns_provider_ops x;
DNS_REST_PROVIDERS(DNS_REST_EXTERN)

/* ---- provider.c: what the providers' option checks and state share ---- */

/* Check option `opt` (environment name `env`, NULL for none) of provider
 * `prov` is an http:// or https:// URL. On a bad value: -1 with GPC_E_USAGE
 * naming the option and the value, and `hint` as the fix. Returns 0 or -1. */
int dns_opt_url(const char *prov, const char *opt, const char *env, const char *value, const char *hint,
		struct gpc_error *err) __attribute__((warn_unused_result));

/* Check a TTL option ("ttl", environment name `env`) is a number of
 * seconds from 1 to 86400; a bad one: -1 with GPC_E_USAGE and the hint to
 * leave it unset (120). Returns 0 or -1. */
int dns_opt_ttl(const char *prov, const char *env, const char *value, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* A copy of URL u without trailing slashes (the providers append paths to
 * it). Returns it (free) or NULL (out of memory). */
char *dns_url_base(const char *u);

/* Zero and free a secret string (a token, a header carrying one). NULL: nothing. */
void dns_secret_free(char *s);

/* ---- rest.c: the engine of the common REST shape ---- */

#define DNS_REST_MAX_HEADERS 3
#define DNS_REST_SIGN_HEADERS 4

/* One request: method, path after the base URL and JSON body (NULL:
 * none), templates as rest.c describes. */
struct dns_rest_call {
	const char *method;
	const char *path;
	const char *body;
};

/* A provider of the common shape, described (rest_providers.c). */
struct dns_rest_desc {
	const char *name;  /* "digitalocean", in messages */
	const char *title; /* "DigitalOcean" */
	const char *base;  /* default base URL */
	const char *base_opt; /* the option overriding it; NULL: "base_url" */
	const struct dns_opt_desc *opts;
	size_t n_opts;
	unsigned ttl_min;  /* the smallest TTL the API takes */
	const char *headers[DNS_REST_MAX_HEADERS]; /* "Authorization: Bearer {opt:auth_token}" */
	const char *auth_hint; /* the fix for 401/403 */
	/* the zone's id: zones.path NULL means the zone's name is its id */
	struct dns_rest_call zones;
	const char *zones_array, *zone_name_key, *zone_id_key; /* dotted JSON paths */
	/* list.path NULL: no ids; del removes by name and value in one call */
	struct dns_rest_call list, create, del;
	const char *records_array, *rec_id, *rec_name, *rec_type, *rec_value;
	/* pages: next_path (a non-empty value: another page, given as
	 * {cursor}) or pages_path (the number of pages); both NULL: one page */
	const char *next_path, *pages_path;
	/* or total_path (the number of records): pages by {offset}, the
	 * records seen so far, while fewer than the total were seen */
	const char *total_path;
	const char *apex;           /* {rel} of the apex; NULL: "@" */
	/* set APIs (set_item non-NULL): list reads the name's set (404: empty;
	 * rec_value NULL: the elements are the values), create writes it with
	 * a value added and del with it removed ({items}: each value through
	 * set_item), del_empty (if any) removes an emptied set */
	const char *set_item;
	struct dns_rest_call del_empty;
	/* create_new (if any) writes a set that did not exist (Edge DNS: POST
	 * creates, PUT replaces an existing set) */
	struct dns_rest_call create_new;
	/* the list gives every set of the zone: the one whose rec_name and
	 * rec_type match holds its values at set_values (each at rec_value) */
	const char *set_values;
	/* APIs that delete the set exactly as it is before adding the new one
	 * (Cloud DNS changes): set_old is the old set as {old} (expanded with
	 * {items} of its values and {ttl} as set_ttl found it; "" when none) */
	const char *set_old, *set_ttl;
	const char *err_paths[3];   /* where the API's own error text is */
	/* options derived for the templates (on the state's copy); 0 or -1 */
	int (*prepare)(struct dns_options *o);
	/* the list answer holds ids only: each record is read through detail ({id}) */
	struct dns_rest_call detail;
	/* called after a create or delete (OVH applies a zone's changes on refresh) */
	struct dns_rest_call after;
	/* headers signing one request (method, URL, body: "" for none) into
	 * h[0..DNS_REST_SIGN_HEADERS-1]; NULL: none. Returns 0 or -1. */
	int (*sign)(const struct dns_options *o, const char *method, const char *url, const char *body,
		    struct buf *h);
	/* the provider's own offline check after the common one, or NULL */
	int (*check)(const struct dns_options *o, struct gpc_error *err);
	const char *fail_path, *fail_value; /* a 2xx answer with this value is an error */
	/* login.path (if any): called once before the first request, without
	 * desc->headers; the string at login_token in its answer becomes the
	 * (secret) option login_opt, for {opt:NAME} in the headers */
	struct dns_rest_call login;
	const char *login_token, *login_opt;
};

/* The provider ops over a description: check (base_url, ttl >= ttl_min),
 * create (keeps a copy of the options for {opt:NAME}), present, cleanup,
 * destroy. */
int dns_rest_check(const struct dns_rest_desc *d, const struct dns_options *o, struct gpc_error *err)
	__attribute__((warn_unused_result));
int dns_rest_create(const struct dns_rest_desc *d, const struct dns_options *o, void **state,
		    struct gpc_error *err) __attribute__((warn_unused_result));
int dns_rest_present(void *state, const struct dns_record *r, struct gpc_error *err);
int dns_rest_cleanup(void *state, const struct dns_record *r, struct gpc_error *err);
void dns_rest_destroy(void *state);

/* ---- oauth.c: an OAuth2 access token ---- */

/* POST the form (application/x-www-form-urlencoded) to the token endpoint
 * url and return the answer's access_token in *token (dns_secret_free
 * it). On failure err names prov, the URL, the HTTP status and the
 * endpoint's error_description (or error), with auth_hint as the fix; the
 * form and the token never appear. Returns 0 or -1. */
int dns_oauth_token(const char *prov, const char *url, const char *form, const char *auth_hint, char **token,
		    struct gpc_error *err) __attribute__((warn_unused_result));

/* RFC 6749 §4.4's form: "grant_type=client_credentials&client_id=ID&
 * client_secret=SECRET&scope=" (escaped), the scope to be appended by the
 * caller. Returns 0 or -1 (memory). */
int dns_oauth_client_form(struct buf *form, const char *id, const char *secret)
	__attribute__((warn_unused_result));

/* dns_oauth_token, then the REST engine d on c (the caller's copy of the
 * options) with the token as its access_token. Returns 0 with *state, or
 * -1 with err. */
int dns_oauth_rest_create(const struct dns_rest_desc *d, const char *prov, const char *url, const char *form,
			  const char *auth_hint, struct dns_options *c, void **state, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* ---- query.c ---- */

/* One server address. */
struct dnsq_server {
	struct sockaddr_storage sa;
	socklen_t salen;
	char label[96]; /* "127.0.0.1" or "[::1]:5353" for messages */
};

/* Fill s from an IP literal and port. Returns 0 or -1. */
int dnsq_server_set(struct dnsq_server *s, const char *ip, unsigned port);

/* Send the message q to s (UDP; TCP when the answer is truncated) and
 * parse the answer, which must carry q's ID. timeout_ms bounds each try
 * (two UDP tries). On 0, *reply is the answer (ldns_pkt_free) and, when
 * wire is non-NULL, *wire and *wire_len its bytes (free). Returns 0, or -1
 * with err naming the server (GPC_E_NETWORK for no answer). */
int dnsq_send(const struct dnsq_server *s, ldns_pkt *q, int timeout_ms, ldns_pkt **reply,
	      uint8_t **wire, size_t *wire_len, struct gpc_error *err) __attribute__((warn_unused_result));

/* A query for name/type (recursion desired as rd). Returns 0 and *reply, or -1. */
int dnsq_query(const struct dnsq_server *s, const char *name, ldns_rr_type type, bool rd,
	       int timeout_ms, ldns_pkt **reply, struct gpc_error *err) __attribute__((warn_unused_result));

/* The owner name of rr as text without a trailing dot, lower case, into out. */
void dnsq_owner(const ldns_rr *rr, char *out, size_t outsz);
/* rdf (a dname) as absolute lower-case text ("a.example.", "." for the root). */
void dnsq_dname(const ldns_rdf *rdf, char *out, size_t outsz);
/* The text of an rcode ("NOERROR", "NXDOMAIN", ...). */
const char *dnsq_rcode_name(unsigned rcode);
/* "example.org" -> "example.org." (a copy into out). */
void dnsq_absolute(const char *name, char *out, size_t outsz);

/* ---- httpapi.c: the HTTP providers' requests ---- */

struct dnshttp_resp {
	long status;
	struct buf body;
	char *cookie; /* "NAME=VALUE" of the answer's first Set-Cookie, or NULL */
};

/* One request: method ("GET", "POST", "PATCH", "PUT", "DELETE"), url,
 * extra headers (NULL-terminated array or NULL), body or NULL (JSON unless
 * a header gives another Content-Type).
 * `provider` names the provider in errors. Returns 0 when an HTTP answer
 * came (any status; r->body filled; dnshttp_resp_finish it), or -1
 * (GPC_E_NETWORK naming the host; the URL's query string is never
 * shown: it may hold a token). */
int dnshttp_request(const char *provider, const char *method, const char *url,
		    const char *const *headers, const char *body, struct dnshttp_resp *r,
		    struct gpc_error *err) __attribute__((warn_unused_result));
void dnshttp_resp_finish(struct dnshttp_resp *r);
/* The URL without its query string and credentials, for messages. */
char *dnshttp_url_label(const char *url, char *out, size_t outsz);
/* Percent-encode s for a URL path segment or query value, into b. */
int dnshttp_escape(struct buf *b, const char *s) __attribute__((warn_unused_result));

#endif

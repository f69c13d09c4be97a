/* persist: dns-persist-01 (draft-ietf-acme-dns-persist; pebble 2.10 and
 * Let's Encrypt staging). One standing TXT record
 *   _validation-persist.NAME. TXT "ISSUER; accounturi=ACCOUNT_URL[; policy=wildcard][; persistUntil=UNIX]"
 * authorizes the account for NAME: the issuer writes no DNS record, needs
 * no provider and no hook. Before the CA is asked to look, every
 * authoritative server must serve a matching record (read-only check);
 * if one does not, nothing is answered and the run is deferred. */
#ifndef GPC_PERSIST_H
#define GPC_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "acme.h"
#include "error.h"
#include "lineage.h"

#define PERSIST_CHALLENGE "dns-persist-01"

/* True when l validates with dns-persist-01. */
bool persist_lineage(const struct lineage *l);

/* "_validation-persist.NAME." for an identifier (a wildcard's "*." dropped).
 * Malloc'd or NULL. */
char *persist_record_name(const char *ident) __attribute__((warn_unused_result));

/* The TXT value for issuer and account; until 0: no persistUntil.
 * Malloc'd or NULL. */
char *persist_record_value(const char *issuer, const char *account_uri, bool wildcard, time_t until)
	__attribute__((warn_unused_result));

/* One record to create: for `ident` (one of the names given to
 * persist_records), "_validation-persist.NAME." and its TXT value. */
struct persist_record {
	const char *ident;
	char *name;
	char *value;
};

struct issue_env;
struct account_params;

/* The records that authorize the account of p->server (registered when it
 * has none yet, as issue does) for names (checked, as lineage_set_names
 * leaves them): one a name, none for NAME next to *.NAME (the wildcard's
 * record serves both); policy=wildcard for "*." names and, with
 * `wildcard`, for every one; until 0: no persistUntil. Returns 0 with
 * *out (persist_records_free) and *nout, or -1: the account failed, the
 * CA names no issuer domain (GPC_E_CA), out of memory. */
int persist_records(struct issue_env *env, const struct account_params *p, const char *const *names, size_t n,
		    bool wildcard, time_t until, struct persist_record **out, size_t *nout, struct gpc_error *err)
	__attribute__((warn_unused_result));
void persist_records_free(struct persist_record *r, size_t n);

/* RFC 8555 §7.5 with dns-persist-01: for every pending authorization of
 * ord, check the record (lineage l's resolvers), and only when every name
 * has one, answer the challenges and wait until each is final. *until gets
 * the earliest persistUntil of the records checked (0: none; unchanged when
 * every authorization was valid already, nothing checked). failed[] gets the
 * names whose authorization failed (strdup'd; room for every
 * authorization). Returns 0, or -1: a missing or wrong record is
 * GPC_E_NETWORK (deferred, nothing answered) naming the record to create
 * and what each server answered. */
int persist_authorize(struct acme_client *c, const struct lineage *l, const struct acme_order *ord,
		      char **failed, size_t *nfailed, time_t *until, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Create the record for ident with value once, through lineage l's DNS
 * provider (l->dns_provider, its options with the secrets, its resolvers
 * to find the zone and follow a CNAME at the name). Nothing is stored
 * about it: it stays until removed by hand. *where gets the name written
 * (malloc'd). Returns 0, or -1 (a usage error for a provider that writes
 * only _acme-challenge records: acmedns, duckdns). */
int persist_publish(const struct lineage *l, const char *ident, const char *value, char **where,
		    struct gpc_error *err) __attribute__((warn_unused_result));

#endif

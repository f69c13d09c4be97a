/* solver_dns: dns-01 through a built-in provider (lib/dns) for solver.c,
 * and the propagation check of every dns-01 answer (built-in or hook).
 *
 * What is added is recorded in the store (.state/dns-records/LINEAGE.json)
 * before it is added, and the record is dropped once the value is removed:
 * a run killed in between leaves the record, and the next run of the
 * lineage removes those values first. */
#ifndef GPC_SOLVER_DNS_H
#define GPC_SOLVER_DNS_H

#include <stddef.h>

#include "certstore.h"
#include "error.h"
#include "lineage.h"

struct dns_solver;

/* A provider instance for lineage l (its dns_provider and dns_opts, with
 * the secrets loaded), after removing what an earlier run of l left.
 * Returns 0 and *out (dns_solver_free), or -1 (usage: a missing option
 * names it and the provider). */
int dns_solver_new(struct certstore *cs, const struct lineage *l, struct dns_solver **out,
		   struct gpc_error *err) __attribute__((warn_unused_result));
void dns_solver_free(struct dns_solver *d);

/* Add TXT value for identifier ident (a wildcard's "*." dropped) where the
 * CA will look (through a CNAME at _acme-challenge.IDENT). Returns 0 or -1. */
int dns_solver_present(struct dns_solver *d, const char *ident, const char *value, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* Remove it (errors are logged: the record in the store keeps it for the
 * next run). */
void dns_solver_cleanup(struct dns_solver *d, const char *ident, const char *value);

/* "TXT VALUE was added at NAME (zone ZONE) through PROVIDER" and what to
 * check, for a failed challenge's hint. Writes into out; returns out. */
char *dns_solver_describe(struct dns_solver *d, const char *ident, const char *value, char *out, size_t outsz);

/* The propagation check of l's settings for n dns-01 answers (idents[i]
 * with values[i]): d NULL for a hook (the names are found through the
 * resolvers), else the names d wrote. Returns 0, or -1 (nothing may be
 * sent to the CA). */
int dns_solver_check(struct dns_solver *d, const struct lineage *l, const char *const *idents,
		     const char *const *values, size_t n, struct gpc_error *err)
	__attribute__((warn_unused_result));

#endif

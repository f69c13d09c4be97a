/* connect: `check --connect HOST[:PORT]`: is the certificate a server
 * actually serves the one in the store, and is it valid? The probe itself is
 * lib/core/tlsprobe.c; this file judges, compares and prints. */
#ifndef GPC_CONNECT_H
#define GPC_CONNECT_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

/* check's connection options as given on the command line (checked by
 * connect_check). Pointers into argv. */
struct connect_args {
	const char **targets;    /* --connect values, in order */
	size_t n_targets;
	const char *servername;  /* --servername, or NULL */
	const char *starttls;    /* --starttls, or NULL */
	const char *ca_bundle;   /* --ca-bundle, or NULL */
	const char *timeout;     /* --connect-timeout, or NULL */
};

/* True when any connection option was given (then check is connect_check). */
bool connect_wanted(const struct connect_args *a);

/* check --connect: connect to each target, judge the chain it serves like a
 * stored one, verify it, and compare it with a lineage of the store. The
 * store is used when `dir` (-d) is given, $GOPROXY_CERTS_DIR is set,
 * lineage `names` are given, or ./certs exists; otherwise only the servers
 * are checked.
 * Prints text, JSON or nothing and returns check's exit code (0, 1, 2, or
 * EXIT_USAGE after printing a usage error). */
int connect_check(const struct connect_args *a, const char *dir, char *const *names, size_t n_names,
		  const struct report_options *ro, bool json, bool quiet);

#endif

/* served: check --connect's comparison of what a server serves with what
 * the store holds (the judging part; the probe is lib/core/tlsprobe.c, and
 * cmd/goproxy-cert/connect.c connects, renders and decides the exit code).
 * The served leaf is judged like a stored one first (report_judge_chain). */
#ifndef GPC_SERVED_H
#define GPC_SERVED_H

#include <stdbool.h>
#include <stddef.h>

#include "judge.h"

/* Codes of the problems report_compare_served gives. */
#define REPORT_SERVED_STALE "stale"                /* older than the store's: not reloaded */
#define REPORT_SERVED_NEWER "newer-than-store"     /* newer: the store is behind */
#define REPORT_SERVED_UNRELATED "unrelated"        /* not the lineage's certificate at all */

/* The lineage for server name `name`: one that holds it, then one whose
 * wildcard covers it, then the only one when lineages were `named`, then
 * "default" (what goproxyd serves when nothing matches). NULL when none
 * fits. */
const struct report_entry *report_pick_lineage(const struct report *r, const char *name, bool named);

/* The entry's names joined by ", " ("none" for none) into out. */
void report_join_names(const struct report_entry *e, char *out, size_t outsz);

/* How `served` (a served chain judged with report_judge_chain; `label`,
 * "host:port", starts the messages) relates to the stored lineage `st`:
 * "same", "older" (the server was not reloaded), "newer" (the store is
 * behind), "unrelated", or NULL when either has no certificate (its own
 * problem says why). For "older", "newer" and "unrelated" *p is the
 * problem to report (code REPORT_SERVED_*; message and hint malloc'd, free
 * with report_problem_finish); otherwise *p is zeroed. */
const char *report_compare_served(const struct report_entry *served, const char *label,
				  const struct report_entry *st, struct report_problem *p);

void report_problem_finish(struct report_problem *p);

#endif

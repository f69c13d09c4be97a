/* report: check and status's rendering of a struct report (judge.h, the
 * library's judging engine) as text, JSON or Prometheus, and check's exit
 * code. Self-contained (no cli globals) so unit tests can link it. */
#ifndef GPC_REPORT_H
#define GPC_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "judge.h"

#ifdef GPC_ACME_TOOL
#include "storeopt.h"
/* check/status --store (`sub` names the command in messages): open the
 * store the options name and report_collect_store from it; without
 * --store-seal the certificates only (skip_keys). Returns 0 with *r, or the
 * exit code with the error printed (64 for a usage error). */
int report_collect_storeopt(const char *sub, const struct storeopt *so, const char *dir, char *const *names,
			    size_t n, struct report_options *ro, struct report *r);
#endif

/* check's exit code: 0 all ok, 1 some due and nothing worse, 2 anything
 * worse or an unusable certs dir; 75 (EX_TEMPFAIL) when the store could not
 * be reached and nothing read says 2. */
int report_check_exit(const struct report *r);

/* check: one line per lineage on `out`. */
void report_print_check_text(FILE *out, const struct report *r);

/* Every problem (and warning) on `err` as "PROG: FILE: cause" + "  hint: fix". */
void report_print_problems(FILE *err, const char *prog, const struct report *r);

/* status: a block per lineage, problems and warnings included. */
void report_print_status_text(FILE *out, const struct report *r);

/* The --json document (check's shape; `detail` adds status's fields),
 * streamed entry by entry, one line. Returns 0, or -1 on a write error. */
int report_print_json(FILE *out, const struct report *r, bool detail);

/* node_exporter textfile format. Returns 0, or -1 on a write error. */
int report_print_prometheus(FILE *out, const struct report *r);

/* ---- for check --connect (connect.c) ---- */

/* The pieces of check's text line: the names joined by `sep` ("-" for
 * none), and "expires ... (N days left; due after ..., rule)". */
void report_print_domains(FILE *out, const struct report_entry *e, const char *sep);
void report_print_when(FILE *out, const struct report_entry *e, time_t now);

/* One entry of --json's "certificates" array as a new json-c object (the
 * caller puts it). */
struct json_object *report_entry_json(const struct report_entry *e, bool detail);

#endif

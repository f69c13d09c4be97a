/* The alert options shared by issue, renew and sync (--notify TARGET,
 * --no-notify, $GOPROXY_CERT_NOTIFY), the events renew reports, and
 * `goproxy-cert notify`. See lib/acme/notify.h and goproxy-cert(1), ALERTS. */
#ifndef GPC_CMD_NOTIFY_H
#define GPC_CMD_NOTIFY_H

#include <getopt.h>
#include <stdbool.h>
#include <time.h>

#include "certstore.h"
#include "issue.h"
#include "notify.h"

enum { O_NOTIFY_TARGET = 900, O_NO_NOTIFY, O_NOTIFY_DAYS, O_NOTIFY_DIGEST, O_NOTIFY_UNREACHABLE };

#define NOTIFY_LONGOPTS                                                      \
	{ "notify", required_argument, NULL, O_NOTIFY_TARGET },              \
	{ "no-notify", no_argument, NULL, O_NO_NOTIFY },                     \
	{ "notify-days", required_argument, NULL, O_NOTIFY_DAYS },           \
	{ "notify-digest", required_argument, NULL, O_NOTIFY_DIGEST },       \
	{ "notify-unreachable", required_argument, NULL, O_NOTIFY_UNREACHABLE }

#define NOTIFY_HELP                                                                          \
	"      --notify TARGET      alert TARGET when renewal fails (stored for the directory or\n" \
	"                           store; repeat for several): ntfy:URL, gotify:URL?token=T,\n"  \
	"                           discord:URL, slack:URL, pushover:URL?token=A&user=U,\n"       \
	"                           webhook:URL, program:PATH (see goproxy-cert(1), ALERTS)\n"     \
	"      --no-notify          remove the stored alert targets\n"                                 \
	"      --notify-days N      alert when renewal keeps failing N days before expiry, then\n"    \
	"                           daily (stored with the targets; default 7)\n"                    \
	"      --notify-digest N    more than N changes in one run: one digest message (stored;\n"   \
	"                           default 5)\n"                                                    \
	"      --notify-unreachable SECONDS  a --store out of reach this long: one alert from\n"   \
	"                           this node's copy of the targets (stored; default 3600)\n"

struct notify_args {
	const char *specs[NOTIFY_MAX_TARGETS];
	size_t n;
	bool clear;
	const char *days_arg, *digest_arg, *unreach_arg; /* as given */
	int days;                          /* checked: 1..365, 0 not given */
	long digest;                       /* checked: 1..10000, 0 not given */
	long unreach;                      /* --notify-unreachable: 60..2592000, 0 not given */
	const char *godoxy; /* issue --godoxy-config FILE: its providers.notification
	                     * list, when no --notify (or $GOPROXY_CERT_NOTIFY) gives any */
};

/* Take option c (O_NOTIFY_TARGET / O_NO_NOTIFY) into a. Returns true if it
 * was one of them. */
bool notify_args_take(struct notify_args *a, int c, const char *arg);

/* Check the targets given (--notify, else $GOPROXY_CERT_NOTIFY) before
 * anything else happens. Returns 0 or EXIT_USAGE (printed). */
int notify_args_check(const char *sub, struct notify_args *a);

/* Store the targets given (or clear them) for the store, when they differ
 * from the stored ones. Returns 0 or an exit code (printed). */
int notify_args_store(const char *sub, struct certstore *cs, const struct notify_args *a);

/* Events seen by a run: lineages (from the jobs) and unmanaged pairs. */
struct notify_events {
	const char *done;  /* what a new certificate is: "issued" (issue) or NULL: "renewed" */
	struct notify_observation *obs;
	char **owned;      /* strings obs points into */
	size_t n, n_owned;
};

/* A pair no issue manages that is due (expired: true when past not_after). */
void notify_events_unmanaged(struct notify_events *ev, const char *name, bool expired, time_t not_after,
			     const char *names);

/* Add the jobs' lineages, send what changed (warnings on stderr; never
 * changes the exit code), free ev. */
void notify_events_send(struct certstore *cs, const struct issue_job *jobs, size_t n, struct notify_events *ev);

/* renew/sync --store (nothing for a certs directory): read the store's
 * targets as a probe; reached: refresh this node's copy of them (in
 * $STATE_DIRECTORY, else /var/lib/goproxy-cert as root, else
 * $XDG_STATE_HOME/goproxy-cert or ~/.local/state/goproxy-cert) and say
 * "reachable again" where "out of reach" was said; out of reach: remember
 * since when and alert once past the threshold (lib/acme/notify.h). Warnings
 * on stderr; never changes the exit code. */
void notify_store_reach(struct certstore *cs);

int cmd_notify(int argc, char **argv);

#endif

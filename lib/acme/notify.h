/* notify: alerts when renewal fails, to ntfy, Gotify, webhooks (Discord,
 * Slack, Pushover, a custom payload) and programs.
 *
 * Targets are a setting of the certs directory or store, kept in the state
 * record NOTIFY_TARGETS_RECORD (0600: webhook URLs and tokens are secrets);
 * messages, logs and errors name a target only by its redacted form.
 *
 * No flood: notify_run compares each lineage's state with the state last
 * sent to each target (NOTIFY_STATE_RECORD, read-modify-written under the
 * store lock) and sends one message per change, a daily reminder while a
 * certificate close to expiry keeps failing, and one digest instead of many
 * messages when many lineages change in one run. A target that does not
 * answer keeps its events pending: they are sent at the next run.
 * A failed notification is a warning (log.h), never an error of the run. */
#ifndef GPC_NOTIFY_H
#define GPC_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certstore.h"
#include "error.h"
#include "records.h"

#define NOTIFY_TARGETS_RECORD RECORD_NOTIFY_TARGETS
#define NOTIFY_STATE_RECORD RECORD_NOTIFY_STATE
#define NOTIFY_MAX_TARGETS 32

struct notify_target {
	char *kind;     /* "ntfy", "gotify", "webhook" or "program" */
	char *url;      /* endpoint, or the program's absolute path (secret) */
	char *token;    /* ntfy: Bearer token; gotify: app token; or NULL (secret) */
	char *topic;    /* ntfy: topic appended to url, or NULL */
	char *tmpl;     /* webhook: "discord", "slack", or NULL */
	char *payload;  /* webhook: custom body with $title and $message, or NULL */
	char *mime;     /* webhook: Content-Type (default application/json) */
	char *method;   /* webhook: HTTP method (default POST) */
	char *name;     /* a name for messages (GoDoxy's entry name), or NULL */
	char *events;   /* comma list of event classes: failed (every problem and
	                 * its recovery), issued, renewed; NULL: failed */
};

/* The stored targets and the settings kept with them. */
struct notify_list {
	struct notify_target **t;
	size_t n;
	int warn_days;       /* --notify-days: "expiring" this close to expiry (0: NOTIFY_WARN_DAYS) */
	size_t digest_over;  /* --notify-digest: more changes than this in one run: a digest (0: 5) */
	long unreachable_secs; /* --notify-unreachable: the store down this long: one alert (0: 3600) */
};

#define NOTIFY_DIGEST_OVER 5
#define NOTIFY_UNREACHABLE_SECS 3600L

/* True when t takes events of class `cls` ("failed", "issued", "renewed"). */
bool notify_target_wants(const struct notify_target *t, const char *cls);

/* Parse a --notify TARGET (see goproxy-cert(1), ALERTS):
 *   ntfy:URL[/TOPIC]  gotify:URL?token=T  discord:URL  slack:URL
 *   pushover:https://api.pushover.net/1/messages.json?token=APP&user=USER
 *   webhook:URL  program:PATH
 * each optionally followed by ";KEY=VALUE" parameters (token, topic,
 * template, payload, mime, method, name, events). A relative program path is made
 * absolute against the working directory. Returns 0 and a new target in
 * *out (notify_target_free), or -1 (err names the value, redacted).
 * `spec` is never copied into err. */
int notify_target_parse(const char *spec, struct notify_target **out, struct gpc_error *err)
	__attribute__((warn_unused_result));
void notify_target_free(struct notify_target *t);

/* Check a target (from a file): URL scheme, template, method, a gotify
 * token, a runnable program. `what` names it in err. Returns 0 or -1. */
int notify_target_check(struct notify_target *t, const char *what, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* GoDoxy's `providers.notification` list of config.yml FILE (entries with
 * name, provider ntfy|gotify|webhook, url, topic, token, template, payload,
 * mime_type, method), as targets. Defined in godoxy.c (its YAML reader).
 * Returns 0 and *out (possibly empty; notify_list_finish it) or -1 with err
 * naming file:line. */
int godoxy_load_notify(const char *path, struct notify_list *out, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* A form of t without secrets for messages: "ntfy:https://ntfy.sh/…",
 * "program:/usr/local/bin/alert". Writes into out; returns out. */
char *notify_target_redacted(const struct notify_target *t, char *out, size_t outsz);

/* Add t to the list (taken). Returns 0, or -1 (too many / ENOMEM: t freed). */
int notify_list_add(struct notify_list *l, struct notify_target *t, struct gpc_error *err)
	__attribute__((warn_unused_result));
void notify_list_finish(struct notify_list *l);

/* Read the stored targets (none stored: an empty list, 0). Returns 0 or -1. */
int notify_list_load(struct certstore *cs, struct notify_list *l, struct gpc_error *err)
	__attribute__((warn_unused_result));
/* Store the list (an empty list removes the record). Returns 0 or -1. */
int notify_list_save(struct certstore *cs, const struct notify_list *l, struct gpc_error *err)
	__attribute__((warn_unused_result));

struct notify_message {
	const char *event;    /* "failed", "recovered", "expiring", "expired", "unmanaged-due",
	                       * "unmanaged-expired", "deploy-failed", "digest", "test" */
	const char *lineage;  /* or NULL */
	const char *names;    /* space-separated, or NULL */
	const char *error;    /* or NULL */
	time_t not_after;     /* 0: unknown */
	time_t next_attempt;  /* 0: unknown */
	const char *title;
	const char *text;
	int priority;         /* 1 (min) .. 5 (max), as ntfy; Gotify gets 2x */
};

/* Send m to t: HTTP with bounded timeouts (5 s connect, 15 s in all),
 * retried up to 3 times on a network error, 429 or 5xx; a program with a
 * 60-s limit. Returns 0 when the target answered 2xx (the program exited
 * 0), else -1 with err naming the target by its redacted form. */
int notify_send(const struct notify_target *t, const struct notify_message *m, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* What a run saw of one lineage (or a pair no issue manages). */
struct notify_observation {
	const char *key;          /* lineage or pair name */
	const char *state;        /* NOTIFY_S_* */
	const char *names;        /* space-separated, or NULL */
	const char *error;        /* the last error, or NULL */
	time_t not_after;
	time_t next_attempt;      /* 0: the next run */
	const char *deploy_error; /* a deploy hook failed in this run: what happened */
	const char *done;         /* "issued" or "renewed" in this run, or NULL (sent only to
	                           * targets that take that class) */
};

#define NOTIFY_S_OK "ok"
#define NOTIFY_S_FAILED "failed"
#define NOTIFY_S_EXPIRING "expiring"
#define NOTIFY_S_EXPIRED "expired"
#define NOTIFY_S_UNMANAGED_DUE "unmanaged-due"
#define NOTIFY_S_UNMANAGED_EXPIRED "unmanaged-expired"

struct notify_policy {
	int warn_days;       /* a failing certificate this close to expiry: "expiring"
	                      * (0: the stored --notify-days, else NOTIFY_WARN_DAYS) */
	long remind_secs;    /* reminder while expiring (0: 86400) */
	size_t digest_over;  /* more changes than this in one run: one digest (0: the
	                      * stored --notify-digest, else NOTIFY_DIGEST_OVER) */
};
#define NOTIFY_WARN_DAYS 7

/* The state of a managed lineage: last_result is the lineage's stored one
 * ("failed" while renewal keeps failing). */
const char *notify_lineage_state(const char *last_result, time_t not_after, time_t now, int warn_days);

struct notify_report {
	size_t sent;      /* messages that arrived */
	size_t failed;    /* messages kept pending */
	size_t targets;   /* stored targets */
};

/* Compare obs[0..n) with what each stored target was last told, send what
 * changed, and record what arrived, under the store lock. An observation in
 * state "failed" or "expiring" is judged again with the stored warn_days. Returns 0 (also
 * when nothing is stored or sending failed: rep says it, warnings are
 * logged) or -1 when the store could not be read or written. */
int notify_run(struct certstore *cs, const struct notify_observation *obs, size_t n,
	       const struct notify_policy *p, struct notify_report *rep, struct gpc_error *err)
	__attribute__((warn_unused_result));

/* A shared store out of reach (etcd down or without quorum): the targets
 * stored in it are out of reach too, so every run that reads them keeps a
 * copy on this node in `file` (0600, directory 0700; the secrets as in a
 * certs directory's .state/notify.json), with when the store was first
 * found out of reach and which targets were told. `store` names the store
 * in messages (no secret). */

/* This node's copy file for the store named `store`: NODE_NOTIFY_STORE_FMT
 * (records.h) in goproxy-cert's state directory (fs_state_dir) into out. Returns 0, or -1 when there
 * is no state directory or out is too small. */
int notify_node_copy_path(const char *store, char *out, size_t outsz);

/* The store answered: refresh the copy from l (an empty list removes it)
 * and tell the targets told that it was down that it is back (one
 * "store-recovered" message each; a failed one is kept for the next run).
 * Returns 0, or -1 when the copy could not be written. */
int notify_reach_ok(const char *file, const char *store, const struct notify_list *l, struct notify_report *rep,
		    struct gpc_error *err) __attribute__((warn_unused_result));

/* The store could not be reached (`why`: the error's text): remember the
 * first time; once it has been out of reach for the stored threshold
 * (unreachable_secs, default NOTIFY_UNREACHABLE_SECS), send one
 * "store-unreachable" message to each target of the copy not yet told.
 * No copy: nothing (0). Returns 0 or -1. */
int notify_reach_failed(const char *file, const char *store, const char *why, struct notify_report *rep,
			struct gpc_error *err) __attribute__((warn_unused_result));

#endif

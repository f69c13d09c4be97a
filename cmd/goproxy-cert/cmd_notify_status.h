/* status: alerts that did not arrive (see notify_status.c). */
#ifndef GPC_CMD_NOTIFY_STATUS_H
#define GPC_CMD_NOTIFY_STATUS_H

#include <stdio.h>

#include <json-c/json.h>

#include "certstore.h"

/* The alert targets that did not take the last run's alerts, from the
 * store's notify-state.json record: a new JSON array (json_object_put it)
 * of {"target": redacted form, "since": RFC 3339, "error": text}; empty
 * when all arrived, none is set, or the record cannot be read. */
struct json_object *notify_status_undelivered(struct certstore *cs);

/* The same as text, one "alerts: ..." line per target. */
void notify_status_print(FILE *f, struct json_object *undelivered);

#endif

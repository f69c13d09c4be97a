/* status: alerts that did not arrive (see notify_status.c). */
#ifndef GPC_CMD_NOTIFY_STATUS_H
#define GPC_CMD_NOTIFY_STATUS_H

#include <stdio.h>

/* One line per alert target that did not take the last run's alerts, from
 * DIR/.state/notify-state.json; nothing when all arrived or none is set. */
void notify_status_print(FILE *f, const char *dir);

#endif

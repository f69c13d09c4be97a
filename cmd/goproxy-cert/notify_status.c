/* status: alerts that did not arrive (issue 29). Read from the state record
 * renew writes (lib/notify.c, NOTIFY_STATE_RECORD: only redacted target
 * names and error texts are kept there), so this part needs no libcurl and
 * goproxy-cert (check/status) links it too. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "certstore.h"
#include "cmd_notify_status.h"
#include "timeutil.h"

void notify_status_print(FILE *f, const char *dir)
{
	struct certstore *cs = NULL;
	struct gpc_error err;
	struct buf b;
	struct json_object *doc = NULL, *und;

	gpc_error_clear(&err);
	buf_init(&b, 256 * 1024);
	if (certstore_open(dir, &cs, &err) != 0 ||
	    certstore_state_read(cs, "notify-state.json", 256 * 1024, &b, &err) != 0)
		goto out;
	doc = json_tokener_parse(b.data ? b.data : "");
	if (doc == NULL || !json_object_object_get_ex(doc, "undelivered", &und) ||
	    !json_object_is_type(und, json_type_object))
		goto out;
	json_object_object_foreach(und, id, u) {
		struct json_object *t = NULL, *s = NULL, *e = NULL;
		char ts[32];
		(void)id;
		json_object_object_get_ex(u, "target", &t);
		json_object_object_get_ex(u, "since", &s);
		json_object_object_get_ex(u, "error", &e);
		fprintf(f, "alerts: %s has not taken the alerts since %s: %s (sent at the next run)\n",
			t ? json_object_get_string(t) : "?",
			time_rfc3339((time_t)(s ? json_object_get_int64(s) : 0), ts, sizeof(ts)),
			e ? json_object_get_string(e) : "?");
	}
out:
	json_object_put(doc);
	buf_finish(&b);
	certstore_free(cs);
}

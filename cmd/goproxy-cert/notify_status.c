/* status: alerts that did not arrive (issue 29). Read from the state record
 * renew writes (lib/acme/notify.c, RECORD_NOTIFY_STATE: only redacted target
 * names and error texts are kept there, never sealed), so this part needs no
 * libcurl and no seal key, and goproxy-cert (check/status) links it too. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "certstore.h"
#include "cmd_notify_status.h"
#include "records.h"
#include "timeutil.h"

struct json_object *notify_status_undelivered(struct certstore *cs)
{
	struct json_object *arr = json_object_new_array(), *doc = NULL, *und;
	struct gpc_error err;
	struct buf b;

	gpc_error_clear(&err);
	buf_init(&b, 256 * 1024);
	if (cs == NULL || certstore_state_read(cs, RECORD_NOTIFY_STATE, 256 * 1024, &b, &err) != 0)
		goto out;
	doc = json_tokener_parse(b.data ? b.data : "");
	if (doc == NULL || !json_object_object_get_ex(doc, "undelivered", &und) ||
	    !json_object_is_type(und, json_type_object))
		goto out;
	json_object_object_foreach(und, id, u) {
		struct json_object *t = NULL, *s = NULL, *e = NULL, *o = json_object_new_object();
		char ts[32];
		(void)id;
		json_object_object_get_ex(u, "target", &t);
		json_object_object_get_ex(u, "since", &s);
		json_object_object_get_ex(u, "error", &e);
		json_object_object_add(o, "target", json_object_new_string(t ? json_object_get_string(t) : "?"));
		json_object_object_add(o, "since", json_object_new_string(
			time_rfc3339((time_t)(s ? json_object_get_int64(s) : 0), ts, sizeof(ts))));
		json_object_object_add(o, "error", json_object_new_string(e ? json_object_get_string(e) : "?"));
		json_object_array_add(arr, o);
	}
out:
	json_object_put(doc);
	buf_finish(&b);
	return arr;
}

void notify_status_print(FILE *f, struct json_object *undelivered)
{
	for (size_t i = 0; undelivered && i < json_object_array_length(undelivered); i++) {
		struct json_object *u = json_object_array_get_idx(undelivered, i), *t, *s, *e;
		json_object_object_get_ex(u, "target", &t);
		json_object_object_get_ex(u, "since", &s);
		json_object_object_get_ex(u, "error", &e);
		fprintf(f, "alerts: %s has not taken the alerts since %s: %s (sent at the next run)\n",
			json_object_get_string(t), json_object_get_string(s), json_object_get_string(e));
	}
}

#include "jsonutil.h"

#include <string.h>

struct json_object *jsonutil_parse_object(const char *text)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	size_t len = strlen(text);

	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len + 1); /* the NUL ends the value */
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
			  !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

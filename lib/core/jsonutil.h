/* jsonutil: strict JSON parsing of the tool's own state files. */
#ifndef GPC_JSONUTIL_H
#define GPC_JSONUTIL_H

#include <json-c/json.h>

/* Parse `text` as one strict JSON object (RFC 8259: no leading zeros, no
 * bare words, nothing after the value). Returns a new reference (caller:
 * json_object_put) or NULL for anything else. The files this tool writes
 * are always strict; lax parsing would accept damaged hand edits. */
struct json_object *jsonutil_parse_object(const char *text);

#endif

/* http: placeholder until this module lands. */
typedef int gpc_http_placeholder;

/* b64: placeholder until this module lands. */
typedef int gpc_b64_placeholder;

/* keygen: placeholder until this module lands. */
typedef int gpc_keygen_placeholder;

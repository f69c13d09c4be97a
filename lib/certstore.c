/* certstore: placeholder until this module lands. */
typedef int gpc_certstore_placeholder;

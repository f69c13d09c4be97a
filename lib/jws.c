/* jws: placeholder until this module lands. */
typedef int gpc_jws_placeholder;

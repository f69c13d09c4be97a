/* acme: placeholder until this module lands. */
typedef int gpc_acme_placeholder;

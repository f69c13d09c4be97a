/* x509: placeholder until this module lands. */
typedef int gpc_x509_placeholder;

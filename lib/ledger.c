/* ledger: placeholder until this module lands. */
typedef int gpc_ledger_placeholder;

/* lineage: placeholder until this module lands. */
typedef int gpc_lineage_placeholder;

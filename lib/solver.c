/* solver: placeholder until this module lands. */
typedef int gpc_solver_placeholder;

/* policy: placeholder until this module lands. */
typedef int gpc_policy_placeholder;

#include "cli.h"

/* Placeholder until this subcommand lands. */
int cmd_revoke(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("revoke", "not implemented yet");
}

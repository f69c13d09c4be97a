#include "cli.h"

/* Placeholder until this subcommand lands. */
int cmd_account(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("account", "not implemented yet");
}

#include "cli.h"

/* Placeholder until this subcommand lands. */
int cmd_status(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("status", "not implemented yet");
}

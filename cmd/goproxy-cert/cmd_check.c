#include "cli.h"

/* Placeholder until this subcommand lands. */
int cmd_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("check", "not implemented yet");
}

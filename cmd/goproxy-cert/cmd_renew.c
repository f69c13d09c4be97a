#include "cli.h"

/* Placeholder until this subcommand lands. */
int cmd_renew(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("renew", "not implemented yet");
}

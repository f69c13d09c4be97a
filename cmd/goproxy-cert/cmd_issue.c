#include "cli.h"

/* Placeholder until this subcommand lands. */
int cmd_issue(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("issue", "not implemented yet");
}

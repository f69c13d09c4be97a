#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "optexact.h"
#include "log.h"

static void stderr_log(enum gpc_log_level level, const char *msg, void *ud)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "", "debug: " };

	(void)ud;
	fprintf(stderr, "%s: %s%s\n", cli.prog, prefix[level], msg);
}

void cli_log_init(void)
{
	enum gpc_log_level max = GPC_LOG_NOTE;

	if (cli.quiet)
		max = GPC_LOG_ERROR;
	else if (cli.verbose >= 2)
		max = GPC_LOG_DEBUG;
	else if (cli.verbose == 1)
		max = GPC_LOG_INFO;
	gpc_log_set_handler(stderr_log, NULL, max);
}

int cli_exact_options(const char *sub, int argc, char **argv, const char *optstring,
		      const struct option *longopts)
{
	char msg[256];

	if (opt_exact_check(argc, argv, optstring, longopts, msg, sizeof(msg)) == 0)
		return 0;
	return cli_usage_error(sub, "%s", msg);
}

int cli_usage_error(const char *sub, const char *fmt, ...)
{
	va_list ap;

	if (sub != NULL)
		fprintf(stderr, "%s %s: ", cli.prog, sub);
	else
		fprintf(stderr, "%s: ", cli.prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (sub != NULL)
		fprintf(stderr, "Try '%s %s --help'.\n", cli.prog, sub);
	else
		fprintf(stderr, "Try '%s --help'.\n", cli.prog);
	return EXIT_USAGE;
}

void cli_print_error(const struct gpc_error *e)
{
	fprintf(stderr, "%s: error: %s\n", cli.prog, e->message[0] ? e->message : "unknown error");
	if (e->hint[0])
		fprintf(stderr, "  hint: %s\n", e->hint);
}

int cli_parse_range(const char *sub, const char *opt, const char *val, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(val, &end, 10);
	if (errno != 0 || end == val || *end != '\0' || v < min || v > max) {
		cli_usage_error(sub, "%s: '%s' is not a whole number between %ld and %ld", opt, val, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_parse_uint(const char *sub, const char *opt, const char *val, long max, long *out)
{
	return cli_parse_range(sub, opt, val, 0, max, out);
}

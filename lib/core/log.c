#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static gpc_log_fn log_fn;
static void *log_ud;
static enum gpc_log_level log_max = GPC_LOG_INFO;

void gpc_log_set_handler(gpc_log_fn fn, void *ud, enum gpc_log_level max_level)
{
	log_fn = fn;
	log_ud = ud;
	log_max = max_level;
}

int gpc_log_enabled(enum gpc_log_level level)
{
	return log_fn != NULL && level <= log_max;
}

void gpc_log(enum gpc_log_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!gpc_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, msg, log_ud);
}

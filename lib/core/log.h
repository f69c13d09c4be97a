/* log: the only way the library talks. The program installs a callback;
 * without one, messages are dropped. The library never prints or exits. */
#ifndef GPC_LOG_H
#define GPC_LOG_H

enum gpc_log_level {
	GPC_LOG_ERROR = 0,
	GPC_LOG_WARN = 1,
	GPC_LOG_NOTE = 2,  /* what the user is told by default (not under -q) */
	GPC_LOG_INFO = 3,  /* -v */
	GPC_LOG_DEBUG = 4, /* -vv */
};

/* Called with a formatted message (no trailing newline). `ud` is the pointer
 * given to gpc_log_set_handler. Must be thread-safe if the program logs from
 * several threads. */
typedef void (*gpc_log_fn)(enum gpc_log_level level, const char *msg, void *ud);

/* Install the handler (NULL: drop everything) and the most verbose level
 * that reaches it. */
void gpc_log_set_handler(gpc_log_fn fn, void *ud, enum gpc_log_level max_level);

/* True when a message at `level` would reach the handler. */
int gpc_log_enabled(enum gpc_log_level level);

void gpc_log(enum gpc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define gpc_err(...) gpc_log(GPC_LOG_ERROR, __VA_ARGS__)
#define gpc_warn(...) gpc_log(GPC_LOG_WARN, __VA_ARGS__)
#define gpc_note(...) gpc_log(GPC_LOG_NOTE, __VA_ARGS__)
#define gpc_info(...) gpc_log(GPC_LOG_INFO, __VA_ARGS__)
#define gpc_debug(...) gpc_log(GPC_LOG_DEBUG, __VA_ARGS__)

#endif

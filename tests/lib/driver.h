/* driver.h: what the C test drivers against real servers share
 * (tests/protocol/acme_pebble.c, tests/fleet/ drivers): CHECK (count a failure,
 * go on), MUST (stop), env (a required variable), mono_ms. Include once,
 * in the driver's one source file. */
#ifndef GPC_TEST_DRIVER_H
#define GPC_TEST_DRIVER_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int failures;

#define CHECK(cond, ...)                                                                  \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);   \
			fprintf(stderr, __VA_ARGS__);                                     \
			fputc('\n', stderr);                                              \
			failures++;                                                       \
		}                                                                         \
	} while (0)

#define MUST(cond, ...)                                                                   \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "FATAL %s:%d: %s: ", __FILE__, __LINE__, #cond);  \
			fprintf(stderr, __VA_ARGS__);                                     \
			fputc('\n', stderr);                                              \
			exit(1);                                                          \
		}                                                                         \
	} while (0)

/* The value of a required environment variable; exits when it is unset. */
static inline const char *env(const char *name)
{
	const char *v = getenv(name);
	if (v == NULL || v[0] == '\0') {
		fprintf(stderr, "missing environment variable %s (run the driver through its script)\n", name);
		exit(1);
	}
	return v;
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

#endif

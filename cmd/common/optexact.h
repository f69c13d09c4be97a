/* optexact: long options must be spelled out. getopt_long(3) takes any
 * unambiguous prefix ("--stagin" for "--staging"), so a typo can silently
 * become another option and be stored for cron. Every subcommand of both
 * programs checks its argv with opt_exact_check before getopt_long. */
#ifndef GPC_OPTEXACT_H
#define GPC_OPTEXACT_H

#include <getopt.h>
#include <stddef.h>

/* Scan argv[1..argc) as getopt_long(argc, argv, optstring, longopts) would
 * (option arguments skipped, "--" ends the options) and check that every
 * long option is one of longopts, spelled in full. Returns 0, or -1 with
 * msg set to "unknown option '--X'" plus " (did you mean --Y?)" when one is
 * close (a longer option it is a prefix of, or one a typo or two away). */
int opt_exact_check(int argc, char *const *argv, const char *optstring, const struct option *longopts,
		    char *msg, size_t msgsz);

/* The long option closest to `word` (without "--"): one that word is a
 * prefix of when there is exactly one, else one at edit distance <= 2
 * (the nearest; ties: the first). NULL when none is close. */
const char *opt_closest(const char *word, size_t len, const struct option *longopts);

#endif

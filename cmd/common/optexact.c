/* optexact: refuse abbreviated long options (see optexact.h). */
#include "optexact.h"

#include <stdio.h>
#include <string.h>

#include "strdist.h"

const char *opt_closest(const char *word, size_t len, const struct option *longopts)
{
	const char *prefix_of = NULL, *best = NULL;
	size_t n_prefix = 0, best_d = 3;

	for (const struct option *o = longopts; o->name != NULL; o++) {
		if (len > 0 && strncmp(o->name, word, len) == 0) {
			n_prefix++;
			prefix_of = o->name;
		}
		size_t d = str_distance(word, len, o->name, strlen(o->name));
		if (d < best_d) {
			best_d = d;
			best = o->name;
		}
	}
	if (n_prefix == 1)
		return prefix_of;
	return best;
}

static const struct option *find_exact(const char *name, size_t len, const struct option *longopts)
{
	for (const struct option *o = longopts; o->name != NULL; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

int opt_exact_check(int argc, char *const *argv, const char *optstring, const struct option *longopts,
		    char *msg, size_t msgsz)
{
	/* getopt's own flags at the front of optstring: '+', '-', ':' */
	while (*optstring == '+' || *optstring == '-' || *optstring == ':')
		optstring++;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || a[1] == '\0')
			continue; /* an operand (getopt_long permutes: keep looking) */
		if (strcmp(a, "--") == 0)
			break;
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct option *o = find_exact(name, len, longopts);

			if (o == NULL) {
				const char *c = opt_closest(name, len, longopts);
				if (c != NULL)
					snprintf(msg, msgsz, "unknown option '--%.*s' (did you mean --%s?)", (int)len,
						 name, c);
				else
					snprintf(msg, msgsz, "unknown option '--%.*s'", (int)len, name);
				return -1;
			}
			if (o->has_arg == required_argument && eq == NULL)
				i++; /* its value is the next word */
			continue;
		}
		/* a cluster of short options: the first one taking an argument
		 * ends it, its value is the rest or the next word */
		for (const char *p = a + 1; *p != '\0'; p++) {
			const char *s = strchr(optstring, *p);
			if (s == NULL || *p == ':')
				break; /* getopt reports it */
			if (s[1] == ':') {
				if (s[2] != ':' && p[1] == '\0')
					i++;
				break;
			}
		}
	}
	return 0;
}

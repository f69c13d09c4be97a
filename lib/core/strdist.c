/* strdist: edit distance for suggestions (see strdist.h). */
#include "strdist.h"

#include <ctype.h>
#include <string.h>

size_t str_distance(const char *a, size_t na, const char *b, size_t nb)
{
	size_t prev[64], cur[64];

	if (na >= 63 || nb >= 63)
		return (size_t)-1;
	for (size_t j = 0; j <= nb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= na; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t best = prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			cur[j] = best;
		}
		memcpy(prev, cur, (nb + 1) * sizeof(*prev));
	}
	return prev[nb];
}

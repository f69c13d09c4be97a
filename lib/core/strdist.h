/* strdist: how far apart two short words are, for "did you mean ...?"
 * (an option, a GoDoxy key, a DNS provider's name). */
#ifndef GPC_STRDIST_H
#define GPC_STRDIST_H

#include <stddef.h>

/* Levenshtein distance of a[0..na) and b[0..nb), ASCII case ignored.
 * Words of 63 bytes or more are never close: (size_t)-1. */
size_t str_distance(const char *a, size_t na, const char *b, size_t nb);

#endif

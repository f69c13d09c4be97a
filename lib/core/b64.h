/* b64: base64url without padding (RFC 4648 §5, as JOSE/ACME use it), and
 * standard base64 (§4) for etcd. */
#ifndef GPC_B64_H
#define GPC_B64_H

#include <stddef.h>

/* Encode `len` bytes as base64url without '=' padding. Returns a malloc'd
 * NUL-terminated string (caller frees), or NULL when out of memory. */
char *b64url_encode(const void *data, size_t len) __attribute__((warn_unused_result));

/* Encode `len` bytes as standard base64 with '=' padding (RFC 4648 §4), the
 * form etcd's JSON gateway wants for bytes. Returns a malloc'd string (caller
 * frees), or NULL when out of memory. b64url_decode reads it back. */
char *b64std_encode(const void *data, size_t len) __attribute__((warn_unused_result));

/* Encode into `out` (size outsz, needs b64url_len(len) + 1 bytes).
 * Returns the encoded length, or 0 if it does not fit (and len > 0). */
size_t b64url_encode_to(const void *data, size_t len, char *out, size_t outsz);

/* Length of the encoding of `len` bytes (without the NUL). */
size_t b64url_len(size_t len);

/* Decode base64url (trailing '=' padding tolerated; also accepts the standard
 * alphabet's '+' and '/'). On success returns 0 and a malloc'd buffer in *out
 * (caller frees; NUL-terminated for convenience, not counted in *outlen).
 * Returns -1 on a bad character or impossible length. */
int b64url_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen)
	__attribute__((warn_unused_result));

#endif

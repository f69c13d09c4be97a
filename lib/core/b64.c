/* b64: base64url without padding (RFC 4648 §5); standard base64 (§4). */
#include "b64.h"

#include <stdlib.h>
#include <string.h>

static const char b64url_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64url_len(size_t len)
{
	return (len / 3) * 4 + (len % 3 ? len % 3 + 1 : 0);
}

size_t b64url_encode_to(const void *data, size_t len, char *out, size_t outsz)
{
	const unsigned char *p = data;
	size_t n = b64url_len(len), o = 0, i;

	if (outsz < n + 1)
		return 0;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64url_alpha[(v >> 18) & 63];
		out[o++] = b64url_alpha[(v >> 12) & 63];
		out[o++] = b64url_alpha[(v >> 6) & 63];
		out[o++] = b64url_alpha[v & 63];
	}
	if (len - i == 1) {
		unsigned long v = (unsigned long)p[i] << 16;
		out[o++] = b64url_alpha[(v >> 18) & 63];
		out[o++] = b64url_alpha[(v >> 12) & 63];
	} else if (len - i == 2) {
		unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8;
		out[o++] = b64url_alpha[(v >> 18) & 63];
		out[o++] = b64url_alpha[(v >> 12) & 63];
		out[o++] = b64url_alpha[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

char *b64std_encode(const void *data, size_t len)
{
	static const char std_alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = (len + 2) / 3 * 4 + 1, o;
	char *out = malloc(n);

	if (out == NULL)
		return NULL;
	/* the same bits as base64url: encode, then swap the two last letters
	 * of the alphabet and pad to a multiple of 4 */
	o = b64url_encode_to(data, len, out, n);
	for (size_t i = 0; i < o; i++)
		out[i] = std_alpha[strchr(b64url_alpha, out[i]) - b64url_alpha];
	while (o % 4 != 0)
		out[o++] = '=';
	out[o] = '\0';
	return out;
}

char *b64url_encode(const void *data, size_t len)
{
	size_t n = b64url_len(len) + 1;
	char *out = malloc(n);

	if (out == NULL)
		return NULL;
	b64url_encode_to(data, len, out, n);
	return out;
}

static int b64_val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '-' || ch == '+')
		return 62;
	if (ch == '_' || ch == '/')
		return 63;
	return -1;
}

int b64url_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen)
{
	unsigned char *res;
	unsigned long acc = 0;
	size_t i, o = 0;
	int bits = 0;

	while (slen > 0 && s[slen - 1] == '=')
		slen--;
	if (slen % 4 == 1)
		return -1;
	res = malloc(slen / 4 * 3 + 3);
	if (res == NULL)
		return -1;
	for (i = 0; i < slen; i++) {
		int v = b64_val((unsigned char)s[i]);
		if (v < 0) {
			free(res);
			return -1;
		}
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			res[o++] = (unsigned char)((acc >> bits) & 0xff);
		}
	}
	res[o] = '\0';
	*out = res;
	if (outlen != NULL)
		*outlen = o;
	return 0;
}

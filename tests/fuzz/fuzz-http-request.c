/* fuzz-http-request: goproxyd's plain-HTTP side reads request heads from
 * anyone on port 80. httpreq_parse + httpreq_route (cmd/goproxyd/httpreq.c,
 * the code goproxyd runs) on any bytes must never crash or read outside the
 * buffer, and the decision must keep its promises:
 *   - a token answer is a valid http-01 token ([A-Za-z0-9_-]+), so it can
 *     never name a path outside .state/challenges/http-01/;
 *   - a redirect is "https://" + something with no CR/LF (no header injection);
 *   - parsing a prefix of a complete head never claims success past the data.
 * The input is copied to an exact-size heap buffer so ASan sees overreads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../cmd/goproxyd/httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpreq req;
	char out[2048];
	char *buf;
	int r, act;

	if (size > 64 * 1024)
		return 0;
	buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	memset(&req, 0, sizeof(req));
	r = httpreq_parse(buf, size, &req);
	if (r < -1 || r > 1)
		abort();
	if (r == 1) {
		/* (absolute-form without a path is reduced to a static "/") */
		if (req.target == NULL ||
		    ((req.target < buf || req.target + req.target_len > buf + size) &&
		     !(req.target_len == 1 && req.target[0] == '/')))
			abort();
		if (req.host != NULL && (req.host < buf || req.host + req.host_len > buf + size))
			abort();
		if (memchr(req.method, '\0', sizeof(req.method)) == NULL)
			abort();
		act = httpreq_route(&req, out, sizeof(out));
		switch (act) {
		case HTTPREQ_TOKEN:
			if (!httpreq_token_valid(out, strlen(out)) || strchr(out, '/') || strstr(out, ".."))
				abort();
			break;
		case HTTPREQ_REDIRECT:
			if (strncmp(out, "https://", 8) != 0 || strpbrk(out, "\r\n") != NULL)
				abort();
			break;
		case HTTPREQ_NOT_FOUND:
		case HTTPREQ_BAD:
			break;
		default:
			abort();
		}
		/* Any shorter prefix of a complete head is incomplete or bad, never
		 * a different complete request reading past its end. */
		if (size > 0) {
			struct httpreq r2;
			char *p = malloc(size - 1 ? size - 1 : 1);
			if (p != NULL) {
				memcpy(p, data, size - 1);
				if (httpreq_parse(p, size - 1, &r2) == 1 && r2.target_len > 1 &&
				    r2.target + r2.target_len > p + size - 1)
					abort();
				free(p);
			}
		}
	}
	free(buf);
	return 0;
}

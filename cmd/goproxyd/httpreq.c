/* httpreq: parse an HTTP/1.x request head and decide goproxyd's answer
 * (http-01 token, 404, 301 to https, 400). No I/O here. */
#include "httpreq.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool httpreq_token_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* End of the head ("\r\n\r\n" or "\n\n"), or NULL. */
static const char *head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n')
			return buf + i + 2;
		if (i + 3 < len && buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' &&
		    buf[i + 3] == '\n')
			return buf + i + 4;
	}
	return NULL;
}

/* One line [p, end of line) without its CR LF; *next after it. */
static size_t line_len(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t l;

	if (nl == NULL) {
		*next = end;
		return (size_t)(end - p);
	}
	*next = nl + 1;
	l = (size_t)(nl - p);
	if (l > 0 && p[l - 1] == '\r')
		l--;
	return l;
}

int httpreq_parse(const char *buf, size_t len, struct httpreq *req)
{
	const char *end = head_end(buf, len), *p, *next, *sp1, *sp2;
	size_t l, ml;

	memset(req, 0, sizeof(*req));
	if (end == NULL)
		return 0;
	/* request-line = method SP request-target SP HTTP-version (RFC 9112 §3) */
	l = line_len(buf, end, &next);
	sp1 = memchr(buf, ' ', l);
	if (sp1 == NULL)
		return -1;
	sp2 = memchr(sp1 + 1, ' ', l - (size_t)(sp1 + 1 - buf));
	if (sp2 == NULL)
		return -1;
	ml = (size_t)(sp1 - buf);
	if (ml == 0 || ml >= sizeof(req->method))
		return -1;
	for (size_t i = 0; i < ml; i++)
		if (buf[i] < 'A' || buf[i] > 'Z')
			return -1;
	memcpy(req->method, buf, ml);
	req->head = strcmp(req->method, "HEAD") == 0;
	if ((size_t)(buf + l - (sp2 + 1)) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    sp2[8] < '0' || sp2[8] > '9')
		return -1;
	req->target = sp1 + 1;
	req->target_len = (size_t)(sp2 - req->target);
	/* absolute-form: keep only the path (RFC 9112 §3.2.2) */
	if (req->target_len >= 7 && strncasecmp(req->target, "http://", 7) == 0) {
		const char *slash = memchr(req->target + 7, '/', req->target_len - 7);
		if (slash == NULL) {
			req->target = "/";
			req->target_len = 1;
		} else {
			req->target_len -= (size_t)(slash - req->target);
			req->target = slash;
		}
	}
	if (req->target_len == 0 || req->target[0] != '/')
		return -1;
	for (size_t i = 0; i < req->target_len; i++)
		if ((unsigned char)req->target[i] <= 0x20 || req->target[i] == 0x7f)
			return -1;

	/* header fields: only Host matters; exactly one (RFC 9112 §3.2) */
	for (p = next; p < end;) {
		const char *colon, *v;
		size_t vl;

		l = line_len(p, end, &next);
		if (l == 0)
			break;
		colon = memchr(p, ':', l);
		if (colon == NULL || colon == p)
			return -1;
		if ((size_t)(colon - p) == 4 && strncasecmp(p, "host", 4) == 0) {
			if (req->host != NULL)
				return -1;
			v = colon + 1;
			vl = l - (size_t)(v - p);
			while (vl > 0 && (*v == ' ' || *v == '\t')) {
				v++;
				vl--;
			}
			while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			req->host = v;
			req->host_len = vl;
		}
		p = next;
	}
	return 1;
}

/* Host header value usable in a Location: letters, digits, '.', '-', '_',
 * or an IPv6 literal in brackets; the port is dropped (https has its own). */
static bool clean_host(const char *v, size_t len, char *out, size_t outsz)
{
	size_t i = 0, o = 0;

	if (len == 0 || len >= outsz)
		return false;
	if (v[0] == '[') {
		for (; i < len && v[i] != ']'; i++) {
			char ch = v[i];
			if (!(ch == '[' || ch == ':' || ch == '.' || (ch >= '0' && ch <= '9') ||
			      (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
				return false;
			out[o++] = ch;
		}
		if (i == len)
			return false;
		out[o++] = ']';
		i++;
	} else {
		for (; i < len && v[i] != ':'; i++) {
			char ch = v[i];
			if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_'))
				return false;
			out[o++] = ch;
		}
	}
	if (i < len) { /* ":port" */
		if (v[i] != ':')
			return false;
		for (i++; i < len; i++)
			if (v[i] < '0' || v[i] > '9')
				return false;
	}
	out[o] = '\0';
	return o > 0;
}

bool httpreq_host(const struct httpreq *req, char *out, size_t outsz)
{
	size_t l;

	if (req->host == NULL || !clean_host(req->host, req->host_len, out, outsz))
		return false;
	l = strlen(out);
	if (out[0] != '[' && l > 1 && out[l - 1] == '.')
		out[--l] = '\0';
	for (size_t i = 0; i < l; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	return true;
}

int httpreq_route(const struct httpreq *req, char *out, size_t outsz)
{
	size_t pl = strlen(HTTPREQ_ACME_PREFIX);
	char host[300];
	int n;

	if (outsz > 0)
		out[0] = '\0';
	if (req->target_len >= pl && memcmp(req->target, HTTPREQ_ACME_PREFIX, pl) == 0) {
		const char *tok = req->target + pl;
		size_t tl = req->target_len - pl;

		if ((strcmp(req->method, "GET") != 0 && !req->head) ||
		    !httpreq_token_valid(tok, tl) || tl >= outsz)
			return HTTPREQ_NOT_FOUND;
		memcpy(out, tok, tl);
		out[tl] = '\0';
		return HTTPREQ_TOKEN;
	}
	if (req->host == NULL || !clean_host(req->host, req->host_len, host, sizeof(host)))
		return HTTPREQ_BAD;
	if (req->target_len > (size_t)1 << 20)
		return HTTPREQ_BAD;
	n = snprintf(out, outsz, "https://%s%.*s", host, (int)req->target_len, req->target);
	if (n < 0 || (size_t)n >= outsz)
		return HTTPREQ_BAD;
	return HTTPREQ_REDIRECT;
}

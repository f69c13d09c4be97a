/* httpapi: the requests of the HTTP providers (libcurl). The ACME client in
 * lib/http.c speaks GET/HEAD/POST without headers of the caller's; DNS
 * APIs need PATCH, DELETE and their own authentication headers. */
#include "dns_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "log.h"

#define DNSHTTP_MAX_BODY (8u * 1024 * 1024)
#define DNSHTTP_TIMEOUT_MS 30000L

static size_t body_cb(char *p, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;

	if (buf_add(b, p, size * n) != 0)
		return 0;
	return size * n;
}

char *dnshttp_url_label(const char *url, char *out, size_t outsz)
{
	const char *s = strstr(url, "://"), *at;
	size_t skip = 0;

	/* drop user:password@ */
	if (s != NULL && (at = strchr(s + 3, '@')) != NULL && at < s + 3 + strcspn(s + 3, "/?#")) {
		snprintf(out, outsz, "%.*s%.*s", (int)(s + 3 - url), url, (int)strcspn(at + 1, "?#"), at + 1);
		return out;
	}
	(void)skip;
	snprintf(out, outsz, "%.*s", (int)strcspn(url, "?#"), url);
	return out;
}

int dnshttp_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			if (buf_add(b, s, 1) != 0)
				return -1;
		} else if (buf_printf(b, "%%%02X", c) != 0) {
			return -1;
		}
	}
	return 0;
}

/* The first Set-Cookie's NAME=VALUE (a session: INWX). */
static size_t header_cb(char *p, size_t size, size_t n, void *ud)
{
	struct dnshttp_resp *r = ud;
	size_t len = size * n;

	if (r->cookie == NULL && len > 11 && strncasecmp(p, "Set-Cookie:", 11) == 0) {
		const char *v = p + 11;
		while (v < p + len && (*v == ' ' || *v == '\t'))
			v++;
		size_t vl = 0;
		while (v + vl < p + len && v[vl] != ';' && v[vl] != '\r' && v[vl] != '\n')
			vl++;
		r->cookie = strndup(v, vl);
	}
	return len;
}

void dnshttp_resp_finish(struct dnshttp_resp *r)
{
	dns_secret_free(r->cookie);
	r->cookie = NULL;
	buf_finish(&r->body);
	r->status = 0;
}

int dnshttp_request(const char *provider, const char *method, const char *url,
		    const char *const *headers, const char *body, struct dnshttp_resp *r,
		    struct gpc_error *err)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char ebuf[CURL_ERROR_SIZE] = "", label[512];
	CURLcode cc;
	int rc = -1;

	buf_init(&r->body, DNSHTTP_MAX_BODY);
	r->status = 0;
	r->cookie = NULL;
	dnshttp_url_label(url, label, sizeof(label));
	if (c == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	bool own_type = false;
	for (size_t i = 0; headers && headers[i]; i++) {
		h = curl_slist_append(h, headers[i]);
		own_type = own_type || strncasecmp(headers[i], "Content-Type:", 13) == 0;
	}
	if (body != NULL && !own_type)
		h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "goproxy-cert/" GPC_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, DNSHTTP_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	gpc_debug("%s: %s %s", provider, method, label);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		gpc_error_set(err, cc == CURLE_WRITE_ERROR ? GPC_E_INVALID : GPC_E_NETWORK, "%s: %s %s: %s", provider,
			      method, label, ebuf[0] ? ebuf : curl_easy_strerror(cc));
		if (cc == CURLE_PEER_FAILED_VERIFICATION)
			gpc_error_hint(err, "the API's TLS certificate is not trusted by this machine");
		else
			gpc_error_hint(err, "the %s API must be reachable from this machine", provider);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	gpc_debug("%s: %s %s -> %ld", provider, method, label, r->status);
	rc = 0;
out:
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (rc != 0)
		dnshttp_resp_finish(r);
	return rc;
}

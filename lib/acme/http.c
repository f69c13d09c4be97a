/* http: libcurl easy handle per client, reused for every request (one
 * connection to the CA for the whole run). */
#include "http.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "log.h"
#include "timeutil.h"

#ifndef GPC_VERSION
#define GPC_VERSION "0"
#endif

struct http_share {
	CURLSH *sh;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

struct http_client {
	CURL *easy;
	struct http_options opt;
	char *ca_bundle;
	char *user_agent;
	struct http_stats stats;
	char errbuf[CURL_ERROR_SIZE];
	struct http_response *cur; /* response being received */
	const char *cur_url;
	int body_overflow;
	int retryable; /* last failure was a drop or timeout */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	struct http_share *s = ud;
	(void)h;
	(void)access;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&s->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
	struct http_share *s = ud;
	(void)h;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&s->locks[data]);
}

struct http_share *http_share_new(void)
{
	struct http_share *s;

	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&s->locks[i], NULL);
	s->sh = curl_share_init();
	if (s->sh == NULL) {
		http_share_free(s);
		return NULL;
	}
	curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s);
	curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	return s;
}

void http_share_free(struct http_share *s)
{
	if (s == NULL)
		return;
	if (s->sh != NULL)
		curl_share_cleanup(s->sh);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&s->locks[i]);
	free(s);
}

void http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, HTTP_MAX_BODY);
}

static void headers_clear(struct http_response *r)
{
	free(r->nonce);
	free(r->location);
	free(r->content_type);
	free(r->link_up);
	for (size_t i = 0; i < r->n_alternate; i++)
		free(r->link_alternate[i]);
	r->nonce = r->location = r->content_type = r->link_up = NULL;
	r->n_alternate = 0;
	r->retry_after = 0;
}

void http_response_finish(struct http_response *r)
{
	size_t max = r->body.max;

	headers_clear(r);
	buf_finish(&r->body);
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, max ? max : HTTP_MAX_BODY);
}

char *http_url_host(const char *url, char *out, size_t outsz)
{
	const char *p = strstr(url ? url : "", "://");
	size_t n;

	p = p ? p + 3 : (url ? url : "");
	n = strcspn(p, "/?#");
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

int http_parse_retry_after(const char *value, time_t now, time_t *out)
{
	const char *p = value;
	time_t t;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p >= '0' && *p <= '9') {
		char *end;
		unsigned long long secs = strtoull(p, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end != '\0' || secs > 10ull * 365 * 86400)
			return -1;
		*out = now + (time_t)secs;
		return 0;
	}
	/* RFC 9110 §10.2.3: an HTTP-date; curl_getdate knows all three forms. */
	t = curl_getdate(p, NULL);
	if (t == (time_t)-1 || *p == '\0')
		return -1;
	*out = t;
	return 0;
}

/* Resolve a possibly relative URL reference against the request URL. */
static char *resolve_url(const char *base, const char *ref, size_t reflen)
{
	char *r = strndup(ref, reflen), *out = NULL;
	CURLU *u;

	if (r == NULL)
		return NULL;
	if (strstr(r, "://") != NULL || base == NULL)
		return r;
	u = curl_url();
	if (u != NULL && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, r, 0) == CURLUE_OK)
		curl_url_get(u, CURLUPART_URL, &out, 0);
	curl_url_cleanup(u);
	if (out != NULL) {
		char *dup = strdup(out);
		curl_free(out);
		free(r);
		return dup;
	}
	return r;
}

/* RFC 8288 Link: <uri>; rel="up", <uri2>; rel=alternate ... */
static void parse_link(struct http_client *c, struct http_response *r, const char *v, size_t len)
{
	const char *p = v, *end = v + len;

	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p)), *gt, *q;
		int up = 0, alt = 0;

		if (lt == NULL)
			return;
		gt = memchr(lt, '>', (size_t)(end - lt));
		if (gt == NULL)
			return;
		/* parameters up to the next ',' that starts another link */
		q = gt + 1;
		while (q < end && *q != ',') {
			while (q < end && (*q == ';' || *q == ' ' || *q == '\t'))
				q++;
			if ((size_t)(end - q) > 4 && strncasecmp(q, "rel=", 4) == 0) {
				const char *s = q + 4, *e;
				int quoted = s < end && *s == '"';
				if (quoted)
					s++;
				e = s;
				while (e < end && (quoted ? *e != '"' : (*e != ';' && *e != ',')))
					e++;
				/* rel may list several space-separated relation types */
				for (const char *w = s; w < e;) {
					const char *we = w;
					while (we < e && *we != ' ')
						we++;
					if (we - w == 2 && strncasecmp(w, "up", 2) == 0)
						up = 1;
					if (we - w == 9 && strncasecmp(w, "alternate", 9) == 0)
						alt = 1;
					w = we + 1;
				}
				q = e < end && quoted ? e + 1 : e;
			} else {
				while (q < end && *q != ';' && *q != ',')
					q++;
			}
		}
		if (up && r->link_up == NULL)
			r->link_up = resolve_url(c->cur_url, lt + 1, (size_t)(gt - lt - 1));
		if (alt && r->n_alternate < HTTP_MAX_LINKS) {
			char *u = resolve_url(c->cur_url, lt + 1, (size_t)(gt - lt - 1));
			if (u != NULL)
				r->link_alternate[r->n_alternate++] = u;
		}
		p = q < end ? q + 1 : end;
	}
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_client *c = ud;
	struct http_response *r = c->cur;
	size_t len = size * nmemb, nlen, vlen;
	const char *colon, *v;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new response (after 1xx): forget earlier headers */
		headers_clear(r);
		return len;
	}
	colon = memchr(data, ':', len);
	if (colon == NULL)
		return len;
	nlen = (size_t)(colon - data);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(data, name, nlen) == 0)
	if (IS("Replay-Nonce")) {
		free(r->nonce);
		r->nonce = strndup(v, vlen);
	} else if (IS("Location")) {
		free(r->location);
		r->location = resolve_url(c->cur_url, v, vlen);
	} else if (IS("Content-Type")) {
		size_t n = strcspn(v, ";");
		if (n > vlen)
			n = vlen;
		while (n > 0 && v[n - 1] == ' ')
			n--;
		free(r->content_type);
		r->content_type = strndup(v, n);
		for (char *p = r->content_type; p && *p; p++)
			*p = (char)tolower((unsigned char)*p);
	} else if (IS("Retry-After")) {
		char *s = strndup(v, vlen);
		time_t t;
		if (s != NULL && http_parse_retry_after(s, time_now(), &t) == 0)
			r->retry_after = t;
		free(s);
	} else if (IS("Link")) {
		parse_link(c, r, v, vlen);
	} else if (IS("Date")) {
		char *s = strndup(v, vlen);
		time_t t = s != NULL ? curl_getdate(s, NULL) : (time_t)-1;
		if (t != (time_t)-1) {
			c->stats.have_date = 1;
			c->stats.clock_skew = (long)(t - time(NULL));
		}
		free(s);
	}
#undef IS
	return len;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_client *c = ud;
	size_t len = size * nmemb;

	if (buf_add(&c->cur->body, data, len) < 0) {
		c->body_overflow = 1;
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	}
	return len;
}

int http_client_new(const struct http_options *opt, struct http_client **out, struct gpc_error *err)
{
	struct http_client *c;
	char ua[128];

	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return gpc_error_set(err, GPC_E_INTERNAL, "libcurl initialisation failed: %s",
				     curl_easy_strerror(curl_init_rc));
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	if (opt != NULL)
		c->opt = *opt;
	snprintf(ua, sizeof(ua), "goproxy-cert/%s", GPC_VERSION);
	c->user_agent = strdup(c->opt.user_agent ? c->opt.user_agent : ua);
	c->ca_bundle = c->opt.ca_bundle ? strdup(c->opt.ca_bundle) : NULL;
	c->easy = curl_easy_init();
	if (c->easy == NULL || c->user_agent == NULL || (c->opt.ca_bundle && c->ca_bundle == NULL)) {
		http_client_free(c);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	if (c->opt.max_body == 0)
		c->opt.max_body = HTTP_MAX_BODY;
	curl_easy_setopt(c->easy, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 c->opt.connect_timeout_ms > 0 ? c->opt.connect_timeout_ms : 10000L);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, c->opt.timeout_ms > 0 ? c->opt.timeout_ms : 60000L);
	curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	if (c->ca_bundle != NULL)
		curl_easy_setopt(c->easy, CURLOPT_CAINFO, c->ca_bundle);
	if (c->opt.share != NULL)
		curl_easy_setopt(c->easy, CURLOPT_SHARE, c->opt.share->sh);
	*out = c;
	return 0;
}

void http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	free(c->user_agent);
	free(c->ca_bundle);
	free(c);
}

int http_client_retryable(const struct http_client *c)
{
	return c->retryable;
}

void http_client_stats(const struct http_client *c, struct http_stats *out)
{
	*out = c->stats;
}

/* Turn a libcurl failure into an error naming the host, with a fix. */
static int curl_error(struct http_client *c, CURLcode rc, const char *url, struct gpc_error *err)
{
	char host[256];
	const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);

	http_url_host(url, host, sizeof(host));
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		gpc_error_set(err, GPC_E_NETWORK, "%s: host name not resolvable (%s)", host, detail);
		return gpc_error_hint(err, "check the --server URL and this machine's DNS/network; try again later");
	case CURLE_COULDNT_CONNECT:
		gpc_error_set(err, GPC_E_NETWORK, "%s: cannot connect (%s)", host, detail);
		return gpc_error_hint(err, "check the --server URL, that the CA is up and that no firewall blocks it; try again later");
	case CURLE_OPERATION_TIMEDOUT:
		c->retryable = 1;
		gpc_error_set(err, GPC_E_NETWORK, "%s: timed out (%s)", host, detail);
		return gpc_error_hint(err, "the CA or the network is slow or down; try again later");
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		c->retryable = 1;
		gpc_error_set(err, GPC_E_NETWORK, "%s: connection dropped (%s)", host, detail);
		return gpc_error_hint(err, "try again later");
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		gpc_error_set(err, GPC_E_TLS, "%s: TLS certificate not trusted or handshake failed (%s)", host,
			      detail);
		return gpc_error_hint(err, "for a private CA or pebble pass --ca-bundle FILE with its CA "
				      "certificate; for Let's Encrypt's test CA use --staging; check the clock");
	case CURLE_SSL_CACERT_BADFILE:
		gpc_error_set(err, GPC_E_USAGE, "%s: cannot read the CA bundle (%s)",
			      c->ca_bundle ? c->ca_bundle : "system trust store", detail);
		return gpc_error_hint(err, "--ca-bundle must name a readable PEM file of CA certificates");
	case CURLE_WRITE_ERROR:
		if (c->body_overflow) {
			gpc_error_set(err, GPC_E_INVALID, "%s: response larger than %zu bytes", url,
				      c->opt.max_body);
			return gpc_error_hint(err, "is --server really an ACME directory URL?");
		}
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		gpc_error_set(err, GPC_E_USAGE, "'%s': not a usable URL (%s)", url, detail);
		return gpc_error_hint(err, "use an https:// ACME directory URL");
	default:
		break;
	}
	gpc_error_set(err, GPC_E_NETWORK, "%s: %s", host, detail);
	return gpc_error_hint(err, "try again later");
}

int http_request(struct http_client *c, const char *method, const char *url,
		 const char *content_type, const void *body, size_t len,
		 struct http_response *r, struct gpc_error *err)
{
	struct curl_slist *hdrs = NULL;
	char ctype[160];
	long status = 0, connects = 0;
	CURLcode rc;
	int ret = -1;

	headers_clear(r);
	buf_finish(&r->body);
	buf_init(&r->body, c->opt.max_body);
	r->status = 0;
	c->cur = r;
	c->cur_url = url;
	c->body_overflow = 0;
	c->retryable = 0;
	c->errbuf[0] = '\0';

	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_NOBODY, 0L);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c->easy, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "POST") == 0) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s",
			 content_type ? content_type : "application/octet-stream");
		hdrs = curl_slist_append(hdrs, ctype);
		hdrs = curl_slist_append(hdrs, "Expect:");
		if (hdrs == NULL)
			return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
	} else {
		curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdrs);

	c->stats.requests++;
	rc = curl_easy_perform(c->easy);
	if (curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0)
		c->stats.connections += (unsigned long)connects;
	if (rc != CURLE_OK) {
		gpc_debug("%s %s: %s", method, url, c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
		curl_error(c, rc, url, err);
		goto out;
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	r->status = status;
	gpc_debug("%s %s -> %ld (%zu bytes)%s", method, url, status, r->body.len,
		  connects > 0 ? " [new connection]" : "");
	ret = 0;
out:
	/* Do not leave pointers to the caller's body or headers in the handle. */
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdrs);
	c->cur = NULL;
	c->cur_url = NULL;
	return ret;
}

/* storeurl: parse --store URLs (see storeurl.h). */
#include "storeurl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_FORM "etcd://HOST:PORT[,HOST:PORT...][/PREFIX] or etcd+https://..."

bool store_url_is_url(const char *s)
{
	const char *p = s != NULL ? strstr(s, "://") : NULL;

	if (p == NULL || p == s)
		return false;
	for (const char *q = s; q < p; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
		      *q == '+' || *q == '-' || *q == '.'))
			return false;
	return true;
}

static int bad(struct gpc_error *err, const char *url, const char *why)
{
	gpc_error_set(err, GPC_E_USAGE, "--store '%.300s': %s", url, why);
	return gpc_error_hint(err, "give the store as " URL_FORM " (default port %d, default prefix %s)",
			      STOREURL_DEFAULT_PORT, STOREURL_DEFAULT_PREFIX);
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.';
}

/* One HOST[:PORT] of length n into "SCHEME://HOST:PORT". */
static int member(const char *url, const char *m, size_t n, const char *scheme, char *out, size_t outsz,
		  struct gpc_error *err)
{
	char host[256], why[320];
	const char *colon;
	size_t hl;
	long port = STOREURL_DEFAULT_PORT;

	if (n == 0)
		return bad(err, url, "an empty member (two commas, or a comma at an end)");
	if (m[0] == '[') {
		const char *close = memchr(m, ']', n);
		if (close == NULL)
			return bad(err, url, "an IPv6 address without its closing ']'");
		hl = (size_t)(close - m) + 1;
		for (size_t i = 1; i + 1 < hl; i++)
			if (!((m[i] >= '0' && m[i] <= '9') || (m[i] >= 'a' && m[i] <= 'f') ||
			      (m[i] >= 'A' && m[i] <= 'F') || m[i] == ':' || m[i] == '.'))
				return bad(err, url, "not an IPv6 address between '[' and ']'");
		colon = hl < n ? m + hl : NULL;
		if (colon != NULL && *colon != ':')
			return bad(err, url, "something after ']' that is not ':PORT'");
	} else {
		colon = memchr(m, ':', n);
		hl = colon != NULL ? (size_t)(colon - m) : n;
		for (size_t i = 0; i < hl; i++)
			if (!host_char(m[i])) {
				snprintf(why, sizeof(why), "'%.*s' is not a host name or address", (int)hl, m);
				return bad(err, url, why);
			}
	}
	if (hl == 0 || hl >= sizeof(host))
		return bad(err, url, "a member without a host");
	memcpy(host, m, hl);
	host[hl] = '\0';
	if (colon != NULL) {
		const char *p = colon + 1, *end = m + n;
		if (p == end)
			return bad(err, url, "':' without a port");
		port = 0;
		for (; p < end; p++) {
			if (*p < '0' || *p > '9' || port > 65535) {
				snprintf(why, sizeof(why), "'%.*s' is not a port (1-65535)", (int)(end - colon - 1),
					 colon + 1);
				return bad(err, url, why);
			}
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > 65535) {
			snprintf(why, sizeof(why), "port %ld is not in 1-65535", port);
			return bad(err, url, why);
		}
	}
	if ((size_t)snprintf(out, outsz, "%s://%s:%ld", scheme, host, port) >= outsz)
		return bad(err, url, "a member too long");
	return 0;
}

int store_url_parse(const char *s, struct store_url *out, struct gpc_error *err)
{
	const char *rest, *slash, *scheme;
	size_t tl;

	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0')
		return bad(err, "", "empty");
	if (strncmp(s, "etcd://", 7) == 0 || strncmp(s, "etcd+http://", 12) == 0) {
		rest = s + (s[4] == '+' ? 12 : 7);
		scheme = "http";
	} else if (strncmp(s, "etcd+https://", 13) == 0) {
		rest = s + 13;
		scheme = "https";
		out->tls = true;
	} else {
		return bad(err, s, store_url_is_url(s) ? "not an etcd URL (etcd:// or etcd+https://)"
						       : "not a URL (for a directory, use -d DIR)");
	}
	if (strpbrk(rest, "?#") != NULL)
		return bad(err, s, "a query or fragment ('?', '#') has no meaning here");
	slash = strchr(rest, '/');
	if (slash == NULL)
		slash = rest + strlen(rest);
	if (memchr(rest, '@', (size_t)(slash - rest)) != NULL) {
		gpc_error_set(err, GPC_E_USAGE, "--store: a user or password in the URL");
		return gpc_error_hint(err, "a password in a URL shows in ps and in logs: give the etcd user in "
					   "GOPROXY_CERT_STORE_USER and the password in GOPROXY_CERT_STORE_PASSWORD "
					   "or GOPROXY_CERT_STORE_PASSWORD_FILE");
	}
	if (slash == rest)
		return bad(err, s, "no member (HOST:PORT) given");
	for (const char *m = rest; m < slash;) {
		const char *comma = memchr(m, ',', (size_t)(slash - m));
		size_t n = comma != NULL ? (size_t)(comma - m) : (size_t)(slash - m);

		if (out->n_members == STOREURL_MAX_MEMBERS)
			return bad(err, s, "more than 16 members");
		if (member(s, m, n, scheme, out->members[out->n_members], sizeof(out->members[0]), err) != 0)
			return -1;
		out->n_members++;
		if (comma == NULL)
			break;
		m = comma + 1;
		if (m == slash)
			return bad(err, s, "an empty member (two commas, or a comma at an end)");
	}
	/* the prefix: components of [A-Za-z0-9._-], none empty or "."/".." */
	{
		const char *p = *slash == '/' ? slash : NULL;
		size_t pl = p != NULL ? strlen(p) : 0;

		while (pl > 1 && p[pl - 1] == '/')
			pl--;
		if (p == NULL || pl <= 1) {
			snprintf(out->prefix, sizeof(out->prefix), "%s", STOREURL_DEFAULT_PREFIX);
		} else {
			if (pl >= sizeof(out->prefix))
				return bad(err, s, "a prefix longer than 255 bytes");
			for (size_t i = 1, start = 1; i <= pl; i++) {
				char c = i < pl ? p[i] : '/';
				if (c == '/') {
					size_t cl = i - start;
					if (cl == 0 || (cl == 1 && p[start] == '.') ||
					    (cl == 2 && p[start] == '.' && p[start + 1] == '.'))
						return bad(err, s, "the prefix has an empty, '.' or '..' component");
					start = i + 1;
				} else if (!host_char(c) && c != '_') {
					return bad(err, s, "the prefix may hold only letters, digits, '.', '_', '-' and '/'");
				}
			}
			memcpy(out->prefix, p, pl);
			out->prefix[pl] = '\0';
		}
	}
	/* spelled out: scheme, members with ports, prefix */
	tl = (size_t)snprintf(out->text, sizeof(out->text), "%s://", out->tls ? "etcd+https" : "etcd");
	for (size_t i = 0; i < out->n_members && tl < sizeof(out->text); i++)
		tl += (size_t)snprintf(out->text + tl, sizeof(out->text) - tl, "%s%s", i ? "," : "",
				       strstr(out->members[i], "://") + 3);
	if (tl < sizeof(out->text))
		snprintf(out->text + tl, sizeof(out->text) - tl, "%s", out->prefix);
	return 0;
}

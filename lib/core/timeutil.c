#include "timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *time_rfc3339(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsz, "invalid-time");
	return out;
}

int time_parse_rfc3339(const char *s, time_t *t)
{
	struct tm tm;
	const char *p;
	long off = 0;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL) {
		memset(&tm, 0, sizeof(tm));
		p = strptime(s, "%Y-%m-%dt%H:%M:%S", &tm);
		if (p == NULL)
			return -1;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		/* exactly [+-]HH:MM (RFC 3339 time-numoffset); never step past the NUL */
		if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[3] != ':' ||
		    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
			return -1;
		int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
		if (hh > 23 || mm > 59)
			return -1;
		off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	*t = timegm(&tm) - off;
	return 0;
}

time_t time_now(void)
{
	const char *s = getenv("GOPROXY_CERT_NOW");

	if (s != NULL && *s != '\0') {
		char *end;
		long long v = strtoll(s, &end, 10);
		if (*end == '\0')
			return (time_t)v;
	}
	return time(NULL);
}

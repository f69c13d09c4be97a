/* records: goproxyd's presence line, written by goproxyd and read by issue. */
#include "records.h"

#include <stdio.h>
#include <string.h>

#define ANSWERS "answers:"

int records_presence_format(bool http, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, ANSWERS " %stls-alpn-01", http ? "http-01 " : "");

	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

int records_presence_parse(const char *info)
{
	char tmp[160];
	int answers = 0;

	if (info == NULL || strncmp(info, ANSWERS, strlen(ANSWERS)) != 0)
		return GOPROXYD_HTTP01 | GOPROXYD_TLSALPN01;
	snprintf(tmp, sizeof(tmp), "%s ", info + strlen(ANSWERS));
	if (strstr(tmp, " http-01 ") != NULL)
		answers |= GOPROXYD_HTTP01;
	if (strstr(tmp, " tls-alpn-01 ") != NULL)
		answers |= GOPROXYD_TLSALPN01;
	return answers != 0 ? answers : GOPROXYD_RUNNING;
}

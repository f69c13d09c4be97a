/* proxyproto: the PROXY protocol header goproxyd sends to a backend first,
 * so the backend learns the client's address (HAProxy "The PROXY protocol",
 * versions 1 and 2, haproxy.org/download/2.9/doc/proxy-protocol.txt). */
#include "goproxyd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define PP2_TYPE_ALPN 0x01
#define PP2_TYPE_AUTHORITY 0x02

static const unsigned char pp2_sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

static int pp_v1(const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
		 unsigned char *out, size_t outsz)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	unsigned sp, dp;
	const char *fam;
	int n;

	if (src->ss_family == AF_INET && dst->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)src, *b = (const void *)dst;
		inet_ntop(AF_INET, &a->sin_addr, s, sizeof(s));
		inet_ntop(AF_INET, &b->sin_addr, d, sizeof(d));
		sp = ntohs(a->sin_port);
		dp = ntohs(b->sin_port);
		fam = "TCP4";
	} else if (src->ss_family == AF_INET6 && dst->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)src, *b = (const void *)dst;
		inet_ntop(AF_INET6, &a->sin6_addr, s, sizeof(s));
		inet_ntop(AF_INET6, &b->sin6_addr, d, sizeof(d));
		sp = ntohs(a->sin6_port);
		dp = ntohs(b->sin6_port);
		fam = "TCP6";
	} else {
		n = snprintf((char *)out, outsz, "PROXY UNKNOWN\r\n");
		return n < 0 || (size_t)n >= outsz ? -1 : n;
	}
	n = snprintf((char *)out, outsz, "PROXY %s %s %s %u %u\r\n", fam, s, d, sp, dp);
	return n < 0 || (size_t)n >= outsz ? -1 : n;
}

static size_t put_tlv(unsigned char *p, unsigned type, const char *v, size_t len)
{
	p[0] = (unsigned char)type;
	p[1] = (unsigned char)(len >> 8);
	p[2] = (unsigned char)(len & 0xff);
	memcpy(p + 3, v, len);
	return 3 + len;
}

static int pp_v2(const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
		 const char *sni, const char *alpn, unsigned char *out, size_t outsz)
{
	size_t snil = sni != NULL ? strlen(sni) : 0, alpnl = alpn != NULL ? strlen(alpn) : 0;
	size_t need = 16 + 36 + (snil ? 3 + snil : 0) + (alpnl ? 3 + alpnl : 0);
	unsigned char *p;
	size_t body;

	if (need > outsz || snil > 255 || alpnl > 255)
		return -1;
	memcpy(out, pp2_sig, sizeof(pp2_sig));
	out[12] = 0x21; /* version 2, PROXY command */
	p = out + 16;
	if (src->ss_family == AF_INET && dst->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)src, *b = (const void *)dst;
		out[13] = 0x11; /* AF_INET, STREAM */
		memcpy(p, &a->sin_addr, 4);
		memcpy(p + 4, &b->sin_addr, 4);
		memcpy(p + 8, &a->sin_port, 2);
		memcpy(p + 10, &b->sin_port, 2);
		p += 12;
	} else if (src->ss_family == AF_INET6 && dst->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)src, *b = (const void *)dst;
		out[13] = 0x21; /* AF_INET6, STREAM */
		memcpy(p, &a->sin6_addr, 16);
		memcpy(p + 16, &b->sin6_addr, 16);
		memcpy(p + 32, &a->sin6_port, 2);
		memcpy(p + 34, &b->sin6_port, 2);
		p += 36;
	} else {
		out[13] = 0x00; /* UNSPEC */
	}
	if (alpnl)
		p += put_tlv(p, PP2_TYPE_ALPN, alpn, alpnl);
	if (snil)
		p += put_tlv(p, PP2_TYPE_AUTHORITY, sni, snil);
	body = (size_t)(p - out) - 16;
	out[14] = (unsigned char)(body >> 8);
	out[15] = (unsigned char)(body & 0xff);
	return (int)(p - out);
}

int pp_build(int version, int fd, const char *sni, const char *alpn, unsigned char *out,
	     size_t outsz)
{
	struct sockaddr_storage src, dst;
	socklen_t sl = sizeof(src), dl = sizeof(dst);

	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	if (getpeername(fd, (struct sockaddr *)&src, &sl) != 0 ||
	    getsockname(fd, (struct sockaddr *)&dst, &dl) != 0)
		return -1;
	if (version == 1)
		return pp_v1(&src, &dst, out, outsz);
	return pp_v2(&src, &dst, sni, alpn, out, outsz);
}

/* query: one DNS message to one chosen server. ldns builds and parses the
 * messages; the sockets are ours, so that every answer -- REFUSED, NOTAUTH
 * with a TSIG error -- reaches the caller with its rcode (the resolver
 * calls of ldns drop some of them). */
#include "dns_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define DNSQ_MAX_UDP 4096
#define DNSQ_MAX_TCP 65535

int dnsq_server_set(struct dnsq_server *s, const char *ip, unsigned port)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&s->sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&s->sa;

	memset(s, 0, sizeof(*s));
	if (port == 0 || port > 65535)
		return -1;
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		s->salen = sizeof(*v4);
		if (port == 53)
			snprintf(s->label, sizeof(s->label), "%s", ip);
		else
			snprintf(s->label, sizeof(s->label), "%s:%u", ip, port);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		s->salen = sizeof(*v6);
		if (port == 53)
			snprintf(s->label, sizeof(s->label), "%s", ip);
		else
			snprintf(s->label, sizeof(s->label), "[%s]:%u", ip, port);
		return 0;
	}
	return -1;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Wait for fd to be ready (events) until deadline. 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, long deadline)
{
	for (;;) {
		long left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int r;
		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		return r > 0 ? 1 : 0;
	}
}

/* UDP: 1 answer in buf (*len), 0 timeout, -1 error (errno). */
static int udp_exchange(const struct dnsq_server *s, const uint8_t *q, size_t qlen, uint16_t id,
			int timeout_ms, uint8_t *buf, size_t *len)
{
	int fd = socket(s->sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	long deadline = now_ms() + timeout_ms;
	int rc = -1;

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&s->sa, s->salen) != 0 || send(fd, q, qlen, 0) != (ssize_t)qlen)
		goto out;
	for (;;) {
		int w = wait_fd(fd, POLLIN, deadline);
		if (w <= 0) {
			rc = w;
			goto out;
		}
		ssize_t n = recv(fd, buf, DNSQ_MAX_UDP, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			goto out; /* ECONNREFUSED: nothing listens there */
		}
		/* an answer to another query (or garbage) is not ours: keep waiting */
		if (n < 12 || ((buf[0] << 8) | buf[1]) != id)
			continue;
		*len = (size_t)n;
		rc = 1;
		goto out;
	}
out:
	if (rc < 0) {
		int e = errno;
		close(fd);
		errno = e;
	} else {
		close(fd);
	}
	return rc;
}

static int io_all(int fd, uint8_t *p, size_t n, bool wr, long deadline)
{
	while (n > 0) {
		int w = wait_fd(fd, wr ? POLLOUT : POLLIN, deadline);
		if (w <= 0) {
			if (w == 0)
				errno = ETIMEDOUT;
			return -1;
		}
		ssize_t r = wr ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ECONNRESET;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* TCP (RFC 1035 §4.2.2: two-byte length prefix). 0 and *out (malloc'd), or -1 (errno). */
static int tcp_exchange(const struct dnsq_server *s, const uint8_t *q, size_t qlen, int timeout_ms,
			uint8_t **out, size_t *len)
{
	int fd = socket(s->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	long deadline = now_ms() + timeout_ms;
	uint8_t hdr[2], *msg = NULL;
	size_t mlen;
	int e;

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&s->sa, s->salen) != 0 && errno != EINPROGRESS)
		goto fail;
	if (wait_fd(fd, POLLOUT, deadline) <= 0) {
		errno = ETIMEDOUT;
		goto fail;
	}
	socklen_t sl = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0 || e != 0) {
		errno = e ? e : errno;
		goto fail;
	}
	msg = malloc(qlen + 2);
	if (msg == NULL)
		goto fail;
	msg[0] = (uint8_t)(qlen >> 8);
	msg[1] = (uint8_t)qlen;
	memcpy(msg + 2, q, qlen);
	if (io_all(fd, msg, qlen + 2, true, deadline) != 0 || io_all(fd, hdr, 2, false, deadline) != 0)
		goto fail;
	free(msg);
	mlen = ((size_t)hdr[0] << 8) | hdr[1];
	msg = malloc(mlen ? mlen : 1);
	if (msg == NULL || io_all(fd, msg, mlen, false, deadline) != 0)
		goto fail;
	close(fd);
	*out = msg;
	*len = mlen;
	return 0;
fail:
	e = errno;
	free(msg);
	close(fd);
	errno = e;
	return -1;
}

int dnsq_send(const struct dnsq_server *s, ldns_pkt *q, int timeout_ms, ldns_pkt **reply,
	      uint8_t **wire, size_t *wire_len, struct gpc_error *err)
{
	uint8_t *qw = NULL, *aw = NULL;
	size_t qlen = 0, alen = 0;
	uint8_t ubuf[DNSQ_MAX_UDP];
	ldns_pkt *a = NULL;
	uint16_t id = ldns_pkt_id(q);
	int rc = -1, r = 0;

	if (timeout_ms <= 0)
		timeout_ms = 1500;
	if (ldns_pkt2wire(&qw, q, &qlen) != LDNS_STATUS_OK)
		return gpc_error_set(err, GPC_E_NOMEM, "cannot encode a DNS message for %s", s->label);
	/* two UDP tries, half the time each */
	for (int t = 0; t < 2; t++) {
		r = udp_exchange(s, qw, qlen, id, timeout_ms / 2 > 200 ? timeout_ms / 2 : 200, ubuf, &alen);
		if (r != 0)
			break;
	}
	if (r == 0) {
		gpc_error_set(err, GPC_E_NETWORK, "DNS server %s did not answer within %d ms", s->label, timeout_ms);
		goto out;
	}
	if (r < 0) {
		gpc_error_set(err, GPC_E_NETWORK, "DNS server %s: %s", s->label, strerror(errno));
		goto out;
	}
	/* RFC 1035 §4.1.1: TC set, ask again over TCP */
	if (alen > 2 && (ubuf[2] & 0x02)) {
		gpc_debug("dns: %s: answer truncated, asking again over TCP", s->label);
		if (tcp_exchange(s, qw, qlen, timeout_ms, &aw, &alen) != 0) {
			gpc_error_set(err, GPC_E_NETWORK, "DNS server %s (TCP): %s", s->label, strerror(errno));
			goto out;
		}
		if (alen < 12 || ((aw[0] << 8) | aw[1]) != id) {
			gpc_error_set(err, GPC_E_INVALID, "DNS server %s (TCP): an answer to another query", s->label);
			goto out;
		}
	} else {
		aw = malloc(alen);
		if (aw == NULL) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
		memcpy(aw, ubuf, alen);
	}
	if (ldns_wire2pkt(&a, aw, alen) != LDNS_STATUS_OK) {
		gpc_error_set(err, GPC_E_INVALID, "DNS server %s sent a message that does not parse", s->label);
		goto out;
	}
	*reply = a;
	a = NULL;
	if (wire != NULL) {
		*wire = aw;
		*wire_len = alen;
		aw = NULL;
	}
	rc = 0;
out:
	if (a)
		ldns_pkt_free(a);
	free(aw);
	LDNS_FREE(qw);
	return rc;
}

int dnsq_query(const struct dnsq_server *s, const char *name, ldns_rr_type type, bool rd,
	       int timeout_ms, ldns_pkt **reply, struct gpc_error *err)
{
	ldns_pkt *q = NULL;
	int rc;

	if (ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, rd ? LDNS_RD : 0) != LDNS_STATUS_OK)
		return gpc_error_set(err, GPC_E_INVALID, "'%s' is not a valid DNS name", name);
	ldns_pkt_set_random_id(q);
	rc = dnsq_send(s, q, timeout_ms, reply, NULL, NULL, err);
	ldns_pkt_free(q);
	return rc;
}

void dnsq_dname(const ldns_rdf *rdf, char *out, size_t outsz)
{
	char *t = ldns_rdf2str(rdf);

	snprintf(out, outsz, "%s", t ? t : "?");
	free(t);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

void dnsq_owner(const ldns_rr *rr, char *out, size_t outsz)
{
	dnsq_dname(ldns_rr_owner(rr), out, outsz);
	size_t n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
}

const char *dnsq_rcode_name(unsigned rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
					     "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
					     "NOTZONE" };

	return rcode < sizeof(names) / sizeof(names[0]) ? names[rcode] : "an unknown rcode";
}

void dnsq_absolute(const char *name, char *out, size_t outsz)
{
	size_t n = strlen(name);

	snprintf(out, outsz, "%s%s", name, (n > 0 && name[n - 1] == '.') ? "" : ".");
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* gpd-tool: small real peers for the goproxyd tests and benchmark.
 *
 *   gpd-tool hold [--tls] [--sni NAME] HOST PORT N
 *       open N connections (TLS handshakes done when --tls), print
 *       "ready OK FAILED" and hold them until stdin reaches end of file.
 *   gpd-tool ppserver PORT
 *       a backend on 127.0.0.1:PORT that reads a PROXY protocol v1/v2 header
 *       and an HTTP request, and answers 200 with what the header said:
 *       "v2 src=ADDR:PORT dst=ADDR:PORT alpn=P authority=NAME".
 *   gpd-tool refused HOST PORT N SUFFIX
 *       N TLS handshakes one after the other, each for its own server name
 *       (K.SUFFIX), the way a scanner tries names; prints "alert A other B":
 *       A ended with the fatal alert unrecognized_name, B any other way.
 *   gpd-tool echo PORT
 *       a backend that answers each request with its whole request bytes
 *       counted: reads until EOF, replies "got N bytes" and closes (half-close
 *       test).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

static int tcp_connect(const char *host, const char *port)
{
	struct addrinfo hints, *res;
	int fd;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int cmd_hold(int argc, char **argv)
{
	const char *sni = NULL;
	gnutls_certificate_credentials_t cred;
	gnutls_session_t *sess;
	bool tls = false;
	int i = 0, ok = 0, failed = 0;
	long n;
	struct rlimit rl;
	char c;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--tls") == 0)
			tls = true;
		else if (strcmp(argv[i], "--sni") == 0 && i + 1 < argc)
			sni = argv[++i];
		i++;
	}
	if (argc - i != 3)
		return 64;
	n = atol(argv[i + 2]);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	sess = calloc((size_t)n, sizeof(*sess));
	if (sess == NULL)
		return 1;
	gnutls_certificate_allocate_credentials(&cred);
	for (long k = 0; k < n; k++) {
		int fd = tcp_connect(argv[i], argv[i + 1]);
		int r;

		if (fd < 0) {
			failed++;
			continue;
		}
		if (!tls) {
			ok++;
			continue;
		}
		gnutls_init(&sess[k], GNUTLS_CLIENT);
		gnutls_set_default_priority(sess[k]);
		gnutls_credentials_set(sess[k], GNUTLS_CRD_CERTIFICATE, cred);
		if (sni != NULL)
			gnutls_server_name_set(sess[k], GNUTLS_NAME_DNS, sni, strlen(sni));
		gnutls_transport_set_int(sess[k], fd);
		do
			r = gnutls_handshake(sess[k]);
		while (r < 0 && !gnutls_error_is_fatal(r));
		if (r < 0) {
			failed++;
			close(fd);
			gnutls_deinit(sess[k]);
			sess[k] = NULL;
			continue;
		}
		ok++;
	}
	printf("ready %d %d\n", ok, failed);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

static int cmd_refused(int argc, char **argv)
{
	gnutls_certificate_credentials_t cred;
	long n, alert = 0, other = 0;
	char name[300];

	if (argc != 4)
		return 64;
	n = atol(argv[2]);
	gnutls_certificate_allocate_credentials(&cred);
	for (long k = 0; k < n; k++) {
		gnutls_session_t s;
		int fd = tcp_connect(argv[0], argv[1]), r;

		if (fd < 0) {
			other++;
			continue;
		}
		snprintf(name, sizeof(name), "%ld.%s", k, argv[3]);
		gnutls_init(&s, GNUTLS_CLIENT);
		gnutls_set_default_priority(s);
		gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
		gnutls_server_name_set(s, GNUTLS_NAME_DNS, name, strlen(name));
		gnutls_transport_set_int(s, fd);
		gnutls_handshake_set_timeout(s, 10000);
		do
			r = gnutls_handshake(s);
		while (r < 0 && !gnutls_error_is_fatal(r));
		if (r == GNUTLS_E_FATAL_ALERT_RECEIVED && gnutls_alert_get(s) == GNUTLS_A_UNRECOGNIZED_NAME)
			alert++;
		else
			other++;
		gnutls_deinit(s);
		close(fd);
	}
	gnutls_certificate_free_credentials(cred);
	printf("alert %ld other %ld\n", alert, other);
	return 0;
}

static int listen_on(const char *port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)atoi(port));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 64) != 0) {
		perror("gpd-tool: bind");
		return -1;
	}
	return fd;
}

static int read_full(int fd, unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void describe_v2(const unsigned char *h, size_t len, unsigned fam, char *out, size_t outsz)
{
	char s[INET6_ADDRSTRLEN] = "?", d[INET6_ADDRSTRLEN] = "?", alpn[256] = "", auth[256] = "";
	unsigned sp = 0, dp = 0;
	size_t off = 0;

	if (fam == 0x11 && len >= 12) {
		inet_ntop(AF_INET, h, s, sizeof(s));
		inet_ntop(AF_INET, h + 4, d, sizeof(d));
		sp = (unsigned)(h[8] << 8 | h[9]);
		dp = (unsigned)(h[10] << 8 | h[11]);
		off = 12;
	} else if (fam == 0x21 && len >= 36) {
		inet_ntop(AF_INET6, h, s, sizeof(s));
		inet_ntop(AF_INET6, h + 16, d, sizeof(d));
		sp = (unsigned)(h[32] << 8 | h[33]);
		dp = (unsigned)(h[34] << 8 | h[35]);
		off = 36;
	}
	while (off + 3 <= len) {
		unsigned t = h[off], l = (unsigned)(h[off + 1] << 8 | h[off + 2]);
		if (off + 3 + l > len || l > 255)
			break;
		if (t == 0x01)
			snprintf(alpn, sizeof(alpn), "%.*s", (int)l, (const char *)h + off + 3);
		if (t == 0x02)
			snprintf(auth, sizeof(auth), "%.*s", (int)l, (const char *)h + off + 3);
		off += 3 + l;
	}
	snprintf(out, outsz, "v2 src=%s:%u dst=%s:%u alpn=%s authority=%s", s, sp, d, dp, alpn,
		 auth);
}

static int cmd_ppserver(int argc, char **argv)
{
	static const unsigned char sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
	int lfd;

	if (argc != 1 || (lfd = listen_on(argv[0])) < 0)
		return 64;
	for (;;) {
		unsigned char h[600];
		char desc[700], resp[1000], req[4096];
		size_t rl = 0;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		snprintf(desc, sizeof(desc), "no PROXY header");
		if (read_full(fd, h, 16) == 0) {
			if (memcmp(h, sig, 12) == 0) {
				size_t len = (size_t)(h[14] << 8 | h[15]);
				if (len <= sizeof(h) - 16 && read_full(fd, h + 16, len) == 0)
					describe_v2(h + 16, len, h[13], desc, sizeof(desc));
			} else if (memcmp(h, "PROXY ", 6) == 0) {
				size_t l = 16;
				while (l < sizeof(h) - 1 && !(l >= 2 && h[l - 2] == '\r' && h[l - 1] == '\n'))
					if (read_full(fd, h + l++, 1) != 0)
						break;
				h[l >= 2 ? l - 2 : l] = '\0';
				snprintf(desc, sizeof(desc), "v1 %s", (char *)h + 6);
			} else {
				memcpy(req, h, 16);
				rl = 16;
			}
		}
		while (rl < sizeof(req) - 1) {
			ssize_t r;
			req[rl] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
			r = read(fd, req + rl, sizeof(req) - 1 - rl);
			if (r <= 0)
				break;
			rl += (size_t)r;
		}
		snprintf(resp, sizeof(resp),
			 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
			 strlen(desc) + 1, desc);
		(void)!write(fd, resp, strlen(resp));
		close(fd);
	}
}

static int cmd_echo(int argc, char **argv)
{
	int lfd;

	if (argc != 1 || (lfd = listen_on(argv[0])) < 0)
		return 64;
	for (;;) {
		char buf[65536], resp[100];
		size_t total = 0;
		ssize_t r;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			total += (size_t)r;
		snprintf(resp, sizeof(resp), "got %zu bytes\n", total);
		(void)!write(fd, resp, strlen(resp));
		close(fd);
	}
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "hold") == 0)
		return cmd_hold(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "ppserver") == 0)
		return cmd_ppserver(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "refused") == 0)
		return cmd_refused(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "echo") == 0)
		return cmd_echo(argc - 2, argv + 2);
	fprintf(stderr, "usage: gpd-tool hold [--tls] [--sni NAME] HOST PORT N | refused HOST PORT N SUFFIX | ppserver PORT | "
			"echo PORT\n");
	return 64;
}

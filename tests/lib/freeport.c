/* freeport [COUNT]: print COUNT (default 1) distinct free TCP ports on
 * 127.0.0.1, one per line, for a test to bind right after.
 *
 * The ports come from outside the kernel's ephemeral range
 * (/proc/sys/net/ipv4/ip_local_port_range): a port from inside it (what
 * bind to port 0 gives) can be taken between this program and the test's
 * bind as the source port of any outgoing connection on the machine -- the
 * tests running next to it make thousands -- and the test's bind then fails
 * with "Address already in use" (seen in CI: proxy/issue-alpn). Each port is
 * picked at random below (or above) that range and kept only if it binds;
 * all stay bound until all are picked, so they differ. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PORTS 64
#define LOW_PORT 10000 /* below: well-known and registered services */
#define MAX_TRIES 2000

/* The ephemeral range; the Linux default when it cannot be read. */
static void ephemeral_range(unsigned *lo, unsigned *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	*lo = 32768, *hi = 60999;
	if (f != NULL) {
		if (fscanf(f, "%u %u", lo, hi) != 2 || *lo > *hi || *hi > 65535)
			*lo = 32768, *hi = 60999;
		fclose(f);
	}
}

/* A random port outside [elo, ehi] and at or above LOW_PORT; 0 if none. */
static unsigned pick(unsigned elo, unsigned ehi)
{
	unsigned below = elo > LOW_PORT ? elo - LOW_PORT : 0;
	unsigned above = ehi < 65535 ? 65535 - ehi : 0;
	unsigned r;

	if (below + above == 0)
		return 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned)rand();
	r %= below + above;
	return r < below ? LOW_PORT + r : ehi + 1 + (r - below);
}

int main(int argc, char **argv)
{
	int fds[MAX_PORTS];
	unsigned ports[MAX_PORTS];
	unsigned elo, ehi;
	long count = 1;
	int i, n, tries = 0, rc = 1;

	if (argc > 2 || (argc == 2 && ((count = strtol(argv[1], NULL, 10)) < 1 || count > MAX_PORTS))) {
		fprintf(stderr, "usage: freeport [COUNT 1..%d]\n", MAX_PORTS);
		return 64;
	}
	n = (int)count;
	ephemeral_range(&elo, &ehi);
	srand((unsigned)getpid());
	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (i = 0; i < n;) {
		struct sockaddr_in sa;
		unsigned p = pick(elo, ehi);

		if (p == 0 || ++tries > MAX_TRIES) {
			fprintf(stderr, "freeport: no free port outside the ephemeral range %u-%u "
					"(/proc/sys/net/ipv4/ip_local_port_range)\n", elo, ehi);
			goto out;
		}
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0) {
			perror("freeport: socket");
			goto out;
		}
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons((unsigned short)p);
		if (bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = errno;

			close(fds[i]);
			fds[i] = -1;
			if (e == EADDRINUSE || e == EACCES)
				continue; /* taken (or reserved): another */
			perror("freeport: bind");
			goto out;
		}
		ports[i++] = p;
	}
	for (i = 0; i < n; i++)
		printf("%u\n", ports[i]);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

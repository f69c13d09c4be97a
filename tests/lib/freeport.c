/* freeport [COUNT]: print COUNT (default 1) distinct free TCP ports on
 * 127.0.0.1, one per line. All sockets are bound (port 0) before any is
 * closed, so the ports differ; the caller binds them right after. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PORTS 64

int main(int argc, char **argv)
{
	int fds[MAX_PORTS];
	unsigned ports[MAX_PORTS];
	long count = 1;
	int i, n, rc = 1;

	if (argc > 2 || (argc == 2 && ((count = strtol(argv[1], NULL, 10)) < 1 || count > MAX_PORTS))) {
		fprintf(stderr, "usage: freeport [COUNT 1..%d]\n", MAX_PORTS);
		return 64;
	}
	n = (int)count;
	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (i = 0; i < n; i++) {
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);

		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0) {
			perror("freeport: socket");
			goto out;
		}
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = 0;
		if (bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    getsockname(fds[i], (struct sockaddr *)&sa, &len) < 0) {
			perror("freeport: bind");
			goto out;
		}
		ports[i] = ntohs(sa.sin_port);
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

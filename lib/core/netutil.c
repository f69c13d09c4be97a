/* netutil: see netutil.h. */
#include "netutil.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

int net_self_connected(int fd)
{
	struct sockaddr_storage self, peer;
	socklen_t sl = sizeof(self), pl = sizeof(peer);

	memset(&self, 0, sizeof(self));
	memset(&peer, 0, sizeof(peer));
	if (getsockname(fd, (struct sockaddr *)&self, &sl) != 0 ||
	    getpeername(fd, (struct sockaddr *)&peer, &pl) != 0 || sl != pl ||
	    self.ss_family != peer.ss_family)
		return 0;
	if (self.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&self, *b = (const void *)&peer;
		return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (self.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&self, *b = (const void *)&peer;
		return a->sin6_port == b->sin6_port &&
		       memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
	}
	return 0;
}

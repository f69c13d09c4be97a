/* netutil: small socket checks shared by goproxyd and the TLS probe. */
#ifndef GPC_NETUTIL_H
#define GPC_NETUTIL_H

/* 1 when the connected TCP socket fd is connected to itself, 0 when not or
 * when either address cannot be read.
 *
 * A connect(2) to a local port in the ephemeral range where nothing listens
 * can pick that same port as its source; the SYN then meets itself, the
 * "simultaneous open" succeeds, and every byte written comes back. Callers
 * treat such a socket as refused (nothing listens there). */
int net_self_connected(int fd);

#endif

/* fuzz-clienthello: the first bytes goproxyd reads from an untrusted client.
 * A real GnuTLS server session (goproxyd's priority string, ALPN list and
 * session tickets) runs its handshake on the fuzzed bytes through push/pull
 * functions, with goproxyd's own post-ClientHello function and credential
 * table (cmd/goproxyd/sni.c: sni_load, sni_client_hello, linked here) built
 * from a real certs directory with a default lineage, an exact name, a
 * wildcard and a tls-alpn-01 challenge certificate; the reference the hook
 * takes is dropped after gnutls_deinit as goproxyd does. The same bytes go
 * through sni_peek_acme, goproxyd's own ClientHello parser for tls-alpn-01.
 *
 * Seeds (corpus/fuzz-clienthello/) are ClientHellos recorded from gnutls-cli
 * and openssl s_client with various SNI/ALPN. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "../../cmd/goproxyd/sni.h"
#include "certstore.h"
#include "fsutil.h"
#include "keygen.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gnutls_priority_t gpd_priority;
static gnutls_datum_t gpd_ticket_key;
static gnutls_datum_t alpn[2] = {
	{ (unsigned char *)"http/1.1", 8 },
	{ (unsigned char *)"acme-tls/1", 10 },
};

/* Same as cmd/goproxyd/main.c PRIORITY. */
#define PRIORITY                                                                          \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:"         \
	"+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:" \
	"-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:%SERVER_PRECEDENCE"

struct feed {
	const uint8_t *data;
	size_t len, off;
};

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "fuzz-clienthello: %s: %s\n", what, msg);
	abort();
}

static void put_pair(const char *dir, const char *certname, const char *keyname,
		     const char *ident)
{
	struct gpc_error err;
	char *cert = NULL, *key = NULL, path[4096];

	gpc_error_clear(&err);
	if (keygen_tlsalpn_cert(ident, "token.thumbprint", &cert, &key, &err) != 0)
		die(ident, err.message);
	if (fs_mkdirs(dir, 0755, 0, &err) != 0)
		die(dir, err.message);
	snprintf(path, sizeof(path), "%s/%s", dir, certname);
	if (fs_write_atomic(path, cert, strlen(cert), 0644, &err) != 0)
		die(path, err.message);
	snprintf(path, sizeof(path), "%s/%s", dir, keyname);
	if (fs_write_atomic(path, key, strlen(key), 0600, &err) != 0)
		die(path, err.message);
	free(cert);
	free(key);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char tmpl[] = "/tmp/fuzz-clienthello.XXXXXX";
	struct certstore *cs = NULL;
	struct gpc_error err;
	char d[4096];

	(void)argc;
	(void)argv;
	gpc_log_set_handler(NULL, NULL, GPC_LOG_ERROR);
	if (mkdtemp(tmpl) == NULL)
		die("mkdtemp", strerror(errno));
	put_pair(tmpl, "cert.crt", "priv.key", "example.org");
	snprintf(d, sizeof(d), "%s/www", tmpl);
	put_pair(d, "cert.crt", "priv.key", "www.example.org");
	snprintf(d, sizeof(d), "%s/wild", tmpl);
	put_pair(d, "cert.crt", "priv.key", "*.example.net");
	snprintf(d, sizeof(d), "%s/.state/challenges/tls-alpn-01", tmpl);
	put_pair(d, "acme.example.org.crt", "acme.example.org.key", "acme.example.org");

	gpc_error_clear(&err);
	if (certstore_open(tmpl, &cs, &err) != 0)
		die(tmpl, err.message);
	if (sni_load(cs) < 3)
		die(tmpl, "sni_load did not load the lineages");
	if (gnutls_priority_init(&gpd_priority, PRIORITY, NULL) < 0)
		die("priority", "init");
	if (gnutls_session_ticket_key_generate(&gpd_ticket_key) < 0)
		die("ticket key", "generate");
	/* The directory stays for the whole run (creds hold the store); the
	 * files are small and under /tmp. */
	return 0;
}

static ssize_t pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	struct feed *f = p;
	size_t n = f->len - f->off;

	if (n == 0)
		return 0; /* EOF: the client went away */
	if (n > len)
		n = len;
	memcpy(buf, f->data + f->off, n);
	f->off += n;
	return (ssize_t)n;
}

static ssize_t push(gnutls_transport_ptr_t p, const void *buf, size_t len)
{
	(void)p;
	(void)buf;
	return (ssize_t)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gnutls_session_t s;
	struct feed f = { data, size, 0 };
	struct gpd_creds *slot = NULL;
	int r, i;

	if (size > 64 * 1024)
		return 0;
	/* goproxyd's own ClientHello peek (run on MSG_PEEK bytes before GnuTLS
	 * sees them): on an exact-size heap copy so ASan catches overreads. */
	{
		unsigned char *copy = malloc(size ? size : 1);
		char sni[256];
		int pr;
		if (copy == NULL)
			return 0;
		memcpy(copy, data, size);
		memset(sni, 'x', sizeof(sni));
		pr = sni_peek_acme(copy, size, sni, sizeof(sni));
		if (pr < -1 || pr > 1 || (pr == 1 && memchr(sni, '\0', sizeof(sni)) == NULL))
			abort();
		free(copy);
	}
	if (gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_SIGNAL) < 0)
		abort();
	(void)gnutls_priority_set(s, gpd_priority);
	(void)gnutls_session_ticket_enable_server(s, &gpd_ticket_key);
	(void)gnutls_alpn_set_protocols(s, alpn, 2, GNUTLS_ALPN_SERVER_PRECEDENCE);
	gnutls_handshake_set_post_client_hello_function(s, sni_client_hello);
	gnutls_session_set_ptr(s, &slot);
	gnutls_transport_set_ptr(s, &f);
	gnutls_transport_set_pull_function(s, pull);
	gnutls_transport_set_push_function(s, push);
	for (i = 0; i < 8; i++) {
		r = gnutls_handshake(s);
		if (r >= 0 || gnutls_error_is_fatal(r))
			break;
	}
	gnutls_deinit(s);
	creds_unref(slot); /* after gnutls_deinit, as goproxyd does */
	return 0;
}

/* sni-handshake CERTS_DIR [SERVERNAME [acme]]: a real GnuTLS server
 * handshake in memory (socketpair) through goproxyd's sni.c alone -- the way
 * the fuzz targets use it: sni_load, sni_client_hello, sni_free. Prints the
 * name of the credentials the server chose ("-" when refused). Exit 0 when
 * the handshake completed, 1 when it was refused. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "certstore.h"
#include "sni.h"

int main(int argc, char **argv)
{
	struct certstore *cs = NULL;
	struct gpc_error err;
	struct gpd_creds *chosen = NULL;
	gnutls_certificate_credentials_t ccred;
	gnutls_session_t srv, cli;
	gnutls_datum_t acme = { (unsigned char *)"acme-tls/1", 10 };
	int sv[2], rs = GNUTLS_E_AGAIN, rc = GNUTLS_E_AGAIN;

	if (argc < 2)
		return 64;
	gpc_error_clear(&err);
	if (certstore_open(argv[1], &cs, &err) != 0 || sni_load(cs) < 0) {
		fprintf(stderr, "sni-handshake: %s\n", err.message);
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 1;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);

	gnutls_init(&srv, GNUTLS_SERVER | GNUTLS_NONBLOCK);
	gnutls_set_default_priority(srv);
	gnutls_alpn_set_protocols(srv, &acme, 1, 0);
	gnutls_session_set_ptr(srv, &chosen);
	gnutls_handshake_set_post_client_hello_function(srv, sni_client_hello);
	gnutls_transport_set_int(srv, sv[0]);

	gnutls_certificate_allocate_credentials(&ccred);
	gnutls_init(&cli, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	gnutls_set_default_priority(cli);
	gnutls_credentials_set(cli, GNUTLS_CRD_CERTIFICATE, ccred);
	if (argc > 2)
		gnutls_server_name_set(cli, GNUTLS_NAME_DNS, argv[2], strlen(argv[2]));
	if (argc > 3)
		gnutls_alpn_set_protocols(cli, &acme, 1, 0);
	gnutls_transport_set_int(cli, sv[1]);

	for (int i = 0; i < 1000 && (rs < 0 || rc < 0); i++) {
		if (rc < 0 && !gnutls_error_is_fatal(rc))
			rc = gnutls_handshake(cli);
		if (rs < 0 && !gnutls_error_is_fatal(rs))
			rs = gnutls_handshake(srv);
		if ((rs < 0 && gnutls_error_is_fatal(rs)) || (rc < 0 && gnutls_error_is_fatal(rc)))
			break;
	}
	printf("%s\n", rs == 0 && chosen != NULL ? chosen->name : "-");
	gnutls_deinit(srv);
	gnutls_deinit(cli);
	creds_unref(chosen);
	gnutls_certificate_free_credentials(ccred);
	sni_free();
	certstore_free(cs);
	close(sv[0]);
	close(sv[1]);
	return rs == 0 ? 0 : 1;
}

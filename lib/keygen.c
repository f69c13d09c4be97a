/* keygen: stub until implemented. */
#include "keygen.h"
#include <stdlib.h>

int keygen_type_parse(const char *s, enum keygen_type *t, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "keygen_type_parse: not implemented yet");
}

const char * keygen_type_name(enum keygen_type t)
{
	return NULL;
}

int keygen_generate(enum keygen_type t, char **pem, size_t *len, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "keygen_generate: not implemented yet");
}

int keygen_load(const char *pem, size_t len, const char *what, gnutls_privkey_t *out, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "keygen_load: not implemented yet");
}

int keygen_pem_type(const char *pem, size_t len, const char *what, enum keygen_type *t, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "keygen_pem_type: not implemented yet");
}

const char * keygen_ident_type(const char *name)
{
	return NULL;
}

int keygen_csr(const char *key_pem, size_t key_len, const char *const *names, size_t n, int der, unsigned char **out, size_t *outlen, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "keygen_csr: not implemented yet");
}

int keygen_tlsalpn_cert(const char *ident, const char *key_authorization, char **cert_pem, char **key_pem, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "keygen_tlsalpn_cert: not implemented yet");
}

/* jws: stub until implemented. */
#include "jws.h"
#include <stdlib.h>

int jws_key_new(gnutls_privkey_t pk, struct jws_key **out, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "jws_key_new: not implemented yet");
}

int jws_key_from_pem(const char *pem, size_t len, const char *what, struct jws_key **out, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "jws_key_from_pem: not implemented yet");
}

void jws_key_free(struct jws_key *k)
{

}

const char * jws_key_alg(const struct jws_key *k)
{
	return NULL;
}

const char * jws_key_jwk(const struct jws_key *k)
{
	return NULL;
}

const char * jws_key_thumbprint(const struct jws_key *k)
{
	return NULL;
}

int jws_sign_raw(const struct jws_key *k, const void *data, size_t len, unsigned char **sig, size_t *siglen, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "jws_sign_raw: not implemented yet");
}

char * jws_build(const struct jws_key *k, const char *kid, const char *nonce, const char *url, const char *payload, struct gpc_error *err)
{
	return NULL;
}

char * jws_eab(const struct jws_key *account, const char *eab_kid, const char *hmac_b64url, const char *url, struct gpc_error *err)
{
	return NULL;
}

int jws_verify(const struct jws_key *k, const char *jws_json, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "jws_verify: not implemented yet");
}

/* acme: stub until implemented. */
#include "acme.h"
#include <stdlib.h>

int acme_problem_parse(const char *json, size_t len, struct acme_problem *p)
{
	return -1;
}

void acme_problem_finish(struct acme_problem *p)
{

}

bool acme_problem_is(const struct acme_problem *p, const char *name)
{
	return false;
}

int acme_problem_to_error(const struct acme_problem *p, const char *step, long http_status, time_t retry_after, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_problem_to_error: not implemented yet");
}

int acme_directory_parse(const char *json, size_t len, const char *url, struct acme_directory *d, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_directory_parse: not implemented yet");
}

void acme_directory_finish(struct acme_directory *d)
{

}

int acme_directory_copy(const struct acme_directory *src, struct acme_directory *dst)
{
	return -1;
}

bool acme_directory_has_profile(const struct acme_directory *d, const char *name)
{
	return false;
}

int acme_client_new(const struct acme_options *o, struct acme_client **out, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_client_new: not implemented yet");
}

void acme_client_free(struct acme_client *c)
{

}

int acme_directory_fetch(struct acme_client *c, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_directory_fetch: not implemented yet");
}

int acme_client_set_directory(struct acme_client *c, const struct acme_directory *d)
{
	return -1;
}

const struct acme_directory * acme_client_directory(const struct acme_client *c)
{
	return NULL;
}

int acme_client_set_account(struct acme_client *c, const char *key_pem, size_t key_len, const char *kid, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_client_set_account: not implemented yet");
}

const char * acme_client_kid(const struct acme_client *c)
{
	return NULL;
}

const struct jws_key * acme_client_key(const struct acme_client *c)
{
	return NULL;
}

const struct acme_problem * acme_last_problem(const struct acme_client *c)
{
	return NULL;
}

void acme_client_stats(const struct acme_client *c, struct http_stats *out)
{

}

int acme_post(struct acme_client *c, const char *url, const char *payload, const char *step, struct http_response *r, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_post: not implemented yet");
}

void acme_account_finish(struct acme_account *a)
{

}

int acme_account_new(struct acme_client *c, const struct acme_account_opts *o, struct acme_account *out, bool *created, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_account_new: not implemented yet");
}

int acme_account_lookup(struct acme_client *c, struct acme_account *out, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_account_lookup: not implemented yet");
}

int acme_account_get(struct acme_client *c, struct acme_account *out, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_account_get: not implemented yet");
}

int acme_account_update(struct acme_client *c, const char *const *contact, size_t n_contact, struct acme_account *out, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_account_update: not implemented yet");
}

int acme_account_rollover(struct acme_client *c, const char *new_key_pem, size_t new_key_len, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_account_rollover: not implemented yet");
}

int acme_account_deactivate(struct acme_client *c, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_account_deactivate: not implemented yet");
}

void acme_order_finish(struct acme_order *o)
{

}

int acme_order_new(struct acme_client *c, const struct acme_order_opts *opt, struct acme_order *o, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_order_new: not implemented yet");
}

int acme_order_refresh(struct acme_client *c, struct acme_order *o, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_order_refresh: not implemented yet");
}

void acme_authz_finish(struct acme_authz *a)
{

}

int acme_authz_get(struct acme_client *c, const char *url, struct acme_authz *a, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_authz_get: not implemented yet");
}

const struct acme_challenge * acme_authz_challenge(const struct acme_authz *a, const char *type)
{
	return NULL;
}

char * acme_key_authorization(const struct acme_client *c, const char *token)
{
	return NULL;
}

char * acme_dns01_txt(const char *key_authorization)
{
	return NULL;
}

char * acme_dns01_name(const char *ident)
{
	return NULL;
}

int acme_challenge_respond(struct acme_client *c, const char *challenge_url, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_challenge_respond: not implemented yet");
}

int acme_authz_poll(struct acme_client *c, struct acme_authz *a, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_authz_poll: not implemented yet");
}

int acme_authz_deactivate(struct acme_client *c, const char *url, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_authz_deactivate: not implemented yet");
}

int acme_order_poll(struct acme_client *c, struct acme_order *o, const char *want, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_order_poll: not implemented yet");
}

int acme_order_finalize(struct acme_client *c, struct acme_order *o, const unsigned char *csr_der, size_t csr_len, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_order_finalize: not implemented yet");
}

int acme_certificate_download(struct acme_client *c, const char *url, const char *preferred_chain, char **pem, size_t *len, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_certificate_download: not implemented yet");
}

int acme_revoke(struct acme_client *c, const unsigned char *cert, size_t cert_len, int reason, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_revoke: not implemented yet");
}

int acme_ari_cert_id(const unsigned char *cert, size_t cert_len, char **id, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_ari_cert_id: not implemented yet");
}

void acme_renewal_info_finish(struct acme_renewal_info *ri)
{

}

int acme_ari_parse(const char *json, size_t len, struct acme_renewal_info *ri, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_ari_parse: not implemented yet");
}

int acme_ari_fetch(struct acme_client *c, const char *cert_id, struct acme_renewal_info *ri, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "acme_ari_fetch: not implemented yet");
}

time_t acme_ari_pick(const struct acme_renewal_info *ri, time_t now)
{
	return 0;
}

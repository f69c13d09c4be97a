/* http: stub until implemented. */
#include "http.h"
#include <stdlib.h>

struct http_share * http_share_new(void)
{
	return NULL;
}

void http_share_free(struct http_share *s)
{

}

int http_client_new(const struct http_options *opt, struct http_client **out, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "http_client_new: not implemented yet");
}

void http_client_free(struct http_client *c)
{

}

void http_response_init(struct http_response *r)
{

}

void http_response_finish(struct http_response *r)
{

}

int http_request(struct http_client *c, const char *method, const char *url, const char *content_type, const void *body, size_t len, struct http_response *r, struct gpc_error *err)
{
	return gpc_error_set(err, GPC_E_INTERNAL, "http_request: not implemented yet");
}

void http_client_stats(const struct http_client *c, struct http_stats *out)
{

}

int http_parse_retry_after(const char *value, time_t now, time_t *out)
{
	return -1;
}

char * http_url_host(const char *url, char *out, size_t outsz)
{
	return NULL;
}

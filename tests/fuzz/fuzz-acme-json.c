/* fuzz-acme-json: what the CA (or anything between it and us) sends back,
 * fed to the parsers lib/acme/acme.c runs on responses: the directory (RFC 8555
 * §7.1.1), problem documents (§6.7, with subproblems), ARI renewalInfo
 * (RFC 9773 §4.2), the Retry-After header (RFC 9110 §10.2.3), base64url
 * (RFC 4648 §5) and JWK thumbprints (RFC 7638). Never a crash; an accepted
 * directory has its required URLs; an accepted ARI window has end > start;
 * a refused directory names its URL.
 *
 * Input: byte 0 selects the parser (mod 9), the rest is the document:
 * 6-8 are the order (§7.1.3), authorization (§7.1.4, challenges §8) and
 * account (§7.1.2) objects, through the same code the network calls use. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme.h"
#include "b64.h"
#include "http.h"
#include "jws.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DIR_URL "https://ca.example/dir"

static void fuzz_directory(const char *s, size_t n)
{
	struct acme_directory d, d2;
	struct gpc_error err;

	memset(&d, 0, sizeof(d));
	gpc_error_clear(&err);
	if (acme_directory_parse(s, n, DIR_URL, &d, &err) != 0) {
		if (err.code == NULL || strstr(err.message, DIR_URL) == NULL)
			abort();
		return;
	}
	if (!d.new_nonce || !d.new_account || !d.new_order || !d.revoke_cert || !d.key_change)
		abort();
	(void)acme_directory_has_profile(&d, "tlsserver");
	for (size_t i = 0; i < d.n_profiles; i++)
		if (!acme_directory_has_profile(&d, d.profiles[i].name))
			abort();
	memset(&d2, 0, sizeof(d2));
	if (acme_directory_copy(&d, &d2) == 0) {
		if (strcmp(d.new_order, d2.new_order) != 0 || d.n_profiles != d2.n_profiles)
			abort();
		acme_directory_finish(&d2);
	}
	acme_directory_finish(&d);
}

static void fuzz_problem(const char *s, size_t n)
{
	struct acme_problem p;
	struct gpc_error err;

	memset(&p, 0, sizeof(p));
	if (acme_problem_parse(s, n, &p) != 0)
		return;
	(void)acme_problem_is(&p, "rateLimited");
	(void)acme_problem_is(&p, "badNonce");
	gpc_error_clear(&err);
	(void)acme_problem_to_error(&p, "newOrder", 429, 1800000000, &err);
	if (err.code == NULL)
		abort();
	gpc_error_clear(&err);
	(void)acme_problem_to_error(&p, "challenge for example.org", 400, 0, &err);
	acme_problem_finish(&p);
}

static void fuzz_ari(const char *s, size_t n)
{
	struct acme_renewal_info ri;
	struct gpc_error err;
	time_t t;

	memset(&ri, 0, sizeof(ri));
	gpc_error_clear(&err);
	if (acme_ari_parse(s, n, &ri, &err) != 0)
		return;
	if (ri.end <= ri.start)
		abort();
	t = acme_ari_pick(&ri, 1800000000);
	if (1800000000 < ri.start && (t < ri.start || t >= ri.end))
		abort();
	acme_renewal_info_finish(&ri);
}

static void fuzz_retry_after(const char *s)
{
	time_t out = 0;

	(void)http_parse_retry_after(s, 1800000000, &out);
}

static void fuzz_b64(const char *s, size_t n)
{
	unsigned char *dec = NULL;
	size_t dl = 0;

	if (b64url_decode(s, n, &dec, &dl) == 0) {
		char *enc = b64url_encode(dec, dl);
		/* decode(encode(x)) == x */
		unsigned char *dec2 = NULL;
		size_t dl2 = 0;
		if (enc == NULL || b64url_decode(enc, strlen(enc), &dec2, &dl2) != 0 || dl2 != dl ||
		    memcmp(dec, dec2, dl) != 0)
			abort();
		free(enc);
		free(dec2);
		free(dec);
	}
}

static void fuzz_jwk(const char *s)
{
	char tp[128];

	(void)jws_thumbprint_of(s, tp, sizeof(tp));
}

static void fuzz_order(const char *s, size_t n)
{
	struct acme_order o;

	if (acme_order_parse(s, n, "https://ca.example/order/1", &o) != 0)
		return;
	for (size_t i = 0; i < o.n_authorizations; i++)
		if (o.authorizations[i] == NULL)
			abort();
	acme_order_finish(&o);
}

static void fuzz_authz(const char *s, size_t n)
{
	struct acme_authz a;

	if (acme_authz_parse(s, n, "https://ca.example/authz/1", &a) != 0)
		return;
	if (a.n_challenges > 0 && a.challenges == NULL)
		abort();
	acme_authz_finish(&a);
}

static void fuzz_account(const char *s, size_t n)
{
	struct acme_account a;

	if (acme_account_parse(s, n, "https://ca.example/acct/1", &a) != 0)
		return;
	acme_account_finish(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	size_t n;

	if (size < 1 || size > 256 * 1024)
		return 0;
	gpc_log_set_handler(NULL, NULL, GPC_LOG_ERROR);
	n = size - 1;
	s = malloc(n + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, n);
	s[n] = '\0';
	switch (data[0] % 9) {
	case 0: fuzz_directory(s, n); break;
	case 1: fuzz_problem(s, n); break;
	case 2: fuzz_ari(s, n); break;
	case 3: fuzz_retry_after(s); break;
	case 4: fuzz_b64(s, n); break;
	case 6: fuzz_order(s, n); break;
	case 7: fuzz_authz(s, n); break;
	case 8: fuzz_account(s, n); break;
	default: fuzz_jwk(s); break;
	}
	free(s);
	return 0;
}

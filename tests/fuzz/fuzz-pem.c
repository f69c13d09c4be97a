/* fuzz-pem: what `check`, `status`, `issue` and goproxyd do with the bytes of
 * cert.crt and priv.key -- which may be anything: truncated by a crash of
 * another tool, DER, a key in the certificate file, garbage. Parsing must
 * never crash, refusals must carry an error code and name the file, and the
 * key material must never appear in a message.
 *
 * Input: bytes 0-1 = length L of the certificate file (little endian, clamped),
 * then L bytes of certificate file, then the key file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy.h"
#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define B64 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

static void check_err(const struct gpc_error *err, const char *path)
{
	if (err->code == NULL || strstr(err->message, path) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gpc_error err;
	struct x509_chain *chain = NULL;
	struct x509_key *key = NULL;
	bool has_key = false;
	size_t split, clen, klen;
	const char *cpem, *kpem;

	if (size < 2 || size > 512 * 1024)
		return 0;
	gpc_log_set_handler(NULL, NULL, GPC_LOG_ERROR);
	split = (size_t)data[0] | (size_t)data[1] << 8;
	if (split > size - 2)
		split = size - 2;
	cpem = (const char *)data + 2;
	clen = split;
	kpem = cpem + split;
	klen = size - 2 - split;

	gpc_error_clear(&err);
	if (x509_chain_parse("certs/cert.crt", cpem, clen, &chain, &has_key, &err) != 0) {
		check_err(&err, "certs/cert.crt");
	} else {
		size_t n = x509_chain_length(chain);
		if (n < 1 || x509_chain_info(chain, n) != NULL || x509_chain_crt(chain, n) != NULL)
			abort();
		for (size_t i = 0; i < n; i++) {
			const struct x509_info *in = x509_chain_info(chain, i);
			struct policy_result pr;
			char norm[512];
			if (in == NULL || x509_chain_crt(chain, i) == NULL)
				abort();
			for (size_t j = 0; j < in->n_names; j++)
				(void)x509_name_normalize(in->names[j], norm, sizeof(norm));
			(void)x509_names_equal((const char *const *)in->names, in->n_names,
					       (const char *const *)in->names, in->n_names, NULL, NULL);
			policy_due(in->not_before, in->not_after, 1800000000, -1, 0, &pr);
			policy_due(in->not_before, in->not_after, 1800000000, 30, 0, &pr);
		}
		gpc_error_clear(&err);
		if (x509_chain_check_order(chain, "certs/cert.crt", &err) != 0)
			check_err(&err, "certs/cert.crt");
	}

	gpc_error_clear(&err);
	if (x509_key_parse("certs/priv.key", kpem, klen, &key, &err) != 0) {
		check_err(&err, "certs/priv.key");
		/* The message may name the file, never echo key bytes: a refused
		 * key block must not leak into err->message or err->hint. */
		if (klen >= 32) {
			const char *b = memmem(kpem, klen, "-----BEGIN", 10);
			if (b != NULL) {
				const char *e = memchr(b, '\n', (size_t)(kpem + klen - b));
				if (e != NULL && (size_t)(kpem + klen - e) > 41) {
					char probe[41];
					memcpy(probe, e + 1, 40);
					probe[40] = '\0';
					/* only a run of 40 base64 characters is key material */
					if (strspn(probe, B64) == 40 &&
					    (strstr(err.message, probe) || strstr(err.hint, probe)))
						abort();
				}
			}
		}
	} else {
		if (x509_key_type(key) == NULL || x509_key_gnutls(key) == NULL)
			abort();
		if (chain != NULL)
			(void)x509_key_matches(key, chain);
	}
	x509_key_free(key);
	x509_chain_free(chain);
	return 0;
}

/* x509: parse certificate chains and private keys with GnuTLS, offline. */
#include "x509.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>

struct x509_chain {
	gnutls_x509_crt_t *crts; /* from gnutls_x509_crt_list_import2 */
	unsigned n;
	struct x509_info *info;
};

struct x509_key {
	gnutls_x509_privkey_t key;
	char type[X509_KEY_TYPE];
	unsigned char id[64]; /* SHA-256 key ID of the public half */
	size_t id_len;
};

#define PEM_BEGIN_CERT "-----BEGIN CERTIFICATE-----"
#define PEM_END_CERT "-----END CERTIFICATE-----"

static size_t count_str(const char *hay, size_t len, const char *needle)
{
	size_t n = 0, nl = strlen(needle);
	const char *p = hay, *end = hay + len;

	while (p < end) {
		const char *f = memmem(p, (size_t)(end - p), needle, nl);
		if (f == NULL)
			break;
		n++;
		p = f + nl;
	}
	return n;
}

static bool has_str(const char *hay, size_t len, const char *needle)
{
	return memmem(hay, len, needle, strlen(needle)) != NULL;
}

static bool all_space(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)p[i]))
			return false;
	return true;
}

/* A private key PEM block of any of the usual kinds. */
static bool has_key_block(const char *p, size_t len)
{
	return has_str(p, len, "-----BEGIN PRIVATE KEY-----") ||
	       has_str(p, len, "-----BEGIN RSA PRIVATE KEY-----") ||
	       has_str(p, len, "-----BEGIN EC PRIVATE KEY-----") ||
	       has_str(p, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
	       has_str(p, len, "-----BEGIN OPENSSH PRIVATE KEY-----");
}

/* DER starts with a SEQUENCE tag; PEM never does. */
static bool looks_der(const char *p, size_t len)
{
	return len >= 2 && (unsigned char)p[0] == 0x30 && !has_str(p, len, "-----BEGIN");
}

static void hex(const unsigned char *in, size_t n, char *out, size_t outsz)
{
	static const char digits[] = "0123456789abcdef";
	size_t j = 0;

	for (size_t i = 0; i < n && j + 2 < outsz; i++) {
		out[j++] = digits[in[i] >> 4];
		out[j++] = digits[in[i] & 15];
	}
	out[j] = '\0';
}

const char *x509_key_type_name(gnutls_pk_algorithm_t pk, unsigned bits, char *out, size_t outsz)
{
	switch (pk) {
	case GNUTLS_PK_RSA:
		snprintf(out, outsz, "rsa%u", bits);
		break;
	case GNUTLS_PK_RSA_PSS:
		snprintf(out, outsz, "rsapss%u", bits);
		break;
	case GNUTLS_PK_ECDSA:
		/* GnuTLS reports the curve size in whole bytes: P-521 shows as 528 */
		snprintf(out, outsz, "ec%u", bits > 384 && bits <= 528 ? 521u : bits);
		break;
	case GNUTLS_PK_EDDSA_ED25519:
		snprintf(out, outsz, "ed25519");
		break;
	case GNUTLS_PK_EDDSA_ED448:
		snprintf(out, outsz, "ed448");
		break;
	default:
		snprintf(out, outsz, "unknown");
		break;
	}
	return out;
}

static char *dup_datum(gnutls_datum_t *d)
{
	char *s = malloc(d->size + 1);

	if (s != NULL) {
		memcpy(s, d->data, d->size);
		s[d->size] = '\0';
	}
	gnutls_free(d->data);
	d->data = NULL;
	return s;
}

static int push_name(struct x509_info *in, const char *name)
{
	char **p = realloc(in->names, (in->n_names + 1) * sizeof(*p));

	if (p == NULL)
		return -1;
	in->names = p;
	if ((p[in->n_names] = strdup(name)) == NULL)
		return -1;
	in->n_names++;
	return 0;
}

static void info_finish(struct x509_info *in)
{
	for (size_t i = 0; i < in->n_names; i++)
		free(in->names[i]);
	free(in->names);
	free(in->subject);
	free(in->issuer);
	free(in->issuer_cn);
	memset(in, 0, sizeof(*in));
}

/* Names: SAN DNS and IP entries; the CN only when there is no SAN. */
static int fill_names(gnutls_x509_crt_t crt, struct x509_info *in)
{
	char buf[1024];
	bool any_san = false;

	for (unsigned seq = 0;; seq++) {
		size_t size = sizeof(buf) - 1;
		int ret = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf, &size, NULL);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		any_san = true;
		if (ret < 0)
			continue; /* an entry too long for any DNS name: skip it */
		if (ret == GNUTLS_SAN_DNSNAME) {
			buf[size] = '\0';
			if (push_name(in, buf) != 0)
				return -1;
		} else if (ret == GNUTLS_SAN_IPADDRESS && (size == 4 || size == 16)) {
			char ip[INET6_ADDRSTRLEN];
			if (inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, ip, sizeof(ip)) != NULL &&
			    push_name(in, ip) != 0)
				return -1;
		}
	}
	if (!any_san) {
		size_t size = sizeof(buf);
		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf,
						  &size) == 0) {
			if (push_name(in, buf) != 0)
				return -1;
			in->names_from_cn = true;
		}
	}
	return 0;
}

static int fill_info(gnutls_x509_crt_t crt, bool leaf, struct x509_info *in)
{
	gnutls_datum_t d = { NULL, 0 };
	unsigned char raw[64];
	char cn[512];
	size_t size;
	unsigned bits = 0, ca = 0;
	int pk;

	in->not_before = gnutls_x509_crt_get_activation_time(crt);
	in->not_after = gnutls_x509_crt_get_expiration_time(crt);
	if (gnutls_x509_crt_get_dn3(crt, &d, 0) >= 0) {
		if ((in->subject = dup_datum(&d)) == NULL)
			return -1;
	}
	if (gnutls_x509_crt_get_issuer_dn3(crt, &d, 0) >= 0) {
		if ((in->issuer = dup_datum(&d)) == NULL)
			return -1;
	}
	size = sizeof(cn);
	if (gnutls_x509_crt_get_issuer_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn,
						 &size) == 0) {
		if ((in->issuer_cn = strdup(cn)) == NULL)
			return -1;
	}
	size = sizeof(raw);
	if (gnutls_x509_crt_get_serial(crt, raw, &size) >= 0)
		hex(raw, size, in->serial, sizeof(in->serial));
	pk = gnutls_x509_crt_get_pk_algorithm(crt, &bits);
	x509_key_type_name((gnutls_pk_algorithm_t)(pk < 0 ? 0 : pk), bits, in->key_type,
			   sizeof(in->key_type));
	size = sizeof(raw);
	if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, raw, &size) >= 0)
		hex(raw, size, in->fingerprint_sha256, sizeof(in->fingerprint_sha256));
	if (gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, NULL) >= 0)
		in->is_ca = ca != 0;
	in->self_signed = gnutls_x509_crt_check_issuer(crt, crt) != 0;
	/* Names matter for the leaf; issuers are described by their DN. */
	if (leaf && fill_names(crt, in) != 0)
		return -1;
	return 0;
}

void x509_chain_free(struct x509_chain *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->n; i++) {
		if (c->info != NULL)
			info_finish(&c->info[i]);
		gnutls_x509_crt_deinit(c->crts[i]);
	}
	gnutls_free(c->crts);
	free(c->info);
	free(c);
}

int x509_chain_parse(const char *path, const char *pem, size_t len, struct x509_chain **out,
		     bool *has_key, struct gpc_error *err)
{
	struct x509_chain *c = NULL;
	gnutls_datum_t d;
	size_t begins, ends;
	int ret, rc = -1;

	*out = NULL;
	if (has_key != NULL)
		*has_key = has_key_block(pem, len);

	/* Classify what is in the file before asking GnuTLS, so the message
	 * says what the user did rather than "base64 decoding error". */
	if (len == 0 || all_space(pem, len)) {
		gpc_error_set(err, X509_E_EMPTY, "%s: empty file", path);
		gpc_error_hint(err, "an interrupted write or a full disk leaves an empty file; "
				    "restore the certificate (the previous one is kept in .state/archive/) "
				    "or get a new one with 'goproxy-cert issue --force'");
		return -1;
	}
	begins = count_str(pem, len, PEM_BEGIN_CERT);
	ends = count_str(pem, len, PEM_END_CERT);
	if (begins == 0) {
		if (has_key_block(pem, len)) {
			gpc_error_set(err, X509_E_KEY_IN_CERT,
				      "%s: holds a private key, not a certificate", path);
			gpc_error_hint(err, "cert.crt and priv.key look swapped: cert.crt must hold the "
					    "PEM certificate chain (-----BEGIN CERTIFICATE-----), priv.key the key");
		} else if (looks_der(pem, len)) {
			gpc_error_set(err, X509_E_DER, "%s: binary DER data, not PEM", path);
			gpc_error_hint(err, "convert it: openssl x509 -inform DER -in %s -out %s.pem, "
					    "then append the intermediate certificates and move it in place",
				       path, path);
		} else {
			gpc_error_set(err, X509_E_NOT_PEM,
				      "%s: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file",
				      path);
			gpc_error_hint(err, "%s must hold a PEM certificate chain, leaf first; replace it "
					    "with the certificate your CA issued", path);
		}
		return -1;
	}
	if (ends < begins) {
		gpc_error_set(err, X509_E_TRUNCATED,
			      "%s: truncated PEM: %zu BEGIN CERTIFICATE line%s but %zu END line%s",
			      path, begins, begins == 1 ? "" : "s", ends, ends == 1 ? "" : "s");
		gpc_error_hint(err, "the file was cut off (interrupted copy or full disk); restore it "
				    "or get a new certificate with 'goproxy-cert issue --force'");
		return -1;
	}

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto nomem;
	d.data = (unsigned char *)(uintptr_t)pem;
	d.size = (unsigned)len;
	ret = gnutls_x509_crt_list_import2(&c->crts, &c->n, &d, GNUTLS_X509_FMT_PEM, 0);
	if (ret < 0 || c->n == 0) {
		c->n = 0;
		gpc_error_set(err, X509_E_TRUNCATED, "%s: a PEM certificate block does not decode: %s",
			      path, ret < 0 ? gnutls_strerror(ret) : "no certificate");
		gpc_error_hint(err, "the file is damaged (edited, cut off or mixed up); restore it or "
				    "get a new certificate with 'goproxy-cert issue --force'");
		goto out;
	}
	c->info = calloc(c->n, sizeof(*c->info));
	if (c->info == NULL)
		goto nomem;
	for (unsigned i = 0; i < c->n; i++)
		if (fill_info(c->crts[i], i == 0, &c->info[i]) != 0)
			goto nomem;
	*out = c;
	c = NULL;
	rc = 0;
	goto out;
nomem:
	gpc_error_set(err, GPC_E_NOMEM, "%s: out of memory while parsing", path);
out:
	x509_chain_free(c);
	return rc;
}

size_t x509_chain_length(const struct x509_chain *c)
{
	return c->n;
}

const struct x509_info *x509_chain_info(const struct x509_chain *c, size_t i)
{
	return i < c->n ? &c->info[i] : NULL;
}

gnutls_x509_crt_t x509_chain_crt(const struct x509_chain *c, size_t i)
{
	return i < c->n ? c->crts[i] : NULL;
}

static const char *dn_or(const char *dn)
{
	return dn != NULL && *dn != '\0' ? dn : "(empty DN)";
}

int x509_chain_check_order(const struct x509_chain *c, const char *path, struct gpc_error *err)
{
	for (unsigned i = 0; i + 1 < c->n; i++) {
		unsigned char aki[128], ski[128];
		size_t akl = sizeof(aki), skl = sizeof(ski);
		bool linked = gnutls_x509_crt_check_issuer(c->crts[i], c->crts[i + 1]) != 0;

		if (linked &&
		    gnutls_x509_crt_get_authority_key_id(c->crts[i], aki, &akl, NULL) >= 0 &&
		    gnutls_x509_crt_get_subject_key_id(c->crts[i + 1], ski, &skl, NULL) >= 0 &&
		    (akl != skl || memcmp(aki, ski, akl) != 0))
			linked = false;
		if (linked)
			continue;
		gpc_error_set(err, X509_E_CHAIN_ORDER,
			      "%s: chain out of order: certificate %u (%s, issued by %s) is followed by "
			      "certificate %u (%s), which is not its issuer",
			      path, i + 1, dn_or(c->info[i].subject), dn_or(c->info[i].issuer), i + 2,
			      dn_or(c->info[i + 1].subject));
		if (i == 0 && c->info[0].is_ca)
			gpc_error_hint(err, "the first certificate must be the leaf (the site's own "
					    "certificate), then each issuer in turn; reorder the PEM blocks");
		else
			gpc_error_hint(err, "put the PEM blocks in order: leaf first, then the certificate "
					    "that issued it, then its issuer; drop certificates that "
					    "belong to another chain");
		return -1;
	}
	return 0;
}

void x509_key_free(struct x509_key *k)
{
	if (k == NULL)
		return;
	if (k->key != NULL)
		gnutls_x509_privkey_deinit(k->key);
	free(k);
}

int x509_key_parse(const char *path, const char *pem, size_t len, struct x509_key **out,
		   struct gpc_error *err)
{
	struct x509_key *k = NULL;
	gnutls_datum_t d;
	unsigned bits = 0;
	int ret, pk, rc = -1;

	*out = NULL;
	if (len == 0 || all_space(pem, len)) {
		gpc_error_set(err, X509_E_EMPTY, "%s: empty file", path);
		gpc_error_hint(err, "the private key is gone; restore it (the previous pair is kept in "
				    ".state/archive/) or get a new pair with 'goproxy-cert issue --force'");
		return -1;
	}
	if (!has_key_block(pem, len)) {
		if (has_str(pem, len, PEM_BEGIN_CERT)) {
			gpc_error_set(err, X509_E_CERT_IN_KEY,
				      "%s: holds a certificate, not a private key", path);
			gpc_error_hint(err, "cert.crt and priv.key look swapped: priv.key must hold the PEM "
					    "private key (-----BEGIN PRIVATE KEY-----)");
		} else if (looks_der(pem, len)) {
			gpc_error_set(err, X509_E_DER, "%s: binary DER data, not a PEM key", path);
			gpc_error_hint(err, "convert it: openssl pkey -inform DER -in %s -out %s.pem, "
					    "then move it in place with mode 0600", path, path);
		} else {
			gpc_error_set(err, X509_E_NOT_PEM,
				      "%s: no PEM private key (-----BEGIN PRIVATE KEY-----) in the file",
				      path);
			gpc_error_hint(err, "%s must hold the PEM private key of cert.crt; restore it or "
					    "get a new pair with 'goproxy-cert issue --force'", path);
		}
		return -1;
	}
	if (has_str(pem, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
		gpc_error_set(err, X509_E_ENCRYPTED, "%s: the private key is encrypted", path);
		gpc_error_hint(err, "a TLS server cannot ask for a password; store it unencrypted "
				    "with mode 0600: openssl pkey -in %s -out %s.new", path, path);
		return -1;
	}
	if (count_str(pem, len, "-----END ") < count_str(pem, len, "-----BEGIN ")) {
		gpc_error_set(err, X509_E_TRUNCATED, "%s: truncated PEM: a BEGIN line has no END line",
			      path);
		gpc_error_hint(err, "the key file was cut off; restore it (the previous pair is kept in "
				    ".state/archive/) or get a new pair with 'goproxy-cert issue --force'");
		return -1;
	}

	k = calloc(1, sizeof(*k));
	if (k == NULL || gnutls_x509_privkey_init(&k->key) < 0) {
		gpc_error_set(err, GPC_E_NOMEM, "%s: out of memory while parsing", path);
		goto out;
	}
	d.data = (unsigned char *)(uintptr_t)pem;
	d.size = (unsigned)len;
	ret = gnutls_x509_privkey_import2(k->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (ret < 0) {
		/* never quote the key material, only GnuTLS's reason */
		gpc_error_set(err, X509_E_TRUNCATED, "%s: the private key does not decode: %s", path,
			      gnutls_strerror(ret));
		gpc_error_hint(err, "the key file is damaged; restore it or get a new pair with "
				    "'goproxy-cert issue --force'");
		goto out;
	}
	pk = gnutls_x509_privkey_get_pk_algorithm2(k->key, &bits);
	x509_key_type_name((gnutls_pk_algorithm_t)(pk < 0 ? 0 : pk), bits, k->type, sizeof(k->type));
	k->id_len = sizeof(k->id);
	if (gnutls_x509_privkey_get_key_id(k->key, GNUTLS_KEYID_USE_SHA256, k->id, &k->id_len) < 0)
		k->id_len = 0;
	*out = k;
	k = NULL;
	rc = 0;
out:
	x509_key_free(k);
	return rc;
}

const char *x509_key_type(const struct x509_key *k)
{
	return k->type;
}

gnutls_x509_privkey_t x509_key_gnutls(const struct x509_key *k)
{
	return k->key;
}

bool x509_key_matches(const struct x509_key *k, const struct x509_chain *c)
{
	unsigned char id[64];
	size_t len = sizeof(id);

	if (k->id_len == 0 || c->n == 0)
		return false;
	if (gnutls_x509_crt_get_key_id(c->crts[0], GNUTLS_KEYID_USE_SHA256, id, &len) < 0)
		return false;
	return len == k->id_len && memcmp(id, k->id, len) == 0;
}

int x509_key_find(const struct x509_key *k, const struct x509_chain *c)
{
	for (unsigned i = 0; i < c->n && k->id_len > 0; i++) {
		unsigned char id[64];
		size_t len = sizeof(id);
		if (gnutls_x509_crt_get_key_id(c->crts[i], GNUTLS_KEYID_USE_SHA256, id, &len) >= 0 &&
		    len == k->id_len && memcmp(id, k->id, len) == 0)
			return (int)i;
	}
	return -1;
}

int x509_name_normalize(const char *name, char *out, size_t outsz)
{
	size_t n = strlen(name);
	unsigned char addr[16];

	if (n == 0 || n >= outsz)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[n] = '\0';
	if (n > 1 && out[n - 1] == '.')
		out[--n] = '\0';
	if (inet_pton(AF_INET, out, addr) == 1)
		return inet_ntop(AF_INET, addr, out, (socklen_t)outsz) ? 0 : -1;
	if (inet_pton(AF_INET6, out, addr) == 1)
		return inet_ntop(AF_INET6, addr, out, (socklen_t)outsz) ? 0 : -1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Normalised, sorted, de-duplicated copy of a name list (NULL entries and
 * empty names dropped). Returns the count, or (size_t)-1 on ENOMEM. */
static size_t norm_set(const char *const *v, size_t n, char ***out)
{
	char **s = calloc(n ? n : 1, sizeof(*s));
	size_t m = 0, u = 0;

	*out = s;
	if (s == NULL)
		return (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		char tmp[1024];
		if (v[i] == NULL || x509_name_normalize(v[i], tmp, sizeof(tmp)) != 0)
			continue;
		if ((s[m] = strdup(tmp)) == NULL)
			return (size_t)-1;
		m++;
	}
	qsort(s, m, sizeof(*s), cmp_str);
	for (size_t i = 0; i < m; i++) {
		if (u > 0 && strcmp(s[u - 1], s[i]) == 0) {
			free(s[i]);
			continue;
		}
		s[u++] = s[i];
	}
	return u;
}

static void add_list(struct buf *b, const char *name)
{
	if (b == NULL)
		return;
	if ((b->len > 0 && buf_adds(b, ", ") != 0) || buf_adds(b, name) != 0)
		return; /* a message list cut short is acceptable */
}

bool x509_names_equal(const char *const *a, size_t na, const char *const *b, size_t nb,
		      struct buf *only_a, struct buf *only_b)
{
	char **sa = NULL, **sb = NULL;
	size_t ua, ub, i = 0, j = 0;
	bool equal = true;

	ua = norm_set(a, na, &sa);
	ub = norm_set(b, nb, &sb);
	if (ua == (size_t)-1 || ub == (size_t)-1) {
		equal = false;
		ua = ua == (size_t)-1 ? 0 : ua;
		ub = ub == (size_t)-1 ? 0 : ub;
		goto out;
	}
	while (i < ua || j < ub) {
		int c = i >= ua ? 1 : j >= ub ? -1 : strcmp(sa[i], sb[j]);
		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			add_list(only_a, sa[i++]);
			equal = false;
		} else {
			add_list(only_b, sb[j++]);
			equal = false;
		}
	}
out:
	/* norm_set may have failed part way: free what it made */
	if (sa != NULL)
		for (i = 0; i < ua; i++)
			free(sa[i]);
	if (sb != NULL)
		for (j = 0; j < ub; j++)
			free(sb[j]);
	free(sa);
	free(sb);
	return equal;
}

/* x509: parse certificate chains and private keys with GnuTLS, offline. */
#include "x509.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509-ext.h>

/* What chaining needs from one certificate (RFC 5280 §4.1.2.4 names,
 * §4.2.1.1/§4.2.1.2 key identifiers), as raw DER bytes. One allocation. */
struct link_facts {
	unsigned char *dn, *issuer_dn, *ski, *aki; /* point into the same block */
	size_t dn_len, issuer_dn_len, ski_len, aki_len; /* 0: absent */
	bool is_ca;
	time_t not_before, not_after;
};

struct x509_chain {
	gnutls_x509_crt_t *crts;    /* NULL for an issuer certificate taken from the
				     * cache until x509_chain_crt asks for it */
	char **blocks;              /* PEM text of each issuer certificate (i > 0) */
	size_t *block_lens;
	struct link_facts **facts;
	unsigned n;
	struct x509_info *info;
};

/* Issuer certificates seen before in this process, keyed by their PEM text:
 * 10,000 lineages from one CA share one intermediate, and decoding it is
 * most of the cost of a chain. Entries are immutable and never evicted (at
 * most CACHE_MAX); lookups are under a mutex (renew runs threads). */
#define CACHE_MAX 64
struct cache_entry {
	uint64_t hash;
	char *block;
	size_t len;
	struct link_facts *facts;
};
static struct cache_entry cache[CACHE_MAX];
static size_t cache_n;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

struct x509_key {
	gnutls_x509_privkey_t key;
	char type[X509_KEY_TYPE];
	int pk;               /* gnutls_pk_algorithm_t */
	int curve;            /* gnutls_ecc_curve_t for EC and EdDSA keys */
	gnutls_datum_t pub1;  /* the public half: EC x / EdDSA point / RSA modulus */
	gnutls_datum_t pub2;  /* EC y / RSA exponent */
	unsigned char id[64]; /* SHA-256 key ID of the public half, when made */
	size_t id_len;
	bool id_done;
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

/* DER starts with a SEQUENCE tag and carries binary bytes (lengths, INTEGER
 * and OID tags: bytes below 0x09). Text never does: base64 or other text that
 * merely starts with '0' (0x30) is not DER. */
static bool looks_der(const char *p, size_t len)
{
	const unsigned char *u = (const unsigned char *)p;

	if (len < 2 || u[0] != 0x30 || has_str(p, len, "-----BEGIN"))
		return false;
	for (size_t i = 1; i < len; i++)
		if (u[i] < 0x09)
			return true;
	return false;
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

static struct link_facts *facts_make(const gnutls_datum_t *dn, const gnutls_datum_t *idn,
				     const unsigned char *ski, size_t ski_len,
				     const unsigned char *aki, size_t aki_len)
{
	struct link_facts *f = malloc(sizeof(*f) + dn->size + idn->size + ski_len + aki_len + 1);
	unsigned char *p;

	if (f == NULL)
		return NULL;
	memset(f, 0, sizeof(*f));
	p = (unsigned char *)(f + 1);
	f->dn = p;
	f->dn_len = dn->size;
	if (dn->size)
		memcpy(p, dn->data, dn->size);
	p += dn->size;
	f->issuer_dn = p;
	f->issuer_dn_len = idn->size;
	if (idn->size)
		memcpy(p, idn->data, idn->size);
	p += idn->size;
	f->ski = p;
	f->ski_len = ski_len;
	if (ski_len)
		memcpy(p, ski, ski_len);
	p += ski_len;
	f->aki = p;
	f->aki_len = aki_len;
	if (aki_len)
		memcpy(p, aki, aki_len);
	return f;
}

static struct link_facts *facts_copy(const struct link_facts *src)
{
	gnutls_datum_t dn = { src->dn, (unsigned)src->dn_len };
	gnutls_datum_t idn = { src->issuer_dn, (unsigned)src->issuer_dn_len };
	struct link_facts *f = facts_make(&dn, &idn, src->ski, src->ski_len, src->aki, src->aki_len);

	if (f != NULL) {
		f->is_ca = src->is_ca;
		f->not_before = src->not_before;
		f->not_after = src->not_after;
	}
	return f;
}

/* Chaining facts of `crt`; the leaf needs no subject key identifier. */
static struct link_facts *facts_of(gnutls_x509_crt_t crt, bool want_ski)
{
	gnutls_datum_t dn = { NULL, 0 }, idn = { NULL, 0 };
	unsigned char ski[128], aki[128];
	size_t skl = sizeof(ski), akl = sizeof(aki);
	unsigned ca = 0;
	struct link_facts *f;

	if (gnutls_x509_crt_get_raw_dn(crt, &dn) < 0)
		dn.size = 0;
	if (gnutls_x509_crt_get_raw_issuer_dn(crt, &idn) < 0)
		idn.size = 0;
	if (!want_ski || gnutls_x509_crt_get_subject_key_id(crt, ski, &skl, NULL) < 0)
		skl = 0;
	if (gnutls_x509_crt_get_authority_key_id(crt, aki, &akl, NULL) < 0)
		akl = 0;
	f = facts_make(&dn, &idn, ski, skl, aki, akl);
	gnutls_free(dn.data);
	gnutls_free(idn.data);
	if (f == NULL)
		return NULL;
	if (gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, NULL) >= 0)
		f->is_ca = ca != 0;
	f->not_before = gnutls_x509_crt_get_activation_time(crt);
	f->not_after = gnutls_x509_crt_get_expiration_time(crt);
	return f;
}

/* FNV-1a: a cheap key for the cache (collisions are resolved by memcmp). */
static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* A copy of the cached facts for this PEM block, or NULL on a miss. */
static struct link_facts *cache_get(const char *block, size_t len, uint64_t h)
{
	struct link_facts *f = NULL;

	pthread_mutex_lock(&cache_mu);
	for (size_t i = 0; i < cache_n; i++) {
		if (cache[i].hash == h && cache[i].len == len && memcmp(cache[i].block, block, len) == 0) {
			f = facts_copy(cache[i].facts);
			break;
		}
	}
	pthread_mutex_unlock(&cache_mu);
	return f;
}

static void cache_put(const char *block, size_t len, uint64_t h, const struct link_facts *f)
{
	char *b;
	struct link_facts *copy;

	pthread_mutex_lock(&cache_mu);
	if (cache_n < CACHE_MAX && (b = malloc(len)) != NULL) {
		if ((copy = facts_copy(f)) == NULL) {
			free(b);
		} else {
			memcpy(b, block, len);
			cache[cache_n].hash = h;
			cache[cache_n].block = b;
			cache[cache_n].len = len;
			cache[cache_n].facts = copy;
			cache_n++;
		}
	}
	pthread_mutex_unlock(&cache_mu);
}

/* One DER TLV (X.690 §8.1) at p with n bytes left: *tag, *val, *vlen.
 * Returns the bytes it spans, or 0 if malformed. Low tag numbers only. */
static size_t der_tlv(const unsigned char *p, size_t n, unsigned *tag, const unsigned char **val,
		      size_t *vlen)
{
	size_t len = 0, hdr = 2;

	if (n < 2 || (p[0] & 0x1f) == 0x1f)
		return 0;
	*tag = p[0];
	if (p[1] < 0x80) {
		len = p[1];
	} else {
		unsigned k = p[1] & 0x7f;
		if (k == 0 || k > 4 || n < 2 + (size_t)k)
			return 0;
		for (unsigned i = 0; i < k; i++)
			len = (len << 8) | p[2 + i];
		hdr += k;
	}
	if (len > n - hdr)
		return 0;
	*val = p + hdr;
	*vlen = len;
	return hdr + len;
}

/* GeneralNames (RFC 5280 §4.2.1.6) from the extension's DER: dNSName [2]
 * and iPAddress [7] entries. Returns 0, or -1 if malformed (then GnuTLS's
 * decoder is asked instead). */
static int san_der(const gnutls_datum_t *ext, struct x509_info *in)
{
	const unsigned char *seq = NULL, *v = NULL;
	size_t seql = 0, vl = 0, used;
	unsigned tag = 0;

	if (der_tlv(ext->data, ext->size, &tag, &seq, &seql) != ext->size || tag != 0x30)
		return -1;
	while (seql > 0) {
		char buf[1024];
		used = der_tlv(seq, seql, &tag, &v, &vl);
		if (used == 0)
			return -1;
		if (tag == 0x82 && vl < sizeof(buf)) {
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			if (strlen(buf) != vl || push_name(in, buf) != 0)
				return -1;
		} else if (tag == 0x87 && (vl == 4 || vl == 16)) {
			if (inet_ntop(vl == 4 ? AF_INET : AF_INET6, v, buf, sizeof(buf)) == NULL ||
			    push_name(in, buf) != 0)
				return -1;
		}
		seq += used;
		seql -= used;
	}
	return 0;
}

/* Names: SAN DNS and IP entries; the CN only when there is no SAN. The
 * extension is decoded once (gnutls_x509_crt_get_subject_alt_name decodes
 * it again for every entry). */
static int fill_names(gnutls_x509_crt_t crt, struct x509_info *in)
{
	gnutls_datum_t ext = { NULL, 0 };
	gnutls_subject_alt_names_t sans = NULL;
	char buf[1024];
	int rc = -1;

	if (gnutls_x509_crt_get_extension_by_oid2(crt, GNUTLS_X509EXT_OID_SAN, 0, &ext, NULL) < 0) {
		size_t size = sizeof(buf);
		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf,
						  &size) == 0) {
			if (push_name(in, buf) != 0)
				return -1;
			in->names_from_cn = true;
		}
		return 0;
	}
	if (san_der(&ext, in) == 0) {
		rc = 0;
		goto out;
	}
	/* not what we expected: drop what was taken and ask GnuTLS */
	for (size_t i = 0; i < in->n_names; i++)
		free(in->names[i]);
	in->n_names = 0;
	if (gnutls_subject_alt_names_init(&sans) < 0)
		goto out;
	if (gnutls_x509_ext_import_subject_alt_names(&ext, sans, 0) < 0) {
		rc = 0; /* an undecodable SAN: no names */
		goto out;
	}
	for (unsigned seq = 0;; seq++) {
		gnutls_datum_t san = { NULL, 0 };
		unsigned type;
		int ret = gnutls_subject_alt_names_get(sans, seq, &type, &san, NULL);
		if (ret < 0)
			break;
		if (type == GNUTLS_SAN_DNSNAME && san.size < sizeof(buf)) {
			memcpy(buf, san.data, san.size);
			buf[san.size] = '\0';
			if (push_name(in, buf) != 0)
				goto out;
		} else if (type == GNUTLS_SAN_IPADDRESS && (san.size == 4 || san.size == 16)) {
			char ip[INET6_ADDRSTRLEN];
			if (inet_ntop(san.size == 4 ? AF_INET : AF_INET6, san.data, ip, sizeof(ip)) != NULL &&
			    push_name(in, ip) != 0)
				goto out;
		}
	}
	rc = 0;
out:
	if (sans != NULL)
		gnutls_subject_alt_names_deinit(sans);
	gnutls_free(ext.data);
	return rc;
}

static int fill_dns(gnutls_x509_crt_t crt, struct x509_info *in)
{
	gnutls_datum_t d = { NULL, 0 };

	if (in->subject == NULL && gnutls_x509_crt_get_dn3(crt, &d, 0) >= 0) {
		if ((in->subject = dup_datum(&d)) == NULL)
			return -1;
	}
	if (in->issuer == NULL && gnutls_x509_crt_get_issuer_dn3(crt, &d, 0) >= 0) {
		if ((in->issuer = dup_datum(&d)) == NULL)
			return -1;
	}
	return 0;
}

/* The leaf gets every field; an issuer certificate only dates and is_ca
 * (its DN strings are made when a message needs them): thousands of
 * lineages share one intermediate, and each field costs a decode. */
static int fill_info(gnutls_x509_crt_t crt, const gnutls_datum_t *der, bool leaf,
		     const struct link_facts *f, struct x509_info *in)
{
	unsigned char raw[64];
	char cn[512];
	size_t size;
	unsigned bits = 0;
	int pk;

	in->not_before = f->not_before;
	in->not_after = f->not_after;
	in->is_ca = f->is_ca;
	if (!leaf)
		return 0;
	if (fill_dns(crt, in) != 0)
		return -1;
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
	/* the fingerprint is over the DER we decoded: no re-encoding */
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, der->data, der->size, raw) >= 0)
		hex(raw, 32, in->fingerprint_sha256, sizeof(in->fingerprint_sha256));
	in->self_signed = f->dn_len == f->issuer_dn_len &&
			  memcmp(f->dn, f->issuer_dn, f->dn_len) == 0;
	return fill_names(crt, in);
}

void x509_chain_free(struct x509_chain *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->n; i++) {
		if (c->info != NULL)
			info_finish(&c->info[i]);
		if (c->crts[i] != NULL)
			gnutls_x509_crt_deinit(c->crts[i]);
		free(c->blocks[i]);
		free(c->facts[i]);
	}
	free(c->crts);
	free(c->blocks);
	free(c->block_lens);
	free(c->facts);
	free(c->info);
	free(c);
}

/* Classify what is in the file before asking GnuTLS, so the message says
 * what the user did rather than "base64 decoding error". Returns the
 * number of BEGIN CERTIFICATE lines, or 0 with err set. */
static size_t classify_pem(const char *path, const char *pem, size_t len, struct gpc_error *err)
{
	size_t begins, ends;

	if (len == 0 || all_space(pem, len)) {
		gpc_error_set(err, X509_E_EMPTY, "%s: empty file", path);
		gpc_error_hint(err, "an interrupted write or a full disk leaves an empty file; "
				    "restore the certificate (the previous one is kept in .state/archive/) "
				    "or get a new one with 'goproxy-cert issue --force'");
		return 0;
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
		return 0;
	}
	if (ends < begins) {
		gpc_error_set(err, X509_E_TRUNCATED,
			      "%s: truncated PEM: %zu BEGIN CERTIFICATE line%s but %zu END line%s",
			      path, begins, begins == 1 ? "" : "s", ends, ends == 1 ? "" : "s");
		gpc_error_hint(err, "the file was cut off (interrupted copy or full disk); restore it "
				    "or get a new certificate with 'goproxy-cert issue --force'");
		return 0;
	}
	return begins;
}

static struct x509_chain *chain_alloc(size_t n)
{
	struct x509_chain *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->crts = calloc(n, sizeof(*c->crts))) == NULL ||
	    (c->info = calloc(n, sizeof(*c->info))) == NULL ||
	    (c->blocks = calloc(n, sizeof(*c->blocks))) == NULL ||
	    (c->block_lens = calloc(n, sizeof(*c->block_lens))) == NULL ||
	    (c->facts = calloc(n, sizeof(*c->facts))) == NULL) {
		x509_chain_free(c);
		return NULL;
	}
	return c;
}

/* Block [b, e) as certificate c->n: decoded to DER once, imported as DER
 * and (the leaf) hashed as is; an issuer certificate seen before comes
 * from the cache without decoding. Returns 0 (c->n counts it), -1 (err:
 * it does not decode) or -2 (out of memory). */
static int chain_add_block(struct x509_chain *c, const char *path, const char *b, const char *e,
			   struct gpc_error *err)
{
	gnutls_datum_t d, der = { NULL, 0 };
	unsigned i = c->n;
	uint64_t h = 0;
	int ret;

	if (i > 0) {
		h = fnv1a(b, (size_t)(e - b));
		c->block_lens[i] = (size_t)(e - b);
		if ((c->blocks[i] = malloc(c->block_lens[i])) == NULL)
			return -2;
		memcpy(c->blocks[i], b, c->block_lens[i]);
		if ((c->facts[i] = cache_get(b, (size_t)(e - b), h)) != NULL) {
			c->n++;
			return fill_info(NULL, NULL, false, c->facts[i], &c->info[i]) != 0 ? -2 : 0;
		}
	}
	d.data = (unsigned char *)(uintptr_t)b;
	d.size = (unsigned)(e - b);
	ret = gnutls_pem_base64_decode2("CERTIFICATE", &d, &der);
	if (ret >= 0) {
		ret = gnutls_x509_crt_init(&c->crts[i]);
		if (ret >= 0) {
			ret = gnutls_x509_crt_import(c->crts[i], &der, GNUTLS_X509_FMT_DER);
			if (ret < 0) {
				gnutls_x509_crt_deinit(c->crts[i]);
				c->crts[i] = NULL;
			}
		}
	}
	if (ret < 0) {
		gnutls_free(der.data);
		free(c->blocks[i]);
		c->blocks[i] = NULL;
		gpc_error_set(err, X509_E_TRUNCATED, "%s: PEM certificate block %u does not decode: %s", path,
			      i + 1, gnutls_strerror(ret));
		gpc_error_hint(err, "the file is damaged (edited, cut off or mixed up); restore "
				    "it or get a new certificate with 'goproxy-cert issue --force'");
		return -1;
	}
	c->n++;
	c->facts[i] = facts_of(c->crts[i], i > 0);
	if (c->facts[i] == NULL || fill_info(c->crts[i], &der, i == 0, c->facts[i], &c->info[i]) != 0) {
		gnutls_free(der.data);
		return -2;
	}
	gnutls_free(der.data);
	if (i > 0)
		cache_put(b, (size_t)(e - b), h, c->facts[i]);
	return 0;
}

int x509_chain_parse(const char *path, const char *pem, size_t len, struct x509_chain **out,
		     bool *has_key, struct gpc_error *err)
{
	struct x509_chain *c = NULL;
	const char *p = pem, *end = pem + len;
	size_t begins;
	int rc = -1;

	*out = NULL;
	if (has_key != NULL)
		*has_key = has_key_block(pem, len);
	if ((begins = classify_pem(path, pem, len, err)) == 0)
		return -1;
	if ((c = chain_alloc(begins)) == NULL)
		goto nomem;
	/* Walk the CERTIFICATE blocks ourselves (chain_add_block). */
	while (c->n < begins) {
		const char *b = memmem(p, (size_t)(end - p), PEM_BEGIN_CERT, strlen(PEM_BEGIN_CERT));
		const char *e;
		int r;
		if (b == NULL)
			break;
		e = memmem(b, (size_t)(end - b), PEM_END_CERT, strlen(PEM_END_CERT));
		if (e == NULL)
			break;
		e += strlen(PEM_END_CERT);
		p = e;
		if ((r = chain_add_block(c, path, b, e, err)) == -2)
			goto nomem;
		if (r != 0)
			goto out;
	}
	if (c->n == 0) {
		gpc_error_set(err, X509_E_TRUNCATED, "%s: no complete PEM certificate block", path);
		gpc_error_hint(err, "the file is damaged; restore it or get a new certificate with "
				    "'goproxy-cert issue --force'");
		goto out;
	}
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
	gnutls_datum_t d, der = { NULL, 0 };

	if (i >= c->n)
		return NULL;
	if (c->crts[i] == NULL && c->blocks[i] != NULL) {
		/* taken from the cache: decode it now that someone asks */
		d.data = (unsigned char *)c->blocks[i];
		d.size = (unsigned)c->block_lens[i];
		if (gnutls_pem_base64_decode2("CERTIFICATE", &d, &der) >= 0 &&
		    gnutls_x509_crt_init(&c->crts[i]) >= 0 &&
		    gnutls_x509_crt_import(c->crts[i], &der, GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(c->crts[i]);
			c->crts[i] = NULL;
		}
		gnutls_free(der.data);
	}
	return c->crts[i];
}

static const char *dn_or(const char *dn)
{
	return dn != NULL && *dn != '\0' ? dn : "(empty DN)";
}

int x509_chain_check_order(const struct x509_chain *c, const char *path, struct gpc_error *err)
{
	for (unsigned i = 0; i + 1 < c->n; i++) {
		const struct link_facts *a = c->facts[i], *b = c->facts[i + 1];
		bool linked = a->issuer_dn_len == b->dn_len &&
			      memcmp(a->issuer_dn, b->dn, b->dn_len) == 0;

		/* when both carry key identifiers they must agree too */
		if (linked && a->aki_len > 0 && b->ski_len > 0 &&
		    (a->aki_len != b->ski_len || memcmp(a->aki, b->ski, b->ski_len) != 0))
			linked = false;
		if (linked)
			continue;
		/* DN strings of issuer certificates are made only for this message */
		if (x509_chain_crt(c, i) != NULL)
			fill_dns(c->crts[i], &c->info[i]);
		if (x509_chain_crt(c, i + 1) != NULL)
			fill_dns(c->crts[i + 1], &c->info[i + 1]);
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
	gnutls_free(k->pub1.data);
	gnutls_free(k->pub2.data);
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
	/* Keep only the public half for matching: comparing it with the
	 * certificate's costs far less than two key IDs (each re-encodes the
	 * SubjectPublicKeyInfo). No secret parameter is exported. */
	k->pk = pk;
	if (pk == GNUTLS_PK_ECDSA || pk == GNUTLS_PK_EDDSA_ED25519 || pk == GNUTLS_PK_EDDSA_ED448) {
		gnutls_ecc_curve_t curve;
		if (gnutls_x509_privkey_export_ecc_raw(k->key, &curve, &k->pub1,
						       pk == GNUTLS_PK_ECDSA ? &k->pub2 : NULL, NULL) < 0)
			k->pk = GNUTLS_PK_UNKNOWN;
		k->curve = (int)curve;
	} else if (pk == GNUTLS_PK_RSA) {
		if (gnutls_x509_privkey_export_rsa_raw2(k->key, &k->pub1, &k->pub2, NULL, NULL, NULL,
							NULL, NULL, NULL) < 0)
			k->pk = GNUTLS_PK_UNKNOWN;
	} else {
		k->pk = GNUTLS_PK_UNKNOWN;
	}
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

/* SHA-256 key ID of the key's public half, made on first use. */
static bool key_id(const struct x509_key *k)
{
	struct x509_key *m = (struct x509_key *)(uintptr_t)k; /* a cache, not a change */

	if (!m->id_done) {
		m->id_done = true;
		m->id_len = sizeof(m->id);
		if (gnutls_x509_privkey_get_key_id(m->key, GNUTLS_KEYID_USE_SHA256, m->id, &m->id_len) < 0)
			m->id_len = 0;
	}
	return m->id_len > 0;
}

/* Big-endian integers equal, ignoring leading zero bytes (GnuTLS adds one
 * to keep some values positive, not always on both sides). */
static bool int_eq(const gnutls_datum_t *a, const gnutls_datum_t *b)
{
	const unsigned char *pa = a->data, *pb = b->data;
	size_t la = a->size, lb = b->size;

	while (la > 0 && *pa == 0) {
		pa++;
		la--;
	}
	while (lb > 0 && *pb == 0) {
		pb++;
		lb--;
	}
	return la == lb && (la == 0 || memcmp(pa, pb, la) == 0);
}

static bool crt_has_key(gnutls_x509_crt_t crt, const struct x509_key *k)
{
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	bool eq = false;
	int pk;

	if (crt == NULL)
		return false;
	if (k->pk == GNUTLS_PK_UNKNOWN) {
		unsigned char id[64];
		size_t len = sizeof(id);
		return key_id(k) &&
		       gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, id, &len) >= 0 &&
		       len == k->id_len && memcmp(id, k->id, len) == 0;
	}
	pk = gnutls_x509_crt_get_pk_algorithm(crt, NULL);
	if (pk != k->pk)
		return false;
	if (pk == GNUTLS_PK_RSA) {
		if (gnutls_x509_crt_get_pk_rsa_raw(crt, &a, &b) >= 0)
			eq = int_eq(&a, &k->pub1) && int_eq(&b, &k->pub2);
	} else {
		gnutls_ecc_curve_t curve;
		if (gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &a, pk == GNUTLS_PK_ECDSA ? &b : NULL) >= 0)
			eq = (int)curve == k->curve && int_eq(&a, &k->pub1) &&
			     (pk != GNUTLS_PK_ECDSA || int_eq(&b, &k->pub2));
	}
	gnutls_free(a.data);
	gnutls_free(b.data);
	return eq;
}

bool x509_key_matches(const struct x509_key *k, const struct x509_chain *c)
{
	return c->n > 0 && crt_has_key(c->crts[0], k);
}

int x509_key_find(const struct x509_key *k, const struct x509_chain *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (crt_has_key(x509_chain_crt(c, i), k))
			return (int)i;
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

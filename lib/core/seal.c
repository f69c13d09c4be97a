/* seal: AEAD envelopes for private keys in a shared store (see seal.h). */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "b64.h"
#include "fsutil.h"

#define SEAL_MAGIC "GPCS"
#define SEAL_VERSION 1
#define SEAL_ALG_AES256GCM 1
#define SEAL_NONCE_LEN 12
#define SEAL_KEYID_LEN 4
#define SEAL_MAX_NAME 256
#define SEAL_KEY_FILE_MAX 256 /* raw 32 bytes or a base64 line, with slack for spaces */

struct seal_key {
	unsigned char key[SEAL_KEY_LEN];
	unsigned char id[SEAL_KEYID_LEN];
	char id_hex[2 * SEAL_KEYID_LEN + 1];
};

/* The key id: the first bytes of SHA-256 over a label and the key. */
static int key_id(struct seal_key *k)
{
	static const char label[] = "goproxy-cert seal key id";
	unsigned char in[sizeof(label) + SEAL_KEY_LEN], dig[32];
	int rc;

	memcpy(in, label, sizeof(label));
	memcpy(in + sizeof(label), k->key, SEAL_KEY_LEN);
	rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, in, sizeof(in), dig);
	gnutls_memset(in, 0, sizeof(in));
	if (rc < 0)
		return -1;
	memcpy(k->id, dig, SEAL_KEYID_LEN);
	for (size_t i = 0; i < SEAL_KEYID_LEN; i++)
		snprintf(k->id_hex + 2 * i, 3, "%02x", k->id[i]);
	return 0;
}

void seal_key_free(struct seal_key *k)
{
	if (k == NULL)
		return;
	gnutls_memset(k, 0, sizeof(*k));
	free(k);
}

const char *seal_key_id(const struct seal_key *k)
{
	return k->id_hex;
}

int seal_key_load(const char *path, struct seal_key **out, struct gpc_error *err)
{
	struct seal_key *k = NULL;
	unsigned char raw[SEAL_KEY_FILE_MAX + 1], *dec = NULL;
	size_t declen = 0;
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		gpc_error_sys(err, e, "open seal key", path);
		if (e == ENOENT)
			gpc_error_hint(err, "make one with 'goproxy-cert store seal-key %s' and copy it to "
					    "every node (mode 0600)", path);
		else if (e == ELOOP)
			gpc_error_hint(err, "the seal key must be a regular file, not a symbolic link");
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		gpc_error_sys(err, errno, "stat seal key", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		gpc_error_set(err, GPC_E_INVALID, "seal key %s: not a regular file", path);
		gpc_error_hint(err, "give the file made by 'goproxy-cert store seal-key FILE'");
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		gpc_error_set(err, GPC_E_PERMISSION, "seal key %s: mode %04o lets other users read it",
			      path, (unsigned)(st.st_mode & 07777));
		gpc_error_hint(err, "chmod 600 %s (and make a new key if others may have read it)", path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		gpc_error_set(err, GPC_E_PERMISSION, "seal key %s: owned by uid %u, running as uid %u",
			      path, (unsigned)st.st_uid, (unsigned)geteuid());
		gpc_error_hint(err, "chown the seal key to the user that runs goproxy-cert/goproxyd");
		goto out;
	}
	n = read(fd, raw, sizeof(raw));
	if (n < 0) {
		gpc_error_sys(err, errno, "read seal key", path);
		goto out;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	if (n == SEAL_KEY_LEN) {
		memcpy(k->key, raw, SEAL_KEY_LEN);
	} else {
		size_t a = 0, b = (size_t)n;

		while (a < b && (raw[a] == ' ' || raw[a] == '\t' || raw[a] == '\n' || raw[a] == '\r'))
			a++;
		while (b > a && (raw[b - 1] == ' ' || raw[b - 1] == '\t' || raw[b - 1] == '\n' ||
				 raw[b - 1] == '\r'))
			b--;
		if (n > SEAL_KEY_FILE_MAX || b == a ||
		    b64url_decode((const char *)raw + a, b - a, &dec, &declen) < 0 ||
		    declen != SEAL_KEY_LEN) {
			gpc_error_set(err, GPC_E_INVALID, "seal key %s: not a %d-byte key (%zd bytes, "
							  "neither raw nor one base64 line of %d bytes)",
				      path, SEAL_KEY_LEN, n, SEAL_KEY_LEN);
			gpc_error_hint(err, "make one with 'goproxy-cert store seal-key FILE'");
			goto out;
		}
		memcpy(k->key, dec, SEAL_KEY_LEN);
	}
	if (key_id(k) < 0) {
		gpc_error_set(err, GPC_E_INTERNAL, "seal key %s: hashing failed", path);
		goto out;
	}
	*out = k;
	k = NULL;
	rc = 0;
out:
	gnutls_memset(raw, 0, sizeof(raw));
	if (dec != NULL) {
		gnutls_memset(dec, 0, declen);
		free(dec);
	}
	seal_key_free(k);
	close(fd);
	return rc;
}

int seal_key_generate(const char *path, struct gpc_error *err)
{
	unsigned char key[SEAL_KEY_LEN];
	char *text = NULL;
	size_t len;
	int fd, rc = -1;

	if (gnutls_rnd(GNUTLS_RND_KEY, key, sizeof(key)) < 0)
		return gpc_error_set(err, GPC_E_INTERNAL, "no random bytes for a seal key");
	text = b64std_encode(key, sizeof(key));
	gnutls_memset(key, 0, sizeof(key));
	if (text == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	len = strlen(text);
	text[len++] = '\n'; /* 44 characters + NUL: room for the newline */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		if (e == EEXIST) {
			gpc_error_set(err, GPC_E_USAGE, "seal key %s: already exists", path);
			gpc_error_hint(err, "a new key would make every sealed key in the store unreadable; "
					    "keep it, or remove it first if you really mean to start over");
		} else {
			gpc_error_sys(err, e, "create seal key", path);
		}
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(path);
		gpc_error_sys(err, e, "write seal key", path);
		goto out;
	}
	if (close(fd) != 0) {
		int e = errno;
		unlink(path);
		gpc_error_sys(err, e, "write seal key", path);
		goto out;
	}
	if (fs_sync_parent(path, err) < 0)
		goto out;
	rc = 0;
out:
	gnutls_memset(text, 0, len);
	free(text);
	return rc;
}

int seal_is_sealed(const void *data, size_t len)
{
	return len >= 4 && memcmp(data, SEAL_MAGIC, 4) == 0;
}

/* Associated data: the header, then the name. */
static int make_ad(const unsigned char *hdr, const char *name, unsigned char *ad, size_t *adlen)
{
	size_t nl = strlen(name);

	if (nl > SEAL_MAX_NAME)
		return -1;
	memcpy(ad, hdr, SEAL_HEADER_LEN);
	memcpy(ad + SEAL_HEADER_LEN, name, nl);
	*adlen = SEAL_HEADER_LEN + nl;
	return 0;
}

static int aead_open(const struct seal_key *k, gnutls_aead_cipher_hd_t *h)
{
	gnutls_datum_t kd = { .data = (unsigned char *)k->key, .size = SEAL_KEY_LEN };

	return gnutls_aead_cipher_init(h, GNUTLS_CIPHER_AES_256_GCM, &kd);
}

int seal_seal(const struct seal_key *k, const char *name, const void *plain, size_t len,
	      struct buf *out, struct gpc_error *err)
{
	unsigned char hdr[SEAL_HEADER_LEN], ad[SEAL_HEADER_LEN + SEAL_MAX_NAME], *ct = NULL;
	size_t adlen = 0, ctlen = len + SEAL_TAG_LEN;
	gnutls_aead_cipher_hd_t h = NULL;
	int rc = -1;

	memcpy(hdr, SEAL_MAGIC, 4);
	hdr[4] = SEAL_VERSION;
	hdr[5] = SEAL_ALG_AES256GCM;
	memcpy(hdr + 6, k->id, SEAL_KEYID_LEN);
	if (gnutls_rnd(GNUTLS_RND_NONCE, hdr + 10, SEAL_NONCE_LEN) < 0)
		return gpc_error_set(err, GPC_E_INTERNAL, "seal %s: no random bytes for a nonce", name);
	if (make_ad(hdr, name, ad, &adlen) < 0)
		return gpc_error_set(err, GPC_E_INVALID, "seal: name '%.64s...' too long", name);
	ct = malloc(ctlen);
	if (ct == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	if (aead_open(k, &h) < 0 ||
	    gnutls_aead_cipher_encrypt(h, hdr + 10, SEAL_NONCE_LEN, ad, adlen, SEAL_TAG_LEN, plain, len,
				       ct, &ctlen) < 0) {
		gpc_error_set(err, GPC_E_INTERNAL, "seal %s: AES-256-GCM encryption failed", name);
		goto out;
	}
	if (buf_add(out, hdr, sizeof(hdr)) < 0 || buf_add(out, ct, ctlen) < 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (h != NULL)
		gnutls_aead_cipher_deinit(h);
	free(ct);
	return rc;
}

int seal_open(const struct seal_key *k, const char *name, const void *sealed, size_t len,
	      struct buf *out, struct gpc_error *err)
{
	const unsigned char *p = sealed;
	unsigned char ad[SEAL_HEADER_LEN + SEAL_MAX_NAME], *pt = NULL;
	size_t adlen = 0, ptlen;
	gnutls_aead_cipher_hd_t h = NULL;
	int rc = -1;

	if (len < SEAL_OVERHEAD || !seal_is_sealed(p, len)) {
		gpc_error_set(err, GPC_E_INVALID, "sealed key for '%s': not a sealed envelope (%zu bytes)",
			      name, len);
		return gpc_error_hint(err, "the store holds something this version did not write there; "
					   "write the pair again (goproxy-cert store import or renew --force)");
	}
	if (p[4] != SEAL_VERSION || p[5] != SEAL_ALG_AES256GCM) {
		gpc_error_set(err, GPC_E_INVALID, "sealed key for '%s': envelope version %u algorithm %u "
						  "unknown to this version",
			      name, p[4], p[5]);
		return gpc_error_hint(err, "update goproxy-cert on this node to the version the other nodes run");
	}
	if (memcmp(p + 6, k->id, SEAL_KEYID_LEN) != 0) {
		gpc_error_set(err, GPC_E_INVALID, "sealed key for '%s': sealed with another seal key "
						  "(key id %02x%02x%02x%02x, this node's is %s)",
			      name, p[6], p[7], p[8], p[9], k->id_hex);
		return gpc_error_hint(err, "every node needs the same seal key file (--store-seal); copy it "
					   "from a node that wrote this pair");
	}
	if (make_ad(p, name, ad, &adlen) < 0)
		return gpc_error_set(err, GPC_E_INVALID, "seal: name '%.64s...' too long", name);
	ptlen = len - SEAL_HEADER_LEN;
	pt = malloc(ptlen > 0 ? ptlen : 1);
	if (pt == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	if (aead_open(k, &h) < 0) {
		gpc_error_set(err, GPC_E_INTERNAL, "open sealed key for '%s': AES-256-GCM unavailable", name);
		goto out;
	}
	if (gnutls_aead_cipher_decrypt(h, p + 10, SEAL_NONCE_LEN, ad, adlen, SEAL_TAG_LEN,
				       p + SEAL_HEADER_LEN, len - SEAL_HEADER_LEN, pt, &ptlen) < 0) {
		gpc_error_set(err, GPC_E_INVALID, "sealed key for '%s': authentication failed: the envelope "
						  "was damaged, or it was sealed for another lineage",
			      name);
		gpc_error_hint(err, "write the pair again from its source (renew --force, or store import)");
		goto out;
	}
	if (buf_add(out, pt, ptlen) < 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (h != NULL)
		gnutls_aead_cipher_deinit(h);
	if (pt != NULL) {
		gnutls_memset(pt, 0, len - SEAL_HEADER_LEN);
		free(pt);
	}
	return rc;
}

/* seal: private keys are sealed before they leave the node for a shared
 * store (etcd), with a 32-byte key that every node holds and the store never
 * sees. AEAD (GnuTLS, AES-256-GCM), a fresh random nonce per seal.
 *
 * Envelope (all of it authenticated):
 *   "GPCS"  magic, 4 bytes
 *   1       version, 1 byte
 *   1       algorithm, 1 byte (1: AES-256-GCM)
 *   ID      key id, 4 bytes (from a hash of the key: says "sealed with another
 *           key" instead of "damaged", reveals nothing of the key)
 *   NONCE   12 bytes
 *   CT+TAG  the ciphertext and its 16-byte tag
 * The associated data is the header (magic .. nonce) followed by the name of
 * what is sealed (the lineage), so a sealed key cannot be moved to another
 * lineage: it fails to open there.
 *
 * The key file holds the 32 bytes either raw or as one line of standard
 * base64 (what seal_key_generate writes). It must be a regular file of mode
 * 0600 (or stricter) owned by the user running the program. */
#ifndef GPC_SEAL_H
#define GPC_SEAL_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

#define SEAL_KEY_LEN 32
#define SEAL_HEADER_LEN 22 /* magic 4 + version 1 + alg 1 + key id 4 + nonce 12 */
#define SEAL_TAG_LEN 16
#define SEAL_OVERHEAD (SEAL_HEADER_LEN + SEAL_TAG_LEN)

struct seal_key;

/* Read the key from `path`, checking that it is a regular file, mode 0600 or
 * stricter, owned by this user, holding exactly 32 bytes (raw or base64).
 * Returns 0 and *out (free with seal_key_free, which wipes it), or -1 with
 * err naming the file (GPC_E_PERMISSION for mode/owner, GPC_E_INVALID for
 * the content, GPC_E_MISSING when absent) and a hint. */
int seal_key_load(const char *path, struct seal_key **out, struct gpc_error *err)
	__attribute__((warn_unused_result));
void seal_key_free(struct seal_key *k);

/* The key id as 8 hex digits (for messages; reveals nothing of the key).
 * Returns a pointer into k. */
const char *seal_key_id(const struct seal_key *k);

/* Make a new random key file at `path` (mode 0600, one base64 line, fsynced).
 * Never overwrites: an existing file is GPC_E_USAGE. Returns 0 or -1. */
int seal_key_generate(const char *path, struct gpc_error *err) __attribute__((warn_unused_result));

/* Seal `len` bytes for `name` (the associated data), appending the envelope
 * to `out`. Returns 0 or -1. */
int seal_seal(const struct seal_key *k, const char *name, const void *plain, size_t len,
	      struct buf *out, struct gpc_error *err) __attribute__((warn_unused_result));

/* Open an envelope sealed for `name`, appending the plaintext to `out`.
 * Returns 0, or -1 with GPC_E_INVALID: not an envelope, an unknown version,
 * sealed with another key (both key ids named), or failed authentication
 * (damaged, or sealed for another name). `out` is unchanged on failure. */
int seal_open(const struct seal_key *k, const char *name, const void *sealed, size_t len,
	      struct buf *out, struct gpc_error *err) __attribute__((warn_unused_result));

/* True when `data` starts like an envelope (magic), for telling a sealed
 * key from a plain PEM one. */
int seal_is_sealed(const void *data, size_t len);

#endif

/* store_etcd: the certificate store in etcd (a fleet's shared store), a
 * backend behind certstore (certstore_backend.h), over lib/etcd.c.
 *
 * Key layout under PREFIX (the URL's path, default /goproxy-cert):
 *   PREFIX/pairs/NAME             one value per lineage, so a pair is always
 *                                 whole: {"v":1,"cert":PEM,"key":BASE64} where
 *                                 key is the private key sealed (lib/seal.c)
 *                                 with the lineage name as associated data
 *   PREFIX/archive/NAME/REV       the value a write replaced (REV: its revision)
 *   PREFIX/records/REL            named records (lineages/NAME.json, ledger.json,
 *                                 accounts/..., challenges/...); a record holding
 *                                 a PEM private key is sealed ("record/REL" as
 *                                 associated data)
 *   PREFIX/locks/store/LEASE      the store lock (etcd's lock service)
 *   PREFIX/locks/issuer/LEASE     the issuer lock
 *   PREFIX/holders/issuer         who holds the issuer lock (host, pid), on its lease
 *   PREFIX/presence/WHO/LEASE     a running goproxyd and what it answers, on its lease
 * Revisions are etcd's mod revisions. Locks are etcd leases (TTL 15 s) kept
 * alive at a third of it; every write made while this store holds a lock is
 * fenced on it (a txn that also checks the lock's owner key still exists), so
 * a node that lost its lease cannot overwrite what the next holder wrote.
 * Nothing private reaches etcd in clear: without a seal key, writing a
 * private key is refused.
 * With a cache (goproxyd): every successful list of the pairs (one range of
 * PREFIX/pairs/ with values) is saved to it as read, keys still sealed; when
 * no member answers (GPC_E_NETWORK) before this store has read the pairs
 * once, the list and the pair reads that follow are answered from the
 * cache's entries that unseal and whose key matches the certificate (the
 * others are skipped with a warning), until a list succeeds again. */
#ifndef GPC_STORE_ETCD_H
#define GPC_STORE_ETCD_H

#include "certstore_backend.h"
#include "error.h"

/* The etcd backend's entry for certstore_open_url (etcd://, etcd+http://,
 * etcd+https://). For etcd nothing is contacted at open except to check the
 * seal key file (and to create the cache directory); the first operation
 * talks to the members. */
extern const struct certstore_backend store_etcd_backend;

/* certstore_open_url with the etcd backend added to the table (for the
 * programs that link this part): etcd when a URL is given, else the
 * directory. Returns 0 and *out (free with certstore_free), or -1 with err
 * (GPC_E_USAGE for a bad URL or option, the seal key's own errors). */
int store_open(const struct store_options *o, struct certstore **out, struct gpc_error *err)
	__attribute__((warn_unused_result));

#endif

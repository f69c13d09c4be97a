/* storecopy: pairs and records from one store into another (store
 * import/export, sync). */
#include "storecopy.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "issue.h"
#include "lineage.h"
#include "records.h"
#include "x509.h"

static time_t leaf_not_after(const struct buf *cert)
{
	struct x509_chain *ch = NULL;
	struct gpc_error e;
	time_t t = 0;

	gpc_error_clear(&e);
	if (x509_chain_parse("pair", cert->data, cert->len, &ch, NULL, &e) == 0 && x509_chain_info(ch, 0) != NULL)
		t = x509_chain_info(ch, 0)->not_after;
	x509_chain_free(ch);
	return t;
}

int store_pair_read_checked(struct certstore *src, const char *name, struct buf *cert, struct buf *key,
			    struct gpc_error *err)
{
	char cp[PATH_MAX], kp[PATH_MAX];
	struct x509_chain *ch = NULL;
	struct x509_key *k = NULL;
	int rc = -1;

	if (certstore_read_pair(src, name, cert, key, err) != 0)
		return -1;
	if (certstore_paths(src, name, cp, sizeof(cp), kp, sizeof(kp)) != 0) {
		snprintf(cp, sizeof(cp), "%s: lineage %s", certstore_dir(src), name);
		snprintf(kp, sizeof(kp), "%s", cp);
	}
	if (x509_chain_parse(cp, cert->data ? cert->data : "", cert->len, &ch, NULL, err) != 0 ||
	    x509_key_parse(kp, key->data ? key->data : "", key->len, &k, err) != 0)
		goto out;
	if (!x509_key_matches(k, ch)) {
		gpc_error_set(err, X509_E_KEY_MISMATCH, "%s: the private key does not belong to the certificate; "
			      "not copied", cp);
		gpc_error_hint(err, "write the pair again where it comes from (goproxy-cert renew --force %s)", name);
		goto out;
	}
	rc = 0;
out:
	x509_key_free(k);
	x509_chain_free(ch);
	return rc;
}

bool store_pair_wanted(struct certstore *dst, const char *name, const struct buf *cert, const struct buf *key,
		       enum store_pair_rule rule)
{
	struct buf dc, dk;
	struct gpc_error e;
	bool want = true;

	buf_init(&dc, CERTSTORE_MAX_FILE);
	buf_init(&dk, CERTSTORE_MAX_FILE);
	gpc_error_clear(&e);
	if (certstore_read_pair(dst, name, &dc, &dk, &e) == 0) {
		if (rule == STORE_PAIR_NEWER)
			want = leaf_not_after(&dc) < leaf_not_after(cert);
		else
			want = dc.len != cert->len || dk.len != key->len ||
			       (cert->len > 0 && memcmp(dc.data, cert->data, cert->len) != 0) ||
			       (key->len > 0 && memcmp(dk.data, key->data, key->len) != 0);
	}
	if (dk.data != NULL)
		explicit_bzero(dk.data, dk.len);
	buf_finish(&dc);
	buf_finish(&dk);
	return want;
}

/* A record from src to dst unless dst has it. Returns 1 copied, 0 kept or
 * absent in src, -1 error. */
static int copy_record(struct certstore *src, struct certstore *dst, const char *key, struct gpc_error *err)
{
	struct buf b;
	int rc = 0;

	buf_init(&b, 4 * 1024 * 1024);
	if (certstore_record_get(src, key, 4 * 1024 * 1024, &b, NULL, err) != 0) {
		rc = err->code != NULL && strcmp(err->code, GPC_E_MISSING) == 0 ? 0 : -1;
		goto out;
	}
	if (certstore_record_put(dst, key, b.data, b.len, 0, err) == 0)
		rc = 1;
	else if (err->code != NULL && strcmp(err->code, GPC_E_CONFLICT) == 0)
		rc = 0; /* already there: kept */
	else
		rc = -1;
out:
	if (b.data != NULL)
		explicit_bzero(b.data, b.len);
	buf_finish(&b);
	if (rc >= 0)
		gpc_error_clear(err);
	return rc;
}

static void emit(void (*note)(void *, const struct storecopy_event *), void *ud, enum storecopy_what what,
		 const char *name, const char *file, const struct gpc_error *err)
{
	struct storecopy_event ev = { .what = what, .name = name, .file = file, .err = err };

	if (note != NULL)
		note(ud, &ev);
}

/* Every pair of src that dst should take (STORE_PAIR_NEWER). Returns 0 or
 * -1 (a write failed: the copy stops). */
static int copy_pairs(struct certstore *src, struct certstore *dst, char **names, size_t n,
		      void (*note)(void *, const struct storecopy_event *), void *ud,
		      struct storecopy_counts *counts, struct gpc_error *err)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		struct buf c, k;

		buf_init(&c, CERTSTORE_MAX_FILE);
		buf_init(&k, CERTSTORE_MAX_FILE);
		if (store_pair_read_checked(src, names[i], &c, &k, err) != 0) {
			emit(note, ud, STORECOPY_PAIR_FAILED, names[i], NULL, err);
			gpc_error_clear(err);
			counts->failed++;
		} else if (!store_pair_wanted(dst, names[i], &c, &k, STORE_PAIR_NEWER)) {
			emit(note, ud, STORECOPY_PAIR_KEPT, names[i], NULL, NULL);
			counts->kept++;
		} else if (certstore_write_pair(dst, names[i], c.data, c.len, k.data, k.len, err) != 0) {
			rc = -1;
		} else {
			emit(note, ud, STORECOPY_PAIR_COPIED, names[i], NULL, NULL);
			counts->copied++;
		}
		explicit_bzero(k.data ? k.data : c.data, k.data ? k.len : 0);
		buf_finish(&c);
		buf_finish(&k);
	}
	return rc;
}

/* A lineage's settings and the account of its CA. Returns 0 or -1. */
static int copy_lineage(struct certstore *src, struct certstore *dst, const char *name,
			void (*note)(void *, const struct storecopy_event *), void *ud, struct gpc_error *err)
{
	struct lineage *l = NULL;
	char key[300], dn[128];
	int r, rc = 0;

	snprintf(key, sizeof(key), RECORD_LINEAGE_FMT, name);
	if ((r = copy_record(src, dst, key, err)) < 0)
		return -1;
	if (r == 1)
		emit(note, ud, STORECOPY_SETTINGS_COPIED, name, NULL, NULL);
	if (lineage_load(src, name, &l, err) == 0 && l->ca_url != NULL &&
	    issue_account_dirname(l->ca_url, dn, sizeof(dn)) == 0) {
		const char *files[] = { RECORD_ACCOUNT_KEY, RECORD_ACCOUNT_JSON };
		for (size_t f = 0; f < 2 && rc == 0; f++) {
			snprintf(key, sizeof(key), RECORD_ACCOUNT_FMT, dn, files[f]);
			if ((r = copy_record(src, dst, key, err)) < 0)
				rc = -1;
			else if (r == 1)
				emit(note, ud, STORECOPY_ACCOUNT_COPIED, dn, files[f], NULL);
		}
	}
	lineage_free(l);
	if (rc == 0)
		gpc_error_clear(err);
	return rc;
}

int storecopy_all(struct certstore *src, struct certstore *dst,
		  void (*note)(void *ud, const struct storecopy_event *ev), void *ud,
		  struct storecopy_counts *counts, struct gpc_error *err)
{
	char **names = NULL, **lins = NULL;
	size_t n = 0, nl = 0;
	int r, rc = -1;

	memset(counts, 0, sizeof(*counts));
	if (certstore_list(src, &names, &n, err) != 0 || lineage_list(src, &lins, &nl, err) != 0)
		goto out;
	if (certstore_lock(dst, true, 60, err) != 0)
		goto out;
	if (copy_pairs(src, dst, names, n, note, ud, counts, err) != 0)
		goto unlock;
	for (size_t i = 0; i < nl; i++)
		if (copy_lineage(src, dst, lins[i], note, ud, err) != 0)
			goto unlock;
	if ((r = copy_record(src, dst, RECORD_LEDGER, err)) < 0)
		goto unlock;
	emit(note, ud, r == 1 ? STORECOPY_LEDGER_COPIED : STORECOPY_LEDGER_KEPT, "ledger", NULL, NULL);
	rc = 0;
unlock:
	certstore_unlock(dst);
out:
	certstore_names_free(names, n);
	certstore_names_free(lins, nl);
	return rc;
}

/* account: show, update, key rollover and deactivation of a CA's ACME
 * account (RFC 8555 §7.3), on the key and URL kept in the store. */
#include "account.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "buf.h"
#include "certstore.h"
#include "keygen.h"
#include "records.h"
#include "timeutil.h"

struct account {
	struct issue_env *env;
	struct acme_client *c;
	char *server;
};

const char *account_ca_url(const char *flag, bool staging, const char *stored)
{
	const char *env = getenv("GOPROXY_CERT_SERVER");

	if (flag != NULL)
		return flag;
	if (staging)
		return ACME_LE_STAGING;
	if (env != NULL && *env != '\0')
		return env;
	return stored != NULL ? stored : ACME_LE_PRODUCTION;
}

int account_key_stored(struct issue_env *env, const char *url, struct gpc_error *err)
{
	char dn[128], rel[PATH_MAX];
	struct buf b;

	if (issue_account_dirname(url, dn, sizeof(dn)) != 0)
		return gpc_error_set(err, GPC_E_USAGE, "%.200s: no account name for this CA URL", url);
	snprintf(rel, sizeof(rel), RECORD_ACCOUNT_FMT, dn, RECORD_ACCOUNT_KEY);
	buf_init(&b, 64 * 1024);
	int r = certstore_state_read(env->cs, rel, 64 * 1024, &b, err);
	if (b.data)
		memset(b.data, 0, b.len);
	buf_finish(&b);
	if (r == 0)
		return 1;
	if (err->code != NULL && strcmp(err->code, GPC_E_MISSING) == 0) {
		gpc_error_clear(err);
		return 0;
	}
	return -1;
}

int account_open(struct issue_env *env, const struct account_params *p, bool create, struct account **out,
		 struct gpc_error *err)
{
	struct account *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (a == NULL || (a->server = strdup(p->server)) == NULL) {
		free(a);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	a->env = env;
	if (issue_account_client(env, p->server, p->ca_bundle, p->email, p->eab_kid, p->eab_hmac, create, &a->c,
				 err) != 0) {
		account_close(a);
		return -1;
	}
	*out = a;
	return 0;
}

void account_close(struct account *a)
{
	if (a == NULL)
		return;
	acme_client_free(a->c);
	free(a->server);
	free(a);
}

const char *account_url(const struct account *a)
{
	return acme_client_kid(a->c);
}

const char *account_server(const struct account *a)
{
	return a->server;
}

struct acme_client *account_client(const struct account *a)
{
	return a->c;
}

int account_show(struct account *a, struct acme_account *out, struct gpc_error *err)
{
	return acme_account_get(a->c, out, err);
}

int account_update(struct account *a, const char *email, struct acme_account *out, struct gpc_error *err)
{
	const char *contact[1] = { email };

	return acme_account_update(a->c, contact, email ? 1 : 0, out, err);
}

void account_info_finish(struct acme_account *info)
{
	acme_account_finish(info);
}

int account_deactivate(struct account *a, struct gpc_error *err)
{
	return acme_account_deactivate(a->c, err);
}

static void remove_quietly(struct certstore *cs, const char *key)
{
	struct gpc_error e2;

	gpc_error_clear(&e2);
	(void)certstore_state_remove(cs, key, &e2);
}

/* The new key is in the store (key-next.pem) before the CA switches to it,
 * so a crash or a full disk afterwards never leaves an account whose only
 * key was in memory. */
int account_rollover(struct account *a, char *archived, size_t archivedsz, struct gpc_error *err)
{
	struct certstore *cs = a->env->cs;
	char dn[256], rel_next[PATH_MAX], rel_old[PATH_MAX], rel_key[PATH_MAX], stamp[32], old[64];
	char d_next[PATH_MAX], d_key[PATH_MAX];
	char *newkey = NULL;
	struct buf oldkey;
	bool locked = false;
	time_t now = time_now();
	struct tm tm;
	int rc = -1;

	buf_init(&oldkey, 64 * 1024);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (issue_account_dirname(a->server, dn, sizeof(dn)) != 0) {
		gpc_error_set(err, GPC_E_INTERNAL, "%s: no account directory name", a->server);
		goto out;
	}
	snprintf(old, sizeof(old), RECORD_ACCOUNT_KEY_OLD_FMT, stamp);
	snprintf(rel_key, sizeof(rel_key), RECORD_ACCOUNT_FMT, dn, RECORD_ACCOUNT_KEY);
	snprintf(rel_next, sizeof(rel_next), RECORD_ACCOUNT_FMT, dn, RECORD_ACCOUNT_KEY_NEXT);
	snprintf(rel_old, sizeof(rel_old), RECORD_ACCOUNT_FMT, dn, old);
	if (keygen_generate(KEYGEN_EC256, &newkey, NULL, err) != 0 || certstore_lock(cs, true, 60, err) != 0)
		goto out;
	locked = true;
	if (certstore_state_write(cs, rel_next, newkey, strlen(newkey), err) != 0)
		goto out;
	if (acme_account_rollover(a->c, newkey, strlen(newkey), err) != 0) {
		remove_quietly(cs, rel_next);
		goto out;
	}
	if (certstore_state_read(cs, rel_key, 64 * 1024, &oldkey, err) != 0 ||
	    certstore_state_write(cs, rel_old, oldkey.data ? oldkey.data : "", oldkey.len, err) != 0 ||
	    issue_account_store_key(a->env, a->server, newkey, err) != 0) {
		gpc_error_hint(err, "the CA switched to the new account key; it is kept in %s: move it to %s",
			       certstore_describe(cs, rel_next, d_next, sizeof(d_next)),
			       certstore_describe(cs, rel_key, d_key, sizeof(d_key)));
		goto out;
	}
	remove_quietly(cs, rel_next);
	certstore_describe(cs, rel_old, archived, archivedsz);
	rc = 0;
out:
	if (locked)
		certstore_unlock(cs);
	if (oldkey.data != NULL)
		gnutls_memset(oldkey.data, 0, oldkey.len);
	buf_finish(&oldkey);
	if (newkey) {
		gnutls_memset(newkey, 0, strlen(newkey));
		free(newkey);
	}
	return rc;
}

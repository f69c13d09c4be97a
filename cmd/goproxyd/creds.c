/* creds: the certificates goproxyd serves, and their reload.
 *
 * Every lineage of the certs directory becomes one struct gpd_creds with a
 * reference count (lighttpd mod_gnutls keeps per-site credentials the same
 * way). The current "set" maps server names to credentials; handshakes look
 * it up under a mutex and take a reference, which the connection drops after
 * gnutls_deinit. A reload thread with its own libev loop watches the
 * directory (inotify) and takes SIGHUP requests; it rebuilds the set away
 * from the connection callbacks and swaps it in, so a renewed certificate is
 * used by the next handshake while open connections keep the old one.
 *
 * A pair that does not load keeps the previous good credentials of that
 * lineage; a lineage that disappears from disk leaves the set. */
#include "goproxyd.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "buf.h"
#include "fsutil.h"
#include "log.h"

#define CHALLENGE_DIR "challenges/tls-alpn-01"
#define RELOAD_DELAY 0.05    /* collect a burst of file events into one rescan */
#define RESCAN_INTERVAL 60.0 /* safety net for missed events */

struct name_ent {
	const char *name; /* points into the creds' dnsnames, or its name */
	struct gpd_creds *c;
};

struct credset {
	struct gpd_creds **lin; /* lineages, sorted by name */
	size_t nlin;
	struct name_ent *exact, *wild, *chal; /* sorted by name */
	size_t nexact, nwild, nchal;
	struct gpd_creds *fallback; /* "default", else the first lineage */
};

static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;
static struct credset *cur_set;
static struct certstore *store;

/* reload thread */
static pthread_t rl_thread;
static bool rl_started;
static struct ev_loop *rl_loop;
static ev_io rl_inotify_w;
static ev_async rl_async;
static ev_timer rl_delay, rl_periodic;
static atomic_bool rl_stop;
static atomic_bool rl_challenges; /* a handshake waits for a challenge certificate */
static atomic_bool rl_hup;        /* SIGHUP: full rescan */
static int rl_inotify = -1;
static bool rescan_retry; /* a pair was locked by a writer: look again soon */

/* Pairs already refused, by content: not parsed (nor logged) again until
 * their files change. Reload thread only. */
#define BAD_MAX 64
static struct {
	char name[80];
	unsigned char digest[32];
} bad[BAD_MAX];
static size_t nbad;

static bool bad_known(const char *name, const unsigned char *dg)
{
	for (size_t i = 0; i < nbad; i++)
		if (strcmp(bad[i].name, name) == 0 && memcmp(bad[i].digest, dg, 32) == 0)
			return true;
	return false;
}

static void bad_remember(const char *name, const unsigned char *dg)
{
	size_t i = nbad < BAD_MAX ? nbad++ : (size_t)(dg[0]) % BAD_MAX;

	snprintf(bad[i].name, sizeof(bad[i].name), "%s", name);
	memcpy(bad[i].digest, dg, 32);
}

void creds_ref(struct gpd_creds *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void creds_unref(struct gpd_creds *c)
{
	if (c == NULL || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (c->cred != NULL)
		gnutls_certificate_free_credentials(c->cred);
	for (size_t i = 0; i < c->ndnsnames; i++)
		free(c->dnsnames[i]);
	free(c->dnsnames);
	free(c->name);
	free(c);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static void digest_pair(const struct buf *cert, const struct buf *key, unsigned char out[32])
{
	gnutls_hash_hd_t h;

	memset(out, 0, 32);
	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return;
	(void)gnutls_hash(h, cert->data ? cert->data : "", cert->len);
	(void)gnutls_hash(h, "\0", 1);
	(void)gnutls_hash(h, key->data ? key->data : "", key->len);
	gnutls_hash_deinit(h, out);
}

static int add_dnsname(struct gpd_creds *c, const char *name)
{
	char **n = realloc(c->dnsnames, (c->ndnsnames + 1) * sizeof(*n));
	if (n == NULL)
		return -1;
	c->dnsnames = n;
	if ((n[c->ndnsnames] = strdup(name)) == NULL)
		return -1;
	lower(n[c->ndnsnames]);
	c->ndnsnames++;
	return 0;
}

/* Names the certificate is for: its SAN dNSNames, else its CN. */
static int read_names(struct gpd_creds *c, gnutls_x509_crt_t crt)
{
	char buf[512];
	size_t size;
	unsigned type;
	int r;

	for (unsigned i = 0;; i++) {
		size = sizeof(buf) - 1;
		r = gnutls_x509_crt_get_subject_alt_name2(crt, i, buf, &size, &type, NULL);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r < 0)
			continue;
		if (type == GNUTLS_SAN_DNSNAME) {
			buf[size] = '\0';
			if (add_dnsname(c, buf) != 0)
				return -1;
		}
	}
	if (c->ndnsnames == 0) {
		size = sizeof(buf) - 1;
		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf,
						  &size) == 0) {
			buf[size] = '\0';
			if (add_dnsname(c, buf) != 0)
				return -1;
		}
	}
	return 0;
}

/* Build credentials from PEM buffers. On failure logs one line naming the
 * file at fault (certpath / keypath) and returns NULL. */
static struct gpd_creds *creds_load(const char *name, const struct buf *cert,
				    const struct buf *key, const char *certpath,
				    const char *keypath, const char *what, bool unlocked)
{
	gnutls_datum_t cd = { (unsigned char *)cert->data, (unsigned)cert->len };
	gnutls_datum_t kd = { (unsigned char *)key->data, (unsigned)key->len };
	gnutls_x509_crt_t crt = NULL;
	gnutls_x509_privkey_t pk = NULL;
	struct gpd_creds *c = NULL;
	int r;

	/* Parse each file alone first, so the log line can name the bad one. */
	if ((r = gnutls_x509_crt_init(&crt)) < 0)
		goto fail_gen;
	if ((r = gnutls_x509_crt_import(crt, &cd, GNUTLS_X509_FMT_PEM)) < 0) {
		gpc_err("%s %s: %s: not a PEM certificate (%s); keeping the previous one", what,
			name, certpath, gnutls_strerror(r));
		goto fail;
	}
	if ((r = gnutls_x509_privkey_init(&pk)) < 0)
		goto fail_gen;
	if ((r = gnutls_x509_privkey_import2(pk, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		gpc_err("%s %s: %s: not a usable PEM private key (%s); keeping the previous one",
			what, name, keypath, gnutls_strerror(r));
		goto fail;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->name = strdup(name)) == NULL)
		goto fail_gen;
	atomic_init(&c->refs, 1);
	digest_pair(cert, key, c->digest);
	c->not_after = (long)gnutls_x509_crt_get_expiration_time(crt);
	if (read_names(c, crt) != 0)
		goto fail_gen;
	if ((r = gnutls_certificate_allocate_credentials(&c->cred)) < 0)
		goto fail_gen;
	r = gnutls_certificate_set_x509_key_mem2(c->cred, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (r < 0) {
		if (r == GNUTLS_E_CERTIFICATE_KEY_MISMATCH && unlocked)
			/* read while a writer held the lock: maybe between its
			 * two renames; the rescan after the lock is free decides */
			gpc_debug("%s %s: %s does not match %s yet; looking again soon", what,
				  name, keypath, certpath);
		else if (r == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
			gpc_err("%s %s: %s does not belong to %s (key mismatch); keeping the "
				"previous certificate", what, name, keypath, certpath);
		else
			gpc_err("%s %s: %s: cannot load with %s (%s); keeping the previous "
				"certificate", what, name, certpath, keypath, gnutls_strerror(r));
		goto fail;
	}
	if (c->not_after > 0 && c->not_after < (long)time(NULL))
		gpc_warn("%s %s: %s has expired; serving it until it is renewed", what, name,
			 certpath);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(pk);
	return c;
fail_gen:
	gpc_err("%s %s: %s: %s", what, name, certpath, r < 0 ? gnutls_strerror(r) : "out of memory");
fail:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (pk != NULL)
		gnutls_x509_privkey_deinit(pk);
	creds_unref(c);
	return NULL;
}

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct name_ent *)a)->name, ((const struct name_ent *)b)->name);
}

static struct gpd_creds *ent_find(const struct name_ent *v, size_t n, const char *name)
{
	struct name_ent key = { name, NULL };
	const struct name_ent *e;

	if (n == 0)
		return NULL;
	e = bsearch(&key, v, n, sizeof(*v), ent_cmp);
	return e != NULL ? e->c : NULL;
}

static struct gpd_creds *find_in(struct gpd_creds **v, size_t n, const char *name)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		if (strcmp(v[i]->name, name) == 0)
			return v[i];
	return NULL;
}

static void set_free(struct credset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nlin; i++)
		creds_unref(s->lin[i]);
	for (size_t i = 0; i < s->nchal; i++)
		creds_unref(s->chal[i].c);
	free(s->lin);
	free(s->exact);
	free(s->wild);
	free(s->chal);
	free(s);
}

/* Add a name -> creds entry; a name held by two lineages goes to the one
 * that expires later (a renewal into a new lineage wins). */
static int index_name(struct name_ent **v, size_t *n, const char *name, struct gpd_creds *c)
{
	struct name_ent *nv;

	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*v)[i].name, name) == 0) {
			if (c->not_after > (*v)[i].c->not_after)
				(*v)[i].c = c;
			return 0;
		}
	}
	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL)
		return -1;
	*v = nv;
	nv[*n].name = name;
	nv[*n].c = c;
	(*n)++;
	return 0;
}

static int set_index(struct credset *s)
{
	for (size_t i = 0; i < s->nlin; i++) {
		struct gpd_creds *c = s->lin[i];
		for (size_t j = 0; j < c->ndnsnames; j++) {
			const char *nm = c->dnsnames[j];
			int r = strncmp(nm, "*.", 2) == 0 ? index_name(&s->wild, &s->nwild, nm + 2, c)
							   : index_name(&s->exact, &s->nexact, nm, c);
			if (r != 0)
				return -1;
		}
	}
	if (s->nexact)
		qsort(s->exact, s->nexact, sizeof(*s->exact), ent_cmp);
	if (s->nwild)
		qsort(s->wild, s->nwild, sizeof(*s->wild), ent_cmp);
	if (s->nchal)
		qsort(s->chal, s->nchal, sizeof(*s->chal), ent_cmp);
	s->fallback = find_in(s->lin, s->nlin, CERTSTORE_DEFAULT);
	if (s->fallback == NULL && s->nlin > 0)
		s->fallback = s->lin[0];
	return 0;
}

static int read_unlocked(const char *cp, const char *kp, struct buf *cert, struct buf *key,
			 struct gpc_error *err)
{
	if (fs_read_file(cp, CERTSTORE_MAX_FILE, cert, err) != 0 ||
	    fs_read_file(kp, CERTSTORE_MAX_FILE, key, err) != 0)
		return -1;
	return 0;
}

/* Lineages: reuse unchanged and broken ones from `old`, load changed ones. */
static int scan_lineages(struct credset *s, const struct credset *old)
{
	struct gpc_error err;
	char **names = NULL;
	size_t n = 0;
	int rc = -1;
	bool unlocked = false;

	gpc_error_clear(&err);
	if (certstore_list(store, &names, &n, &err) != 0) {
		gpc_err("reload: %s%s%s; keeping the current certificates", err.message,
			err.hint[0] ? " -- " : "", err.hint);
		/* keep everything from old */
		for (size_t i = 0; old != NULL && i < old->nlin; i++) {
			struct gpd_creds **v = realloc(s->lin, (s->nlin + 1) * sizeof(*v));
			if (v == NULL)
				goto out;
			s->lin = v;
			creds_ref(old->lin[i]);
			s->lin[s->nlin++] = old->lin[i];
		}
		rc = 0;
		goto out;
	}
	if ((s->lin = calloc(n ? n : 1, sizeof(*s->lin))) == NULL)
		goto out;
	/* One shared lock for the whole scan, so each pair is read whole. If
	 * a writer holds the store (an `issue` or `renew` run, possibly for
	 * minutes), read without it now -- a key that does not match its
	 * certificate is refused anyway -- and look again shortly. */
	gpc_error_clear(&err);
	if (certstore_lock(store, false, 0, &err) != 0) {
		unlocked = true;
		rescan_retry = true;
		gpc_debug("reload: %s; reading without the lock for now", err.message);
	}
	for (size_t i = 0; i < n; i++) {
		struct gpd_creds *prev = old ? find_in(old->lin, old->nlin, names[i]) : NULL;
		struct gpd_creds *c = NULL;
		char cp[PATH_MAX], kp[PATH_MAX];
		unsigned char dg[32];
		struct buf cert, key;

		buf_init(&cert, CERTSTORE_MAX_FILE);
		buf_init(&key, CERTSTORE_MAX_FILE);
		gpc_error_clear(&err);
		if (certstore_paths(store, names[i], cp, sizeof(cp), kp, sizeof(kp)) != 0) {
			snprintf(cp, sizeof(cp), "%s", names[i]);
			snprintf(kp, sizeof(kp), "%s", names[i]);
		}
		if ((unlocked ? read_unlocked(cp, kp, &cert, &key, &err)
			      : certstore_read_pair(store, names[i], &cert, &key, &err)) != 0) {
			if (err.code != NULL && strcmp(err.code, GPC_E_LOCKED) == 0)
				rescan_retry = true;
			gpc_err("lineage %s: %s%s", names[i], err.message,
				prev ? "; keeping the previous certificate" : "");
		} else {
			digest_pair(&cert, &key, dg);
			if (prev != NULL && memcmp(dg, prev->digest, sizeof(dg)) == 0) {
				c = prev;
				creds_ref(c);
			} else if (!bad_known(names[i], dg)) {
				c = creds_load(names[i], &cert, &key, cp, kp, "lineage", unlocked);
				if (c != NULL)
					gpc_info("lineage %s: %s %s (%zu names)", names[i],
						 prev ? "reloaded" : "loaded", cp, c->ndnsnames);
				else if (!unlocked)
					bad_remember(names[i], dg);
			}
		}
		buf_finish(&cert);
		buf_finish(&key);
		if (c == NULL && prev != NULL) {
			c = prev;
			creds_ref(c);
		}
		if (c != NULL)
			s->lin[s->nlin++] = c;
	}
	for (size_t i = 0; old != NULL && i < old->nlin; i++)
		if (find_in(s->lin, s->nlin, old->lin[i]->name) == NULL)
			gpc_info("lineage %s: gone from the certs directory; no longer served",
				 old->lin[i]->name);
	rc = 0;
out:
	if (!unlocked)
		certstore_unlock(store);
	certstore_names_free(names, n);
	return rc;
}

/* tls-alpn-01 certificates: DIR/.state/challenges/tls-alpn-01/<identifier>.crt
 * and <identifier>.key (PEM), written by goproxy-cert's solver (RFC 8737). */
static int scan_challenges(struct credset *s, const struct credset *old)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (certstore_state_path(store, CHALLENGE_DIR, dir, sizeof(dir)) != 0)
		return 0;
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		char id[256], cp[PATH_MAX], kp[PATH_MAX];
		struct gpd_creds *prev = NULL, *c = NULL;
		struct name_ent *nv;
		struct gpc_error err;
		struct buf cert, key;
		unsigned char dg[32];

		if (de->d_name[0] == '.' || l <= 4 || l - 4 >= sizeof(id) ||
		    strcmp(de->d_name + l - 4, ".crt") != 0)
			continue;
		memcpy(id, de->d_name, l - 4);
		id[l - 4] = '\0';
		lower(id);
		if (snprintf(cp, sizeof(cp), "%s/%s", dir, de->d_name) >= (int)sizeof(cp) ||
		    snprintf(kp, sizeof(kp), "%s/%.*s.key", dir, (int)(l - 4), de->d_name) >=
			    (int)sizeof(kp))
			continue;
		buf_init(&cert, CERTSTORE_MAX_FILE);
		buf_init(&key, CERTSTORE_MAX_FILE);
		gpc_error_clear(&err);
		for (size_t i = 0; old != NULL && i < old->nchal; i++)
			if (strcmp(old->chal[i].name, id) == 0)
				prev = old->chal[i].c;
		if (fs_read_file(cp, CERTSTORE_MAX_FILE, &cert, &err) != 0 ||
		    fs_read_file(kp, CERTSTORE_MAX_FILE, &key, &err) != 0) {
			gpc_debug("tls-alpn-01 %s: %s", id, err.message);
		} else {
			digest_pair(&cert, &key, dg);
			if (prev != NULL && memcmp(dg, prev->digest, sizeof(dg)) == 0) {
				c = prev;
				creds_ref(c);
			} else if ((c = creds_load(id, &cert, &key, cp, kp, "tls-alpn-01", false)) != NULL) {
				gpc_info("tls-alpn-01 %s: challenge certificate loaded", id);
			}
		}
		buf_finish(&cert);
		buf_finish(&key);
		if (c == NULL)
			continue;
		if ((nv = realloc(s->chal, (s->nchal + 1) * sizeof(*nv))) == NULL) {
			creds_unref(c);
			break;
		}
		s->chal = nv;
		/* the identifier is the lookup key, kept in the creds' name */
		nv[s->nchal].name = c->name;
		nv[s->nchal].c = c;
		s->nchal++;
	}
	closedir(d);
	return 0;
}

/* Build a new set from disk and swap it in. With `lineages` false only the
 * challenge certificates are read again (no store lock: quick) and the
 * lineages are carried over. Returns the number of lineages, or -1. */
static long rescan(bool lineages)
{
	struct credset *s = calloc(1, sizeof(*s)), *old;
	size_t n;
	int r;

	if (s == NULL)
		return -1;
	/* The old set stays valid here: only this thread replaces it. */
	old = cur_set;
	r = scan_challenges(s, old);
	if (r == 0 && lineages) {
		r = scan_lineages(s, old);
	} else if (r == 0 && old != NULL && old->nlin > 0) {
		if ((s->lin = calloc(old->nlin, sizeof(*s->lin))) == NULL)
			r = -1;
		for (size_t i = 0; r == 0 && i < old->nlin; i++) {
			creds_ref(old->lin[i]);
			s->lin[s->nlin++] = old->lin[i];
		}
	}
	if (r != 0 || set_index(s) != 0) {
		set_free(s);
		return -1;
	}
	n = s->nlin;
	pthread_mutex_lock(&set_lock);
	cur_set = s;
	pthread_mutex_unlock(&set_lock);
	set_free(old);
	return (long)n;
}

struct gpd_creds *creds_select(const char *sni, bool acme)
{
	struct gpd_creds *c = NULL;
	struct credset *s;
	char name[256];
	size_t l = 0;

	if (sni != NULL) {
		for (; sni[l] && l < sizeof(name) - 1; l++)
			name[l] = (char)tolower((unsigned char)sni[l]);
		if (l > 0 && name[l - 1] == '.')
			l--;
	}
	name[l] = '\0';
	pthread_mutex_lock(&set_lock);
	s = cur_set;
	if (s == NULL) {
		/* nothing */
	} else if (acme) {
		c = ent_find(s->chal, s->nchal, name);
	} else {
		if (l > 0)
			c = ent_find(s->exact, s->nexact, name);
		if (c == NULL && l > 0) {
			const char *dot = strchr(name, '.');
			if (dot != NULL && dot[1] != '\0')
				c = ent_find(s->wild, s->nwild, dot + 1);
		}
		if (c == NULL && !gpd_cfg.sni_strict)
			c = s->fallback;
	}
	if (c != NULL)
		creds_ref(c);
	pthread_mutex_unlock(&set_lock);
	return c;
}

size_t creds_count(void)
{
	size_t n;

	pthread_mutex_lock(&set_lock);
	n = cur_set ? cur_set->nlin : 0;
	pthread_mutex_unlock(&set_lock);
	return n;
}

int creds_init(struct certstore *cs)
{
	long n;

	store = cs;
	n = rescan(true);
	if (n <= 0) {
		gpc_err("%s: no usable certificate (need cert.crt + priv.key, or NAME/cert.crt + "
			"NAME/priv.key)", certstore_dir(cs));
		return -1;
	}
	return (int)n;
}

/* ---- reload thread ------------------------------------------------------ */

static void watch_dirs(void)
{
	static const uint32_t files = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
				      IN_DELETE | IN_ATTRIB | IN_DELETE_SELF;
	char p[PATH_MAX];
	struct credset *s = cur_set;

	if (rl_inotify < 0)
		return;
	(void)inotify_add_watch(rl_inotify, certstore_dir(store), files);
	/* .state holds the lock file: only creation of directories matters. */
	if (certstore_state_path(store, "", p, sizeof(p)) == 0)
		(void)inotify_add_watch(rl_inotify, p, IN_CREATE | IN_MOVED_TO);
	if (certstore_state_path(store, "challenges", p, sizeof(p)) == 0)
		(void)inotify_add_watch(rl_inotify, p, IN_CREATE | IN_MOVED_TO);
	if (certstore_state_path(store, CHALLENGE_DIR, p, sizeof(p)) == 0)
		(void)inotify_add_watch(rl_inotify, p, files);
	for (size_t i = 0; s != NULL && i < s->nlin; i++) {
		if (strcmp(s->lin[i]->name, CERTSTORE_DEFAULT) == 0)
			continue;
		if (fs_join(p, sizeof(p), certstore_dir(store), s->lin[i]->name) == 0)
			(void)inotify_add_watch(rl_inotify, p, files);
	}
}

/* Also watch every subdirectory (a new lineage's dir appears before its files). */
static void watch_subdirs(void)
{
	static const uint32_t files = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
				      IN_DELETE | IN_ATTRIB | IN_DELETE_SELF;
	struct dirent *de;
	char p[PATH_MAX];
	DIR *d;

	if (rl_inotify < 0 || (d = opendir(certstore_dir(store))) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !certstore_valid_name(de->d_name))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (fs_join(p, sizeof(p), certstore_dir(store), de->d_name) == 0)
			(void)inotify_add_watch(rl_inotify, p, files | IN_ONLYDIR);
	}
	closedir(d);
}

static void do_reload(void)
{
	long n;

	rescan_retry = false;
	/* Challenge certificates first and on their own: they are read
	 * without the store lock, so a writer holding it (an `issue` run
	 * waiting for its validation) does not delay them. */
	(void)rescan(false);
	n = rescan(true);
	watch_dirs();
	watch_subdirs();
	if (n >= 0)
		gpc_debug("reload: %ld lineage(s) served", n);
	if (rescan_retry && rl_loop != NULL) {
		/* a writer held the store lock: its rename events are already
		 * consumed, so look again once it is likely done */
		ev_timer_stop(rl_loop, &rl_delay);
		ev_timer_set(&rl_delay, 1., 0.);
		ev_timer_start(rl_loop, &rl_delay);
	}
}

static void on_inotify(struct ev_loop *loop, ev_io *w, int revents)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t r;

	(void)revents;
	while ((r = read(w->fd, buf, sizeof(buf))) > 0)
		;
	/* collect the burst (a pair is renamed in as two files) */
	ev_timer_stop(loop, &rl_delay);
	ev_timer_set(&rl_delay, RELOAD_DELAY, 0.);
	ev_timer_start(loop, &rl_delay);
}

static void on_delay(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	do_reload();
}

static void on_periodic(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	do_reload();
}

static void on_async(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)w;
	(void)revents;
	if (atomic_load(&rl_stop)) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (atomic_exchange(&rl_challenges, false))
		(void)rescan(false);
	if (atomic_exchange(&rl_hup, false)) {
		gpc_info("reload requested (SIGHUP)");
		do_reload();
	}
}

static void *reload_main(void *arg)
{
	(void)arg;
	ev_run(rl_loop, 0);
	return NULL;
}

int creds_start_reloader(void)
{
	if ((rl_loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK)) == NULL)
		return -1;
	rl_inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (rl_inotify < 0) {
		gpc_warn("inotify: %s; falling back to a rescan every %.0f s and on SIGHUP",
			 strerror(errno), RESCAN_INTERVAL);
	} else {
		ev_io_init(&rl_inotify_w, on_inotify, rl_inotify, EV_READ);
		ev_io_start(rl_loop, &rl_inotify_w);
	}
	watch_dirs();
	watch_subdirs();
	ev_timer_init(&rl_delay, on_delay, RELOAD_DELAY, 0.);
	ev_timer_init(&rl_periodic, on_periodic, RESCAN_INTERVAL, RESCAN_INTERVAL);
	ev_timer_start(rl_loop, &rl_periodic);
	ev_async_init(&rl_async, on_async);
	ev_async_start(rl_loop, &rl_async);
	if (pthread_create(&rl_thread, NULL, reload_main, NULL) != 0)
		return -1;
	rl_started = true;
	return 0;
}

void creds_request_reload(void)
{
	if (rl_started) {
		atomic_store(&rl_hup, true);
		ev_async_send(rl_loop, &rl_async);
	}
}

void creds_request_challenges(void)
{
	if (rl_started) {
		atomic_store(&rl_challenges, true);
		ev_async_send(rl_loop, &rl_async);
	}
}

/* Stop the reload thread (waiting at most a second: it may be blocked on
 * the store lock) and free the current set. */
void creds_shutdown(void)
{
	struct timespec ts;
	bool joined = true;

	if (rl_started) {
		atomic_store(&rl_stop, true);
		ev_async_send(rl_loop, &rl_async);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		joined = pthread_timedjoin_np(rl_thread, NULL, &ts) == 0;
		rl_started = false;
	}
	if (!joined)
		return; /* the thread still uses the set: leave it to exit() */
	if (rl_loop != NULL) {
		ev_loop_destroy(rl_loop);
		rl_loop = NULL;
	}
	if (rl_inotify >= 0)
		close(rl_inotify);
	rl_inotify = -1;
	set_free(cur_set);
	cur_set = NULL;
}

/* sni: the credentials goproxyd serves and their choice per ClientHello.
 *
 * Every lineage of the certs directory becomes one struct gpd_creds with a
 * reference count (lighttpd mod_gnutls keeps per-site credentials the same
 * way). The current "set" maps server names to credentials; handshakes look
 * it up under a mutex and take a reference, which the connection drops after
 * gnutls_deinit. sni_rescan() builds a new set from disk and swaps it in; it
 * is called by creds.c's reload thread (and at start-up), never from a
 * connection callback. No libev here: the fuzz targets link this file alone.
 *
 * A pair that does not load keeps the previous good credentials of that
 * lineage; a lineage that disappears from disk leaves the set. */
#include "sni.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "buf.h"
#include "fsutil.h"
#include "log.h"
#include "records.h"

/* tls-alpn-01 certificates (records.h): <identifier>.crt and .key (PEM),
 * written by goproxy-cert's solver (RFC 8737). */
#define CHALLENGE_DIR RECORD_TLSALPN01_DIR

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
static bool rescan_retry; /* a pair was locked by a writer: look again soon */
static struct gpc_error list_err; /* why the last list of the lineages failed */
static bool list_down;              /* ... and that was the store unreachable */
static size_t listed;               /* lineages the last full scan found in the store */

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

/* An iPAddress SAN (4 or 16 bytes) as text ("192.0.2.1", "2001:db8::1"):
 * a client that connects to that address without SNI gets this pair
 * (sni_select_local). Returns 0 or -1 (ENOMEM). */
static int add_ipname(struct gpd_creds *c, const char *raw, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if ((size != 4 && size != 16) || inet_ntop(size == 4 ? AF_INET : AF_INET6, raw, ip, sizeof(ip)) == NULL)
		return 0;
	return add_dnsname(c, ip);
}

/* Names the certificate is for: its SAN dNSNames and iPAddresses, else its CN. */
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
		if (type == GNUTLS_SAN_IPADDRESS && add_ipname(c, buf, size) != 0)
			return -1;
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


/* Lineages: reuse unchanged and broken ones from `old`, load changed ones. */
static int scan_lineages(struct credset *s, const struct credset *old)
{
	struct gpc_error err;
	char **names = NULL;
	size_t n = 0;
	int rc = -1;
	bool unlocked = false;

	gpc_error_clear(&err);
	gpc_error_clear(&list_err);
	if (certstore_list(store, &names, &n, &err) != 0) {
		list_err = err;
		/* At start sni_load says it. A store no member of which answers
		 * is an outage the store's watch reports too, and the pairs read
		 * stay in use: a warning, as that one is, and once per outage
		 * (not on every rescan while it lasts). */
		bool down = err.code != NULL && strcmp(err.code, GPC_E_NETWORK) == 0;
		if (old != NULL && !(down && list_down))
			gpc_log(down ? GPC_LOG_WARN : GPC_LOG_ERROR, "reload: %s%s%s; keeping the current certificates",
				err.message, err.hint[0] ? " -- " : "", err.hint);
		else if (old != NULL)
			gpc_debug("reload: %s; keeping the current certificates", err.message);
		list_down = down;
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
	list_down = false;
	listed = n;
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
		if ((unlocked ? certstore_read_pair_nowait(store, names[i], &cert, &key, &err)
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
	char **keys = NULL;
	size_t nk = 0;
	struct gpc_error lerr;

	if (certstore_record_list(store, CHALLENGE_DIR "/", &keys, &nk, &lerr) != 0)
		return 0;
	for (size_t ki = 0; ki < nk; ki++) {
		const char *base = keys[ki] + strlen(CHALLENGE_DIR "/");
		size_t l = strlen(base);
		char id[256], kkey[PATH_MAX], cp[PATH_MAX], kp[PATH_MAX];
		struct gpd_creds *prev = NULL, *c = NULL;
		struct name_ent *nv;
		struct gpc_error err;
		struct buf cert, key;
		unsigned char dg[32];

		if (l <= 4 || l - 4 >= sizeof(id) || strcmp(base + l - 4, ".crt") != 0)
			continue;
		memcpy(id, base, l - 4);
		id[l - 4] = '\0';
		lower(id);
		if (snprintf(kkey, sizeof(kkey), "%.*s.key", (int)(strlen(keys[ki]) - 4), keys[ki]) >= (int)sizeof(kkey))
			continue;
		/* names for messages */
		if (certstore_state_path(store, keys[ki], cp, sizeof(cp)) != 0 ||
		    certstore_state_path(store, kkey, kp, sizeof(kp)) != 0)
			continue;
		buf_init(&cert, CERTSTORE_MAX_FILE);
		buf_init(&key, CERTSTORE_MAX_FILE);
		gpc_error_clear(&err);
		for (size_t i = 0; old != NULL && i < old->nchal; i++)
			if (strcmp(old->chal[i].name, id) == 0)
				prev = old->chal[i].c;
		if (certstore_record_get(store, keys[ki], CERTSTORE_MAX_FILE, &cert, NULL, &err) != 0 ||
		    certstore_record_get(store, kkey, CERTSTORE_MAX_FILE, &key, NULL, &err) != 0) {
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
	certstore_names_free(keys, nk);
	return 0;
}

long sni_rescan(bool lineages, bool *retry)
{
	struct credset *s = calloc(1, sizeof(*s)), *old;
	size_t n;
	int r;

	if (s == NULL)
		return -1;
	rescan_retry = false;
	/* The old set stays valid here: only one thread ever replaces it. */
	old = cur_set;
	/* lineages first: a store that does not answer is known after one
	 * request (and a cache may stand in) */
	r = lineages ? scan_lineages(s, old) : 0;
	if (r == 0)
		r = scan_challenges(s, old);
	if (r == 0 && !lineages && old != NULL && old->nlin > 0) {
		if ((s->lin = calloc(old->nlin, sizeof(*s->lin))) == NULL)
			r = -1;
		for (size_t i = 0; r == 0 && i < old->nlin; i++) {
			creds_ref(old->lin[i]);
			s->lin[s->nlin++] = old->lin[i];
		}
	}
	if (retry != NULL)
		*retry = rescan_retry;
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

struct gpd_creds *sni_select(const char *sni, bool acme, bool strict)
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
		if (c == NULL && !strict)
			c = s->fallback;
	}
	if (c != NULL)
		creds_ref(c);
	pthread_mutex_unlock(&set_lock);
	return c;
}

struct gpd_creds *sni_select_local(gnutls_session_t s, int fd)
{
	char sni[256], ip[INET6_ADDRSTRLEN];
	size_t l = sizeof(sni) - 1;
	unsigned type;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct gpd_creds *c = NULL;

	if (gnutls_server_name_get(s, sni, &l, &type, 0) == 0 && l > 0)
		return NULL; /* a name was asked for: sni_select */
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return NULL;
	if (ss.ss_family == AF_INET) {
		if (inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip)) == NULL)
			return NULL;
	} else if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		/* a dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d */
		if (IN6_IS_ADDR_V4MAPPED(a) ? inet_ntop(AF_INET, &a->s6_addr[12], ip, sizeof(ip)) == NULL
					    : inet_ntop(AF_INET6, a, ip, sizeof(ip)) == NULL)
			return NULL;
	} else {
		return NULL;
	}
	pthread_mutex_lock(&set_lock);
	if (cur_set != NULL)
		c = ent_find(cur_set->exact, cur_set->nexact, ip);
	if (c != NULL)
		creds_ref(c);
	pthread_mutex_unlock(&set_lock);
	return c;
}

size_t sni_count(void)
{
	size_t n;

	pthread_mutex_lock(&set_lock);
	n = cur_set ? cur_set->nlin : 0;
	pthread_mutex_unlock(&set_lock);
	return n;
}

int sni_load(struct certstore *cs)
{
	long n;

	store = cs;
	n = sni_rescan(true, NULL);
	if (n <= 0 && list_err.code != NULL) {
		/* the store could not be read at all (etcd down, no cache) */
		gpc_err("%s%s%s", list_err.message, list_err.hint[0] ? "\n  hint: " : "", list_err.hint);
		return strcmp(list_err.code, GPC_E_NETWORK) == 0 ? -2 : -1;
	}
	if (n == 0 && listed == 0)
		return 0; /* nothing issued yet: the caller says how to get one */
	if (n <= 0) {
		gpc_err("%s: no usable certificate: %zu lineage%s, none loaded (see above)\n  hint: fix or remove "
			"the pair%s named above, or issue it again (goproxy-cert issue)", certstore_dir(cs), listed,
			listed == 1 ? "" : "s", listed == 1 ? "" : "s");
		return -1;
	}
	return (int)n;
}


void sni_foreach_lineage(void (*fn)(const char *name, void *ud), void *ud)
{
	/* only the thread that replaces the set calls this: no lock needed */
	for (size_t i = 0; cur_set != NULL && i < cur_set->nlin; i++)
		fn(cur_set->lin[i]->name, ud);
}

void sni_free(void)
{
	pthread_mutex_lock(&set_lock);
	set_free(cur_set);
	cur_set = NULL;
	pthread_mutex_unlock(&set_lock);
	nbad = 0;
}

int sni_choose(gnutls_session_t s, bool strict, struct gpd_creds **out, char *sni, size_t snisz,
	       bool *acme)
{
	size_t l = snisz - 1;
	unsigned type;
	gnutls_datum_t p;

	*acme = false;
	if (gnutls_server_name_get(s, sni, &l, &type, 0) != 0 || type != GNUTLS_NAME_DNS)
		l = 0;
	sni[l] = '\0';
	if (gnutls_alpn_get_selected_protocol(s, &p) == 0 && p.size == 10 &&
	    memcmp(p.data, "acme-tls/1", 10) == 0)
		*acme = true;
	if (*out == NULL) {
		*out = sni_select(sni, *acme, strict);
		if (*out == NULL)
			return GNUTLS_E_UNRECOGNIZED_NAME;
	}
	if (gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, (*out)->cred) < 0)
		return GNUTLS_E_INTERNAL_ERROR;
	return 0;
}

int sni_client_hello(gnutls_session_t s)
{
	struct gpd_creds **slot = gnutls_session_get_ptr(s);
	char sni[256];
	bool acme;

	if (slot == NULL)
		return GNUTLS_E_INTERNAL_ERROR;
	return sni_choose(s, false, slot, sni, sizeof(sni), &acme);
}

/* Parse a TLS ClientHello at the start of `b` far enough to tell whether
 * its ALPN extension offers exactly "acme-tls/1"; the SNI host name goes to
 * sni. Returns 1 (acme-tls/1 only, with a name), 0 (anything else) or -1
 * (incomplete or malformed: let GnuTLS decide). RFC 8446 §4.1.2, RFC 6066
 * §3, RFC 7301 §3.1. */
int sni_peek_acme(const unsigned char *b, size_t n, char *sni, size_t snisz)
{
	size_t p, end, l;
	bool acme = false;

	sni[0] = '\0';
	if (n < 9 || b[0] != 0x16 || b[5] != 0x01)
		return -1;
	end = 5 + ((size_t)b[3] << 8 | b[4]);
	if (end > n)
		return -1;
	p = 9 + 2 + 32; /* headers, legacy_version, random */
	if (p + 1 > end)
		return -1;
	p += 1 + b[p]; /* session id */
	if (p + 2 > end)
		return -1;
	p += 2 + ((size_t)b[p] << 8 | b[p + 1]); /* cipher suites */
	if (p + 1 > end)
		return -1;
	p += 1 + b[p]; /* compression */
	if (p + 2 > end)
		return 0;
	p += 2;
	while (p + 4 <= end) {
		unsigned type = (unsigned)(b[p] << 8 | b[p + 1]);
		size_t el = (size_t)b[p + 2] << 8 | b[p + 3], q = p + 4;

		if (q + el > end)
			return -1;
		if (type == 0x0000 && el >= 5 && b[q + 2] == 0) { /* server_name, host_name */
			l = (size_t)b[q + 3] << 8 | b[q + 4];
			if (q + 5 + l > q + el || l == 0 || l >= snisz)
				return -1;
			memcpy(sni, b + q + 5, l);
			sni[l] = '\0';
		} else if (type == 0x0010 && el >= 3) { /* ALPN: exactly one protocol */
			l = (size_t)b[q + 2];
			acme = el == 13 && l == 10 && memcmp(b + q + 3, "acme-tls/1", 10) == 0;
		}
		p = q + el;
	}
	return acme && sni[0] != '\0' ? 1 : 0;
}


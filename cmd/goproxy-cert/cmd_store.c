/* goproxy-cert store seal-key FILE: make the key that seals private keys in
 * a shared store (--store-seal). Every node gets a copy; etcd never sees it.
 * goproxy-cert store import|export --store URL -d DIR: move a certs
 * directory into the store, or the store into a directory, never replacing
 * an entry that is newer where it goes (in goproxy-cert-acme: it talks to
 * etcd). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "seal.h"
#include "storeopt.h"
#ifdef GPC_ACME_TOOL
#include "buf.h"
#include "issue.h"
#include "issue_opts.h"
#include "lineage.h"
#include "x509.h"
#endif

static const char usage_text[] =
	"usage: goproxy-cert store seal-key FILE\n"
	"       goproxy-cert store import|export --store URL --store-seal FILE [-d DIR]\n"
	"seal-key: make a new seal key (32 random bytes, one base64 line, mode 0600) in\n"
	"FILE for --store-seal. Copy the same file to every node of the fleet; without it\n"
	"the private keys in the store cannot be read. An existing FILE is never overwritten.\n"
	"import: copy the certs directory DIR (pairs, lineage settings, accounts, ledger)\n"
	"into the store; export: the store into DIR. A pair is copied unless the one\n"
	"already there expires later; settings, accounts and the ledger unless there.\n"
	"\n"
	"  -d, --certs-dir DIR      certs directory (default $GOPROXY_CERTS_DIR or ./certs)\n"
	STOREOPT_HELP;

#ifdef GPC_ACME_TOOL
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

/* Copy every lineage (pair, settings, its CA's account) and the ledger. */
static int copy_store(struct certstore *src, struct certstore *dst, const char *into)
{
	struct gpc_error err;
	char **names = NULL, **lins = NULL;
	size_t n = 0, nl = 0, copied = 0, kept = 0, failed = 0;
	int rc = 1;

	gpc_error_clear(&err);
	if (certstore_list(src, &names, &n, &err) != 0 || lineage_list(src, &lins, &nl, &err) != 0) {
		cli_print_error(&err);
		goto out;
	}
	if (certstore_lock(dst, true, 60, &err) != 0) {
		cli_print_error(&err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct buf c, k;

		buf_init(&c, CERTSTORE_MAX_FILE);
		buf_init(&k, CERTSTORE_MAX_FILE);
		if (store_pair_read_checked(src, names[i], &c, &k, &err) != 0) {
			cli_print_error(&err);
			failed++;
		} else if (!store_pair_wanted(dst, names[i], &c, &k, STORE_PAIR_NEWER)) {
			printf("%s: kept (the certificate in %s expires as late or later)\n", names[i], into);
			kept++;
		} else if (certstore_write_pair(dst, names[i], c.data, c.len, k.data, k.len, &err) != 0) {
			cli_print_error(&err);
			certstore_unlock(dst);
			explicit_bzero(k.data ? k.data : c.data, k.data ? k.len : 0);
			buf_finish(&c);
			buf_finish(&k);
			goto out;
		} else {
			printf("%s: pair copied\n", names[i]);
			copied++;
		}
		explicit_bzero(k.data ? k.data : c.data, k.data ? k.len : 0);
		buf_finish(&c);
		buf_finish(&k);
	}
	for (size_t i = 0; i < nl; i++) {
		struct lineage *l = NULL;
		char key[300];
		int r;

		snprintf(key, sizeof(key), "lineages/%s.json", lins[i]);
		if ((r = copy_record(src, dst, key, &err)) < 0) {
			cli_print_error(&err);
			certstore_unlock(dst);
			goto out;
		}
		if (r == 1)
			printf("%s: settings copied\n", lins[i]);
		if (lineage_load(src, lins[i], &l, &err) == 0 && l->ca_url != NULL) {
			char dn[128];
			if (issue_account_dirname(l->ca_url, dn, sizeof(dn)) == 0) {
				const char *files[] = { "key.pem", "account.json" };
				for (size_t f = 0; f < 2; f++) {
					snprintf(key, sizeof(key), "accounts/%s/%s", dn, files[f]);
					if ((r = copy_record(src, dst, key, &err)) < 0) {
						cli_print_error(&err);
						lineage_free(l);
						certstore_unlock(dst);
						goto out;
					}
					if (r == 1)
						printf("account %s: %s copied\n", dn, files[f]);
				}
			}
		}
		lineage_free(l);
		gpc_error_clear(&err);
	}
	{
		int r = copy_record(src, dst, "ledger.json", &err);
		if (r < 0) {
			cli_print_error(&err);
			certstore_unlock(dst);
			goto out;
		}
		printf("ledger: %s\n", r == 1 ? "copied" : "kept");
	}
	certstore_unlock(dst);
	printf("%zu pair(s) copied, %zu kept, into %s\n", copied, kept, into);
	rc = failed > 0 ? 1 : 0;
out:
	certstore_names_free(names, n);
	certstore_names_free(lins, nl);
	return rc;
}

static int store_copy(int argc, char **argv, bool import)
{
	static const struct option longopts[] = {
		{ "certs-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		STOREOPT_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct certstore *dir = NULL, *etcd = NULL;
	struct storeopt none = { 0 };
	struct gpc_error err;
	const char *d = NULL;
	int c, rc = 1;

	optind = 1;
	if (cli_exact_options(import ? "store import" : "store export", argc, argv, "d:h", longopts) != 0)
		return EXIT_USAGE;
	while ((c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': d = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default:
			if (storeopt_take(&cli_store, c, optarg))
				break;
			return cli_usage_error("store", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage_error("store", "unexpected argument '%s'", argv[optind]);
	if (storeopt_url(&cli_store) == NULL)
		return cli_usage_error("store", "%s needs --store URL (or $GOPROXY_CERT_STORE)",
				       import ? "import" : "export");
	gpc_error_clear(&err);
	if (storeopt_open(&cli_store, d, &etcd, &err) != 0 ||
	    storeopt_open(&none, certstore_default_dir(d), &dir, &err) != 0) {
		cli_print_error(&err);
		rc = strcmp(err.code ? err.code : "", GPC_E_USAGE) == 0 ? EXIT_USAGE : 1;
		goto out;
	}
	rc = import ? copy_store(dir, etcd, certstore_dir(etcd)) : copy_store(etcd, dir, certstore_dir(dir));
out:
	certstore_free(dir);
	certstore_free(etcd);
	return rc;
}
#endif

int cmd_store(int argc, char **argv)
{
	struct seal_key *k = NULL;
	struct gpc_error err;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 2)
		return cli_usage_error("store", "missing action (seal-key FILE, import, export)");
	if (strcmp(argv[1], "import") == 0 || strcmp(argv[1], "export") == 0) {
#ifdef GPC_ACME_TOOL
		return store_copy(argc - 1, argv + 1, strcmp(argv[1], "import") == 0);
#else
		return cli_exec_acme(argc, argv);
#endif
	}
	if (strcmp(argv[1], "seal-key") != 0)
		return cli_usage_error("store", "unknown action '%s' (actions: seal-key, import, export)", argv[1]);
	if (argc != 3 || argv[2][0] == '\0' || argv[2][0] == '-')
		return cli_usage_error("store", "seal-key needs one FILE");
	gpc_error_clear(&err);
	if (seal_key_generate(argv[2], &err) != 0 || seal_key_load(argv[2], &k, &err) != 0) {
		cli_print_error(&err);
		return strcmp(err.code ? err.code : "", GPC_E_USAGE) == 0 ? EXIT_USAGE : EXIT_BAD;
	}
	if (!cli.quiet)
		printf("%s: new seal key (key id %s); copy it to every node, mode 0600\n", argv[2], seal_key_id(k));
	seal_key_free(k);
	return 0;
}

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
#include "issue_opts.h"
#include "storecopy.h"
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
/* What the copy did with each entry, on stdout; errors on stderr. */
static void print_event(void *ud, const struct storecopy_event *ev)
{
	const char *into = ud;

	switch (ev->what) {
	case STORECOPY_PAIR_COPIED: printf("%s: pair copied\n", ev->name); break;
	case STORECOPY_PAIR_KEPT:
		printf("%s: kept (the certificate in %s expires as late or later)\n", ev->name, into);
		break;
	case STORECOPY_PAIR_FAILED: cli_print_error(ev->err); break;
	case STORECOPY_SETTINGS_COPIED: printf("%s: settings copied\n", ev->name); break;
	case STORECOPY_ACCOUNT_COPIED: printf("account %s: %s copied\n", ev->name, ev->file); break;
	case STORECOPY_LEDGER_COPIED: printf("ledger: copied\n"); break;
	case STORECOPY_LEDGER_KEPT: printf("ledger: kept\n"); break;
	}
}

/* Copy every lineage (pair, settings, its CA's account) and the ledger. */
static int copy_store(struct certstore *src, struct certstore *dst, const char *into)
{
	struct storecopy_counts counts;
	struct gpc_error err;

	gpc_error_clear(&err);
	if (storecopy_all(src, dst, print_event, (void *)into, &counts, &err) != 0) {
		cli_print_error(&err);
		return 1;
	}
	printf("%zu pair(s) copied, %zu kept, into %s\n", counts.copied, counts.kept, into);
	return counts.failed > 0 ? 1 : 0;
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

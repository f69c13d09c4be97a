/* goproxy-cert store seal-key FILE: make the key that seals private keys in
 * a shared store (--store-seal). Every node gets a copy; etcd never sees it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "seal.h"

static const char usage_text[] =
	"usage: goproxy-cert store seal-key FILE\n"
	"Make a new seal key (32 random bytes, one base64 line, mode 0600) in FILE for\n"
	"--store-seal. Copy the same file to every node of the fleet; without it the\n"
	"private keys in the store cannot be read. An existing FILE is never overwritten.\n";

int cmd_store(int argc, char **argv)
{
	struct seal_key *k = NULL;
	struct gpc_error err;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 2)
		return cli_usage_error("store", "missing action (seal-key FILE)");
	if (strcmp(argv[1], "seal-key") != 0)
		return cli_usage_error("store", "unknown action '%s' (actions: seal-key)", argv[1]);
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

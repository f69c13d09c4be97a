/* issue_dns: the dns-01 options of `issue` and `renew` (--dns PROVIDER,
 * --dns-opt, --dns-resolver, the propagation options); --godoxy-config is
 * parsed here and read by cmd_issue.c. */
#ifndef GPC_ISSUE_DNS_H
#define GPC_ISSUE_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "certstore.h"
#include "lineage.h"

#define ISSUE_DNS_MAX 64

struct issue_dns_args {
	const char *provider;           /* --dns */
	const char *opts[ISSUE_DNS_MAX]; /* --dns-opt KEY=VALUE */
	size_t n_opts;
	const char *resolvers[ISSUE_DNS_MAX];
	size_t n_resolvers;
	int timeout, wait;              /* seconds, 0: unset */
	bool no_check, check;           /* --no-dns-propagation-check / a timeout or wait given */
	const char *godoxy;             /* --godoxy-config FILE */
};

/* getopt_long entries and their codes (from 512 up). */
#define ISSUE_DNS_LONGOPTS                                                        \
	{ "dns", required_argument, NULL, 512 },                                  \
	{ "dns-opt", required_argument, NULL, 513 },                              \
	{ "dns-resolver", required_argument, NULL, 514 },                         \
	{ "dns-propagation-timeout", required_argument, NULL, 515 },              \
	{ "dns-propagation-wait", required_argument, NULL, 516 },                 \
	{ "no-dns-propagation-check", no_argument, NULL, 517 },                   \
	{ "godoxy-config", required_argument, NULL, 518 }

#define ISSUE_DNS_USAGE                                                                              \
	"      --dns PROVIDER       dns-01 through a built-in provider: rfc2136 (dnsupdate), pdns,\n"  \
	"                           acmedns, cloudflare, ... (all: goproxy-cert(1), DNS\n"             \
	"                           PROVIDERS); options from lego's environment names (NAME or\n"   \
	"                           NAME_FILE) or --dns-opt (stored; secrets 0600)\n"               \
	"      --dns-opt KEY=VALUE  a provider option by GoDoxy's name (nameserver, tsig_key, ...)\n"  \
	"      --dns-resolver ADDR[:PORT]  recursive resolver to find the zone, a CNAME and the\n"   \
	"                           zone's servers (repeat; default: /etc/resolv.conf)\n"              \
	"      --dns-propagation-timeout SECONDS  wait at most this long until every\n"               \
	"                           authoritative server serves the record (default 120)\n"           \
	"      --dns-propagation-wait SECONDS  wait this long instead of checking\n"                 \
	"      --no-dns-propagation-check  tell the CA at once\n"                                       \
	"      --godoxy-config FILE issue what GoDoxy's config.yml autocert: block asks for\n"

/* Handle option code c (512..518) with optarg. Returns 0 or 64 (printed). */
int issue_dns_parse(int c, const char *arg, struct issue_dns_args *d);

/* True if c is one of the codes above. */
bool issue_dns_is_opt(int c);

/* Apply the dns options to l: --dns PROVIDER sets solver "dns" and
 * challenge dns-01; the provider's options are the stored ones (secrets
 * read from the store), then the environment's (lego's names and
 * NAME_FILE), then --dns-opt; all checked before any request. Also the
 * resolvers and the propagation settings (for --hook too). Returns 0 or
 * an exit code (64, printed). */
int issue_dns_apply(struct certstore *cs, const struct issue_dns_args *d, bool other_solver, struct lineage *l);


#endif

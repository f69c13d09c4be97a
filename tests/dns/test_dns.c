/* Unit tests of lib/dns (options, environment, secrets in messages) and
 * lib/dns/godoxy.c (GoDoxy's autocert block). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dns.h"
#include "godoxy.h"

#define SECRET "c2VjcmV0LXZhbHVlLTQyLWJhc2U2NA=="

struct fake_env {
	const char *k[8], *v[8];
};

static const char *fenv(const char *name, void *ud)
{
	struct fake_env *e = ud;

	for (int i = 0; i < 8 && e->k[i]; i++)
		if (strcmp(e->k[i], name) == 0)
			return e->v[i];
	return NULL;
}

static void test_find_aliases(void **st)
{
	(void)st;
	assert_string_equal(dns_provider_find("rfc2136")->name, "rfc2136");
	assert_string_equal(dns_provider_find("dnsupdate")->name, "rfc2136");
	assert_string_equal(dns_provider_find("acme-dns")->name, "acmedns");
	assert_string_equal(dns_provider_find("CloudFlare")->name, "cloudflare");
	assert_null(dns_provider_find("cloudflar"));
	assert_string_equal(dns_provider_closest("cloudflar"), "cloudflare");
	assert_string_equal(dns_provider_closest("rfc2163"), "rfc2136");
	assert_string_equal(dns_provider_closest("pdsn"), "pdns");
}

static void test_option_names(void **st)
{
	const struct dns_provider_ops *p = dns_provider_find("rfc2136");

	(void)st;
	/* GoDoxy/lego field names, case and '_' ignored, and env names */
	assert_string_equal(dns_opt_find(p, "tsig_key")->name, "tsig_key");
	assert_string_equal(dns_opt_find(p, "TSIGKey")->name, "tsig_key");
	assert_string_equal(dns_opt_find(p, "tsigsecret")->name, "tsig_secret");
	assert_string_equal(dns_opt_find(p, "RFC2136_NAMESERVER")->name, "nameserver");
	assert_null(dns_opt_find(p, "auth_token"));
	assert_string_equal(dns_opt_find(dns_provider_find("cloudflare"), "CLOUDFLARE_DNS_API_TOKEN")->name,
			    "auth_token");
}

static void test_env_and_file(void **st)
{
	const struct dns_provider_ops *p = dns_provider_find("rfc2136");
	char path[] = "/tmp/dns-secret.XXXXXX";
	int fd = mkstemp(path);
	struct dns_options o = { 0 };
	struct gpc_error err;

	(void)st;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, SECRET "\n", strlen(SECRET) + 1), (ssize_t)strlen(SECRET) + 1);
	close(fd);
	struct fake_env e = { { "RFC2136_NAMESERVER", "RFC2136_TSIG_KEY", "RFC2136_TSIG_SECRET_FILE", "RFC2136_TSIG_ALGORITHM" },
			      { "192.0.2.1:5353", "k1", path, "hmac-sha512" } };
	gpc_error_clear(&err);
	assert_int_equal(dns_options_from_env(p, fenv, &e, &o, &err), 0);
	assert_string_equal(dns_options_get(&o, "tsig_secret"), SECRET); /* newline dropped */
	assert_int_equal(dns_options_validate(p, &o, &err), 0);
	assert_string_equal(dns_options_get(&o, "ttl"), "120");
	/* --dns-opt wins over the environment */
	assert_int_equal(dns_options_parse_arg(p, "nameserver=192.0.2.2", &o, &err), 0);
	assert_string_equal(dns_options_get(&o, "nameserver"), "192.0.2.2");
	for (size_t i = 0; i < o.n; i++)
		assert_int_equal(o.v[i].secret, strcmp(o.v[i].key, "tsig_secret") == 0);
	dns_options_finish(&o);
	unlink(path);

	/* an unreadable _FILE names the variable and the file */
	struct fake_env e2 = { { "RFC2136_TSIG_SECRET_FILE" }, { "/nonexistent/secret" } };
	gpc_error_clear(&err);
	assert_int_equal(dns_options_from_env(p, fenv, &e2, &o, &err), -1);
	assert_non_null(strstr(err.message, "RFC2136_TSIG_SECRET_FILE=/nonexistent/secret"));
	dns_options_finish(&o);
}

static void test_missing_and_malformed(void **st)
{
	const struct dns_provider_ops *p = dns_provider_find("rfc2136");
	struct dns_options o = { 0 };
	struct gpc_error err;

	(void)st;
	gpc_error_clear(&err);
	assert_int_equal(dns_options_validate(p, &o, &err), -1);
	assert_string_equal(err.code, GPC_E_USAGE);
	assert_non_null(strstr(err.message, "nameserver (RFC2136_NAMESERVER) is missing"));
	assert_non_null(strstr(err.message, "rfc2136"));

	/* a key without its secret */
	assert_int_equal(dns_options_set(&o, "nameserver", "192.0.2.1", false), 0);
	assert_int_equal(dns_options_set(&o, "tsig_key", "k1", false), 0);
	gpc_error_clear(&err);
	assert_int_equal(dns_options_validate(p, &o, &err), -1);
	assert_non_null(strstr(err.message, "tsig_secret"));

	/* a secret that is not base64: named, never shown */
	assert_int_equal(dns_options_set(&o, "tsig_secret", "not base64 at all!!", true), 0);
	gpc_error_clear(&err);
	assert_int_equal(dns_options_validate(p, &o, &err), -1);
	assert_null(strstr(err.message, "not base64 at all"));
	assert_null(strstr(err.hint, "not base64 at all"));

	/* unknown --dns-opt key: names provider and key; a bare value is never echoed */
	gpc_error_clear(&err);
	assert_int_equal(dns_options_parse_arg(p, "tsig=x", &o, &err), -1);
	assert_non_null(strstr(err.message, "rfc2136 has no option 'tsig'"));
	assert_non_null(strstr(err.hint, "tsig_secret"));
	gpc_error_clear(&err);
	assert_int_equal(dns_options_parse_arg(p, SECRET, &o, &err), -1);
	assert_null(strstr(err.message, SECRET));
	/* bad algorithm, bad port */
	assert_int_equal(dns_options_set(&o, "tsig_secret", SECRET, true), 0);
	assert_int_equal(dns_options_set(&o, "tsig_algorithm", "hmac-sha3", false), 0);
	gpc_error_clear(&err);
	assert_int_equal(dns_options_validate(p, &o, &err), -1);
	assert_non_null(strstr(err.message, "hmac-sha3"));
	assert_int_equal(dns_options_set(&o, "tsig_algorithm", "hmac-sha256", false), 0);
	assert_int_equal(dns_options_set(&o, "nameserver", "192.0.2.1:99999", false), 0);
	gpc_error_clear(&err);
	assert_int_equal(dns_options_validate(p, &o, &err), -1);
	assert_non_null(strstr(err.message, "HOST[:PORT]"));
	dns_options_finish(&o);

	/* cloudflare without a token */
	const struct dns_provider_ops *cf = dns_provider_find("cloudflare");
	gpc_error_clear(&err);
	assert_int_equal(dns_options_validate(cf, &o, &err), -1);
	assert_non_null(strstr(err.message, "CF_DNS_API_TOKEN"));
	dns_options_finish(&o);
}

static void test_redact(void **st)
{
	struct dns_options o = { 0 };
	char msg[200];

	(void)st;
	assert_int_equal(dns_options_set(&o, "api_key", "sekrit-key", true), 0);
	assert_int_equal(dns_options_set(&o, "api_url", "http://x", false), 0);
	snprintf(msg, sizeof(msg), "server said: bad key sekrit-key for http://x (sekrit-key)");
	dns_redact(msg, sizeof(msg), &o);
	assert_string_equal(msg, "server said: bad key *** for http://x (***)");
	dns_options_finish(&o);
}

static void test_hostport(void **st)
{
	char h[64];
	unsigned port;

	(void)st;
	assert_int_equal(dns_parse_hostport("127.0.0.1", 53, h, sizeof(h), &port), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_int_equal(port, 53);
	assert_int_equal(dns_parse_hostport("[::1]:5353", 53, h, sizeof(h), &port), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(port, 5353);
	assert_int_equal(dns_parse_hostport("::1", 53, h, sizeof(h), &port), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(dns_parse_hostport("ns1.example.org:54", 53, h, sizeof(h), &port), 0);
	assert_int_equal(port, 54);
	assert_int_equal(dns_parse_hostport("1.2.3.4:", 53, h, sizeof(h), &port), -1);
	assert_int_equal(dns_parse_hostport("1.2.3.4:0", 53, h, sizeof(h), &port), -1);
	assert_int_equal(dns_parse_hostport("", 53, h, sizeof(h), &port), -1);
}

static void test_resolv_conf(void **st)
{
	char path[] = "/tmp/resolv.XXXXXX", *ns[4];
	int fd = mkstemp(path);
	struct gpc_error err;
	const char *text = "# comment\nsearch example.org\nnameserver 192.0.2.53\nnameserver   fe80::1%eth0\n"
			   "options ndots:2\nnameserver 198.51.100.1 # trailing\n";

	(void)st;
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	gpc_error_clear(&err);
	assert_int_equal(dns_resolv_conf(path, ns, 4, &err), 3);
	assert_string_equal(ns[0], "192.0.2.53");
	assert_string_equal(ns[1], "fe80::1");
	assert_string_equal(ns[2], "198.51.100.1");
	for (int i = 0; i < 3; i++)
		free(ns[i]);
	unlink(path);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/godoxy.XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* lego's nested settings (ovh's OAuth2Config) are options of their own;
 * a key that is no option of the provider is named with its line. */
static void test_godoxy_nested(void **st)
{
	struct godoxy_autocert a;
	struct gpc_error err;
	char *p = write_tmp("autocert:\n  provider: ovh\n  domains: [a.org]\n"
			    "  options:\n    api_endpoint: ovh-eu\n"
			    "    oauth2_config:\n      client_id: cid\n      client_secret: " SECRET "\n");

	(void)st;
	gpc_error_clear(&err);
	assert_int_equal(godoxy_load(p, &a, &err), 0);
	assert_int_equal(a.certs[0].n_opts, 3);
	assert_string_equal(a.certs[0].opts[1].key, "client_id");
	assert_string_equal(a.certs[0].opts[2].value, SECRET);
	godoxy_finish(&a);
	unlink(p);
	free(p);
	p = write_tmp("autocert:\n  provider: ovh\n  options:\n    api_endpoint: ovh-eu\n"
		      "    oauth2_config:\n      client_secrte: x\n");
	gpc_error_clear(&err);
	assert_int_equal(godoxy_load(p, &a, &err), -1);
	assert_non_null(strstr(err.message, ":6: autocert.options.client_secrte: provider ovh has no option"));
	assert_non_null(strstr(err.hint, "did you mean 'client_secret'?"));
	unlink(p);
	free(p);
}

static void test_godoxy(void **st)
{
	struct godoxy_autocert a;
	struct gpc_error err;
	char *p = write_tmp("providers:\n  docker:\n    local: $DOCKER_HOST\n"
			    "autocert:\n"
			    "  provider: rfc2136\n"
			    "  email: admin@example.org\n"
			    "  domains:\n    - '*.example.org'\n    - example.org\n"
			    "  resolvers: [127.0.0.1:53]\n"
			    "  options:\n    nameserver: 127.0.1.1:53\n    tsig_key: k1\n    tsig_secret: \"" SECRET "\"\n"
			    "    TTL: 60\n    propagation_timeout: 1m30s\n    PollingInterval: 500ms\n"
			    "  extra:\n"
			    "    - cert_path: certs/other/cert.crt\n"
			    "      key_path: certs/other/priv.key\n"
			    "      domains: [other.org]\n"
			    "    - cert_path: certs/cf/cert.crt\n"
			    "      key_path: certs/cf/priv.key\n"
			    "      provider: cloudflare\n"
			    "      domains: cf.org\n"
			    "      options:\n        auth_token: tok\n"
			    "entrypoint:\n  middlewares: []\n");

	(void)st;
	gpc_error_clear(&err);
	assert_int_equal(godoxy_load(p, &a, &err), 0);
	assert_int_equal(a.n, 3);
	assert_string_equal(a.certs[0].provider, "rfc2136");
	assert_int_equal(a.certs[0].n_domains, 2);
	assert_string_equal(a.certs[0].domains[0], "*.example.org");
	assert_int_equal(a.certs[0].n_resolvers, 1);
	/* lego's common options are taken out of the provider's (issue 27) */
	assert_int_equal(a.certs[0].n_opts, 3);
	assert_string_equal(a.certs[0].opts[2].value, SECRET);
	assert_int_equal(a.certs[0].ttl, 60);
	assert_int_equal(a.certs[0].propagation_timeout_ms, 90000);
	assert_int_equal(a.certs[0].polling_interval_ms, 500);
	assert_int_equal(a.certs[0].sequence_interval_ms, -1);
	assert_null(a.certs[0].cert_path);
	/* extra inherits the provider with its options, the email, the resolvers */
	assert_string_equal(a.certs[1].provider, "rfc2136");
	assert_int_equal(a.certs[1].n_opts, 3);
	assert_int_equal(a.certs[1].ttl, 60);
	assert_string_equal(a.certs[1].email, "admin@example.org");
	assert_string_equal(a.certs[1].cert_path, "certs/other/cert.crt");
	/* ...but not another provider's options */
	assert_string_equal(a.certs[2].provider, "cloudflare");
	assert_int_equal(a.certs[2].n_opts, 1);
	assert_int_equal(a.certs[2].ttl, -1);
	assert_int_equal(a.certs[2].n_domains, 1);
	godoxy_finish(&a);
	unlink(p);
	free(p);

	/* Go durations (time.ParseDuration) and bare seconds */
	static const struct {
		const char *text;
		long ms;
	} durs[] = { { "2m", 120000 }, { "90", 90000 }, { "1.5h", 5400000 }, { "1h2m3s", 3723000 },
		     { "250ms", 250 }, { "5x", -2 }, { "-1s", -2 }, { "s", -2 }, { "1m30", -2 } };
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		char y[256];
		snprintf(y, sizeof(y), "autocert:\n  provider: rfc2136\n  options:\n    propagation_timeout: %s\n",
			 durs[i].text);
		p = write_tmp(y);
		gpc_error_clear(&err);
		if (durs[i].ms == -2) {
			assert_int_equal(godoxy_load(p, &a, &err), -1);
			assert_non_null(strstr(err.message, "is not a duration"));
		} else {
			assert_int_equal(godoxy_load(p, &a, &err), 0);
			assert_int_equal(a.certs[0].propagation_timeout_ms, durs[i].ms);
			godoxy_finish(&a);
		}
		unlink(p);
		free(p);
	}

	/* ${VAR}: GODOXY_ first, then GOPROXY_, then the name; $VAR and an
	 * unclosed ${ stay; keys ignoring case and '_'; an unknown key */
	setenv("GODOXY_T27_A", "godoxy", 1);
	setenv("T27_A", "plain", 1);
	setenv("T27_B", "bee", 1);
	p = write_tmp("autocert:\n  Provider: rfc2136\n  EMail: x${T27_A}@${T27_B}.org\n  certpath: c/${T27_B}\n"
		      "  options:\n    nameserver: $T27_B ${T27_B\n");
	gpc_error_clear(&err);
	assert_int_equal(godoxy_load(p, &a, &err), 0);
	assert_string_equal(a.certs[0].email, "xgodoxy@bee.org");
	assert_string_equal(a.certs[0].cert_path, "c/bee");
	assert_string_equal(a.certs[0].opts[0].value, "$T27_B ${T27_B");
	godoxy_finish(&a);
	unlink(p);
	free(p);
	p = write_tmp("autocert:\n  provider: rfc2136\n\n  email: ${T27_UNSET}\n");
	gpc_error_clear(&err);
	assert_int_equal(godoxy_load(p, &a, &err), -1);
	assert_non_null(strstr(err.message, ":4: ${T27_UNSET} is not set"));
	unlink(p);
	free(p);
	p = write_tmp("autocert:\n  provider: rfc2136\n  extra:\n    - cert_path: a.crt\n      kee_path: a.key\n");
	gpc_error_clear(&err);
	assert_int_equal(godoxy_load(p, &a, &err), -1);
	assert_non_null(strstr(err.message, ":5: autocert.extra: unknown key 'kee_path' (did you mean key_path?)"));
	unlink(p);
	free(p);
	/* GoDoxy's account key: missing, not a key */
	gpc_error_clear(&err);
	char *pem = NULL;
	assert_int_equal(godoxy_account_key_pem("/nonexistent/acme.key", &pem, &err), -1);
	assert_string_equal(err.code, GPC_E_MISSING);
	p = write_tmp("not a key\n");
	gpc_error_clear(&err);
	assert_int_equal(godoxy_account_key_pem(p, &pem, &err), -1);
	assert_string_equal(err.code, GPC_E_USAGE);
	assert_null(pem);
	unlink(p);
	free(p);

	/* no autocert block; a YAML error with line and column; a list as a string */
	p = write_tmp("providers:\n  docker: {}\n");
	gpc_error_clear(&err);
	assert_int_equal(godoxy_load(p, &a, &err), -1);
	assert_non_null(strstr(err.message, "no autocert: block"));
	unlink(p);
	free(p);
	p = write_tmp("autocert:\n  provider: cloudflare\n   email: x\n");
	gpc_error_clear(&err);
	assert_int_equal(godoxy_load(p, &a, &err), -1);
	assert_non_null(strstr(err.message, ":3:"));
	unlink(p);
	free(p);
	p = write_tmp("autocert:\n  provider: [cloudflare]\n");
	gpc_error_clear(&err);
	assert_int_equal(godoxy_load(p, &a, &err), -1);
	assert_non_null(strstr(err.message, "autocert.provider must be a string"));
	unlink(p);
	free(p);
	/* a nested option value: the key is named, the value (a secret?) not */
	p = write_tmp("autocert:\n  provider: cloudflare\n  options:\n    auth_token:\n      - " SECRET "\n");
	gpc_error_clear(&err);
	assert_int_equal(godoxy_load(p, &a, &err), -1);
	assert_non_null(strstr(err.message, "options.auth_token"));
	assert_null(strstr(err.message, SECRET));
	unlink(p);
	free(p);
}

/* dns-persist-01 record values as pebble's va reads them (RFC 8659
 * issue-value: whitespace around tags, tags in any case). */
static void test_persist_match(void **state)
{
	const char *iss[] = { "authority.example", "other.example" };
	struct dns_persist_want w = { .fqdn = "_validation-persist.example.com.", .issuers = iss, .n_issuers = 2,
				      .account_uri = "https://ca.example/acct/123", .wildcard = false,
				      .now = 2000000000 };
	char why[300];
	time_t u;

	(void)state;
	assert_int_equal(dns_persist_match("authority.example; accounturi=https://ca.example/acct/123", &w, &u, why,
					   sizeof(why)), 1);
	assert_int_equal(u, 0);
	assert_int_equal(dns_persist_match("   other.example   ;   ACCOUNTURI   =   https://ca.example/acct/123   ;   "
					   "policy   =   wildcard   ;   PersistUntil   =   4102444800   ", &w, &u, why,
					   sizeof(why)), 1);
	assert_int_equal(u, 4102444800);
	/* not ours */
	assert_int_equal(dns_persist_match("letsencrypt.org; accounturi=https://ca.example/acct/123", &w, &u, why,
					   sizeof(why)), 0);
	assert_non_null(strstr(why, "issuer 'letsencrypt.org'"));
	assert_int_equal(dns_persist_match("authority.example; accounturi=https://ca.example/acct/124", &w, &u, why,
					   sizeof(why)), 0);
	assert_non_null(strstr(why, "another account"));
	assert_int_equal(dns_persist_match("authority.example", &w, &u, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "no accounturi"));
	assert_int_equal(dns_persist_match("authority.example; accounturi", &w, &u, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "tag=value"));
	/* persistUntil */
	assert_int_equal(dns_persist_match("authority.example; accounturi=https://ca.example/acct/123; persistUntil=1",
					   &w, &u, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "persistUntil=1 has passed"));
	assert_int_equal(dns_persist_match("authority.example; accounturi=https://ca.example/acct/123; "
					   "persistUntil=soon", &w, &u, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "not a Unix time"));
	/* a wildcard needs policy=wildcard (any case); another policy is none */
	w.wildcard = true;
	assert_int_equal(dns_persist_match("authority.example; accounturi=https://ca.example/acct/123", &w, &u, why,
					   sizeof(why)), 0);
	assert_non_null(strstr(why, "policy=wildcard"));
	assert_int_equal(dns_persist_match("authority.example; accounturi=https://ca.example/acct/123; policy=other",
					   &w, &u, why, sizeof(why)), 0);
	assert_int_equal(dns_persist_match("authority.example; accounturi=https://ca.example/acct/123; policy=WildCard",
					   &w, &u, why, sizeof(why)), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_aliases),
		cmocka_unit_test(test_option_names),
		cmocka_unit_test(test_env_and_file),
		cmocka_unit_test(test_missing_and_malformed),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_resolv_conf),
		cmocka_unit_test(test_godoxy),
		cmocka_unit_test(test_godoxy_nested),
		cmocka_unit_test(test_persist_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

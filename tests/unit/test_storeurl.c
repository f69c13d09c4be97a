/* storeurl: --store URLs, good and bad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "storeurl.h"

static void test_good(void **state)
{
	struct store_url u;
	struct gpc_error e = { 0 };

	(void)state;
	assert_int_equal(store_url_parse("etcd://10.0.0.1:2379,10.0.0.2:2379,node3/fleet/certs", &u, &e), 0);
	assert_false(u.tls);
	assert_int_equal(u.n_members, 3);
	assert_string_equal(u.members[0], "http://10.0.0.1:2379");
	assert_string_equal(u.members[2], "http://node3:2379");
	assert_string_equal(u.prefix, "/fleet/certs");
	assert_string_equal(u.text, "etcd://10.0.0.1:2379,10.0.0.2:2379,node3:2379/fleet/certs");
	/* defaults: port, prefix; trailing slashes dropped */
	assert_int_equal(store_url_parse("etcd://localhost", &u, &e), 0);
	assert_string_equal(u.members[0], "http://localhost:2379");
	assert_string_equal(u.prefix, "/goproxy-cert");
	assert_int_equal(store_url_parse("etcd://h:1/", &u, &e), 0);
	assert_string_equal(u.prefix, "/goproxy-cert");
	assert_int_equal(store_url_parse("etcd://h:65535/p//", &u, &e), 0);
	assert_string_equal(u.prefix, "/p");
	/* TLS, IPv6 */
	assert_int_equal(store_url_parse("etcd+https://[::1]:2379,[fd00::2]/gp", &u, &e), 0);
	assert_true(u.tls);
	assert_string_equal(u.members[0], "https://[::1]:2379");
	assert_string_equal(u.members[1], "https://[fd00::2]:2379");
	assert_string_equal(u.text, "etcd+https://[::1]:2379,[fd00::2]:2379/gp");
	assert_int_equal(store_url_parse("etcd+http://h:2/x", &u, &e), 0);
	assert_false(u.tls);
}

static void bad(const char *url, const char *want)
{
	struct store_url u;
	struct gpc_error e = { 0 };

	assert_int_equal(store_url_parse(url, &u, &e), -1);
	assert_string_equal(e.code, GPC_E_USAGE);
	if (strstr(e.message, want) == NULL)
		fail_msg("%s: message '%s' lacks '%s'", url, e.message, want);
	assert_true(e.hint[0] != '\0');
}

static void test_bad(void **state)
{
	(void)state;
	bad("", "empty");
	bad("http://h:2379", "not an etcd URL");
	bad("/var/lib/certs", "not a URL");
	bad("etcd://", "no member");
	bad("etcd:///prefix", "no member");
	bad("etcd://h:2379,,g:2379", "empty member");
	bad("etcd://h:2379,", "empty member");
	bad("etcd://h:0", "not in 1-65535");
	bad("etcd://h:65536", "not in 1-65535");
	bad("etcd://h:9999999999", "not a port");
	bad("etcd://h:23x9", "not a port");
	bad("etcd://h:", "without a port");
	bad("etcd://h_x:1", "not a host name");
	bad("etcd://[::1", "closing");
	bad("etcd://[::g]:1", "IPv6");
	bad("etcd://[::1]x", "after ']'");
	bad("etcd://h/a/../b", "'..'");
	bad("etcd://h/a b", "only letters");
	bad("etcd://h/p?x=1", "query");
	{
		struct store_url u;
		struct gpc_error e = { 0 };
		assert_int_equal(store_url_parse("etcd://user:secret@h:2379", &u, &e), -1);
		assert_null(strstr(e.message, "secret"));
		assert_non_null(strstr(e.hint, "GOPROXY_CERT_STORE_PASSWORD"));
	}
	assert_true(store_url_is_url("etcd://h"));
	assert_true(store_url_is_url("etcd+https://h"));
	assert_false(store_url_is_url("certs"));
	assert_false(store_url_is_url("/srv/a://b"));
	assert_false(store_url_is_url("://h"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

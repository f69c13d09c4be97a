/* issue_release: a run gives up its --standalone port together with the
 * issuer lock (lib/acme/issue.c), against a real pebble (run by
 * tests/protocol/acme_pebble.sh, which exports PEBBLE_*).
 *
 * Two "runs" on one certs directory, each its own certstore and issue_env,
 * as two goproxy-cert processes are (the issuer lock is a flock per open
 * file): run 1 issues lineage a on --standalone 127.0.0.1:$PEBBLE_HTTP_PORT
 * and stays alive, as a renew does between its lineages and before it
 * exits; run 2 then issues lineage b on the same address. Before the fix
 * run 1 still listened there once it had let go of the lock, and run 2
 * failed with "cannot listen: Address already in use" (faults-concurrent
 * failed so, by chance, in CI). Then run 1 issues lineage c on the address
 * again (it binds anew), and the port is free once more. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <curl/curl.h>

#include "certstore.h"
#include "driver.h"
#include "issue.h"
#include "lineage.h"
#include "log.h"

static void log_cb(enum gpc_log_level level, const char *msg, void *ud)
{
	(void)level;
	(void)ud;
	fprintf(stderr, "  log: %s\n", msg);
}

/* Can this process listen on 127.0.0.1:port now (as the solver does)? */
static int port_free(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	MUST(fd >= 0, "socket: %s", strerror(errno));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 1) == 0;
	if (!r)
		fprintf(stderr, "  127.0.0.1:%d: %s\n", port, strerror(errno));
	close(fd);
	return r;
}

struct run {
	struct certstore *cs;
	struct issue_env env;
};

static void run_open(struct run *r, const char *dir)
{
	struct gpc_error err;

	gpc_error_clear(&err);
	MUST(certstore_open(dir, &r->cs, &err) == 0, "%s: %s", dir, err.message);
	issue_env_init(&r->env, r->cs, 0);
}

static void run_close(struct run *r)
{
	issue_env_finish(&r->env);
	certstore_free(r->cs);
}

/* Issue lineage `name` for NAME.example.test through run r; returns the result. */
static enum issue_result issue(struct run *r, const char *name, const char *standalone)
{
	struct issue_opts o;
	struct issue_outcome out;
	struct gpc_error err;
	struct lineage *l = lineage_new(name);
	char ident[128];
	char *names[1] = { ident };
	enum issue_result res;

	MUST(l != NULL, "out of memory");
	snprintf(ident, sizeof(ident), "%s.example.test", name);
	gpc_error_clear(&err);
	MUST(lineage_set_names(l, names, 1, &err) == 0, "%s", err.message);
	l->ca_url = strdup(env("PEBBLE_DIR_URL"));
	l->ca_bundle = strdup(env("PEBBLE_CA_BUNDLE"));
	l->solver = strdup("standalone");
	l->solver_arg = strdup(standalone);
	MUST(l->ca_url && l->ca_bundle && l->solver && l->solver_arg, "out of memory");
	issue_opts_default(&o);
	o.lim.off = true;
	o.lock_wait_secs = 0; /* the other run holds nothing: never wait */
	memset(&out, 0, sizeof(out));
	res = issue_lineage(&r->env, l, &o, &out);
	fprintf(stderr, "%s: %s%s%s\n", name, issue_result_name(res), out.err.message[0] ? ": " : "",
		out.err.message);
	lineage_free(l);
	return res;
}

int main(int argc, char **argv)
{
	int port = atoi(env("PEBBLE_HTTP_PORT"));
	char dir[] = "/tmp/issue-release.XXXXXX", addr[64], cmd[128];
	struct run r1, r2;

	if (argc < 2 || strcmp(argv[1], "release") != 0) {
		fprintf(stderr, "usage: issue_release release\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	gpc_log_set_handler(log_cb, NULL, GPC_LOG_INFO);
	MUST(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	MUST(port_free(port), "pebble's http-01 port %d is taken before the test", port);
	run_open(&r1, dir);
	run_open(&r2, dir);

	CHECK(issue(&r1, "a", addr) == ISSUE_ISSUED, "run 1, lineage a");
	CHECK(port_free(port), "run 1 let go of the issuer lock but still listens on %s", addr);
	CHECK(issue(&r2, "b", addr) == ISSUE_ISSUED, "run 2, lineage b, while run 1 is alive");
	CHECK(issue(&r1, "c", addr) == ISSUE_ISSUED, "run 1 again, lineage c: it binds %s anew", addr);
	CHECK(port_free(port), "after lineage c, run 1 still listens on %s", addr);

	run_close(&r2);
	run_close(&r1);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	curl_global_cleanup();
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	else
		printf("PASS\n");
	return failures ? 1 : 0;
}

/* goproxyd: options, start-up checks (each failing with a clear message and
 * the exit status of man/goproxyd.8 before anything runs), listeners bound
 * first and privileges dropped after, workers, signals, pidfiles. */
#include "goproxyd.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "optexact.h"
#include "records.h"
#include "storeopt.h"

/* TLS 1.2 and 1.3, AEAD ciphers, ECDHE only. X25519 first: it is what
 * clients send a key share for, so no HelloRetryRequest round trip. */
#define PRIORITY                                                                          \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:"         \
	"+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:" \
	"-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:-GROUP-ALL:+GROUP-X25519:"         \
	"+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-X448:%SERVER_PRECEDENCE"

struct gpd_config gpd_cfg;
atomic_ulong gpd_active_conns;
gnutls_priority_t gpd_priority;
gnutls_datum_t gpd_ticket_key;

static const char *prog = "goproxyd";
static struct gpd_worker **workers;
static pthread_t *threads;
static unsigned nthreads;
static struct certstore *cs;
static bool state_pid_written, pidfile_written;

static void log_stderr(enum gpc_log_level level, const char *msg, void *ud)
{
	static const char *const lv[] = { "error: ", "warning: ", "", "", "debug: " };
	char line[2300], ts[32];
	struct timespec now;
	struct tm tm;
	int n;

	(void)ud;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ goproxyd[%ld]: %s%s\n", ts,
		     now.tv_nsec / 1000000, (long)getpid(), lv[level], msg);
	if (n > 0)
		(void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: goproxyd [-d CERTS_DIR | --store URL [--store-cache DIR]] -l [ADDR:]PORT [-l ...]\n"
		"                -b HOST:PORT\n"
		"                [--route SERVERNAME=HOST:PORT]... [--http [ADDR:]PORT]\n"
		"                [--proxy-protocol v1|v2] [--alpn LIST] [--workers N]\n"
		"                [--max-conns N] [--handshake-timeout S] [--idle-timeout S]\n"
		"                [--drain-timeout S] [--user USER] [--pidfile FILE]\n"
		"                [--sni-strict] [-v]\n"
		"\n"
		"Terminate TLS with the certificates of a goproxy-cert certs directory and\n"
		"forward the bytes to a backend. See goproxyd(8).\n"
		"\n"
		"  -d, --certs-dir DIR       certs directory (default $GOPROXY_CERTS_DIR, else ./certs)\n"
		STOREOPT_HELP
		"      --store-cache DIR    local copy of the store's pairs (keys sealed) to start from\n"
		"                           while etcd is down (default $STATE_DIRECTORY/cache, else\n"
		"                           /var/lib/goproxyd/cache as root, else ~/.local/state/goproxyd/cache)\n"
		"  -l, --listen [ADDR:]PORT  TLS listener (repeatable; no ADDR: all addresses)\n"
		"  -b, --backend HOST:PORT   default backend\n"
		"      --route NAME=HOST:PORT  send server NAME (or *.suffix) to another backend\n"
		"      --http [ADDR:]PORT    answer http-01 challenges, redirect the rest to https\n"
		"      --proxy-protocol v1|v2  send a PROXY protocol header to the backend\n"
		"      --alpn LIST           ALPN protocols, comma separated (default http/1.1)\n"
		"      --workers N           worker threads (default: number of CPUs)\n"
		"      --max-conns N         refuse TLS connections beyond N (default: from ulimit -n)\n"
		"      --handshake-timeout S close connections without a handshake after S s (10)\n"
		"      --idle-timeout S      close connections idle for S s (300; 0: never)\n"
		"      --drain-timeout S     on SIGTERM, wait S s for open connections (10)\n"
		"      --user USER           drop privileges to USER after binding\n"
		"      --pidfile FILE        also write the process id to FILE\n"
		"      --sni-strict          refuse handshakes for unknown server names\n"
		"  -v, --verbose             debug logging\n"
		"  -h, --help                this help\n"
		"  -V, --version             print the version\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'goproxyd --help'.\n");
	return GPD_EXIT_USAGE;
}

/* "[ADDR:]PORT" (listen) or "HOST:PORT" (backend; need_host). IPv6 in
 * brackets. Returns 0 or -1 (message printed by the caller). */
static int parse_addr(const char *s, bool need_host, bool passive, struct gpd_addr *a,
		      char *why, size_t whysz)
{
	char host[256] = "", port[16];
	const char *colon, *p;
	struct addrinfo hints, *res = NULL;
	int r;

	snprintf(a->text, sizeof(a->text), "%s", s);
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host)) {
			snprintf(why, whysz, "expected [IPV6]:PORT");
			return -1;
		}
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		p = end + 2;
	} else if ((colon = strrchr(s, ':')) != NULL) {
		if ((size_t)(colon - s) >= sizeof(host) || colon == s) {
			snprintf(why, whysz, "bad host");
			return -1;
		}
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		p = colon + 1;
	} else {
		if (need_host) {
			snprintf(why, whysz, "expected HOST:PORT");
			return -1;
		}
		p = s;
	}
	if (*p == '\0' || strlen(p) >= sizeof(port) || strspn(p, "0123456789") != strlen(p) ||
	    atol(p) > 65535 || (need_host && atol(p) == 0)) {
		snprintf(why, whysz, "'%s' is not a port number", p);
		return -1;
	}
	snprintf(port, sizeof(port), "%s", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	if (host[0] == '\0') {
		/* all addresses: dual-stack IPv6 socket */
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
		memset(&a->ss, 0, sizeof(a->ss));
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_any;
		in6->sin6_port = htons((uint16_t)atoi(port));
		a->len = sizeof(*in6);
		return 0;
	}
	r = getaddrinfo(host, port, &hints, &res);
	if (r != 0) {
		snprintf(why, whysz, "cannot resolve '%s': %s", host, gai_strerror(r));
		return -1;
	}
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int parse_seconds(const char *opt, const char *v, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !(d >= 0) || d > 86400 * 365)
		return usage_error("%s: '%s' is not a number of seconds", opt, v);
	*out = d;
	return 0;
}

static int parse_ulong(const char *opt, const char *v, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n < min || n > max)
		return usage_error("%s: '%s' is not a whole number between %lu and %lu", opt, v,
				   min, max);
	*out = n;
	return 0;
}

static int parse_alpn(const char *list)
{
	const char *p = list;

	gpd_cfg.nalpn = 0;
	while (*p) {
		size_t l = strcspn(p, ",");
		if (l == 0 || l > 255)
			return usage_error("--alpn: '%s': empty or too long protocol name", list);
		if (gpd_cfg.nalpn >= GPD_MAX_ALPN)
			return usage_error("--alpn: at most %d protocols", GPD_MAX_ALPN);
		if (l == 10 && memcmp(p, "acme-tls/1", 10) == 0)
			return usage_error("--alpn: acme-tls/1 is handled by goproxyd itself");
		gpd_cfg.alpn[gpd_cfg.nalpn].data = (unsigned char *)strndup(p, l);
		gpd_cfg.alpn[gpd_cfg.nalpn].size = (unsigned)l;
		gpd_cfg.nalpn++;
		p += l;
		if (*p == ',')
			p++;
	}
	if (gpd_cfg.nalpn == 0)
		return usage_error("--alpn: empty list");
	return 0;
}

int gpd_listen(const struct gpd_addr *a, bool reuseport)
{
	int fd, one = 1, zero = 0;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		gpc_err("cannot listen on %s: socket: %s", a->text, strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
		int e = errno;
		gpc_err("cannot listen on %s: %s%s", a->text, strerror(e),
			e == EADDRINUSE ? " (another program uses this port)"
			: e == EACCES   ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
					: "");
		close(fd);
		errno = e;
		return -1;
	}
	if (listen(fd, 1024) != 0) {
		gpc_err("cannot listen on %s: %s", a->text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Bind a probe without SO_REUSEPORT first: that way a port held by another
 * program (even one using SO_REUSEPORT) is reported, and port 0 is resolved
 * to one concrete port shared by all workers. */
static int resolve_listen(struct gpd_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	int fd = gpd_listen(a, false);

	if (fd < 0)
		return -1;
	if (getsockname(fd, (struct sockaddr *)&ss, &l) == 0) {
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&a->ss)->sin_port = ((struct sockaddr_in *)&ss)->sin_port;
		else if (ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&a->ss)->sin6_port =
				((struct sockaddr_in6 *)&ss)->sin6_port;
	}
	close(fd);
	return 0;
}

/* goproxyd's presence in the store ("answers: TYPE..."), naming the ACME
 * challenge types this goproxyd answers from the store's challenge
 * records, so that `goproxy-cert issue` picks a type it can serve (http-01
 * only with --http); in a certs directory it is .state/goproxyd.pid, the
 * process id on its first line. --pidfile gets the id only. */
static void write_pidfiles(void)
{
	char pid[32], info[96];
	struct gpc_error err;
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

	(void)records_presence_format(gpd_cfg.has_http, info, sizeof(info));
	gpc_error_clear(&err);
	if (certstore_presence_set(cs, PRESENCE_GOPROXYD, info, &err) == 0)
		state_pid_written = true;
	else
		gpc_warn("cannot record goproxyd's presence in %s: %s", certstore_dir(cs), err.message);
	if (gpd_cfg.pidfile != NULL) {
		gpc_error_clear(&err);
		if (fs_write_atomic(gpd_cfg.pidfile, pid, (size_t)n, 0644, &err) == 0)
			pidfile_written = true;
		else
			gpc_warn("--pidfile: %s", err.message);
	}
}

static void remove_pidfiles(void)
{
	struct gpc_error err;

	gpc_error_clear(&err);
	if (state_pid_written)
		certstore_presence_clear(cs, PRESENCE_GOPROXYD);
	if (pidfile_written)
		(void)unlink(gpd_cfg.pidfile);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	if (w->signum == SIGHUP) {
		creds_request_reload();
		return;
	}
	gpc_info("%s: stopping (draining open connections for up to %.0f s)",
		 w->signum == SIGTERM ? "SIGTERM" : "SIGINT", gpd_cfg.drain_timeout);
	http_stop(loop);
	for (unsigned i = 0; i < nthreads; i++)
		worker_stop(workers[i]);
	ev_break(loop, EVBREAK_ALL);
}

static int drop_privileges(const struct passwd *pw)
{
	if (setgroups(1, &pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		gpc_err("--user %s: cannot drop privileges: %s", pw->pw_name, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 && pw->pw_uid != 0) {
		gpc_err("--user %s: privileges could be regained; refusing to run", pw->pw_name);
		return -1;
	}
	return 0;
}

/* The default --store-cache: "cache" in goproxyd's state directory, which
 * is $STATE_DIRECTORY (systemd's StateDirectory=; the first of a list),
 * else /var/lib/goproxyd when run as root, else $XDG_STATE_HOME/goproxyd
 * (~/.local/state/goproxyd). Returns a static string, or NULL (no home). */
static const char *default_store_cache(void)
{
	static char path[PATH_MAX];
	char dir[PATH_MAX];
	int n;

	if (fs_state_dir("goproxyd", dir, sizeof(dir)) != 0)
		return NULL;
	n = snprintf(path, sizeof(path), "%s/cache", dir);
	return n > 0 && (size_t)n < sizeof(path) ? path : NULL;
}

/* The cache is written after privileges are dropped: it (and what is in
 * it) belongs to --user. Returns 0 or -1 after logging why. */
static int chown_cache(const char *dir, const struct passwd *pw)
{
	struct dirent *de;
	DIR *d;

	if (chown(dir, pw->pw_uid, pw->pw_gid) != 0 || (d = opendir(dir)) == NULL) {
		gpc_err("--store-cache %s: cannot give it to --user %s: %s", dir, pw->pw_name, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' &&
		    fchownat(dirfd(d), de->d_name, pw->pw_uid, pw->pw_gid, AT_SYMLINK_NOFOLLOW) != 0)
			gpc_warn("--store-cache %s/%s: chown to %s: %s", dir, de->d_name, pw->pw_name, strerror(errno));
	closedir(d);
	return 0;
}

/* --route SERVERNAME=HOST:PORT. Returns 0 or an exit code. */
static int parse_route(const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct gpd_route *rt;
	char why[256];
	size_t nl;

	if (eq == NULL || eq == arg)
		return usage_error("--route %s: expected SERVERNAME=HOST:PORT", arg);
	nl = (size_t)(eq - arg);
	if (nl > 253 || strcspn(arg, " /\t") < nl ||
	    (memchr(arg, '*', nl) != NULL &&
	     (arg[0] != '*' || arg[1] != '.' || nl < 3 || memchr(arg + 1, '*', nl - 1) != NULL)))
		return usage_error("--route %s: '%.*s' is not a server name or *.suffix", arg, (int)nl, arg);
	rt = realloc(gpd_cfg.routes, (gpd_cfg.nroutes + 1) * sizeof(*rt));
	if (rt == NULL)
		return GPD_EXIT_RUNTIME;
	gpd_cfg.routes = rt;
	rt = &gpd_cfg.routes[gpd_cfg.nroutes];
	memset(rt, 0, sizeof(*rt));
	rt->name = strndup(arg, nl);
	if (parse_addr(eq + 1, true, false, &rt->backend, why, sizeof(why)) != 0)
		return usage_error("--route %s: %s", arg, why);
	gpd_cfg.nroutes++;
	return 0;
}

static struct storeopt store_opts;

enum { O_ROUTE = 256, O_HTTP, O_PP, O_ALPN, O_WORKERS, O_MAXC, O_HST, O_IDLE, O_DRAIN,
       O_USER, O_PIDFILE, O_STRICT, O_STORE_CACHE };

/* One option into gpd_cfg. Returns -1 to go on, or an exit code (0 after
 * --help / --version). */
static int take_option(int opt, const char **certs_dir, bool *max_given, const char **backend)
{
	char why[256];
	unsigned long ul;
	int r;

	switch (opt) {
	case 'd':
		*certs_dir = optarg;
		break;
	case 'l':
		if (gpd_cfg.nlisten >= GPD_MAX_LISTEN)
			return usage_error("-l: at most %d listeners", GPD_MAX_LISTEN);
		if (parse_addr(optarg, false, true, &gpd_cfg.listen[gpd_cfg.nlisten], why,
			       sizeof(why)) != 0)
			return usage_error("-l %s: %s", optarg, why);
		gpd_cfg.nlisten++;
		break;
	case 'b':
		*backend = optarg;
		if (parse_addr(optarg, true, false, &gpd_cfg.backend, why, sizeof(why)) != 0)
			return usage_error("-b %s: %s", optarg, why);
		break;
	case O_ROUTE:
		if ((r = parse_route(optarg)) != 0)
			return r;
		break;
	case O_HTTP:
		if (parse_addr(optarg, false, true, &gpd_cfg.http, why, sizeof(why)) != 0)
			return usage_error("--http %s: %s", optarg, why);
		gpd_cfg.has_http = true;
		break;
	case O_PP:
		if (strcmp(optarg, "v1") == 0 || strcmp(optarg, "1") == 0)
			gpd_cfg.proxy_proto = 1;
		else if (strcmp(optarg, "v2") == 0 || strcmp(optarg, "2") == 0)
			gpd_cfg.proxy_proto = 2;
		else
			return usage_error("--proxy-protocol: '%s' is not v1 or v2", optarg);
		break;
	case O_ALPN:
		if (parse_alpn(optarg) != 0)
			return GPD_EXIT_USAGE;
		break;
	case O_WORKERS:
		if (parse_ulong("--workers", optarg, 1, 256, &ul) != 0)
			return GPD_EXIT_USAGE;
		gpd_cfg.workers = (unsigned)ul;
		break;
	case O_MAXC:
		if (parse_ulong("--max-conns", optarg, 1, 10000000, &ul) != 0)
			return GPD_EXIT_USAGE;
		gpd_cfg.max_conns = ul;
		*max_given = true;
		break;
	case O_HST:
		if (parse_seconds("--handshake-timeout", optarg, &gpd_cfg.handshake_timeout))
			return GPD_EXIT_USAGE;
		if (gpd_cfg.handshake_timeout <= 0)
			return usage_error("--handshake-timeout: must be more than 0");
		break;
	case O_IDLE:
		if (parse_seconds("--idle-timeout", optarg, &gpd_cfg.idle_timeout))
			return GPD_EXIT_USAGE;
		break;
	case O_DRAIN:
		if (parse_seconds("--drain-timeout", optarg, &gpd_cfg.drain_timeout))
			return GPD_EXIT_USAGE;
		break;
	case O_USER:
		gpd_cfg.user = optarg;
		break;
	case O_PIDFILE:
		gpd_cfg.pidfile = optarg;
		break;
	case O_STRICT:
		gpd_cfg.sni_strict = true;
		break;
	case O_STORE_CACHE:
		if (optarg[0] == '\0')
			return usage_error("--store-cache: empty directory name");
		gpd_cfg.store_cache = optarg;
		break;
	case 'v':
		gpd_cfg.verbose++;
		break;
	case 'h':
		usage(stdout);
		return GPD_EXIT_OK;
	case 'V':
		printf("goproxyd %s\n", GPC_VERSION);
		return GPD_EXIT_OK;
	default:
		if (storeopt_take(&store_opts, opt, optarg))
			break;
		fprintf(stderr, "Try 'goproxyd --help'.\n");
		return GPD_EXIT_USAGE;
	}
	return -1;
}

/* What the options say together, once all are read. Returns -1 to go on,
 * or an exit code. */
static int check_options(int argc, char **argv, const char *certs_dir, const char *backend)
{
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (gpd_cfg.nlisten == 0)
		return usage_error("missing -l [ADDR:]PORT (where to accept TLS)");
	if (backend == NULL)
		return usage_error("missing -b HOST:PORT (where to forward)");
	if (gpd_cfg.store_cache != NULL && storeopt_url(&store_opts) == NULL)
		return usage_error("--store-cache needs --store URL (a certs directory is local already)");
	if (certs_dir != NULL && storeopt_url(&store_opts) != NULL)
		return usage_error("-d %s and --store %s (or $GOPROXY_CERT_STORE) name two stores; give one "
				   "(GOPROXY_CERT_STORE= for the directory)", certs_dir, storeopt_url(&store_opts));
	if (gpd_cfg.nalpn == 0 && parse_alpn("http/1.1") != 0)
		return GPD_EXIT_USAGE;
	/* acme-tls/1 last: chosen only when the client offers nothing else
	 * (RFC 8737 §3: the validation ClientHello offers only acme-tls/1) */
	gpd_cfg.alpn[gpd_cfg.nalpn].data = (unsigned char *)"acme-tls/1";
	gpd_cfg.alpn[gpd_cfg.nalpn].size = 10;
	gpd_cfg.nalpn++;
	return -1;
}

/* The command line into gpd_cfg. Returns -1 to go on, or an exit code
 * (0 after --help / --version). */
static int parse_options(int argc, char **argv, const char **certs_dir, bool *max_given)
{
	static const struct option opts[] = {
		{ "certs-dir", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "backend", required_argument, NULL, 'b' },
		{ "route", required_argument, NULL, O_ROUTE },
		{ "http", required_argument, NULL, O_HTTP },
		{ "proxy-protocol", required_argument, NULL, O_PP },
		{ "alpn", required_argument, NULL, O_ALPN },
		{ "workers", required_argument, NULL, O_WORKERS },
		{ "max-conns", required_argument, NULL, O_MAXC },
		{ "handshake-timeout", required_argument, NULL, O_HST },
		{ "idle-timeout", required_argument, NULL, O_IDLE },
		{ "drain-timeout", required_argument, NULL, O_DRAIN },
		{ "user", required_argument, NULL, O_USER },
		{ "pidfile", required_argument, NULL, O_PIDFILE },
		{ "sni-strict", no_argument, NULL, O_STRICT },
		{ "store-cache", required_argument, NULL, O_STORE_CACHE },
		STOREOPT_LONG_OPTIONS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *backend = NULL;
	int opt, r;
	long n;

	gpd_cfg.handshake_timeout = 10;
	gpd_cfg.idle_timeout = 300;
	gpd_cfg.drain_timeout = 10;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	gpd_cfg.workers = n > 0 ? (unsigned)n : 1;
	/* long options only in full: getopt_long would take a prefix */
	char msg[256];
	if (opt_exact_check(argc, argv, "d:l:b:vhV", opts, msg, sizeof(msg)) != 0)
		return usage_error("%s", msg);
	while ((opt = getopt_long(argc, argv, "d:l:b:vhV", opts, NULL)) != -1)
		if ((r = take_option(opt, certs_dir, max_given, &backend)) != -1)
			return r;
	return check_options(argc, argv, *certs_dir, backend);
}

/* Every listener, once per worker (SO_REUSEPORT), and the HTTP one. Returns
 * 0 with *fdsp (workers x listeners) and *http_fd, or an exit code. */
static int bind_all(int **fdsp, int *http_fd)
{
	int *fds;

	for (size_t i = 0; i < gpd_cfg.nlisten; i++)
		if (resolve_listen(&gpd_cfg.listen[i]) != 0)
			return GPD_EXIT_OSERR;
	fds = calloc((size_t)gpd_cfg.workers * gpd_cfg.nlisten, sizeof(*fds));
	if (fds == NULL)
		return GPD_EXIT_RUNTIME;
	*fdsp = fds;
	for (unsigned w = 0; w < gpd_cfg.workers; w++)
		for (size_t i = 0; i < gpd_cfg.nlisten; i++) {
			int fd = gpd_listen(&gpd_cfg.listen[i], true);
			if (fd < 0)
				return GPD_EXIT_OSERR;
			fds[w * gpd_cfg.nlisten + i] = fd;
		}
	if (gpd_cfg.has_http && (*http_fd = gpd_listen(&gpd_cfg.http, false)) < 0)
		return GPD_EXIT_OSERR;
	return 0;
}

/* The worker threads (and the reload thread) with the signals blocked, so
 * that only the main loop takes them. Returns the number started. */
static unsigned start_workers(int *fds)
{
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	workers = calloc(gpd_cfg.workers, sizeof(*workers));
	threads = calloc(gpd_cfg.workers, sizeof(*threads));
	if (workers == NULL || threads == NULL || creds_start_reloader() != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 0;
	}
	for (unsigned w = 0; w < gpd_cfg.workers; w++) {
		workers[w] = worker_new(w, fds + (size_t)w * gpd_cfg.nlisten, gpd_cfg.nlisten);
		if (workers[w] == NULL || pthread_create(&threads[w], NULL, worker_run, workers[w])) {
			gpc_err("cannot start worker %u", w);
			worker_free(workers[w]);
			workers[w] = NULL;
			break;
		}
		for (size_t i = 0; i < gpd_cfg.nlisten; i++)
			fds[w * gpd_cfg.nlisten + i] = -1;
		nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return nthreads;
}

static void log_listening(void)
{
	for (size_t i = 0; i < gpd_cfg.nlisten; i++) {
		char host[INET6_ADDRSTRLEN + 2] = "*";
		unsigned port = 0;
		const struct sockaddr_storage *ss = &gpd_cfg.listen[i].ss;
		if (ss->ss_family == AF_INET) {
			inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
			port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
		} else {
			const struct sockaddr_in6 *s6 = (const void *)ss;
			if (!IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
				inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			port = ntohs(s6->sin6_port);
		}
		gpc_info("listening on %s:%u (TLS, %u worker%s, %zu lineage%s from %s)", host, port, nthreads,
			 nthreads == 1 ? "" : "s", sni_count(), sni_count() == 1 ? "" : "s", gpd_cfg.certs_dir);
	}
	if (gpd_cfg.has_http)
		gpc_info("listening on %s (HTTP: http-01 answers and redirects)", gpd_cfg.http.text);
}

/* The --user to run as, the store's cache and the store itself: the
 * certs directory must open before anything binds. Returns -1 to go on,
 * or an exit code. */
static int open_store(const char *certs_dir, struct passwd **pw)
{
	struct gpc_error err;

	if (gpd_cfg.user != NULL) {
		errno = 0;
		*pw = getpwnam(gpd_cfg.user);
		if (*pw == NULL) {
			gpc_err("--user %s: no such user", gpd_cfg.user);
			return GPD_EXIT_NOUSER;
		}
	}

	/* With a store: where the copy of its pairs lives (store_etcd.h). */
	if (storeopt_url(&store_opts) != NULL) {
		if (gpd_cfg.store_cache == NULL && (gpd_cfg.store_cache = default_store_cache()) == NULL) {
			gpc_err("--store: no state directory for the cache of the store's pairs ($STATE_DIRECTORY "
				"and $HOME unset)\n  hint: give --store-cache DIR");
			return GPD_EXIT_USAGE;
		}
		store_opts.cache = gpd_cfg.store_cache;
	}

	gpc_error_clear(&err);
	gpd_cfg.certs_dir = certstore_default_dir(certs_dir);
	if (storeopt_open(&store_opts, certs_dir, &cs, &err) != 0) {
		gpc_err("%s%s%s", err.message, err.hint[0] ? "\n  hint: " : "", err.hint);
		return GPD_EXIT_CERTS;
	}
	gpd_cfg.certs_dir = certstore_dir(cs); /* the directory, or the store's URL */
	return -1;
}

/* More descriptors: two per connection. */
static void raise_fd_limit(bool max_given)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!max_given) {
		rlim_t lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
		gpd_cfg.max_conns = lim > 128 ? (unsigned long)(lim - 64) / 2 : 32;
	}
}

/* The one teardown: everything main set up, whatever got that far. */
static void release_all(int *fds, int http_fd)
{
	remove_pidfiles();
	if (fds != NULL)
		for (size_t i = 0; i < (size_t)gpd_cfg.workers * gpd_cfg.nlisten; i++)
			if (fds[i] > 0)
				close(fds[i]);
	if (http_fd >= 0)
		close(http_fd);
	free(fds);
	free(workers);
	free(threads);
	creds_shutdown();
	if (gpd_priority != NULL)
		gnutls_priority_deinit(gpd_priority);
	if (gpd_ticket_key.data != NULL)
		gnutls_free(gpd_ticket_key.data);
	for (size_t i = 0; i < gpd_cfg.nroutes; i++)
		free(gpd_cfg.routes[i].name);
	free(gpd_cfg.routes);
	for (unsigned i = 0; i + 1 < gpd_cfg.nalpn; i++)
		free(gpd_cfg.alpn[i].data);
	certstore_free(cs);
}

int main(int argc, char **argv)
{
	const char *certs_dir = NULL;
	struct passwd *pw = NULL;
	struct ev_loop *loop;
	ev_signal sig_term, sig_int, sig_hup;
	int *fds = NULL, http_fd = -1, rc = GPD_EXIT_RUNTIME, r;
	bool max_given = false;

	if ((r = parse_options(argc, argv, &certs_dir, &max_given)) >= 0)
		return r;
	gpc_log_set_handler(log_stderr, NULL, gpd_cfg.verbose ? GPC_LOG_DEBUG : GPC_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);

	if ((r = open_store(certs_dir, &pw)) >= 0)
		return r;
	raise_fd_limit(max_given);

	/* Bind everything first, then drop privileges, then load the
	 * certificates as that user (reloads will read them as that user too). */
	if ((r = bind_all(&fds, &http_fd)) != 0) {
		rc = r;
		goto out;
	}
	if (pw != NULL && gpd_cfg.store_cache != NULL && chown_cache(gpd_cfg.store_cache, pw) != 0) {
		rc = GPD_EXIT_OSERR;
		goto out;
	}
	if (pw != NULL && drop_privileges(pw) != 0) {
		rc = GPD_EXIT_OSERR;
		goto out;
	}
	if ((r = creds_init(cs)) < 0) {
		rc = r == -2 ? GPD_EXIT_TEMPFAIL : GPD_EXIT_CERTS;
		goto out;
	}
	if ((r = gnutls_priority_init(&gpd_priority, PRIORITY, NULL)) < 0) {
		gpc_err("TLS priority string: %s", gnutls_strerror(r));
		goto out;
	}
	/* one ticket key for all workers, so a ticket works on any of them */
	if ((r = gnutls_session_ticket_key_generate(&gpd_ticket_key)) < 0) {
		gpc_err("session ticket key: %s", gnutls_strerror(r));
		goto out;
	}

	loop = ev_default_loop(EVFLAG_AUTO);
	ev_signal_init(&sig_term, on_signal, SIGTERM);
	ev_signal_init(&sig_int, on_signal, SIGINT);
	ev_signal_init(&sig_hup, on_signal, SIGHUP);
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_int);
	ev_signal_start(loop, &sig_hup);
	if (http_fd >= 0) {
		if (http_start(loop, http_fd, cs) != 0)
			goto out;
		http_fd = -1;
	}
	if (start_workers(fds) == 0)
		goto out;
	write_pidfiles();
	log_listening();

	ev_run(loop, 0);

	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(threads[i], NULL);
		worker_free(workers[i]);
	}
	gpc_info("stopped");
	rc = GPD_EXIT_OK;
out:
	release_all(fds, http_fd);
	return rc;
}

/* freeport [COUNT]: print COUNT (default 1) distinct free TCP ports on
 * 127.0.0.1, one per line, for a test to bind right after.
 *
 * The ports come from outside the kernel's ephemeral range
 * (/proc/sys/net/ipv4/ip_local_port_range): a port from inside it (what
 * bind to port 0 gives) can be taken between this program and the test's
 * bind as the source port of any outgoing connection on the machine -- the
 * tests running next to it make thousands -- and the test's bind then fails
 * with "Address already in use" (seen in CI: proxy/issue-alpn). Each port is
 * picked at random below (or above) that range and kept only if it binds;
 * all stay bound until all are picked, so they differ.
 *
 * A port handed out is also reserved for RESERVE_SECONDS: a file named by
 * the port in the reservation directory ($FREEPORT_DIR, else
 * ${TMPDIR:-/tmp}/goproxy-cert-freeport.UID), so a second freeport started
 * by a test running next to this one does not hand out the same port in
 * the window before the first test binds it. The directory is locked
 * (flock) while ports are picked, so two runs never both take a port.
 *
 * $FREEPORT_RANGE=LO-HI picks from LO..HI instead (tests/lib/t-freeport.sh
 * uses it to run out of ports on purpose). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 64
#define LOW_PORT 10000 /* below: well-known and registered services */
#define MAX_TRIES 2000
#define RESERVE_SECONDS 300

/* The ephemeral range; the Linux default when it cannot be read. */
static void ephemeral_range(unsigned *lo, unsigned *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	*lo = 32768, *hi = 60999;
	if (f != NULL) {
		if (fscanf(f, "%u %u", lo, hi) != 2 || *lo > *hi || *hi > 65535)
			*lo = 32768, *hi = 60999;
		fclose(f);
	}
}

static unsigned rnd(void)
{
	unsigned r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned)rand();
	return r;
}

/* A random port outside [elo, ehi] and at or above LOW_PORT; 0 if none. */
static unsigned pick(unsigned elo, unsigned ehi)
{
	unsigned below = elo > LOW_PORT ? elo - LOW_PORT : 0;
	unsigned above = ehi < 65535 ? 65535 - ehi : 0;
	unsigned r;

	if (below + above == 0)
		return 0;
	r = rnd() % (below + above);
	return r < below ? LOW_PORT + r : ehi + 1 + (r - below);
}

/* $FREEPORT_RANGE as LO-HI; 0 if unset, -1 (said) if malformed. */
static int user_range(unsigned *lo, unsigned *hi)
{
	const char *s = getenv("FREEPORT_RANGE");
	char *end;
	unsigned long a, b;

	if (s == NULL || *s == '\0')
		return 0;
	a = strtoul(s, &end, 10);
	if (*end != '-')
		goto bad;
	b = strtoul(end + 1, &end, 10);
	if (*end != '\0' || a < 1 || a > b || b > 65535)
		goto bad;
	*lo = (unsigned)a, *hi = (unsigned)b;
	return 1;
bad:
	fprintf(stderr, "freeport: FREEPORT_RANGE=%s is not LO-HI with 1 <= LO <= HI <= 65535\n", s);
	return -1;
}

/* The reservation directory, made 0700 if missing and refused unless it
 * is a directory of ours; its lock file is returned locked, -1 (said). */
static int lock_dir(char *dir, size_t len)
{
	const char *d = getenv("FREEPORT_DIR"), *tmp = getenv("TMPDIR");
	char lock[PATH_MAX];
	struct stat st;
	int fd;

	if (d != NULL && *d != '\0')
		snprintf(dir, len, "%s", d);
	else
		snprintf(dir, len, "%s/goproxy-cert-freeport.%u",
			 tmp != NULL && *tmp != '\0' ? tmp : "/tmp", (unsigned)getuid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "freeport: cannot make the reservation directory %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
		fprintf(stderr, "freeport: %s is not a directory owned by uid %u; remove it or set FREEPORT_DIR\n",
			dir, (unsigned)getuid());
		return -1;
	}
	snprintf(lock, sizeof(lock), "%s/lock", dir);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		fprintf(stderr, "freeport: cannot lock %s: %s\n", lock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Whether a reservation made at t still holds at now (a clock set back
 * leaves it holding no longer than RESERVE_SECONDS either). */
static int fresh(time_t t, time_t now)
{
	return now - t < RESERVE_SECONDS && t - now < RESERVE_SECONDS;
}

/* Whether another freeport handed out port p less than RESERVE_SECONDS ago. */
static int reserved(const char *dir, unsigned p, time_t now)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%u", dir, p);
	return lstat(path, &st) == 0 && fresh(st.st_mtime, now);
}

/* Drop the reservations that have run out, so the directory stays small. */
static void prune(const char *dir, time_t now)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (strspn(e->d_name, "0123456789") != strlen(e->d_name) || e->d_name[0] == '\0')
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !fresh(st.st_mtime, now))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* Reserve port p from now on; -1 (said) on failure. */
static int reserve(const char *dir, unsigned p)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%u", dir, p);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || futimens(fd, NULL) < 0) {
		fprintf(stderr, "freeport: cannot write the reservation %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int fds[MAX_PORTS];
	unsigned ports[MAX_PORTS];
	unsigned elo, ehi, ulo = 0, uhi = 0;
	char dir[PATH_MAX - 16];
	long count = 1;
	int i, n, tries = 0, rc = 1, lockfd, ranged;
	time_t now;

	if (argc > 2 || (argc == 2 && ((count = strtol(argv[1], NULL, 10)) < 1 || count > MAX_PORTS))) {
		fprintf(stderr, "usage: freeport [COUNT 1..%d]\n", MAX_PORTS);
		return 64;
	}
	n = (int)count;
	ephemeral_range(&elo, &ehi);
	if ((ranged = user_range(&ulo, &uhi)) < 0)
		return 64;
	srand((unsigned)getpid());
	if ((lockfd = lock_dir(dir, sizeof(dir))) < 0)
		return 1;
	now = time(NULL); /* after the lock: reservations made before it are not newer */
	prune(dir, now);
	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (i = 0; i < n;) {
		struct sockaddr_in sa;
		unsigned p = ranged ? ulo + rnd() % (uhi - ulo + 1) : pick(elo, ehi);
		int j, dup = 0;

		if (p == 0 || ++tries > MAX_TRIES) {
			if (ranged)
				fprintf(stderr, "freeport: no free port in FREEPORT_RANGE=%u-%u that freeport "
						"has not handed out in the last %d s (%s)\n", ulo, uhi, RESERVE_SECONDS, dir);
			else
				fprintf(stderr, "freeport: no free port outside the ephemeral range %u-%u "
						"(/proc/sys/net/ipv4/ip_local_port_range) that freeport has not "
						"handed out in the last %d s (%s)\n", elo, ehi, RESERVE_SECONDS, dir);
			goto out;
		}
		for (j = 0; j < i; j++)
			dup |= ports[j] == p;
		if (dup || reserved(dir, p, now))
			continue;
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0) {
			perror("freeport: socket");
			goto out;
		}
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons((unsigned short)p);
		if (bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = errno;

			close(fds[i]);
			fds[i] = -1;
			if (e == EADDRINUSE || e == EACCES)
				continue; /* taken (or reserved): another */
			perror("freeport: bind");
			goto out;
		}
		ports[i++] = p;
	}
	for (i = 0; i < n; i++)
		if (reserve(dir, ports[i]) < 0)
			goto out;
	for (i = 0; i < n; i++)
		printf("%u\n", ports[i]);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	close(lockfd);
	return rc;
}

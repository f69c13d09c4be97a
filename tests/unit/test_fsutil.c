/* fs_ephemeral: is the certs directory on storage that survives a reboot or
 * a container being recreated? Decided from mountinfo text written here
 * (proc(5) format), plus one call on the real /proc of this machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fsutil.h"

/* a container: overlay root, a bind-mounted volume at /certs, tmpfs /run,
 * a path with a space (escaped as \040) */
static const char *container_mi =
	"600 500 0:50 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n"
	"601 600 0:52 / /proc rw,nosuid - proc proc rw\n"
	"602 600 0:53 / /run rw,nosuid - tmpfs tmpfs rw,size=65536k\n"
	"603 600 8:1 /srv/certs /certs rw,relatime - ext4 /dev/sda1 rw\n"
	"604 600 8:1 /srv/data /my\\040data rw,relatime - ext4 /dev/sda1 rw\n"
	"605 600 8:1 /var/lib/docker/containers/x/hosts /etc/hosts rw - ext4 /dev/sda1 rw\n";

#define EXT4 0xEF53L
#define TMPFS 0x01021994L
#define OVERLAY 0x794c7630L

static void test_container_root(void **state)
{
	struct gpc_error e = { 0 };

	(void)state;
	assert_int_equal(fs_ephemeral_decide("/app/certs", container_mi, OVERLAY, 1, &e), 1);
	assert_string_equal(e.code, FS_E_EPHEMERAL);
	assert_non_null(strstr(e.message, "/app/certs"));
	assert_non_null(strstr(e.message, "container"));
	assert_non_null(strstr(e.hint, "volume"));
	/* the same place outside a container: a normal root filesystem */
	memset(&e, 0, sizeof(e));
	assert_int_equal(fs_ephemeral_decide("/app/certs", container_mi, OVERLAY, 0, &e), 0);
	assert_null(e.code);
}

static void test_container_volume(void **state)
{
	struct gpc_error e = { 0 };

	(void)state;
	assert_int_equal(fs_ephemeral_decide("/certs", container_mi, EXT4, 1, &e), 0);
	assert_int_equal(fs_ephemeral_decide("/certs/site", container_mi, EXT4, 1, &e), 0);
	/* /certsx is not under /certs */
	assert_int_equal(fs_ephemeral_decide("/certsx", container_mi, OVERLAY, 1, &e), 1);
	/* an escaped mount point */
	memset(&e, 0, sizeof(e));
	assert_int_equal(fs_ephemeral_decide("/my data/certs", container_mi, EXT4, 1, &e), 0);
	/* a file bind mount elsewhere does not make /etc a volume */
	assert_int_equal(fs_ephemeral_decide("/etc/certs", container_mi, OVERLAY, 1, &e), 1);
}

static void test_tmpfs(void **state)
{
	struct gpc_error e = { 0 };

	(void)state;
	/* tmpfs from mountinfo, in or out of a container */
	assert_int_equal(fs_ephemeral_decide("/run/certs", container_mi, EXT4, 0, &e), 1);
	assert_non_null(strstr(e.message, "in memory"));
	assert_non_null(strstr(e.message, "mounted at /run"));
	assert_non_null(strstr(e.message, "reboot"));
	/* tmpfs from statfs alone (no mountinfo) */
	memset(&e, 0, sizeof(e));
	assert_int_equal(fs_ephemeral_decide("/x", NULL, TMPFS, 0, &e), 1);
	assert_non_null(strstr(e.message, "/x is in memory (tmpfs)"));
	/* no mountinfo, disk: nothing known, no advice */
	memset(&e, 0, sizeof(e));
	assert_int_equal(fs_ephemeral_decide("/x", NULL, EXT4, 1, &e), 0);
}

static void test_garbage_mountinfo(void **state)
{
	struct gpc_error e = { 0 };

	(void)state;
	assert_int_equal(fs_ephemeral_decide("/a", "", EXT4, 1, &e), 0);
	assert_int_equal(fs_ephemeral_decide("/a", "1 2 3\n - \n\n-", EXT4, 1, &e), 0);
	assert_int_equal(fs_ephemeral_decide("/a", "1 2 3 4 / 6 - \n", EXT4, 1, &e), 0);
	assert_int_equal(fs_ephemeral_decide("/a", "1 2 3 4 /\\777 6 - ext4\n", EXT4, 1, &e), 0);
}

static void test_real(void **state)
{
	struct gpc_error e = { 0 };

	(void)state;
	/* whatever this machine is, the call works and a "yes" explains itself */
	if (fs_ephemeral(".", &e) == 1)
		assert_non_null(strstr(e.hint, "certs"));
	assert_int_equal(fs_ephemeral("/nonexistent/dir", &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_root),
		cmocka_unit_test(test_container_volume),
		cmocka_unit_test(test_tmpfs),
		cmocka_unit_test(test_garbage_mountinfo),
		cmocka_unit_test(test_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

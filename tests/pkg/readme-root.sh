#!/bin/bash
# tests/pkg/readme-root.sh: the README's two commands, exactly as written, on
# a fresh Debian 12 machine: a new root (debootstrap --variant=minbase
# bookworm) with nothing installed but what debootstrap puts there, a git
# clone of this checkout in it, and each command run as root in its own
# clone with no build directory (what a new user does). Not part of
# `meson test` (needs root and Debian's archive; 15-25 minutes); run by hand:
#
#   bash tests/pkg/readme-root.sh [1|2|both]      (default both)
#
# Prints each command's last lines and "README command N: exit RC"; a failed
# command's output and meson's test log are copied to $GPC_README_LOGS
# (default /var/tmp). Exits non-zero when a command fails. GPC_PKG_MIRROR as in tests/pkg/run.sh;
# GPC_PKG_KEEP=1 keeps the root.
set -euo pipefail
export LC_ALL=C
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MIRROR=${GPC_PKG_MIRROR:-http://deb.debian.org/debian}
WHICH=${1:-both}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
for t in debootstrap unshare chroot git; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
T=$(mktemp -d "${TMPDIR:-/var/tmp}/gpc-readme.XXXXXX")
chmod 755 "$T"
R=$T/root
cleanup() {
	rc=$?
	if [ -n "${GPC_PKG_KEEP:-}" ]; then echo "kept $T"; else rm -rf --one-file-system "$T"; fi
	exit "$rc"
}
trap cleanup EXIT
# make_root, inroot CMD...: the Debian root
. "$SRC/tests/pkg/root.sh"
start=$(date +%s)
echo "== debootstrap bookworm"
make_root "$R" "$MIRROR" "$T/debootstrap.log" || { echo "FAIL: debootstrap failed twice"; exit 1; }
echo "root made in $(($(date +%s) - start)) s"

rc_all=0
for n in 1 2; do
	[ "$WHICH" = both ] || [ "$WHICH" = "$n" ] || continue
	cmd=$(sh "$SRC/tests/lib/readme-cmd.sh" "$n")
	rm -rf "$R/root/src$n"
	git clone -q "$SRC" "$R/root/src$n"
	echo "== README command $n, in a fresh clone ($(git -C "$R/root/src$n" rev-parse --short HEAD)) in the new root: $cmd"
	t0=$(date +%s)
	rc=0
	inroot env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
		bash -c "cd /root/src$n && $cmd" </dev/null >"$T/cmd$n.log" 2>&1 || rc=$?
	tail -n 25 "$T/cmd$n.log"
	echo "README command $n: exit $rc after $(($(date +%s) - t0)) s"
	if [ "$rc" != 0 ]; then
		rc_all=1
		# the whole output and meson's test log, kept out of the root
		L=${GPC_README_LOGS:-/var/tmp}
		cp "$T/cmd$n.log" "$L/readme-root-cmd$n.log"
		cp "$R/root/src$n/build/meson-logs/testlog.txt" "$L/readme-root-testlog$n.txt" 2>/dev/null || :
		echo "logs: $L/readme-root-cmd$n.log $L/readme-root-testlog$n.txt"
	fi
done
exit "$rc_all"

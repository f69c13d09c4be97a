#!/bin/sh
# The disk (issue 5): a full filesystem and a read-only one under the certs
# directory (a small tmpfs mounted by the test; needs root, else skipped).
# renew/issue must fail with a clear error naming the path and "no space
# left" / "read-only", leave the old pair byte-identical and no temp file, and
# work again once the disk is fixed. Several "almost full" levels (0, 1, 2, 4
# free pages) hit different steps of the write (key staged, cert not; ...).
set -eu
. "$TESTS_DIR/faults/common.sh"
KEEP_GOING=1
faults_init
need_cli issue
need_cli renew
[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
MNT=$WORK/mnt
mkdir -p "$MNT"
mount -t tmpfs -o size=2m,mode=0755 tmpfs "$MNT" 2>"$WORK/mount.err" ||
	skip "cannot mount a tmpfs here: $(cat "$WORK/mount.err")"
FAULTS_MOUNTS=$MNT
pebble_start

D=$MNT/certs
issue_via "$PEBBLE_DIR_URL" "$D" -n w -D w.example.test
expect_rc 0
cp "$D/w/cert.crt" "$WORK/old.crt"
cp "$D/w/priv.key" "$WORK/old.key"

same_pair() {
	cmp -s "$WORK/old.crt" "$D/w/cert.crt" || fail "$1: cert.crt changed"
	cmp -s "$WORK/old.key" "$D/w/priv.key" || fail "$1: priv.key changed"
	no_partial "$D"
}

# fill FREE_PAGES: fill the tmpfs, then free that many 4 KiB pages.
fill() {
	mkdir -p "$MNT/fill"
	i=0
	while dd if=/dev/zero of="$MNT/fill/$i" bs=4096 count=1 2>/dev/null; do
		i=$((i + 1))
	done
	rm -f "$MNT/fill/$i"
	j=0
	while [ $j -lt "$1" ]; do
		rm -f "$MNT/fill/$((i - 1 - j))"
		j=$((j + 1))
	done
}
unfill() { rm -rf "$MNT/fill"; }

for free in 0 1 2 4; do
	echo "== full filesystem ($free pages free): renew --force"
	fill "$free"
	gpc renew -d "$D" --force --rate-limit off
	if [ "$RC" = 0 ]; then
		# With some pages free the write may simply fit; then the pair
		# must be whole and new.
		echo "   exit 0 with $free pages free (it fitted)"
		no_partial "$D"
		cp "$D/w/cert.crt" "$WORK/old.crt"
		cp "$D/w/priv.key" "$WORK/old.key"
	else
		expect_rc 1 75
		expect_err "$MNT"
		grep -qi 'no space left' "$WORK/err" || fail "free=$free: 'no space left' not said"
		same_pair "free=$free"
	fi
	unfill
done

echo "== full filesystem: issue of a new lineage writes nothing"
fill 0
gpc issue -d "$D" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
	--standalone "127.0.0.1:$PEBBLE_HTTP_PORT" -n x -D x.example.test
[ "$RC" != 0 ] || fail "issue on a full disk exits 0"
expect_err "$MNT"
grep -qi 'no space left' "$WORK/err" || fail "issue: 'no space left' not said"
[ ! -e "$D/x/cert.crt" ] && [ ! -e "$D/x/priv.key" ] || fail "issue wrote a pair on a full disk"
no_partial "$D"
unfill

echo "== read-only filesystem: renew --force"
mount -o remount,ro "$MNT" || fail "remount ro"
gpc renew -d "$D" --force --rate-limit off
[ "$RC" != 0 ] || fail "renew on a read-only disk exits 0"
expect_err "$MNT"
grep -qi 'read-only' "$WORK/err" || fail "'read-only' not said"
same_pair "read-only"
echo "== read-only filesystem: check still works (offline, read-only)"
gpc check -d "$D"
expect_rc 0
mount -o remount,rw "$MNT" || fail "remount rw"

echo "== disk fixed: renew works again"
gpc renew -d "$D" --force --rate-limit off
expect_rc 0
cmp -s "$WORK/old.crt" "$D/w/cert.crt" && fail "certificate not renewed after the disk was fixed"
no_partial "$D"
faults_done

#!/bin/sh
# A certs directory that will not survive a reboot (tmpfs) or a new container
# (the container's own root filesystem) is named, with what is lost and the
# fix: by status (text and --json warnings), and by issue/renew before they
# ask the CA for a certificate (never under -q). A directory on a mounted
# disk gets no such warning.
. "$TESTS_DIR/check/lib.sh"

ACME=$BUILD_DIR/cmd/goproxy-cert/goproxy-cert-acme
[ -x "$ACME" ] || { echo "SKIP: $ACME not built"; exit 77; }
# An ACME server that is not there: issue gets as far as asking it
DEAD=$("$FREEPORT" 1)
SERVER="https://127.0.0.1:$DEAD/dir"

# expect_persist_warning DIR: status and issue name DIR as not persistent
expect_persist_warning() {
	run status -d "$1" --json
	jq -e '.warnings | map(select(.code == "certs-dir-not-persistent")) | length == 1' "$T/out" >/dev/null ||
		fail "status --json: no certs-dir-not-persistent warning for $1"
	jq -e --arg d "$1" '.warnings[] | select(.code == "certs-dir-not-persistent") |
		(.message | contains($d)) and (.message | contains("rate-limit ledger")) and (.hint | length > 0)' \
		"$T/out" >/dev/null || fail "status --json: warning does not name $1, what is lost and the fix"
	run status -d "$1"
	expect_out_has "warning: $1 is" "status text"
	run issue -d "$1" -D persist.example --server "$SERVER"
	expect_rc 75 "issue with the CA unreachable"
	expect_err_has "warning: $1 is" "issue"
	# one line (issue 24): where, what is lost, the fix and how to say it
	# is meant; the long form is status's
	[ "$(grep -c "$1 is" "$T/err")" = 1 ] || fail "issue: the persistence warning is not one line"
	expect_err_has "--ephemeral-ok" "issue"
	if grep -q "hint: mount a volume\|hint: keep the certs directory" "$T/err"; then
		fail "issue: the persistence warning has a second line"
	fi
	run issue -q -d "$1" -D persist.example --server "$SERVER"
	expect_rc 75 "issue -q with the CA unreachable"
	if grep -q "not on a mounted\|is in memory" "$T/err"; then fail "issue -q printed the warning"; fi
	# acknowledged once for the directory: no warning from then on
	run issue -d "$1" -D persist.example --server "$SERVER" --ephemeral-ok
	expect_rc 75 "issue --ephemeral-ok with the CA unreachable"
	if grep -q "not on a mounted\|is in memory" "$T/err"; then fail "issue --ephemeral-ok warned"; fi
	run issue -d "$1" -D persist.example --server "$SERVER"
	if grep -q "not on a mounted\|is in memory" "$T/err"; then fail "the acknowledgement was not kept for $1"; fi
	run status -d "$1" --json
	jq -e '[.warnings[] | select(.code == "certs-dir-not-persistent")] | length == 0' "$T/out" >/dev/null ||
		fail "status --json warns about an acknowledged directory"
	rm -f "$1/.state/ephemeral-ok"
	export GOPROXY_CERT_EPHEMERAL_OK=1
	run issue -d "$1" -D persist.example --server "$SERVER"
	unset GOPROXY_CERT_EPHEMERAL_OK
	if grep -q "not on a mounted\|is in memory" "$T/err"; then fail "GOPROXY_CERT_EPHEMERAL_OK=1: warned"; fi
}
expect_no_persist_warning() {
	run status -d "$1" --json
	jq -e '[.warnings[] | select(.code == "certs-dir-not-persistent")] | length == 0' "$T/out" >/dev/null ||
		fail "status --json: $1 reported as not persistent"
	run issue -d "$1" -D persist.example --server "$SERVER"
	expect_rc 75 "issue with the CA unreachable"
	if grep -q "not on a mounted\|is in memory" "$T/err"; then fail "issue warned about $1"; fi
}

ran=""
# 1. tmpfs (needs root to mount one)
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: certs directory on a tmpfs (mounting one needs root)"
else
	M=$T/mem
	mkdir -p "$M"
	if ! mount -t tmpfs -o size=1m,mode=0755 tmpfs "$M" 2>/dev/null; then
		echo "SKIP: certs directory on a tmpfs (mount -t tmpfs refused here)"
	else
		trap 'umount "$M" 2>/dev/null || true; rm -rf "$T"' EXIT
		mkdir "$M/certs"
		expect_persist_warning "$M/certs"
		# nothing written: the CA was never reached
		[ -z "$(find "$M/certs" -name '*.crt' -o -name '*.key' | head -n 1)" ] || fail "a pair was written"
		umount "$M"
		ran="$ran tmpfs"
	fi
fi

# 2. This machine's own /tmp: in a container (a marker file) and on the
# root mount, it is the container's own filesystem; otherwise it is not
# reported (unless /tmp is a tmpfs).
D=$T/certs
mkdir -p "$D"
R=$(realpath "$D")
rootmount=$(findmnt -n -o TARGET -T "$R" 2>/dev/null || echo unknown)
fstype=$(stat -f -c %T "$R")
if [ "$fstype" = tmpfs ] || [ "$fstype" = ramfs ]; then
	expect_persist_warning "$R"
	ran="$ran tmp-in-memory"
elif { [ -e /.dockerenv ] || [ -e /run/.containerenv ]; } && [ "$rootmount" = / ]; then
	expect_persist_warning "$R"
	ran="$ran container-root"
elif [ "$rootmount" != unknown ]; then
	expect_no_persist_warning "$R"
	ran="$ran disk"
else
	echo "SKIP: certs directory in this machine's /tmp (findmnt cannot say which mount holds $R)"
fi
[ -n "$ran" ] || { echo "SKIP: no case could be set up here"; exit 77; }
echo "PASS:$ran"

#!/bin/sh
# check/status as an unprivileged user: a key it cannot read, a certs dir it
# cannot read or write. Tests run as root and drop to nobody with setpriv.
. "$TESTS_DIR/check/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to drop to nobody"; exit 77; }
if command -v setpriv >/dev/null 2>&1; then
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
elif command -v runuser >/dev/null 2>&1; then
	as_nobody() { runuser -u nobody -- "$@"; }
else
	echo "SKIP: neither setpriv nor runuser"; exit 77
fi
NOBODY=$(id -u nobody)
# the binary where nobody can run it (the build dir may be private)
mkdir -m 755 "$T/bin"
cp "$GOPROXY_CERT" "$T/bin/goproxy-cert"
chmod 755 "$T/bin/goproxy-cert"
B=$T/bin/goproxy-cert

# nobody_run ARGS...: like run, as nobody
nobody_run() {
	set +e
	as_nobody "$B" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	set -e
}

make_ca
NOW=$(date +%s)
make_leaf leaf "@$((NOW - 86400))" "@$((NOW + 89 * 86400))" www.example.org
D=$T/certs
install_pair leaf "$D"
install_pair leaf "$D/www"
chmod 755 "$D" "$D/www"

# as root: all fine
run check -d "$D"
expect_rc 0 "root reads everything"

# as nobody: the keys (root, 0600) are unreadable
before=$(snapshot "$D")
nobody_run check -d "$D" --json
expect_rc 2 "unreadable key"
expect_state default unreadable
expect_state www unreadable
jq -e '.certificates[0].problems[0].code == "permission-denied"' "$T/out" >/dev/null || fail "problem code"
jq -e '.certificates[0].domains == ["www.example.org"]' "$T/out" >/dev/null || fail "the readable cert is still described"
jq -e '.warnings[0].code == "certs-dir-not-writable"' "$T/out" >/dev/null || fail "dir not writable warning"
nobody_run check -d "$D" default
expect_rc 2
expect_err_has "goproxy-cert: $D/priv.key: open failed: Permission denied"
expect_err_has "  hint: running as uid $NOBODY, but $D/priv.key is owned by uid 0 gid 0 with mode 0600"
expect_err_has "warning: $D: not writable by uid $NOBODY (owner uid 0 gid 0, mode 0755)"
[ "$(snapshot "$D")" = "$before" ] || fail "check changed the certs dir"

# status reports and exits 0
nobody_run status -d "$D" --json
expect_rc 0 "status with an unreadable key"
expect_state default unreadable
jq -e '.certificates[0].key_mode == "0600" and .certificates[0].cert_mode == "0644"' "$T/out" >/dev/null || fail "modes"

# a key readable through its group: fine for check, with the warning
chgrp nogroup "$D/priv.key"
chmod 640 "$D/priv.key"
set +e
setpriv --reuid=nobody --regid=nogroup --init-groups "$B" check -d "$D" default >"$T/out" 2>"$T/err"
RC=$?
set -e
expect_rc 0 "key readable by group"
expect_err_has "warning: $D/priv.key: private key readable by the group (mode 0640)"
chmod 600 "$D/priv.key"
chgrp root "$D/priv.key"

# a certs dir nobody may not enter
chmod 700 "$D"
nobody_run check -d "$D" --json
expect_rc 2 "unreadable certs dir"
jq -e '.problems[0].code == "permission-denied" and .certificates == []' "$T/out" >/dev/null || fail "dir problem"
nobody_run check -d "$D"
expect_rc 2
expect_err_has "$D: open certs directory failed: Permission denied"
expect_err_has "running as uid $NOBODY"
nobody_run status -d "$D"
expect_rc 2 "status: certs dir unreadable"
expect_out_has "open certs directory failed: Permission denied"
nobody_run status -d "$D" --format prometheus
expect_rc 2 "status prometheus: certs dir unreadable"
expect_out_has 'goproxy_cert_certs_dir_ok{certs_dir="'"$D"'"} 0'
expect_err_has "Permission denied"
echo "PASS"

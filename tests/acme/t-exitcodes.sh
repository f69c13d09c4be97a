#!/bin/sh
# The exit-code table of goproxy-cert(1), row by row (issue 24): one cause
# gives one code in every command. Offline rows first, then the rows that
# need a CA (a pebble that requires External Account Binding).
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init --eab --validity 600
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
now=$(date +%s)
row() { # row CODE WHAT -- ARGS...: goproxy-cert ARGS exits CODE
	_want=$1 _what=$2
	shift 3
	gpc "$@"
	[ "$RC" = "$_want" ] || fail "exit-code row '$_what': goproxy-cert $* exited $RC, want $_want"
	echo "ok: $_want  $_what"
}
mkdir -p "$WORK/empty"
: >"$WORK/afile"
printf 'autocert:\n  provider: [\n' >"$WORK/bad.yml"

echo "== usage and config errors: 64 everywhere"
for sub in check status issue renew revoke account sync; do
	row 64 "$sub: unknown option" -- "$sub" --no-such-option
done
row 64 "issue: an abbreviated option" -- issue -d "$WORK/empty" --stagin -D a.example.test
row 64 "issue: YAML syntax error in --godoxy-config" -- issue -d "$WORK/empty" --godoxy-config "$WORK/bad.yml"
expect_err "$WORK/bad.yml:3:"
row 64 "issue: a missing --godoxy-config" -- issue -d "$WORK/empty" --godoxy-config "$WORK/nope.yml"
row 64 "renew: settings options without a lineage" -- renew -d "$WORK/empty" --http-dir
row 64 "issue: --webroot that is not a directory" -- issue -d "$WORK/new" -D a.example.test --webroot "$WORK/nowhere"
expect_err "webroot $WORK/nowhere: not a directory"
[ ! -e "$WORK/new" ] || fail "a refused issue created the certs directory $WORK/new"
row 64 "issue: --hook that is not executable" -- issue -d "$WORK/new" -D a.example.test --challenge dns-01 \
	--hook "$WORK/afile"
[ ! -e "$WORK/new" ] || fail "a refused issue created the certs directory $WORK/new"

echo "== a certs directory that is not a directory: 2 for check and status"
row 2 "check: -d names a file" -- check -d "$WORK/afile"
row 2 "status: -d names a file" -- status -d "$WORK/afile"
row 0 "status: an empty certs directory" -- status -d "$WORK/empty"
row 2 "check: an empty certs directory (missing)" -- check -d "$WORK/empty"

echo "== a CA that requires External Account Binding: 64 from issue and from renew"
row 64 "issue: no EAB for a CA that requires it" -- issue -d "$CERTS" -n e1 -D e1.example.test $SA \
	--server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE"
expect_err 'External Account Binding|externalAccountRequired|eab'
issue -n e1 -D e1.example.test $SA --eab-kid "$PEBBLE_EAB_KID" --eab-hmac "$PEBBLE_EAB_HMAC"
expect_rc 0
row 0 "check: a current certificate" -- check -d "$CERTS" e1
# the account is gone from the store (restored from an old backup): renew
# registers again, without EAB (never stored), and the CA refuses
rm -rf "$CERTS/.state/accounts"
GOPROXY_CERT_NOW=$((now + 500)) gpc check -d "$CERTS" e1
[ "$RC" = 1 ] || fail "exit-code row 'check: due': exit $RC, want 1"
echo "ok: 1  check: due"
GOPROXY_CERT_NOW=$((now + 500)) gpc renew -d "$CERTS" e1
[ "$RC" = 64 ] || fail "exit-code row 'renew: no EAB for a CA that requires it': exit $RC, want 64 (as issue)"
echo "ok: 64  renew: no EAB for a CA that requires it"
GOPROXY_CERT_NOW=$((now + 700)) gpc check -d "$CERTS" e1
[ "$RC" = 2 ] || fail "exit-code row 'check: expired': exit $RC, want 2"
echo "ok: 2  check: expired"
echo PASS

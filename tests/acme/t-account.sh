#!/bin/sh
# Accounts against a pebble that requires External Account Binding:
# registration refused without EAB (the CA's detail and the fix), EAB
# registration, account show/update/rollover, a lost account URL found again
# (onlyReturnExisting), revoke, deactivate.
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init --eab
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"

echo "== no EAB: registration refused, with the CA's detail and the fix"
issue -D e.example.test $SA -m ops@example.org
expect_rc 64
expect_err 'requires External Account Binding'
expect_err -- '--eab-kid'
[ ! -e "$CERTS/cert.crt" ] || fail "certificate written without an account"
echo "== a wrong EAB key: refused by the CA, its detail shown"
issue -D e.example.test $SA -m ops@example.org --eab-kid kid-9 --eab-hmac "$PEBBLE_EAB_HMAC"
expect_rc 1
expect_err "account registration at .* refused: CA refused newAccount: .*'kid' references a key that is not known"
[ ! -e "$CERTS/cert.crt" ] || fail "certificate written without an account"

echo "== with EAB"
issue -D e.example.test $SA -m ops@example.org --eab-kid "$PEBBLE_EAB_KID" --eab-hmac "$PEBBLE_EAB_HMAC"
expect_rc 0
expect_out '^default: issued'
grep -rq "$PEBBLE_EAB_HMAC" "$CERTS" && fail "the EAB HMAC key was stored" || :
cat "$WORK/out" "$WORK/err" | grep -q "$PEBBLE_EAB_HMAC" && fail "the EAB HMAC key was printed" || :
acct_dir=$(dirname "$(ls "$CERTS"/.state/accounts/*/key.pem)")
url=$(sed -n 's/.*"url": "\(.*\)".*/\1/p' "$acct_dir/account.json")
[ -n "$url" ] || fail "account URL not stored"

echo "== account show / update"
gpc account -d "$CERTS" show --ca-bundle "$PEBBLE_CA_BUNDLE"
expect_rc 0
expect_out "^url: +$url"
expect_out '^status: +valid'
expect_out '^contact: +mailto:ops@example.org'
gpc account -d "$CERTS" update -m new@example.org --json
expect_rc 0
expect_out '"contact":\["mailto:new@example.org"\]'

echo "== rollover: a new key; issuing keeps working with it"
cp "$acct_dir/key.pem" "$WORK/acct-old.pem"
gpc account -d "$CERTS" rollover
expect_rc 0
expect_out 'account key replaced'
cmp -s "$WORK/acct-old.pem" "$acct_dir/key.pem" && fail "account key unchanged after rollover" || :
[ "$(stat -c %a "$acct_dir/key.pem")" = 600 ] || fail "account key mode"
old_arch=$(ls "$acct_dir"/key-old-*.pem 2>/dev/null | head -1)
[ -n "$old_arch" ] || fail "old account key not archived: $(ls "$acct_dir")"
cmp -s "$WORK/acct-old.pem" "$old_arch" || fail "archived key is not the old key"
[ "$(stat -c %a "$old_arch")" = 600 ] || fail "archived account key mode"
[ ! -e "$acct_dir/key-next.pem" ] || fail "key-next.pem left after a rollover"
expect_err 'previous account key archived as'
issue -D e.example.test -D e2.example.test $SA
expect_rc 0
expect_out '^default: issued'

echo "== lost account URL: found again with onlyReturnExisting (no new account)"
rm "$acct_dir/account.json"
n_new=$(pebble_requests 'POST /sign-me-up')
issue -v -D e.example.test $SA --force
expect_rc 0
# one newAccount request: the onlyReturnExisting lookup, no registration
# (pebble answers a registration of a known key with the same account, so
# the URL alone cannot tell)
[ "$(($(pebble_requests 'POST /sign-me-up') - n_new))" = 1 ] ||
	fail "$(($(pebble_requests 'POST /sign-me-up') - n_new)) newAccount requests, want 1 (the lookup)"
expect_err 'found the existing account .* again'
grep -q 'registered a new account' "$WORK/err" && fail "a new account was registered" || :
grep -q "\"url\": \"$url\"" "$acct_dir/account.json" || fail "a different account: $(cat "$acct_dir/account.json")"

echo "== revoke"
gpc revoke -d "$CERTS" default --reason 4
expect_rc 0
expect_out '^default: revoked'
echo "== revoked means due: the next issue replaces it without --force"
issue -D e.example.test $SA
expect_rc 0
expect_out '^default: issued'
gpc revoke -d "$CERTS" nosuch
expect_rc 1
expect_err 'nosuch: no stored settings'
gpc revoke -d "$CERTS" '../x'
expect_rc 64

echo "== deactivate needs --yes, then the account is gone"
gpc account -d "$CERTS" deactivate
expect_rc 64
expect_err -- '--yes'
gpc account -d "$CERTS" deactivate --yes
expect_rc 0
expect_out 'deactivated'
echo "== the CA no longer takes the account: a new one is registered in the same run (EAB needed here)"
issue -D e.example.test $SA --force
expect_rc 64
expect_err 'requires External Account Binding'
issue -D e.example.test $SA --force --eab-kid "$PEBBLE_EAB_KID" --eab-hmac "$PEBBLE_EAB_HMAC"
expect_rc 0
expect_out '^default: issued'
expect_err 'registered a new account'
[ "$(ls "$CERTS"/.state/accounts/*/ | grep -c '^archive-')" = 1 ] || fail "the old account files were not archived"

echo "== one CA rule: \$GOPROXY_CERT_SERVER wins over the lineage's stored CA in issue, as in account"
GOPROXY_CERT_SERVER=https://127.0.0.1:1/directory gpc issue -d "$CERTS" --ca-bundle "$PEBBLE_CA_BUNDLE" \
	--force $SA --eab-kid "$PEBBLE_EAB_KID" --eab-hmac "$PEBBLE_EAB_HMAC"
expect_rc 75
expect_err '127\.0\.0\.1:1'
grep -q "\"ca_url\": \"$PEBBLE_DIR_URL\"" "$CERTS/.state/lineages/default.json" || fail "a failed issue changed the stored CA"
GOPROXY_CERT_SERVER=https://127.0.0.1:1/directory gpc account -d "$CERTS" show --ca-bundle "$PEBBLE_CA_BUNDLE"
expect_rc 75
expect_err '127\.0\.0\.1:1'
echo "ok"

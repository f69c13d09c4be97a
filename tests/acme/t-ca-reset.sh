#!/bin/sh
# The CA forgets the account (pebble restarted: it keeps everything in
# memory, as a CA reset or an account deactivated elsewhere would): the next
# issue registers a new account with the stored contact, says so, stores the
# new URL, archives the old account files and issues in the same run; renew
# from cron does the same. Before, every later run failed with
# accountDoesNotExist until the user deleted .state/accounts by hand.
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init --validity 7776000
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
issue -n ca -D ca.example.test $SA -m ops@example.org
expect_rc 0
acct=$(dirname "$(ls "$CERTS"/.state/accounts/*/key.pem)")
url1=$(jq -r .url "$acct/account.json")

echo "== pebble restarted: issue registers again and issues"
pebble_restart
issue -n ca -D ca.example.test $SA --force
expect_rc 0
expect_out '^ca: issued'
expect_err "no longer knows the account $url1; registered a new account"
expect_err 'contact ops@example.org'
url2=$(jq -r .url "$acct/account.json")
[ -n "$url2" ] && [ "$url2" != "$url1" ] || fail "the new account URL was not stored ($url1 -> $url2)"
ls -d "$acct"/archive-* >/dev/null 2>&1 || fail "the old account files were not archived"
[ "$(jq -r .url "$acct"/archive-*/account.json)" = "$url1" ] || fail "the archive does not hold the old account"
[ "$(stat -c %a "$acct"/archive-*/key.pem)" = 600 ] || fail "the archived account key is not 0600"

echo "== again, then renew (as from cron): the same, once"
pebble_restart
now=$(date +%s)
GOPROXY_CERT_NOW=$((now + 86400 * 80)) gpc renew -d "$CERTS"
expect_rc 0
expect_out '^ca: issued'
expect_err 'registered a new account'
[ "$(ls -d "$acct"/archive-* | wc -l)" = 2 ] || fail "two archived accounts expected"
jq -e '.failures | length == 0' "$CERTS/.state/ledger.json" >/dev/null 2>&1 ||
	jq -e '.failures == null' "$CERTS/.state/ledger.json" >/dev/null || fail "a failure was recorded: $(cat "$CERTS/.state/ledger.json")"
echo ok

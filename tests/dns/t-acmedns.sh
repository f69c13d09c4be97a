#!/bin/sh
# acmedns against a server following acme-dns's API (/register, /update,
# two values kept per name) mirroring into a real knot zone: the first run
# registers, stores the account 0600 and says which CNAME to create; with
# the CNAME in place the values go to the account's domain and the
# propagation check follows the CNAME there; a wildcard and its apex.
set -eu
. "$TESTS_DIR/dns/common.sh"
dns_init
command -v python3 >/dev/null || { echo "SKIP: python3" >&2; exit 77; }
knot_start --lag 1 example.test auth.acme.test
api_start acmedns --domain auth.acme.test --knot-server "$KNOT_PRIMARY" \
	--knot-key "hmac-sha256:$KNOT_KEY_NAME:$KNOT_KEY_SECRET"
export ACME_DNS_API_BASE=$API_URL ACME_DNS_STORAGE_PATH=$WORK/acmedns.json
R="-r $KNOT_PRIMARY"
V1=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
V2=BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB

echo "== first run: registers, keeps the account 0600, names the CNAME to create"
tool $R present acmedns example.test "$V1"
expect_rc 1
expect_err 'registered an account for example.test'
FULL=$(sed -n 's/.*"fulldomain": *"\([^"]*\)".*/\1/p' "$ACME_DNS_STORAGE_PATH")
[ -n "$FULL" ] || fail "no account stored: $(cat "$ACME_DNS_STORAGE_PATH")"
expect_err "create the record '_acme-challenge.example.test. CNAME $FULL.'"
[ "$(stat -c %a "$ACME_DNS_STORAGE_PATH")" = 600 ] || fail "storage mode $(stat -c %a "$ACME_DNS_STORAGE_PATH")"
PASS=$(sed -n 's/.*"password": *"\([^"]*\)".*/\1/p' "$ACME_DNS_STORAGE_PATH")
expect_no "$PASS"

echo "== with the CNAME: two values (wildcard + apex), no new registration"
knot_update "zone example.test.
update add _acme-challenge.example.test. 60 CNAME $FULL."
tool $R present acmedns example.test "$V1"
expect_rc 0
expect_out "^present $FULL. auth.acme.test.$"
tool $R present acmedns '*.example.test' "$V2"
expect_rc 0
[ "$(curl -fsS "$API_URL/_state" | grep -o '"/register"' | wc -l)" = 1 ] || fail "registered twice"
tool -v -t 30 $R check example.test "$V1" '*.example.test' "$V2"
expect_rc 0
[ "$(knot_txt "$KNOT_SECONDARY" "$FULL" | tr '\n' ' ')" = "$V1 $V2 " ] || fail "secondary: $(knot_txt "$KNOT_SECONDARY" "$FULL")"

echo "== a wrong password: 401 from the server, named"
sed -i "s/$PASS/wrong-password/" "$ACME_DNS_STORAGE_PATH"
tool $R present acmedns example.test "$V1"
expect_rc 1
expect_err 'acmedns: update of .* HTTP 401: forbidden'
echo "ok"

#!/bin/sh
# cloudflare against a server following Cloudflare's published API v4 (zone
# lookup, create, list with pages, delete by id, its error envelope), which
# mirrors the records into a real knot zone: two values on one name, a
# record found on page 3, removal of one value only, a bad token (the API's
# error named, the token never shown), the options.
set -eu
. "$TESTS_DIR/dns/common.sh"
dns_init
command -v python3 >/dev/null || { echo "SKIP: python3" >&2; exit 77; }
knot_start --lag 1 example.test
TOKEN=cf-token-$$-secret
api_start cloudflare --token "$TOKEN" --zone example.test --zone other.test --max-per-page 2 \
	--knot-server "$KNOT_PRIMARY" --knot-key "hmac-sha256:$KNOT_KEY_NAME:$KNOT_KEY_SECRET"
export CF_DNS_API_TOKEN=$TOKEN CLOUDFLARE_BASE_URL=$API_URL/client/v4
R="-r $KNOT_PRIMARY"

echo "== two values on one name; five other values there already (pages of 2)"
curl -fsS -o /dev/null -d '{"name":"_acme-challenge.example.test","content":"filler","n":5}' "$API_URL/_seed"
tool $R present cloudflare example.test value-apex
expect_rc 0
tool $R present cloudflare '*.example.test' value-wild
expect_rc 0
grep -q 'GET /client/v4/zones?name=example.test' "$API_LOG" || fail "no zone lookup by name"
grep -q 'POST /client/v4/zones/[0-9a-f]*/dns_records' "$API_LOG" || fail "no create"
tool -v -t 30 $R check example.test value-apex '*.example.test' value-wild
expect_rc 0
[ "$(knot_txt "$KNOT_SECONDARY" _acme-challenge.example.test | grep -c value-)" = 2 ] || fail "not both values"

echo "== presenting again (a killed run's value is there): no duplicate"
tool $R present cloudflare example.test value-apex
expect_rc 0
[ "$(curl -fsS "$API_URL/_state" | grep -o '"content": "value-apex"' | wc -l)" = 1 ] || fail "duplicate record"

echo "== cleanup finds the record across pages and deletes only it"
tool $R cleanup cloudflare example.test value-apex
expect_rc 0
grep -q 'dns_records?type=TXT&per_page=100&page=4' "$API_LOG" || fail "did not read every page"
curl -fsS "$API_URL/_state" >"$WORK/state"
! grep -q '"value-apex"' "$WORK/state" || fail "value-apex still there"
grep -q '"value-wild"' "$WORK/state" || fail "value-wild removed too"
[ "$(grep -o '"filler-[0-9]"' "$WORK/state" | wc -l)" = 5 ] || fail "other records touched"
[ "$(knot_txt "$KNOT_PRIMARY" _acme-challenge.example.test | grep -c value-)" = 1 ] || fail "knot mirror"

echo "== a bad token: the API's error is named, the token is not"
CF_DNS_API_TOKEN=wrong-token-$$-xyz tool $R present cloudflare example.test value-x
expect_rc 1
expect_err 'cloudflare: find the zone: .*/client/v4/zones answered HTTP 403: error 10000 Authentication error'
expect_err 'Zone:Read and DNS:Edit'
expect_no "wrong-token-$$-xyz"
expect_no "$TOKEN"

echo "== a zone the account does not have"
knot_stop
knot_start --lag 1 nothere.test
tool -r "$KNOT_PRIMARY" present cloudflare www.nothere.test value-y
expect_rc 1
expect_err 'cloudflare: no zone nothere.test in this account'

echo "== options: token from CLOUDFLARE_DNS_API_TOKEN_FILE; none at all is 64; ttl checked"
printf '%s\n' "$TOKEN" >"$WORK/token"
CF_DNS_API_TOKEN= CLOUDFLARE_DNS_API_TOKEN_FILE=$WORK/token tool validate cloudflare
expect_rc 0
expect_out '^auth_token=\(secret\)$'
CF_DNS_API_TOKEN= tool validate cloudflare
expect_rc 64
expect_err 'option auth_token \(CF_DNS_API_TOKEN\) is missing'
tool -o ttl=30 validate cloudflare
expect_rc 64
expect_err "ttl \\(CF_TTL\\) '30'"
echo "ok"

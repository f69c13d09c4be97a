#!/bin/sh
# hetzner against a server following the Hetzner DNS API (zone lookup by
# name, records listed in pages, create with a zone-relative name, delete by
# id, its error format), mirrored into a real knot zone: two values on one
# name, removal of one value only across pages, a wrong token (the API's
# message named, no token shown), an unknown zone, the options, and issue
# --dns hetzner through pebble and the propagation check.
set -eu
. "$TESTS_DIR/dns/common.sh"
dns_init
command -v python3 >/dev/null || { echo "SKIP: python3" >&2; exit 77; }
knot_start --lag 5 example.test nothere.test  # 5 s: the check must see ns2 behind even on a loaded machine
TOKEN=hz-token-$$-secret
api_start hetzner --token "$TOKEN" --zone example.test --zone other.test --max-per-page 2 \
	--knot-server "$KNOT_PRIMARY" --knot-key "hmac-sha256:$KNOT_KEY_NAME:$KNOT_KEY_SECRET"
export HETZNER_API_KEY=$TOKEN HETZNER_BASE_URL=$API_URL/api/v1
R="-r $KNOT_PRIMARY"
state() { curl -fsS "$API_URL/_state"; }

echo "== two values on one name; five other records in the zone (pages of 2)"
curl -fsS -o /dev/null -d '{"zone":"example.test","name":"_acme-challenge","n":5}' "$API_URL/_seed"
tool $R present hetzner example.test value-apex
expect_rc 0
tool $R present hetzner '*.example.test' value-wild
expect_rc 0
grep -q 'GET /api/v1/zones?name=example.test' "$API_LOG" || fail "no zone lookup by name"
grep -q 'POST /api/v1/records' "$API_LOG" || fail "no create"
state | grep -q '"name": "_acme-challenge", "value": "value-apex"' || fail "not a zone-relative name: $(state)"
tool -v -t 30 $R check example.test value-apex '*.example.test' value-wild
expect_rc 0
[ "$(knot_txt "$KNOT_SECONDARY" _acme-challenge.example.test | grep -c value-)" = 2 ] || fail "not both values"

echo "== presenting again (a killed run's value is there): no duplicate"
tool $R present hetzner example.test value-apex
expect_rc 0
[ "$(state | grep -o '"value-apex"' | wc -l)" = 1 ] || fail "duplicate record"

echo "== cleanup reads every page and deletes only its value"
tool $R cleanup hetzner example.test value-apex
expect_rc 0
grep -q 'GET /api/v1/records?zone_id=[0-9a-f]*&per_page=100&page=4' "$API_LOG" || fail "did not read every page"
grep -q 'DELETE /api/v1/records/[0-9a-f]*' "$API_LOG" || fail "no delete by id"
! state | grep -q '"value-apex"' || fail "value-apex still there"
state | grep -q '"value-wild"' || fail "value-wild removed too"
[ "$(state | grep -o '"filler-[0-9]"' | wc -l)" = 5 ] || fail "other records touched"
[ "$(knot_txt "$KNOT_PRIMARY" _acme-challenge.example.test | grep -c value-)" = 1 ] || fail "knot mirror"
tool $R cleanup hetzner '*.example.test' value-wild
expect_rc 0

echo "== a wrong token: the API's message named, no token shown"
HETZNER_API_KEY=wrong-token-$$-xyz tool $R present hetzner example.test value-x
expect_rc 1
expect_err 'hetzner: find the zone: http://127.0.0.1:[0-9]*/api/v1/zones answered HTTP 401: Invalid authentication credentials'
expect_err 'HETZNER_API_KEY must be an API token'
expect_no "wrong-token-$$-xyz"
expect_no "$TOKEN"

echo "== a zone the account does not have"
tool $R present hetzner www.nothere.test value-y
expect_rc 1
expect_err 'hetzner: find the zone: .* answered HTTP 404: zone not found'
expect_err 'it must be a zone of this Hetzner DNS account'

echo "== options: HETZNER_API_TOKEN_FILE; none is 64; ttl checked"
printf '%s\n' "$TOKEN" >"$WORK/token"
HETZNER_API_KEY= HETZNER_API_TOKEN_FILE=$WORK/token tool validate hetzner
expect_rc 0
expect_out '^api_key=\(secret\)$'
tool -o ttl=0 validate hetzner
expect_rc 64
expect_err "ttl \\(HETZNER_TTL\\) '0'"

echo "== issue --dns hetzner: pebble, the propagation check, a missing option"
pebble_start --dnsserver "$KNOT_SECONDARY:53"
CERTS=$WORK/certs
N=$(grep -c '^[A-Z]* /api' "$API_LOG")
HETZNER_API_KEY= issue -n noopt -D noopt.example.test --dns hetzner
expect_rc 64
expect_err 'dns provider hetzner: option api_key \(HETZNER_API_KEY\) is missing'
[ "$(grep -c '^[A-Z]* /api' "$API_LOG")" = "$N" ] || fail "a request without a token"
issue -v -D example.test -D '*.example.test' --dns hetzner --dns-resolver "$KNOT_PRIMARY"
expect_rc 0
expect_out '^default: issued'
expect_err 'waiting for ns2.example.test.'
[ "$(grep -c 'set INVALID' "$PEBBLE_LOG" || :)" = 0 ] || fail "a validation failed"
[ "$(state | grep -o '"TXT"' | wc -l)" = 5 ] || fail "records left after issue: $(state)"
expect_no "$TOKEN"
echo "ok"

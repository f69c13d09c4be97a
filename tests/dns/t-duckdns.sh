#!/bin/sh
# duckdns against a server following Duck DNS's published update API (GET
# /update, "OK"/"KO", one TXT value per domain), mirrored into a real knot
# zone duckdns.org: set and clear a value, a bad token (KO named, the token
# never shown), a name outside duckdns.org, a missing token (64 before any
# request), issue through pebble and the propagation check, and a wildcard
# with its apex (two values at once: refused with what to do, before the CA
# is asked to validate anything).
set -eu
. "$TESTS_DIR/dns/common.sh"
dns_init
command -v python3 >/dev/null || { echo "SKIP: python3" >&2; exit 77; }
knot_start --lag 5 duckdns.org other.test  # 5 s: the check must see ns2 behind even on a loaded machine
TOKEN=duck-token-$$-secret
api_start duckdns --token "$TOKEN" --domain mine --domain second \
	--knot-server "$KNOT_PRIMARY" --knot-key "hmac-sha256:$KNOT_KEY_NAME:$KNOT_KEY_SECRET"
export DUCKDNS_TOKEN=$TOKEN DUCKDNS_BASE_URL=$API_URL
R="-r $KNOT_PRIMARY"
state() { curl -fsS "$API_URL/_state"; }

echo "== set a value (served under the domain), then clear it"
tool $R present duckdns mine.duckdns.org value-one
expect_rc 0
grep -q 'GET /update domains=mine clear=$' "$API_LOG" || fail "no update of domain mine"
state | grep -q '"mine": "value-one"' || fail "not set: $(state)"
tool -v -t 30 $R check mine.duckdns.org value-one
expect_rc 0
tool $R present duckdns www.second.duckdns.org value-two
expect_rc 0
state | grep -q '"second": "value-two"' || fail "www.second: $(state)"
tool $R cleanup duckdns mine.duckdns.org value-one
expect_rc 0
grep -q 'GET /update domains=mine clear=true' "$API_LOG" || fail "no clear=true"
state | grep -q '"mine": ""' || fail "not cleared: $(state)"
state | grep -q '"second": "value-two"' || fail "the other domain touched: $(state)"
[ -z "$(knot_txt "$KNOT_PRIMARY" _acme-challenge.mine.duckdns.org)" ] || fail "knot mirror"
tool $R cleanup duckdns www.second.duckdns.org value-two
expect_rc 0

echo "== a bad token: KO named with what it means, no token in the output"
DUCKDNS_TOKEN=wrong-token-$$-xyz tool $R present duckdns mine.duckdns.org value-x
expect_rc 1
expect_err "duckdns: set the TXT value of mine.duckdns.org: http://127.0.0.1:[0-9]*/update answered KO"
expect_err 'DUCKDNS_TOKEN is not this account'
expect_no "wrong-token-$$-xyz"
expect_no "$TOKEN"

echo "== a name outside duckdns.org"
tool $R present duckdns www.other.test value-y
expect_rc 64
expect_err 'duckdns: _acme-challenge.www.other.test. is not under duckdns.org'

echo "== options: token from DUCKDNS_TOKEN_FILE; none is 64; base_url checked"
printf '%s\n' "$TOKEN" >"$WORK/token"
DUCKDNS_TOKEN= DUCKDNS_TOKEN_FILE=$WORK/token tool validate duckdns
expect_rc 0
expect_out '^token=\(secret\)$'
tool -o base_url=www.duckdns.org validate duckdns
expect_rc 64
expect_err "base_url \\(DUCKDNS_BASE_URL\\) 'www.duckdns.org' is not an http:// or https:// URL"

echo "== issue --dns duckdns through pebble and the propagation check"
pebble_start --dnsserver "$KNOT_SECONDARY:53"
CERTS=$WORK/certs
N=$(grep -c 'GET /update' "$API_LOG")
DUCKDNS_TOKEN= issue -n noopt -D mine.duckdns.org --dns duckdns
expect_rc 64
expect_err 'dns provider duckdns: option token \(DUCKDNS_TOKEN\) is missing'
[ "$(grep -c 'GET /update' "$API_LOG")" = "$N" ] || fail "a request was made without a token"
issue -v -D mine.duckdns.org --dns duckdns --dns-resolver "$KNOT_PRIMARY"
expect_rc 0
expect_out '^default: issued'
expect_err 'waiting for ns2.duckdns.org.'
[ "$(grep -c 'set INVALID' "$PEBBLE_LOG" || :)" = 0 ] || fail "a validation failed"
state | grep -q '"mine": ""' || fail "not cleared after issue: $(state)"
expect_no "$TOKEN"
grep -qF "$TOKEN" "$CERTS/.state/secrets/default.json" || fail "token not stored with the lineage"

echo "== a wildcard and its apex: two values at once, refused (64) with what to do"
# the CA is asked to validate by a POST to a challenge URL; a validation that
# succeeded leaves no "set INVALID" line, so count those POSTs
chal_posts=$(grep -c 'POST /chalZ/' "$PEBBLE_LOG" || :)
issue -n both -D second.duckdns.org -D '*.second.duckdns.org' --dns duckdns --dns-resolver "$KNOT_PRIMARY"
expect_rc 64
expect_err 'duckdns: second.duckdns.org would need two TXT values at once'
expect_err 'two certificates'
[ "$(grep -c 'POST /chalZ/' "$PEBBLE_LOG" || :)" = "$chal_posts" ] ||
	fail "the CA was asked to validate: $(($(grep -c 'POST /chalZ/' "$PEBBLE_LOG") - chal_posts)) challenge POSTs"
[ "$(grep -c 'set INVALID' "$PEBBLE_LOG" || :)" = 0 ] || fail "a validation failed"
state | grep -q '"second": ""' || fail "the first value was not cleared: $(state)"
[ ! -e "$CERTS/both" ] || fail "both written"
echo "ok"

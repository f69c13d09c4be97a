#!/bin/sh
# pdns against a real PowerDNS (sqlite3) with its HTTP API: two values on one
# name (the RRset is read and written back whole), removal of one value
# only and of the last one, a wrong API key (401 named, the key not shown),
# an unknown zone.
set -eu
. "$TESTS_DIR/dns/common.sh"
dns_init
pdns_start example.test
export PDNS_API_URL PDNS_API_KEY
R="-r $PDNS_ADDR"

echo "== two values on one name"
tool $R present pdns example.test value-apex
expect_rc 0
tool $R present pdns '*.example.test' value-wild
expect_rc 0
[ "$(pdns_txt _acme-challenge.example.test | tr '\n' ' ')" = "value-apex value-wild " ] ||
	fail "pdns serves: $(pdns_txt _acme-challenge.example.test)"
tool -t 30 $R check example.test value-apex '*.example.test' value-wild
expect_rc 0

echo "== cleanup: one value, then the last"
tool $R cleanup pdns example.test value-apex
expect_rc 0
[ "$(pdns_txt _acme-challenge.example.test)" = value-wild ] || fail "after one cleanup: $(pdns_txt _acme-challenge.example.test)"
tool $R cleanup pdns '*.example.test' value-wild
expect_rc 0
[ -z "$(pdns_txt _acme-challenge.example.test)" ] || fail "the set is not gone"

echo "== a wrong API key"
PDNS_API_KEY=wrong-key-$$-abc tool $R present pdns example.test value-x
expect_rc 1
expect_err 'pdns: read zone: http://127.0.0.1:[0-9]*/api/v1/servers/localhost/zones/example.test. answered HTTP 401'
expect_err 'PDNS_API_KEY must be the api-key'
expect_no "wrong-key-$$-abc"

echo "== options"
PDNS_API_KEY= tool validate pdns
expect_rc 64
expect_err 'option api_key \(PDNS_API_KEY\) is missing'
PDNS_API_URL=127.0.0.1:8081 tool validate pdns
expect_rc 64
expect_err "api_url \\(PDNS_API_URL\\) '127.0.0.1:8081' is not an http"

echo "== issue --dns pdns end to end: pebble validates against PowerDNS itself"
pebble_start --dnsserver "$PDNS_ADDR:53"
CERTS=$WORK/certs
issue -v -D example.test -D '*.example.test' --dns pdns --dns-resolver "$PDNS_ADDR"
expect_rc 0
expect_out '^default: issued'
! grep -q 'set INVALID' "$PEBBLE_LOG" || fail "a validation failed"
[ -z "$(pdns_txt _acme-challenge.example.test)" ] || fail "records left: $(pdns_txt _acme-challenge.example.test)"
grep -q '"provider": "pdns"' "$CERTS/.state/lineages/default.json" || fail "provider not stored"
! grep -qF "$PDNS_API_KEY" "$CERTS/.state/lineages/default.json" || fail "the API key is in the lineage file"
run_logged env env -i PATH=/usr/bin:/bin "$GOPROXY_CERT" renew -d "$CERTS" --force
expect_rc 0
expect_out 'default: issued'
echo "ok"

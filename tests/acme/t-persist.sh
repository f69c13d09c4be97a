#!/bin/sh
# dns-persist-01 (draft-ietf-acme-dns-persist) end to end on pebble 2.10,
# the standing record served by pebble-challtestsrv (its DNS server is the
# resolver given with --dns-resolver; it has no NS records, so the check
# asks the resolver, as pebble does). Asserted:
#   no record: issue exits 75 naming _validation-persist.NAME. and the exact
#     value, and pebble saw no challenge answered (no POST /chalZ/);
#   persist-record prints that same record (text and --json) and registers
#     nothing new;
#   with the record: issued; the lineage stores dns-persist-01 and no
#     solver, provider or hook; renew --force renews with the record alone
#     (no DNS write: nothing but the test touches challtestsrv);
#   a wildcard: a record without policy=wildcard is refused (75, says so,
#     nothing answered); with it (persist-record -D '*.NAME') issued;
#   persistUntil in the past: 75 naming it; in the future: issued, and
#     status shows the method and the persistUntil time.
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init --authz-reuse 0
P="--challenge dns-persist-01 --dns-resolver $CHALLTEST_DNS"
answered() { pebble_count 'POST /chalZ/'; }
epoch() { date -u -d "$1" +%s; }

echo "== no record: 75, the record named, nothing answered"
issue -D a.example.test $P
expect_rc 75
expect_err '_validation-persist\.a\.example\.test\. IN TXT "pebble\.letsencrypt\.org; accounturi=https://[^"]*/my-account/[^"]*"'
[ "$(answered)" = 0 ] || fail "a challenge was answered without the record"
[ ! -e "$CERTS/cert.crt" ] || fail "a certificate without validation"
want=$(sed -n 's/.*\(_validation-persist\.a\.example\.test\. IN TXT "[^"]*"\).*/\1/p' "$WORK/err" | head -n 1)

issue -D a.example.test $P --hook /bin/true
expect_rc 64
expect_err 'dns-persist-01 writes no DNS and answers nothing itself: drop the solver option'

echo "== persist-record prints the same record"
accounts_before=$(pebble_count 'POST /sign-me-up')
gpc persist-record -d "$CERTS" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -D a.example.test
expect_rc 0
[ "$(cat "$WORK/out")" = "$want" ] || fail "persist-record printed '$(cat "$WORK/out")', issue asked for '$want'"
gpc persist-record -d "$CERTS" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -D a.example.test --json
expect_rc 0
value=$(jq -r '.[0].value' "$WORK/out")
[ "$(jq -r '.[0].name' "$WORK/out")" = "_validation-persist.a.example.test." ] || fail "json name"
[ "$want" = "_validation-persist.a.example.test. IN TXT \"$value\"" ] || fail "json value '$value'"
[ "$(pebble_count 'POST /sign-me-up')" = "$accounts_before" ] || fail "persist-record registered another account"

echo "== with the record: issued, stored without any DNS writer"
pebble_set_txt _validation-persist.a.example.test "$value"
issue -D a.example.test $P
expect_rc 0
[ -s "$CERTS/cert.crt" ] || fail "no certificate"
[ "$(answered)" = 1 ] || fail "$(answered) challenges answered, want 1"
L=$CERTS/.state/lineages/default.json
[ "$(jq -r .challenge "$L")" = dns-persist-01 ] || fail "challenge not stored"
[ "$(jq -r '.solver // "none"' "$L")" = none ] || fail "a solver is stored: $(jq -c . "$L")"
[ "$(jq -r '.dns.provider // "none"' "$L")" = none ] || fail "a DNS provider is stored"
sha1=$(openssl x509 -in "$CERTS/cert.crt" -noout -fingerprint -sha256)

echo "== renew with the standing record only"
gpc renew -d "$CERTS" --force
expect_rc 0
sha2=$(openssl x509 -in "$CERTS/cert.crt" -noout -fingerprint -sha256)
[ "$sha1" != "$sha2" ] || fail "renew --force left the certificate"
[ "$(answered)" = 2 ] || fail "$(answered) challenges answered, want 2"
# the only TXT writes challtestsrv saw are this test's own (set-txt once)
[ "$(grep -c 'Added TXT response\|Removed TXT response' "$CHALLTEST_LOG" || :)" = 1 ] ||
	fail "challtestsrv saw TXT writes: $(grep -i txt "$CHALLTEST_LOG")"

echo "== a wildcard needs policy=wildcard"
issue -n w -D '*.w.example.test' $P
expect_rc 75
expect_err '_validation-persist\.w\.example\.test\. IN TXT "[^"]*; policy=wildcard"'
n=$(answered)
pebble_set_txt _validation-persist.w.example.test "$value"
issue -n w -D '*.w.example.test' $P
expect_rc 75
expect_err 'no policy=wildcard'
[ "$(answered)" = "$n" ] || fail "a challenge was answered with a record lacking policy=wildcard"
gpc persist-record -d "$CERTS" -n w --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -D '*.w.example.test' --json
expect_rc 0
wvalue=$(jq -r '.[0].value' "$WORK/out")
case $wvalue in *"; policy=wildcard") ;; *) fail "wildcard record '$wvalue'" ;; esac
pebble_clear_txt _validation-persist.w.example.test
pebble_set_txt _validation-persist.w.example.test "$wvalue"
issue -n w -D '*.w.example.test' $P
expect_rc 0
[ "$(cert_names "$CERTS/w/cert.crt")" = "*.w.example.test" ] || fail "names: $(cert_names "$CERTS/w/cert.crt")"

echo "== NAME and *.NAME: one record, the wildcard's, serves both"
gpc persist-record -d "$CERTS" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -D b.example.test -D '*.b.example.test'
expect_rc 0
[ "$(wc -l <"$WORK/out")" = 1 ] || fail "two records for NAME and *.NAME"
expect_out '^_validation-persist\.b\.example\.test\. IN TXT "[^"]*; policy=wildcard"$'
issue -n b -D b.example.test -D '*.b.example.test' $P
expect_rc 75
expect_err '2 names without a record'
[ "$(grep -o 'create _validation-persist\.b\.example\.test\.' "$WORK/err" | wc -l)" = 1 ] || fail "the record named twice"
gpc persist-record -d "$CERTS" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -D '*.b.example.test' --json
pebble_set_txt _validation-persist.b.example.test "$(jq -r '.[0].value' "$WORK/out")"
issue -n b -D b.example.test -D '*.b.example.test' $P
expect_rc 0
[ "$(cert_names "$CERTS/b/cert.crt" | tr '\n' ' ')" = "*.b.example.test b.example.test " ] || fail "names: $(cert_names "$CERTS/b/cert.crt")"

echo "== persistUntil: passed, then in the future"
pebble_set_txt _validation-persist.e.example.test "$value; persistUntil=1000000000"
issue -n e -D e.example.test $P
expect_rc 75
expect_err 'persistUntil=1000000000 has passed'
n=$(answered)
[ "$n" = "$(answered)" ] || fail "answered"
until=$(( $(date -u +%s) + 30 * 86400 ))
gpc persist-record -d "$CERTS" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -D f.example.test \
	--persist-until "$(date -u -d "@$until" +%Y-%m-%dT%H:%M:%SZ)" --json
expect_rc 0
fvalue=$(jq -r '.[0].value' "$WORK/out")
[ "$fvalue" = "$value; persistUntil=$until" ] || fail "persist-record --persist-until: '$fvalue'"
pebble_set_txt _validation-persist.f.example.test "$fvalue"
issue -n f -D f.example.test $P
expect_rc 0
[ "$(jq -r .persist.until "$CERTS/.state/lineages/f.json")" = "$(date -u -d "@$until" +%Y-%m-%dT%H:%M:%SZ)" ] ||
	fail "persistUntil not stored: $(jq -c .persist "$CERTS/.state/lineages/f.json")"

echo "== status: the method, persistUntil, and a warning before it lapses"
gpc status -d "$CERTS" f
expect_rc 0
expect_out 'renewed by +dns-persist-01'
expect_out "persist until +$(date -u -d "@$until" +%Y-%m-%dT%H:%M:%SZ)"
expect_out "warning: f: the dns-persist-01 record of f.example.test lapses at"
gpc status -d "$CERTS" --json f
expect_rc 0
[ "$(jq -r '.certificates[0].settings.persist_until' "$WORK/out")" = "$(date -u -d "@$until" +%Y-%m-%dT%H:%M:%SZ)" ] ||
	fail "status --json persist_until: $(jq -c '.certificates[0].settings' "$WORK/out")"
gpc status -d "$CERTS" default
expect_rc 0
if grep -q 'dns-persist-01 record' "$WORK/out"; then fail "a persistUntil warning for a record without one"; fi
GOPROXY_CERT_NOW=$((until + 60)) gpc check -d "$CERTS" f
expect_err "f: the dns-persist-01 record of f.example.test lapsed at .*renewals are deferred"
echo "PASS"

#!/bin/sh
# One rule for the CA URL (issue 30): --server/--staging, else
# $GOPROXY_CERT_SERVER when not empty, else the lineage's stored CA, else
# Let's Encrypt (account_ca_url), the same in account and persist-record.
# Asserted on a lineage issued at pebble (its CA and CA bundle stored):
#   no flag, no environment: persist-record and account show use the
#     stored CA (the record names pebble and this account);
#   an empty $GOPROXY_CERT_SERVER is no choice: the stored CA again
#     (persist-record went to Let's Encrypt with it before);
#   a set $GOPROXY_CERT_SERVER wins over the stored CA in both (a closed
#     port: each fails naming it), and --server wins over it.
set -eu
. "$TESTS_DIR/acme/common.sh"
command -v jq >/dev/null || { echo "SKIP: jq missing" >&2; exit 77; }
acme_init
P="--challenge dns-persist-01 --dns-resolver $CHALLTEST_DNS"
CPORT=$("${FREEPORT:-freeport}" 1)
CLOSED="https://127.0.0.1:$CPORT/dir"

gpc persist-record -d "$CERTS" -n cr --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -D cr.example.test --json
expect_rc 0
value=$(jq -r '.[0].value' "$WORK/out")
pebble_set_txt _validation-persist.cr.example.test "$value"
issue -n cr -D cr.example.test $P
expect_rc 0
[ "$(jq -r .ca_url "$CERTS/.state/lineages/cr.json")" = "$PEBBLE_DIR_URL" ] || fail "the CA is not stored"
url=$(jq -r .ca_url "$CERTS/.state/lineages/cr.json")

echo "== no flag, no environment: the stored CA"
gpc persist-record -d "$CERTS" -n cr --json
expect_rc 0
[ "$(jq -r '.[0].value' "$WORK/out")" = "$value" ] || fail "persist-record: '$(jq -r '.[0].value' "$WORK/out")', want '$value'"
gpc account -d "$CERTS" -n cr show --json
expect_rc 0
[ "$(jq -r .server "$WORK/out")" = "$url" ] || fail "account show asked $(jq -r .server "$WORK/out")"

echo "== an empty \$GOPROXY_CERT_SERVER: the stored CA"
GOPROXY_CERT_SERVER= gpc persist-record -d "$CERTS" -n cr --json
expect_rc 0
[ "$(jq -r '.[0].value' "$WORK/out")" = "$value" ] || fail "persist-record with an empty GOPROXY_CERT_SERVER"
GOPROXY_CERT_SERVER= gpc account -d "$CERTS" -n cr show --json
expect_rc 0
[ "$(jq -r .server "$WORK/out")" = "$url" ] || fail "account show with an empty GOPROXY_CERT_SERVER"

echo "== \$GOPROXY_CERT_SERVER wins over the stored CA, --server over it"
GOPROXY_CERT_SERVER=$CLOSED gpc persist-record -d "$CERTS" -n cr
[ "$RC" != 0 ] || fail "persist-record did not use GOPROXY_CERT_SERVER"
expect_err "127\.0\.0\.1:$CPORT: cannot connect"
GOPROXY_CERT_SERVER=$CLOSED gpc account -d "$CERTS" -n cr show
[ "$RC" != 0 ] || fail "account show did not use GOPROXY_CERT_SERVER"
expect_err "127\.0\.0\.1:$CPORT: cannot connect"
GOPROXY_CERT_SERVER=$CLOSED gpc persist-record -d "$CERTS" -n cr --server "$PEBBLE_DIR_URL" --json
expect_rc 0
[ "$(jq -r '.[0].value' "$WORK/out")" = "$value" ] || fail "--server did not win over GOPROXY_CERT_SERVER"
echo "PASS"

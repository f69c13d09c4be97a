#!/bin/sh
# dns-persist-01 when the CA reuses a valid authorization (pebble 2.10 with
# PEBBLE_AUTHZREUSE=100, as Let's Encrypt does for 30 days): issue --force
# checks no record and answers nothing, and the persistUntil the last
# check saw stays in the lineage (status keeps warning about it).
set -eu
. "$TESTS_DIR/acme/common.sh"
command -v jq >/dev/null || { echo "SKIP: jq missing" >&2; exit 77; }
acme_init --authz-reuse 100
P="--challenge dns-persist-01 --dns-resolver $CHALLTEST_DNS"
until=$(( $(date -u +%s) + 10 * 86400 ))
T=$(date -u -d "@$until" +%Y-%m-%dT%H:%M:%SZ)

gpc persist-record -d "$CERTS" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -D r.example.test \
	--persist-until "$until" --json
expect_rc 0
pebble_set_txt _validation-persist.r.example.test "$(jq -r '.[0].value' "$WORK/out")"
issue -D r.example.test $P
expect_rc 0
[ "$(jq -r .persist.until "$CERTS/.state/lineages/default.json")" = "$T" ] || fail "persistUntil not stored"

echo "== the record gone, the authorization reused: no check, persistUntil kept"
pebble_clear_txt _validation-persist.r.example.test
n=$(pebble_count 'POST /chalZ/')
issue -D r.example.test $P --force
expect_rc 0
[ "$(pebble_count 'POST /chalZ/')" = "$n" ] || fail "a challenge was answered although the authorization was valid"
[ "$(jq -r '.persist.until // "none"' "$CERTS/.state/lineages/default.json")" = "$T" ] ||
	fail "persistUntil lost: $(jq -c '.persist' "$CERTS/.state/lineages/default.json")"
gpc status -d "$CERTS"
expect_out "persist until +$T"
echo "PASS"

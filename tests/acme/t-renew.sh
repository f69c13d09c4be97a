#!/bin/sh
# renew with short-lived certificates (pebble validityPeriod 600 s, no ARI):
# nothing due -> nothing sent; $GOPROXY_CERT_NOW moves the tool's clock past
# 2/3 of the lifetime -> every lineage renewed concurrently with the settings
# stored by issue; one result per lineage; --json; -q; a failing lineage exits 1
# and backs off (75 while the back-off holds); --jitter sleeps only when
# something is due, less than its bound.
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init --validity 600 --authz-reuse 0
acme_no_ari   # pebble 2.10's ARI window for a 600-s certificate is its whole life
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
hook_script "$WORK/hook.sh"
now=$(date +%s)

for n in r1 r2 r3; do
	issue -n "$n" -D "$n.example.test" $SA
	expect_rc 0
done
issue -n r4 -D r4.example.test --challenge dns-01 --hook "$WORK/hook.sh"
expect_rc 0

echo "== nothing due: exit 0, one line per lineage, no request, no jitter sleep"
before=$(pebble_requests 'calling handler')
gpc renew -d "$CERTS" --jitter 3600 -v
expect_rc 0
[ "$(grep -c ': current until .*, nothing to do$' "$WORK/out")" = 4 ] || fail "4 current lines expected"
grep -q 'jitter' "$WORK/err" && fail "--jitter slept although nothing was due" || :
[ "$before" = "$(pebble_requests 'calling handler')" ] || fail "renew contacted the CA with nothing due"
gpc renew -d "$CERTS" -q
expect_rc 0
[ ! -s "$WORK/out" ] && [ ! -s "$WORK/err" ] || fail "-q printed something with nothing to do"

echo "== 450 s later every lineage is due: renewed concurrently, JSON"
for n in r1 r2 r3 r4; do openssl x509 -in "$CERTS/$n/cert.crt" -noout -serial >"$WORK/$n.serial"; done
accounts_before=$(pebble_requests 'POST /sign-me-up')
t0=$(date +%s%N)
GOPROXY_CERT_NOW=$((now + 450)) gpc renew -d "$CERTS" --concurrency 4 --json --jitter 3 -v
t1=$(date +%s%N)
expect_rc 0
# --jitter with something due: a random wait below the bound, then the run
expect_err '^goproxy-cert: 4 due; waiting [0-2] s \(--jitter\)$'
waited=$(sed -n 's/^goproxy-cert: 4 due; waiting \([0-9]*\) s (--jitter)$/\1/p' "$WORK/err")
[ $(((t1 - t0) / 1000000)) -ge $((waited * 1000)) ] ||
	fail "--jitter said $waited s; the whole run took $(((t1 - t0) / 1000000)) ms"
[ "$accounts_before" = "$(pebble_requests 'POST /sign-me-up')" ] ||
	fail "renew contacted newAccount: the stored account is shared by all lineages"
[ "$(ls "$CERTS/.state/accounts" | wc -l)" = 1 ] || fail "one account per CA expected"
expect_out '"renewed": 4'
expect_out '"failed": 0'
[ "$(grep -c '"result": "issued"' "$WORK/out")" = 4 ] || fail "4 issued results expected"
for n in r1 r2 r3 r4; do
	openssl x509 -in "$CERTS/$n/cert.crt" -noout -serial | cmp -s - "$WORK/$n.serial" && fail "$n not renewed" || :
	[ "$(cert_names "$CERTS/$n/cert.crt")" = "$n.example.test" ] || fail "$n names changed"
done
[ "$(ls "$CERTS/.state/archive/r1" | wc -l)" = 2 ] || fail "r1 old pair not archived"

echo "== a failing lineage: exit 1, the others renewed, then back-off (75)"
# the CA refuses r3's name (a wrong solver is not enough: pebble 2.10
# reuses r3's valid authorization 1 time in 100)
echo r3.example.test >"$WORK/refuse-names"
GOPROXY_CERT_NOW=$((now + 900)) gpc renew -d "$CERTS" --concurrency 2 -vv
if [ "$RC" != 1 ]; then
	# diagnostics for an unexpected success of r3
	cat "$CERTS/.state/lineages/r3.json" >&2
	grep 'r3.example.test' "$PEBBLE_LOG" | tail -n 20 >&2
	ss -ltnp 2>/dev/null | grep ":$PEBBLE_HTTP_PORT " >&2 || :
fi
expect_rc 1
expect_out '^r1: issued'
expect_out '^r2: issued'
expect_out '^r3: failed'
expect_out '^r4: issued'
expect_err 'r3.example.test: the CA refuses to issue for this name'
GOPROXY_CERT_NOW=$((now + 910)) gpc renew -d "$CERTS" r3
expect_rc 75
expect_err 'r3: the last attempt failed \(.*r3.example.test.*\); backing off until'
echo "== -q prints only the trouble"
GOPROXY_CERT_NOW=$((now + 1000)) gpc renew -d "$CERTS" -q r1 r3
if [ "$RC" != 1 ]; then
	# diagnostics for an unexpected success of r3 (seen once in CI, not reproduced)
	GOPROXY_CERT_NOW=$((now + 1000)) "$GOPROXY_CERT" status -d "$CERTS" --json r3 >&2 || :
	cat "$CERTS/.state/lineages/r3.json" "$CERTS/.state/ledger.json" >&2
	grep 'r3.example.test' "$PEBBLE_LOG" | tail -n 20 >&2
fi
expect_rc 1
grep -q '^r1:' "$WORK/out" && fail "-q printed a renewed lineage" || :
expect_out '^r3: failed'
echo "== a lineage without stored settings"
gpc renew -d "$CERTS" nosuch
expect_rc 1
expect_err "nosuch: no stored settings"
gpc renew -d "$CERTS" '../bad'
expect_rc 64
echo "ok"

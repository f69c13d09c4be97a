#!/bin/sh
# Alert settings kept with the targets (issue 29): --notify-days (the
# near-expiry window), --notify-digest (the digest threshold), and the
# optional issued/renewed events of a target (;events=...), against real
# pebble and notify-server.py; no secret in any output.
set -eu
. "$TESTS_DIR/acme/common.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 missing" >&2; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq missing" >&2; exit 77; }
DAY=86400
acme_init --validity $((30 * DAY)) --authz-reuse 0
if type acme_no_ari >/dev/null 2>&1; then acme_no_ari; fi
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
now=$(date +%s)
NPORT=$("$FREEPORT")
REC=$WORK/received.jsonl
: >"$REC"
python3 "$TESTS_DIR/notify/notify-server.py" "$NPORT" "$REC" 2>>"$WORK/server.err" &
ACME_PIDS="$ACME_PIDS $!"
i=0
until curl -s -o /dev/null "http://127.0.0.1:$NPORT/"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "notify-server did not start"; sleep 0.1
done
B=http://127.0.0.1:$NPORT
n() { grep "\"service\": \"$1\"" "$REC" | grep -c '"status": 2' || :; }
last() { grep "\"service\": \"$1\"" "$REC" | tail -n 1; }
# break / mend LINEAGE: its http-01 answered where the CA does not look
brk() { sed -i "s/127.0.0.1:$PEBBLE_HTTP_PORT/127.0.0.2:$PEBBLE_HTTP_PORT/" "$CERTS/.state/lineages/$1.json"; }
mend() { sed -i "s/127.0.0.2:$PEBBLE_HTTP_PORT/127.0.0.1:$PEBBLE_HTTP_PORT/" "$CERTS/.state/lineages/$1.json"; }
# a new account before a failing run: pebble 2.10 may reuse a valid
# authorization of the old one (the lineage would renew)
new_account() { rm -rf "$CERTS/.state/accounts"; }

for l in s1 s2 s3; do
	issue -n $l -D $l.example.test $SA
	expect_rc 0
done

echo "== settings and an events list are stored with the targets (0600)"
gpc renew -d "$CERTS" --notify "ntfy:$B/ntfy/setSECRETTOPIC" \
	--notify "webhook:$B/webhook/evSECRETHOOK;events=failed,renewed,issued" \
	--notify-days 12 --notify-digest 2
expect_rc 0
expect_err 'alerts go to webhook:http://127.0.0.1:[0-9]+/…'
[ "$(stat -c %a "$CERTS/.state/notify.json")" = 600 ] || fail "notify.json is not 0600"
jq -e '.warn_days == 12 and .digest_over == 2' "$CERTS/.state/notify.json" >/dev/null ||
	fail "notify.json does not hold warn_days 12 and digest_over 2"
jq -e '.targets[1].events == "failed,renewed,issued" and (.targets[0] | has("events") | not)' \
	"$CERTS/.state/notify.json" >/dev/null || fail "notify.json: the events list is not kept with its target"
[ "$(n ntfy)$(n webhook)" = 00 ] || fail "storing the targets sent messages"

echo "== bad settings: 64, nothing changed"
gpc renew -d "$CERTS" --notify-days 0
expect_rc 64
expect_err "--notify-days '0' is not a number of days from 1 to 365"
gpc renew -d "$CERTS" --notify-digest x5
expect_rc 64
expect_err "--notify-digest 'x5' is not a number of changes"
gpc renew -d "$CERTS" --notify "ntfy:$B/ntfy/t;events=failed,expiredx"
expect_rc 64
expect_err "events: 'expiredx' is not an event class"
mkdir -p "$WORK/empty"
gpc renew -d "$WORK/empty" --notify-days 3
expect_rc 64
expect_err 'kept with the alert targets, and none is stored'
jq -e '.warn_days == 12 and .digest_over == 2 and (.targets | length == 2)' "$CERTS/.state/notify.json" >/dev/null ||
	fail "a refused option changed the stored settings"

echo "== s1 fails 9 days before expiry: with --notify-days 12 that is 'expiring' at once"
na=$(date -d "$(openssl x509 -in "$CERTS/s1/cert.crt" -noout -enddate | cut -d= -f2)" +%s)
brk s1
new_account
GOPROXY_CERT_NOW=$((na - 9 * DAY)) gpc renew -d "$CERTS" s1
expect_rc 1
[ "$(n ntfy)" = 1 ] || fail "failing 9 days before expiry: $(n ntfy) ntfy messages, expected 1"
last ntfy | grep -q 'expires in [0-9]* days and renewal keeps failing' ||
	fail "not the near-expiry message with --notify-days 12: $(last ntfy | cut -c1-300)"
last ntfy | grep -q '"Priority": "5"' || fail "near expiry is not priority 5"
GOPROXY_CERT_NOW=$((na - 9 * DAY + 3600)) gpc renew -d "$CERTS" s1
[ "$(n ntfy)" = 1 ] || fail "a second run the same hour sent again"

echo "== a setting alone keeps the targets (and their state)"
gpc renew -d "$CERTS" --notify-days 3 s2
expect_rc 0
expect_err 'alert settings stored'
jq -e '.warn_days == 3 and .digest_over == 2 and (.targets | length == 2)' "$CERTS/.state/notify.json" >/dev/null ||
	fail "--notify-days alone: the targets or the digest setting were lost"
gpc notify list -d "$CERTS"
[ "$(wc -l <"$WORK/out")" = 2 ] || fail "--notify-days alone changed the targets"
GOPROXY_CERT_NOW=$((na - 9 * DAY + 7200)) gpc renew -d "$CERTS" s1
expect_rc 1
[ "$(n ntfy)" = 2 ] || fail "9 days before expiry with --notify-days 3: one 'failed' message expected ($(n ntfy) in all)"
last ntfy | grep -q '"Title": "goproxy-cert: renewal of s1 failed"' || fail "not 'renewal of s1 failed' with --notify-days 3"

echo "== recovery: 'renewed again' to both, no separate 'renewed'"
mend s1
w0=$(n webhook)
GOPROXY_CERT_NOW=$((na - 9 * DAY + 10800)) gpc renew -d "$CERTS" --force s1
expect_rc 0
[ "$(n ntfy)" = 3 ] || fail "recovery: ntfy got $(n ntfy), expected 3"
[ "$(n webhook)" = $((w0 + 1)) ] || fail "recovery: the webhook got $(($(n webhook) - w0)) messages, expected 1 (recovered, not also renewed)"
last webhook | grep -q 'renewed again' || fail "the webhook's message is not the recovery"

echo "== renewed and issued: only to the target that takes them"
gpc renew -d "$CERTS" --force s2
expect_rc 0
[ "$(n ntfy)" = 3 ] || fail "a renewal reached the ntfy target (events: failed only)"
[ "$(n webhook)" = $((w0 + 2)) ] || fail "the webhook (events=...renewed) got no 'renewed' message"
last webhook | grep -q '\\"event\\": \\"renewed\\"' || last webhook | grep -q 's2 renewed' || fail "not a renewed event: $(last webhook | cut -c1-300)"
issue -n s4 -D s4.example.test $SA
expect_rc 0
[ "$(n webhook)" = $((w0 + 3)) ] || fail "the webhook got no 'issued' message for s4"
last webhook | grep -q 's4 issued' || fail "not an issued event: $(last webhook | cut -c1-300)"
[ "$(n ntfy)" = 3 ] || fail "an issuance reached the ntfy target"
gpc renew -d "$CERTS" s2
[ "$(n webhook)" = $((w0 + 3)) ] || fail "a run with nothing renewed sent a message"

echo "== --notify-digest 2: three lineages failing in one run are one digest"
for l in s2 s3 s4; do brk $l; done
new_account
before=$(n ntfy)
GOPROXY_CERT_NOW=$((now + 20 * DAY + DAY / 2)) gpc renew -d "$CERTS" s2 s3 s4 --concurrency 3
expect_rc 1
[ "$(n ntfy)" = $((before + 1)) ] || fail "3 failures over --notify-digest 2: one digest expected, got $(($(n ntfy) - before))"
last ntfy | grep -q '3 certificates changed state' || fail "not a digest"

echo "== no secret in any output"
for s in setSECRETTOPIC evSECRETHOOK; do
	if grep -v '^\$ ' "$WORK/log" | grep -q "$s"; then fail "secret $s appears in the output"; fi
done
echo "ok"

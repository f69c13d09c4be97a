#!/bin/sh
# Alerts on a shared store (real 3-member etcd, real pebble): sync --notify
# stores the targets in the store; renew --store sends one message for a
# failing lineage (not one per run) and one when it recovers; what each
# target was told is kept in the store (under its lock), not on one node;
# no secret in any output.
set -eu
. "$TESTS_DIR/fleet/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 missing" >&2; exit 77; }
fleet_init
# this node's copy of the store's targets (for when etcd is out of reach)
STATE_DIRECTORY=$WORK/state
export STATE_DIRECTORY
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
NPORT=$("$FREEPORT")
REC=$WORK/received.jsonl
: >"$REC"
server_start() {
	python3 "$TESTS_DIR/notify/notify-server.py" "$NPORT" "$REC" 2>>"$WORK/server.err" &
	SERVER_PID=$!
	ACME_PIDS="$ACME_PIDS $SERVER_PID"
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$NPORT/"; do
		i=$((i + 1)); [ $i -lt 100 ] || fail "notify-server did not start"; sleep 0.1
	done
}
server_stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || :; }
server_start
n() { grep "\"service\": \"$1\"" "$REC" | grep -c '"status": 2' || :; }

fissue -n f1 -D f1.example.test $SA
expect_rc 0
mkdir "$WORK/local"
echo "== sync --notify stores the targets in the store"
gpc sync $STORE -d "$WORK/local" --notify "ntfy:http://127.0.0.1:$NPORT/ntfy/fleetSECRETTOPIC"
expect_rc 0
expect_err 'alerts go to ntfy:http://127.0.0.1:[0-9]+/…'
gpc notify list $STORE
expect_rc 0
expect_out '^ntfy:http://127.0.0.1:[0-9]+/…$'
[ ! -e "$WORK/local/.state/notify.json" ] || fail "sync stored the targets in the local directory, not the store"
echo "== the targets are sealed in etcd (the seal key), not a plain record"
etcdctl_run get /fleet/records/notify.json --print-value-only >"$WORK/notify.rec"
[ -s "$WORK/notify.rec" ] || fail "no /fleet/records/notify.json in etcd"
head -c 4 "$WORK/notify.rec" | grep -q '^GPCS$' || fail "notify.json in etcd is not sealed: $(head -c 60 "$WORK/notify.rec")"
if grep -q -a -e fleetSECRETTOPIC -e ntfy "$WORK/notify.rec"; then fail "etcd holds the target in clear"; fi
gpc notify list --store "$S"
expect_rc 64
expect_err 'no seal key'

echo "== a failing renewal from two runs (as two nodes): one message"
# the CA refuses f1's name (tests/acme/common.sh): a wrong solver is not
# enough, pebble 2.10 reuses f1's valid authorization 1 time in 100
echo f1.example.test >"$WORK/refuse-names"
gpc renew $STORE --force f1
expect_rc 1
[ "$(n ntfy)" = 1 ] || fail "first failure: $(n ntfy) messages, expected 1"
gpc renew $STORE --force f1
expect_rc 1
[ "$(n ntfy)" = 1 ] || fail "second failing run: $(n ntfy) messages, expected still 1"
echo "== recovery: one message"
rm "$WORK/refuse-names"
gpc renew $STORE --force f1
expect_rc 0
[ "$(n ntfy)" = 2 ] || fail "recovery: $(n ntfy) messages, expected 2"
grep '"service": "ntfy"' "$REC" | tail -n 1 | grep -q 'f1 renewed again' || fail "not a recovery message"
gpc notify test $STORE
expect_rc 0
expect_out ': answered$'
echo "== the target down: status --store shows the undelivered alert (text and JSON)"
server_stop
echo f1.example.test >"$WORK/refuse-names"
gpc renew $STORE --force f1
expect_rc 1
expect_err 'kept for the next run'
gpc status --store "$S"
expect_out '^alerts: ntfy:http://127.0.0.1:[0-9]+/… has not taken the alerts since .*did not answer after 3 tries'
gpc status --store "$S" --json
jq -e '.alerts | length == 1' "$WORK/out" >/dev/null || fail "status --store --json: one undelivered target expected in .alerts"
jq -e '.alerts[0].error | test("did not answer after 3 tries")' "$WORK/out" >/dev/null || fail "status --store --json: no error in .alerts"
server_start
gpc renew $STORE --force f1
expect_rc 1
[ "$(n ntfy)" = 4 ] || fail "the pending failure after the target came back: $(n ntfy) messages, expected 4 (test, failure)"
gpc status --store "$S" --json
jq -e '.alerts == []' "$WORK/out" >/dev/null || fail "status --store --json still shows undelivered alerts after they arrived"
rm "$WORK/refuse-names"
echo "== etcd out of reach: one alert past --notify-unreachable, one when it is back"
gpc renew $STORE --notify-unreachable 1800
expect_rc 0
expect_err 'alert settings stored'
copy=$(ls "$STATE_DIRECTORY"/notify-store-*.json)
[ "$(stat -c %a "$copy")" = 600 ] || fail "the node's copy of the targets is not 0600"
[ "$(stat -c %a "$STATE_DIRECTORY")" = 700 ] || fail "the state directory is not 0700"
jq -e '.unreachable_secs == 1800 and (.targets | length == 1)' "$copy" >/dev/null ||
	fail "the node's copy does not hold the targets and the threshold"
base=$(n ntfy)
for i in 1 2 3; do etcd_kill $i; done
t0=$(date +%s)
for dt in 0 600 1200; do
	GOPROXY_CERT_NOW=$((t0 + dt)) gpc renew $STORE
	expect_rc 75
done
[ "$(n ntfy)" = "$base" ] || fail "etcd out of reach for 20 minutes (threshold 30): $(($(n ntfy) - base)) messages, expected none"
GOPROXY_CERT_NOW=$((t0 + 1900)) gpc renew $STORE
expect_rc 75
[ "$(n ntfy)" = $((base + 1)) ] || fail "etcd out of reach past the threshold: $(($(n ntfy) - base)) messages, expected 1"
last() { grep "\"service\": \"ntfy\"" "$REC" | tail -n 1; }
last ntfy | grep -q 'cannot be reached' || fail "not the out-of-reach message: $(last ntfy | cut -c1-300)"
last ntfy | grep -q '"Priority": "5"' || fail "out of reach is not priority 5"
GOPROXY_CERT_NOW=$((t0 + 3600)) gpc renew $STORE
GOPROXY_CERT_NOW=$((t0 + 7200)) gpc renew $STORE f1
[ "$(n ntfy)" = $((base + 1)) ] || fail "later runs while out of reach sent again: $(($(n ntfy) - base)) messages"
for i in 1 2 3; do etcd_member_start $i --no-wait; done
etcd_wait_healthy
GOPROXY_CERT_NOW=$((t0 + 7300)) gpc renew $STORE
expect_rc 0
[ "$(n ntfy)" = $((base + 2)) ] || fail "etcd back: $(($(n ntfy) - base - 1)) recovery messages, expected 1"
last ntfy | grep -q 'reachable again' || fail "not the recovery message: $(last ntfy | cut -c1-300)"
GOPROXY_CERT_NOW=$((t0 + 7400)) gpc renew $STORE
[ "$(n ntfy)" = $((base + 2)) ] || fail "a run after the recovery sent again"
if grep -v '^\$ ' "$WORK/log" | grep -q fleetSECRETTOPIC; then
	fail "the topic (a secret) appears in the output"
fi
echo "ok"

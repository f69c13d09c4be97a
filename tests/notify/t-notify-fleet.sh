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
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
NPORT=$("$FREEPORT")
REC=$WORK/received.jsonl
: >"$REC"
python3 "$TESTS_DIR/notify/notify-server.py" "$NPORT" "$REC" 2>>"$WORK/server.err" &
ACME_PIDS="$ACME_PIDS $!"
i=0
until curl -s -o /dev/null "http://127.0.0.1:$NPORT/"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "notify-server did not start"; sleep 0.1
done
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
if grep -v '^\$ ' "$WORK/log" | grep -q fleetSECRETTOPIC; then
	fail "the topic (a secret) appears in the output"
fi
echo "ok"

#!/bin/sh
# A wrong system clock (DESIGN.md: one of the failures users met), seen as
# the CA's Date header far from this machine's clock: the relay in front of
# the real pebble shifts Date.
#   3 days apart (either way) -> exit 1 before any newOrder, the message names
#       both times, the CA host and the fix; nothing written; not counted as
#       a CA failure in the ledger; the next run with a right clock issues
#   10 minutes apart -> a warning naming both times, and the certificate
#   in step -> no clock message at all
set -eu
. "$TESTS_DIR/faults/common.sh"
faults_init
need_cli issue
pebble_start

n=0
newdir() { n=$((n + 1)); D=$WORK/certs$n; }

for off in 259200 -259200; do
	if [ "$off" -gt 0 ]; then way=behind; else way="ahead of"; fi
	echo "== the CA's clock $off s away: this clock is $way"
	relay_start --date-offset "$off"
	newdir
	issue_via "$RELAY_URL" "$D" -D clock.example.test
	expect_rc 1
	expect_err "clock is 3 days 0 hours $way the CA's"
	expect_err "here 20[0-9-]+T[0-9:]+Z, 127\.0\.0\.1:[0-9]+ says 20[0-9-]+T[0-9:]+Z"
	expect_err "nothing was ordered"
	expect_err "hint: set the clock"
	sed 's/^/   | /' "$WORK/err"
	# pebble's newOrder is POST /order-plz
	[ "$(relay_count '^POST /order-plz ')" = 0 ] ||
		fail "an order was placed: $(cat "$RELAY_LOG")"
	no_pair "$D"
	# the ledger holds no failure for the names (a local fault, not the CA's)
	if [ -f "$D/.state/ledger.json" ]; then
		python3 - "$D/.state/ledger.json" <<'PY' || fail "clock skew recorded as a CA failure in the ledger"
import json, sys
d = json.load(open(sys.argv[1]))
bad = [f for f in d.get("failures", []) if "clock.example.test" in f.get("names", "")]
sys.exit(1 if bad else 0)
PY
	fi
	gpc issue -d "$D" --json -D clock.example.test --server "$RELAY_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
		--standalone "127.0.0.1:$PEBBLE_HTTP_PORT"
	expect_rc 1
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); e=d.get("error") or {}; sys.exit(0 if "clock-skew" in json.dumps(d) else 1)' \
		"$WORK/out" || fail "--json does not carry the clock-skew code: $(cat "$WORK/out")"
	relay_stop
	echo "   exit 1, no order, nothing written"
	# the clock is right again: the same directory issues at once
	echo "== clock right again"
	relay_start
	issue_via "$RELAY_URL" "$D" -D clock.example.test
	expect_rc 0
	if grep -q "clock is" "$WORK/err"; then fail "a clock message with the clocks in step: $(cat "$WORK/err")"; fi
	pair_ok "$D/cert.crt" "$D/priv.key" || fail "no pair after the clock was right"
	relay_stop
done

echo "== 10 minutes apart: a warning, and the certificate"
relay_start --date-offset 600
newdir
issue_via "$RELAY_URL" "$D" -D warn.example.test
expect_rc 0
expect_err "warning: this machine's clock is 10 minutes behind the CA's"
grep "clock is" "$WORK/err" | sed 's/^/   | /'
pair_ok "$D/cert.crt" "$D/priv.key" || fail "no pair"
no_partial "$D"
relay_stop
faults_done

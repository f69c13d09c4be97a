#!/bin/sh
# Library behaviour under CA faults: a real pebble behind tests/lib/relay.py.
# usage: acme_faults.sh PROGRAM SCENARIO
#   retry503   first 3 requests answered 503 + Retry-After: 1 -> retried, issuance works
#   drop       POST-as-GET of authorizations dropped twice -> retried, issuance works
#   ratelimit  newOrder answered 429 rateLimited + Retry-After: 3600 -> GPC_E_RATELIMIT, no retry
#   busy       503 with Retry-After: 3600 -> GPC_E_RATELIMIT at once, no waiting
#   truncated  newOrder answer cut in half -> a clear CA error
set -eu
. "$TESTS_DIR/lib/pebble.sh"
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 missing" >&2; exit 77; }
prog=$1 scenario=$2
RELAY_PID=
cleanup() {
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "----- relay log" >&2
		cat "$PEBBLE_WORK/relay.log" >&2 2>/dev/null || :
		cat "$PEBBLE_WORK/relay.err" >&2 2>/dev/null || :
		pebble_logs
	fi
	[ -z "$RELAY_PID" ] || { kill "$RELAY_PID" 2>/dev/null || :; wait "$RELAY_PID" 2>/dev/null || :; }
	pebble_stop
	exit "$rc"
}
trap cleanup EXIT
pebble_start

relay_start() {
	python3 "$TESTS_DIR/lib/relay.py" --upstream "$PEBBLE_DIR_URL" --upstream-ca "$PEBBLE_CA_BUNDLE" \
		--cert "$PEBBLE_WORK/server.pem" --key "$PEBBLE_WORK/server.key" \
		--port-file "$PEBBLE_WORK/relay.port" --log "$PEBBLE_WORK/relay.log" "$@" \
		2>"$PEBBLE_WORK/relay.err" &
	RELAY_PID=$!
	i=0
	while [ ! -s "$PEBBLE_WORK/relay.port" ]; do
		kill -0 "$RELAY_PID" 2>/dev/null || { echo "relay did not start" >&2; exit 1; }
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "relay did not start in 30 s" >&2; exit 1; }
		sleep 0.1
	done
	PEBBLE_DIR_URL="https://127.0.0.1:$(cat "$PEBBLE_WORK/relay.port")/dir"
	export PEBBLE_DIR_URL
}
export PEBBLE_ROOT_URL="$PEBBLE_MGMT_URL/roots/0"
count() { grep -cE -- "$1" "$PEBBLE_WORK/relay.log" || :; }

case $scenario in
retry503)
	relay_start --fail-first 3 --retry-after 1
	"$prog" issue --no-conn-check
	n=$(count ' 503$')
	[ "$n" = 3 ] || { echo "FAIL: $n answers were 503, want 3" >&2; exit 1; }
	;;
drop)
	relay_start --drop-every 1 --match /authZ/ --fault-limit 2
	"$prog" issue --no-conn-check
	n=$(count 'DROP')
	[ "$n" = 2 ] || { echo "FAIL: $n dropped requests, want 2" >&2; exit 1; }
	;;
ratelimit)
	relay_start --ratelimit-neworder 3600
	"$prog" ratelimited
	n=$(count '^POST .* 429$')
	[ "$n" = 1 ] || { echo "FAIL: newOrder sent $n times, want 1 (no retry of a 429)" >&2; exit 1; }
	;;
busy)
	relay_start --fail-first 100 --retry-after 3600
	"$prog" busy
	n=$(count ' 503$')
	[ "$n" = 1 ] || { echo "FAIL: $n requests, want 1 (a long Retry-After is not waited for)" >&2; exit 1; }
	;;
truncated)
	relay_start --truncate-json --match @newOrder
	"$prog" truncated
	;;
*)
	echo "unknown scenario $scenario" >&2
	exit 64
	;;
esac

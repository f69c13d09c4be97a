#!/bin/sh
# Slow answers past the client's timeout (issue 5). The per-request timeout
# (60 s by default) is set to 4 s with $GOPROXY_CERT_TIMEOUT, and the relay
# holds answers back 8 s:
#   the directory answer comes late once -> the client gives up on it,
#     retries, and issues;
#   newOrder answers late every time -> exit 75 or 1, nothing written, never
#     a hang (a POST is not retried blindly);
#   a bad GOPROXY_CERT_TIMEOUT -> exit 64 naming it, before any request.
set -eu
. "$TESTS_DIR/faults/common.sh"
KEEP_GOING=1
faults_init
need_cli issue
pebble_start
export GOPROXY_CERT_TIMEOUT=4

echo "== GOPROXY_CERT_TIMEOUT must be 1..600 seconds"
relay_start
for bad in 0 601 abc 5s -3; do
	GOPROXY_CERT_TIMEOUT=$bad issue_via "$RELAY_URL" "$WORK/c0" -D bad.example.test
	expect_rc 64
	expect_err "GOPROXY_CERT_TIMEOUT='$bad' is not a number of seconds between 1 and 600"
done
[ ! -s "$RELAY_LOG" ] || fail "a request was made with a bad GOPROXY_CERT_TIMEOUT: $(cat "$RELAY_LOG")"
no_pair "$WORK/c0"
relay_stop

echo "== the directory answer comes after 8 s (timeout 4 s), once"
relay_start --slow 8 --match @directory --fault-limit 1
start=$(date +%s)
issue_via "$RELAY_URL" "$WORK/c1" -D slow.example.test
echo "   exit $RC after $(($(date +%s) - start)) s; $(wc -l <"$RELAY_LOG") requests"
expect_rc 0
# the held-back answer is logged when the relay finally sends it (at 8 s)
i=0
while [ "$(relay_count '^GET /dir ')" -lt 2 ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(relay_count '^GET /dir ')" -ge 2 ] || fail "the directory was not asked again after the timeout"
no_partial "$WORK/c1"
relay_stop

echo "== newOrder answers after 8 s (timeout 4 s): not retried blindly, exit 75/1, nothing written"
relay_start --slow 8 --match @newOrder
start=$(date +%s)
issue_via "$RELAY_URL" "$WORK/c2" -D slow2.example.test
el=$(($(date +%s) - start))
echo "   exit $RC after $el s"
expect_rc 75 1
[ "$el" -lt 120 ] || fail "took $el s: not bounded"
no_pair "$WORK/c2"
relay_stop
faults_done

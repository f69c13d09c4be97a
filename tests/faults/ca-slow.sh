#!/bin/sh
# Slow answers past the client's timeout (issue 5). goproxy-cert's per-request
# timeout is 60 s and cannot be shortened from outside, so this test takes
# about 70 s of mostly idle time: it runs only with FAULTS_SLOW=1 (CI and the
# default suite skip it; run it by hand:
#   FAULTS_SLOW=1 meson test -C build --suite faults faults-ca-slow).
# The directory answer is held back 70 s once: the client gives up on it,
# retries, and issues; then newOrder is held back: exit 75 or 1, nothing
# written, never a hang.
set -eu
. "$TESTS_DIR/faults/common.sh"
KEEP_GOING=1
faults_init
[ "${FAULTS_SLOW:-0}" = 1 ] || skip "set FAULTS_SLOW=1 to run the 70 s timeout test"
need_cli issue
pebble_start

echo "== the directory answer comes after 70 s, once"
relay_start --slow 70 --match @directory --fault-limit 1
start=$(date +%s)
issue_via "$RELAY_URL" "$WORK/c1" -D slow.example.test
echo "   exit $RC after $(($(date +%s) - start)) s; $(wc -l <"$RELAY_LOG") requests"
expect_rc 0
# the held-back answer is logged when the relay finally sends it (at 70 s)
i=0
while [ "$(relay_count '^GET /dir ')" -lt 2 ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(relay_count '^GET /dir ')" -ge 2 ] || fail "the directory was not asked again after the timeout"
no_partial "$WORK/c1"
relay_stop

echo "== newOrder answers after 70 s: not retried blindly, exit 75/1, nothing written"
relay_start --slow 70 --match @newOrder
start=$(date +%s)
issue_via "$RELAY_URL" "$WORK/c2" -D slow2.example.test
el=$(($(date +%s) - start))
echo "   exit $RC after $el s"
expect_rc 75 1
[ "$el" -lt 400 ] || fail "took $el s: not bounded"
no_pair "$WORK/c2"
relay_stop
faults_done

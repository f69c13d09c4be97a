#!/bin/sh
# Faults from the CA (issue 5), with a real pebble behind tests/lib/relay.py:
#   429 rateLimited on newOrder -> exit 75 naming the time; later runs before
#       that time make zero requests; after it they ask again
#   503 on the first requests / dropped connections -> success after bounded retries
#   503 for ever -> bounded retries, then exit 75; a long 503 Retry-After -> 75 at once
#   CA unreachable (closed port) -> exit 75, nothing written
#   truncated JSON / an HTML page / a truncated certificate -> exit 1 naming the CA URL
#   slow answers (within the client's timeout) -> success
# After every run: no crash, no sanitizer report, no partial file.
set -eu
. "$TESTS_DIR/faults/common.sh"
KEEP_GOING=1
faults_init
need_cli issue
pebble_start

n=0
newdir() { n=$((n + 1)); D=$WORK/certs$n; }

echo "== 429 rateLimited on newOrder"
relay_start --ratelimit-neworder 3600
newdir
before=$(date +%s)
issue_via "$RELAY_URL" "$D" -D rl.example.test
expect_rc 75
expect_err 'rateLimited|rate'
when=$(grep -Eo '20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z' "$WORK/err" | head -n 1)
[ -n "$when" ] || fail "the time is not named"
t=$(date -u -d "$when" +%s)
[ "$t" -ge $((before + 3590)) ] && [ "$t" -le $(($(date +%s) + 3610)) ] ||
	fail "named time $when is not the CA's Retry-After (now + 3600 s)"
no_pair "$D"
[ "$(relay_count '^POST .* 429$')" = 1 ] || fail "expected one 429"
: >"$RELAY_LOG"
issue_via "$RELAY_URL" "$D" -D rl.example.test
expect_rc 75
grep -q "$when" "$WORK/err" || fail "second run does not name the same time $when"
[ ! -s "$RELAY_LOG" ] || fail "second run contacted the CA: $(cat "$RELAY_LOG")"
echo "   second run: exit 75, 0 requests"
# renew of the same lineage(s) before that time: no request either.
gpc renew -d "$D"
expect_rc 75 0
[ ! -s "$RELAY_LOG" ] || fail "renew contacted the CA before Retry-After: $(cat "$RELAY_LOG")"
echo "   renew (no lineage stored yet): exit $RC, 0 requests"
# --force never skips the CA's Retry-After either.
issue_via "$RELAY_URL" "$D" -D rl.example.test --force
expect_rc 75
[ ! -s "$RELAY_LOG" ] || fail "--force contacted the CA before Retry-After"
# Once the time has passed the client asks again (and meets the 429 again).
GOPROXY_CERT_NOW=$((t + 5)) issue_via "$RELAY_URL" "$D" -D rl.example.test
expect_rc 75
[ -s "$RELAY_LOG" ] || fail "after the Retry-After time the CA was not asked again"
no_pair "$D"
relay_stop

echo "== renew meets 429 rateLimited: 75 naming the time, then no request until then"
relay_start --ratelimit-neworder 7200 --ratelimit-after 1
newdir
issue_via "$RELAY_URL" "$D" -n rr -D rr.example.test
expect_rc 0
cp "$D/rr/cert.crt" "$WORK/rr.crt"
gpc renew -d "$D" --force --rate-limit off
expect_rc 75
when=$(grep -Eo '20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z' "$WORK/out" "$WORK/err" | head -n 1 | sed 's/^[^:]*://')
[ -n "$when" ] || fail "renew does not name the time"
cmp -s "$WORK/rr.crt" "$D/rr/cert.crt" || fail "renew changed the pair despite the 429"
: >"$RELAY_LOG"
gpc renew -d "$D" --force --rate-limit off
expect_rc 75
[ ! -s "$RELAY_LOG" ] || fail "second renew contacted the CA before $when: $(cat "$RELAY_LOG")"
echo "   renew: 75 until $when, then 0 requests"
no_partial "$D"
relay_stop

echo "== 503 (Retry-After: 1) on the first 3 requests"
relay_start --fail-first 3 --retry-after 1
newdir
issue_via "$RELAY_URL" "$D" -D s503.example.test
expect_rc 0
[ "$(relay_count ' 503$')" = 3 ] || fail "expected 3 answers 503"
no_partial "$D"
relay_stop

echo "== 503 for ever: bounded retries, then 75"
relay_start --fail-first 100000 --retry-after 1
newdir
issue_via "$RELAY_URL" "$D" -D s503b.example.test
expect_rc 75
k=$(wc -l <"$RELAY_LOG")
[ "$k" -ge 2 ] && [ "$k" -le 16 ] || fail "$k requests: retries are not bounded (or none)"
no_pair "$D"
relay_stop

echo "== 503 with a long Retry-After: a deferral naming the time, no waiting"
relay_start --fail-first 100000 --retry-after 7200
newdir
issue_via "$RELAY_URL" "$D" -D s503c.example.test
expect_rc 75
k=$(wc -l <"$RELAY_LOG")
[ "$k" -le 2 ] || fail "$k requests despite Retry-After: 7200"
no_pair "$D"
relay_stop

echo "== every 3rd connection dropped without an answer"
relay_start --drop-every 3
newdir
issue_via "$RELAY_URL" "$D" -D drop.example.test
expect_rc 0
[ "$(relay_count ' DROP$')" -ge 1 ] || fail "nothing was dropped"
no_partial "$D"
relay_stop

echo "== newOrder dropped every time: exit 75 (or 1), nothing written"
relay_start --drop-every 1 --match @newOrder
newdir
issue_via "$RELAY_URL" "$D" -D dropall.example.test
expect_rc 75 1
k=$(relay_count '/order-plz DROP$')
[ "$k" -le 6 ] || fail "$k newOrder attempts: not bounded"
no_pair "$D"
relay_stop

echo "== CA unreachable (closed port): 75, nothing written"
newdir
closed=$(closed_port)
issue_via "https://127.0.0.1:$closed/dir" "$D" -D down.example.test
expect_rc 75
expect_err "127.0.0.1:$closed|127.0.0.1"
no_pair "$D"

echo "== truncated JSON (directory, newAccount, newOrder): exit 1 naming the CA URL"
for m in @directory @newAccount @newOrder; do
	relay_start --truncate-json --match "$m"
	newdir
	issue_via "$RELAY_URL" "$D" -D trunc.example.test
	expect_rc 1
	expect_err "https://127.0.0.1:$RELAY_PORT"
	no_pair "$D"
	relay_stop
done

echo "== truncated certificate download: exit 1, no pair written"
relay_start --truncate-json --match /certZ/
newdir
issue_via "$RELAY_URL" "$D" -D truncert.example.test
[ "$(relay_count '/certZ/')" -ge 1 ] || fail "no certificate download seen"
expect_rc 1
expect_err "https://127.0.0.1:$RELAY_PORT"
no_pair "$D"
relay_stop

echo "== an HTML page instead of the directory / newOrder: exit 1 naming the CA URL"
for m in @directory @newOrder; do
	relay_start --html-page --match "$m"
	newdir
	issue_via "$RELAY_URL" "$D" -D html.example.test
	expect_rc 1
	expect_err "https://127.0.0.1:$RELAY_PORT"
	no_pair "$D"
	relay_stop
done

echo "== wrong Content-Type on valid JSON: no crash, no partial file"
relay_start --wrong-content-type
newdir
issue_via "$RELAY_URL" "$D" -D ctype.example.test
expect_rc 0 1
if [ "$RC" = 1 ]; then expect_err "https://127.0.0.1:$RELAY_PORT"; fi
echo "   exit $RC (0: the body is used when it parses)"
no_partial "$D"
relay_stop

echo "== slow answers (2 s each, within the client's timeout)"
relay_start --slow 2 --match @newOrder
newdir
issue_via "$RELAY_URL" "$D" -D slow.example.test
expect_rc 0
no_partial "$D"
relay_stop
faults_done

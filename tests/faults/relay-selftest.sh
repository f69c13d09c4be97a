#!/bin/sh
# The fault-injecting relay itself, against a real pebble: the directory seen
# through the relay points back at the relay (Host forwarded), every request
# is logged, and each fault mode does what it says.
set -eu
. "$TESTS_DIR/faults/common.sh"
faults_init
pebble_start

get() { # get URL -> prints HTTP status (000 when no answer)
	curl -sS --cacert "$PEBBLE_CA_BUNDLE" -o "$WORK/body" -D "$WORK/headers" \
		-w '%{http_code}' "$@" 2>>"$WORK/curl.err" || :
}

# 1. Plain forwarding, Host preserved.
relay_start
[ "$(get "$RELAY_URL")" = 200 ] || fail "directory through the relay"
grep -q "\"newOrder\": *\"https://127.0.0.1:$RELAY_PORT/" "$WORK/body" ||
	fail "directory URLs do not point at the relay: $(cat "$WORK/body")"
cp "$WORK/body" "$WORK/dir.json"
[ "$(get -I "https://127.0.0.1:$RELAY_PORT/nonce-plz")" = 200 ] || fail "HEAD newNonce"
grep -qi '^replay-nonce: ' "$WORK/headers" || fail "no Replay-Nonce forwarded"
[ "$(relay_count '^GET /dir 200$')" = 1 ] || fail "request log: $(cat "$RELAY_LOG")"
relay_stop

# 2. 429 rateLimited on newOrder (the POST never reaches pebble).
neworder=$(sed -n 's/.*"newOrder": *"https:\/\/[^/]*\(\/[^"]*\)".*/\1/p' "$WORK/dir.json")
[ -n "$neworder" ] || fail "no newOrder in the directory"
before=$(pebble_count "POST $neworder")
relay_start --ratelimit-neworder 3600
[ "$(get -X POST -H 'Content-Type: application/jose+json' -d '{}' "https://127.0.0.1:$RELAY_PORT$neworder")" = 429 ] ||
	fail "newOrder not 429"
grep -qi '^retry-after: 3600' "$WORK/headers" || fail "no Retry-After on 429"
grep -qi '^content-type: application/problem+json' "$WORK/headers" || fail "429 content type"
grep -q 'urn:ietf:params:acme:error:rateLimited' "$WORK/body" || fail "429 body: $(cat "$WORK/body")"
[ "$(pebble_count "POST $neworder")" = "$before" ] || fail "newOrder reached pebble"
[ "$(get "$RELAY_URL")" = 200 ] || fail "directory must still pass with --ratelimit-neworder"
relay_stop

# 3. 503 on the first 2 requests, then normal.
relay_start --fail-first 2 --retry-after 7
[ "$(get "$RELAY_URL")" = 503 ] || fail "first request not 503"
grep -qi '^retry-after: 7' "$WORK/headers" || fail "no Retry-After on 503"
[ "$(get "$RELAY_URL")" = 503 ] || fail "second request not 503"
[ "$(get "$RELAY_URL")" = 200 ] || fail "third request not 200"
relay_stop

# 4. Every 2nd request dropped without an answer.
relay_start --drop-every 2
[ "$(get "$RELAY_URL")" = 200 ] || fail "request 1"
[ "$(get "$RELAY_URL")" = 000 ] || fail "request 2 was answered"
[ "$(get "$RELAY_URL")" = 200 ] || fail "request 3"
[ "$(relay_count ' DROP$')" = 1 ] || fail "DROP not logged"
relay_stop

# 5. Truncated JSON and wrong Content-Type, only on the directory.
relay_start --truncate-json --match @directory
[ "$(get "$RELAY_URL")" = 200 ] || fail "truncated directory status"
if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/body" 2>/dev/null; then
	fail "directory not truncated"
fi
relay_stop
relay_start --wrong-content-type
[ "$(get "$RELAY_URL")" = 200 ] || fail "wrong-content-type status"
grep -qi '^content-type: text/html' "$WORK/headers" || fail "content type not replaced"
relay_stop

# 6. Slow answers: a client timeout shorter than the delay gives up.
relay_start --slow 3
[ "$(get -m 1 "$RELAY_URL")" = 000 ] || fail "slow answer arrived within 1 s"
relay_stop
echo "relay self-test passed"

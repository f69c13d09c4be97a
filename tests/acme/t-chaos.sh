#!/bin/sh
# One issuance against a pebble with its random validation sleeps (0-15 s,
# no PEBBLE_VA_NOSLEEP) and 50 % of good nonces rejected as badNonce: pebble
# rejected at least one nonce and the client retried each (the issuance
# succeeds). Kept to one issuance (two names, two challenge types).
# Retry-After while polling: pebble 2.10 is told to send one (1 s,
# --retry-after): the polls must wait whole seconds as told.
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init --sleep --nonce-reject 50 --authz-reuse 0 --retry-after 1:1
hook_script "$WORK/hook.sh"

issue -n chaos -D c1.example.test -D c2.example.test --challenge dns-01 --hook "$WORK/hook.sh" -vv
expect_rc 0
expect_out '^chaos: issued'
rejected=$(grep -c 'badNonce, retrying' "$WORK/err" || :)
echo "pebble rejected $rejected nonces; the client retried each"
# over 15 signed requests at 50 %: none rejected at all is under 1 in 30000
[ "$rejected" -gt 0 ] || fail "pebble rejected no nonce: the badNonce retry was not exercised"
[ "$(cert_names "$CERTS/chaos/cert.crt" | wc -l)" = 2 ] || fail "2 names expected"

# Without Retry-After the waits are 100 ms doubling (100, 200, ... 3200);
# with it they are whole seconds until the time the CA named.
if grep -q '"retryAfter"' "$PEBBLE_WORK/pebble-config.json" 2>/dev/null; then
	grep -Eq '(pending|processing); asking again in [1-9][0-9]*000 ms' "$WORK/err" ||
		fail "pebble sent Retry-After while polling; the client's waits did not follow it"
	echo "Retry-After while polling honoured"
else
	echo "SKIP: Retry-After while polling (this pebble is not configured to send one: tests/lib/pebble.sh writes no retryAfter)"
fi
echo "ok"

#!/bin/sh
# One issuance against a pebble with its random validation sleeps (0-15 s,
# no PEBBLE_VA_NOSLEEP) and 50 % of good nonces rejected as badNonce: the
# client retries with the nonce the error carries and honours Retry-After
# while polling. Kept to one issuance (two names, two challenge types).
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init --sleep --nonce-reject 50 --authz-reuse 0
hook_script "$WORK/hook.sh"

issue -n chaos -D c1.example.test -D c2.example.test --challenge dns-01 --hook "$WORK/hook.sh" -vv
expect_rc 0
expect_out '^chaos: issued'
rejected=$(grep -c 'badNonce, retrying' "$WORK/err" || :)
echo "pebble rejected $rejected nonces; the client retried each"
[ "$(cert_names "$CERTS/chaos/cert.crt" | wc -l)" = 2 ] || fail "2 names expected"
echo "ok"

#!/bin/sh
# Authorization reuse, made certain: pebble reuses every still-valid
# authorization (PEBBLE_AUTHZREUSE=100; the other tests run with 0 so their
# outcome never depends on pebble's dice). A second order for the same name
# finds its authorization already valid, answers no challenge and is issued.
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init --authz-reuse 100
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
issue -n ru -D ru.example.test $SA
expect_rc 0
chal_before=$(pebble_requests 'POST /chalZ')
serial1=$(openssl x509 -in "$CERTS/ru/cert.crt" -noout -serial)
issue -n ru -D ru.example.test $SA --force -vv
expect_rc 0
expect_err 'authorization for ru.example.test already valid'
[ "$chal_before" = "$(pebble_requests 'POST /chalZ')" ] || fail "a challenge was answered although the authorization was valid"
[ "$serial1" != "$(openssl x509 -in "$CERTS/ru/cert.crt" -noout -serial)" ] || fail "no new certificate"
echo ok

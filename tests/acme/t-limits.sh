#!/bin/sh
# The offline rate-limit guard: the 6th certificate for one exact name set in
# 168 h is refused before any network access (exit 75, says when); a changed
# set is not counted with it; --rate-limit; the CA's 429 Retry-After is stored
# and honoured without contacting the CA again.
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"

# Pebble 2.10 has ARI: a reissue of a lineage (--force) names the
# certificate it replaces and is exempt from the count (RFC 9773, as at Let's
# Encrypt). So each counted issuance is a new lineage for the same name set
# (--duplicate: a second lineage for names another one holds is refused).
echo "== five certificates for {rl.example.test}"
for n in rl rl-b rl-c rl-d rl-e; do
	issue -n $n -D rl.example.test --duplicate $SA
	expect_rc 0
done
echo "== without --duplicate, a new lineage for names another one holds is refused offline"
before=$(pebble_requests 'calling handler')
issue -n rl-typo -D RL.example.test $SA
expect_rc 64
expect_err "rl-typo: lineage 'rl' already holds a certificate for exactly these names, valid until 20"
expect_err 'hint: to change or renew that one: goproxy-cert issue -n rl .*add --duplicate'
[ "$before" = "$(pebble_requests 'calling handler')" ] || fail "the CA was asked for a duplicate"
[ ! -e "$CERTS/rl-typo" ] && [ ! -e "$CERTS/.state/lineages/rl-typo.json" ] || fail "the refused run wrote rl-typo"
echo "== another key type is not a duplicate (an RSA and an EC certificate side by side)"
issue -n rl-rsa -D rl3.example.test $SA
expect_rc 0
issue -n rl-rsa2 -D rl3.example.test --key-type rsa2048 $SA
expect_rc 0
echo "== the 6th is refused offline (CA unreachable: no request at all)"
cp "$CERTS/rl/cert.crt" "$WORK/rl.crt"
before=$(pebble_requests 'calling handler')
gpc issue -d "$CERTS" -n rl-f -D rl.example.test --duplicate --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" $SA
expect_rc 75
expect_err '5 certificates for exactly \{rl.example.test\} .* in the last 168 hours \(limit 5\); next issuance allowed at 20[0-9-]+T'
expect_out '^rl-f: deferred until 20'
after=$(pebble_requests 'calling handler')
[ "$before" = "$after" ] || fail "pebble saw $((after - before)) requests for a refused issuance"
[ ! -e "$CERTS/rl-f/cert.crt" ] || fail "the refused run wrote a certificate"
cmp -s "$WORK/rl.crt" "$CERTS/rl/cert.crt" || fail "the refused run changed the certificate"
# the pair's links, ..data and its one generation directory; nothing else
ls -a "$CERTS/rl" | grep -v '^\.\.\?$' | grep -qv '^cert.crt$\|^priv.key$\|^\.\.data$\|^\.\.[0-9][0-9_T.-]*$' &&
	fail "stray files in $CERTS/rl: $(ls -a "$CERTS/rl")" || :
[ "$(ls -a "$CERTS/rl" | grep -c '^\.\.[0-9]')" = 1 ] || fail "more than one generation in $CERTS/rl: $(ls -a "$CERTS/rl")"
echo "== JSON says when"
issue -n rl-f -D rl.example.test --duplicate --json $SA
expect_rc 75
expect_out '"result":"deferred".*"retry_after":"20'
echo "== the guard also holds with the clock 167 h later, not 169 h later"
GOPROXY_CERT_NOW=$(( $(date +%s) + 167 * 3600 )) gpc issue -d "$CERTS" -n rl-f -D rl.example.test --duplicate \
	--server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" $SA
expect_rc 75
GOPROXY_CERT_NOW=$(( $(date +%s) + 169 * 3600 )) gpc issue -d "$CERTS" -n rl-f -D rl.example.test --duplicate \
	--server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" $SA
expect_rc 0
echo "== a reissue that replaces a certificate (ARI) is not counted"
issue -n rl -D rl.example.test --force $SA
expect_rc 0
echo "== a different name set is a different count"
issue -n rl -D rl.example.test -D rl2.example.test $SA
expect_rc 0
echo "== --rate-limit 6/168 and off allow more; bad values are usage errors"
issue -n rl-g -D rl.example.test --duplicate --rate-limit 6/168 $SA
expect_rc 0
issue -n rl-h -D rl.example.test --duplicate --rate-limit 6/168 $SA
expect_rc 75
issue -n rl-h -D rl.example.test --duplicate --rate-limit off $SA
expect_rc 0
issue -n rl -D rl.example.test --rate-limit 5/x $SA
expect_rc 64
expect_err "rate-limit.*'5/x'"

echo "== 5 failed authorizations for a name in an hour: the 6th attempt is refused offline"
# the responder listens on 127.0.0.2; pebble connects to 127.0.0.1 and fails
i=0
while [ $i -lt 5 ]; do
	issue -n fa -D fa.example.test --standalone "127.0.0.2:$PEBBLE_HTTP_PORT"
	expect_rc 1
	expect_err 'http-01 challenge for fa.example.test failed'
	i=$((i + 1))
done
before=$(pebble_requests 'calling handler')
issue -n fa -D fa.example.test $SA
expect_rc 75
expect_err 'fa.example.test: 5 failed authorizations in the last hour \(limit 5 per name per hour\); next attempt allowed at 20'
[ "$before" = "$(pebble_requests 'calling handler')" ] || fail "the CA was contacted although the name failed 5 times"
echo "== ... and allowed again an hour later"
GOPROXY_CERT_NOW=$(( $(date +%s) + 3601 )) gpc issue -d "$CERTS" -n fa -D fa.example.test \
	--server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" $SA
expect_rc 0

echo "== CA 429 rateLimited with Retry-After through a relay: stored, honoured offline"
command -v python3 >/dev/null 2>&1 || { echo "python3 missing: relay part skipped"; echo ok; exit 0; }
python3 "$TESTS_DIR/lib/relay.py" --upstream "$PEBBLE_DIR_URL" --upstream-ca "$PEBBLE_CA_BUNDLE" \
	--cert "$PEBBLE_WORK/server.pem" --key "$PEBBLE_WORK/server.key" --port-file "$WORK/relay.port" \
	--log "$WORK/relay.log" --ratelimit-neworder 7200 2>"$WORK/relay.err" &
ACME_PIDS="$ACME_PIDS $!"
i=0
while [ ! -s "$WORK/relay.port" ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "relay did not start: $(cat "$WORK/relay.err")"; sleep 0.1
done
RELAY_URL="https://127.0.0.1:$(cat "$WORK/relay.port")/${PEBBLE_DIR_URL#https://*/}"
gpc issue -d "$CERTS" -n ra -D ra.example.test --server "$RELAY_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" $SA
expect_rc 75
expect_err 'rateLimited|rate'
n1=$(wc -l <"$WORK/relay.log")
gpc issue -d "$CERTS" -n ra -D ra.example.test --server "$RELAY_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" $SA
expect_rc 75
expect_err 'asked us to wait: not contacting it again before 20'
n2=$(wc -l <"$WORK/relay.log")
[ "$n1" = "$n2" ] || fail "the CA was contacted again during its Retry-After"
[ ! -e "$CERTS/ra" ] || fail "ra directory written"
echo "== the stored Retry-After holds even with --rate-limit off"
gpc issue -d "$CERTS" -n ra -D ra.example.test --server "$RELAY_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" $SA --rate-limit off
expect_rc 75
echo "ok"

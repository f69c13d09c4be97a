#!/bin/sh
# Messages from the CA that carry an action for the user are passed on
# whole. A rate-limit answer with Let's Encrypt's unpause link (through
# tests/lib/relay.py in front of pebble 2.10, --ratelimit-detail): issue
# exits 75 and prints the link whole, without the sentence's final dot, in
# its hint; a link too long for the hint (a 700-byte JWT) is printed whole
# on a line of its own and the hint points there.
set -eu
. "$TESTS_DIR/acme/common.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 missing (tests/lib/relay.py)" >&2; exit 77; }
acme_init
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"

# relay NAME DETAIL: a relay answering every newOrder with 429 rateLimited and DETAIL; sets RELAY_URL
relay() {
	bg_start python3 "$TESTS_DIR/lib/relay.py" --upstream "$PEBBLE_DIR_URL" --upstream-ca "$PEBBLE_CA_BUNDLE" \
		--cert "$PEBBLE_WORK/server.pem" --key "$PEBBLE_WORK/server.key" --port-file "$WORK/$1.port" \
		--log "$WORK/$1.log" --ratelimit-neworder 3600 --ratelimit-detail "$2" 2>"$WORK/$1.err"
	_i=0
	while [ ! -s "$WORK/$1.port" ]; do
		_i=$((_i + 1)); [ $_i -lt 300 ] || fail "relay did not start: $(cat "$WORK/$1.err")"; sleep 0.1
	done
	RELAY_URL="https://127.0.0.1:$(cat "$WORK/$1.port")/${PEBBLE_DIR_URL#https://*/}"
}
jwt() { head -c "$1" /dev/zero | tr '\0' 'A'; }

echo "== an unpause link in the hint, whole"
URL="https://portal.letsencrypt.org/sfe/v1/unpause?jwt=eyJhbGciOiJIUzI1NiJ9.$(jwt 240).sig-_x"
relay short "Your account is temporarily prevented from requesting certificates for pause.example.test and possibly others. Please visit: $URL."
gpc issue -d "$CERTS" -n p1 -D pause.example.test --server "$RELAY_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" $SA
expect_rc 75
grep -F "hint: the CA paused new orders" "$WORK/err" | grep -qF "open $URL (the CA's link, whole)" ||
	fail "the unpause link is not in the hint whole"

echo "== a link too long for the hint: on a line of its own, whole"
URL2="https://portal.letsencrypt.org/sfe/v1/unpause?jwt=eyJhbGciOiJIUzI1NiJ9.$(jwt 700).sig"
relay long "Your account is temporarily prevented from requesting certificates for pause2.example.test. Please visit: $URL2"
gpc issue -d "$CERTS" -n p2 -D pause2.example.test --server "$RELAY_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" $SA
expect_rc 75
grep -qxF "goproxy-cert: warning: the CA's link for this limit: $URL2" "$WORK/err" ||
	fail "the long unpause link is not printed whole"
expect_err 'hint: the CA paused new orders for these names on this account; to go on, open the link logged above'
echo "PASS"

#!/bin/bash
# goproxyd tls-alpn-01 (RFC 8737): a ClientHello offering only acme-tls/1
# for a name with DIR/.state/challenges/tls-alpn-01/NAME.crt + NAME.key gets
# that certificate and the connection ends after the handshake; other
# clients are not affected.
. "$(dirname "$0")/lib.sh"

mkpair "$CERTS" default.test
start_nginx
P=$(freeport)
start_gpd -d "$CERTS" -l "127.0.0.1:$P" -b "127.0.0.1:$NGX_PORT" --workers 2

CH="$CERTS/.state/challenges/tls-alpn-01"
mkdir -p "$CH"
chmod 700 "$CERTS/.state"
# the certificate goproxy-cert's solver writes: SAN = identifier, the
# critical acmeIdentifier extension (id-pe-acmeIdentifier 1.3.6.1.5.5.7.1.31)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-keyout "$T/ch.key" -out "$T/ch.crt" -subj "/CN=acme challenge" \
	-addext "subjectAltName=DNS:acme.test" \
	-addext "1.3.6.1.5.5.7.1.31=critical,DER:04:20:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/../&:/g;s/:$//')" \
	>/dev/null 2>&1 || fail "openssl: challenge certificate"
mv "$T/ch.key" "$CH/acme.test.key"
mv "$T/ch.crt" "$CH/acme.test.crt"

acme_subject() {
	openssl s_client -connect "127.0.0.1:$P" -servername "$1" -alpn acme-tls/1 </dev/null 2>/dev/null |
		openssl x509 -noout -subject -nameopt multiline 2>/dev/null | sed -n 's/^ *commonName *= *//p'
}
acme_is() { [ "$(acme_subject "$1")" = "$2" ]; }

poll 50 acme_is acme.test "acme challenge" || fail "challenge certificate not served for acme-tls/1"
alpn=$(openssl s_client -connect "127.0.0.1:$P" -servername acme.test -alpn acme-tls/1 </dev/null 2>/dev/null |
	sed -n 's/^ALPN protocol: //p')
[ "$alpn" = acme-tls/1 ] || fail "ALPN acme-tls/1 not negotiated ('$alpn')"
ok "acme-tls/1 ClientHello gets the challenge certificate"

# the server ends the connection after the handshake (s_client -ign_eof
# would wait forever otherwise)
set +e
timeout 20 openssl s_client -connect "127.0.0.1:$P" -servername acme.test -alpn acme-tls/1 -ign_eof \
	</dev/null >"$T/sc.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 124 ] || fail "acme-tls/1 connection not closed after the handshake"
grep -q "tls-alpn-01: served the challenge certificate for acme.test" "$T/gpd.log" || fail "no log line"
ok "connection closed after the handshake"

[ "$(subject "$P" acme.test)" = default.test ] || fail "a normal client got the challenge certificate"
fetch "$P" acme.test >/dev/null || fail "a normal request to acme.test failed"
ok "normal clients for the same name are served as usual"

[ -z "$(acme_subject other.test)" ] || fail "acme-tls/1 for a name without a challenge got a certificate"
ok "acme-tls/1 without a challenge certificate is refused"

# the CA may connect right after `issue` wrote the files: the handshake
# waits (up to 3 s) for the reload thread to load them
openssl s_client -connect "127.0.0.1:$P" -servername late.test -alpn acme-tls/1 </dev/null 2>/dev/null |
	openssl x509 -noout -subject -nameopt multiline 2>/dev/null >"$T/late.out" &
LATE=$!
sleep 0.3
cp "$CH/acme.test.key" "$CH/late.test.key"
cp "$CH/acme.test.crt" "$CH/late.test.crt"
wait "$LATE" || true
grep -q "acme challenge" "$T/late.out" || fail "a challenge certificate written during the handshake was not served"
ok "a challenge certificate written just before the CA connects is served"

rm -f "$CH/acme.test.crt" "$CH/acme.test.key"
poll 50 sh -c "[ -z \"\$(openssl s_client -connect 127.0.0.1:$P -servername acme.test -alpn acme-tls/1 </dev/null 2>/dev/null | openssl x509 -noout 2>/dev/null && echo y)\" ]" ||
	fail "removed challenge certificate still served"
ok "removed challenge certificate no longer served"

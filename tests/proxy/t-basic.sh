#!/bin/bash
# goproxyd basics: default and SNI certificates, wildcard, unknown names,
# --sni-strict, routes, data both ways with half-close (1 MiB via gnutls-cli).
. "$(dirname "$0")/lib.sh"

mkpair "$CERTS" default.test
mkpair "$CERTS/www" www.test
mkpair "$CERTS/wild" wild.test '*.wild.test'
start_nginx
set -- $(freeport 3)
P=$1 ECHO=$2 P2=$3
"$GPD_TOOL" echo "$ECHO" >"$T/echo.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$ECHO"
# route.test goes to the echo backend, everything else to nginx
start_gpd -d "$CERTS" -l "127.0.0.1:$P" -b "127.0.0.1:$NGX_PORT" \
	--route "route.test=127.0.0.1:$ECHO" --route "*.r.test=127.0.0.1:$ECHO" --workers 2

[ "$(subject "$P")" = default.test ] || fail "no SNI: expected default.test, got '$(subject "$P")'"
ok "no SNI gets the default lineage"
[ "$(subject "$P" www.test)" = www.test ] || fail "SNI www.test: got '$(subject "$P" www.test)'"
[ "$(subject "$P" WWW.Test)" = www.test ] || fail "SNI is case-insensitive"
ok "SNI www.test gets lineage www"
[ "$(subject "$P" a.wild.test)" = wild.test ] || fail "wildcard: got '$(subject "$P" a.wild.test)'"
[ "$(subject "$P" b.a.wild.test)" = default.test ] || fail "wildcard covers one label only"
ok "one-label wildcard"
[ "$(subject "$P" unknown.test)" = default.test ] || fail "unknown SNI should get default"
ok "unknown SNI gets the default lineage"

body=$(fetch "$P" www.test) || fail "curl through the proxy"
[ "$body" = "hello www.test" ] || fail "unexpected body '$body'"
ok "request forwarded to nginx"

# ALPN: http/1.1 negotiated by default
alpn=$(openssl s_client -connect "127.0.0.1:$P" -servername www.test -alpn h2,http/1.1 </dev/null 2>/dev/null |
	sed -n 's/^ALPN protocol: //p')
[ "$alpn" = http/1.1 ] || fail "ALPN: expected http/1.1, got '$alpn'"
ok "ALPN http/1.1"

# routes: exact and *.suffix; data both ways with half-close (gnutls-cli
# sends close_notify at end of input; the backend answers after its EOF)
head -c 1048576 /dev/urandom >"$T/big"
out=$(gnutls-cli --insecure --sni-hostname=route.test -p "$P" 127.0.0.1 <"$T/big" 2>/dev/null | grep got) ||
	fail "route.test: no answer from the echo backend"
[ "$out" = "got 1048576 bytes" ] || fail "route.test: '$out'"
out=$(printf 'abc' | gnutls-cli --insecure --sni-hostname=x.r.test -p "$P" 127.0.0.1 2>/dev/null | grep got) ||
	fail "*.r.test route"
[ "$out" = "got 3 bytes" ] || fail "*.r.test: '$out'"
ok "routes (exact and wildcard), 1 MiB up, half-close both ways"

# 1 MiB down: nginx serves a file
head -c 1048576 /dev/urandom >"$T/nginx/files/big.bin"
curl -sSk -o "$T/got.bin" --resolve "www.test:$P:127.0.0.1" "https://www.test:$P/files/big.bin" ||
	fail "1 MiB download"
cmp -s "$T/got.bin" "$T/nginx/files/big.bin" || fail "1 MiB download differs"
ok "1 MiB download intact"

# --sni-strict: unknown names refused, known ones served
start_gpd_strict() {
	"$GOPROXYD" -d "$CERTS" -l "127.0.0.1:$P2" -b "127.0.0.1:$NGX_PORT" --sni-strict --workers 1 -v --alpn h2,http/1.1 \
		>"$T/strict.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_port "$P2"
}
start_gpd_strict
[ "$(subject "$P2" www.test)" = www.test ] || fail "--sni-strict: known name refused"
[ -z "$(subject "$P2" unknown.test)" ] || fail "--sni-strict: unknown name served"
[ -z "$(subject "$P2")" ] || fail "--sni-strict: no SNI served"
grep -q "unknown.test: no certificate (--sni-strict)" "$T/strict.log" || fail "--sni-strict: no log line"
if curl -sSk --max-time 5 --resolve "nope.test:$P2:127.0.0.1" "https://nope.test:$P2/" >/dev/null 2>&1; then
	fail "--sni-strict: curl to an unknown name succeeded"
fi
ok "--sni-strict refuses unknown names"
alpn=$(openssl s_client -connect "127.0.0.1:$P2" -servername www.test -alpn http/1.1,h2 </dev/null 2>/dev/null |
	sed -n 's/^ALPN protocol: //p')
[ "$alpn" = h2 ] || fail "--alpn h2,http/1.1: server preference not used ('$alpn')"
ok "--alpn list, server preference"

# IPv6 loopback, when the machine has it
P6=$(freeport)
if python3 -c "import socket; s=socket.socket(socket.AF_INET6); s.bind(('::1', 0))" 2>/dev/null ||
	(exec 9<>/dev/tcp/::1/$NGX_PORT) 2>/dev/null; then
	"$GOPROXYD" -d "$CERTS" -l "[::1]:$P6" -b "127.0.0.1:$NGX_PORT" --workers 1 >"$T/v6.log" 2>&1 &
	PIDS="$PIDS $!"
	poll 100 grep -q "listening on ::1:$P6" "$T/v6.log" || fail "no IPv6 listener"
	body=$(curl -sSk -g --max-time 10 --resolve "www.test:$P6:[::1]" "https://www.test:$P6/") ||
		fail "curl over IPv6"
	[ "$body" = "hello www.test" ] || fail "IPv6 body '$body'"
	ok "IPv6 listener"
else
	echo "SKIP: IPv6 listener (no ::1 here)"
fi
kill -0 "$GPD_PID" || fail "goproxyd died"

# sni.c on its own (no libev, no sockets to the outside): what the fuzz
# targets link; a real GnuTLS handshake in memory
if [ -n "${SNI_HANDSHAKE:-}" ]; then
	[ "$("$SNI_HANDSHAKE" "$CERTS")" = default ] || fail "sni-handshake: no SNI"
	[ "$("$SNI_HANDSHAKE" "$CERTS" www.test)" = www ] || fail "sni-handshake: www.test"
	[ "$("$SNI_HANDSHAKE" "$CERTS" a.wild.test)" = wild ] || fail "sni-handshake: a.wild.test"
	set +e
	out=$("$SNI_HANDSHAKE" "$CERTS" nochallenge.test acme)
	rc=$?
	set -e
	[ "$rc" -eq 1 ] && [ "$out" = - ] || fail "sni-handshake: acme-tls/1 without a challenge: rc $rc '$out'"
	ok "sni.c alone: handshakes choose default, exact, wildcard; acme-tls/1 refused"
fi

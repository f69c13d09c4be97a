#!/bin/bash
# goproxyd --http: http-01 tokens answered from .state/challenges/http-01,
# bad tokens (path traversal, odd characters) 404, everything else 301 to
# https://HOST/PATH?QUERY; pidfiles while serving.
. "$(dirname "$0")/lib.sh"

mkpair "$CERTS" default.test www.example.test
start_nginx
set -- $(freeport 2)
P=$1 H=$2
start_gpd -d "$CERTS" -l "127.0.0.1:$P" -b "127.0.0.1:$NGX_PORT" --http "127.0.0.1:$H" \
	--pidfile "$T/gpd.pid" --workers 1
wait_port "$H"

mkdir -p "$CERTS/.state/challenges/http-01"
printf 'tok_EN-1.thumbprint' >"$CERTS/.state/challenges/http-01/tok_EN-1"
printf 'secret-content-1' >"$CERTS/.state/secret"
printf 'secret-content-2' >"$CERTS/.state/challenges/secret"
mkdir -p "$CERTS/.state/challenges/http-01/dir"

code_body() { curl -sS --max-time 10 -o "$T/body" -w '%{http_code}' "$@"; }

[ "$(code_body "http://127.0.0.1:$H/.well-known/acme-challenge/tok_EN-1")" = 200 ] || fail "token not 200"
[ "$(cat "$T/body")" = "tok_EN-1.thumbprint" ] || fail "token body: $(cat "$T/body")"
[ "$(code_body -I "http://127.0.0.1:$H/.well-known/acme-challenge/tok_EN-1")" = 200 ] || fail "HEAD token"
ok "http-01 token answered"

# not_found URL...: curl args; the answer is 404 and its body shows no
# secret (checked for every request, the body first: a leak answered 200 or
# 404 alike is named as a leak)
not_found() {
	_code=$(code_body "$@")
	! grep -q secret-content "$T/body" || fail "$* leaked a file: $(head -c 200 "$T/body")"
	[ "$_code" = 404 ] || fail "$* answered $_code, not 404"
}
not_found "http://127.0.0.1:$H/.well-known/acme-challenge/missing"
not_found "http://127.0.0.1:$H/.well-known/acme-challenge/dir"
not_found "http://127.0.0.1:$H/.well-known/acme-challenge/"
# .state/challenges/secret and .state/secret: what ../ and ../../ reach
not_found --path-as-is "http://127.0.0.1:$H/.well-known/acme-challenge/../secret"
not_found --path-as-is "http://127.0.0.1:$H/.well-known/acme-challenge/..%2fsecret"
not_found --path-as-is "http://127.0.0.1:$H/.well-known/acme-challenge/../../secret"
not_found --path-as-is "http://127.0.0.1:$H/.well-known/acme-challenge/tok_EN-1/../../secret"
not_found --path-as-is "http://127.0.0.1:$H/.well-known/acme-challenge/dir/../../secret"
not_found "http://127.0.0.1:$H/.well-known/acme-challenge/tok.EN"
ok "missing and invalid tokens (path traversal) 404"

[ "$(code_body -H 'Host: www.example.test:8080' "http://127.0.0.1:$H/a/b?x=1&y=2")" = 301 ] || fail "redirect not 301"
loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -H 'Host: www.example.test' "http://127.0.0.1:$H/a/b?x=1&y=2")
[ "$loc" = "https://www.example.test/a/b?x=1&y=2" ] || fail "Location: '$loc'"
loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -H 'Host: [::1]:80' "http://127.0.0.1:$H/")
# a Host goproxyd has no certificate for (an address here) is not reflected:
# the redirect names the default certificate's first name (goproxyd(8))
[ "$loc" = "https://default.test/" ] || fail "IPv6 Location: '$loc'"
ok "everything else 301 to https://HOST/PATH?QUERY (HOST a served name)"
[ "$(code_body -H 'Host: evil.test\r\nX: y' "http://127.0.0.1:$H/")" = 400 ] || fail "bad Host not 400"
printf 'GET / HTTP/1.0\r\n\r\n' >"$T/req"
resp=$(curl -sS --max-time 5 "telnet://127.0.0.1:$H" <"$T/req" | head -1 | tr -d '\r')
[ "$resp" = "HTTP/1.1 400 Bad Request" ] || fail "no Host: '$resp'"
ok "bad or missing Host: 400"

[ "$(cat "$T/gpd.pid")" = "$GPD_PID" ] || fail "--pidfile content"
[ "$(head -1 "$CERTS/.state/goproxyd.pid")" = "$GPD_PID" ] || fail ".state/goproxyd.pid content"
[ "$(sed -n 2p "$CERTS/.state/goproxyd.pid")" = "answers: http-01 tls-alpn-01" ] || fail ".state/goproxyd.pid: challenge types with --http"
stop_gpd
[ ! -e "$T/gpd.pid" ] && [ ! -e "$CERTS/.state/goproxyd.pid" ] || fail "pidfiles left after exit"
ok "pidfiles written and removed"

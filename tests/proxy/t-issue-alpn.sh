#!/bin/bash
# End to end with the real pebble: `goproxy-cert issue --http-dir` while
# goproxyd serves the certs directory. tls-alpn-01: goproxyd presents the
# acme-tls/1 certificate the solver writes; http-01: goproxyd --http answers
# the token. Then the issued certificate is served by goproxyd (no restart)
# and a page is fetched through it.
. "$(dirname "$0")/lib.sh"

if ! "$GOPROXY_CERT" issue --help >/dev/null 2>&1; then
	echo "SKIP: goproxy-cert issue is not implemented yet"
	exit 77
fi
. "$TESTS_DIR/lib/pebble.sh"
EXTRA_CLEANUP="pebble_stop"
pebble_start

# goproxyd needs one usable certificate to start: a self-signed bootstrap
mkpair "$CERTS" bootstrap.test
start_nginx
start_gpd -d "$CERTS" -l "127.0.0.1:$PEBBLE_TLS_PORT" -b "127.0.0.1:$NGX_PORT" \
	--http "127.0.0.1:$PEBBLE_HTTP_PORT" --workers 1
wait_port "$PEBBLE_HTTP_PORT"


gpc_issue -n alpn -D alpn.example.test --challenge tls-alpn-01 --http-dir
grep -q "tls-alpn-01: served the challenge certificate for alpn.example.test" "$T/gpd.log" ||
	fail "pebble's validation did not reach goproxyd"
ok "tls-alpn-01 answered by goproxyd (issue --http-dir against pebble)"
poll 50 sh -c "[ \"\$(openssl s_client -connect 127.0.0.1:$PEBBLE_TLS_PORT -servername alpn.example.test </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256)\" = \"\$(openssl x509 -noout -fingerprint -sha256 -in '$CERTS/alpn/cert.crt')\" ]" ||
	fail "issued certificate not served"
body=$(fetch "$PEBBLE_TLS_PORT" alpn.example.test) || fail "fetch through goproxyd"
[ "$body" = "hello alpn.example.test" ] || fail "body '$body'"
ok "issued certificate served without restart; page fetched through goproxyd"

gpc_issue -n web -D web.example.test --challenge http-01 --http-dir
grep -q "http-01: answered token" "$T/gpd.log" || fail "http-01 validation did not reach goproxyd"
poll 50 sh -c "[ \"\$(openssl s_client -connect 127.0.0.1:$PEBBLE_TLS_PORT -servername web.example.test </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256)\" = \"\$(openssl x509 -noout -fingerprint -sha256 -in '$CERTS/web/cert.crt')\" ]" ||
	fail "http-01-issued certificate not served"
ok "http-01 answered by goproxyd --http; certificate served"

# No solver and no challenge named: a live goproxyd is found through
# .state/goproxyd.pid. With --http it answers http-01; without --http only
# tls-alpn-01, and issue picks that type by itself.
# The web issue above already logged an answered token: count the lines, and
# the tls-alpn-01 answer that must not happen for this name.
n_http=$(grep -c "http-01: answered token" "$T/gpd.log" || :)
gpc_issue -n auto1 -D auto1.example.test
[ "$(grep -c "http-01: answered token" "$T/gpd.log" || :)" -gt "$n_http" ] ||
	{ cat "$T/issue.log"; fail "default solver did not use goproxyd --http: no http-01 token answered for auto1"; }
! grep -q "tls-alpn-01: served the challenge certificate for auto1.example.test" "$T/gpd.log" ||
	fail "default solver with goproxyd --http answered auto1.example.test by tls-alpn-01, not http-01"
ok "default solver with goproxyd --http running: http-01 through goproxyd"
stop_gpd
start_gpd -d "$CERTS" -l "127.0.0.1:$PEBBLE_TLS_PORT" -b "127.0.0.1:$NGX_PORT" --workers 1
gpc_issue -n auto2 -D auto2.example.test -v
grep -q "tls-alpn-01: served the challenge certificate for auto2.example.test" "$T/gpd.log" ||
	{ cat "$T/issue.log"; fail "default solver did not pick tls-alpn-01 through goproxyd without --http"; }
ok "default solver with goproxyd without --http: tls-alpn-01 through goproxyd"

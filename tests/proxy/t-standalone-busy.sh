#!/bin/bash
# A lineage issued with --standalone before goproxyd ran (issue 24): once a
# goproxyd of this certs dir holds the port, renew answers http-01 through
# goproxyd and says so, instead of failing every renewal with "Address
# already in use"; the stored settings stay as they were. A port held by
# something else still fails with the hint that names the choices.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/lib/pebble.sh"
EXTRA_CLEANUP="pebble_stop"
pebble_start
G() {
	set +e
	"$GOPROXY_CERT" "$@" >"$T/out.log" 2>"$T/err.log"
	rc=$?
	set -e
}

G issue -d "$CERTS" -n sa -D sa.example.test --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
	--standalone "127.0.0.1:$PEBBLE_HTTP_PORT"
[ "$rc" = 0 ] || fail "issue --standalone: exit $rc: $(cat "$T/err.log")"
ok "issued with --standalone while nothing else listened there"

echo "== the port held by another server: the hint, exit 1"
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); print("up", flush=True); time.sleep(60)
' "$PEBBLE_HTTP_PORT" >"$T/holder.log" 2>&1 &
holder=$!
PIDS="$PIDS $holder"
wait_port "$PEBBLE_HTTP_PORT"
G renew -d "$CERTS" --force --lock-wait 5 sa
[ "$rc" = 1 ] || fail "renew with the port held by another server: exit $rc, want 1"
grep -q "cannot listen: Address already in use" "$T/out.log" "$T/err.log" || fail "no 'Address already in use': $(cat "$T/out.log" "$T/err.log")"
grep -q "through goproxyd" "$T/err.log" && fail "answered through a goproxyd that is not there"
kill "$holder"
wait "$holder" 2>/dev/null || true
ok "a port held by another server: exit 1 with the hint"

echo "== goproxyd of this certs dir on the port: renew answers through it"
mkpair "$CERTS" bootstrap.test
start_nginx
start_gpd -d "$CERTS" -l "127.0.0.1:$PEBBLE_TLS_PORT" -b "127.0.0.1:$NGX_PORT" \
	--http "127.0.0.1:$PEBBLE_HTTP_PORT" --workers 1
wait_port "$PEBBLE_HTTP_PORT"
# a new account: pebble 2.10 reuses sa's valid authorization 1 time in 100
# (even at PEBBLE_AUTHZREUSE=0), and then nothing would reach goproxyd
rm -rf "$CERTS/.state/accounts"
G renew -d "$CERTS" --force --lock-wait 5 sa
[ "$rc" = 0 ] || fail "renew with goproxyd on the --standalone port: exit $rc: $(cat "$T/out.log" "$T/err.log")"
grep -q "sa: --standalone 127.0.0.1:$PEBBLE_HTTP_PORT is in use and a goproxyd serves this certs dir: answering http-01 through goproxyd" \
	"$T/err.log" || fail "renew did not say it answered through goproxyd: $(cat "$T/err.log")"
grep -q "http-01: answered token" "$T/gpd.log" || fail "the CA's validation did not reach goproxyd"
[ "$(jq -r .solver "$CERTS/.state/lineages/sa.json")" = standalone ] || fail "the stored solver changed"
ok "renew answered through goproxyd and said so; the stored settings kept"
echo PASS

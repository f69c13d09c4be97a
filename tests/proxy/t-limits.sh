#!/bin/bash
# goproxyd limits: --max-conns refuses the excess cleanly, the handshake
# timeout closes silent connections and 1,000 of them never block a real
# client, --idle-timeout, a backend that is down gives the client a clean
# close while the proxy lives on.
. "$(dirname "$0")/lib.sh"

mkpair "$CERTS" default.test
start_nginx
set -- $(freeport 4)
P1=$1 P2=$2 P3=$3 DOWN=$4

# --max-conns 3: three held TLS connections, the fourth is refused
start_gpd -d "$CERTS" -l "127.0.0.1:$P1" -b "127.0.0.1:$NGX_PORT" --max-conns 3 --workers 2
mkfifo "$T/hold1"
"$GPD_TOOL" hold --tls 127.0.0.1 "$P1" 3 <"$T/hold1" >"$T/hold1.out" &
H1=$!
PIDS="$PIDS $H1"
exec 4>"$T/hold1"
poll 100 grep -q ready "$T/hold1.out" || fail "holder did not connect"
[ "$(cat "$T/hold1.out")" = "ready 3 0" ] || fail "holder: $(cat "$T/hold1.out")"
set +e
curl -sSk --max-time 10 "https://127.0.0.1:$P1/" >"$T/curl.out" 2>"$T/curl.err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a 4th connection was served with --max-conns 3"
[ "$rc" -ne 28 ] || fail "the 4th connection hung instead of being refused"
kill -0 "$GPD_PID" || fail "goproxyd died"
exec 4>&-
wait "$H1" || true
poll 100 sh -c "curl -sSk --max-time 10 https://127.0.0.1:$P1/ | grep -q hello" ||
	fail "not served again after the held connections closed"
ok "--max-conns refuses the excess, serves again when below"
stop_gpd

# 1,000 silent connections and a 1 s handshake timeout
start_gpd -d "$CERTS" -l "127.0.0.1:$P2" -b "127.0.0.1:$NGX_PORT" --handshake-timeout 1 \
	--idle-timeout 1 --workers 1
mkfifo "$T/hold2"
"$GPD_TOOL" hold 127.0.0.1 "$P2" 1000 <"$T/hold2" >"$T/hold2.out" &
H2=$!
PIDS="$PIDS $H2"
exec 5>"$T/hold2"
poll 200 grep -q ready "$T/hold2.out" || fail "silent holder did not connect"
[ "$(cat "$T/hold2.out")" = "ready 1000 0" ] || fail "silent holder: $(cat "$T/hold2.out")"
body=$(curl -sSk --max-time 10 "https://127.0.0.1:$P2/") || fail "1,000 silent connections block a client"
[ "$body" = "hello 127.0.0.1" ] || fail "body '$body'"
ok "1,000 silent connections do not block a real client"
exec 5>&-
wait "$H2" || true
# a silent connection is closed by the server (cat sees EOF, not the timeout)
set +e
timeout 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P2; cat <&3 >/dev/null"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "silent connection not closed by the handshake timeout (rc $rc)"
ok "handshake timeout closes a silent connection"
# idle after the handshake: gnutls-cli with open input is closed by the proxy
mkfifo "$T/idle"
set +e
timeout 20 gnutls-cli --insecure -p "$P2" 127.0.0.1 <"$T/idle" >"$T/idle.out" 2>&1 &
IDLE=$!
exec 6>"$T/idle"
wait "$IDLE"
rc=$?
set -e
exec 6>&-
[ "$rc" -ne 124 ] || fail "idle connection not closed by --idle-timeout"
grep -q "Handshake was completed" "$T/idle.out" || fail "idle test: no handshake: $(cat "$T/idle.out")"
ok "--idle-timeout closes an idle connection"
stop_gpd

# backend down: clean close for the client, proxy stays up
start_gpd -d "$CERTS" -l "127.0.0.1:$P3" -b "127.0.0.1:$DOWN" --workers 1
set +e
curl -sSk --max-time 10 "https://127.0.0.1:$P3/" >/dev/null 2>"$T/curl.err"
rc=$?
set -e
[ "$rc" -eq 52 ] || fail "backend down: curl exit $rc ($(cat "$T/curl.err")), expected 52 (empty reply, clean close)"
grep -q "backend 127.0.0.1:$DOWN: connect: Connection refused" "$T/gpd.log" || fail "no log line for the backend"
kill -0 "$GPD_PID" || fail "goproxyd died with the backend down"
curl -sSk --max-time 10 "https://127.0.0.1:$P3/" >/dev/null 2>&1 && fail "served with the backend down?"
kill -0 "$GPD_PID" || fail "goproxyd died with the backend down"
ok "backend down: clean close, proxy lives"

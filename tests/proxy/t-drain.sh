#!/bin/bash
# goproxyd SIGTERM: stop accepting, let open connections finish, exit 0;
# connections still open after --drain-timeout are closed.
. "$(dirname "$0")/lib.sh"

mkpair "$CERTS" default.test
start_nginx
set -- $(freeport 2)
P=$1 ECHO=$2
"$GPD_TOOL" echo "$ECHO" >"$T/echo.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$ECHO"

# held: an open connection through the proxy to the echo backend
held_start() {
	# remove the last connection's output first: the poll below could
	# otherwise find its "Handshake was completed" before gnutls-cli has
	# truncated the file, and SIGTERM would come before this one connected
	rm -f "$T/in" "$T/held.out" "$T/held.log"
	mkfifo "$T/in"
	gnutls-cli --insecure --sni-hostname=echo.test -p "$P" 127.0.0.1 <"$T/in" >"$T/held.out" 2>"$T/held.log" &
	HELD=$!
	PIDS="$PIDS $HELD"
	exec 4>"$T/in"
	printf 'abc' >&4
	poll 100 grep -q "Handshake was completed" "$T/held.out" "$T/held.log" || fail "held connection: no handshake"
}

start_gpd -d "$CERTS" -l "127.0.0.1:$P" -b "127.0.0.1:$NGX_PORT" --route "echo.test=127.0.0.1:$ECHO" \
	--drain-timeout 60 --workers 2
held_start
kill -TERM "$GPD_PID"
poll 100 grep -q "SIGTERM: stopping" "$T/gpd.log" || fail "SIGTERM not logged"
poll 100 sh -c "! curl -sSk --max-time 5 https://127.0.0.1:$P/ >/dev/null 2>&1" ||
	fail "new connections still accepted while draining"
kill -0 "$GPD_PID" || fail "goproxyd exited with a connection open"
ok "SIGTERM: new connections refused, open one kept"
printf 'def' >&4
exec 4>&-
wait "$HELD" || true
grep -q "got 6 bytes" "$T/held.out" || fail "drained connection lost data: $(cat "$T/held.out")"
set +e
wait "$GPD_PID"
rc=$?
set -e
GPD_PID=""
[ "$rc" -eq 0 ] || fail "exit status $rc after draining"
grep -q "stopped" "$T/gpd.log" || fail "no 'stopped' log line"
ok "open connection finished, then exit 0"

# a connection that never ends is closed at --drain-timeout
start_gpd -d "$CERTS" -l "127.0.0.1:$P" -b "127.0.0.1:$NGX_PORT" --route "echo.test=127.0.0.1:$ECHO" \
	--drain-timeout 1 --workers 1
held_start
kill -TERM "$GPD_PID"
set +e
timeout 30 tail --pid="$GPD_PID" -f /dev/null
wait "$GPD_PID"
rc=$?
set -e
GPD_PID=""
[ "$rc" -eq 0 ] || fail "exit status $rc after the drain timeout"
grep -q "drain timeout, closing 1 connection" "$T/gpd.log" || fail "no drain timeout log line"
exec 4>&-
ok "--drain-timeout closes what is left"

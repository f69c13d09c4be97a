#!/bin/bash
# A connect to a local port where nothing listens can pick that same port as
# its source and connect to itself (TCP simultaneous open): the peer then
# echoes every byte. goproxyd must treat such a backend as refused (the
# client gets a clean close, not its own request back), and so must
# `goproxy-cert check --connect`. A CI run once saw curl get "HTTP/0.9" from
# goproxyd with the backend down. Here the test runs in a network namespace
# of its own whose ephemeral port range is the one port connected to, so
# every connect there meets itself.
set -eu
if [ -z "${GPC_SELFCONNECT_NETNS:-}" ]; then
	if ! unshare -n true 2>/dev/null; then
		echo "SKIP: unshare -n is not permitted here (needs root)"
		exit 77
	fi
	command -v ip >/dev/null 2>&1 || { echo "SKIP: ip (iproute2) not installed"; exit 77; }
	GPC_SELFCONNECT_NETNS=1 exec unshare -n "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"
: "${GOPROXY_CERT:?}"

RANGE=/proc/sys/net/ipv4/ip_local_port_range
mkpair "$CERTS" default.test
set -- $(freeport 3)
L=$1 DOWN=$2 DOWN2=$3

# every connect from here on uses source port DOWN
echo "$DOWN $DOWN" >"$RANGE"
start_gpd -d "$CERTS" -l "127.0.0.1:$L" -b "127.0.0.1:$DOWN" --workers 1
set +e
curl -sSk --max-time 10 "https://127.0.0.1:$L/" >"$T/curl.out" 2>"$T/curl.err"
rc=$?
set -e
[ "$rc" -eq 52 ] || fail "backend on a port that connects to itself: curl exit $rc ($(cat "$T/curl.err")), expected 52 (empty reply, clean close)"
grep -q "backend 127.0.0.1:$DOWN: connect: Connection refused (the socket connected to itself: nothing listens there)" "$T/gpd.log" ||
	fail "no log line naming the self-connected backend"
kill -0 "$GPD_PID" || fail "goproxyd died"
ok "goproxyd: a backend socket connected to itself is refused, clean close"
stop_gpd

# a fresh port: the one above may still be in TIME_WAIT
echo "$DOWN2 $DOWN2" >"$RANGE"
set +e
"$GOPROXY_CERT" check --connect "127.0.0.1:$DOWN2" >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "check --connect to a port that connects to itself: exit $rc, expected 2: $(cat "$T/err")"
grep -q "127.0.0.1 port $DOWN2: 127.0.0.1: connection refused" "$T/err" ||
	fail "check --connect: no 'connection refused': $(cat "$T/err")"
grep -q "hint: nothing listens there" "$T/err" || fail "check --connect: no hint: $(cat "$T/err")"
ok "check --connect: a socket connected to itself is 'connection refused'"

#!/bin/sh
# Abuse of goproxyd (issue 5):
#   1,500 connections that never send a byte + 200 that send garbage instead
#   of a ClientHello: a real client is still served (bounded wait), the
#   handshake timeout closes every one of them, and RSS and open descriptors
#   return near the baseline;
#   backend down: the client gets a clean close (not a hang), goproxyd lives,
#   and serves again once the backend is back;
#   FAULTS_CONNS (default 5,000) TLS connections in a row: no growth in RSS
#   or descriptors (tests/bench/bench-abuse.sh runs 100,000).
set -eu
. "$TESTS_DIR/faults/common.sh"
KEEP_GOING=1
faults_init
[ -x "${GOPROXYD:-}" ] || skip "goproxyd not built"
command -v curl >/dev/null 2>&1 || skip "curl missing"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || :
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 4096 ] || skip "ulimit -n $(ulimit -n) is too small for 1,700 connections"
SILENT=${FAULTS_SILENT:-1500}
GARBAGE=${FAULTS_GARBAGE:-200}
CONNS=${FAULTS_CONNS:-5000}

C=$WORK/certs
mkdir -p "$C"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/priv.key" \
	-out "$C/cert.crt" -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1
chmod 600 "$C/priv.key"
set -- $("$FREEPORT" 3)
GP=$1 BP=$2 HP=$3
mkdir -p "$WORK/www"
echo "hello from the backend" >"$WORK/www/index.html"
start_backend() {
	python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$BP" >"$WORK/backend.err" 2>&1 &
	BACKEND=$!
	FAULTS_PIDS="$FAULTS_PIDS $BACKEND"
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$BP/"; do
		i=$((i + 1)); [ $i -lt 100 ] || die "backend does not start"; sleep 0.1
	done
}
start_backend
"$GOPROXYD" -d "$C" -l "127.0.0.1:$GP" -b "127.0.0.1:$BP" --http "127.0.0.1:$HP" --workers 1 --handshake-timeout 5 \
	>"$WORK/goproxyd.out" 2>"$WORK/goproxyd.err" &
GPD=$!
FAULTS_PIDS="$FAULTS_PIDS $GPD"
URL=https://localhost:$GP/
CURL="curl -sS --max-time 20 --cacert $C/cert.crt --resolve localhost:$GP:127.0.0.1"
i=0
until $CURL -o /dev/null "$URL" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || die "goproxyd does not serve: $(cat "$WORK/goproxyd.err")"; sleep 0.1
done

# Under AddressSanitizer freed memory sits in its quarantine (up to 256 MiB):
# RSS says nothing there, so only descriptors are checked in such a build.
SANITIZED=0
if grep -q libasan "/proc/$GPD/maps" 2>/dev/null || grep -qa __asan_init "$GOPROXYD"; then
	SANITIZED=1
	echo "sanitized goproxyd: RSS is reported, not checked"
fi
rss_le() { # rss_le VALUE LIMIT MESSAGE
	[ "$SANITIZED" = 1 ] || [ "$1" -le "$2" ] || fail "$3"
}
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$GPD/status"; }
fds() { ls "/proc/$GPD/fd" | wc -l; }
alive() { kill -0 "$GPD" 2>/dev/null || die "goproxyd died: $(tail -n 20 "$WORK/goproxyd.err")"; }

# Warm up (first handshakes allocate GnuTLS state once).
i=0
while [ $i -lt 20 ]; do $CURL -o /dev/null "$URL" || :; i=$((i + 1)); done
rss0=$(rss) fd0=$(fds)
echo "baseline: RSS $rss0 kB, $fd0 fds"

echo "== $SILENT silent + $GARBAGE garbage connections"
mkfifo "$WORK/hold.ctl"
python3 "$TESTS_DIR/faults/abuse.py" hold 127.0.0.1 "$GP" "$SILENT" --garbage "$GARBAGE" --wait 60 \
	>"$WORK/hold.out" 2>"$WORK/hold.err" &
HOLD=$!
FAULTS_PIDS="$FAULTS_PIDS $HOLD"
i=0
until grep -q ready "$WORK/hold.out"; do
	i=$((i + 1)); [ $i -lt 600 ] || die "holder did not connect: $(cat "$WORK/hold.err")"; sleep 0.1
done
fdh=$(fds) rssh=$(rss)
body=$($CURL "$URL") || fail "a real client was not served while $SILENT+$GARBAGE connections were open"
[ "$body" = "hello from the backend" ] || fail "real client got '$body'"
echo "   held: $fdh fds, RSS $rssh kB; a real client was served"
wait "$HOLD" || :
cat "$WORK/hold.out"
total=$((SILENT + GARBAGE))
grep -q "^closed $total of $total\$" "$WORK/hold.out" || fail "the handshake timeout did not close every connection: $(tail -n 1 "$WORK/hold.out")"
alive
sleep 1
rss1=$(rss) fd1=$(fds)
echo "   after: RSS $rss1 kB (baseline $rss0, held $rssh), $fd1 fds (baseline $fd0)"
[ "$fd1" -le $((fd0 + 2)) ] || fail "descriptors did not return to the baseline: $fd1 vs $fd0"
# "near the baseline": within 4 MiB or a quarter of what the held connections took.
grow=$((rssh - rss0)); [ $grow -gt 0 ] || grow=0
lim=$((rss0 + 4096 + grow / 4))
rss_le "$rss1" "$lim" "RSS $rss1 kB did not return near the baseline $rss0 kB (limit $lim)"

echo "== slowloris (one byte every 2 s) on the TLS and the HTTP port: closed by a deadline, not kept alive"
python3 "$TESTS_DIR/faults/abuse.py" trickle 127.0.0.1 "$GP" 1 --for 20 >"$WORK/trickle-tls.out" 2>&1 &
T1=$!
python3 "$TESTS_DIR/faults/abuse.py" trickle 127.0.0.1 "$HP" 1 --for 20 >"$WORK/trickle-http.out" 2>&1 &
T2=$!
body=$($CURL "$URL") || fail "a real client was not served during the slowloris"
wait "$T1" || :
wait "$T2" || :
echo "   TLS port: $(cat "$WORK/trickle-tls.out"); HTTP port: $(cat "$WORK/trickle-http.out") (connections over 20 s)"
n1=$(sed -n 's/^trickled //p' "$WORK/trickle-tls.out")
n2=$(sed -n 's/^trickled //p' "$WORK/trickle-http.out")
[ "${n1:-0}" -ge 2 ] || fail "a trickling client kept its TLS connection past --handshake-timeout 5"
[ "${n2:-0}" -ge 2 ] || fail "a trickling client kept its HTTP connection open for 20 s"
alive

echo "== backend down: clean close, proxy lives"
kill "$BACKEND"; wait "$BACKEND" 2>/dev/null || :
rc=0
$CURL -o /dev/null "$URL" 2>"$WORK/curl.err" || rc=$?
echo "   curl exit $rc: $(cat "$WORK/curl.err")"
[ "$rc" != 0 ] || fail "served with the backend down?"
[ "$rc" != 28 ] || fail "client hung until its timeout instead of a clean close"
alive
start_backend
body=$($CURL "$URL") || fail "not served again after the backend came back"

echo "== $CONNS TLS connections in a row"
rss2=$(rss) fd2=$(fds)
python3 "$TESTS_DIR/faults/abuse.py" churn 127.0.0.1 "$GP" "$CONNS" >"$WORK/churn.out" 2>"$WORK/churn.err" ||
	fail "churn client failed: $(cat "$WORK/churn.err")"
cat "$WORK/churn.out"
grep -q "^done $CONNS 0\$" "$WORK/churn.out" || fail "not every connection succeeded: $(cat "$WORK/churn.out")"
alive
# A fresh Debian root once saw 12 -> 16 here when sampled once, 1 s after the
# churn (not reproduced since; the cause is not confirmed). A likely cause is
# connections still in flight: a client that closed cleanly makes goproxyd
# wait for the backend's close (one http.server thread per connection) or a
# timeout, two descriptors each. A leak never comes back, and in-flight ones
# do, so the same bound is checked once the count is back, or after 15 s. On
# failure the message lists the descriptors.
waited=0
fd3=$(fds)
while [ "$fd3" -gt $((fd2 + 2)) ] && [ $waited -lt 150 ]; do
	sleep 0.1; waited=$((waited + 1)); fd3=$(fds)
done
sleep 1
rss3=$(rss) fd3=$(fds)
echo "   RSS $rss2 -> $rss3 kB, fds $fd2 -> $fd3 over $CONNS connections (back within $((waited / 10)).$((waited % 10)) s)"
[ "$fd3" -le $((fd2 + 2)) ] || fail "descriptors grew: $fd2 -> $fd3 (still after 15 s): $(ls -l "/proc/$GPD/fd" | tr '\n' ' ')"
rss_le "$rss3" $((rss2 + 2048)) "RSS grew by more than 2 MiB: $rss2 -> $rss3 kB"
faults_done

#!/bin/bash
# goproxyd before the first certificate (issue 26): on an empty certs
# directory it starts, says once how to get a certificate, answers the
# challenges, refuses handshakes with the alert unrecognized_name (logged at
# a bounded rate, memory bounded over 1,000 of them), and serves each pair
# `goproxy-cert issue --http-dir` commits (real pebble) within 1 s, with no
# signal, and so does `renew` later; `check --connect` says plainly that it
# has no certificate.
. "$(dirname "$0")/lib.sh"

. "$TESTS_DIR/lib/pebble.sh"
EXTRA_CLEANUP="pebble_stop"
pebble_start
start_nginx

# ---- start on an empty directory ------------------------------------------
start_gpd -d "$CERTS" -l "127.0.0.1:$PEBBLE_TLS_PORT" -b "127.0.0.1:$NGX_PORT" \
	--http "127.0.0.1:$PEBBLE_HTTP_PORT" --workers 2
sleep 1
kill -0 "$GPD_PID" 2>/dev/null || fail "goproxyd on an empty certs directory is not running after 1 s"
[ "$(grep -c "no certificate yet" "$T/gpd.log")" = 1 ] || fail "'no certificate yet' not said exactly once"
grep -qF "hint: get it through this goproxyd: goproxy-cert issue -d $CERTS -D NAME --http-dir" "$T/gpd.log" ||
	fail "no hint naming 'goproxy-cert issue -d $CERTS -D NAME --http-dir'"
grep -q "listening on 127.0.0.1:$PEBBLE_HTTP_PORT (HTTP" "$T/gpd.log" || fail "the --http port is not listening"
[ "$(sed -n 2p "$CERTS/.state/goproxyd.pid")" = "answers: http-01 tls-alpn-01" ] ||
	fail "presence in .state does not say what goproxyd answers"
ok "empty certs directory: running after 1 s, says once how to get a certificate, presence recorded"

# ---- the alert -------------------------------------------------------------
alert_for() { # alert_for NAME: gnutls-cli's output for a handshake asking NAME
	timeout 10 gnutls-cli --insecure --sni-hostname "$1" -p "$PEBBLE_TLS_PORT" 127.0.0.1 </dev/null 2>&1 || :
}
alert_for unknown.example.test >"$T/cli.out"
grep -q "Received alert \[112\]" "$T/cli.out" || { cat "$T/cli.out"; fail "no unrecognized_name alert (112) for an unknown name"; }
set -- $("$GPD_TOOL" refused 127.0.0.1 "$PEBBLE_TLS_PORT" 1 nosni.test)
[ "$2" = 1 ] || fail "gpd-tool refused: alert $2 other $4"
kill -0 "$GPD_PID" || fail "goproxyd died on a handshake for an unknown name"
ok "a handshake for a name with no certificate gets the alert unrecognized_name"

set +e
"$GOPROXY_CERT" check -d "$CERTS" --connect "127.0.0.1:$PEBBLE_TLS_PORT" --servername www.example.test >"$T/check.out" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || { cat "$T/check.out"; fail "check --connect: exit $rc, expected 2"; }
grep -q "\[no-certificate-for-name\]" "$T/check.out" &&
	grep -q "the server has no certificate for www.example.test: it refused the handshake with the TLS alert unrecognized_name" "$T/check.out" ||
	{ cat "$T/check.out"; fail "check --connect does not say the server has no certificate for the name"; }
ok "check --connect: 'the server has no certificate for www.example.test'"

# ---- 1,000 handshakes for unknown names: memory and log bounded ------------
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$GPD_PID/status"; }
fds() { ls "/proc/$GPD_PID/fd" | wc -l; }
# Under AddressSanitizer freed memory sits in its quarantine (up to 256 MiB):
# RSS says nothing there (LeakSanitizer at exit does); descriptors and the
# log are checked in every build.
SANITIZED=0
if grep -q libasan "/proc/$GPD_PID/maps" 2>/dev/null || grep -qa __asan_init "$GOPROXYD"; then
	SANITIZED=1
	echo "# sanitized goproxyd: RSS is reported, not checked"
fi
# warm up (worker buffers, GnuTLS's first allocations), then measure
"$GPD_TOOL" refused 127.0.0.1 "$PEBBLE_TLS_PORT" 50 warm.test >/dev/null
rss0=$(rss) fd0=$(fds)
lines0=$(wc -l <"$T/gpd.log")
t0=$(date +%s)
set -- $("$GPD_TOOL" refused 127.0.0.1 "$PEBBLE_TLS_PORT" 1000 scan.test)
secs=$(($(date +%s) - t0))
[ "$2" = 1000 ] || fail "1,000 handshakes for unknown names: alert $2 other $4"
rss1=$(rss) fd1=$(fds)
lines1=$(wc -l <"$T/gpd.log")
echo "# 1,000 refused handshakes in ${secs} s: VmRSS ${rss0} -> ${rss1} kB, descriptors $fd0 -> $fd1, log +$((lines1 - lines0)) lines"
[ "$SANITIZED" = 1 ] || [ $((rss1 - rss0)) -lt 2048 ] || fail "VmRSS grew by $((rss1 - rss0)) kB over 1,000 refused handshakes"
[ "$fd1" -le "$fd0" ] || fail "descriptors $fd0 -> $fd1 over 1,000 refused handshakes"
# one line per 10 s, plus one
[ $((lines1 - lines0)) -le $((secs / 10 + 2)) ] || fail "log grew by $((lines1 - lines0)) lines in $secs s"
grep -q "server name .*: no certificate (none issued yet); handshake refused with the alert unrecognized_name" \
	"$T/gpd.log" || fail "the refusals are not logged at all"
ok "1,000 handshakes for unknown names: VmRSS +$((rss1 - rss0)) kB, log +$((lines1 - lines0)) lines"

# ---- the first certificate through goproxyd, served at once -----------------
served_is() { # served_is NAME CERTFILE: goproxyd presents CERTFILE for NAME
	[ "$(openssl s_client -connect "127.0.0.1:$PEBBLE_TLS_PORT" -servername "$1" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null)" = "$(openssl x509 -noout -fingerprint -sha256 -in "$2")" ]
}
# loaded_after LINEAGE LINKDIR: LOADED_MS = ms from the commit (the rename
# of LINKDIR/..data, its mtime) to goproxyd's "lineage LINEAGE: loaded" line
# (the moment new handshakes get the pair; the probe's own time not counted)
loaded_after() {
	i=0
	until l=$(grep " lineage $1: loaded " "$T/gpd.log" | tail -n 1) && [ -n "$l" ]; do
		i=$((i + 1))
		[ "$i" -lt 50 ] || fail "goproxyd did not load lineage $1"
		sleep 0.1
	done
	c=$(stat -c %.3Y "$2/..data")
	LOADED_MS=$(($(date -d "${l%% *}" +%s%3N) - ${c/./}))
	echo "# lineage $1: loaded $LOADED_MS ms after its commit"
	[ "$LOADED_MS" -lt 1000 ] || fail "lineage $1 loaded $LOADED_MS ms after its commit (over 1 s)"
}
gpc_issue -D www.example.test --http-dir
grep -q "http-01: answered token" "$T/gpd.log" || fail "pebble's http-01 validation did not reach goproxyd"
loaded_after default "$CERTS"
poll 10 served_is www.example.test "$CERTS/cert.crt" || fail "the first pair is not served"
body=$(fetch "$PEBBLE_TLS_PORT" www.example.test) || fail "fetch through goproxyd"
[ "$body" = "hello www.example.test" ] || fail "body '$body'"
ok "issue -d DIR -D NAME --http-dir through goproxyd: the first pair served within 1 s, page fetched"

gpc_issue -n second -D second.example.test --challenge tls-alpn-01 --http-dir
grep -q "tls-alpn-01: served the challenge certificate for second.example.test" "$T/gpd.log" ||
	fail "pebble's tls-alpn-01 validation did not reach goproxyd"
loaded_after second "$CERTS/second"
poll 10 served_is second.example.test "$CERTS/second/cert.crt" || fail "the second lineage is not served"
served_is www.example.test "$CERTS/cert.crt" || fail "the first lineage is no longer served"
ok "a second lineage (tls-alpn-01) served within 1 s too"

# renew goes the same way: the lineages remember --http-dir, goproxyd answers
old_fp=$(openssl x509 -noout -fingerprint -sha256 -in "$CERTS/cert.crt")
set +e
"$GOPROXY_CERT" renew -d "$CERTS" --force >"$T/renew.log" 2>&1
rc=$?
set -e
[ "$rc" = 0 ] || { cat "$T/renew.log"; fail "renew --force with goproxyd holding the ports: exit $rc"; }
[ "$(openssl x509 -noout -fingerprint -sha256 -in "$CERTS/cert.crt")" != "$old_fp" ] || fail "renew did not replace the default pair"
poll 10 served_is www.example.test "$CERTS/cert.crt" || fail "the renewed pair is not served"
poll 10 served_is second.example.test "$CERTS/second/cert.crt" || fail "the renewed second pair is not served"
ok "renew --force through goproxyd (stored --http-dir): both renewed pairs served"

! grep -q "SIGHUP" "$T/gpd.log" || fail "goproxyd got a SIGHUP"
[ "$(grep -c "no certificate yet" "$T/gpd.log")" = 1 ] || fail "'no certificate yet' said again"
kill -0 "$GPD_PID" || fail "goproxyd died"
ok "no restart, no signal: the store's watch"

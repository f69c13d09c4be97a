#!/bin/bash
# goproxyd reload: a renewed pair is served without a restart, a broken pair
# is refused with a log line naming the file while the last good one stays,
# lineages appear and disappear, SIGHUP rescans, open connections survive.
. "$(dirname "$0")/lib.sh"

mkpair "$CERTS" default.test
mkpair "$CERTS/www" www.test
start_nginx
set -- $(freeport 2)
P=$1 ECHO=$2
"$GPD_TOOL" echo "$ECHO" >"$T/echo.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$ECHO"
start_gpd -d "$CERTS" -l "127.0.0.1:$P" -b "127.0.0.1:$NGX_PORT" --route "echo.test=127.0.0.1:$ECHO" --workers 2

# fp PORT SNI: SHA-256 fingerprint of the served certificate
fp() {
	openssl s_client -connect "127.0.0.1:$1" -servername "$2" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
file_fp() {
	openssl x509 -noout -fingerprint -sha256 -in "$1"
}
served_is() { [ "$(fp "$P" "$1")" = "$(file_fp "$2")" ]; }
subject_is() { [ "$(subject "$P" "$1")" = "$2" ]; }

served_is www.test "$CERTS/www/cert.crt" || fail "www.test not served at start"

# an open connection across the reload (echo.test -> echo backend)
mkfifo "$T/in"
gnutls-cli --insecure --sni-hostname=echo.test -p "$P" 127.0.0.1 <"$T/in" >"$T/held.out" 2>"$T/held.log" &
HELD=$!
PIDS="$PIDS $HELD"
exec 4>"$T/in"
printf 'before-' >&4

# renewal: a new key and certificate renamed in (like goproxy-cert does)
cp "$CERTS/www/cert.crt" "$T/old.crt"
mkpair "$CERTS/www" www.test
poll 50 served_is www.test "$CERTS/www/cert.crt" || fail "renewed www.test not served"
grep -q "lineage www: reloaded" "$T/gpd.log" || fail "no reload log line"
ok "renewed pair served without restart"

# broken: a key that does not match -> refused, named, last good kept
good=$(file_fp "$CERTS/www/cert.crt")
mkpair "$T/other" other.test
cp "$T/other/priv.key" "$CERTS/www/priv.key.tmp" && mv "$CERTS/www/priv.key.tmp" "$CERTS/www/priv.key"
poll 50 grep -q "$CERTS/www/priv.key does not belong to $CERTS/www/cert.crt" "$T/gpd.log" ||
	fail "mismatched key not reported with the file name"
[ "$(fp "$P" www.test)" = "$good" ] || fail "broken pair replaced the last good one"
# the same broken pair is not reported again on every rescan
n1=$(grep -c "does not belong" "$T/gpd.log")
kill -HUP "$GPD_PID"
poll 50 grep -q "reload requested (SIGHUP)" "$T/gpd.log" || fail "SIGHUP not handled"
sleep 0.3
[ "$(grep -c "does not belong" "$T/gpd.log")" = "$n1" ] || fail "an unchanged broken pair was reported again"
# half-written certificate
head -c 100 "$T/other/cert.crt" >"$CERTS/www/cert.crt"
poll 50 grep -q "$CERTS/www/cert.crt: not a PEM certificate" "$T/gpd.log" ||
	fail "truncated certificate not reported"
[ "$(fp "$P" www.test)" = "$good" ] || fail "truncated pair replaced the last good one"
fetch "$P" www.test >/dev/null || fail "requests fail while the pair is broken"
ok "broken pairs refused with the file named; last good kept"
mkpair "$CERTS/www" www.test
poll 50 served_is www.test "$CERTS/www/cert.crt" || fail "fixed pair not served"
ok "fixed pair picked up"

# the layout goproxy-cert writes (goproxy-cert(5)): cert.crt and priv.key
# link through ..data into a generation directory, and one rename of ..data
# swaps both; in a lineage directory and at the top (default)
swap() { # DIR CN GEN: a new pair in DIR/GEN, then ..data -> GEN by one rename
	# (mkpair sets $dir and $cn)
	mkpair "$1/$3" "$2"
	sleep 0.3 # the reload for the new directory is over: the rename must be seen
	ln -s "$3" "$1/..data_tmp"
	mv -T "$1/..data_tmp" "$1/..data"
}
for d in "$CERTS/www:www.test" "$CERTS:default.test"; do
	L=${d%%:*} N=${d#*:}
	swap "$L" "$N" ..2026_01_01T00_00_00.000000001
	ln -s ..data/priv.key "$L/priv.key.l" && mv -T "$L/priv.key.l" "$L/priv.key"
	ln -s ..data/cert.crt "$L/cert.crt.l" && mv -T "$L/cert.crt.l" "$L/cert.crt"
	poll 50 served_is "$N" "$L/cert.crt" || fail "$N: the linked pair is not served"
	swap "$L" "$N" ..2026_01_01T00_00_00.000000002
	poll 50 served_is "$N" "$L/cert.crt" || fail "$N: the swap of ..data is not served"
	rm -rf "$L/..2026_01_01T00_00_00.000000001"
done
ok "a swap of ..data (one rename) is served, in a lineage directory and at the top"

# lineage added, then removed
mkpair "$CERTS/new" new.test
poll 50 subject_is new.test new.test || fail "new lineage not served"
ok "new lineage served"
rm -rf "$CERTS/new"
poll 50 subject_is new.test default.test || fail "removed lineage still served"
grep -q "lineage new: gone" "$T/gpd.log" || fail "no log line for the removed lineage"
ok "removed lineage no longer served"

# a writer holding the store lock (an `issue` run) does not delay a renewal
if command -v flock >/dev/null 2>&1; then
	mkdir -p "$CERTS/.state"
	chmod 700 "$CERTS/.state"
	mkfifo "$T/lockhold"
	flock -x "$CERTS/.state/lock" sh -c "read x <'$T/lockhold'" &
	LOCKER=$!
	PIDS="$PIDS $LOCKER"
	exec 5>"$T/lockhold"
	poll 50 sh -c "! flock -n -s '$CERTS/.state/lock' true" || fail "test could not take the lock"
	mkpair "$CERTS/www" www.test
	poll 50 served_is www.test "$CERTS/www/cert.crt" || fail "renewal not served while the store is locked"
	exec 5>&-
	wait "$LOCKER" || true
	ok "renewal served while a writer holds the store lock"
fi

# SIGHUP rescans (a new log line: the first SIGHUP above logged one too)
n=$(grep -c "reload requested (SIGHUP)" "$T/gpd.log")
kill -HUP "$GPD_PID"
poll 50 sh -c "[ \$(grep -c 'reload requested (SIGHUP)' '$T/gpd.log') -gt $n ]" || fail "SIGHUP not handled"
kill -0 "$GPD_PID" || fail "goproxyd died on SIGHUP"
ok "SIGHUP"

# the connection opened before all this still works
printf 'after' >&4
exec 4>&-
wait "$HELD" || true
grep -q "got 12 bytes" "$T/held.out" || { cat "$T/held.out" "$T/held.log"; fail "open connection broken by reloads"; }
ok "open connection kept across reloads"

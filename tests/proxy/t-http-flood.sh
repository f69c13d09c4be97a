#!/bin/bash
# goproxyd --http under abuse (issue 25): the http-01 port stays answerable.
#   - 600 idle connections from one client, then 1,200 from 40 clients (more
#     than the connection table), then a file-descriptor limit smaller than
#     the flood: a validation request (from the flooding address and from
#     another one) is still answered 200 with the token;
#   - an 8,000-byte path gets a whole redirect, a longer one 414, an oversized
#     head 431, never an empty reply;
#   - Location: names a host goproxyd serves a certificate for, never an
#     arbitrary Host: (evil.example -> the default certificate's first name,
#     or 421 when that has only wildcard names);
#   - a slowloris head (one byte a second) is closed within the 10 s bound.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed"; exit 77; }
FLOOD="$(dirname "$0")/http-flood.py"
# the flooding clients need their descriptors (they raise the soft limit to the
# hard one); goproxyd raises its own the same way
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 2500 ] ||
	{ echo "SKIP: hard RLIMIT_NOFILE $(ulimit -Hn) < 2500"; exit 77; }
ulimit -n "$(ulimit -Hn)"
# loopback source addresses other than 127.0.0.1 (Linux routes all of 127/8 to lo)
curl -sS --max-time 5 --interface 127.0.0.2 -o /dev/null "http://127.0.0.1:1/" 2>"$T/iface.err" || true
grep -qi "bind\|interface" "$T/iface.err" && { echo "SKIP: cannot bind 127.0.0.2: $(cat "$T/iface.err")"; exit 77; }

mkpair "$CERTS" default.test www.default.test
mkpair "$CERTS/wild" "*.wild.test"
TOK=flood_TOKEN-1
mkdir -p "$CERTS/.state/challenges/http-01"
printf '%s.thumbprint' "$TOK" >"$CERTS/.state/challenges/http-01/$TOK"

start_nginx
set -- $(freeport 2)
P=$1 H=$2
start_gpd -d "$CERTS" -l "127.0.0.1:$P" -b "127.0.0.1:$NGX_PORT" --http "127.0.0.1:$H" --workers 1
wait_port "$H"

# validate SRC WHAT: the CA's request from source address SRC gets 200 + token
validate() {
	code=$(curl -sS --max-time 5 --interface "$1" -o "$T/vbody" -w '%{http_code}' \
		"http://127.0.0.1:$H/.well-known/acme-challenge/$TOK" 2>"$T/vcurl.err") || true
	[ "$code" = 200 ] || fail "$2: validation from $1 got '$code' ($(cat "$T/vcurl.err"))"
	[ "$(cat "$T/vbody")" = "$TOK.thumbprint" ] || fail "$2: validation body '$(cat "$T/vbody")'"
}

# hold N SOURCES: N idle connections in the background until ready (HOLDER)
hold() {
	python3 "$FLOOD" hold "$H" "$1" "$2" --wait 3 >"$T/hold.out" 2>&1 &
	HOLDER=$!
	PIDS="$PIDS $HOLDER"
	poll 200 grep -q '^ready' "$T/hold.out" || fail "holder not ready: $(cat "$T/hold.out")"
	sleep 0.5 # goproxyd accepts them all
}
# unhold MAXOPEN: the holder ends (3 s, well within goproxyd's 10 s head
# timeout); at most MAXOPEN of its connections were still open then
unhold() {
	wait "$HOLDER" || fail "holder: $(cat "$T/hold.out")"
	set -- "$1" $(sed -n 's/^closed \([0-9]*\) of \([0-9]*\)$/\1 \2/p' "$T/hold.out")
	[ $# = 3 ] || fail "holder: $(cat "$T/hold.out")"
	echo "   goproxyd closed $2 of the $3 idle connections, kept $(($3 - $2)) (at most $1)"
	[ $(($3 - $2)) -le "$1" ] || fail "goproxyd kept $(($3 - $2)) idle connections open, more than $1"
}

validate 127.0.0.1 "no flood"
ok "validation answered"

hold 600 127.0.0.1
validate 127.0.0.1 "600 idle connections from 127.0.0.1"
validate 127.0.0.2 "600 idle connections from 127.0.0.1"
unhold 32
ok "600 idle connections from one client: validations (same and other client) answered 200"

srcs=$(for i in $(seq 1 40); do printf '127.0.1.%d,' "$i"; done)
hold 1200 "${srcs%,}"
validate 127.0.0.3 "1200 idle connections from 40 clients"
validate 127.0.1.7 "1200 idle connections from 40 clients"
unhold 1024
grep -q "connection table full" "$T/gpd.log" || fail "no 'connection table full' warning"
ok "1200 idle connections from 40 clients (a full table): validations answered 200"

# a slowloris (after the floods: a full table closes the oldest connection
# first, which it would be); looked at the end
python3 "$FLOOD" trickle "$H" 127.0.0.9 --for 25 >"$T/trickle.out" 2>&1 &
TRICKLE=$!
PIDS="$PIDS $TRICKLE"

# --- long paths: a whole redirect or 414/431, never an empty reply ---------
path=/$(head -c 7999 /dev/zero | tr '\0' a)
out=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: default.test' \
	"http://127.0.0.1:$H$path" 2>&1) || fail "8000-byte path: $out"
[ "$out" = "301 https://default.test$path" ] || fail "8000-byte path: '$(printf '%.120s' "$out")...'"
ok "an 8000-byte path gets a whole redirect"
path=/$(head -c 9000 /dev/zero | tr '\0' a)
out=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Host: default.test' \
	"http://127.0.0.1:$H$path" 2>&1) || fail "9001-byte path: $out"
[ "$out" = 414 ] || fail "9001-byte path: '$out', not 414"
path=/$(head -c 8050 /dev/zero | tr '\0' a)
out=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Host: default.test' \
	"http://127.0.0.1:$H$path" 2>&1) || fail "8051-byte path: $out"
[ "$out" = 414 ] || fail "8051-byte path (head fits): '$out', not 414"
out=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Host: default.test' \
	-H "X-Pad: $(head -c 9000 /dev/zero | tr '\0' b)" "http://127.0.0.1:$H/x" 2>&1) ||
	fail "9000-byte header: $out"
[ "$out" = 431 ] || fail "9000-byte header: '$out', not 431"
ok "a longer path 414, an oversized head 431"

# --- Location from the served names, never an arbitrary Host: --------------
loc() { curl -sS --max-time 5 -o /dev/null -w '%{http_code} %{redirect_url}' -H "Host: $1" "http://127.0.0.1:$H/p?q=1"; }
[ "$(loc evil.example)" = "301 https://default.test/p?q=1" ] || fail "Host: evil.example: '$(loc evil.example)'"
[ "$(loc evil.example:8080)" = "301 https://default.test/p?q=1" ] || fail "Host: evil.example:8080: '$(loc evil.example:8080)'"
[ "$(loc 127.0.0.1:$H)" = "301 https://default.test/p?q=1" ] || fail "Host: 127.0.0.1: '$(loc 127.0.0.1:$H)'"
[ "$(loc '[::1]')" = "301 https://default.test/p?q=1" ] || fail "Host: [::1]: '$(loc '[::1]')'"
[ "$(loc WWW.Default.TEST:80)" = "301 https://www.default.test/p?q=1" ] || fail "Host: WWW.Default.TEST:80: '$(loc WWW.Default.TEST:80)'"
[ "$(loc a.wild.test)" = "301 https://a.wild.test/p?q=1" ] || fail "Host: a.wild.test: '$(loc a.wild.test)'"
[ "$(loc b.a.wild.test)" = "301 https://default.test/p?q=1" ] || fail "Host: b.a.wild.test: '$(loc b.a.wild.test)'"
ok "Location: served names kept, others (evil.example, addresses) -> https://default.test"

wait "$TRICKLE" 2>/dev/null || true
t=$(sed -n 's/^closed after //p' "$T/trickle.out")
[ -n "$t" ] || fail "slowloris: $(cat "$T/trickle.out")"
[ "${t%.*}" -ge 9 ] || fail "slowloris closed after $t s, before the 10 s bound (by what?)"
[ "${t%.*}" -le 12 ] || fail "slowloris closed only after $t s"
ok "a slowloris head closed after $t s"

# --- no name to redirect to (only a wildcard certificate): 421 -------------
stop_gpd
mkpair "$T/certs2" "*.only.test"
start_gpd -d "$T/certs2" -l "127.0.0.1:$P" -b "127.0.0.1:$NGX_PORT" --http "127.0.0.1:$H" --workers 1
wait_port "$H"
[ "$(loc evil.example)" = "421 " ] || fail "only a wildcard certificate, Host: evil.example: '$(loc evil.example)'"
[ "$(loc a.only.test)" = "301 https://a.only.test/p?q=1" ] || fail "Host: a.only.test: '$(loc a.only.test)'"
ok "only a wildcard certificate: its names kept, any other Host 421"

# --- fewer descriptors than the flood: accept() fails with EMFILE ----------
stop_gpd
cat >"$T/gpd-lowfd" <<EOF
#!/bin/sh
ulimit -n 200
exec "$GOPROXYD" "\$@"
EOF
chmod +x "$T/gpd-lowfd"
GOPROXYD="$T/gpd-lowfd" start_gpd -d "$CERTS" -l "127.0.0.1:$P" -b "127.0.0.1:$NGX_PORT" \
	--http "127.0.0.1:$H" --workers 1
wait_port "$H"
hold 400 "${srcs%,}"
validate 127.0.0.3 "400 idle connections, goproxyd limited to 200 descriptors"
unhold 200
ok "fewer descriptors than the flood: validation answered 200"

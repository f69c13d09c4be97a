#!/bin/bash
# goproxyd start-up errors: each exits before serving, with the documented
# status and a message naming the value/file/address; nothing left on disk.
. "$(dirname "$0")/lib.sh"

P=$(freeport)
# expect STATUS PATTERN ARGS...: goproxyd exits STATUS and stderr matches PATTERN
expect() {
	want=$1 pat=$2
	shift 2
	set +e
	timeout 20 "$GOPROXYD" "$@" >"$T/out.log" 2>&1
	got=$?
	set -e
	[ "$got" -eq "$want" ] || { cat "$T/out.log"; fail "goproxyd $*: exit $got, expected $want"; }
	grep -q -- "$pat" "$T/out.log" || { cat "$T/out.log"; fail "goproxyd $*: message lacks '$pat'"; }
}

mkpair "$CERTS" default.test

expect 64 "unknown option '--bogus'" --bogus
# long options only in full (issue 24): a prefix is refused with the name
expect 64 "unknown option '--worker' (did you mean --workers?)" -d "$CERTS" -l "$P" -b 127.0.0.1:1 --worker 2
expect 64 "missing -l" -d "$CERTS" -b 127.0.0.1:1
expect 64 "missing -b" -d "$CERTS" -l "127.0.0.1:$P"
expect 64 "'99999' is not a port number" -d "$CERTS" -l 127.0.0.1:99999 -b 127.0.0.1:1
expect 64 "-b localhost: expected HOST:PORT" -d "$CERTS" -l "$P" -b localhost
expect 64 "--proxy-protocol: 'v3' is not v1 or v2" -d "$CERTS" -l "$P" -b 127.0.0.1:1 --proxy-protocol v3
expect 64 "--workers: '0' is not a whole number" -d "$CERTS" -l "$P" -b 127.0.0.1:1 --workers 0
expect 64 "--max-conns: 'many'" -d "$CERTS" -l "$P" -b 127.0.0.1:1 --max-conns many
expect 64 "--handshake-timeout: 'x'" -d "$CERTS" -l "$P" -b 127.0.0.1:1 --handshake-timeout x
expect 64 "--route www.test: expected SERVERNAME=HOST:PORT" -d "$CERTS" -l "$P" -b 127.0.0.1:1 --route www.test
expect 64 "'a.\*.test' is not a server name" -d "$CERTS" -l "$P" -b 127.0.0.1:1 --route 'a.*.test=127.0.0.1:1'
expect 64 "--alpn: acme-tls/1 is handled" -d "$CERTS" -l "$P" -b 127.0.0.1:1 --alpn acme-tls/1
expect 64 "unexpected argument 'extra'" -d "$CERTS" -l "$P" -b 127.0.0.1:1 extra
expect 64 "--store-cache needs --store" -d "$CERTS" -l "$P" -b 127.0.0.1:1 --store-cache "$T/cache"
expect 64 "-d $CERTS and --store etcd://127.0.0.1:9 .*name two stores" -d "$CERTS" --store etcd://127.0.0.1:9 \
	--store-cache "$T/cache" -l "$P" -b 127.0.0.1:1
GOPROXY_CERT_STORE=etcd://127.0.0.1:9 expect 64 "GOPROXY_CERT_STORE= for the directory" -d "$CERTS" \
	--store-cache "$T/cache" -l "$P" -b 127.0.0.1:1
[ ! -e "$T/cache" ] || fail "a refused start made the --store-cache directory"
ok "bad options exit 64 naming the option"

expect 0 "Usage: goproxyd" --help
expect 0 "goproxyd " --version
ok "--help and --version"

expect 2 "$T/nope" -d "$T/nope" -l "127.0.0.1:$P" -b 127.0.0.1:1
mkdir -p "$T/broken"
mkpair "$T/broken" a.test
mkpair "$T/tmpb" b.test
cp "$T/tmpb/priv.key" "$T/broken/priv.key"
expect 2 "$T/broken/priv.key does not belong to $T/broken/cert.crt" -d "$T/broken" -l "127.0.0.1:$P" -b 127.0.0.1:1
printf 'garbage\n' >"$T/broken/cert.crt"
expect 2 "$T/broken/cert.crt: not a PEM certificate" -d "$T/broken" -l "127.0.0.1:$P" -b 127.0.0.1:1
grep -q "$T/broken: no usable certificate: 1 lineage, none loaded" "$T/out.log" || { cat "$T/out.log"; fail "only broken pairs: no summary line"; }
[ ! -e "$T/broken/.state/goproxyd.pid" ] || fail "pidfile left behind"
ok "certs dir missing, or only broken pairs: exit 2 naming the file (an empty one starts: t-nocert)"

if [ "$(id -u)" = 0 ]; then
	expect 67 "--user no-such-user-gpd: no such user" -d "$CERTS" -l "127.0.0.1:$P" -b 127.0.0.1:1 --user no-such-user-gpd
	ok "unknown --user: exit 67"
fi

# port in use: something else holds it (a plain listener without SO_REUSEPORT)
start_nginx
expect 71 "cannot listen on 127.0.0.1:$NGX_PORT: Address already in use" -d "$CERTS" -l "127.0.0.1:$NGX_PORT" -b 127.0.0.1:1
[ ! -e "$CERTS/.state/goproxyd.pid" ] || fail "pidfile left behind after a bind failure"
# and another goproxyd on the same port (both would use SO_REUSEPORT)
start_gpd -d "$CERTS" -l "127.0.0.1:$P" -b "127.0.0.1:$NGX_PORT" --workers 2
expect 71 "cannot listen on 127.0.0.1:$P" -d "$CERTS" -l "127.0.0.1:$P" -b "127.0.0.1:$NGX_PORT"
H=$(freeport)
expect 71 "cannot listen on 127.0.0.1:$NGX_PORT" -d "$CERTS" -l "127.0.0.1:$H" -b "127.0.0.1:$NGX_PORT" --http "127.0.0.1:$NGX_PORT"
ok "port in use: exit 71 naming the address"
kill -0 "$GPD_PID" || fail "the first goproxyd died"

# --user: bind as root, then run (and read the certificates) as the user
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	U=$(mktemp -d /tmp/gpd-user.XXXXXX)
	EXTRA_CLEANUP="rm -rf '$U'"
	mkpair "$U/certs" user.test
	chmod 755 "$U" "$U/certs"
	UP=$(freeport)
	expect 2 "$U/certs/priv.key" -d "$U/certs" -l "127.0.0.1:$UP" -b "127.0.0.1:$NGX_PORT" --user nobody
	chown -R nobody "$U/certs"
	"$GOPROXYD" -d "$U/certs" -l "127.0.0.1:$UP" -b "127.0.0.1:$NGX_PORT" --user nobody --workers 1 \
		>"$T/user.log" 2>&1 &
	UPID=$!
	PIDS="$PIDS $UPID"
	wait_port "$UP"
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$UPID/status")" = "$(id -u nobody)" ] || fail "--user nobody: not running as nobody"
	[ "$(subject "$UP")" = user.test ] || fail "--user nobody: not serving"
	kill "$UPID"
	wait "$UPID" || true
	rm -rf "$U"
	ok "--user: binds first, then runs and reads the certificates as the user"
fi

# pidfile while running, gone after SIGTERM
[ "$(head -1 "$CERTS/.state/goproxyd.pid")" = "$GPD_PID" ] || fail "pidfile in .state does not hold $GPD_PID"
[ "$(sed -n 2p "$CERTS/.state/goproxyd.pid")" = "answers: tls-alpn-01" ] || fail "pidfile in .state: challenge types without --http"
stop_gpd
[ ! -e "$CERTS/.state/goproxyd.pid" ] || fail "pidfile not removed at exit"
ok "pidfile written in .state and removed at exit"

# every long option of --help is in the man page and the completions
SRC="$TESTS_DIR/.."
for opt in $("$GOPROXYD" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
	grep -q -- "\*$opt\*" "$SRC/man/goproxyd.8.scd" || fail "$opt missing from man/goproxyd.8.scd"
	grep -q -- "$opt" "$SRC/completions/goproxyd.bash" || fail "$opt missing from the bash completion"
	grep -q -- "${opt#--}" "$SRC/completions/_goproxyd" || fail "$opt missing from the zsh completion"
	grep -q -- "-l ${opt#--}" "$SRC/completions/goproxyd.fish" || fail "$opt missing from the fish completion"
done
ok "options documented in the man page and completions"

#!/bin/bash
# demo.sh BUILD_DIR: the main job end to end on a local ACME server.
#
# Starts pebble + pebble-challtestsrv on free loopback ports, then, as a user
# would: starts goproxyd on the empty certs directory, issues a certificate
# for two names (http-01, answered by that goproxyd), runs `issue` again
# (nothing to do, no network), checks it, shows its status, fetches a page
# through goproxyd over TLS with it, renews it (clock moved forward with GOPROXY_CERT_NOW),
# and shows goproxyd serving the renewed certificate. Everything lives in a
# temporary directory removed at the end (KEEP=1 keeps it).
set -euo pipefail

BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export TESTS_DIR=$ROOT/tests
export FREEPORT=$BUILD/tests/freeport
GPC=$BUILD/cmd/goproxy-cert/goproxy-cert
GPD=$BUILD/cmd/goproxyd/goproxyd
for f in "$GPC" "$GPD" "$FREEPORT"; do
	[ -x "$f" ] || { echo "demo: $f not built; run: meson setup $BUILD && ninja -C $BUILD" >&2; exit 2; }
done

. "$TESTS_DIR/lib/pebble.sh"

WORK=$(mktemp -d /tmp/goproxy-cert-demo.XXXXXX)
PIDS=
cleanup() {
	rc=$?
	for p in $PIDS; do kill "$p" 2>/dev/null || :; done
	for p in $PIDS; do wait "$p" 2>/dev/null || :; done
	pebble_stop
	if [ "$rc" != 0 ]; then
		echo "demo FAILED (exit $rc); logs:" >&2
		tail -n 40 "$WORK"/*.log 2>/dev/null >&2 || :
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "start a local ACME server (pebble) on loopback"
pebble_start --validity 7776000   # 90-day certificates, like Let's Encrypt
echo "ACME directory: $PEBBLE_DIR_URL"
export GOPROXY_CERT_SERVER=$PEBBLE_DIR_URL GOPROXY_CERT_CA_BUNDLE=$PEBBLE_CA_BUNDLE
export GOPROXY_CERTS_DIR=$WORK/certs
mkdir -p "$GOPROXY_CERTS_DIR"
cd "$WORK"

step "start goproxyd before any certificate exists: it serves nothing yet, but answers the CA's http-01"
mkdir -p www && echo "hello from behind goproxyd" > www/index.html
read -r BPORT TPORT <<<"$("$FREEPORT" 2 | tr '\n' ' ')"
python3 -m http.server "$BPORT" --bind 127.0.0.1 --directory www >backend.log 2>&1 &
PIDS="$PIDS $!"
"$GPD" -l 127.0.0.1:"$TPORT" -b 127.0.0.1:"$BPORT" --http 127.0.0.1:"$PEBBLE_HTTP_PORT" --workers 1 >goproxyd.log 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do grep -q 'no certificate yet' goproxyd.log && break; sleep 0.1; done
grep 'no certificate yet' goproxyd.log

step "issue a certificate for two names (http-01, answered by that goproxyd on pebble's validation port)"
run "$GPC" issue -D demo.example.test -D www.demo.example.test -m admin@example.test
grep -q 'http-01: answered token' goproxyd.log
before=$(pebble_count 'POST')

step "issue again: the certificate on disk is current, so no request reaches the CA"
run "$GPC" issue -D www.demo.example.test -D DEMO.example.test -m admin@example.test
after=$(pebble_count 'POST')
echo "requests to the CA by the second issue: $((after - before))"
[ "$after" = "$before" ]

step "check (offline; exit code 0 = valid and not due)"
run "$GPC" check --domain demo.example.test --domain www.demo.example.test
step "status"
run "$GPC" status
run "$GPC" status --format prometheus | grep -v '^#'
ls -l "$GOPROXY_CERTS_DIR"

step "fetch a page through goproxyd: it serves the pair from the moment it was stored (no restart)"
pebble_roots roots.pem
for _ in $(seq 50); do
	curl -s -o /dev/null --cacert roots.pem --resolve "demo.example.test:$TPORT:127.0.0.1" \
		"https://demo.example.test:$TPORT/" && break
	sleep 0.1
done
run curl -sS --cacert roots.pem --resolve "www.demo.example.test:$TPORT:127.0.0.1" \
	"https://www.demo.example.test:$TPORT/"
serial() {
	openssl s_client -connect 127.0.0.1:"$TPORT" -servername demo.example.test </dev/null 2>/dev/null |
		openssl x509 -noout -serial
}
old=$(serial)
echo "goproxyd serves $old"

step "renew from cron: nothing is due yet"
run "$GPC" renew

step "65 days later (clock moved with GOPROXY_CERT_NOW; 2/3 of the 90-day lifetime passed): renew replaces the pair; goproxyd picks it up"
export GOPROXY_CERT_NOW=$(( $(date +%s) + 65 * 86400 ))
run "$GPC" renew
unset GOPROXY_CERT_NOW
ls "$GOPROXY_CERTS_DIR/.state/archive/default/"
new=$old
for _ in $(seq 30); do
	new=$(serial)
	[ "$new" != "$old" ] && break
	sleep 0.1
done
echo "goproxyd now serves $new"
[ "$new" != "$old" ]
run curl -sS --cacert roots.pem --resolve "demo.example.test:$TPORT:127.0.0.1" \
	"https://demo.example.test:$TPORT/"

step "done: goproxyd started first, issued through it, reused without asking the CA, checked, served, renewed and reloaded"

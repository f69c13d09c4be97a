#!/bin/sh
# bench-issue: goproxy-cert against uacme on the same pebble (PEBBLE_VA_NOSLEEP=1,
# no authorization reuse), both answering dns-01 through the same uacme-style
# hook (curl -> pebble-challtestsrv /set-txt).
#
#   1. one issuance of two names: median wall time over RUNS runs, ratio
#      goproxy-cert / uacme (target <= 0.8);
#   2. `renew` of N due lineages in one run vs N sequential `uacme issue`
#      (target: >= 3x faster);
#   3. HTTP requests (pebble's log) and TLS connections per issuance.
#
# Not part of `meson test`. Usage: tests/bench/bench-issue.sh [BUILD_DIR]
# Env: RUNS (default 5), N (default 50), CONCURRENCY (default 4).
#
# uacme trusts only the system store (libcurl-gnutls, compiled-in
# /etc/ssl/certs/ca-certificates.crt; no environment variable changes it), so
# it runs in a private mount namespace (unshare -m) where a copy of the
# system bundle plus pebble's CA is bind-mounted over that one file; the
# system store itself is never touched. This needs root (or CAP_SYS_ADMIN).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-${BUILD_DIR:-$ROOT/build}}
GOPROXY_CERT=${GOPROXY_CERT:-$BUILD/cmd/goproxy-cert/goproxy-cert}
FREEPORT=${FREEPORT:-$BUILD/tests/freeport}
RUNS=${RUNS:-5}
N=${N:-50}
CONCURRENCY=${CONCURRENCY:-4}
export FREEPORT LC_ALL=C
unset GOPROXY_CERTS_DIR GOPROXY_CERT_NOW GOPROXY_CERT_SERVER GOPROXY_CERT_CA_BUNDLE || :
[ -x "$GOPROXY_CERT" ] || { echo "SKIP: no goproxy-cert at $GOPROXY_CERT"; exit 77; }
[ -x "$FREEPORT" ] || { echo "SKIP: no freeport at $FREEPORT"; exit 77; }
for t in uacme unshare curl; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
SYS_BUNDLE=/etc/ssl/certs/ca-certificates.crt
unshare -m true 2>/dev/null || { echo "SKIP: unshare -m not permitted (uacme cannot be made to trust pebble)"; exit 77; }

. "$ROOT/tests/lib/pebble.sh"
W=$(mktemp -d /tmp/gpc-bench-issue.XXXXXX)
cleanup() { pebble_stop; rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
PEBBLE_VA_NOSLEEP=1 pebble_start --authz-reuse 0 --validity 3600

# The same hook for both tools.
cat >"$W/hook.sh" <<HOOK
#!/bin/sh
case "\$1:\$2" in
begin:dns-01) curl -fsS -X POST -d "{\"host\":\"_acme-challenge.\${3#\\*.}.\",\"value\":\"\$5\"}" "$CHALLTEST_MGMT/set-txt" >/dev/null ;;
done:dns-01|failed:dns-01) curl -fsS -X POST -d "{\"host\":\"_acme-challenge.\${3#\\*.}.\"}" "$CHALLTEST_MGMT/clear-txt" >/dev/null ;;
*) exit 1 ;;
esac
HOOK
chmod +x "$W/hook.sh"
cat "$SYS_BUNDLE" "$PEBBLE_CA_BUNDLE" >"$W/bundle.pem"

now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
reqs() { grep -c 'calling handler' "$PEBBLE_LOG" || :; }
G() { "$GOPROXY_CERT" "$@" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE"; }
# uacme in a private mount namespace that trusts pebble
U() { unshare -m sh -c 'mount --bind "$0" '"$SYS_BUNDLE"' && exec "$@"' "$W/bundle.pem" uacme "$@"; }

echo "== warm-up: accounts (not timed)"
G issue -d "$W/g" -n warm -D warm.example.test --challenge dns-01 --no-dns-propagation-check --hook "$W/hook.sh" -q
U -a "$PEBBLE_DIR_URL" -c "$W/u" -y new >/dev/null 2>&1 || { echo "uacme new failed"; U -v -a "$PEBBLE_DIR_URL" -c "$W/u" -y new; exit 1; }

echo "== 1. one issuance of two names by dns-01, $RUNS runs each"
: >"$W/g.ms"
: >"$W/u.ms"
: >"$W/g.req"
: >"$W/u.req"
i=0
while [ $i -lt "$RUNS" ]; do
	i=$((i + 1))
	r0=$(reqs)
	t0=$(now_ms)
	G issue -d "$W/g" -n "g$i" -D "g$i-a.example.test" -D "g$i-b.example.test" --challenge dns-01 --no-dns-propagation-check \
		--hook "$W/hook.sh" --json >"$W/g$i.json"
	t1=$(now_ms)
	echo $((t1 - t0)) >>"$W/g.ms"
	echo "$(( $(reqs) - r0 )) $(sed -n 's/.*"requests":\([0-9]*\),"connections":\([0-9]*\).*/\1 \2/p' "$W/g$i.json")" >>"$W/g.req"
	r0=$(reqs)
	t0=$(now_ms)
	U -a "$PEBBLE_DIR_URL" -c "$W/u" -h "$W/hook.sh" -t EC issue "u$i-a.example.test" "u$i-b.example.test" >/dev/null 2>"$W/u.err" ||
		{ echo "uacme issue failed:"; cat "$W/u.err"; exit 1; }
	t1=$(now_ms)
	echo $((t1 - t0)) >>"$W/u.ms"
	echo "$(( $(reqs) - r0 ))" >>"$W/u.req"
done
gm=$(median <"$W/g.ms")
um=$(median <"$W/u.ms")
echo "goproxy-cert issue: median ${gm} ms  (runs: $(tr '\n' ' ' <"$W/g.ms"))"
echo "uacme issue:        median ${um} ms  (runs: $(tr '\n' ' ' <"$W/u.ms"))"
awk -v g="$gm" -v u="$um" 'BEGIN { printf "ratio goproxy-cert/uacme: %.2f (target <= 0.80)\n", g / u }'
echo "HTTP requests per issuance as pebble logged them: goproxy-cert $(awk '{print $1}' "$W/g.req" | median)," \
	"uacme $(median <"$W/u.req")"
echo "goproxy-cert's own count per issuance: $(awk '{print $2}' "$W/g.req" | median) requests," \
	"$(awk '{print $3}' "$W/g.req" | median) TLS connections (uacme: not measurable without tracing it)"

echo "== 2. renew of $N due lineages (--concurrency $CONCURRENCY) vs $N sequential uacme issuances"
i=0
while [ $i -lt "$N" ]; do
	i=$((i + 1))
	G issue -d "$W/r" -n "r$i" -D "r$i.example.test" --challenge dns-01 --no-dns-propagation-check --hook "$W/hook.sh" -q
done
# pebble's certificates live 3600 s: 2000 s later all are due (policy: half of a short lifetime)
r0=$(reqs)
t0=$(now_ms)
GOPROXY_CERT_NOW=$(( $(date +%s) + 2000 )) "$GOPROXY_CERT" renew -d "$W/r" --concurrency "$CONCURRENCY" --json >"$W/renew.json"
t1=$(now_ms)
gr=$((t1 - t0))
renewed=$(sed -n 's/.*"renewed": \([0-9]*\).*/\1/p' "$W/renew.json")
rreq=$(( $(reqs) - r0 ))
t0=$(now_ms)
i=0
while [ $i -lt "$N" ]; do
	i=$((i + 1))
	U -a "$PEBBLE_DIR_URL" -c "$W/u" -h "$W/hook.sh" -t EC issue "s$i.example.test" >/dev/null 2>"$W/u.err" ||
		{ echo "uacme issue failed:"; cat "$W/u.err"; exit 1; }
done
t1=$(now_ms)
ur=$((t1 - t0))
echo "goproxy-cert renew: $renewed of $N renewed in ${gr} ms ($rreq requests, $(( rreq / N )) per lineage)"
echo "uacme, $N sequential issuances: ${ur} ms"
awk -v g="$gr" -v u="$ur" 'BEGIN { printf "speed-up: %.1fx (target >= 3x)\n", u / g }'

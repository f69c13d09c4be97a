#!/bin/sh
# bench-dns: dns-01 through RFC 2136 against a knot primary whose secondary
# follows it by SOA refresh only (no NOTIFY; refresh 8 s, so a record reaches
# it 0-8 s late), pebble validating against that secondary
# (PEBBLE_VA_NOSLEEP=1, no authorization reuse). Alternating rounds of
# goproxy-cert (--dns rfc2136, propagation check), lego (--dns rfc2136, its
# own check, Debian's lego) and certbot (certbot-dns-rfc2136, a fixed wait:
# CERTBOT_WAIT seconds, default 10, just above the largest lag), a new name
# each round. Prints the median wall time of each, the ratios against
# goproxy-cert, and the failed validations pebble logged for each.
#
# Not part of `meson test`. Usage: tests/bench/bench-dns.sh [BUILD_DIR]
# Env: RUNS (default 5), CERTBOT_WAIT (default 10; certbot's own default is 60).
#
# lego looks the zone's NS names up through the system resolver, so it runs
# in a private mount namespace (unshare -m) with a hosts file naming them
# bind-mounted over /etc/hosts; the system's file is never touched. Root.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-${BUILD_DIR:-$ROOT/build}}
GOPROXY_CERT=${GOPROXY_CERT:-$BUILD/cmd/goproxy-cert/goproxy-cert}
FREEPORT=${FREEPORT:-$BUILD/tests/freeport}
RUNS=${RUNS:-5}
CERTBOT_WAIT=${CERTBOT_WAIT:-10}
export FREEPORT LC_ALL=C
unset GOPROXY_CERTS_DIR GOPROXY_CERT_NOW GOPROXY_CERT_SERVER GOPROXY_CERT_CA_BUNDLE || :
[ -x "$GOPROXY_CERT" ] || { echo "SKIP: no goproxy-cert at $GOPROXY_CERT"; exit 77; }
for t in lego certbot unshare knotd; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
unshare -m true 2>/dev/null || { echo "SKIP: unshare -m not permitted"; exit 77; }

. "$ROOT/tests/lib/knot.sh"
. "$ROOT/tests/lib/pebble.sh"
W=$(mktemp -d /tmp/gpc-bench-dns.XXXXXX)
trap 'knot_stop; pebble_stop; rm -rf "$W"' EXIT
knot_start --refresh 8 example.test
pebble_start --dnsserver "$KNOT_SECONDARY:53"

now_ms() { date +%s%3N; }
invalid() { grep -c 'set INVALID' "$PEBBLE_LOG" || :; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }

printf '127.0.0.1 localhost\n%s ns1.example.test\n%s ns2.example.test\n' "$KNOT_PRIMARY" "$KNOT_SECONDARY" >"$W/hosts"
cat >"$W/certbot.ini" <<EOF2
dns_rfc2136_server = $KNOT_PRIMARY
dns_rfc2136_port = 53
dns_rfc2136_name = $KNOT_KEY_NAME
dns_rfc2136_secret = $KNOT_KEY_SECRET
dns_rfc2136_algorithm = HMAC-SHA256
EOF2
chmod 600 "$W/certbot.ini"
export RFC2136_NAMESERVER=$KNOT_PRIMARY RFC2136_TSIG_KEY=$KNOT_KEY_NAME RFC2136_TSIG_SECRET=$KNOT_KEY_SECRET
export RFC2136_TSIG_ALGORITHM=hmac-sha256.

G() { "$GOPROXY_CERT" issue -d "$W/g" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
	--dns rfc2136 --dns-resolver "$KNOT_PRIMARY" -q "$@"; }
L() {
	unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$W/hosts" \
		env LEGO_CA_CERTIFICATES="$PEBBLE_CA_BUNDLE" RFC2136_PROPAGATION_TIMEOUT=60 \
		lego --server "$PEBBLE_DIR_URL" --email bench@example.test --accept-tos --path "$W/lego" \
		--dns rfc2136 --dns.resolvers "$KNOT_PRIMARY:53" "$@" run >"$W/lego.log" 2>&1
}
C() {
	REQUESTS_CA_BUNDLE=$PEBBLE_CA_BUNDLE certbot certonly --non-interactive --agree-tos -m bench@example.test \
		--server "$PEBBLE_DIR_URL" --config-dir "$W/cb" --work-dir "$W/cb" --logs-dir "$W/cb" \
		--dns-rfc2136 --dns-rfc2136-credentials "$W/certbot.ini" \
		--dns-rfc2136-propagation-seconds "$CERTBOT_WAIT" "$@" >"$W/certbot.log" 2>&1
}

echo "== warm-up (accounts registered, not timed)"
G -n warm -D warm-g.example.test || { echo "goproxy-cert warm-up failed"; exit 1; }
L -d warm-l.example.test || { cat "$W/lego.log"; echo "lego warm-up failed"; exit 1; }
C -d warm-c.example.test || { tail -20 "$W/certbot.log"; echo "certbot warm-up failed"; exit 1; }

: >"$W/g.ms"; : >"$W/l.ms"; : >"$W/c.ms"
GI=0 LI=0 CI=0 GF=0 LF=0 CF=0
echo "== $RUNS rounds each, alternating, a new name each round"
i=0
while [ $i -lt "$RUNS" ]; do
	i=$((i + 1))
	b=$(invalid); t0=$(now_ms)
	G -n "g$i" -D "g$i.example.test" || GF=$((GF + 1))
	echo $(( $(now_ms) - t0 )) >>"$W/g.ms"; GI=$((GI + $(invalid) - b))
	b=$(invalid); t0=$(now_ms)
	L -d "l$i.example.test" || LF=$((LF + 1))
	echo $(( $(now_ms) - t0 )) >>"$W/l.ms"; LI=$((LI + $(invalid) - b))
	b=$(invalid); t0=$(now_ms)
	C -d "c$i.example.test" || CF=$((CF + 1))
	echo $(( $(now_ms) - t0 )) >>"$W/c.ms"; CI=$((CI + $(invalid) - b))
	echo "round $i: goproxy-cert $(tail -1 "$W/g.ms") ms, lego $(tail -1 "$W/l.ms") ms, certbot $(tail -1 "$W/c.ms") ms"
done
GM=$(median <"$W/g.ms") LM=$(median <"$W/l.ms") CM=$(median <"$W/c.ms")
echo
echo "median issuance (secondary lagging 0-8 s):"
echo "  goproxy-cert --dns rfc2136   $GM ms   failed validations $GI   failed runs $GF"
echo "  lego --dns rfc2136           $LM ms   failed validations $LI   failed runs $LF"
echo "  certbot-dns-rfc2136 (${CERTBOT_WAIT} s)  $CM ms   failed validations $CI   failed runs $CF"
awk -v g="$GM" -v l="$LM" -v c="$CM" 'BEGIN {
	printf "ratio goproxy-cert / lego    %.2f (target <= 0.70)\n", g / l
	printf "ratio goproxy-cert / certbot %.2f\n", g / c }'

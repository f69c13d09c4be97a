#!/bin/sh
# `goproxy-cert renew` over N lineages (default 1,000) where nothing is due,
# in a certs directory and in an etcd store (a 1-member cluster on
# loopback): wall time, and the requests sent to etcd (counted from the
# client's debug log). Goal for etcd: a handful of range requests, not one
# per lineage per field. Also the time of `store import` of those lineages.
# Usage: tests/bench/bench-fleet.sh [BUILD_DIR]    (N=1000)
. "$(dirname "$0")/lib.sh"
N=${N:-1000}
command -v etcd >/dev/null 2>&1 || { echo "SKIP: etcd not installed"; exit 77; }
export TESTS_DIR=$ROOT/tests FREEPORT=$BUILD/tests/freeport
. "$ROOT/tests/lib/etcd.sh"
trap 'etcd_stop; rm -rf "$T"' EXIT

make_ca "$T"
make_leaf "$T" a ec256 90 a.example.org
cat "$T/a.crt" "$T/int.crt" >"$T/a.chain"
D=$T/certs
mkdir -p "$D/.state/lineages"
chmod 700 "$D/.state"
echo "generating $N lineages in $D ..."
seq 0 $((N - 1)) | sed "s|^|$D/l|" | xargs mkdir
awk -v n="$N" -v t="$T" -v d="$D" 'BEGIN {
	f = t "/a.chain"; while ((getline l < f) > 0) c = c l "\n"; close(f)
	f = t "/a.key"; while ((getline l < f) > 0) y = y l "\n"; close(f)
	for (i = 0; i < n; i++) {
		p = d "/l" i "/cert.crt"; printf "%s", c > p; close(p)
		p = d "/l" i "/priv.key"; printf "%s", y > p; close(p)
		p = d "/.state/lineages/l" i ".json"
		printf "{\n  \"version\": 1,\n  \"names\": [\"a.example.org\"],\n  \"ca_url\": \"https://127.0.0.1:9/dir\",\n  \"challenge\": \"http-01\"\n}\n" > p; close(p)
	}
}'
find "$D" -name priv.key -exec chmod 600 {} +

etcd_start --members 1 >/dev/null
S="etcd://${ETCD_ENDPOINTS#http://}/bench"
"$G" store seal-key "$T/seal.key" >/dev/null
t0=$(date +%s.%N)
"$G" store import --store "$S" --store-seal "$T/seal.key" -d "$D" >"$T/import.out" 2>&1 ||
	{ tail "$T/import.out"; exit 1; }
t1=$(date +%s.%N)
printf 'store import of %d lineages: %.2f s\n' "$N" "$(echo "$t1 - $t0" | bc)"

run() {
	t0=$(date +%s.%N)
	"$G" renew -vv "$@" >"$T/renew.out" 2>"$T/renew.err" || { tail "$T/renew.err"; exit 1; }
	t1=$(date +%s.%N)
	cur=$(grep -c ': current until' "$T/renew.out" || :)
	req=$(grep -c 'etcd POST' "$T/renew.err" || :)
	ranges=$(grep -c 'etcd POST .*/v3/kv/range ' "$T/renew.err" || :)
	printf '%-10s renew, nothing due: %.2f s wall, %s current, %s etcd requests (%s ranges)\n' "$1" \
		"$(echo "$t1 - $t0" | bc)" "$cur" "$req" "$ranges"
}
run -d "$D"
run --store "$S" --store-seal "$T/seal.key"

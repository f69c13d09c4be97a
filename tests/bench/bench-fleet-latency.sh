#!/bin/sh
# From commit to every node serving the new pair: three goproxyd nodes on
# one etcd store (3 members), lineage "bench" written N times (default 20,
# 1 s apart) by tests/fleet/store_etcd writes; each node logs when it
# reloaded it. Prints p50, p99 and max of (last node's reload - commit).
# Goal: p99 at most 1 s. Usage: tests/bench/bench-fleet-latency.sh [BUILD_DIR]
. "$(dirname "$0")/lib.sh"
N=${N:-20}
command -v etcd >/dev/null 2>&1 || { echo "SKIP: etcd not installed"; exit 77; }
export TESTS_DIR=$ROOT/tests FREEPORT=$BUILD/tests/freeport
. "$ROOT/tests/lib/etcd.sh"
GPD=$BUILD/cmd/goproxyd/goproxyd
W=$BUILD/tests/fleet/store_etcd
PIDS=
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; etcd_stop; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

make_ca "$T"
make_leaf "$T" a ec256 90 bench.example.org
make_leaf "$T" b ec256 90 bench.example.org
cat "$T/a.crt" "$T/int.crt" >"$T/a.chain"
cat "$T/b.crt" "$T/int.crt" >"$T/b.chain"
etcd_start >/dev/null
S="etcd://$(echo "$ETCD_ENDPOINTS" | sed 's|http://||g')/bench"
"$G" store seal-key "$T/seal.key" >/dev/null
export STORE_SEAL=$T/seal.key STORE_PREFIX=/bench BENCH_CERT_A=$T/a.chain BENCH_KEY_A=$T/a.key
export BENCH_CERT_B=$T/b.chain BENCH_KEY_B=$T/b.key
# the first pair written before the nodes start is B, so every timed write changes it
BENCH_N=1 BENCH_WAIT_MS=0 BENCH_CERT_A=$T/b.chain BENCH_KEY_A=$T/b.key "$W" writes >/dev/null
P=$("$FREEPORT")
for i in 1 2 3; do
	"$GPD" --store "$S" --store-seal "$T/seal.key" --store-cache "$T/cache$i" -l "127.0.$i.1:$P" -b 127.0.0.1:9 -v >"$T/gpd$i.log" 2>&1 &
	PIDS="$PIDS $!"
done
sleep 2
BENCH_N=$N BENCH_WAIT_MS=${WAIT_MS:-1000} "$W" writes >"$T/commits"
sleep 1
# reload times of lineage bench (after the first load) per node, in ms
for i in 1 2 3; do
	grep 'lineage bench: reloaded' "$T/gpd$i.log" | cut -d' ' -f1 | while read -r ts; do
		echo $(($(date -d "$ts" +%s%3N)))
	done >"$T/reload$i"
done
awk -v n="$N" 'FNR == 1 { f++ }
	f == 1 { c[FNR - 1] = $3; next }
	{ r[f - 1, FNR - 1] = $1; cnt[f - 1] = FNR }
	END {
		for (i = 0; i < n; i++) {
			m = 0
			for (k = 1; k <= 3; k++) {
				# the first reload at or after the commit
				best = -1
				for (j = 0; j < cnt[k]; j++) if (r[k, j] >= c[i] - 5 && (best < 0 || r[k, j] < best)) best = r[k, j]
				d = best < 0 ? 99999 : best - c[i]
				if (d > m) m = d
			}
			print m
		}
	}' "$T/commits" "$T/reload1" "$T/reload2" "$T/reload3" | sort -n >"$T/lat"
cnt=$(grep -c . "$T/lat")
p50=$(sed -n "$(((cnt + 1) / 2))p" "$T/lat")
p99=$(sed -n "$(((cnt * 99 + 99) / 100))p" "$T/lat")
max=$(tail -n 1 "$T/lat")
cat "$T/lat" | tr "\n" " "; echo
echo "commit -> served by all 3 nodes, $cnt writes: p50 ${p50} ms, p99 ${p99} ms, max ${max} ms (log timestamps, ms)"

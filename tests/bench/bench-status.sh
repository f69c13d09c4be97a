#!/bin/sh
# `goproxy-cert status --json` over 10,000 lineages: wall time and peak RSS
# (targets: under 1 s and 64 MiB on the 2-core machine), and the time per
# certificate against `openssl x509 -noout -enddate` run once per file.
# Usage: tests/bench/bench-status.sh [BUILD_DIR]    (N=10000 SAMPLE=200)
. "$(dirname "$0")/lib.sh"
N=${N:-10000}
SAMPLE=${SAMPLE:-200}
[ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time (package time) not installed"; exit 77; }

# A few distinct certificates (key types, lifetimes), copied into N lineages.
make_ca "$T"
make_leaf "$T" a ec256 90 a.example.org www.a.example.org
make_leaf "$T" b ec384 45 b.example.org
make_leaf "$T" c rsa2048 90 c.example.org c2.example.org c3.example.org
make_leaf "$T" d ec256 6 d.example.org
make_leaf "$T" e ec256 20 e.example.org
D=$T/certs
mkdir -p "$D"
for k in a b c d e; do cat "$T/$k.crt" "$T/int.crt" >"$T/$k.chain"; done
echo "generating $N lineages in $D ..."
# one mkdir and one awk for all files: 20,000 cp processes take minutes
seq 0 $((N - 1)) | sed "s|^|$D/l|" | xargs mkdir
awk -v n="$N" -v t="$T" -v d="$D" 'BEGIN {
	split("a b c d e", k, " ")
	for (j = 1; j <= 5; j++) {
		f = t "/" k[j] ".chain"; while ((getline l < f) > 0) c[j] = c[j] l "\n"; close(f)
		f = t "/" k[j] ".key"; while ((getline l < f) > 0) y[j] = y[j] l "\n"; close(f)
	}
	for (i = 0; i < n; i++) {
		j = i % 5 + 1
		p = d "/l" i "/cert.crt"; printf "%s", c[j] > p; close(p)
		p = d "/l" i "/priv.key"; printf "%s", y[j] > p; close(p)
	}
}'
find "$D" -name priv.key -exec chmod 600 {} +
sync

# warm the page cache once, then measure
nproc_=$(nproc)
load=$(cut -d' ' -f1 /proc/loadavg)
"$G" status --json -d "$D" >/dev/null
/usr/bin/time -v "$G" status --json -d "$D" >"$T/status.json" 2>"$T/time.txt"
n=$(jq '.certificates | length' "$T/status.json")
[ "$n" -eq "$N" ] || { echo "status listed $n lineages, expected $N"; exit 1; }
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$T/time.txt")
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/time.txt")
usr=$(sed -n 's/.*User time (seconds): //p' "$T/time.txt")
sys=$(sed -n 's/.*System time (seconds): //p' "$T/time.txt")
secs=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
/usr/bin/time -v "$G" status --format prometheus -d "$D" >/dev/null 2>"$T/time2.txt"
wall2=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$T/time2.txt")
/usr/bin/time -v "$G" check -q -d "$D" 2>"$T/time3.txt" || true
wall3=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$T/time3.txt")

# openssl x509 -noout -enddate, one process per file, on a sample
s=$(date +%s%N)
i=0
while [ $i -lt "$SAMPLE" ]; do
	openssl x509 -noout -enddate -in "$D/l$i/cert.crt" >/dev/null
	i=$((i + 1))
done
e=$(date +%s%N)
ossl_ms=$(echo "$s $e $SAMPLE" | awk '{ printf "%.3f", ($2 - $1) / $3 / 1e6 }')

awk -v n="$N" -v secs="$secs" -v rss="$rss" -v usr="$usr" -v sys="$sys" -v cores="$nproc_" -v load="$load" -v o="$ossl_ms" -v w2="$wall2" -v w3="$wall3" -v sample="$SAMPLE" 'BEGIN {
	per = secs * 1000 / n
	printf "status --json over %d lineages: %.2f s wall (%.2f s user + %.2f s sys; %d cores, load average %s before), peak RSS %.1f MiB (targets: < 1 s, < 64 MiB)\n", n, secs, usr, sys, cores, load, rss / 1024
	printf "  status --format prometheus: %s wall; check -q: %s wall\n", w2, w3
	printf "  per certificate: goproxy-cert %.3f ms; openssl x509 -noout -enddate per file %.3f ms (sample of %d)\n", per, o, sample
	printf "  ratio goproxy-cert/openssl per certificate: %.4f\n", per / o
}'

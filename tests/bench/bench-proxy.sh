#!/bin/bash
# bench-proxy.sh: goproxyd vs hitch 1.7 (Debian), one worker each, same
# certificate (EC P-256), same nginx backend, same run. Prints each number
# and the ratio goproxyd/hitch. Not part of `meson test`.
#
#   BUILD_DIR=build tests/bench/bench-proxy.sh [SECONDS] [ROUNDS]
#
# Each throughput number is the median of ROUNDS (default 3) runs of SECONDS
# (default 5), goproxyd and hitch alternating, so load from elsewhere on the
# machine hits both alike.
#
# Targets (issue 4): keep-alive 1 KiB >= 1.2x hitch; new TLS connection per
# request >= 1.0x; 1 MiB responses >= 1.0x; RSS per idle TLS connection
# <= 1/4 of hitch's; 0 failed requests while the certificate is replaced 20
# times under load.
#
# PEER=store: the other column is goproxyd itself reading the same pair
# from a store in etcd (one member started here, `store import`), instead
# of hitch (issue 10: CPU per request and memory per idle connection with
# --store unchanged from the certs directory: every ratio about 1.0). The
# reload rows (file renames) are for the directory and are left out then.
set -eu

D=${1:-5}
R=${2:-3}
B=${BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
GOPROXYD=${GOPROXYD:-$B/cmd/goproxyd/goproxyd}
TOOL=${GPD_TOOL:-$B/tests/proxy/gpd-tool}
FREEPORT=${FREEPORT:-$B/tests/freeport}
CONNS=${CONNS:-2000}
PEER=${PEER:-hitch}
case $PEER in hitch) PN=hitch ;; store) PN=gpd-etcd ;; *) echo "PEER=hitch or PEER=store" >&2; exit 64 ;; esac
for t in nginx wrk openssl /usr/bin/time "$GOPROXYD" "$TOOL" "$FREEPORT"; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t missing"; exit 77; }
done
ulimit -n "$(ulimit -Hn)"

T=$(mktemp -d /tmp/bench-proxy.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
[ "$PEER" = store ] || command -v hitch >/dev/null 2>&1 || { echo "SKIP: hitch missing"; exit 77; }

set -- $("$FREEPORT" 3)
NGX=$1 HP=$2 GP=$3

mkdir -p "$T/certs" "$T/nginx/tmp" "$T/nginx/www"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/certs/priv.key" \
	-out "$T/certs/cert.crt" -days 30 -subj /CN=bench.test -addext subjectAltName=DNS:bench.test 2>/dev/null
cat "$T/certs/cert.crt" "$T/certs/priv.key" >"$T/combined.pem"
chmod 644 "$T/combined.pem"
head -c 1024 /dev/zero | tr '\0' x >"$T/nginx/www/1k"
head -c 1048576 /dev/zero | tr '\0' x >"$T/nginx/www/1m"
cat >"$T/nginx/nginx.conf" <<NGX
daemon off; master_process off; worker_processes 1; pid $T/nginx/nginx.pid; error_log stderr error;
worker_rlimit_nofile 20000;
events { worker_connections 16384; }
http { access_log off; keepalive_requests 1000000; sendfile on;
  client_body_temp_path $T/nginx/tmp; proxy_temp_path $T/nginx/tmp; fastcgi_temp_path $T/nginx/tmp;
  uwsgi_temp_path $T/nginx/tmp; scgi_temp_path $T/nginx/tmp;
  server { listen 127.0.0.1:$NGX backlog=4096; root $T/nginx/www; } }
NGX
nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" -e stderr 2>"$T/nginx.log" &
NGXPID=$!
PIDS="$PIDS $NGXPID"
chmod 755 "$T"
if [ "$PEER" = store ]; then
	# the peer: goproxyd on the same pair, read from etcd
	GPC=${GOPROXY_CERT:-$B/cmd/goproxy-cert/goproxy-cert}
	. "$(dirname "$0")/../lib/etcd.sh"
	trap 'etcd_stop; cleanup' EXIT
	etcd_start --members 1 >/dev/null
	STORE="--store etcd://${ETCD_ENDPOINTS#http://}/bench --store-seal $T/seal.key"
	"$GPC" store seal-key "$T/seal.key" >/dev/null
	"$GPC" store import $STORE -d "$T/certs" >/dev/null
	"$GOPROXYD" $STORE -l "127.0.0.1:$HP" -b "127.0.0.1:$NGX" --workers 1 2>"$T/gpd-etcd.log" &
else
	hitch --frontend="[127.0.0.1]:$HP" --backend="[127.0.0.1]:$NGX" --workers=1 --user=nobody \
		--ocsp-dir="$T" "$T/combined.pem" 2>"$T/hitch.log" &
fi
HITCH=$!
PIDS="$PIDS $HITCH"
"$GOPROXYD" -d "$T/certs" -l "127.0.0.1:$GP" -b "127.0.0.1:$NGX" --workers 1 2>"$T/gpd.log" &
GPD=$!
PIDS="$PIDS $GPD"
for p in $NGX $HP $GP; do
	for _ in $(seq 100); do (exec 9<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done

# Both proxies get the same TLS 1.3 cipher: hitch (OpenSSL) follows the
# client's order (AES-256-GCM first), goproxyd its own (AES-128-GCM first),
# so wrk and openssl are told to offer only $CIPHER (OPENSSL_CONF).
# CIPHER=default leaves each side's choice (then the header shows both).
CIPHER=${CIPHER:-TLS_AES_128_GCM_SHA256}
if [ "$CIPHER" != default ]; then
	cat >"$T/openssl.cnf" <<CNF
openssl_conf = bench_conf
[bench_conf]
ssl_conf = bench_ssl
[bench_ssl]
system_default = bench_sys
[bench_sys]
Ciphersuites = $CIPHER
CNF
	export OPENSSL_CONF="$T/openssl.cnf"
fi
cipher_of() {
	openssl s_client -connect "127.0.0.1:$1" -servername bench.test </dev/null 2>/dev/null |
		awk '/^New, / {print $NF; exit}'
}

# pids PID: the process and its children (hitch forks its worker)
pids() { echo "$1" $(pgrep -P "$1" || true); }
# cputicks PID: utime+stime (clock ticks) of the process and its children,
# all threads (fields 14 and 15 of /proc/PID/stat)
cputicks() {
	total=0
	for p in $(pids "$1"); do
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}
HZ=$(getconf CLK_TCK)
# pin PID CPULIST: all threads of the process and its children
pin() { for p in $(pids "$1"); do taskset -a -p -c "$2" "$p" >/dev/null; done; }

# rss PID: kB of the process and its children (hitch forks its worker)
rss() {
	total=0
	for p in $1 $(pgrep -P "$1" || true); do
		v=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
		total=$((total + v))
	done
	echo "$total"
}
# WRK: the wrk command (the pinned rows put it on the other CPU)
WRK="wrk"
# reqs PORT ARGS...: requests/s (wrk); appends the proxy's CPU time per
# request (µs, utime+stime over the run / requests) to $T/cpu.PORT
reqs() {
	port=$1
	shift
	pid=$HITCH
	[ "$port" = "$GP" ] && pid=$GPD
	t0=$(cputicks "$pid")
	n0=$(cputicks "$NGXPID")
	/usr/bin/time -f "%U %S" -o "$T/wrk.time" $WRK -t1 -d"${D}s" "$@" "https://127.0.0.1:$port/1k" >"$T/wrk.one" 2>&1
	t1=$(cputicks "$pid")
	n1=$(cputicks "$NGXPID")
	cat "$T/wrk.one" >>"$T/wrk.log"
	wt=$(tail -1 "$T/wrk.time" | awk '{print $1 + $2}')
	awk -v t="$((t1 - t0))" -v o="$((n1 - n0))" -v w="$wt" -v hz="$HZ" -v f="$T/oth.$port" '
		/requests in/ { n = $1 }
		END { if (n > 0) { printf " %.1f", t * 1e6 / hz / n; printf " %.1f", (o / hz + w) * 1e6 / n >>f } }' \
		"$T/wrk.one" >>"$T/cpu.$port"
	awk '/^Requests\/sec/ {print $2}' "$T/wrk.one"
}
mbps() {
	wrk -t1 -c4 -d"${D}s" "https://127.0.0.1:$1/1m" 2>&1 | tee -a "$T/wrk.log" |
		awk '/^Transfer\/sec/ { v=$2; u=substr(v, length(v)-1); n=v+0; if (u=="GB") n*=1024; if (u=="KB") n/=1024; print n }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
line() {
	_t=$4
	[ "$PEER" = hitch ] || _t="about 1.0: unchanged"
	printf '%-46s %12s %12s %8s  (target %s)\n' "$1" "$2" "$3" "$(ratio "$2" "$3")" "$_t"
}
# cpuline LABEL: proxy CPU µs/request (medians of the runs just made);
# ratio hitch/goproxyd (higher: goproxyd cheaper)
cpuline() {
	gc=$(cat "$T/cpu.$GP" | median)
	hc=$(cat "$T/cpu.$HP" | median)
	printf '%-46s %12s %12s %8s  (%s/goproxyd)\n' "  proxy CPU µs/request, $1" "$gc" "$hc" "$(ratio "$hc" "$gc")" "$PN"
	echo "  cpu µs/req $1: goproxyd$(cat "$T/cpu.$GP") / $PN$(cat "$T/cpu.$HP")" >>"$T/runs.log"
	# what the rest of the pipeline costs: a proxy ratio in req/s can reach
	# at most (wrk+nginx + hitch) / (wrk+nginx + goproxyd) when CPU-bound
	printf '%-46s %12s %12s\n' "  wrk + nginx CPU µs/request, $1" "$(cat "$T/oth.$GP" | median)" "$(cat "$T/oth.$HP" | median)"
	rm -f "$T/cpu.$GP" "$T/cpu.$HP" "$T/oth.$GP" "$T/oth.$HP"
}

if [ "$PEER" = store ]; then peer_version="goproxyd --store etcd ($(etcd --version | head -1))"; else peer_version=$(hitch --version 2>&1 | head -1); fi
echo "goproxyd $("$GOPROXYD" --version | cut -d' ' -f2) -d DIR vs $peer_version, 1 worker each, median of $R runs of ${D}s, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
echo "TLS cipher (CIPHER=$CIPHER): goproxyd $(cipher_of "$GP"), $PN $(cipher_of "$HP")"
printf '%-46s %12s %12s %8s\n' "" goproxyd "$PN" ratio
# warm up both
wrk -t1 -c4 -d1s "https://127.0.0.1:$GP/1k" >/dev/null 2>&1 || true
wrk -t1 -c4 -d1s "https://127.0.0.1:$HP/1k" >/dev/null 2>&1 || true

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# both FN ARGS...: run FN PORT ARGS... R times for each proxy, alternating;
# sets g and h to the medians
both() {
	fn=$1
	shift
	gs="" hs=""
	for _ in $(seq "$R"); do
		gs="$gs $($fn "$GP" "$@")"
		hs="$hs $($fn "$HP" "$@")"
	done
	g=$(echo "$gs" | median)
	h=$(echo "$hs" | median)
	echo "  runs: goproxyd$gs / $PN$hs" >>"$T/runs.log"
}
both reqs -c32
line "keep-alive 1 KiB, 32 conns (req/s)" "$g" "$h" ">= 1.2"
cpuline keep-alive
both reqs -c16 -H 'Connection: close'
line "new TLS connection per request (req/s)" "$g" "$h" ">= 1.0"
cpuline "new conn"
# Pinned: the proxy alone on CPU 0, wrk and nginx on CPU 1, so the proxy's
# own cost decides (unpinned, all three share both CPUs and wrk/nginx cap
# both proxies alike). Extra rows; the plain ones above stay the numbers.
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	pin "$GPD" 0; pin "$HITCH" 0; pin "$NGXPID" 1
	WRK="taskset -c 1 wrk"
	both reqs -c32
	line "PINNED keep-alive 1 KiB, 32 conns (req/s)" "$g" "$h" "info"
	cpuline "pinned keep-alive"
	WRK="wrk"
	pin "$GPD" 0-$(($(nproc) - 1)); pin "$HITCH" 0-$(($(nproc) - 1))
	pin "$NGXPID" 0-$(($(nproc) - 1))
fi
both mbps
line "1 MiB responses, 4 conns (MiB/s)" "$g" "$h" ">= 1.0"

# idle established TLS connections: RSS growth per connection
measure_idle() {
	pid=$1 port=$2
	before=$(rss "$pid")
	mkfifo "$T/hold.$port"
	"$TOOL" hold --tls 127.0.0.1 "$port" "$CONNS" <"$T/hold.$port" >"$T/hold.$port.out" &
	hp=$!
	exec 7>"$T/hold.$port"
	for _ in $(seq 600); do grep -q ready "$T/hold.$port.out" && break; sleep 0.1; done
	sleep 0.5
	after=$(rss "$pid")
	held=$(awk '{print $2}' "$T/hold.$port.out")
	exec 7>&-
	wait "$hp" || true
	awk -v a="$after" -v b="$before" -v n="$held" 'BEGIN { if (n > 0) printf "%.1f", (a - b) / n; else print "n/a" }'
}
g=$(measure_idle "$GPD" "$GP"); h=$(measure_idle "$HITCH" "$HP")
line "RSS per idle TLS connection (KiB, $CONNS)" "$g" "$h" "<= 0.25"
if [ "$PEER" = store ]; then
	cat "$T/runs.log"
	exit 0
fi

# reload under load: the pair replaced 20 times while wrk runs
wrk -t1 -c16 -d"$((D + 3))s" "https://127.0.0.1:$GP/1k" >"$T/reload.wrk" 2>&1 &
W=$!
sleep 1
for i in $(seq 20); do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/k.pem" \
		-out "$T/c.pem" -days 30 -subj "/CN=bench.test" -addext subjectAltName=DNS:bench.test 2>/dev/null
	mv "$T/k.pem" "$T/certs/priv.key"
	mv "$T/c.pem" "$T/certs/cert.crt"
	sleep 0.2
done
wait "$W" || true
total=$(awk '/requests in/ {print $1}' "$T/reload.wrk")
errs=$(awk '/Socket errors/ { s=0; for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+,?$/) s+=$i; print s }' "$T/reload.wrk")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$T/reload.wrk")
reloads=$(grep -c "lineage default: reloaded" "$T/gpd.log" || true)
# reload latency: files replaced -> new certificate served (20 ms polling)
served_fp() {
	openssl s_client -connect "127.0.0.1:$GP" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
lat=""
for i in 1 2 3 4 5; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/k.pem" \
		-out "$T/c.pem" -days 30 -subj "/CN=bench.test" -addext subjectAltName=DNS:bench.test 2>/dev/null
	want=$(openssl x509 -noout -fingerprint -sha256 -in "$T/c.pem")
	t0=$(date +%s%N)
	mv "$T/k.pem" "$T/certs/priv.key"
	mv "$T/c.pem" "$T/certs/cert.crt"
	for _ in $(seq 250); do [ "$(served_fp)" = "$want" ] && break; sleep 0.02; done
	polled=$(( ($(date +%s%N) - t0) / 1000000 ))
	ts=$(grep "lineage default: reloaded" "$T/gpd.log" | tail -1 | cut -d' ' -f1)
	swapped=$(( ($(date -d "$ts" +%s%N) - t0) / 1000000 ))
	lat="$lat ${swapped}/${polled}"
done
echo "reload latency, ms from the rename to the swap (log) / to a client seeing it:$lat (target < 1000)"
cat "$T/runs.log"
echo "reload under load: $total requests, socket errors ${errs:-0}, non-2xx ${non2xx:-0}, $reloads reloads logged (target: 0 failed)"

#!/bin/bash
# goproxyd backpressure: a client that stops reading makes goproxyd stop
# reading from the backend (bounded buffers), and the download completes
# intact when the client reads again.
. "$(dirname "$0")/lib.sh"

mkpair "$CERTS" default.test
start_nginx
P=$(freeport)
# a sanitized build keeps freed memory in quarantine: keep that small here
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
start_gpd -d "$CERTS" -l "127.0.0.1:$P" -b "127.0.0.1:$NGX_PORT" --workers 1
head -c $((48 * 1024 * 1024)) /dev/urandom >"$T/nginx/files/big.bin"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$GPD_PID/status"; }
before=$(rss)
# the reader stalls until released: curl fills the pipe and stops reading
mkfifo "$T/go"
curl -sSk --max-time 120 "https://127.0.0.1:$P/files/big.bin" |
	{ read -r _ <"$T/go"; cat >"$T/got.bin"; } &
READER=$!
PIDS="$PIDS $READER"
# wait until the transfer is stuck (goproxyd's RSS stops changing)
prev=-1
for _ in $(seq 50); do
	sleep 0.2
	now=$(rss)
	[ "$now" = "$prev" ] && break
	prev=$now
done
stalled=$(rss)
echo go >"$T/go"
wait "$READER" || fail "download failed"
cmp -s "$T/got.bin" "$T/nginx/files/big.bin" || fail "download differs after the stall"
growth=$((stalled - before))
echo "RSS growth while the client stalled: $growth KiB (file: 49152 KiB)"
[ "$growth" -lt 4096 ] || fail "goproxyd buffered $growth KiB for a stalled client"
ok "stalled client: goproxyd stops reading the backend (RSS +$growth KiB), download intact"

#!/bin/sh
# tests/lib/freeport: 64 distinct ports, none inside the kernel's ephemeral
# range (where any outgoing connection can take one as its source port
# before the test binds it), all within 10000-65535. That each one binds is
# what freeport itself checks; this test does not bind them again.
set -eu
set -- $(cat /proc/sys/net/ipv4/ip_local_port_range); lo=$1 hi=$2
out=$("$FREEPORT" 64) || { echo "FAIL: freeport 64 failed"; exit 1; }
[ "$(printf '%s\n' "$out" | wc -l)" = 64 ] || { echo "FAIL: not 64 ports: $out"; exit 1; }
[ "$(printf '%s\n' "$out" | sort -u | wc -l)" = 64 ] || { echo "FAIL: ports repeat: $out"; exit 1; }
for p in $out; do
	if [ "$p" -ge "$lo" ] && [ "$p" -le "$hi" ]; then
		echo "FAIL: port $p is in the ephemeral range $lo-$hi"; exit 1
	fi
	[ "$p" -ge 10000 ] && [ "$p" -le 65535 ] || { echo "FAIL: port $p out of 10000-65535"; exit 1; }
done
echo "OK: 64 distinct ports outside $lo-$hi"

#!/bin/sh
# tests/lib/freeport:
# 1. 64 distinct ports, none inside the kernel's ephemeral range (where any
#    outgoing connection can take one as its source port before the test
#    binds it), all within 10000-65535. That each one binds is what freeport
#    itself checks; this test does not bind them again.
# 2. A port handed out is not handed out again by a later freeport (a test
#    running next to this one) while its reservation holds, even after the
#    first freeport has exited and the port is free: with FREEPORT_RANGE of
#    one port, the second call fails and says why. An expired reservation
#    (mtime 10 minutes back) gives the port again.
# 3. Eight freeport runs at once, 8 ports each, sharing one reservation
#    directory: 64 distinct ports.
# 4. A malformed FREEPORT_RANGE is refused (exit 64) naming the value.
set -eu
set -- $(cat /proc/sys/net/ipv4/ip_local_port_range); lo=$1 hi=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
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

# 2. One port (reserved for this test in the shared directory, so no other
# test's freeport hands it out meanwhile), in a directory of our own.
p=$("$FREEPORT")
export FREEPORT_DIR="$tmp/res"
a=$(FREEPORT_RANGE=$p-$p "$FREEPORT") || { echo "FAIL: freeport in range $p-$p failed"; exit 1; }
[ "$a" = "$p" ] || { echo "FAIL: freeport in range $p-$p gave $a"; exit 1; }
[ "$(stat -c %a "$FREEPORT_DIR")" = 700 ] || { echo "FAIL: $FREEPORT_DIR is not 0700"; exit 1; }
if b=$(FREEPORT_RANGE=$p-$p "$FREEPORT" 2>"$tmp/err"); then
	echo "FAIL: port $p handed out twice within its reservation (second call gave $b)"; exit 1
fi
grep -q "no free port in FREEPORT_RANGE=$p-$p that freeport has not handed out" "$tmp/err" ||
	{ echo "FAIL: the refusal does not say why: $(cat "$tmp/err")"; exit 1; }
echo "OK: port $p not handed out twice within its reservation"
touch -d '10 minutes ago' "$FREEPORT_DIR/$p"
c=$(FREEPORT_RANGE=$p-$p "$FREEPORT") || { echo "FAIL: an expired reservation of $p still holds"; exit 1; }
[ "$c" = "$p" ] || { echo "FAIL: got $c, not $p"; exit 1; }
echo "OK: an expired reservation gives the port again"

# 3. Eight at once, one shared directory.
export FREEPORT_DIR="$tmp/par"
for i in 1 2 3 4 5 6 7 8; do "$FREEPORT" 8 > "$tmp/par$i" & done
wait
cat "$tmp"/par[1-8] > "$tmp/all"
[ "$(wc -l < "$tmp/all")" = 64 ] || { echo "FAIL: 8 x freeport 8 gave $(wc -l < "$tmp/all") ports"; exit 1; }
[ "$(sort -u "$tmp/all" | wc -l)" = 64 ] || { echo "FAIL: ports repeat across runs: $(sort "$tmp/all" | uniq -d)"; exit 1; }
echo "OK: 8 runs at once gave 64 distinct ports"

# 4.
if FREEPORT_RANGE=9-x "$FREEPORT" 2>"$tmp/err"; then echo "FAIL: FREEPORT_RANGE=9-x accepted"; exit 1; fi
grep -q 'FREEPORT_RANGE=9-x is not LO-HI' "$tmp/err" || { echo "FAIL: $(cat "$tmp/err")"; exit 1; }
echo "OK: a malformed FREEPORT_RANGE is refused"

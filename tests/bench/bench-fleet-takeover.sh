#!/bin/sh
# The issuer killed: how long until another node has the issuer lock. A
# process takes the lock on a 3-member etcd cluster (default lease TTL, 15 s)
# and is killed -9; another, started at the kill, waits for the lock. Prints
# each time and the max, then the same with the etcd leader killed right
# after the holder (etcd resets lease TTLs at a leader change). Goal: at
# most the lease TTL plus 2 s (17 s). Usage:
#   tests/bench/bench-fleet-takeover.sh [BUILD_DIR]     (N=5 rounds each)
. "$(dirname "$0")/lib.sh"
N=${N:-5}
command -v etcd >/dev/null 2>&1 || { echo "SKIP: etcd not installed"; exit 77; }
export TESTS_DIR=$ROOT/tests FREEPORT=$BUILD/tests/freeport
. "$ROOT/tests/lib/etcd.sh"
W=$BUILD/tests/fleet/store_etcd
[ -x "$W" ] || { echo "no $W (build first)"; exit 77; }
trap 'etcd_stop; rm -rf "$T"' EXIT
etcd_start >/dev/null
"$G" store seal-key "$T/seal.key" >/dev/null
export STORE_SEAL=$T/seal.key STORE_PREFIX=/bench

# round KILL_LEADER: appends ms from the holder's kill -9 to the lock taken
# to $T/ms (not in a subshell: etcd_kill and etcd_member_start keep the
# members' pids in this shell)
round() {
	: >"$T/hold.out"
	"$W" hold >"$T/hold.out" 2>"$T/hold.err" &
	h=$!
	until grep -q "^held" "$T/hold.out"; do sleep 0.05; done
	sleep 1 # a keepalive or two on the lease
	kill -9 $h
	wait $h 2>/dev/null || :
	t0=$(date +%s%3N)
	if [ "$1" = 1 ]; then
		l=$(etcd_leader)
		etcd_kill "$l"
	fi
	if "$W" take >"$T/take.out" 2>"$T/take.err"; then
		echo $(($(sed -n 's/^took //p' "$T/take.out") - t0)) >>"$T/ms"
	else
		grep FATAL "$T/take.err" >&2
		echo failed >>"$T/ms"
	fi
	if [ "$1" = 1 ]; then
		etcd_member_start "$l"
		etcd_wait_healthy
	fi
}
for k in 0 1; do
	: >"$T/ms"
	for i in $(seq "$N"); do round $k; done
	all=$(printf ' %s' $(cat "$T/ms"))
	max=$(sort -n "$T/ms" | tail -1)
	if [ $k = 0 ]; then what="holder killed -9"; else what="holder killed -9, then the etcd leader"; fi
	printf '%-42s ms:%s  max %s (goal <= 17000)\n' "$what" "$all" "$max"
done

#!/bin/sh
# Run tests/fleet/store_etcd MODE against a fresh 3-member etcd cluster.
# usage: store_etcd.sh PROGRAM MODE
set -eu
. "$TESTS_DIR/lib/etcd.sh"
prog=$1 mode=$2
trap 'rc=$?; [ "$rc" = 0 ] || etcd_logs; etcd_stop; exit $rc' EXIT
etcd_start
ETCD_PIDS=$(etcd_pids)
export ETCD_PIDS
if [ "$mode" = auth ]; then
	etcd_auth_enable "root-$$"
	etcd_add_user node "node-pw-$$" /gpc-test/
	# a node that may only read the prefix
	etcdctl_run role add reader-role >/dev/null
	etcdctl_run role grant-permission reader-role --prefix=true read /gpc-test/ >/dev/null
	etcdctl_run user add "reader:reader-pw-$$" >/dev/null
	etcdctl_run user grant-role reader reader-role >/dev/null
	export ETCD_USER=node ETCD_PASSWORD="node-pw-$$" ETCD_RO_USER=reader ETCD_RO_PASSWORD="reader-pw-$$"
	export ETCD_ROOT_USER=root ETCD_ROOT_PASSWORD="root-$$"
fi
if [ "$mode" = leader ]; then
	# The issuer lock asked for right after the etcd leader is killed (a
	# renew starting during the election): it is taken once a new leader is
	# there, not refused with "request timed out (outcome unknown)".
	for round in 1 2 3; do
		l=$(etcd_leader)
		etcd_kill "$l"
		t0=$(date +%s)
		"$prog" take >"$ETCD_WORK/take.out" 2>"$ETCD_WORK/take.err" ||
			{ cat "$ETCD_WORK/take.err" >&2; echo "FAIL: round $round: the issuer lock was not taken after the leader (member $l) was killed" >&2; exit 1; }
		grep -q '^took ' "$ETCD_WORK/take.out" || { echo "FAIL: round $round: no 'took'" >&2; exit 1; }
		echo "ok - round $round: the issuer lock taken $(($(date +%s) - t0)) s after the leader (member $l) was killed"
		etcd_member_start "$l"
		etcd_wait_healthy
	done
	exit 0
fi
"$prog" "$mode" ${GPC_TEST_VERBOSE:+-v}

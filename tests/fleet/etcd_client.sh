#!/bin/sh
# Run tests/fleet/etcd_client MODE against a fresh 3-member etcd cluster.
# usage: etcd_client.sh PROGRAM MODE
set -eu
. "$TESTS_DIR/lib/etcd.sh"
prog=$1 mode=$2
trap 'rc=$?; [ "$rc" = 0 ] || etcd_logs; etcd_stop; exit $rc' EXIT
case $mode in
tls) etcd_start --tls ;;
auth) etcd_start --token-ttl 2 ;;
*) etcd_start ;;
esac
ETCD_PIDS=$(etcd_pids)
export ETCD_PIDS
case $mode in
kv)
	# shellcheck disable=SC2046
	set -- $("$FREEPORT" 2)
	export CLOSED_URL1="http://127.0.0.1:$1" CLOSED_URL2="http://127.0.0.1:$2"
	;;
failover | compact)
	ETCD_LEADER=$(etcd_leader)
	export ETCD_LEADER
	;;
auth | tls)
	etcd_auth_enable "root-$$"
	etcd_add_user fleet "fleet-pw-$$" /fleet/
	export ETCD_USER=fleet ETCD_PASSWORD="fleet-pw-$$" ETCD_PREFIX=/fleet/ ETCD_TOKEN_TTL=2
	;;
esac
"$prog" "$mode" ${GPC_TEST_VERBOSE:+-v}

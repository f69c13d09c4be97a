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
"$prog" "$mode" ${GPC_TEST_VERBOSE:+-v}

#!/bin/sh
# Run tests/protocol/acme_pebble MODE against a fresh pebble.
# usage: acme_pebble.sh PROGRAM MODE [MODE-ARGS] [-- pebble_start options]
set -eu
. "$TESTS_DIR/lib/pebble.sh"
prog=$1 mode=$2
shift 2
margs=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do margs="$margs $1"; shift; done
[ $# -gt 0 ] && shift
trap 'rc=$?; [ "$rc" = 0 ] || pebble_logs; pebble_stop; exit $rc' EXIT
pebble_start "$@"
export PEBBLE_ROOT_URL="$PEBBLE_MGMT_URL/roots/0"
export CLOSED_URL="https://127.0.0.1:$("$FREEPORT")/dir"
# shellcheck disable=SC2086
"$prog" "$mode" $margs
if [ "$mode" = issue ]; then
	# Nonces come from the answers (RFC 8555 §7.2): one HEAD newNonce per run,
	# even when half of them are rejected (badNonce answers carry a new one).
	n=$(pebble_count 'HEAD /nonce-plz')
	[ "$n" = 1 ] || { echo "FAIL: $n HEAD newNonce requests, want 1" >&2; exit 1; }
fi

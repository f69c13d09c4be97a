#!/bin/sh
# tests/lib/pebble.sh starts pebble + challtestsrv on free ports, exports what
# other suites rely on, serves TXT records, and stops cleanly.
set -eu
. "$TESTS_DIR/lib/pebble.sh"
trap 'rc=$?; [ "$rc" = 0 ] || pebble_logs; pebble_stop; exit $rc' EXIT
pebble_start --eab --validity 600
for v in PEBBLE_DIR_URL PEBBLE_CA_BUNDLE PEBBLE_HTTP_PORT PEBBLE_TLS_PORT CHALLTEST_MGMT \
	PEBBLE_LOG PEBBLE_MGMT_URL PEBBLE_EAB_KID PEBBLE_EAB_HMAC; do
	eval "val=\${$v:-}"
	if [ -z "$val" ]; then
		echo "FAIL: $v not exported" >&2
		exit 1
	fi
done
dir=$(curl -fsS --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_DIR_URL")
case $dir in
*'"externalAccountRequired": true'*) ;;
*) echo "FAIL: directory lacks externalAccountRequired: $dir" >&2; exit 1 ;;
esac
pebble_set_txt _acme-challenge.example.com test-value
pebble_roots "$PEBBLE_WORK/roots.pem"
n=$(grep -c 'BEGIN CERTIFICATE' "$PEBBLE_WORK/roots.pem")
[ "$n" = 2 ] || { echo "FAIL: pebble_roots wrote $n certificates, want 2" >&2; exit 1; }
[ "$(pebble_count 'GET /dir')" -ge 1 ] || { echo "FAIL: pebble_count" >&2; exit 1; }
work=$PEBBLE_WORK
pid=$PEBBLE_PID
pebble_stop
if kill -0 "$pid" 2>/dev/null; then echo "FAIL: pebble still running" >&2; exit 1; fi
[ ! -e "$work" ] || { echo "FAIL: $work left behind" >&2; exit 1; }
echo "ok"

#!/bin/sh
# fleet: tls-alpn-01 through the fleet, and a presence that comes back.
#  - three goproxyd nodes listen on pebble's tls-alpn-01 port on their own
#    loopback addresses, without --http (so they answer tls-alpn-01 only);
#    `issue` with no solver named uses the fleet (their presence in the
#    store says "answers: tls-alpn-01"), and the CA validates each name at a
#    node that did not place the order (challtestsrv's A records);
#  - a node's presence lease revoked behind its back (what etcd does when it
#    was cut off longer than the TTL): the node records it again on a new
#    lease, so `issue` still finds the fleet.
set -eu
. "$TESTS_DIR/fleet/lib.sh"
fleet_init --validity 600

echo "== a first pair, answered by the CLI itself"
fissue -D boot.example.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 0

echo "== three nodes answering tls-alpn-01 on 127.0.N.1:$PEBBLE_TLS_PORT"
for i in 1 2 3; do
	"$GOPROXYD" $STORE -l "127.0.$i.1:$PEBBLE_TLS_PORT" -b "127.0.0.1:$CLOSED" >>"$WORK/gpd$i.log" 2>&1 &
	ACME_PIDS="$ACME_PIDS $!"
done
presence_wait 3
etcdctl_run get --prefix /fleet/presence/goproxyd/ --print-value-only | grep -qx 'answers: tls-alpn-01' ||
	fail "presence does not say the nodes answer tls-alpn-01 only: $(etcdctl_run get --prefix /fleet/presence/ --print-value-only)"

pebble_add_a a1.example.test 127.0.2.1
pebble_add_a a2.example.test 127.0.3.1
before=$(pebble_count 'POST /order-plz')
for l in a1 a2; do
	fissue -n $l -D $l.example.test --challenge tls-alpn-01
	expect_rc 0
	expect_out "^$l: issued"
done
[ $(($(pebble_count 'POST /order-plz') - before)) = 2 ] || fail "expected 2 orders"
# each name answered at the node its A record names ("challenge certificate
# loaded" is logged by every node and proves nothing)
grep -q 'tls-alpn-01: served the challenge certificate for a1.example.test' "$WORK/gpd2.log" &&
	grep -q 'tls-alpn-01: served the challenge certificate for a2.example.test' "$WORK/gpd3.log" ||
	{ tail -n 20 "$WORK"/gpd*.log >&2; fail "the challenges were not answered by the nodes the names point at"; }
# the challenge certificates are gone from the store after the order
[ -z "$(etcdctl_run get --prefix /fleet/records/challenges/ --keys-only)" ] ||
	fail "challenge records left in the store: $(etcdctl_run get --prefix /fleet/records/challenges/ --keys-only)"
etcdctl_run get /fleet/records/lineages/a1.json --print-value-only | grep -q 'tls-alpn-01' ||
	fail "the lineage does not remember tls-alpn-01"

echo "== a presence lease revoked behind the node's back comes back"
key=$(etcdctl_run get --prefix /fleet/presence/goproxyd/ --keys-only | grep . | head -n 1)
lease=${key##*/}
etcdctl_run lease revoke "$lease" >/dev/null
t0=$(date +%s.%N)
presence_wait 3 "the revoked presence was not recorded again"
echo "presence recorded again $(echo "$(date +%s.%N) - $t0" | bc) s after its lease was revoked"
etcdctl_run get --prefix /fleet/presence/goproxyd/ --keys-only | grep -q "/$lease\$" &&
	fail "the revoked lease $lease is still listed"
# and the fleet still answers: a renewal by tls-alpn-01 through it
fissue -n a1 -D a1.example.test --challenge tls-alpn-01 --force
expect_rc 0
expect_out '^a1: issued'
echo PASS

#!/bin/sh
# fleet: three goproxyd nodes, each on its own loopback address, share one
# store in a 3-member etcd cluster. Names point at different nodes
# (challtestsrv's A records), so the CA validates http-01 at a node that did
# not place the order. Then `renew` starts on all three nodes at once over
# due lineages: exactly one order per lineage (pebble's log), every exit 0,
# and every node serves every new pair within a second.
set -eu
. "$TESTS_DIR/fleet/lib.sh"
fleet_init --validity 600

echo "== a first pair (goproxyd needs one to start), answered by the CLI itself"
fissue -D boot.example.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 0
expect_out '^default: issued'
# nothing private in etcd in clear
etcdctl_run get --prefix /fleet >"$WORK/dump"
! grep -q 'PRIVATE KEY' "$WORK/dump" || fail "a private key in etcd in clear"

echo "== three goproxyd nodes on 127.0.1.1, 127.0.2.1, 127.0.3.1"
for i in 1 2 3; do node_start $i; done
for i in 1 2 3; do node_wait $i boot.example.test; done
presence_wait 3

echo "== each name validated at another node than the one ordering"
pebble_add_a l1.example.test 127.0.2.1
pebble_add_a l2.example.test 127.0.3.1
pebble_add_a l3.example.test 127.0.1.1
for l in l1 l2 l3; do
	fissue -n $l -D $l.example.test
	expect_rc 0
	expect_out "^$l: issued"
done
grep -q 'http-01: answered' "$WORK/gpd2.log" && grep -q 'http-01: answered' "$WORK/gpd3.log" &&
	grep -q 'http-01: answered' "$WORK/gpd1.log" || fail "the challenges were not answered by the nodes the names point at"
for l in l1 l2 l3; do
	want=$(stored_serial $l)
	for i in 1 2 3; do node_serves $i $l.example.test "$want"; done
done
t_last=$(date +%s)

echo "== renew on three nodes at once over four due lineages: one order each"
# Due: the clock moved to where the old pairs have less than half their
# lifetime left (the rule for short-lived certificates) and the new ones
# (issued at least 10 s later) more.
now=$(due_clock default l1 l2 l3)
while [ "$(date +%s)" -lt $((t_last + 10)) ]; do sleep 0.5; done
before=$(pebble_orders)
for i in 1 2 3; do
	GOPROXY_CERT_NOW=$now "$GOPROXY_CERT" renew $STORE \
		>"$WORK/renew$i.out" 2>"$WORK/renew$i.err" &
	eval "rp$i=\$!"
done
for i in 1 2 3; do
	eval "rc=0; wait \$rp$i || rc=\$?"
	cat "$WORK/renew$i.out" "$WORK/renew$i.err" >>"$WORK/log"
	[ "$rc" = 0 ] || { cat "$WORK/renew$i.out" "$WORK/renew$i.err" >&2; fail "renew on node $i exited $rc"; }
done
t_done=$(date +%s.%N)
orders=$(($(pebble_orders) - before))
[ "$orders" = 4 ] || { cat "$WORK"/renew?.out >&2; grep -h "due\|waiting" "$WORK"/renew?.err >&2; fail "$orders orders for 4 due lineages"; }
grep -h ': issued, ' "$WORK"/renew?.out | sort >"$WORK/issued"
[ "$(grep -c . "$WORK/issued")" = 4 ] || { cat "$WORK"/renew?.out >&2; fail "not one 'issued' line per lineage"; }
# the ledger counts what the CA issued: 4 first issuances, 4 renewals
gpc_ledger=$(etcdctl_run get /fleet/records/ledger.json --print-value-only | jq '.issuances | length')
[ "$gpc_ledger" = 8 ] || fail "the ledger counts $gpc_ledger issuances, pebble issued 8"

echo "== every node serves every new pair"
for l in default l1 l2 l3; do
	want=$(stored_serial $l)
	old=$(openssl x509 -in "$WORK/$l.old.pem" -noout -serial)
	[ "$want" != "$old" ] || fail "$l was not renewed"
	name=$l.example.test
	[ $l = default ] && name=boot.example.test
	for i in 1 2 3; do
		[ "$(served_serial "127.0.$i.1" $name)" = "$want" ] || fail "node $i does not serve the new $l"
	done
done
echo "all nodes served the new pairs $(echo "$(date +%s.%N) - $t_done" | bc) s after the last renew ended (checks included)"
echo "== store export into a certs directory, import of one"
mkdir "$WORK/exp"
gpc store export $STORE -d "$WORK/exp"
expect_rc 0
expect_out '^4 pair\(s\) copied, 0 kept'
gpc check -d "$WORK/exp" default l1 l2 l3
expect_rc 0
[ "$(openssl x509 -in "$WORK/exp/l1/cert.crt" -noout -serial)" = "$(stored_serial l1)" ] || fail "exported l1 differs"
[ "$(stat -L -c %a "$WORK/exp/l1/priv.key")" = 600 ] || fail "exported key mode"
gpc issue -d "$WORK/local" -n local -D local.example.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" $CA
expect_rc 0
gpc store import $STORE -d "$WORK/local"
expect_rc 0
expect_out '^local: pair copied'
expect_out '^local: settings copied'
gpc store import $STORE -d "$WORK/local"
expect_rc 0
expect_out '^local: kept'
gpc store import $STORE -d "$WORK/exp"
expect_rc 0
expect_out '^0 pair\(s\) copied, 4 kept'
! etcdctl_run get --prefix /fleet | grep -q 'PRIVATE KEY' || fail "a private key in etcd in clear after import"
node_serves 1 local.example.test "$(stored_serial local)" "(the imported lineage)"

echo "== messages name the store's records as the store shows them (never .state/ on a URL)"
gpc revoke $STORE nosuch
expect_rc 1
expect_err 'nosuch: no stored settings'
expect_err 'etcd://[^ ]*/records/lineages/nosuch\.json'
! grep -q '\.state' "$WORK/err" || fail "an etcd record named with .state: $(cat "$WORK/err")"
gpc renew $STORE nosuch
expect_rc 1
expect_err 'etcd://[^ ]*/records/lineages/nosuch\.json'
! grep -q '\.state' "$WORK/err" || fail "an etcd record named with .state: $(cat "$WORK/err")"
echo PASS

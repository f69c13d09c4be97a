#!/bin/sh
# fleet faults on a real etcd cluster and pebble (usage: t-fleet-faults.sh
# quorum|kill; one part per run to keep each under a minute):
#  quorum: two of three members down: every goproxyd keeps serving; renew exits 75
#    naming the cause and writes nothing; members back: renew succeeds and
#    every node serves the new pair (its watch resumed);
#  kill: the node holding the issuer lock killed -9 mid-run: another node's renew
#    waits for the lease (TTL 15 s) and completes; every pair whole (served);
#    the ledger counts what pebble finalized;
#  quorum: a goproxyd with the wrong seal key: a clear error, it does not serve a
#    broken pair.
set -eu
part=${1:-quorum}
. "$TESTS_DIR/fleet/lib.sh"
fleet_init --validity 600

fissue -D boot.example.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 0
pebble_add_a a.example.test 127.0.2.1
for i in 1 2; do node_start $i; done
for i in 1 2; do node_wait $i boot.example.test; done
n=0
until [ "$(etcdctl_run get --prefix /fleet/presence/goproxyd/ --keys-only | grep -c .)" = 2 ]; do
	n=$((n + 1)); [ $n -lt 50 ] || fail "presence"; sleep 0.1
done
fissue -n a -D a.example.test
expect_rc 0
t_last=$(date +%s)

if [ "$part" = quorum ]; then
now=$(due_clock default a)
while [ "$(date +%s)" -lt $((t_last + 10)) ]; do sleep 0.5; done
echo "== two of three members down"
old_a=$(stored_serial a)
old_d=$(stored_serial default)
leader=$(etcd_leader)
down=""
for i in 1 2 3; do [ "$i" = "$leader" ] || down="$down $i"; done
set -- $down
etcd_kill "$1"
etcd_kill "$2"
for i in 1 2; do
	[ "$(served_serial 127.0.$i.1 a.example.test)" = "$old_a" ] || fail "node $i stopped serving a without quorum"
done
t0=$(date +%s)
GOPROXY_CERT_NOW=$now gpc renew $STORE
expect_rc 75
expect_err 'etcd'
echo "renew without quorum: exit $RC after $(($(date +%s) - t0)) s: $(head -n 2 "$WORK/err" | tr '\n' ' ')"
for i in 1 2; do
	[ "$(served_serial 127.0.$i.1 a.example.test)" = "$old_a" ] || fail "node $i stopped serving a without quorum"
done

echo "== members back: renew succeeds, the nodes serve the new pairs"
etcd_member_start "$1" --no-wait
etcd_member_start "$2" --no-wait
etcd_wait_healthy
[ "$(stored_serial a)" = "$old_a" ] || fail "a was written without quorum"
before=$(pebble_orders)
GOPROXY_CERT_NOW=$now gpc renew $STORE
expect_rc 0
[ $(($(pebble_orders) - before)) = 2 ] || fail "not 2 orders after quorum came back"
new_a=$(stored_serial a)
[ "$new_a" != "$old_a" ] || fail "a not renewed"
for i in 1 2; do node_serves $i a.example.test "$new_a" "(the new a after the outage)"; done
grep -q 'etcd unreachable' "$WORK/gpd1.log" || fail "goproxyd did not say etcd was unreachable"
[ "$(grep -c 'etcd unreachable' "$WORK/gpd1.log")" -le 2 ] || fail "goproxyd said it more than once per watch"


echo "== a node with the wrong seal key"
"$GOPROXY_CERT" store seal-key "$WORK/other.key" >/dev/null
"$GOPROXYD" --store "$S" --store-seal "$WORK/other.key" --store-cache "$WORK/cache3" -l "127.0.3.1:$TLSP" -b "127.0.0.1:$CLOSED" \
	>"$WORK/gpd3.log" 2>&1 && fail "goproxyd started with the wrong seal key" || :
grep -q 'sealed with another seal key' "$WORK/gpd3.log" || { cat "$WORK/gpd3.log" >&2; fail "no clear error"; }
echo PASS
exit 0
fi

echo "== the issuer killed -9 mid-run; another node takes over"
now=$(due_clock default a)
while [ "$(date +%s)" -lt $((t_last + 10)) ]; do sleep 0.5; done
fin0=$(pebble_count 'POST /finalize-order')
GOPROXY_CERT_NOW=$now "$GOPROXY_CERT" renew $STORE >"$WORK/victim.out" 2>&1 &
victim=$!
n=0
until etcdctl_run get /fleet/holders/issuer --print-value-only | grep -q "pid $victim"; do
	n=$((n + 1)); [ $n -lt 500 ] || fail "the victim never held the issuer lock"; sleep 0.01
done
kill -9 $victim
wait $victim 2>/dev/null || :
t_kill=$(date +%s.%N)
GOPROXY_CERT_NOW=$now gpc renew $STORE --lock-wait 40
expect_rc 0
took=$(echo "$(date +%s.%N) - $t_kill" | bc)
echo "after the kill: the next renew finished in $took s (lease TTL 15 s)"
[ "$(echo "$took < 30" | bc)" = 1 ] || fail "took $took s"
for l in default a; do
	name=$l.example.test
	[ $l = default ] && name=boot.example.test
	want=$(stored_serial $l)
	for i in 1 2; do node_serves $i $name "$want" "(lineage $l: a broken pair?)"; done
done
fin=$(($(pebble_count 'POST /finalize-order') - fin0))
led=$(etcdctl_run get /fleet/records/ledger.json --print-value-only | jq '.issuances | length')
all=$(pebble_count 'POST /finalize-order')
[ "$led" = "$all" ] || fail "the ledger counts $led issuances, pebble finalized $all ($fin since the kill)"

echo PASS

#!/bin/sh
# Two runs at once, without --force (issue 8): the decision to ask the CA is
# made again under the issuer lock, from fresh state, so
#  - two `issue` of one new name: exactly one order, both exit 0, the loser
#    says the other run issued it (3 rounds, a new name each);
#  - two `renew` over lineages that became due: exactly one order per
#    lineage, both exit 0;
#  - overlapping forced renews: the ledger counts every certificate the CA
#    issued (it is read-modify-written under the store lock).
# Orders and finalizations are counted in pebble's own log.
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
G=$GOPROXY_CERT
C="--server $PEBBLE_DIR_URL --ca-bundle $PEBBLE_CA_BUNDLE"
mkdir -p "$CERTS"

# both RC1 RC2 CMD...: run CMD twice at once; exit codes in RC1, RC2,
# outputs in $WORK/{1,2}.{out,err}
both() {
	"$@" >"$WORK/1.out" 2>"$WORK/1.err" &
	p1=$!
	"$@" >"$WORK/2.out" 2>"$WORK/2.err" &
	p2=$!
	RC1=0 RC2=0
	wait $p1 || RC1=$?
	wait $p2 || RC2=$?
	cat "$WORK"/1.out "$WORK"/1.err "$WORK"/2.out "$WORK"/2.err >>"$WORK/log"
}
show() { cat "$WORK"/1.out "$WORK"/1.err "$WORK"/2.out "$WORK"/2.err >&2; }

echo "== two issue of one new name at once: one order"
for r in 1 2 3; do
	before=$(pebble_requests 'POST /order-plz')
	both "$G" issue -d "$CERTS" -n "x$r" -D "x$r.example.test" $C $SA
	orders=$(($(pebble_requests 'POST /order-plz') - before))
	echo "round $r: exits $RC1 $RC2, $orders order(s)"
	[ "$RC1" = 0 ] && [ "$RC2" = 0 ] || { show; fail "round $r: exits $RC1 and $RC2, want 0 and 0"; }
	[ "$orders" = 1 ] || { show; fail "round $r: $orders orders for one new name"; }
	cat "$WORK"/1.out "$WORK"/2.out | grep -q "^x$r: issued" || { show; fail "no run says issued"; }
	cat "$WORK"/1.out "$WORK"/2.out | grep -q "^x$r: current .*issued by another run while this one waited" ||
		{ show; fail "the other run does not say it found the winner's certificate"; }
done

echo "== two issue of one name under two new lineage names at once: one order"
# the duplicate check (a new lineage for names another one holds) is made
# again under the issuer lock: the run that waited finds the winner's pair
for r in 1 2 3; do
	before=$(pebble_requests 'POST /order-plz')
	"$G" issue -d "$CERTS" -n "d${r}a" -D "d$r.example.test" $C $SA >"$WORK/1.out" 2>"$WORK/1.err" &
	p1=$!
	"$G" issue -d "$CERTS" -n "d${r}b" -D "d$r.example.test" $C $SA >"$WORK/2.out" 2>"$WORK/2.err" &
	p2=$!
	RC1=0 RC2=0
	wait $p1 || RC1=$?
	wait $p2 || RC2=$?
	orders=$(($(pebble_requests 'POST /order-plz') - before))
	echo "round $r: exits $RC1 $RC2, $orders order(s)"
	[ "$orders" = 1 ] || { show; fail "round $r: $orders orders for one set of names under two lineages"; }
	[ "$RC1$RC2" = 064 ] || [ "$RC1$RC2" = 640 ] || { show; fail "round $r: exits $RC1 and $RC2, want 0 and 64"; }
	cat "$WORK"/1.err "$WORK"/2.err | grep -q "lineage 'd$r[ab]' already holds a certificate for exactly these names" ||
		{ show; fail "the refused run does not name the lineage that holds the names"; }
done

echo "== two renew over due lineages at once: one order per lineage"
# Due without moving the clock (a new certificate would be due at a moved
# clock too): the stored key type changes, so the pair on disk no longer fits
# and the renewed one does.
for r in 1 2 3; do
	f=$CERTS/.state/lineages/x$r.json
	jq '.key_type = "ec384"' "$f" >"$f.new" && mv "$f.new" "$f"
done
before=$(pebble_orders)
both "$G" renew -d "$CERTS"
orders=$(($(pebble_orders) - before))
echo "renew exits $RC1 $RC2, $orders order(s) for 3 due lineages"
[ "$RC1" = 0 ] && [ "$RC2" = 0 ] || { show; fail "renew exits $RC1 and $RC2, want 0 and 0"; }
[ "$orders" = 3 ] || { show; fail "$orders orders for 3 due lineages (want 3)"; }
for r in 1 2 3; do
	n=$(cat "$WORK"/1.out "$WORK"/2.out | grep -c "^x$r: issued" || :)
	[ "$n" = 1 ] || { show; fail "x$r renewed $n times"; }
done

echo "== overlapping forced renews: the ledger counts every issuance"
for r in 1 2; do
	both "$G" renew -d "$CERTS" --force --rate-limit off -q
	[ "$RC1" = 0 ] && [ "$RC2" = 0 ] || { show; fail "forced renew exits $RC1 and $RC2"; }
done
issued=$(pebble_requests 'POST /finalize-order')
counted=$(jq '.issuances | length' "$CERTS/.state/ledger.json")
echo "pebble finalized $issued orders; the ledger counts $counted issuances"
[ "$issued" = "$counted" ] || fail "the ledger counts $counted issuances, pebble issued $issued"
echo ok

#!/bin/sh
# fleet before the first certificate (issue 26): three goproxyd nodes start
# on an empty etcd prefix (each says once how to get a certificate, records
# its presence, refuses handshakes with the alert unrecognized_name); the
# first `issue --store ... --http-dir` is validated by pebble at a node that
# did not place the order (http-01 on its --http port, challtestsrv's A
# record), and every node serves the pair within 1 s of its commit, with
# no signal; a second lineage (tls-alpn-01, no solver named: the fleet's
# presence) is validated at another node and served everywhere too.
set -eu
. "$TESTS_DIR/fleet/lib.sh"
fleet_init --validity 600
# the nodes listen on pebble's tls-alpn-01 port (127.0.N.1: no clash)
TLSP=$PEBBLE_TLS_PORT

# loaded_after I LINEAGE T0: WAITED = ms from T0 to the time node I logged
# "lineage LINEAGE: loaded" (the moment the pair joins the set new
# handshakes use: a line of goproxyd's own log, so the time the probe takes
# is not counted); waits for that line up to 5 s.
loaded_after() {
	_n=0
	until _l=$(grep " lineage $2: loaded " "$WORK/gpd$1.log" | tail -n 1) && [ -n "$_l" ]; do
		_n=$((_n + 1))
		[ $_n -lt 100 ] || { tail -n 30 "$WORK/gpd$1.log" >&2; fail "node $1 did not load lineage $2"; }
		sleep 0.05
	done
	WAITED=$(($(date -d "${_l%% *}" +%s%3N) - $3))
}

# commit times: a watch on the pairs prints the time each PUT reaches it
# (etcdctl's own watch, apart from goproxyd's); commit_ms N: the N-th
mkfifo "$WORK/watch.fifo"
(ETCDCTL_API=3 exec etcdctl --endpoints="$ETCD_ENDPOINTS" watch --prefix /fleet/pairs/) \
	>"$WORK/watch.fifo" 2>"$WORK/watch.err" &
ACME_PIDS="$ACME_PIDS $!"
while IFS= read -r _line; do
	[ "$_line" != PUT ] || date +%s%3N
done <"$WORK/watch.fifo" >"$WORK/commits" &
ACME_PIDS="$ACME_PIDS $!"
commit_ms() {
	_n=0
	until [ "$(grep -c . "$WORK/commits")" -ge "$1" ]; do
		_n=$((_n + 1))
		[ $_n -lt 50 ] || fail "the watch on /fleet/pairs/ saw no commit number $1"
		sleep 0.1
	done
	sed -n "${1}p" "$WORK/commits"
}

[ -z "$(etcdctl_run get --prefix /fleet --keys-only)" ] || fail "the prefix is not empty at the start"

echo "== three nodes on an empty prefix"
for i in 1 2 3; do node_start $i; done
sleep 1
for i in 1 2 3; do
	eval "p=\$GPD_$i"
	kill -0 "$p" 2>/dev/null || { cat "$WORK/gpd$i.log" >&2; fail "node $i is not running after 1 s on an empty prefix"; }
	[ "$(grep -c 'no certificate yet' "$WORK/gpd$i.log")" = 1 ] ||
		{ cat "$WORK/gpd$i.log" >&2; fail "node $i does not say once that it has no certificate yet"; }
	grep -qF -- "goproxy-cert issue --store $S -D NAME --http-dir" "$WORK/gpd$i.log" ||
		{ cat "$WORK/gpd$i.log" >&2; fail "node $i: no hint naming 'goproxy-cert issue --store $S -D NAME --http-dir'"; }
done
presence_wait 3
out=$(timeout 10 gnutls-cli --insecure --sni-hostname first.example.test -p "$TLSP" 127.0.2.1 </dev/null 2>&1 || :)
case $out in *"Received alert [112]"*) ;; *) echo "$out" >&2; fail "node 2: no unrecognized_name alert before the first pair" ;; esac
echo "node 1: $(grep 'no certificate yet' "$WORK/gpd1.log" | cut -c 1-300)"

echo "== the first issue --store ... --http-dir, validated at node 2"
pebble_add_a first.example.test 127.0.2.1
fissue -D first.example.test --http-dir
expect_rc 0
t1=$(commit_ms 1)
grep -q 'http-01: answered token' "$WORK/gpd2.log" ||
	{ tail -n 20 "$WORK"/gpd*.log >&2; fail "pebble's http-01 validation did not reach node 2"; }
want=$(stored_serial default)
for i in 1 2 3; do
	loaded_after $i default "$t1"
	echo "node $i loaded the first pair $WAITED ms after the commit"
	[ "$WAITED" -lt 1000 ] || fail "node $i loaded the first pair $WAITED ms after the commit (over 1 s)"
	node_serves $i first.example.test "$want" "(the first pair)"
done

echo "== a second lineage: tls-alpn-01 through the fleet (no solver named), validated at node 3"
pebble_add_a second.example.test 127.0.3.1
fissue -n second -D second.example.test --challenge tls-alpn-01
expect_rc 0
t1=$(commit_ms 2)
grep -q 'tls-alpn-01: served the challenge certificate for second.example.test' "$WORK/gpd3.log" ||
	{ tail -n 20 "$WORK"/gpd*.log >&2; fail "pebble's tls-alpn-01 validation did not reach node 3"; }
want2=$(stored_serial second)
for i in 1 2 3; do
	loaded_after $i second "$t1"
	echo "node $i loaded the second pair $WAITED ms after the commit"
	[ "$WAITED" -lt 1000 ] || fail "node $i loaded the second pair $WAITED ms after the commit (over 1 s)"
	node_serves $i second.example.test "$want2" "(the second pair)"
	[ "$(served_serial "127.0.$i.1" first.example.test)" = "$want" ] || fail "node $i no longer serves the first pair"
done
for i in 1 2 3; do
	! grep -q SIGHUP "$WORK/gpd$i.log" || fail "node $i got a SIGHUP"
	eval "p=\$GPD_$i"
	kill -0 "$p" || fail "node $i died"
done
echo PASS

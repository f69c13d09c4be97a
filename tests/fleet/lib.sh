# lib.sh: a fleet for one test (source after `set -eu`): pebble, a 3-member
# etcd cluster, a seal key, goproxyd nodes on 127.0.N.1.
#
#   . "$TESTS_DIR/fleet/lib.sh"
#   fleet_init [pebble_start flags]     WORK, pebble (seen without ARI:
#                                       acme_no_ari), etcd, $S (store URL),
#                                       $STORE (--store + --store-seal), $CA
#   fissue ARGS...        gpc issue with $STORE and $CA
#   node_start I          goproxyd on 127.0.I.1 ($TLSP, http-01 on pebble's port,
#                         its cache of the store in $WORK/cacheI)
#   node_wait I NAME      until node I serves NAME (5 s)
#   node_serves I NAME SERIAL [WHY]   until node I serves that certificate for
#                         NAME (3 s), else fail (WHY says what was expected)
#   presence_wait N [WHY] until N goproxyd presences are in the store (20 s:
#                         a lease grant is a consensus write), else fail
#   stored_serial L       serial of lineage L's certificate in etcd
#   served_serial ADDR NAME   serial served at ADDR:$TLSP for NAME
#   due_clock L...        a GOPROXY_CERT_NOW at which these pairs are due and
#                         pairs issued 10 s later are not (prints it)
. "$TESTS_DIR/acme/common.sh"
. "$TESTS_DIR/lib/etcd.sh"

fleet_init() {
	[ -x "${GOPROXYD:-}" ] || { echo "SKIP: GOPROXYD not set" >&2; exit 77; }
	command -v jq >/dev/null 2>&1 || { echo "SKIP: jq not installed" >&2; exit 77; }
	command -v etcdctl >/dev/null 2>&1 || { echo "SKIP: etcdctl not installed" >&2; exit 77; }
	acme_init "$@"
	# The fleet's 600-s test certificates are renewed by the lifetime rule:
	# pebble 2.10's ARI window for them spans their whole life (a random
	# renewal time), so the fleet talks to pebble through a relay without ARI.
	acme_no_ari
	# set +e: under set -e the (exit $rc) of a failed run would end the trap
	# before acme_cleanup, leaving goproxyd, pebble and $WORK behind
	trap 'rc=$?; set +e; etcd_stop; (exit $rc); acme_cleanup' EXIT
	etcd_start
	S="etcd://$(echo "$ETCD_ENDPOINTS" | sed 's|http://||g')/fleet"
	SEAL=$WORK/seal.key
	STORE="--store $S --store-seal $SEAL"
	CA="--server $PEBBLE_DIR_URL --ca-bundle $PEBBLE_CA_BUNDLE"
	gpc store seal-key "$SEAL"
	expect_rc 0
	TLSP=$("$FREEPORT")
	CLOSED=$("$FREEPORT")
}

fissue() {
	gpc issue $STORE $CA "$@"
}

node_start() {
	"$GOPROXYD" $STORE --store-cache "$WORK/cache$1" -l "127.0.$1.1:$TLSP" -b "127.0.0.1:$CLOSED" \
		--http "127.0.$1.1:$PEBBLE_HTTP_PORT" >>"$WORK/gpd$1.log" 2>&1 &
	eval "GPD_$1=\$!"
	ACME_PIDS="$ACME_PIDS $!"
}

presence_wait() {
	_n=0
	until [ "$(etcdctl_run get --prefix /fleet/presence/goproxyd/ --keys-only | grep -c .)" = "$1" ]; do
		_n=$((_n + 1))
		[ $_n -lt 200 ] || { tail -n 20 "$WORK"/gpd*.log >&2; fail "${2:-the nodes' presence is not in the store}"; }
		sleep 0.1
	done
}

stored_serial() {
	etcdctl_run get "/fleet/pairs/$1" --print-value-only | jq -r .cert | openssl x509 -noout -serial
}

served_serial() {
	echo | timeout 5 openssl s_client -connect "$1:$TLSP" -servername "$2" 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null || :
}

node_wait() {
	_n=0
	until [ -n "$(served_serial "127.0.$1.1" "$2")" ]; do
		_n=$((_n + 1))
		[ $_n -lt 50 ] || { cat "$WORK/gpd$1.log" >&2; fail "node $1 does not serve $2"; }
		sleep 0.1
	done
}

node_serves() {
	_n=0
	until [ "$(served_serial "127.0.$1.1" "$2")" = "$3" ]; do
		_n=$((_n + 1))
		[ $_n -lt 30 ] || fail "node $1 does not serve $3 for $2 ${4:-}"
		sleep 0.1
	done
}

due_clock() {
	_na=0 _life=0
	for _l in "$@"; do
		etcdctl_run get "/fleet/pairs/$_l" --print-value-only | jq -r .cert >"$WORK/$_l.old.pem"
		_a=$(date -d "$(openssl x509 -in "$WORK/$_l.old.pem" -noout -enddate | cut -d= -f2)" +%s)
		_b=$(date -d "$(openssl x509 -in "$WORK/$_l.old.pem" -noout -startdate | cut -d= -f2)" +%s)
		[ "$_a" -gt "$_na" ] && _na=$_a
		_life=$((_a - _b))
	done
	# short-lived certificates are due with half their lifetime left
	echo $((_na - (_life + 1) / 2 + 3))
}

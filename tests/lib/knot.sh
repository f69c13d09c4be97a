# knot.sh: a knot primary that takes TSIG-signed RFC 2136 updates and a
# secondary that follows it by zone transfer without NOTIFY, each on its own
# loopback address at port 53, so that the zone's NS records say where its
# servers are the way real ones do. Source it (POSIX sh, works under set -eu):
#
#   . "$TESTS_DIR/lib/knot.sh"
#   knot_start [--lag SECONDS | --refresh SECONDS] ZONE...
#   trap '...; knot_stop' EXIT
#
# The secondary lags: with --lag N (default 3) a watcher started here asks it
# to refresh N seconds after it fell behind the primary's serial, and again
# each second until it has caught up (so a record written while the two are
# in step is never on the secondary sooner than N s after it was written: a
# test that skips the propagation check fails for sure; one written while it
# is already behind comes with the pending refresh); knot_lag N changes N later.
# With --refresh N the secondary follows the SOA refresh timer alone (N s, a
# lag between 0 and N s, as in real setups; used by the benchmark).
#
# Each ZONE gets: SOA, NS ns1.ZONE + ns2.ZONE, A records for them (the
# primary and the secondary), and "www.ZONE A 127.0.0.1".
#
# Exports after knot_start:
#   KNOT_PRIMARY, KNOT_SECONDARY   the two addresses (port 53)
#   KNOT_KEY_NAME, KNOT_KEY_SECRET a TSIG key (hmac-sha256) the primary accepts
#                                  for updates of every zone
#   KNOT_WORK                      the temp dir (logs: primary.log, secondary.log)
# Helpers: knot_txt ADDR NAME (the TXT values a server has, sorted, one a
# line), knot_update CMDS (knsupdate with the key against the primary),
# knot_wait_secondary NAME VALUE [SECONDS], knot_logs, knot_stop.
#
# Skips the test (exit 77) when knotd, knotc, kdig or knsupdate is missing or
# when port 53 cannot be bound (not root).

KNOT_WORK=
_KNOT_PIDS=
_KNOT_LAGGER=

_knot_need() {
	for _t in knotd knotc kdig knsupdate keymgr; do
		if ! command -v "$_t" >/dev/null 2>&1; then
			echo "SKIP: $_t not installed (apt-get install knot knot-dnsutils)" >&2
			exit 77
		fi
	done
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: knot on port 53 needs root" >&2
		exit 77
	fi
}

# Two loopback addresses 127.R.1.1 and 127.R.2.1 with nothing on port 53.
_knot_addrs() {
	_used=$(ss -Hlun 2>/dev/null | awk '{print $4}')
	_n=0
	while [ $_n -lt 50 ]; do
		_r=$(( ($$ + _n * 37 + $(date +%N | sed 's/^0*//;s/^$/0/') % 200) % 230 + 16 ))
		case $_used in
		*"127.$_r.1.1:53"* | *"127.$_r.2.1:53"*) _n=$((_n + 1)); continue ;;
		esac
		KNOT_PRIMARY=127.$_r.1.1 KNOT_SECONDARY=127.$_r.2.1
		return 0
	done
	return 1
}

_knot_zonefile() {
	# $1 zone, $2 refresh
	cat <<EOF
\$ORIGIN $1.
\$TTL 60
@	SOA	ns1 hostmaster 1 $2 2 86400 1
@	NS	ns1
@	NS	ns2
ns1	A	$KNOT_PRIMARY
ns2	A	$KNOT_SECONDARY
www	A	127.0.0.1
EOF
}

_knot_conf() {
	# $1 role (primary|secondary), zones follow
	_role=$1
	shift
	_d=$KNOT_WORK/$_role
	mkdir -p "$_d/run" "$_d/db" "$_d/zones"
	if [ "$_role" = primary ]; then _me=$KNOT_PRIMARY; else _me=$KNOT_SECONDARY; fi
	cat <<EOF
server:
    rundir: "$_d/run"
    user: root:root
    listen: $_me@53
    background-workers: 1
    udp-workers: 1
    tcp-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "$_d/db"
control:
    listen: "$_d/run/knot.sock"
key:
  - id: $KNOT_KEY_NAME
    algorithm: hmac-sha256
    secret: $KNOT_KEY_SECRET
EOF
	if [ "$_role" = primary ]; then
		cat <<EOF
acl:
  - id: update
    key: $KNOT_KEY_NAME
    action: update
  - id: transfer
    address: $KNOT_SECONDARY
    action: transfer
template:
  - id: default
    storage: "$_d/zones"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    serial-policy: increment
    acl: [update, transfer]
zone:
EOF
	else
		cat <<EOF
remote:
  - id: primary
    address: $KNOT_PRIMARY@53
    via: $KNOT_SECONDARY
template:
  - id: default
    storage: "$_d/zones"
    zonefile-sync: -1
    journal-content: changes
    master: primary
    refresh-min-interval: 2
zone:
EOF
	fi
	for _z in "$@"; do
		printf '  - domain: %s\n' "$_z"
	done
}

knot_start() {
	_knot_need
	_lag=3 _refresh=
	while [ $# -gt 0 ]; do
		case $1 in
		--lag) _lag=$2; shift ;;
		--refresh) _refresh=$2; _lag=; shift ;;
		--*) echo "knot_start: unknown option $1" >&2; return 64 ;;
		*) break ;;
		esac
		shift
	done
	[ $# -gt 0 ] || { echo "knot_start: no zones" >&2; return 64; }
	KNOT_ZONES="$*"
	KNOT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/knot.XXXXXX")
	_knot_addrs || { echo "knot_start: no free loopback address" >&2; return 1; }
	KNOT_KEY_NAME=gpc-test.key
	KNOT_KEY_SECRET=$(keymgr -t "$KNOT_KEY_NAME" hmac-sha256 | sed -n 's/^ *secret: //p')
	export KNOT_PRIMARY KNOT_SECONDARY KNOT_KEY_NAME KNOT_KEY_SECRET KNOT_WORK KNOT_ZONES
	_knot_conf primary "$@" >"$KNOT_WORK/primary.conf"
	_knot_conf secondary "$@" >"$KNOT_WORK/secondary.conf"
	for _z in "$@"; do
		_knot_zonefile "$_z" "${_refresh:-3600}" >"$KNOT_WORK/primary/zones/$_z.zone"
	done
	echo "${_lag:-0}" >"$KNOT_WORK/lag"
	knotd -c "$KNOT_WORK/primary.conf" >"$KNOT_WORK/primary.log" 2>&1 &
	_KNOT_PIDS=$!
	# The primary first: a secondary whose first transfer fails waits a
	# while before the next try.
	_knot_wait_soa "$KNOT_PRIMARY" "$@" || { echo "knot_start: the primary did not start" >&2; knot_logs; return 1; }
	knotd -c "$KNOT_WORK/secondary.conf" >"$KNOT_WORK/secondary.log" 2>&1 &
	_KNOT_PIDS="$_KNOT_PIDS $!"
	_knot_wait_soa "$KNOT_SECONDARY" "$@" || { echo "knot_start: the secondary did not load the zones" >&2; knot_logs; return 1; }
	if [ -n "$_lag" ]; then
		_knot_lagger "$@" >>"$KNOT_WORK/lagger.log" 2>&1 &
		_KNOT_LAGGER=$!
	fi
	return 0
}

# Wait (at most 15 s) until ADDR answers SOA for every zone.
_knot_wait_soa() {
	_a=$1
	shift
	_i=0
	for _z in "$@"; do
		while ! kdig +norec +short +time=1 +retry=0 "@$_a" "$_z" SOA 2>/dev/null | grep -q .; do
			_i=$((_i + 1))
			[ $_i -le 150 ] || return 1
			sleep 0.1
		done
	done
}

# The secondary refreshes $(cat lag) seconds after its serials first fell
# behind the primary's, and again each second until they match: a refresh
# that knot drops or that fails is retried (one lost refresh once left the
# secondary behind for two minutes). A round where a server does not answer
# for every zone changes nothing.
_knot_lagger() {
	_since="" _tried=0
	while :; do
		_p=$(_knot_serials "$KNOT_PRIMARY" "$@") _s=$(_knot_serials "$KNOT_SECONDARY" "$@")
		if [ "$(echo "$_p" | wc -w)" != $# ] || [ "$(echo "$_s" | wc -w)" != $# ]; then
			:
		elif [ "$_p" = "$_s" ]; then
			[ -z "$_since" ] || echo "$(date +%T.%N) in step at serials $_p"
			_since=
		else
			_now=$(date +%s%3N)
			[ -n "$_since" ] || _since=$_now
			if [ $((_now - _since)) -ge $(($(cat "$KNOT_WORK/lag") * 1000)) ] && [ $((_now - _tried)) -ge 1000 ]; then
				for _z in "$@"; do
					knotc -s "$KNOT_WORK/secondary/run/knot.sock" zone-refresh "$_z" >/dev/null 2>&1 ||
						echo "$(date +%T.%N) knotc zone-refresh $_z failed"
				done
				echo "$(date +%T.%N) refresh: primary $_p, secondary $_s"
				_tried=$_now
			fi
		fi
		sleep 0.2
	done
}

# The SOA serials ADDR serves for each ZONE, in order, on one line.
_knot_serials() {
	_a=$1
	shift
	_q=
	for _z in "$@"; do _q="$_q $_z SOA"; done
	# shellcheck disable=SC2086
	kdig +norec +short +time=1 +retry=0 "@$_a" $_q 2>/dev/null | awk '{printf "%s ", $3}'
}

knot_lag() {
	echo "$1" >"$KNOT_WORK/lag"
}

# The TXT values ADDR serves for NAME, unquoted, sorted, one a line.
knot_txt() {
	kdig +norec +short +time=1 +retry=1 "@$1" "$2" TXT 2>/dev/null | sed 's/^"//;s/"$//' | sort
}

# knsupdate with the TSIG key against the primary; commands on stdin or as $1.
knot_update() {
	{
		echo "server $KNOT_PRIMARY 53"
		if [ $# -gt 0 ]; then printf '%s\n' "$1"; else cat; fi
		echo send
	} | knsupdate -y "hmac-sha256:$KNOT_KEY_NAME:$KNOT_KEY_SECRET"
}

# Wait until the secondary serves VALUE at NAME (default 20 s).
knot_wait_secondary() {
	_i=0
	while ! knot_txt "$KNOT_SECONDARY" "$1" | grep -qxF -- "$2"; do
		_i=$((_i + 1))
		[ $_i -lt $((${3:-20} * 5)) ] || return 1
		sleep 0.2
	done
}

knot_logs() {
	for _f in primary.log secondary.log lagger.log; do
		if [ -n "$KNOT_WORK" ] && [ -f "$KNOT_WORK/$_f" ]; then
			echo "----- knot $_f (last 60 lines)" >&2
			tail -n 60 "$KNOT_WORK/$_f" >&2
		fi
	done
}

# Stop both servers and the watcher, remove the temp dir. Safe to call twice.
knot_stop() {
	if [ -n "$_KNOT_LAGGER" ]; then
		kill "$_KNOT_LAGGER" 2>/dev/null || :
		wait "$_KNOT_LAGGER" 2>/dev/null || :
	fi
	for _p in $_KNOT_PIDS; do
		kill "$_p" 2>/dev/null || :
	done
	for _p in $_KNOT_PIDS; do
		wait "$_p" 2>/dev/null || :
	done
	_KNOT_PIDS= _KNOT_LAGGER=
	if [ -n "${KNOT_WORK:-}" ] && [ -d "$KNOT_WORK" ]; then
		rm -rf "$KNOT_WORK"
	fi
	KNOT_WORK=
}

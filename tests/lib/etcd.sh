# etcd.sh: start a private etcd cluster (3 members by default) on free
# loopback ports for one test. Source it (POSIX sh, works under `set -eu`):
#
#   . "$TESTS_DIR/lib/etcd.sh"
#   etcd_start [--tls] [--members N] [--progress DURATION]
#   trap 'rc=$?; [ "$rc" = 0 ] || etcd_logs; etcd_stop; exit $rc' EXIT
#
# Options:
#   --tls            clients and peers over TLS with certificates made here
#                    (openssl), --client-cert-auth: a client needs
#                    ETCD_CLIENT_CERT/ETCD_CLIENT_KEY and ETCD_CACERT
#   --members N      cluster size (default 3)
#   --progress D     --experimental-watch-progress-notify-interval (default
#                    2s: an idle watch gets a message every 2 s); "off": none
#   --token-ttl N    --auth-token-ttl N (seconds a simple auth token lives)
#
# Exports after etcd_start:
#   ETCD_ENDPOINTS   comma list of client URLs, member 1 first
#   ETCD_WORK        the temp dir (data dirs n1.., logs n1.log..)
#   ETCD_CACERT, ETCD_CLIENT_CERT, ETCD_CLIENT_KEY   with --tls (the client
#                    certificate has no CN: with auth enabled the JSON
#                    gateway refuses one with a CN); ETCD_CN_CERT, ETCD_CN_KEY:
#                    one with a CN
#   ETCD_SCHEME      http or https
# Helpers:
#   etcd_url I            client URL of member I (1-based)
#   etcd_kill I           kill -9 member I (and reap it)
#   etcd_pids             comma list of the members' PIDs (member 1 first)
#   etcd_member_start I   start member I again on its data dir and ports
#   etcd_wait_healthy [I...]  wait until the members answer /health (all: none given)
#   etcd_leader           print the index of the current leader (etcdctl, else the gateway)
#   etcdctl_run ARGS...   etcdctl --endpoints=... (TLS and root user when set)
#   etcd_auth_enable PASSWORD   create root with PASSWORD and enable auth
#                         (later etcdctl_run calls use it)
#   etcd_add_user NAME PASSWORD PREFIX   a user with a role read+write on PREFIX only
#   etcd_logs             print every member's log (last 100 lines) to stderr
#   etcd_stop             stop every member, remove the temp dir (safe twice)
#
# Skips the test (exit 77) when etcd, curl or openssl is missing. Needs
# $FREEPORT (set by tests/meson.build) or freeport on PATH.

ETCD_WORK=
ETCD_N=0
ETCD_SCHEME=http
_ETCD_ROOTPW=

_etcd_need() {
	for _t in "$@"; do
		if ! command -v "$_t" >/dev/null 2>&1; then
			echo "SKIP: $_t not installed" >&2
			exit 77
		fi
	done
}

# A CA, one certificate for every member (server and peer: both EKUs,
# SAN 127.0.0.1 and localhost) and a client certificate.
_etcd_certs() {
	_d=$ETCD_WORK/tls
	mkdir -p "$_d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$_d/ca.key" -out "$_d/ca.pem" -days 2 \
		-subj "/CN=goproxy-cert test CA for etcd" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" >"$_d/openssl.log" 2>&1 || return 1
	for _who in member client cnclient; do
		# With auth enabled, the v3 JSON gateway answers 400 ("CommonName
		# of client sending a request against gateway will be ignored") to
		# a client certificate with a CN: the client's has none.
		_subj="/CN=etcd-test-member"
		[ "$_who" != client ] || _subj="/O=goproxy-cert etcd test client"
		[ "$_who" != cnclient ] || _subj="/CN=etcd-test-client-with-cn"
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$_d/$_who.key" -out "$_d/$_who.csr" -subj "$_subj" \
			>>"$_d/openssl.log" 2>&1 || return 1
		if [ "$_who" = member ]; then
			printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" \
				"extendedKeyUsage=serverAuth,clientAuth" >"$_d/$_who.ext"
		else
			printf '%s\n' "extendedKeyUsage=clientAuth" >"$_d/$_who.ext"
		fi
		printf '%s\n' "basicConstraints=critical,CA:FALSE" \
			"keyUsage=critical,digitalSignature" >>"$_d/$_who.ext"
		openssl x509 -req -in "$_d/$_who.csr" -CA "$_d/ca.pem" -CAkey "$_d/ca.key" \
			-CAcreateserial -days 2 -extfile "$_d/$_who.ext" -out "$_d/$_who.pem" \
			>>"$_d/openssl.log" 2>&1 || return 1
	done
	chmod 600 "$_d"/*.key
	export ETCD_CACERT="$_d/ca.pem" ETCD_CLIENT_CERT="$_d/client.pem" ETCD_CLIENT_KEY="$_d/client.key"
	export ETCD_CN_CERT="$_d/cnclient.pem" ETCD_CN_KEY="$_d/cnclient.key"
}

etcd_start() {
	_etcd_need etcd curl openssl
	_tls=0 _n=3 _progress=2s _ETCD_TOKEN_TTL=
	while [ $# -gt 0 ]; do
		case $1 in
		--tls) _tls=1 ;;
		--members) _n=$2; shift ;;
		--progress) _progress=$2; shift ;;
		--token-ttl) _ETCD_TOKEN_TTL=$2; shift ;;
		*) echo "etcd_start: unknown option $1" >&2; return 64 ;;
		esac
		shift
	done
	ETCD_WORK=$(mktemp -d "${TMPDIR:-/tmp}/etcd.XXXXXX")
	export ETCD_WORK
	ETCD_N=$_n _ETCD_PROGRESS=$_progress
	if [ "$_tls" = 1 ]; then
		ETCD_SCHEME=https
		_etcd_certs || { cat "$ETCD_WORK/tls/openssl.log" >&2; return 1; }
	fi
	export ETCD_SCHEME
	# Ports are free when picked; another process could take one before
	# etcd binds it, so try a few times with fresh ports and data dirs.
	_try=0
	while [ $_try -lt 3 ]; do
		_try=$((_try + 1))
		if _etcd_try_start; then
			return 0
		fi
		_etcd_kill_all
		for _i in $(seq 1 "$ETCD_N"); do rm -rf "$ETCD_WORK/n$_i"; done
	done
	echo "etcd_start: the cluster did not come up; logs follow" >&2
	etcd_logs
	return 1
}

_etcd_try_start() {
	# shellcheck disable=SC2046
	set -- $("${FREEPORT:-freeport}" $((ETCD_N * 2)))
	_cluster= ETCD_ENDPOINTS=
	for _i in $(seq 1 "$ETCD_N"); do
		eval "_ETCD_CPORT_$_i=\$1 _ETCD_PPORT_$_i=\$2"
		_cluster="${_cluster:+$_cluster,}n$_i=$ETCD_SCHEME://127.0.0.1:$2"
		ETCD_ENDPOINTS="${ETCD_ENDPOINTS:+$ETCD_ENDPOINTS,}$ETCD_SCHEME://127.0.0.1:$1"
		shift 2
	done
	_ETCD_CLUSTER=$_cluster
	export ETCD_ENDPOINTS
	for _i in $(seq 1 "$ETCD_N"); do
		etcd_member_start "$_i" --no-wait || return 1
	done
	etcd_wait_healthy
}

etcd_url() {
	eval "echo $ETCD_SCHEME://127.0.0.1:\$_ETCD_CPORT_$1"
}

# etcd_member_start I [--no-wait]: run member I (first start or restart).
etcd_member_start() {
	eval "_c=\$_ETCD_CPORT_$1 _p=\$_ETCD_PPORT_$1"
	set -- "$1" "${2:-}" --name "n$1" --data-dir "$ETCD_WORK/n$1" \
		--listen-client-urls "$ETCD_SCHEME://127.0.0.1:$_c" \
		--advertise-client-urls "$ETCD_SCHEME://127.0.0.1:$_c" \
		--listen-peer-urls "$ETCD_SCHEME://127.0.0.1:$_p" \
		--initial-advertise-peer-urls "$ETCD_SCHEME://127.0.0.1:$_p" \
		--initial-cluster "$_ETCD_CLUSTER" --initial-cluster-token "gpc-$$" \
		--initial-cluster-state new --logger zap --log-outputs stderr
	if [ "$_ETCD_PROGRESS" != off ]; then
		set -- "$@" --experimental-watch-progress-notify-interval "$_ETCD_PROGRESS"
	fi
	if [ -n "$_ETCD_TOKEN_TTL" ]; then
		set -- "$@" --auth-token-ttl "$_ETCD_TOKEN_TTL"
	fi
	if [ "$ETCD_SCHEME" = https ]; then
		_t=$ETCD_WORK/tls
		set -- "$@" --cert-file "$_t/member.pem" --key-file "$_t/member.key" \
			--trusted-ca-file "$_t/ca.pem" --client-cert-auth \
			--peer-cert-file "$_t/member.pem" --peer-key-file "$_t/member.key" \
			--peer-trusted-ca-file "$_t/ca.pem" --peer-client-cert-auth
	fi
	_m=$1 _nowait=$2
	shift 2
	# etcd reads ETCD_* variables as flags: run it with a clean environment
	env -i PATH="$PATH" TMPDIR="${TMPDIR:-/tmp}" etcd "$@" >>"$ETCD_WORK/n$_m.log" 2>&1 &
	eval "_ETCD_PID_$_m=$!"
	[ "$_nowait" = --no-wait ] || etcd_wait_healthy "$_m"
}

# curl to a member's gateway with the TLS files when needed.
_etcd_curl() {
	if [ "$ETCD_SCHEME" = https ]; then
		curl --cacert "$ETCD_CACERT" --cert "$ETCD_CLIENT_CERT" --key "$ETCD_CLIENT_KEY" "$@"
	else
		curl "$@"
	fi
}

# etcd_wait_healthy [I...]: up to ~20 s for /health to say true (quorum).
etcd_wait_healthy() {
	[ $# -gt 0 ] || set -- $(seq 1 "$ETCD_N")
	_w=0
	while [ $_w -lt 200 ]; do
		_ok=1
		for _i in "$@"; do
			eval "_pid=\$_ETCD_PID_$_i"
			if ! kill -0 "$_pid" 2>/dev/null; then
				echo "etcd: member $_i exited" >&2
				return 1
			fi
			_etcd_curl -fsS -m 2 "$(etcd_url "$_i")/health" 2>/dev/null | grep -q '"health":"true"' || _ok=0
		done
		[ $_ok = 0 ] || return 0
		sleep 0.1
		_w=$((_w + 1))
	done
	echo "etcd: members $* not healthy after 20 s" >&2
	return 1
}

etcd_kill() {
	eval "_pid=\$_ETCD_PID_$1"
	kill -9 "$_pid" 2>/dev/null || :
	wait "$_pid" 2>/dev/null || :
	eval "_ETCD_PID_$1="
}

etcd_pids() {
	_l=
	for _i in $(seq 1 "$ETCD_N"); do
		eval "_l=\${_l:+\$_l,}\$_ETCD_PID_$_i"
	done
	echo "$_l"
}

etcdctl_run() {
	set -- --endpoints="$ETCD_ENDPOINTS" --dial-timeout=3s --command-timeout=10s "$@"
	if [ "$ETCD_SCHEME" = https ]; then
		set -- --cacert="$ETCD_CACERT" --cert="$ETCD_CLIENT_CERT" --key="$ETCD_CLIENT_KEY" "$@"
	fi
	if [ -n "$_ETCD_ROOTPW" ]; then
		set -- --user="root:$_ETCD_ROOTPW" "$@"
	fi
	ETCDCTL_API=3 etcdctl "$@"
}

# Index of the leader member. etcdctl's endpoint status when installed,
# else each member's /v3/maintenance/status (leader == member_id).
etcd_leader() {
	if command -v etcdctl >/dev/null 2>&1 && command -v jq >/dev/null 2>&1; then
		_s=$(etcdctl_run endpoint status -w json 2>/dev/null) || _s=
		# [{"Endpoint": URL, "Status": {"header": {"member_id": N}, "leader": N}}, ...]
		_u=$(printf '%s' "$_s" | jq -r '.[] | select(.Status.header.member_id == .Status.leader) | .Endpoint' 2>/dev/null | head -n 1)
		for _i in $(seq 1 "$ETCD_N"); do
			if [ -n "$_u" ] && [ "$(etcd_url "$_i")" = "$_u" ]; then
				echo "$_i"
				return 0
			fi
		done
	fi
	for _i in $(seq 1 "$ETCD_N"); do
		eval "_pid=\$_ETCD_PID_$_i"
		[ -n "$_pid" ] || continue
		_s=$(_etcd_curl -sS -m 3 -X POST -d '{}' "$(etcd_url "$_i")/v3/maintenance/status" 2>/dev/null) || continue
		_mid=$(printf '%s' "$_s" | sed -n 's/.*"member_id":"\([0-9]*\)".*/\1/p')
		_lid=$(printf '%s' "$_s" | sed -n 's/.*"leader":"\([0-9]*\)".*/\1/p')
		if [ -n "$_mid" ] && [ "$_mid" = "$_lid" ]; then
			echo "$_i"
			return 0
		fi
	done
	return 1
}

etcd_auth_enable() {
	etcdctl_run user add "root:$1" >/dev/null
	etcdctl_run user grant-role root root >/dev/null
	etcdctl_run auth enable >/dev/null
	_ETCD_ROOTPW=$1
}

etcd_add_user() {
	etcdctl_run role add "$1-role" >/dev/null
	etcdctl_run role grant-permission "$1-role" --prefix=true readwrite "$3" >/dev/null
	etcdctl_run user add "$1:$2" >/dev/null
	etcdctl_run user grant-role "$1" "$1-role" >/dev/null
}

_etcd_kill_all() {
	for _i in $(seq 1 "$ETCD_N"); do
		eval "_pid=\${_ETCD_PID_$_i:-}"
		[ -z "$_pid" ] || kill -CONT "$_pid" 2>/dev/null || :
		[ -z "$_pid" ] || kill "$_pid" 2>/dev/null || :
	done
	# a member may take a while to hand leadership over: 3 s, then SIGKILL
	for _i in $(seq 1 "$ETCD_N"); do
		eval "_pid=\${_ETCD_PID_$_i:-}"
		[ -n "$_pid" ] || continue
		_w=0
		while [ $_w -lt 30 ] && kill -0 "$_pid" 2>/dev/null; do
			sleep 0.1
			_w=$((_w + 1))
		done
		kill -9 "$_pid" 2>/dev/null || :
		wait "$_pid" 2>/dev/null || :
		eval "_ETCD_PID_$_i="
	done
}

etcd_stop() {
	_etcd_kill_all
	if [ -n "${ETCD_WORK:-}" ] && [ -d "$ETCD_WORK" ]; then
		rm -rf "$ETCD_WORK"
	fi
	ETCD_WORK=
}

etcd_logs() {
	for _i in $(seq 1 "$ETCD_N"); do
		_f=${ETCD_WORK:-/nonexistent}/n$_i.log
		if [ -f "$_f" ]; then
			echo "----- etcd member $_i: $_f (last 100 lines)" >&2
			tail -n 100 "$_f" >&2
		fi
	done
}

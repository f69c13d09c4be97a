# Shared by the goproxyd tests (sourced). Real parts only: nginx and
# gpd-tool as backends, curl / openssl s_client / gnutls-cli as clients,
# certificates generated at test time, free ports picked at test time.
set -eu

: "${GOPROXYD:?}" "${GPD_TOOL:?}" "${FREEPORT:?}"

for tool in openssl curl nginx gnutls-cli; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool not installed"
		exit 77
	fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/gpd-test.XXXXXX")
PIDS=""
GPD_PID=""
CERTS="$T/certs"
mkdir -p "$CERTS"

EXTRA_CLEANUP=":"
cleanup() {
	rc=$?
	eval "$EXTRA_CLEANUP" || true
	for p in $GPD_PID $PIDS; do
		kill "$p" 2>/dev/null || true
	done
	for p in $GPD_PID $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	# a sanitized build reports into goproxyd's log: that is a failure too
	if grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T"/*.log 2>/dev/null; then
		echo "FAIL: sanitizer report in the logs above" >&2
		[ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] || rc=1
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $f"
			tail -n 60 "$f"
		done
	fi
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	echo "ok - $*"
}

freeport() {
	"$FREEPORT" "${1:-1}"
}

# mkpair DIR CN [SAN...]: a self-signed P-256 pair written like goproxy-cert
# does (key renamed in first, then the certificate).
mkpair() {
	dir=$1 cn=$2
	shift 2
	sans="DNS:$cn"
	for s in "$@"; do sans="$sans,DNS:$s"; done
	mkdir -p "$dir" "$T/tmp"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/tmp/k.pem" -out "$T/tmp/c.pem" -days 30 -subj "/CN=$cn" \
		-addext "subjectAltName=$sans" >/dev/null 2>&1 || fail "openssl req $cn"
	chmod 600 "$T/tmp/k.pem"
	mv "$T/tmp/k.pem" "$dir/priv.key"
	mv "$T/tmp/c.pem" "$dir/cert.crt"
}

# start_nginx: NGX_PORT answers "hello HOST"; NGX_PP_PORT expects the PROXY
# protocol and answers "pp ADDR PORT" ($proxy_protocol_addr/_port).
start_nginx() {
	set -- $(freeport 2)
	NGX_PORT=$1 NGX_PP_PORT=$2
	mkdir -p "$T/nginx/tmp" "$T/nginx/files"
	cat >"$T/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log stderr warn;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $T/nginx/tmp;
	proxy_temp_path $T/nginx/tmp;
	fastcgi_temp_path $T/nginx/tmp;
	uwsgi_temp_path $T/nginx/tmp;
	scgi_temp_path $T/nginx/tmp;
	server {
		listen 127.0.0.1:$NGX_PORT;
		location /files/ { root $T/nginx; }
		location / { return 200 "hello \$host\n"; }
	}
	server {
		listen 127.0.0.1:$NGX_PP_PORT proxy_protocol;
		location / { return 200 "pp \$proxy_protocol_addr \$proxy_protocol_port\n"; }
	}
}
EOF
	nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" -e stderr >"$T/nginx.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_port "$NGX_PORT"
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (bounded).
wait_port() {
	i=0
	while ! (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || fail "nothing listens on port $1"
		sleep 0.1
	done
}

# start_gpd ARGS...: goproxyd in the background (log $T/gpd.log), waits until
# it says it listens. Sets GPD_PID.
start_gpd() {
	: >"$T/gpd.log"
	"$GOPROXYD" "$@" >>"$T/gpd.log" 2>&1 &
	GPD_PID=$!
	i=0
	while ! grep -q "listening on" "$T/gpd.log"; do
		kill -0 "$GPD_PID" 2>/dev/null || fail "goproxyd exited at start-up"
		i=$((i + 1))
		[ "$i" -lt 200 ] || fail "goproxyd did not start"
		sleep 0.05
	done
}

stop_gpd() {
	[ -n "$GPD_PID" ] || return 0
	kill -TERM "$GPD_PID" 2>/dev/null || true
	wait "$GPD_PID" 2>/dev/null || true
	GPD_PID=""
}

# subject PORT [SNI]: the CN of the certificate goproxyd presents.
subject() {
	if [ -n "${2:-}" ]; then
		set -- "$1" -servername "$2"
	else
		set -- "$1" -noservername
	fi
	port=$1
	shift
	openssl s_client -connect "127.0.0.1:$port" "$@" </dev/null 2>/dev/null |
		openssl x509 -noout -subject -nameopt multiline 2>/dev/null |
		sed -n 's/^ *commonName *= *//p'
}

# fetch PORT NAME [curl args]: body of https://NAME:PORT/ via 127.0.0.1.
fetch() {
	port=$1 name=$2
	shift 2
	curl -sS -k --max-time 10 --resolve "$name:$port:127.0.0.1" "$@" "https://$name:$port/"
}

# poll N CMD...: run CMD up to N times, 0.1 s apart, until it succeeds.
poll() {
	n=$1
	shift
	i=0
	while ! "$@"; do
		i=$((i + 1))
		[ "$i" -lt "$n" ] || return 1
		sleep 0.1
	done
}

# gpc_issue ARGS...: goproxy-cert issue -d $CERTS against the test's pebble
# (tests/lib/pebble.sh started); fails the test, with its output, unless 0.
gpc_issue() {
	set +e
	"$GOPROXY_CERT" issue -d "$CERTS" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
		"$@" >"$T/issue.log" 2>&1
	rc=$?
	set -e
	[ "$rc" -eq 0 ] || { cat "$T/issue.log"; fail "goproxy-cert issue $*: exit $rc"; }
}

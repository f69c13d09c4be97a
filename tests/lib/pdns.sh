# pdns.sh: a PowerDNS authoritative server (sqlite3 backend) with its HTTP
# API on loopback, serving zones on its own loopback address at port 53 so
# the zones' NS records point at it. Source it (POSIX sh, set -eu):
#
#   . "$TESTS_DIR/lib/pdns.sh"
#   pdns_start ZONE...      creates the zones through the API
#   trap '...; pdns_stop' EXIT
#
# Exports: PDNS_ADDR (port 53), PDNS_API_URL (http://127.0.0.1:PORT),
# PDNS_API_KEY, PDNS_WORK. Helpers: pdns_txt NAME (sorted values),
# pdns_logs, pdns_stop. Skips (77) without pdns_server, its sqlite3 backend
# or root.

PDNS_WORK=
_PDNS_PID=

pdns_start() {
	for _t in pdns_server sqlite3 kdig curl; do
		command -v "$_t" >/dev/null 2>&1 || { echo "SKIP: $_t not installed" >&2; exit 77; }
	done
	_schema=/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
	[ -f "$_schema" ] || { echo "SKIP: pdns-backend-sqlite3 not installed" >&2; exit 77; }
	[ "$(id -u)" = 0 ] || { echo "SKIP: pdns on port 53 needs root" >&2; exit 77; }
	PDNS_WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdns.XXXXXX")
	_used=$(ss -Hlun 2>/dev/null | awk '{print $4}')
	_n=0
	while :; do
		_r=$(( ($$ + _n * 41 + $(date +%N | sed 's/^0*//;s/^$/0/') % 200) % 230 + 16 ))
		case $_used in *"127.$_r.3.1:53"*) _n=$((_n + 1)); [ $_n -lt 50 ] || return 1; continue ;; esac
		break
	done
	PDNS_ADDR=127.$_r.3.1
	_port=$("${FREEPORT:-freeport}" 1)
	PDNS_API_URL=http://127.0.0.1:$_port
	PDNS_API_KEY=pdns-test-key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	export PDNS_WORK PDNS_ADDR PDNS_API_URL PDNS_API_KEY
	sqlite3 "$PDNS_WORK/pdns.sqlite3" <"$_schema"
	cat >"$PDNS_WORK/pdns.conf" <<EOC
launch=gsqlite3
gsqlite3-database=$PDNS_WORK/pdns.sqlite3
local-address=$PDNS_ADDR
local-port=53
api=yes
api-key=$PDNS_API_KEY
webserver=yes
webserver-address=127.0.0.1
webserver-port=$_port
webserver-allow-from=127.0.0.1
socket-dir=$PDNS_WORK
daemon=no
guardian=no
security-poll-suffix=
cache-ttl=0
negquery-cache-ttl=0
query-cache-ttl=0
zone-cache-refresh-interval=0
loglevel=4
EOC
	pdns_server --config-dir="$PDNS_WORK" >"$PDNS_WORK/pdns.log" 2>&1 &
	_PDNS_PID=$!
	_i=0
	until curl -fsS -o /dev/null -H "X-API-Key: $PDNS_API_KEY" "$PDNS_API_URL/api/v1/servers/localhost" 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -gt 150 ] || ! kill -0 "$_PDNS_PID" 2>/dev/null; then
			echo "pdns_start: pdns_server did not come up" >&2
			pdns_logs
			return 1
		fi
		sleep 0.1
	done
	for _z in "$@"; do
		curl -fsS -o /dev/null -H "X-API-Key: $PDNS_API_KEY" -X POST \
			-d "{\"name\":\"$_z.\",\"kind\":\"Native\",\"nameservers\":[\"ns1.$_z.\"],\"rrsets\":[{\"name\":\"ns1.$_z.\",\"type\":\"A\",\"ttl\":60,\"records\":[{\"content\":\"$PDNS_ADDR\",\"disabled\":false}]}]}" \
			"$PDNS_API_URL/api/v1/servers/localhost/zones" || { pdns_logs; return 1; }
	done
}

pdns_txt() {
	kdig +norec +short +time=1 +retry=1 "@$PDNS_ADDR" "$1" TXT 2>/dev/null | sed 's/^"//;s/"$//' | sort
}

pdns_logs() {
	if [ -n "${PDNS_WORK:-}" ] && [ -f "$PDNS_WORK/pdns.log" ]; then
		echo "----- pdns.log (last 40 lines)" >&2
		tail -n 40 "$PDNS_WORK/pdns.log" >&2
	fi
}

pdns_stop() {
	if [ -n "$_PDNS_PID" ]; then
		kill "$_PDNS_PID" 2>/dev/null || :
		wait "$_PDNS_PID" 2>/dev/null || :
	fi
	_PDNS_PID=
	if [ -n "${PDNS_WORK:-}" ] && [ -d "$PDNS_WORK" ]; then
		rm -rf "$PDNS_WORK"
	fi
	PDNS_WORK=
}

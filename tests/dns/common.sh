# common.sh: helpers for the dns suite (source after `set -eu`).
#
#   . "$TESTS_DIR/dns/common.sh"
#   dns_init             WORK=$(mktemp -d), cleanup trap (calls knot_stop, pdns_stop,
#                        pebble_stop and stops what bg_start started)
#   tool ARGS...         run dnstool: stdout -> $WORK/out, stderr -> $WORK/err, exit -> $RC
#   expect_rc N, expect_out RE, expect_err RE, expect_no SECRET, fail MSG
#   api_start NAME ARGS  start tests/dns/NAME-api.py on a free port: $API_URL, $API_LOG

. "$TESTS_DIR/lib/knot.sh"
. "$TESTS_DIR/lib/pdns.sh"
. "$TESTS_DIR/lib/pebble.sh"
. "$TESTS_DIR/lib/run.sh"

DNS_PIDS=

dns_cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		echo "----- command log" >&2
		tail -n 80 "$WORK/log" >&2 2>/dev/null || :
		knot_logs 2>/dev/null || :
		pdns_logs 2>/dev/null || :
		[ -z "${API_LOG:-}" ] || { echo "----- $API_LOG" >&2; tail -n 40 "$API_LOG" >&2; }
		[ -z "${PEBBLE_WORK:-}" ] || pebble_logs 2>/dev/null || :
	fi
	for _p in $DNS_PIDS; do kill "$_p" 2>/dev/null || :; done
	for _p in $DNS_PIDS; do wait "$_p" 2>/dev/null || :; done
	knot_stop
	pdns_stop
	pebble_stop
	rm -rf "$WORK"
	exit "$rc"
}

dns_init() {
	[ -x "${DNSTOOL:-}" ] || { echo "SKIP: DNSTOOL not set" >&2; exit 77; }
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/dns.XXXXXX")
	chmod 755 "$WORK"
	: >"$WORK/log"
	trap dns_cleanup EXIT
	trap 'exit 130' INT TERM
	unset GOPROXY_CERT_SERVER GOPROXY_CERT_CA_BUNDLE GOPROXY_CERTS_DIR GOPROXY_CERT_NOW || :
	export GOPROXY_CERT_EMAIL=
}

tool() { run_logged dnstool "$DNSTOOL" "$@"; }
gpc() { run_logged goproxy-cert "$GOPROXY_CERT" "$@"; }
issue() {
	gpc issue -d "$CERTS" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" "$@"
}

# A secret must not appear in the last output, nor anywhere under a directory.
expect_no() {
	! grep -qF -- "$1" "$WORK/out" "$WORK/err" || fail "the secret appears in the output"
}

bg_start() {
	"$@" &
	DNS_PIDS="$DNS_PIDS $!"
}

# api_start NAME [ARGS]: python3 tests/dns/NAME-api.py --port P ARGS; waits until it answers.
api_start() {
	_name=$1
	shift
	API_PORT=$("$FREEPORT" 1)
	API_URL=http://127.0.0.1:$API_PORT
	API_LOG=$WORK/$_name-api.log
	bg_start python3 "$TESTS_DIR/dns/$_name-api.py" --port "$API_PORT" "$@" >"$API_LOG" 2>&1
	_i=0
	until curl -s -o /dev/null "$API_URL/"; do
		_i=$((_i + 1))
		[ $_i -lt 100 ] || fail "$_name API did not start"
		sleep 0.1
	done
	export API_URL API_LOG
}

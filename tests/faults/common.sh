# common.sh: helpers for the fault tests (source it after `set -eu`).
#
#   . "$TESTS_DIR/faults/common.sh"
#   faults_init                 # WORK=$(mktemp -d), cleanup trap, logs on failure
#   pebble_start ...            # from tests/lib/pebble.sh
#   relay_start [relay.py flags]   # exports RELAY_URL (directory via the relay),
#                                  # RELAY_LOG (one "METHOD PATH STATUS" per request)
#   relay_count PATTERN         # requests in RELAY_LOG matching a grep -E pattern
#   need_cli SUBCOMMAND         # skip (77) if goproxy-cert SUBCOMMAND is still a placeholder
#   fail MSG                    # print MSG and exit 1 (logs are printed by the trap)
#
# Everything runs in $WORK; background processes are stopped by the trap.

. "$TESTS_DIR/lib/pebble.sh"

RELAY_PID=
FAULTS_PIDS=

faults_cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		faults_logs
	fi
	for _p in $FAULTS_PIDS $RELAY_PID; do
		kill "$_p" 2>/dev/null || :
	done
	for _p in $FAULTS_PIDS $RELAY_PID; do
		wait "$_p" 2>/dev/null || :
	done
	pebble_stop
	if [ -n "${FAULTS_MOUNTS:-}" ]; then
		for _m in $FAULTS_MOUNTS; do umount -l "$_m" 2>/dev/null || :; done
	fi
	rm -rf "$WORK"
	exit "$rc"
}

faults_logs() {
	if [ -n "${RELAY_LOG:-}" ] && [ -f "$RELAY_LOG" ]; then
		echo "----- relay requests ($RELAY_LOG)" >&2
		tail -n 100 "$RELAY_LOG" >&2
		echo "----- relay stderr" >&2
		tail -n 50 "$WORK/relay.err" >&2 2>/dev/null || :
	fi
	for _f in "$WORK"/*.out "$WORK"/*.err; do
		[ -f "$_f" ] || continue
		echo "----- $_f" >&2
		tail -n 60 "$_f" >&2
	done
	pebble_logs 2>/dev/null || :
}

faults_init() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/faults.XXXXXX")
	trap faults_cleanup EXIT
	trap 'exit 130' INT TERM
	command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 missing" >&2; exit 77; }
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# Start the relay in front of $PEBBLE_DIR_URL with pebble's own HTTPS
# certificate, so $PEBBLE_CA_BUNDLE trusts both.
relay_start() {
	RELAY_LOG=$WORK/relay.log
	: >"$RELAY_LOG"
	rm -f "$WORK/relay.port"
	python3 "$TESTS_DIR/lib/relay.py" --upstream "$PEBBLE_DIR_URL" \
		--upstream-ca "$PEBBLE_CA_BUNDLE" --cert "$PEBBLE_WORK/server.pem" \
		--key "$PEBBLE_WORK/server.key" --port-file "$WORK/relay.port" \
		--log "$RELAY_LOG" "$@" 2>"$WORK/relay.err" &
	RELAY_PID=$!
	_i=0
	while [ ! -s "$WORK/relay.port" ]; do
		kill -0 "$RELAY_PID" 2>/dev/null || fail "relay did not start: $(cat "$WORK/relay.err")"
		_i=$((_i + 1))
		[ $_i -lt 300 ] || fail "relay did not start within 30 s"
		sleep 0.1
	done
	RELAY_PORT=$(cat "$WORK/relay.port")
	RELAY_URL="https://127.0.0.1:$RELAY_PORT/${PEBBLE_DIR_URL#https://*/}"
	export RELAY_PORT RELAY_LOG RELAY_URL
}

relay_stop() {
	if [ -n "$RELAY_PID" ]; then
		kill "$RELAY_PID" 2>/dev/null || :
		wait "$RELAY_PID" 2>/dev/null || :
		RELAY_PID=
	fi
}

relay_count() {
	grep -cE -- "$1" "$RELAY_LOG" || :
}

# A subcommand that still prints the skeleton's "not implemented" is skipped.
need_cli() {
	_out=$("$GOPROXY_CERT" "$1" --help 2>&1 || :)
	case $_out in
	*"not implemented"* | *"not yet implemented"* | *placeholder*)
		skip "goproxy-cert $1 is not implemented yet" ;;
	esac
}

# A free loopback port nobody listens on (closed port for "CA unreachable").
closed_port() {
	"${FREEPORT:-freeport}" 1
}

# The octal mode of a file (e.g. 600).
file_mode() {
	stat -c %a "$1"
}

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

# fail MSG: with KEEP_GOING=1 (set by a test that checks many independent
# cases) the failure is counted and the test goes on; faults_done then
# exits 1. Otherwise it exits at once. die MSG always exits.
FAILED=0
fail() {
	echo "FAIL: $*" >&2
	if [ "${KEEP_GOING:-0}" = 1 ]; then
		FAILED=$((FAILED + 1))
		echo "----- last stderr" >&2
		cat "$WORK/err" >&2 2>/dev/null || :
		return 0
	fi
	exit 1
}

die() {
	echo "FAIL: $*" >&2
	exit 1
}

faults_done() {
	if [ "$FAILED" != 0 ]; then
		echo "$FAILED check(s) failed" >&2
		exit 1
	fi
	echo "ok"
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
		kill -0 "$RELAY_PID" 2>/dev/null || die "relay did not start: $(cat "$WORK/relay.err")"
		_i=$((_i + 1))
		[ $_i -lt 300 ] || die "relay did not start within 30 s"
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

# gpc ARGS...: run goproxy-cert; stdout -> $WORK/out, stderr -> $WORK/err,
# exit code -> $RC. Fails on a crash (signal) or a sanitizer report.
gpc() {
	echo "\$ goproxy-cert $*" >>"$WORK/cmd.out"
	RC=0
	"$GOPROXY_CERT" "$@" >"$WORK/out" 2>"$WORK/err" || RC=$?
	cat "$WORK/out" "$WORK/err" >>"$WORK/cmd.out"
	echo "[exit $RC]" >>"$WORK/cmd.out"
	no_crash
}

no_crash() {
	if [ "$RC" -ge 128 ]; then
		die "goproxy-cert died from signal $((RC - 128))"
	fi
	if grep -q 'Sanitizer\|runtime error:\|AddressSanitizer' "$WORK/err"; then
		die "sanitizer report: $(cat "$WORK/err")"
	fi
}

expect_rc() {
	for _c in "$@"; do
		[ "$RC" != "$_c" ] || return 0
	done
	fail "expected exit $*, got $RC"
	return 0
}

expect_err() {
	grep -Eq -- "$1" "$WORK/err" || fail "stderr does not match /$1/"
}

# issue_via URL DIR ARGS...: goproxy-cert issue through a CA URL with pebble's
# trust anchor and the standalone http-01 responder on pebble's http port.
issue_via() {
	_u=$1 _d=$2
	shift 2
	gpc issue -d "$_d" --server "$_u" --ca-bundle "$PEBBLE_CA_BUNDLE" \
		--standalone "127.0.0.1:$PEBBLE_HTTP_PORT" "$@"
}

# pair_ok CERT KEY: both parse and the key belongs to the certificate
# (same public key, compared as PEM).
pair_ok() {
	_a=$(openssl x509 -in "$1" -noout -pubkey 2>/dev/null) || return 1
	_b=$(openssl pkey -in "$2" -pubout 2>/dev/null) || return 1
	[ -n "$_a" ] && [ "$_a" = "$_b" ]
}

# json_ok FILE...: every file is valid JSON (one python run).
json_ok() {
	python3 -c '
import json, sys
for f in sys.argv[1:]:
    try:
        json.load(open(f))
    except Exception as e:
        print("%s: %s" % (f, e)); sys.exit(1)' "$@"
}

# no_partial DIR: no temp files anywhere, and every lineage that has a
# cert.crt or priv.key has both, parsing and belonging together.
no_partial() {
	_t=$(find "$1" \( -name '*.tmp*' -o -name '.*.tmp' -o -name '*~' -o -name '.tmp*' \) -print 2>/dev/null | head -n 5)
	[ -z "$_t" ] || fail "temp files left in $1: $_t"
	for _c in $(find "$1" -path "$1/.state" -prune -o \( -name cert.crt -o -name priv.key \) -print 2>/dev/null); do
		_l=$(dirname "$_c")
		[ -f "$_l/cert.crt" ] && [ -f "$_l/priv.key" ] || fail "$_l: half a pair ($(ls "$_l"))"
		pair_ok "$_l/cert.crt" "$_l/priv.key" || fail "$_l: cert.crt and priv.key do not parse or do not belong together"
	done
}

# no_pair DIR: nothing issued (no cert.crt / priv.key anywhere outside .state).
no_pair() {
	_p=$(find "$1" -path "$1/.state" -prune -o \( -name cert.crt -o -name priv.key \) -print 2>/dev/null)
	[ -z "$_p" ] || fail "a pair was written: $_p"
	no_partial "$1"
}

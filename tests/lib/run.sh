# run.sh: run a command with its output kept for the expectations (source
# after `set -eu`; needs $WORK with $WORK/log). Used by tests/acme/common.sh
# and tests/dns/common.sh.
#
#   run_logged LABEL CMD ARGS...   stdout -> $WORK/out, stderr -> $WORK/err,
#                        exit code -> $RC (never fails the script by itself);
#                        logged in $WORK/log as "$ LABEL ARGS..."; fails on a
#                        sanitizer report
#   expect_rc N          fail unless $RC = N
#   expect_out RE / expect_err RE    grep -E on the last stdout / stderr
#   fail MSG             print MSG and the last output; exit 1 (the caller's
#                        EXIT trap prints the logs)

fail() {
	echo "FAIL: $*" >&2
	echo "----- last stdout" >&2
	cat "$WORK/out" >&2 2>/dev/null || :
	echo "----- last stderr" >&2
	cat "$WORK/err" >&2 2>/dev/null || :
	exit 1
}

run_logged() {
	_label=$1
	_cmd=$2
	shift 2
	echo "\$ $_label $*" >>"$WORK/log"
	RC=0
	"$_cmd" "$@" >"$WORK/out" 2>"$WORK/err" || RC=$?
	cat "$WORK/out" "$WORK/err" >>"$WORK/log"
	echo "[exit $RC]" >>"$WORK/log"
	sanitizer_check
}

# A sanitized build reports to stderr; fail on any report, whatever the exit code.
sanitizer_check() {
	if grep -q 'Sanitizer\|runtime error:' "$WORK/err"; then
		fail "sanitizer report"
	fi
}

expect_rc() {
	[ "$RC" = "$1" ] || fail "expected exit $1, got $RC"
}

expect_out() {
	grep -Eq -- "$1" "$WORK/out" || fail "stdout does not match /$1/"
}

expect_err() {
	grep -Eq -- "$1" "$WORK/err" || fail "stderr does not match /$1/"
}

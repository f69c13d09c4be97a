#!/bin/sh
# Two `renew` runs at once on one certs directory (and issue + renew at
# once), several rounds: every pair stays whole, `check` passes, and each run
# exits 0 (it waited for the lock and did its work, or found nothing due) or
# 75 (it gave up waiting) -- never anything else.
set -eu
. "$TESTS_DIR/faults/common.sh"
KEEP_GOING=1
faults_init
need_cli issue
need_cli renew
pebble_start
D=$WORK/certs
for l in a b c; do
	issue_via "$PEBBLE_DIR_URL" "$D" -n "$l" -D "$l.example.test"
	expect_rc 0
done

ROUNDS=${FAULTS_ROUNDS:-4}
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	"$GOPROXY_CERT" renew -d "$D" --force --rate-limit off -q >"$WORK/r1.out" 2>"$WORK/r1.err" &
	p1=$!
	"$GOPROXY_CERT" renew -d "$D" --force --rate-limit off -q >"$WORK/r2.out" 2>"$WORK/r2.err" &
	p2=$!
	rc1=0 rc2=0
	wait $p1 || rc1=$?
	wait $p2 || rc2=$?
	echo "round $r: renew exits $rc1 and $rc2"
	for rc in $rc1 $rc2; do
		case $rc in
		0 | 75) ;;
		*) fail "round $r: a concurrent renew exits $rc: $(cat "$WORK/r1.err" "$WORK/r2.err")" ;;
		esac
	done
	for l in a b c; do
		pair_ok "$D/$l/cert.crt" "$D/$l/priv.key" || fail "round $r: $l is not a pair"
	done
	RC=0
	"$GOPROXY_CERT" check -d "$D" >"$WORK/out" 2>"$WORK/err" || RC=$?
	[ "$RC" = 0 ] || fail "round $r: check exits $RC: $(cat "$WORK/out")"
	no_partial "$D"
done

echo "== issue of a new lineage while renew runs"
"$GOPROXY_CERT" renew -d "$D" --force --rate-limit off -q >"$WORK/r1.out" 2>"$WORK/r1.err" &
p1=$!
issue_via "$PEBBLE_DIR_URL" "$D" -n e -D e.example.test
rc1=0
wait $p1 || rc1=$?
echo "renew exits $rc1, issue exits $RC"
case $rc1 in 0 | 75) ;; *) fail "renew exits $rc1" ;; esac
expect_rc 0 75
no_partial "$D"
faults_done

#!/bin/sh
# kill -9 at random moments during `renew --force` over several lineages,
# KILLS times (default 25), while goproxyd serves the same certs directory
# and a client keeps shaking hands with every lineage.
# After every kill: `goproxy-cert check` passes, the .state JSON files parse,
# and each lineage's cert.crt and priv.key parse and belong together (one
# rename swaps both: see faults-killpairs for the kills aimed at it); no
# handshake ever failed (goproxyd never served a half-written pair). After a
# final complete renew every pair is whole on disk and no temp file is left.
set -eu
. "$TESTS_DIR/faults/common.sh"
faults_init
need_cli issue
need_cli renew
KILLS=${FAULTS_KILLS:-25}
LINEAGES="a b c d"
pebble_start

D=$WORK/certs
for l in $LINEAGES; do
	issue_via "$PEBBLE_DIR_URL" "$D" -n "$l" -D "$l.example.test"
	expect_rc 0
done
"$GOPROXY_CERT" check -d "$D" >/dev/null || die "check fails before any kill"

# goproxyd over the same directory, with a backend, when it exists.
READER=0
if [ -x "${GOPROXYD:-}" ]; then
	set -- $("$FREEPORT" 2)
	GPORT=$1 BPORT=$2
	python3 -m http.server --bind 127.0.0.1 "$BPORT" >"$WORK/backend.err" 2>&1 &
	FAULTS_PIDS="$FAULTS_PIDS $!"
	"$GOPROXYD" -d "$D" -l "127.0.0.1:$GPORT" -b "127.0.0.1:$BPORT" --workers 1 \
		>"$WORK/goproxyd.out" 2>"$WORK/goproxyd.err" &
	GPD=$!
	FAULTS_PIDS="$FAULTS_PIDS $GPD"
	i=0
	until openssl s_client -connect "127.0.0.1:$GPORT" -servername a.example.test </dev/null >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "goproxyd does not answer"
		kill -0 "$GPD" 2>/dev/null || die "goproxyd exited: $(cat "$WORK/goproxyd.err")"
		sleep 0.1
	done
	# The reader: handshakes with every lineage until told to stop; a
	# failed handshake or a certificate for the wrong name is logged.
	(
		ok=0 bad=0
		while [ ! -e "$WORK/stop" ]; do
			for l in $LINEAGES; do
				names=$(openssl s_client -connect "127.0.0.1:$GPORT" -servername "$l.example.test" \
					</dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName 2>/dev/null || :)
				case $names in
				*"DNS:$l.example.test"*) ok=$((ok + 1)) ;;
				*) bad=$((bad + 1)); echo "bad handshake for $l: '$names'" >>"$WORK/reader.err" ;;
				esac
			done
			sleep 0.5
		done
		echo "$ok $bad" >"$WORK/reader.result"
	) &
	READER=$!
	FAULTS_PIDS="$FAULTS_PIDS $READER"
else
	echo "goproxyd not built: the reader part is skipped"
fi

rand_ms() { # 0 .. $1-1
	echo $(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1))
}

# Kill times are drawn from the length of one complete run, so nearly every
# kill lands inside one.
RUN_MS=100000
for w in 1 2 3; do
	t0=$(date +%s%N)
	"$GOPROXY_CERT" renew -d "$D" --force --rate-limit off -q >/dev/null 2>&1 || die "renew fails before any kill"
	t=$((($(date +%s%N) - t0) / 1000000))
	[ "$t" -ge "$RUN_MS" ] || RUN_MS=$t
done
[ "$RUN_MS" -ge 50 ] || RUN_MS=50
echo "the quickest of 3 renews of $(echo $LINEAGES | wc -w) lineages took $RUN_MS ms; kills at 0..$RUN_MS ms"
midrun=0
broken=0
k=0
while [ $k -lt "$KILLS" ]; do
	k=$((k + 1))
	"$GOPROXY_CERT" renew -d "$D" --force --rate-limit off -q >"$WORK/renew.out" 2>"$WORK/renew.err" &
	R=$!
	ms=$(rand_ms "$RUN_MS")
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	# A kill landed during the run when the run ended by SIGKILL (137);
	# kill -0 would also count a run that had ended (a zombie until waited for).
	kill -9 "$R" 2>/dev/null || :
	st=0
	wait "$R" 2>/dev/null || st=$?
	[ "$st" != 137 ] || midrun=$((midrun + 1))
	broken_now=
	for l in $LINEAGES; do
		pair_ok "$D/$l/cert.crt" "$D/$l/priv.key" || broken_now="$broken_now $l"
	done
	RC=0
	"$GOPROXY_CERT" check -d "$D" >"$WORK/out" 2>"$WORK/err" || RC=$?
	if [ -n "$broken_now" ] || [ "$RC" != 0 ]; then
		broken=$((broken + 1))
		echo "FAIL: kill $k after ${ms} ms: not a pair:$broken_now; check exits $RC:" >&2
		cat "$WORK/out" "$WORK/err" >&2
		ls -la "$D"/*/ >&2
		# Repair with a full run so the remaining kills still test something.
		"$GOPROXY_CERT" renew -d "$D" --force --rate-limit off -q >/dev/null 2>&1 || :
	fi
	bad_json=$(json_ok "$D"/.state/ledger.json "$D"/.state/lineages/*.json) ||
		die "kill $k after ${ms} ms: $bad_json"
	echo "kill $k after $ms ms:${broken_now:- pairs whole}, check $RC"
done
tmps=$(find "$D" -name '*.tmp*' -o -name '.*tmp*' -o -name '*.XXXXXX' | wc -l)
echo "$KILLS kills, $midrun during a run; $broken left a broken pair or a failing check;"
echo "temp files left behind by the kills: $tmps"
# Kill times are drawn from the quickest run's length: most land in a run.
# Fewer than half means the kills tested little (the runs got quicker, or
# the kill times are drawn wrong).
[ $((midrun * 2)) -ge "$KILLS" ] || die "only $midrun of $KILLS kills landed during a run"

# A run after all that still works and leaves no temp files of its own.
RC=0
"$GOPROXY_CERT" renew -d "$D" --force --rate-limit off -q >"$WORK/out" 2>"$WORK/err" || RC=$?
[ "$RC" = 0 ] || die "renew after the kills exits $RC: $(cat "$WORK/err")"
for l in $LINEAGES; do
	pair_ok "$D/$l/cert.crt" "$D/$l/priv.key" || die "$l broken after a full renew"
done
# The next writer removes what killed ones left.
left=$(find "$D" -name '*.tmp*' | head -n 5)
[ -z "$left" ] || die "temp files still there after a complete renew: $left"

if [ "$READER" != 0 ]; then
	touch "$WORK/stop"
	wait "$READER" || :
	read -r ok bad <"$WORK/reader.result"
	echo "goproxyd: $ok handshakes served the right lineage, $bad failed"
	[ "$bad" = 0 ] || die "goproxyd served a failed/wrong handshake: $(head -n 5 "$WORK/reader.err")"
	[ "$ok" -gt 0 ] || die "no handshake at all"
	kill -0 "$GPD" || die "goproxyd died"
fi
[ "$broken" = 0 ] || die "$broken of $KILLS kills left a lineage whose cert.crt and priv.key do not belong together"
echo "ok"

#!/bin/sh
# kill -9 of `renew --force` at random moments, KILLS times (default 50),
# over three lineages (default at the top of the certs dir, b/ and c/),
# and after every kill -- before any other goproxy-cert run could repair
# anything -- every pair read as PLAIN FILES (what nginx, haproxy, hitch and
# GoDoxy do: open cert.crt, open priv.key) must exist and belong together
# (openssl x509 -pubkey = openssl pkey -pubout), and goproxyd, started once
# on the directory, must complete a TLS handshake for every lineage with a
# certificate for that lineage's name. Before every fifth kill one lineage
# is turned back into plain files (as written by hand or by GoDoxy), so the
# conversion to the link layout is killed too.
# At the end a complete renew leaves one generation per lineage, no stray
# generation or temp link, and the archive holds the previous pairs.
#
# A pair write is a few renames that take microseconds on a local disk, so
# kills at random moments would almost never land between two of them. When
# strace works here, every rename(2) of the writer is slowed down by
# FAULTS_RENAME_DELAY_US (default 30000) with strace's delay injection --
# a slow disk or a preempted process -- which widens every window between
# two steps of a write (the old two-rename write: about one kill in ten
# lands between its renames). Without strace the test still runs, with
# narrower windows.
set -eu
. "$TESTS_DIR/faults/common.sh"
faults_init
need_cli issue
need_cli renew
command -v openssl >/dev/null 2>&1 || skip "openssl missing"
[ -x "${GOPROXYD:-}" ] || skip "goproxyd not built"
KILLS=${FAULTS_KILLS:-50}
pebble_start --validity 600

D=$WORK/certs
mkdir -m 0755 "$D"
LINEAGES="default b c"
ldir() { if [ "$1" = default ]; then echo "$D"; else echo "$D/$1"; fi; }
lname() { echo "$1.example.test"; }
for l in $LINEAGES; do
	issue_via "$PEBBLE_DIR_URL" "$D" -n "$l" -D "$(lname "$l")"
	expect_rc 0
done

set -- $("$FREEPORT" 2)
GPORT=$1 BPORT=$2
python3 -m http.server --bind 127.0.0.1 "$BPORT" >"$WORK/backend.out" 2>"$WORK/backend.err" &
FAULTS_PIDS="$FAULTS_PIDS $!"
"$GOPROXYD" -d "$D" -l "127.0.0.1:$GPORT" -b "127.0.0.1:$BPORT" --workers 1 \
	>"$WORK/goproxyd.out" 2>"$WORK/goproxyd.err" &
GPD=$!
FAULTS_PIDS="$FAULTS_PIDS $GPD"

# served L: goproxyd completes a handshake for L's name with a certificate
# holding that name (the handshake itself proves goproxyd holds its key).
served() {
	_n=$(openssl s_client -connect "127.0.0.1:$GPORT" -servername "$(lname "$1")" </dev/null 2>/dev/null |
		openssl x509 -noout -ext subjectAltName 2>/dev/null || :)
	case $_n in *"DNS:$(lname "$1")"*) return 0 ;; esac
	return 1
}
i=0
until served default; do
	i=$((i + 1))
	[ $i -lt 100 ] || die "goproxyd does not serve: $(cat "$WORK/goproxyd.err")"
	kill -0 "$GPD" 2>/dev/null || die "goproxyd exited: $(cat "$WORK/goproxyd.err")"
	sleep 0.1
done

# renew_bg: start `goproxy-cert renew --force` in the background; $R is the
# pid of goproxy-cert itself (not of strace), $W the one to wait for.
DELAY_US=${FAULTS_RENAME_DELAY_US:-30000}
SLOW=
if command -v strace >/dev/null 2>&1 &&
	strace -f -o /dev/null -e trace=rename -e inject=rename:delay_exit=1 true 2>/dev/null; then
	SLOW="strace -f -o /dev/null -e trace=rename,renameat,renameat2 -e inject=rename,renameat,renameat2:delay_exit=$DELAY_US"
	echo "every rename(2) of renew is delayed by $DELAY_US us (strace)"
	# LeakSanitizer stops the world with ptrace, which a traced process
	# cannot: in the ASan build it would end every renew with a fatal error.
	# Leaks are checked by the other tests; here it is the kill that counts.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
else
	echo "strace with delay injection not usable: renames at full speed"
fi
renew_bg() {
	rm -f "$WORK/renew.pid"
	$SLOW sh -c 'echo $$ >"$0.pid"; exec "$@"' "$WORK/renew" \
		"$GOPROXY_CERT" renew -d "$D" --force --rate-limit off -q >"$WORK/renew.out" 2>"$WORK/renew.err" &
	W=$!
	_i=0
	while [ ! -s "$WORK/renew.pid" ] && [ $_i -lt 200 ]; do
		_i=$((_i + 1))
		sleep 0.005
	done
	R=$(cat "$WORK/renew.pid" 2>/dev/null || echo "$W")
}

rand_ms() { # 0 .. $1-1
	echo $(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1))
}

# Kill times are drawn from 0 .. the length of a complete run (at most
# 1.5 s), so the kills are spread over the whole run.
RUN_MS=1500
for w in 1 2; do
	t0=$(date +%s%N)
	renew_bg
	wait "$W" || die "renew fails before any kill: $(cat "$WORK/renew.err")"
	t=$((($(date +%s%N) - t0) / 1000000))
	[ "$t" -ge "$RUN_MS" ] || RUN_MS=$t
done
[ "$RUN_MS" -ge 50 ] || RUN_MS=50
echo "a complete renew of 3 lineages takes $RUN_MS ms; kills at 0..$RUN_MS ms"

# plainify L: replace L's two paths by plain files with the same content, as
# a hand-written directory (or GoDoxy, or an older goproxy-cert) has them; the
# next write converts it to the link layout, under the same kills.
plainify() {
	_d=$(ldir "$1")
	cp -L "$_d/priv.key" "$_d/priv.key.hand" && mv -f "$_d/priv.key.hand" "$_d/priv.key"
	cp -L "$_d/cert.crt" "$_d/cert.crt.hand" && mv -f "$_d/cert.crt.hand" "$_d/cert.crt"
	chmod 600 "$_d/priv.key"
}

k=0 midrun=0 broken=0 unserved=0 plain=0
while [ $k -lt "$KILLS" ]; do
	k=$((k + 1))
	# every fifth kill, one lineage starts from plain files
	if [ $((k % 5)) = 0 ]; then
		plain=$((plain + 1))
		plainify "$(echo $LINEAGES | cut -d' ' -f$((plain % 3 + 1)))"
	fi
	t0=$(date +%s%N)
	renew_bg
	at=$(rand_ms "$RUN_MS")
	ms=$((at - ($(date +%s%N) - t0) / 1000000))
	[ "$ms" -ge 0 ] || ms=0
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	if kill -0 "$R" 2>/dev/null; then
		midrun=$((midrun + 1))
	fi
	kill -9 "$R" 2>/dev/null || :
	wait "$W" 2>/dev/null || :
	# The pairs as plain files, before anything else touches the directory.
	bad=
	for l in $LINEAGES; do
		pair_ok "$(ldir "$l")/cert.crt" "$(ldir "$l")/priv.key" || bad="$bad $l"
	done
	if [ -n "$bad" ]; then
		broken=$((broken + 1))
		echo "kill $k after $at ms: cert.crt and priv.key do not belong together (or are missing):$bad"
		for l in $bad; do ls -la "$(ldir "$l")/"; done
	fi
	# goproxyd keeps serving every lineage (it may take a reload to notice
	# a swap, never to recover from one).
	for l in $LINEAGES; do
		served "$l" || {
			sleep 0.2
			served "$l"
		} || {
			unserved=$((unserved + 1))
			echo "kill $k after $at ms: goproxyd did not serve $l"
		}
	done
done
echo "$KILLS kills ($plain of them onto plain files), $midrun during a run:" \
	"$broken left a pair that does not belong together; $unserved failed handshakes"
kill -0 "$GPD" 2>/dev/null || die "goproxyd died: $(tail -n 20 "$WORK/goproxyd.err")"
[ "$broken" = 0 ] || die "$broken of $KILLS kills left a cert.crt and priv.key that do not belong together"
[ "$unserved" = 0 ] || die "$unserved handshakes failed after kills"

# A complete run afterwards: check passes; the layout is whole and tidy.
gpc renew -d "$D" --force --rate-limit off -q
expect_rc 0
gpc check -d "$D"
expect_rc 0
for l in $LINEAGES; do
	d=$(ldir "$l")
	pair_ok "$d/cert.crt" "$d/priv.key" || die "$l: not a pair after a complete renew"
	[ -L "$d/cert.crt" ] && [ -L "$d/priv.key" ] && [ -L "$d/..data" ] ||
		die "$l: not the symlink layout: $(ls -la "$d")"
	n=$(find "$d" -mindepth 1 -maxdepth 1 -name '..[0-9]*' | wc -l)
	[ "$n" = 1 ] || die "$l: $n generation directories after a complete renew: $(ls -la "$d")"
	left=$(find "$d" -mindepth 1 -maxdepth 1 \( -name '*_tmp' -o -name '*.tmp-*' \) | head -n 3)
	[ -z "$left" ] || die "$l: temporaries left after a complete renew: $left"
	[ "$(stat -L -c %a "$d/priv.key")" = 600 ] || die "$l: key mode $(stat -L -c %a "$d/priv.key")"
	a=$(find "$D/.state/archive/$l" -name '*.key' | wc -l)
	[ "$a" -ge 2 ] || die "$l: only $a archived keys"
done
served default && served b && served c || die "goproxyd does not serve after the final renew"
echo "ok"

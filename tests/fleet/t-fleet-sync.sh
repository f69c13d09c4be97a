#!/bin/sh
# sync: the store's pairs written into a local certs directory (Go-Proxy
# layout) on a real 3-member etcd cluster with pebble:
#  - two lineages, one sync into an empty dir: the layout, key 0600, key
#    matching the certificate, the deploy hook once with both names;
#  - a second sync: nothing touched (inode and mtime of every entry), no hook;
#  - sync --watch: a renew in the store is written within ~2 s, the hook
#    runs once for it;
#  - sync --watch killed -9 at random moments while pairs change in the
#    store: after each kill every local pair is whole (cert.crt read, then
#    priv.key: the key belongs to the certificate);
#  - killed while its hook runs: the next sync runs the hook again;
#  - a pair whose key does not belong to its certificate is never written;
#  - the wrong seal key: a clear error naming the key id, files kept;
#  - etcd unreachable: exit 75 naming the cause, nothing written;
#  - a missing or unwritable -d: a clear error naming the path and the fix.
set -eu
. "$TESTS_DIR/fleet/lib.sh"
fleet_init
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
D=$WORK/local
mkdir "$D"
# the hook: one line per run, its variables
HOOK='echo "$GOPROXY_CERT_NAMES|${GOPROXY_CERT_NAME:-}|${GOPROXY_CERT_DOMAINS:-}|$GOPROXY_CERTS_DIR" >>'"$WORK/hook.calls"'; [ ! -e '"$WORK/slow"' ] || { echo $$ >'"$WORK/hook.pid"'; sleep 30; }'
: >"$WORK/hook.calls"

sync_once() {
	gpc sync $STORE -d "$D" --deploy-hook "$HOOK" "$@"
}
hook_runs() {
	grep -c . "$WORK/hook.calls" || :
}
# pair_whole L: what a reader opening cert.crt, then priv.key, gets matches
pair_whole() {
	_d=$D
	[ "$1" = default ] || _d=$D/$1
	_c=$(openssl x509 -in "$_d/cert.crt" -noout -pubkey 2>/dev/null) || return 1
	_k=$(openssl pkey -in "$_d/priv.key" -pubout 2>/dev/null) || return 1
	[ -n "$_c" ] && [ "$_c" = "$_k" ]
}
local_serial() {
	_d=$D
	[ "$1" = default ] || _d=$D/$1
	openssl x509 -in "$_d/cert.crt" -noout -serial
}
# every entry of the local dir: path, inode, mtime, mode (lstat)
listing() {
	find "$D" -printf '%p %i %T@ %m\n' | sort
}
# wait_local L SERIAL TENTHS LOG WHY: until L's local certificate has SERIAL
wait_local() {
	_n=0
	until [ "$(local_serial "$1")" = "$2" ]; do
		_n=$((_n + 1))
		[ $_n -lt "$3" ] || { cat "$4" >&2; fail "$5"; }
		sleep 0.1
	done
}
put_pair() { # L FILE: write a pair value straight into etcd
	etcdctl_run put "/fleet/pairs/$1" <"$2" >/dev/null
}
save_pair() { # L FILE
	etcdctl_run get "/fleet/pairs/$1" --print-value-only >"$2"
}
other_www() { # a saved www value that is not the local pair
	for _f in w0 w1 w2; do
		if [ "$(jq -r .cert "$WORK/$_f" | openssl x509 -noout -serial)" != "$(local_serial www)" ]; then
			echo "$WORK/$_f"
			return 0
		fi
	done
	fail "no saved www value differs from the local one"
}

echo "== two lineages in the store"
fissue -D d.example.test $SA
expect_rc 0
fissue -n www -D www.example.test -D w2.example.test $SA
expect_rc 0

echo "== sync into an empty directory"
sync_once
expect_rc 0
expect_out '^default: written'
expect_out '^www: written'
expect_out '^2 pair\(s\) written, 0 unchanged'
for f in cert.crt priv.key www/cert.crt www/priv.key; do
	[ -f "$D/$f" ] || fail "no $D/$f"
done
[ "$(stat -L -c %a "$D/priv.key")" = 600 ] || fail "default key mode $(stat -L -c %a "$D/priv.key")"
[ "$(stat -L -c %a "$D/www/priv.key")" = 600 ] || fail "www key mode"
for l in default www; do
	pair_whole $l || fail "$l: the local key does not match the certificate"
	[ "$(local_serial $l)" = "$(stored_serial $l)" ] || fail "$l: not the store's certificate"
done
[ "$(hook_runs)" = 1 ] || fail "the hook ran $(hook_runs) times, not once"
[ "$(cat "$WORK/hook.calls")" = "default www|||$D" ] || fail "hook variables: $(cat "$WORK/hook.calls")"
gpc check -d "$D" default www
expect_rc 0

echo "== sync again: nothing touched, no hook"
listing >"$WORK/before"
sync_once
expect_rc 0
expect_out '^0 pair\(s\) written, 2 unchanged'
listing >"$WORK/after"
cmp -s "$WORK/before" "$WORK/after" || { diff "$WORK/before" "$WORK/after" >&2; fail "an unchanged sync touched the directory"; }
[ "$(hook_runs)" = 1 ] || fail "the hook ran on an unchanged pass"

echo "== sync --watch: a renew in the store, written within 2 s, one hook run"
save_pair default "$WORK/d0"
save_pair www "$WORK/w0"
: >"$WORK/watch.out"
"$GOPROXY_CERT" sync $STORE -d "$D" --watch --deploy-hook "$HOOK" >>"$WORK/watch.out" 2>"$WORK/watch.err" &
SYNC=$!
ACME_PIDS="$ACME_PIDS $SYNC"
n=0
until grep -q 'unchanged' "$WORK/watch.out"; do
	n=$((n + 1)); [ $n -lt 100 ] || { cat "$WORK/watch.err" >&2; fail "sync --watch made no first pass"; }
	sleep 0.1
done
gpc renew $STORE --force www
expect_rc 0
t0=$(date +%s.%N)
want=$(stored_serial www)
wait_local www "$want" 40 "$WORK/watch.err" "sync --watch did not write the renewed www in 4 s"
echo "renewed pair written locally $(echo "$(date +%s.%N) - $t0" | bc) s after renew exited"
awk "BEGIN { exit !($(date +%s.%N) - $t0 < 2.5) }" || fail "more than 2 s from the store to the directory"
pair_whole www || fail "www not whole after the watch wrote it"
sleep 1
[ "$(hook_runs)" = 2 ] || fail "the hook ran $(hook_runs) times in all, expected 2"
last=$(tail -n 1 "$WORK/hook.calls")
[ "${last%%|*}" = www ] && [ "$(echo "$last" | cut -d'|' -f2,4)" = "www|$D" ] &&
	[ "$(echo "$last" | cut -d'|' -f3 | tr ' ' '\n' | sort | tr '\n' ' ')" = "w2.example.test www.example.test " ] ||
	fail "hook for one lineage: $last"
kill "$SYNC"
rc=0; wait "$SYNC" || rc=$?
[ "$rc" = 0 ] || { cat "$WORK/watch.err" >&2; fail "sync --watch exited $rc on SIGTERM"; }
save_pair www "$WORK/w1"
gpc renew $STORE --force
expect_rc 0
save_pair default "$WORK/d1"
save_pair www "$WORK/w2"

echo "== sync --watch killed -9 at random moments while the pairs change"
rnd() { # a number of milliseconds in [$1, $2)
	echo $(($1 + $(od -An -N2 -tu2 /dev/urandom) % ($2 - $1)))
}
i=0 mid=0
while [ $i -lt 20 ]; do
	"$GOPROXY_CERT" sync $STORE -d "$D" --watch -q --deploy-hook "$HOOK" >>"$WORK/kill.log" 2>&1 &
	pid=$!
	ACME_PIDS="$ACME_PIDS $pid" # stopped by the trap if a step fails before the kill
	sleep "0.$(printf %03d "$(rnd 0 150)")"
	put_pair default "$WORK/d$((i % 2))"
	put_pair www "$WORK/w$((i % 3))"
	# the watch settles 200 ms, then writes: kill around then
	sleep "0.$(printf %03d "$(rnd 150 300)")"
	kill -9 $pid
	wait $pid 2>/dev/null || :
	for l in default www; do
		pair_whole $l || { ls -la "$D" "$D/www" >&2; fail "kill $i: $l is not whole"; }
	done
	# a kill mid-write leaves a staged generation (more than one per
	# lineage directory) or a temporary link behind; the next write tidies
	if [ "$(find "$D" "$D/www" -maxdepth 1 -name '..2*' | wc -l)" -gt 2 ] ||
		[ -n "$(find "$D" "$D/www" -maxdepth 1 -name '..*_tmp')" ]; then
		mid=$((mid + 1))
	fi
	i=$((i + 1))
done
echo "20 kills, $mid left a generation of an interrupted write; every pair whole after each"
sync_once
expect_rc 0
for l in default www; do
	pair_whole $l || fail "$l not whole after the kills"
	[ "$(local_serial $l)" = "$(stored_serial $l)" ] || fail "$l: not the store's after a final sync"
done
gpc check -d "$D" default www
expect_rc 0

echo "== killed while its hook runs: the next sync runs the hook again"
runs=$(hook_runs)
touch "$WORK/slow"
put_pair www "$(other_www)"
want=$(stored_serial www)
[ "$(local_serial www)" != "$want" ] || fail "the test's www value is the local one already"
"$GOPROXY_CERT" sync $STORE -d "$D" --watch -q --deploy-hook "$HOOK" >>"$WORK/kill.log" 2>&1 &
pid=$!
ACME_PIDS="$ACME_PIDS $pid"
n=0
until [ -s "$WORK/hook.pid" ]; do
	n=$((n + 1)); [ $n -lt 50 ] || fail "the slow hook did not start"
	sleep 0.1
done
kill -9 $pid
wait $pid 2>/dev/null || :
kill "$(cat "$WORK/hook.pid")" 2>/dev/null || :
rm -f "$WORK/slow"
[ "$(local_serial www)" = "$want" ] || fail "www not written before the hook"
sync_once
expect_rc 0
expect_out '^0 pair\(s\) written'
[ "$(hook_runs)" = $((runs + 2)) ] || fail "the hook did not run again after sync was killed in it"
[ "$(tail -n 1 "$WORK/hook.calls" | cut -d'|' -f1)" = www ] || fail "the hook ran again for $(tail -n 1 "$WORK/hook.calls")"
sync_once
[ "$(hook_runs)" = $((runs + 2)) ] || fail "the hook ran a third time"

echo "== a pair whose key does not belong to its certificate is never written"
# the current certificate of default with the key of an older pair (both
# sealed for "default": only the match check can tell)
jq -c --slurpfile old "$WORK/d0" '.key = $old[0].key' "$WORK/d1" >"$WORK/dbad"
cmp -s "$WORK/d0" "$WORK/d1" && fail "d0 and d1 are the same pair"
save_pair default "$WORK/dcur"
put_pair default "$WORK/dbad"
listing >"$WORK/before"
sync_once
expect_rc 1
expect_err 'default.*private key does not belong to the certificate'
sed "s/^/  | /" "$WORK/err"
listing >"$WORK/after"
cmp -s "$WORK/before" "$WORK/after" || { diff "$WORK/before" "$WORK/after" >&2; fail "a mismatched pair changed the directory"; }
pair_whole default || fail "default not whole"
put_pair default "$WORK/dcur"

echo "== the wrong seal key: a clear error, files kept"
"$GOPROXY_CERT" store seal-key "$WORK/other.key" >/dev/null
wnext=$(other_www)
put_pair www "$wnext"
listing >"$WORK/before"
gpc sync --store "$S" --store-seal "$WORK/other.key" -d "$D" --deploy-hook "$HOOK"
expect_rc 1
expect_err 'sealed with another seal key \(key id [0-9a-f]{8}'
expect_err 'hint: every node needs the same seal key'
sed "s/^/  | /" "$WORK/err"
listing >"$WORK/after"
cmp -s "$WORK/before" "$WORK/after" || fail "the wrong seal key changed the directory"

echo "== sync --watch started with etcd down: says so once, writes nothing, resumes"
for m in 1 2 3; do etcd_kill $m; done
: >"$WORK/down.out"
"$GOPROXY_CERT" sync $STORE -d "$D" --watch --deploy-hook "$HOOK" >"$WORK/down.out" 2>"$WORK/down.err" &
SYNC=$!
ACME_PIDS="$ACME_PIDS $SYNC"
sleep 6 # past one retry (every 5 s while the store is unreachable)
[ "$(grep -c 'store unreachable' "$WORK/down.err")" = 1 ] || { cat "$WORK/down.err" >&2; fail "not said once"; }
listing >"$WORK/after"
cmp -s "$WORK/before" "$WORK/after" || fail "sync --watch changed the directory with etcd down"
sed "s/^/  | /" "$WORK/down.err"
for m in 1 2 3; do etcd_member_start $m --no-wait; done
etcd_wait_healthy
t0=$(date +%s.%N)
want=$(jq -r .cert "$wnext" | openssl x509 -noout -serial)
wait_local www "$want" 100 "$WORK/down.err" "sync --watch did not resume"
echo "written $(echo "$(date +%s.%N) - $t0" | bc) s after the members were healthy again"
pair_whole www || fail "www not whole after the outage"
grep -q "answers again" "$WORK/down.err" || { cat "$WORK/down.err" "$WORK/down.out" >&2; false; } || fail "sync --watch did not say the store answers again"
kill "$SYNC"
wait "$SYNC" || fail "sync --watch exited $? on SIGTERM"
listing >"$WORK/before"

echo "== etcd unreachable: exit 75 naming the cause, nothing written"
gpc sync --store "etcd://127.0.0.1:$CLOSED/fleet" --store-seal "$SEAL" -d "$D" --deploy-hook "$HOOK"
expect_rc 75
expect_err "127.0.0.1:$CLOSED.*cannot connect"
expect_err 'unreachable'
sed "s/^/  | /" "$WORK/err"
listing >"$WORK/after"
cmp -s "$WORK/before" "$WORK/after" || fail "an unreachable store changed the directory"

echo "== a bad -d: missing, unwritable"
gpc sync $STORE -d "$WORK/nope"
expect_rc 1
expect_err "$WORK/nope"
expect_err 'hint: create it \(mkdir'
sed "s/^/  | /" "$WORK/err"
mkdir -m 755 "$WORK/ro"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	cp "$SEAL" "$WORK/seal.nobody"
	chown nobody "$WORK/seal.nobody"
	RC=0
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$(gpc_for_nobody)" sync $STORE \
		--store-seal "$WORK/seal.nobody" -d "$WORK/ro" >"$WORK/out" 2>"$WORK/err" || RC=$?
else
	chmod 555 "$WORK/ro"
	gpc sync $STORE -d "$WORK/ro"
fi
expect_rc 1
expect_err "$WORK/ro"
expect_err 'hint:.*-d DIR'
sed "s/^/  | /" "$WORK/err"
[ -z "$(ls -A "$WORK/ro")" ] || fail "something was written into the unwritable dir"
# the background runs' output (a sanitized build reports there too)
! grep -l 'Sanitizer\|runtime error:' "$WORK/watch.err" "$WORK/down.err" "$WORK/kill.log" ||
	fail "sanitizer report from sync --watch"
echo PASS

#!/bin/sh
# A dns-01 hook that never returns on `begin` (and leaves a grandchild that
# ignores SIGTERM in its group) is killed with its whole process group at
# --hook-timeout: the run ends at about the limit with exit 1 and a message
# naming the hook, the phase and the limit; nothing of the group is left;
# .state/issue.lock is free, and the next issue with a working hook succeeds.
# A hook stuck on `done`, or a deploy hook that never returns, costs the limit
# and a warning, not the certificate; it is killed with its group as well.
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init
hook_script "$WORK/hook.sh"
command -v pgrep >/dev/null || { echo "SKIP: pgrep missing" >&2; exit 77; }
command -v flock >/dev/null || { echo "SKIP: flock missing" >&2; exit 77; }

# A unique string in the command line of every process of the stuck hook.
MARK=gpc-hook-timeout-$$-$(date +%s)
STUCK=$WORK/stuck-$MARK.sh
cat >"$STUCK" <<EOF
#!/bin/sh
echo "\$\$" >>"$WORK/stuck.pids"
case "\$1" in
begin)
	sh -c 'trap "" TERM; echo \$\$ >>"$WORK/stuck.pids"; while :; do sleep 1; done' $MARK &
	while :; do sleep 1; done
	;;
esac
exit 0
EOF
chmod +x "$STUCK"

# Without the limit the run would never end: bound it here so the test fails
# instead of hanging, and kill what the hook left if it does.
cat >"$WORK/gpc-bounded" <<EOF
#!/bin/sh
exec timeout -k 5 30 "$GOPROXY_CERT" "\$@"
EOF
chmod +x "$WORK/gpc-bounded"
GOPROXY_CERT=$WORK/gpc-bounded
hook_cleanup() {
	rc=$?
	set +e
	for p in $(cat "$WORK"/*.pids 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	(exit "$rc") # acme_cleanup reads the test's exit status from $?
	acme_cleanup
}
trap hook_cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Wait up to 3 s until no live process carries the marker.
no_marked_process() {
	_i=0
	while pgrep -f -- "$MARK" >/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -lt 30 ] || return 1
		sleep 0.1
	done
}

echo "== a hook stuck on begin is killed at the limit, with its group"
t0=$(now_ms)
issue -n stuck -D stuck.example.test --challenge dns-01 --hook "$STUCK" --hook-timeout 2
t1=$(now_ms)
[ "$RC" != 124 ] && [ "$RC" != 137 ] || fail "issue did not end by itself (the hook has no limit)"
expect_rc 1
dt=$((t1 - t0))
echo "issue ended after $dt ms (limit 2000 ms)"
[ "$dt" -ge 2000 ] || fail "ended after $dt ms, before the 2 s limit"
[ "$dt" -lt 10000 ] || fail "ended after $dt ms, long after the 2 s limit"
expect_err "hook $STUCK \\(dns-01 begin for stuck.example.test\\) did not finish within 2 s; killed with its process group"
expect_err '--hook-timeout SECONDS'
[ "$(wc -l <"$WORK/stuck.pids")" = 2 ] || fail "the hook did not start its grandchild: $(cat "$WORK/stuck.pids")"
no_marked_process || fail "processes of the hook's group are left: $(pgrep -af -- "$MARK")"
[ ! -e "$CERTS/stuck/cert.crt" ] || fail "a certificate without a validated challenge"

# A process that outlives its hook and ignores SIGTERM, without the marker in
# its command line (an exec'd hook loses it): only the group kill ends it.
# linger.sh PIDFILE records its pid there.
cat >"$WORK/linger.sh" <<'EOF2'
#!/bin/sh
trap "" TERM
echo $$ >>"$1"
while :; do sleep 1; done
EOF2
chmod +x "$WORK/linger.sh"

# pids_gone FILE N: FILE lists N process ids (the hook and what it left);
# wait up to 3 s until none of them is alive (a zombie counts as gone).
pids_gone() {
	_i=0
	while [ "$(wc -l <"$1")" -lt "$2" ]; do
		_i=$((_i + 1))
		[ "$_i" -lt 30 ] || { LEFT=" only $(wc -l <"$1") of $2 pids recorded: $(cat "$1")"; return 1; }
		sleep 0.1
	done
	_i=0
	while :; do
		LEFT=
		for _p in $(cat "$1"); do
			_s=$(ps -o stat= -p "$_p" 2>/dev/null) || continue
			case $_s in Z*) ;; *) LEFT="$LEFT $_p ($(ps -o args= -p "$_p" 2>/dev/null || :))" ;; esac
		done
		[ -n "$LEFT" ] || return 0
		_i=$((_i + 1))
		[ "$_i" -lt 30 ] || return 1
		sleep 0.1
	done
}

echo "== .state/issue.lock is free, the next issue proceeds"
flock -n "$CERTS/.state/issue.lock" true || fail "issue.lock is still held"
t0=$(now_ms)
issue -n stuck -D stuck.example.test --challenge dns-01 --hook "$WORK/hook.sh" --hook-timeout 2
expect_rc 0
expect_out '^stuck: issued'
echo "second issue took $(($(now_ms) - t0)) ms"

echo "== a hook stuck on done: the certificate is in place, a warning names the phase"
cat >"$WORK/done-$MARK.sh" <<EOF
#!/bin/sh
if [ "\$1" = done ]; then
	echo "\$\$" >>"$WORK/done.pids"
	"$WORK/linger.sh" "$WORK/done.pids" &
	exec sleep 1000
fi
exec "$WORK/hook.sh" "\$@"
EOF
chmod +x "$WORK/done-$MARK.sh"
t0=$(now_ms)
issue -n stuckdone -D stuckdone.example.test --challenge dns-01 --hook "$WORK/done-$MARK.sh" --hook-timeout 2
dt=$(($(now_ms) - t0))
expect_rc 0
expect_out '^stuckdone: issued'
expect_err "hook $WORK/done-$MARK.sh \\(dns-01 done for stuckdone.example.test\\) did not finish within 2 s"
[ "$dt" -lt 15000 ] || fail "took $dt ms"
pids_gone "$WORK/done.pids" 2 || fail "processes of the done hook are left:$LEFT"

echo "== the limit is stored with the lineage (renew from cron keeps it)"
[ "$(jq .hook_timeout "$CERTS/.state/lineages/stuckdone.json")" = 2 ] || fail "hook_timeout not stored"

echo "== a deploy hook that never returns: killed at the limit, the certificate is in place"
t0=$(now_ms)
issue -n dep -D dep.example.test --challenge dns-01 --hook "$WORK/hook.sh" --hook-timeout 2 \
	--deploy-hook "echo \$\$ >>'$WORK/deploy.pids'; '$WORK/linger.sh' '$WORK/deploy.pids' & exec sleep 1000"
dt=$(($(now_ms) - t0))
expect_rc 0
expect_out '^dep: issued'
expect_err 'deploy for dep\) did not finish within 2 s; killed with its process group'
[ "$dt" -lt 15000 ] || fail "took $dt ms"
pids_gone "$WORK/deploy.pids" 2 || fail "processes of the deploy hook are left:$LEFT"

echo "== --hook-timeout must be a number of seconds"
issue -n bad -D bad.example.test --challenge dns-01 --hook "$WORK/hook.sh" --hook-timeout 0
expect_rc 64
expect_err 'hook-timeout'
echo "ok"

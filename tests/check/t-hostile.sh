#!/bin/sh
# A certs directory another user can write (issue 25): root's runs trust
# nothing in it, follow no link out of it, never hang on it. The attacker is
# uid 65534 (setpriv); the victim runs are root's. No CA is needed: every
# refusal comes before the first request (the --server below answers
# nothing), and a run that got that far before the fix did its damage first.
. "$TESTS_DIR/check/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (the victim) and uid 65534 (the attacker)"; exit 77; }
command -v setpriv >/dev/null 2>&1 || { echo "SKIP: no setpriv"; exit 77; }
as_attacker() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
ATT=nobody
getent passwd 65534 >/dev/null 2>&1 && ATT=$(getent passwd 65534 | cut -d: -f1)
NOWHERE=https://127.0.0.1:9/dir # nothing listens: no run may get past the store checks anyway

make_ca
NOW=$(date +%s)
make_leaf leaf "@$((NOW - 86400))" "@$((NOW + 89 * 86400))" www.example.org
make_leaf old "@$((NOW - 90 * 86400))" "@$((NOW - 86400))" www.example.org

# a file only root may read, and one the attacker wants changed
printf 'root only\n' >"$T/secret"
chmod 600 "$T/secret"
printf 'victim: keep me as I am\n' >"$T/victim"
chmod 644 "$T/victim"
victim_sum=$(sha256sum <"$T/victim")

# timed CMD...: run goproxy-cert, $SECS = whole seconds it took (killed after 30)
timed() {
	local t0
	t0=$(date +%s)
	set +e
	timeout 30 "$G" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	set -e
	SECS=$(($(date +%s) - t0))
}

# --- 1. The packaged layout: certs/ and .state owned by the service user.
# That user names their own program in the lineage file; root's renew must
# refuse before reading it, naming the file's owner and the runuser command.
D=$T/pkg
mkdir -m 755 "$D"
install_pair old "$D"
mkdir -m 700 "$D/.state" "$D/.state/lineages"
cat >"$T/hook" <<EOF
#!/bin/sh
touch "$T/hook-ran"
EOF
chmod 755 "$T/hook"
printf '{"names":["www.example.org"],"ca_url":"%s","challenge":"http-01","solver":"hook","solver_arg":"%s","deploy_hook":"%s"}\n' \
	"$NOWHERE" "$T/hook" "$T/hook" >"$D/.state/lineages/default.json"
chown -R 65534:65534 "$D"
run renew -d "$D" --force --rate-limit off
expect_rc 2 "root's renew in a directory uid 65534 owns"
[ ! -e "$T/hook-ran" ] || fail "root ran the program uid 65534 named"
expect_err_has "$D: owned by uid 65534"
expect_err_has "runuser -u $ATT -- goproxy-cert renew -d $D --force --rate-limit off"
# as the owner it is that user's own program: not our business here, and no refusal
echo "ok 1 - planted hook: not run; refused naming owner and runuser"

# a record file the attacker owns in root's own .state (0700 root): refused too
D=$T/rec
mkdir -m 755 "$D"
install_pair old "$D"
mkdir -m 700 "$D/.state" "$D/.state/lineages"
cp "$T/pkg/.state/lineages/default.json" "$D/.state/lineages/default.json"
chown 65534:65534 "$D/.state/lineages/default.json"
chmod 644 "$D/.state/lineages/default.json"
run renew -d "$D" --force --rate-limit off
[ "$RC" != 0 ] || fail "renew accepted a lineage file uid 65534 owns"
[ ! -e "$T/hook-ran" ] || fail "root ran the program named in a file uid 65534 owns"
expect_err_has "$D/.state/lineages/default.json: owned by uid 65534"
# check and status do not read it either, and say so (not a silent "-")
run check -d "$D"
expect_err_has "$D/.state/lineages/default.json: owned by uid 65534"
expect_err_has "its stored settings are ignored here"
run status -d "$D" --json
jq -e '.certificates[0].warnings | map(select(.code == "settings-ignored")) | length == 1' "$T/out" >/dev/null ||
	fail "status --json: no settings-ignored warning: $(cat "$T/out")"
echo "ok 2 - a record file another user owns is refused, named with its owner"

# --- 2. The lock files: a link to a root file is never followed (nor
# truncated), in the attacker's directory or in root's own.
D=$T/lock
mkdir -m 755 "$D"
mkdir -m 700 "$D/.state"
chown -R 65534:65534 "$D"
as_attacker ln -s "$T/victim" "$D/.state/issue.lock"
run issue -d "$D" -D www.example.org --server "$NOWHERE" --lock-wait 2
expect_rc 2 "issue in a directory uid 65534 owns"
[ "$(sha256sum <"$T/victim")" = "$victim_sum" ] || fail "the lock link's target changed"
chown -R 0:0 "$D"
run issue -d "$D" -D www.example.org --server "$NOWHERE" --lock-wait 2
[ "$(sha256sum <"$T/victim")" = "$victim_sum" ] || fail "the lock link's target changed (root's dir)"
expect_err_has "$D/.state/issue.lock: is a symbolic link; refused"
rm "$D/.state/issue.lock"
ln -s "$T/victim" "$D/.state/lock"
run renew -d "$D" --lock-wait 2
run issue -d "$D" -D www.example.org --server "$NOWHERE" --lock-wait 2
[ "$(sha256sum <"$T/victim")" = "$victim_sum" ] || fail "the store lock link's target changed"
[ "$(stat -c %a "$T/victim")" = 644 ] || fail "the store lock link's target mode changed"
echo "ok 3 - lock links: target byte-identical after"

# --- 3. .state as a link to another directory: its mode is kept and
# nothing is written into it.
D=$T/statelink
mkdir -m 755 "$D" "$T/elsewhere"
chown 65534:65534 "$T/elsewhere"
ln -s "$T/elsewhere" "$D/.state"
run issue -d "$D" -D www.example.org --server "$NOWHERE" --lock-wait 2
[ "$RC" != 0 ] || fail "issue through a .state link succeeded"
[ "$(stat -c %a "$T/elsewhere")" = 755 ] || fail ".state link target's mode became $(stat -c %a "$T/elsewhere")"
[ -z "$(ls -A "$T/elsewhere")" ] || fail ".state link target got entries: $(ls -A "$T/elsewhere")"
expect_err_has "$D/.state: is a symbolic link; refused"
echo "ok 4 - .state link: target keeps its mode and gets no entry"

# --- 4. A FIFO as the store lock: nothing hangs, every run ends within
# its --lock-wait (or at once), saying what is wrong.
D=$T/fifo
mkdir -m 755 "$D"
install_pair leaf "$D"
mkdir -m 700 "$D/.state"
mkfifo -m 600 "$D/.state/lock"
for c in check status "renew --lock-wait 3"; do
	# shellcheck disable=SC2086
	timed $c -d "$D"
	[ "$RC" != 124 ] || fail "$c blocked on a FIFO lock (killed after 30 s)"
	[ "$SECS" -le 5 ] || fail "$c took $SECS s with a FIFO lock (--lock-wait 3)"
done
timed issue -d "$D" -D www.example.org --server "$NOWHERE" --lock-wait 3
[ "$RC" != 124 ] || fail "issue blocked on a FIFO lock (killed after 30 s)"
[ "$SECS" -le 5 ] || fail "issue took $SECS s with a FIFO lock (--lock-wait 3)"
expect_err_has "$D/.state/lock: a FIFO, not a lock file; refused"
echo "ok 5 - FIFO lock: check, status, renew, issue end at once; issue names it"

# A held store lock: renew waits at most --lock-wait for it, not 60 s
D=$T/held
mkdir -m 755 "$D"
install_pair old "$D"
mkdir -m 700 "$D/.state" "$D/.state/lineages"
printf '{"names":["www.example.org"],"ca_url":"%s","challenge":"http-01"}\n' "$NOWHERE" \
	>"$D/.state/lineages/default.json"
chmod 600 "$D/.state/lineages/default.json"
: >"$D/.state/lock"
chmod 600 "$D/.state/lock"
sh -c 'exec 9>>"$1"; flock -x 9; exec sleep 40' sh "$D/.state/lock" &
HOLDER=$!
sleep 0.3
timed renew -d "$D" --force --rate-limit off --lock-wait 2
kill "$HOLDER" 2>/dev/null || :
wait "$HOLDER" 2>/dev/null || :
[ "$SECS" -le 5 ] || fail "renew waited $SECS s for a held store lock with --lock-wait 2"
echo "ok 6 - a held store lock: renew gives up after --lock-wait ($SECS s)"

# --- 5. A lineage directory that is a link: nothing is written or
# removed through it.
D=$T/ldir
mkdir -m 755 "$D" "$T/target"
mkdir -m 755 "$T/target/..2020_01_01T00_00_00.000000000"
install_pair old "$T/target" # expired: issue wants to write there
before=$(snapshot "$T/target")
ln -s "$T/target" "$D/evil"
run issue -d "$D" -n evil -D www.example.org --server "$NOWHERE" --lock-wait 2
[ "$RC" != 0 ] || fail "issue through a lineage link succeeded"
expect_err_has "$D/evil: is a symbolic link; refused"
# a write elsewhere in the store does not tidy through the link either
run issue -d "$D" -D www.example.org --server "$NOWHERE" --lock-wait 2
[ "$(snapshot "$T/target")" = "$before" ] || fail "the lineage link's target changed"
echo "ok 7 - lineage directory link refused, its target untouched"

# --- 6. A certs directory everyone may write: refused with the chmod
D=$T/open
mkdir -m 755 "$D"
install_pair leaf "$D"
chmod 777 "$D"
run renew -d "$D"
expect_rc 2 "renew in a world-writable certs dir"
expect_err_has "$D: writable by everyone (mode 0777"
expect_err_has "chmod go-w $D"
run issue -d "$D" -D www.example.org --server "$NOWHERE"
expect_rc 2 "issue in a world-writable certs dir"
# sync's target directory: the same rule, said before the store is asked
head -c 32 /dev/urandom >"$T/seal"
chmod 600 "$T/seal"
run sync -d "$D" --store etcd://127.0.0.1:9 --store-seal "$T/seal"
expect_rc 2 "sync into a world-writable certs dir"
expect_err_has "chmod go-w $D"
# .state owned by another user in root's certs dir
D=$T/otherstate
mkdir -m 755 "$D"
mkdir -m 700 "$D/.state"
chown 65534:65534 "$D/.state"
run issue -d "$D" -D www.example.org --server "$NOWHERE"
expect_rc 2 "issue with a .state uid 65534 owns"
expect_err_has "$D/.state: owned by uid 65534"
echo "ok 8 - world-writable certs dir, foreign .state: exit 2 with the fix"

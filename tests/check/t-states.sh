#!/bin/sh
# check: every state from real certificates, exit codes, text, -q, --json
# shape, --days, --domain. The tool's clock is moved with $GOPROXY_CERT_NOW.
. "$TESTS_DIR/check/lib.sh"

make_ca
NOW=$(date +%s)
# 90-day certificate issued 10 days ago; 6-day one issued 1 day ago
make_leaf long "@$((NOW - 10 * 86400))" "@$((NOW + 80 * 86400))" www.example.org example.org 192.0.2.1
make_leaf short "@$((NOW - 86400))" "@$((NOW + 5 * 86400))" short.example.org
make_leaf future "@$((NOW + 2 * 86400))" "@$((NOW + 92 * 86400))" future.example.org
D=$T/certs
install_pair long "$D"
install_pair short "$D/short"
install_pair future "$D/future"
# The tool's clock, 100 s after the fixtures' reference time: a run in the
# same second as the fixtures must not sit exactly on a boundary.
export GOPROXY_CERT_NOW=$((NOW + 100))

# --- ok, text format ---
run check -d "$D" default
expect_rc 0 "current 90-day certificate"
grep -Eq '^default +ok +www.example.org,example.org,192.0.2.1 +expires [0-9T:Z-]+ \(79 days left; due after [0-9T:Z-]+, third-of-lifetime\)$' "$T/out" ||
	fail "text line format"
[ ! -s "$T/err" ] || fail "stderr should be empty for ok"
[ ! -e "$D/.state" ] || fail "check created .state"

# --- ok via JSON, with every field of the documented shape ---
run check -d "$D" --json default
expect_rc 0
expect_state default ok
jq -e '(keys_unsorted | index("certs_dir") != null) and has("checked_at") and has("certificates")' "$T/out" >/dev/null || fail "top-level keys"
jq -e '.certificates[0] | has("name") and has("state") and has("domains") and has("not_before")
	and has("not_after") and has("seconds_left") and has("due_at") and has("due_rule")
	and has("cert_path") and has("key_path") and has("problems")' "$T/out" >/dev/null || fail "certificate keys"
jq -e '.certificates[0].domains == ["www.example.org","example.org","192.0.2.1"]' "$T/out" >/dev/null || fail "domains"
jq -e '.certificates[0].due_rule == "third-of-lifetime"' "$T/out" >/dev/null || fail "due_rule"
jq -e '.checked_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")' "$T/out" >/dev/null || fail "RFC 3339 time"
jq -e ".certificates[0].cert_path == \"$D/cert.crt\" and .certificates[0].key_path == \"$D/priv.key\"" "$T/out" >/dev/null || fail "paths"
jq -e '.certificates[0].problems == []' "$T/out" >/dev/null || fail "problems should be empty"

# --- due: 90-day cert with 29 days left (1/3 rule: due under 30) ---
GOPROXY_CERT_NOW=$((NOW + 51 * 86400)) run check -d "$D" --json default
expect_rc 1 "due by third of lifetime"
expect_state default due
jq -e '.certificates[0].problems[0].code == "due"' "$T/out" >/dev/null || fail "due problem code"
# 31 days left: not yet due
GOPROXY_CERT_NOW=$((NOW + 49 * 86400)) run check -d "$D" default
expect_rc 0 "31 days left"
# text mode: due on stderr naming the file and the rule
GOPROXY_CERT_NOW=$((NOW + 51 * 86400)) run check -d "$D" default
expect_rc 1
expect_err_has "$D/cert.crt: due for renewal"
expect_err_has "1/3 of its lifetime"

# --- --days: 79 days left is due with --days 80, not with --days 79 ---
run check -d "$D" --days 80 --json default
expect_rc 1 "--days 80"
jq -e '.certificates[0].due_rule == "days"' "$T/out" >/dev/null || fail "due_rule days"
run check -d "$D" --days 70 default
expect_rc 0 "--days 70"

# --- 6-day certificate: half rule (due under 3 days left) ---
run check -d "$D" --json short
expect_rc 0
jq -e '.certificates[0].due_rule == "half-of-lifetime"' "$T/out" >/dev/null || fail "half rule"
GOPROXY_CERT_NOW=$((NOW + 3 * 86400)) run check -d "$D" short
expect_rc 1 "6-day cert with 2 days left"

# --- expired ---
GOPROXY_CERT_NOW=$((NOW + 81 * 86400)) run check -d "$D" --json default
expect_rc 2 "expired"
expect_state default expired
GOPROXY_CERT_NOW=$((NOW + 81 * 86400)) run check -d "$D" default
expect_rc 2
expect_err_has "$D/cert.crt: expired on"
expect_err_has "clock"

# --- not yet valid: a real certificate starting in 2 days ---
run check -d "$D" --json future
expect_rc 2 "not yet valid"
expect_state future not-yet-valid
run check -d "$D" future
expect_err_has "$D/future/cert.crt: not valid before"
expect_err_has "clock here says"
expect_err_has "system clock may be wrong"
# ... and a current certificate seen by a clock set 20 days back
GOPROXY_CERT_NOW=$((NOW - 20 * 86400)) run check -d "$D" --json default
expect_state default not-yet-valid

# --- mismatch: --domain sets ---
run check -d "$D" -D EXAMPLE.org -D www.example.org -D 192.0.2.1 -D example.org default
expect_rc 0 "same set, other case/order, duplicate"
run check -d "$D" --json -D '*.example.org' default
expect_rc 2 "a wildcard does not match the names below it"
expect_state default mismatch
run check -d "$D" --domain www.example.org default
expect_rc 2 "subset"
expect_err_has "$D/cert.crt: names differ from --domain"
expect_err_has "extra "

# --- missing ---
run check -d "$D" --json nosuch
expect_rc 2 "missing lineage"
expect_state nosuch missing
run check -d "$D" nosuch
expect_err_has "$D/nosuch/cert.crt"
mkdir "$D/halfway" && cp "$FX/long.key" "$D/halfway/priv.key"
run check -d "$D" --json halfway
expect_rc 2
expect_state halfway missing
run check -d "$D" halfway
expect_err_has "$D/halfway/cert.crt: open failed: No such file or directory"
rm -r "$D/halfway"

# --- an empty certs dir: the default lineage is missing ---
mkdir "$T/empty"
run check -d "$T/empty" --json
expect_rc 2 "empty certs dir"
expect_state default missing

# --- all lineages: worst wins; -q prints nothing ---
run check -d "$D" --json
expect_rc 2 "future is not yet valid"
[ "$(jq -r '[.certificates[].name] | join(" ")' "$T/out")" = "default future short" ] || fail "lineage list/order"
rm -r "$D/future"
run check -d "$D"
expect_rc 0 "all ok"
[ "$(wc -l <"$T/out")" -eq 2 ] || fail "one line per lineage"
GOPROXY_CERT_NOW=$((NOW + 51 * 86400)) run check -d "$D" -q default
expect_rc 1 "-q due"
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "-q printed something"
GOPROXY_CERT_NOW=$((NOW + 90 * 86400)) run check -q -d "$D"
expect_rc 2 "-q expired"
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "-q printed something"

# --- certs dir from the environment, then ./certs ---
GOPROXY_CERTS_DIR=$D run check --json default
expect_rc 0 "GOPROXY_CERTS_DIR"
jq -e ".certs_dir == \"$D\"" "$T/out" >/dev/null || fail "certs_dir from env"
(cd "$T" && "$G" check --json >"$T/out" 2>"$T/err") || fail "./certs"
jq -e '.certs_dir == "certs"' "$T/out" >/dev/null || fail "default certs dir"

# --- the store lock: readers share it; a writer holding it delays check a
# moment, never fails it ---
mkdir -m 700 "$D/.state" && : >"$D/.state/lock"
if command -v flock >/dev/null 2>&1; then
	flock -s "$D/.state/lock" true
	run check -d "$D" default
	expect_rc 0 "lock file present and free"
	flock -x "$D/.state/lock" sleep 4 &
	holder=$!
	sleep 0.5
	run check -d "$D" --json default
	expect_rc 0 "a writer holds the lock"
	expect_state default ok
	wait "$holder"
fi
[ "$(ls -A "$D/.state")" = lock ] || fail "check wrote into .state"
rm -r "$D/.state"

# --- an older goproxy-cert (two-rename writes) killed between its renames
# (new key in place, new certificate staged, .state/txn/NAME recording
# both): check completes the write, so every reader of the files sees a
# matching pair; read-only, it reports the mismatch and says how to
# complete it ---
make_leaf next "@$((NOW - 86400))" "@$((NOW + 89 * 86400))" www.example.org example.org 192.0.2.1
P=$T/interrupted
install_pair long "$P"
cp "$FX/next.key" "$P/priv.key"
cat "$FX/next.crt" "$FX/int.crt" >"$P/cert.crt.tmp-4242-AbCdEf"
mkdir -p -m 700 "$P/.state/txn"
printf '\n%s\n' "$P/cert.crt.tmp-4242-AbCdEf" >"$P/.state/txn/default"
# read-only for the user running check: as root, drop to nobody
RO=""
if [ "$(id -u)" != 0 ]; then
	chmod 555 "$P/.state/txn"
elif command -v setpriv >/dev/null 2>&1; then
	chmod -R a+rX "$P"
	RO="setpriv --reuid=nobody --regid=nogroup --clear-groups"
fi
if [ "$(id -u)" != 0 ] || [ -n "$RO" ]; then
	set +e
	$RO "$G" check -d "$P" default >"$T/out" 2>"$T/err"
	RC=$?
	set -e
	expect_rc 2 "interrupted write, read-only"
	expect_err_has "a write of this pair was interrupted"
	[ -e "$P/.state/txn/default" ] || fail "a read-only check removed the record"
fi
chmod -R go-rwx "$P/.state"
chmod 600 "$P/priv.key"
chmod 700 "$P/.state/txn"
run check -d "$P" --json default
expect_rc 0 "interrupted write completed by check"
expect_state default ok
cat "$FX/next.crt" "$FX/int.crt" >"$T/next-chain.pem"
cmp -s "$P/cert.crt" "$T/next-chain.pem" || fail "the staged certificate was not renamed in"
[ -z "$(ls -A "$P/.state/txn")" ] || fail "txn record left"
ls "$P" | grep -q tmp- && fail "staged file left"

# --- warnings that do not change the state ---
chmod 640 "$D/priv.key"
run check -d "$D" default
expect_rc 0 "group-readable key is a warning"
expect_err_has "warning: $D/priv.key: private key readable by the group (mode 0640)"
expect_err_has "chmod 600 $D/priv.key"
chmod 600 "$D/priv.key"
cp "$FX/long.crt" "$D/cert.crt"
run check -d "$D" --json default
expect_rc 0 "leaf without intermediates is a warning"
jq -e '.certificates[0].warnings[0].code == "no-intermediates"' "$T/out" >/dev/null || fail "no-intermediates"
echo "PASS"

#!/bin/sh
# What a user says once is what cron does (issue 24), against real pebble:
# - issue from one working directory with relative paths (-d, --hook,
#   --ca-bundle, --deploy-hook); the stored settings hold absolute paths,
#   and renew from / under `env -i` (cron) renews with them;
# - a failed issue with a typo in -D and a wrong --standalone leaves the
#   stored settings as they were (compared whole, without the history of
#   the last attempt), says "names change", and the next renew orders the
#   old names; status shows the failure's text and code.
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init --validity 600 --authz-reuse 0
now=$(date +%s)
SRV=$WORK/srv
mkdir -p "$SRV/bin"
hook_script "$SRV/bin/hook.sh"
cp "$PEBBLE_CA_BUNDLE" "$SRV/ca.pem"
printf '#!/bin/sh\necho "deployed $GOPROXY_CERT_NAME" >>"%s/deploy.log"\n' "$WORK" >"$SRV/deploy.sh"
chmod +x "$SRV/deploy.sh"
G=$GOPROXY_CERT

echo "== issue from $SRV with relative paths"
(cd "$SRV" && "$G" issue -d certs -n abs -D abs.example.test --server "$PEBBLE_DIR_URL" --ca-bundle ca.pem \
	--challenge dns-01 --hook bin/hook.sh --no-dns-propagation-check --deploy-hook ./deploy.sh \
	>"$WORK/out" 2>"$WORK/err") || fail "issue with relative paths failed: $(cat "$WORK/err")"
J=$SRV/certs/.state/lineages/abs.json
[ -f "$J" ] || fail "no stored settings at $J"
for want in "$SRV/bin/hook.sh" "$SRV/ca.pem" "$SRV/deploy.sh"; do
	grep -qF "\"$want" "$J" || fail "stored settings do not hold the absolute path $want: $(cat "$J")"
done
if grep -q '"bin/hook.sh"\|"ca.pem"\|"\./deploy.sh' "$J"; then
	fail "a relative path was stored as typed: $(cat "$J")"
fi
grep -q "deployed abs" "$WORK/deploy.log" || fail "deploy hook did not run at issue"

echo "== a failed issue with a typo in the name and a wrong port changes no setting"
jq -S 'del(.last)' "$J" >"$WORK/settings.before"
cp "$SRV/certs/abs/cert.crt" "$WORK/cert.before"
if (cd "$SRV" && "$G" issue -d certs -n abs -D asb.example.test --server "$PEBBLE_DIR_URL" --ca-bundle ca.pem \
	--challenge http-01 --standalone 127.0.0.1:1 --lock-wait 5 >"$WORK/out" 2>"$WORK/err"); then
	fail "issue with --standalone on port 1 succeeded"
fi
grep -q "names change: +asb.example.test -abs.example.test" "$WORK/err" ||
	fail "the name change was not said: $(cat "$WORK/err")"
jq -S 'del(.last)' "$J" >"$WORK/settings.after"
cmp -s "$WORK/settings.before" "$WORK/settings.after" ||
	fail "a failed issue rewrote the stored settings: $(diff "$WORK/settings.before" "$WORK/settings.after")"
cmp -s "$WORK/cert.before" "$SRV/certs/abs/cert.crt" || fail "the pair changed"
[ "$(jq -r .last.result "$J")" = failed ] || fail "the failure was not recorded: $(cat "$J")"
[ -n "$(jq -r '.last.error // empty' "$J")" ] || fail "the failure's text was not recorded"

echo "== status shows the failure's text and code"
gpc status -d "$SRV/certs" --json abs
expect_rc 0
[ "$(jq -r '.certificates[0].last_result' "$WORK/out")" = failed ] || fail "status: last_result"
[ -n "$(jq -r '.certificates[0].last_error // empty' "$WORK/out")" ] || fail "status --json has no last_error"
[ -n "$(jq -r '.certificates[0].last_error_code // empty' "$WORK/out")" ] || fail "status --json has no last_error_code"
jq -e '.certificates[0] | .next_attempt != null and .next_attempt >= .next_renewal' "$WORK/out" >/dev/null ||
	fail "status --json: next_attempt missing or before next_renewal"
[ "$(jq -r '.certificates[0].settings.names | join(",")' "$WORK/out")" = abs.example.test ] ||
	fail "status --json: settings.names is not what renew will order"
gpc status -d "$SRV/certs" abs
expect_out 'last error'

echo "== renew from / under env -i, 450 s later: the stored names, hook and deploy hook"
: >"$WORK/deploy.log"
(cd / && env -i GOPROXY_CERT_NOW=$((now + 450)) "$G" renew -d "$SRV/certs" abs >"$WORK/out" 2>"$WORK/err") ||
	fail "renew from / with env -i failed: $(cat "$WORK/out" "$WORK/err")"
grep -q "abs: renewed\|abs: issued" "$WORK/out" || fail "renew did not renew abs: $(cat "$WORK/out")"
[ "$(cert_names "$SRV/certs/abs/cert.crt")" = abs.example.test ] ||
	fail "renew ordered $(cert_names "$SRV/certs/abs/cert.crt"), not the stored abs.example.test"
grep -q "deployed abs" "$WORK/deploy.log" || fail "the deploy hook did not run from cron's /"
[ "$(jq -r .last.result "$J")" = issued ] || fail "renew's success not recorded"

echo "== renew takes solver options for the lineages named, stored when renewed"
gpc renew -d "$SRV/certs" --standalone "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 64
expect_err 'apply to the lineages named'
gpc renew -d "$SRV/certs" --force --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" abs
expect_rc 0
[ "$(jq -r .solver "$J")" = standalone ] || fail "renew's --standalone was not stored: $(cat "$J")"
[ "$(jq -r .solver_arg "$J")" = "127.0.0.1:$PEBBLE_HTTP_PORT" ] || fail "renew's --standalone address not stored"

echo "== revoked is a state of its own in check and status (exit 2), until a new pair replaces it"
gpc revoke -d "$SRV/certs" --ca-bundle "$PEBBLE_CA_BUNDLE" --reason 4 abs
expect_rc 0
gpc check -d "$SRV/certs" abs
expect_rc 2
expect_out 'revoked'
expect_err 'revoked at .*reason 4 \(superseded\)'
gpc status -d "$SRV/certs" --json abs
[ "$(jq -r '.certificates[0].state' "$WORK/out")" = revoked ] || fail "status --json state is not revoked"
gpc renew -d "$SRV/certs" abs
expect_rc 0
[ "$(jq -r '.revoked // "none"' "$J")" = none ] || fail "the revocation record outlived the pair it named"
gpc check -d "$SRV/certs" abs
expect_rc 0
echo PASS

#!/bin/sh
# check and status on a store in etcd (real 3-member cluster, real pebble):
# the same answer as on a certs directory. Three lineages are issued into the
# store, exported into a directory, and both are reported at one clock:
# check's text lines, its exit code (0, then 1 at a clock where one lineage
# is due) and status's fields (--json: names, serials, not-after, due time
# and rule, CA, issuances) must be the same. Then the store-only cases: no
# seal key (certificates reported, "key not checked"), the wrong seal key (a
# clear error naming both key ids and the fix, expiry still reported), a bad
# --store URL (exit 64 naming it), every member down (exit 75 naming the
# members and the cause).
set -eu
. "$TESTS_DIR/fleet/lib.sh"
fleet_init --validity 600
# fleet_init's last command made the seal key: its id is in its output
seal_id=$(sed -n 's/.*(key id \([0-9a-f]*\)).*/\1/p' "$WORK/out")
[ -n "$seal_id" ] || fail "no key id in the output of store seal-key"
SA="127.0.0.1:$PEBBLE_HTTP_PORT"

echo "== three lineages in the store"
fissue -D boot.example.test --standalone "$SA"
expect_rc 0
fissue -n www -D www.example.test --standalone "$SA"
expect_rc 0
fissue -n api -D api.example.test -D api2.example.test --standalone "$SA"
expect_rc 0
mkdir "$WORK/exp"
gpc store export $STORE -d "$WORK/exp"
expect_rc 0
expect_out '^3 pair\(s\) copied'

# one clock for both sides, so that every field can be compared
NOW=$(date +%s)
export GOPROXY_CERT_NOW=$NOW

echo "== check --store: exit 0, the lines check -d gives for the same pairs"
gpc check $STORE
expect_rc 0
cp "$WORK/out" "$WORK/check.store"
for l in default www api; do
	grep -Eq "^$l +ok " "$WORK/check.store" || fail "check --store: no ok line for $l"
done
[ ! -s "$WORK/err" ] || fail "check --store with its seal key printed problems"
gpc check -d "$WORK/exp"
expect_rc 0
diff -u "$WORK/out" "$WORK/check.store" || fail "check --store and check -d of its export differ"

echo "== \$GOPROXY_CERT_STORE instead of --store"
GOPROXY_CERT_STORE=$S gpc check --store-seal "$SEAL" www
expect_rc 0
expect_out '^www +ok '

echo "== status --store --json: the fields status -d gives"
fields='[.certificates[] | {name, state, domains, not_before, not_after, seconds_left, due_at, due_rule,
	issuer, subject, serial, key_type, fingerprint_sha256, chain_length, ca_url, last_attempt,
	last_result, next_renewal, issuances_168h, problems}]'
gpc status $STORE --json
expect_rc 0
jq -S "$fields" "$WORK/out" >"$WORK/status.store"
jq -e --arg s "$S" '.certs_dir == $s' "$WORK/out" >/dev/null || fail "status --json: certs_dir is not the store URL"
jq -e '[.certificates[] | .cert_path | test("/fleet/pairs/")] | all' "$WORK/out" >/dev/null ||
	fail "status --json: cert_path does not name the etcd key"
jq -e '[.certificates[] | .key_mode == null and .cert_mode == null] | all' "$WORK/out" >/dev/null ||
	fail "status --json: file modes for entries in etcd"
[ "$(jq -r '.certificates[] | select(.name == "www") | .serial' "$WORK/out" | sed 's/^0*//')" = \
  "$(stored_serial www | cut -d= -f2 | tr A-F a-f | sed 's/^0*//')" ] || fail "status --json: not the serial in etcd"
gpc status -d "$WORK/exp" --json
expect_rc 0
jq -S "$fields" "$WORK/out" >"$WORK/status.dir"
diff -u "$WORK/status.dir" "$WORK/status.store" || fail "status --store --json and status -d of its export differ"
[ "$(jq length "$WORK/status.store")" = 3 ] || fail "status --json: not 3 lineages"

echo "== status --store (text)"
gpc status $STORE
expect_rc 0
expect_out "^store: $S "
for f in 'not after' 'due at' serial sha256 'ca url' 'issued \(168h\)'; do
	[ "$(grep -Ec "^  $f " "$WORK/out")" = 3 ] || fail "status text: '$f' not shown for each lineage"
done
expect_out "^  cert file +$S/pairs/www "

echo "== a due lineage: exit 1, as on the directory"
unset GOPROXY_CERT_NOW
due=$(due_clock www)
GOPROXY_CERT_NOW=$due gpc check $STORE www
expect_rc 1
expect_out '^www +due '
expect_err "/fleet/pairs/www \\(certificate\\): due for renewal since"
# the hint is a command that works on this store
grep -qF "run 'goproxy-cert renew --store $S'" "$WORK/err" || fail "the hint does not name the store"
cp "$WORK/out" "$WORK/due.store"
GOPROXY_CERT_NOW=$due gpc check -d "$WORK/exp" www
expect_rc 1
diff -u "$WORK/out" "$WORK/due.store" || fail "a due lineage: check --store and check -d differ"
GOPROXY_CERT_NOW=$due gpc check --json $STORE www
expect_rc 1
jq -e '.certificates[0].state == "due" and .certificates[0].due_rule == "half-of-lifetime"' "$WORK/out" >/dev/null ||
	fail "check --json: www not due by the half-of-lifetime rule"

echo "== no seal key: the certificates are reported, the keys said not checked"
gpc check --store "$S"
expect_rc 0
for l in default www api; do expect_out "^$l +ok "; done
expect_err 'private keys were not checked'
expect_err 'store-seal'
gpc status --store "$S" --json
expect_rc 0
jq -e '[.warnings[] | .code] | index("key-not-checked")' "$WORK/out" >/dev/null ||
	fail "status --json without a seal key: no key-not-checked warning"
jq -S "$fields" "$WORK/out" | jq -S 'map(del(.seconds_left))' >"$WORK/status.noseal"
jq -S 'map(del(.seconds_left))' "$WORK/status.store" | diff -u - "$WORK/status.noseal" ||
	fail "status without a seal key reports other certificate fields"
gpc status --store "$S"
expect_rc 0
expect_out '^  key file .*not checked'

echo "== the wrong seal key: a clear error naming the key ids, expiry still reported"
gpc store seal-key "$WORK/other.key"
expect_rc 0
other_id=$(sed -n 's/.*(key id \([0-9a-f]*\)).*/\1/p' "$WORK/out")
gpc check --store "$S" --store-seal "$WORK/other.key" www
expect_rc 2
expect_out '^www +unreadable +www.example.test +expires '
expect_err "www.*key id $seal_id.*$other_id"
expect_err 'hint: .*seal key'
gpc status --store "$S" --store-seal "$WORK/other.key" --json www
expect_rc 0
jq -e '.certificates[0].not_after != null and .certificates[0].problems[0].code == "key-not-unsealed"' \
	"$WORK/out" >/dev/null || fail "status --json with the wrong seal key"

echo "== usage errors: a bad URL, -d with --store"
gpc check --store 'etcd:/nohost'
expect_rc 64
expect_err 'etcd:/nohost'
gpc status --store 'redis://127.0.0.1:1'
expect_rc 64
expect_err 'redis://127.0.0.1:1'
gpc check --store "$S" -d "$WORK/exp"
expect_rc 64
expect_err 'give one'

echo "== every member down: exit 75 naming the members and the cause"
for i in 1 2 3; do etcd_kill $i; done
gpc check $STORE
expect_rc 75
m1=$(etcd_url 1 | sed 's|http://||')
expect_err "$m1"
expect_err 'cannot connect|connection'
expect_err 'hint: '
gpc status $STORE --json
expect_rc 75
jq -e '.problems[0].message | test("no member answered")' "$WORK/out" >/dev/null || fail "status --json: the store problem"
echo PASS

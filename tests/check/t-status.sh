#!/bin/sh
# status: text, JSON (check's fields plus the details) and Prometheus;
# exit 0 whatever the certificates' state, 2 only without a certs dir.
. "$TESTS_DIR/check/lib.sh"

make_ca
NOW=$(date +%s)
make_leaf leaf "@$((NOW - 86400))" "@$((NOW + 89 * 86400))" www.example.org example.org
make_leaf old "@$((NOW - 100 * 86400))" "@$((NOW - 10 * 86400))" old.example.org
D=$T/certs
install_pair leaf "$D"
install_pair old "$D/old"

# --- JSON ---
run status -d "$D" --json
expect_rc 0 "status exits 0 with an expired certificate"
expect_state default ok
expect_state old expired
fp=$(openssl x509 -in "$FX/leaf.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
# status prints the serial's DER bytes, with the 00 that keeps a serial whose
# first byte is >= 0x80 positive; openssl prints the number without it (1 in
# about 512 of certtool's random serials failed the compare): compare numbers.
serial=$(openssl x509 -in "$FX/leaf.crt" -noout -serial | sed 's/.*=//; s/^\(00\)*//' | tr A-F a-f)
na=$(date -u -d "$(openssl x509 -in "$FX/leaf.crt" -noout -enddate | sed 's/.*=//')" +%Y-%m-%dT%H:%M:%SZ)
jq -e --arg fp "$fp" --arg serial "$serial" --arg na "$na" '.certificates[0] |
	.name == "default" and .fingerprint_sha256 == $fp and (.serial | sub("^(00)+"; "")) == $serial
	and .not_after == $na and .issuer == "CN=Test Intermediate" and .key_type == "ec256"
	and .chain_length == 2 and .cert_mode == "0644" and .key_mode == "0600"
	and .ca_url == null and .last_attempt == null and .last_result == null
	and .next_renewal == null and .issuances_168h == null
	and (.seconds_left | type) == "number" and .due_rule == "third-of-lifetime"' "$T/out" >/dev/null ||
	fail "status JSON fields (fingerprint $fp, serial $serial, not_after $na)"
jq -e '.certificates[1].problems[0].code == "expired"' "$T/out" >/dev/null || fail "expired problem"
run status -d "$D" --format json
expect_rc 0
expect_state old expired

# --- text ---
run status -d "$D"
expect_rc 0 "text"
expect_out_has "default: ok"
expect_out_has "old: expired"
expect_out_has "sha256        $fp"
expect_out_has "key file      $D/priv.key (mode 0600)"
expect_out_has "problem: $D/old/cert.crt: expired on"
run status -d "$D" old
expect_rc 0 "one lineage"
grep -q "^default" "$T/out" && fail "only the named lineage"

# --- Prometheus ---
run status -d "$D" --format prometheus
expect_rc 0 "prometheus"
na_s=$(date -d "$na" +%s)
nb_s=$(date -d "$(openssl x509 -in "$FX/leaf.crt" -noout -startdate | sed 's/.*=//')" +%s)
expect_out_has '# HELP goproxy_cert_not_after_seconds '
expect_out_has '# TYPE goproxy_cert_not_after_seconds gauge'
expect_out_has "goproxy_cert_not_after_seconds{name=\"default\",domains=\"www.example.org,example.org\"} $na_s"
expect_out_has "goproxy_cert_not_before_seconds{name=\"default\",domains=\"www.example.org,example.org\"} $nb_s"
expect_out_has 'goproxy_cert_state{name="default",state="ok"} 1'
expect_out_has 'goproxy_cert_state{name="default",state="expired"} 0'
expect_out_has 'goproxy_cert_state{name="old",state="expired"} 1'
expect_out_has '# TYPE goproxy_cert_last_check_timestamp_seconds gauge'
grep -Eq '^goproxy_cert_last_check_timestamp_seconds [0-9]+$' "$T/out" || fail "last check metric"
# every sample line belongs to a family announced by HELP and TYPE before it
awk '/^# TYPE /{t[$3]=1; next} /^#/{next} {n=$1; sub(/\{.*/, "", n); if (!(n in t)) {print "no TYPE for " n; exit 1}}' "$T/out" ||
	fail "prometheus format"
# a family's samples are contiguous
awk '/^#/{next} {n=$1; sub(/\{.*/, "", n); if (n != last && (n in seen)) {print "split " n; exit 1} seen[n]=1; last=n}' "$T/out" ||
	fail "prometheus families split"

# --- many lineages: parsed on several threads, reported in name order ---
M=$T/many
mkdir "$M"
seq -f "$M/l%03g" 0 299 | xargs mkdir
cat "$FX/leaf.crt" "$FX/int.crt" >"$T/chain"
awk -v m="$M" -v c="$T/chain" -v k="$FX/leaf.key" 'BEGIN {
	while ((getline l < c) > 0) cc = cc l "\n"
	while ((getline l < k) > 0) kk = kk l "\n"
	for (i = 0; i < 300; i++) {
		p = sprintf("%s/l%03d/cert.crt", m, i); printf "%s", cc > p; close(p)
		p = sprintf("%s/l%03d/priv.key", m, i); printf "%s", kk > p; close(p)
	}
}'
chmod 600 "$M"/*/priv.key
: >"$M/l150/cert.crt"
run status -d "$M" --json
expect_rc 0 "300 lineages"
[ "$(jq '.certificates | length' "$T/out")" -eq 300 ] || fail "300 lineages listed"
[ "$(jq -r '[.certificates[].name] | join(",")' "$T/out")" = "$(seq -s, -f 'l%03g' 0 299)" ] || fail "name order"
[ "$(jq '[.certificates[] | select(.state == "ok")] | length' "$T/out")" -eq 299 ] || fail "299 ok"
expect_state l150 invalid
jq -e --arg fp "$fp" 'all(.certificates[] | select(.name != "l150"); .fingerprint_sha256 == $fp)' "$T/out" >/dev/null ||
	fail "every lineage parsed"

# --- certs dir problems: exit 2 ---
run status -d "$T/nonexistent" --json
expect_rc 2 "status without a certs dir"
jq -e '.problems[0].code == "missing"' "$T/out" >/dev/null || fail "dir problem"
expect_err_has "$T/nonexistent: open certs directory failed"
run status -d "$T/nonexistent"
expect_rc 2
expect_out_has "$T/nonexistent: open certs directory failed"
echo "PASS"

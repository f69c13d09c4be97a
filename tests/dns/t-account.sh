#!/bin/sh
# dns-account-01 through a built-in provider (rfc2136 into knot, a
# secondary 3 s behind its primary, pebble 2.10 validating through the
# secondary): two certs directories (two accounts) validate one name at
# the same time, each at its own _LABEL._acme-challenge.NAME. Asserted:
# both issued with no failed validation (the propagation check waited for
# the secondary at each account's own name), the records gone afterwards,
# the lineage keeps dns-account-01 with the provider.
set -eu
. "$TESTS_DIR/dns/common.sh"
command -v jq >/dev/null || { echo "SKIP: jq missing" >&2; exit 77; }
dns_init
knot_start --lag 3 acct.test
pebble_start --dnsserver "$KNOT_SECONDARY:53" --authz-reuse 0
export RFC2136_NAMESERVER=$KNOT_PRIMARY RFC2136_TSIG_KEY=$KNOT_KEY_NAME RFC2136_TSIG_SECRET=$KNOT_KEY_SECRET
label() { printf %s "$1" | openssl dgst -sha256 -binary | head -c 10 | base32 | tr -d '=' | tr 'A-Z' 'a-z'; }

run_issue() { # DIR
	"$GOPROXY_CERT" issue -d "$1" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -v \
		-D www.acct.test --dns rfc2136 --dns-resolver "$KNOT_PRIMARY" --challenge dns-account-01 \
		>"$1.out" 2>"$1.err"
}
A=$WORK/a B=$WORK/b
rca=0 rcb=0
run_issue "$A" & pa=$!
run_issue "$B" & pb=$!
wait $pa || rca=$?
wait $pb || rcb=$?
cat "$A.out" "$A.err" "$B.out" "$B.err" >>"$WORK/log"
[ "$rca" = 0 ] && [ "$rcb" = 0 ] || fail "exit $rca and $rcb: $(cat "$A.err" "$B.err")"
[ "$(grep -c 'set INVALID' "$PEBBLE_LOG" || :)" = 0 ] || fail "a validation failed"
for d in "$A" "$B"; do
	u=$(jq -r .url "$d"/.state/accounts/*/account.json)
	rec="_$(label "$u")._acme-challenge.www.acct.test"
	grep -q "added at $rec\.\? through rfc2136" "$d.err" || fail "$d: not written at $rec: $(cat "$d.err")"
	grep -q "every authoritative server serves the record" "$d.err" || fail "$d: no propagation check"
	[ -z "$(knot_txt "$KNOT_PRIMARY" "$rec")" ] || fail "$rec left behind"
	[ "$(jq -r .challenge "$d/.state/lineages/default.json")" = dns-account-01 ] || fail "$d: challenge not stored"
	[ "$(jq -r .dns.provider "$d/.state/lineages/default.json")" = rfc2136 ] || fail "$d: provider not stored"
done
echo "PASS"

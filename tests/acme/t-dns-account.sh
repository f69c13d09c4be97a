#!/bin/sh
# dns-account-01 (draft-ietf-acme-dns-account-label) on pebble 2.10: two
# certs directories (two accounts: two fleets, or staging and production)
# validate one name at the same time through uacme-style hooks writing into
# challtestsrv. Asserted:
#   the record of each account is _LABEL._acme-challenge.NAME., LABEL the
#     lowercase unpadded base32 of the first 10 bytes of SHA-256(account
#     URL) (computed here with openssl and base32), given to the hook in
#     $GOPROXY_CERT_DNS_RECORD with the TXT value as AUTH;
#   both runs, started together, while both records are up (each hook
#     waits for the other's record before it returns), get a certificate;
#   the lineage stores dns-account-01, so renew --force answers it again;
#   --challenge dns-account-01 with no --hook/--dns: exit 64 naming them.
set -eu
. "$TESTS_DIR/acme/common.sh"
command -v jq >/dev/null || { echo "SKIP: jq missing" >&2; exit 77; }
command -v base32 >/dev/null || { echo "SKIP: base32 (coreutils) missing" >&2; exit 77; }
acme_init --authz-reuse 0

H=$WORK/account-hook.sh
cat >"$H" <<HOOK
#!/bin/sh
# uacme hook: method type ident token auth; the record in \$GOPROXY_CERT_DNS_RECORD
echo "\$1 \$2 \$3 \${GOPROXY_CERT_DNS_RECORD:-none} \$5" >>"$WORK/hook.calls"
case "\$1:\$2" in
begin:dns-account-01)
	curl -fsS -X POST -d "{\"host\":\"\$GOPROXY_CERT_DNS_RECORD\",\"value\":\"\$5\"}" "$CHALLTEST_MGMT/set-txt" >/dev/null
	# both accounts at once: return when the other's record is up too (at most 20 s)
	i=0
	while [ "\$(grep -c '^begin ' "$WORK/hook.calls")" -lt 2 ] && [ \$i -lt 200 ]; do sleep 0.1; i=\$((i + 1)); done
	;;
done:dns-account-01|failed:dns-account-01)
	curl -fsS -X POST -d "{\"host\":\"\$GOPROXY_CERT_DNS_RECORD\"}" "$CHALLTEST_MGMT/clear-txt" >/dev/null
	;;
*) exit 1 ;;
esac
HOOK
chmod +x "$H"
label() { printf %s "$1" | openssl dgst -sha256 -binary | head -c 10 | base32 | tr -d '=' | tr 'A-Z' 'a-z'; }
acct_url() { jq -r .url "$1"/.state/accounts/*/account.json; }

echo "== no hook: 64"
issue -D shared.example.test --challenge dns-account-01
expect_rc 64
expect_err 'dns-account-01 needs --dns PROVIDER or --hook PROGRAM'

echo "== two accounts, one name, at once"
A=$WORK/a B=$WORK/b
run_issue() { # DIR
	"$GOPROXY_CERT" issue -d "$1" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
		--no-dns-propagation-check -D shared.example.test --challenge dns-account-01 --hook "$H" \
		>"$1.out" 2>"$1.err"
}
rca=0 rcb=0
run_issue "$A" & pa=$!
run_issue "$B" & pb=$!
wait $pa || rca=$?
wait $pb || rcb=$?
cat "$A.out" "$A.err" "$B.out" "$B.err" >>"$WORK/log"
[ "$rca" = 0 ] && [ "$rcb" = 0 ] || fail "exit $rca and $rcb: $(cat "$A.err" "$B.err")"
[ "$(cert_names "$A/cert.crt")" = shared.example.test ] && [ "$(cert_names "$B/cert.crt")" = shared.example.test ] ||
	fail "names"
ua=$(acct_url "$A") ub=$(acct_url "$B")
[ "$ua" != "$ub" ] || fail "one account for both directories"
ra="_$(label "$ua")._acme-challenge.shared.example.test."
rb="_$(label "$ub")._acme-challenge.shared.example.test."
grep -qx "begin dns-account-01 shared.example.test $ra [A-Za-z0-9_-]\{43\}" "$WORK/hook.calls" ||
	fail "no begin for $ra: $(cat "$WORK/hook.calls")"
grep -qx "begin dns-account-01 shared.example.test $rb [A-Za-z0-9_-]\{43\}" "$WORK/hook.calls" ||
	fail "no begin for $rb: $(cat "$WORK/hook.calls")"
grep -q "^done dns-account-01 shared.example.test $ra " "$WORK/hook.calls" || fail "record $ra not removed"
[ "$(jq -r .challenge "$A/.state/lineages/default.json")" = dns-account-01 ] || fail "challenge not stored"

echo "== renew answers dns-account-01 again"
: >"$WORK/hook.calls"
echo "begin (the other account)" >>"$WORK/hook.calls"
gpc renew -d "$A" --force
expect_rc 0
grep -qx "begin dns-account-01 shared.example.test $ra [A-Za-z0-9_-]\{43\}" "$WORK/hook.calls" ||
	fail "renew did not answer dns-account-01: $(cat "$WORK/hook.calls")"
echo "PASS"

#!/bin/sh
# issue --dns rfc2136 end to end: real pebble validating against a knot
# secondary that lags 3 s behind its primary (no NOTIFY). Without the
# propagation check the validation fails; with it, a wildcard and its apex
# are issued with no failed validation; CNAME delegation; a wrong TSIG
# secret (exit 1, the server and the TSIG error named, nothing written);
# secrets only in .state/secrets (0600), never in -vv, --json or status;
# renew from an empty environment; the records of a killed run removed by
# the next run.
set -eu
. "$TESTS_DIR/dns/common.sh"
dns_init
knot_start --lag 5 example.test delegated.test  # 5 s: the check must see ns2 behind even on a loaded machine
pebble_start --dnsserver "$KNOT_SECONDARY:53"
CERTS=$WORK/certs
export RFC2136_NAMESERVER=$KNOT_PRIMARY RFC2136_TSIG_KEY=$KNOT_KEY_NAME RFC2136_TSIG_SECRET=$KNOT_KEY_SECRET
DNS="--dns rfc2136 --dns-resolver $KNOT_PRIMARY"
failed_validations() { grep -c 'set INVALID' "$PEBBLE_LOG" || :; }

echo "== without the propagation check: the CA asks the lagging secondary, validation fails"
issue -n nocheck -D nocheck.example.test $DNS --no-dns-propagation-check
expect_rc 1
expect_err 'dns-01 challenge for nocheck.example.test failed'
# the hint names the record, its zone and the provider
expect_err 'hint: TXT "[A-Za-z0-9_-]{43}" was added at _acme-challenge.nocheck.example.test.? \(zone example.test.?\) through rfc2136'
[ ! -e "$CERTS/nocheck" ] || fail "nocheck written"
BEFORE=$(failed_validations)
[ "$BEFORE" -ge 1 ] || fail "pebble logged no failed validation"

echo "== with it: wildcard + apex issued, no failed validation, records removed after"
issue -v -D example.test -D '*.example.test' $DNS
expect_rc 0
expect_out '^default: issued'
expect_err 'round 1: 1 of 2 servers serve the values; waiting for ns2.example.test.'
[ "$(failed_validations)" = "$BEFORE" ] || fail "a validation failed: $(failed_validations) > $BEFORE"
openssl x509 -in "$CERTS/cert.crt" -noout -ext subjectAltName | grep -q 'DNS:\*.example.test' || fail "no wildcard SAN"
[ -z "$(knot_txt "$KNOT_PRIMARY" _acme-challenge.example.test)" ] || fail "records left: $(knot_txt "$KNOT_PRIMARY" _acme-challenge.example.test)"

echo "== secrets: only in .state/secrets/default.json (0600), never in output"
L=$CERTS/.state/lineages/default.json S=$CERTS/.state/secrets/default.json
grep -q '"provider": "rfc2136"' "$L" || fail "provider not stored: $(cat "$L")"
grep -q "\"tsig_key\": \"$KNOT_KEY_NAME\"" "$L" || fail "key name not stored"
! grep -qF "$KNOT_KEY_SECRET" "$L" || fail "the secret is in the lineage file"
grep -qF "$KNOT_KEY_SECRET" "$S" || fail "the secret is not in $S"
[ "$(stat -c %a "$S")" = 600 ] || fail "$S mode $(stat -c %a "$S")"
! grep -rqF "$KNOT_KEY_SECRET" "$WORK/log" || fail "the secret appeared in an output"
issue -vv --force --json -D example.test -D '*.example.test' $DNS --no-dns-propagation-check --dns-propagation-timeout 5 || :
expect_rc 64
issue -vv --json -D example.test -D '*.example.test' $DNS
expect_rc 0
expect_no "$KNOT_KEY_SECRET"
gpc status -d "$CERTS" --json
expect_no "$KNOT_KEY_SECRET"
# status says how renew will answer: the provider, not its options
jq -e '.certificates[] | select(.name == "default") | .dns_provider == "rfc2136" and .challenge == "dns-01"' \
	"$WORK/out" >/dev/null || fail "status --json does not name the dns provider"
gpc status -d "$CERTS" default
expect_out '^  renewed by +dns-01 through rfc2136$'
expect_no "$KNOT_KEY_SECRET"

echo "== renew from an empty environment (cron): the stored settings and secrets suffice"
BEFORE=$(failed_validations)
run_logged env env -i PATH=/usr/bin:/bin "$GOPROXY_CERT" renew -d "$CERTS" --force
expect_rc 0
expect_out 'default: issued'
[ "$(failed_validations)" = "$BEFORE" ] || fail "a validation failed during renew"

echo "== CNAME delegation: the record goes to the CNAME's target"
# (in the same zone here: knot, asked directly by pebble, follows a CNAME
# only inside a zone; into another zone is in dns-rfc2136)
knot_update "zone example.test.
update add _acme-challenge.cn.example.test. 60 CNAME cn-target.example.test."
issue -v -n cn -D cn.example.test $DNS
expect_rc 0
expect_err '_acme-challenge.cn.example.test. is a CNAME for cn-target.example.test.'
expect_err 'TXT record for cn.example.test added at cn-target.example.test. through rfc2136'

echo "== a wrong TSIG secret: exit 1, the server and BADSIG named, nothing written"
RFC2136_TSIG_SECRET=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= issue -n badkey -D bad.example.test $DNS
expect_rc 1
expect_err "rfc2136: $KNOT_PRIMARY refused the update of _acme-challenge.bad.example.test. in zone example.test.: NOTAUTH, TSIG error BADSIG"
[ ! -e "$CERTS/badkey" ] && [ ! -e "$CERTS/.state/lineages/badkey.json" ] && [ ! -e "$CERTS/.state/secrets/badkey.json" ] ||
	fail "something was written for badkey"
[ ! -e "$CERTS/.state/dns-records/badkey.json" ] || fail "a record of an update that was refused"

echo "== a missing option: 64 naming the option and the provider, before any request"
N=$(pebble_count 'POST /order-plz')
RFC2136_NAMESERVER= issue -n noopt -D noopt.example.test --dns rfc2136
expect_rc 64
expect_err 'dns provider rfc2136: option nameserver \(RFC2136_NAMESERVER\) is missing'
issue -n typo -D typo.example.test --dns cloudflar
expect_rc 64
expect_err "--dns: 'cloudflar' is not a provider supported here \\(rfc2136, pdns, [a-z, ]+, httpreq\\); the closest is 'cloudflare'"
[ "$(pebble_count 'POST /order-plz')" = "$N" ] || fail "an order was placed"

echo "== --hook dns-01 gets the propagation check too"
cat >"$WORK/hook.sh" <<EOH
#!/bin/sh
[ "\$2" = dns-01 ] || exit 1
case \$1 in
begin) op=add ;;
*) op=delete ;;
esac
printf 'server %s 53\nzone example.test.\nupdate %s _acme-challenge.%s. 60 TXT "%s"\nsend\n' \
	"$KNOT_PRIMARY" "\$op" "\${3#\\*.}" "\$5" | knsupdate -y "hmac-sha256:$KNOT_KEY_NAME:$KNOT_KEY_SECRET"
EOH
chmod +x "$WORK/hook.sh"
BEFORE=$(failed_validations)
issue -v -n hooked -D hooked.example.test --challenge dns-01 --hook "$WORK/hook.sh" --dns-resolver "$KNOT_PRIMARY"
expect_rc 0
expect_err 'waiting for ns2.example.test.'
[ "$(failed_validations)" = "$BEFORE" ] || fail "a validation failed with the hook"

echo "== a run killed after adding its record: the next run removes it"
knot_lag 30
( exec "$GOPROXY_CERT" issue -d "$CERTS" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
	-n killed -D killed.example.test $DNS >"$WORK/killed.out" 2>&1 ) &
KPID=$!
_i=0
until [ -n "$(knot_txt "$KNOT_PRIMARY" _acme-challenge.killed.example.test)" ]; do
	_i=$((_i + 1)); [ $_i -lt 100 ] || fail "the killed run never added its record"; sleep 0.1
done
kill -9 "$KPID"
wait "$KPID" 2>/dev/null || :
OLD=$(knot_txt "$KNOT_PRIMARY" _acme-challenge.killed.example.test)
[ -s "$CERTS/.state/dns-records/killed.json" ] || fail "what was added is not recorded"
knot_lag 1
issue -vv -n killed -D killed.example.test $DNS
expect_rc 0
expect_err 'removed 1 TXT record left by an earlier run'
[ -z "$(knot_txt "$KNOT_PRIMARY" _acme-challenge.killed.example.test)" ] || fail "left: $(knot_txt "$KNOT_PRIMARY" _acme-challenge.killed.example.test) (old $OLD)"
[ ! -e "$CERTS/.state/dns-records/killed.json" ] || fail "record of added values not dropped"
echo "ok"

#!/bin/sh
# rfc2136 against a real knot primary (TSIG) with a lagging secondary, and
# the propagation check: two values on one name, removal of one value only,
# the secondary's lag, CNAME delegation into another zone, the TSIG errors
# named with the server, and the timeout report naming each server.
set -eu
. "$TESTS_DIR/dns/common.sh"
dns_init
knot_start --lag 5 example.test delegated.test  # 5 s: the check must see ns2 behind even on a loaded machine
export RFC2136_NAMESERVER=$KNOT_PRIMARY RFC2136_TSIG_KEY=$KNOT_KEY_NAME RFC2136_TSIG_SECRET=$KNOT_KEY_SECRET
R="-r $KNOT_PRIMARY"

echo "== two values on one name (a wildcard and its apex), both added"
tool $R present rfc2136 example.test value-apex
expect_rc 0
tool $R present rfc2136 '*.example.test' value-wild
expect_rc 0
[ "$(knot_txt "$KNOT_PRIMARY" _acme-challenge.example.test | tr '\n' ' ')" = "value-apex value-wild " ] ||
	fail "primary: $(knot_txt "$KNOT_PRIMARY" _acme-challenge.example.test)"
[ -z "$(knot_txt "$KNOT_SECONDARY" _acme-challenge.example.test)" ] || fail "the secondary does not lag"

echo "== the check waits for the lagging secondary, then every server serves both"
tool -v -t 30 $R check example.test value-apex '*.example.test' value-wild
expect_rc 0
expect_err 'round 1: 1 of 2 servers serve the values; waiting for ns2.example.test. \('"$KNOT_SECONDARY"'\)'
expect_err 'every authoritative server serves the record'
[ "$(knot_txt "$KNOT_SECONDARY" _acme-challenge.example.test | tr '\n' ' ')" = "value-apex value-wild " ] ||
	fail "the check returned before the secondary had both"

echo "== cleanup removes one value, the other stays"
tool $R cleanup rfc2136 '*.example.test' value-wild
expect_rc 0
[ "$(knot_txt "$KNOT_PRIMARY" _acme-challenge.example.test)" = value-apex ] || fail "cleanup removed too much"

echo "== a timeout names each server that does not serve the value and what it has"
tool -t 2 $R check example.test value-missing
expect_rc 1
expect_err "propagation: time limit of 2 s exceeded"
expect_err "NS ns1.example.test. \\($KNOT_PRIMARY\\) does not serve the TXT value at _acme-challenge.example.test.: it has 1 TXT value \\(\"value-apex\"\\)"
expect_err "NS ns2.example.test. \\($KNOT_SECONDARY\\)"

echo "== CNAME delegation: the record goes to the target, in the target's zone"
tool $R target www.example.test
expect_rc 0
expect_out '^_acme-challenge.www.example.test. example.test.$'
knot_update "zone example.test.
update add _acme-challenge.www.example.test. 60 CNAME _acme-challenge.www.delegated.test."
tool $R target www.example.test
expect_rc 0
expect_out '^_acme-challenge.www.delegated.test. delegated.test.$'
tool $R present rfc2136 www.example.test value-delegated
expect_rc 0
expect_out '^present _acme-challenge.www.delegated.test. delegated.test.$'
[ "$(knot_txt "$KNOT_PRIMARY" _acme-challenge.www.delegated.test)" = value-delegated ] || fail "not in the target zone"
tool -t 30 $R check www.example.test value-delegated
expect_rc 0

echo "== a wrong TSIG secret: the server and the TSIG error are named, the secret is not"
BAD=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
RFC2136_TSIG_SECRET=$BAD tool $R present rfc2136 bad.example.test value-bad
expect_rc 1
expect_err "rfc2136: $KNOT_PRIMARY refused the update of _acme-challenge.bad.example.test. in zone example.test.: NOTAUTH, TSIG error BADSIG"
expect_no "$BAD"
expect_no "$KNOT_KEY_SECRET"
RFC2136_TSIG_KEY=nosuch.key tool $R present rfc2136 bad.example.test value-bad
expect_rc 1
expect_err 'TSIG error BADKEY'
expect_err 'no key named nosuch.key.'
[ -z "$(knot_txt "$KNOT_PRIMARY" _acme-challenge.bad.example.test)" ] || fail "a refused update was applied"

echo "== options: the secret from NAME_FILE; missing/malformed ones are usage errors (64)"
printf '%s\n' "$KNOT_KEY_SECRET" >"$WORK/secret"
RFC2136_TSIG_SECRET= RFC2136_TSIG_SECRET_FILE=$WORK/secret tool $R present rfc2136 file.example.test value-file
expect_rc 0
RFC2136_NAMESERVER= tool validate rfc2136
expect_rc 64
expect_err 'dns provider rfc2136: option nameserver \(RFC2136_NAMESERVER\) is missing'
RFC2136_TSIG_ALGORITHM=hmac-sha3 tool validate rfc2136
expect_rc 64
expect_err "tsig_algorithm .*'hmac-sha3' is not supported"
tool -o tsig_algorithm=hmac-sha512 validate rfc2136
expect_rc 0
expect_out '^tsig_algorithm=hmac-sha512$'
expect_out '^tsig_secret=\(secret\)$'
echo "ok"

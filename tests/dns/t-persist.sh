#!/bin/sh
# dns-persist-01 against real authoritative servers: knot (a primary and a
# secondary 3 s behind it, no NOTIFY) serving persist.test, pebble 2.10
# validating through the secondary. Asserted:
#   persist-record --dns rfc2136 creates the record once on the primary
#     (the secrets from the environment, none stored: no lineage, no
#     .state/secrets, no dns-records bookkeeping);
#   issue --challenge dns-persist-01 at once: exit 75 naming the secondary
#     (NS ns2.persist.test) and what it answered, nothing answered at the CA;
#   once the secondary has it: issued, with no DNS provider, option or secret
#     stored, and renew --force issues again with the environment emptied;
#   --dns acmedns is refused (64: it writes only _acme-challenge records).
set -eu
. "$TESTS_DIR/dns/common.sh"
command -v jq >/dev/null || { echo "SKIP: jq missing" >&2; exit 77; }
dns_init
knot_start --lag 3 persist.test
pebble_start --dnsserver "$KNOT_SECONDARY:53" --authz-reuse 0
CERTS=$WORK/certs
R="--dns-resolver $KNOT_PRIMARY"

echo "== persist-record --dns rfc2136: the record created once"
RFC2136_NAMESERVER=$KNOT_PRIMARY RFC2136_TSIG_KEY=$KNOT_KEY_NAME RFC2136_TSIG_SECRET=$KNOT_KEY_SECRET \
	gpc persist-record -d "$CERTS" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
	-D persist.test --dns rfc2136 $R
expect_rc 0
expect_err 'created _validation-persist\.persist\.test\.? IN TXT "pebble\.letsencrypt\.org; accounturi=[^"]*" through rfc2136'
expect_no "$KNOT_KEY_SECRET"
value=$(sed -n 's/.* IN TXT "\(.*\)"$/\1/p' "$WORK/out")
[ "$(knot_txt "$KNOT_PRIMARY" _validation-persist.persist.test)" = "$value" ] ||
	fail "the primary serves '$(knot_txt "$KNOT_PRIMARY" _validation-persist.persist.test)', not '$value'"
[ ! -e "$CERTS/.state/lineages/default.json" ] && [ ! -e "$CERTS/.state/secrets" ] && [ ! -e "$CERTS/.state/dns-records" ] ||
	fail "persist-record stored something: $(ls -R "$CERTS/.state")"

echo "== issue at once: the secondary lags, 75 naming it, nothing answered"
issue -D persist.test --challenge dns-persist-01 $R
if [ "$RC" = 75 ]; then
	expect_err 'NS ns2\.persist\.test\.? \([0-9.]*\): it (answered NXDOMAIN|has no TXT record there)'
	[ "$(pebble_count 'POST /chalZ/')" = 0 ] || fail "a challenge was answered"
else
	# the secondary may have caught up already on a slow machine
	echo "note: the secondary had the record already (exit $RC)"
fi

echo "== once the secondary serves it: issued, nothing about DNS stored"
i=0
while [ "$(knot_txt "$KNOT_SECONDARY" _validation-persist.persist.test)" != "$value" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "the secondary never got the record"; sleep 0.2
done
issue -D persist.test --challenge dns-persist-01 $R
expect_rc 0
L=$CERTS/.state/lineages/default.json
[ "$(jq -r '.dns.provider // "none"' "$L")" = none ] || fail "a provider is stored"
! grep -rqF "$KNOT_KEY_SECRET" "$CERTS" || fail "the TSIG secret is stored"
env -u RFC2136_NAMESERVER -u RFC2136_TSIG_KEY -u RFC2136_TSIG_SECRET "$GOPROXY_CERT" renew -d "$CERTS" --force \
	>"$WORK/out" 2>"$WORK/err" || fail "renew --force: $(cat "$WORK/err")"
grep -q '^default: issued' "$WORK/out" || fail "renew did not issue: $(cat "$WORK/out")"

echo "== acmedns cannot write it"
gpc persist-record -d "$CERTS" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -D persist.test \
	--dns acmedns --dns-opt api_base=http://127.0.0.1:9 $R
expect_rc 64
expect_err 'acmedns writes only _acme-challenge records'
echo "PASS"

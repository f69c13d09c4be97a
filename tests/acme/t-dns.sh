#!/bin/sh
# dns-01 through a uacme-style hook that sets TXT records in challtestsrv,
# wildcards, a hook that declines (next type tried), "Could not find solver",
# and the usage errors about wildcards.
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init
hook_script "$WORK/hook.sh"

echo "== dns-01 via hook, two names"
issue -n dns -D d1.example.test -D d2.example.test --challenge dns-01 --hook "$WORK/hook.sh"
expect_rc 0
expect_out '^dns: issued'
[ "$(cert_names "$CERTS/dns/cert.crt" | tr '\n' ' ')" = "d1.example.test d2.example.test " ] || fail "names"
grep -q '^begin dns-01 d1.example.test [A-Za-z0-9_-]* [A-Za-z0-9_-]\{43\}$' "$WORK/hook.calls" ||
	fail "hook not called as uacme does: $(cat "$WORK/hook.calls")"
grep -q '^done dns-01 d2.example.test ' "$WORK/hook.calls" || fail "no 'done' call"
# pebble accepted the TXT values, so AUTH was base64url(SHA-256(key authorization)).
[ "$(grep -c '^begin dns-01' "$WORK/hook.calls")" = 2 ] || fail "two begin calls expected"

echo "== wildcard with dns-01"
issue -n wild -D '*.wild.example.test' -D wild.example.test --challenge dns-01 --hook "$WORK/hook.sh"
expect_rc 0
expect_out '^wild: issued'
cert_names "$CERTS/wild/cert.crt" | grep -qxF '*.wild.example.test' || fail "wildcard SAN missing"

echo "== wildcard without dns-01 is a usage error (64), nothing written"
issue -n wild2 -D '*.w2.example.test' --standalone "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 64
expect_err 'wildcard.*only the dns-01 challenge'
[ ! -e "$CERTS/wild2" ] || fail "wild2 directory created"
issue -n wild3 -D '*.w3.example.test' --challenge http-01 --hook "$WORK/hook.sh"
expect_rc 64
expect_err 'dns-01'

echo "== dns-01 without a hook: 64, says what answers it"
issue -n nohook -D nohook.example.test --challenge dns-01
expect_rc 64
expect_err 'dns-01 needs --dns PROVIDER or --hook PROGRAM'
[ ! -e "$CERTS/nohook" ] || fail "nohook written"

echo "== hook without --challenge: declines http-01 (exit 1), dns-01 is taken next"
: >"$WORK/hook.calls"
issue -n anytype -D any.example.test --hook "$WORK/hook.sh"
expect_rc 0
grep -q '^begin dns-01 any.example.test' "$WORK/hook.calls" || fail "dns-01 not tried after the decline"

echo "== a hook that declines everything: Could not find solver, offered types and flags"
printf '#!/bin/sh\nexit 1\n' >"$WORK/no.sh"
chmod +x "$WORK/no.sh"
issue -n nosolver -D none.example.test --hook "$WORK/no.sh"
expect_rc 1
expect_err 'Could not find solver for none.example.test: the CA offered .*http-01'
expect_err 'dns-01: --dns PROVIDER .* or --challenge dns-01 --hook PROGRAM'
[ ! -e "$CERTS/nosolver" ] || fail "nosolver directory created"
[ ! -e "$CERTS/.state/lineages/nosolver.json" ] || fail "lineage stored for a failed first issue"
echo "ok"

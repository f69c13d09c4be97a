#!/bin/sh
# renew and pairs that no `issue` manages (issue 24): a certs directory moved
# over from GoDoxy (plain cert.crt + priv.key, no .state) whose certificate
# expired, and a NAME/ pair that is due: renew -q names each on stderr with
# how to adopt it, and exits 1; a current one is not named; nothing is
# written and the CA is not asked (no settings: nothing to ask it). A typo in
# a lineage's name gets "did you mean" with the closest one.
. "$TESTS_DIR/check/lib.sh"
make_ca
now=$(date +%s)
make_leaf old "@$((now - 100 * 86400))" "@$((now - 86400))" old.example.test www.old.example.test
make_leaf due "@$((now - 80 * 86400))" "@$((now + 10 * 86400))" due.example.test
make_leaf ok "@$((now - 86400))" "@$((now + 89 * 86400))" ok.example.test
C=$T/certs
install_pair old "$C"
install_pair due "$C/due"
install_pair ok "$C/fine"
before=$(snapshot "$C")
run renew -q -d "$C"
expect_rc 1 "renew -q with an expired unmanaged pair"
expect_err_has "default: expired at"
expect_err_has "no 'issue' manages it"
expect_err_has "goproxy-cert issue -d $C -D old.example.test -D www.old.example.test"
expect_err_has "due: due since"
expect_err_has "-n due -D due.example.test"
if grep -q "fine" "$T/err"; then fail "a current unmanaged pair was named"; fi
[ ! -s "$T/out" ] || fail "renew -q printed on stdout"
[ "$before" = "$(snapshot "$C")" ] || fail "renew wrote into the certs directory"
# only current pairs: nothing said, exit 0
rm -rf "$C/due"
rm -f "$C/cert.crt" "$C/priv.key"
run renew -q -d "$C"
expect_rc 0 "renew -q with only a current unmanaged pair"
[ ! -s "$T/err" ] || fail "renew -q said something about a current pair"

# a typo in a lineage's name: check, status and renew name the closest one
run check -d "$C" fnie
expect_rc 2 "check of a lineage that does not exist"
expect_err_has "did you mean 'fine'? (no lineage 'fnie' here)"
run status -d "$C" fnie
expect_out_has "hint: did you mean 'fine'?"
run renew -d "$C" fnie
expect_rc 1 "renew of a lineage that does not exist"
expect_err_has "did you mean 'fine'? (renew fine)"
run check -d "$C" zzzz
expect_rc 2 "check of a lineage with no close name"
expect_err_has "get one with 'goproxy-cert issue -n zzzz -D NAME'"
echo ok

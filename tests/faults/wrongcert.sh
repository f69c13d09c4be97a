#!/bin/sh
# The CA sends a certificate that does not fit (issue 5: never lose a
# working certificate). The relay in front of the real pebble replaces the
# downloaded chain with: a certificate for another key, one for other names
# (made with the lineage's own key, --reuse-key), an expired one (own key,
# right names). Each time: exit 1 naming the certificate URL and the cause,
# the pair on disk byte-identical, no temp file; then the real chain again
# is installed.
set -eu
. "$TESTS_DIR/faults/common.sh"
faults_init
need_cli issue
command -v certtool >/dev/null 2>&1 || skip "certtool (gnutls-bin) missing"
pebble_start

D=$WORK/certs
relay_start
issue_via "$RELAY_URL" "$D" -n w -D w.example.test --reuse-key
expect_rc 0
pair_ok "$D/w/cert.crt" "$D/w/priv.key" || fail "first pair"
relay_stop
cp "$D/w/cert.crt" "$WORK/good.crt"
cp "$D/w/priv.key" "$WORK/good.key"

# selfsigned OUT KEY NAME [activation expiration]: a certificate by certtool
selfsigned() {
	{
		echo "cn = $3"
		echo "dns_name = $3"
		echo "tls_www_server"
		if [ $# -ge 5 ]; then
			echo "activation_date = \"$4\""
			echo "expiration_date = \"$5\""
		else
			echo "expiration_days = 30"
		fi
	} >"$WORK/tmpl"
	certtool --generate-self-signed --load-privkey "$2" --template "$WORK/tmpl" --outfile "$1" 2>/dev/null ||
		die "certtool failed"
}
certtool --generate-privkey --key-type ecdsa --outfile "$WORK/other.key" 2>/dev/null

# wrong CERT_FILE PATTERN: issue --force through the relay serving CERT_FILE
wrong() {
	echo "== $3"
	relay_start --replace-cert "$1"
	issue_via "$RELAY_URL" "$D" -n w -D w.example.test --reuse-key --force
	expect_rc 1
	expect_err "$2"
	expect_err "the certificate from https://127\.0\.0\.1:[0-9]+/"
	expect_err "the pair on disk is kept"
	cmp -s "$D/w/cert.crt" "$WORK/good.crt" && cmp -s "$D/w/priv.key" "$WORK/good.key" ||
		fail "the pair on disk changed"
	no_partial "$D"
	[ "$(relay_count '^POST /certZ/')" -ge 1 ] || fail "the certificate was not downloaded through the relay"
	grep 'the certificate from' "$WORK/err" | sed 's/^/   | /'
	relay_stop
}

selfsigned "$WORK/otherkey.crt" "$WORK/other.key" w.example.test
wrong "$WORK/otherkey.crt" "is not for the key this run sent" "a certificate for another key"

selfsigned "$WORK/othernames.crt" "$WORK/good.key" other.example.test
wrong "$WORK/othernames.crt" "holds other names than requested \(only in it: other\.example\.test; only requested: w\.example\.test\)" \
	"a certificate for other names (the lineage's key)"

selfsigned "$WORK/expired.crt" "$WORK/good.key" w.example.test "2020-01-01 00:00:00" "2020-03-01 00:00:00"
wrong "$WORK/expired.crt" "is valid from 2020-01-01T00:00:00Z to 2020-03-01T00:00:00Z, not now \(expired\)" \
	"an expired certificate (the lineage's key and names)"

echo "== the real chain again: installed"
relay_start
issue_via "$RELAY_URL" "$D" -n w -D w.example.test --reuse-key --force
expect_rc 0
pair_ok "$D/w/cert.crt" "$D/w/priv.key" || fail "pair after the real chain"
cmp -s "$D/w/cert.crt" "$WORK/good.crt" && fail "the certificate was not replaced"
no_partial "$D"
relay_stop
faults_done

#!/bin/sh
# The errors users meet: each exits with its code, names the thing, says the
# fix, and leaves the old pair and no stray files behind.
set -eu
. "$TESTS_DIR/acme/common.sh"
acme_init
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"

# No stray files: only cert.crt, priv.key (and .state) in a certs dir.
no_strays() {
	_s=$(find "$1" -path "$1/.state" -prune -o -type f -print | grep -v '/cert.crt$\|/priv.key$' || :)
	[ -z "$_s" ] || fail "stray files: $_s"
	_t=$(find "$1" -name '*.tmp*' -o -name '.*.tmp' -o -name '*~' | head -n 5)
	[ -z "$_t" ] || fail "temp files left: $_t"
}

echo "== bad lineage names: 64, naming the value"
for bad in ../x .hidden 'a/b' 'sp ace'; do
	issue -n "$bad" -D x.example.test $SA
	expect_rc 64
	expect_err "'$bad' is not a valid lineage name"
done
[ ! -e "$CERTS" ] || [ -z "$(ls "$CERTS")" ] || fail "something written for a bad name"

echo "== no names, bad names, conflicting options: 64"
issue $SA
expect_rc 64
expect_err 'no names'
issue -D 'bad_host!' $SA
expect_rc 64
expect_err "'bad_host!' is not a valid domain name"
issue -D x.example.test --http-dir --webroot /tmp
expect_rc 64
issue -D x.example.test --challenge dns-02
expect_rc 64
expect_err "dns-02"

echo "== bad option values: 64, naming the value"
issue -D x.example.test --key-type ec999 $SA
expect_rc 64
expect_err 'ec999'
issue -D x.example.test --days soon $SA
expect_rc 64
expect_err "'soon'"
gpc renew -d "$CERTS" --concurrency many
expect_rc 64
expect_err "'many'"
gpc revoke -d "$CERTS" default --reason 7
expect_rc 64
expect_err 'reason 7'
gpc account -d "$CERTS" frobnicate
expect_rc 64
expect_err "'frobnicate'"
issue -D x.example.test --eab-kid k $SA
expect_rc 64
expect_err 'eab-hmac'
[ ! -e "$CERTS/cert.crt" ] || fail "written after a usage error"

echo "== a good certificate first"
issue -n keep -D keep.example.test $SA
expect_rc 0
cp "$CERTS/keep/cert.crt" "$WORK/keep.crt"
cp "$CERTS/keep/priv.key" "$WORK/keep.key"

echo "== challenge failed: the CA's detail plus what was served where; old pair kept"
# Bound to 127.0.0.2 while pebble connects to 127.0.0.1 (no other test's
# ports can collide with it: they all live on 127.0.0.1).
wrong=127.0.0.2:$PEBBLE_HTTP_PORT
# a new name: pebble may reuse the valid authorization of keep.example.test
issue -n keep -D keep.example.test -D fresh.example.test --standalone "$wrong"
expect_rc 1
expect_err 'error: http-01 challenge for (keep|fresh).example.test failed: .*(connection refused|Connection refused|Fetching)'
expect_err "hint: http://(keep|fresh).example.test/.well-known/acme-challenge/[A-Za-z0-9_-]+ was answered by the built-in responder on $wrong"
cmp -s "$WORK/keep.crt" "$CERTS/keep/cert.crt" || fail "failed run changed cert.crt"
cmp -s "$WORK/keep.key" "$CERTS/keep/priv.key" || fail "failed run changed priv.key"
no_strays "$CERTS"
grep -q '"result": "failed"' "$CERTS/.state/lineages/keep.json" || fail "last result not recorded"
tr -d ' \n' <"$CERTS/.state/ledger.json" | grep -Eq '"authz":\["(keep|fresh).example.test"\]' ||
	fail "failed authorization not in the ledger: $(cat "$CERTS/.state/ledger.json")"

echo "== --profile that the CA does not list: 64, names the profiles"
issue -n prof -D prof.example.test --profile shortlived $SA
expect_rc 64
expect_err 'shortlived'
[ ! -e "$CERTS/prof" ] || fail "prof written"

echo "== CA unreachable (closed port) and unresolvable host: 75, nothing written"
closed=$("$FREEPORT" 1)
gpc issue -d "$WORK/c2" -D u.example.test --server "https://127.0.0.1:$closed/dir" --ca-bundle "$PEBBLE_CA_BUNDLE" $SA
expect_rc 75
expect_err "127.0.0.1"
[ ! -e "$WORK/c2/cert.crt" ] && [ ! -e "$WORK/c2/priv.key" ] || fail "files written although the CA was unreachable"
no_strays "$WORK/c2"
gpc issue -d "$WORK/c2" -D u.example.test --server "https://ca.invalid/dir" --ca-bundle "$PEBBLE_CA_BUNDLE" $SA
expect_rc 75
expect_err "ca.invalid"
[ ! -e "$WORK/c2/cert.crt" ] || fail "files written although the CA host does not resolve"

echo "== untrusted CA certificate: suggests --ca-bundle / --staging"
gpc issue -d "$WORK/c3" -D t.example.test --server "$PEBBLE_DIR_URL" $SA
[ "$RC" = 1 ] || [ "$RC" = 75 ] || fail "untrusted CA: exit $RC"
expect_err '(certificate|verif|trust)'
expect_err -- '--ca-bundle'
[ ! -e "$WORK/c3/cert.crt" ] || fail "files written with an untrusted CA"

echo "== unwritable certs dir: path, uid, mode; before any network access"
NB=$(gpc_for_nobody)
if command -v setpriv >/dev/null 2>&1 && setpriv --reuid=65534 --regid=65534 --clear-groups "$NB" account --help >/dev/null 2>&1; then
	mkdir -p "$WORK/ro"
	chmod 755 "$WORK/ro"
	# a CA bundle that user can read (issue checks the paths it is given first)
	cp "$PEBBLE_CA_BUNDLE" "$WORK/nobody-ca.pem"
	chmod 644 "$WORK/nobody-ca.pem"
	before=$(pebble_requests 'calling handler')
	RC=0
	setpriv --reuid=65534 --regid=65534 --clear-groups "$NB" issue -d "$WORK/ro" -D w.example.test \
		--server "$PEBBLE_DIR_URL" --ca-bundle "$WORK/nobody-ca.pem" --standalone "127.0.0.1:$("$FREEPORT" 1)" \
		>"$WORK/out" 2>"$WORK/err" || RC=$?
	cat "$WORK/out" "$WORK/err" >>"$WORK/log"
	sanitizer_check
	expect_rc 1
	expect_err "$WORK/ro"
	expect_err 'uid 65534'
	expect_err '0755'
	after=$(pebble_requests 'calling handler')
	[ "$before" = "$after" ] || fail "the CA was contacted although the certs dir is not writable"
	[ -z "$(ls -A "$WORK/ro")" ] || fail "something written into the read-only dir"
else
	echo "(setpriv to uid 65534 not possible here: unwritable-dir part skipped)"
fi

echo "== --standalone on a port that is taken: names ADDR:PORT and what to do, before any order"
if command -v python3 >/dev/null 2>&1; then
	busy=$("$FREEPORT" 1)
	python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.3", int(sys.argv[1]))); s.listen(1); open(sys.argv[2], "w").close(); time.sleep(120)' \
		"$busy" "$WORK/busy.ready" &
	ACME_PIDS="$ACME_PIDS $!"
	i=0
	while [ ! -e "$WORK/busy.ready" ]; do i=$((i + 1)); [ $i -lt 100 ] || fail "listener"; sleep 0.1; done
	n_orders=$(pebble_requests 'POST /order-plz')
	issue -n busy -D busy.example.test --standalone "127.0.0.3:$busy"
	expect_rc 1
	expect_err "standalone 127.0.0.3:$busy: cannot listen: Address already in use"
	expect_err 'hint: another server .* --http-dir .* --webroot'
	[ "$n_orders" = "$(pebble_requests 'POST /order-plz')" ] || fail "an order was placed although the port is taken"
fi

echo "== damaged state files: named, with the fix; the pair untouched"
cp "$CERTS/.state/lineages/keep.json" "$WORK/keep.json"
printf '{"names": 5' >"$CERTS/.state/lineages/keep.json"
gpc renew -d "$CERTS" keep
expect_rc 1
expect_err "$CERTS/.state/lineages/keep.json: not a JSON object"
issue -n keep -D keep.example.test $SA
expect_rc 1
expect_err "$CERTS/.state/lineages/keep.json"
cp "$WORK/keep.json" "$CERTS/.state/lineages/keep.json"
printf 'garbage' >"$CERTS/.state/ledger.json"
issue -n keep -D keep.example.test $SA --force
expect_rc 1
expect_err "$CERTS/.state/ledger.json: not a JSON object"
expect_err 'hint: move the broken file away'
cmp -s "$WORK/keep.crt" "$CERTS/keep/cert.crt" || fail "cert.crt changed"
echo "== ... but a current certificate is still answered offline"
gpc issue -d "$CERTS" -n keep -D keep.example.test --server https://127.0.0.1:9/dir
expect_rc 0
expect_out '^keep: current until'
echo "ok"

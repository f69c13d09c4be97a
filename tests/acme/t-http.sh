#!/bin/sh
# http-01 (--standalone, --webroot behind nginx), tls-alpn-01 --standalone,
# the offline decision, name-set changes, key types, lineages, deploy hook,
# --reuse-key. One pebble for the whole file.
set -eu
. "$TESTS_DIR/acme/common.sh"
export PEBBLE_ALTERNATE_ROOTS=1 # a second chain for --preferred-chain
acme_init
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"

echo "== http-01 --standalone, two names, deploy hook"
issue -D a.example.test -D b.example.test $SA -m ops@example.org \
	--deploy-hook "echo \"\$GOPROXY_CERT_NAME|\$GOPROXY_CERT_DOMAINS|\$GOPROXY_CERT_CERT|\$GOPROXY_CERT_KEY\" >$WORK/deploy.out"
expect_rc 0
expect_out '^default: issued, valid until '
expect_err 'terms of service: '
[ "$(cert_names "$CERTS/cert.crt" | tr '\n' ' ')" = "a.example.test b.example.test " ] || fail "names in cert.crt"
[ "$(stat -L -c %a "$CERTS/priv.key")" = 600 ] || fail "priv.key mode"
[ "$(stat -c %a "$CERTS/.state")" = 700 ] || fail ".state mode"
acct_key=$(ls "$CERTS"/.state/accounts/*/key.pem)
[ "$(stat -c %a "$acct_key")" = 600 ] || fail "account key mode"
[ "$(cat "$WORK/deploy.out")" = "default|a.example.test b.example.test|$CERTS/cert.crt|$CERTS/priv.key" ] ||
	fail "deploy hook environment: $(cat "$WORK/deploy.out")"
pebble_roots "$WORK/roots.pem"
openssl verify -CAfile "$WORK/roots.pem" -untrusted "$CERTS/cert.crt" "$CERTS/cert.crt" >/dev/null ||
	fail "issued chain does not verify against pebble's roots"
openssl x509 -in "$CERTS/cert.crt" -noout -pubkey >"$WORK/pub1"
openssl pkey -in "$CERTS/priv.key" -pubout >"$WORK/pub2"
cmp -s "$WORK/pub1" "$WORK/pub2" || fail "priv.key does not match cert.crt"
grep -q '"solver": "standalone"' "$CERTS/.state/lineages/default.json" || fail "lineage settings not stored"

echo "== status shows the ACME side"
gpc status -d "$CERTS" --json
expect_rc 0
expect_out "\"ca_url\":\"$PEBBLE_DIR_URL\""
expect_out '"last_result":"issued"'
expect_out '"issuances_168h":1'
expect_out '"next_renewal":"20'

echo "== offline reuse: same set (other case/order), CA unreachable, zero requests"
before=$(pebble_requests 'calling handler')
gpc issue -d "$CERTS" --server https://127.0.0.1:9/dir -D B.EXAMPLE.test -D a.example.test $SA
expect_rc 0
expect_out '^default: current until .*, nothing to do$'
after=$(pebble_requests 'calling handler')
[ "$before" = "$after" ] || fail "pebble saw $((after - before)) requests for a current certificate"
gpc issue -d "$CERTS" --server https://127.0.0.1:9/dir -D a.example.test -D b.example.test --json
expect_rc 0
expect_out '"result":"current"'

echo "== stored settings can be dropped (--no-deploy-hook, --no-preferred-chain); empty values refused"
L=$CERTS/.state/lineages/default.json
gpc issue -d "$CERTS" -D a.example.test -D b.example.test --preferred-chain "Pebble Root CA"
expect_rc 0
grep -q '"deploy_hook"' "$L" && grep -q '"preferred_chain": "Pebble Root CA"' "$L" || fail "settings not stored: $(cat "$L")"
gpc issue -d "$CERTS" -D a.example.test -D b.example.test --no-deploy-hook --no-preferred-chain
expect_rc 0
expect_out '^default: current until'
! grep -q '"deploy_hook"\|"preferred_chain"' "$L" || fail "--no-deploy-hook/--no-preferred-chain kept them: $(cat "$L")"
for o in --profile --preferred-chain --deploy-hook; do
	cp "$L" "$WORK/lineage.before"
	gpc issue -d "$CERTS" -D a.example.test -D b.example.test "$o" ""
	expect_rc 64
	expect_err "$o: empty value; to drop the stored one, use --no-${o#--}"
	cmp -s "$L" "$WORK/lineage.before" || fail "$o '': the lineage settings changed"
done

echo "== an existing Go-Proxy certs dir (cert.crt + priv.key, no .state) is adopted offline"
mkdir -p "$WORK/gp"
cp "$CERTS/cert.crt" "$CERTS/priv.key" "$WORK/gp/"
gpc issue -d "$WORK/gp" --server https://127.0.0.1:9/dir -D a.example.test -D b.example.test $SA
expect_rc 0
expect_out '^default: current until'
[ -f "$WORK/gp/.state/lineages/default.json" ] || fail "settings of the adopted lineage not stored"
gpc renew -d "$WORK/gp"
expect_rc 0
expect_out '^default: current until'

echo "== changed name set -> a new order"
issue -D a.example.test -D b.example.test -D c.example.test $SA
expect_rc 0
expect_out 'default: issued'
[ "$(cert_names "$CERTS/cert.crt" | wc -l)" = 3 ] || fail "3 names expected"
[ "$(ls "$CERTS/.state/archive/default" | wc -l)" = 2 ] || fail "old pair not archived"
echo "== subset of names is a new order too (the Go-Proxy CN-only bug)"
issue -D a.example.test $SA
expect_rc 0
expect_out 'default: issued'
[ "$(cert_names "$CERTS/cert.crt")" = a.example.test ] || fail "1 name expected"

echo "== lineages and key types"
for kt in ec384 rsa2048; do
	issue -n "k-$kt" -D "$kt.example.test" --key-type "$kt" $SA
	expect_rc 0
	[ -f "$CERTS/k-$kt/cert.crt" ] || fail "no $CERTS/k-$kt/cert.crt"
	[ "$(key_type "$CERTS/k-$kt/priv.key")" = "$kt" ] || fail "key type of k-$kt"
done
echo "== a different key type is a new certificate; --reuse-key keeps the key"
issue -n k-ec384 -D ec384.example.test --key-type ec256 $SA
expect_rc 0
expect_out 'k-ec384: issued'
[ "$(key_type "$CERTS/k-ec384/priv.key")" = ec256 ] || fail "key type not changed"
cp "$CERTS/k-ec384/priv.key" "$WORK/key.before"
issue -n k-ec384 -D ec384.example.test --force --reuse-key $SA
expect_rc 0
cmp -s "$WORK/key.before" "$CERTS/k-ec384/priv.key" || fail "--reuse-key changed the key"
issue -n k-ec384 -D ec384.example.test --force $SA
expect_rc 0
cmp -s "$WORK/key.before" "$CERTS/k-ec384/priv.key" || fail "stored --reuse-key was not applied"
issue -n k-ec384 -D ec384.example.test --force --no-reuse-key $SA
expect_rc 0
if cmp -s "$WORK/key.before" "$CERTS/k-ec384/priv.key"; then fail "--no-reuse-key kept the key"; fi

echo "== --preferred-chain picks the alternate chain by its root's CN"
alt=$(curl -fsS --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_MGMT_URL/roots/1" |
	openssl x509 -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p')
[ -n "$alt" ] || fail "no alternate root from pebble"
issue -n chain -D chain.example.test --preferred-chain "$alt" $SA
expect_rc 0
openssl crl2pkcs7 -nocrl -certfile "$CERTS/chain/cert.crt" | openssl pkcs7 -print_certs -noout |
	grep -q "issuer=CN = $alt\$" || fail "the chain does not end at $alt"
grep -q "\"preferred_chain\": \"$alt\"" "$CERTS/.state/lineages/chain.json" || fail "preferred chain not stored"

echo "== IP address identifier (RFC 8738)"
issue -n ip -D 127.0.0.1 $SA
expect_rc 0
[ "$(cert_names "$CERTS/ip/cert.crt")" = 127.0.0.1 ] || fail "IP SAN expected"

echo "== tls-alpn-01 --standalone"
issue -n alpn -D alpn.example.test --challenge tls-alpn-01 --standalone "127.0.0.1:$PEBBLE_TLS_PORT"
expect_rc 0
expect_out 'alpn: issued'
grep -q 'tls-alpn-01' "$CERTS/.state/lineages/alpn.json" || fail "challenge not stored"

echo "== http-01 --webroot served by nginx"
if ! command -v nginx >/dev/null 2>&1; then
	echo "SKIP: http-01 --webroot, uacme.sh and --http-dir behind nginx (nginx not installed: apt-get install nginx-light)"
	exit 0
fi
mkdir -p "$WORK/www" "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 64; }
http {
	access_log $WORK/nginx/access.log;
	client_body_temp_path $WORK/nginx/tmp1;
	proxy_temp_path $WORK/nginx/tmp2;
	fastcgi_temp_path $WORK/nginx/tmp3;
	uwsgi_temp_path $WORK/nginx/tmp4;
	scgi_temp_path $WORK/nginx/tmp5;
	server {
		listen 127.0.0.1:$PEBBLE_HTTP_PORT;
		root $WORK/www;
	}
}
NGX
bg_start nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf"
i=0
until curl -s -o /dev/null "http://127.0.0.1:$PEBBLE_HTTP_PORT/"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "nginx did not start: $(cat "$WORK/nginx/error.log")"; sleep 0.1
done
issue -n web -D web.example.test --webroot "$WORK/www"
expect_rc 0
expect_out 'web: issued'
grep -q 'GET /.well-known/acme-challenge/[A-Za-z0-9_-]* HTTP/1.1" 200' "$WORK/nginx/access.log" ||
	fail "nginx did not serve the token: $(cat "$WORK/nginx/access.log")"
[ -z "$(ls "$WORK/www/.well-known/acme-challenge")" ] || fail "token file left in the webroot"

echo "== uacme's own hook script, unchanged, with its UACME_CHALLENGE_PATH (nginx serves it)"
if [ -x /usr/share/uacme/uacme.sh ]; then
	mkdir -p "$WORK/www/.well-known/acme-challenge"
	UACME_CHALLENGE_PATH=$WORK/www/.well-known/acme-challenge issue -n uh -D uh.example.test \
		--hook /usr/share/uacme/uacme.sh
	expect_rc 0
	expect_out 'uh: issued'
	[ -z "$(ls "$WORK/www/.well-known/acme-challenge")" ] || fail "uacme.sh 'done' did not remove the token"
else
	echo "SKIP: uacme's own hook script (/usr/share/uacme/uacme.sh missing: apt-get install uacme)"
fi

echo "== --http-dir (the files goproxyd answers), chosen by default when .state/goproxyd.pid is live"
# nginx stands in for goproxyd: it serves DIR/.state/challenges/http-01/TOKEN.
kill "$(cat "$WORK/nginx/nginx.pid")"
i=0
while curl -s -o /dev/null "http://127.0.0.1:$PEBBLE_HTTP_PORT/"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "nginx did not stop"; sleep 0.1
done
sed -i "s|root $WORK/www;|location /.well-known/acme-challenge/ { alias $CERTS/.state/challenges/http-01/; }|; s|^daemon off;|daemon off;\nuser root;|" \
	"$WORK/nginx/nginx.conf"
: >"$WORK/nginx/access.log"
bg_start nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf"
i=0
until curl -s -o /dev/null "http://127.0.0.1:$PEBBLE_HTTP_PORT/"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "nginx did not start: $(cat "$WORK/nginx/error.log")"; sleep 0.1
done
cp "$WORK/nginx/nginx.pid" "$CERTS/.state/goproxyd.pid"
GOPROXY_CERT_CA_BUNDLE=$PEBBLE_CA_BUNDLE GOPROXY_CERT_SERVER=$PEBBLE_DIR_URL gpc issue -d "$CERTS" -n hd -D hd.example.test -D hd2.example.test
expect_rc 0
expect_out 'hd: issued'
[ "$(grep -c 'GET /.well-known/acme-challenge/[A-Za-z0-9_-]* HTTP/1.1" 200' "$WORK/nginx/access.log")" -ge 2 ] ||
	fail "the http-dir tokens were not served: $(cat "$WORK/nginx/access.log")"
grep -q '"solver": "http-dir"' "$CERTS/.state/lineages/hd.json" && fail "the default solver was stored as a setting" || :
[ -z "$(ls -A "$CERTS/.state/challenges/http-01")" ] || fail "token files left in .state/challenges/http-01"
rm "$CERTS/.state/goproxyd.pid"
echo "ok"

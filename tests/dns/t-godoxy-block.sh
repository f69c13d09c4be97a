#!/bin/sh
# issue --godoxy-config reads the autocert: block as GoDoxy does (issue
# 27): ${VAR} from the environment (an unset one: 64 naming it, the file
# and the line), keys matched ignoring case and '_', an unknown key named
# with the closest known one, lego's common options (propagation_timeout
# as a Go duration, polling_interval, ttl, sequence_interval),
# certificate_key_type, provider custom, acme_key_path, an extra: entry
# with its own cert_path/key_path; env -i renew from /.
# Real knot (RFC 2136) and pebble.
set -eu
. "$TESTS_DIR/dns/common.sh"
dns_init
knot_start example.test
pebble_start --dnsserver "$KNOT_PRIMARY:53"
cd "$WORK"
mkdir config
cp "$PEBBLE_CA_BUNDLE" roots.pem
# ${TSIG_SECRET}: the secret is not in the file; CA_Certs, Email, Domains:
# GoDoxy matches keys ignoring case and '_'
cat >config/config.yml <<EOF
autocert:
  Provider: rfc2136
  Email: admin@example.test
  CA_Certs: [roots.pem]
  domains: [a.example.test]
  certificate_key_type: EC384
  options:
    nameserver: $KNOT_PRIMARY
    tsig_key: \${TSIG_KEY_NAME}
    tsig_secret: \${TSIG_SECRET}
    tsig_algorithm: hmac-sha256.
    propagation_timeout: 1m30s
    polling_interval: 2s
    ttl: 60
    sequence_interval: 1s
  Resolvers: [$KNOT_PRIMARY]
  extra:
    - cert_path: certs/other.crt
      key_path: certs/other.key
      domains: [other.example.test]
providers:
  docker:
    local: \$DOCKER_HOST
EOF
G() { run_logged goproxy-cert "$GOPROXY_CERT" "$@"; }

echo "== an unset \${VAR}: 64, its name, the file and the line"
G issue --godoxy-config config/config.yml --server "$PEBBLE_DIR_URL"
expect_rc 64
expect_err 'config/config.yml:9: \$\{TSIG_KEY_NAME\} is not set'

# GoDoxy's account key (certs/acme.key, SEC1 DER as GoDoxy writes it)
mkdir certs
openssl ecparam -name prime256v1 -genkey -noout -outform DER -out certs/acme.key
echo "== \${VAR} set (GODOXY_ prefix too), Go durations, lego's common options, EC384"
export GODOXY_TSIG_KEY_NAME="$KNOT_KEY_NAME" TSIG_SECRET="$KNOT_KEY_SECRET"
G issue --godoxy-config config/config.yml --server "$PEBBLE_DIR_URL" -v
expect_rc 0
expect_out '^default: issued'
expect_no "$KNOT_KEY_SECRET"
openssl pkey -in certs/priv.key -noout -text | grep -q 'NIST CURVE: P-384' || fail "certificate_key_type EC384: not a P-384 key"
L=certs/.state/lineages/default.json
[ "$(jq -r .key_type $L)" = ec384 ] || fail "key type stored as $(jq -r .key_type $L)"
[ "$(jq -r .dns.propagation_timeout $L)" = 90 ] || fail "propagation_timeout 1m30s stored as $(jq -c .dns $L)"
jq -c .dns $L | grep -q 'polling\|sequence' && fail "polling_interval/sequence_interval passed on: $(jq -c .dns $L)"
expect_err "polling_interval: ignored"

echo "== acme_key_path: GoDoxy's account key became the account key (no second account)"
expect_err "the account key for .* is GoDoxy's certs/acme.key"
[ "$(openssl pkey -in certs/.state/accounts/*/key.pem -pubout)" = "$(openssl pkey -inform DER -in certs/acme.key -pubout)" ] ||
	fail "the stored account key is not certs/acme.key"
[ "$(grep -c 'the account key for' "$WORK/err")" = 1 ] || fail "the extra: entry took the key again"

echo "== the extra: entry at its own paths: plain files, key 0600, a matching pair; lineage 'other' too"
expect_out '^other: issued'
pair_ok() { # CERT KEY NAME
	[ -f "$1" ] && [ ! -L "$1" ] && [ -f "$2" ] && [ ! -L "$2" ] || fail "$1/$2 are not plain files"
	[ "$(stat -c %a "$2")" = 600 ] || fail "$2 has mode $(stat -c %a "$2")"
	openssl x509 -in "$1" -noout -ext subjectAltName | grep -q "DNS:$3" || fail "$1 is not for $3"
	[ "$(openssl x509 -in "$1" -noout -pubkey)" = "$(openssl pkey -in "$2" -pubout)" ] || fail "$1 and $2 do not match"
}
pair_ok certs/other.crt certs/other.key other.example.test
cmp -s certs/other.crt certs/other/cert.crt || fail "certs/other.crt is not lineage other's certificate"
[ "$(jq -r .copy_cert certs/.state/lineages/other.json)" = "$WORK/certs/other.crt" ] || fail "copy path not stored absolute"
before=$(openssl x509 -in certs/other.crt -noout -fingerprint)
gpc status -d certs other
expect_out "also written +$WORK/certs/other.crt \+ $WORK/certs/other.key"
gpc status -d certs --json other
jq -e --arg c "$WORK/certs/other.crt" '.certificates[0].settings.copy_cert == $c' "$WORK/out" >/dev/null ||
	fail "status --json: no copy_cert: $(cat "$WORK/out")"

echo "== env -i renew from / after the config-driven issue: same key type, no environment needed"
cd /
run_logged env env -i "$GOPROXY_CERT" renew -d "$WORK/certs" --force
cd "$WORK"
expect_rc 0
expect_out 'default: issued'
openssl pkey -in certs/priv.key -noout -text | grep -q 'NIST CURVE: P-384' || fail "renewed key is not P-384"
expect_out 'other: issued'
pair_ok certs/other.crt certs/other.key other.example.test
[ "$(openssl x509 -in certs/other.crt -noout -fingerprint)" != "$before" ] || fail "renew did not rewrite certs/other.crt"

echo "== a torn copy (killed between the two renames: new key, old certificate) or a lost one is mended"
echo "   by the next run, which finds the lineage current"
cp certs/cert.crt certs/other.crt
rm certs/other.key
G renew -d certs
expect_rc 0
expect_out 'other: current'
pair_ok certs/other.crt certs/other.key other.example.test

echo "== the command line's --no-dns-propagation-check over the file's propagation_timeout"
G issue --godoxy-config config/config.yml --server "$PEBBLE_DIR_URL" --no-dns-propagation-check
expect_rc 0
expect_out '^default: current'

echo "== SIGKILL at random moments of renewals of 'other': each file at its own path is whole after"
echo "   every kill, and the next run leaves a matching pair there"
for i in 1 2 3 4; do
	"$GOPROXY_CERT" renew -d certs other --force --rate-limit off -q >/dev/null 2>&1 &
	kpid=$!
	sleep "$(awk -v s="$$$i" 'BEGIN { srand(s); printf "%.2f", 0.3 + rand() * 5 }')"
	kill -9 "$kpid" 2>/dev/null || true
	wait "$kpid" 2>/dev/null || true
	openssl x509 -in certs/other.crt -noout || fail "kill $i: certs/other.crt is not a whole certificate"
	openssl pkey -in certs/other.key -noout || fail "kill $i: certs/other.key is not a whole key"
done
G renew -d certs
expect_rc 0
pair_ok certs/other.crt certs/other.key other.example.test

echo "== a misspelled key: 64, the file, the line, the closest key"
sed 's/  Email:/  emial:/' config/config.yml >config/typo.yml
G issue --godoxy-config config/typo.yml --server "$PEBBLE_DIR_URL"
expect_rc 64
expect_err "config/typo.yml:3: autocert: unknown key 'emial' \\(did you mean email\\?\\)"

echo "== certificate_key_type: lego's tokens and GoDoxy's values; RSA8192 and nonsense are 64"
for kt in rsa2048 P256 3072; do
	sed "s/certificate_key_type: EC384/certificate_key_type: $kt/" config/config.yml >config/kt.yml
	G issue --godoxy-config config/kt.yml --server "$PEBBLE_DIR_URL" --days 1 --rate-limit off
	expect_rc 0
done
sed 's/certificate_key_type: EC384/certificate_key_type: RSA8192/' config/config.yml >config/kt.yml
G issue --godoxy-config config/kt.yml --server "$PEBBLE_DIR_URL"
expect_rc 64
expect_err 'config/kt.yml:6: certificate_key_type rsa8192: GoDoxy accepts it, but goproxy-cert makes only'
sed 's/certificate_key_type: EC384/certificate_key_type: EC521/' config/config.yml >config/kt.yml
G issue --godoxy-config config/kt.yml --server "$PEBBLE_DIR_URL"
expect_rc 64
expect_err "certificate_key_type 'ec521' is not one GoDoxy accepts"

echo "== a duration that is not one: 64 naming the option, file and line"
sed 's/propagation_timeout: 1m30s/propagation_timeout: soon/' config/config.yml >config/dur.yml
G issue --godoxy-config config/dur.yml --server "$PEBBLE_DIR_URL"
expect_rc 64
expect_err "config/dur.yml:12: autocert.options.propagation_timeout 'soon' is not a duration"

echo "== provider custom with ca_dir_url (GoDoxy's: a CA of one's own, no DNS provider of the file's):"
echo "   the solver given on the command line answers"
cat >config/custom-ok.yml <<EOF
autocert:
  provider: custom
  email: admin@example.test
  ca_dir_url: $PEBBLE_DIR_URL
  ca_certs: [roots.pem]
  cert_path: custom/cert.crt
  key_path: custom/priv.key
  domains: [c.example.test]
EOF
G issue --godoxy-config config/custom-ok.yml --dns rfc2136 --dns-opt nameserver=$KNOT_PRIMARY \
	--dns-opt tsig_key=$KNOT_KEY_NAME --dns-opt tsig_secret=$KNOT_KEY_SECRET --dns-opt tsig_algorithm=hmac-sha256. \
	--dns-resolver $KNOT_PRIMARY
expect_rc 0
expect_out '^default: issued'
openssl x509 -in custom/cert.crt -noout -ext subjectAltName | grep -q 'DNS:c.example.test' || fail "custom: SANs"
[ "$(jq -r .ca_url custom/.state/lineages/default.json)" = "$PEBBLE_DIR_URL" ] || fail "custom: ca_dir_url not the CA"

echo "== ca_certs with two files: 64 saying how to make one bundle"
sed 's/ca_certs: \[roots.pem\]/ca_certs: [roots.pem, more.pem]/' config/custom-ok.yml >config/cas.yml
G issue --godoxy-config config/cas.yml
expect_rc 64
expect_err 'ca_certs lists 2 files; goproxy-cert trusts one CA bundle file per lineage: concatenate them'

echo "== provider custom: ca_dir_url required (GoDoxy's meaning), not 'the closest is cloudflare'"
printf 'autocert:\n  provider: custom\n  email: a@example.test\n  domains: [a.example.test]\n' >config/custom.yml
G issue --godoxy-config config/custom.yml
expect_rc 64
expect_err 'provider custom needs ca_dir_url'
echo "== eab_kid without eab_hmac: 64, as GoDoxy's required_with"
printf 'autocert:\n  provider: rfc2136\n  email: a@example.test\n  domains: [a.example.test]\n  EAB_Kid: kid\n' >config/eab.yml
G issue --godoxy-config config/eab.yml
expect_rc 64
expect_err 'eab_kid and eab_hmac go together'
echo "ok"

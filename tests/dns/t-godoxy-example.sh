#!/bin/sh
# GoDoxy's own config.example.yml autocert block (choice 2, cloudflare),
# uncommented and otherwise unchanged, through issue --godoxy-config:
# real pebble, a server following Cloudflare's API v4 that mirrors into a
# real knot zone domain.com (the example's names). The command line only
# says where the test's CA, API and resolver are (issue 27).
set -eu
. "$TESTS_DIR/dns/common.sh"
dns_init
command -v python3 >/dev/null || { echo "SKIP: python3" >&2; exit 77; }
knot_start --lag 1 domain.com
TOKEN=c1234565789-abcdefghijklmnopqrst
api_start cloudflare --token "$TOKEN" --zone domain.com \
	--knot-server "$KNOT_PRIMARY" --knot-key "hmac-sha256:$KNOT_KEY_NAME:$KNOT_KEY_SECRET"
pebble_start --dnsserver "$KNOT_PRIMARY:53"
cd "$WORK"
mkdir config
# config.example.yml, "2. cloudflare", with the leading '# ' removed
cat >config/config.yml <<'EOF'
autocert:
  provider: cloudflare
  email: abc@gmail.com # ACME Email
  domains: # a list of domains for cert registration
    - "*.domain.com"
    - "domain.com"
  # certificate_key_type: RSA2048 # optional; default EC256. Use RSA* for clients that lack ECDSA (e.g. some IoT TLS stacks)
  options:
    auth_token: c1234565789-abcdefghijklmnopqrst # your zone API token
EOF
export CLOUDFLARE_BASE_URL=$API_URL/client/v4

echo "== GoDoxy's example block, unchanged"
gpc issue --godoxy-config config/config.yml --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
	--dns-resolver "$KNOT_PRIMARY"
expect_rc 0
expect_out '^default: issued'
openssl x509 -in certs/cert.crt -noout -ext subjectAltName >"$WORK/san"
grep -q 'DNS:\*.domain.com' "$WORK/san" && grep -q 'DNS:domain.com' "$WORK/san" || fail "SANs: $(cat "$WORK/san")"
grep -q 'POST /client/v4/zones/[0-9a-f]*/dns_records' "$API_LOG" || fail "the Cloudflare API was not used"
expect_no "$TOKEN"

echo "== the commented certificate_key_type line, uncommented: an RSA 2048 key"
sed 's/^  # certificate_key_type/  certificate_key_type/' config/config.yml >config/rsa.yml
gpc issue --godoxy-config config/rsa.yml --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
	--dns-resolver "$KNOT_PRIMARY"
expect_rc 0
expect_out '^default: issued'
openssl pkey -in certs/priv.key -noout -text | grep -q 'Private-Key: (2048 bit' || fail "not an RSA 2048 key"
echo "ok"

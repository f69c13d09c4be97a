#!/bin/sh
# issue --godoxy-config with config files in GoDoxy's format (written here
# after GoDoxy's documented autocert examples) against knot and pebble: the
# main certificate into certs/cert.crt + certs/priv.key, an extra: entry into
# certs/NAME/, stored so that plain `renew -d certs` renews them; an unknown
# provider (exit 64 naming the file, the value, the providers and the
# closest one) and provider local.
set -eu
. "$TESTS_DIR/dns/common.sh"
dns_init
knot_start --lag 1 example.test
pebble_start --dnsserver "$KNOT_SECONDARY:53"
cd "$WORK"
mkdir config
cat >config/config.yml <<EOF2
# GoDoxy config
autocert:
  provider: rfc2136
  email: admin@example.test
  ca_certs:
    - roots.pem
  domains:
    - "*.example.test"
    - example.test
  resolvers:
    - $KNOT_PRIMARY
  options:
    nameserver: $KNOT_PRIMARY
    tsig_key: $KNOT_KEY_NAME
    tsig_secret: "$KNOT_KEY_SECRET"
    tsig_algorithm: hmac-sha256.
  extra:
    - cert_path: certs/www/cert.crt
      key_path: certs/www/priv.key
      domains:
        - www.example.test

entrypoint:
  middlewares:
    - use: CIDRWhitelist
providers:
  docker:
    local: \$DOCKER_HOST
EOF2
G() { run_logged goproxy-cert "$GOPROXY_CERT" "$@"; }

echo "== issue from the autocert block: the main pair and the extra one"
cp "$PEBBLE_CA_BUNDLE" roots.pem
G issue --godoxy-config config/config.yml --server "$PEBBLE_DIR_URL"
expect_rc 0
expect_out '^default: issued'
expect_out '^www: issued'
openssl x509 -in certs/cert.crt -noout -ext subjectAltName | grep -q 'DNS:\*.example.test' || fail "main SANs"
openssl x509 -in certs/www/cert.crt -noout -ext subjectAltName | grep -q 'DNS:www.example.test' || fail "extra SANs"
[ -f certs/priv.key ] && [ -f certs/www/priv.key ] || fail "keys"
expect_no "$KNOT_KEY_SECRET"
! grep -qF "$KNOT_KEY_SECRET" certs/.state/lineages/default.json || fail "secret in the lineage"

# ca_certs: [roots.pem] is relative to GoDoxy's working directory: stored
# absolute, so renew from anywhere finds it (issue 24)
[ "$(jq -r .ca_bundle certs/.state/lineages/default.json)" = "$WORK/roots.pem" ] ||
	fail "ca_certs stored as $(jq -r .ca_bundle certs/.state/lineages/default.json), not $WORK/roots.pem"

echo "== plain renew -d DIR from / under env -i (cron) renews both from what was stored"
cd /
run_logged env env -i "$GOPROXY_CERT" renew -d "$WORK/certs" --force
cd "$WORK"
expect_rc 0
expect_out 'default: issued'
expect_out 'www: issued'

echo "== an unknown provider: 64, the file, the value, the providers, the closest"
sed 's/provider: rfc2136/provider: rfc2163/' config/config.yml >config/typo.yml
G issue --godoxy-config config/typo.yml --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE"
expect_rc 64
# every provider, the list whole (its last one, httpreq, then custom)
expect_err "config/typo.yml \\(line [0-9]+\\): provider 'rfc2163' is not supported here \\(rfc2136, pdns, acmedns, cloudflare, duckdns, hetzner, digitalocean, [a-z, ]+, httpreq, or custom with ca_dir_url\\); the closest is 'rfc2136'"
echo "== a misspelt option: 64, the file, the line, the key, the closest, nothing asked of the CA"
sed 's/    tsig_secret:/    tsig_secert:/' config/config.yml >config/opt.yml
line=$(grep -n 'tsig_secert:' config/opt.yml | cut -d: -f1)
G issue --godoxy-config config/opt.yml --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE"
expect_rc 64
expect_err "config/opt.yml:$line: autocert.options.tsig_secert: provider rfc2136 has no option 'tsig_secert'"
expect_err "did you mean 'tsig_secret'\\?"
expect_no "$KNOT_KEY_SECRET"
printf 'autocert:\n  provider: local\n' >config/local.yml
G issue --godoxy-config config/local.yml
expect_rc 64
expect_err 'provider local: GoDoxy uses the certificate'
G issue --godoxy-config config/missing.yml
expect_rc 64
expect_err 'config/missing.yml'
echo "ok"

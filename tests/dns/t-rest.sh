#!/bin/sh
# t-rest.sh PROVIDER [issue]: one provider of the REST engine (or httpreq)
# against tests/dns/rest-api.py, which follows that provider's published
# API (its paths, its authentication, its answers, pages and error bodies)
# and mirrors the records into a real knot zone: two values on one name
# (a wildcard and its apex) seen by the propagation check, presenting again
# adds no duplicate, cleanup removes that one value only (found across
# pages where the API pages), bad credentials and an API error name the
# provider, the HTTP status and the provider's own text and never the
# secret, the options (NAME_FILE, a missing one is 64). With "issue":
# goproxy-cert issue --dns PROVIDER through pebble, validating for real.
set -eu
. "$TESTS_DIR/dns/common.sh"
P=${1:?provider}
dns_init
command -v python3 >/dev/null || { echo "SKIP: python3" >&2; exit 77; }
knot_start --lag 1 example.test
TOKEN=$P-token-$$-secret SECRET=$P-second-$$-secret
USER_ARG=
BAD_TOKEN=wrong-$$-xyz
OCI_DENY='The required information to complete authentication was not provided or was incorrect.'
SEC_ENV=
PAGED=
LISTS=1
# per provider: the token's option and environment name, the base URL's
# environment name and path, how the API refuses a bad token
case $P in
digitalocean) OPT=auth_token TOK_ENV=DO_AUTH_TOKEN BASE_ENV=DO_API_URL BASE=
	DENY='401: Unable to authenticate you' PAGED='records?type=TXT&name=_acme-challenge.example.test&per_page=200&page=4' ;;
linode) OPT=token TOK_ENV=LINODE_TOKEN BASE_ENV=LINODE_BASE_URL BASE=/v4 DENY='401: Invalid Token' PAGED='/records?page=4&page_size=100' ;;
vultr) OPT=api_key TOK_ENV=VULTR_API_KEY BASE_ENV=VULTR_BASE_URL BASE=/v2 DENY='401: Invalid API token.' PAGED='records?per_page=500&cursor=Ng' ;;
porkbun) OPT=api_key TOK_ENV=PORKBUN_API_KEY SEC_ENV=PORKBUN_SECRET_API_KEY BASE_ENV=PORKBUN_BASE_URL BASE=/api/json/v3
	DENY='400: Invalid API key. \(002\)' ;;
ionos) OPT=api_key TOK_ENV=IONOS_API_KEY BASE_ENV=IONOS_BASE_URL BASE=/dns DENY='401: Missing or invalid API key.' ;;
netlify) OPT=token TOK_ENV=NETLIFY_TOKEN BASE_ENV=NETLIFY_BASE_URL BASE=/api/v1 DENY='401: Access Denied: Invalid token' ;;
vercel) OPT=auth_token TOK_ENV=VERCEL_API_TOKEN BASE_ENV=VERCEL_BASE_URL BASE= DENY='403: Not authorized' PAGED='&until=500[0-9]' ;;
infomaniak) OPT=access_token TOK_ENV=INFOMANIAK_ACCESS_TOKEN BASE_ENV=INFOMANIAK_ENDPOINT BASE= DENY='401: Authorization required' ;;
scaleway) OPT=secret_key TOK_ENV=SCW_SECRET_KEY BASE_ENV=SCALEWAY_BASE_URL BASE=/domain/v2beta1 DENY='401: authentication is denied' LISTS= ;;
spaceship) OPT=api_key TOK_ENV=SPACESHIP_API_KEY SEC_ENV=SPACESHIP_API_SECRET BASE_ENV=SPACESHIP_BASE_URL BASE=/api/v1
	DENY='401: Invalid API key or secret' LISTS= ;;
godaddy) OPT=api_key TOK_ENV=GODADDY_API_KEY SEC_ENV=GODADDY_API_SECRET BASE_ENV=GODADDY_BASE_URL BASE=
	DENY='401: Unable to authenticate' LISTS= ;;
desec) OPT=token TOK_ENV=DESEC_TOKEN BASE_ENV=DESEC_BASE_URL BASE=/api/v1 DENY='401: Invalid token.' LISTS= ;;
cloudns) OPT=auth_password TOK_ENV=CLOUDNS_AUTH_PASSWORD BASE_ENV=CLOUDNS_BASE_URL BASE=
	DENY='200: Invalid authentication, incorrect auth-id or auth-password.'
	export CLOUDNS_AUTH_ID=4242 ;;
ovh) OPT=consumer_key TOK_ENV=OVH_CONSUMER_KEY SEC_ENV=OVH_APPLICATION_SECRET BASE_ENV=OVH_ENDPOINT BASE=/1.0
	DENY='403: This credential does not exist'
	export OVH_APPLICATION_KEY=ak-test ;;
namecheap) OPT=api_key TOK_ENV=NAMECHEAP_API_KEY BASE_ENV=NAMECHEAP_BASE_URL BASE=/xml.response
	DENY='200: error 1011102 API Key is invalid or API access has not been enabled'
	export NAMECHEAP_API_USER=nc-user ;;
netcup) OPT=key TOK_ENV=NETCUP_API_KEY SEC_ENV=NETCUP_API_PASSWORD BASE_ENV=NETCUP_BASE_URL BASE='/endpoint.php?JSON'
	DENY='200: 4013 The login credentials are invalid.'
	export NETCUP_CUSTOMER_NUMBER=12345 ;;
hostinger) OPT=api_token TOK_ENV=HOSTINGER_API_TOKEN BASE_ENV=HOSTINGER_BASE_URL BASE= DENY='401: Unauthenticated.' ;;
inwx) OPT=password TOK_ENV=INWX_PASSWORD BASE_ENV=INWX_BASE_URL BASE=/jsonrpc/
	DENY='200: 2200 Authentication error'
	export INWX_USERNAME=inwx-user INWX_SHARED_SECRET=JBSWY3DPEHPK3PXP ;;
clouddns) OPT=password TOK_ENV=CLOUDDNS_PASSWORD BASE_ENV=CLOUDDNS_BASE_URL BASE= DENY='401: Invalid credentials'
	export CLOUDDNS_CLIENT_ID=4711 CLOUDDNS_EMAIL=acme@example.test ;;
timewebcloud) OPT=auth_token TOK_ENV=TIMEWEBCLOUD_AUTH_TOKEN BASE_ENV=TIMEWEBCLOUD_BASE_URL BASE=/api DENY='401: Unauthorized'
	PAGED='dns-records?limit=100&offset=6' ;;
oraclecloud) OPT=private_key TOK_ENV=OCI_PRIVKEY BASE_ENV=OCI_BASE_URL BASE=/20180115 DENY="401: $OCI_DENY"
	# the API key: TOKEN is its PEM, SECRET the public key's file for the server
	TOKEN=$(certtool --generate-privkey --rsa --bits 2048 --no-text 2>/dev/null)
	printf '%s\n' "$TOKEN" >"$WORK/oci.key"
	openssl pkey -in "$WORK/oci.key" -pubout -out "$WORK/oci.pub" 2>/dev/null
	SECRET=$WORK/oci.pub BAD_TOKEN=$(certtool --generate-privkey --rsa --bits 2048 --no-text 2>/dev/null)
	export OCI_TENANCY_OCID=ocid1.tenancy.oc1..test OCI_USER_OCID=ocid1.user.oc1..test \
		OCI_PUBKEY_FINGERPRINT=12:34:56:78:9a:bc:de:f0 OCI_REGION=us-ashburn-1 \
		OCI_COMPARTMENT_OCID=ocid1.compartment.oc1..test ;;
edgedns) OPT=client_secret TOK_ENV=AKAMAI_CLIENT_SECRET SEC_ENV=AKAMAI_ACCESS_TOKEN BASE_ENV=AKAMAI_HOST BASE=
	DENY='401: The signature does not match'
	export AKAMAI_CLIENT_TOKEN=akab-client-token-test ;;
httpreq) OPT=endpoint TOK_ENV=HTTPREQ_PASSWORD BASE_ENV=HTTPREQ_ENDPOINT BASE= DENY='401: Unauthorized' LISTS=
	USER_ARG="--user acme"
	export HTTPREQ_USERNAME=acme ;;
azuredns) OPT=client_secret TOK_ENV=AZURE_CLIENT_SECRET BASE_ENV=AZURE_BASE_URL BASE=
	DENY='401: AADSTS7000215: Invalid client secret provided.'
	USER_ARG="--user azure-client"
	export AZURE_TENANT_ID=azure-tenant AZURE_CLIENT_ID=azure-client AZURE_SUBSCRIPTION_ID=azure-sub \
		AZURE_RESOURCE_GROUP=dns-rg ;;
gcloud) OPT=service_account TOK_ENV=GCE_SERVICE_ACCOUNT BASE_ENV=GCE_BASE_URL BASE=/dns/v1
	DENY='400: Invalid JWT Signature.'
	USER_ARG="--user acme-dns@goproxy-test.iam.gserviceaccount.com"
	# a service account's JSON key (token_uri: this test's server, once started)
	sa_key() { # PEM KEY_ID
		jq -cn --rawfile k "$1" --arg id "$2" --arg uri "$API_URL/token" '{type: "service_account",
			project_id: "goproxy-test", private_key_id: $id, private_key: $k, token_uri: $uri,
			client_email: "acme-dns@goproxy-test.iam.gserviceaccount.com", client_id: "1234"}'
	}
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/sa.pem" 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/other.pem" 2>/dev/null
	SECRET=$(openssl rsa -in "$WORK/sa.pem" -noout -modulus | sed 's/^Modulus=//') ;;
*) fail "no case for $P" ;;
esac
# shellcheck disable=SC2086
api_start rest --provider "$P" --token "$TOKEN" --secret "$SECRET" $USER_ARG --zone example.test --zone other.test \
	--max-per-page 2 --knot-server "$KNOT_PRIMARY" --knot-key "hmac-sha256:$KNOT_KEY_NAME:$KNOT_KEY_SECRET"
# gcloud: the key names the token endpoint
[ "$P" != gcloud ] || TOKEN=$(sa_key "$WORK/sa.pem" "$P-key-$$-secret")
export "$TOK_ENV=$TOKEN" "$BASE_ENV=$API_URL$BASE"
[ -z "$SEC_ENV" ] || export "$SEC_ENV=$SECRET"
# azuredns: the token endpoint is there too
[ "$P" != azuredns ] || export AZURE_AUTH_URL="$API_URL"
# namecheap asks this machine's public address there
[ "$P" != namecheap ] || export NAMECHEAP_IP_URL="$API_URL/getip"
R="-r $KNOT_PRIMARY"
state() { curl -fsS "$API_URL/_state"; }
# how many records hold a value starting with $1 (plain or in quotes)
n_values() { state | jq --arg v "$1" '[.[] | select(.value | ltrimstr("\"") | startswith($v))] | length'; }

echo "== $P: two values on one name; five other values there (pages of 2)"
# namecheap's setHosts replaces every host: an A and an MX record must survive
[ "$P" != namecheap ] || curl -fsS -o /dev/null \
	-d '{"zone":"example.test","hosts":[["@","A","192.0.2.1","10","1800"],["@","MX","mx.example.test.","5","1800"]]}' \
	"$API_URL/_other"
[ -z "$LISTS" ] || curl -fsS -o /dev/null -d '{"fqdn":"_acme-challenge.example.test","value":"filler","n":5}' "$API_URL/_seed"
tool $R present "$P" example.test value-apex
expect_rc 0
tool $R present "$P" '*.example.test' value-wild
expect_rc 0
tool -t 30 $R check example.test value-apex '*.example.test' value-wild
expect_rc 0
[ "$(knot_txt "$KNOT_SECONDARY" _acme-challenge.example.test | grep -c value-)" = 2 ] || fail "not both values in knot"

echo "== presenting again (a killed run's value is there): no duplicate"
tool $R present "$P" example.test value-apex
expect_rc 0
[ "$(n_values value-apex)" = 1 ] || fail "value-apex $(n_values value-apex) times: $(state)"

echo "== cleanup removes that value only"
tool $R cleanup "$P" example.test value-apex
expect_rc 0
[ -z "$PAGED" ] || grep -q -- "$PAGED" "$API_LOG" || fail "did not read every page ($PAGED)"
[ "$(n_values value-apex)" = 0 ] || fail "value-apex still there"
[ "$(n_values value-wild)" = 1 ] || fail "value-wild removed too"
[ -z "$LISTS" ] || [ "$(n_values filler-)" = 5 ] || fail "other records touched"
[ "$(knot_txt "$KNOT_PRIMARY" _acme-challenge.example.test | grep -c value-)" = 1 ] || fail "knot mirror"
tool $R cleanup "$P" '*.example.test' value-wild
expect_rc 0
[ "$(n_values value-wild)" = 0 ] || fail "value-wild still there"
case $P in ovh | clouddns) [ "$(curl -fsS "$API_URL/_dirty")" = "[]" ] || fail "$P: the zone was not published" ;; esac
if [ "$P" = edgedns ]; then
	# a name with no record set: created by POST, deleted when emptied
	tool $R present edgedns sub.example.test value-new
	expect_rc 0
	tool $R cleanup edgedns sub.example.test value-new
	expect_rc 0
	for m in POST DELETE; do
		grep -q "^$m /config-dns/v2/zones/example.test/names/_acme-challenge.sub.example.test/types/TXT" \
			"$API_LOG" || fail "edgedns: no $m of the new set"
	done
	[ "$(n_values value-new)" = 0 ] || fail "edgedns: value-new still there"
fi
if [ "$P" = ovh ]; then
	echo "== ovh: a service account (OAuth2 client credentials) instead of the application keys"
	OA="env OVH_APPLICATION_KEY= OVH_APPLICATION_SECRET= OVH_CONSUMER_KEY= OVH_CLIENT_ID=ovh-client
		OVH_TOKEN_URL=$API_URL/auth/oauth2/token"
	# shellcheck disable=SC2086
	run_logged dnstool $OA OVH_CLIENT_SECRET="$TOKEN" "$DNSTOOL" $R present ovh example.test value-oauth
	expect_rc 0
	[ "$(n_values value-oauth)" = 1 ] || fail "ovh: value-oauth not created with the service account"
	grep -q '^POST /auth/oauth2/token' "$API_LOG" || fail "ovh: no token asked for"
	# shellcheck disable=SC2086
	run_logged dnstool $OA OVH_CLIENT_SECRET="$TOKEN" "$DNSTOOL" $R cleanup ovh example.test value-oauth
	expect_rc 0
	[ "$(n_values value-oauth)" = 0 ] || fail "ovh: value-oauth still there"
	# shellcheck disable=SC2086
	run_logged dnstool $OA OVH_CLIENT_SECRET="$BAD_TOKEN" "$DNSTOOL" $R present ovh example.test value-x
	expect_rc 1
	expect_err "^error: ovh: get an access token: http://127.0.0.1:[0-9]+/auth/oauth2/token answered HTTP 401: Invalid client credentials\$"
	expect_no "$BAD_TOKEN"
	# shellcheck disable=SC2086
	run_logged dnstool $OA OVH_TOKEN_URL= OVH_CLIENT_SECRET="$TOKEN" "$DNSTOOL" validate ovh
	expect_rc 64
	expect_err "endpoint 'http://127.0.0.1:[0-9]+/1.0' has no OAuth2 service accounts"
	# shellcheck disable=SC2086
	run_logged dnstool $OA OVH_CLIENT_SECRET= "$DNSTOOL" validate ovh
	expect_rc 64
	expect_err "option client_secret \\(OVH_CLIENT_SECRET\\) is missing"
fi
case $P in netcup | inwx) [ "$(curl -fsS "$API_URL/_sessions")" = "[]" ] || fail "$P: a session was not logged out" ;; esac
[ "$P" != namecheap ] || [ "$(curl -fsS "$API_URL/_other" | jq -c '.["example.test"]')" = \
	'[["@","A","192.0.2.1","10","1800"],["@","MX","mx.example.test.","5","1800"]]' ] || fail "namecheap: other hosts lost"

echo "== bad credentials: the provider, the status and its text named, no secret"
# gcloud: another key, the one its token endpoint does not know
[ "$P" != gcloud ] || BAD_TOKEN=$(sa_key "$WORK/other.pem" "wrong-$$-xyz")
run_logged dnstool env "$TOK_ENV=$BAD_TOKEN" "$DNSTOOL" $R present "$P" example.test value-x
expect_rc 1
expect_err "^error: $P: [A-Za-z ]+: http://127.0.0.1:[0-9]+/[^ ]* answered HTTP $DENY\$"
expect_no "$BAD_TOKEN"
expect_no "$TOKEN"
expect_no "$SECRET"
expect_no "PRIVATE KEY"

echo "== an API error on create: the provider's own text"
curl -fsS -o /dev/null -d "{\"status\":422,\"text\":\"$P refuses this record ($$)\"}" "$API_URL/_fail"
tool $R present "$P" example.test value-y
expect_rc 1
expect_err "^error: $P: [^:]+: .* answered HTTP 422: (error )?([0-9]+ )?$P refuses this record \\($$\\)\$"
expect_no "$TOKEN"
expect_no "$SECRET"

echo "== options: the token from ${TOK_ENV}_FILE; none is 64 naming it"
printf '%s\n' "$TOKEN" >"$WORK/token"
run_logged dnstool env "$TOK_ENV=" "${TOK_ENV}_FILE=$WORK/token" "$DNSTOOL" validate "$P"
expect_rc 0
[ "$P" = httpreq ] || expect_out "^$OPT=\\(secret\\)\$"
if [ "$P" = httpreq ]; then
	run_logged dnstool env HTTPREQ_ENDPOINT= "$DNSTOOL" validate "$P"
	expect_rc 64
	expect_err "option endpoint \\(HTTPREQ_ENDPOINT\\) is missing"
else
	run_logged dnstool env "$TOK_ENV=" "$DNSTOOL" validate "$P"
	expect_rc 64
	expect_err "option $OPT \\($TOK_ENV\\) is missing"
fi
if [ "$P" = inwx ]; then
	# the account has two-factor authentication on: without the secret, say so
	run_logged dnstool env INWX_SHARED_SECRET= "$DNSTOOL" $R present inwx example.test value-z
	expect_rc 64
	expect_err "inwx: the account has two-factor authentication on and shared_secret \\(INWX_SHARED_SECRET\\) is not set"
	[ "$(curl -fsS "$API_URL/_sessions")" = "[]" ] || fail "inwx: the locked session was not logged out"
fi
if [ "$P" = cloudns ]; then
	run_logged dnstool env CLOUDNS_AUTH_ID= "$DNSTOOL" validate cloudns
	expect_rc 64
	expect_err "option auth_id \\(CLOUDNS_AUTH_ID\\) is missing"
	run_logged dnstool env CLOUDNS_AUTH_ID= CLOUDNS_SUB_AUTH_ID=77 "$DNSTOOL" validate cloudns
	expect_rc 0
fi

if [ "${2:-}" = issue ]; then
	echo "== issue --dns $P: pebble validates the wildcard and its apex"
	pebble_start --dnsserver "$KNOT_SECONDARY:53"
	CERTS=$WORK/certs
	case $P in
	porkbun | httpreq)
		# as a GoDoxy user has it: config.yml's autocert block, GoDoxy's
		# provider name and option names, the secrets as ${VAR}
		cd "$WORK"
		mkdir -p config
		if [ "$P" = porkbun ]; then
			OPTS="api_key: \${PB_KEY}
    secret_api_key: \${PB_SECRET}
    base_url: $API_URL$BASE"
		else
			OPTS="endpoint: $API_URL
    username: acme
    password: \${PB_KEY}"
		fi
		cat >config/config.yml <<EOF
autocert:
  provider: $P
  email: admin@example.test
  domains: [example.test, '*.example.test']
  resolvers: [$KNOT_PRIMARY]
  options:
    $OPTS
    propagation_timeout: 1m
EOF
		run_logged goproxy-cert env -u "$TOK_ENV" ${SEC_ENV:+-u "$SEC_ENV"} PB_KEY="$TOKEN" PB_SECRET="$SECRET" \
			"$GOPROXY_CERT" issue -v --godoxy-config config/config.yml --server "$PEBBLE_DIR_URL" \
			--ca-bundle "$PEBBLE_CA_BUNDLE"
		! grep -qF "$TOKEN" config/config.yml || fail "the token is in config.yml"
		;;
	*) issue -v -D example.test -D '*.example.test' --dns "$P" --dns-resolver "$KNOT_PRIMARY" ;;
	esac
	expect_rc 0
	expect_out '^default: issued'
	[ "$(grep -c 'set INVALID' "$PEBBLE_LOG" || :)" = 0 ] || fail "a validation failed"
	[ -z "$(knot_txt "$KNOT_PRIMARY" _acme-challenge.example.test | grep -v filler)" ] || fail "records left"
	expect_no "$TOKEN"
	! grep -rqF "$TOKEN" "$CERTS/.state/lineages" || fail "the token is in the lineage file"
fi
echo "ok"

# pebble.sh: start a private pebble + pebble-challtestsrv on free loopback
# ports for one test. Source it (POSIX sh, works under `set -eu`):
#
#   . "$TESTS_DIR/lib/pebble.sh"
#   pebble_start [--eab] [--validity SECONDS] [--profile NAME:SECONDS] ...
#   trap 'rc=$?; [ "$rc" = 0 ] || pebble_logs; pebble_stop; exit $rc' EXIT
#
# The pebble is Debian unstable's 2.10 (ARI, profiles, dns-persist-01,
# dns-account-01), which .ci/install unpacks into
# $GOPROXY_CERT_PEBBLE_DIR (default /opt/goproxy-cert-test/pebble-2.10; the
# binaries are in its usr/bin), never over the system's /usr/bin/pebble
# (Debian 12's 2.4, which has none of those). Without it the test SKIPs,
# naming the folder and .ci/install.
#
# Profiles: pebble 2.10 ignores certificateValidityPeriod; every
# certificate's lifetime comes from a profile, and an order that names no
# profile gets a RANDOM one of those configured. So the config always has
# exactly one profile, "default" (lifetime from --validity, else pebble's 90
# days), unless the test adds more with --profile: then a test whose
# certificate lifetime matters must name the profile in its orders.
#
# Options:
#   --eab            externalAccountBindingRequired with the keys
#                    PEBBLE_EAB_KID / PEBBLE_EAB_HMAC (exported; kid-1 and kid-2)
#   --validity N     the "default" profile's validityPeriod, N seconds
#                    (short-lived certs; pebble makes notAfter = notBefore + N - 1)
#   --profile NAME:N one more profile NAME with validityPeriod N seconds
#                    (repeatable; e.g. shortlived:518400, Let's Encrypt's 6 days)
#   --nonce-reject N PEBBLE_WFE_NONCEREJECT=N (default here: 0, i.e. none;
#                    the environment's PEBBLE_WFE_NONCEREJECT wins if set)
#   --sleep          keep pebble's random 0-15 s validation sleeps
#                    (default: PEBBLE_VA_NOSLEEP=1 unless set in the environment)
#   --authz-reuse N  PEBBLE_AUTHZREUSE=N (default here: 0, so every order is
#                    validated and a test's outcome never depends on pebble's
#                    dice; pebble's own default is 50; the environment wins)
#   --dnsserver ADDR:PORT  pebble resolves (and validates dns-01) through this
#                    server instead of challtestsrv (a knot secondary, say)
#   --retry-after A:O  "retryAfter": pebble sends Retry-After: A seconds while
#                    an authorization, O while an order is pending/processing
#   --alternate-roots N  PEBBLE_ALTERNATE_ROOTS=N: N extra chains offered as
#                    Link rel="alternate" (roots at $PEBBLE_MGMT_URL/roots/1..N)
#
# Exports after pebble_start:
#   PEBBLE_DIR_URL    https://127.0.0.1:PORT/dir (ACME directory)
#   PEBBLE_CA_BUNDLE  PEM file of the CA that signed pebble's HTTPS certificate
#                     (give it to the client as --ca-bundle)
#   PEBBLE_HTTP_PORT  port pebble connects to for http-01 (bind your responder there)
#   PEBBLE_TLS_PORT   port pebble connects to for tls-alpn-01
#   PEBBLE_MGMT_URL   https://127.0.0.1:PORT (pebble management: /roots/0, ...)
#   CHALLTEST_MGMT    http://127.0.0.1:PORT (challtestsrv: /set-txt, /clear-txt, ...)
#   CHALLTEST_DNS     127.0.0.1:PORT (challtestsrv's DNS server, for --dns-resolver)
#   PEBBLE_LOG, CHALLTEST_LOG  log files; PEBBLE_WORK  the temp dir
# Helpers: pebble_set_renewal_info CERT ARI_TEXT (pebble's management call
# POST /set-renewal-info/: the renewalInfo answer for the first certificate in
# the PEM file CERT becomes ARI_TEXT, any text), pebble_roots FILE (write pebble's issuing root + intermediate PEM to
# FILE, to verify issued chains), pebble_set_txt HOST VALUE, pebble_clear_txt HOST,
# pebble_add_a NAME ADDRESS (an A record in challtestsrv),
# pebble_count 'POST /order-plz' (requests of that kind in the log so far),
# pebble_logs (print both logs to stderr), pebble_restart (a CA that forgot
# everything, same ports), pebble_stop.
#
# Skips the test (exit 77) when pebble 2.10, curl or openssl is missing.
# Needs $FREEPORT (set by tests/meson.build) or freeport on PATH.

PEBBLE_PID=
CHALLTEST_PID=
PEBBLE_WORK=
PEBBLE_BINDIR=${GOPROXY_CERT_PEBBLE_DIR:-/opt/goproxy-cert-test/pebble-2.10}/usr/bin
PEBBLE_BIN=$PEBBLE_BINDIR/pebble
CHALLTESTSRV_BIN=$PEBBLE_BINDIR/pebble-challtestsrv

_pebble_need() {
	for _t in "$@"; do
		if ! command -v "$_t" >/dev/null 2>&1; then
			echo "SKIP: $_t not installed" >&2
			exit 77
		fi
	done
}

_pebble_ports() {
	"${FREEPORT:-freeport}" "$1"
}

# Generate a CA and a localhost server certificate in $PEBBLE_WORK.
_pebble_certs() {
	_d=$PEBBLE_WORK
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$_d/ca.key" -out "$_d/ca.pem" -days 2 \
		-subj "/CN=goproxy-cert test CA for pebble" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" >"$_d/openssl.log" 2>&1 || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$_d/server.key" -out "$_d/server.csr" -subj "/CN=localhost" \
		>>"$_d/openssl.log" 2>&1 || return 1
	printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		"basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" >"$_d/server.ext"
	openssl x509 -req -in "$_d/server.csr" -CA "$_d/ca.pem" -CAkey "$_d/ca.key" \
		-CAcreateserial -days 2 -extfile "$_d/server.ext" -out "$_d/server.pem" \
		>>"$_d/openssl.log" 2>&1 || return 1
}

# SKIP unless pebble 2.10 is where .ci/install puts it.
_pebble_need_210() {
	for _t in "$PEBBLE_BIN" "$CHALLTESTSRV_BIN"; do
		if [ ! -x "$_t" ]; then
			echo "SKIP: pebble 2.10 not found: $_t (run 'bash .ci/install' as root, which unpacks Debian unstable's pebble there; or set GOPROXY_CERT_PEBBLE_DIR to a folder holding usr/bin/pebble 2.10)" >&2
			exit 77
		fi
	done
}

pebble_start() {
	_pebble_need_210
	_pebble_need curl openssl
	_profiles=
	_eab=0 _validity= _reject=${PEBBLE_WFE_NONCEREJECT:-0} _nosleep=${PEBBLE_VA_NOSLEEP:-1}
	_reuse=${PEBBLE_AUTHZREUSE:-0}
	_altroots=${PEBBLE_ALTERNATE_ROOTS:-}
	_dnsserver=
	_retry=
	while [ $# -gt 0 ]; do
		case $1 in
		--eab) _eab=1 ;;
		--validity) _validity=$2; shift ;;
		--profile)
			case $2 in
			[a-z]*:[0-9]*) _profiles="$_profiles $2" ;;
			*) echo "pebble_start: --profile NAME:SECONDS, not '$2'" >&2; return 64 ;;
			esac
			shift ;;
		--nonce-reject) _reject=$2; shift ;;
		--sleep) _nosleep=0 ;;
		--authz-reuse) _reuse=$2; shift ;;
		--alternate-roots) _altroots=$2; shift ;;
		--dnsserver) _dnsserver=$2; shift ;;
		--retry-after)
			case $2 in
			[0-9]*:[0-9]*) _retry=$2 ;;
			*) echo "pebble_start: --retry-after AUTHZ:ORDER seconds, not '$2'" >&2; return 64 ;;
			esac
			shift ;;
		*) echo "pebble_start: unknown option $1" >&2; return 64 ;;
		esac
		shift
	done
	PEBBLE_WORK=$(mktemp -d "${TMPDIR:-/tmp}/pebble.XXXXXX")
	_pebble_certs || { cat "$PEBBLE_WORK/openssl.log" >&2; return 1; }
	export PEBBLE_WORK PEBBLE_CA_BUNDLE="$PEBBLE_WORK/ca.pem"
	export PEBBLE_LOG="$PEBBLE_WORK/pebble.log" CHALLTEST_LOG="$PEBBLE_WORK/challtestsrv.log"

	# Ports are free when picked; another process could take one before the
	# servers bind it, so try a few times.
	_try=0
	while [ $_try -lt 3 ]; do
		_try=$((_try + 1))
		if _pebble_try_start "$_eab" "$_validity" "$_reject" "$_nosleep" "$_reuse"; then
			return 0
		fi
		_pebble_kill
	done
	echo "pebble_start: pebble did not come up; logs follow" >&2
	pebble_logs
	return 1
}

_pebble_try_start() {
	set -- "$@" $(_pebble_ports 6)
	# $1 eab $2 validity $3 reject $4 nosleep $5 reuse $6.. ports
	PEBBLE_PORT=$6 _mport=$7 _dport=$8 _cport=$9
	shift 9
	PEBBLE_HTTP_PORT=$1 PEBBLE_TLS_PORT=$2
	set -- "$_eab" "$_validity" "$_reject" "$_nosleep" "$_reuse"
	export PEBBLE_HTTP_PORT PEBBLE_TLS_PORT
	export PEBBLE_DIR_URL="https://127.0.0.1:$PEBBLE_PORT/dir"
	export PEBBLE_MGMT_URL="https://127.0.0.1:$_mport"
	export CHALLTEST_MGMT="http://127.0.0.1:$_cport" CHALLTEST_DNS="127.0.0.1:$_dport"

	_cfg=$PEBBLE_WORK/pebble-config.json
	{
		printf '{\n  "pebble": {\n'
		printf '    "listenAddress": "127.0.0.1:%s",\n' "$PEBBLE_PORT"
		printf '    "managementListenAddress": "127.0.0.1:%s",\n' "$_mport"
		printf '    "certificate": "%s",\n' "$PEBBLE_WORK/server.pem"
		printf '    "privateKey": "%s",\n' "$PEBBLE_WORK/server.key"
		printf '    "httpPort": %s,\n    "tlsPort": %s,\n' "$PEBBLE_HTTP_PORT" "$PEBBLE_TLS_PORT"
		printf '    "ocspResponderURL": "",\n'
		if [ -n "$_retry" ]; then
			printf '    "retryAfter": {"authz": %s, "order": %s},\n' "${_retry%%:*}" "${_retry#*:}"
		fi
		printf '    "profiles": {\n'
		printf '      "default": {"description": "goproxy-cert tests", "validityPeriod": %s}' "${2:-7776000}"
		for _p in $_profiles; do
			printf ',\n      "%s": {"description": "goproxy-cert tests", "validityPeriod": %s}' "${_p%%:*}" "${_p#*:}"
		done
		printf '\n    },\n'
		if [ "$1" = 1 ]; then
			printf '    "externalAccountBindingRequired": true,\n'
			printf '    "externalAccountMACKeys": {\n'
			printf '      "kid-1": "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W",\n'
			printf '      "kid-2": "b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH"\n'
			printf '    }\n'
		else
			printf '    "externalAccountBindingRequired": false\n'
		fi
		printf '  }\n}\n'
	} >"$_cfg"
	if [ "$1" = 1 ]; then
		export PEBBLE_EAB_KID=kid-1
		export PEBBLE_EAB_HMAC=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W
	fi

	"$CHALLTESTSRV_BIN" -dnsserver "127.0.0.1:$_dport" -doh "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
		-http01 "" -https01 "" -tlsalpn01 "" -management "127.0.0.1:$_cport" \
		>"$CHALLTEST_LOG" 2>&1 &
	CHALLTEST_PID=$!
	_PEBBLE_ENV="$4 $3 $5" _PEBBLE_CFG=$_cfg _PEBBLE_DNS=${_dnsserver:-127.0.0.1:$_dport}
	_pebble_exec >"$PEBBLE_LOG" 2>&1 &
	PEBBLE_PID=$!

	# Wait (up to ~15 s) for pebble's directory and challtestsrv's management port.
	_i=0
	while [ $_i -lt 150 ]; do
		if ! kill -0 "$PEBBLE_PID" 2>/dev/null || ! kill -0 "$CHALLTEST_PID" 2>/dev/null; then
			return 1
		fi
		if curl -fsS --cacert "$PEBBLE_CA_BUNDLE" -o /dev/null "$PEBBLE_DIR_URL" 2>/dev/null &&
			curl -sS -o /dev/null "$CHALLTEST_MGMT/" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# Run pebble in the foreground with the settings pebble_start chose.
_pebble_exec() {
	set -- $_PEBBLE_ENV
	export PEBBLE_VA_NOSLEEP="$1" PEBBLE_WFE_NONCEREJECT="$2"
	if [ -n "${3:-}" ]; then export PEBBLE_AUTHZREUSE="$3"; fi
	if [ -n "$_altroots" ]; then export PEBBLE_ALTERNATE_ROOTS="$_altroots"; fi
	if [ "$1" != 1 ]; then unset PEBBLE_VA_NOSLEEP; fi
	exec "$PEBBLE_BIN" -config "$_PEBBLE_CFG" -dnsserver "$_PEBBLE_DNS"
}

# pebble_restart: stop pebble and start it again on the same ports with the
# same settings (challtestsrv keeps running). Pebble keeps everything in
# memory, so it forgets every account, order and authorization: a CA reset.
pebble_restart() {
	kill "$PEBBLE_PID" 2>/dev/null || :
	wait "$PEBBLE_PID" 2>/dev/null || :
	(_pebble_exec) >>"$PEBBLE_LOG" 2>&1 &
	PEBBLE_PID=$!
	_i=0
	while [ $_i -lt 150 ]; do
		kill -0 "$PEBBLE_PID" 2>/dev/null || { echo "pebble_restart: pebble exited" >&2; return 1; }
		curl -fsS --cacert "$PEBBLE_CA_BUNDLE" -o /dev/null "$PEBBLE_DIR_URL" 2>/dev/null && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	echo "pebble_restart: pebble did not come up" >&2
	return 1
}

_pebble_kill() {
	for _p in $PEBBLE_PID $CHALLTEST_PID; do
		kill "$_p" 2>/dev/null || :
	done
	for _p in $PEBBLE_PID $CHALLTEST_PID; do
		wait "$_p" 2>/dev/null || :
	done
	PEBBLE_PID= CHALLTEST_PID=
}

# Stop both servers and remove the temp dir. Safe to call twice.
pebble_stop() {
	_pebble_kill
	if [ -n "${PEBBLE_WORK:-}" ] && [ -d "$PEBBLE_WORK" ]; then
		rm -rf "$PEBBLE_WORK"
	fi
	PEBBLE_WORK=
}

# Print both logs (last 200 lines each) to stderr.
pebble_logs() {
	for _f in "${PEBBLE_LOG:-}" "${CHALLTEST_LOG:-}"; do
		if [ -n "$_f" ] && [ -f "$_f" ]; then
			echo "----- $_f (last 200 lines)" >&2
			tail -n 200 "$_f" >&2
		fi
	done
}

# pebble_set_renewal_info CERT ARI_TEXT: pebble answers renewalInfo for the
# first certificate in the PEM file CERT with ARI_TEXT from now on (with
# Retry-After: 21600, as for every ARI answer of pebble 2.10).
pebble_set_renewal_info() {
	_pem=$(sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/{p;/-----END/q}' "$1")
	jq -cn --arg c "$_pem" --arg a "$2" '{certificate: $c, ARIResponse: $a}' |
		curl -fsS -o /dev/null --cacert "$PEBBLE_CA_BUNDLE" --data-binary @- \
			"$PEBBLE_MGMT_URL/set-renewal-info/"
}

# Write pebble's current root and intermediate (PEM) to FILE.
pebble_roots() {
	{
		curl -fsS --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_MGMT_URL/intermediates/0"
		curl -fsS --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_MGMT_URL/roots/0"
	} >"$1"
}

# Set / clear a dns-01 TXT record in challtestsrv. HOST like _acme-challenge.example.com
pebble_set_txt() {
	curl -fsS -o /dev/null -d "{\"host\":\"${1%.}.\",\"value\":\"$2\"}" "$CHALLTEST_MGMT/set-txt"
}
pebble_clear_txt() {
	curl -fsS -o /dev/null -d "{\"host\":\"${1%.}.\"}" "$CHALLTEST_MGMT/clear-txt"
}

# Point NAME at ADDRESS in challtestsrv's DNS (pebble validates there): a
# test's names on several loopback addresses.
pebble_add_a() {
	curl -fsS -o /dev/null -d "{\"host\":\"${1%.}.\",\"addresses\":[\"$2\"]}" "$CHALLTEST_MGMT/add-a"
}

# How many requests matching the fixed string (e.g. 'POST /order-plz') pebble logged.
pebble_count() {
	grep -cF -- "$1" "$PEBBLE_LOG" || :
}

# How many orders pebble accepted ("Added order ... to the db"): what a
# test means by "the CA was asked for a certificate N times". Not the
# newOrder requests: pebble 2.10 indexes an issued certificate by
# hex(serial.Bytes()), without the DER leading zero that RFC 9773's certID
# keeps, so a renewal whose old serial is 7 bytes with the top bit set (about
# 1 in 256 of its 63-bit serials) has its `replaces` refused ("could not find
# an order") and the client orders once more without it: two requests, one
# order. For "no request reached the CA" count 'POST /order-plz' instead.
pebble_orders() {
	pebble_count 'Added order '
}

# ---- ARI (RFC 9773) helpers, computed with openssl, apart from the code under test

# b64hex HEX: base64url (no padding) of the bytes HEX spells.
b64hex() {
	env printf "$(printf %s "$1" | sed 's/../\\x&/g')" | basenc --base64url -w0 | tr -d =
}

# certid CERT: RFC 9773 §4.1 certID of the first certificate in CERT,
# base64url(AKI keyIdentifier) "." base64url(serial DER content octets),
# computed with openssl, independently of the code under test.
certid() {
	_aki=$(openssl x509 -in "$1" -noout -ext authorityKeyIdentifier | sed -n 2p |
		sed 's/^ *//; s/^keyid://' | tr -d ':')
	_ser=$(openssl x509 -in "$1" -noout -serial | sed 's/^serial=//')
	[ $((${#_ser} % 2)) = 0 ] || _ser=0$_ser
	while case $_ser in 00??*) true ;; *) false ;; esac do _ser=${_ser#00}; done
	# DER INTEGER: a positive number whose top bit is set keeps a zero byte.
	case $_ser in [89a-fA-F]*) _ser=00$_ser ;; esac
	echo "$(b64hex "$_aki").$(b64hex "$_ser")"
}

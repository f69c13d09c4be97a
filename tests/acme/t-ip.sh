#!/bin/sh
# IP address certificates (RFC 8738) on pebble 2.10 with a 6-day
# "shortlived" profile (Let's Encrypt issues IP certificates only there).
# Asserted:
#   a failed ::1 validation's hint names http://[::1]/... (brackets);
#   -D 127.0.0.1 through tls-alpn-01 and -D ::1 through http-01 (when this
#     machine has IPv6 loopback): an iPAddress SAN (pebble puts one only
#     for an identifier of type "ip"), a 6-day certificate, the profile stored;
#   check --domain 127.0.0.1 / --domain ::1 (also spelled 0:0::1) match the
#     IP SAN; status lists the address;
#   goproxyd on the certs directory gives a client that connects to
#     127.0.0.1 (and ::1) without SNI the IP certificate, and one asking
#     for a name the default lineage's.
set -eu
. "$TESTS_DIR/acme/common.sh"
GPD=$BUILD_DIR/cmd/goproxyd/goproxyd
[ -x "$GPD" ] || { echo "SKIP: goproxyd not built ($GPD)" >&2; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: openssl missing" >&2; exit 77; }
acme_init --profile shortlived:518400 --authz-reuse 0
DAY=86400
epoch() { date -u -d "$1" +%s; }
life() {
	echo $(( $(epoch "$(openssl x509 -in "$1" -noout -enddate | sed 's/^notAfter=//')") -
		 $(epoch "$(openssl x509 -in "$1" -noout -startdate | sed 's/^notBefore=//')") ))
}
V6=0
if python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then V6=1; fi

echo "== 127.0.0.1 through tls-alpn-01, shortlived"
issue -n ip4 -D 127.0.0.1 --profile shortlived --challenge tls-alpn-01 --standalone "127.0.0.1:$PEBBLE_TLS_PORT"
expect_rc 0
[ "$(cert_names "$CERTS/ip4/cert.crt")" = 127.0.0.1 ] || fail "SANs: $(cert_names "$CERTS/ip4/cert.crt")"
l=$(life "$CERTS/ip4/cert.crt")
[ "$l" -gt $((6 * DAY - 60)) ] && [ "$l" -le $((6 * DAY)) ] || fail "lifetime $l s, not 6 days"
[ "$(jq -r .profile "$CERTS/.state/lineages/ip4.json")" = shortlived ] || fail "profile not stored"

if [ $V6 = 1 ]; then
	echo "== ::1 refused (nothing on the port the CA asks): the hint's URL has brackets"
	# its own certs dir (ledger, account): the success below is not held back
	set -- $("$FREEPORT" 1)
	gpc issue -d "$WORK/fail6" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -n f6 -D ::1 \
		--profile shortlived --standalone "[::1]:$1"
	expect_rc 1
	expect_err 'hint: http://\[::1\]/\.well-known/acme-challenge/'
	echo "== ::1 through http-01"
	issue -n ip6 -D ::1 --profile shortlived --standalone "[::1]:$PEBBLE_HTTP_PORT"
	expect_rc 0
	cert_names "$CERTS/ip6/cert.crt" | grep -qx '0:0:0:0:0:0:0:1\|::1' || fail "SANs: $(cert_names "$CERTS/ip6/cert.crt")"
else
	echo "SKIP: ::1 (no IPv6 loopback here)"
fi

echo "== a DNS name as the default lineage"
issue -D name.example.test --profile shortlived --standalone "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 0

echo "== check and status match IP SANs"
gpc check -d "$CERTS" --domain 127.0.0.1 ip4
expect_rc 0
gpc check -d "$CERTS" --domain 127.0.0.2 ip4
expect_rc 2
if [ $V6 = 1 ]; then
	gpc check -d "$CERTS" --domain ::1 ip6
	expect_rc 0
	gpc check -d "$CERTS" --domain 0:0::1 ip6
	expect_rc 0
fi
gpc status -d "$CERTS" ip4
expect_rc 0
expect_out 'domains +127\.0\.0\.1$'

echo "== goproxyd: no SNI on 127.0.0.1 gets the IP certificate"
set -- $("$FREEPORT" 2)
P4=$1 BP=$2
L6=
[ $V6 = 0 ] || L6="-l [::1]:$P4"
bg_start "$GPD" -d "$CERTS" -l "127.0.0.1:$P4" $L6 -b "127.0.0.1:$BP" --pidfile "$WORK/gpd.pid" 2>"$WORK/gpd.log"
i=0
while ! (echo | openssl s_client -connect "127.0.0.1:$P4" -servername name.example.test >/dev/null 2>&1); do
	i=$((i + 1)); [ $i -lt 100 ] || fail "goproxyd did not start: $(cat "$WORK/gpd.log")"; sleep 0.1
done
served() { # CONNECT [SNI]: the SANs of the certificate served
	if [ -n "${2:-}" ]; then sn="-servername $2"; else sn=-noservername; fi
	# shellcheck disable=SC2086
	echo | openssl s_client -connect "$1" $sn 2>/dev/null | openssl x509 -noout -ext subjectAltName 2>/dev/null |
		tr ',' '\n' | sed -n 's/^ *\(DNS\|IP Address\):\(.*\)$/\2/p' | sort | tr '\n' ' '
}
[ "$(served "127.0.0.1:$P4")" = "127.0.0.1 " ] || fail "no SNI on 127.0.0.1 got '$(served "127.0.0.1:$P4")'"
[ "$(served "127.0.0.1:$P4" name.example.test)" = "name.example.test " ] || fail "SNI name.example.test got '$(served "127.0.0.1:$P4" name.example.test)'"
if [ $V6 = 1 ]; then
	s6=$(served "[::1]:$P4")
	case $s6 in "0:0:0:0:0:0:0:1 "|"::1 ") ;; *) fail "no SNI on ::1 got '$s6'" ;; esac
fi
echo "PASS"

#!/bin/bash
# goproxyd --proxy-protocol v1/v2: nginx (listen ... proxy_protocol) reads
# the client address back; gpd-tool ppserver checks the v2 TLVs (SNI as
# PP2_TYPE_AUTHORITY, ALPN as PP2_TYPE_ALPN).
. "$(dirname "$0")/lib.sh"

mkpair "$CERTS" default.test
mkpair "$CERTS/www" www.test
start_nginx
set -- $(freeport 4)
P1=$1 P2=$2 P3=$3 PPS=$4
"$GPD_TOOL" ppserver "$PPS" >"$T/pps.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$PPS"

for v in v1 v2; do
	port=$P1
	[ "$v" = v2 ] && port=$P2
	"$GOPROXYD" -d "$CERTS" -l "127.0.0.1:$port" -b "127.0.0.1:$NGX_PP_PORT" --proxy-protocol "$v" \
		--workers 1 >"$T/gpd-$v.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_port "$port"
	# the client's source port, as the client sees it
	out=$(curl -sSk --max-time 10 -w ' %{local_ip} %{local_port}' --resolve "www.test:$port:127.0.0.1" \
		"https://www.test:$port/") || fail "$v: curl"
	set -- $out
	[ "$1" = pp ] && [ "$2" = 127.0.0.1 ] || fail "$v: nginx read '$out'"
	[ "$3" = "$5" ] || fail "$v: nginx saw client port $3, the client used $5"
	ok "PROXY $v: nginx reads the client address and port"
done

"$GOPROXYD" -d "$CERTS" -l "127.0.0.1:$P3" -b "127.0.0.1:$PPS" --proxy-protocol v2 --workers 1 \
	>"$T/gpd-tlv.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$P3"
out=$(curl -sSk --max-time 10 -w ' %{local_port}' --resolve "www.test:$P3:127.0.0.1" "https://www.test:$P3/") ||
	fail "v2 TLV: curl"
set -- $out
[ "$1" = v2 ] || fail "ppserver: '$out'"
[ "$2" = "src=127.0.0.1:$6" ] || fail "v2 source: '$out'"
[ "$3" = "dst=127.0.0.1:$P3" ] || fail "v2 destination: '$out'"
[ "$4" = "alpn=http/1.1" ] || fail "v2 ALPN TLV: '$out'"
[ "$5" = "authority=www.test" ] || fail "v2 authority TLV: '$out'"
ok "PROXY v2 carries SNI (PP2_TYPE_AUTHORITY) and ALPN (PP2_TYPE_ALPN)"

#!/bin/sh
# Names that try to leave their directory are refused (issue 5):
#   lineage names (issue -n, renew LINEAGE, revoke LINEAGE): exit 64, nothing
#   written outside the certs dir; http-01 tokens served by goproxyd --http:
#   404, never a file outside .state/challenges/http-01/.
set -eu
. "$TESTS_DIR/faults/common.sh"
KEEP_GOING=1
faults_init
need_cli issue
D=$WORK/sub/certs
mkdir -p "$WORK/sub"
# A file an escape would hit, next to the certs dir.
echo secret >"$WORK/sub/x"
chmod 600 "$WORK/sub/x"

for bad in '../x' '..' '.' '/etc/passwd' "$WORK/sub/x" 'a/b' 'a/../../x' '.state' '' 'x/' 'with space' "$(printf 'nl\nx')"; do
	for sub in issue renew revoke; do
		case $sub in
		issue) gpc issue -d "$D" -n "$bad" -D x.example.test --server https://127.0.0.1:1/dir ;;
		renew) gpc renew -d "$D" "$bad" ;;
		revoke) gpc revoke -d "$D" "$bad" ;;
		esac
		if grep -q 'not implemented' "$WORK/err"; then
			continue
		fi
		[ "$RC" = 64 ] || fail "$sub '$bad': exit $RC, expected 64"
	done
done
[ "$(cat "$WORK/sub/x")" = secret ] || fail "a file outside the certs dir was changed"
left=$(find "$WORK" -newer "$WORK/sub/x" -type f ! -path "$WORK/cmd.out" ! -path "$WORK/out" ! -path "$WORK/err" | head -n 5)
[ -z "$left" ] || fail "files written for refused names: $left"

echo "== goproxyd --http: tokens that leave .state/challenges/http-01 get 404"
if [ -x "${GOPROXYD:-}" ] && command -v curl >/dev/null 2>&1; then
	C=$WORK/pcerts
	mkdir -p "$C/.state/challenges/http-01"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/priv.key" \
		-out "$C/cert.crt" -days 2 -subj /CN=t.example.test >/dev/null 2>&1
	chmod 600 "$C/priv.key"
	echo good-token.thumb >"$C/.state/challenges/http-01/good-token"
	set -- $("$FREEPORT" 3)
	"$GOPROXYD" -d "$C" -l "127.0.0.1:$1" -b "127.0.0.1:$3" --http "127.0.0.1:$2" --workers 1 \
		>"$WORK/goproxyd.out" 2>"$WORK/goproxyd.err" &
	FAULTS_PIDS="$FAULTS_PIDS $!"
	H="http://127.0.0.1:$2"
	i=0
	until curl -s -o /dev/null "$H/"; do
		i=$((i + 1)); [ $i -lt 100 ] || die "goproxyd --http does not answer"; sleep 0.1
	done
	code() { curl -s --path-as-is -o "$WORK/body" -w '%{http_code}' -H 'Host: t.example.test' "$H$1"; }
	[ "$(code /.well-known/acme-challenge/good-token)" = 200 ] || fail "good token not served"
	grep -q good-token.thumb "$WORK/body" || fail "good token body"
	for p in /.well-known/acme-challenge/../../priv.key /.well-known/acme-challenge/..%2f..%2fpriv.key \
		/.well-known/acme-challenge/%2e%2e/%2e%2e/priv.key /.well-known/acme-challenge/a/../../../priv.key \
		/.well-known/acme-challenge/.. /.well-known/acme-challenge/ /.well-known/acme-challenge/good-token%00 \
		'/.well-known/acme-challenge/good-token/..' /.well-known/acme-challenge//etc/passwd; do
		c=$(code "$p")
		[ "$c" = 404 ] || fail "$p: HTTP $c, expected 404"
		if grep -q 'PRIVATE KEY\|root:' "$WORK/body"; then fail "$p served a file outside the challenge dir"; fi
	done
else
	echo "   goproxyd or curl missing: skipped"
fi
faults_done

#!/bin/bash
# goproxyd --http reading its http-01 answers from a directory store never
# follows a link (issue 25): a token planted as a link to a file only root
# may read is not served; a real token still is.
. "$(dirname "$0")/lib.sh"

mkpair "$CERTS" default.test
start_nginx
set -- $(freeport 2)
P=$1 H=$2
start_gpd -d "$CERTS" -l "127.0.0.1:$P" -b "127.0.0.1:$NGX_PORT" --http "127.0.0.1:$H" --workers 1
wait_port "$H"

mkdir -p "$CERTS/.state/challenges/http-01"
chmod 700 "$CERTS/.state"
printf 'tok-real.thumbprint' >"$CERTS/.state/challenges/http-01/tok-real"
printf 'ROOT-ONLY-SECRET' >"$T/secret"
chmod 600 "$T/secret"
ln -s "$T/secret" "$CERTS/.state/challenges/http-01/tok-link"

code_body() { curl -sS --max-time 10 -o "$T/body" -w '%{http_code}' "$@"; }

[ "$(code_body "http://127.0.0.1:$H/.well-known/acme-challenge/tok-real")" = 200 ] || fail "real token not 200"
[ "$(cat "$T/body")" = "tok-real.thumbprint" ] || fail "real token body: $(cat "$T/body")"
code=$(code_body "http://127.0.0.1:$H/.well-known/acme-challenge/tok-link")
grep -q ROOT-ONLY-SECRET "$T/body" && fail "a linked token served the file it points at"
[ "$code" = 404 ] || fail "linked token answered $code, not 404"
ok "a token that is a link is not followed (404), a real one is served"

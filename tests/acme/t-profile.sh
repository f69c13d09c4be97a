#!/bin/sh
# Pebble 2.10's own ACME profiles and ARI (no relay), with a "shortlived"
# profile of 6 days (518400 s, as at Let's Encrypt) next to "default" (90
# days). Every order here names its profile: pebble gives an order without
# one a random profile. Asserted:
#   --profile shortlived: a 6-day certificate, the profile stored;
#   --profile not listed: exit 64 naming it and the listed ones, no order;
#   the 6-day certificate is due at half its lifetime (lib/core/policy.c), not
#     at pebble's ARI window (2/3 of it): at notBefore + 3 d - 1 h check
#     exits 0, status says ok, renew orders nothing; at + 3 d + 1 h check
#     exits 1, status says due, with the same due_at/next_renewal (half
#     life), and renew orders once, keeping the profile (a new 6-day
#     certificate);
#   issue on pebble's ARI stores pebble's own window for the certificate
#     (asked here with curl), a time inside it, the RFC 9773 certID
#     (computed here with openssl) and pebble's Retry-After (6 h);
#   ARI moved into the past by the CA (POST /set-renewal-info/ on pebble's
#     management port) for a 90-day certificate that is not otherwise due:
#     renew sends nothing while the last ARI answer's Retry-After (pebble:
#     6 h) holds, then asks again and orders exactly once (with replaces),
#     and a second renew orders nothing.
set -eu
. "$TESTS_DIR/acme/common.sh"
command -v jq >/dev/null || { echo "SKIP: jq missing" >&2; exit 77; }
acme_init --profile shortlived:518400 --authz-reuse 0
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
DAY=86400

epoch() { date -u -d "$1" +%s; }
rfc3339() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
nb_of() { epoch "$(openssl x509 -in "$1" -noout -startdate | sed 's/^notBefore=//')"; }
na_of() { epoch "$(openssl x509 -in "$1" -noout -enddate | sed 's/^notAfter=//')"; }
orders() { pebble_orders; }
echo "== --profile shortlived: a 6-day certificate, the profile stored"
issue -n short -D short.example.test --profile shortlived $SA
expect_rc 0
C=$CERTS/short/cert.crt
NB=$(nb_of "$C") NA=$(na_of "$C")
L=$((NA - NB))
[ "$L" -gt $((6 * DAY - 60)) ] && [ "$L" -le $((6 * DAY)) ] || fail "lifetime $L s, not 6 days"
[ "$(jq -r .profile "$CERTS/.state/lineages/short.json")" = shortlived ] || fail "profile not stored"

echo "== --profile not listed: exit 64 naming it and the listed ones"
o=$(orders)
issue -n bad -D bad.example.test --profile bogus $SA
expect_rc 64
expect_err "bogus"
expect_err "default, shortlived"
[ "$(orders)" = "$o" ] || fail "an order was sent for an unlisted profile"
[ ! -e "$CERTS/bad" ] || fail "a pair was written for an unlisted profile"

# Half life: the certificate is due once less than ceil(L / 2) is left.
HALF=$((NA - (L + 1) / 2))
state_at() { # NOW WANT_RC WANT_STATE
	GOPROXY_CERT_NOW=$1 gpc check -d "$CERTS" --json short
	[ "$RC" = "$2" ] || fail "check at $(rfc3339 "$1"): exit $RC, expected $2"
	jq -e --arg t "$(rfc3339 "$HALF")" --arg s "$3" \
		'.certificates[0] | .state == $s and .due_at == $t and .due_rule == "half-of-lifetime"' \
		"$WORK/out" >/dev/null || fail "check at $(rfc3339 "$1"): not $3 at half life $(rfc3339 "$HALF")"
	GOPROXY_CERT_NOW=$1 gpc status -d "$CERTS" --json short
	jq -e --arg t "$(rfc3339 "$HALF")" --arg s "$3" \
		'.certificates[] | select(.name == "short") | .state == $s and .next_renewal == $t' \
		"$WORK/out" >/dev/null || fail "status at $(rfc3339 "$1"): not $3, next_renewal $(rfc3339 "$HALF")"
}
echo "== 3 days - 1 hour after notBefore: ok in check, status and renew"
state_at $((NB + 3 * DAY - 3600)) 0 ok
o=$(orders)
GOPROXY_CERT_NOW=$((NB + 3 * DAY - 3600)) gpc renew -d "$CERTS" --json short
expect_rc 0
jq -e --arg t "$(rfc3339 "$HALF")" '.results[0] | .result == "current" and .due_at == $t' "$WORK/out" >/dev/null ||
	fail "renew before half life did not say current, due at $(rfc3339 "$HALF")"
[ "$(orders)" = "$o" ] || fail "renew ordered before half life"

echo "== 3 days + 1 hour: due in check and status; renew orders once, same profile"
state_at $((NB + 3 * DAY + 3600)) 1 due
GOPROXY_CERT_NOW=$((NB + 3 * DAY + 3600)) gpc renew -d "$CERTS" --json short
expect_rc 0
expect_out '"result": *"issued"'
[ "$(orders)" = $((o + 1)) ] || fail "renew at half life + 1 h: $(($(orders) - o)) orders, expected 1"
L2=$(($(na_of "$C") - $(nb_of "$C")))
[ "$L2" -gt $((6 * DAY - 60)) ] && [ "$L2" -le $((6 * DAY)) ] || fail "renewed lifetime $L2 s: profile not kept"
[ "$(jq -r .profile "$CERTS/.state/lineages/short.json")" = shortlived ] || fail "profile lost on renewal"

echo "== issue stores pebble's ARI window, a time in it, the certID, Retry-After"
Tb=$(date +%s)
issue -n ari -D ari.example.test --profile default $SA
expect_rc 0
T0=$(date +%s)
A=$CERTS/ari/cert.crt
[ $(($(na_of "$A") - $(nb_of "$A"))) -gt $((89 * DAY)) ] || fail "the default profile did not give 90 days"
id=$(certid "$A")
ri=$(curl -fsS --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_DIR_URL" | jq -r .renewalInfo)
curl -fsS --cacert "$PEBBLE_CA_BUNDLE" "$ri/$id" >"$WORK/ri.json" || fail "pebble has no renewalInfo for $id"
ws=$(epoch "$(jq -r .suggestedWindow.start "$WORK/ri.json")")
we=$(epoch "$(jq -r .suggestedWindow.end "$WORK/ri.json")")
Lj=$CERTS/.state/lineages/ari.json
[ "$(jq -r .ari.cert_id "$Lj")" = "$id" ] || fail "ari.cert_id $(jq -r .ari.cert_id "$Lj"), computed $id"
[ "$(epoch "$(jq -r .ari.window_start "$Lj")")" = "$ws" ] && [ "$(epoch "$(jq -r .ari.window_end "$Lj")")" = "$we" ] ||
	fail "stored window $(jq -c .ari "$Lj") is not pebble's $(cat "$WORK/ri.json")"
ra=$(epoch "$(jq -r .ari.renew_at "$Lj")")
[ "$ra" -ge "$ws" ] && [ "$ra" -le "$we" ] || fail "renew_at $(jq -r .ari.renew_at "$Lj") not in pebble's window"
rt=$(epoch "$(jq -r .ari.retry_after "$Lj")")
[ "$rt" -ge $((Tb + 21600)) ] && [ "$rt" -le $((T0 + 21601)) ] || fail "retry_after $(jq -r .ari.retry_after "$Lj"), not 6 h on"
GOPROXY_CERT_NOW=$((ra - 60)) gpc check -d "$CERTS" --json ari
[ "$RC" = 0 ] && jq -e --arg t "$(rfc3339 "$ra")" '.certificates[0] | .due_at == $t and .due_rule == "ari"' \
	"$WORK/out" >/dev/null || fail "check does not name the ARI time $(rfc3339 "$ra"): $(cat "$WORK/out")"

echo "== ARI window moved into the past by the CA: renew orders once, after Retry-After"
S=$(rfc3339 $((T0 - 2 * DAY))) E=$(rfc3339 $((T0 - DAY)))
pebble_set_renewal_info "$A" "{\"suggestedWindow\":{\"start\":\"$S\",\"end\":\"$E\"}}"
cp "$A" "$WORK/ari-before.crt"
o=$(orders)
ari=$(pebble_requests 'renewalInfo')
gpc renew -d "$CERTS" ari
expect_rc 0
expect_out 'current'
[ "$(orders)" = "$o" ] && [ "$(pebble_requests 'renewalInfo')" = "$ari" ] ||
	fail "renew asked the CA while pebble's Retry-After (6 h) held"
LATER=$((T0 + 6 * 3600 + 120))
GOPROXY_CERT_NOW=$LATER gpc renew -d "$CERTS" ari
expect_rc 0
[ "$(orders)" = $((o + 1)) ] || fail "renew after Retry-After: $(($(orders) - o)) orders, expected 1"
[ "$(pebble_requests 'renewalInfo')" -gt "$ari" ] || fail "renew did not ask renewalInfo again"
grep -q 'ARI: order .* is a replacement of' "$PEBBLE_LOG" || fail "the order did not name the certificate it replaces"
cmp -s "$A" "$WORK/ari-before.crt" && fail "the certificate was not replaced" || :
GOPROXY_CERT_NOW=$LATER gpc renew -d "$CERTS" ari
expect_rc 0
[ "$(orders)" = $((o + 1)) ] || fail "a second renew ordered again"
echo ok

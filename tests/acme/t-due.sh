#!/bin/sh
# One "is it due" rule for check, status and renew (lib/core/policy.c
# policy_lineage_due), against a real pebble with 90-day certificates
# (profile "default", validityPeriod 7776000 s), seen through
# tests/lib/relay.py --no-ari: a CA without renewalInfo, so that the offline
# rules decide (pebble 2.10 always offers ARI; tests/faults/ari.sh tests
# that). Lineages:
#   d80   issued with --days 80 (stored as "days"): due 80 days before notAfter
#   dflt  the default rule: due once less than 1/3 of the lifetime is left
#   ari   an ARI time 15 days after notBefore stored for this certificate
#         (the CA offers no renewalInfo: written into the lineage file the way
#         issue stores it, ari.renew_at + ari.cert_sha256)
#   arix  the same time, stored for another certificate: void, lifetime rule
# At notBefore + K days for several K ($GOPROXY_CERT_NOW; 85, 81, 79, 78, 70,
# 50 and 29 days left), on a copy of the certs dir each time, asserted per
# lineage: `check` exits 1 exactly when renew orders (0 otherwise); `status
# --json` says due/ok the same way and its next_renewal, check's due_at and
# renew's due_at are the same time (computed here from the certificate's
# dates); `renew` issues a new certificate for the due lineages only, and
# makes no request at all when none is due.
set -eu
. "$TESTS_DIR/acme/common.sh"
command -v jq >/dev/null || { echo "SKIP: jq missing" >&2; exit 77; }
acme_init --validity 7776000 --authz-reuse 0
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
DAY=86400
acme_no_ari

issue -n d80 -D d80.example.test --days 80 $SA
expect_rc 0
for n in dflt ari arix; do
	issue -n "$n" -D "$n.example.test" $SA
	expect_rc 0
done
grep -q '"days": 80' "$CERTS/.state/lineages/d80.json" || fail "d80: --days 80 not stored"

epoch() { date -u -d "$1" +%s; }
rfc3339() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
nb_of() { epoch "$(openssl x509 -in "$CERTS/$1/cert.crt" -noout -startdate | sed 's/^notBefore=//')"; }
na_of() { epoch "$(openssl x509 -in "$CERTS/$1/cert.crt" -noout -enddate | sed 's/^notAfter=//')"; }
fp_of() { openssl x509 -in "$CERTS/$1/cert.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }

NB=$(nb_of d80)
for n in d80 dflt ari arix; do
	eval "nb_$n=\$(nb_of $n) na_$n=\$(na_of $n)"
done
L=$((na_dflt - nb_dflt))
[ "$L" -gt $((89 * DAY)) ] && [ "$L" -le $((90 * DAY)) ] || fail "pebble gave a lifetime of $L s, not 90 days"

# ARI data as issue stores it (no cert_id: nothing to ask pebble about)
ARI_AT=$((nb_ari + 15 * DAY))
setari() { # NAME TIME FINGERPRINT
	_f=$CERTS/.state/lineages/$1.json
	jq --arg t "$(rfc3339 "$2")" --arg fp "$3" '.ari = {renew_at: $t, cert_sha256: $fp}' "$_f" >"$WORK/l.json"
	cat "$WORK/l.json" >"$_f"
}
setari ari "$ARI_AT" "$(fp_of ari)"
setari arix "$((nb_arix + 15 * DAY))" "$(fp_of d80)"

# The time each lineage becomes due, from its certificate's dates.
due_d80=$((na_d80 - 80 * DAY))
due_dflt=$((na_dflt - (na_dflt - nb_dflt + 2) / 3))
due_ari=$ARI_AT
due_arix=$((na_arix - (na_arix - nb_arix + 2) / 3))

# moment K: everything at notBefore + K days, on a fresh copy of the certs dir
moment() {
	K=$1
	NOW=$((NB + K * DAY))
	M=$WORK/at$K
	rm -rf "$M"
	cp -a "$CERTS" "$M"
	want_any=0
	echo "== $K days after notBefore ($(( (na_d80 - NOW + DAY / 2) / DAY )) days left)"
	export GOPROXY_CERT_NOW=$NOW
	gpc status -d "$M" --json
	expect_rc 0
	cp "$WORK/out" "$WORK/status.json"
	for n in d80 dflt ari arix; do
		eval "due=\$due_$n"
		if [ "$NOW" -ge "$due" ] && { [ "$n" = ari ] || [ "$NOW" -gt "$due" ]; }; then
			want=1 state=due want_any=1
		else
			want=0 state=ok
		fi
		eval "want_$n=$want"
		gpc check -d "$M" --json "$n"
		[ "$RC" = "$want" ] || fail "$n at +$K d: check exit $RC, expected $want (due at $(rfc3339 "$due"))"
		jq -e --arg t "$(rfc3339 "$due")" --arg s "$state" \
			'.certificates[0] | .state == $s and .due_at == $t' "$WORK/out" >/dev/null ||
			fail "$n at +$K d: check is not $state, due at $(rfc3339 "$due")"
		jq -e --arg n "$n" --arg t "$(rfc3339 "$due")" --arg s "$state" \
			'.certificates[] | select(.name == $n) | .state == $s and .next_renewal == $t' \
			"$WORK/status.json" >/dev/null ||
			fail "$n at +$K d: status is not $state with next_renewal $(rfc3339 "$due"): $(cat "$WORK/status.json")"
	done
	gpc check -d "$M" -q
	[ "$RC" = "$want_any" ] || fail "check of all at +$K d: exit $RC, expected $want_any"

	before=$(pebble_requests 'calling handler')
	orders=$(pebble_requests 'POST /order-plz')
	for n in d80 dflt ari arix; do
		openssl x509 -in "$M/$n/cert.crt" -noout -serial >"$WORK/$n.serial"
	done
	gpc renew -d "$M" --json
	expect_rc 0
	n_due=0
	for n in d80 dflt ari arix; do
		eval "want=\$want_$n due=\$due_$n"
		if [ "$want" = 1 ]; then
			r=issued n_due=$((n_due + 1))
			openssl x509 -in "$M/$n/cert.crt" -noout -serial | cmp -s - "$WORK/$n.serial" &&
				fail "$n at +$K d: due but not renewed"
		else
			r=current
			openssl x509 -in "$M/$n/cert.crt" -noout -serial | cmp -s - "$WORK/$n.serial" ||
				fail "$n at +$K d: not due but renewed"
			jq -e --arg n "$n" --arg t "$(rfc3339 "$due")" \
				'.results[] | select(.lineage == $n) | .due_at == $t' "$WORK/out" >/dev/null ||
				fail "$n at +$K d: renew's due_at is not $(rfc3339 "$due")"
		fi
		jq -e --arg n "$n" --arg r "$r" '.results[] | select(.lineage == $n) | .result == $r' \
			"$WORK/out" >/dev/null || fail "$n at +$K d: renew did not say $r"
	done
	[ $(($(pebble_requests 'POST /order-plz') - orders)) = "$n_due" ] ||
		fail "at +$K d: $n_due due, $(($(pebble_requests 'POST /order-plz') - orders)) orders"
	if [ "$n_due" = 0 ]; then
		[ "$before" = "$(pebble_requests 'calling handler')" ] ||
			fail "at +$K d: renew contacted the CA with nothing due"
	fi
	unset GOPROXY_CERT_NOW
	rm -rf "$M"
}

moment 5   # 85 days left: nothing due
moment 9   # 81 days left: still nothing
moment 11  # 79 days left: d80 due (check said 0 before the fix)
moment 12  # 78 days left
moment 20  # 70 days left: and ari (15 days after notBefore)
moment 40  # 50 days left
moment 61  # 29 days left, past 2/3 of the lifetime: every lineage
echo "ok"

#!/bin/sh
# ACME Renewal Information (RFC 9773) faults against a real pebble 2.10
# through tests/lib/relay.py, for what pebble cannot do: renewalInfo answered
# by the relay (window read from $WORK/ari.spec at every request, any
# Retry-After and explanationURL; pebble's are fixed), the newOrder payload's
# replaces/profile in its log, alreadyReplaced and other refusals on demand,
# dropped connections, a directory without profiles. Pebble's own ARI and
# profiles: tests/acme/t-profile.sh. Asserted:
#   issue stores the CA's window and one time inside it, the certID (computed
#     here with openssl), explanationURL and Retry-After in the lineage;
#     issue --json due_at and status next_renewal are that time;
#   renew before the chosen time: nothing (no request while Retry-After is in
#     force; after it one renewalInfo GET and no newOrder);
#   renew after it: newOrder with replaces = the current certID, new pair,
#     past a local --rate-limit 1/168 (ARI renewals are exempt);
#   a window moved into the past renews a certificate that is not otherwise
#     due, also at exactly the chosen time;
#   a window after notAfter does not let the certificate expire;
#   renewalInfo down after a renewal: one attempt, the new pair committed,
#     the previous certificate's time void (no renewal loop), asked again
#     on the next run;
#   alreadyReplaced (409), or another refusal (400 malformed, as for a
#     certificate of another CA or account): ordered again without
#     replaces, new pair;
#   the CA dropping every connection: renew of a lineage that is not due
#     makes at most a few requests (no 12-retry loop) and reports current;
#   "renewalInfo": "" in the directory is no ARI (it read out of bounds);
#   --profile on a CA that lists no profiles: exit 64;
#   a Retry-After of 2 days is held to 12 h (ARI asked twice a day).
set -eu
. "$TESTS_DIR/faults/common.sh"
faults_init
need_cli issue
need_cli renew
pebble_start

SPEC=$WORK/ari.spec
T0=$(date +%s)
S=$(date -u -d "@$((T0 + 2 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
E=$(date -u -d "@$((T0 + 4 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
EXPL=https://ca.example/ari-explained
FUTURE="$S,$E,retry-after=3600,explanation=$EXPL"
PAST="-2d,-1d,retry-after=3600"

# eval "$(linvars DIR NAME)": L_* variables from DIR/.state/lineages/NAME.json
# (one python run); L_renew_at, L_retry_after, L_issued in unix seconds.
linvars() {
	python3 -c '
import datetime, json, shlex, sys
d = json.load(open(sys.argv[1]))
a = d.get("ari") or {}
def t(v):
    return int(datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()) if v else ""
v = {"cert_id": a.get("cert_id", ""), "window_start": a.get("window_start", ""),
     "window_end": a.get("window_end", ""), "renew_at": t(a.get("renew_at")),
     "renew_at_text": a.get("renew_at", ""), "retry_after": t(a.get("retry_after")),
     "explanation_url": a.get("explanation_url", ""), "profile": d.get("profile", ""),
     "issued": t((d.get("last") or {}).get("issued"))}
for k in v:
    print("L_%s=%s" % (k, shlex.quote(str(v[k]))))' "$1/.state/lineages/$2.json"
}
neworders() { relay_count '^POST [^ ]+ [0-9]+ replaces='; }
# pebble 2.10 finds an issued certificate by hex(serial.Bytes()), without the
# leading zero byte that RFC 9773's certID keeps (and goproxy-cert sends):
# for such a serial (7 bytes with the top bit set: about 1 in 256 of
# pebble's) it answers a correct `replaces` with 500 "could not find an
# order", and the client orders once more without it. pebble_misses ID: the
# certID's serial starts with a zero byte (base64url "A" then A-P).
pebble_misses() { case ${1#*.} in A[A-P]*) return 0 ;; esac; return 1; }
# replaced ID: the renewal's newOrder carried replaces=ID and the CA took it
# (or, for a serial pebble misses, refused it with 500 and the order without
# it was taken).
replaced() {
	if pebble_misses "$1"; then
		[ "$(relay_count "^POST [^ ]+ 500 replaces=$1 profile=-\$")" = 1 ] &&
			[ "$(relay_count '^POST [^ ]+ 201 replaces=- profile=-$')" = 1 ]
	else
		[ "$(relay_count "^POST [^ ]+ 201 replaces=$1 profile=-\$")" = 1 ]
	fi
}

echo "$FUTURE" >"$SPEC"
relay_start --ari "@$SPEC"

echo "== issue on an ARI CA stores the window, one time in it, the certID"
A=$WORK/a
before=$(date +%s)
issue_via "$RELAY_URL" "$A" -n ari -D ari.example.test --json
after=$(date +%s)
expect_rc 0
pair_ok "$A/ari/cert.crt" "$A/ari/priv.key" || fail "issued pair does not match"
idA=$(certid "$A/ari/cert.crt")
eval "$(linvars "$A" ari)"
[ "$L_cert_id" = "$idA" ] || fail "ari.cert_id $L_cert_id, computed $idA"
[ "$L_window_start" = "$S" ] && [ "$L_window_end" = "$E" ] ||
	fail "stored window $L_window_start..$L_window_end, served $S..$E"
renA=$L_renew_at
[ "$renA" -ge $((T0 + 2 * 86400)) ] && [ "$renA" -lt $((T0 + 4 * 86400)) ] ||
	fail "renew_at $L_renew_at_text is not inside $S..$E"
[ "$L_explanation_url" = "$EXPL" ] || fail "explanationURL not stored"
[ "$L_retry_after" -ge $((before + 3600)) ] && [ "$L_retry_after" -le $((after + 3600)) ] ||
	fail "ari.retry_after $L_retry_after is not issue time + Retry-After 3600"
[ "$(relay_count " certid=$idA\$")" = 1 ] || fail "renewalInfo not asked once for $idA"
[ "$(relay_count ' replaces=- profile=-$')" = 1 ] || fail "first order: expected no replaces, no profile"
grep -q "\"due_at\": *\"$L_renew_at_text\"" "$WORK/out" || fail "issue --json due_at is not the ARI time: $(cat "$WORK/out")"
gpc status -d "$A" --json ari
grep -q "\"next_renewal\": *\"$L_renew_at_text\"" "$WORK/out" || fail "status next_renewal is not the ARI time"
# check judges "due" as renew does: by the ARI time (rule "ari")
gpc check -d "$A" --json ari
expect_rc 0
jq -e --arg t "$L_renew_at_text" '.certificates[0] | .state == "ok" and .due_at == $t and .due_rule == "ari"' \
	"$WORK/out" >/dev/null || fail "check before the ARI time: not ok/ari/$L_renew_at_text: $(cat "$WORK/out")"
GOPROXY_CERT_NOW=$((renA + 60)) gpc check -d "$A" --json ari
expect_rc 1
jq -e '.certificates[0] | .state == "due" and .due_rule == "ari"' "$WORK/out" >/dev/null ||
	fail "check after the ARI time: not due by rule ari: $(cat "$WORK/out")"
# the stored time belongs to that certificate (ari.cert_sha256): a pair
# replaced by hand is judged by the lifetime rule, by check and by issue
grep -q "\"cert_sha256\": *\"$(openssl x509 -in "$A/ari/cert.crt" -noout -fingerprint -sha256 |
	sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')\"" "$A/.state/lineages/ari.json" ||
	fail "ari.cert_sha256 is not the certificate's fingerprint: $(cat "$A/.state/lineages/ari.json")"
H=$WORK/hand
cp -a "$A" "$H"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$H/ari/priv.key" \
	-out "$H/ari/cert.crt" -days 90 -subj /CN=ari.example.test -addext subjectAltName=DNS:ari.example.test 2>/dev/null
GOPROXY_CERT_NOW=$((renA + 60)) gpc check -d "$H" --json ari
expect_rc 0
jq -e '.certificates[0] | .state == "ok" and .due_rule == "third-of-lifetime"' "$WORK/out" >/dev/null ||
	fail "check of a hand-replaced pair used the old ARI time: $(cat "$WORK/out")"
: >"$RELAY_LOG"
GOPROXY_CERT_NOW=$((renA + 60)) gpc issue -d "$H" -n ari -D ari.example.test
expect_rc 0
grep -q 'current until' "$WORK/out" || fail "issue renewed a hand-replaced pair at the old ARI time: $(cat "$WORK/out")"
[ ! -s "$RELAY_LOG" ] || fail "issue of a current hand-replaced pair contacted the CA"
echo "   certID $idA, window $S..$E, renew at $L_renew_at_text"

echo "== renew before the chosen time: nothing"
: >"$RELAY_LOG"
gpc renew -d "$A"
expect_rc 0
grep -q 'ari.*current' "$WORK/out" || fail "renew did not report 'current': $(cat "$WORK/out")"
[ ! -s "$RELAY_LOG" ] || fail "renew contacted the CA while not due and within Retry-After: $(cat "$RELAY_LOG")"
# Retry-After has passed a minute before the chosen time: one renewalInfo
# GET, the same window, the same time, no order.
GOPROXY_CERT_NOW=$((renA - 60)) gpc renew -d "$A"
expect_rc 0
[ "$(relay_count " certid=$idA\$")" = 1 ] || fail "renewalInfo not asked again after its Retry-After"
[ "$(neworders)" = 0 ] || fail "a newOrder before the chosen time"
eval "$(linvars "$A" ari)"
[ "$L_renew_at" = "$renA" ] || fail "the chosen time changed with an unchanged window"
[ "$L_retry_after" = $((renA - 60 + 3600)) ] || fail "ari.retry_after $L_retry_after is not now + Retry-After"
[ "$(certid "$A/ari/cert.crt")" = "$idA" ] || fail "the pair changed"

echo "== renew after the chosen time: replaces = the current certID"
: >"$RELAY_LOG"
# --rate-limit 1/168 with one issuance in the ledger (the window ends
# within 4 days): only the ARI exemption (goproxy-cert(1) RATE LIMITS)
# lets this renewal through.
GOPROXY_CERT_NOW=$((renA + 60)) gpc renew -d "$A" --rate-limit 1/168
expect_rc 0
replaced "$idA" || fail "no newOrder with replaces=$idA"
if pebble_misses "$idA"; then n=2; else n=1; fi
[ "$(neworders)" = $n ] || fail "expected $n newOrder(s)"
idA2=$(certid "$A/ari/cert.crt")
[ "$idA2" != "$idA" ] || fail "the certificate was not replaced"
pair_ok "$A/ari/cert.crt" "$A/ari/priv.key" || fail "renewed pair does not match"
eval "$(linvars "$A" ari)"
[ "$L_cert_id" = "$idA2" ] || fail "ari.cert_id not updated to $idA2"
[ "$(relay_count " certid=$idA2\$")" = 1 ] || fail "renewalInfo not asked for the new certificate"
no_partial "$A"
echo "   newOrder replaces=$idA; new certID $idA2"

echo "== the CA moves the window into the past: renew at once"
B=$WORK/b
issue_via "$RELAY_URL" "$B" -n moved -D moved.example.test
expect_rc 0
idB=$(certid "$B/moved/cert.crt")
eval "$(linvars "$B" moved)"
echo "$PAST" >"$SPEC"
: >"$RELAY_LOG"
# Past the stored Retry-After, long before the chosen time (>= 2 days).
[ $((L_retry_after + 60)) -lt "$L_renew_at" ] || fail "retry_after $L_retry_after not before renew_at $L_renew_at"
GOPROXY_CERT_NOW=$((L_retry_after + 60)) gpc renew -d "$B"
expect_rc 0
[ "$(relay_count " certid=$idB\$")" = 1 ] || fail "renewalInfo not asked after its Retry-After"
replaced "$idB" ||
	fail "a window in the past did not renew (replaces=$idB): $(cat "$WORK/out")"
[ "$(certid "$B/moved/cert.crt")" != "$idB" ] || fail "the certificate was not replaced"
pair_ok "$B/moved/cert.crt" "$B/moved/priv.key" || fail "renewed pair does not match"

echo "== a past window at issuance: due at exactly the chosen time"
C=$WORK/c
issue_via "$RELAY_URL" "$C" -n past -D past.example.test
expect_rc 0
idC=$(certid "$C/past/cert.crt")
eval "$(linvars "$C" past)"
renC=$L_renew_at
# This renewal meets a renewalInfo endpoint that drops the connection.
echo drop >"$SPEC"
: >"$RELAY_LOG"
GOPROXY_CERT_NOW=$renC gpc renew -d "$C"
expect_rc 0
replaced "$idC" ||
	fail "not renewed at the chosen time $L_renew_at_text: $(cat "$WORK/out")"
pair_ok "$C/past/cert.crt" "$C/past/priv.key" || fail "renewed pair does not match"

echo "== renewalInfo down after a renewal: one attempt, the old time is void"
idC2=$(certid "$C/past/cert.crt")
# One attempt; libcurl itself redoes a request once when a reused
# connection turns out dead, so 2 requests at most (12 retries before).
n=$(relay_count " DROP certid=$idC2\$")
[ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "renewalInfo for the new certificate: $n requests, expected 1 or 2"
eval "$(linvars "$C" past)"
[ "$L_cert_id" = "$idC2" ] || fail "ari.cert_id not updated to $idC2"
[ -z "$L_renew_at" ] || fail "the previous certificate's renew_at $L_renew_at_text was kept"
# Past the old renew_at (and the new certificate's notBefore): not due
# (lifetime rule); renewalInfo asked again.
echo "$FUTURE" >"$SPEC"
: >"$RELAY_LOG"
GOPROXY_CERT_NOW=$(($(date +%s) + 5)) gpc renew -d "$C"
expect_rc 0
[ "$(neworders)" = 0 ] || fail "renewed again: the old renew_at still counted"
[ "$(relay_count " 200 certid=$idC2\$")" = 1 ] || fail "renewalInfo not asked again"
eval "$(linvars "$C" past)"
[ "$L_window_start" = "$S" ] || fail "window not stored after renewalInfo came back"

echo "== a window after notAfter: the lifetime rule decides (no expiry)"
H=$WORK/h
echo "+2000d,+2100d,retry-after=3600" >"$SPEC"
issue_via "$RELAY_URL" "$H" -n late -D late.example.test
expect_rc 0
eval "$(linvars "$H" late)"
na=$(date -u -d "$(openssl x509 -in "$H/late/cert.crt" -noout -enddate | sed 's/^notAfter=//')" +%s)
[ "$L_renew_at" -gt "$na" ] || fail "renew_at $L_renew_at_text is not after notAfter (test setup)"
: >"$RELAY_LOG"
# A day before notAfter (past the lifetime rule's time, long before the
# CA's window): due.
GOPROXY_CERT_NOW=$((na - 86400)) gpc renew -d "$H"
expect_rc 0
[ "$(neworders)" = 1 ] || fail "not renewed a day before notAfter: $(cat "$WORK/out")"
pair_ok "$H/late/cert.crt" "$H/late/priv.key" || fail "renewed pair does not match"
echo "$FUTURE" >"$SPEC"

Q=$WORK/q
echo "== the CA drops every connection, nothing due: renew stays quick"
# The same port, so lineage C's stored CA URL reaches it.
port=$RELAY_PORT
relay_stop
relay_start --ari "@$SPEC" --drop-every 1 --port "$port"
eval "$(linvars "$C" past)"
[ $((L_retry_after + 60)) -lt "$L_renew_at" ] || fail "retry_after $L_retry_after not before renew_at $L_renew_at"
GOPROXY_CERT_NOW=$((L_retry_after + 60)) gpc renew -d "$C"
expect_rc 0
grep -q 'past.*current' "$WORK/out" || fail "renew did not report 'current': $(cat "$WORK/out")"
expect_err 'renewalInfo'
# The advisory renewalInfo refresh retries once at most (it made 13
# attempts with backoff, 143 s per lineage).
n=$(relay_count ' DROP$')
[ "$n" -ge 1 ] && [ "$n" -le 4 ] || fail "$n requests for an advisory refresh, expected 1 to 4"
relay_stop

echo "== alreadyReplaced: ordered again without replaces"
relay_start --ari "$FUTURE" --refuse-replaces alreadyReplaced,malformed --no-profiles
D=$WORK/d
issue_via "$RELAY_URL" "$D" -n dup -D dup.example.test
expect_rc 0
idD=$(certid "$D/dup/cert.crt")
: >"$RELAY_LOG"
eval "$(linvars "$D" dup)"
GOPROXY_CERT_NOW=$((L_renew_at + 60)) gpc renew -d "$D" -v
expect_rc 0
[ "$(relay_count "^POST [^ ]+ 409 replaces=$idD profile=-\$")" = 1 ] || fail "no alreadyReplaced answer"
[ "$(relay_count '^POST [^ ]+ 201 replaces=- profile=-$')" = 1 ] || fail "no second newOrder without replaces"
[ "$(neworders)" = 2 ] || fail "expected exactly two newOrders"
expect_err 'already replaced'
[ "$(certid "$D/dup/cert.crt")" != "$idD" ] || fail "the certificate was not replaced"
pair_ok "$D/dup/cert.crt" "$D/dup/priv.key" || fail "renewed pair does not match"
no_partial "$D"

echo "== another refusal of replaces (400 malformed): ordered again without"
G=$WORK/g
issue_via "$RELAY_URL" "$G" -n other -D other.example.test
expect_rc 0
idG=$(certid "$G/other/cert.crt")
eval "$(linvars "$G" other)"
: >"$RELAY_LOG"
GOPROXY_CERT_NOW=$((L_renew_at + 60)) gpc renew -d "$G"
expect_rc 0
[ "$(relay_count "^POST [^ ]+ 400 replaces=$idG profile=-\$")" = 1 ] || fail "no 400 answer to replaces=$idG"
[ "$(relay_count '^POST [^ ]+ 201 replaces=- profile=-$')" = 1 ] || fail "no second newOrder without replaces"
[ "$(neworders)" = 2 ] || fail "expected exactly two newOrders"
[ "$(certid "$G/other/cert.crt")" != "$idG" ] || fail "the certificate was not replaced"
pair_ok "$G/other/cert.crt" "$G/other/priv.key" || fail "renewed pair does not match"

echo "== --profile on a CA that lists none: exit 64"
: >"$RELAY_LOG"
issue_via "$RELAY_URL" "$Q" -n bad -D bad.example.test --profile classic
expect_rc 64
expect_err "classic.*(profiles: none|lists no profiles)"
[ "$(neworders)" = 0 ] || fail "a newOrder was sent"
no_pair "$Q"
relay_stop

echo "== a directory with \"renewalInfo\": \"\": no ARI (no out-of-bounds read)"
relay_start --ari "$FUTURE" --ari-url ""
F=$WORK/f
issue_via "$RELAY_URL" "$F" -n noari -D noari.example.test
expect_rc 0
eval "$(linvars "$F" noari)"
[ -z "$L_cert_id" ] && [ -z "$L_renew_at" ] || fail "ARI data stored for a CA without a renewalInfo URL"
: >"$RELAY_LOG"
gpc renew -d "$F" --force
expect_rc 0
[ "$(relay_count '^POST [^ ]+ 201 replaces=- profile=-$')" = 1 ] || fail "replaces sent to a CA without ARI"
[ "$(relay_count 'certid=')" = 0 ] || fail "renewalInfo asked"
pair_ok "$F/noari/cert.crt" "$F/noari/priv.key" || fail "renewed pair does not match"
relay_stop

echo "== a Retry-After of 2 days: renewalInfo asked again within 12 h (twice a day)"
relay_start --ari "$S,$E,retry-after=172800"
W=$WORK/w
before=$(date +%s)
issue_via "$RELAY_URL" "$W" -n twice -D twice.example.test
after=$(date +%s)
expect_rc 0
eval "$(linvars "$W" twice)"
[ "$L_retry_after" -ge $((before + 43200)) ] && [ "$L_retry_after" -le $((after + 43200)) ] ||
	fail "ari.retry_after $L_retry_after is not issue time + 12 h (Retry-After 2 days)"
relay_stop
echo "   $(($(date +%s) - T0)) s"
faults_done

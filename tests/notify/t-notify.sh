#!/bin/sh
# Alerts (issue 29) against real pebble and a server speaking the ntfy,
# Gotify, Discord, Slack and Pushover APIs (notify-server.py), with
# $GOPROXY_CERT_NOW simulating cron runs: one message per state change over
# hourly runs, recovery, the daily reminder near expiry, expiry, a pair no
# issue manages, the target down (renewal still succeeds, the event is sent
# at the next run), a digest for many lineages failing in one run, notify
# test, and no secret in any output.
set -eu
. "$TESTS_DIR/acme/common.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 missing" >&2; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq missing" >&2; exit 77; }
DAY=86400
acme_init --validity $((30 * DAY)) --authz-reuse 0
# pebble 2.10 offers ARI with a random renewal time in a short certificate's
# life: the hourly runs below need the offline due rule (a CA without ARI,
# tests/acme/common.sh's acme_no_ari where the tree has it)
if type acme_no_ari >/dev/null 2>&1; then acme_no_ari; fi
SA="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
now=$(date +%s)
NPORT=$("$FREEPORT")
REC=$WORK/received.jsonl
: >"$REC"

server_start() {
	python3 "$TESTS_DIR/notify/notify-server.py" "$NPORT" "$REC" GOTIFYSECRET PUSHSECRETAPP 2>>"$WORK/server.err" &
	SERVER_PID=$!
	ACME_PIDS="$ACME_PIDS $SERVER_PID"
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$NPORT/"; do
		i=$((i + 1)); [ $i -lt 100 ] || fail "notify-server did not start"; sleep 0.1
	done
}
server_stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || :; }
server_start

B=http://127.0.0.1:$NPORT
cat >"$WORK/alert.sh" <<'EOS'
#!/bin/sh
echo "$GOPROXY_CERT_EVENT $GOPROXY_CERT_LINEAGE not_after=$GOPROXY_CERT_NOT_AFTER" >>"${0%/*}/program.log"
EOS
chmod +x "$WORK/alert.sh"
: >"$WORK/program.log"
set -- --notify "ntfy:$B/ntfy/topicSECRETNTFY;token=tk_SECRETBEARER" \
	--notify "gotify:$B/gotify?token=GOTIFYSECRET" \
	--notify "discord:$B/discord/api/webhooks/123/DISCORDSECRET" \
	--notify "slack:$B/slack/services/T0/B0/SLACKSECRET" \
	--notify "pushover:$B/pushover/1/messages.json?token=PUSHSECRETAPP&user=PUSHSECRETUSER" \
	--notify "program:$WORK/alert.sh"
SECRETS='SECRETNTFY SECRETBEARER GOTIFYSECRET DISCORDSECRET SLACKSECRET PUSHSECRETAPP PUSHSECRETUSER'

# n SERVICE: messages received by one service so far (accepted ones).
n() { grep "\"service\": \"$1\"" "$REC" | grep -c '"status": 2' || :; }
# last SERVICE: the body of the last message a service received.
last() { grep "\"service\": \"$1\"" "$REC" | tail -n 1; }
# expect_msgs COUNT WHAT: every service (and the program) got COUNT in all.
expect_msgs() {
	for s in ntfy gotify discord slack pushover; do
		[ "$(n $s)" = "$1" ] || fail "$2: $s received $(n $s) messages, expected $1"
	done
	[ "$(wc -l <"$WORK/program.log")" = "$1" ] || fail "$2: the program ran $(wc -l <"$WORK/program.log") times, expected $1"
}

issue -n r1 -D r1.example.test $SA
expect_rc 0
echo "== a pair no issue manages (hand-placed, GoDoxy style)"
mkdir -p "$CERTS/hand"
cp "$CERTS/r1/cert.crt" "$CERTS/r1/priv.key" "$CERTS/hand/"
cp -L "$CERTS/r1/cert.crt" "$CERTS/hand/cert.crt.tmp" && mv "$CERTS/hand/cert.crt.tmp" "$CERTS/hand/cert.crt"

echo "== --notify on renew stores the targets (0600), shown without secrets"
gpc renew -d "$CERTS" "$@"
expect_rc 0
expect_err 'alerts go to ntfy:http://127.0.0.1:[0-9]+/…'
[ "$(stat -c %a "$CERTS/.state/notify.json")" = 600 ] || fail "notify.json is not 0600"
expect_msgs 0 "nothing failed"
gpc notify list -d "$CERTS"
expect_rc 0
[ "$(wc -l <"$WORK/out")" = 6 ] || fail "notify list: 6 targets expected"

echo "== bad targets: 64, nothing stored, no secret echoed"
gpc renew -d "$CERTS" --notify "ntfy:$B/ntfy/t;tk_SECRETPARAM"
expect_rc 64
expect_err "a ';' parameter is not KEY=VALUE"
gpc renew -d "$CERTS" --notify "gotify:$B/gotify"
expect_rc 64
expect_err 'a gotify target needs the application token'
GOPROXY_CERT_NOTIFY="telegram:$B/x/SECRETENV" gpc renew -d "$CERTS"
expect_rc 64
expect_err "unknown kind 'telegram'"
gpc notify list -d "$CERTS"
[ "$(wc -l <"$WORK/out")" = 6 ] || fail "a refused --notify changed the stored targets"
SECRETS="$SECRETS SECRETPARAM SECRETENV"

echo "== notify test: every target answers"
gpc notify test -d "$CERTS"
expect_rc 0
[ "$(grep -c ': answered$' "$WORK/out")" = 6 ] || fail "6 targets should have answered"
expect_msgs 1 "notify test"
last ntfy | grep -q '"Authorization": "Bearer tk_SECRETBEARER"' || fail "ntfy: no Bearer token"
last ntfy | grep -q '"Title": "goproxy-cert: test message"' || fail "ntfy: no Title header"
last pushover | grep -q '"title": "goproxy-cert: test message"' || fail "pushover: form title not decoded"

echo "== r1 fails at 2/3 of its life: one message per target, then nothing over 4 hourly runs"
echo r1.example.test >"$WORK/refuse-names"   # the CA refuses it (tests/acme/common.sh)
T=$((now + 20 * DAY + DAY / 2))
GOPROXY_CERT_NOW=$T gpc renew -d "$CERTS" -q
expect_rc 1
# r1 failed + hand is due and unmanaged
expect_msgs 3 "first failing run"
grep "\"service\": \"ntfy\"" "$REC" | grep -q '"Title": "goproxy-cert: renewal of r1 failed"' || fail "no 'renewal of r1 failed'"
grep "\"service\": \"ntfy\"" "$REC" | grep -q 'r1.example.test: the CA refuses to issue' || fail "the error is not in the message"
grep "\"service\": \"ntfy\"" "$REC" | grep 'renewal of r1 failed' | grep -q 'Next attempt: 20[0-9-]*T' || fail "the next attempt (the back-off) is not in the message"
grep -q '"Title": "goproxy-cert: hand is due and nothing renews it"' "$REC" || fail "no message for the unmanaged pair"
grep -q 'failed r1 not_after=20' "$WORK/program.log" || fail "the program did not get the event in its environment"
for h in 1 2 3 4; do
	GOPROXY_CERT_NOW=$((T + h * 3600)) gpc renew -d "$CERTS" -q
	[ "$RC" = 1 ] || [ "$RC" = 75 ] || fail "hourly run $h: exit $RC"
done
expect_msgs 3 "4 more hourly runs of a failing lineage"

echo "== the target is down when r1 recovers: the renewal succeeds, the message waits"
rm "$WORK/refuse-names"
server_stop
T=$((now + 21 * DAY))
GOPROXY_CERT_NOW=$T gpc renew -d "$CERTS" --force r1
expect_rc 0
expect_out '^r1: issued'
expect_err 'did not answer after 3 tries'
expect_err 'kept for the next run'
GOPROXY_CERT_NOW=$T gpc status -d "$CERTS"
expect_out '^alerts: ntfy:http://127.0.0.1:[0-9]+/… has not taken the alerts since .*did not answer after 3 tries'
GOPROXY_CERT_NOW=$T gpc status -d "$CERTS" --json
jq -e '.alerts | length == 5' "$WORK/out" >/dev/null || fail "status --json: 5 undelivered (the program ran) targets expected in .alerts"
jq -e '[.alerts[] | select(.target | test("^ntfy:http://127.0.0.1:[0-9]+/…$"))] | .[0].error | test("did not answer after 3 tries")' \
	"$WORK/out" >/dev/null || fail "status --json: the ntfy target's error is not in .alerts"
jq -e '.alerts[0].since | test("^20[0-9-]+T")' "$WORK/out" >/dev/null || fail "status --json: .alerts[].since is not a time"
server_start
GOPROXY_CERT_NOW=$((T + 3600)) gpc renew -d "$CERTS" r1
expect_rc 0
expect_msgs 4 "the recovery after the target came back"
last ntfy | grep -q 'r1 renewed again' || fail "the pending recovery was not sent"
GOPROXY_CERT_NOW=$((T + 3600)) gpc status -d "$CERTS"
grep -q '^alerts:' "$WORK/out" && fail "status still shows undelivered alerts after they arrived" || :
GOPROXY_CERT_NOW=$((T + 3600)) gpc status -d "$CERTS" --json
jq -e '.alerts == []' "$WORK/out" >/dev/null || fail "status --json still shows undelivered alerts after they arrived"
GOPROXY_CERT_NOW=$((T + 7200)) gpc renew -d "$CERTS" r1
expect_msgs 4 "a run after the recovery"

echo "== failing within 7 days of expiry: one message, a reminder each day"
echo r1.example.test >"$WORK/refuse-names"
na=$(date -d "$(openssl x509 -in "$CERTS/r1/cert.crt" -noout -enddate | cut -d= -f2)" +%s)
T=$((na - 6 * DAY))
GOPROXY_CERT_NOW=$T gpc renew -d "$CERTS" r1
expect_rc 1
expect_msgs 5 "failing 6 days before expiry"
last ntfy | grep -q 'expires in [56] days and renewal keeps failing' || fail "no near-expiry message"
last ntfy | grep -q '"Priority": "5"' || fail "near expiry is not priority 5"
for h in 2 5 12; do GOPROXY_CERT_NOW=$((T + h * 3600)) gpc renew -d "$CERTS" r1; done
expect_msgs 5 "runs on the same day"
GOPROXY_CERT_NOW=$((T + DAY + 600)) gpc renew -d "$CERTS" r1
expect_msgs 6 "the next day"
GOPROXY_CERT_NOW=$((T + DAY + 4000)) gpc renew -d "$CERTS" r1
expect_msgs 6 "later that day"
echo "== expired: one message"
GOPROXY_CERT_NOW=$((na + 60)) gpc renew -d "$CERTS" r1
GOPROXY_CERT_NOW=$((na + 3700)) gpc renew -d "$CERTS" r1
expect_msgs 7 "expired"
last slack | grep -q 'the certificate of r1 has expired' || fail "slack: no expiry text"
last discord | grep -q '"content": "goproxy-cert: the certificate of r1 has expired' || fail "discord: no content"
last gotify | grep -q '"priority": 10' || fail "gotify: priority"

echo "== --no-notify removes them"
gpc renew -d "$CERTS" --no-notify r1
[ ! -e "$CERTS/.state/notify.json" ] || fail "--no-notify left notify.json"

echo "== a digest when 20 lineages fail in one run (GOPROXY_CERT_NOTIFY, as the timer)"
C2=$WORK/certs2
L20=$(seq 1 20)
for i in $L20; do
	gpc issue -d "$C2" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -n "d$i" -D "d$i.example.test" $SA
	expect_rc 0
	sed -i "s/127.0.0.1:$PEBBLE_HTTP_PORT/127.0.0.2:$PEBBLE_HTTP_PORT/" "$C2/.state/lineages/d$i.json"
done
# a new account for the failing run: pebble 2.10 may reuse an authorization
# the account validated seconds ago, and a lineage would then renew (seen in
# CI: d6 issued, 5 messages instead of one digest)
rm -rf "$C2/.state/accounts"
before=$(n ntfy) before_discord=$(n discord) before_pushover=$(n pushover)
GOPROXY_CERT_NOTIFY="ntfy:$B/ntfy/digestSECRETNTFY discord:$B/discord/api/webhooks/7/DIGESTDISCORDSECRET
	pushover:$B/pushover/1/messages.json?token=PUSHSECRETAPP&user=PUSHSECRETUSER" \
	GOPROXY_CERT_NOW=$((now + 20 * DAY + DAY / 2)) gpc renew -d "$C2" --concurrency 10
expect_rc 1
[ "$(grep -c ': failed$' "$WORK/out")" = 20 ] || fail "20 lineages should have failed: $(grep -c ': failed$' "$WORK/out")"
[ "$(n ntfy)" = $((before + 1)) ] || fail "20 failures: one ntfy digest expected, got $(($(n ntfy) - before))"
last ntfy | grep -q '20 certificates changed state' || fail "not a digest"
for i in $L20; do last ntfy | grep -q "d$i: failed" || fail "d$i missing from the digest"; done
# Discord takes 2000 characters, Pushover 1024: the digest is cut to fit,
# or those services would refuse it (400) at every run
[ "$(n discord)" = $((before_discord + 1)) ] || fail "20 failures: one Discord digest expected (cut to 2000 characters), got $(($(n discord) - before_discord))"
last discord | jq -e '.json.content | length <= 2000 and endswith("…") and test("20 certificates changed state")' >/dev/null ||
	fail "the Discord digest is not cut to 2000 characters with an ellipsis"
[ "$(n pushover)" = $((before_pushover + 1)) ] || fail "20 failures: one Pushover digest expected (cut to 1024 characters), got $(($(n pushover) - before_pushover))"
last pushover | jq -e '.form.message | length <= 1024 and endswith("…")' >/dev/null ||
	fail "the Pushover digest is not cut to 1024 characters"
GOPROXY_CERT_NOTIFY= GOPROXY_CERT_NOW=$((now + 20 * DAY + DAY / 2 + 3600)) gpc renew -d "$C2" --concurrency 10
[ "$(n ntfy)" = $((before + 1)) ] || fail "the next hourly run over 20 failing lineages sent again"
SECRETS="$SECRETS DIGESTDISCORDSECRET"

echo "== issue --notify stores targets; a failed deploy hook is one message"
C3=$WORK/certs3
gpc issue -d "$C3" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -n dh -D dh.example.test $SA \
	--deploy-hook 'exit 3' --notify "webhook:$B/webhook/hookDEPLOYSECRET"
expect_rc 0
expect_err 'alerts go to webhook:http://127.0.0.1:[0-9]+/…'
[ "$(n webhook)" = 1 ] || fail "a failed deploy hook: one webhook message expected, got $(n webhook)"
last webhook | grep -q '"event\\": \\"deploy-failed\\"' || last webhook | grep -q 'deploy-failed' || fail "not a deploy-failed event"
last webhook | grep -q 'exit status 3' || fail "the deploy hook's exit status is not in the message"
gpc issue -d "$C3" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" -n dh -D dh.example.test $SA
[ "$(n webhook)" = 1 ] || fail "a current lineage sent a message"
SECRETS="$SECRETS DEPLOYSECRET"

echo "== GoDoxy's providers.notification from --godoxy-config: a failed issue reaches each entry"
mkdir -p "$WORK/gd/certs"
cat >"$WORK/gd/config.yml" <<EOY
autocert:
  provider: rfc2136
  email: admin@example.test
  ca_dir_url: $PEBBLE_DIR_URL
  ca_certs: [$PEBBLE_CA_BUNDLE]
  domains: [gd.example.test]
  cert_path: $WORK/gd/certs/cert.crt
  key_path: $WORK/gd/certs/priv.key
  options:
    nameserver: 127.0.0.1:1
    tsig_key: k
    tsig_secret: "c2VjcmV0c2VjcmV0c2VjcmV0"
    tsig_algorithm: hmac-sha256.
providers:
  notification:
    - name: my-ntfy
      provider: ntfy
      url: $B/ntfy
      topic: gdSECRETTOPIC
      token: tk_GDSECRET
    - name: my-gotify
      provider: gotify
      url: $B/gotify
      token: GOTIFYSECRET
    - name: discord
      provider: webhook
      url: $B/discord/api/webhooks/9/GDDISCORDSECRET
      template: discord
    - name: pushover
      provider: webhook
      url: $B/pushover/1/messages.json
      mime_type: application/json
      payload: |
        {
          "token": "PUSHSECRETAPP",
          "user": "GDPUSHUSER",
          "title": \$title,
          "message": \$message
        }
EOY
before_ntfy=$(n ntfy) before_gotify=$(n gotify) before_discord=$(n discord) before_pushover=$(n pushover)
gpc issue --godoxy-config "$WORK/gd/config.yml" --no-dns-propagation-check
[ "$RC" = 1 ] || [ "$RC" = 75 ] || fail "issue with an unreachable DNS server: exit $RC"
expect_err 'alerts go to my-ntfy \(ntfy\):http://127.0.0.1:[0-9]+/…'
[ "$(stat -c %a "$WORK/gd/certs/.state/notify.json")" = 600 ] || fail "notify.json is not 0600"
[ "$(n ntfy)" = $((before_ntfy + 1)) ] || fail "GoDoxy ntfy entry: no message"
last ntfy | grep -q '"path": "/ntfy/gdSECRETTOPIC"' || fail "ntfy: topic not appended to the url"
last ntfy | grep -q '"Authorization": "Bearer tk_GDSECRET"' || fail "ntfy: token not sent"
[ "$(n gotify)" = $((before_gotify + 1)) ] || fail "GoDoxy gotify entry: no message"
[ "$(n discord)" = $((before_discord + 1)) ] || fail "GoDoxy discord entry: no message"
[ "$(n pushover)" = $((before_pushover + 1)) ] || fail "GoDoxy pushover payload: no message (JSON \$title unquoted as GoDoxy writes it)"
last pushover | grep -q '"title": "goproxy-cert: renewal of default failed"' || fail "pushover: the title was not substituted"
gpc notify list -d "$WORK/gd/certs"
expect_out '^my-gotify \(gotify\):http://127.0.0.1:[0-9]+/…$'
sed -e 's/provider: gotify/provider: telegram/' "$WORK/gd/config.yml" >"$WORK/gd/bad.yml"
gpc issue --godoxy-config "$WORK/gd/bad.yml"
expect_rc 64
expect_err "bad.yml:[0-9]+: providers.notification\\[1\\]: provider 'telegram' is not one of ntfy, gotify, webhook"
SECRETS="$SECRETS gdSECRETTOPIC tk_GDSECRET GDDISCORDSECRET GDPUSHUSER"

echo "== no secret in any output"
status_out=$("$GOPROXY_CERT" status -d "$CERTS" 2>&1 || :)
for s in $SECRETS; do
	if grep -v '^\$ ' "$WORK/log" | grep -q "$s" || printf '%s' "$status_out" | grep -q "$s"; then
		fail "secret $s appears in the output"
	fi
done
echo "ok"

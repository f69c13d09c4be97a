#!/bin/sh
# Security checks (issue 5):
#   - keys 0600 and .state/ 0700 on every write path (issue of the default and
#     a named lineage, renew, --reuse-key, account key, archive, lineage and
#     ledger files), even with umask 000;
#   - no key material, EAB HMAC or account key in any log or --json output
#     (issue/renew/status/check/account with -vv and --json, searched for the
#     PEM body lines of every key on disk, the EC private scalar in base64url
#     and the EAB HMAC);
#   - goproxyd binds, then drops to --user (checked in /proc/PID/status);
#   - a world-readable key is reported by `check`.
set -eu
. "$TESTS_DIR/faults/common.sh"
KEEP_GOING=1
faults_init
need_cli issue
pebble_start --eab
D=$WORK/certs
OUT=$WORK/all-output
: >"$OUT"
keep() { cat "$WORK/out" "$WORK/err" >>"$OUT"; }
EAB="--eab-kid $PEBBLE_EAB_KID --eab-hmac $PEBBLE_EAB_HMAC"

umask 000
issue_via "$PEBBLE_DIR_URL" "$D" -D default.example.test $EAB -vv --json
expect_rc 0
keep
issue_via "$PEBBLE_DIR_URL" "$D" -n www -D www.example.test $EAB -vv
expect_rc 0
keep
issue_via "$PEBBLE_DIR_URL" "$D" -n www -D www.example.test $EAB --force --reuse-key -vv --json
expect_rc 0
keep
if "$GOPROXY_CERT" renew --help >/dev/null 2>&1; then
	gpc renew -d "$D" --force --rate-limit off -vv --json
	expect_rc 0
	keep
fi
for sub in "status --json" "check --json" "status" "check -v"; do
	# shellcheck disable=SC2086
	gpc $sub -d "$D"
	keep
done
if "$GOPROXY_CERT" account --help >/dev/null 2>&1; then
	gpc account show -d "$D" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" --json -vv
	keep
	# rollover writes a new account key and archives the old one
	gpc account rollover -d "$D" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" --json -vv
	expect_rc 0
	keep
	gpc account update -d "$D" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
		-m sec@example.test $EAB -vv
	keep
fi
umask 022

echo "== modes"
[ "$(file_mode "$D/.state")" = 700 ] || fail ".state is $(file_mode "$D/.state"), expected 700"
find "$D/.state" -type d | while read -r d; do
	m=$(file_mode "$d")
	[ $((0$m & 077)) = 0 ] || echo "$d $m" >>"$WORK/badmodes"
done
nkeys=0
for f in $(find "$D" -type f \( -name '*.key' -o -name '*.pem' -o -name '*.json' -o -name 'priv.key' \)); do
	nkeys=$((nkeys + 1))
	m=$(file_mode "$f")
	[ "$m" = 600 ] || echo "$f $m" >>"$WORK/badmodes"
done
if [ -s "$WORK/badmodes" ]; then
	fail "files/dirs readable by others (umask 000 during the runs): $(cat "$WORK/badmodes")"
fi
echo "   $nkeys key/state files checked, all 0600; .state dirs 0700:"
find "$D" -type f | sed "s|^$D/|     |" | sort

echo "== secrets in outputs ($(wc -c <"$OUT") bytes of output searched)"
grep -qF "$PEBBLE_EAB_HMAC" "$OUT" && fail "the EAB HMAC key appears in the output"
nsec=0
for k in $(find "$D" -type f \( -name '*.key' -o -name '*.pem' \) -exec grep -l 'PRIVATE KEY' {} +); do
	# every base64 body line of the PEM
	for line in $(grep -v -- '-----' "$k"); do
		[ ${#line} -ge 16 ] || continue
		nsec=$((nsec + 1))
		grep -qF -- "$line" "$OUT" && fail "a line of $k appears in the output"
	done
	# the private scalar (EC) as base64url, as a JWK "d" would carry it
	d=$(openssl pkey -in "$k" -noout -text 2>/dev/null | sed -n '/^priv:/,/^pub:/p' | sed '1d;$d' | tr -d ' :\n')
	if [ -n "$d" ]; then
		d64=$(python3 -c 'import base64,sys; h=sys.argv[1]; h=h[2:] if len(h)%2==0 and h.startswith("00") and len(h)>64 else h; print(base64.urlsafe_b64encode(bytes.fromhex(h)).decode().rstrip("="))' "$d" 2>/dev/null || :)
		if [ -n "$d64" ]; then
			nsec=$((nsec + 1))
			grep -qF -- "$d64" "$OUT" && fail "the private scalar of $k appears in the output"
		fi
	fi
done
echo "   $nsec secret strings searched, none found"

echo "== check reports a world-readable key"
chmod 644 "$D/www/priv.key"
gpc check -d "$D"
grep -q "$D/www/priv.key" "$WORK/err" "$WORK/out" || fail "check does not name the world-readable key"
grep -Eqi 'readable by other|world-readable|0644|permission' "$WORK/err" "$WORK/out" || fail "check does not say what is wrong with it"
gpc check -d "$D" --json
grep -q 'key-permissions\|readable' "$WORK/out" || fail "check --json does not report it"
chmod 600 "$D/www/priv.key"

echo "== goproxyd drops to --user after binding"
if [ -x "${GOPROXYD:-}" ] && [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	# the certs dir must stay readable for the dropped user: a copy it owns
	P=$WORK/pcerts
	cp -r "$D" "$P"
	chown -R nobody "$P"
	chmod 755 "$WORK"
	set -- $("$FREEPORT" 2)
	"$GOPROXYD" -d "$P" -l "127.0.0.1:$1" -b "127.0.0.1:$2" --user nobody --workers 1 \
		>"$WORK/goproxyd.out" 2>"$WORK/goproxyd.err" &
	GPD=$!
	FAULTS_PIDS="$FAULTS_PIDS $GPD"
	i=0
	until openssl s_client -connect "127.0.0.1:$1" -servername www.example.test </dev/null >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 100 ] || { fail "goproxyd --user nobody does not serve"; break; }
		kill -0 "$GPD" 2>/dev/null || { fail "goproxyd --user nobody exited: $(cat "$WORK/goproxyd.err")"; break; }
		sleep 0.1
	done
	uid=$(id -u nobody)
	if kill -0 "$GPD" 2>/dev/null; then
		line=$(grep '^Uid:' "/proc/$GPD/status")
		set -- $line
		[ "$2 $3 $4 $5" = "$uid $uid $uid $uid" ] || fail "goproxyd runs as '$line', expected nobody ($uid) for all four"
		gl=$(grep '^Gid:' "/proc/$GPD/status")
		set -- $gl
		[ "$2" != 0 ] && [ "$3" != 0 ] && [ "$4" != 0 ] || fail "goproxyd kept gid 0: '$gl'"
		grep -q '^Groups:[[:space:]]*$\|^Groups:[[:space:]]*'"$(id -g nobody)"'[[:space:]]*$' "/proc/$GPD/status" ||
			fail "goproxyd kept supplementary groups: $(grep '^Groups:' "/proc/$GPD/status")"
		echo "   goproxyd $line"
	fi
else
	echo "   not root, no nobody user, or goproxyd not built: skipped"
fi
faults_done

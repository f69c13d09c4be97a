#!/bin/sh
# issue 25: a program named in a lineage file that another user could write
# is never run by root. Root issues a certificate with a dns-01 hook; uid
# 65534 (setpriv) then names its own program in the lineage's settings
# (solver_arg, deploy_hook), (1) in a certs directory it owns (the packaged
# layout: the service user's) and (2) in a lineage file it owns inside
# root's .state. root's renew --force must run the program in neither case,
# exit 2 in (1) naming the directory, its owner and the runuser command,
# and fail in (2) naming the file and its owner.
set -eu
. "$TESTS_DIR/acme/common.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (the victim) and uid 65534 (the attacker)" >&2; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: no setpriv" >&2; exit 77; }
command -v jq >/dev/null || { echo "SKIP: no jq" >&2; exit 77; }
acme_init
hook_script "$WORK/hook.sh"
as_attacker() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

issue -D planted.example.test --challenge dns-01 --hook "$WORK/hook.sh" --deploy-hook "true"
expect_rc 0
L=$CERTS/.state/lineages/default.json
[ -f "$L" ] || fail "no lineage file $L"

# the attacker's program: it records who ran it, and still answers dns-01
# so that the order would succeed with it
mkdir -m 755 "$WORK/evil"
printf '#!/bin/sh\nid -u >>"%s/evil/ran"\nexec "%s/hook.sh" "$@"\n' "$WORK" "$WORK" >"$WORK/evil/evil.sh"
chmod 755 "$WORK/evil/evil.sh"
chown -R 65534:65534 "$WORK/evil"

plant() {
	as_attacker sh -c 'jq --arg e "$1" ".solver_arg = \$e | .deploy_hook = \$e" "$2" >"$2.new" && mv "$2.new" "$2"' \
		sh "$WORK/evil/evil.sh" "$L" || fail "the attacker could not edit $L"
	grep -q evil.sh "$L" || fail "the lineage file does not name the planted program"
}

echo "== (1) the service user's directory: root refuses before reading it"
chown -R 65534:65534 "$CERTS"
plant
gpc renew -d "$CERTS" --force --rate-limit off
[ ! -e "$WORK/evil/ran" ] || fail "root's renew ran the planted program (uid $(cat "$WORK/evil/ran"))"
expect_rc 2
expect_err "$CERTS: owned by uid 65534"
expect_err "runuser -u [^ ]+ -- goproxy-cert renew"

echo "== (2) root's directory, a lineage file uid 65534 owns"
# (the file planted in (1), still the attacker's; everything else root's again)
chown -R 0:0 "$CERTS"
chmod 700 "$CERTS/.state"
chown 65534:65534 "$L"
grep -q evil.sh "$L" || fail "the lineage file does not name the planted program"
gpc renew -d "$CERTS" --force --rate-limit off
[ ! -e "$WORK/evil/ran" ] || fail "root's renew ran the planted program (uid $(cat "$WORK/evil/ran"))"
[ "$RC" != 0 ] || fail "renew succeeded with a lineage file uid 65534 owns"
expect_err "$L: owned by uid 65534"
echo "neither planted program ran"

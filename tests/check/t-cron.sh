#!/bin/sh
# Run as cron runs it: no -d, no $GOPROXY_CERTS_DIR, an empty $HOME as the
# working directory, a bare environment. The error names the relative
# default (certs) and the absolute path it stands for, and says to give an
# absolute path from cron.
. "$TESTS_DIR/check/lib.sh"
H=$T/home
mkdir -p "$H"
for sub in check status renew; do
	set +e
	(cd "$H" && env -i HOME="$H" PATH=/usr/bin:/bin LC_ALL=C "$G" $sub >"$T/out" 2>"$T/err")
	RC=$?
	set -e
	[ "$RC" != 0 ] || fail "$sub: exit 0 without a certs directory"
	grep -qF "certs ($H/certs): open certs directory failed: No such file or directory" "$T/out" "$T/err" ||
		fail "$sub: the message does not name $H/certs"
	grep -q 'from cron or a timer, give an absolute path' "$T/out" "$T/err" || fail "$sub: no hint about cron"
done
[ ! -e "$H/certs" ] || fail "something created $H/certs"
echo ok

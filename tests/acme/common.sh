# common.sh: helpers for the acme suite (source after `set -eu`).
#
#   . "$TESTS_DIR/acme/common.sh"
#   acme_init [pebble_start flags]   WORK=$(mktemp -d), pebble, cleanup trap
#   gpc ARGS...          run goproxy-cert, stdout -> $WORK/out, stderr -> $WORK/err,
#                        exit code -> $RC (never fails the script by itself)
#   issue ARGS...        gpc issue against pebble (--server, --ca-bundle)
#   expect_rc N          fail unless $RC = N
#   expect_out RE / expect_err RE    grep -E on the last stdout / stderr
#   fail MSG             print MSG, the last output and the logs; exit 1
#   bg_start CMD...      start a background process stopped by the trap
#   hook_script FILE     write a uacme-style dns-01 hook for challtestsrv
#
# A run's output is kept in $WORK/log (all commands, in order).

. "$TESTS_DIR/lib/pebble.sh"
. "$TESTS_DIR/lib/run.sh"

ACME_PIDS=

acme_cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		echo "----- command log" >&2
		tail -n 120 "$WORK/log" >&2 2>/dev/null || :
		pebble_logs 2>/dev/null || :
	fi
	for _p in $ACME_PIDS; do
		kill "$_p" 2>/dev/null || :
	done
	for _p in $ACME_PIDS; do
		wait "$_p" 2>/dev/null || :
	done
	pebble_stop
	chmod -R u+w "$WORK" 2>/dev/null || :
	rm -rf "$WORK"
	exit "$rc"
}

acme_init() {
	[ -x "${GOPROXY_CERT:-}" ] || { echo "SKIP: GOPROXY_CERT not set" >&2; exit 77; }
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/acme.XXXXXX")
	chmod 755 "$WORK"
	: >"$WORK/log"
	trap acme_cleanup EXIT
	trap 'exit 130' INT TERM
	pebble_start "$@"
	CERTS=$WORK/certs
	export GOPROXY_CERT_EMAIL=
	unset GOPROXY_CERT_SERVER GOPROXY_CERT_CA_BUNDLE GOPROXY_CERTS_DIR GOPROXY_CERT_NOW || :
}

# acme_no_ari: from here on, issue (and renew, which uses the lineage's
# server) talk to pebble through tests/lib/relay.py --no-ari, a CA without
# renewalInfo: pebble 2.10 always offers ARI, and its window for a short test
# certificate spans the whole lifetime (a random renewal time), so tests of
# the offline due rule or of renew's mechanics use this. Sets PEBBLE_DIR_URL.
# A name written into $WORK/refuse-names (one a line) is refused by the CA
# (403 rejectedIdentifier) while it is there: a failing renewal that does not
# hang on a failed validation, which pebble 2.10 skips 1 time in 100 by
# reusing the account's valid authorization (even at PEBBLE_AUTHZREUSE=0).
acme_no_ari() {
	command -v python3 >/dev/null || { echo "SKIP: python3 missing (tests/lib/relay.py)" >&2; exit 77; }
	bg_start python3 "$TESTS_DIR/lib/relay.py" --upstream "$PEBBLE_DIR_URL" --upstream-ca "$PEBBLE_CA_BUNDLE" \
		--cert "$PEBBLE_WORK/server.pem" --key "$PEBBLE_WORK/server.key" --port-file "$WORK/noari.port" \
		--log "$WORK/noari.log" --no-ari --refuse-names "$WORK/refuse-names" 2>"$WORK/noari.err"
	_i=0
	while [ ! -s "$WORK/noari.port" ]; do
		_i=$((_i + 1)); [ $_i -lt 300 ] || fail "relay did not start: $(cat "$WORK/noari.err")"; sleep 0.1
	done
	PEBBLE_DIR_URL="https://127.0.0.1:$(cat "$WORK/noari.port")/${PEBBLE_DIR_URL#https://*/}"
}

gpc() {
	run_logged goproxy-cert "$GOPROXY_CERT" "$@"
}

# The dns-01 hooks here write into challtestsrv, which is no zone with NS
# records to check: the propagation check is off (tests/dns checks it
# against knot), so nothing asks the resolvers of /etc/resolv.conf.
issue() {
	gpc issue -d "$CERTS" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" --no-dns-propagation-check "$@"
}

# gpc_for_nobody: the path of a copy of goproxy-cert, with goproxy-cert-acme
# next to it, that another user (setpriv --reuid) can run. The build tree
# may be where only root can look (a checkout in /root, mode 0700, as on a
# fresh Debian machine), and goproxy-cert execs goproxy-cert-acme from next
# to itself as that user.
gpc_for_nobody() {
	if [ ! -x "$WORK/bin/goproxy-cert" ]; then
		mkdir -p "$WORK/bin"
		chmod 755 "$WORK/bin"
		cp "$GOPROXY_CERT" "$(dirname "$GOPROXY_CERT")/goproxy-cert-acme" "$WORK/bin/"
	fi
	echo "$WORK/bin/goproxy-cert"
}

bg_start() {
	"$@" &
	ACME_PIDS="$ACME_PIDS $!"
}

# The SANs of a certificate file, sorted, one per line.
cert_names() {
	openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
		tr ',' '\n' | sed -n 's/^ *\(DNS\|IP Address\):\(.*\)$/\2/p' | sort
}

# Key type of a PEM key as goproxy-cert names it.
key_type() {
	_t=$(openssl pkey -in "$1" -noout -text 2>/dev/null | head -n 1)
	case $_t in
	*"256 bit"*) echo ec256 ;;
	*"384 bit"*) echo ec384 ;;
	*"2048 bit"*) echo rsa2048 ;;
	*"3072 bit"*) echo rsa3072 ;;
	*"4096 bit"*) echo rsa4096 ;;
	*) echo "unknown: $_t" ;;
	esac
}

# A uacme-style hook that answers dns-01 through challtestsrv and declines
# every other type (exit 1), like uacme's nsupdate.sh does.
hook_script() {
	cat >"$1" <<EOF
#!/bin/sh
# uacme hook: method type ident token auth
[ \$# -eq 5 ] || { echo "usage: \$0 method type ident token auth" >&2; exit 85; }
echo "\$*" >>"$WORK/hook.calls"
case "\$1:\$2" in
begin:dns-01)
	host="_acme-challenge.\${3#\\*.}."
	curl -fsS -X POST -d "{\"host\":\"\$host\",\"value\":\"\$5\"}" "$CHALLTEST_MGMT/set-txt" >/dev/null
	;;
done:dns-01|failed:dns-01)
	host="_acme-challenge.\${3#\\*.}."
	curl -fsS -X POST -d "{\"host\":\"\$host\"}" "$CHALLTEST_MGMT/clear-txt" >/dev/null
	;;
*) exit 1 ;;
esac
EOF
	chmod +x "$1"
}

# Count pebble's log lines matching a pattern (requests the CA saw).
pebble_requests() {
	grep -c -- "$1" "$PEBBLE_LOG" || :
}

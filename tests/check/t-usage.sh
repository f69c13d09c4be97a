#!/bin/sh
# usage errors exit 64 and say what was wrong; help and version exit 0.
. "$TESTS_DIR/check/lib.sh"

mkdir "$T/certs"
usage() { # usage MESSAGE ARGS...
	local msg=$1
	shift
	run "$@"
	expect_rc 64 "$*"
	expect_err_has "$msg"
	[ ! -s "$T/out" ] || fail "usage error printed on stdout: $*"
}
usage "unknown option '--bogus'" check -d "$T/certs" --bogus
usage "--days: 'abc' is not a whole number" check -d "$T/certs" --days abc
usage "--days: '-3' is not a whole number" check -d "$T/certs" --days -3
usage "option '--days' needs a value" check -d "$T/certs" --days
usage "'a/b' is not a lineage name" check -d "$T/certs" a/b
usage "'.state' is not a lineage name" check -d "$T/certs" .state
usage "--domain: empty name" check -d "$T/certs" --domain ''
usage "--format: 'xml' is not one of text, json, prometheus" status -d "$T/certs" --format xml
usage "conflict" status -d "$T/certs" --json --format text
usage "unknown option '-x'" status -x
usage "unknown command 'chek' (did you mean 'check'?" chek
usage "unknown command 'persist-recrod' (did you mean 'persist-record'?" persist-recrod
usage "commands: check, status, issue, renew, revoke, account, store, sync, notify, persist-record, help)" frobnicate
# Long options only in full (issue 24): getopt_long would take a unique
# prefix ('--stagin' as --staging, stored for the lineage). Every
# subcommand refuses it before it does anything, with the full name.
usage "unknown option '--certs-di' (did you mean --certs-dir?)" check --certs-di "$T/certs"
usage "unknown option '--jso' (did you mean --json?)" status -d "$T/certs" --jso
usage "unknown option '--stagin' (did you mean --staging?)" issue -d "$T/certs" --stagin -D a.example.test
usage "unknown option '--standalon' (did you mean --standalone?)" issue -d "$T/certs" -D a.example.test --standalon=127.0.0.1:9
usage "unknown option '--forc' (did you mean --force?)" renew -d "$T/certs" --forc
usage "unknown option '--reaso' (did you mean --reason?)" revoke -d "$T/certs" --reaso 4 default
usage "unknown option '--emial' (did you mean --email?)" account -d "$T/certs" --emial a@example.test show
usage "unknown option '--certs-dirr' (did you mean --certs-dir?)" sync --certs-dirr "$T/certs"
usage "unknown option '--certs-di' (did you mean --certs-dir?)" store export --certs-di "$T/certs"
# an option's value that looks like a prefix is a value, not an option
run check -d "$T/certs" --domain --d 2>/dev/null
case $(cat "$T/err") in *"unknown option"*) fail "--domain's value '--d' was taken for an option" ;; esac
# nothing is contacted: in a network namespace with no network at all, the
# refusal is the same (a run that tried the CA would say 'network')
if unshare -n true 2>/dev/null; then
	rc=0
	unshare -n "$GOPROXY_CERT" issue -d "$T/certs" --stagin -D a.example.test >"$T/out" 2>"$T/err" || rc=$?
	[ $rc = 64 ] || fail "--stagin in an empty network namespace: exit $rc, want 64: $(cat "$T/err")"
	grep -q "did you mean --staging" "$T/err" || fail "--stagin: $(cat "$T/err")"
else
	echo "SKIP: unshare -n not permitted here: the empty-namespace --stagin check did not run"
fi
# -d and a --store name two stores: every command that opens one refuses
# both, before it touches either (nothing listens on 127.0.0.1:9)
S=etcd://127.0.0.1:9
usage "-d $T/certs and --store $S" check -d "$T/certs" --store $S
usage "-d $T/certs and --store $S" status -d "$T/certs" --store $S
usage "name two stores" issue -d "$T/certs" --store $S -D a.example --standalone 127.0.0.1:9
usage "name two stores" renew -d "$T/certs" --store $S
usage "name two stores" account -d "$T/certs" --store $S show
usage "name two stores" revoke -d "$T/certs" --store $S default
GOPROXY_CERT_STORE=$S usage "GOPROXY_CERT_STORE= for the directory" renew -d "$T/certs"
[ -z "$(ls -A "$T/certs")" ] || fail "a refused run wrote into the certs directory"
run status -d "$T/certs" --json --format json
expect_rc 0 "--json with --format json agree"

for sub in check status; do
	run "$sub" --help
	expect_rc 0 "$sub --help"
	expect_out_has "usage: goproxy-cert $sub"
	run help "$sub"
	expect_rc 0 "help $sub"
	expect_out_has "--certs-dir"
done
run --version
expect_rc 0 "--version"
expect_out_has "goproxy-cert "
echo "PASS"

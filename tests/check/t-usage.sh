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
usage "unknown command 'chek'" chek
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

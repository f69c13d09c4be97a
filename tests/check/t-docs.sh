#!/bin/sh
# Every long option that `check --help` and `status --help` print appears in
# each shell completion and in the man page; every subcommand in
# `goproxy-cert --help` appears in each completion and has a man section.
. "$TESTS_DIR/check/lib.sh"

SRC=$TESTS_DIR/..
MAN=$SRC/man/goproxy-cert.1.scd
COMPS="$SRC/completions/goproxy-cert.bash $SRC/completions/_goproxy-cert $SRC/completions/goproxy-cert.fish"

for sub in check status; do
	run "$sub" --help
	expect_rc 0 "$sub --help"
	opts=$(grep -oE -- '--[a-z][a-z0-9-]+' "$T/out" | sort -u)
	[ -n "$opts" ] || fail "$sub --help lists no long option"
	for o in $opts; do
		# fish spells long options as `-l NAME`
		name=${o#--}
		for f in $COMPS; do
			case $f in
			*.fish) grep -qE -- "-l $name( |\$)" "$f" || fail "$f lacks $sub $o" ;;
			*) grep -qF -- "$o" "$f" || fail "$f lacks $sub $o" ;;
			esac
		done
		grep -qF -- "*$o*" "$MAN" || fail "man page lacks $sub $o"
	done
done

run --help
expect_rc 0 "--help"
subs=$(sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' "$T/out")
[ -n "$subs" ] || fail "no subcommands in --help"
for s in $subs; do
	for f in $COMPS; do
		grep -qw -- "$s" "$f" || fail "$f lacks the $s command"
	done
	[ "$s" = help ] || grep -qi "^# $s\$" "$MAN" || fail "man page has no section for $s"
done
grep -q '^# EXIT STATUS' "$MAN" || fail "man page lacks EXIT STATUS"
echo "PASS"

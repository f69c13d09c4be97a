#!/bin/sh
# README.md's first section gives exactly two copy-paste commands: the demo
# and the test suite. .ci/run runs them as tests/lib/readme-cmd.sh extracts
# them; this test checks that extraction finds exactly those two, in that
# order and shape, that .ci/run uses the extractor for both (no command of its
# own), and that the demo command names tests/demo.sh with the build dir it set up.
. "$TESTS_DIR/check/lib.sh"
SRC=$TESTS_DIR/..
X=$TESTS_DIR/lib/readme-cmd.sh
demo=$(sh "$X" 1 "$SRC/README.md")
suite=$(sh "$X" 2 "$SRC/README.md")
extra=$(sh "$X" 3 "$SRC/README.md")
[ -n "$demo" ] || fail "README.md: no first sh block (the demo command) in the first section"
[ -n "$suite" ] || fail "README.md: no second sh block (the test command) in the first section"
[ -z "$extra" ] || fail "README.md: a third sh block in the first section: '$extra' (exactly two commands)"
[ "$(printf '%s\n' "$demo" | wc -l)" = 1 ] || fail "README.md: the demo block is not one line: $demo"
[ "$(printf '%s\n' "$suite" | wc -l)" = 1 ] || fail "README.md: the test block is not one line: $suite"
case $demo in
"bash .ci/install && meson setup build && "*"tests/demo.sh build") ;;
*) fail "README.md: the demo command does not set up and run tests/demo.sh build: $demo" ;;
esac
case $suite in
"bash .ci/install && meson setup build && meson test -C build"*) ;;
*) fail "README.md: the test command does not set up and run meson test -C build: $suite" ;;
esac
case $suite in *ninja*) fail "README.md: the test command builds by itself; meson test must build what tests need: $suite" ;; esac
[ -x "$SRC/tests/demo.sh" ] || fail "tests/demo.sh is missing or not executable"
grep -q 'readme-cmd.sh 1' "$SRC/.ci/run" || fail ".ci/run does not run README command 1 through tests/lib/readme-cmd.sh"
grep -q 'readme-cmd.sh 2' "$SRC/.ci/run" || fail ".ci/run does not run README command 2 through tests/lib/readme-cmd.sh"
grep -nE '^[^#]*(meson test -C build --print-errorlogs|tests/demo\.sh build)' "$SRC/.ci/run" >"$T/own" &&
	fail ".ci/run has its own copy of a README command: $(cat "$T/own")"
echo ok

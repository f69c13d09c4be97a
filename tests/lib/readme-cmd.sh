#!/bin/sh
# readme-cmd.sh N [README]: print the Nth copy-paste command (1: the demo,
# 2: the test suite) of README.md's first section, "Try it". .ci/run runs
# exactly what this prints, and tests/check/t-readme.sh checks its shape, so
# the README's commands and what CI runs cannot drift apart (issue 13).
set -eu
n=$1
readme=${2:-$(dirname "$0")/../../README.md}
awk -v want="$n" '
	/^## / { sec++; next }
	sec == 1 && /^```sh$/ { inblk = 1; blk++; next }
	inblk && /^```$/ { inblk = 0; next }
	inblk && blk == want { print }
' "$readme"

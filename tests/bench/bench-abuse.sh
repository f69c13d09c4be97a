#!/bin/sh
# The full-size goproxyd abuse run (issue 5), too long for `meson test`:
# 1,500 silent + 200 garbage connections, backend down, then 100,000 TLS
# connections in a row with RSS and descriptors measured before and after
# (/proc/PID/status VmRSS, /proc/PID/fd). Same script as the faults suite's
# faults-abuse (tests/faults/abuse.sh), with FAULTS_CONNS=100000.
#   tests/bench/bench-abuse.sh [BUILD_DIR] [CONNS]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-${BUILD_DIR:-$ROOT/build}}
export GOPROXYD=${GOPROXYD:-$BUILD/cmd/goproxyd/goproxyd}
export GOPROXY_CERT=${GOPROXY_CERT:-$BUILD/cmd/goproxy-cert/goproxy-cert}
export FREEPORT=${FREEPORT:-$BUILD/tests/freeport}
export TESTS_DIR=$ROOT/tests LC_ALL=C
export FAULTS_CONNS=${2:-100000}
[ -x "$GOPROXYD" ] || { echo "no goproxyd at $GOPROXYD (build first, or pass the build dir)"; exit 77; }
start=$(date +%s)
rc=0
sh "$ROOT/tests/faults/abuse.sh" || rc=$?
echo "bench-abuse: $FAULTS_CONNS connections, $(($(date +%s) - start)) s, exit $rc"
exit $rc

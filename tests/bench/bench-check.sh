#!/bin/sh
# `goproxy-cert check` of one current lineage vs uacme deciding the same
# certificate is current (`uacme -c CONF issue NAME...` exits 1 and skips).
# Target (issue 2): goproxy-cert takes at most 1/10 of uacme's wall time.
# Usage: tests/bench/bench-check.sh [BUILD_DIR]
. "$(dirname "$0")/lib.sh"
command -v uacme >/dev/null 2>&1 || { echo "SKIP: uacme not installed"; exit 77; }
RUNS=${RUNS:-300}

make_ca "$T"
make_leaf "$T" www ec256 90 www.example.org example.org
# goproxy-cert: certs/cert.crt + certs/priv.key
mkdir -p "$T/certs"
cat "$T/www.crt" "$T/int.crt" >"$T/certs/cert.crt"
cp "$T/www.key" "$T/certs/priv.key"
# uacme: CONF/NAME/cert.pem, CONF/private/NAME/key.pem, CONF/private/key.pem (account)
mkdir -p "$T/uacme/www.example.org" "$T/uacme/private/www.example.org"
cp "$T/certs/cert.crt" "$T/uacme/www.example.org/cert.pem"
cp "$T/www.key" "$T/uacme/private/www.example.org/key.pem"
gen_key "$T/uacme/private/key.pem"

# both must decide "current" before their time means anything
"$G" check -q -d "$T/certs" -D www.example.org -D example.org || { echo "goproxy-cert check failed"; exit 1; }
set +e
uacme -c "$T/uacme" issue www.example.org example.org 2>/dev/null
rc=$?
set -e
[ "$rc" = 1 ] || { echo "uacme did not skip the current certificate (exit $rc)"; exit 1; }

command -v hyperfine >/dev/null 2>&1 || { echo "SKIP: hyperfine not installed"; exit 77; }
# /bin/true shows the fork+exec floor of this machine at this moment
hyperfine -N --warmup 10 --runs "$RUNS" -i --export-json "$T/h.json" \
	-n floor "/bin/true" \
	-n goproxy-cert "$G check -q -d $T/certs -D www.example.org -D example.org" \
	-n uacme "uacme -c $T/uacme issue www.example.org example.org" >"$T/h.txt" 2>&1 ||
	{ cat "$T/h.txt"; exit 1; }
jq -r --argjson runs "$RUNS" '
	def r(n): .results[] | select(.command == n);
	def ms: . * 1000 * 1000 | round / 1000;
	(r("goproxy-cert")) as $g | (r("uacme")) as $u | (r("floor")) as $f |
	"check of one current lineage, \($runs) runs each (hyperfine -N, same run)",
	"  goproxy-cert check: mean \($g.mean | ms) ms, median \($g.median | ms) ms, cpu (user+sys) \($g.user + $g.system | ms) ms",
	"  uacme issue (skip): mean \($u.mean | ms) ms, median \($u.median | ms) ms, cpu (user+sys) \($u.user + $u.system | ms) ms",
	"  /bin/true (floor):  mean \($f.mean | ms) ms, median \($f.median | ms) ms",
	"  ratio goproxy-cert/uacme: \($g.median / $u.median * 1000 | round / 1000) (median wall), \(($g.user + $g.system) / ($u.user + $u.system) * 1000 | round / 1000) (cpu); target <= 0.1",
	"  floor/uacme: \($f.median / $u.median * 1000 | round / 1000) (no program can start faster than /bin/true)"
' "$T/h.json"

# Instructions executed (valgrind callgrind): repeatable whatever the load of
# the machine, unlike wall time.
if command -v valgrind >/dev/null 2>&1; then
	ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
		sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'; }
	gi=$(ir "$G" check -q -d "$T/certs" -D www.example.org -D example.org)
	ui=$(ir uacme -c "$T/uacme" issue www.example.org example.org)
	ti=$(ir /bin/true)
	echo "instructions (callgrind): goproxy-cert check $gi, uacme $ui, /bin/true $ti;" \
		"ratio $(awk -v a="$gi" -v b="$ui" 'BEGIN { printf "%.3f", a / b }')"
fi

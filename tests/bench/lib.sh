# Shared by the benchmarks: the binary, a temp dir, certtool fixtures.
# Not part of `meson test`; run by hand: tests/bench/bench-*.sh [BUILD_DIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-${BUILD_DIR:-$ROOT/build}}
G=${GOPROXY_CERT:-$BUILD/cmd/goproxy-cert/goproxy-cert}
[ -x "$G" ] || { echo "no goproxy-cert binary at $G (build first, or pass the build dir)"; exit 77; }
for tool in certtool jq; do
	command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not installed"; exit 77; }
done
T=$(mktemp -d /tmp/gpc-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
export LC_ALL=C
unset GOPROXY_CERTS_DIR GOPROXY_CERT_NOW

gen_key() {
	case ${2:-ec256} in
	rsa2048) certtool --no-text --generate-privkey --key-type=rsa --bits=2048 --outfile "$1" 2>/dev/null ;;
	ec384) certtool --no-text --generate-privkey --key-type=ecdsa --curve=secp384r1 --outfile "$1" 2>/dev/null ;;
	*) certtool --no-text --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$1" 2>/dev/null ;;
	esac
	chmod 600 "$1"
}

# make_ca DIR: DIR/ca.{key,crt} and DIR/int.{key,crt}
make_ca() {
	gen_key "$1/ca.key"
	printf 'cn = "Bench Root"\nca\ncert_signing_key\nexpiration_days = 3650\n' >"$1/ca.tmpl"
	certtool --no-text --generate-self-signed --load-privkey "$1/ca.key" --template "$1/ca.tmpl" --outfile "$1/ca.crt" 2>/dev/null
	gen_key "$1/int.key"
	printf 'cn = "Bench Intermediate"\nca\ncert_signing_key\nexpiration_days = 3650\n' >"$1/int.tmpl"
	certtool --no-text --generate-certificate --load-privkey "$1/int.key" --load-ca-privkey "$1/ca.key" \
		--load-ca-certificate "$1/ca.crt" --template "$1/int.tmpl" --outfile "$1/int.crt" 2>/dev/null
}

# make_leaf DIR NAME KEYTYPE DAYS DNSNAME...: DIR/NAME.{key,crt}, valid from now
make_leaf() {
	local dir=$1 name=$2 kt=$3 days=$4
	shift 4
	gen_key "$dir/$name.key" "$kt"
	{
		echo "cn = \"$1\""
		for n in "$@"; do echo "dns_name = \"$n\""; done
		echo "tls_www_server"
		echo "expiration_days = $days"
	} >"$dir/$name.tmpl"
	certtool --no-text --generate-certificate --load-privkey "$dir/$name.key" --load-ca-privkey "$dir/int.key" \
		--load-ca-certificate "$dir/int.crt" --template "$dir/$name.tmpl" --outfile "$dir/$name.crt" 2>/dev/null
}

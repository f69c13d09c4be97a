# Shared by the tests/check scripts: a temp dir with cleanup, fixtures made
# at test time with certtool (a tiny CA, an intermediate, leaf chains), and
# assertions that print what failed.
set -eu

: "${GOPROXY_CERT:?GOPROXY_CERT must point at the goproxy-cert binary}"
for tool in certtool jq; do
	command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not installed"; exit 77; }
done

T=$(mktemp -d /tmp/gpc-check.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
export LC_ALL=C
unset GOPROXY_CERTS_DIR GOPROXY_CERT_NOW
G=$GOPROXY_CERT
FX=$T/fx
mkdir -p "$FX"

fail() {
	echo "FAIL: $*" >&2
	for f in "$T"/out "$T"/err; do
		[ -f "$f" ] && { echo "--- $f:" >&2; cat "$f" >&2; }
	done
	exit 1
}

# run [args...]: run goproxy-cert, capture stdout/stderr in $T/out, $T/err, rc in $RC
run() {
	set +e
	"$G" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	set -e
}

expect_rc() {
	[ "$RC" = "$1" ] || fail "expected exit $1, got $RC (${2:-})"
}

# expect_state NAME STATE: the lineage's state in the JSON on stdout
expect_state() {
	local got
	got=$(jq -r --arg n "$1" '.certificates[] | select(.name == $n) | .state' "$T/out") ||
		fail "stdout is not JSON"
	[ "$got" = "$2" ] || fail "lineage $1: expected state $2, got '$got'"
}

expect_err_has() {
	grep -qF -- "$1" "$T/err" || fail "stderr does not mention '$1'"
}

expect_out_has() {
	grep -qF -- "$1" "$T/out" || fail "stdout does not mention '$1'"
}

# The tree under a directory (names, types, sizes): to prove nothing changed.
snapshot() {
	(cd "$1" && find . -printf '%p %y %s %m\n' | sort)
}

gen_key() { # gen_key FILE [ecdsa|rsa]
	if [ "${2:-ecdsa}" = rsa ]; then
		certtool --no-text --generate-privkey --key-type=rsa --bits=2048 --outfile "$1" 2>/dev/null
	else
		certtool --no-text --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$1" 2>/dev/null
	fi
	chmod 600 "$1"
}

# make_ca: $FX/ca.{key,crt} (root) and $FX/int.{key,crt} (intermediate)
make_ca() {
	gen_key "$FX/ca.key"
	printf 'cn = "Test Root CA"\nca\ncert_signing_key\nexpiration_days = 3650\n' >"$FX/ca.tmpl"
	certtool --no-text --generate-self-signed --load-privkey "$FX/ca.key" --template "$FX/ca.tmpl" \
		--outfile "$FX/ca.crt" 2>/dev/null
	gen_key "$FX/int.key"
	printf 'cn = "Test Intermediate"\nca\ncert_signing_key\nexpiration_days = 3650\n' >"$FX/int.tmpl"
	certtool --no-text --generate-certificate --load-privkey "$FX/int.key" --load-ca-privkey "$FX/ca.key" \
		--load-ca-certificate "$FX/ca.crt" --template "$FX/int.tmpl" --outfile "$FX/int.crt" 2>/dev/null
}

# make_leaf NAME FROM UNTIL NAMES...: $FX/NAME.{key,crt} signed by the
# intermediate, valid FROM..UNTIL ("2026-11-01 00:00:00" or @unixtime).
make_leaf() {
	local name=$1 from=$2 until=$3
	shift 3
	gen_key "$FX/$name.key"
	{
		echo "cn = \"$1\""
		for n in "$@"; do
			case $n in
			*[!0-9.:]*) echo "dns_name = \"$n\"" ;;
			*) echo "ip_address = \"$n\"" ;;
			esac
		done
		echo "tls_www_server"
		echo "activation_date = \"$(date -u -d "$from" '+%Y-%m-%d %H:%M:%S')\""
		echo "expiration_date = \"$(date -u -d "$until" '+%Y-%m-%d %H:%M:%S')\""
	} >"$FX/$name.tmpl"
	certtool --no-text --generate-certificate --load-privkey "$FX/$name.key" --load-ca-privkey "$FX/int.key" \
		--load-ca-certificate "$FX/int.crt" --template "$FX/$name.tmpl" --outfile "$FX/$name.crt" 2>/dev/null
}

# install_pair FIXTURE DIR: DIR/cert.crt (leaf + intermediate), DIR/priv.key (0600)
install_pair() {
	mkdir -p "$2"
	cat "$FX/$1.crt" "$FX/int.crt" >"$2/cert.crt"
	cp "$FX/$1.key" "$2/priv.key"
	chmod 644 "$2/cert.crt"
	chmod 600 "$2/priv.key"
}

# Unix time N days from now
days_from_now() { echo $(( $(date +%s) + $1 * 86400 )); }

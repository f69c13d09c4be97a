#!/bin/sh
# check: every bad input gets exit 2, its state in --json, a message naming
# the file with cause and hint, and check leaves the directory untouched.
. "$TESTS_DIR/check/lib.sh"

make_ca
NOW=$(date +%s)
make_leaf leaf "@$((NOW - 86400))" "@$((NOW + 89 * 86400))" www.example.org
make_leaf other "@$((NOW - 86400))" "@$((NOW + 89 * 86400))" other.example.org
D=$T/certs
mkdir -p "$D"

# bad NAME STATE CODE FILE MESSAGE: check lineage NAME, in JSON and in text
bad() {
	local name=$1 state=$2 code=$3 file=$4 msg=$5 before
	before=$(snapshot "$D")
	run check -d "$D" --json "$name"
	expect_rc 2 "$name"
	expect_state "$name" "$state"
	jq -e --arg n "$name" --arg c "$code" \
		'.certificates[] | select(.name == $n) | [.problems[].code] | index($c) != null' \
		"$T/out" >/dev/null || fail "$name: no problem with code $code"
	jq -e --arg n "$name" '.certificates[] | select(.name == $n) | all(.problems[]; .hint != "")' \
		"$T/out" >/dev/null || fail "$name: a problem without a hint"
	run check -d "$D" "$name"
	expect_rc 2 "$name (text)"
	expect_err_has "$D/$name/$file: $msg"
	expect_err_has "  hint: "
	[ "$(snapshot "$D")" = "$before" ] || fail "$name: check changed the certs dir"
}

install_pair leaf "$D/good"
run check -d "$D" good
expect_rc 0 "the good pair"

# empty cert.crt
install_pair leaf "$D/empty"; : >"$D/empty/cert.crt"
bad empty invalid empty cert.crt "empty file"
# empty priv.key
install_pair leaf "$D/emptykey"; : >"$D/emptykey/priv.key"
bad emptykey invalid empty priv.key "empty file"

# truncated PEM (cut in the middle of the leaf)
install_pair leaf "$D/trunc"; head -c 400 "$FX/leaf.crt" >"$D/trunc/cert.crt"
bad trunc invalid truncated cert.crt "truncated PEM"
install_pair leaf "$D/trunckey"; head -c 100 "$FX/leaf.key" >"$D/trunckey/priv.key"
bad trunckey invalid truncated priv.key "truncated PEM"

# DER where PEM is expected
install_pair leaf "$D/der"
certtool --certificate-info --infile "$FX/leaf.crt" --outder --outfile "$D/der/cert.crt" 2>/dev/null
bad der invalid der-not-pem cert.crt "binary DER data, not PEM"
grep -qF "openssl x509 -inform DER" "$T/err" || fail "DER hint"
install_pair leaf "$D/derkey"
certtool --load-privkey "$FX/leaf.key" --outder --key-info --outfile "$D/derkey/priv.key" 2>/dev/null ||
	openssl pkey -in "$FX/leaf.key" -outform DER -out "$D/derkey/priv.key"
bad derkey invalid der-not-pem priv.key "binary DER data"

# cert and key swapped
install_pair leaf "$D/swap"
mv "$D/swap/cert.crt" "$T/x"; mv "$D/swap/priv.key" "$D/swap/cert.crt"; mv "$T/x" "$D/swap/priv.key"
bad swap invalid key-in-cert-file cert.crt "holds a private key, not a certificate"
expect_err_has "$D/swap/priv.key: holds a certificate, not a private key"
expect_err_has "swapped"

# the key of another certificate
install_pair leaf "$D/otherkey"; cp "$FX/other.key" "$D/otherkey/priv.key"
bad otherkey invalid key-mismatch priv.key "does not belong to $D/otherkey/cert.crt"

# chain out of order (intermediate first)
install_pair leaf "$D/order"; cat "$FX/int.crt" "$FX/leaf.crt" >"$D/order/cert.crt"
bad order invalid chain-order cert.crt "chain out of order"
expect_err_has "leaf"
# the leaf followed by the root instead of its intermediate
install_pair leaf "$D/wrongca"; cat "$FX/leaf.crt" "$FX/ca.crt" >"$D/wrongca/cert.crt"
bad wrongca invalid chain-order cert.crt "chain out of order"

# a directory where a file should be
install_pair leaf "$D/dir"; rm "$D/dir/cert.crt"; mkdir "$D/dir/cert.crt"
bad dir invalid io-error cert.crt "read failed: Is a directory"
expect_err_has "is a directory where a file is expected"
install_pair leaf "$D/dirkey"; rm "$D/dirkey/priv.key"; mkdir "$D/dirkey/priv.key"
bad dirkey invalid io-error priv.key "read failed: Is a directory"

# a symlink loop
install_pair leaf "$D/loop"; rm "$D/loop/cert.crt"
ln -s loop2 "$D/loop/cert.crt"; ln -s cert.crt "$D/loop/loop2"
bad loop invalid io-error cert.crt "open failed: Too many levels of symbolic links"
expect_err_has "symbolic link loop"

# a dangling symlink: missing, and the hint names the target
install_pair leaf "$D/dangling"; rm "$D/dangling/priv.key"; ln -s /nonexistent/key.pem "$D/dangling/priv.key"
bad dangling missing missing priv.key "open failed: No such file or directory"
expect_err_has "symbolic link to /nonexistent/key.pem"

# 10 MiB of garbage
install_pair leaf "$D/big"; head -c 10485760 /dev/urandom >"$D/big/cert.crt"
bad big invalid invalid cert.crt "file is 10485760 bytes, more than the 1048576 allowed"
# garbage that fits: not PEM
install_pair leaf "$D/garbage"; head -c 3000 /dev/urandom | base64 >"$D/garbage/cert.crt"
bad garbage invalid not-pem cert.crt "no PEM certificate"
# base64 text that starts with '0' (0x30, DER's SEQUENCE tag) is still text,
# not DER (random base64 starts so one time in 64: this was a flaky failure)
install_pair leaf "$D/garbage0"; { printf 0; head -c 3000 /dev/urandom | base64; } >"$D/garbage0/cert.crt"
bad garbage0 invalid not-pem cert.crt "no PEM certificate"

# a FIFO where the key should be: refused without blocking
install_pair leaf "$D/fifo"; rm "$D/fifo/priv.key"; mkfifo "$D/fifo/priv.key"
bad fifo invalid invalid priv.key "not a regular file"

# the whole directory: every lineage reported, worst state wins
run check -d "$D" --json
expect_rc 2 "all"
[ "$(jq '.certificates | length' "$T/out")" -eq 19 ] || fail "all lineages listed"
expect_state good ok

# missing certs dir / not a directory
run check -d "$T/nonexistent" --json
expect_rc 2 "missing certs dir"
jq -e '.certificates == [] and .problems[0].code == "missing"' "$T/out" >/dev/null || fail "dir problem in JSON"
run check -d "$T/nonexistent"
expect_rc 2
expect_err_has "$T/nonexistent: open certs directory failed: No such file or directory"
expect_err_has "mkdir"
: >"$T/afile"
run check -d "$T/afile"
expect_rc 2 "certs dir is a file"
expect_err_has "$T/afile: not a directory"
[ ! -e "$T/nonexistent" ] || fail "check created the certs dir"
echo "PASS"

#!/bin/bash
# tests/pkg/run.sh: the Debian packages, end to end (issue 11). Not part of
# `meson test` (it takes a few minutes and needs root); .ci/run runs it.
#
#   1. build them from a copy of this tree: dpkg-buildpackage -us -uc -b
#   2. lintian on both .debs prints nothing (no error, no warning)
#   3. a fresh Debian 12 root (debootstrap --variant=minbase bookworm) with
#      the packages' dependencies; then, in it:
#      apt-get install ./goproxy-cert_*.deb ./goproxyd_*.deb, and check
#      --version, systemd-analyze verify of the installed units, the user,
#      the directories and their modes, the timer enabled and goproxyd.service
#      not, the command of goproxyd.service started with no pair (it runs,
#      refuses handshakes with unrecognized_name, and serves the pair a
#      first `issue --http-dir` gets through it), goproxy-cert issue against
#      a local pebble (on this machine,
#      reached over loopback) as the service user into the packaged certs
#      directory, check exits 0, what the renew service runs exits 0;
#      apt-get remove keeps the pairs; apt-get purge (no questions) removes
#      the issued pairs and .state, keeps a pair put there by hand, removes
#      goproxyd's state directory (its --store cache); a second
#      install + purge leaves the root as it was before the first install.
#
# Needs root, dpkg-buildpackage, debhelper, lintian, debootstrap, unshare,
# pebble, openssl, curl and cc; exits 77 (skip) when one is missing. Debian's
# archive must be reachable (GPC_PKG_MIRROR, default deb.debian.org). The
# mounts (proc, devpts) live in a private mount namespace per command, so
# nothing stays mounted whatever happens; everything is under one temp dir
# (GPC_PKG_KEEP=1 keeps it, to look at).
set -euo pipefail
export LC_ALL=C
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MIRROR=${GPC_PKG_MIRROR:-http://deb.debian.org/debian}
start=$(date +%s)

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot)"
for t in dpkg-buildpackage dh lintian debootstrap unshare chroot pebble pebble-challtestsrv openssl curl cc; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
done

T=$(mktemp -d "${TMPDIR:-/var/tmp}/gpc-pkg.XXXXXX")
chmod 755 "$T"
R=$T/root
cleanup() {
	rc=$?
	set +e
	[ "$rc" = 0 ] || [ -z "${PEBBLE_LOG:-}" ] || pebble_logs
	[ -z "${GPD_PID:-}" ] || { kill "$GPD_PID"; wait "$GPD_PID"; }
	[ -z "${PEBBLE_WORK:-}" ] || pebble_stop
	# mounts are per-command namespaces; never follow anything off this fs
	if [ -n "${GPC_PKG_KEEP:-}" ]; then
		echo "kept $T (GPC_PKG_KEEP)"
	else
		rm -rf --one-file-system "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	[ -s "$T/out" ] && { echo "--- output:" >&2; tail -n 60 "$T/out" >&2; }
	exit 1
}
step() { echo "== $* ($(($(date +%s) - start)) s)"; }

# make_root, inroot CMD...: the Debian root
. "$SRC/tests/pkg/root.sh"
# inroot_ok LOG CMD...: inroot with output to $T/out, failing with LOG
inroot_ok() {
	local what=$1
	shift
	inroot env DEBIAN_FRONTEND=noninteractive "$@" </dev/null >"$T/out" 2>&1 || fail "$what"
}
# snapshot FILE: every path in the root but the package manager's own
# records, caches, logs and the temp dirs
snapshot() {
	(cd "$R" && find . \( -path ./proc -o -path ./dev -o -path ./sys -o -path ./run -o -path ./tmp \
		-o -path ./var/tmp -o -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache \
		-o -path ./var/log \) -prune -o -print) | sed 's|^\.||' | sort >"$1"
}
# expect_mode PATH 'MODE USER:GROUP': PATH in the root has that mode and owner
# (names as the root resolves them: its uids are not this machine's)
expect_mode() {
	local got
	got=$(inroot stat -L -c '%a %U:%G' "$1" 2>/dev/null) || { : >"$T/out"; fail "$1 is missing"; }
	[ "$got" = "$2" ] || { : >"$T/out"; fail "$1 is $got, expected $2"; }
}

# ---- 0. every library meson.build asks pkg-config for is a Build-Depends ---
# (the build below runs on this host, which has them all from .ci/packages: a
# missing one would only show on a clean machine, at 'apt-get build-dep .')
step "Build-Depends names every pkg-config dependency"
bd=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$SRC/debian/control")
for dep in $(sed -n "s/.*dependency('\([a-z0-9._+-]*\)'.*/\1/p" "$SRC/meson.build" "$SRC"/*/meson.build | sort -u); do
	pc=$(pkg-config --variable=pcfiledir "$dep" 2>/dev/null) || continue # threads, or not here
	debpkg=$(dpkg -S "$pc/$dep.pc" 2>/dev/null | cut -d: -f1 | head -n 1)
	[ -n "$debpkg" ] || continue
	printf '%s\n' "$bd" | grep -Eq "(^|[ ,])$debpkg([ ,<]|$)" ||
		fail "meson.build needs $dep ($debpkg), which debian/control's Build-Depends does not name"
done

# ---- 1. build -------------------------------------------------------------
step "build the packages"
mkdir "$T/src"
if command -v git >/dev/null 2>&1 && [ -e "$SRC/.git" ]; then
	(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			# an earlier in-tree dpkg-buildpackage's build dir is not source
			case $f in obj-*/*) continue ;; esac
			if [ -e "$f" ]; then printf '%s\0' "$f"; fi
		done |
		tar --null -T - -cf -) | tar -xf - -C "$T/src"
else
	tar -C "$SRC" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -xf - -C "$T/src"
fi
b0=$(date +%s)
(cd "$T/src" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 ||
	{ tail -n 60 "$T/build.log"; fail "dpkg-buildpackage failed"; }
echo "built in $(($(date +%s) - b0)) s"
ver=$(dpkg-parsechangelog -l "$T/src/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
CERT_DEB=$T/goproxy-cert_${ver}_$arch.deb
D_DEB=$T/goproxyd_${ver}_$arch.deb
[ -f "$CERT_DEB" ] && [ -f "$D_DEB" ] || fail "no goproxy-cert/goproxyd .deb in $T: $(ls "$T")"

# ---- 2. lintian -----------------------------------------------------------
step "lintian"
lintian --fail-on error,warning "$CERT_DEB" "$D_DEB" >"$T/out" 2>&1 || fail "lintian failed"
# lintian says it runs as root on stderr; anything else is a finding
if grep -v '^running with root privileges is not recommended!$' "$T/out" | grep -q .; then
	fail "lintian is not silent"
fi

# ---- 3. a fresh Debian 12 root --------------------------------------------
step "debootstrap bookworm"
make_root "$R" "$MIRROR" "$T/debootstrap.log" || fail "debootstrap of bookworm from $MIRROR failed twice"
mkdir -m 755 "$R/tmp/pkg"
cp "$CERT_DEB" "$D_DEB" "$R/tmp/pkg/"
chmod 644 "$R"/tmp/pkg/*.deb
# The packages' dependencies (what apt would pull in for them), and man-db
# so that systemd-analyze verify can check Documentation=. Installed before
# the snapshot the final purge is compared to.
deps="$(dpkg-deb -f "$CERT_DEB" Depends), $(dpkg-deb -f "$D_DEB" Depends)"
inroot_ok "apt-get update in the root" timeout 600 apt-get update -q
inroot_ok "apt-get satisfy $deps" timeout 900 apt-get satisfy -y -q --no-install-recommends "$deps, man-db"
snapshot "$T/before"

# ---- install --------------------------------------------------------------
step "apt-get install ./goproxy-cert_*.deb ./goproxyd_*.deb"
install_debs() {
	inroot_ok "apt-get install of the packages" timeout 600 \
		apt-get install -y -q "./tmp/pkg/${CERT_DEB##*/}" "./tmp/pkg/${D_DEB##*/}"
	# dependencies were all there: exactly our two packages are new
	n=$(grep -c '^Setting up ' "$T/out" || true)
	[ "$n" = 2 ] || fail "apt set up $n packages, expected 2 (goproxy-cert, goproxyd)"
}
install_debs
inroot goproxy-cert --version >"$T/out" 2>&1 || fail "goproxy-cert --version"
grep -q "^goproxy-cert ${ver%-*}" "$T/out" || fail "goproxy-cert --version is not ${ver%-*}"
inroot goproxyd --version >"$T/out" 2>&1 || fail "goproxyd --version"

step "systemd-analyze verify, user, directories, enablement"
U=/lib/systemd/system
inroot systemd-analyze verify $U/goproxy-cert-renew.timer $U/goproxy-cert-renew.service $U/goproxyd.service \
	>"$T/out" 2>&1 || fail "systemd-analyze verify of the installed units"
[ ! -s "$T/out" ] || fail "systemd-analyze verify printed something"
inroot getent passwd goproxy-cert >"$T/out" || fail "no user goproxy-cert"
IFS=: read -r _ _ uid _ _ home shell <"$T/out"
[ "$uid" -lt 1000 ] || fail "goproxy-cert is not a system user (uid $uid)"
[ "$home" = /var/lib/goproxy-cert ] || fail "goproxy-cert's home is $home"
[ "$shell" = /usr/sbin/nologin ] || fail "goproxy-cert's shell is $shell"
inroot getent group goproxy-cert >/dev/null || fail "no group goproxy-cert"
expect_mode /var/lib/goproxy-cert "755 root:root"
expect_mode /var/lib/goproxy-cert/certs "755 goproxy-cert:goproxy-cert"
expect_mode /var/lib/goproxy-cert/certs/.state "700 goproxy-cert:goproxy-cert"
# enabled: the symlink deb-systemd-helper makes (systemd is not PID 1 here)
W=$R/etc/systemd/system
[ "$(readlink "$W/timers.target.wants/goproxy-cert-renew.timer")" = $U/goproxy-cert-renew.timer ] ||
	fail "goproxy-cert-renew.timer is not enabled (no timers.target.wants link)"
if find "$W" -name 'goproxyd.service' | grep -q .; then
	fail "goproxyd.service is enabled: $(find "$W" -name goproxyd.service)"
fi
if find "$W" -name 'goproxy-cert-renew.service' | grep -q .; then
	fail "goproxy-cert-renew.service is enabled by itself (the timer starts it)"
fi
# the units read the packaged settings, which name the packaged directory
for u in goproxy-cert-renew.service goproxyd.service; do
	grep -qx 'EnvironmentFile=-/etc/default/goproxy-cert' "$R$U/$u" || fail "$u does not read /etc/default/goproxy-cert"
done
grep -qx 'GOPROXY_CERTS_DIR=/var/lib/goproxy-cert/certs' "$R/etc/default/goproxy-cert" ||
	fail "/etc/default/goproxy-cert does not set GOPROXY_CERTS_DIR"

# ---- issue, check, renew as the service user -----------------------------
step "issue against pebble as goproxy-cert"
if [ -z "${FREEPORT:-}" ]; then
	cc -O2 -o "$T/freeport" "$SRC/tests/lib/freeport.c" || fail "cannot build tests/lib/freeport.c"
	FREEPORT=$T/freeport
fi
export FREEPORT
# shellcheck source=../lib/pebble.sh
. "$SRC/tests/lib/pebble.sh"
pebble_start
install -m 644 "$PEBBLE_CA_BUNDLE" "$R/tmp/pebble-ca.pem"
CD=/var/lib/goproxy-cert/certs

# goproxyd.service on the fresh install, before any pair (issue 26): what its
# ExecStart= runs (as root, dropping to --user goproxy-cert) with its
# EnvironmentFile=, on free ports instead of 443 and 80 (this machine's
# network: the root shares it); it must run, say it has no certificate yet,
# refuse a handshake with unrecognized_name, and serve the pair a first
# `issue --http-dir` gets through it (http-01 on its --http port) at once.
step "goproxyd.service on a fresh install with no pair; the first issue through it"
[ -z "$(find "$R$CD" -name cert.crt)" ] || fail "a pair already in $CD on a fresh install"
gcmd=$(sed -n 's/^ExecStart=//p' "$R$U/goproxyd.service")
GP=$("$FREEPORT")
gcmd2=$(printf '%s\n' "$gcmd" | sed -e "s/ -l 443 / -l 127.0.0.1:$GP /" -e "s/ --http 80 / --http 127.0.0.1:$PEBBLE_HTTP_PORT /")
case $gcmd2 in *"127.0.0.1:$GP "*"127.0.0.1:$PEBBLE_HTTP_PORT "*) ;; *) fail "goproxyd.service's ExecStart= ($gcmd) has no '-l 443' and '--http 80' to move" ;; esac
# inroot's command, exec'd all the way (unshare, sh, chroot, sh): $! is goproxyd
# shellcheck disable=SC2086,SC2016
unshare -m --propagation private sh -c '
	r=$1; shift
	mount -t proc proc "$r/proc" &&
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts" &&
	exec chroot "$r" "$@"' sh "$R" sh -c 'set -a; . /etc/default/goproxy-cert; exec "$@"' sh $gcmd2 \
	>"$T/gpd.log" 2>&1 </dev/null &
GPD_PID=$!
sleep 1
kill -0 "$GPD_PID" 2>/dev/null || { cp "$T/gpd.log" "$T/out"; fail "goproxyd.service's command exited on a fresh install: $gcmd2"; }
grep -q "$CD: no certificate yet" "$T/gpd.log" || { cp "$T/gpd.log" "$T/out"; fail "goproxyd does not say it has no certificate yet"; }
timeout 10 openssl s_client -connect "127.0.0.1:$GP" -servername pkg.example.test </dev/null >"$T/out" 2>&1 || :
grep -q 'unrecognized name' "$T/out" || fail "a handshake with goproxyd before any pair: no unrecognized_name alert"
inroot runuser -u goproxy-cert -- goproxy-cert issue -d $CD --server "$PEBBLE_DIR_URL" --ca-bundle /tmp/pebble-ca.pem \
	-n first -D first.pkg.example.test --http-dir >"$T/out" 2>&1 || fail "goproxy-cert issue --http-dir through goproxyd"
want=$(openssl x509 -noout -fingerprint -sha256 -in "$R$CD/first/cert.crt")
n=0
until [ "$(timeout 5 openssl s_client -connect "127.0.0.1:$GP" -servername first.pkg.example.test </dev/null 2>/dev/null |
	openssl x509 -noout -fingerprint -sha256 2>/dev/null)" = "$want" ]; do
	n=$((n + 1))
	[ "$n" -lt 10 ] || { cp "$T/gpd.log" "$T/out"; fail "goproxyd does not serve the pair issued through it"; }
	sleep 0.1
done
kill -TERM "$GPD_PID"
wait "$GPD_PID" || { cp "$T/gpd.log" "$T/out"; fail "goproxyd did not stop cleanly on SIGTERM"; }
GPD_PID=
[ ! -e "$R$CD/.state/goproxyd.pid" ] || fail "goproxyd left its presence in $CD/.state"

# as the issue says: explicit options, the default lineage
inroot runuser -u goproxy-cert -- goproxy-cert issue -d $CD --server "$PEBBLE_DIR_URL" \
	--ca-bundle /tmp/pebble-ca.pem -D pkg.example.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" \
	>"$T/out" 2>&1 || fail "goproxy-cert issue as goproxy-cert"
# as /etc/default/goproxy-cert documents: its settings, no -d
cat >>"$R/etc/default/goproxy-cert" <<EOF
GOPROXY_CERT_SERVER=$PEBBLE_DIR_URL
GOPROXY_CERT_CA_BUNDLE=/tmp/pebble-ca.pem
EOF
inroot runuser -u goproxy-cert -- sh -c 'set -a; . /etc/default/goproxy-cert; exec goproxy-cert issue \
	-n second -D second.pkg.example.test --standalone "127.0.0.1:$1"' sh "$PEBBLE_HTTP_PORT" \
	>"$T/out" 2>&1 || fail "goproxy-cert issue with /etc/default/goproxy-cert"
for f in cert.crt second/cert.crt; do expect_mode "$CD/$f" "644 goproxy-cert:goproxy-cert"; done
for f in priv.key second/priv.key; do expect_mode "$CD/$f" "600 goproxy-cert:goproxy-cert"; done
expect_mode "$CD/.state" "700 goproxy-cert:goproxy-cert"
inroot runuser -u goproxy-cert -- goproxy-cert check -d $CD >"$T/out" 2>&1 || fail "goproxy-cert check exited $?"
grep -q '^default .* ok' "$T/out" && grep -q '^second .* ok' "$T/out" || fail "check does not list both lineages as ok"
# what goproxy-cert-renew.service runs: its User=, EnvironmentFile= and
# ExecStart= from the installed unit (nothing is due: exit 0)
ru=$(sed -n 's/^User=//p' "$R$U/goproxy-cert-renew.service")
rcmd=$(sed -n 's/^ExecStart=//p' "$R$U/goproxy-cert-renew.service")
[ "$ru" = goproxy-cert ] || fail "renew service runs as '$ru'"
# shellcheck disable=SC2086
inroot runuser -u "$ru" -- sh -c 'set -a; . /etc/default/goproxy-cert; exec "$@"' sh $rcmd \
	>"$T/out" 2>&1 || fail "the renew service's command ($rcmd) exited non-zero"
pebble_stop
sha_issued=$(cd "$R$CD" && sha256sum cert.crt priv.key second/cert.crt second/priv.key)

# What the packages ship, read while they are installed (after remove dpkg
# lists at most the conffiles): the list the purge check below walks. An
# empty one would check nothing.
dpkg_files=$(inroot dpkg -L goproxy-cert goproxyd 2>"$T/out") || fail "dpkg -L goproxy-cert goproxyd"
for f in /usr/bin/goproxy-cert /usr/sbin/goproxyd /etc/default/goproxy-cert; do
	grep -qx "$f" <<<"$dpkg_files" || fail "dpkg -L goproxy-cert goproxyd does not list $f: $(head -c 300 <<<"$dpkg_files")"
done

# ---- remove keeps the certificates ---------------------------------------
step "apt-get remove"
inroot_ok "apt-get remove" timeout 300 apt-get remove -y -q goproxy-cert goproxyd
[ ! -e "$R/usr/bin/goproxy-cert" ] && [ ! -e "$R/usr/sbin/goproxyd" ] || fail "binaries left after remove"
[ "$(cd "$R$CD" && sha256sum cert.crt priv.key second/cert.crt second/priv.key)" = "$sha_issued" ] ||
	fail "remove changed or removed a certificate"
[ -d "$R$CD/.state/lineages" ] || fail "remove removed .state"
[ -f "$R/etc/default/goproxy-cert" ] || fail "remove removed the settings (a conffile)"
inroot getent passwd goproxy-cert >/dev/null || fail "remove removed the user"

# ---- purge: no questions; the issued pairs go, a hand-made one stays -----
step "apt-get purge"
mkdir -p "$R$CD/byhand"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=byhand.example.test \
	-keyout "$R$CD/byhand/priv.key" -out "$R$CD/byhand/cert.crt" >/dev/null 2>&1 || fail "openssl req"
sha_hand=$(cd "$R$CD" && sha256sum byhand/cert.crt byhand/priv.key)
# what goproxyd.service would have left in its StateDirectory (a --store cache)
mkdir -p -m 700 "$R/var/lib/goproxyd/cache"
echo '{}' >"$R/var/lib/goproxyd/cache/index.json"
# no terminal, no DEBIAN_FRONTEND=noninteractive: a question would fail it
inroot timeout 300 apt-get purge -y -q goproxy-cert goproxyd </dev/null >"$T/out" 2>&1 || fail "apt-get purge"
[ "$(cd "$R$CD" && sha256sum byhand/cert.crt byhand/priv.key)" = "$sha_hand" ] ||
	fail "purge changed or removed the pair put there by hand"
for f in cert.crt priv.key second .state; do
	[ ! -e "$R$CD/$f" ] || fail "purge left $CD/$f"
done
[ ! -e "$R/etc/default/goproxy-cert" ] || fail "purge left /etc/default/goproxy-cert"
[ ! -e "$R/var/lib/goproxyd" ] || fail "purge left /var/lib/goproxyd (goproxyd's --store cache)"
[ ! -e "$R/etc/systemd/system/timers.target.wants/goproxy-cert-renew.timer" ] || fail "purge left the timer enabled"
# every file the packages shipped is gone (directories may be shared)
while IFS= read -r f; do
	[ -n "$f" ] && [ ! -d "$R$f" ] || continue
	[ ! -e "$R$f" ] && [ ! -L "$R$f" ] || fail "purge left $f"
done <<<"$dpkg_files"

# ---- a second install and purge: the root as it was -----------------------
step "install again, purge, compare with the root before the first install"
rm -r "$R$CD/byhand"
install_debs
expect_mode /var/lib/goproxy-cert/certs/.state "700 goproxy-cert:goproxy-cert"
inroot timeout 300 apt-get purge -y -q goproxy-cert goproxyd </dev/null >"$T/out" 2>&1 || fail "apt-get purge (2)"
snapshot "$T/after"
# The same paths (the user stays: a line in /etc/passwd, no file of its own)
diff "$T/before" "$T/after" >"$T/out" || fail "the root differs from before the first install (< gone, > new)"
[ ! -e "$R/var/lib/goproxy-cert" ] || fail "purge left /var/lib/goproxy-cert"

echo "PASS: Debian packages built, lint-clean, installed, used, removed and purged ($(($(date +%s) - start)) s)"

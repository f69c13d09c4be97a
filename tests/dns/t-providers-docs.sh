#!/bin/sh
# Every built-in DNS provider (the library's table, through dnstool list)
# is in goproxy-cert(1)'s DNS PROVIDERS section with every option and its
# environment names, is offered by --dns in each shell completion (bash,
# zsh, fish, with its aliases except two-letter ones), is in the README's
# list, and every provider GoDoxy offers (internal/dnsproviders) is either
# built in or named as "not built in yet" in the man page.
set -eu
. "$TESTS_DIR/dns/common.sh"
dns_init
SRC=$TESTS_DIR/..
MAN=$SRC/man/goproxy-cert.1.scd
tool list
expect_rc 0
cp "$WORK/out" "$WORK/list"
# the DNS PROVIDERS section alone
sed -n '/^# DNS PROVIDERS/,/^# GODOXY/p' "$MAN" >"$WORK/section"
[ -s "$WORK/section" ] || fail "no DNS PROVIDERS section"
errs=0
bad() { echo "FAIL: $*" >&2; errs=$((errs + 1)); }
prov=
while read -r kind name rest; do
	case $kind in
	provider)
		prov=$name
		grep -q "^\*$name\*" "$WORK/section" || bad "man page: no entry for $name"
		for f in goproxy-cert.bash _goproxy-cert goproxy-cert.fish; do
			for n in $name $rest; do
				[ ${#n} -le 2 ] && continue
				# each --dns word list (they start with rfc2136) has it;
				# persist-record's ("also create the record") every
				# provider that can write any name (not acmedns, duckdns)
				grep -v 'also create the record' "$SRC/completions/$f" | grep -o 'rfc2136 [a-z0-9 -]*' >"$WORK/lists" || :
				[ -s "$WORK/lists" ] || bad "$f: no --dns list"
				case $name in acmedns | duckdns) ;; *)
					grep 'also create the record' "$SRC/completions/$f" | grep -o 'rfc2136 [a-z0-9 -]*' >>"$WORK/lists" || : ;;
				esac
				while read -r l; do
					case " $l " in *" $n "*) ;; *) bad "$f: a --dns list does not offer $n" ;; esac
				done <"$WORK/lists"
			done
		done
		grep -q "\`$name\`" "$SRC/README.md" || bad "README.md does not name $name"
		;;
	option)
		# the entry of $prov: from its line to the next entry
		awk -v p="*$prov*" 'index($0, p) == 1 { on = 1; print; next } on && /^\*/ { exit } on' "$WORK/section" \
			>"$WORK/entry"
		grep -qF "*$name*" "$WORK/entry" || bad "man page: $prov lacks option $name"
		for e in $rest; do
			grep -qF "*$e*" "$WORK/entry" || bad "man page: $prov option $name lacks $e"
		done
		;;
	esac
done <"$WORK/list"
# GoDoxy's 30 (yusing/godoxy internal/dnsproviders/providers.go), each
# built in or listed as not built in yet
for g in acmedns azuredns clouddns cloudflare cloudns desec digitalocean dnsupdate rfc2136 duckdns edgedns \
	gcloud godaddy hetzner hostinger httpreq infomaniak inwx ionos linode namecheap netcup netlify \
	oraclecloud ovh porkbun scaleway spaceship timewebcloud vercel vultr; do
	grep -qw -- "$g" "$WORK/list" && continue
	sed -n '/^Not built in yet/,/^$/p' "$WORK/section" | grep -qw -- "$g" ||
		bad "GoDoxy's provider $g is neither built in nor listed as not built in"
done
[ "$errs" = 0 ] || exit 1
echo "ok: $(grep -c '^provider' "$WORK/list") providers"

#!/bin/sh
# The shell completions in completions/, run by the real shells:
# - bash: source the file, set COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT the
#   way readline splits the line (blanks; '=' and ':' are words of their own),
#   call the function `complete -p` names, read COMPREPLY. Once without
#   bash-completion (the file's fallback) and once with it loaded when
#   /usr/share/bash-completion/bash_completion (or $BASH_COMPLETION) exists.
# - fish: fish --no-config with fish_complete_path set to completions/ and the
#   programs on $PATH, so fish autoloads the files by name; `complete -C LINE`.
# - zsh: an interactive `zsh -f -i` driven through zpty: compinit with
#   completions/ first on $fpath, TAB bound to a widget that runs complete-word
#   with compadd wrapped to record the matches it is given.
# Asserts, for goproxy-cert and goproxyd: subcommand names; every long option
# of every subcommand's (and goproxyd's) real --help output is offered after
# `--`; every long option a shell offers is one the program accepts; option
# values (--key-type, --challenge, --format, account actions,
# --proxy-protocol); lineage names read from the certs dir given with -d,
# --certs-dir, --certs-dir=DIR or $GOPROXY_CERTS_DIR.
# A missing shell is skipped; exit 77 only when all three are missing.
set -eu

: "${GOPROXY_CERT:?GOPROXY_CERT must point at the goproxy-cert binary}"
: "${BUILD_DIR:?BUILD_DIR must point at the build directory}"
: "${TESTS_DIR:?TESTS_DIR must point at tests/}"
G=$GOPROXY_CERT
GD=$BUILD_DIR/cmd/goproxyd/goproxyd
COMPDIR=$(cd "$TESTS_DIR/../completions" && pwd)
[ -x "$GD" ] || { echo "FAIL: no goproxyd at $GD" >&2; exit 1; }

T=$(mktemp -d /tmp/gpc-comp.XXXXXX)
trap 'rm -rf "$T"' EXIT
export LC_ALL=C
# The shells must read nothing of the user's: no rc files, no history.
export HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" XDG_DATA_HOME="$T/home/.local/share"
export XDG_CACHE_HOME="$T/home/.cache"
mkdir -p "$HOME" "$T/empty"
unset GOPROXY_CERT_NOW ZDOTDIR BASH_ENV ENV
# fish autoloads a command's completions only when the command is on $PATH.
PATH=$(dirname "$G"):$(dirname "$GD"):$PATH
export PATH

ERRS=0
bad() {
	echo "FAIL: $*" >&2
	ERRS=$((ERRS + 1))
}

# Certs dirs: $GOPROXY_CERTS_DIR has default (DIR/cert.crt), www (cert.crt)
# and api (only priv.key); "empty" and .state are not lineages. "other" is
# what -d/--certs-dir names in the cases.
CD=$T/certs
OD=$T/other
mkdir -p "$CD/www" "$CD/api" "$CD/empty" "$CD/.state/x" "$OD/mail" "$OD/shop" "$OD/.state"
: >"$CD/cert.crt"
: >"$CD/www/cert.crt"
: >"$CD/api/priv.key"
: >"$CD/.state/x/cert.crt"
: >"$OD/mail/cert.crt"
: >"$OD/shop/cert.crt"
export GOPROXY_CERTS_DIR="$CD"

# --- what the programs say -------------------------------------------------
"$G" --help >"$T/help.top" 2>&1 || { cat "$T/help.top" >&2; echo "FAIL: goproxy-cert --help" >&2; exit 1; }
SUBS=$(sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' "$T/help.top")
[ -n "$SUBS" ] || { echo "FAIL: no subcommands in goproxy-cert --help" >&2; exit 1; }
long_opts() { # FILE: the long options a --help output names
	grep -oE -- '--[a-z][a-z0-9-]+' "$1" | sort -u
}
for s in check status issue renew revoke account persist-record; do
	echo "$SUBS" | grep -qx "$s" || { echo "FAIL: goproxy-cert --help lacks $s" >&2; exit 1; }
	"$G" "$s" --help >"$T/help.$s" 2>&1 || { cat "$T/help.$s" >&2; echo "FAIL: $s --help" >&2; exit 1; }
	[ -n "$(long_opts "$T/help.$s")" ] || { echo "FAIL: $s --help names no long option" >&2; exit 1; }
done
"$GD" --help >"$T/help.goproxyd" 2>&1 || { cat "$T/help.goproxyd" >&2; echo "FAIL: goproxyd --help" >&2; exit 1; }
[ -n "$(long_opts "$T/help.goproxyd")" ] || { echo "FAIL: goproxyd --help names no long option" >&2; exit 1; }

# The values the cases expect must be ones the programs document.
in_help() { # HELPFILE WORD...
	local f=$1 w
	shift
	for w in "$@"; do
		grep -qF -- "$w" "$T/help.$f" || { echo "FAIL: $f --help does not mention '$w'" >&2; exit 1; }
	done
}
KEYTYPES="ec256 ec384 rsa2048 rsa3072 rsa4096"
CHALLENGES="http-01 dns-01 tls-alpn-01 dns-account-01 dns-persist-01"
FORMATS="text json prometheus"
ACTIONS="show update rollover deactivate"
PP="v1 v2"
# shellcheck disable=SC2086
{
	in_help issue $KEYTYPES
	in_help issue $CHALLENGES
	in_help status $FORMATS
	in_help account $ACTIONS
	in_help goproxyd $PP
}

# --- the cases: ID and the command line up to the cursor ---------------------
: >"$T/cases"
: >"$T/ids"
N=0
add_case() { # ID LINE
	N=$((N + 1))
	printf '%s\n' "$2" >>"$T/cases"
	printf '%s %s\n' "$1" "$N" >>"$T/ids"
}
add_case top "goproxy-cert "
add_case top-ch "goproxy-cert ch"
add_case top-re "goproxy-cert re"
add_case top-dash "goproxy-cert -"
add_case help-cmds "goproxy-cert help "
for s in check status issue renew revoke account persist-record; do
	add_case "opts-$s" "goproxy-cert $s --"
done
add_case issue-ke "goproxy-cert issue --ke"
add_case keytype "goproxy-cert issue --key-type "
add_case keytype-rsa "goproxy-cert issue -D example.org --key-type rsa"
add_case challenge "goproxy-cert issue -D example.org --challenge "
add_case keytype-eq "goproxy-cert issue --key-type=rsa"
add_case challenge-eq "goproxy-cert issue -D example.org --challenge="
add_case format "goproxy-cert status --format "
add_case actions "goproxy-cert account "
add_case lin-env "goproxy-cert check "
add_case lin-d "goproxy-cert check -d $OD "
add_case lin-long "goproxy-cert status --certs-dir $OD "
add_case lin-eq "goproxy-cert renew --certs-dir=$OD "
add_case lin-prefix "goproxy-cert revoke -d $OD s"
add_case lin-name "goproxy-cert issue -d $OD -n "
add_case lin-name-long "goproxy-cert account -d $OD --name "
add_case lin-name-eq "goproxy-cert account -d $OD --name="
add_case d-opts "goproxyd --"
add_case d-pro "goproxyd --pro"
add_case d-pp "goproxyd --proxy-protocol "
add_case d-pp-v "goproxyd -l 8443 --proxy-protocol v"
add_case d-pp-eq "goproxyd --proxy-protocol="

# What each shell must offer, recorded now and checked by one awk run once
# the drivers are done (a fork per assertion is slow on a loaded machine).
# KIND ID WORD...: exact = exactly these; args = exactly these once options
# (-x) are set aside; has = at least these; known = the options the
# program's --help names (an offered one outside them is run to see that the
# program accepts it).
: >"$T/expect"
expect() {
	printf '%s\n' "$*" >>"$T/expect"
}

# --- the drivers: each writes $T/res/SHELL/N, the matches of case N ---------
cat >"$T/drv.bash" <<'EOF'
# bash drv.bash OUTDIR [BASH_COMPLETION_SCRIPT] < cases
out=$1
if [[ -n ${2:-} ]]; then
	source "$2" || exit 3
	declare -F _init_completion >/dev/null || { echo "$2 defines no _init_completion" >&2; exit 3; }
fi
source "$GPC_COMPDIR/goproxy-cert.bash" || exit 3
source "$GPC_COMPDIR/goproxyd.bash" || exit 3
n=0
while IFS= read -r line; do
	n=$((n + 1))
	# Split as readline does: blanks separate words; a run of the
	# COMP_WORDBREAKS characters '=' and ':' is a word of its own.
	words=() w=""
	for ((i = 0; i < ${#line}; i++)); do
		c=${line:i:1}
		if [[ $c == ' ' ]]; then
			[[ -n $w ]] && words+=("$w")
			w=""
		elif [[ $c == [=:] ]]; then
			[[ -n $w && $w != *[=:] ]] && { words+=("$w"); w=""; }
			w+=$c
		else
			[[ $w == *[=:] ]] && { words+=("$w"); w=""; }
			w+=$c
		fi
	done
	words+=("$w")
	spec=$(complete -p "${words[0]}" 2>/dev/null) || { echo "no completion registered for ${words[0]}" >&2; exit 4; }
	[[ $spec == *" -F "* ]] || { echo "unexpected completion spec: $spec" >&2; exit 4; }
	func=${spec#* -F }
	func=${func%% *}
	COMP_WORDS=("${words[@]}")
	COMP_CWORD=$((${#words[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMP_TYPE=9 COMP_KEY=9
	COMPREPLY=()
	"$func" "${words[0]}" "${words[COMP_CWORD]}" "${words[COMP_CWORD - 1]}"
	{ ((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}"; } >"$out/$n"
done
EOF

cat >"$T/drv.zsh" <<'EOF'
# zsh -f drv.zsh OUTDIR < cases: type each line into an interactive zsh on a
# pty, press TAB, wait (bounded) for the widget to write OUTDIR/N.
zmodload zsh/zpty || exit 3
zmodload zsh/zselect || exit 3
zmodload zsh/datetime || exit 3
out=$1
# compinit scans every _* file on $fpath for #compdef lines (990 of them on
# Debian: seconds on a loaded machine). Scan only completions/, the directory
# of compinit and Base (_main_complete, _arguments, _describe); the helpers the
# files call (_files, _directories, _users: Unix, Zsh) are autoloaded
# without a scan.
zc=( ${^fpath}/compinit(N:h) )
[[ -n $zc ]] || { print -u2 "compinit not found on fpath"; exit 3; }
zc=$zc[1]
export GPC_ZOUT=$out GPC_ZSCAN="$GPC_COMPDIR $zc" GPC_ZMORE=""
[[ -d $zc/Base ]] && GPC_ZSCAN+=" $zc/Base"
for d in $zc/Unix $zc/Zsh; do [[ -d $d ]] && GPC_ZMORE+=" $d"; done
cat >$out/init.zsh <<'INIT'
PS1='' PS2='' RPS1='' PROMPT_EOL_MARK=''
bindkey -e
unsetopt auto_list list_ambiguous auto_menu menu_complete list_beep beep
fpath=( ${=GPC_ZSCAN} )
autoload -Uz compinit && compinit -u -D
for __gpc_d in ${=GPC_ZMORE}; do
  fpath+=( $__gpc_d )
  autoload -Uz $__gpc_d/_*(N:t)
done
typeset -ga __gpc_hits
typeset -gi __gpc_n=0
# compadd: record the words that match (-O), then add them for real. Calls
# that only query (-O, -A, -D before the words) pass through.
compadd() {
  local -i __gpc_e=${@[(i)(-|--)]}
  if (( ${@[1,__gpc_e-1][(I)-[OAD]*]} )); then
    builtin compadd "$@"
    return
  fi
  local -a __gpc_m
  builtin compadd -O __gpc_m "$@"
  __gpc_hits+=( $__gpc_m )
  builtin compadd "$@"
}
__gpc_tab() {
  __gpc_hits=()
  zle complete-word
  (( ++__gpc_n ))
  { (( $#__gpc_hits )) && print -rl -- $__gpc_hits } >| $GPC_ZOUT/$__gpc_n
  : >| $GPC_ZOUT/$__gpc_n.done
  BUFFER='' CURSOR=0
}
zle -N __gpc_tab
bindkey '^I' __gpc_tab
: >| $GPC_ZOUT/ready
INIT
drain() {
  local junk
  while zpty -rt z junk 2>/dev/null; do print -rn -- "$junk" >>$out/tty; done
}
wait_for() { # FILE: bounded wait, draining the pty meanwhile
  local -F deadline=$(( EPOCHREALTIME + 20 ))
  while [[ ! -e $1 ]]; do
    (( EPOCHREALTIME < deadline )) || return 1
    drain
    zselect -t 2 || :
  done
}
zpty z 'TERM=xterm zsh -f -i' || exit 3
zpty -w z "source ${(q)out}/init.zsh"
wait_for $out/ready || { print -u2 "zsh: the completion setup did not finish"; zpty -d z; exit 4; }
n=0
while IFS= read -r line; do
  (( ++n ))
  zpty -w -n z "$line"$'\t'
  wait_for $out/$n.done || { print -u2 "zsh: no answer for '$line<TAB>'"; zpty -d z; exit 4; }
  rm -f $out/$n.done
done
drain
zpty -d z
EOF

RAN=""
# run_shell NAME CMD...: run a driver over the cases into $T/res/NAME
run_shell() {
	local name=$1 rc
	shift
	mkdir -p "$T/res/$name"
	set +e
	GPC_COMPDIR=$COMPDIR timeout 90 "$@" "$T/res/$name" <"$T/cases" >"$T/res/$name.log" 2>&1
	rc=$?
	set -e
	if [ "$rc" != 0 ]; then
		bad "$name: the completion driver failed (exit $rc)"
		cat "$T/res/$name.log" >&2
		[ -f "$T/res/$name/tty" ] && { echo "--- zsh terminal:" >&2; cat -v "$T/res/$name/tty" | tail -40 >&2; }
	fi
	RAN="$RAN $name"
}

if command -v bash >/dev/null 2>&1; then
	run_shell bash bash --norc --noprofile "$T/drv.bash"
	BC=${BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}
	if [ -f "$BC" ]; then
		run_shell bash+bash-completion sh -c 'exec bash --norc --noprofile "$1" "$3" "$2"' sh "$T/drv.bash" "$BC"
	else
		echo "bash-completion not installed: bash runs the files' fallback only"
	fi
else
	echo "SKIP: bash completions (bash not installed)"
fi
if command -v fish >/dev/null 2>&1; then
	run_shell fish fish --no-config -c '
		set -g fish_complete_path $argv[1]
		set -l n 0
		while read -l line
			set n (math $n + 1)
			complete -C"$line" | string replace -r "\t.*" "" >$argv[2]/$n
		end' "$COMPDIR"
else
	echo "SKIP: fish completions (fish not installed)"
fi
if command -v zsh >/dev/null 2>&1 && zsh -f -c 'zmodload zsh/zpty' 2>/dev/null; then
	run_shell zsh zsh -f "$T/drv.zsh"
else
	echo "SKIP: zsh completions (zsh not installed, or no zsh/zpty module)"
fi
[ -n "$RAN" ] || { echo "SKIP: none of bash, fish, zsh is installed"; exit 77; }

# --- assertions ---------------------------------------------------------------
# shellcheck disable=SC2086
{
	expect args top $SUBS
	expect exact top-ch check
	expect exact top-re renew revoke
	expect has top-dash --help --version
	expect args help-cmds $SUBS
	for s in check status issue renew revoke account; do
		expect has "opts-$s" $(long_opts "$T/help.$s") --help
		expect known "opts-$s" $(long_opts "$T/help.$s") --help
	done
	expect has opts-check --days --json --certs-dir
	expect exact issue-ke --key-type
	expect exact keytype $KEYTYPES
	expect exact keytype-rsa rsa2048 rsa3072 rsa4096
	expect exact challenge $CHALLENGES
	expect exact keytype-eq rsa2048 rsa3072 rsa4096
	expect exact challenge-eq $CHALLENGES
	expect exact format $FORMATS
	expect args actions $ACTIONS
	expect args lin-env api default www
	expect args lin-d mail shop
	expect args lin-long mail shop
	expect args lin-eq mail shop
	expect exact lin-prefix shop
	expect exact lin-name mail shop
	expect exact lin-name-long mail shop
	expect exact lin-name-eq mail shop
	expect has d-opts $(long_opts "$T/help.goproxyd")
	expect known d-opts $(long_opts "$T/help.goproxyd")
	expect exact d-pro --proxy-protocol
	expect exact d-pp $PP
	expect exact d-pp-v $PP
	expect exact d-pp-eq $PP
}
# Prints "FAIL: ..." lines, and "run ID OPT" for each offered long option
# that --help does not name.
awk -v shells="$RAN" -v res="$T/res" '
function setof(s, a,    n, i, w) {
	split("", a)
	n = split(s, w, " ")
	for (i = 1; i <= n; i++)
		a[w[i]] = 1
}
function show(a,    k, s, n, i, j, keys) {
	n = 0
	for (k in a)
		keys[++n] = k
	# insertion sort: stable, readable messages
	for (i = 2; i <= n; i++) {
		k = keys[i]
		for (j = i - 1; j >= 1 && keys[j] > k; j--)
			keys[j + 1] = keys[j]
		keys[j + 1] = k
	}
	s = ""
	for (i = 1; i <= n; i++)
		s = s (i > 1 ? " " : "") keys[i]
	return "[" s "]"
}
FILENAME == ARGV[1] { line[FNR] = $0; next }
FILENAME == ARGV[2] { num[$1] = $2; next }
{
	kind = $1
	id = $2
	want = $0
	sub(/^[^ ]+ [^ ]+ ?/, "", want)
	setof(want, W)
	# After "--opt=", fish offers "--opt=VALUE", bash and zsh "VALUE".
	cw = line[num[id]]
	sub(/.* /, "", cw)
	pfx = ""
	if (match(cw, /^--[a-z0-9-]+=/))
		pfx = substr(cw, 1, RLENGTH)
	nsh = split(shells, S, " ")
	for (si = 1; si <= nsh; si++) {
		sh = S[si]
		split("", G)
		f = res "/" sh "/" num[id]
		while ((getline w < f) > 0) {
			if (pfx != "" && index(w, pfx) == 1)
				w = substr(w, length(pfx) + 1)
			if (w != "" && !(kind == "args" && w ~ /^-/))
				G[w] = 1
		}
		close(f)
		what = sh ": \047" line[num[id]] "<TAB>\047"
		if (kind == "has") {
			split("", M)
			miss = 0
			for (w in W)
				if (!(w in G)) { M[w] = 1; miss = 1 }
			if (miss)
				print "FAIL: " what " does not offer " show(M) "; offered " show(G)
		} else if (kind == "exact" || kind == "args") {
			same = 1
			for (w in W) if (!(w in G)) same = 0
			for (w in G) if (!(w in W)) same = 0
			if (!same)
				print "FAIL: " what " offered " show(G) (kind == "args" ? " (options aside)" : "") ", expected " show(W)
		} else if (kind == "known") {
			for (w in G)
				if (w ~ /^--/ && !(w in W) && !((id SUBSEP w) in done)) {
					done[id, w] = 1
					print "run " id " " w
				}
		}
	}
}' "$T/cases" "$T/ids" "$T/expect" >"$T/verdict"
while IFS= read -r v; do
	case $v in
	FAIL:*) bad "${v#FAIL: }" ;;
	esac
done <"$T/verdict"

# An offered long option that --help does not name must still be one the
# program knows: an unknown one makes getopt say "unrecognized option '--x'"
# or cli say "unknown option '--x'". Two trailing unknown options stop the
# parse with exit 64 whether or not --x takes an argument, so nothing runs.
accepts() { # LABEL OPT CMD...
	local label=$1 opt=$2 rc
	shift 2
	set +e
	(cd "$T/empty" && GOPROXY_CERTS_DIR=$T/empty timeout 20 "$@" "$opt" --zz-nope --zz-nope) \
		>"$T/acc.out" 2>"$T/acc.err"
	rc=$?
	set -e
	if grep -qE -- "(unrecognized|unknown) option '$opt'" "$T/acc.err"; then
		bad "$label offers $opt, which the program does not accept: $(cat "$T/acc.err")"
	elif [ "$rc" != 64 ] && [ "$rc" != 0 ]; then
		bad "$label $opt --zz-nope --zz-nope: exit $rc, expected 64 (or 0 for help/version): $(cat "$T/acc.err")"
	fi
}
# The check itself: an unknown option is reported as such.
set +e
(cd "$T/empty" && "$G" issue --zz-nope) >/dev/null 2>"$T/acc.err"
set -e
grep -qE -- "(unrecognized|unknown) option '--zz-nope'" "$T/acc.err" ||
	bad "goproxy-cert issue --zz-nope is not reported as an unknown option: $(cat "$T/acc.err")"
NRUN=0
while read -r word id opt; do
	[ "$word" = run ] || continue
	NRUN=$((NRUN + 1))
	case $id in
	d-opts) accepts "goproxyd completion" "$opt" "$GD" ;;
	opts-*) accepts "goproxy-cert ${id#opts-} completion" "$opt" "$G" "${id#opts-}" ;;
	esac
done <"$T/verdict"

echo "shells run:$RAN; $N cases each; $NRUN offered options not in --help run through the program"
if [ "$ERRS" != 0 ]; then
	echo "FAIL: $ERRS assertion(s) failed" >&2
	exit 1
fi
echo "PASS"

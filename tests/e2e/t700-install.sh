#!/bin/bash
# make install / make uninstall into a DESTDIR: the binary, a man page per
# command (rendered by man without warnings), the bash and zsh completions;
# uninstall leaves no file behind. Uses the build directory of the binary
# under test and never rebuilds it (make -W: the binary counts as new).
. "$(dirname "$0")/lib.sh"

command -v make >/dev/null || skip_all "make not installed"
bin=$(cd "$(dirname "$BOTIFY")" && pwd)/$(basename "$BOTIFY")
case $bin in
"$REPO_DIR"/*/botify) B=${bin#"$REPO_DIR"/}; B=${B%/botify} ;;
*) skip_all "$BOTIFY was not built in this repository" ;;
esac
# a parent make's variables (make asan's CFLAGS) pass through; its jobserver
# does not reach this script
MAKEFLAGS=$(printf '%s' "${MAKEFLAGS:-}" | sed -E 's/--jobserver-(auth|fds)=[^ ]*//g')
export MAKEFLAGS
mk() { make -C "$REPO_DIR" --no-print-directory -W "$B/botify" B="$B" "$@"; }
D="$T/root"

check "make help lists the targets, one line each"
expect_exit 0 make -C "$REPO_DIR" --no-print-directory help
for t in all test unit e2e asan dev install uninstall man completions deps help; do
	grep -qE "^$t	" "$OUT" || fail "make help does not list $t"
done
expect_no_stdout '^Makefile'

check "make install DESTDIR PREFIX installs the binary, man pages and completions"
expect_exit 0 mk install DESTDIR="$D" PREFIX=/usr
expect_file "$D/usr/bin/botify"
cmp -s "$D/usr/bin/botify" "$bin" || fail "the installed binary is not the one under test"
[ -x "$D/usr/bin/botify" ] || fail "the installed binary is not executable"
expect_file "$D/usr/share/man/man1/botify.1"
cmds=$("$BOTIFY" completion commands)
for c in $cmds; do
	expect_file "$D/usr/share/man/man1/botify-$c.1"
done
expect_file "$D/usr/share/bash-completion/completions/botify"
expect_file "$D/usr/share/zsh/site-functions/_botify"

check "the installed man pages are the binary's own"
"$BOTIFY" --help-man | cmp -s - "$D/usr/share/man/man1/botify.1" || fail "botify.1 differs from --help-man"
for c in $cmds; do
	"$BOTIFY" "$c" --help-man | cmp -s - "$D/usr/share/man/man1/botify-$c.1" ||
		fail "botify-$c.1 differs from '$c --help-man'"
done

check "man renders every page without warnings"
if command -v man >/dev/null && man --help 2>&1 | grep -q -- --warnings; then
	for f in "$D"/usr/share/man/man1/*.1; do
		MANWIDTH=80 man --warnings -l "$f" >"$T/page" 2>"$T/warn" || fail "man failed on $f"
		[ -s "$T/warn" ] && fail "$(basename "$f"): $(head -n 3 "$T/warn")"
		grep -q 'SYNOPSIS' "$T/page" || fail "$(basename "$f") has no SYNOPSIS"
	done
	MANWIDTH=80 man --warnings -l "$D/usr/share/man/man1/botify-simulate.1" >"$T/page" 2>/dev/null
	grep -q -- '--episodes N' "$T/page" || fail "botify-simulate(1) lacks --episodes"
	MANPATH="$D/usr/share/man" man -w botify-ab >"$T/where" 2>/dev/null
	grep -q "$D/usr/share/man/man1/botify-ab.1" "$T/where" || fail "man -w does not find botify-ab"
else
	skip "man-db not installed (scripts/deps.sh installs it)"
fi

check "the installed bash completion registers and completes a flag"
run bash -c 'source "$1"; complete -p botify
	COMP_LINE="botify train --mod"; COMP_POINT=${#COMP_LINE}; _botify; echo "${COMPREPLY[*]}"
	COMP_LINE="botify "; COMP_POINT=${#COMP_LINE}; _botify; echo "${COMPREPLY[*]}"' \
	_ "$D/usr/share/bash-completion/completions/botify"
expect_eq 0 "$_last_rc" "bash exit"
expect_stdout '^complete -F _botify botify$'
expect_stdout '^--model$'
expect_stdout '^datagen simulate train '

check "the installed zsh completion loads from fpath"
if command -v zsh >/dev/null; then
	expect_exit 0 zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit && compinit -u -D &&
		print -r -- "$_comps[botify]"' _ "$D/usr/share/zsh/site-functions"
	expect_stdout '^_botify$'
else
	skip "zsh not installed"
fi

check "make uninstall removes every installed file"
expect_exit 0 mk uninstall DESTDIR="$D" PREFIX=/usr
left=$(find "$D" \( -type f -o -type l \) | head -n 5)
expect_eq "" "$left" "files left after uninstall"

check "PREFIX defaults to /usr/local"
expect_exit 0 mk install DESTDIR="$T/local"
expect_file "$T/local/usr/local/bin/botify"
expect_file "$T/local/usr/local/share/man/man1/botify-train.1"
expect_exit 0 mk uninstall DESTDIR="$T/local"
left=$(find "$T/local" \( -type f -o -type l \) | head -n 5)
expect_eq "" "$left" "files left after uninstall"

finish

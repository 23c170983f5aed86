#!/bin/bash
# The command output the docs print is what the binary prints: each page
# names the command and seed of its example output, and the cheap ones (a
# few seconds on the built-in world) are re-run here and every line of their
# output must stand in the page as written. t108 only runs the docs'
# commands; without this an output table goes stale silently when the
# random streams or the world change.
. "$(dirname "$0")/lib.sh"
cd "$REPO_DIR" || exit 2

# in_doc PAGE FILE: every non-empty line of FILE is a whole line of PAGE
in_doc() {
	local missing
	missing=$(grep -v '^$' "$2" | while IFS= read -r line; do
		grep -qxF -- "$line" "$1" || printf '    %s\n' "$line"
	done)
	[ -z "$missing" ] || fail "$1 does not print these lines of the output (re-run the command and paste it):
$missing"
}

check "README: simulate's table and --plot picture are the documented run's (seed 31337)"
expect_exit 0 "$BOTIFY" simulate --episodes 20000 --experiment AB --arms C=random,T1=sticky_artist \
	--seed 31337 --quiet --plot "$T/sessions.svg"
in_doc README.md "$OUT"
cmp -s "$T/sessions.svg" docs/simulate-sessions.svg ||
	fail "docs/simulate-sessions.svg differs from the run's --plot (re-make it with the command in README.md)"

finish

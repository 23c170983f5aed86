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

check "docs/ab.md: the forest plot's tables and picture are the documented run's (seed 7)"
expect_exit 0 "$BOTIFY" ab --control random --treatment sticky_artist --treatment random --episodes 20000 \
	--seed 7 --plot "$T/forest.svg"
# in-process the default table leaves latency (this machine's time) out: every line is reproducible
grep '^|' "$OUT" >"$T/forest.md"
in_doc docs/ab.md "$T/forest.md"
cmp -s "$T/forest.svg" docs/ab-forest.svg ||
	fail "docs/ab-forest.svg differs from the run's --plot (re-make it with the command in docs/ab.md)"

check "docs/ab.md: the A/A example's seed 3 has the significant time row the page says"
expect_exit 0 "$BOTIFY" ab --control random --treatment random --design split --seed 3 --quiet
expect_stdout '^\| T1 \| time \| [-0-9.]+ \| [-0-9.]+ \| [-0-9.]+ \| [0-9.]+ \| [0-9.]+ \| True \| [0-9]+ \| [0-9]+ \| 0\.047 \|$'
[ "$(grep -c '| True |' "$OUT")" = 1 ] || fail "docs/ab.md says one row (time) is significant"

check "docs/ab.md: the power example prints what the page shows (default seed)"
expect_exit 0 "$BOTIFY" ab --control sticky_artist --treatment random --power --mde 2 --metrics mean_time_per_session
grep '^power:' "$OUT" >"$T/power.txt"
assert test -s "$T/power.txt"
in_doc docs/ab.md "$T/power.txt"

check "datasets/README.md: the calibration table's baselines are scripts/calibrate.sh 20000 1's"
BOTIFY="$BOTIFY" bash scripts/calibrate.sh 20000 1 >"$T/calib.md" 2>"$ERR"
_last_rc=$?
_last_cmd="scripts/calibrate.sh 20000 1"
assert test "$_last_rc" = 0
assert test "$(grep -c '| 20000 |' "$T/calib.md")" = 3
in_doc datasets/README.md "$T/calib.md"

finish

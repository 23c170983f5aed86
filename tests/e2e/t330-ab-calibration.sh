#!/bin/bash
# The calibration battery's machinery on a small world and a few runs per
# cell: every cell is there with its counts and intervals, the SVG renders.
# The rates themselves are measured by `make calibrate-ab` (docs/ab.md).
. "$(dirname "$0")/lib.sh"

W=$DATA_DIR/e2e/world

check "calibrate_ab.sh runs every cell and prints the three tables"
BOTIFY=$BOTIFY scripts/calibrate_ab.sh --runs 6 --sizes "200 400" --cover-n 200 --truth-x 20 --world "$W" \
	--jobs 2 --out "$T/cal" --svg "$T/cal/cal.svg" >"$OUT" 2>"$ERR" || fail "exit $?: $(cat "$ERR")"
expect_stdout '^### A/A tests: false-positive rate at alpha 0.05'
expect_stdout '^### Coverage of the true effect'
# 2 designs x 2 sizes x 3 metrics A/A rows, 2 effects x 2 designs x 3 metrics coverage rows
n_aa=$(grep -cE '^\| (paired|split) \| (200|400) \| [a-z_]+ \| 6 \| [0-9.]+ % \[[0-9.]+, [0-9.]+\] \|' "$OUT")
expect_eq 12 "$n_aa" "A/A rows"
n_cov=$(grep -cE '^\| (big|small) \| (paired|split) \| 200 \| [a-z_]+ \| [-+][0-9.]+ % \| 6 \|' "$OUT")
expect_eq 12 "$n_cov" "coverage rows"
# 48 experiments, 6 of the power cell and the 2 truth runs
expect_eq 56 "$(ls "$T/cal/raw/"*.csv | wc -l)" "raw tables"
expect_stdout '^### Power: '
expect_stdout '^\| [0-9]+ \| 6 \| [0-9.]+ % \[[0-9.]+, [0-9.]+\] \|$'
expect_stderr 'the pilot says [0-9]+ episodes detect'


check "a second run resumes: nothing is recomputed"
before=$(stat -c %Y "$T/cal/raw/aa-paired-200-1.csv")
sleep 1
BOTIFY=$BOTIFY scripts/calibrate_ab.sh --runs 6 --sizes "200 400" --cover-n 200 --truth-x 20 --world "$W" \
	--out "$T/cal" >/dev/null 2>&1 || fail "second run failed"
expect_eq "$before" "$(stat -c %Y "$T/cal/raw/aa-paired-200-1.csv")" "mtime of a raw table"

check "the SVG renders (rsvg-convert)"
rsvg-convert "$T/cal/cal.svg" -o "$T/cal.png" || fail "rsvg-convert failed"
[ -s "$T/cal.png" ] || fail "empty PNG"

finish

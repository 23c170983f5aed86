#!/bin/bash
# botify ab --episodes: the one-command experiment, its log, the plot.
. "$(dirname "$0")/lib.sh"

W="$DATA_DIR/e2e/world"
# the table without the latency row (measured time differs run to run)
no_latency() { grep -v 'mean_request_latency' "$1"; }

check "the one-command experiment prints the table with the recommenders"
expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 400 --seed 7
expect_stdout '^experiment AB: control C \(random\)'
expect_stdout '^\| T1 \| mean_time_per_session \| [-0-9.]+ \| [-0-9.]+ \| [-0-9.]+ \| [0-9.]+ \| [0-9.]+ \| (True|False) \| [0-9]+ \| [0-9]+ \|$'
expect_stdout '^\| T1 \| sticky_artist \| [0-9]+ \| [0-9]+ \| [0-9]+ \|$'

check "the same seed gives the same table for any thread count, and no log is left"
expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 600 --seed 3 --threads 1 --format csv
no_latency "$OUT" >"$T/a.csv"
expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 600 --seed 3 --threads 3 --format csv
no_latency "$OUT" >"$T/b.csv"
cmp -s "$T/a.csv" "$T/b.csv" || fail "tables differ: $(diff "$T/a.csv" "$T/b.csv")"
[ -z "$(ls "$T" | grep -v -e '^a.csv$' -e '^b.csv$' -e '^stdout$' -e '^stderr$')" ] || fail "unexpected files: $(ls "$T")"

check "--log keeps the log, and analysing it gives the same table"
expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 600 --seed 3 --format csv --log "$T/ab.jsonl.gz"
expect_file "$T/ab.jsonl.gz"
cp "$OUT" "$T/run.csv"
expect_exit 0 "$BOTIFY" ab --log "$T/ab.jsonl.gz" --experiment AB --format csv
no_latency "$OUT" >"$T/c.csv"
cmp -s "$T/a.csv" "$T/c.csv" || fail "log analysis differs: $(diff "$T/a.csv" "$T/c.csv")"
# latency too: the run's own table counts latencies as the log keeps them (whole ns)
cmp -s "$T/run.csv" "$OUT" || fail "the run's table and its log's differ: $(diff "$T/run.csv" "$OUT")"
grep -q '"experiments": {"AB": "T1"}' <(zcat "$T/ab.jsonl.gz") || fail "rows lack the arm"

check "an existing --log is refused without --force"
expect_exit 2 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 50 --log "$T/ab.jsonl.gz"
expect_stderr "exists \(use --force to replace it\)"

check "the log matches botify simulate with the same arms and seed"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 600 --seed 3 --experiment AB --arms C=random,T1=sticky_artist --log "$T/sim.jsonl"
strip() { sed -E 's/"latency": [^,]*,//'; }
cmp -s <(zcat "$T/ab.jsonl.gz" | strip) <(strip <"$T/sim.jsonl") || fail "the logs differ"

check "several treatments: arms T1, T2 in --treatment order"
expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --treatment random --episodes 900 --seed 2
expect_stdout '^\| T2 \| time \|'
expect_stdout '^\| T2 \| random \|'

check "an unknown recommender names its arm"
expect_exit 2 "$BOTIFY" ab --world "$W" --control random --treatment nosuch --episodes 10
expect_stderr "arm T1: unknown recommender 'nosuch'"
expect_one_line_error

check "--plot writes an SVG forest plot"
expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 600 --seed 3 --plot "$T/forest.svg"
expect_file "$T/forest.svg"
grep -q '<svg xmlns="http://www.w3.org/2000/svg"' "$T/forest.svg" || fail "not an svg"
grep -q 'mean_time_per_session' "$T/forest.svg" || fail "no row labels"
grep -q 'effect, % of the control mean' "$T/forest.svg" || fail "no axis label"
expect_exit 2 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 60 --plot "$T/forest.svg"
expect_stderr "exists"

check "the plot renders (rsvg-convert)"
if command -v rsvg-convert >/dev/null; then
	expect_exit 0 rsvg-convert -o "$T/forest.png" "$T/forest.svg"
	[ -s "$T/forest.png" ] || fail "empty png"
	head -c 8 "$T/forest.png" | od -An -c | grep -q 'P   N   G' || fail "not a png"
else
	skip "rsvg-convert not installed (librsvg2-bin)"
fi

check "--help shows both modes and examples"
expect_exit 0 "$BOTIFY" ab --help
expect_stdout 'botify ab --log FILE'
expect_stdout '--episodes N'
expect_stdout 'examples:'
expect_stdout "--require 'mean_time_per_session>0'"

finish

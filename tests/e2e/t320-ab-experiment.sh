#!/bin/bash
# botify ab --episodes: the one-command experiment, its log, the plot.
. "$(dirname "$0")/lib.sh"

W="$DATA_DIR/e2e/world"
# the table without the latency row (measured time differs run to run)
no_latency() { grep -v 'mean_request_latency' "$1"; }

check "the one-command experiment prints the table with the recommenders"
expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 400 --seed 7
expect_stdout '^experiment AB: control C \(random\)'
expect_stdout '^design paired: each of 400 episodes played under every arm with common random numbers'
expect_stdout '^\| T1 \| mean_time_per_session \| [-0-9.]+ \| [-0-9.]+ \| [-0-9.]+ \| [0-9.]+ \| [0-9.]+ \| (True|False) \| [0-9]+ \| [0-9]+ \| [0-9.e-]+ \|$'
expect_stdout '^\| T1 \| sticky_artist \| [0-9]+ \| [0-9]+ \| [0-9]+ \|$'

check "the same seed gives the same table for any thread count, and no log is left"
expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 600 --seed 3 --threads 1 --format csv
no_latency "$OUT" >"$T/a.csv"
expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 600 --seed 3 --threads 3 --format csv
no_latency "$OUT" >"$T/b.csv"
cmp -s "$T/a.csv" "$T/b.csv" || fail "tables differ: $(diff "$T/a.csv" "$T/b.csv")"
[ -z "$(ls "$T" | grep -v -e '^a.csv$' -e '^b.csv$' -e '^stdout$' -e '^stderr$' -e '^cache$')" ] || fail "unexpected files: $(ls "$T")"

check "--log keeps the log, and analysing it gives the same table"
expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 600 --seed 3 --metrics all --format csv --log "$T/ab.jsonl.gz"
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

check "the log matches botify simulate with the same arms, seed and design"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 600 --seed 3 --experiment AB --arms C=random,T1=sticky_artist --design paired --log "$T/sim.jsonl"
strip() { sed -E 's/"latency": [^,]*,//'; }
cmp -s <(zcat "$T/ab.jsonl.gz" | strip) <(strip <"$T/sim.jsonl") || fail "the logs differ"

check "--design split --experiment NAME splits as the service (and simulate --experiment) does"
expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 600 --seed 3 --design split --experiment AB --log "$T/split.jsonl"
expect_stdout "^design split: users assigned as the service assigns experiment 'AB'"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 600 --seed 3 --experiment AB --arms C=random,T1=sticky_artist --log "$T/sim2.jsonl"
cmp -s <(strip <"$T/split.jsonl") <(strip <"$T/sim2.jsonl") || fail "the logs differ"

check "--design split without --experiment draws a fresh split from each seed"
for s in 1 2; do
	expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment random --episodes 600 --seed $s --design split --log "$T/fresh$s.jsonl"
	expect_stdout "^design split: users assigned by murmur3 with salt -?[0-9]+ drawn from --seed $s \\(a fresh randomization per seed\\)"
	# who is in C, by user id
	grep -o '"user": [0-9]*, [^}]*"AB": "C"' "$T/fresh$s.jsonl" | cut -d, -f1 | sort -u >"$T/c$s.txt"
done
n1=$(wc -l <"$T/c1.txt")
common=$(comm -12 "$T/c1.txt" "$T/c2.txt" | wc -l)
# independent halves share about half of the users; the same split would share all
[ "$n1" -gt 10 ] && [ "$common" -lt $((n1 * 3 / 4)) ] || fail "seeds 1 and 2 put $common of the same $n1 users in C"

check "paired logs analyse as paired, to the same table as in-process"
expect_exit 0 "$BOTIFY" ab --log "$T/sim.jsonl" --experiment AB --format csv
expect_stdout ',paired$'
no_latency "$OUT" >"$T/from_log.csv"
expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 600 --seed 3 --format csv
no_latency "$OUT" >"$T/in_process.csv"
cmp -s "$T/from_log.csv" "$T/in_process.csv" || fail "tables differ: $(diff "$T/from_log.csv" "$T/in_process.csv" | head -5)"

check "two plain logs of separate runs compare as two arms"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --seed 4 --recommender random --log "$T/r.jsonl"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --seed 5 --recommender sticky_artist --log "$T/s.jsonl.gz"
expect_exit 0 "$BOTIFY" ab --control-log "$T/r.jsonl" --treatment-log "$T/s.jsonl.gz"
expect_stdout '^\| T1 \| mean_time_per_session \|'
expect_stdout "^\\| T1 \\| $T/s.jsonl.gz \\| [0-9]+ \\| 300 \\|"
expect_exit 2 "$BOTIFY" ab --log "$T/r.jsonl" --experiment AB
expect_one_line_error
expect_stderr "its rows carry no experiment: compare two such logs with --control-log and --treatment-log"
expect_exit 2 "$BOTIFY" ab --control-log "$T/r.jsonl"
expect_stderr "go together"

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

check "--plot refuses what is not .svg rather than write SVG under another name"
expect_exit 2 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 60 --plot "$T/forest.png"
expect_one_line_error
expect_stderr "--plot writes SVG: name the file \*.svg"
expect_no_file "$T/forest.png"

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

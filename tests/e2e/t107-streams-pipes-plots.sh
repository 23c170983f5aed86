#!/bin/bash
# The conventions of a Unix tool: data on stdout and diagnostics on stderr,
# --quiet, `--log -` for pipes (simulate writes, ab reads), the bare first
# commands (simulate's default recommender), and simulate --plot.
. "$(dirname "$0")/lib.sh"

W="$DATA_DIR/e2e/world"

check "simulate without --recommender runs random and says so on stderr"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 50 --seed 2
expect_stdout '^\| - \| random \| 50 \|'
expect_stderr 'recommender random'
"$BOTIFY" simulate --help >"$T/help" 2>&1
grep -q 'Without --recommender (or --experiment) the recommender is random' "$T/help" || fail "--help does not name the default recommender"

check "simulate: stdout is only the summary table; the world, speed and log lines are on stderr"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 50 --recommender random --log "$T/s.jsonl"
expect_eq 3 "$(wc -l <"$OUT")" "stdout lines (header, rule, one arm, nothing else)"
expect_stderr '^world: '
expect_stderr 'episodes/s'
expect_stderr "^log: $T/s.jsonl \\([0-9]+ rows\\)"

check "--quiet leaves the summary and nothing on stderr"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 50 --quiet --log "$T/q.jsonl"
[ -s "$ERR" ] && fail "stderr is not empty: $(head -n 2 "$ERR")"
expect_stdout '^\| - \| random \| 50 \|'

check "simulate --progress draws the neighbour search and the episodes with an ETA; --quiet alone draws nothing"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --no-cache --progress --quiet
expect_stderr 'simulate: interest neighbours \[#+\] 100% [0-9]+/[0-9]+ .*eta 0s'
expect_stderr 'simulate \[#+\] 100% 300/300 .*eta'
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --no-cache --quiet
[ -s "$ERR" ] && fail "--quiet wrote on stderr: $(head -n 2 "$ERR")"

check "datagen and export report what they wrote on stderr, not stdout"
expect_exit 0 "$BOTIFY" datagen --out "$T/w" --tracks 300 --users 20 --dim 8
[ -s "$OUT" ] && fail "stdout is not empty: $(head -n 2 "$OUT")"
expect_stderr "wrote $T/w"
expect_exit 0 "$BOTIFY" datagen --out "$T/w2" --tracks 300 --users 20 --dim 8 --quiet
[ -s "$OUT" ] && fail "stdout is not empty: $(head -n 2 "$OUT")"
[ -s "$ERR" ] && fail "stderr is not empty: $(head -n 2 "$ERR")"

check "simulate --log - writes only the log to stdout, the summary to stderr"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 40 --recommender sticky_artist --seed 3 --log -
expect_eq 40 "$(grep -c '"message": "last"' "$OUT")" "last rows on stdout"
grep -qv '^{"message": ' "$OUT" && fail "stdout holds something other than log rows: $(grep -v '^{"message": ' "$OUT" | head -n 2)"
expect_stderr '^\| - \| sticky_artist \| 40 \|'
expect_stderr '^log: stdout \([0-9]+ rows\)'

check "simulate --log - | ab --log - reads the log from stdin, the same as from a file"
"$BOTIFY" simulate --world "$W" --episodes 300 --experiment AB --arms C=random,T1=sticky_artist --seed 4 \
	--log - 2>/dev/null | "$BOTIFY" ab --log - --experiment AB --format json >"$T/piped.json" 2>"$T/piped.err" ||
	fail "the pipe failed: $(cat "$T/piped.err")"
"$BOTIFY" simulate --world "$W" --episodes 300 --experiment AB --arms C=random,T1=sticky_artist --seed 4 \
	--log "$T/ab.jsonl" --quiet >/dev/null
"$BOTIFY" ab --log "$T/ab.jsonl" --experiment AB --format json >"$T/file.json" 2>/dev/null
# the latencies differ between the two runs; the listening metrics do not
for m in mean_time_per_session mean_tracks_per_session; do
	a=$(grep -o "\"metric\": \"$m\", \"effect\": [^,]*" "$T/piped.json")
	b=$(grep -o "\"metric\": \"$m\", \"effect\": [^,]*" "$T/file.json")
	[ -n "$a" ] && [ "$a" = "$b" ] || fail "$m: piped '$a' vs file '$b'"
done

check "bare train says what to run next, in one line"
expect_exit 2 "$BOTIFY" train
expect_one_line_error
expect_stderr 'botify simulate --episodes [0-9]+ .*--log logs/day1.jsonl.gz && botify train --log logs/day1.jsonl.gz --model models/nn'
expect_exit 2 "$BOTIFY" train --log "$T/ab.jsonl"
expect_one_line_error
expect_stderr "botify train --log $T/ab.jsonl --model models/nn"

check "train --log - reads the log from stdin"
"$BOTIFY" simulate --world "$W" --episodes 300 --seed 6 --log - --quiet 2>/dev/null |
	"$BOTIFY" train --world "$W" --log - --model "$T/m-stdin" --epochs 1 >"$T/train.out" 2>"$T/train.err" ||
	fail "train --log - failed: $(tail -n 2 "$T/train.err")"
expect_file "$T/m-stdin/config.json"

check "export draws progress with an ETA when asked, and --quiet silences its notes"
expect_exit 0 "$BOTIFY" export --world "$W" --model "$T/m-stdin" --recs "$T/x/recs.json" --user-recs "$T/x/users.json" --k 10 --progress
expect_stderr 'export: track lists \[#+\] 100% 300/300 .*eta 0s'
expect_stderr 'export: user lists \[#+\] 100% 40/40'
expect_stderr "wrote $T/x/recs.json"
[ -s "$OUT" ] && fail "export wrote on stdout: $(head -n 2 "$OUT")"
expect_exit 0 "$BOTIFY" export --world "$W" --model "$T/m-stdin" --recs "$T/x/recs2.json" --k 10 --quiet
[ -s "$ERR" ] && fail "export --quiet wrote on stderr: $(head -n 2 "$ERR")"
expect_exit 0 "$BOTIFY" ab --log "$T/ab.jsonl" --experiment AB --quiet --progress
expect_stderr 'ab: reading \[#+\] 100%'
expect_exit 0 "$BOTIFY" ab --log "$DATA_DIR/ab/service.jsonl" --experiment AB
expect_stderr 'note: 17 unfinished sessions'
expect_exit 0 "$BOTIFY" ab --log "$DATA_DIR/ab/service.jsonl" --experiment AB --quiet
[ -s "$ERR" ] && fail "ab --quiet wrote notes on stderr: $(head -n 2 "$ERR")"

check "train draws each epoch's progress when asked, and --quiet silences its lines"
expect_exit 0 "$BOTIFY" train --world "$W" --log "$T/ab.jsonl" --model "$T/m-progress" --epochs 2 --batch 64 --progress
expect_stderr 'epoch 1 \(of at most 2\) \[#+\] 100% [0-9]+/[0-9]+ .*eta 0s'
expect_stderr 'train: reading the logs \[#+\] 100%'
tr '\r' '\n' <"$ERR" | grep -q '^ *epoch   2  train ' || fail "no line for epoch 2 after its bar"
expect_exit 0 "$BOTIFY" train --world "$W" --log "$T/ab.jsonl" --model "$T/m-quiet" --epochs 2 --quiet
grep -v '^warning' "$ERR" | grep -q . && fail "train --quiet wrote on stderr: $(head -n 2 "$ERR")"

check "bare ab runs the default 2000 paired episodes"
expect_exit 0 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --format json
expect_stdout 'each of 2000 episodes played under every arm'
expect_stdout '"sessions": 2000'

check "simulate --plot draws both distributions for every arm"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --experiment AB --arms C=random,T1=sticky_artist --plot "$T/plots/s.svg"
expect_file "$T/plots/s.svg"
grep -q '^<svg ' "$T/plots/s.svg" || fail "not an SVG"
for s in 'Session length' 'Listen time' 'C: random' 'T1: sticky_artist'; do
	grep -q "$s" "$T/plots/s.svg" || fail "the plot lacks '$s'"
done
expect_stderr "plot: $T/plots/s.svg"
# the legend's means are the table's
m=$(grep -o '^| C | random | 300 \| [0-9.]*' "$OUT" | awk '{print $NF}')
[ -n "$m" ] || m=$(awk -F'|' '$2 ~ /C/ {gsub(/ /, "", $5); print $5}' "$OUT")
grep -q "mean $m (dashed)" "$T/plots/s.svg" || fail "the plot's mean tracks for C is not the table's $m"
if command -v rsvg-convert >/dev/null; then
	rsvg-convert "$T/plots/s.svg" -o "$T/s.png" || fail "rsvg-convert cannot render the plot"
fi

check "simulate --plot refuses other extensions and an existing file"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --plot "$T/s.png"
expect_one_line_error '--plot writes SVG'
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --plot "$T/plots/s.svg"
expect_stderr 'exists'

finish

#!/bin/bash
# botify ab reads a log on threads: the table is the same, byte for byte,
# for any --threads, on plain and gzip logs, with several logs whose users'
# sessions continue from one file to the next, and errors name the same line.
. "$(dirname "$0")/lib.sh"

tiny_world "$T/w"
"$BOTIFY" simulate --world "$T/w" --episodes 3000 --experiment AB --arms C=random,T1=sticky_artist \
	--seed 3 --log "$T/day1.jsonl" --quiet >/dev/null 2>&1 || { echo "simulate failed" >&2; exit 1; }
"$BOTIFY" simulate --world "$T/w" --episodes 2000 --experiment AB --arms C=random,T1=sticky_artist \
	--seed 4 --day 1 --log "$T/day2.jsonl.gz" --quiet >/dev/null 2>&1 || { echo "simulate failed" >&2; exit 1; }
gzip -c "$T/day1.jsonl" >"$T/day1.jsonl.gz"
# the same rows with CRLF endings, blank lines and a user's rows split over two files
awk '{ printf "%s\r\n", $0; if (NR % 97 == 0) print "" }' "$T/day1.jsonl" >"$T/crlf.jsonl"
head -n 9000 "$T/day1.jsonl" >"$T/part1.jsonl"
tail -n +9001 "$T/day1.jsonl" >"$T/part2.jsonl"

for fmt in csv json md; do
	for logs in "day1.jsonl" "day1.jsonl.gz" "crlf.jsonl" "day1.jsonl day2.jsonl.gz" "part1.jsonl part2.jsonl"; do
		check "ab --format $fmt on $logs: --threads 2 and 3 print what --threads 1 prints"
		args=()
		for l in $logs; do args+=(--log "$T/$l"); done
		expect_exit 0 "$BOTIFY" ab "${args[@]}" --experiment AB --format "$fmt" --threads 1
		cp "$OUT" "$T/one.out"
		for t in 2 3; do
			expect_exit 0 "$BOTIFY" ab "${args[@]}" --experiment AB --format "$fmt" --threads "$t"
			cmp -s "$T/one.out" "$OUT" || fail "--threads $t differs from --threads 1"
		done
	done
done

check "the split files give the table of the whole file"
expect_exit 0 "$BOTIFY" ab --log "$T/day1.jsonl" --experiment AB --format csv --threads 2
cp "$OUT" "$T/whole.csv"
expect_exit 0 "$BOTIFY" ab --log "$T/part1.jsonl" --log "$T/part2.jsonl" --experiment AB --format csv --threads 2
cmp -s "$T/whole.csv" "$OUT" || fail "two parts differ from the whole"

check "a bad row is named by its line, whatever the threads"
L=$(($(wc -l <"$T/day1.jsonl") * 2 / 3))
sed "${L}s/\"track\": [0-9]*/\"track\": x/" "$T/day1.jsonl" >"$T/bad.jsonl"
for t in 1 2 3; do
	expect_exit 2 "$BOTIFY" ab --log "$T/bad.jsonl" --experiment AB --threads "$t"
	expect_stderr "bad.jsonl:$L: malformed JSON"
	expect_one_line_error
done
gzip -c "$T/bad.jsonl" >"$T/bad.jsonl.gz"
expect_exit 2 "$BOTIFY" ab --log "$T/bad.jsonl.gz" --experiment AB --threads 2
expect_stderr "bad.jsonl.gz:$L: malformed JSON"

check "a truncated gzip log is the same error on threads"
head -c 40000 "$T/day1.jsonl.gz" >"$T/cut.jsonl.gz"
expect_exit 2 "$BOTIFY" ab --log "$T/cut.jsonl.gz" --experiment AB --threads 1
cp "$ERR" "$T/one.err"
expect_exit 2 "$BOTIFY" ab --log "$T/cut.jsonl.gz" --experiment AB --threads 2
cmp -s "$T/one.err" "$ERR" || fail "the message differs: $(cat "$T/one.err")"
expect_stderr "corrupt or truncated gzip data"

check "a log on stdin is read a row at a time, with the same table"
expect_exit 0 "$BOTIFY" ab --log "$T/day1.jsonl" --experiment AB --format csv --threads 2
cp "$OUT" "$T/file.csv"
run sh -c "\"$BOTIFY\" ab --log - --experiment AB --format csv --threads 2 <\"$T/day1.jsonl\""
cmp -s "$T/file.csv" "$OUT" || fail "stdin differs from the file"

finish

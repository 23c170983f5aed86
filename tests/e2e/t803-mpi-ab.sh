#!/bin/bash
# Open MPI: ab on logs under mpirun reads them on every rank (plain logs in
# byte ranges, gzip logs and files spread over the ranks) and prints the
# table of a single process without MPI, byte for byte in every format, with
# its exit status, for 1 to 3 ranks x 1 to 2 threads: split and paired logs,
# sessions cut by the ranges, two experiments in a log, gzip, several files,
# standard input; a bad line or a missing file gives the single process's
# message and exit 2.
. "$(dirname "$0")/lib.sh"

mpi_setup

# one process without MPI, then the MPI build on 1 to 3 ranks: the same
# stdout and exit status; $1 names the case, the rest are ab's arguments
same_as_one_process() {
	local name=$1 rc
	shift
	"$BOTIFY" ab "$@" --threads 2 >"$T/$name.ref" 2>"$T/$name.ref.err"
	rc=$?
	grep -q . "$T/$name.ref" || fail "$name: no output from the single process"
	for rt in 1x1 2x1 2x2 3x1 3x2; do
		expect_exit "$rc" mpi "${rt%x*}" ab "$@" --threads "${rt#*x}"
		cmp -s "$T/$name.ref" "$OUT" || fail "$name on ${rt%x*} ranks x ${rt#*x} threads: $(diff "$T/$name.ref" "$OUT" | head -5)"
	done
}

check "logs to analyse: split and paired, plain and gzip"
expect_exit 0 "$BOTIFY" simulate --episodes 1500 --experiment AB --arms C=random,T1=sticky_artist \
	--seed 11 --log "$T/split.jsonl"
expect_exit 0 "$BOTIFY" simulate --episodes 700 --experiment AB --arms C=random,T1=sticky_artist \
	--seed 12 --day 1 --log "$T/day1.jsonl.gz"
expect_exit 0 "$BOTIFY" simulate --episodes 700 --experiment P --arms C=random,T1=sticky_artist \
	--design paired --seed 4 --log "$T/paired.jsonl.gz"
gzip -dc "$T/paired.jsonl.gz" >"$T/paired.jsonl"
# the rows of two halves interleaved (blank lines where one runs out): every
# range boundary cuts users' sessions
n=$(wc -l <"$T/split.jsonl")
head -n $((n / 2)) "$T/split.jsonl" >"$T/h1"
tail -n +$((n / 2 + 1)) "$T/split.jsonl" >"$T/h2"
paste -d '\n' "$T/h1" "$T/h2" >"$T/mixed.jsonl"

for fmt in md csv json; do
	check "a split log, --format $fmt: the single process's table on every ranks x threads"
	same_as_one_process "split-$fmt" --log "$T/split.jsonl" --experiment AB --format "$fmt"
done

check "sessions cut at every range boundary: the same table"
same_as_one_process mixed --log "$T/mixed.jsonl" --experiment AB --format json

check "two experiments in one log: the same table for each"
cat "$T/paired.jsonl" "$T/mixed.jsonl" >"$T/two.jsonl"
same_as_one_process two-ab --log "$T/two.jsonl" --experiment AB --format csv
same_as_one_process two-p --log "$T/two.jsonl" --experiment P

check "a paired log, plain and gzip: the same table"
same_as_one_process paired --log "$T/paired.jsonl" --experiment P
same_as_one_process paired-gz --log "$T/paired.jsonl.gz" --experiment P --format csv
grep -q 'design paired' "$T/paired.ref" || fail "the paired log was not analysed as paired"

check "two files, plain then gzip, and a log per arm: the same table"
same_as_one_process two --log "$T/split.jsonl" --log "$T/day1.jsonl.gz" --experiment AB --format json
same_as_one_process arms --control-log "$T/paired.jsonl" --treatment-log "$T/day1.jsonl.gz" \
	--ci notebook --correction holm

check "standard input (read by rank 0) between two files: the same table"
"$BOTIFY" ab --log "$T/day1.jsonl.gz" --log - --log "$T/mixed.jsonl" --experiment AB \
	<"$T/split.jsonl" >"$T/stdin.ref" 2>/dev/null
expect_exit 0 timeout 120 mpirun -np 3 --oversubscribe "$MPIBOT" ab --log "$T/day1.jsonl.gz" --log - \
	--log "$T/mixed.jsonl" --experiment AB --threads 1 <"$T/split.jsonl"
expect_eq "$(cat "$T/stdin.ref")" "$(cat "$OUT")" "table with standard input"

check "a failed requirement: exit 1 and the same table"
same_as_one_process require --log "$T/split.jsonl" --experiment AB --require 'sessions>0'

# one process's message, and the MPI build's on 1 to 3 ranks: the same
# "botify: ..." line, exit 2, no table
same_error() {
	local name=$1
	shift
	expect_exit 2 "$BOTIFY" ab "$@" --threads 2
	local want
	want=$(grep '^botify: ' "$ERR")
	[ -n "$want" ] || fail "$name: no message from the single process"
	for rt in 1x1 2x1 2x2 3x1 3x2; do
		expect_exit 2 mpi "${rt%x*}" ab "$@" --threads "${rt#*x}"
		expect_eq "$want" "$(grep '^botify: ' "$ERR")" "$name on ${rt%x*} ranks x ${rt#*x} threads"
		[ -s "$OUT" ] && fail "$name: a table was printed"
	done
}

check "a bad line in the middle of a log after another log: the same message (file and line), exit 2"
cp "$T/mixed.jsonl" "$T/bad.jsonl"
sed -i "$((n * 2 / 3))s/\"user\": /\"user\": x/" "$T/bad.jsonl"
same_error bad --log "$T/split.jsonl" --log "$T/bad.jsonl" --experiment AB
expect_stderr "bad\.jsonl:$((n * 2 / 3)): "

check "a bad line in a gzip log: the same message, exit 2"
gzip -c "$T/bad.jsonl" >"$T/bad.jsonl.gz"
same_error bad-gz --log "$T/bad.jsonl.gz" --experiment AB

check "a missing second log: the same message, exit 2"
same_error missing --log "$T/split.jsonl" --log "$T/nothing.jsonl" --experiment AB
expect_stderr 'nothing\.jsonl'

check "no rows of the experiment: the same message, exit 2"
same_error none --log "$T/split.jsonl" --experiment ZZ

finish

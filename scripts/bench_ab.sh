#!/bin/bash
# bench_ab.sh - botify ab's log-reading speed and memory.
#
# Makes a ~1 million-row log with botify simulate (plain and .gz), then
# reads it with 1 and 2 threads, plain and gzip, RUNS times (default 5) in
# turn (paired runs: machine load hits every variant alike) and prints per
# variant the median wall time, MB/s of plain JSON lines, rows/s, and MB
# per CPU-second (user + system: what one core does, whatever the load).
# Then the peak RSS (/usr/bin/time -v) for 1x and 4x the rows over the same
# users, to show that memory follows users, not rows. Every thread count
# must print the same table. Gate: >= 100 MB per CPU-second on plain input
# with one thread (CPU time, so that a busy machine does not fail it).
#
# Usage: BOTIFY=/abs/path/botify [RUNS=5] scripts/bench_ab.sh [EPISODES]   (default 130000)
set -eu
: "${BOTIFY:?BOTIFY must point at the botify binary}"
episodes=${1:-130000}
RUNS=${RUNS:-5}
dir=$(mktemp -d "${TMPDIR:-/tmp}/botify-bench-ab.XXXXXX")
trap 'rm -rf "$dir"' EXIT
[ -x /usr/bin/time ] || { echo "bench ab: /usr/bin/time is needed (apt-get install time)" >&2; exit 2; }

echo "bench ab: making a log of $episodes sessions ($("$BOTIFY" --version | grep gzip)) ..."
"$BOTIFY" simulate --episodes "$episodes" --experiment AB --arms C=random,T1=sticky_artist \
	--seed 1 --log "$dir/day1.jsonl" >/dev/null 2>&1
# the gzip log as simulate writes it (members of a few hundred KB); its
# latencies differ from the plain log's, so its table is its own
"$BOTIFY" simulate --episodes "$episodes" --experiment AB --arms C=random,T1=sticky_artist \
	--seed 1 --log "$dir/day1.jsonl.gz" >/dev/null 2>&1
for d in 2 3 4; do
	"$BOTIFY" simulate --episodes "$episodes" --experiment AB --arms C=random,T1=sticky_artist \
		--seed "$d" --day "$d" --log "$dir/day$d.jsonl" >/dev/null 2>&1
done
rows=$(wc -l <"$dir/day1.jsonl")
bytes=$(stat -c %s "$dir/day1.jsonl")
gzbytes=$(stat -c %s "$dir/day1.jsonl.gz")
echo "log: $rows rows, $((bytes / 1000000)) MB plain, $((gzbytes / 1000000)) MB gzip"

variants=("day1.jsonl 1" "day1.jsonl 2" "day1.jsonl.gz 1" "day1.jsonl.gz 2")
for i in $(seq "$RUNS"); do
	for v in "${variants[@]}"; do
		set -- $v
		# bash's time: milliseconds (/usr/bin/time's 10 ms steps are 7 % of a 0.15 s run)
		TIMEFORMAT="$1 $2 %3R %3U %3S"
		{ time "$BOTIFY" ab --log "$dir/$1" --experiment AB --format csv --threads "$2" \
			>"$dir/table.$1.$2" 2>"$dir/err"; } 2>"$dir/t" ||
			{ cat "$dir/err" >&2; echo "bench ab: ab --log $1 --threads $2 failed" >&2; exit 1; }
		cat "$dir/t"
	done
done >"$dir/times"
for v in "${variants[@]}"; do
	set -- $v
	cmp -s "$dir/table.$1.1" "$dir/table.$1.$2" ||
		{ echo "bench ab: $1 with $2 threads printed another table than with 1" >&2; exit 1; }
done
awk -v r="$rows" -v b="$bytes" '
	{ k = $1 " " $2; wall[k] = wall[k] " " $3; cpu[k] = cpu[k] " " ($4 + $5); n[k]++ }
	function median(s, m,   a, i, j, t) {
		m = split(substr(s, 2), a, " ")
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return a[int((m + 1) / 2)]
	}
	END {
		split("day1.jsonl 1|day1.jsonl 2|day1.jsonl.gz 1|day1.jsonl.gz 2", order, "|")
		for (o = 1; o <= 4; o++) {
			k = order[o]; split(k, f, " ")
			w = median(wall[k]); c = median(cpu[k])
			kind = "plain"
			if (f[1] ~ /gz$/) kind = "gzip"
			printf "ab %-5s %d thread(s): %.3f s (median of %d): %5.0f MB/s, %4.2f M rows/s; %4.0f MB per CPU-second\n",
				kind, f[2], w, n[k], b / 1e6 / w, r / w / 1e6, b / 1e6 / c
			if (o == 1) plain1 = b / 1e6 / c
		}
		if (plain1 < 100) { print "ab: below the floor of 100 MB per CPU-second on plain input"; exit 1 }
	}' "$dir/times"

# peak RSS for 1x and 4x the rows (four days of the same users)
rss() {
	/usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }'
}
r1=$(rss "$BOTIFY" ab --log "$dir/day1.jsonl" --experiment AB --format csv --threads 2)
r4=$(rss "$BOTIFY" ab --log "$dir/day1.jsonl" --log "$dir/day2.jsonl" --log "$dir/day3.jsonl" \
	--log "$dir/day4.jsonl" --experiment AB --format csv --threads 2)
echo "ab peak RSS (2 threads): ${r1} KB for 1x rows ($rows), ${r4} KB for 4x rows (same users)"

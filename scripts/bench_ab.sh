#!/bin/bash
# bench_ab.sh - botify ab's log-reading speed and memory.
#
# Makes a ~1 million-row log with botify simulate (plain and .gz), then
# reports ab's throughput on it (MB/s of plain JSON lines and rows/s, the
# median of 5 runs, one core: ab reads on one thread) and the peak RSS
# (/usr/bin/time -v) for 1x and 4x the rows over the same users, to show that
# memory follows users, not rows. Target: >= 100 MB/s on plain input.
#
# Usage: BOTIFY=/abs/path/botify scripts/bench_ab.sh [EPISODES]   (default 130000)
set -eu
: "${BOTIFY:?BOTIFY must point at the botify binary}"
episodes=${1:-130000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/botify-bench-ab.XXXXXX")
trap 'rm -rf "$dir"' EXIT

echo "bench ab: making a log of $episodes sessions ..."
"$BOTIFY" simulate --episodes "$episodes" --experiment AB --arms C=random,T1=sticky_artist \
	--seed 1 --log "$dir/day1.jsonl" >/dev/null
"$BOTIFY" simulate --episodes "$episodes" --experiment AB --arms C=random,T1=sticky_artist \
	--seed 1 --log "$dir/day1.jsonl.gz" >/dev/null
for d in 2 3 4; do
	"$BOTIFY" simulate --episodes "$episodes" --experiment AB --arms C=random,T1=sticky_artist \
		--seed "$d" --day "$d" --log "$dir/day$d.jsonl" >/dev/null
done
rows=$(wc -l <"$dir/day1.jsonl")
bytes=$(stat -c %s "$dir/day1.jsonl")
gzbytes=$(stat -c %s "$dir/day1.jsonl.gz")

# median_seconds CMD...: the median wall time of 5 runs
median_seconds() {
	local t=()
	for _ in 1 2 3 4 5; do
		local s e
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s.%N)
		t+=("$(awk -v a="$e" -v b="$s" 'BEGIN { printf "%.6f", a - b }')")
	done
	printf '%s\n' "${t[@]}" | sort -g | sed -n 3p
}

plain=$(median_seconds "$BOTIFY" ab --log "$dir/day1.jsonl" --experiment AB --format csv)
gz=$(median_seconds "$BOTIFY" ab --log "$dir/day1.jsonl.gz" --experiment AB --format csv)
awk -v r="$rows" -v b="$bytes" -v s="$plain" 'BEGIN {
	printf "ab plain: %d rows, %.1f MB in %.3f s (median of 5): %.0f MB/s, %.0f rows/s\n",
		r, b / 1e6, s, b / 1e6 / s, r / s }'
awk -v r="$rows" -v b="$bytes" -v z="$gzbytes" -v s="$gz" 'BEGIN {
	printf "ab gzip:  %d rows, %.1f MB (%.1f MB compressed) in %.3f s: %.0f MB/s of JSON, %.0f rows/s\n",
		r, b / 1e6, z / 1e6, s, b / 1e6 / s, r / s }'

# peak RSS for 1x and 4x the rows (four days of the same 10 000 users)
rss() {
	/usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }'
}
if [ -x /usr/bin/time ]; then
	r1=$(rss "$BOTIFY" ab --log "$dir/day1.jsonl" --experiment AB --format csv)
	r4=$(rss "$BOTIFY" ab --log "$dir/day1.jsonl" --log "$dir/day2.jsonl" --log "$dir/day3.jsonl" \
		--log "$dir/day4.jsonl" --experiment AB --format csv)
	echo "ab peak RSS: ${r1} KB for 1x rows ($rows), ${r4} KB for 4x rows (same users)"
else
	echo "ab peak RSS: /usr/bin/time missing (apt-get install time); skipped"
fi
awk -v b="$bytes" -v s="$plain" 'BEGIN { if (b / 1e6 / s < 100) { print "ab: below the 100 MB/s target"; exit 1 } }'

#!/bin/bash
# make bench: simulator throughput on the built-in world (medians of several
# runs), then the ab and train benchmarks when their scripts exist.
#
#   BOTIFY=path/to/botify scripts/bench.sh [--quick]
#   BENCH_ONLY=sim  only the simulator part (seconds, not minutes)
#
# Numbers are medians, so one noisy run does not move them; compare ratios
# (2 threads vs 1) rather than absolute figures across machines.
set -eu
BOTIFY=${BOTIFY:-$(dirname "$0")/../botify}
RUNS=${RUNS:-5}
[ "${1:-}" = "--quick" ] && RUNS=3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/botify-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
json_field() { sed -E "s/.*\"$1\": ([0-9.e+-]+).*/\1/"; }

echo "# botify benchmarks ($(date -u +%Y-%m-%d), $(nproc) cores, $RUNS runs each, medians)"
echo
echo "## World generation"
for i in $(seq "$RUNS"); do
	"$BOTIFY" datagen --out "$TMP/w" --force | sed -E 's/.*generated in ([0-9.]+) s.*/\1/'
done | median | awk '{ printf "default world (50 000 x 100, 10 000 users) generated in %.3f s\n\n", $1 }'

echo "## Simulator episode loop (neighbour search excluded)"
echo
echo "| recommender | log | threads | steps/s | episodes/s | steps/s per thread |"
echo "|---|---|---:|---:|---:|---:|"
# enough episodes for the loop to run about a second: shorter runs measure
# thread start-up and the machine's noise
EPISODES=${EPISODES:-1000000}
LOG_EPISODES=${LOG_EPISODES:-300000}
for rec in random sticky_artist; do
	for log in none plain gzip; do
		for th in 1 2; do
			n=$EPISODES
			[ "$log" = none ] || n=$LOG_EPISODES
			args=(simulate --episodes "$n" --recommender "$rec" --threads "$th" --seed 1 --format json)
			case $log in
			plain) args+=(--log "$TMP/log.jsonl" --force) ;;
			gzip) args+=(--log "$TMP/log.jsonl.gz" --force) ;;
			esac
			: >"$TMP/sps"
			: >"$TMP/eps"
			for i in $(seq "$RUNS"); do
				"$BOTIFY" "${args[@]}" >"$TMP/out.json"
				json_field steps_per_second <"$TMP/out.json" >>"$TMP/sps"
				json_field episodes_per_second <"$TMP/out.json" >>"$TMP/eps"
			done
			sps=$(median <"$TMP/sps")
			eps=$(median <"$TMP/eps")
			printf '| %s | %s | %d | %.0f | %.0f | %.0f |\n' "$rec" "$log" "$th" "$sps" "$eps" "$(awk -v a="$sps" -v b="$th" 'BEGIN { print a / b }')"
			echo "$rec $log $th $sps" >>"$TMP/table"
		done
	done
done
echo
awk '{ k = $1 " " $2; if ($3 == 1) one[k] = $4; else two[k] = $4 } END { for (k in one) printf "2 threads / 1 thread, %s: %.2fx\n", k, two[k] / one[k] }' "$TMP/table" | sort
echo

echo "## Whole fresh-process runs (world, neighbour search and loop)"
for eps in 100000; do
	for th in 1 2; do
		for i in $(seq "$RUNS"); do
			/usr/bin/time -f '%e %M' "$BOTIFY" simulate --episodes "$eps" --recommender random --threads "$th" --format json 2>&1 >/dev/null | tail -n 1
		done >"$TMP/whole"
		secs=$(cut -d' ' -f1 <"$TMP/whole" | median)
		rss=$(cut -d' ' -f2 <"$TMP/whole" | median)
		printf '%d random episodes, %d thread(s): %.2f s wall, peak RSS %.0f MB\n' "$eps" "$th" "$secs" "$(awk -v a="$rss" 'BEGIN { print a / 1024 }')"
	done
done
echo

# BENCH_ONLY=sim stops here; the others take minutes (training most)
[ "${BENCH_ONLY:-}" = sim ] && exit 0
dir=$(dirname "$0")
for extra in bench_ab.sh bench_train.sh bench_serve.sh; do
	if [ -x "$dir/$extra" ]; then
		BOTIFY="$BOTIFY" RUNS="$RUNS" "$dir/$extra"
		echo
	fi
done

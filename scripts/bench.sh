#!/bin/bash
# make bench: simulator throughput on the built-in world (medians of several
# runs), then the ab and train benchmarks when their scripts exist.
#
#   BOTIFY=path/to/botify scripts/bench.sh [--quick]
#   BENCH_ONLY=sim  only the simulator part (seconds, not minutes)
#   BENCH_ONLY=nb   only the neighbour search, cache and export part
#   BENCH_ONLY=export  only export (a minute)
#   BENCH_ONLY=runs only its whole-process runs, cold and warm cache (a minute)
#   BASELINE=path/to/old/botify  that part paired against another binary
#
# Numbers are medians, so one noisy run does not move them; compare ratios
# (2 threads vs 1) rather than absolute figures across machines.
set -eu
BOTIFY=${BOTIFY:-$(dirname "$0")/../botify}
RUNS=${RUNS:-5}
[ "${1:-}" = "--quick" ] && RUNS=3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/botify-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# the neighbour cache of every run here lives and dies with $TMP
export XDG_CACHE_HOME="$TMP/xdg-bench"

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
json_field() { sed -E "s/.*\"$1\": ([0-9.e+-]+).*/\1/"; }

echo "# botify benchmarks ($(date -u +%Y-%m-%d), $(nproc) cores, $RUNS runs each, medians)"
echo
if [ "${BENCH_ONLY:-}" != nb ] && [ "${BENCH_ONLY:-}" != runs ] && [ "${BENCH_ONLY:-}" != export ]; then
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

fi

[ "${BENCH_ONLY:-}" != export ] && echo "## Interest neighbours: search, cache, whole runs" && echo
# BASELINE=path/to/old/botify runs every measurement of this part paired:
# baseline then this binary, alternately, each with its median. A cold run
# has an empty cache directory (it generates the built-in world and writes
# both caches, world and neighbours); a warm run reads them.
cold_dir() { rm -rf "$TMP/xdg"; mkdir -p "$TMP/xdg"; }
# timed CMD...: "wall cpu" seconds (cpu = user + system: what a loaded
# machine's wall time hides)
timed() { /usr/bin/time -f '%e %U %S' "$@" 2>&1 >/dev/null | tail -n 1 | awk '{ print $1, $2 + $3 }'; }
wall() { cut -d' ' -f1 | median; }
cpu() { cut -d' ' -f2 | median; }
bins=("$BOTIFY")
[ -n "${BASELINE:-}" ] && bins=("$BASELINE" "$BOTIFY")
no_cache() { "$1" simulate --help 2>/dev/null | grep -q -- --no-cache && echo --no-cache; } # a baseline may predate it
nb_case() { # NAME ARGS...: median wall seconds, cold and warm, per binary
	local name=$1 i j
	shift
	for j in "${!bins[@]}"; do : >"$TMP/cold.$j"; : >"$TMP/warm.$j"; done
	for i in $(seq "$RUNS"); do
		for j in "${!bins[@]}"; do
			cold_dir
			XDG_CACHE_HOME="$TMP/xdg" timed "${bins[$j]}" "$@" >>"$TMP/cold.$j"
			XDG_CACHE_HOME="$TMP/xdg" timed "${bins[$j]}" "$@" >>"$TMP/warm.$j"
		done
	done
	for j in "${!bins[@]}"; do
		printf '| %s | %s | %.3f (%.3f) | %.3f (%.3f) |\n' "$name" "${bins[$j]}" "$(wall <"$TMP/cold.$j")" \
			"$(cpu <"$TMP/cold.$j")" "$(wall <"$TMP/warm.$j")" "$(cpu <"$TMP/warm.$j")"
	done
}
if [ "${BENCH_ONLY:-}" != export ]; then
echo "| run (whole process, wall s (cpu s)) | binary | cold cache | warm cache |"
echo "|---|---|---:|---:|"
nb_case "simulate --episodes 2000" simulate --episodes 2000 --recommender random --seed 1
nb_case "simulate --episodes 100000 --threads 2" simulate --episodes 100000 --recommender random --threads 2 --seed 1
# one core, for the comparison with the original simulator per core (its
# about 110 episodes/s: 909 CPU s for these 100 000 episodes)
nb_case "simulate --episodes 100000 --threads 1" simulate --episodes 100000 --recommender random --threads 1 --seed 1
echo
[ "${BENCH_ONLY:-}" = runs ] && exit 0
# the search alone: prepare_seconds of a run whose episodes touch every
# interest of the default world (10^6 episodes: 11 743 distinct interests),
# without the cache, sessions cut to one step
for th in 1 2; do
	for b in "${bins[@]}"; do
		for i in $(seq "$RUNS"); do
			"$b" simulate --episodes 1000000 --recommender random --threads "$th" --max-steps 1 \
				$(no_cache "$b") --format json 2>/dev/null | json_field prepare_seconds
		done | median | awk -v b="$b" -v th="$th" '{ printf "neighbour search, every interest of the default world, %d thread(s), %s: %.3f s\n", th, b, $1 }'
	done
done
echo
fi

echo "## Export"
echo
# export k=100 of a quickly trained model (one epoch: the export's work
# does not depend on the model's quality)
"$BOTIFY" simulate --episodes 50000 --recommender random --seed 2 --log "$TMP/exp.jsonl" >/dev/null 2>&1
"$BOTIFY" train --log "$TMP/exp.jsonl" --model "$TMP/expm" --epochs 1 >/dev/null 2>&1
for th in 1 2; do
	for j in "${!bins[@]}"; do : >"$TMP/export.$j"; done
	for i in $(seq "$RUNS"); do
		for j in "${!bins[@]}"; do
			timed "${bins[$j]}" export --model "$TMP/expm" --embeddings "$TMP/v.npy" --recs "$TMP/r.json" \
				--user-recs "$TMP/u.json" --k 100 --threads "$th" --force >>"$TMP/export.$j"
		done
	done
	for j in "${!bins[@]}"; do
		printf 'export --k 100 (50 000 track lists, 10 000 user lists), %d thread(s), %s: %.2f s wall, %.2f s cpu\n' \
			"$th" "${bins[$j]}" "$(wall <"$TMP/export.$j")" "$(cpu <"$TMP/export.$j")"
	done
done
echo
[ "${BENCH_ONLY:-}" = nb ] || [ "${BENCH_ONLY:-}" = export ] && exit 0

echo "## Whole fresh-process runs (world, neighbour search and loop)"
for eps in 100000; do
	for th in 1 2; do
		for i in $(seq "$RUNS"); do
			/usr/bin/time -f '%e %M' "$BOTIFY" simulate --episodes "$eps" --recommender random --threads "$th" --no-cache --format json 2>&1 >/dev/null | tail -n 1
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
for extra in bench_startup.sh bench_ab.sh bench_train.sh bench_serve.sh; do
	if [ -x "$dir/$extra" ]; then
		BOTIFY="$BOTIFY" RUNS="$RUNS" "$dir/$extra"
		echo
	fi
done

#!/bin/bash
# Before/after check for changes to the simulator's set-up: runs the same
# simulations with two botify binaries and compares the logs and the
# summary tables byte for byte.
#
#   scripts/check_same_output.sh OLD_BOTIFY NEW_BOTIFY [EPISODES]
#
# Worlds: the tiny and small presets, the built-in world, and the course
# catalog (with generated embeddings) when $BOTIFY_COURSE_DATA names its
# files. What measures time is left out of the comparison: latencies in
# the log, the timing line of the table, the timing fields of --format json.
# Exit 0 when every run matches, 1 otherwise (each difference is listed).
set -u
OLD=${1:?usage: $0 OLD_BOTIFY NEW_BOTIFY [EPISODES]}
NEW=${2:?usage: $0 OLD_BOTIFY NEW_BOTIFY [EPISODES]}
EPISODES=${3:-2000}
REPO=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/botify-same.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# the new binary must not answer from a cache the old one never filled
export XDG_CACHE_HOME="$TMP/cache"

"$NEW" datagen --out "$TMP/tiny" --preset "$REPO/datasets/tiny.json" >/dev/null || exit 2
"$NEW" datagen --out "$TMP/small" --preset "$REPO/datasets/small.json" >/dev/null || exit 2
worlds=("$TMP/tiny" "$TMP/small" "")
# the original course files, when $BOTIFY_COURSE_DATA names them (as for the unit tests)
d=${BOTIFY_COURSE_DATA:-}
if [ -n "$d" ] && [ -f "$d/tracks.json.gz" ]; then
	mkdir -p "$TMP/course"
	ln -s "$d"/*.json.gz "$TMP/course/"
	"$NEW" datagen --out "$TMP/emb" --tracks 50000 --users 10 --dim 16 --seed 1 >/dev/null || exit 2
	cp "$TMP/emb/tracks.npy" "$TMP/course/"
	worlds+=("$TMP/course")
fi
[ ${#worlds[@]} = 4 ] || echo "(BOTIFY_COURSE_DATA does not name the course files: the course catalog is not compared)"

strip_times() { sed -E 's/"(load|prepare|loop)_seconds": [0-9.e+-]+, //g; s/"(episodes|steps)_per_second": [0-9.e+-]+, //g'; }
fail=0 runs=0
for w in "${worlds[@]}"; do
	for seed in 1 7 31337; do
		for rec in random sticky_artist; do
			wargs=()
			[ -n "$w" ] && wargs=(--world "$w")
			name="$(basename "${w:-builtin}") seed $seed $rec"
			for b in old new; do
				bin=$OLD
				[ $b = new ] && bin=$NEW
				"$bin" simulate "${wargs[@]}" --episodes "$EPISODES" --recommender "$rec" --seed "$seed" \
					--threads 2 --log "$TMP/run.jsonl" --force >"$TMP/$b.table" 2>/dev/null || echo "$name: $b failed"
				mv "$TMP/run.jsonl" "$TMP/$b.jsonl" # the table names the log
				"$bin" simulate "${wargs[@]}" --episodes "$EPISODES" --recommender "$rec" --seed "$seed" \
					--threads 1 --format json 2>/dev/null | strip_times >"$TMP/$b.json"
			done
			sed -i -E 's/"latency": [0-9.e+-]+/"latency": 0/' "$TMP/old.jsonl" "$TMP/new.jsonl"
			sed -i -E '/ steps in .* episodes\/s/d' "$TMP/old.table" "$TMP/new.table"
			runs=$((runs + 1))
			for f in jsonl table json; do
				if ! cmp -s "$TMP/old.$f" "$TMP/new.$f"; then
					echo "DIFFERS: $name ($f): $(cmp "$TMP/old.$f" "$TMP/new.$f" 2>&1 | head -n 1)"
					fail=1
				fi
			done
		done
	done
done
[ $fail = 0 ] && echo "same output: $runs runs of $EPISODES episodes (log, table, json) on ${#worlds[@]} worlds"
exit $fail

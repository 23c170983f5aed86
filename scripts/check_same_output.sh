#!/bin/bash
# Before/after check for refactorings: runs the same commands with two botify
# binaries and compares what they write byte for byte: generated worlds,
# simulation logs and summary tables, A/B tables (in-process and from logs),
# trained models (every tensor and the config) and exports.
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

differs() { # NAME FILE-OR-DIR-OLD FILE-OR-DIR-NEW
	runs=$((runs + 1))
	if ! diff -r "$2" "$3" >/dev/null 2>&1; then
		echo "DIFFERS: $1: $(diff -rq "$2" "$3" 2>&1 | head -n 1)"
		fail=1
	fi
}
# worlds: the presets as datagen writes them
for preset in tiny small; do
	"$OLD" datagen --out "$TMP/old.$preset" --preset "$REPO/datasets/$preset.json" >/dev/null 2>&1
	"$NEW" datagen --out "$TMP/new.$preset" --preset "$REPO/datasets/$preset.json" >/dev/null 2>&1
	differs "datagen $preset" "$TMP/old.$preset" "$TMP/new.$preset"
done
"$OLD" datagen --out "$TMP/old.default" >/dev/null 2>&1
"$NEW" datagen --out "$TMP/new.default" >/dev/null 2>&1
differs "datagen default" "$TMP/old.default" "$TMP/new.default"

# A/B tables: in-process (both designs, every output format) and from logs
abrun() { # BIN OUT ARGS...
	local bin=$1 out=$2
	shift 2
	# request latencies are measured time: compared as 0
	"$bin" ab "$@" --quiet 2>/dev/null | sed -E '/ steps in .* episodes\/s/d;
		s/"mean_request_latency": [0-9.e+-]+/"mean_request_latency": 0/g' >"$out"
}
for design in paired split; do
	for fmt in md csv json; do
		for b in old new; do
			bin=$OLD
			[ $b = new ] && bin=$NEW
			abrun "$bin" "$TMP/$b.ab" --episodes "$EPISODES" --control random --treatment sticky_artist \
				--design $design --seed 5 --format $fmt \
				--metrics time,sessions,mean_tracks_per_session,mean_time_per_session
		done
		differs "ab in-process $design $fmt" "$TMP/old.ab" "$TMP/new.ab"
	done
done
# logs written by the new binary (their content is compared above), read by both
"$NEW" simulate --episodes "$EPISODES" --experiment AB --arms C=random,T1=sticky_artist --seed 9 --log "$TMP/arms.jsonl" \
	--force >/dev/null 2>&1
"$NEW" simulate --episodes "$EPISODES" --experiment AB --design paired --arms C=random,T1=sticky_artist --seed 9 \
	--log "$TMP/paired.jsonl.gz" --force >/dev/null 2>&1
for log in arms.jsonl paired.jsonl.gz; do
	for fmt in md csv json; do
		abrun "$OLD" "$TMP/old.ab" --log "$TMP/$log" --format $fmt
		abrun "$NEW" "$TMP/new.ab" --log "$TMP/$log" --format $fmt
		differs "ab --log $log $fmt" "$TMP/old.ab" "$TMP/new.ab"
	done
done

# models: every tensor and the config, on 1 and 2 threads (metrics.json
# holds timings: only its quality fields are compared); then the exports
"$NEW" simulate --episodes "$EPISODES" --recommender sticky_artist --seed 3 --log "$TMP/train.jsonl" \
	--force >/dev/null 2>&1
quality() { grep -E '"(test|avg|rdm|val)_mse"|"best_epoch"|"stopped"|"n_(train|val|test)"' "$1"; }
for th in 1 2; do
	for b in old new; do
		bin=$OLD
		[ $b = new ] && bin=$NEW
		rm -rf "$TMP/$b.model" "$TMP/$b.export"
		"$bin" train --log "$TMP/train.jsonl" --model "$TMP/$b.model" --epochs 3 --threads $th \
			>/dev/null 2>&1 || echo "train: $b failed"
		quality "$TMP/$b.model/metrics.json" >"$TMP/$b.quality"
		rm -f "$TMP/$b.model/metrics.json"
		mkdir -p "$TMP/$b.export"
		"$bin" export --model "$TMP/$b.model" --embeddings "$TMP/$b.export/v.npy" \
			--recs "$TMP/$b.export/r.json" --user-recs "$TMP/$b.export/u.json" --k 20 \
			>/dev/null 2>&1 || echo "export: $b failed"
	done
	differs "train --threads $th (tensors, config)" "$TMP/old.model" "$TMP/new.model"
	differs "train --threads $th (metrics)" "$TMP/old.quality" "$TMP/new.quality"
	differs "export of the --threads $th model" "$TMP/old.export" "$TMP/new.export"
done

[ $fail = 0 ] && echo "same output: $runs comparisons (simulate logs, tables and json on ${#worlds[@]} worlds of $EPISODES episodes; worlds; ab tables; models; exports)"
exit $fail

#!/bin/bash
# bench_train.sh - training throughput and quality of each arch on the
# built-in world, then the nn recommender against contextual (built from the
# same model's export) and sticky_artist in a 2000-episode experiment.
#
#   BOTIFY=/abs/path/to/botify scripts/bench_train.sh [WORKDIR]
#
# Env: THREADS (2), EPISODES (100000 sticky_artist sessions), RANDOM_EPISODES
# (100000 random sessions), AB_EPISODES (2000), ARCHS ("two-tower dot sum
# hybrid"), SCALING_RUNS (3 pairs of 1- and 2-thread runs; 0 skips that part),
# SCALING_EPOCHS (3).
# First the thread scaling: the default two-tower on random + sticky for
# SCALING_EPOCHS epochs with --threads 1 and --threads 2, alternated
# SCALING_RUNS times; each run's median epoch samples/s, the medians over runs
# and their ratio, and whether the models are byte-identical. Then each arch
# is trained on the sticky log alone (the defaults switch negatives on for it)
# and on random + sticky; the A/Bs use the two-tower trained on random +
# sticky (MODEL= to pick another) and the sticky-only one. Prints one
# markdown table per part; the logs and models stay in WORKDIR (default: a
# temporary directory, removed).
set -eu
: "${BOTIFY:?BOTIFY must point at the botify binary}"
THREADS=${THREADS:-2}
EPISODES=${EPISODES:-100000}
RANDOM_EPISODES=${RANDOM_EPISODES:-100000}
AB_EPISODES=${AB_EPISODES:-2000}
ARCHS=${ARCHS:-two-tower dot sum hybrid}
if [ $# -gt 0 ]; then
	W=$1
	mkdir -p "$W"
else
	W=$(mktemp -d "${TMPDIR:-/tmp}/botify-bench-train.XXXXXX")
	trap 'rm -rf "$W"' EXIT
fi

echo "== logs (built-in world): $EPISODES sticky_artist + $RANDOM_EPISODES random sessions" >&2
echo "$("$BOTIFY" --version); $THREADS threads; $(nproc) cores"
"$BOTIFY" simulate --episodes "$EPISODES" --recommender sticky_artist --seed 1 --log "$W/sticky.jsonl.gz" --force >/dev/null
"$BOTIFY" simulate --episodes "$RANDOM_EPISODES" --recommender random --seed 2 --log "$W/random.jsonl.gz" --force >/dev/null

# median of the samples/s column of the epoch lines on stderr
median_sps() {
	sed -nE 's/.* ([0-9]+) samples\/s$/\1/p' "$1" | sort -n |
		awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}

row() { # arch data-label model-dir stderr-file
	local m
	m=$(grep -E '^\| (two-tower|dot|sum|hybrid) \|' "$W/$1.$2.out")
	# | arch | test | avg | rdm | best | epochs | stopped |
	echo "$m" | awk -F' *\\| *' -v sps="$(median_sps "$W/$1.$2.err")" -v data="$2" \
		'{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, data, sps, $3, $4, $5, $6, $7 }'
}

SCALING_RUNS=${SCALING_RUNS:-3}
SCALING_EPOCHS=${SCALING_EPOCHS:-3}
if [ "$SCALING_RUNS" -gt 0 ]; then
	echo
	echo "### threads: two-tower defaults, random + sticky logs, $SCALING_EPOCHS epochs, $SCALING_RUNS paired runs"
	echo
	echo "| run | 1 thread samples/s | 2 threads samples/s | ratio |"
	echo "|---|---:|---:|---:|"
	: >"$W/scaling.1"
	: >"$W/scaling.2"
	for r in $(seq "$SCALING_RUNS"); do
		for t in 1 2; do
			echo "== scaling run $r, $t thread(s)" >&2
			"$BOTIFY" train --log "$W/random.jsonl.gz" "$W/sticky.jsonl.gz" --model "$W/scale.$t" --threads "$t" \
				--epochs "$SCALING_EPOCHS" --force >/dev/null 2>"$W/scale.$t.err"
			median_sps "$W/scale.$t.err" >>"$W/scaling.$t"
		done
		a=$(tail -n 1 "$W/scaling.1")
		b=$(tail -n 1 "$W/scaling.2")
		echo "| $r | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }') |"
	done
	med() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
	a=$(med "$W/scaling.1")
	b=$(med "$W/scaling.2")
	same=identical
	for f in "$W"/scale.1/*.npy; do
		cmp -s "$f" "$W/scale.2/$(basename "$f")" || same=different
	done
	echo "| median | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }') |"
	echo
	echo "models of 1 and 2 threads: $same"
fi

echo
echo "| arch | logs | samples/s (median) | test MSE | avg | rdm | best epoch | epochs |"
echo "|------|------|-------------------:|---------:|----:|----:|-----------:|-------:|"
for arch in $ARCHS; do
	for data in sticky mixed; do
		if [ "$data" = sticky ]; then logs=("$W/sticky.jsonl.gz"); else logs=("$W/random.jsonl.gz" "$W/sticky.jsonl.gz"); fi
		echo "== train $arch on $data logs ($THREADS threads)" >&2
		"$BOTIFY" train --log "${logs[@]}" --model "$W/$arch.$data" --arch "$arch" --threads "$THREADS" --force \
			>"$W/$arch.$data.out" 2>"$W/$arch.$data.err"
		row "$arch" "$data"
	done
done

# nn against contextual (built from the same model's export) and sticky_artist
ab() { # model-dir title
	local M=$1
	echo "== export and A/B of $2 ($AB_EPISODES episodes)" >&2
	"$BOTIFY" export --model "$M" --embeddings "$M/track_vectors.npy" --recs "$M/tracks_with_recs.json" \
		--user-recs "$M/recommendations.json" --k 100 --force >/dev/null
	echo
	echo "### $2: nn (treatment) vs each control, mean_time_per_session"
	echo
	echo "| control | effect % | lower | upper | control_mean | nn mean | significant | n_control | n_nn |"
	echo "|---|---:|---:|---:|---:|---:|---|---:|---:|"
	local c
	for c in "contextual:file=$M/tracks_with_recs.json" sticky_artist; do
		"$BOTIFY" ab --control "$c" --treatment "nn:model=$M" --episodes "$AB_EPISODES" --seed 7 |
			grep -E '^\| T1 \| mean_time_per_session' |
			sed -E "s/^\| T1 \| mean_time_per_session \|/| ${c%%:*} |/"
	done
}
ab "$W/${MODEL:-two-tower.mixed}" "${MODEL:-two-tower.mixed} (defaults; mixed = random + sticky_artist logs)"
ab "$W/two-tower.sticky" "two-tower, sticky_artist logs only, defaults (negatives switched on)"
